//! Running scripts exactly as mon does: monitor argv (quotewords, hosts
//! appended, `;;`), environment, stderr merged into stdout, stdin from
//! /dev/null; alerts with argv/env from [`crate::decide::AlertCall`] and
//! their stdin written by a helper thread so the daemon never blocks.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

use crate::config::Service;
use crate::decide::{AlertCall, ServiceState};
use crate::quotewords::quotewords;

/// Split a service's `monitor` line into (name, args-with-leading-space),
/// like `/^(\S+)(\s+(.*))?$/`.
pub fn monitor_name(monitor: &str) -> (&str, &str) {
    match monitor.find(char::is_whitespace) {
        Some(i) => (&monitor[..i], &monitor[i..]),
        None => (monitor, ""),
    }
}

/// Why a monitor was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRun {
    /// every host disabled/excluded and no `;;` / allow_empty_group
    NoHosts,
}

/// The argv mon execs for a monitor. `hosts` are the group's members as
/// stored (disabled ones start with `*`); `dep_summaries` are the
/// summaries of failing parents for `hm`/hostdepend (hosts found in them
/// as substrings are dropped).
pub fn monitor_argv(
    path: &str,
    args: &str,
    hosts: &[String],
    svc: &Service,
    dep_summaries: Option<&[String]>,
) -> Result<Vec<String>, NotRun> {
    let mut cmd = path.to_string();
    if !args.is_empty() {
        cmd.push(' ');
        cmd.push_str(args);
    }
    let trimmed = cmd.trim_end();
    if let Some(before) = trimmed.strip_suffix(";;") {
        let before = before.trim_end();
        return Ok(quotewords(before).unwrap_or_default());
    }
    let mut ghosts: Vec<String> = hosts
        .iter()
        .filter(|h| !h.starts_with('*'))
        .cloned()
        .collect();
    if !svc.exclude_hosts.is_empty() {
        ghosts.retain(|h| !svc.exclude_hosts.contains(h));
    }
    if let Some(sums) = dep_summaries {
        ghosts.retain(|h| !sums.iter().any(|s| s.contains(h.as_str())));
    }
    if ghosts.is_empty() && !svc.allow_empty_group {
        return Err(NotRun::NoHosts);
    }
    let mut argv = quotewords(&cmd).unwrap_or_default();
    argv.extend(ghosts);
    Ok(argv)
}

/// Paths exported to every script.
#[derive(Debug, Clone, Default)]
pub struct Dirs {
    pub statedir: String,
    pub logdir: String,
    pub cfbasedir: String,
}

/// The variables a monitor gets on top of mon's environment.
pub fn monitor_env(
    group: &str,
    svc: &Service,
    st: &ServiceState,
    dirs: &Dirs,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = svc.env.clone();
    let mut set = |k: &str, v: String| {
        if let Some(e) = env.iter_mut().find(|(n, _)| n == k) {
            e.1 = v;
        } else {
            env.push((k.to_string(), v));
        }
    };
    set("MON_GROUP", group.to_string());
    set("MON_SERVICE", svc.name.clone());
    if let Some(v) = &st.last_summary {
        set("MON_LAST_SUMMARY", v.clone());
    }
    if let Some(v) = &st.last_output {
        set("MON_LAST_OUTPUT", v.clone());
    }
    set("MON_LAST_FAILURE", st.last_failure.to_string());
    if let Some(v) = st.first_failure {
        set("MON_FIRST_FAILURE", v.to_string());
    }
    if let Some(d) = st.depend_status {
        set("MON_DEPEND_STATUS", if d { "1" } else { "0" }.to_string());
    }
    set("MON_LAST_SUCCESS", st.last_success.to_string());
    if let Some(d) = &svc.description {
        set("MON_DESCRIPTION", d.clone());
    }
    set("MON_STATEDIR", dirs.statedir.clone());
    set("MON_LOGDIR", dirs.logdir.clone());
    set("MON_CFBASEDIR", dirs.cfbasedir.clone());
    env
}

/// A started monitor: its pid and the read end of its merged
/// stdout/stderr pipe (non-blocking).
pub struct RunningMonitor {
    /// the child's pid; for a monitor run in-process, the daemon's own
    pub pid: libc::pid_t,
    /// a shipped monitor running on a worker thread of the daemon: it
    /// writes its output into `pipe` as a child would, and sends its exit
    /// code here before closing the pipe
    pub thread: Option<std::sync::mpsc::Receiver<i32>>,
    pub pipe: OwnedFd,
    pub output: Vec<u8>,
    pub eof: bool,
}

fn pipe_cloexec() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn cstr(s: &str) -> std::io::Result<CString> {
    CString::new(s).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

/// Start a monitor with posix_spawn (no page-table copy, no per-spawn
/// walk of the environment through std), stdout and stderr on one pipe,
/// stdin from /dev/null. The environment is ours plus `env`. Signal
/// dispositions are inherited as from mon (SIGPIPE stays ignored).
pub fn spawn_monitor(argv: &[String], env: &[(String, String)]) -> std::io::Result<RunningMonitor> {
    let Some(prog) = argv.first() else {
        return Err(std::io::Error::from_raw_os_error(libc::ENOENT));
    };
    let (r, w) = pipe_cloexec()?;
    let c_argv: Vec<CString> = argv.iter().map(|a| cstr(a)).collect::<Result<_, _>>()?;
    let mut envs: Vec<CString> = Vec::new();
    for (k, v) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if env.iter().any(|(n, _)| *n == k) {
            continue;
        }
        envs.push(cstr(&format!("{}={}", k, v.to_string_lossy()))?);
    }
    for (k, v) in env {
        envs.push(cstr(&format!("{k}={v}"))?);
    }
    let mut argv_p: Vec<*mut libc::c_char> = c_argv.iter().map(|c| c.as_ptr() as *mut _).collect();
    argv_p.push(std::ptr::null_mut());
    let mut env_p: Vec<*mut libc::c_char> = envs.iter().map(|c| c.as_ptr() as *mut _).collect();
    env_p.push(std::ptr::null_mut());
    let path = cstr(prog)?;
    let devnull = c"/dev/null";
    // SAFETY: all pointers stay valid for the duration of the call; the
    // file-actions and attribute objects are initialised and destroyed here.
    unsafe {
        let mut fa: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        libc::posix_spawn_file_actions_init(&mut fa);
        libc::posix_spawn_file_actions_adddup2(&mut fa, w.as_raw_fd(), 1);
        libc::posix_spawn_file_actions_adddup2(&mut fa, w.as_raw_fd(), 2);
        libc::posix_spawn_file_actions_addopen(&mut fa, 0, devnull.as_ptr(), libc::O_RDONLY, 0);
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        // our handlers for HUP/TERM/INT/CHLD become SIG_DFL on exec anyway;
        // clear the blocked mask explicitly
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::posix_spawnattr_setsigmask(&mut attr, &empty);
        libc::posix_spawnattr_setflags(&mut attr, libc::POSIX_SPAWN_SETSIGMASK as libc::c_short);
        let mut pid: libc::pid_t = 0;
        let rc = libc::posix_spawn(
            &mut pid,
            path.as_ptr(),
            &fa,
            &attr,
            argv_p.as_ptr(),
            env_p.as_ptr(),
        );
        libc::posix_spawn_file_actions_destroy(&mut fa);
        libc::posix_spawnattr_destroy(&mut attr);
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        drop(w);
        let fl = libc::fcntl(r.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(r.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
        Ok(RunningMonitor {
            pid,
            thread: None,
            pipe: r,
            output: Vec::new(),
            eof: false,
        })
    }
}

/// A shipped monitor's run handed to a worker thread.
struct Job {
    name: &'static str,
    args: Vec<String>,
    out: OwnedFd,
    done: std::sync::mpsc::Sender<i32>,
}

/// The workers that run shipped monitors in-process, and the jobs
/// waiting for one. Workers are kept for reuse (a monitor run every
/// second should not cost a thread start) and leave after
/// [`WORKER_IDLE`] without work.
///
/// How many: the seed's layout (one watch per real server) makes every
/// service due in the same second, so a thousand jobs can come at once;
/// a worker each would be a thousand threads (seen: 650 threads, 53 MiB)
/// for runs that take a millisecond. So up to [`WORKERS_AT_ONCE`] start
/// straight away, and further jobs queue. While the queue moves, that is
/// all: a burst of short runs is work for the CPUs, not for more threads.
/// When it stops moving and most workers are waiting on the network
/// ([`Waiting`]: dead hosts, runs waiting out their timeouts), each job
/// that has waited [`QUEUE_WAIT`] gets a worker of its own
/// ([`tend_workers`], which the daemon's loop calls), up to
/// [`WORKERS_MAX`]. Workers that are merely short of CPU (the host is
/// busy) do not count: more of them would not help.
struct Pool {
    queue: std::collections::VecDeque<(std::time::Instant, Job)>,
    /// workers waiting for a job
    idle: usize,
    /// workers alive
    workers: usize,
    /// when a worker last took a job from the queue
    last_take: Option<std::time::Instant>,
}

static POOL: std::sync::Mutex<Pool> = std::sync::Mutex::new(Pool {
    queue: std::collections::VecDeque::new(),
    idle: 0,
    workers: 0,
    last_take: None,
});
static WORK: std::sync::Condvar = std::sync::Condvar::new();

/// A worker with nothing to do for this long exits.
const WORKER_IDLE: std::time::Duration = std::time::Duration::from_secs(10);
/// Workers started without waiting.
const WORKERS_AT_ONCE: usize = 64;
/// How long a job may wait in the queue before it gets a worker anyway.
pub const QUEUE_WAIT: std::time::Duration = std::time::Duration::from_millis(50);
/// At most this many workers.
const WORKERS_MAX: usize = 256;
/// The queue counts as stuck when no worker took a job for this long.
const STALLED: std::time::Duration = std::time::Duration::from_millis(10);

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

fn run_job(j: Job) {
    let mut out = Vec::new();
    let code = crate::scripts::run_monitor_in_process(j.name, &j.args, &mut out);
    let mut f = std::fs::File::from(j.out);
    let _ = f.write_all(&out);
    // the code first: the daemon collects it once it sees the pipe close
    let _ = j.done.send(code);
    drop(f);
}

fn start_worker(p: &mut Pool) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("monitor".into())
        .stack_size(256 * 1024)
        .spawn(worker)?;
    p.workers += 1;
    Ok(())
}

fn worker() {
    let mut p = pool();
    loop {
        if let Some((_, job)) = p.queue.pop_front() {
            p.last_take = Some(std::time::Instant::now());
            drop(p);
            run_job(job);
            p = pool();
            continue;
        }
        p.idle += 1;
        let (q, wait) = WORK
            .wait_timeout(p, WORKER_IDLE)
            .unwrap_or_else(|e| e.into_inner());
        p = q;
        p.idle -= 1;
        if wait.timed_out() && p.queue.is_empty() {
            p.workers -= 1;
            return;
        }
    }
}

/// Queue a job: an idle worker takes it, or a new one while there are
/// fewer than [`WORKERS_AT_ONCE`]; otherwise it waits for a worker to
/// come free, or for [`tend_workers`].
fn submit(job: Job) -> std::io::Result<()> {
    let mut p = pool();
    p.queue.push_back((std::time::Instant::now(), job));
    // every queued job has a waiting worker of its own to wake
    if p.idle >= p.queue.len() {
        WORK.notify_one();
        return Ok(());
    }
    if p.workers < WORKERS_AT_ONCE {
        if let Err(e) = start_worker(&mut p) {
            if p.workers == 0 {
                // nobody would ever run it
                p.queue.pop_back();
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Workers (of any kind) waiting on the network right now.
static WAITING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Held while an in-process monitor waits on the network (epoll, or the
/// ICMP engine's answer); see [`Pool`].
pub struct Waiting;

impl Waiting {
    pub fn enter() -> Waiting {
        WAITING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// When the queue has not moved for [`STALLED`] and at least half the
/// workers wait on the network, a worker for every job that has waited
/// [`QUEUE_WAIT`]. Returns whether jobs are still queued
/// (the caller then looks again within [`QUEUE_WAIT`]).
pub fn tend_workers() -> bool {
    let mut p = pool();
    let waiting = WAITING.load(std::sync::atomic::Ordering::Relaxed);
    if p.last_take.is_some_and(|t| t.elapsed() < STALLED) || waiting * 2 < p.workers {
        return !p.queue.is_empty();
    }
    let overdue = p
        .queue
        .iter()
        .take_while(|(t, _)| t.elapsed() >= QUEUE_WAIT)
        .count();
    let room = WORKERS_MAX.saturating_sub(p.workers);
    for _ in 0..overdue.saturating_sub(p.idle).min(room) {
        if start_worker(&mut p).is_err() {
            break;
        }
    }
    !p.queue.is_empty()
}

/// Run one of the shipped monitors (`name`, with `args` = argv[1..]) on a
/// worker thread of the daemon instead of a process: no fork, no exec, no
/// process start-up. Its output reaches the daemon through a pipe exactly
/// as a child's would, so the rest of the daemon cannot tell the
/// difference (see mon(8), "Shipped monitors").
pub fn spawn_in_process(name: &'static str, args: Vec<String>) -> std::io::Result<RunningMonitor> {
    let (r, w) = pipe_cloexec()?;
    // SAFETY: setting O_NONBLOCK on our own read end.
    unsafe {
        let fl = libc::fcntl(r.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(r.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let (done, code) = std::sync::mpsc::channel();
    submit(Job {
        name,
        args,
        out: w,
        done,
    })?;
    Ok(RunningMonitor {
        // SAFETY: getpid has no preconditions.
        pid: unsafe { libc::getpid() },
        thread: Some(code),
        pipe: r,
        output: Vec::new(),
        eof: false,
    })
}

impl RunningMonitor {
    /// An in-process run's exit code as the raw wait status a process
    /// exiting with it would have had (a panic: 101, as the process's).
    fn join_status(rx: std::sync::mpsc::Receiver<i32>) -> libc::c_int {
        (rx.recv().unwrap_or(101) & 0xff) << 8
    }

    /// waitpid(WNOHANG): the raw wait status once the monitor exited.
    pub fn try_wait(&mut self) -> Option<libc::c_int> {
        if self.thread.is_some() {
            // the worker sends the code before it closes the pipe, so
            // after EOF it is there (and no SIGCHLD would come to retry)
            if !self.eof {
                return None;
            }
            return self.thread.take().map(Self::join_status);
        }
        let mut st = 0;
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(self.pid, &mut st, libc::WNOHANG) };
        (r == self.pid).then_some(st)
    }

    /// Blocking wait; the raw wait status.
    pub fn wait(&mut self) -> libc::c_int {
        if let Some(h) = self.thread.take() {
            return Self::join_status(h);
        }
        let mut st = 0;
        loop {
            // SAFETY: waiting for our own child.
            let r = unsafe { libc::waitpid(self.pid, &mut st, 0) };
            if r == self.pid
                || (r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR))
            {
                return st;
            }
        }
    }

    /// Read whatever is available; true once EOF was seen.
    pub fn drain(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: reading into a local buffer from an fd we own.
            let n =
                unsafe { libc::read(self.pipe.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                self.output.extend_from_slice(&buf[..n as usize]);
            } else if n == 0 {
                self.eof = true;
                return true;
            } else {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                if e.kind() != std::io::ErrorKind::WouldBlock {
                    self.eof = true;
                }
                return self.eof;
            }
        }
    }
}

/// `$? >> 8` of a raw wait status: the exit code, or 0 for a signal
/// death (mon counts a monitor killed by a signal as a success).
pub fn exit_value(status: libc::c_int) -> i64 {
    (status >> 8 & 0xff) as i64
}

/// Start an alert, fire-and-forget: a helper thread feeds its stdin and
/// reaps it. Its exit status is ignored, as in mon.
pub fn spawn_alert(call: &AlertCall) -> std::io::Result<()> {
    let argv = call.argv();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .envs(call.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped());
    if call.env.iter().all(|(k, _)| k != "MON_TRAP_INTENDED") {
        cmd.env_remove("MON_TRAP_INTENDED");
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take();
    let data = call.stdin.clone().into_bytes();
    std::thread::Builder::new()
        .name("alert".into())
        .spawn(move || {
            if let Some(s) = stdin.as_mut() {
                let _ = s.write_all(&data);
            }
            drop(stdin);
            let _ = child.wait();
        })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(text: &str) -> Service {
        let env = crate::config::ParseEnv {
            now: crate::period::Tm::from_epoch_utc(0),
            readable: &|_| true,
            disabled_hosts: Default::default(),
        };
        crate::config::parse_str(text, "t", &env).unwrap().watches[0].services[0].clone()
    }
    fn hosts(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn verified_argv_forms() {
        let s = svc("watch g\n service s\n  monitor dump.monitor -x \"quoted arg\" 'single q'\n");
        let (name, args) = monitor_name(s.monitor.as_deref().unwrap());
        assert_eq!(name, "dump.monitor");
        assert_eq!(
            monitor_argv(
                "/m/dump.monitor",
                args,
                &hosts(&["h1", "h2", "h3"]),
                &s,
                None
            )
            .unwrap(),
            vec![
                "/m/dump.monitor",
                "-x",
                "quoted arg",
                "single q",
                "h1",
                "h2",
                "h3"
            ]
        );
        let s = svc("watch g\n service s\n  monitor dump.monitor -y ;;\n");
        let (_, args) = monitor_name(s.monitor.as_deref().unwrap());
        assert_eq!(
            monitor_argv("/m/dump.monitor", args, &hosts(&["h1"]), &s, None).unwrap(),
            vec!["/m/dump.monitor", "-y"]
        );
    }

    #[test]
    fn host_filtering_order() {
        let s = svc("watch g\n service s\n  monitor m\n  exclude_hosts h2\n");
        let h = hosts(&["*h1", "h2", "h3", "h4"]);
        assert_eq!(
            monitor_argv("/m", "", &h, &s, None).unwrap(),
            vec!["/m", "h3", "h4"]
        );
        let sums = vec!["h3 down".to_string()];
        assert_eq!(
            monitor_argv("/m", "", &h, &s, Some(&sums)).unwrap(),
            vec!["/m", "h4"]
        );
        assert_eq!(
            monitor_argv("/m", "", &hosts(&["*h1", "h2"]), &s, None),
            Err(NotRun::NoHosts)
        );
        let s = svc("watch g\n service s\n  monitor m\n  allow_empty_group\n");
        assert_eq!(
            monitor_argv("/m", "", &hosts(&["*h1"]), &s, None).unwrap(),
            vec!["/m"]
        );
    }

    #[test]
    fn unbalanced_quotes_leave_only_hosts() {
        let s = svc("watch g\n service s\n  monitor m -x \"oops\n");
        let (_, args) = monitor_name(s.monitor.as_deref().unwrap());
        assert_eq!(
            monitor_argv("/m", args, &hosts(&["h1"]), &s, None).unwrap(),
            vec!["h1"]
        );
    }

    #[test]
    fn merged_output_and_exit_values() {
        let argv: Vec<String> = ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut m = spawn_monitor(&argv, &[("X".into(), "1".into())]).unwrap();
        let status = m.wait();
        while !m.drain() {}
        assert_eq!(String::from_utf8_lossy(&m.output), "out\nerr\n");
        assert_eq!(exit_value(status), 3);
        let argv: Vec<String> = ["/bin/sh", "-c", "kill -9 $$"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut m = spawn_monitor(&argv, &[]).unwrap();
        assert_eq!(exit_value(m.wait()), 0, "a signal death counts as success");
    }
}
