//! The seed cluster scenarios (issue 6) with our tools on both directors:
//! the 2004 guide's tests 2.5 (balance), 2.5.3 (A/D), 2.6 (B) and C, each
//! on a cluster built from `examples/seed/` (tests/src/seed). Two tests,
//! each with its own cluster (unique namespace names), so they can run in
//! parallel with each other and with the other lab tests.

use std::collections::BTreeSet;
use std::time::Duration;
use suite_tests::seed::scenario::{self, Loss, Return, Timeline};
use suite_tests::seed::{Cluster, Host, Prober, CLIENTS};

/// The client: a request every 100 ms, rotating over the client
/// addresses, each with a 1 s limit (a failed one is counted, not retried).
fn prober(c: &Cluster) -> Prober {
    Prober::start(c, Duration::from_millis(100), Duration::from_secs(1))
}

/// Section 2.5 and 2.5.3 (A/D).
///
/// What the seed's get_title test can show with `-p 360`: persistence
/// sends every connection of one client address to the server its first
/// one went to, so a single client (get_title.pl's 100 requests) sees ONE
/// title 100 times. The alternation the scheduler produces is between
/// clients: wlc with equal weights (100 each) gives each new client the
/// server with the fewest connections, so 16 client addresses spread 6/5/5
/// over node01, node02 and www4 (the slave doubles as a real server).
#[test]
fn seed_balance_and_web_node_failure() {
    let mut c = Cluster::start("ab");
    let tl = Timeline::new(&c, false);
    scenario::wait_ready(&c, &tl);

    let b = scenario::balance(&c, &tl, 6);
    for (src, answers) in &b.per_client {
        let titles: BTreeSet<&str> = answers
            .iter()
            .map(|r| r.as_deref().unwrap_or_else(|e| panic!("{src}: {e}")))
            .collect();
        assert_eq!(
            titles.len(),
            1,
            "{src} was not kept on one server: {answers:?}"
        );
    }
    assert_eq!(
        b.clients_per_title
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["node01", "node02", "www4"],
        "{b:?}"
    );
    for (t, n) in &b.clients_per_title {
        assert!(
            (5..=6).contains(n),
            "wlc gave {t} {n} of {CLIENTS} clients: {b:?}"
        );
    }
    // The seed's own get_title.pl (Perl, LWP, KeepAlive off) from the
    // client's first address: 100 answers, all from one server, the one
    // that address was given above.
    let lines = scenario::get_title_pl(&c, 100);
    assert_eq!(lines.len(), 100, "{lines:?}");
    let first = b.per_client[0].1[0].clone().unwrap();
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(*l, format!("{} {first}", i + 1), "get_title.pl: {lines:?}");
    }

    let p = prober(&c);
    let a = scenario::web_node_failure(&mut c, &tl, &p);
    drop(p);
    // mon's http service runs every 3 s; the alert follows at once. Allow
    // for a busy host, but not for a missed interval or two.
    a.check(30.0, &|| c.logs());
    eprintln!("{:#?}", tl.events.lock().unwrap());
}

/// Section 2.6 (B) and C, twice: the master's link is cut and restored,
/// then its heartbeat is killed with -9 and it is rebooted.
#[test]
fn seed_master_lost_and_returns() {
    let mut c = Cluster::start("bc");
    let tl = Timeline::new(&c, false);
    scenario::wait_ready(&c, &tl);
    let p = prober(&c);
    scenario::settle(&p, tl.now(), 10, Duration::from_secs(30));

    let b1 = scenario::master_lost(&mut c, &tl, &p, Loss::LinkCut);
    let c1 = scenario::master_returns(&mut c, &tl, &p, Return::LinkRestored);
    let b2 = scenario::master_lost(&mut c, &tl, &p, Loss::KillHeartbeat);
    let c2 = scenario::master_returns(&mut c, &tl, &p, Return::Reboot);
    let probes = p.finish();
    // Shown only when the test fails (cargo captures it otherwise).
    eprintln!("state at the end: {:?}\n{}", c.state(), c.logs());
    eprintln!(
        "mon processes (www3, www4): B1 {:?} C1 {:?} B2 {:?} C2 {:?}",
        b1.mons, c1.mons, b2.mons, c2.mons
    );
    eprintln!("{:#?}", tl.events.lock().unwrap());
    for q in probes.iter().filter(|q| q.result.is_err()) {
        eprintln!("{:7.2} {} {:?}", q.at, q.src, q.result);
    }

    for b in [&b1, &b2] {
        // deadtime 5 s, then IPaddr and puck: 7-10 s on an idle host, up to
        // 32 s seen on a busy one (each script step is a process start).
        assert!(b.took_over - b.injected < 60.0, "slow takeover: {b:?}");
        if let Some(o) = &b.outage {
            assert!(o.recovered.is_some(), "clients never recovered: {b:?}");
        }
        assert!(
            b.after.0 >= 20,
            "too few requests after the takeover: {b:?}"
        );
        assert_eq!(b.after.1, 0, "client errors after the takeover: {b:?}");
    }
    // A cut link loses the requests in flight to www3 until www4 answers.
    let o = b1
        .outage
        .as_ref()
        .expect("cutting the master's link cost no request?");
    assert!(o.gap().unwrap() < 60.0, "{b1:?}");
    for f in [&c1, &c2] {
        assert!(f.back - f.at < 80.0, "slow failback: {f:?}");
        assert!(
            f.after.0 >= 20,
            "too few requests after the failback: {f:?}"
        );
        assert_eq!(f.after.1, 0, "client errors after the failback: {f:?}");
        // Clients go through www3 again, not to www4's own httpd (which
        // also answers for the VIP, on lo:0): their ARP entry for the VIP
        // holds www3's MAC. Which real servers wlc then picks depends on
        // the connection counts the kernel keeps for re-added
        // destinations, so titles are not asserted here; that www4 serves
        // as a real server behind www3 with this very setup (VIP on lo:0
        // by lvs-r.sh, 10.0.0.4 in www3's table, no IPVS table of its own,
        // all checked by www3_directs) is shown by the balance test.
        assert_eq!(f.client_arp, Some(Host::Www3), "{f:?}");
        // puck stop's `killproc mon` ended www4's mon; www3 runs one.
        assert_eq!(f.mons, (1, 0), "mon processes (www3, www4): {f:?}");
    }
    // While www4 directs it runs its own mon (puck start); www3's keeps
    // running after a cut or a kill -9 of heartbeat (nothing stops it).
    for b in [&b1, &b2] {
        assert_eq!(b.mons, (1, 1), "mon processes (www3, www4): {b:?}");
    }
}
