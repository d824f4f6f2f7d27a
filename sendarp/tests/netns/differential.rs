//! Debian's send_arp and ours, same arguments, same namespaces: the frames
//! on the wire, their spacing, stderr, exit status and pid file must agree.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::util::*;

struct Run {
    status: Option<i32>,
    stderr: String,
    frames: Vec<Frame>,
}

/// Run `program` in `w.a`, capturing ARP on `w.b`; with `only_ip`, just
/// the frames about that address (other runs may share the wire).
fn run_on(w: &Wire, program: &str, args: &[&str], only_ip: Option<[u8; 4]>) -> Run {
    let cap = Capture::start(&w.b, "sa1");
    let out = w.a.run(program, args);
    let frames = cap
        .drain(Duration::from_millis(60))
        .into_iter()
        .filter(is_arp)
        .filter(|f| only_ip.is_none_or(|ip| f.bytes.get(38..42) == Some(&ip[..])))
        .collect();
    Run {
        status: out.status.code(),
        stderr: normalise_stderr(&out.stderr),
        frames,
    }
}

/// Run both with `args` (in which "PIDFILE" is replaced by a fresh path
/// per run) and demand identical results. `gap` is the expected spacing.
fn same_frames(w: &Wire, tmp: &TempDir, args: &[&str], gap: Option<Duration>) -> Vec<Frame> {
    same_frames_about(w, tmp, args, gap, None, "")
}

fn same_frames_about(
    w: &Wire,
    tmp: &TempDir,
    args: &[&str],
    gap: Option<Duration>,
    only_ip: Option<[u8; 4]>,
    tag: &str,
) -> Vec<Frame> {
    let mut runs = Vec::new();
    for (k, program) in [reference(), ours()].into_iter().enumerate() {
        let pf = tmp.path(&format!("pf{k}{tag}"));
        let a: Vec<String> = args.iter().map(|s| s.replace("PIDFILE", &pf)).collect();
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let r = run_on(w, program, &a, only_ip);
        assert!(!Path::new(&pf).exists(), "{program} left {pf} behind");
        runs.push(r);
    }
    let (theirs, ours) = (&runs[0], &runs[1]);
    assert_eq!(
        theirs.status,
        Some(0),
        "reference failed: {args:?}: {}",
        theirs.stderr
    );
    assert_eq!(ours.status, theirs.status, "{args:?}: {}", ours.stderr);
    assert_eq!(ours.stderr, theirs.stderr, "{args:?}");
    assert!(
        !theirs.frames.is_empty(),
        "{args:?}: reference sent nothing"
    );
    assert_eq!(
        hexdump(&ours.frames),
        hexdump(&theirs.frames),
        "{args:?}: frames differ (ours first)"
    );
    if let Some(gap) = gap {
        check_spacing(&theirs.frames, &ours.frames, gap, &format!("{args:?}"));
    }
    runs.swap_remove(1).frames
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Timers never fire early, so every gap must reach the interval; how late
/// they fire depends on the machine's load (shared by parallel builds), so
/// lateness is judged on the median, against both the nominal value and
/// the reference measured in the same run.
/// How late a timer may fire on this shared, often busy machine: the
/// median of several gaps, and any single gap.
pub const LATE: Duration = Duration::from_millis(150);
pub const LATE_ONE: Duration = Duration::from_millis(400);

pub fn check_spacing(theirs: &[Frame], ours: &[Frame], gap: Duration, what: &str) {
    let (g_theirs, g_ours) = (gaps(theirs), gaps(ours));
    assert_eq!(g_ours.len(), g_theirs.len(), "{what}");
    if g_ours.is_empty() {
        return;
    }
    let early = gap.saturating_sub(Duration::from_millis(2));
    for (i, (t, o)) in g_theirs.iter().zip(&g_ours).enumerate() {
        assert!(
            *o >= early,
            "{what}: our gap {i} is {o:?}, shorter than {gap:?}"
        );
        assert!(
            *t >= early,
            "{what}: reference gap {i} is {t:?}, shorter than {gap:?}"
        );
        assert!(*o <= gap + LATE_ONE, "{what}: our gap {i} is {o:?}");
    }
    let (mt, mo) = (median(g_theirs), median(g_ours));
    assert!(
        mo <= gap + LATE,
        "{what}: our median gap {mo:?}, nominal {gap:?}"
    );
    let diff = mo.abs_diff(mt);
    assert!(
        diff <= LATE,
        "{what}: median gap ours {mo:?}, reference {mt:?}"
    );
}

#[test]
fn ipaddr_call_same_frames_and_spacing() {
    let w = Wire::new("ipaddr");
    let tmp = TempDir::new("ipaddr");
    let frames = same_frames(
        &w,
        &tmp,
        &[
            "-i",
            "200",
            "-r",
            "3",
            "-p",
            "PIDFILE",
            "sa0",
            "192.168.77.10",
            "auto",
            "192.168.77.10",
            "ffffffffffff",
        ],
        Some(Duration::from_millis(100)),
    );
    assert_eq!(frames.len(), 6);
    let expected = sendarp::frame::gratuitous_arp_pair(
        SENDER_MAC,
        SENDER_MAC,
        "192.168.77.10".parse().unwrap(),
    );
    for (k, f) in frames.iter().enumerate() {
        assert_eq!(f.bytes, expected[k % 2].to_vec());
    }
}

#[test]
fn ipaddr2_call_and_options_after_operands() {
    let w = Wire::new("ipaddr2");
    let tmp = TempDir::new("ipaddr2");
    same_frames(
        &w,
        &tmp,
        &[
            "-i",
            "100",
            "-r",
            "2",
            "-p",
            "PIDFILE",
            "sa0",
            "192.168.77.11",
            "auto",
            "not_used",
            "not_used",
        ],
        Some(Duration::from_millis(50)),
    );
    same_frames(
        &w,
        &tmp,
        &[
            "sa0",
            "192.168.77.12",
            "AUTO",
            "x",
            "y",
            "-i60",
            "-pPIDFILE",
            "-r",
            "2",
        ],
        Some(Duration::from_millis(30)),
    );
}

/// The Encluster/vipctl call: five words, an explicit MAC, defaults for
/// everything else (one pair, 500 ms apart, default pid file).
#[test]
fn legacy_five_argument_form() {
    let w = Wire::new("legacy");
    let (hi, lo) = process_tag();
    let vip = format!("10.{}.{hi}.{lo}", 201);
    let pidfile = format!("/var/run/resource-agents/send_arp-{vip}");
    let mut runs = Vec::new();
    for program in [reference(), ours()] {
        let r = run_on(
            &w,
            program,
            &["sa0", &vip, "00a0cc34a878", &vip, "ffffffffffff"],
            None,
        );
        assert!(!Path::new(&pidfile).exists(), "{program} left {pidfile}");
        runs.push(r);
    }
    assert_eq!(runs[0].status, Some(0), "{}", runs[0].stderr);
    assert_eq!(runs[1].status, Some(0), "{}", runs[1].stderr);
    assert_eq!(runs[1].stderr, runs[0].stderr);
    assert_eq!(hexdump(&runs[1].frames), hexdump(&runs[0].frames));
    assert_eq!(runs[1].frames.len(), 2);
    check_spacing(
        &runs[0].frames,
        &runs[1].frames,
        Duration::from_millis(500),
        "legacy",
    );
    // Ethernet source: the interface; ARP sender: the given address.
    assert_eq!(runs[1].frames[0].bytes[6..12], SENDER_MAC);
    assert_eq!(
        runs[1].frames[0].bytes[22..28],
        [0x00, 0xa0, 0xcc, 0x34, 0xa8, 0x78]
    );
}

/// Odd hardware-address and IP spellings are converted exactly as the
/// original converts them, including its reads past a short argument.
#[test]
fn odd_spellings_give_identical_frames() {
    let w = Wire::new("odd");
    let tmp = TempDir::new("odd");
    let cases: &[&[&str]] = &[
        &[
            "-i",
            "100",
            "-p",
            "PIDFILE",
            "sa0",
            "192.168.77.20",
            ":02:01:02:03:04:05",
            "x",
            "y",
        ],
        &[
            "-i",
            "100",
            "-p",
            "PIDFILE",
            "sa0",
            "192.168.77.21",
            "0201020304",
            "10.0.0.9",
            "y",
        ],
        &[
            "-i",
            "100",
            "-p",
            "PIDFILE",
            "sa0",
            "192.168.77.22",
            "020102030",
            "10.0.0.9",
            "y",
        ],
        &[
            "-i",
            "100",
            "-p",
            "PIDFILE",
            "sa0",
            "192.168.77.23",
            "zz+f1g 2-",
            "ab",
            "cd",
        ],
        &[
            "-i",
            "100",
            "-p",
            "PIDFILE",
            "sa0",
            "10.1",
            "0A0B0C0D0E0F",
            "x",
            "y",
        ],
        &[
            "-i",
            "100",
            "-p",
            "PIDFILE",
            "sa0",
            "0x0a.020.3",
            "auto",
            "x",
            "y",
        ],
        &[
            "-i",
            "100",
            "-p",
            "PIDFILE",
            "sa0",
            "192.168.77.24 trailing",
            "auto",
            "x",
            "y",
        ],
        &[
            "-i",
            "100",
            "-p",
            "PIDFILE",
            "sa0",
            "localhost",
            "auto",
            "x",
            "y",
        ],
        &[
            "-i",
            "101",
            "-p",
            "PIDFILE",
            "sa0",
            "192.168.77.25",
            "auto",
            "x",
            "y",
        ],
        &[
            "-i",
            "100",
            "-p",
            "PIDFILE",
            "--",
            "sa0",
            "192.168.77.26",
            "auto",
            "x",
            "y",
        ],
    ];
    // Independent cases share the wire and run side by side; each looks
    // only at frames about its own address.
    std::thread::scope(|scope| {
        for (n, args) in cases.iter().enumerate() {
            let at = args.iter().position(|a| *a == "sa0").unwrap() + 1;
            let ip = match sendarp::cli::resolve(args[at].as_bytes()) {
                Some(std::net::IpAddr::V4(v4)) => v4.octets(),
                other => panic!("{args:?}: {other:?}"),
            };
            let (w, tmp) = (&w, &tmp);
            scope.spawn(move || same_frames_about(w, tmp, args, None, Some(ip), &n.to_string()));
        }
    });
}

fn status_and_stderr(out: &Output) -> (Option<i32>, String) {
    (out.status.code(), normalise_stderr(&out.stderr))
}

/// Run both and compare stderr, status, and that no pid file is left.
fn same_failure(ns: &Netns, tmp: &TempDir, args: &[&str]) -> (Option<i32>, String) {
    same_failure_tagged(ns, tmp, args, "")
}

fn same_failure_tagged(
    ns: &Netns,
    tmp: &TempDir,
    args: &[&str],
    tag: &str,
) -> (Option<i32>, String) {
    let mut results = Vec::new();
    for (k, program) in [reference(), ours()].into_iter().enumerate() {
        let pf = tmp.path(&format!("fail{k}{tag}"));
        let a: Vec<&str> = args
            .iter()
            .map(|s| if *s == "PIDFILE" { pf.as_str() } else { s })
            .collect();
        let out = ns.run(program, &a);
        assert!(
            !Path::new(&pf).exists(),
            "{program} left its pid file: {args:?}"
        );
        let (status, stderr) = status_and_stderr(&out);
        results.push((status, stderr.replace(&pf, "PIDFILE")));
    }
    assert_eq!(results[1], results[0], "{args:?} (ours, then reference)");
    results.swap_remove(0)
}

#[test]
fn bad_input_same_message_and_status() {
    let w = Wire::new("bad");
    let tmp = TempDir::new("bad");
    let ns = &w.a;
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "-p",
                "PIDFILE",
                "nosuch0",
                "192.168.77.30",
                "auto",
                "x",
                "y",
            ],
            "Cannot find mac address for nosuch0",
        ),
        (
            &[
                "-p",
                "PIDFILE",
                "nosuch0",
                "192.168.77.30",
                "020102030405",
                "x",
                "y",
            ],
            "libnet_init failure on nosuch0: libnet_check_iface() ioctl: No such device",
        ),
        (
            &[
                "-p",
                "PIDFILE",
                "averyveryverylongifname",
                "192.168.77.30",
                "auto",
                "x",
                "y",
            ],
            "No such device",
        ),
        (
            &["-p", "PIDFILE", "", "192.168.77.30", "auto", "x", "y"],
            "No such device",
        ),
        (
            &["-p", "PIDFILE", "sa0", "abc.invalid", "auto", "x", "y"],
            "Cannot resolve IP address [abc.invalid]",
        ),
        (
            &["-p", "PIDFILE", "sa0", "192.168.77.300", "auto", "x", "y"],
            "Cannot resolve IP address [192.168.77.300]",
        ),
        (
            &["-p", "PIDFILE", "sa0", "1.2.3.4.5", "auto", "x", "y"],
            "Cannot resolve",
        ),
        (
            &["-p", "PIDFILE", "sa0", "255.255.255.255", "auto", "x", "y"],
            "Cannot resolve",
        ),
        (
            &["-p", "PIDFILE", "sa0", "", "auto", "x", "y"],
            "Cannot resolve",
        ),
        (
            &[
                "-p",
                "PIDFILE",
                "-r",
                "0",
                "sa0",
                "192.168.77.30",
                "auto",
                "x",
                "y",
            ],
            "",
        ),
        (
            &[
                "-p",
                "PIDFILE",
                "-r",
                "-2",
                "sa0",
                "192.168.77.30",
                "auto",
                "x",
                "y",
            ],
            "",
        ),
        (
            &[
                "-p",
                "PIDFILE",
                "-r",
                "none",
                "sa0",
                "192.168.77.30",
                "auto",
                "x",
                "y",
            ],
            "",
        ),
        (
            &["-p", "PIDFILE", "sa0", "192.168.77.30", "auto", "x"],
            "usage: send_arp",
        ),
        (
            &[
                "-p",
                "PIDFILE",
                "sa0",
                "192.168.77.30",
                "auto",
                "x",
                "y",
                "z",
            ],
            "usage: send_arp",
        ),
        (&[], "usage: send_arp"),
        (&["-h"], "invalid option -- 'h'"),
        (&["--help"], "invalid option -- '-'"),
        (
            &["-c", "3", "sa0", "192.168.77.30", "auto", "x", "y"],
            "invalid option -- 'c'",
        ),
        (
            &["sa0", "192.168.77.30", "auto", "x", "y", "-p"],
            "option requires an argument -- 'p'",
        ),
        (
            &[
                "-p",
                "relative/pf",
                "sa0",
                "192.168.77.30",
                "auto",
                "x",
                "y",
            ],
            "must begin with a '/'",
        ),
        (
            &[
                "-p",
                "/nonexistent-sa/dir/pf",
                "sa0",
                "192.168.77.30",
                "auto",
                "x",
                "y",
            ],
            "Could not create pid-file directory",
        ),
        (
            &[
                "-p",
                "/etc/hostname/pf",
                "sa0",
                "192.168.77.30",
                "auto",
                "x",
                "y",
            ],
            "exists but is not a directory",
        ),
        (
            &[
                "-p",
                "/etc/hostname/x/pf",
                "sa0",
                "192.168.77.30",
                "auto",
                "x",
                "y",
            ],
            "Not a directory",
        ),
        (
            &["-p", "/tmp/", "sa0", "192.168.77.30", "auto", "x", "y"],
            "Is a directory",
        ),
        (
            &["sa0", "192.168.77.123456789012345678901", "auto", "x", "y"],
            "Pid file truncated",
        ),
    ];
    std::thread::scope(|scope| {
        for (n, (args, needle)) in cases.iter().enumerate() {
            let tmp = &tmp;
            scope.spawn(move || {
                let (status, stderr) = same_failure_tagged(ns, tmp, args, &n.to_string());
                assert_eq!(status, Some(1), "{args:?}: {stderr}");
                assert!(
                    stderr.contains(needle),
                    "{args:?}: {stderr:?} lacks {needle:?}"
                );
            });
        }
    });

    // Down interfaces (lo starts down in a fresh namespace).
    let lo = Netns::new("badlo");
    lo.ip(&["link", "set", "lo", "down"]);
    let (_, e) = same_failure(
        &lo,
        &tmp,
        &["-p", "PIDFILE", "lo", "127.0.0.80", "auto", "x", "y"],
    );
    assert!(e.contains("libnet_check_iface(): lo is down"), "{e}");
    w.a.ip(&["link", "set", "sa0", "down"]);
    for mac in ["auto", "020102030405"] {
        let (s, e) = same_failure(
            ns,
            &tmp,
            &["-p", "PIDFILE", "sa0", "192.168.77.30", mac, "x", "y"],
        );
        assert_eq!(s, Some(1));
        assert!(e.contains("sa0 is down"), "{e}");
    }
    w.a.ip(&["link", "set", "sa0", "up"]);
}

#[test]
fn not_root_same_message_and_status() {
    assert!(
        Path::new("/usr/bin/setpriv").exists(),
        "setpriv (util-linux) is needed"
    );
    let w = Wire::new("noroot");
    let tmp = TempDir::new("noroot");
    // The unprivileged user must be able to execute our binary wherever
    // the target directory is: run a copy from the world-readable temp dir.
    let copy = tmp.path("send_arp");
    std::fs::copy(ours(), &copy).unwrap();
    let wrap = [
        "setpriv",
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "--",
    ];
    let mut results = Vec::new();
    for (k, program) in [reference(), copy.as_str()].into_iter().enumerate() {
        for mac in ["auto", "020102030405"] {
            let pf = tmp.path(&format!("np{k}{mac}"));
            let mut a: Vec<&str> = wrap[1..].to_vec();
            a.extend_from_slice(&[program, "-p", &pf, "sa0", "192.168.77.40", mac, "x", "y"]);
            let out = w.a.run(wrap[0], &a);
            assert!(!Path::new(&pf).exists());
            results.push(status_and_stderr(&out));
        }
        // The default pid file directory is not writable for nobody.
        let mut a: Vec<&str> = wrap[1..].to_vec();
        a.extend_from_slice(&[program, "sa0", "192.168.77.41", "auto", "x", "y"]);
        results.push(status_and_stderr(&w.a.run(wrap[0], &a)));
    }
    let (theirs, ours) = results.split_at(3);
    assert_eq!(ours, theirs);
    assert!(
        theirs[0]
            .1
            .contains("UID/EUID 0 or capability CAP_NET_RAW required"),
        "{theirs:?}"
    );
    assert!(theirs.iter().all(|r| r.0 == Some(1)));
}

fn wait_for(path: &str) -> libc::pid_t {
    let start = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            if let Ok(pid) = s.trim().parse() {
                return pid;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{path} never appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn pid_file_semantics_match() {
    let w = Wire::new("pidf");
    let tmp = TempDir::new("pidf");
    for program in [reference(), ours()] {
        // An old announcer named in the pid file is SIGKILLed and replaced.
        let mut old = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pf = tmp.path("old");
        std::fs::write(&pf, old.id().to_string()).unwrap();
        let out = w.a.run(
            program,
            &[
                "-i",
                "100",
                "-p",
                &pf,
                "sa0",
                "192.168.77.50",
                "auto",
                "x",
                "y",
            ],
        );
        let status = old.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "{program} did not kill the old process"
        );
        assert_eq!(out.status.code(), Some(0));
        let text = normalise_stderr(&out.stderr).replace(&old.id().to_string(), "OLD");
        assert_eq!(
            text, "TS send_arp: [PID]: info: Killed old send_arp process [OLD]\n\n",
            "{program}"
        );
        assert!(!Path::new(&pf).exists());

        // An empty one is an error (and is removed).
        std::fs::write(&pf, "").unwrap();
        let out = w.a.run(
            program,
            &[
                "-i",
                "100",
                "-p",
                &pf,
                "sa0",
                "192.168.77.50",
                "auto",
                "x",
                "y",
            ],
        );
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            normalise_stderr(&out.stderr),
            format!("TS send_arp: [PID]: info: Invalid pid in pid-file [{pf}]: File exists\n")
        );
        assert!(!Path::new(&pf).exists());

        // SIGTERM: exit 0 at once, pid file left for the caller to remove.
        let pf = tmp.path("term");
        let mut child =
            w.a.command(
                program,
                &[
                    "-i",
                    "2000",
                    "-r",
                    "5",
                    "-p",
                    &pf,
                    "sa0",
                    "192.168.77.51",
                    "auto",
                    "x",
                    "y",
                ],
            )
            .spawn()
            .unwrap();
        let pid = wait_for(&pf);
        assert_eq!(
            pid as u32,
            child.id(),
            "{program}: pid file names another process"
        );
        let t = Instant::now();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{program}: {status:?}");
        assert!(t.elapsed() < Duration::from_millis(500));
        assert!(
            Path::new(&pf).exists(),
            "{program} removed its pid file on SIGTERM"
        );
        std::fs::remove_file(&pf).unwrap();
    }
}

/// The interface going away mid-announcement: both stop at the next frame
/// with "libnet_write failed", status 1, pid file removed.
#[test]
fn interface_down_mid_run() {
    let tmp = TempDir::new("middown");
    let mut results = Vec::new();
    for program in [reference(), ours()] {
        let w = Wire::new("middown");
        let pf = tmp.path("pf");
        let child =
            w.a.command(
                program,
                &[
                    "-i",
                    "300",
                    "-r",
                    "3",
                    "-p",
                    &pf,
                    "sa0",
                    "192.168.77.80",
                    "auto",
                    "x",
                    "y",
                ],
            )
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(&pf);
        w.a.ip(&["link", "set", "sa0", "down"]);
        let out = child.wait_with_output().unwrap();
        assert!(!Path::new(&pf).exists(), "{program} left its pid file");
        results.push(status_and_stderr(&out));
    }
    assert_eq!(results[1], results[0]);
    assert_eq!(results[0].0, Some(1));
    assert_eq!(
        results[0].1,
        "TS send_arp: [PID]: ERROR: libnet_write failed\n"
    );
}

/// lo: all-zero interface MAC, ARPHRD_LOOPBACK; the frames documented in
/// the reference notes.
#[test]
fn loopback_same_frames() {
    let ns = Netns::new("lo");
    let tmp = TempDir::new("lo");
    let pf = tmp.path("pf");
    let mut runs = Vec::new();
    for program in [reference(), ours()] {
        let cap = Capture::start(&ns, "lo");
        let out = ns.run(
            program,
            &[
                "-i",
                "100",
                "-p",
                &pf,
                "lo",
                "127.0.0.79",
                "020102030405",
                "x",
                "y",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let frames: Vec<Frame> = cap
            .drain(Duration::from_millis(60))
            .into_iter()
            .filter(is_arp)
            .collect();
        runs.push(frames);
    }
    assert_eq!(hexdump(&runs[1]), hexdump(&runs[0]));
    assert_eq!(
        hexdump(&runs[1]),
        "ffffffffffff0000000000000806000108000604000102010203040 57f00004f0000000000007f00004f\n\
         ffffffffffff0000000000000806000108000604000202010203040 57f00004f0201020304057f00004f"
            .replace(' ', "")
    );
}
