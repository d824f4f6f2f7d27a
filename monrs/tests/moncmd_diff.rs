//! moncmd: ours and Debian's against the same server print the same.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::require_reference;
use crate::harness::Setup;

const CF: &str = "hostgroup g h1 h2\n\nwatch g\n    service s\n        interval 1h\n        monitor ctl.monitor\n        description two words\n";

fn moncmd(prog: &str, port: u16, args: &[&str], stdin: &str) -> (String, i32) {
    let p = port.to_string();
    let mut all = vec!["-s", "127.0.0.1", "-p", p.as_str()];
    all.extend(args);
    let mut c = Command::new(prog)
        .args(&all)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

#[test]
fn moncmd_output_matches_debian_moncmd() {
    require_reference();
    let s = Setup::new("moncmd", CF, &[("g", "s", &["0 ok"])], &[]);
    std::fs::write(
        s.dir.join("auth.cf"),
        "list: all\nquit: all\nservertime: all\nstop: root\n",
    )
    .unwrap();
    let port = s.port();
    let mut child = s.start(env!("CARGO_BIN_EXE_mon"));
    let start = Instant::now();
    while crate::common::connect_local(port).is_none() {
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(50));
    }
    let ours = env!("CARGO_BIN_EXE_moncmd");
    for (args, stdin) in [
        (vec!["list", "watch"], ""),
        (vec!["list", "group", "g"], ""),
        (vec!["list", "descriptions"], ""),
        (vec!["stop"], ""),
        (vec!["bogus"], ""),
        (
            vec!["-f", "-"],
            "list watch\n\nlist group nope\nlist state\n",
        ),
        (vec![], "list watch\nlist bogus\n"),
        (vec!["-a", "-l", "nobody"], "PASS=wrong\nlist watch\n"),
    ] {
        let a = moncmd("/usr/bin/moncmd", port, &args, stdin);
        let b = moncmd(ours, port, &args, stdin);
        // Perl's die exits with whatever errno happens to be
        let norm = |(o, rc): (String, i32)| (o, rc == 0);
        assert_eq!(norm(a), norm(b), "moncmd {args:?} <<< {stdin:?}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
