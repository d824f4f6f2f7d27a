//! A scratch mon installation driven by deterministic scripts, runnable
//! under Debian's mon and under ours with the same mon.cf.
//!
//! * `ctl.monitor` follows a per-service plan file (one "EXIT SUMMARY"
//!   line per run, the last repeated), counts its runs, and logs its argv
//!   and MON_* environment;
//! * every alert in alert.d is `rec.alert` under another name: it logs
//!   the run index at the time it fires, its name, argv (with -t's value
//!   masked), selected environment (epochs masked) and stdin.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::scratch;

pub const MONITOR: &str = r#"#!/bin/sh
D=__DIR__
c="$D/count.$MON_GROUP.$MON_SERVICE"
n=$(cat "$c" 2>/dev/null || echo 0); n=$((n+1))
plan="$D/plan.$MON_GROUP.$MON_SERVICE"
line=$(sed -n "${n}p" "$plan"); [ -z "$line" ] && line=$(tail -n1 "$plan")
code=${line%% *}; sum=${line#* }
[ "$sum" = "$line" ] && sum=""
line="run=$n argv="
for a in "$@"; do line="$line[$a]"; done
for v in MON_GROUP MON_SERVICE MON_LAST_SUMMARY MON_LAST_OUTPUT MON_LAST_FAILURE MON_FIRST_FAILURE MON_LAST_SUCCESS MON_FIRST_SUCCESS MON_DEPEND_STATUS MON_DESCRIPTION MON_STATEDIR MON_LOGDIR MON_CFBASEDIR FOO; do
  eval "set=\${$v+x}"; eval "val=\${$v-}"
  if [ -n "$set" ]; then
    case "$v" in MON_*FAILURE|MON_*SUCCESS) case "$val" in ''|0) ;; *) val=T ;; esac ;; esac
    line="$line $v=$(printf '%s' "$val" | sed "s|$D|D|g" | tr '\n' '|')"
  fi
done
printf '%s\n' "$line" >> "$D/monitor.log"
[ -n "$sum" ] && echo "$sum"
echo "detail of run $n"
# count the run only at its end, a little later: an alert for the
# previous run that starts slowly on a loaded machine still reads the
# previous run's number
sleep 0.3
echo $n > "$c"
exit $code
"#;

pub const ALERT: &str = r#"#!/bin/sh
D=__DIR__
n=$(cat "$D/count.$MON_GROUP.$MON_SERVICE" 2>/dev/null || echo 0)
in=$(cat | tr '\n' '|')
args=""; skip=0
for a in "$@"; do
  if [ $skip = 1 ]; then a=T; skip=0; fi
  [ "$a" = "-t" ] && skip=1
  args="$args[$a]"
done
envs=""
for v in MON_ALERTTYPE MON_RETVAL MON_OPSTATUS MON_LAST_SUMMARY MON_LAST_OUTPUT MON_LAST_FAILURE MON_FIRST_FAILURE MON_LAST_SUCCESS MON_FIRST_SUCCESS MON_DESCRIPTION MON_ACK MON_TRAP_INTENDED MON_STATEDIR MON_LOGDIR MON_CFBASEDIR FOO; do
  eval "set=\${$v+x}"; eval "val=\${$v-}"
  if [ -n "$set" ]; then
    case "$v" in MON_*FAILURE|MON_*SUCCESS) case "$val" in ''|0) ;; *) val=T ;; esac ;; esac
    envs="$envs $v=$(printf '%s' "$val" | sed "s|$D|D|g" | tr '\n' '|')"
  fi
done
line="svc=$MON_GROUP/$MON_SERVICE run=$n alert=$(basename "$0") args=$args env=[$envs ] stdin=$in"
printf '%s\n' "$line" >> "$D/alerts.log"
"#;

pub struct Setup {
    pub dir: PathBuf,
}

/// Scratch directories go away with a passing test and stay for a
/// failing one (to look at).
impl Drop for Setup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A daemon started by a test; killed when dropped, also on a panic.
pub struct Running(pub Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    loop {
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = t.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

impl Setup {
    /// `cf` is the body of mon.cf after the globals; `plans` are
    /// (group, service, [lines]); `alerts` are the alert names to create.
    pub fn new(tag: &str, cf: &str, plans: &[(&str, &str, &[&str])], alerts: &[&str]) -> Setup {
        let dir = scratch(tag);
        for d in ["mon.d", "alert.d", "log", "state"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let ds = dir.display().to_string();
        write_exec(
            &dir.join("mon.d/ctl.monitor"),
            &MONITOR.replace("__DIR__", &ds),
        );
        for a in alerts {
            write_exec(&dir.join("alert.d").join(a), &ALERT.replace("__DIR__", &ds));
        }
        std::fs::write(dir.join("auth.cf"), "list: all\n").unwrap();
        for (g, s, lines) in plans {
            std::fs::write(dir.join(format!("plan.{g}.{s}")), lines.join("\n") + "\n").unwrap();
        }
        let port = free_port();
        let text = format!(
            "serverbind = 127.0.0.1\ntrapbind = 127.0.0.1\nserverport = {port}\ntrapport = {port}\n\n{cf}"
        );
        std::fs::write(dir.join("mon.cf"), text).unwrap();
        Setup { dir }
    }

    pub fn start(&self, binary: &str) -> Running {
        let d = self.dir.display().to_string();
        let mut cmd = Command::new(binary);
        cmd.args([
            "-c",
            &format!("{d}/mon.cf"),
            "-b",
            &d,
            "-B",
            &d,
            "-A",
            &format!("{d}/auth.cf"),
            "-a",
            &format!("{d}/alert.d"),
            "-s",
            &format!("{d}/mon.d"),
            "-L",
            &format!("{d}/log"),
            "-D",
            &format!("{d}/state"),
            "-P",
            &format!("{d}/mon.pid"),
        ])
        .env("MONRS_SYSLOG_FILE", format!("{d}/syslog"))
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(self.dir.join("stderr")).unwrap());
        Running(cmd.spawn().unwrap())
    }

    /// The daemon's TCP (and trap) port, from its mon.cf.
    pub fn port(&self) -> u16 {
        self.file("mon.cf")
            .lines()
            .find_map(|l| l.strip_prefix("serverport = "))
            .and_then(|p| p.parse().ok())
            .expect("serverport in mon.cf")
    }

    pub fn runs(&self, g: &str, s: &str) -> usize {
        std::fs::read_to_string(self.dir.join(format!("count.{g}.{s}")))
            .ok()
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

fn write_exec(p: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Run a daemon until every listed service has started `runs` monitor
/// runs (so run `runs - 1` has been fully handled), plus a grace period.
pub fn run_until(
    setup: &Setup,
    binary: &str,
    services: &[(&str, &str)],
    runs: usize,
    limit: Duration,
) {
    let mut child = setup.start(binary);
    let start = Instant::now();
    loop {
        if services.iter().all(|(g, s)| setup.runs(g, s) >= runs) {
            break;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{binary} exited early ({st}): {}", setup.file("stderr"));
        }
        assert!(
            start.elapsed() < limit,
            "{binary}: timed out waiting for {runs} runs in {}",
            setup.dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // alerts are fire-and-forget; give the last ones time to write
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
}

/// alerts.log lines for runs below `max_run`, sorted (alerts of one event
/// run concurrently, and mon walks periods in hash order).
pub fn alert_records(setup: &Setup, max_run: usize) -> Vec<String> {
    let mut v: Vec<String> = setup
        .file("alerts.log")
        .lines()
        .filter(|l| run_of(l) < max_run)
        .map(String::from)
        .collect();
    v.sort_by_key(|l| (run_of(l), l.clone()));
    v
}

pub fn monitor_records(setup: &Setup, max_run: usize) -> Vec<String> {
    let mut v: Vec<String> = setup
        .file("monitor.log")
        .lines()
        .filter(|l| run_of(l) < max_run)
        .map(String::from)
        .collect();
    v.sort_by_key(|l| (run_of(l), l.clone()));
    v
}

fn run_of(l: &str) -> usize {
    l.split_whitespace()
        .find_map(|w| w.strip_prefix("run="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}
