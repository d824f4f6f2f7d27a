//! The shipped monitors and alerts against the originals in
//! /usr/lib/mon: same arguments (and environment/stdin), same output and
//! exit status.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{require_reference, scratch};

/// Our multi-call binary under the original's name.
fn ours(name: &str) -> String {
    let d = scratch("scripts");
    let p = d.join(name);
    symlink(env!("CARGO_BIN_EXE_mon-scripts"), &p).unwrap();
    p.display().to_string()
}

fn run(prog: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> (String, i32) {
    let mut c = Command::new(prog)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
fn tcp_monitor_matches_original() {
    require_reference();
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let op = open.local_addr().unwrap().port().to_string();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let cp = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let me = ours("tcp.monitor");
    for args in [
        vec!["-p", &op, "127.0.0.1"],
        vec!["-p", &cp, "127.0.0.1", "localhost"],
        vec!["-p", &cp, "-t", "2", "no-such-host.invalid", "127.0.0.1"],
        vec![],
    ] {
        let a = run("/usr/lib/mon/mon.d/tcp.monitor", &args, &[], "");
        let b = run(&me, &args, &[], "");
        assert_eq!(a, b, "tcp.monitor {args:?}");
    }
}

/// Read a request up to its blank line: the original writes it in three
/// pieces and dies of SIGPIPE if the server answers too early.
fn read_request(s: &mut std::net::TcpStream) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
}

/// A one-shot HTTP server per response.
fn http_server(response: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut s = s;
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            read_request(&mut s);
            let _ = s.write_all(response.as_bytes());
        }
    });
    port
}

/// A server that answers and then keeps the connection open for 3 s.
fn http_server_that_hangs(response: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                read_request(&mut s);
                let _ = s.write_all(response.as_bytes());
                std::thread::sleep(Duration::from_secs(3));
            });
        }
    });
    port
}

/// Regression: a server that sends its answer but does not close it
/// counts as up once the timeout comes ("timeout isn't a problem if we
/// already got good data", says the original). Ours, woken only by the
/// whole answer (SO_RCVLOWAT), had not read it by then and said timeout.
#[test]
fn http_monitor_takes_an_answer_that_never_ends_like_the_original() {
    require_reference();
    let ok =
        http_server_that_hangs("HTTP/1.0 200 OK\r\nServer: t\r\n\r\nstill sending\n").to_string();
    let bad = http_server_that_hangs("HTTP/1.0 500 Oops\r\nServer: t\r\n\r\n").to_string();
    let me = ours("http.monitor");
    for args in [
        vec!["-p", ok.as_str(), "-t", "1", "127.0.0.1"],
        vec!["-p", bad.as_str(), "-t", "1", "127.0.0.1"],
        vec!["-p", ok.as_str(), "-t", "1", "-m", "still", "127.0.0.1"],
    ] {
        let a = run("/usr/lib/mon/mon.d/http.monitor", &args, &[], "");
        let b = run(&me, &args, &[], "");
        assert_eq!(a, b, "http.monitor {args:?}");
    }
}

#[test]
fn http_monitor_matches_original() {
    require_reference();
    let ok = http_server("HTTP/1.0 200 OK\r\nServer: t\r\n\r\nWelcome home\n").to_string();
    let nf = http_server("HTTP/1.1 404 Not Found\r\nServer: t\r\n\r\nnope\n").to_string();
    let redirect = http_server("HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n").to_string();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let me = ours("http.monitor");
    for args in [
        vec!["-p", ok.as_str(), "127.0.0.1"],
        vec!["-p", ok.as_str(), "-o", "127.0.0.1"],
        vec!["-p", nf.as_str(), "127.0.0.1"],
        vec!["-p", redirect.as_str(), "-u", "/a", "localhost"],
        vec!["-p", closed.as_str(), "127.0.0.1"],
        vec!["-p", ok.as_str(), "-m", "Welcome", "127.0.0.1"],
        vec!["-p", ok.as_str(), "-m", "Goodbye", "127.0.0.1"],
        vec!["-p", nf.as_str(), "-m", "nope", "127.0.0.1"],
        vec![],
    ] {
        let a = run("/usr/lib/mon/mon.d/http.monitor", &args, &[], "");
        let b = run(&me, &args, &[], "");
        assert_eq!(a, b, "http.monitor {args:?}");
    }
}

#[test]
fn file_alert_matches_original() {
    require_reference();
    let d = scratch("filealert");
    let ds = d.display().to_string();
    let me = ours("file.alert");
    let env = [
        ("MON_ALERTTYPE", "failure"),
        ("MON_OPSTATUS", "0"),
        ("MON_DESCRIPTION", "web farm"),
        ("TZ", "UTC"),
    ];
    for (prog, file) in [
        ("/usr/lib/mon/alert.d/file.alert", "theirs"),
        (me.as_str(), "ours"),
    ] {
        for extra in [vec![], vec!["-u"], vec!["-S", "override"]] {
            let mut args = vec![
                "-d",
                ds.as_str(),
                "-s",
                "http",
                "-g",
                "web",
                "-h",
                "h1 h2",
                "-t",
                "1795635646",
            ];
            args.extend(extra);
            args.push(file);
            run(prog, &args, &env, "h1 down\nline 2\nline 3\n");
        }
    }
    let a = std::fs::read_to_string(d.join("theirs")).unwrap();
    let b = std::fs::read_to_string(d.join("ours")).unwrap();
    assert_eq!(a, b);
    assert!(a.contains("failure web http 1795635646 (Wed Nov 25 19:40:46) h1 down\nDESCR=web farm\nOPSTATUS=0\nline 2\nline 3\n.\n"));
}

/// Runs `f` inside a fresh network namespace with a /24 on which
/// nobody answers (addresses there are unreachable), then removes it.
fn in_netns(f: impl FnOnce(&str)) {
    // unique per call: tests using it run in parallel in one process
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let ns = format!(
        "mon-ping-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let sh = |c: &str| {
        let st = Command::new("sh").arg("-c").arg(c).status().unwrap();
        assert!(st.success(), "{c}");
    };
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    sh(&format!("ip netns add {ns}"));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sh(&format!("ip -n {ns} link set lo up"));
        // a veth pair whose far end answers nobody: ARP for 10.9.9.x fails
        sh(&format!(
            "ip -n {ns} link add mon-v0 type veth peer name mon-v1"
        ));
        sh(&format!("ip -n {ns} addr add 10.9.9.1/24 dev mon-v0"));
        sh(&format!("ip -n {ns} link set mon-v0 up"));
        sh(&format!("ip -n {ns} link set mon-v1 up"));
        f(&ns);
    }));
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    if let Err(e) = r {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn fping_monitor_matches_original_summary_and_exit() {
    require_reference();
    assert!(
        std::path::Path::new("/usr/bin/fping").exists(),
        "fping is required for the reference fping.monitor (lab/packages.txt)"
    );
    let me = ours("fping.monitor");
    in_netns(|ns| {
        for hosts in [
            vec!["127.0.0.1"],
            vec!["127.0.0.1", "10.9.9.2"],
            vec!["10.9.9.3", "10.9.9.2"],
        ] {
            let mut args = vec!["netns", "exec", ns, "PROG", "-r", "1", "-t", "200"];
            args.extend(hosts.iter().copied());
            let go = |prog: &str| {
                let a: Vec<&str> = args
                    .iter()
                    .map(|x| if *x == "PROG" { prog } else { x })
                    .collect();
                run("ip", &a, &[], "")
            };
            let (a, ra) = go("/usr/lib/mon/mon.d/fping.monitor");
            let (b, rb) = go(&me);
            assert_eq!(ra, rb, "exit status for {hosts:?}:\n{a}\n---\n{b}");
            let first = |s: &str| s.lines().next().unwrap_or("").to_string();
            assert_eq!(first(&a), first(&b), "summary for {hosts:?}");
            // the same sections in the same order
            let sections = |s: &str| -> Vec<String> {
                s.lines()
                    .filter(|l| {
                        l.ends_with("hosts")
                            || l.contains("rtt")
                            || l.starts_with("10.")
                            || l.starts_with("127.")
                    })
                    .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
                    .collect()
            };
            assert_eq!(
                sections(&a),
                sections(&b),
                "sections for {hosts:?}:\n{a}\n---\n{b}"
            );
        }
    });
}

/// Regression: without a raw socket (not root) fping.monitor uses an
/// ICMP datagram socket, and it hung after the last answer, waiting for
/// one more. Run as nobody in a netns whose ping_group_range lets every
/// group open one: answers, silence and a retry, all within the timeout.
#[test]
fn fping_monitor_without_raw_sockets_answers_and_exits() {
    let me = ours("fping.monitor");
    in_netns(|ns| {
        let st = Command::new("ip")
            .args(["netns", "exec", ns, "sh", "-c"])
            .arg("echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range")
            .status()
            .unwrap();
        assert!(st.success());
        let t0 = std::time::Instant::now();
        let o = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "timeout",
                "10",
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
            ])
            .args(["--clear-groups", &me, "-r", "1", "-t", "300"])
            .args(["127.0.0.1", "127.0.0.2", "10.9.9.2"])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.starts_with("10.9.9.2\n"), "{out}");
        assert!(out.contains("127.0.0.2"), "{out}");
        // 300 ms, then 450 ms for the retry of the silent host
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            t0.elapsed()
        );
    });
}

#[test]
fn lvs_alert_runs_ipvsadm_with_seed_arguments() {
    let d = scratch("lvs");
    let rec = d.join("ipvsadm");
    std::fs::write(
        &rec,
        format!("#!/bin/sh\necho \"$@\" >> {}/calls\n", d.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o755)).unwrap();
    let me = ours("lvs.alert");
    let env = [("IPVSADM", rec.to_str().unwrap())];
    let common = [
        "-s",
        "http",
        "-g",
        "rs1",
        "-h",
        "192.168.1.2",
        "-t",
        "1795635646",
    ];
    let tail = [
        "-P",
        "tcp",
        "-V",
        "10.0.0.1:80",
        "-R",
        "192.168.1.2:80",
        "-W",
        "100",
        "-F",
        "dr",
        "-X",
        "down",
    ];
    let mut down: Vec<&str> = common.to_vec();
    down.extend(tail);
    assert_eq!(run(&me, &down, &env, "rs1 down\n").1, 0);
    let mut up: Vec<&str> = common.to_vec();
    up.push("-u");
    up.extend(tail);
    assert_eq!(run(&me, &up, &env, "").1, 0);
    assert_eq!(
        std::fs::read_to_string(d.join("calls")).unwrap(),
        "-d -t 10.0.0.1:80 -r 192.168.1.2:80\n-a -t 10.0.0.1:80 -r 192.168.1.2:80 -w 100 -g\n"
    );
}

/// Runs `prog args` with `stdin` in a private mount namespace where
/// `dir` (holding a recording `sendmail` and `mon/`) is overlaid on
/// `/usr/lib` and `dir/log` on `/var/log`: the originals hard-code
/// /usr/lib/sendmail and /var/log/mon/test.alert.log, and nothing outside
/// the namespace sees the fakes.
fn run_overlaid(dir: &Path, prog: &str, args: &[&str], stdin: &str) -> (String, i32) {
    let d = dir.display().to_string();
    for sub in ["lib-work", "log-work", "log/mon"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let script = format!(
        "mount -t overlay overlay -o lowerdir=/usr/lib,upperdir={d}/lib,workdir={d}/lib-work /usr/lib && \
         mount -t overlay overlay -o lowerdir=/var/log,upperdir={d}/log,workdir={d}/log-work /var/log && \
         exec \"$@\""
    );
    let mut a = vec![
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
        "sh",
        prog,
    ];
    a.extend_from_slice(args);
    run("unshare", &a, &[("TZ", "UTC")], stdin)
}

fn fake_sendmail(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    let p = dir.join("lib/sendmail");
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\n{{ echo \"argv: $*\"; cat; echo '<end>'; }} >> {}/mail\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn mail_alert_matches_original() {
    require_reference();
    let me = ours("mail.alert");
    let members = (1..=30)
        .map(|i| format!("www{i}.example.com"))
        .collect::<Vec<_>>()
        .join(" ");
    let cases: Vec<Vec<&str>> = vec![
        vec!["root@localhost", "ops@example.com"],
        vec!["-u", "root"],
        vec!["-f", "mon@example.com", "root"],
        vec!["-S", "summary from the command line", "root"],
        vec!["-l", "600", "root"],
        // mon passes -T for traps; the original warns and still mails
        vec!["-T", "root"],
    ];
    let mut got = Vec::new();
    for prog in ["/usr/lib/mon/alert.d/mail.alert", me.as_str()] {
        let d = scratch("mailalert");
        fake_sendmail(&d);
        for extra in &cases {
            let mut args = vec![
                "-s",
                "http",
                "-g",
                "web",
                "-h",
                members.as_str(),
                "-t",
                "1795635646",
            ];
            args.extend(extra.iter().copied());
            let (_, code) = run_overlaid(
                &d,
                prog,
                &args,
                "h1 h2\nHOST h1: timeout\nHOST h2: refused\n",
            );
            assert_eq!(code, 0, "{prog} {args:?}");
        }
        // an empty stdin (startup alerts) too
        run_overlaid(
            &d,
            prog,
            &["-s", "s", "-g", "g", "-h", "h", "-t", "1", "root"],
            "",
        );
        let mail = std::fs::read_to_string(d.join("mail")).unwrap();
        got.push(mail.replace(prog, "PROG"));
    }
    assert_eq!(got[0], got[1]);
    assert!(got[0].contains("argv: -oi -t -f mon@example.com -F mon@example.com\n"));
    assert!(got[0].contains("Subject: UPALERT web/http: h1 h2 (Wed Nov 25 19:40:46)\n"));
    assert!(got[0].contains("\t\t\twww"), "members wrapped:\n{}", got[0]);
    assert_eq!(got[0].matches("<end>").count(), cases.len() + 1);
}

#[test]
fn test_alert_matches_original() {
    require_reference();
    let me = ours("test.alert");
    let mut lines = Vec::new();
    for prog in ["/usr/lib/mon/alert.d/test.alert", me.as_str()] {
        let d = scratch("testalert");
        std::fs::create_dir_all(d.join("lib")).unwrap();
        for args in [
            vec![
                "-s",
                "http",
                "-g",
                "web",
                "-h",
                "h1 h2",
                "-t",
                "1795635646",
                "a",
                "two words",
            ],
            vec![
                "-s",
                "http",
                "-g",
                "web",
                "-h",
                "h1",
                "-t",
                "1795635646",
                "-u",
            ],
        ] {
            let (_, code) = run_overlaid(&d, prog, &args, "ignored\n");
            assert_eq!(code, 0);
        }
        let log = std::fs::read_to_string(d.join("log/mon/test.alert.log")).unwrap();
        // `date` in front of the arguments: same shape, the time itself
        // differs between the runs
        lines.push(
            log.lines()
                .map(|l| {
                    let (date, rest) = l.split_once(" -s ").unwrap();
                    assert!(date.contains(" UTC "), "{l}");
                    format!("DATE -s {rest}")
                })
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(lines[0], lines[1]);
    assert_eq!(
        lines[0][0],
        "DATE -s http -g web -h h1 h2 -t 1795635646 a two words"
    );
}

/// In-process, http.monitor shares the daemon's descriptors with every
/// other check; when they run out it waits for its own connections to
/// finish instead of reporting hosts as failed. Shown here with a
/// process limited to 24 descriptors checking 60 hosts.
#[test]
fn http_monitor_waits_for_descriptors_instead_of_failing_hosts() {
    let ok = http_server("HTTP/1.0 200 OK\r\nServer: t\r\n\r\nfine\n").to_string();
    let me = ours("http.monitor");
    let hosts = vec!["127.0.0.1"; 60].join(" ");
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n 24 && exec {me} -p {ok} -t 10 {hosts}"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.starts_with("\nHOST 127.0.0.1: ok\n"), "{out}");
}

/// A host that does not answer at all: "timeout" within -t, in both.
#[test]
fn tcp_monitor_timeout_matches_original() {
    require_reference();
    let me = ours("tcp.monitor");
    in_netns(|ns| {
        let args = |prog: &str| -> Vec<String> {
            [
                "netns", "exec", ns, prog, "-p", "80", "-t", "1", "10.9.9.2", "10.9.9.3",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        };
        let go = |prog: &str| {
            let a = args(prog);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            run("ip", &a, &[], "")
        };
        let a = go("/usr/lib/mon/mon.d/tcp.monitor");
        let b = go(&me);
        assert_eq!(a, b);
        assert_eq!(
            a.0,
            "10.9.9.2 10.9.9.3\n\n10.9.9.2 timeout\n10.9.9.3 timeout\n"
        );
    });
}
