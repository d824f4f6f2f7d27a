//! Ours–ours two-node clusters in network namespaces.

use crate::support::is_root;
use crate::support::netns::{wait_for, Net, Node};
use std::time::Duration;

const KEYS: &str = "auth 1\n1 sha1 netns-test-secret\n";

/// Marks its group as held by creating `$MARKS/<name>`.
const MARKER: &str = "#!/bin/sh\nf=\"$MARKS/$1\"\ncase \"$2\" in\n start) touch \"$f\";;\n stop) rm -f \"$f\";;\n status) if [ -e \"$f\" ]; then echo running; else echo stopped; fi;;\nesac\nexit 0\n";

fn hacf(autofailback: &str) -> String {
    format!(
        "logfile LOGFILE\nkeepalive 200ms\ndeadtime 1\nwarntime 600ms\ninitdead 1\nudpport 694\nbcast eth0\nauto_failback {autofailback}\nnode www3 www4\n"
    )
}

fn pair(autofailback: &str) -> (Net, Node, Node) {
    assert!(is_root(), "netns tests need root");
    let net = Net::new(2);
    let res = "www3 marker::svc3\nwww4 marker::svc4\n";
    let a = Node::new("www3", &net.ns('a'), &hacf(autofailback), KEYS, res);
    let b = Node::new("www4", &net.ns('b'), &hacf(autofailback), KEYS, res);
    a.script("marker", MARKER);
    b.script("marker", MARKER);
    (net, a, b)
}

// Upper bound for waits (generous for loaded CI machines).
const T: Duration = Duration::from_secs(30);

#[test]
fn ours_ours_failover_failback_standby_and_clean_stop() {
    let (_net, mut a, mut b) = pair("on");
    let started = std::time::Instant::now();
    a.start();
    assert!(
        wait_for(T, || a.has_mark("svc3") && a.has_mark("svc4")).is_some(),
        "www3 alone takes all:\n{}",
        a.log()
    );
    b.start();
    // auto_failback on: www4 gets its own group back
    assert!(
        wait_for(T, || b.has_mark("svc4") && !a.has_mark("svc4")).is_some(),
        "failback to www4:\n{}\n{}",
        a.log(),
        b.log()
    );
    assert!(a.has_mark("svc3"));

    // For its first 5 s a node advertises deadtime + 2 s (as 3.0.6 does).
    std::thread::sleep(Duration::from_millis(5600).saturating_sub(started.elapsed()));
    // SIGKILL www3: www4 takes svc3 within deadtime (1 s) plus a margin
    a.kill9();
    let took = wait_for(T, || b.has_mark("svc3")).expect("takeover");
    // deadtime is 1 s; the margin is for loaded CI machines (bench/heartbeat
    // measures the real figure)
    assert!(took < Duration::from_secs(4), "takeover took {took:?}");
    assert!(b.log().contains("WARN: node www3: is dead"), "{}", b.log());
    assert!(
        b.log().contains("Taking over resource group svc3")
            || b.log()
                .contains("Acquiring resource group: www3 marker::svc3"),
        "{}",
        b.log()
    );
    // the killed node's marker is stale (it was killed), clean it like a reboot would
    std::fs::remove_file(a.dir.join("marks/svc3")).ok();

    // www3 returns: auto_failback on gives svc3 back
    a.start();
    assert!(
        wait_for(T, || a.has_mark("svc3") && !b.has_mark("svc3")).is_some(),
        "failback:\n{}\n{}",
        a.log(),
        b.log()
    );

    // hb_standby on www3 moves everything to www4
    let (rc, _, err) = a.tool(env!("CARGO_BIN_EXE_hb_standby"), &[]);
    assert_eq!(rc, 0, "{err}");
    assert!(
        wait_for(T, || b.has_mark("svc3")
            && b.has_mark("svc4")
            && !a.has_mark("svc3"))
        .is_some(),
        "standby:\n{}\n{}",
        a.log(),
        b.log()
    );
    // (the standby exchange ends with www4's "done"; a new request before
    // that is refused as "in progress", as in 3.0.6)
    assert!(
        wait_for(T, || a.log().contains(
            "Other node completed standby takeover of all resources."
        ))
        .is_some(),
        "{}",
        a.log()
    );
    // hb_takeover local on www3 brings its group back
    let (rc, _, _) = a.tool(env!("CARGO_BIN_EXE_hb_takeover"), &["local"]);
    assert_eq!(rc, 0);
    assert!(
        wait_for(T, || a.has_mark("svc3") && !b.has_mark("svc3")).is_some(),
        "takeover:\n{}\n{}",
        a.log(),
        b.log()
    );

    // cl_status sees the cluster
    let (rc, out, _) = a.tool(env!("CARGO_BIN_EXE_cl_status"), &["nodestatus", "www4"]);
    assert_eq!((rc, out.trim()), (0, "active"));
    let (_, out, _) = a.tool(
        env!("CARGO_BIN_EXE_cl_status"),
        &["hblinkstatus", "www4", "eth0"],
    );
    assert_eq!(out.trim(), "up");
    let (_, out, _) = a.tool(
        env!("CARGO_BIN_EXE_cl_status"),
        &["hbparameter", "-p", "deadtime"],
    );
    assert_eq!(out.trim(), "1");

    // clean stop of www3: handover on shutdone, not on a dead-time expiry
    let deaths = b.log().matches("node www3: is dead").count();
    a.term();
    wait_for(T, || b.has_mark("svc3")).expect("handover on clean stop");
    assert_eq!(
        b.log().matches("node www3: is dead").count(),
        deaths,
        "{}",
        b.log()
    );
    assert!(a.wait_exit(T), "www3 exits after shutdone");
    assert!(!a.has_mark("svc3"));
    // www3 may exit before www4 has read its shutdone datagram: poll.
    let mut last = (0, String::new());
    let dead = wait_for(T, || {
        let (rc, out, _) = b.tool(env!("CARGO_BIN_EXE_cl_status"), &["nodestatus", "www3"]);
        last = (rc, out.trim().to_string());
        last == (1, "dead".to_string())
    });
    assert!(dead.is_some(), "nodestatus www3: {last:?}\n{}", b.log());
    assert!(
        b.log().contains("Received shutdown notice from 'www3'."),
        "{}",
        b.log()
    );
}

#[test]
fn auto_failback_off_keeps_resources_where_they_are() {
    let (_net, mut a, mut b) = pair("off");
    b.start();
    assert!(
        wait_for(T, || b.has_mark("svc3") && b.has_mark("svc4")).is_some(),
        "{}",
        b.log()
    );
    a.start();
    assert!(
        wait_for(T, || a
            .log()
            .contains("remote resource transition completed."))
        .is_some(),
        "{}",
        a.log()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !a.has_mark("svc3"),
        "auto_failback off must not move svc3 back"
    );
    assert!(b.has_mark("svc3"));
}

#[test]
fn cut_link_then_heal_converges_to_one_owner() {
    let (net, mut a, mut b) = pair("off");
    // One at a time (two nodes starting together wait out the 10 s
    // RQSTDELAY, as 3.0.6 does), then www4 takes its own group.
    a.start();
    assert!(
        wait_for(T, || a.has_mark("svc3") && a.has_mark("svc4")).is_some(),
        "{}",
        a.log()
    );
    b.start();
    assert!(
        wait_for(T, || b
            .log()
            .contains("remote resource transition completed."))
        .is_some(),
        "{}",
        b.log()
    );
    let (rc, _, err) = b.tool(env!("CARGO_BIN_EXE_hb_takeover"), &["local"]);
    assert_eq!(rc, 0, "{err}");
    assert!(
        wait_for(T, || a.has_mark("svc3")
            && b.has_mark("svc4")
            && !a.has_mark("svc4"))
        .is_some(),
        "{}\n{}",
        a.log(),
        b.log()
    );
    net.set_link('a', false);
    assert!(
        wait_for(T, || b.has_mark("svc3")).is_some(),
        "www4 takes over when the link is cut"
    );
    assert!(
        wait_for(T, || a.has_mark("svc4")).is_some(),
        "www3 too (split brain)"
    );
    net.set_link('a', true);
    assert!(
        wait_for(T, || a.has_mark("svc3")
            && !a.has_mark("svc4")
            && b.has_mark("svc4")
            && !b.has_mark("svc3"))
        .is_some(),
        "partition heals to one owner per group:\n{}\n{}",
        a.log(),
        b.log()
    );
    assert!(a.log().contains("returning after partition"), "{}", a.log());
}

#[test]
fn auto_failback_legacy_asks_for_own_groups_with_ip_request() {
    let (_net, mut a, mut b) = pair("legacy");
    a.start();
    assert!(
        wait_for(T, || a.has_mark("svc3") && a.has_mark("svc4")).is_some(),
        "{}",
        a.log()
    );
    b.start();
    assert!(
        wait_for(T, || b.has_mark("svc4") && !a.has_mark("svc4")).is_some(),
        "www4 asks for its group back:\n{}\n{}",
        a.log(),
        b.log()
    );
    assert!(
        b.log()
            .contains("received ip-request-resp marker::svc4 OK yes"),
        "{}",
        b.log()
    );
    assert!(a.has_mark("svc3"));
    // standby is refused in legacy mode, as the original refuses it
    let (rc, _, _) = b.tool(env!("CARGO_BIN_EXE_hb_standby"), &[]);
    assert_eq!(rc, 0);
    assert!(
        wait_for(T, || b
            .log()
            .contains("Standby mode only implemented when nice_failback on"))
        .is_some(),
        "{}",
        b.log()
    );
    assert!(b.has_mark("svc4"));
}

/// Regression: a node frozen longer than the dead time (SIGSTOP, like a
/// stalled machine) declares its peer dead on waking and starts taking its
/// groups just as the peer's heartbeats arrive again; the groups being
/// taken were not given back and stayed on the wrong node for good.
#[test]
fn frozen_node_gives_back_what_it_took_when_it_thaws() {
    let fast = "logfile LOGFILE\nkeepalive 100ms\ndeadtime 300ms\ninitdead 1\nudpport 694\nbcast eth0\nauto_failback on\nnode www3 www4\n";
    let net = Net::new(2);
    let res = "www3 marker::svc3\nwww4 marker::svc4\n";
    let mut a = Node::new("www3", &net.ns('a'), fast, KEYS, res);
    let mut b = Node::new("www4", &net.ns('b'), fast, KEYS, res);
    a.script("marker", MARKER);
    b.script("marker", MARKER);
    a.start();
    assert!(
        wait_for(T, || a.has_mark("svc3") && a.has_mark("svc4")).is_some(),
        "{}",
        a.log()
    );
    let b_started = std::time::Instant::now();
    b.start();
    let settled = |a: &Node, b: &Node| {
        a.has_mark("svc3") && !a.has_mark("svc4") && b.has_mark("svc4") && !b.has_mark("svc3")
    };
    assert!(
        wait_for(T, || settled(&a, &b)).is_some(),
        "{}\n{}",
        a.log(),
        b.log()
    );
    // past the first 5 s, when a node advertises deadtime + 2 s
    std::thread::sleep(Duration::from_millis(5600).saturating_sub(b_started.elapsed()));
    let pid = b.child.as_ref().expect("www4 runs").id() as i32;
    let noticed = |b: &Node| {
        let l = b.log();
        l.matches("node www3: is dead").count() + l.matches("Late heartbeat").count()
    };
    for round in 0..2 {
        let before = noticed(&b);
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        std::thread::sleep(Duration::from_millis(900));
        unsafe { libc::kill(pid, libc::SIGCONT) };
        assert!(
            wait_for(T, || noticed(&b) > before).is_some(),
            "www4 did not notice its freeze:\n{}",
            b.log()
        );
        // each group back with its own node, and staying there for 1.5 s
        // (a takeover and give-back may pass through on the way)
        let mut since: Option<std::time::Instant> = None;
        let stable = wait_for(T, || {
            if settled(&a, &b) {
                since.get_or_insert_with(std::time::Instant::now).elapsed()
                    >= Duration::from_millis(1500)
            } else {
                since = None;
                false
            }
        });
        assert!(stable.is_some(), "round {round}:\n{}\n{}", a.log(), b.log());
    }
}
