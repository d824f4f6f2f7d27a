//! Where ours deliberately differs from Debian's send_arp (each difference
//! is listed in send_arp(8)), and the heartbeat logging environment.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::*;

fn arp_frames(cap: &Capture) -> Vec<Frame> {
    cap.drain(Duration::from_millis(60))
        .into_iter()
        .filter(is_arp)
        .collect()
}

/// `02:01:02:03:04:05` announces that address; the original announced
/// 02:00:01:02:00:03, a MAC nobody owns.
#[test]
fn colon_separated_mac_means_what_it_says() {
    let w = Wire::new("colon");
    let tmp = TempDir::new("colon");
    let pf = tmp.path("pf");
    let args = [
        "-i",
        "10",
        "-p",
        pf.as_str(),
        "sa0",
        "192.168.77.60",
        "02:01:02:03:04:05",
        "x",
        "y",
    ];
    for (program, mac) in [
        (ours(), [2, 1, 2, 3, 4, 5]),
        (reference(), [2, 0, 1, 2, 0, 3]),
    ] {
        let cap = Capture::start(&w.b, "sa1");
        let out = w.a.run(program, &args);
        assert_eq!(out.status.code(), Some(0));
        let frames = arp_frames(&cap);
        assert_eq!(frames.len(), 2, "{program}");
        assert_eq!(frames[0].bytes[22..28], mac, "{program}");
        assert_eq!(frames[1].bytes[32..38], mac, "{program}");
    }
}

/// `-i 0` / `-i 1`: the original's timer is never armed and it waits
/// forever after the first request. Ours sends everything at once.
#[test]
fn tiny_interval_does_not_hang() {
    let w = Wire::new("tiny");
    let tmp = TempDir::new("tiny");
    let pf = tmp.path("pf");
    for i in ["0", "1", "-500"] {
        let cap = Capture::start(&w.b, "sa1");
        let t = Instant::now();
        let out = w.a.run(
            ours(),
            &[
                "-i",
                i,
                "-r",
                "3",
                "-p",
                &pf,
                "sa0",
                "192.168.77.61",
                "auto",
                "x",
                "y",
            ],
        );
        assert_eq!(out.status.code(), Some(0));
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!(arp_frames(&cap).len(), 6, "-i {i}");
    }
}

/// An IPv6 VIP: one unsolicited neighbour advertisement per repetition,
/// `interval` apart (the original cannot resolve IPv6 and exits 1).
#[test]
fn ipv6_vip_sends_neighbour_advertisements() {
    let w = Wire::new("v6");
    let tmp = TempDir::new("v6");
    let pf = tmp.path("pf");
    let vip: std::net::Ipv6Addr = "2001:db8:77::60".parse().unwrap();
    let cap = Capture::start(&w.b, "sa1");
    let out = w.a.run(
        ours(),
        &[
            "-i",
            "40",
            "-r",
            "3",
            "-p",
            &pf,
            "sa0",
            "2001:db8:77::60",
            "02:00:00:00:be:ef",
            "x",
            "y",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!Path::new(&pf).exists());
    let frames: Vec<_> = cap
        .drain(Duration::from_millis(60))
        .into_iter()
        .filter(|f| is_neighbour_advert(f) && f.bytes[62..78] == vip.octets())
        .collect();
    assert_eq!(frames.len(), 3);
    let expected =
        sendarp::frame::neighbour_advertisement(SENDER_MAC, [2, 0, 0, 0, 0xbe, 0xef], vip, false);
    for f in &frames {
        assert_eq!(f.bytes, expected.to_vec());
    }
    for g in gaps(&frames) {
        assert!(
            g >= Duration::from_millis(39)
                && g < Duration::from_millis(40) + crate::differential::LATE_ONE,
            "{g:?}"
        );
    }

    // The original rejects the same call.
    let out = w.a.run(
        reference(),
        &[
            "-i",
            "40",
            "-r",
            "3",
            "-p",
            &pf,
            "sa0",
            "2001:db8:77::60",
            "auto",
            "x",
            "y",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Cannot resolve IP address [2001:db8:77::60]"));
}

/// A pid file reading 0, -1 or garbage would make the original SIGKILL its
/// whole process group (or everything). Ours refuses; the original is not
/// run here for that reason.
#[test]
fn pid_file_naming_a_group_is_refused() {
    let w = Wire::new("grp");
    let tmp = TempDir::new("grp");
    let pf = tmp.path("pf");
    for content in ["0", "-1", "garbage"] {
        std::fs::write(&pf, content).unwrap();
        let cap = Capture::start(&w.b, "sa1");
        let out = w.a.run(
            ours(),
            &[
                "-i",
                "2",
                "-p",
                &pf,
                "sa0",
                "192.168.77.62",
                "auto",
                "x",
                "y",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{content}");
        assert_eq!(
            normalise_stderr(&out.stderr),
            format!("TS send_arp: [PID]: info: Invalid pid in pid-file [{pf}]: Invalid argument\n")
        );
        assert!(!Path::new(&pf).exists());
        assert!(arp_frames(&cap).is_empty());
    }
}

/// heartbeat hands HA_logfile / HA_debugfile / HA_syslogmsgfmt to resource
/// scripts; both tools then log into those files in the same format.
#[test]
fn heartbeat_log_files_match() {
    let w = Wire::new("halog");
    let tmp = TempDir::new("halog");
    // Runs of digits (pid, date, time) become one '#'.
    let mask = |s: String| {
        let mut out = String::new();
        for c in s.chars() {
            if !c.is_ascii_digit() {
                out.push(c);
            } else if !out.ends_with('#') {
                out.push('#');
            }
        }
        out
    };
    let mut logs = Vec::new();
    for (k, program) in [reference(), ours()].into_iter().enumerate() {
        let log = tmp.path(&format!("ha-log{k}"));
        let debug = tmp.path(&format!("ha-debug{k}"));
        let pf = tmp.path("pf");
        let out =
            w.a.command(
                program,
                &["-p", &pf, "sa0", "bad.invalid", "auto", "x", "y"],
            )
            .env("HA_logfile", &log)
            .env("HA_debugfile", &debug)
            .env("HA_syslogmsgfmt", "false")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let read = |p: &str| mask(std::fs::read_to_string(p).unwrap_or_default());
        logs.push((
            read(&log),
            read(&debug),
            mask(String::from_utf8_lossy(&out.stderr).into_owned()),
        ));
    }
    assert_eq!(logs[1], logs[0]);
    assert_eq!(
        logs[0].0, "send_arp[#]: #/#/#_#:#:# ERROR: Cannot resolve IP address [bad.invalid]\n",
        "{logs:?}"
    );
    assert_eq!(logs[0].1, logs[0].0);
}

/// The library entry point heartbeat uses, with a MAC that is not the
/// interface's.
#[test]
fn library_announce_ipv4() {
    let w = Wire::new("lib");
    let cap = Capture::start(&w.b, "sa1");
    let a = sendarp::Announcement {
        ifname: "sa0".into(),
        ip: "192.168.77.70".parse().unwrap(),
        mac: Some([2, 0, 0, 0, 0, 0x70]),
        repeat: 2,
        interval: Duration::from_millis(40),
    };
    crate::neighbour::in_netns(&w.a, move || sendarp::announce(&a)).unwrap();
    let frames = arp_frames(&cap);
    let pair = sendarp::frame::gratuitous_arp_pair(
        SENDER_MAC,
        [2, 0, 0, 0, 0, 0x70],
        "192.168.77.70".parse().unwrap(),
    );
    assert_eq!(frames.len(), 4);
    for (k, f) in frames.iter().enumerate() {
        assert_eq!(f.bytes, pair[k % 2].to_vec());
    }
    for g in gaps(&frames) {
        assert!(
            g >= Duration::from_millis(19)
                && g < Duration::from_millis(20) + crate::differential::LATE_ONE,
            "{g:?}"
        );
    }

    let err = crate::neighbour::in_netns(&w.a, || {
        sendarp::announce(&sendarp::Announcement {
            ifname: "nosuch0".into(),
            ip: "192.168.77.70".parse().unwrap(),
            mac: None,
            repeat: 1,
            interval: Duration::ZERO,
        })
    })
    .unwrap_err();
    assert!(matches!(err, sendarp::Error::Interface { .. }), "{err:?}");
}
