//! Who holds which resource group: heartbeat 3.0.6's resource protocol
//! (`starting`, `resource`, `ask_resources`, `ip-request`, `hb_takeover`,
//! `shutdone`) for `auto_failback on|off|legacy`, as a pure state machine.
//!
//! It never runs a script itself: it asks for one group job at a time
//! ([`Output::Run`]) and is told when the job is done ([`Planner::done`]),
//! the way the original serialises its ResourceManager children.

use crate::config::{AutoFailback, HaResources};
use crate::log::Level;
use crate::membership::DeathCause;
use crate::msg::Message;
use std::collections::{BTreeSet, VecDeque};

/// How long to wait for the other node in the start-up exchange (`RQSTDELAY`).
pub const RQST_DELAY_MS: u64 = 10_000;
/// How long a standby request waits for its reply.
pub const STANDBY_REPLY_MS: u64 = 10_000;

/// A set of groups relative to some node: its own (`local`), the others'
/// (`foreign`), both or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hold(pub u8);

impl Hold {
    pub const NONE: Hold = Hold(0);
    pub const LOCAL: Hold = Hold(1);
    pub const FOREIGN: Hold = Hold(2);
    pub const ALL: Hold = Hold(3);

    pub fn as_str(self) -> &'static str {
        match self.0 & 3 {
            0 => "none",
            1 => "local",
            2 => "foreign",
            _ => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Hold> {
        Some(match s {
            "none" => Hold::NONE,
            "local" => Hold::LOCAL,
            "foreign" | "failback" => Hold::FOREIGN,
            "all" => Hold::ALL,
            _ => return None,
        })
    }

    /// The same groups seen from the other node.
    pub fn mirrored(self) -> Hold {
        Hold(((self.0 & 1) << 1) | ((self.0 & 2) >> 1))
    }

    pub fn has(self, o: Hold) -> bool {
        self.0 & o.0 == o.0 && o.0 != 0
    }
}

/// A group job for the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `takegroup` each key, in order.
    Acquire(Vec<String>),
    /// `givegroup` each key, in order.
    Release(Vec<String>),
    /// Start again what we hold, so IP agents announce the address anew.
    Refresh(Vec<String>),
}

/// What the planner wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Send(Message),
    Log(Level, String),
    Run(Action),
    /// Shutdown finished: leave.
    Exit,
    /// A group could not be started: the original runs `hb_standby
    /// foreign` 30 s later.
    StandbyLater,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RState {
    Init,
    Starting,
    BothStarting,
    RscRcvd,
    Stable,
    Shutdown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Standby {
    None,
    /// We asked to go standby for `set` (relative to us).
    Me {
        set: Hold,
        since: u64,
        replied: bool,
    },
    /// The other node goes standby for `set` (relative to it).
    Other {
        set: Hold,
        since: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Then {
    Nothing,
    /// Groups given back after a partition: tell the peer what we hold.
    GaveBack,
    Stable(&'static str),
    MachDown(String),
    StandbyReleased(Hold),
    StandbyAcquired(Hold),
    LegacyReply {
        to: String,
        key: String,
    },
    ShutdownDone,
}

/// Result of a finished job: which keys are now held or released.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobResult {
    pub acquired: Vec<String>,
    pub released: Vec<String>,
    /// A start failed (the group was given up again).
    pub failed: bool,
}

#[derive(Debug)]
pub struct Planner {
    local: String,
    peer: Option<String>,
    mode: AutoFailback,
    res: HaResources,
    held: BTreeSet<String>,
    wanted: BTreeSet<String>,
    rstate: RState,
    other_holds: Hold,
    other_stable: bool,
    peer_alive: bool,
    peer_heard: bool,
    standby: Standby,
    busy: Option<Then>,
    queue: VecDeque<(Action, Then)>,
    rscrcvd_at: Option<u64>,
    initial_done: bool,
    shutting_down: bool,
    now: u64,
    /// The peer (re)started since we last gave groups back: auto_failback
    /// applies once per return, not after an operator's hb_standby.
    peer_returned: bool,
}

fn msg(t: &str, fields: &[(&str, &str)]) -> Message {
    let mut m = Message::new(t);
    for (k, v) in fields {
        m.add(k, v);
    }
    m
}

impl Planner {
    /// `nodes` in ha.cf order; the protocol pairs us with the first other node.
    pub fn new(local: &str, nodes: &[String], mode: AutoFailback, res: HaResources) -> Planner {
        Planner {
            local: local.to_string(),
            peer: nodes.iter().find(|n| *n != local).cloned(),
            mode,
            res,
            held: BTreeSet::new(),
            wanted: BTreeSet::new(),
            rstate: RState::Init,
            other_holds: Hold::NONE,
            other_stable: false,
            peer_alive: false,
            peer_heard: false,
            standby: Standby::None,
            busy: None,
            queue: VecDeque::new(),
            rscrcvd_at: None,
            initial_done: false,
            shutting_down: false,
            now: 0,
            peer_returned: false,
        }
    }

    pub fn state(&self) -> RState {
        self.rstate
    }

    /// Group keys we hold now.
    pub fn held(&self) -> impl Iterator<Item = &str> {
        self.held.iter().map(String::as_str)
    }

    /// What we hold, relative to us.
    pub fn hold(&self) -> Hold {
        let mut h = 0;
        for g in &self.res.groups {
            if self.held.contains(g.key()) {
                h |= if g.node == self.local { 1 } else { 2 };
            }
        }
        Hold(h)
    }

    /// `cl_status rscstatus`.
    pub fn rscstatus(&self) -> &'static str {
        if self.busy.is_some() || !matches!(self.rstate, RState::Stable) {
            "transition"
        } else {
            self.hold().as_str()
        }
    }

    pub fn is_busy(&self) -> bool {
        self.busy.is_some()
    }

    fn own_keys(&self) -> Vec<String> {
        self.res.keys_of(&self.local).map(str::to_string).collect()
    }

    fn keys_for(&self, set: Hold) -> Vec<String> {
        self.res
            .groups
            .iter()
            .filter(|g| {
                let mine = g.node == self.local;
                (mine && set.has(Hold::LOCAL)) || (!mine && set.has(Hold::FOREIGN))
            })
            .map(|g| g.key().to_string())
            .collect()
    }

    fn run(&mut self, action: Action, then: Then, out: &mut Vec<Output>) {
        if let Action::Acquire(keys) = &action {
            self.wanted.extend(keys.iter().cloned());
        }
        if self.busy.is_some() {
            self.queue.push_back((action, then));
        } else {
            self.busy = Some(then);
            out.push(Output::Run(action));
        }
    }

    fn resource_report(&self, stable: bool, info: Option<&str>) -> Message {
        let mut m = msg(
            "resource",
            &[
                ("rsc_hold", self.hold().as_str()),
                ("rtype", "full"),
                ("isstable", if stable { "1" } else { "0" }),
            ],
        );
        if let Some(i) = info {
            m.add("info", i);
        }
        m
    }

    /// Our groups not held and not already on their way.
    fn missing_own(&self) -> Vec<String> {
        self.own_keys()
            .into_iter()
            .filter(|k| !self.held.contains(k) && !self.wanted.contains(k))
            .collect()
    }

    fn become_stable(&mut self, reason: &'static str, out: &mut Vec<Output>) {
        self.rstate = RState::Stable;
        self.rscrcvd_at = None;
        out.push(Output::Send(self.resource_report(true, None)));
        if !self.initial_done {
            self.initial_done = true;
            out.push(Output::Log(
                Level::Info,
                format!("Initial resource acquisition complete ({reason})"),
            ));
        }
        self.maybe_auto_failback(out);
    }

    fn req_our_resources(&mut self, reason: &'static str, out: &mut Vec<Output>) {
        let keys = self.missing_own();
        if keys.is_empty() {
            out.push(Output::Log(
                Level::Info,
                "Local Resource acquisition completed. (none)".into(),
            ));
            self.become_stable(reason, out);
        } else {
            self.run(Action::Acquire(keys), Then::Stable(reason), out);
        }
    }

    /// Communication is up (`comm_now_up`).
    pub fn comm_up(&mut self, peer_alive: bool, _now: u64) -> Vec<Output> {
        self.now = self.now.max(_now);
        let mut out = Vec::new();
        self.peer_alive = peer_alive;
        if !peer_alive {
            // Alone: take our own groups without asking (HA_DONTASK).
            self.req_our_resources("req_our_resources()", &mut out);
            return out;
        }
        match self.mode {
            AutoFailback::Legacy => {
                self.rstate = RState::Stable;
                for key in self.missing_own() {
                    out.push(Output::Send(msg("ip-request", &[("ipaddr", &key)])));
                }
            }
            _ => {
                self.rstate = RState::Starting;
                out.push(Output::Send(Message::new("starting")));
            }
        }
        out
    }

    /// A peer's status changed.
    pub fn node_alive(&mut self, node: &str) {
        if Some(node) == self.peer.as_deref() {
            self.peer_alive = true;
            self.peer_heard = true;
        }
    }

    /// A peer died: take over its groups (and ours, if not held).
    pub fn node_dead(&mut self, node: &str, cause: DeathCause, _now: u64) -> Vec<Output> {
        self.now = self.now.max(_now);
        let mut out = Vec::new();
        if self.shutting_down {
            return out;
        }
        let was_holding = self.other_holds;
        if Some(node) == self.peer.as_deref() {
            self.peer_alive = false;
            self.other_holds = Hold::NONE;
            self.other_stable = false;
            if !matches!(self.standby, Standby::None) {
                self.standby = Standby::None;
            }
        }
        let nice = self.mode != AutoFailback::Legacy;
        let needs_stonith = cause == DeathCause::Timeout
            && (!self.peer_heard || !nice || was_holding != Hold::NONE);
        if needs_stonith {
            out.push(Output::Log(
                Level::Warn,
                "No STONITH device configured.".into(),
            ));
            out.push(Output::Log(
                Level::Warn,
                "Shared disks are not protected.".into(),
            ));
        } else {
            out.push(Output::Log(
                Level::Info,
                format!("Dead node {node} gave up resources."),
            ));
        }
        out.push(Output::Log(
            Level::Info,
            format!("Resources being acquired from {node}."),
        ));
        let mut keys: Vec<String> = Vec::new();
        for k in self.res.keys_of(node) {
            if !self.held.contains(k) && !self.wanted.contains(k) {
                out.push(Output::Log(
                    Level::Info,
                    format!("Taking over resource group {k}"),
                ));
                keys.push(k.to_string());
            }
        }
        keys.extend(self.missing_own());
        self.run(
            Action::Acquire(keys),
            Then::MachDown(node.to_string()),
            &mut out,
        );
        out
    }

    /// A resource-protocol message from a peer (already for us).
    pub fn message(&mut self, m: &Message, now: u64) -> Vec<Output> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        let Some(src) = m.get("src").map(str::to_string) else {
            return out;
        };
        if src == self.local || self.shutting_down {
            return out;
        }
        let t = m.t().unwrap_or("").to_string();
        match t.as_str() {
            "starting" => {
                self.peer_alive = true;
                // Only groups we hold for it when it comes back go home.
                self.peer_returned = self.hold().has(Hold::FOREIGN);
                out.push(Output::Send(
                    self.resource_report(self.rstate == RState::Stable, None),
                ));
                if self.rstate == RState::Starting {
                    self.rstate = RState::BothStarting;
                    self.req_our_resources("both starting", &mut out);
                }
            }
            "resource" => self.on_resource(m, now, &mut out),
            "ask_resources" => self.on_ask(&src, m, now, &mut out),
            "hb_takeover" => {
                if let Some(set) = m.get("rsc_hold") {
                    // all→all, local↔foreign; `failback` is not mapped by
                    // the original's script, so it means `all` here too.
                    let mine = match set {
                        "all" | "failback" => Hold::ALL,
                        other => match Hold::parse(other) {
                            Some(h) => h.mirrored(),
                            None => return out,
                        },
                    };
                    out.extend(self.standby(mine, now));
                }
            }
            "ip-request" => {
                let Some(key) = m.get("ipaddr").map(str::to_string) else {
                    return out;
                };
                if self.held.contains(&key) {
                    self.run(
                        Action::Release(vec![key.clone()]),
                        Then::LegacyReply { to: src, key },
                        &mut out,
                    );
                } else {
                    out.push(Output::Send(msg(
                        "ip-request-resp",
                        &[
                            ("dest", &src),
                            ("ipaddr", &key),
                            ("weown", "no"),
                            ("ok", "OK"),
                        ],
                    )));
                }
            }
            "ip-request-resp" => {
                let (Some(key), Some(ok)) = (m.get("ipaddr"), m.get("ok")) else {
                    return out;
                };
                let weown = m.get("weown").unwrap_or("no");
                out.push(Output::Log(
                    Level::Info,
                    format!("received ip-request-resp {key} {ok} {weown}"),
                ));
                if ok == "OK" && !self.held.contains(key) {
                    let key = key.to_string();
                    self.run(Action::Acquire(vec![key]), Then::Nothing, &mut out);
                }
            }
            _ => {}
        }
        out
    }

    fn on_resource(&mut self, m: &Message, now: u64, out: &mut Vec<Output>) {
        let Some(h) = m.get("rsc_hold").and_then(Hold::parse) else {
            return;
        };
        self.peer_alive = true;
        let held_ours = self.other_holds.has(Hold::FOREIGN);
        self.other_holds = if m.get("rtype") == Some("full") || h == Hold::NONE {
            h
        } else {
            Hold(self.other_holds.0 | h.0)
        };
        let was_stable = self.other_stable;
        self.other_stable = m.get("isstable") == Some("1");
        if m.get("info") == Some("shutdown") {
            return;
        }
        if self.other_stable {
            out.push(Output::Log(
                Level::Info,
                "remote resource transition completed.".into(),
            ));
        }
        match self.rstate {
            RState::Starting | RState::RscRcvd => {
                if self.other_stable {
                    if self.other_holds.has(Hold::FOREIGN) {
                        // It holds our groups: auto_failback on brings them
                        // back through standby, off leaves them there.
                        out.push(Output::Log(
                            Level::Info,
                            "Local Resource acquisition completed. (none)".into(),
                        ));
                        self.become_stable("req_our_resources()", out);
                    } else {
                        self.req_our_resources("req_our_resources()", out);
                    }
                } else if self.rstate == RState::Starting {
                    self.rstate = RState::RscRcvd;
                    self.rscrcvd_at = Some(now);
                }
            }
            RState::Stable if self.other_stable && !was_stable => self.maybe_auto_failback(out),
            _ => {}
        }
        // The peer, stable, no longer holds our groups it held: it gave
        // them back after a partition only it saw (we settled for "the
        // other node holds them" meanwhile). Nobody holds them now: take
        // them. (Standby hand-overs end with us holding them already.)
        if held_ours
            && self.other_stable
            && !self.other_holds.has(Hold::FOREIGN)
            && self.rstate == RState::Stable
            && self.standby == Standby::None
            && self.mode != AutoFailback::Legacy
        {
            let missing = self.missing_own();
            if !missing.is_empty() {
                out.push(Output::Log(
                    Level::Info,
                    "Other node gave our resource groups back: acquiring them.".into(),
                ));
                self.run(Action::Acquire(missing), Then::Nothing, out);
            }
        }
    }

    /// auto_failback on: give the peer its groups back once it is stable.
    fn maybe_auto_failback(&mut self, out: &mut Vec<Output>) {
        if self.mode == AutoFailback::On
            && self.rstate == RState::Stable
            && self.peer_alive
            && self.other_stable
            && self.hold().has(Hold::FOREIGN)
            && self.standby == Standby::None
            && self.busy.is_none()
            && self.peer_returned
        {
            self.peer_returned = false;
            self.begin_standby(Hold::FOREIGN, self.now, out);
        }
    }

    fn begin_standby(&mut self, set: Hold, now: u64, out: &mut Vec<Output>) {
        out.push(Output::Log(
            Level::Info,
            format!("{} wants to go standby [{}]", self.local, set.as_str()),
        ));
        self.standby = Standby::Me {
            set,
            since: now,
            replied: false,
        };
        out.push(Output::Send(msg(
            "ask_resources",
            &[("rsc_hold", set.as_str()), ("info", "me")],
        )));
    }

    fn on_ask(&mut self, src: &str, m: &Message, now: u64, out: &mut Vec<Output>) {
        let (Some(set), Some(info)) = (m.get("rsc_hold").and_then(Hold::parse), m.get("info"))
        else {
            return;
        };
        match info {
            "me" => {
                out.push(Output::Log(
                    Level::Info,
                    format!("{src} wants to go standby [{}]", set.as_str()),
                ));
                if self.mode == AutoFailback::Legacy {
                    out.push(Output::Log(
                        Level::Error,
                        "Standby mode only implemented when nice_failback on".into(),
                    ));
                    return;
                }
                if self.rstate != RState::Stable || self.busy.is_some() {
                    out.push(Output::Log(
                        Level::Info,
                        format!("standby message [me] from {src} ignored.  Other side is in flux."),
                    ));
                    return;
                }
                if let Standby::Me { since, .. } | Standby::Other { since, .. } = self.standby {
                    let left = (STANDBY_REPLY_MS.saturating_sub(now.saturating_sub(since))) / 1000;
                    out.push(Output::Log(
                        Level::Info,
                        format!("Standby in progress- new request from {src} ignored [{left} seconds left]"),
                    ));
                    return;
                }
                self.standby = Standby::Other { set, since: now };
                out.push(Output::Send(msg(
                    "ask_resources",
                    &[("rsc_hold", set.as_str()), ("info", "other")],
                )));
            }
            "other" => {
                if let Standby::Me {
                    set: mine, since, ..
                } = self.standby
                {
                    out.push(Output::Log(
                        Level::Info,
                        format!("standby: {src} can take our {} resources", mine.as_str()),
                    ));
                    self.standby = Standby::Me {
                        set: mine,
                        since,
                        replied: true,
                    };
                    let keys: Vec<String> = self
                        .keys_for(mine)
                        .into_iter()
                        .filter(|k| self.held.contains(k))
                        .collect();
                    let keep = Hold(self.hold().0 & !mine.0);
                    let mut rep = msg(
                        "resource",
                        &[
                            ("rsc_hold", keep.as_str()),
                            ("rtype", "full"),
                            ("isstable", "0"),
                        ],
                    );
                    rep.add("info", "standby");
                    out.push(Output::Send(rep));
                    out.push(Output::Log(
                        Level::Info,
                        format!("give up {} HA resources (standby).", mine.as_str()),
                    ));
                    self.run(Action::Release(keys), Then::StandbyReleased(mine), out);
                }
            }
            "done" => match self.standby.clone() {
                Standby::Other { set: theirs, .. } => {
                    let keys: Vec<String> = self
                        .keys_for(theirs.mirrored())
                        .into_iter()
                        .filter(|k| !self.held.contains(k))
                        .collect();
                    self.run(Action::Acquire(keys), Then::StandbyAcquired(theirs), out);
                }
                Standby::Me { set: mine, .. } => {
                    out.push(Output::Log(
                        Level::Info,
                        format!(
                            "Other node completed standby takeover of {} resources.",
                            mine.as_str()
                        ),
                    ));
                    self.standby = Standby::None;
                    out.push(Output::Send(self.resource_report(true, None)));
                }
                Standby::None => {}
            },
            _ => {}
        }
    }

    /// `hb_standby [set]` on this node.
    pub fn standby(&mut self, set: Hold, now: u64) -> Vec<Output> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        if self.mode == AutoFailback::Legacy {
            out.push(Output::Log(
                Level::Error,
                "Standby mode only implemented when nice_failback on".into(),
            ));
            return out;
        }
        if let Standby::Me { since, .. } | Standby::Other { since, .. } = self.standby {
            let left = (STANDBY_REPLY_MS.saturating_sub(now.saturating_sub(since))) / 1000;
            out.push(Output::Log(
                Level::Info,
                format!(
                    "Standby in progress- new request from {} ignored [{left} seconds left]",
                    self.local
                ),
            ));
            return out;
        }
        if !self.peer_alive {
            out.push(Output::Log(
                Level::Info,
                format!(
                    "No other node is up to take our {} resources: standby ignored.",
                    set.as_str()
                ),
            ));
            return out;
        }
        self.begin_standby(set, now, &mut out);
        out
    }

    /// `hb_takeover [set]` on this node: the other node goes standby.
    pub fn takeover(&mut self, set: &str) -> Vec<Output> {
        vec![Output::Send(msg("hb_takeover", &[("rsc_hold", set)]))]
    }

    /// A dead peer came back with the same generation: keep only our own
    /// groups and announce them again, so one node owns each group.
    pub fn partition_return(&mut self, node: &str) -> Vec<Output> {
        let mut out = Vec::new();
        // Including groups whose takeover is still queued or running (the
        // peer came back right after we declared it dead): the release is
        // queued behind the takeover.
        let theirs: Vec<String> = self
            .res
            .keys_of(node)
            .filter(|k| self.held.contains(*k) || self.wanted.contains(*k))
            .map(str::to_string)
            .collect();
        let ours: Vec<String> = self
            .own_keys()
            .into_iter()
            .filter(|k| self.held.contains(k))
            .collect();
        out.push(Output::Log(
            Level::Info,
            format!("Giving {node}'s resource groups back after the partition."),
        ));
        self.peer_alive = true;
        if !theirs.is_empty() {
            self.run(Action::Release(theirs), Then::GaveBack, &mut out);
        }
        if !ours.is_empty() {
            self.run(Action::Refresh(ours), Then::Nothing, &mut out);
        }
        let missing = self.missing_own();
        if !missing.is_empty() {
            self.run(Action::Acquire(missing), Then::Nothing, &mut out);
        }
        out
    }

    /// The peer's heartbeat came back after a gap longer than our dead
    /// time, but we never declared it dead: it has probably taken our groups
    /// over and will give them back on seeing us ([`Self::partition_return`]
    /// on its side). Announce our own groups again (IPaddr's gratuitous
    /// ARP) so that clients follow us and not the node giving them up.
    pub fn late_return(&mut self, node: &str) -> Vec<Output> {
        let mut out = Vec::new();
        if self.shutting_down || Some(node) != self.peer.as_deref() {
            return out;
        }
        let ours: Vec<String> = self
            .own_keys()
            .into_iter()
            .filter(|k| self.held.contains(k))
            .collect();
        if !ours.is_empty() {
            out.push(Output::Log(
                Level::Info,
                format!("{node} may have taken our resource groups: announcing them again."),
            ));
            self.run(Action::Refresh(ours), Then::Nothing, &mut out);
        }
        out
    }

    /// Clean stop: report none, release everything, then `shutdone`.
    pub fn shutdown(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if self.shutting_down {
            return out;
        }
        self.shutting_down = true;
        self.standby = Standby::None;
        self.queue.clear();
        self.rstate = RState::Shutdown;
        let mut m = msg(
            "resource",
            &[("rsc_hold", "none"), ("rtype", "full"), ("isstable", "0")],
        );
        m.add("info", "shutdown");
        out.push(Output::Send(m));
        out.push(Output::Log(
            Level::Info,
            "Giving up all HA resources.".into(),
        ));
        // Every group, file order: a group half-started stops too.
        let keys: Vec<String> = self
            .res
            .groups
            .iter()
            .map(|g| g.key().to_string())
            .filter(|k| self.held.contains(k) || self.wanted.contains(k))
            .collect();
        if self.busy.is_some() {
            out.push(Output::Log(
                Level::Warn,
                "Shutdown delayed until current resource activity finishes.".into(),
            ));
            self.queue
                .push_back((Action::Release(keys), Then::ShutdownDone));
        } else {
            self.run(Action::Release(keys), Then::ShutdownDone, &mut out);
        }
        out
    }

    /// The running job finished.
    pub fn done(&mut self, r: JobResult, now: u64) -> Vec<Output> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        for k in &r.acquired {
            self.wanted.remove(k);
            self.held.insert(k.clone());
        }
        for k in &r.released {
            self.wanted.remove(k);
            self.held.remove(k);
        }
        if r.failed {
            out.push(Output::StandbyLater);
        }
        let then = self.busy.take().unwrap_or(Then::Nothing);
        match then {
            Then::Nothing => {}
            Then::GaveBack => {
                let stable = self.rstate == RState::Stable;
                out.push(Output::Send(self.resource_report(stable, None)));
            }
            Then::Stable(reason) => self.become_stable(reason, &mut out),
            Then::MachDown(node) => {
                if self.mode != AutoFailback::Legacy {
                    let mut m = msg("resource", &[("rsc_hold", "foreign")]);
                    m.add("info", "mach_down");
                    out.push(Output::Send(m));
                }
                out.push(Output::Log(
                    Level::Info,
                    format!("mach_down takeover complete for node {node}."),
                ));
                out.push(Output::Log(
                    Level::Info,
                    "mach_down takeover complete.".into(),
                ));
                if self.rstate != RState::Stable {
                    self.become_stable("mach_down", &mut out);
                } else if !self.initial_done {
                    self.initial_done = true;
                    out.push(Output::Log(
                        Level::Info,
                        "Initial resource acquisition complete (mach_down)".into(),
                    ));
                }
            }
            Then::StandbyReleased(set) => {
                out.push(Output::Log(
                    Level::Info,
                    format!("{} HA resource release completed (standby).", set.as_str()),
                ));
                out.push(Output::Send(msg(
                    "ask_resources",
                    &[("rsc_hold", set.as_str()), ("info", "done")],
                )));
                out.push(Output::Log(
                    Level::Info,
                    format!("Local standby process completed [{}].", set.as_str()),
                ));
            }
            Then::StandbyAcquired(set) => {
                self.standby = Standby::None;
                out.push(Output::Send(msg(
                    "ask_resources",
                    &[("rsc_hold", set.as_str()), ("info", "done")],
                )));
                out.push(Output::Send(self.resource_report(true, None)));
            }
            Then::LegacyReply { to, key } => {
                out.push(Output::Send(msg(
                    "ip-request-resp",
                    &[
                        ("dest", &to),
                        ("ipaddr", &key),
                        ("weown", "yes"),
                        ("ok", "OK"),
                    ],
                )));
            }
            Then::ShutdownDone => {
                out.push(Output::Log(
                    Level::Info,
                    "All HA resources relinquished.".into(),
                ));
                out.push(Output::Send(msg("shutdone", &[("st", "dead")])));
                out.push(Output::Exit);
                return out;
            }
        }
        if let Some((action, then)) = self.queue.pop_front() {
            self.busy = Some(then);
            out.push(Output::Run(action));
        }
        out
    }

    /// Timers: the 10 s start-up wait, standby replies.
    pub fn tick(&mut self, now: u64) -> Vec<Output> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        if let Some(at) = self.rscrcvd_at {
            if self.rstate == RState::RscRcvd && now >= at + RQST_DELAY_MS {
                self.rscrcvd_at = None;
                out.push(Output::Log(
                    Level::Info,
                    "local resource transition completed.".into(),
                ));
                self.req_our_resources("req_our_resources()", &mut out);
            }
        }
        if let Standby::Me {
            since,
            replied: false,
            ..
        } = self.standby
        {
            if now >= since + STANDBY_REPLY_MS {
                self.standby = Standby::None;
                out.push(Output::Log(
                    Level::Warn,
                    "No reply to standby request.  Standby request cancelled.".into(),
                ));
            }
        }
        out
    }
}
