#!/usr/bin/env bash
# bench/mon/cpu_latency.sh: ours against Debian's mon 1.3.6, measured in
# the same run on the same host (a benchmark, not a test; run by hand, as
# root, on a machine with mon, fping and python3 installed).
#
#   bench/mon/cpu_latency.sh [seconds]            (default 60)
#   NGROUPS=1000 bench/mon/cpu_latency.sh         (the seed's layout: one
#                                                  watch per real server;
#                                                  mon then starts ~2,000
#                                                  Perl monitors a second)
#
# 1,000 hosts (loopback addresses 127.1.x.y, each with its own listening
# HTTP socket served by one small asyncio process) in NGROUPS hostgroups
# (default 10 of 100). Every watch has two services at a 1 s interval, as
# the seed's mon.cf does: `fping.monitor` and `http.monitor -p PORT`.
# mon 1.3.6 runs Debian's Perl monitors (and fping); ours runs the
# monitors `mon-scripts install` ships, which the daemon runs in-process.
#
# Printed, for each daemon and as a ratio:
#  * CPU seconds over the run: the daemon's utime+stime plus those of all
#    the children it reaped (monitors, and fping under fping.monitor),
#    from /proc/PID/stat;
#  * HTTP checks actually done (the HTTP server counts requests per
#    daemon: each asks for its own path), and CPU per 1,000 of them. mon
#    1.3.6 does not keep a 1 s pace with 100-host Perl monitors (a run
#    takes longer than the interval, and the next waits for it), so its
#    total CPU covers fewer checks than ours;
#  * peak RSS: the daemon's VmHWM, and the largest sum of RSS over the
#    daemon and all its descendants, sampled every second;
#  * detection latency: the HTTP daemon is killed at a random moment; for
#    every http service, the time until its alert script started (the
#    alert's first act is to read the clock). Target: interval + 100 ms.
#
# Everything runs on loopback, so the kernel's work for both ends of
# every TCP connection and ICMP echo is charged to whoever sends. In a
# perf profile of ours under this load about three quarters of the
# daemon's CPU was kernel TCP/IP code, and user space about a tenth.
set -euo pipefail
DUR=${1:-60}
NGROUPS=${NGROUPS:-10}
NHOSTS=1000
PER=$((NHOSTS / NGROUPS))
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-mon}
for need in /usr/sbin/mon /usr/bin/fping python3; do
  command -v $need >/dev/null || { echo "$need is required (apt-get install mon fping python3)"; exit 1; }
done
cargo build -q --release -p monrs --bin mon --bin mon-scripts
OURS=$CARGO_TARGET_DIR/release/mon
SCRIPTS=$CARGO_TARGET_DIR/release/mon-scripts
W=$(mktemp -d /tmp/mon-bench.XXXXXX)
HTTPD_PID=
cleanup() {
  for f in $W/*/mon.pid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  [ -n "$HTTPD_PID" ] && kill $HTTPD_PID 2>/dev/null
  rm -rf $W
}
trap cleanup EXIT

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
host() { echo "127.1.$(($1 / 250)).$(($1 % 250 + 1))"; }

HTTP_PORT=$(freeport)
for k in $(seq 0 $((NHOSTS - 1))); do host $k; done > $W/hosts
cat > $W/httpd.py <<'PY'
import asyncio, os, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
REPLY = b"HTTP/1.0 200 OK\r\nServer: bench\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"
COUNT = {}
class Http(asyncio.Protocol):
    def connection_made(self, t):
        self.t, self.buf = t, b""
    def data_received(self, d):
        self.buf += d
        if b"\r\n\r\n" in self.buf or b"\n\n" in self.buf:
            path = self.buf.split(b" ", 2)[1].decode()
            COUNT[path] = COUNT.get(path, 0) + 1
            self.t.write(REPLY)
            self.t.close()
async def counts(f):
    while True:
        await asyncio.sleep(0.5)
        open(f + ".new", "w").write("".join(f"{p} {n}\n" for p, n in COUNT.items()))
        os.rename(f + ".new", f)
async def main():
    hosts = open(sys.argv[1]).read().split()
    srv = await asyncio.get_running_loop().create_server(Http, host=hosts, port=int(sys.argv[2]), backlog=512)
    open(sys.argv[3], "w").write("up\n")
    asyncio.create_task(counts(sys.argv[4]))
    await srv.serve_forever()
asyncio.run(main())
PY
python3 $W/httpd.py $W/hosts $HTTP_PORT $W/httpd.up $W/requests &
HTTPD_PID=$!
for _ in $(seq 1 100); do [ -s $W/httpd.up ] && break; sleep 0.1; done
[ -s $W/httpd.up ] || { echo "the HTTP server did not start"; exit 1; }

setup() { # dir (its name is also the HTTP path its checks ask for)
  local d=$1 p
  mkdir -p $d/alert.d
  printf '#!/bin/sh\necho "$(date +%%s.%%N) $MON_GROUP $MON_SERVICE" >> %s/alerts\n' "$d" > $d/alert.d/t.alert
  chmod +x $d/alert.d/t.alert
  echo 'list: all' > $d/auth.cf
  p=$(freeport)
  { printf 'serverbind = 127.0.0.1\ntrapbind = 127.0.0.1\nserverport = %s\ntrapport = %s\n\n' $p $p
    for g in $(seq 0 $((NGROUPS - 1))); do
      printf 'hostgroup g%s' $g
      for k in $(seq $((g * PER)) $((g * PER + PER - 1))); do printf ' %s' "$(host $k)"; done
      printf '\n\nwatch g%s\n' $g
      printf '    service ping\n        interval 1s\n        monitor fping.monitor\n        period wd {Sun-Sat}\n            alert t.alert\n'
      printf '    service http\n        interval 1s\n        monitor http.monitor -p %s -t 5 -u /%s\n        period wd {Sun-Sat}\n            alert t.alert\n\n' $HTTP_PORT "$(basename $d)"
    done; } > $d/mon.cf
}
start() { # binary dir mondir
  local d=$2
  $1 -c $d/mon.cf -b $d -B $d -A $d/auth.cf -a $d/alert.d -s $3 -L $d -D $d -P $d/mon.pid >/dev/null 2>&1 &
  for _ in $(seq 1 100); do [ -s $d/mon.pid ] && break; sleep 0.1; done
  [ -s $d/mon.pid ] || { echo "$1 did not start"; exit 1; }
}
setup $W/ours; setup $W/theirs
$SCRIPTS install $W/ours/mon.d $W/ours/alert.d
start $OURS $W/ours $W/ours/mon.d
start /usr/sbin/mon $W/theirs /usr/lib/mon/mon.d
PO=$(cat $W/ours/mon.pid); PT=$(cat $W/theirs/mon.pid)

TCK=$(getconf CLK_TCK)
# own and own+reaped-children CPU seconds
cpu() { awk -v t=$TCK '{printf "%.2f %.2f\n", ($14+$15)/t, ($14+$15+$16+$17)/t}' /proc/$1/stat; }
# RSS (kB) of a process and all its descendants
tree_rss() {
  ps -e -o pid=,ppid=,rss= | awk -v root=$1 '
    { ppid[$1] = $2; rss[$1] = $3 }
    END { for (p in rss) { q = p; while (q != "" && q != root && q != 1 && q != 0) q = ppid[q];
          if (q == root) s += rss[p] } print s + 0 }'
}
hwm() { awk '/VmHWM/ {print $2}' /proc/$1/status; }

sleep 3 # both have run every service at least once
reqs() { awk -v p=/$1 '$1 == p { print $2 }' $W/requests; }
read -r oo0 ot0 < <(cpu $PO); read -r to0 tt0 < <(cpu $PT)
ro0=$(reqs ours); rt0=$(reqs theirs)
peak_o=0; peak_t=0
end=$(( $(date +%s) + DUR ))
while [ "$(date +%s)" -lt $end ]; do
  r=$(tree_rss $PO); [ "$r" -gt $peak_o ] && peak_o=$r
  r=$(tree_rss $PT); [ "$r" -gt $peak_t ] && peak_t=$r
  sleep 1
done
read -r oo1 ot1 < <(cpu $PO); read -r to1 tt1 < <(cpu $PT)
sleep 0.6; ro1=$(reqs ours); rt1=$(reqs theirs)
ho=$(hwm $PO); ht=$(hwm $PT)

# detection latency: stop the HTTP daemon at a random phase of the interval
sleep 0.$((RANDOM % 9 + 1))
: > $W/ours/alerts; : > $W/theirs/alerts
t0=$(date +%s.%N); kill $HTTPD_PID; HTTPD_PID=
sleep 4
latency() { # alerts-file -> "first median worst count" over the http services
  awk -v t0=$t0 '$3 == "http" && !($2 in seen) { seen[$2] = 1; print $1 - t0 }' $1 | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "- - - 0"; exit }
          printf "%.3f %.3f %.3f %d\n", v[1], v[int((NR + 1) / 2)], v[NR], NR }'
}
read -r lfo lmo lwo lno < <(latency $W/ours/alerts)
read -r lft lmt lwt lnt < <(latency $W/theirs/alerts)

echo "mon benchmark: $NHOSTS hosts in $NGROUPS hostgroups, fping.monitor + http.monitor at 1s, ${DUR}s, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v oo=$(echo "$oo1 - $oo0" | bc) -v ot=$(echo "$ot1 - $ot0" | bc) \
    -v to=$(echo "$to1 - $to0" | bc) -v tt=$(echo "$tt1 - $tt0" | bc) \
    -v ho=$ho -v ht=$ht -v po=$peak_o -v pt=$peak_t -v ro=$((ro1 - ro0)) -v rt=$((rt1 - rt0)) \
    -v nh=$NHOSTS -v dur=$DUR 'function r(a, b) { return (b > 0) ? sprintf("%.1fx", a / b) : "inf" }
  BEGIN {
  printf "| measure | mon 1.3.6 | ours | ratio |\n|---|---|---|---|\n"
  printf "| CPU s, daemon + monitors | %.2f | %.2f | %s |\n", tt, ot, r(tt, ot)
  printf "| CPU s, daemon process alone | %.2f | %.2f | %s |\n", to, oo, r(to, oo)
  printf "| HTTP checks done (of %d asked for) | %d | %d | |\n", nh * dur, rt, ro
  printf "| CPU ms per 1,000 HTTP checks (+ the pings alongside) | %.1f | %.1f | %s |\n", tt * 1e6 / rt, ot * 1e6 / ro, r(tt / rt, ot / ro)
  printf "| peak RSS, daemon (VmHWM) | %.1f MiB | %.1f MiB | %s |\n", ht / 1024, ho / 1024, r(ht, ho)
  printf "| peak RSS, daemon + monitors (sampled 1/s) | %.1f MiB | %.1f MiB | %s |\n", pt / 1024, po / 1024, r(pt, po) }'
printf "| detection latency, first / median / worst of %s http services | %s / %s / %s s (%s alerted) | %s / %s / %s s (%s alerted) | target worst <= 1.100 s |\n" \
  $NGROUPS $lft $lmt $lwt $lnt $lfo $lmo $lwo $lno
