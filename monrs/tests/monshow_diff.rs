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

/// `prog` to run; with `etc_mon`, in a private mount namespace where
/// that directory is overlaid on /etc/mon (monshow looks for views in
/// /etc/mon/monshow/).
fn command_with_etc_mon(etc_mon: Option<&std::path::Path>, prog: &str) -> Command {
    let Some(d) = etc_mon else {
        return Command::new(prog);
    };
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

fn show(prog: &str, port: u16, args: &[&str]) -> String {
    show_in(None, prog, port, args)
}

/// monshow's output (and exit status, as a last line); `etc_mon` as for
/// [`command_with_etc_mon`].
fn show_in(etc_mon: Option<&std::path::Path>, prog: &str, port: u16, args: &[&str]) -> String {
    let p = port.to_string();
    let mut c = command_with_etc_mon(etc_mon, prog);
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
        "list: all\nquit: all\nprotid: all\ndisable: all\ntest: all\nstop: all\nack: all\n",
    )
    .unwrap();
    let port = s.port();
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
    cgi_pages_match(&s.dir, port, &etc_mon, ours);
    // acknowledged failures link to their detail page
    moncmd("ack web http looked at it");
    cgi_pages_match(&s.dir, port, &etc_mon, ours);
    let _ = child.kill();
    let _ = child.wait();
}

/// monshow as a CGI program, run in `dir` (where its .monshowrc is)
/// with the given rc text, query string and PATH_INFO; the page with the
/// clock and the seconds since the last check made constant.
fn cgi_page(
    prog: &str,
    dir: &std::path::Path,
    etc_mon: Option<&std::path::Path>,
    query: &str,
    path_info: Option<&str>,
) -> String {
    let mut c = command_with_etc_mon(etc_mon, prog);
    c.current_dir(dir)
        .env("REQUEST_METHOD", "GET")
        .env("QUERY_STRING", query)
        .env("SCRIPT_NAME", "/cgi-bin/monshow")
        .env("TZ", "UTC")
        .env("HOME", "/nonexistent");
    match path_info {
        Some(p) => c.env("PATH_INFO", p),
        None => c.env_remove("PATH_INFO"),
    };
    let o = c.output().unwrap();
    let clock = |l: &str| {
        // "Thu Nov 26 05:10:00 2026": the page's clock
        let t = l
            .trim()
            .trim_start_matches("<td>")
            .trim_end_matches("</td>")
            .trim();
        t.len() == 24 && t.as_bytes()[3] == b' ' && t.as_bytes()[13] == b':'
    };
    let page = String::from_utf8_lossy(&o.stdout);
    let mut prev = "";
    page.lines()
        .map(|l| {
            // the server counts the failure's duration up to each query
            let after_duration = std::mem::replace(&mut prev, l).contains("Failure Duration:");
            if clock(l) || after_duration {
                "CLOCK".to_string()
            } else if l
                .strip_prefix("   <td> ")
                .and_then(|r| r.strip_suffix("s </td>"))
                .is_some_and(|n| n.parse::<u32>().is_ok())
            {
                // the LAST and NEXT columns
                "   <td> Ns </td>".to_string()
            } else if l.starts_with("\t<td> ") && l.ends_with("s ago </td>") {
                "\t<td> LAST CHECK </td>".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + &format!("\nexit {}", o.status.code().unwrap_or(-1))
}

fn cgi_pages_match(dir: &std::path::Path, port: u16, etc_mon: &std::path::Path, ours: &str) {
    let rcs = [
        format!("set host 127.0.0.1\nset port {port}\n"),
        format!(
            "set host 127.0.0.1\nset port {port}\nset full\nset show-disabled\nset refresh 30\nset bg ffffff\nset bg-fail ff0000\nset table-color 999999\nset summary-len 4\nset html-header\n<b>our farm</b>\n\n# not part of it\n  indented\nEND\nlink web http http://wiki/web-http\nlink web ping http://wiki/ping\nlink-text web ping\n  <i>pings</i>\nEND\n"
        ),
        format!("set host 127.0.0.1\nset port {port}\nservice solo s\nbogus\n"),
    ];
    let queries = [
        "",
        "watch=web",
        "watch=solo",
        "detail=web,http",
        "detail=web,ping",
        "detail=solo,s",
        "detail=web,nosuch",
        "disabled=1",
        "disabled=0",
        "x=1?detail=web,http?",
        "detail=",
        "view=v1",
        "view=nosuch",
    ];
    let rc_path = dir.join(".monshowrc");
    for rc in &rcs {
        std::fs::write(&rc_path, rc).unwrap();
        for q in queries {
            let a = cgi_page("/usr/bin/monshow", dir, None, q, None);
            let b = cgi_page(ours, dir, None, q, None);
            if a != b {
                std::fs::write(dir.join("cgi.theirs"), &a).unwrap();
                std::fs::write(dir.join("cgi.ours"), &b).unwrap();
            }
            assert_eq!(a, b, "monshow CGI, rc {rc:?}, query {q:?}");
        }
    }
    // views: PATH_INFO names one under /etc/mon/monshow, as view= does
    std::fs::write(
        etc_mon.join("monshow/v1"),
        format!("set host 127.0.0.1\nset port {port}\nwatch web\n"),
    )
    .unwrap();
    std::fs::remove_file(&rc_path).unwrap();
    for (q, pi) in [
        ("view=v1", None),
        ("", Some("/v1")),
        ("", Some("/./v1/")),
        ("detail=web,http", Some("/v1")),
        ("", Some("/nosuch")),
    ] {
        let a = cgi_page("/usr/bin/monshow", dir, Some(etc_mon), q, pi);
        let b = cgi_page(ours, dir, Some(etc_mon), q, pi);
        assert_eq!(a, b, "monshow CGI, query {q:?}, PATH_INFO {pi:?}");
        if pi != Some("/nosuch") {
            assert!(a.contains("<td><b>v1</b></td>"), "{a}");
        }
    }
    std::fs::write(etc_mon.join("monshow/v1"), "watch web\n").unwrap();
}
