//! The shipped monitors run inside the daemon (mon(8), "Shipped monitors
//! run in-process"): what alerts see must be exactly what the monitor
//! processes would have given, including the fall-back to a process when
//! an option would make the process warn on stderr.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::scratch;
use crate::harness::{free_port, Running};

const REC: &str = r#"#!/bin/sh
# first alert per service only: argv (after mon's -t), exit value, stdin
f="__DIR__/got.$MON_SERVICE"
[ -e "$f" ] && exit 0
{ shift 8; echo "args=$* retval=$MON_RETVAL"; cat; } > "$f.tmp"
mv "$f.tmp" "$f"
"#;

/// Our daemon on `cf` in `d`, with the shipped monitors installed (run
/// in-process unless `fork`) and the recording alert.
fn start_daemon(d: &std::path::Path, cf: &str, fork: bool) -> Running {
    let ds = d.display().to_string();
    let st = Command::new(env!("CARGO_BIN_EXE_mon-scripts"))
        .args(["install", &format!("{ds}/mon.d"), &format!("{ds}/alert.d")])
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::write(d.join("alert.d/rec.alert"), REC.replace("__DIR__", &ds)).unwrap();
    Command::new("chmod")
        .args(["+x", &format!("{ds}/alert.d/rec.alert")])
        .status()
        .unwrap();
    std::fs::write(d.join("auth.cf"), "list: all\n").unwrap();
    let port = free_port();
    std::fs::write(
        d.join("mon.cf"),
        format!("serverbind = 127.0.0.1\ntrapbind = 127.0.0.1\nserverport = {port}\ntrapport = {port}\n\n{cf}"),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mon"));
    cmd.args(["-c", &format!("{ds}/mon.cf"), "-b", &ds, "-B", &ds])
        .args([
            "-A",
            &format!("{ds}/auth.cf"),
            "-a",
            &format!("{ds}/alert.d"),
        ])
        .args(["-s", &format!("{ds}/mon.d"), "-L", &ds, "-D", &ds, "-P", ""])
        .env("MONRS_SYSLOG_FILE", format!("{ds}/syslog"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if fork {
        cmd.env("MONRS_FORK_MONITORS", "1");
    } else {
        cmd.env_remove("MONRS_FORK_MONITORS");
    }
    Running(cmd.spawn().unwrap())
}

/// Run our daemon on `cf` until every service in `services` alerted once;
/// the alerts' records by service.
fn alerts_of(cf: &str, services: &[&str], fork: bool) -> Vec<String> {
    let d = scratch("inproc");
    let ds = d.display().to_string();
    let _daemon = start_daemon(&d, cf, fork);
    let start = Instant::now();
    while !services.iter().all(|s| d.join(format!("got.{s}")).exists()) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no alert for every service in {ds}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = services
        .iter()
        .map(|s| std::fs::read_to_string(d.join(format!("got.{s}"))).unwrap())
        .collect();
    let _ = std::fs::remove_dir_all(&d);
    out
}

#[test]
fn in_process_monitors_give_alerts_what_the_processes_gave() {
    let closed = free_port();
    let cf = format!(
        "hostgroup web 127.0.0.1 localhost\n\n\
         watch web\n\
         \x20   service http\n\
         \x20       interval 1s\n\
         \x20       monitor http.monitor -p {closed} -t 2 -u /x\n\
         \x20       period wd {{Sun-Sat}}\n\
         \x20           alert rec.alert one \"two words\"\n\
         \x20   service tcp\n\
         \x20       interval 1s\n\
         \x20       monitor tcp.monitor -p {closed}\n\
         \x20       period wd {{Sun-Sat}}\n\
         \x20           alert rec.alert\n\
         \x20   service badopt\n\
         \x20       interval 1s\n\
         \x20       monitor http.monitor -Z -p {closed}\n\
         \x20       period wd {{Sun-Sat}}\n\
         \x20           alert rec.alert\n"
    );
    let services = ["http", "tcp", "badopt"];
    let native = alerts_of(&cf, &services, false);
    let forked = alerts_of(&cf, &services, true);
    assert_eq!(native, forked);
    // and they are what the monitors say, not empty records
    assert!(
        native[0].starts_with("args=one two words retval=1\n127.0.0.1 localhost\nHOST 127.0.0.1: HTTP response code failure\n"),
        "{}",
        native[0]
    );
    assert!(native[1].contains("127.0.0.1 could not connect: Connection refused"));
    // the process's warning, merged into its output: this run was forked
    assert!(native[2].contains("Unknown option: Z"), "{}", native[2]);
}

#[test]
fn only_links_to_mon_scripts_under_a_monitor_name_run_in_process() {
    use mon::scripts::{in_process_args_ok, shipped_monitor};
    let d = scratch("inproc-detect");
    let bin = env!("CARGO_BIN_EXE_mon-scripts");
    let link = |name: &str| {
        let p = d.join(name);
        std::os::unix::fs::symlink(bin, &p).unwrap();
        p.display().to_string()
    };
    let http = link("http.monitor");
    let other = link("other.monitor");
    let copy = d.join("tcp.monitor");
    std::fs::copy(bin, &copy).unwrap();
    // a link to the link still names the program
    let chained = d.join("sub");
    std::fs::create_dir(&chained).unwrap();
    std::os::unix::fs::symlink(&http, chained.join("fping.monitor")).unwrap();
    assert_eq!(shipped_monitor(&http), Some("http.monitor"));
    assert_eq!(
        shipped_monitor(&chained.join("fping.monitor").display().to_string()),
        Some("fping.monitor")
    );
    assert_eq!(shipped_monitor(&other), None);
    // a copy of mon-scripts that gains privileges when started (setuid
    // here; file capabilities likewise) is started, not run in-process
    let priv_dir = d.join("priv");
    std::fs::create_dir(&priv_dir).unwrap();
    let priv_bin = priv_dir.join("mon-scripts");
    std::fs::copy(bin, &priv_bin).unwrap();
    let linked = priv_dir.join("fping.monitor");
    std::os::unix::fs::symlink(&priv_bin, &linked).unwrap();
    assert_eq!(
        shipped_monitor(&linked.display().to_string()),
        Some("fping.monitor")
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&priv_bin, std::fs::Permissions::from_mode(0o4755)).unwrap();
    assert_eq!(shipped_monitor(&linked.display().to_string()), None);
    assert_eq!(shipped_monitor(&copy.display().to_string()), None);
    assert_eq!(shipped_monitor("/usr/lib/mon/mon.d/http.monitor"), None);
    assert_eq!(
        shipped_monitor(&d.join("http.monitor.missing").display().to_string()),
        None
    );
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(in_process_args_ok(
        "http.monitor",
        &s(&["-p", "80", "-ot5", "h"])
    ));
    assert!(!in_process_args_ok("http.monitor", &s(&["-x", "h"])));
    assert!(in_process_args_ok("fping.monitor", &s(&["-r", "1", "h"])));
    assert!(!in_process_args_ok("fping.monitor", &s(&["-T", "h"])));
    assert!(!in_process_args_ok("fping.monitor", &s(&["-aT", "h"])));
    assert!(in_process_args_ok("tcp.monitor", &s(&["-p", "22", "h"])));
    assert!(!in_process_args_ok("lvs.alert", &s(&[])));
    let _ = std::fs::remove_dir_all(&d);
}

/// A listener whose accept queue is full: SYNs to it go unanswered, so a
/// check of it waits out its own timeout (as for a dead host).
fn stuck_listener() -> (libc::c_int, u16) {
    // SAFETY: plain socket calls on a socket of our own; the port is read
    // back from the kernel.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, (&sa as *const libc::sockaddr_in).cast(), len),
            0
        );
        assert_eq!(libc::listen(fd, 0), 0);
        let mut got: libc::sockaddr_in = std::mem::zeroed();
        let mut gl = len;
        libc::getsockname(fd, (&mut got as *mut libc::sockaddr_in).cast(), &mut gl);
        // fill the accept queue (one connection, never accepted)
        let _filler = std::net::TcpStream::connect(("127.0.0.1", u16::from_be(got.sin_port)));
        std::mem::forget(_filler);
        (fd, u16::from_be(got.sin_port))
    }
}

/// Regression: in the seed's layout every service is due in the same
/// second, and in-process runs got a worker thread each (650 threads,
/// 53 MiB). Workers are now pooled; this checks the other side of that:
/// runs stuck in their timeouts, more of them than the pool's first
/// workers, do not hold up a quick service behind them.
#[test]
fn runs_stuck_in_timeouts_do_not_hold_up_other_services() {
    let (_stuck_fd, stuck) = stuck_listener();
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open_port = open.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let acc = accepted.clone();
    std::thread::spawn(move || {
        for c in open.incoming().flatten() {
            acc.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(c);
        }
    });
    let mut cf = String::new();
    for k in 0..80 {
        cf += &format!(
            "hostgroup s{k} 127.0.0.1\n\nwatch s{k}\n    service http\n        interval 1s\n        monitor http.monitor -p {stuck} -t 9\n\n"
        );
    }
    cf += &format!(
        "hostgroup fast 127.0.0.1\n\nwatch fast\n    service tcp\n        interval 1s\n        monitor tcp.monitor -p {open_port}\n"
    );
    let d = scratch("inproc-stuck");
    let t0 = Instant::now();
    let _daemon = start_daemon(&d, &cf, false);
    // first runs one interval after start; the stuck ones then hold
    // their workers for 9 s
    std::thread::sleep(Duration::from_millis(5500));
    let runs = accepted.load(std::sync::atomic::Ordering::SeqCst);
    let _ = std::fs::remove_dir_all(&d);
    assert!(
        runs >= 3,
        "the quick service ran {runs} times in {:?}",
        t0.elapsed()
    );
}
