//! The resource hand-off protocol between two planners wired back to back.

use heartbeat::config::{AutoFailback, HaResources};
use heartbeat::membership::DeathCause;
use heartbeat::msg::Message;
use heartbeat::planner::{Action, Hold, JobResult, Output, Planner, RState};

const NODES: [&str; 2] = ["www3", "www4"];

struct Sim {
    p: [Planner; 2],
    alive: [bool; 2],
    now: u64,
    /// "www3 acquire k1,k2" ...
    jobs: Vec<String>,
    wire: Vec<String>,
    logs: Vec<String>,
    exited: [bool; 2],
}

fn res() -> HaResources {
    let mut d = Vec::new();
    let nodes: Vec<String> = NODES.iter().map(|s| s.to_string()).collect();
    HaResources::parse(
        "www3 10.0.0.100 puck\nwww4 10.0.0.101 httpd\n",
        "hr",
        &nodes,
        &mut d,
    )
    .unwrap()
}

impl Sim {
    fn new(mode: AutoFailback) -> Sim {
        let nodes: Vec<String> = NODES.iter().map(|s| s.to_string()).collect();
        Sim {
            p: [
                Planner::new("www3", &nodes, mode, res()),
                Planner::new("www4", &nodes, mode, res()),
            ],
            alive: [true, true],
            now: 0,
            jobs: vec![],
            wire: vec![],
            logs: vec![],
            exited: [false, false],
        }
    }

    fn pump(&mut self, i: usize, outs: Vec<Output>) {
        for o in outs {
            match o {
                Output::Send(mut m) => {
                    m.add("src", NODES[i]);
                    self.wire.push(format!("{}: {}", NODES[i], desc(&m)));
                    let j = 1 - i;
                    if self.alive[j] && !self.exited[j] {
                        let dest_ok = m.get("dest").is_none_or(|d| d == NODES[j]);
                        if dest_ok {
                            let outs = self.p[j].message(&m, self.now);
                            self.pump(j, outs);
                        }
                    }
                }
                Output::Log(_, t) => self.logs.push(format!("{}: {t}", NODES[i])),
                Output::Run(a) => {
                    let r = match &a {
                        Action::Acquire(k) => {
                            self.jobs
                                .push(format!("{} acquire {}", NODES[i], k.join(",")));
                            JobResult {
                                acquired: k.clone(),
                                ..Default::default()
                            }
                        }
                        Action::Release(k) => {
                            self.jobs
                                .push(format!("{} release {}", NODES[i], k.join(",")));
                            JobResult {
                                released: k.clone(),
                                ..Default::default()
                            }
                        }
                        Action::Refresh(k) => {
                            self.jobs
                                .push(format!("{} refresh {}", NODES[i], k.join(",")));
                            JobResult::default()
                        }
                    };
                    let outs = self.p[i].done(r, self.now);
                    self.pump(i, outs);
                }
                Output::Exit => self.exited[i] = true,
                Output::StandbyLater => {}
            }
        }
    }

    fn comm_up(&mut self, i: usize) {
        let peer = self.alive[1 - i];
        let outs = self.p[i].comm_up(peer, self.now);
        self.pump(i, outs);
    }

    fn tick(&mut self, ms: u64) {
        self.now += ms;
        for i in 0..2 {
            if self.alive[i] {
                let outs = self.p[i].tick(self.now);
                self.pump(i, outs);
            }
        }
    }

    fn held(&self, i: usize) -> Vec<&str> {
        self.p[i].held().collect()
    }

    fn kill(&mut self, i: usize, cause: DeathCause) {
        self.alive[i] = false;
        let outs = self.p[1 - i].node_dead(NODES[i], cause, self.now);
        self.pump(1 - i, outs);
    }

    fn restart(&mut self, i: usize, mode: AutoFailback) {
        let nodes: Vec<String> = NODES.iter().map(|s| s.to_string()).collect();
        self.p[i] = Planner::new(NODES[i], &nodes, mode, res());
        self.alive[i] = true;
        self.exited[i] = false;
        self.p[1 - i].node_alive(NODES[i]);
        self.comm_up(i);
    }
}

fn desc(m: &Message) -> String {
    m.fields
        .iter()
        .filter(|f| f.name != "src")
        .map(|f| format!("{}={}", f.name, String::from_utf8_lossy(&f.value)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn nice_failback_simultaneous_start_waits_then_each_takes_its_own() {
    let mut s = Sim::new(AutoFailback::On);
    s.comm_up(0);
    s.comm_up(1);
    assert!(s.held(0).is_empty() && s.held(1).is_empty());
    assert_eq!(s.p[0].rscstatus(), "transition");
    s.tick(9_999);
    assert!(s.held(0).is_empty());
    s.tick(1);
    assert_eq!(s.held(0), ["10.0.0.100"]);
    assert_eq!(s.held(1), ["10.0.0.101"]);
    assert_eq!(s.p[0].state(), RState::Stable);
    assert_eq!(s.p[0].rscstatus(), "local");
    assert!(s
        .logs
        .contains(&"www3: local resource transition completed.".into()));
}

fn started(mode: AutoFailback) -> Sim {
    let mut s = Sim::new(mode);
    s.comm_up(0);
    s.comm_up(1);
    s.tick(10_000);
    s.jobs.clear();
    s.wire.clear();
    s.logs.clear();
    s
}

#[test]
fn takeover_on_death_then_auto_failback_on() {
    let mut s = started(AutoFailback::On);
    s.kill(0, DeathCause::Timeout);
    assert_eq!(s.jobs, ["www4 acquire 10.0.0.100"]);
    assert_eq!(s.held(1), ["10.0.0.100", "10.0.0.101"]);
    for l in [
        "www4: No STONITH device configured.",
        "www4: Resources being acquired from www3.",
        "www4: Taking over resource group 10.0.0.100",
        "www4: mach_down takeover complete for node www3.",
    ] {
        assert!(s.logs.contains(&l.to_string()), "{l}: {:?}", s.logs);
    }
    assert!(s
        .wire
        .contains(&"www4: t=resource rsc_hold=foreign info=mach_down".into()));
    // the preferred node comes back: it gets its group back via standby
    s.jobs.clear();
    s.wire.clear();
    s.restart(0, AutoFailback::On);
    assert_eq!(
        s.jobs,
        ["www4 release 10.0.0.100", "www3 acquire 10.0.0.100"]
    );
    assert_eq!(s.held(0), ["10.0.0.100"]);
    assert_eq!(s.held(1), ["10.0.0.101"]);
    let want = [
        "www3: t=starting",
        "www4: t=resource rsc_hold=all rtype=full isstable=1",
        "www3: t=resource rsc_hold=none rtype=full isstable=1",
        "www4: t=ask_resources rsc_hold=foreign info=me",
        "www3: t=ask_resources rsc_hold=foreign info=other",
        "www4: t=resource rsc_hold=local rtype=full isstable=0 info=standby",
        "www4: t=ask_resources rsc_hold=foreign info=done",
        "www3: t=ask_resources rsc_hold=foreign info=done",
        // (the simulation delivers depth-first, so www4's report comes first)
        "www4: t=resource rsc_hold=local rtype=full isstable=1",
        "www3: t=resource rsc_hold=local rtype=full isstable=1",
    ];
    assert_eq!(s.wire, want);
    assert!(s
        .logs
        .contains(&"www4: Other node completed standby takeover of foreign resources.".into()));
}

#[test]
fn auto_failback_off_keeps_groups_until_standby() {
    let mut s = started(AutoFailback::Off);
    s.kill(0, DeathCause::Timeout);
    s.restart(0, AutoFailback::Off);
    assert!(s.held(0).is_empty());
    assert_eq!(s.held(1), ["10.0.0.100", "10.0.0.101"]);
    // hb_standby on www4 moves everything
    s.jobs.clear();
    let outs = s.p[1].standby(Hold::ALL, s.now);
    s.pump(1, outs);
    assert_eq!(
        s.jobs,
        [
            "www4 release 10.0.0.100,10.0.0.101",
            "www3 acquire 10.0.0.100,10.0.0.101"
        ]
    );
    assert_eq!(s.held(0), ["10.0.0.100", "10.0.0.101"]);
    // hb_takeover local on www4: www3 goes standby for www4's groups
    s.jobs.clear();
    let outs = s.p[1].takeover("local");
    s.pump(1, outs);
    assert_eq!(
        s.jobs,
        ["www3 release 10.0.0.101", "www4 acquire 10.0.0.101"]
    );
    assert_eq!(s.held(0), ["10.0.0.100"]);
    assert_eq!(s.held(1), ["10.0.0.101"]);
}

#[test]
fn legacy_uses_ip_request() {
    let mut s = Sim::new(AutoFailback::Legacy);
    // www4 alone first: takes its own group, then www3's when it is dead
    s.alive[0] = false;
    s.comm_up(1);
    s.kill(0, DeathCause::Timeout);
    assert_eq!(s.held(1), ["10.0.0.100", "10.0.0.101"]);
    s.jobs.clear();
    s.wire.clear();
    s.restart(0, AutoFailback::Legacy);
    assert_eq!(
        s.wire,
        [
            "www3: t=ip-request ipaddr=10.0.0.100",
            "www4: t=ip-request-resp dest=www3 ipaddr=10.0.0.100 weown=yes ok=OK",
        ]
    );
    assert_eq!(
        s.jobs,
        ["www4 release 10.0.0.100", "www3 acquire 10.0.0.100"]
    );
    assert_eq!(s.held(0), ["10.0.0.100"]);
    // standby is refused in legacy mode
    let outs = s.p[0].standby(Hold::ALL, s.now);
    assert_eq!(
        outs,
        [Output::Log(
            heartbeat::log::Level::Error,
            "Standby mode only implemented when nice_failback on".into()
        )]
    );
}

#[test]
fn clean_shutdown_hands_over_without_stonith_warnings() {
    let mut s = started(AutoFailback::On);
    let outs = s.p[0].shutdown();
    s.pump(0, outs);
    assert!(s.exited[0]);
    assert_eq!(s.jobs, ["www3 release 10.0.0.100"]);
    assert_eq!(s.wire.last().unwrap(), "www3: t=shutdone st=dead");
    assert_eq!(
        s.wire[0],
        "www3: t=resource rsc_hold=none rtype=full isstable=0 info=shutdown"
    );
    s.kill(0, DeathCause::Shutdown);
    assert!(s
        .logs
        .contains(&"www4: Dead node www3 gave up resources.".into()));
    assert!(!s.logs.iter().any(|l| l.contains("STONITH")));
    assert_eq!(s.held(1), ["10.0.0.100", "10.0.0.101"]);
}

#[test]
fn healed_partition_converges_to_one_owner_per_group() {
    let mut s = started(AutoFailback::Off);
    // both think the other died
    let o = s.p[0].node_dead("www4", DeathCause::Timeout, 1);
    s.alive = [true, false];
    s.pump(0, o);
    s.alive = [false, true];
    let o = s.p[1].node_dead("www3", DeathCause::Timeout, 1);
    s.pump(1, o);
    s.alive = [true, true];
    assert_eq!(s.held(0).len(), 2);
    assert_eq!(s.held(1).len(), 2);
    s.jobs.clear();
    for i in 0..2 {
        let o = s.p[i].partition_return(NODES[1 - i]);
        s.pump(i, o);
    }
    assert_eq!(s.held(0), ["10.0.0.100"]);
    assert_eq!(s.held(1), ["10.0.0.101"]);
    assert!(s.jobs.contains(&"www3 refresh 10.0.0.100".to_string()));
    assert!(s.jobs.contains(&"www4 refresh 10.0.0.101".to_string()));
}

/// Regression (found by freezing a node for 850 ms at deadtime 300 ms):
/// the peer came back while the takeover of its groups was still running,
/// nothing was given back and the VIP stayed on the wrong node for good.
#[test]
fn partition_return_during_the_takeover_gives_the_group_back() {
    let mut s = started(AutoFailback::On);
    s.jobs.clear();
    // www4 declares www3 dead and www3 is back before the takeover job ends
    let took = s.p[1].node_dead("www3", DeathCause::Timeout, 1);
    let back = s.p[1].partition_return("www3");
    assert!(
        !back.iter().any(|o| matches!(o, Output::Run(_))),
        "queued behind the takeover: {back:?}"
    );
    s.pump(1, took);
    s.pump(1, back);
    assert_eq!(s.held(1), ["10.0.0.101"]);
    assert_eq!(
        s.jobs,
        [
            "www4 acquire 10.0.0.100",
            "www4 release 10.0.0.100",
            "www4 refresh 10.0.0.101"
        ]
    );
}

/// Regression (a node frozen during the start-up exchange): www4 declared
/// www3 dead and took its VIP, www3 never declared www4 dead and settled
/// for "www4 holds my group"; www4 then gave the VIP back after the
/// partition and nobody held it.
#[test]
fn group_given_back_after_a_one_sided_partition_is_taken() {
    let mut s = Sim::new(AutoFailback::On);
    s.comm_up(0);
    s.comm_up(1);
    // www3 frozen: www4 takes everything
    s.alive = [false, true];
    let o = s.p[1].node_dead("www3", DeathCause::Timeout, 1);
    s.pump(1, o);
    assert_eq!(s.held(1).len(), 2);
    s.alive = [true, true];
    // www3 thaws and hears www4 (stable, holding all)
    let mut m = Message::new("resource");
    m.add("rsc_hold", "all")
        .add("rtype", "full")
        .add("isstable", "1")
        .add("src", "www4");
    let o = s.p[0].message(&m, 2);
    s.pump(0, o);
    assert!(s.held(0).is_empty());
    assert_eq!(s.p[0].state(), RState::Stable);
    // www4 sees www3 return after the partition and gives its group back
    s.jobs.clear();
    let o = s.p[1].partition_return("www3");
    s.pump(1, o);
    assert_eq!(s.held(1), ["10.0.0.101"]);
    assert_eq!(s.held(0), ["10.0.0.100"]);
    assert!(s
        .logs
        .contains(&"www3: Other node gave our resource groups back: acquiring them.".into()));
}

/// Regression: only www4 saw the partition; www3 keeps its group and must
/// announce it again once www4 has given it back.
#[test]
fn one_sided_partition_reannounces_our_groups() {
    let mut s = started(AutoFailback::Off);
    s.alive = [false, true];
    let o = s.p[1].node_dead("www3", DeathCause::Timeout, 1);
    s.pump(1, o);
    s.alive = [true, true];
    assert_eq!(s.held(1).len(), 2);
    s.jobs.clear();
    let o = s.p[1].partition_return("www3");
    s.pump(1, o);
    let o = s.p[0].late_return("www4");
    s.pump(0, o);
    assert_eq!(s.held(0), ["10.0.0.100"]);
    assert_eq!(s.held(1), ["10.0.0.101"]);
    assert_eq!(
        s.jobs,
        [
            "www4 release 10.0.0.100",
            "www4 refresh 10.0.0.101",
            "www3 refresh 10.0.0.100"
        ]
    );
    // a late heartbeat from a node we do not know, or while stopping:
    // nothing
    assert!(s.p[0].late_return("www9").is_empty());
}

#[test]
fn standby_request_without_reply_is_cancelled() {
    let mut s = started(AutoFailback::On);
    s.alive[1] = false; // messages to www4 are lost
    let outs = s.p[0].standby(Hold::ALL, s.now);
    s.pump(0, outs);
    s.tick(10_000);
    assert!(s
        .logs
        .contains(&"www3: No reply to standby request.  Standby request cancelled.".into()));
    assert_eq!(Hold::LOCAL.mirrored(), Hold::FOREIGN);
    assert_eq!(Hold::parse("failback"), Some(Hold::FOREIGN));
}

#[test]
fn hb_standby_with_auto_failback_on_is_not_undone() {
    let mut s = started(AutoFailback::On);
    let outs = s.p[0].standby(Hold::ALL, s.now);
    s.pump(0, outs);
    assert!(s.held(0).is_empty());
    assert_eq!(s.held(1), ["10.0.0.100", "10.0.0.101"]);
    s.tick(20_000);
    assert!(
        s.held(0).is_empty(),
        "resources stay after an operator's standby"
    );
}
