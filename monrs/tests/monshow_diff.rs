//! monshow text mode: ours and Debian's against the same server, with
//! the scheduler stopped so that times do not move.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::require_reference;
use crate::harness::Setup;

const CF: &str = "hostgroup web h1 h2\n\nwatch web\n    service http\n        interval 1h\n        monitor ctl.monitor\n        period wd {Sun-Sat}\n            alert a.alert\n    service ping\n        interval 1h\n        monitor ctl.monitor\n        depend web:http\n\nwatch solo\n    service s\n        interval 1h\n        monitor ctl.monitor\n        depend web:http\n";

fn have_cgi() -> bool {
    Command::new("perl")
        .args(["-MCGI", "-e", "1"])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Debian's monshow needs CGI.pm, which mon does not pull in. CI installs
/// what it needs itself, so install libcgi-pm-perl here if it is missing
/// (waiting for dpkg's lock if another install is running), and fail if
/// that does not work.
fn ensure_cgi_pm() {
    if have_cgi() {
        return;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let install = [
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "-o",
        "DPkg::Lock::Timeout=300",
        "libcgi-pm-perl",
    ];
    if !apt(&install) {
        apt(&["update", "-qq", "-o", "DPkg::Lock::Timeout=300"]);
        apt(&install);
    }
    assert!(
        have_cgi(),
        "Debian's monshow needs CGI.pm: apt-get install libcgi-pm-perl"
    );
}

fn show(prog: &str, port: u16, args: &[&str]) -> String {
    show_in(None, prog, port, args)
}

/// monshow's output (and exit status, as a last line); with `etc_mon`,
/// in a private mount namespace where that directory is overlaid on
/// /etc/mon (monshow looks for views in /etc/mon/monshow/).
fn show_in(etc_mon: Option<&std::path::Path>, prog: &str, port: u16, args: &[&str]) -> String {
    let p = port.to_string();
    let mut c = match etc_mon {
        None => Command::new(prog),
        Some(d) => {
            let d = d.display().to_string();
            std::fs::create_dir_all(format!("{d}-work")).unwrap();
            let mut c = Command::new("unshare");
            c.args(["-m", "--propagation", "private", "sh", "-c"])
                .arg(format!(
                    "mount -t overlay overlay -o lowerdir=/etc/mon,upperdir={d},workdir={d}-work /etc/mon && exec \"$@\""
                ))
                .args(["sh", prog]);
            c
        }
    };
    let o = c
        .args(["--server", "127.0.0.1", "--port", &p])
        .args(args)
        .env("TZ", "UTC")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    let status = format!("\nexit {}", o.status.code().unwrap_or(-1));
    // the clock line and the LAST column (seconds since the last run)
    // differ by the time between the two runs
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.trim_start().starts_with("time:") && !l.starts_with("last check:"))
        .map(|l| {
            if l.len() > 51 && matches!(&l[..2], "R " | "D " | "- ") {
                format!("{}LAST    {}", &l[..43], &l[51..])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + &status
}

#[test]
fn monshow_matches_debian_monshow() {
    require_reference();
    ensure_cgi_pm();
    let s = Setup::new(
        "monshow",
        CF,
        &[
            ("web", "http", &["1 h1 down"]),
            ("web", "ping", &["0 ok"]),
            ("solo", "s", &["1 solo down"]),
        ],
        &["a.alert"],
    );
    std::fs::write(
        s.dir.join("auth.cf"),
        "list: all\nquit: all\nprotid: all\ndisable: all\ntest: all\nstop: all\n",
    )
    .unwrap();
    let port: u16 = s
        .file("mon.cf")
        .lines()
        .find_map(|l| l.strip_prefix("serverport = "))
        .unwrap()
        .parse()
        .unwrap();
    let mut child = s.start(env!("CARGO_BIN_EXE_mon"));
    let moncmd = |c: &str| {
        Command::new(env!("CARGO_BIN_EXE_moncmd"))
            .args(["-s", "127.0.0.1", "-p", &port.to_string(), c])
            .output()
            .unwrap()
    };
    let start = Instant::now();
    while crate::common::connect_local(port).is_none() {
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(50));
    }
    for (g, svc) in [("web", "http"), ("web", "ping"), ("solo", "s")] {
        moncmd(&format!("test monitor {g} {svc}"));
        let t = Instant::now();
        while s.runs(g, svc) < 1 {
            assert!(t.elapsed() < Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // wait until every run has been handled (the status shows its detail)
    let t = Instant::now();
    while !String::from_utf8_lossy(&moncmd("list opstatus").stdout)
        .matches("of\\20run\\201")
        .count()
        .eq(&3)
    {
        assert!(t.elapsed() < Duration::from_secs(60), "runs not processed");
        std::thread::sleep(Duration::from_millis(100));
    }
    moncmd("disable host h2");
    moncmd("stop");
    let ours = env!("CARGO_BIN_EXE_monshow");
    // rc files and views that choose services
    let rc = |name: &str, text: &str| {
        let p = s.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let chosen = rc(
        "chosen.rc",
        "# comment\n\nset full\nwatch solo\nservice web ping\nlink web ping http://x/\nlink-text web ping\n  some text\nEND\n",
    );
    let failing = rc("failing.rc", "service web http\nwatch solo\n");
    let bad = rc("bad.rc", "watch solo\nbogus line\n");
    let etc_mon = s.dir.join("etc-mon");
    std::fs::create_dir_all(etc_mon.join("monshow")).unwrap();
    std::fs::write(etc_mon.join("monshow/v1"), "watch web\n").unwrap();
    for args in [
        vec![],
        vec!["--showall"],
        vec!["--disabled"],
        vec!["--full"],
        vec!["--detail", "web,http"],
        vec!["--detail", "solo,s"],
        vec!["--detail", "web,ping"],
        vec!["--detail", "web,nosuch"],
        vec!["--watch", "web"],
        vec!["--watch", "web", "--full"],
        vec!["--rcfile", &chosen],
        vec!["--rcfile", &failing],
        vec!["--rcfile", &bad],
        vec!["--view", "nosuch"],
    ] {
        let a = show("/usr/bin/monshow", port, &args);
        let b = show(ours, port, &args);
        assert_eq!(a, b, "monshow {args:?}");
    }
    for args in [vec!["--view", "v1"], vec!["--view", "v1", "--full"]] {
        let a = show_in(Some(&etc_mon), "/usr/bin/monshow", port, &args);
        let b = show_in(Some(&etc_mon), ours, port, &args);
        assert_eq!(a, b, "monshow {args:?}");
        assert!(a.contains("web "), "{a}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
