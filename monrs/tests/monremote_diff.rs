//! `monremote`: the program mon runs (as `PROG verb args` through the
//! shell) when a client disables, enables or tests something, for
//! keeping a second mon in step. Same commands to both daemons, same
//! invocations.

use std::time::{Duration, Instant};

use crate::common::{reference_lock, require_reference};
use crate::harness::Setup;
use crate::protocol_diff::Conn;

const CF: &str = "hostgroup g h1 h2\n\nwatch g\n    service s\n        interval 1h\n        monitor ctl.monitor\n    service t\n        interval 1h\n        monitor ctl.monitor\n\nwatch solo\n    service s\n        interval 1h\n        monitor ctl.monitor\n";

const COMMANDS: &[&str] = &[
    "disable host h1",
    "disable service g s",
    "disable watch solo",
    "test monitor g t",
    "enable watch solo",
    "enable service g s",
    "enable host h1",
    "disable host solo",
    "enable host solo",
];

fn remote_calls(s: &Setup) -> Vec<String> {
    let port = s.port();
    let remote = s.dir.join("remote.sh");
    std::fs::write(
        &remote,
        format!("#!/bin/sh\necho \"$*\" >> {}/remote.log\n", s.dir.display()),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&remote)
        .status()
        .unwrap();
    let mut child = s.start(if s.dir.to_string_lossy().contains("-ours") {
        env!("CARGO_BIN_EXE_mon")
    } else {
        "/usr/sbin/mon"
    });
    let mut c = Conn::open(port);
    for cmd in COMMANDS {
        let r = c.cmd(cmd);
        assert!(
            r.last().is_some_and(|l| l.starts_with("220")),
            "{cmd}: {r:?}"
        );
    }
    // the calls run in the background: wait until they stop coming
    let start = Instant::now();
    let mut last = (0, Instant::now());
    while last.1.elapsed() < Duration::from_millis(1500)
        && start.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(100));
        let n = s.file("remote.log").len();
        if n != last.0 {
            last = (n, Instant::now());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut v: Vec<String> = s.file("remote.log").lines().map(String::from).collect();
    // each call is its own background process: the order is not kept
    v.sort();
    v
}

#[test]
fn monremote_calls_match_debian_mon() {
    require_reference();
    let _serial = reference_lock();
    let setups: Vec<Setup> = ["remote-ours", "remote-mon"]
        .iter()
        .map(|tag| {
            let s = Setup::new(
                tag,
                CF,
                &[
                    ("g", "s", &["0"]),
                    ("g", "t", &["0"]),
                    ("solo", "s", &["0"]),
                ],
                &[],
            );
            let cf = s.file("mon.cf").replacen(
                "\n\n",
                &format!("\nmonremote = {}/remote.sh\n\n", s.dir.display()),
                1,
            );
            std::fs::write(s.dir.join("mon.cf"), cf).unwrap();
            std::fs::write(
                s.dir.join("auth.cf"),
                "list: all\ndisable: all\nenable: all\ntest: all\n",
            )
            .unwrap();
            s
        })
        .collect();
    let (ours, theirs) = std::thread::scope(|sc| {
        let a = sc.spawn(|| remote_calls(&setups[0]));
        let b = sc.spawn(|| remote_calls(&setups[1]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(ours, theirs);
    assert!(ours.contains(&"disable host h1".to_string()), "{ours:?}");
    assert!(ours.contains(&"test g t".to_string()), "{ours:?}");
}
