#!/usr/bin/env bash
# Benchmark (not a test): daemon CPU for 1,000 hosts, ours vs Debian's
# mon 1.3.6 measured in the same run, and detection latency of ours.
#
#   monrs/bench/cpu_latency.sh [seconds]      (default 60)
#
# Both daemons get the same mon.cf: 100 watches of 10 hosts, interval
# 10s, a monitor that exits 0 at once. CPU is the daemon process's own
# utime+stime from /proc (its monitors are children and not counted;
# forking them is). Latency: a monitor starts failing at a random moment;
# the time until the alert runs is compared with interval + 100 ms.
set -euo pipefail
DUR=${1:-60}
# 1,000 hosts as WATCHES groups of PER hosts (the seed watches each real
# server on its own: WATCHES=1000 PER=1)
WATCHES=${WATCHES:-100}
PER=$((1000 / WATCHES))
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-mon}
cargo build -q --release -p monrs --bin mon --bin mon-scripts
OURS=$CARGO_TARGET_DIR/release/mon
SCRIPTS=$CARGO_TARGET_DIR/release/mon-scripts
[ -x /usr/sbin/mon ] || { echo "Debian's mon is required (apt-get install mon)"; exit 1; }
W=$(mktemp -d /tmp/mon-bench.XXXXXX)
trap 'kill $(cat $W/*/mon.pid 2>/dev/null) 2>/dev/null || true; rm -rf $W' EXIT

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

setup() { # dir interval
  local d=$1 iv=$2
  mkdir -p $d/mon.d $d/alert.d
  printf '#!/bin/sh\n[ -e %s/fail.$MON_GROUP ] && { echo "$*"; exit 1; }\nexit 0\n' "$d" > $d/mon.d/b.monitor
  printf '#!/bin/sh\ndate +%%s.%%N >> %s/alerts.$MON_GROUP\n' "$d" > $d/alert.d/t.alert
  chmod +x $d/mon.d/b.monitor $d/alert.d/t.alert
  echo 'list: all' > $d/auth.cf
  local p; p=$(freeport)
  { printf 'serverbind = 127.0.0.1\ntrapbind = 127.0.0.1\nserverport = %s\ntrapport = %s\n\n' $p $p
    for w in $(seq 1 $WATCHES); do
      printf 'hostgroup g%s' $w; for h in $(seq 1 $PER); do printf ' 10.%s.%s.%s' $((w / 250)) $((w % 250)) $h; done; printf '\n\n'
      printf 'watch g%s\n    service s\n        interval %s\n        monitor b.monitor\n        period wd {Sun-Sat}\n            alert t.alert\n\n' $w $iv
    done; } > $d/mon.cf
}

start() { # binary dir
  local d=$2
  $1 -c $d/mon.cf -b $d -B $d -A $d/auth.cf -a $d/alert.d -s $d/mon.d -L $d -D $d -P $d/mon.pid >/dev/null 2>&1 &
  for _ in $(seq 1 100); do [ -s $d/mon.pid ] && break; sleep 0.1; done
}

# CPU time of the daemon itself in seconds (schedstat: nanoseconds on CPU)
cpu() { awk '{printf "%.6f\n", $1/1e9}' /proc/$(cat $1/mon.pid)/schedstat; }

setup $W/ours 10s; setup $W/theirs 10s
start $OURS $W/ours; start /usr/sbin/mon $W/theirs
sleep 2
c0o=$(cpu $W/ours); c0t=$(cpu $W/theirs)
sleep "$DUR"
c1o=$(cpu $W/ours); c1t=$(cpu $W/theirs)
kill "$(cat $W/ours/mon.pid)" "$(cat $W/theirs/mon.pid)" 2>/dev/null || true
awk -v a=$c0o -v b=$c1o -v c=$c0t -v d=$c1t -v s=$DUR -v w=$WATCHES 'BEGIN {
  o=b-a; t=d-c;
  printf "CPU over %ds, 1000 hosts in %d services at 10s: ours %.3fs, mon 1.3.6 %.3fs, ratio %.1fx\n", s, w, o, t, t/o }'

# seed-like: fping.monitor on 1000 loopback addresses, total cost
seed() { # dir monitor-dir
  local d=$1
  mkdir -p $d
  echo 'list: all' > $d/auth.cf
  local p; p=$(freeport)
  { printf 'serverbind = 127.0.0.1\ntrapbind = 127.0.0.1\nserverport = %s\ntrapport = %s\n\n' $p $p
    for w in $(seq 1 100); do
      printf 'hostgroup g%s' $w; for h in $(seq 1 10); do printf ' 127.0.%s.%s' $w $h; done; printf '\n\n'
      printf 'watch g%s\n    service ping\n        interval 10s\n        monitor fping.monitor -r 1 -t 500\n        period wd {Sun-Sat}\n            alert mail.alert root\n\n' $w
    done; } > $d/mon.cf
}
total() { awk -v t=$(getconf CLK_TCK) '{print ($14+$15+$16+$17)/t}' /proc/$(cat $1/mon.pid)/stat; }
seed $W/sours; seed $W/stheirs
mkdir -p $W/sours/mon.d $W/sours/alert.d
$SCRIPTS install $W/sours/mon.d $W/sours/alert.d
startseed() { # binary dir mondir alertdir
  local d=$2
  $1 -c $d/mon.cf -b $d -B $d -A $d/auth.cf -a $4 -s $3 -L $d -D $d -P $d/mon.pid >/dev/null 2>&1 &
  for _ in $(seq 1 100); do [ -s $d/mon.pid ] && break; sleep 0.1; done
}
startseed $OURS $W/sours $W/sours/mon.d $W/sours/alert.d
startseed /usr/sbin/mon $W/stheirs /usr/lib/mon/mon.d /usr/lib/mon/alert.d
sleep 2
a0=$(total $W/sours); b0=$(total $W/stheirs)
sleep "$DUR"
a1=$(total $W/sours); b1=$(total $W/stheirs)
kill "$(cat $W/sours/mon.pid)" "$(cat $W/stheirs/mon.pid)" 2>/dev/null || true
awk -v a=$a0 -v b=$a1 -v c=$b0 -v d=$b1 -v s=$DUR 'BEGIN { o=b-a; t=d-c;
  printf "seed-like, fping.monitor, 1000 hosts at 10s, daemon+monitors over %ds: ours %.2fs, mon 1.3.6 %.2fs, ratio %.1fx\n", s, o, t, (o>0)?t/o:0 }'

# latency: ours only, 10 flips at random phases of a 2 s interval
rm -rf $W/lat; WATCHES=100; PER=10; setup $W/lat 2s
start $OURS $W/lat
sleep 3
worst=0
for i in $(seq 1 10); do
  g=g$i
  sleep 0.$((RANDOM % 9 + 1))
  t0=$(date +%s.%N); touch $W/lat/fail.$g
  for _ in $(seq 1 60); do [ -s $W/lat/alerts.$g ] && break; sleep 0.05; done
  t1=$(head -1 $W/lat/alerts.$g)
  worst=$(awk -v a=$t0 -v b=$t1 -v w=$worst 'BEGIN { l=b-a; print (l>w)?l:w }')
done
awk -v w=$worst 'BEGIN { printf "detection latency, interval 2s: worst of 10 = %.3fs (target <= 2.100s)\n", w }'
