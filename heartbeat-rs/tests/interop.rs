//! Interop with Debian's heartbeat 3.0.6: the same three files on both
//! nodes, one node running the original and the other ours.

use crate::support::netns::{resource_manager_lines, wait_for, Net, Node, RealNode};
use std::time::{Duration, Instant};

const KEYS: &str = "auth 1\n1 sha1 interop-secret\n";
const RES: &str = "www3 marker::svc3\nwww4 marker::svc4\n";

fn marker(marks: &std::path::Path) -> String {
    format!(
        "#!/bin/sh\nf=\"{m}/$1\"\ncase \"$2\" in\n start) touch \"$f\";;\n stop) rm -f \"$f\";;\n status) if [ -e \"$f\" ]; then echo running; else echo stopped; fi;;\nesac\nexit 0\n",
        m = marks.display()
    )
}

fn hacf() -> &'static str {
    "logfile LOGFILE\nkeepalive 300ms\ndeadtime 1500ms\nwarntime 1\ninitdead 3\nudpport 694\nbcast eth0\nauto_failback on\nnode www3 www4\n"
}

/// Where the original reads its configuration (bound over its own dir).
fn real_etc() -> String {
    "/etc/ha.d".into()
}

// Upper bounds only: generous for loaded CI machines.
const T: Duration = Duration::from_secs(45);

/// For its first 5 s a node advertises deadtime + 2 s (both 3.0.6 and
/// ours): wait until a node started at `since` advertises its real dead
/// time before killing it.
fn settle(since: Instant) {
    std::thread::sleep(Duration::from_millis(5600).saturating_sub(since.elapsed()));
}

#[test]
fn interop_with_heartbeat_3_0_6_both_directions() {
    crate::support::require_reference();
    let net = Net::new(2);
    let mut real = RealNode::new("www3", &net.ns('a'), hacf(), KEYS, RES);
    real.script("marker", &marker(&real.dir.join("marks")));
    let mut ours = Node::new("www4", &net.ns('b'), hacf(), KEYS, RES);
    ours.script("marker", &marker(&ours.dir.join("marks")));

    // Ours alone takes everything after initdead. (Not the original first:
    // 3.0.6 alone stays "in transition" for RQSTDELAY, 10 s, and a node
    // joining meanwhile waits that out.)
    ours.start();
    assert!(
        wait_for(T, || ours.has_mark("svc3") && ours.has_mark("svc4")).is_some(),
        "ours alone:\n{}",
        ours.log()
    );

    // The original joins: handshake (reqnodes/repnodes), then
    // auto_failback hands svc3 to it.
    let real_started = Instant::now();
    real.start();
    assert!(
        wait_for(T, || real.has_mark("svc3") && !ours.has_mark("svc3")).is_some(),
        "hand-back from ours to the original:\n--- original\n{}\n--- ours\n{}",
        real.log(),
        ours.log()
    );
    assert!(ours.has_mark("svc4"));
    assert!(
        real.log()
            .contains("Status update for node www4: status active"),
        "{}",
        real.log()
    );
    assert!(
        !real.log().contains("failed authentication"),
        "{}",
        real.log()
    );
    assert!(
        !real.log().contains("authtoken does not match"),
        "{}",
        real.log()
    );
    settle(real_started);

    // The original dies: ours takes svc3 within its dead time.
    real.kill9();
    let took = wait_for(T, || ours.has_mark("svc3")).expect("ours takes over from the original");
    // deadtime 1.5 s; margin for loaded CI machines
    assert!(took < Duration::from_secs(5), "took {took:?}");
    std::fs::remove_file(real.dir.join("marks/svc3")).ok();

    // It returns (new generation): ours gives svc3 back.
    let standbys = ours
        .log()
        .matches("Other node completed standby takeover")
        .count();
    real.start();
    assert!(
        wait_for(T, || real.has_mark("svc3") && !ours.has_mark("svc3")).is_some(),
        "hand-back from ours to the original:\n--- original\n{}\n--- ours\n{}",
        real.log(),
        ours.log()
    );
    // the standby exchange ends with the original's "done"
    assert!(
        wait_for(T, || ours
            .log()
            .matches("Other node completed standby takeover")
            .count()
            > standbys)
        .is_some(),
        "{}",
        ours.log()
    );

    // Ours stops cleanly: the original gets the shutdown notice and takes svc4.
    // (3.0.6 itself logs "node www4: is dead" a dead time after the
    // shutdown notice even then: only the notice and the takeover count.)
    ours.term();
    wait_for(T, || real.has_mark("svc4")).expect("original takes over on our clean stop");
    assert!(ours.wait_exit(T));
    assert!(
        real.log().contains("Received shutdown notice from 'www4'."),
        "{}",
        real.log()
    );

    // Ours comes back and gets svc4 back, then dies: the original takes over.
    let ours_started = Instant::now();
    ours.start();
    assert!(
        wait_for(T, || ours.has_mark("svc4") && !real.has_mark("svc4")).is_some(),
        "{}\n{}",
        real.log(),
        ours.log()
    );
    settle(ours_started);
    ours.kill9();
    std::fs::remove_file(ours.dir.join("marks/svc4")).ok();
    assert!(
        wait_for(T, || real.has_mark("svc4")).is_some(),
        "original takes over from ours:\n{}",
        real.log()
    );
    assert!(real.log().contains("node www4: is dead"));

    // And a clean stop of the original hands over to ours at once.
    ours.start();
    assert!(
        wait_for(T, || ours.has_mark("svc4") && !real.has_mark("svc4")).is_some(),
        "{}\n{}",
        real.log(),
        ours.log()
    );
    let deaths = ours.log().matches("node www3: is dead").count();
    real.term();
    wait_for(T, || ours.has_mark("svc3")).expect("ours takes over on the original's clean stop");
    assert_eq!(
        ours.log().matches("node www3: is dead").count(),
        deaths,
        "handover was not on shutdone:\n{}",
        real.log()
    );
    assert!(
        ours.log().contains("Received shutdown notice from 'www3'."),
        "{}",
        ours.log()
    );

    // ResourceManager's lines (log watchers grep them): the original's for
    // taking svc4 over and giving it back, ours for taking it
    let real_rm = resource_manager_lines(&real.log(), &real_etc());
    let ours_rm = resource_manager_lines(&ours.log(), &ours.dir.join("etc").display().to_string());
    let acquire_svc4 = [
        "DATE  ResourceManager(default)[N]:    info: Acquiring resource group: www4 marker::svc4",
        "DATE  ResourceManager(default)[N]:    info: Running ETC/resource.d/marker svc4 start",
    ];
    assert!(
        real_rm.windows(2).any(|w| w == acquire_svc4),
        "{real_rm:#?}"
    );
    assert!(
        ours_rm.windows(2).any(|w| w == acquire_svc4),
        "{ours_rm:#?}"
    );
    let release_svc4 = [
        "DATE  ResourceManager(default)[N]:    info: Releasing resource group: www4 marker::svc4",
        "DATE  ResourceManager(default)[N]:    info: Running ETC/resource.d/marker svc4 stop",
    ];
    assert!(
        real_rm.windows(2).any(|w| w == release_svc4),
        "{real_rm:#?}"
    );
    assert!(
        ours_rm.windows(2).any(|w| w == release_svc4),
        "{ours_rm:#?}"
    );
}
