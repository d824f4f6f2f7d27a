#!/usr/bin/env bash
# The seed's use of mon on a real IPVS kernel: http.monitor watches a real
# server, lvs.alert removes it from the virtual service when it fails and
# adds it back when it recovers. Runs inside the lab VM:
#
#   cargo build -p monrs && lab/vm-run -- monrs/lab/seed_failover.sh
#
# The real server lives in a network namespace behind a veth pair; the
# director is the VM's root namespace. Exits 0 only if both the removal
# and the re-add happened.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${MONRS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target-mon}/debug}
IPVSADM=${IPVSADM:-/sbin/ipvsadm}
export IPVSADM
D=$(mktemp -d /tmp/mon-lab.XXXXXX)
NS=mon-rs1
cleanup() {
  [ -s $D/mon.pid ] && kill "$(cat $D/mon.pid)" 2>/dev/null || true
  [ -n "${WEB:-}" ] && kill $WEB 2>/dev/null || true
  ip netns del $NS 2>/dev/null || true
  ip link del mon-d0 2>/dev/null || true
  $IPVSADM -D -t 10.77.0.100:80 2>/dev/null || true
}
trap cleanup EXIT

ip netns add $NS
ip link add mon-d0 type veth peer name mon-r0 netns $NS
ip addr add 10.77.0.1/24 dev mon-d0
ip link set mon-d0 up
ip -n $NS addr add 10.77.0.2/24 dev mon-r0
ip -n $NS link set mon-r0 up
ip -n $NS link set lo up

mkdir -p $D/www && echo hello > $D/www/index.html
web_up() {
  # busybox httpd starts in milliseconds even under TCG (python needs ~30 s)
  ip netns exec $NS busybox httpd -f -p 10.77.0.2:80 -h $D/www >/dev/null 2>&1 &
  WEB=$!
}
web_up

has_rs() { $IPVSADM -Ln | grep -q '10.77.0.2:80'; }
wait_until() { # what cmd...
  local what=$1; shift
  local t0=$SECONDS
  until "$@"; do
    if (( SECONDS - t0 > 90 )); then
      echo "FAIL: $what"; $IPVSADM -Ln
      "$D/mon.d/http.monitor" -t 2 10.77.0.2 || true
      "$BIN/moncmd" -s 127.0.0.1 -p 12583 list opstatus || true
      "$BIN/moncmd" -s 127.0.0.1 -p 12583 list alerthist || true
      exit 1
    fi
    sleep 0.2
  done
  echo "ok: $what after $((SECONDS - t0))s"
}

$IPVSADM -A -t 10.77.0.100:80 -s wlc
$IPVSADM -a -t 10.77.0.100:80 -r 10.77.0.2:80 -g -w 100

mkdir -p $D/mon.d $D/alert.d
"$BIN/mon-scripts" install $D/mon.d $D/alert.d
echo 'list: all' > $D/auth.cf
cat > $D/mon.cf <<CF
serverbind = 127.0.0.1
trapbind = 127.0.0.1
serverport = 12583
trapport = 12583

hostgroup rs1 10.77.0.2

watch rs1
    service http
        interval 2s
        monitor http.monitor -t 3
        period wd {Sun-Sat}
            alert lvs.alert -P tcp -V 10.77.0.100:80 -R 10.77.0.2:80 -W 100 -F dr -X down
            upalert lvs.alert -P tcp -V 10.77.0.100:80 -R 10.77.0.2:80 -W 100 -F dr
CF
web_answers() { "$D/mon.d/http.monitor" -t 2 10.77.0.2 >/dev/null; }
wait_until "web server answering" web_answers
"$BIN/mon" -c $D/mon.cf -b $D -B $D -A $D/auth.cf -a $D/alert.d -s $D/mon.d -L $D -D $D -P $D/mon.pid &

mon_ok() { "$BIN/moncmd" -s 127.0.0.1 -p 12583 list opstatus 2>/dev/null | grep -q 'opstatus=1 '; }
wait_until "mon saw the service up" mon_ok
has_rs || { echo "FAIL: real server missing before the failure"; exit 1; }
kill $WEB; WEB=
wait_until "real server removed by lvs.alert after the web server died" bash -c "! $IPVSADM -Ln | grep -q 10.77.0.2:80"
web_up
wait_until "real server added back by the upalert" has_rs
$IPVSADM -Ln
echo "PASS"
