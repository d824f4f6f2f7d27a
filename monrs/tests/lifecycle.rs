//! The daemon's life: -f, pid file, HUP keeping state, TERM, the downtime
//! log, trap timeouts, config errors on reset. Ours only (the
//! differential tests cover decisions and replies).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Setup;

fn cmd(port: u16, c: &str) -> Vec<String> {
    let start = Instant::now();
    let w = loop {
        match crate::common::connect_local(port) {
            Some(s) => break s,
            None if start.elapsed() < Duration::from_secs(60) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            None => panic!("no server on {port}"),
        }
    };
    let mut w = w;
    let mut r = BufReader::new(w.try_clone().unwrap());
    w.write_all(format!("{c}\nquit\n").as_bytes()).unwrap();
    let mut out = Vec::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap() == 0 {
            break;
        }
        let l = l.trim_end().to_string();
        let done = l.starts_with("220 ") || l.starts_with("520 ");
        out.push(l);
        if done {
            break;
        }
    }
    out
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const CF: &str = "dtlogging = yes\nhistoricfile = history.log\nhistlength = 2\n\nhostgroup g h1 h2\n\nwatch g\n    service s\n        interval 1s\n        monitor ctl.monitor\n        period wd {Sun-Sat}\n            alert a.alert\n            upalert u.alert\n    service t\n        traptimeout 1s\n        period wd {Sun-Sat}\n            alert a.alert\n";

#[test]
fn fork_pidfile_hup_keepstate_dtlog_traptimeout_term() {
    let s = Setup::new(
        "life",
        CF,
        &[("g", "s", &["1 h1", "1 h1", "0", "0"])],
        &["a.alert", "u.alert"],
    );
    std::fs::write(
        s.dir.join("auth.cf"),
        "list: all\ndisable: all\nquit: all\nreset: all\n",
    )
    .unwrap();
    let d = s.dir.display().to_string();
    let port = s.port();
    // -f: the command returns at once, the daemon writes its pid file
    let st = Command::new(env!("CARGO_BIN_EXE_mon"))
        .args([
            "-f",
            "-c",
            &format!("{d}/mon.cf"),
            "-b",
            &d,
            "-B",
            &d,
            "-A",
            &format!("{d}/auth.cf"),
        ])
        .args([
            "-a",
            &format!("{d}/alert.d"),
            "-s",
            &format!("{d}/mon.d"),
            "-L",
            &format!("{d}/log"),
        ])
        .args(["-D", &format!("{d}/state"), "-P", &format!("{d}/mon.pid")])
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    wait_for("pid file", || !s.file("mon.pid").is_empty());
    let pid: i32 = s.file("mon.pid").trim().parse().unwrap();
    let guard = scopeguard(pid);
    // the daemon is in a new session (double fork: it does not lead it)
    let (sid, ours) = unsafe { (libc::getsid(pid), libc::getsid(0)) };
    assert!(
        sid > 0 && sid != ours && sid != pid,
        "sid {sid}, ours {ours}, pid {pid}"
    );

    // trap timeout: an -O alert with mon's stdin text
    wait_for("trap timeout alert", || {
        s.file("alerts.log").contains("svc=g/t")
    });
    let l = s.file("alerts.log");
    let t = l.lines().find(|l| l.contains("svc=g/t")).unwrap();
    assert!(t.contains("[-O]"), "{t}");
    assert!(t.contains("MON_ALERTTYPE=traptimeout"), "{t}");
    assert!(
        t.contains("stdin=trap timeout|trap timeout after 1s at "),
        "{t}"
    );

    // failure then recovery: the downtime log gets the header and a line
    wait_for("recovery", || s.runs("g", "s") >= 3);
    wait_for("dtlog line", || {
        s.file("log/downtime.log")
            .lines()
            .any(|l| l.contains(" g s "))
    });
    let dt = s.file("log/downtime.log");
    assert!(dt.starts_with("#\n# downtime log start "), "{dt}");
    let line = dt.lines().find(|l| l.contains(" g s ")).unwrap();
    let f: Vec<&str> = line.split(' ').collect();
    assert_eq!((f[1], f[2], f[5], f[6]), ("g", "s", "1", "h1"), "{line}");
    assert!(cmd(port, "list dtlog").iter().any(|l| l.contains(" g s ")));

    // disables survive HUP, and the state file says so
    assert_eq!(
        cmd(port, "disable host h2").last().unwrap(),
        "220 disable host completed"
    );
    assert_eq!(
        cmd(port, "disable service g s").last().unwrap(),
        "220 disable service completed"
    );
    assert_eq!(
        s.file("state/disabled"),
        "disable host h2\ndisable service g s\n"
    );
    unsafe { libc::kill(pid, libc::SIGHUP) };
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        cmd(port, "list group g"),
        vec!["hostgroup g h1 *h2", "220 list group completed"]
    );
    assert_eq!(
        cmd(port, "list disabled"),
        vec![
            "group g: h2",
            "watch g service s",
            "220 list disabled completed"
        ]
    );
    // a plain reset keeps host disables but drops service disables
    assert!(cmd(port, "reset")
        .last()
        .unwrap()
        .starts_with("220 reset PID "));
    assert_eq!(
        cmd(port, "list disabled"),
        vec!["group g: h2", "220 list disabled completed"]
    );
    // a broken config on reset keeps the old one
    let good = s.file("mon.cf");
    std::fs::write(s.dir.join("mon.cf"), format!("{good}\nbogus = 1\n")).unwrap();
    assert!(cmd(port, "reset")
        .last()
        .unwrap()
        .contains("failed, error in config file"));
    assert_eq!(
        cmd(port, "list watch"),
        vec!["g s", "g t", "220 list watch completed"]
    );
    std::fs::write(s.dir.join("mon.cf"), good).unwrap();

    // alert history goes to historicfile, and a reset reads it back
    // (histlength 2 keeps the last two)
    let hist = s.file("log/history.log");
    assert!(hist.lines().count() >= 2, "{hist}");
    assert!(
        hist.lines().all(|l| l.split(' ').nth(1) == Some("g")),
        "{hist}"
    );
    let listed = cmd(port, "list alerthist");
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(
        listed[0].starts_with("alert\\20g\\20")
            || listed[0].starts_with("upalert\\20g\\20")
            || listed[0].starts_with("traptimeoutalert\\20g\\20"),
        "{listed:?}"
    );

    // TERM removes the pid file
    drop(guard);
    wait_for("pid file removal", || !s.dir.join("mon.pid").exists());
}

/// Kills the daemon when dropped (also on a failed assertion).
struct Guard(i32);
impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: signalling the daemon this test started.
        unsafe { libc::kill(self.0, libc::SIGTERM) };
    }
}
fn scopeguard(pid: i32) -> Guard {
    Guard(pid)
}

/// `dump` with -d: mon prints its watch structure to stderr and answers
/// nothing; the next command's reply is the next thing the client reads.
#[test]
fn dump_with_debug_writes_services_to_stderr_and_no_reply() {
    let s = Setup::new(
        "dump",
        CF,
        &[("g", "s", &["0 fine"])],
        &["a.alert", "u.alert"],
    );
    let d = s.dir.display().to_string();
    let mut child = crate::harness::Running(
        Command::new(env!("CARGO_BIN_EXE_mon"))
            .args(["-d", "-c", &format!("{d}/mon.cf"), "-b", &d, "-B", &d])
            .args(["-A", &format!("{d}/auth.cf"), "-a", &format!("{d}/alert.d")])
            .args(["-s", &format!("{d}/mon.d"), "-L", &format!("{d}/log")])
            .args(["-D", &format!("{d}/state"), "-P", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(s.dir.join("stderr")).unwrap())
            .spawn()
            .unwrap(),
    );
    let reply = cmd(s.port(), "dump\nversion");
    assert_eq!(reply, ["version 9745", "220 version completed"]);
    wait_for("the dump on stderr", || {
        s.file("stderr").contains("watch g service t:")
    });
    let err = s.file("stderr");
    assert!(err.contains("watch g service s:"), "{err}");
    assert!(err.contains("traptimeout: Some(\n        1.0,"), "{err}");
    let _ = child.kill();
}
