//! `heartbeat`: the daemon and its control options, as heartbeat 3.0.6.

use heartbeat::config::hacf::DEFAULTS;
use heartbeat::daemon::{self, Paths, RunOptions};
use heartbeat::log::{Level, Sink};
use heartbeat::logger::{syslog_time, Logger};
use std::process::exit;
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: heartbeat [-dDkMrRsvWlVf] [-C Current-resource-state]
	-d	Increase debugging level
	-D	Print default configuration values
	-k	Kill (stop) heartbeat
	-M	Disable resource management
	-r	Tell heartbeat to reload configuration
	-R	Restart heartbeat (internal)
	-s	Report heartbeat status
	-v	Verbose
	-W	(with -D) print defaults in wiki format
	-l	Don't run at realtime priority
	-V	Print version
	-f	Run in foreground (do not daemonize)
	--config-dir DIR --state-dir DIR --run-dir DIR --pidfile FILE --node NAME
";

fn usage() -> ! {
    eprint!("{USAGE}");
    exit(1)
}

fn print_defaults(wiki: bool) {
    let l = DEFAULTS.iter().map(|d| d.0.len()).max().unwrap_or(0).max(9);
    let c = DEFAULTS.iter().map(|d| d.1.len()).max().unwrap_or(0).max(7);
    let r = DEFAULTS
        .iter()
        .map(|d| d.2.len())
        .max()
        .unwrap_or(0)
        .max(11);
    if wiki {
        println!("||''Directive''||''Default''||''Description''||");
        for (n, v, e) in DEFAULTS {
            println!("||{n}||{v}||{e}||");
        }
        return;
    }
    println!("{:<l$}  {:<c$}  Description", "Directive", "Default");
    println!("{}", "-".repeat((l + c + r + 4).min(80)));
    for (n, v, e) in DEFAULTS {
        println!("{n:<l$}  {v:<c$}  {e}");
    }
}

fn stderr_line(level: Level, text: &str) {
    eprintln!(
        "{} {} heartbeat: [{}]: {}: {}",
        syslog_time(),
        heartbeat::config::local_node_name(std::path::Path::new("/etc/ha.d")),
        std::process::id(),
        level.tag(),
        text
    );
}

fn main() {
    let mut paths = Paths::from_env();
    let mut node: Option<String> = None;
    let (mut debug, mut defaults, mut wiki, mut kill, mut nomanage, mut reload) =
        (0u8, false, false, false, false, false);
    let (mut status, mut version, mut foreground) = (false, false, false);
    let mut norealtime = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("heartbeat: option {name} requires an argument");
                usage()
            })
        };
        match a.as_str() {
            "--config-dir" => paths.config_dir = val(&a).into(),
            "--state-dir" => paths.state_dir = val(&a).into(),
            "--run-dir" => paths.run_dir = val(&a).into(),
            "--pidfile" => paths.pidfile = val(&a).into(),
            "--node" => node = Some(val(&a)),
            "-C" => {
                let _ = val(&a);
            }
            s if s.starts_with('-') && s.len() > 1 && !s.starts_with("--") => {
                for ch in s[1..].chars() {
                    match ch {
                        'd' => debug = debug.saturating_add(1),
                        'D' => defaults = true,
                        'W' => wiki = true,
                        'k' => kill = true,
                        'M' => nomanage = true,
                        'r' => reload = true,
                        'l' => norealtime = true,
                        'R' | 'v' => {}
                        's' => status = true,
                        'V' => version = true,
                        'f' => foreground = true,
                        'h' => usage(),
                        _ => {
                            eprintln!("heartbeat: invalid option -- '{ch}'");
                            usage()
                        }
                    }
                }
            }
            _ => usage(),
        }
    }
    if version {
        println!(
            "{} (heartbeat-rs {})",
            heartbeat::VERSION,
            env!("CARGO_PKG_VERSION")
        );
        exit(0);
    }
    if defaults {
        print_defaults(wiki);
        exit(0);
    }
    if kill {
        let Some(pid) = daemon::running_pid(&paths.pidfile) else {
            println!("INFO: Heartbeat already stopped.");
            exit(0);
        };
        // SAFETY: plain kill(2).
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let t = Instant::now();
        while daemon::running_pid(&paths.pidfile) == Some(pid)
            && t.elapsed() < Duration::from_secs(600)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        exit(0);
    }
    if reload {
        match daemon::running_pid(&paths.pidfile) {
            // SAFETY: plain kill(2).
            Some(pid) => unsafe {
                libc::kill(pid, libc::SIGHUP);
            },
            None => {
                eprintln!("heartbeat: not running");
                exit(1)
            }
        }
        exit(0);
    }
    let node_name = node
        .clone()
        .unwrap_or_else(|| heartbeat::config::local_node_name(&paths.config_dir));
    if status {
        match daemon::running_pid(&paths.pidfile) {
            Some(pid) => {
                println!(
                    "heartbeat OK [pid {pid} et al] is running on {node_name} [{node_name}]..."
                );
                exit(0);
            }
            None if paths.pidfile.exists() => {
                println!("heartbeat is stopped. No process");
                exit(1);
            }
            None => {
                println!("heartbeat is stopped. No process");
                exit(3);
            }
        }
    }
    if let Some(pid) = daemon::running_pid(&paths.pidfile) {
        eprintln!("heartbeat: already running [pid {pid}].");
        exit(1);
    }
    let (cfg, diags) = match daemon::load_config(&paths, node.as_deref()) {
        Ok(x) => x,
        Err(e) => {
            for d in &e.diags {
                match d.sink {
                    Sink::Stderr => eprintln!("{}", d.text),
                    Sink::Log if d.level != Level::Debug || debug > 0 => {
                        stderr_line(d.level, &d.text)
                    }
                    Sink::Log => {}
                }
                if let Some(at) = &d.at {
                    if d.level <= Level::Error && at.line > 0 {
                        eprintln!("heartbeat: (at {at})");
                    }
                }
            }
            exit(6);
        }
    };
    let h = &cfg.hacf;
    let facility = h
        .logfacility
        .as_deref()
        .and_then(heartbeat::config::hacf::facility_code)
        // No logd here: "use logd" means syslog.
        .or((h.use_logd && h.logfile.is_none() && h.debugfile.is_none())
            .then_some(libc::LOG_DAEMON));
    let log = Arc::new(Logger::new(
        h.logfile.as_deref(),
        h.debugfile.as_deref(),
        facility,
        foreground,
        &cfg.local_node,
        h.debug.max(debug),
    ));
    for d in &diags {
        if d.sink == Sink::Log {
            log.log(d.level, &d.text);
        }
    }
    if !foreground {
        // SAFETY: fork before any thread exists; the parent exits at once.
        match unsafe { libc::fork() } {
            -1 => {
                eprintln!("heartbeat: cannot fork");
                exit(1);
            }
            0 => unsafe {
                libc::setsid();
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null >= 0 {
                    libc::dup2(null, 0);
                    libc::dup2(null, 1);
                    libc::dup2(null, 2);
                }
            },
            _ => exit(0),
        }
    }
    if let Some(dir) = paths.pidfile.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&paths.pidfile, format!("{}\n", std::process::id()));
    if h.realtime && !norealtime {
        make_realtime(h.rtprio, &log);
    }
    let opts = RunOptions {
        foreground,
        node,
        debug,
        manage_resources: !nomanage,
    };
    let rc = daemon::run(cfg, paths.clone(), &opts, log);
    let _ = std::fs::remove_file(&paths.pidfile);
    exit(rc);
}

/// Like 3.0.6 (`realtime true`, the default): SCHED_FIFO at `rtprio` (else
/// the middle of the range) so heartbeats go out on time on a busy
/// machine, and memory locked so they never wait for a page-in. Resource
/// scripts start at normal priority (SCHED_RESET_ON_FORK); that flag
/// resets new threads too, so the medium readers take the policy back
/// themselves (daemon.rs).
fn make_realtime(rtprio: Option<i32>, log: &Logger) {
    // SAFETY: plain scheduler/memory-lock syscalls on this process.
    unsafe {
        let (min, max) = (
            libc::sched_get_priority_min(libc::SCHED_FIFO),
            libc::sched_get_priority_max(libc::SCHED_FIFO),
        );
        let p = libc::sched_param {
            sched_priority: rtprio.unwrap_or((min + max) / 2).clamp(min, max),
        };
        if libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &p) != 0 {
            log.log(
                Level::Error,
                &format!(
                    "Cannot set realtime priority: {}",
                    std::io::Error::last_os_error()
                ),
            );
        }
        if libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) != 0 {
            log.log(
                Level::Error,
                "Cannot lock ourselves into memory:  System limits on locked-in memory are too small.",
            );
        }
    }
}
