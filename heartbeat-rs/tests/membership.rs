//! The membership state machine, driven by an injected clock.

use heartbeat::log::Level;
use heartbeat::membership::{DeathCause, Event, Membership, NodeStatus, Settings};
use heartbeat::msg::Message;

fn settings() -> Settings {
    Settings {
        local: "www3".into(),
        nodes: vec!["www3".into(), "www4".into()],
        media: vec!["eth0".into(), "eth1".into()],
        keepalive_ms: 2000,
        deadtime_ms: 5000,
        warntime_ms: 2500,
        initdead_ms: 12000,
        max_rexmit_delay_ms: 250,
        generation: 7,
        ttl: 3,
        uuid: None,
        start_bonus: true,
        status_interval_ms: 2000,
    }
}

fn m() -> Membership {
    let mut m = Membership::new(settings(), 0, 42);
    m.set_wall(0x6b0739f9);
    m.set_load("0.00 0.00 0.00 1/1 1\n");
    m
}

fn from(src: &str, t: &str, seq: u64, gen: u64) -> Message {
    let mut x = Message::new(t);
    x.add("src", src)
        .add("seq", &format!("{seq:x}"))
        .add("hg", &format!("{gen:x}"))
        .add("ts", "6b0739fa");
    x
}

fn status(seq: u64, gen: u64, st: &str, protocol: bool) -> Message {
    let mut x = Message::new("status");
    x.add("st", st).add("dt", "1388");
    if protocol {
        x.add("protocol", "1");
    }
    x.add("src", "www4")
        .add("seq", &format!("{seq:x}"))
        .add("hg", &format!("{gen:x}"))
        .add("ts", "6b0739fa");
    x
}

fn logs(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Log(l, t) => Some(format!("{}: {t}", l.tag())),
            _ => None,
        })
        .collect()
}

fn sent(ev: &[Event]) -> Vec<&Message> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Send(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn names(m: &Message) -> Vec<&str> {
    m.fields.iter().map(|f| f.name.as_str()).collect()
}

/// Brings `www4` up with flow control and completes the handshake.
fn up(m: &mut Membership, at: u64) -> u64 {
    m.tick(0);
    m.on_message(at, 0, status(1, 100, "active", true));
    let ev = m.tick(at);
    let req = sent(&ev)
        .into_iter()
        .find(|x| x.t() == Some("reqnodes"))
        .expect("reqnodes")
        .clone();
    assert_eq!(req.get("dest"), Some("www4"));
    let mut rep = from("www4", "repnodes", 2, 100);
    rep.add("dest", "www3")
        .add("nodelist", "www3 www4 ")
        .add("delnodelist", " ");
    let ev = m.on_message(at + 1, 0, rep);
    assert!(ev.contains(&Event::CommUp), "{ev:?}");
    2
}

#[test]
fn first_heartbeats_carry_the_original_header() {
    let mut m = m();
    let ev = m.tick(0);
    let s = sent(&ev);
    assert_eq!(
        names(s[0]),
        ["t", "st", "dt", "protocol", "src", "seq", "hg", "ts", "ld", "ttl"]
    );
    assert_eq!(s[0].get("st"), Some("init"));
    assert_eq!(s[0].get("seq"), Some("1"));
    assert_eq!(s[0].get("dt"), Some("1b58")); // deadtime + 2 s during the first 5 s
    assert_eq!(s[0].get("hg"), Some("7"));
    assert_eq!(s[0].get("ts"), Some("6b0739f9"));
    assert_eq!(s[0].get("ld"), Some("0.00 0.00 0.00 1/1 1"));
    assert_eq!(s[1].get("st"), Some("up"));
    assert_eq!(s[1].get("seq"), Some("2"));
    assert!(logs(&ev).contains(&"info: Local status now set to: 'up'".to_string()));
    assert!(logs(&ev).contains(&"info: Link www3:eth0 up.".to_string()));
    // next heartbeat at keepalive, with the real dead time after 5 s
    assert!(sent(&m.tick(1999)).is_empty());
    assert_eq!(sent(&m.tick(2000)).len(), 1);
    let later = m.tick(6000);
    assert_eq!(sent(&later)[0].get("dt"), Some("1388"));
}

#[test]
fn handshake_with_a_3x_peer_needs_repnodes() {
    let mut m = m();
    m.tick(0);
    let ev = m.on_message(100, 0, status(1, 100, "up", true));
    assert_eq!(
        logs(&ev),
        [
            "info: Link www4:eth0 up.",
            "info: Status update for node www4: status up"
        ]
    );
    assert!(ev.contains(&Event::NodeStatus {
        node: "www4".into(),
        status: NodeStatus::Up,
        cause: None
    }));
    let ev = m.tick(100);
    assert!(!ev.contains(&Event::CommUp));
    assert_eq!(sent(&ev)[0].t(), Some("reqnodes"));
    // repeated every second until answered
    assert!(sent(&m.tick(600)).iter().all(|x| x.t() != Some("reqnodes")));
    assert!(sent(&m.tick(1100))
        .iter()
        .any(|x| x.t() == Some("reqnodes")));
    let mut rep = from("www4", "repnodes", 2, 100);
    rep.add("dest", "www3");
    let ev = m.on_message(1200, 0, rep);
    assert!(ev.contains(&Event::CommUp));
    assert_eq!(m.local_status(), NodeStatus::Active);
    assert!(logs(&ev).contains(&"info: Comm_now_up(): updating status to active".into()));
    assert_eq!(sent(&ev)[0].get("st"), Some("active"));
}

#[test]
fn a_peer_without_protocol_disables_flow_control() {
    let mut m = m();
    m.tick(0);
    let ev = m.on_message(100, 0, status(1, 100, "active", false));
    assert!(logs(&ev)
        .contains(&"info: flow control disabled due to different version heartbeat".into()));
    let ev = m.tick(100);
    assert!(ev.contains(&Event::CommUp));
    assert!(sent(&ev).iter().all(|x| x.t() != Some("reqnodes")));
    // and no ACKs for it
    for s in 2..30 {
        let ev = m.on_message(200 + s, 0, status(s, 100, "active", false));
        assert!(sent(&ev).iter().all(|x| x.t() != Some("NS_ackmsg")));
    }
}

#[test]
fn alone_comm_comes_up_after_initdead() {
    let mut m = m();
    m.tick(0);
    assert!(m.tick(11999).iter().all(|e| !matches!(e, Event::CommUp)));
    assert!(m.tick(12000).iter().all(|e| !matches!(e, Event::CommUp)));
    let ev = m.tick(12001);
    assert!(logs(&ev).contains(&"WARN: node www4: is dead".into()));
    assert!(ev.contains(&Event::CommUp));
}

#[test]
fn dead_after_the_peers_dt_and_next_deadline_says_when() {
    let mut m = m();
    up(&mut m, 100);
    let ev = m.on_message(2100, 0, status(3, 100, "active", true));
    assert!(logs(&ev).iter().all(|l| !l.contains("Late")), "{ev:?}");
    assert!(m
        .tick(7100)
        .iter()
        .all(|e| !matches!(e, Event::NodeStatus { .. })));
    assert!(m.next_deadline() <= 7101);
    let ev = m.tick(7101);
    assert!(logs(&ev).contains(&"WARN: node www4: is dead".into()));
    assert!(ev.contains(&Event::NodeStatus {
        node: "www4".into(),
        status: NodeStatus::Dead,
        cause: Some(DeathCause::Timeout)
    }));
    assert_eq!(m.node_status("www4"), Some(NodeStatus::Dead));
    // links die on their own timer
    assert!(logs(&ev).contains(&"info: Link www4:eth0 dead.".into()));
    assert_eq!(m.link_up("www4", "eth0"), Some(false));
    assert_eq!(m.link_up("www4", "eth1"), Some(false));
}

#[test]
fn dt_of_the_peer_is_honoured() {
    let mut m = m();
    up(&mut m, 100);
    let mut s = status(3, 100, "active", true);
    s.set("dt", "12c"); // 300 ms
    m.on_message(1000, 0, s);
    assert!(m
        .tick(1300)
        .iter()
        .all(|e| !matches!(e, Event::NodeStatus { .. })));
    assert!(logs(&m.tick(1301)).contains(&"WARN: node www4: is dead".into()));
}

#[test]
fn late_heartbeat_warnings() {
    let mut m = m();
    up(&mut m, 100);
    let ev = m.on_message(2700, 0, status(3, 100, "active", true));
    assert_eq!(
        logs(&ev),
        ["WARN: Late heartbeat: Node www4: interval 2600 ms"]
    );
    let ev = m.on_message(2700 + 5680, 0, status(4, 100, "active", true));
    assert_eq!(
        logs(&ev)[0],
        "CRIT: Late heartbeat: Node www4: interval 5680 ms (> deadtime)"
    );
}

/// Regression: after a one-sided partition (the peer declared us dead and
/// took our VIP, we never declared it dead) nothing re-announced the VIP,
/// and clients kept the peer's MAC after the peer gave it back.
#[test]
fn a_gap_longer_than_our_dead_time_is_a_late_return() {
    let mut m = m();
    up(&mut m, 100);
    // The peer advertises 10 s; we advertise 5 s (7 s in our first 5 s).
    let slow = |seq: u64| {
        let mut s = status(seq, 100, "active", true);
        s.set("dt", "2710");
        s
    };
    let ev = m.on_message(6000, 0, slow(3));
    assert!(
        !ev.iter().any(|e| matches!(e, Event::LateReturn(_))),
        "{ev:?}"
    );
    // 6.9 s: more than our 5 s, less than its 10 s (and our start-up 7 s
    // window is over)
    let ev = m.on_message(12900, 0, slow(4));
    assert!(ev.contains(&Event::LateReturn("www4".into())), "{ev:?}");
    assert_eq!(m.node_status("www4"), Some(NodeStatus::Active));
    // within our dead time: nothing
    let ev = m.on_message(17000, 0, slow(5));
    assert!(
        !ev.iter().any(|e| matches!(e, Event::LateReturn(_))),
        "{ev:?}"
    );
}

#[test]
fn replay_restart_and_partition_return() {
    let mut m = m();
    up(&mut m, 100);
    // older generation: replay
    let ev = m.on_message(200, 0, status(9, 99, "active", true));
    assert_eq!(
        logs(&ev),
        ["ERROR: should_drop_message: attempted replay attack [www4]? [gen = 99, curgen = 100]"]
    );
    assert_eq!(ev.len(), 1);
    // duplicate seq: dropped, no status processing
    let ev = m.on_message(300, 0, status(1, 100, "dead", true));
    assert!(ev.is_empty(), "{ev:?}");
    // newer generation: restart, tracking reset
    let ev = m.on_message(400, 0, status(1, 101, "init", true));
    assert!(logs(&ev).contains(&"info: Heartbeat restart on node www4".into()));
    assert!(ev.contains(&Event::NodeRestarted("www4".into())));
    assert_eq!(m.node_status("www4"), Some(NodeStatus::Init));
    // declared dead, then heard again with the same generation
    m.tick(400 + 5001 + 2000);
    assert_eq!(m.node_status("www4"), Some(NodeStatus::Dead));
    let ev = m.on_message(9000, 0, status(1, 101, "active", true));
    assert!(
        !ev.iter()
            .any(|e| matches!(e, Event::NodeStatus { .. } | Event::PartitionReturn(_))),
        "an old seq from a dead node is ignored: {ev:?}"
    );
    let ev = m.on_message(9001, 0, status(5, 101, "active", true));
    assert!(logs(&ev).contains(&"CRIT: Cluster node www4 returning after partition.".into()));
    assert!(ev.contains(&Event::PartitionReturn("www4".into())));
    assert!(
        !ev.iter().any(|e| matches!(e, Event::LateReturn(_))),
        "a partition return is not also a late return: {ev:?}"
    );
    assert_eq!(m.node_status("www4"), Some(NodeStatus::Active));
}

/// Seen in the rolling-replacement lab: a dead peer restarted (new
/// generation) and its first packet was not a status; the status after it
/// carried the already-known new generation and was taken for a healed
/// partition, so we gave our resources up and nobody held the VIP.
#[test]
fn restart_announced_by_a_non_status_message_is_not_a_partition() {
    let mut m = m();
    up(&mut m, 100);
    m.tick(100 + 5001 + 2000);
    assert_eq!(m.node_status("www4"), Some(NodeStatus::Dead));
    let ev = m.on_message(9000, 0, from("www4", "starting", 1, 101));
    assert!(logs(&ev).contains(&"info: Heartbeat restart on node www4".into()));
    let ev = m.on_message(9001, 0, status(2, 101, "init", true));
    assert!(
        !ev.iter().any(|e| matches!(e, Event::PartitionReturn(_))),
        "a restart is not a partition return: {ev:?}"
    );
    assert!(!logs(&ev)
        .iter()
        .any(|l| l.contains("returning after partition")));
    assert_eq!(m.node_status("www4"), Some(NodeStatus::Init));
}

#[test]
fn gaps_are_requested_and_filled() {
    let mut m = m();
    let base = up(&mut m, 100);
    let ev = m.on_message(500, 0, status(base + 4, 100, "active", true));
    assert_eq!(logs(&ev), ["WARN: 3 lost packet(s) for [www4] [2:6]"]);
    // the request comes 50..250 ms later, seqs in decimal
    assert!(sent(&m.tick(549))
        .iter()
        .all(|x| x.t() != Some("NS_rexmit")));
    let ev = m.tick(751);
    let req: Vec<_> = sent(&ev)
        .into_iter()
        .filter(|x| x.t() == Some("NS_rexmit"))
        .collect();
    assert_eq!(req.len(), 1);
    assert_eq!(
        (
            req[0].get("dest"),
            req[0].get("firstseq"),
            req[0].get("lastseq")
        ),
        (Some("www4"), Some("3"), Some("5"))
    );
    assert_eq!(
        names(req[0]),
        ["t", "dest", "firstseq", "lastseq", "src", "hg", "ts", "ttl"]
    );
    // a missing one arrives: accepted, delivered
    let ev = m.on_message(800, 0, from("www4", "starting", 4, 100));
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Deliver(x) if x.t() == Some("starting"))));
    // re-requested every max_rexmit_delay for the rest
    let ev = m.tick(1002);
    let req: Vec<_> = sent(&ev)
        .into_iter()
        .filter(|x| x.t() == Some("NS_rexmit"))
        .collect();
    assert_eq!(req.len(), 2);
    // a second copy of seq 4 is a duplicate
    assert!(m
        .on_message(1100, 0, from("www4", "starting", 4, 100))
        .is_empty());
}

#[test]
fn we_retransmit_from_history_or_nak() {
    let mut m = m();
    up(&mut m, 100);
    let mut x = Message::new("resource");
    x.add("rsc_hold", "all");
    let stamped = m.send_message(x, 200);
    let seq = stamped.get_hex("seq").unwrap();
    let mut req = from("www4", "NS_rexmit", 0, 100);
    req.remove("seq");
    req.add("dest", "www3")
        .add("firstseq", &seq.to_string())
        .add("lastseq", &seq.to_string());
    let ev = m.on_message(300, 0, req.clone());
    assert_eq!(sent(&ev), [&stamped]);
    // not again within max_rexmit_delay - 10
    assert!(sent(&m.on_message(400, 0, req.clone())).is_empty());
    assert_eq!(sent(&m.on_message(541, 0, req)), [&stamped]);
    let mut req = from("www4", "NS_rexmit", 0, 100);
    req.remove("seq");
    req.add("dest", "www3")
        .add("firstseq", "999")
        .add("lastseq", "999");
    let ev = m.on_message(600, 0, req);
    assert_eq!(
        logs(&ev),
        ["ERROR: Cannot rexmit pkt 999 for www4: seqno not found"]
    );
    let nak = sent(&ev)[0];
    assert_eq!(
        (nak.t(), nak.get("firstseq"), nak.get("info")),
        (Some("NS_nak_rexmit"), Some("3e7"), Some("seqno not found"))
    );
}

#[test]
fn one_message_in_ten_is_acked() {
    let mut m = m();
    up(&mut m, 100);
    let mut acks = Vec::new();
    for s in 3..13 {
        let ev = m.on_message(200 + s, 0, from("www4", "x", s, 100));
        for a in sent(&ev) {
            assert_eq!(a.t(), Some("NS_ackmsg"));
            assert_eq!(a.get("dest"), Some("www4"));
            assert_eq!(names(a), ["t", "dest", "ackseq", "src", "hg", "ts", "ttl"]);
            acks.push(a.get_hex("ackseq").unwrap());
        }
    }
    assert_eq!(acks.len(), 1, "{acks:?}");
}

#[test]
fn reqnodes_gets_the_exact_node_list() {
    let mut m = m();
    m.tick(0);
    let mut r = from("www4", "reqnodes", 1, 100);
    r.add("dest", "www3");
    let ev = m.on_message(10, 0, r);
    let rep = sent(&ev)
        .into_iter()
        .find(|x| x.t() == Some("repnodes"))
        .unwrap();
    assert_eq!(rep.get("dest"), Some("www4"));
    assert_eq!(rep.get("nodelist"), Some("www3 www4 "));
    assert_eq!(rep.get("delnodelist"), Some(" "));
}

#[test]
fn shutdone_means_dead_at_once() {
    let mut m = m();
    up(&mut m, 100);
    let mut s = from("www4", "shutdone", 3, 100);
    s.add("st", "dead");
    let ev = m.on_message(500, 0, s);
    assert_eq!(logs(&ev), ["info: Received shutdown notice from 'www4'."]);
    assert!(ev.contains(&Event::NodeStatus {
        node: "www4".into(),
        status: NodeStatus::Dead,
        cause: Some(DeathCause::Shutdown)
    }));
}

#[test]
fn unknown_nodes_missing_fields_and_foreign_dest() {
    let mut m = m();
    m.tick(0);
    let mut x = status(1, 100, "active", true);
    x.set("src", "intruder");
    assert_eq!(
        logs(&m.on_message(5, 0, x)),
        ["ERROR: process_status_message: bad node [intruder] in message"]
    );
    let mut x = from("www4", "y", 1, 100);
    x.remove("seq");
    assert_eq!(
        logs(&m.on_message(5, 0, x)),
        ["ERROR: process_clustermsg: node [www4]: missing seqno"]
    );
    let mut x = from("www4", "y", 1, 100);
    x.set("ts", "0");
    assert!(m.on_message(5, 0, x).is_empty());
    let mut x = from("www4", "ip-request", 1, 100);
    x.add("dest", "www5");
    let ev = m.on_message(6, 1, x);
    assert!(!ev.iter().any(|e| matches!(e, Event::Deliver(_))));
    // still refreshes the link it came on
    assert_eq!(m.link_up("www4", "eth1"), Some(true));
    assert_eq!(m.link_up("www4", "eth0"), Some(false));
}

#[test]
fn per_medium_links() {
    let mut m = m();
    up(&mut m, 100);
    // status keeps coming on eth1 only: eth0 dies, the node lives
    for k in 1..6u64 {
        m.on_message(100 + k * 2000, 1, status(2 + k, 100, "active", true));
        let ev = m.tick(100 + k * 2000);
        if k == 3 {
            assert!(
                logs(&ev).iter().any(|l| l == "info: Link www4:eth0 dead."),
                "{ev:?}"
            );
        }
    }
    assert_eq!(m.node_status("www4"), Some(NodeStatus::Active));
    assert_eq!(m.link_up("www4", "eth0"), Some(false));
    assert_eq!(m.link_up("www4", "eth1"), Some(true));
    assert_eq!(Level::Info.tag(), "info");
}

#[test]
fn status_rate() {
    use heartbeat::membership::status_interval;
    assert_eq!(status_interval(2000, 5000), 500);
    assert_eq!(status_interval(100, 300), 30);
    assert_eq!(status_interval(1000, 30000), 1000);
    assert_eq!(status_interval(50, 120), 20);
}
