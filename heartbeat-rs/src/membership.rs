//! Membership: heartbeats, node and link status, sequence tracking,
//! retransmission and the start-up handshake, as heartbeat 3.0.6 runs them.
//!
//! Pure: time comes in as arguments (monotonic milliseconds for timers,
//! wall-clock seconds for the `ts` field), randomness from a seed, and
//! everything the machine wants done comes out as [`Event`]s. Messages
//! handed in must already have passed authentication.

use crate::log::Level;
use crate::msg::Message;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Messages kept for retransmission (`MAXMSGHIST`).
pub const HISTORY: usize = 500;
/// A gap larger than this resets sequence tracking.
pub const MAX_MISSING: u64 = 250;
/// Retransmissions answered per request.
pub const MAX_REXMIT_BATCH: u64 = 50;
/// ACK one message in this many (`ACK_MSG_DIV`).
pub const ACK_DIV: u64 = 10;
/// For this long after start-up we advertise `deadtime + START_DT_BONUS`.
pub const START_DT_WINDOW_MS: u64 = 5000;
pub const START_DT_BONUS_MS: u64 = 2000;
/// reqnodes is repeated this often until repnodes arrives.
pub const REQNODES_RETRY_MS: u64 = 1000;

/// A node's status as heartbeat names it on the wire and in cl_status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeStatus {
    Init,
    Up,
    Active,
    Dead,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Init => "init",
            NodeStatus::Up => "up",
            NodeStatus::Active => "active",
            NodeStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<NodeStatus> {
        Some(match s {
            "init" => NodeStatus::Init,
            "up" => NodeStatus::Up,
            "active" => NodeStatus::Active,
            "dead" => NodeStatus::Dead,
            _ => return None,
        })
    }
}

/// Why a node was declared dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeathCause {
    /// No status within its dead time.
    Timeout,
    /// It said goodbye (`t=shutdone`).
    Shutdown,
}

/// What the machine asks its owner to do or know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Transmit on every medium (already stamped with seq/hg/ts...).
    Send(Message),
    Log(Level, String),
    /// A peer's status changed (`Status update for node X: status Y`),
    /// including death.
    NodeStatus {
        node: String,
        status: NodeStatus,
        cause: Option<DeathCause>,
    },
    LinkStatus {
        node: String,
        medium: String,
        up: bool,
    },
    /// Every node heard from or declared dead, handshake done: time for
    /// the resource logic (`comm_now_up`).
    CommUp,
    /// The node restarted (new generation).
    NodeRestarted(String),
    /// A node we declared dead is heartbeating again with the same
    /// generation: a healed partition.
    PartitionReturn(String),
    /// A live node's heartbeat came back after a gap longer than the dead
    /// time we advertise: it has probably declared us dead and taken our
    /// groups, while we never declared it dead (a one-sided partition).
    LateReturn(String),
    /// Any other message for the upper layers (resources, rc.d scripts).
    Deliver(Message),
}

/// Timing and identity.
#[derive(Clone, Debug)]
pub struct Settings {
    pub local: String,
    /// All normal nodes including the local one, lower-case, ha.cf order.
    pub nodes: Vec<String>,
    /// Media (link) names in ha.cf order.
    pub media: Vec<String>,
    pub keepalive_ms: u64,
    pub deadtime_ms: u64,
    pub warntime_ms: u64,
    pub initdead_ms: u64,
    pub max_rexmit_delay_ms: u64,
    pub generation: u64,
    /// `hopfudge + nodecount`.
    pub ttl: u32,
    /// Our uuid (`srcuuid`), if any.
    pub uuid: Option<[u8; 16]>,
    /// Advertise `deadtime+2s` during the first 5 s, as 3.0.6 does.
    pub start_bonus: bool,
    /// How often status goes out. 3.0.6 sends every keepalive; sending more
    /// often (see [`status_interval`]) makes a lossy link far less likely
    /// to lose every status within a dead time.
    pub status_interval_ms: u64,
}

/// Our status rate: at least ten chances per dead time, never slower
/// than keepalive, never faster than every 20 ms.
pub fn status_interval(keepalive_ms: u64, deadtime_ms: u64) -> u64 {
    keepalive_ms.min((deadtime_ms / 10).max(20)).max(1)
}

#[derive(Clone, Debug)]
struct Link {
    last: Option<u64>,
    up: bool,
}

#[derive(Clone, Debug)]
struct Node {
    name: String,
    status: NodeStatus,
    heard: bool,
    last_status_at: Option<u64>,
    /// Dead time this node asked for (`dt`), else ours.
    dead_ms: u64,
    generation: u64,
    last_seq: Option<u64>,
    /// Highest seq of a status message (partition-return check).
    last_status_seq: u64,
    /// The generation the node had when we declared it dead: only that
    /// generation heartbeating again is a healed partition; a newer one
    /// is a restart, whatever message type announced it first.
    dead_generation: u64,
    missing: BTreeSet<u64>,
    rexmit_at: BTreeMap<u64, u64>,
    /// The peer announced `protocol` (3.x): ACKs and reqnodes apply.
    protocol: Option<bool>,
    ack_trigger: u64,
    ackseq: u64,
    links: Vec<Link>,
}

/// The membership machine.
#[derive(Debug)]
pub struct Membership {
    s: Settings,
    nodes: Vec<Node>,
    local_status: NodeStatus,
    started_at: u64,
    next_status_at: u64,
    linksup: bool,
    comm_up: bool,
    reqnodes_at: Option<u64>,
    reqnodes_turn: usize,
    seq: u64,
    history: VecDeque<(u64, Message, Option<u64>)>,
    rng: u64,
    wall: u64,
    load: String,
    flow_control_logged: bool,
    local_links_logged: bool,
}

fn hex(v: u64) -> String {
    format!("{v:x}")
}

impl Membership {
    pub fn new(s: Settings, now: u64, seed: u64) -> Membership {
        let mut rng = seed | 1;
        let nodes = s
            .nodes
            .iter()
            .map(|n| Node {
                name: n.clone(),
                status: NodeStatus::Init,
                heard: false,
                last_status_at: None,
                dead_ms: s.deadtime_ms,
                generation: 0,
                last_seq: None,
                last_status_seq: 0,
                dead_generation: 0,
                missing: BTreeSet::new(),
                rexmit_at: BTreeMap::new(),
                protocol: None,
                ack_trigger: xorshift(&mut rng) % ACK_DIV,
                ackseq: 0,
                links: s
                    .media
                    .iter()
                    .map(|_| Link {
                        last: None,
                        up: false,
                    })
                    .collect(),
            })
            .collect();
        Membership {
            s,
            nodes,
            local_status: NodeStatus::Init,
            started_at: now,
            next_status_at: now,
            linksup: false,
            comm_up: false,
            reqnodes_at: None,
            reqnodes_turn: 0,
            seq: 0,
            history: VecDeque::new(),
            rng,
            wall: 0,
            load: "n/a".into(),
            flow_control_logged: false,
            local_links_logged: false,
        }
    }

    /// Wall clock (seconds) for the `ts` field of what we send next.
    pub fn set_wall(&mut self, secs: u64) {
        self.wall = secs;
    }

    /// `/proc/loadavg` text for the `ld` field.
    pub fn set_load(&mut self, load: &str) {
        self.load = load.trim_end().to_string();
    }

    pub fn settings(&self) -> &Settings {
        &self.s
    }

    pub fn local_status(&self) -> NodeStatus {
        self.local_status
    }

    pub fn comm_is_up(&self) -> bool {
        self.comm_up
    }

    /// Status of a node (the local one included).
    pub fn node_status(&self, name: &str) -> Option<NodeStatus> {
        if name == self.s.local {
            return Some(self.local_status);
        }
        self.node(name).map(|n| n.status)
    }

    /// Link status of a peer on a medium; the local node's links are up.
    pub fn link_up(&self, node: &str, medium: &str) -> Option<bool> {
        let m = self.s.media.iter().position(|x| x == medium)?;
        if node == self.s.local {
            return Some(true);
        }
        self.node(node).map(|n| n.links[m].up)
    }

    /// Peers, with their status, in ha.cf order.
    pub fn peers(&self) -> impl Iterator<Item = (&str, NodeStatus)> {
        self.nodes
            .iter()
            .filter(|n| n.name != self.s.local)
            .map(|n| (n.name.as_str(), n.status))
    }

    fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    fn is_peer(&self, i: usize) -> bool {
        self.nodes[i].name != self.s.local
    }

    fn advertised_dt(&self, now: u64) -> u64 {
        if self.s.start_bonus && now.saturating_sub(self.started_at) < START_DT_WINDOW_MS {
            self.s.deadtime_ms + START_DT_BONUS_MS
        } else {
            self.s.deadtime_ms
        }
    }

    /// Adds the header fields (src, seq, hg, ts, ld, ttl) and keeps the
    /// message for retransmission. Use for everything we send.
    pub fn stamp(&mut self, mut msg: Message, now: u64) -> Message {
        let ns = msg.t().is_some_and(|t| t.starts_with("NS_"));
        msg.remove("src");
        msg.remove("seq");
        msg.add("src", &self.s.local);
        if let Some(u) = self.s.uuid {
            msg.add_bin("srcuuid", &u);
        }
        if !ns {
            self.seq += 1;
            msg.add("seq", &hex(self.seq));
        }
        msg.add("hg", &hex(self.s.generation));
        msg.add("ts", &hex(self.wall.max(1)));
        if !ns {
            msg.add("ld", &self.load);
        }
        msg.add("ttl", &self.s.ttl.to_string());
        if !ns {
            self.history.push_back((self.seq, msg.clone(), None));
            while self.history.len() > HISTORY {
                self.history.pop_front();
            }
        }
        let _ = now;
        msg
    }

    fn send(&mut self, out: &mut Vec<Event>, msg: Message, now: u64) {
        let m = self.stamp(msg, now);
        out.push(Event::Send(m));
    }

    fn status_msg(&self, now: u64) -> Message {
        let mut m = Message::new("status");
        m.add("st", self.local_status.as_str());
        m.add("dt", &hex(self.advertised_dt(now)));
        m.add("protocol", "1");
        m
    }

    fn set_local_status(&mut self, st: NodeStatus, now: u64, out: &mut Vec<Event>) {
        if self.local_status == st {
            return;
        }
        self.local_status = st;
        out.push(Event::Log(
            Level::Info,
            format!("Local status now set to: '{}'", st.as_str()),
        ));
        // A status change goes out at once, not at the next keepalive.
        let m = self.status_msg(now);
        self.send(out, m, now);
        self.next_status_at = now + self.s.status_interval_ms;
    }

    /// Timers: heartbeats, dead nodes and links, retransmission requests,
    /// the start-up handshake. Call at least at [`Self::next_deadline`].
    pub fn tick(&mut self, now: u64) -> Vec<Event> {
        let mut out = Vec::new();
        if now >= self.next_status_at {
            let m = self.status_msg(now);
            self.send(&mut out, m, now);
            self.next_status_at = now + self.s.status_interval_ms;
            if self.local_status == NodeStatus::Init {
                self.set_local_status(NodeStatus::Up, now, &mut out);
            }
            if !self.local_links_logged {
                self.local_links_logged = true;
                for m in self.s.media.clone() {
                    out.push(Event::Log(
                        Level::Info,
                        format!("Link {}:{} up.", self.s.local, m),
                    ));
                }
            }
        }
        self.check_dead(now, &mut out);
        self.check_links(now, &mut out);
        self.check_rexmit(now, &mut out);
        self.check_linksup(now, &mut out);
        out
    }

    fn node_deadline(&self, n: &Node) -> u64 {
        let since = n.last_status_at.unwrap_or(self.started_at);
        let dead = if self.linksup {
            n.dead_ms
        } else {
            self.s.initdead_ms.max(n.dead_ms)
        };
        since + dead
    }

    fn check_dead(&mut self, now: u64, out: &mut Vec<Event>) {
        for i in 0..self.nodes.len() {
            if !self.is_peer(i) || self.nodes[i].status == NodeStatus::Dead {
                continue;
            }
            if now > self.node_deadline(&self.nodes[i]) {
                self.mark_dead(i, DeathCause::Timeout, out);
            }
        }
    }

    fn mark_dead(&mut self, i: usize, cause: DeathCause, out: &mut Vec<Event>) {
        let n = &mut self.nodes[i];
        n.status = NodeStatus::Dead;
        n.dead_generation = n.generation;
        n.missing.clear();
        n.rexmit_at.clear();
        let name = n.name.clone();
        if cause == DeathCause::Timeout {
            out.push(Event::Log(Level::Warn, format!("node {name}: is dead")));
        }
        out.push(Event::NodeStatus {
            node: name,
            status: NodeStatus::Dead,
            cause: Some(cause),
        });
    }

    fn check_links(&mut self, now: u64, out: &mut Vec<Event>) {
        for i in 0..self.nodes.len() {
            if !self.is_peer(i) {
                continue;
            }
            let dead_ms = if self.linksup {
                self.nodes[i].dead_ms
            } else {
                self.s.initdead_ms.max(self.nodes[i].dead_ms)
            };
            for m in 0..self.s.media.len() {
                let l = &mut self.nodes[i].links[m];
                if l.up && l.last.is_some_and(|t| now > t + dead_ms) {
                    l.up = false;
                    let (node, medium) = (self.nodes[i].name.clone(), self.s.media[m].clone());
                    out.push(Event::Log(
                        Level::Info,
                        format!("Link {node}:{medium} dead."),
                    ));
                    out.push(Event::LinkStatus {
                        node,
                        medium,
                        up: false,
                    });
                }
            }
        }
    }

    fn check_rexmit(&mut self, now: u64, out: &mut Vec<Event>) {
        for i in 0..self.nodes.len() {
            if !matches!(self.nodes[i].status, NodeStatus::Up | NodeStatus::Active) {
                continue;
            }
            let due: Vec<u64> = self.nodes[i]
                .rexmit_at
                .iter()
                .filter(|(_, &at)| at <= now)
                .map(|(&s, _)| s)
                .collect();
            if due.is_empty() {
                continue;
            }
            // Contiguous runs become one request.
            let mut runs: Vec<(u64, u64)> = Vec::new();
            for s in &due {
                match runs.last_mut() {
                    Some((_, hi)) if *hi + 1 == *s => *hi = *s,
                    _ => runs.push((*s, *s)),
                }
            }
            let again = now + self.s.max_rexmit_delay_ms;
            for s in &due {
                self.nodes[i].rexmit_at.insert(*s, again);
            }
            let dest = self.nodes[i].name.clone();
            for (lo, hi) in runs {
                let mut m = Message::new("NS_rexmit");
                m.add("dest", &dest);
                m.add("firstseq", &lo.to_string());
                m.add("lastseq", &hi.to_string());
                self.send(out, m, now);
            }
        }
    }

    fn check_linksup(&mut self, now: u64, out: &mut Vec<Event>) {
        if self.comm_up {
            return;
        }
        if !self.linksup {
            let all = self
                .nodes
                .iter()
                .filter(|n| n.name != self.s.local)
                .all(|n| n.heard || n.status == NodeStatus::Dead);
            if !all {
                return;
            }
            self.linksup = true;
        }
        let live: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.name != self.s.local && n.status != NodeStatus::Dead)
            .map(|n| n.name.clone())
            .collect();
        let flow_control = self
            .nodes
            .iter()
            .filter(|n| n.name != self.s.local && n.status != NodeStatus::Dead)
            .all(|n| n.protocol != Some(false));
        if live.is_empty() || !flow_control {
            self.comm_now_up(now, out);
            return;
        }
        if self.reqnodes_at.is_none_or(|t| now >= t) {
            let dest = live[self.reqnodes_turn % live.len()].clone();
            self.reqnodes_turn += 1;
            let mut m = Message::new("reqnodes");
            m.add("dest", &dest);
            self.send(out, m, now);
            self.reqnodes_at = Some(now + REQNODES_RETRY_MS);
        }
    }

    fn comm_now_up(&mut self, now: u64, out: &mut Vec<Event>) {
        if self.comm_up {
            return;
        }
        self.comm_up = true;
        self.reqnodes_at = None;
        out.push(Event::Log(
            Level::Info,
            "Comm_now_up(): updating status to active".into(),
        ));
        self.set_local_status(NodeStatus::Active, now, out);
        out.push(Event::CommUp);
    }

    /// The earliest time [`Self::tick`] has something to do.
    pub fn next_deadline(&self) -> u64 {
        let mut d = self.next_status_at;
        for n in self.nodes.iter().filter(|n| n.name != self.s.local) {
            if n.status != NodeStatus::Dead {
                d = d.min(self.node_deadline(n) + 1);
            }
            for l in &n.links {
                if l.up {
                    if let Some(t) = l.last {
                        d = d.min(t + n.dead_ms.max(1) + 1);
                    }
                }
            }
            if let Some(&t) = n.rexmit_at.values().min() {
                d = d.min(t);
            }
        }
        if let Some(t) = self.reqnodes_at {
            d = d.min(t);
        }
        d
    }

    /// A received, authenticated message on medium `medium` (index into
    /// `Settings::media`).
    pub fn on_message(&mut self, now: u64, medium: usize, msg: Message) -> Vec<Event> {
        let mut out = Vec::new();
        let (Some(src), Some(t)) = (msg.get("src"), msg.t()) else {
            out.push(Event::Log(
                Level::Error,
                "process_clustermsg: node [?] message without src or type".into(),
            ));
            return out;
        };
        let src = src.to_ascii_lowercase();
        let t = t.to_string();
        if msg.get_hex("ts").is_none_or(|ts| ts == 0) {
            return out; // the original ignores these silently
        }
        let ns = t.starts_with("NS_");
        let seq = msg.get_hex("seq");
        if !ns && seq.is_none() {
            out.push(Event::Log(
                Level::Error,
                format!("process_clustermsg: node [{src}]: missing seqno"),
            ));
            return out;
        }
        let Some(i) = self.nodes.iter().position(|n| n.name == src) else {
            out.push(Event::Log(
                Level::Error,
                format!("process_status_message: bad node [{src}] in message"),
            ));
            return out;
        };
        if !self.is_peer(i) {
            // Our own packet back from the medium: already handled locally.
            return out;
        }
        let dest = msg.get("dest").map(str::to_ascii_lowercase);
        let for_us = dest.as_deref().is_none_or(|d| d == self.s.local);
        let gen = msg.get_hex("hg").unwrap_or(0);

        // Generation: older is a replay, newer a restart.
        let known = self.nodes[i].generation;
        if gen < known {
            out.push(Event::Log(
                Level::Error,
                format!(
                    "should_drop_message: attempted replay attack [{src}]? [gen = {gen}, curgen = {known}]"
                ),
            ));
            return out;
        }
        if gen > known {
            if known != 0 {
                out.push(Event::Log(
                    Level::Info,
                    format!("Heartbeat restart on node {src}"),
                ));
                out.push(Event::NodeRestarted(src.clone()));
            }
            let n = &mut self.nodes[i];
            n.generation = gen;
            n.last_seq = None;
            n.last_status_seq = 0;
            n.missing.clear();
            n.rexmit_at.clear();
            n.ackseq = 0;
        }

        self.touch_link(i, medium, now, &mut out);
        self.nodes[i].heard = true;

        if ns {
            if for_us {
                self.on_control(i, &t, &msg, now, &mut out);
            }
            return out;
        }
        let seq = seq.unwrap_or(0);

        // A dead node heartbeating again with the same generation: a healed
        // partition (a restarted one has a new generation).
        if self.nodes[i].status == NodeStatus::Dead
            && t == "status"
            && gen == self.nodes[i].dead_generation
        {
            if seq <= self.nodes[i].last_status_seq {
                return out;
            }
            out.push(Event::Log(
                Level::Crit,
                format!("Cluster node {src} returning after partition."),
            ));
            out.push(Event::Log(
                Level::Info,
                "For information on cluster partitions, See URL: http://linux-ha.org/wiki/Split_Brain"
                    .into(),
            ));
            out.push(Event::Log(
                Level::Warn,
                "Deadtime value may be too small.".into(),
            ));
            out.push(Event::PartitionReturn(src.clone()));
        }

        if !self.accept_seq(i, seq, now, &mut out) {
            return out;
        }
        if self.nodes[i].protocol == Some(true)
            && self.nodes[i].missing.is_empty()
            && seq % ACK_DIV == self.nodes[i].ack_trigger
        {
            let mut a = Message::new("NS_ackmsg");
            a.add("dest", &src);
            a.add("ackseq", &hex(seq));
            self.send(&mut out, a, now);
        }
        if !for_us {
            return out;
        }
        match t.as_str() {
            "status" => self.on_status(i, seq, &msg, now, &mut out),
            "reqnodes" => {
                let mut m = Message::new("repnodes");
                m.add("dest", &src);
                let list: String = self.s.nodes.iter().map(|n| format!("{n} ")).collect();
                m.add("nodelist", &list);
                m.add("delnodelist", " ");
                self.send(&mut out, m, now);
            }
            "repnodes" => {
                if self.linksup && !self.comm_up {
                    self.comm_now_up(now, &mut out);
                }
            }
            "shutdone" => {
                out.push(Event::Log(
                    Level::Info,
                    format!("Received shutdown notice from '{src}'."),
                ));
                if self.nodes[i].status != NodeStatus::Dead {
                    self.nodes[i].last_status_seq = seq;
                    self.mark_dead(i, DeathCause::Shutdown, &mut out);
                }
            }
            _ => out.push(Event::Deliver(msg)),
        }
        out
    }

    fn touch_link(&mut self, i: usize, medium: usize, now: u64, out: &mut Vec<Event>) {
        let Some(l) = self.nodes[i].links.get_mut(medium) else {
            return;
        };
        l.last = Some(now);
        if !l.up {
            l.up = true;
            let (node, m) = (self.nodes[i].name.clone(), self.s.media[medium].clone());
            out.push(Event::Log(Level::Info, format!("Link {node}:{m} up.")));
            out.push(Event::LinkStatus {
                node,
                medium: m,
                up: true,
            });
        }
    }

    /// Sequence tracking; false when the message is a duplicate or stale.
    fn accept_seq(&mut self, i: usize, seq: u64, now: u64, out: &mut Vec<Event>) -> bool {
        let delay = self.rexmit_delay();
        let n = &mut self.nodes[i];
        match n.last_seq {
            None => {
                n.last_seq = Some(seq);
                true
            }
            Some(last) if seq == last + 1 => {
                n.last_seq = Some(seq);
                true
            }
            Some(last) if seq > last + 1 => {
                let lost = seq - last - 1;
                if lost > MAX_MISSING {
                    out.push(Event::Log(
                        Level::Warn,
                        format!("lost a lot of packets! from node {}", n.name),
                    ));
                    n.missing.clear();
                    n.rexmit_at.clear();
                } else {
                    out.push(Event::Log(
                        Level::Warn,
                        format!("{lost} lost packet(s) for [{}] [{last}:{seq}]", n.name),
                    ));
                    for s in last + 1..seq {
                        n.missing.insert(s);
                        n.rexmit_at.insert(s, now + delay);
                    }
                }
                n.last_seq = Some(seq);
                true
            }
            Some(_) => {
                // Older or duplicate: only a packet we asked for gets in.
                if n.missing.remove(&seq) {
                    n.rexmit_at.remove(&seq);
                    true
                } else {
                    false
                }
            }
        }
    }

    fn rexmit_delay(&mut self) -> u64 {
        let max = self.s.max_rexmit_delay_ms.max(50);
        50 + xorshift(&mut self.rng) % (max - 50 + 1)
    }

    fn on_status(&mut self, i: usize, seq: u64, msg: &Message, now: u64, out: &mut Vec<Event>) {
        let has_protocol = msg.get("protocol").is_some();
        let our_dt = self.nodes[i]
            .last_status_at
            .map(|prev| self.advertised_dt(prev));
        let n = &mut self.nodes[i];
        if !has_protocol && !self.flow_control_logged {
            self.flow_control_logged = true;
            out.push(Event::Log(
                Level::Info,
                "flow control disabled due to different version heartbeat".into(),
            ));
        }
        n.protocol = Some(has_protocol);
        if let Some(dt) = msg.get_hex("dt") {
            if dt > 0 {
                n.dead_ms = dt;
            }
        }
        if let Some(prev) = n.last_status_at {
            let interval = now.saturating_sub(prev);
            if interval > n.dead_ms {
                out.push(Event::Log(
                    Level::Crit,
                    format!(
                        "Late heartbeat: Node {}: interval {interval} ms (> deadtime)",
                        n.name
                    ),
                ));
            } else if interval > self.s.warntime_ms {
                out.push(Event::Log(
                    Level::Warn,
                    format!("Late heartbeat: Node {}: interval {interval} ms", n.name),
                ));
            }
            // (a node we declared dead comes back as PartitionReturn instead)
            if our_dt.is_some_and(|dt| interval > dt) && n.status != NodeStatus::Dead {
                out.push(Event::LateReturn(n.name.clone()));
            }
        }
        n.last_status_at = Some(now);
        n.last_status_seq = n.last_status_seq.max(seq);
        let st = msg
            .get("st")
            .and_then(NodeStatus::parse)
            .unwrap_or(NodeStatus::Up);
        if st != n.status {
            n.status = st;
            let name = n.name.clone();
            out.push(Event::Log(
                Level::Info,
                format!("Status update for node {name}: status {}", st.as_str()),
            ));
            out.push(Event::NodeStatus {
                node: name,
                status: st,
                cause: None,
            });
        }
    }

    fn on_control(&mut self, i: usize, t: &str, msg: &Message, now: u64, out: &mut Vec<Event>) {
        let src = self.nodes[i].name.clone();
        match t {
            "NS_ackmsg" => {
                if let Some(a) = msg.get_hex("ackseq") {
                    let n = &mut self.nodes[i];
                    n.ackseq = n.ackseq.max(a);
                }
            }
            "NS_rexmit" => {
                let first = msg.get("firstseq").and_then(|s| s.parse::<u64>().ok());
                let last = msg.get("lastseq").and_then(|s| s.parse::<u64>().ok());
                let (Some(first), Some(last)) = (first, last) else {
                    return;
                };
                let last = last.min(first.saturating_add(MAX_REXMIT_BATCH - 1));
                for s in first..=last {
                    self.retransmit(s, &src, now, out);
                }
            }
            "NS_nak_rexmit" => {
                if let Some(s) = msg.get_hex("firstseq") {
                    out.push(Event::Log(
                        Level::Error,
                        format!("Irretrievably lost packet: node {src} seq {s}"),
                    ));
                    let n = &mut self.nodes[i];
                    n.missing.remove(&s);
                    n.rexmit_at.remove(&s);
                }
            }
            _ => out.push(Event::Deliver(msg.clone())),
        }
    }

    fn retransmit(&mut self, seq: u64, to: &str, now: u64, out: &mut Vec<Event>) {
        let min_gap = self.s.max_rexmit_delay_ms.saturating_sub(10);
        let oldest = self.history.front().map(|(s, _, _)| *s);
        if let Some(entry) = self.history.iter_mut().find(|(s, _, _)| *s == seq) {
            if entry.2.is_some_and(|t| now < t + min_gap) {
                return;
            }
            entry.2 = Some(now);
            out.push(Event::Send(entry.1.clone()));
            return;
        }
        let why = if oldest.is_some_and(|o| seq < o) {
            "seqno too low"
        } else {
            "seqno not found"
        };
        out.push(Event::Log(
            Level::Error,
            format!("Cannot rexmit pkt {seq} for {to}: {why}"),
        ));
        let mut m = Message::new("NS_nak_rexmit");
        m.add("firstseq", &hex(seq));
        m.add("dest", to);
        m.add("info", why);
        self.send(out, m, now);
    }

    /// Sends an upper-layer message (stamped, kept for retransmission).
    pub fn send_message(&mut self, msg: Message, now: u64) -> Message {
        self.stamp(msg, now)
    }
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}
