#!/bin/sh
#
# lvs-r.sh - make www4 a real server of the virtual web service again
#
# Run at boot (rc.local) and by puck stop when www4 hands the director
# role back to www3. The VIP goes on lo:0, where www4 accepts packets the
# director forwards to it, and arp_ignore/arp_announce keep www4 from
# answering ARP for it.
#
PATH=/sbin:/usr/sbin:/bin:/usr/bin
VIP=10.0.0.100

echo 1 > /proc/sys/net/ipv4/conf/lo/arp_ignore
echo 2 > /proc/sys/net/ipv4/conf/lo/arp_announce
echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore
echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce

vip_on_eth0() {
	ip -o -4 addr show dev eth0 | grep -q " $VIP/"
}

lo_up() {
	ifconfig lo:0 $VIP netmask 255.255.255.255 broadcast $VIP up
}

if vip_on_eth0; then
	# Called from puck stop: heartbeat's IPaddr takes the VIP off eth0
	# after puck has stopped; a real server must not hold it on both.
	# Wait for it (at most 60 s); if www4 still (or
	# again) holds the VIP on eth0 by then, it is the director, not a real
	# server: leave lo:0 alone.
	(
		n=0
		while vip_on_eth0 && [ $n -lt 120 ]; do
			sleep 0.5
			n=`expr $n + 1`
		done
		vip_on_eth0 || lo_up
	) </dev/null >/dev/null 2>&1 &
else
	lo_up
fi
exit 0
