//! Hostile and lossy networks: forged, replayed and stale packets change
//! nothing; 20% loss causes no false failover; bad authkeys refuse to start.

use crate::support::netns::{in_ns, wait_for, Net, Node};
use crate::support::TempDir;
use heartbeat::auth::Method;
use heartbeat::config::AuthKeys;
use heartbeat::msg::{encode_netstring, Message};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

// Upper bound for waits (generous for loaded CI machines).
const T: Duration = Duration::from_secs(30);

fn status(src: &str, gen: u64, seq: u64, st: &str) -> Message {
    let mut m = Message::new("status");
    m.add("st", st)
        .add("dt", "ea60")
        .add("protocol", "1")
        .add("src", src);
    m.add("seq", &format!("{seq:x}"))
        .add("hg", &format!("{gen:x}"))
        .add("ts", "6b0739fa")
        .add("ttl", "3");
    m
}

#[test]
fn forged_stale_and_replayed_packets_change_nothing() {
    let net = Net::new(2);
    let hacf = "logfile LOGFILE\nkeepalive 100ms\ndeadtime 500ms\ninitdead 1\nbcast eth0\nauto_failback on\nnode www3 www4\n";
    let keys_text = "auth 1\n1 sha1 right-key\n2 md5 other-key\n";
    let mut a = Node::new("www3", &net.ns('a'), hacf, keys_text, "www3 marker::x\n");
    a.start();
    assert!(
        wait_for(T, || a.log().contains("Comm_now_up")).is_some(),
        "{}",
        a.log()
    );
    let good = AuthKeys::single(1, Method::Sha1(b"right-key".to_vec()));
    let wrong_key = AuthKeys::single(1, Method::Sha1(b"wrong-key".to_vec()));
    let wrong_index = AuthKeys::single(3, Method::Sha1(b"right-key".to_vec()));
    let dest = format!("{}.1:694", net.subnet);
    let ns_b = net.ns('b');
    let send = move |pkts: Vec<Vec<u8>>| {
        let dest = dest.clone();
        in_ns(&ns_b, move || {
            let s = UdpSocket::bind("0.0.0.0:0").unwrap();
            for p in pkts {
                s.send_to(&p, &dest).unwrap();
                std::thread::sleep(Duration::from_millis(30));
            }
        })
        .join()
        .unwrap()
    };
    let nodestatus = |a: &Node| {
        a.tool(env!("CARGO_BIN_EXE_cl_status"), &["nodestatus", "www4"])
            .1
            .trim()
            .to_string()
    };

    // Packets are read in order from one socket: a packet from an unknown
    // node sent last, and its log line, prove the daemon has processed
    // everything sent before it (no fixed sleeps on a loaded machine).
    let intruder = encode_netstring(&status("intruder", 100, 1, "active"), &good, true).unwrap();
    let fences = std::cell::Cell::new(0);
    let send_fenced = |mut pkts: Vec<Vec<u8>>| {
        pkts.push(intruder.clone());
        send(pkts);
        fences.set(fences.get() + 1);
        let n = fences.get();
        assert!(
            wait_for(T, || a
                .log()
                .matches("ERROR: process_status_message: bad node [intruder] in message")
                .count()
                >= n)
            .is_some(),
            "packets were not processed:\n{}",
            a.log()
        );
    };

    let mut modified = encode_netstring(&status("www4", 100, 1, "active"), &good, true).unwrap();
    let p = modified.windows(9).position(|w| w == b"st=active").unwrap();
    modified[p + 3] = b'A';
    send_fenced(vec![
        encode_netstring(&status("www4", 100, 1, "active"), &wrong_key, true).unwrap(),
        encode_netstring(&status("www4", 100, 1, "active"), &wrong_index, true).unwrap(),
        modified,
        b"garbage that is not a heartbeat message".to_vec(),
    ]);
    let log = a.log();
    assert!(
        log.contains("ERROR: authtoken does not match, authtoken="),
        "{log}"
    );
    assert!(
        log.contains("ERROR: Invalid authentication type [3] in message!"),
        "{log}"
    );
    assert_eq!(
        log.matches("authtoken does not match").count(),
        2,
        "wrong key and modified field: {log}"
    );
    assert!(!log.contains("Link www4:eth0 up."), "{log}");
    assert_eq!(nodestatus(&a), "dead");

    // A genuine peer status is accepted (it advertises a 60 s dead time,
    // so the peer stays up through the rest of the test)...
    send_fenced(vec![encode_netstring(
        &status("www4", 100, 1, "up"),
        &good,
        true,
    )
    .unwrap()]);
    assert_eq!(nodestatus(&a), "up", "{}", a.log());
    // ...an older generation is a replay attack...
    send_fenced(vec![encode_netstring(
        &status("www4", 99, 2, "active"),
        &good,
        true,
    )
    .unwrap()]);
    assert!(
        a.log().contains(
            "ERROR: should_drop_message: attempted replay attack [www4]? [gen = 99, curgen = 100]"
        ),
        "{}",
        a.log()
    );
    assert_eq!(nodestatus(&a), "up");
    // ...and a replayed sequence number is ignored.
    let seq2 = encode_netstring(&status("www4", 100, 2, "active"), &good, true).unwrap();
    send_fenced(vec![seq2.clone()]);
    assert_eq!(nodestatus(&a), "active", "{}", a.log());
    send_fenced(vec![encode_netstring(
        &status("www4", 100, 3, "up"),
        &good,
        true,
    )
    .unwrap()]);
    assert_eq!(nodestatus(&a), "up", "{}", a.log());
    send_fenced(vec![seq2]);
    assert_eq!(
        nodestatus(&a),
        "up",
        "a replayed status must not change the node's status"
    );
}

#[test]
fn bad_authkeys_permissions_refuse_to_start() {
    let t = TempDir::new("perm");
    t.write("etc/ha.cf", "logfile /dev/null\nnode www3\nbcast lo\n");
    t.write_mode("etc/authkeys", "auth 1\n1 crc\n", 0o644);
    t.write("etc/haresources", "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_heartbeat"))
        .args(["-f", "--node", "www3"])
        .env("HEARTBEAT_CONFIG_DIR", t.join("etc"))
        .env("HEARTBEAT_STATE_DIR", t.join("state"))
        .env("HEARTBEAT_RUN_DIR", t.join("run"))
        .env("HEARTBEAT_PIDFILE", t.join("run/pid"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8_lossy(&out.stderr);
    let dir = t.join("etc").display().to_string();
    assert!(
        err.contains(&format!(
            "ERROR: Bad permissions on keyfile [{dir}//authkeys], 600 recommended."
        )),
        "{err}"
    );
    assert!(
        err.contains("ERROR: Authentication configuration error."),
        "{err}"
    );
    assert!(
        err.contains("ERROR: Configuration error, heartbeat not started."),
        "{err}"
    );
    assert!(
        !t.join("state/hb_generation").exists(),
        "nothing is started or written"
    );
}

/// Forwards UDP 694 between the two nodes, dropping `percent` of it.
fn lossy_relay(
    ns: String,
    a: String,
    b: String,
    percent: u64,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(u64, u64)> {
    in_ns(&ns, move || {
        let s = UdpSocket::bind("0.0.0.0:694").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let (a, b): (std::net::IpAddr, std::net::IpAddr) = (a.parse().unwrap(), b.parse().unwrap());
        let mut rng = 0x2545F4914F6CDD1Du64;
        let (mut passed, mut dropped) = (0, 0);
        let mut buf = vec![0u8; 65536];
        while !stop.load(Ordering::SeqCst) {
            let Ok((n, from)) = s.recv_from(&mut buf) else {
                continue;
            };
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if rng % 100 < percent {
                dropped += 1;
                continue;
            }
            let to = if from.ip() == a {
                b
            } else if from.ip() == b {
                a
            } else {
                continue;
            };
            let _ = s.send_to(&buf[..n], (to, 694));
            passed += 1;
        }
        (passed, dropped)
    })
}

fn lossy_pair(timings: &str, watch: Duration) {
    let net = Net::new(2);
    let relay = format!("{}.100", net.subnet);
    let hacf = format!(
        "logfile LOGFILE\n{timings}\nucast eth0 {relay}\nauto_failback on\nnode www3 www4\n"
    );
    let keys = "auth 1\n1 sha1 lossy\n";
    let res = "www3 marker::svc3\nwww4 marker::svc4\n";
    let marker = "#!/bin/sh\nf=\"$MARKS/$1\"\ncase \"$2\" in start) touch \"$f\";; stop) rm -f \"$f\";; status) [ -e \"$f\" ] && echo running || echo stopped;; esac\nexit 0\n";
    let mut a = Node::new("www3", &net.ns('a'), &hacf, keys, res);
    let mut b = Node::new("www4", &net.ns('b'), &hacf, keys, res);
    a.script("marker", marker);
    b.script("marker", marker);
    let stop = Arc::new(AtomicBool::new(false));
    let relay_thread = lossy_relay(
        net.ns('c'),
        format!("{}.1", net.subnet),
        format!("{}.2", net.subnet),
        20,
        stop.clone(),
    );
    a.start();
    b.start();
    // The watch starts when both nodes are up and heartbeating each other
    // (a start-up exchange stalled by a lost packet can take 10 s,
    // RQSTDELAY: that time is watched too).
    let both_up = wait_for(T, || {
        a.log().contains("Comm_now_up") && b.log().contains("Comm_now_up")
    });
    assert!(both_up.is_some(), "{}\n{}", a.log(), b.log());
    let up_at = std::time::Instant::now();
    assert!(
        wait_for(T, || a.has_mark("svc3")
            && b.has_mark("svc4")
            && !a.has_mark("svc4")
            && !b.has_mark("svc3"))
        .is_some(),
        "{}\n{}",
        a.log(),
        b.log()
    );
    std::thread::sleep(watch.saturating_sub(up_at.elapsed()));
    stop.store(true, Ordering::SeqCst);
    let (passed, dropped) = relay_thread.join().unwrap();
    assert!(
        dropped * 100 / (passed + dropped) >= 15,
        "the relay dropped {dropped} of {}",
        passed + dropped
    );
    for n in [&a, &b] {
        assert!(
            !n.log().contains("is dead"),
            "false failover under 20% loss:\n{}",
            n.log()
        );
    }
    assert!(a.has_mark("svc3") && b.has_mark("svc4") && !a.has_mark("svc4") && !b.has_mark("svc3"));
}

#[test]
fn twenty_percent_loss_seed_timings_no_false_failover() {
    lossy_pair(
        "keepalive 2\ndeadtime 5\ninitdead 5",
        Duration::from_secs(12),
    );
}

#[test]
fn twenty_percent_loss_fast_timings_no_false_failover() {
    lossy_pair(
        // 1 s rather than 300 ms: a loaded CI machine must not look like loss
        "keepalive 100ms\ndeadtime 1\ninitdead 1",
        Duration::from_secs(8),
    );
}
