//! Config errors: the same broken mon.cf files through Debian's mon and
//! ours must fail with the same stderr (warnings and the `cf error` line
//! with its line number) and exit status; accepted files must start.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{reference_lock, require_reference, scratch};
use crate::harness::free_port;

const CASES: &[&str] = &[
    // globals
    "Histlength = 5\n",
    "randstart = 60\n",
    "cltimeout = 30\n",
    "historictime = 1x\n",
    "dep_behavior = q\n",
    "dep_memory = 5\n",
    "unack_summary = x\n",
    "unack_summary = 2\n",
    "exclude_period = wd {Foo}\n",
    "authfile = /nonexistent/auth.cf\n",
    "userfile = /nonexistent/users\n",
    "hostgroup g a\nfoo = bar\n",
    // watch structure
    "watch g\nFOO=1\n",
    "watch g\n interval 1m\n",
    "watch g\n service a b\n",
    "watch g\n service\n",
    "watch g\n service a\n service a\n",
    "watch g\n service a\n\nwatch g\n",
    "watch g\n service a\n  -foo\n",
    "watch g\n service a\n  period\n  interval 5m\n",
    "watch g\n service a\n  bogus 1\n",
    "watch g\n service a\n  FOO = 1\n",
    // service keywords
    "watch g\n service a\n  interval 0s\n",
    "watch g\n service a\n  interval 5\n",
    "watch g\n service a\n  interval 1h30m\n",
    "watch g\n service a\n  failure_interval 0m\n",
    "watch g\n service a\n  traptimeout x\n",
    "watch g\n service a\n  trapduration 0s\n",
    "watch g\n service a\n  randskew 5\n",
    "watch g\n service a\n  dep_behavior x\n",
    "watch g\n service a\n  dep_memory 0s\n",
    "watch g\n service a\n  unack_summary\n",
    "watch g\n service a\n  unack_summary 7\n",
    "watch g\n service a\n  exclude_period hr {25}\n",
    // periods
    "watch g\n service a\n  period wd {Foo}\n",
    "watch g\n service a\n  period x: wd {1}\n  period x: wd {2}\n",
    "watch g\n service a\n  period\n  alertevery 0s\n",
    "watch g\n service a\n  period\n  alertevery 5\n",
    "watch g\n service a\n  period\n  alertevery 5m bogus\n",
    "watch g\n service a\n  period\n  alertafter 1d\n",
    "watch g\n service a\n  period\n  alertafter 1.5m\n",
    "watch g\n service a\n  period\n  alertafter 0s\n",
    "watch g\n service a\n  interval 1m\n  period\n  alertafter 3 2m\n",
    "watch g\n service a\n  period\n  numalerts x\n",
    "watch g\n service a\n  period\n  upalertafter 5\n",
    "watch g\n service a\n  period\n  alertexitrange 1 - 2\n",
    "watch g\n service a\n  period\n  frobnicate\n",
    // logical lines
    "# c\nhostgroup g a \\\n b\n\nwatch g\n service a\n  interval \\\n   0s\n",
    "hostgroup g a\nwatch g\n service a\n interval 5\n\nwatch h\n service b\n  interval 0s\n",
    "watch g\n service a\n  interval 1m\n\n  service b\n  interval 0s\nwatch h\n service c\n  interval 0s\n",
];

const ACCEPTED: &[&str] = &[
    "hostgroup g a b\n\nwatch g\n service s\n  interval 1h\n  monitor x.monitor\n  period wd {Sun-Sat}\n   alert mail.alert root # page\n",
    "watch g\n service s\n  interval 00s\n  period\n   alertevery 1h strict\n   alertafter 2 5m\n",
    "cfbasedir = /tmp # comment\n",
];

/// Run a daemon on `cf`. Returns (exit status, or None if it started
/// serving, sorted stderr).
fn run(binary: &str, cf: &str) -> (Option<i32>, String) {
    let d = scratch("parse");
    let ds = d.display().to_string();
    std::fs::write(d.join("auth.cf"), "").unwrap();
    let port = free_port();
    std::fs::write(
        d.join("mon.cf"),
        format!("serverbind = 127.0.0.1\ntrapbind = 127.0.0.1\nserverport = {port}\ntrapport = {port}\n{cf}"),
    )
    .unwrap();
    let mut child = Command::new(binary)
        .current_dir(&d)
        .args([
            "-c",
            &format!("{ds}/mon.cf"),
            "-b",
            &ds,
            "-B",
            &ds,
            "-A",
            &format!("{ds}/auth.cf"),
        ])
        .args([
            "-a",
            &ds,
            "-s",
            &ds,
            "-L",
            &ds,
            "-D",
            &ds,
            "-P",
            &format!("{ds}/mon.pid"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        // a daemon that accepted its config writes its pid file (its
        // port is no sign: another test may have taken the same one)
        let accepted = std::fs::read_to_string(d.join("mon.pid")).is_ok_and(|p| p.ends_with('\n'));
        if accepted || start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut lines: Vec<String> = std::fs::read_to_string(d.join("stderr"))
        .unwrap()
        .lines()
        .map(|l| l.replace(&ds, "D"))
        .collect();
    // mon prints hostgroup warnings in hash order
    lines.sort();
    let _ = std::fs::remove_dir_all(&d);
    (code, lines.join("\n"))
}

#[test]
fn config_errors_match_debian_mon() {
    require_reference();
    let _serial = reference_lock();
    let ours = env!("CARGO_BIN_EXE_mon");
    // a few at a time: Perl start-up is slow on a loaded machine
    let mut results = Vec::new();
    for chunk in CASES.chunks(8) {
        results.extend(std::thread::scope(|s| {
            let hs: Vec<_> = chunk
                .iter()
                .map(|cf| s.spawn(move || (cf, run("/usr/sbin/mon", cf), run(ours, cf))))
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        }));
    }
    let mut bad = Vec::new();
    for (cf, theirs, mine) in results {
        assert!(
            theirs.0.is_some(),
            "the reference accepted {cf:?}; fix the case"
        );
        if theirs != mine {
            bad.push(format!("{cf:?}\n  mon:  {theirs:?}\n  ours: {mine:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn accepted_configs_start_in_both() {
    require_reference();
    let _serial = reference_lock();
    let ours = env!("CARGO_BIN_EXE_mon");
    for cf in ACCEPTED {
        let (theirs, mine) = std::thread::scope(|s| {
            let a = s.spawn(|| run("/usr/sbin/mon", cf));
            let b = s.spawn(|| run(ours, cf));
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!(
            theirs.0, None,
            "reference did not keep running for {cf:?}: {}",
            theirs.1
        );
        assert_eq!(
            mine.0, None,
            "ours did not keep running for {cf:?}: {}",
            mine.1
        );
    }
}
