#!/bin/bash
# Differential check of our ipvsadm against Debian's, on a real kernel.
#
#   lab/vm-run ipvsadm-rs/tests/cli/lab/compare.sh OURS_BINARY SEQFILE...
#
# Each SEQFILE holds command lines (ipvsadm's arguments, shell-quoted);
# blank lines separate sequences. Every sequence runs in a fresh network
# namespace (fresh IPVS table) with a dummy interface carrying 10/8,
# 192.168/16, 200/8 and 2001:db8::/64 addresses, an "eth0", and a resolver
# pointed at 127.0.0.1 so name lookups fail fast. A line "ARGS << DATA"
# feeds printf-%b-expanded DATA to stdin. Both binaries are invoked as
# /sbin/ipvsadm (ours is bind-mounted there) so argv[0] matches.
# Prints the diff of the two transcripts; exit status 0 when identical.
#
# Known, expected differences: kernel dump order (--nosort, and the sorted
# order of tables whose addresses wrap the signed comparison) depends on
# the per-namespace hash seed; "-b ," crashes the original.
set -u
OURS=$(readlink -f "$1"); shift
modprobe ip_vs || exit 125
for m in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh pe_sip; do modprobe ip_vs_$m; done
work=$(mktemp -d)
echo "nameserver 127.0.0.1" > "$work/resolv.conf"
run_all() { # BIN SEQFILE...
  local bin=$1; shift
  for seq in "$@"; do
    rm -f "$work"/seq*
    awk -v RS= -v d="$work" '{f=sprintf("%s/seq%04d", d, NR); print > f; close(f)}' "$seq"
    for f in "$work"/seq*; do
      echo "=== $(basename "$seq") $(basename "$f")"
      unshare -n -m env BIN="$bin" W="$work" F="$f" bash -c '
        mount --bind "$W/resolv.conf" /etc/resolv.conf
        [ "$BIN" != /sbin/ipvsadm ] && mount --bind "$BIN" /sbin/ipvsadm
        ip link set lo up
        ip link add d0 type dummy; ip link set d0 up
        ip addr add 10.0.0.254/8 dev d0; ip addr add 192.168.0.254/16 dev d0
        ip addr add 200.0.0.254/8 dev d0; ip -6 addr add 2001:db8::fe/64 dev d0 nodad
        ip link add eth0 type dummy; ip link set eth0 up
        while IFS= read -r line; do
          echo "\$ $line"
          if [[ "$line" == *"<<"* ]]; then
            printf "%b" "${line#*<<}" | eval "/sbin/ipvsadm ${line%%<<*}" > "$W/o" 2> "$W/e"; rc=$?
          else
            eval "/sbin/ipvsadm $line" > "$W/o" 2> "$W/e" < /dev/null; rc=$?
          fi
          sed "s/^/o|/" "$W/o"; sed "s/^/e|/" "$W/e"; echo "rc=$rc"
        done < "$F"' 2>&1
    done
  done
}
run_all /sbin/ipvsadm "$@" > "$work/real"
run_all "$OURS" "$@" > "$work/ours"
diff "$work/real" "$work/ours"; rc=$?
rm -rf "$work"
exit $rc
