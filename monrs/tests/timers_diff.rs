//! Timers that had no comparison with Debian's mon 1.3.6 yet: trap
//! timeouts (`traptimeout`), `trapduration` and `maxprocs`. Both daemons
//! run side by side on the same mon.cf; what they did is compared after
//! masking times. mon's loop ticks once a second, so timing is compared
//! with margins of a tick or two, and decisions exactly.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use crate::common::{reference_lock, require_reference};
use crate::harness::{alert_records, Running, Setup};
use crate::protocol_diff::{trap, Conn};

/// Perl's scalar localtime ("Wed Nov 26 01:02:03 2026") becomes CTIME.
fn mask_ctime(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let is_ctime = |w: &[u8]| -> bool {
        // "Www Mmm dd hh:mm:ss yyyy", day space-padded
        w.len() == 24
            && w[..3].iter().all(u8::is_ascii_alphabetic)
            && w[3] == b' '
            && w[4..7].iter().all(u8::is_ascii_alphabetic)
            && w[7] == b' '
            && (w[8] == b' ' || w[8].is_ascii_digit())
            && w[9].is_ascii_digit()
            && w[10] == b' '
            && w[13] == b':'
            && w[16] == b':'
            && w[19] == b' '
            && w[20..24].iter().all(u8::is_ascii_digit)
    };
    while i < b.len() {
        if i + 24 <= b.len() && is_ctime(&b[i..i + 24]) {
            out.push_str("CTIME");
            i += 24;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Distinct alert records without the run counter (these services have
/// no monitor), times masked.
fn alert_set(s: &Setup) -> Vec<String> {
    let mut v: Vec<String> = alert_records(s, usize::MAX)
        .into_iter()
        .map(|l| mask_ctime(&l.replacen("run=0 ", "", 1)))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

const TRAP_CF: &str = r#"
watch tt
    service hb
        traptimeout 2s
        period wd {Sun-Sat}
            alert a.alert hb
            upalert u.alert hb
    service dur
        trapduration 2s
        period wd {Sun-Sat}
            alert a.alert dur
            upalert u.alert dur
"#;

/// What one daemon does with the trap timers; returns (seconds from
/// starting it to the first trap timeout alert, seconds from the failure trap
/// until `dur` reads OK again).
fn trap_session(setup: &Setup, child: &mut Running) -> (f64, f64) {
    let started = Instant::now();
    let port = setup.port();
    let mut c = Conn::open(port);
    // no trap arrives for hb: a trap timeout alert after traptimeout
    wait_for("a trap timeout alert", Duration::from_secs(20), || {
        setup
            .file("alerts.log")
            .contains("MON_ALERTTYPE=traptimeout")
    });
    // from the daemon's start (mon counts its start-up into the first tick)
    let first = started.elapsed().as_secs_f64();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    // the heartbeat comes back: an upalert (a down alert was sent)
    udp.send_to(
        trap("tt", "hb", "0", "hb\\20back").as_bytes(),
        ("127.0.0.1", port),
    )
    .unwrap();
    wait_for("the hb upalert", Duration::from_secs(20), || {
        setup.file("alerts.log").contains("alert=u.alert")
    });
    // from now on the heartbeat keeps coming (a trap every 0.5 s), so no
    // further trap timeout depends on how long each session lasts
    let beating = std::sync::atomic::AtomicBool::new(true);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while beating.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = udp.send_to(
                    trap("tt", "hb", "0", "hb\\20back").as_bytes(),
                    ("127.0.0.1", port),
                );
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        let back = dur_session(&mut c, &udp, port);
        beating.store(false, std::sync::atomic::Ordering::SeqCst);
        let _ = child.kill();
        let _ = child.wait();
        (first, back)
    })
}

/// A failure trap for dur: a trap alert, then after trapduration the
/// status is OK again without any alert. Seconds until it read OK.
fn dur_session(c: &mut Conn, udp: &UdpSocket, port: u16) -> f64 {
    let sent = Instant::now();
    udp.send_to(
        trap("tt", "dur", "1", "dur\\20down").as_bytes(),
        ("127.0.0.1", port),
    )
    .unwrap();
    let opstatus = |c: &mut Conn| -> String {
        c.cmd("list opstatus tt,dur")
            .into_iter()
            .find(|l| l.starts_with("group=tt"))
            .and_then(|l| {
                l.split(' ')
                    .find(|w| w.starts_with("opstatus="))
                    .map(String::from)
            })
            .unwrap_or_default()
    };
    wait_for("dur failing", Duration::from_secs(20), || {
        opstatus(c) == "opstatus=0"
    });
    wait_for("dur OK again", Duration::from_secs(20), || {
        opstatus(c) == "opstatus=1"
    });
    let back = sent.elapsed().as_secs_f64();
    // alerts are fire-and-forget: let the last ones land
    std::thread::sleep(Duration::from_millis(1500));
    back
}

#[test]
fn trap_timeouts_and_trapduration_match_debian_mon() {
    require_reference();
    let _serial = reference_lock();
    let alerts = ["a.alert", "u.alert"];
    let ours = Setup::new("traps-ours", TRAP_CF, &[], &alerts);
    let theirs = Setup::new("traps-mon", TRAP_CF, &[], &alerts);
    for s in [&ours, &theirs] {
        std::fs::write(
            s.dir.join("auth.cf"),
            "list: all\n\ntrap section\n127.0.0.1 * *\n",
        )
        .unwrap();
    }
    let mut c_ours = ours.start(env!("CARGO_BIN_EXE_mon"));
    let mut c_theirs = theirs.start("/usr/sbin/mon");
    let (o, t) = std::thread::scope(|s| {
        let a = s.spawn(|| trap_session(&ours, &mut c_ours));
        let b = s.spawn(|| trap_session(&theirs, &mut c_theirs));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (a_ours, a_theirs) = (alert_set(&ours), alert_set(&theirs));
    assert_eq!(a_ours, a_theirs, "alerts differ");
    // what was compared: the -O trap timeout alert, the upalert, the -T
    // trap alert, and no upalert for the silent trapduration recovery
    let all = a_ours.join("\n");
    assert!(
        all.contains("alert=a.alert args=[-s][hb][-g][tt][-h][tt][-t][T][-O][hb]"),
        "{all}"
    );
    assert!(
        all.contains("stdin=trap timeout|trap timeout after 2s at CTIME|"),
        "{all}"
    );
    assert!(
        all.contains("alert=u.alert args=[-s][hb][-g][tt][-h][tt][-t][T][-u][hb]"),
        "{all}"
    );
    assert!(
        all.contains("alert=a.alert args=[-s][dur][-g][tt][-h][tt][-t][T][-T][dur]"),
        "{all}"
    );
    assert!(!all.contains("alert=u.alert args=[-s][dur]"), "{all}");
    // timing. mon counts every pass of its loop as at least one second
    // (`$t = 1 if $t <= 0`), its first pass included, so its timers run
    // up to a second early: the first trap timeout comes traptimeout - 1 s
    // after start and trapduration ends up to a second early (polling
    // it over the client protocol, as here, wakes its loop and makes it
    // earlier still). Ours counts real time (see mon(8), BUGS/DEVIATIONS).
    let (first_mon, back_mon) = t;
    let (first_ours, back_ours) = o;
    assert!(
        (0.7..3.5).contains(&first_mon),
        "mon: first trap timeout after {first_mon:.2}s"
    );
    assert!(
        // (the heartbeat traps, two a second, each count as a second too)
        back_mon < 3.5,
        "mon: dur OK again after {back_mon:.2}s"
    );
    eprintln!("first trap timeout / dur OK again: ours {o:.2?}, mon {t:.2?}");
    // lower bounds exact; upper bounds leave room for a loaded machine
    assert!(
        (1.95..4.0).contains(&first_ours),
        "ours: first trap timeout after {first_ours:.2}s"
    );
    assert!(
        (1.95..4.0).contains(&back_ours),
        "ours: dur OK again after {back_ours:.2}s"
    );
}

const PROCS_CF: &str = r#"
watch m1
    service s
        interval 1s
        monitor slow.monitor

watch m2
    service s
        interval 1s
        monitor slow.monitor

watch m3
    service s
        interval 1s
        monitor slow.monitor
"#;

const SLOW: &str = "#!/bin/sh\necho \"start $(date +%s.%N)\" >> __DIR__/procs.log\nsleep 0.7\necho \"end $(date +%s.%N)\" >> __DIR__/procs.log\n";

/// The most monitors that ran at the same time, and how many ran.
fn concurrency(s: &Setup) -> (usize, usize) {
    let mut ev: Vec<(f64, i32)> = s
        .file("procs.log")
        .lines()
        .filter_map(|l| {
            let (k, t) = l.split_once(' ')?;
            Some((t.parse().ok()?, if k == "start" { 1 } else { -1 }))
        })
        .collect();
    // an end and a start at the same instant do not overlap
    ev.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut cur, mut max, mut runs) = (0i32, 0i32, 0);
    for (_, d) in ev {
        cur += d;
        max = max.max(cur);
        if d > 0 {
            runs += 1;
        }
    }
    (max as usize, runs)
}

#[test]
fn maxprocs_matches_debian_mon() {
    require_reference();
    let _serial = reference_lock();
    let mut setups = Vec::new();
    for (tag, limit) in [
        ("procs1-ours", true),
        ("procs1-mon", true),
        ("procs0-ours", false),
        ("procs0-mon", false),
    ] {
        let cf = if limit {
            format!("maxprocs = 1\n{PROCS_CF}")
        } else {
            PROCS_CF.to_string()
        };
        let s = Setup::new(tag, &cf, &[], &[]);
        let p = s.dir.join("mon.d/slow.monitor");
        std::fs::write(&p, SLOW.replace("__DIR__", &s.dir.display().to_string())).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&p)
            .status()
            .unwrap();
        setups.push(s);
    }
    let bins = [env!("CARGO_BIN_EXE_mon"), "/usr/sbin/mon"];
    let children: Vec<Running> = setups
        .iter()
        .enumerate()
        .map(|(i, s)| s.start(bins[i % 2]))
        .collect();
    // enough for several rounds of three 0.7 s monitors
    wait_for("monitor runs", Duration::from_secs(60), || {
        setups.iter().all(|s| concurrency(s).1 >= 4)
    });
    drop(children);
    let got: Vec<(usize, usize)> = setups.iter().map(concurrency).collect();
    // throttled: never two at once, in both
    assert_eq!(got[0].0, 1, "ours with maxprocs 1: {got:?}");
    assert_eq!(got[1].0, 1, "mon with maxprocs 1: {got:?}");
    // unthrottled, the three services overlap in both
    assert!(got[2].0 >= 2, "ours without maxprocs: {got:?}");
    assert!(got[3].0 >= 2, "mon without maxprocs: {got:?}");
    let log = setups[0].file("syslog");
    assert!(log.contains("throttled at 1 processes"), "{log}");
}

const SKEW_CF: &str = r#"
watch w
    service skew
        interval 2s
        randskew 1s
        monitor stamp.monitor
"#;

/// randskew: each next run is interval ± (1..=randskew) seconds after the
/// previous one ended, so with interval 2s and randskew 1s a gap of 2 s
/// never happens. mon notices the exit one tick late and counts down one
/// tick late (mon(8), MONITORS): its gaps are 3 or 5 s, ours 1 or 3.
#[test]
fn randskew_gaps_match_debian_mon_up_to_its_tick() {
    require_reference();
    let _serial = reference_lock();
    let setups: Vec<Setup> = ["skew-ours", "skew-mon"]
        .iter()
        .map(|tag| {
            let s = Setup::new(tag, SKEW_CF, &[], &[]);
            let p = s.dir.join("mon.d/stamp.monitor");
            std::fs::write(
                &p,
                format!("#!/bin/sh\ndate +%s.%N >> {}/stamps\n", s.dir.display()),
            )
            .unwrap();
            std::process::Command::new("chmod")
                .arg("+x")
                .arg(&p)
                .status()
                .unwrap();
            s
        })
        .collect();
    let children: Vec<Running> = setups
        .iter()
        .zip([env!("CARGO_BIN_EXE_mon"), "/usr/sbin/mon"])
        .map(|(s, b)| s.start(b))
        .collect();
    let gaps = |s: &Setup| -> Vec<f64> {
        let t: Vec<f64> = s
            .file("stamps")
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect();
        t.windows(2).map(|w| w[1] - w[0]).collect()
    };
    wait_for("four runs each", Duration::from_secs(60), || {
        setups.iter().all(|s| gaps(s).len() >= 3)
    });
    drop(children);
    let near = |g: f64, want: &[f64], slack: f64| want.iter().any(|w| (g - w).abs() <= slack);
    let (ours, mon) = (gaps(&setups[0]), gaps(&setups[1]));
    for g in &ours {
        assert!(
            near(*g, &[1.0, 3.0], 0.35),
            "ours: gap {g:.2}s in {ours:.2?}"
        );
    }
    // mon's gaps sit on its one-second tick; a loaded machine can stretch
    // a tick
    for g in &mon {
        assert!(near(*g, &[3.0, 5.0], 0.9), "mon: gap {g:.2}s in {mon:.2?}");
    }
}
