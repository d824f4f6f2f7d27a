# /etc/rc.d/init.d/functions for the seed lab: the few helpers of RedHat's
# init function library that the seed's `puck` uses (daemon, killproc,
# status), written for the lab. This is environment emulation of the
# seed's RedHat directors, not one of the seed's files: Debian has no
# /etc/rc.d. The lab binds it at /etc/rc.d/init.d/functions inside each
# director's mount namespace (tests/src/seed/mod.rs).

PATH=/sbin:/usr/sbin:/bin:/usr/bin
export PATH

success() { echo -n "[  OK  ]"; return 0; }
failure() { echo -n "[FAILED]"; return 1; }

# daemon [--check base] [+/-nicelevel] program [arguments]: start a
# program that puts itself in the background.
daemon() {
	case "$1" in --check) shift 2 ;; esac
	case "$1" in [-+][0-9]*) shift ;; esac
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then success; else failure; fi
	return $rc
}

# killproc program [signal]: TERM (then KILL after 3 s) every process of
# that name, or only the given signal.
killproc() {
	base=${1##*/}
	pids=`pidof -o $$ -o $PPID -o %PPID -x "$base"`
	if [ -z "$pids" ]; then
		failure
		return 1
	fi
	if [ -n "$2" ]; then
		kill "$2" $pids
		return $?
	fi
	kill -TERM $pids 2>/dev/null
	n=0
	while [ $n -lt 30 ] && pidof -o $$ -o $PPID -o %PPID -x "$base" >/dev/null; do
		sleep 0.1
		n=`expr $n + 1`
	done
	pids=`pidof -o $$ -o $PPID -o %PPID -x "$base"`
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	success
	return 0
}

# status program: "program (pid N) is running..." or "program is stopped".
status() {
	base=${1##*/}
	pids=`pidof -o $$ -o $PPID -o %PPID -x "$base"`
	if [ -n "$pids" ]; then
		echo "$base (pid $pids) is running..."
		return 0
	fi
	echo "$base is stopped"
	return 3
}
