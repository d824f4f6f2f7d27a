#!/usr/bin/env bash
# Guest side of bench/ipvsadm/run (needs the lab VM: real IPVS, root).
set -euo pipefail
[ -n "${LAB_VM:-}" ] || { echo "in-vm.sh runs inside the lab VM (use bench/ipvsadm/run)" >&2; exit 2; }
ours=$IPVS_BENCH_OURS
deb=/sbin/ipvsadm
n=$IPVS_BENCH_SERVICES
d=$IPVS_BENCH_DESTS
runs=$IPVS_BENCH_LIST_RUNS
work=$(mktemp -d /tmp/ipvs-bench.XXXXXX)

ns() { # fresh namespace NAME with a route for the destinations
  ip netns del "$1" 2>/dev/null || true
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip -n "$1" link add eth0 type dummy
  ip -n "$1" link set eth0 up
  ip -n "$1" addr add 172.16.255.254/12 dev eth0
}

# measure NAME NETNS STDIN CMD...: wall seconds and peak RSS (KiB) via GNU time
measure() {
  local name=$1 netns=$2 input=$3
  shift 3
  ip netns exec "$netns" /usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" \
    <"$input" >"$work/$name.out" 2>"$work/$name.err" || {
    echo "$name failed:" >&2
    head -5 "$work/$name.err" >&2
    exit 1
  }
  [ -s "$work/$name.err" ] && { echo "$name wrote to stderr:" >&2; head -5 "$work/$name.err" >&2; exit 1; }
  read -r secs kib <"$work/$name.time"
  echo "$secs $kib"
}

# The -Sn text of the table, in ipvsadm's own order (addresses within one
# 2^31 span sort plainly): services 10.1.X.Y:80 (rr), DESTS masquerading
# destinations 172.16.0.K:8080 each.
awk -v n="$n" -v d="$d" 'BEGIN {
  for (i = 0; i < n; i++) {
    svc = sprintf("10.%d.%d.%d:80", 1 + int(i / 65536), int(i / 256) % 256, i % 256)
    printf "-A -t %s -s rr\n", svc
    for (k = 1; k <= d; k++) printf "-a -t %s -r 172.16.0.%d:8080 -m -w %d\n", svc, k, k
  }
}' >"$work/rules.txt"
lines=$(wc -l <"$work/rules.txt")

echo "ipvsadm benchmark: $n services x $d destinations ($lines lines), kernel $(uname -r), $(nproc) vCPU (TCG)"
echo "ours: $ours"
ns bench-deb
ns bench-ours
read -r deb_r deb_r_kib < <(measure deb-restore bench-deb "$work/rules.txt" "$deb" -R)
ip netns exec bench-deb "$deb" -Sn >"$work/deb.save"
cmp -s "$work/deb.save" "$work/rules.txt" || { echo "the generated text is not what -Sn prints" >&2; diff "$work/rules.txt" "$work/deb.save" | head >&2; exit 1; }
read -r our_r our_r_kib < <(measure ours-restore bench-ours "$work/deb.save" "$ours" -R)
ip netns exec bench-ours "$deb" -Sn >"$work/ours.save"
cmp -s "$work/deb.save" "$work/ours.save" || { echo "our restore built a different table" >&2; exit 1; }

best() { # NAME TOOL: best of $runs listings of the same table (Debian's namespace)
  local b= bk= s k
  for _ in $(seq "$runs"); do
    read -r s k < <(measure "$1" bench-deb /dev/null "$2" -Ln)
    if [ -z "$b" ] || awk -v a="$s" -v b="$b" 'BEGIN { exit !(a < b) }'; then b=$s; fi
    if [ -z "$bk" ] || [ "$k" -gt "$bk" ]; then bk=$k; fi
  done
  echo "$b $bk"
}
read -r deb_l deb_l_kib < <(best deb-list "$deb")
read -r our_l our_l_kib < <(best ours-list "$ours")
cmp -s "$work/deb-list.out" "$work/ours-list.out" || { echo "the listings differ" >&2; diff "$work/deb-list.out" "$work/ours-list.out" | head >&2; exit 1; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) b = 0.005; printf "%.1f", a / b }'; }
mratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo
echo "| operation | Debian ipvsadm 1.31 | ours | speed-up | target | peak RSS Debian | peak RSS ours | ours/Debian memory |"
echo "|---|---|---|---|---|---|---|---|"
echo "| \`ipvsadm -R\` ($lines lines, empty table) | ${deb_r} s | ${our_r} s | $(ratio "$deb_r" "$our_r")x | >= 5x | ${deb_r_kib} KiB | ${our_r_kib} KiB | $(mratio "$deb_r_kib" "$our_r_kib") |"
echo "| \`ipvsadm -Ln\` ($n services, best of $runs) | ${deb_l} s | ${our_l} s | $(ratio "$deb_l" "$our_l")x | >= 2x | ${deb_l_kib} KiB | ${our_l_kib} KiB | $(mratio "$deb_l_kib" "$our_l_kib") |"
ip netns del bench-deb
ip netns del bench-ours
rm -rf "$work"
