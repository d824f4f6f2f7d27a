//! The seed's tests as drivers: section 2.5 (balance), 2.5.3 (A/D, a web
//! node fails and returns), 2.6 (B, the master director is lost) and C
//! (the master returns). Each injects its fault into a running
//! [`Cluster`], watches what the tools do and what a client sees, and
//! returns the measurements; the lab tests assert on them and the demo
//! prints them as a timeline.

use super::{client_addr, get_titles, Cluster, Host, Outage, Probe, Prober, State, CLIENTS};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const WEB1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 11);
pub const WEB2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 12);
pub const WWW4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 4);
/// puck's real servers, in `State::dests` order.
pub const ALL_DESTS: [Ipv4Addr; 3] = [WWW4, WEB1, WEB2];

/// Bounds for waits: generous, because the lab shares two host cores with
/// builds and other VMs, but finite so a broken cluster fails the test.
pub const BOOT_LIMIT: Duration = Duration::from_secs(90);
pub const EVENT_LIMIT: Duration = Duration::from_secs(90);

/// What happened, in seconds since the cluster started; printed as it
/// happens when `echo` is set (the demo).
pub struct Timeline {
    t0: Instant,
    /// Wall clock at `t0`, to place heartbeat's log lines.
    wall0: f64,
    pub events: Mutex<Vec<(f64, String)>>,
    /// Print each event as it is noted (else see [`Timeline::flush`]).
    pub echo: bool,
    printed: Mutex<usize>,
}

impl Timeline {
    pub fn new(cluster: &Cluster, echo: bool) -> Timeline {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        Timeline {
            t0: cluster.t0,
            wall0: now - cluster.t0.elapsed().as_secs_f64(),
            events: Mutex::new(vec![]),
            echo,
            printed: Mutex::new(0),
        }
    }

    pub fn now(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    pub fn note(&self, at: f64, what: impl Into<String>) {
        let what = what.into();
        let mut ev = self.events.lock().unwrap();
        ev.push((at, what));
        if self.echo {
            let mut printed = self.printed.lock().unwrap();
            for (at, what) in &ev[*printed..] {
                println!("{}", Self::line(*at, what));
            }
            *printed = ev.len();
        }
    }

    fn line(at: f64, what: &str) -> String {
        if let Some(w) = what.strip_prefix("log ") {
            // heartbeat's log has whole seconds.
            format!("{:5.0}s      log  {w}", at.floor())
        } else if let Some(w) = what.strip_prefix("seen ") {
            format!("{at:7.1}s      seen {w}")
        } else {
            format!("{at:7.1}s  {what}")
        }
    }

    /// Prints the events not printed yet, in time order.
    pub fn flush(&self) {
        let ev = self.events.lock().unwrap();
        let mut printed = self.printed.lock().unwrap();
        let mut new: Vec<&(f64, String)> = ev[*printed..].iter().collect();
        new.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (at, what) in new {
            println!("{}", Self::line(*at, what));
        }
        *printed = ev.len();
    }

    /// Seconds since the start for a heartbeat log time stamp (`Nov 26
    /// 00:51:48`, local time of the day only).
    fn log_secs(&self, stamp: &str) -> Option<f64> {
        let hms: Vec<f64> = stamp
            .split_whitespace()
            .nth(2)?
            .split(':')
            .map(|x| x.parse().ok())
            .collect::<Option<_>>()?;
        let [h, m, s] = hms[..] else { return None };
        let day = self.wall0 - self.wall0.rem_euclid(86400.0);
        let mut t = day + h * 3600.0 + m * 60.0 + s - self.wall0;
        if t < -43200.0 {
            t += 86400.0;
        }
        Some(t)
    }
}

/// The lines of heartbeat's logs worth a timeline entry (what the tools
/// did), newer than `since`: (seconds, node, text).
pub fn heartbeat_actions(c: &Cluster, tl: &Timeline, since: f64) -> Vec<(f64, String)> {
    let mut out = vec![];
    for d in [&c.www3, &c.www4] {
        let log = d.log();
        let text = log
            .split("--- ")
            .find(|part| part.starts_with("ha-log"))
            .unwrap_or("");
        for line in text.lines() {
            // heartbeat's own lines: `Nov 26 01:38:56 www4 heartbeat: [24]:
            // info: ...`; its resource scripts' runner (ResourceManager):
            // `2026/11/26_01:38:56  ResourceManager(default)[28]:    info: ...`.
            let (stamp, msg, keep): (String, &str, &[&str]) =
                if let Some((stamp, msg)) = line.split_once(" heartbeat: ") {
                    let keep: &[&str] = &[
                        "is dead",
                        "Dead node",
                        "Taking over",
                        "returning after partition",
                        "standby: ",
                    ];
                    (stamp.to_string(), msg, keep)
                } else if let Some((stamp, msg)) = line.split_once("  ResourceManager(") {
                    // Older heartbeat-rs builds logged these when the
                    // whole job ended; these carry their own time.
                    let Some((_, hms)) = stamp.split_once('_') else {
                        continue;
                    };
                    let keep: &[&str] = &["Running /etc"];
                    (format!("- - {hms}"), msg, keep)
                } else {
                    continue;
                };
            let msg = msg.split_once(": ").map_or(msg, |(_, m)| m);
            let msg = msg
                .trim()
                .trim_start_matches("info: ")
                .trim_start_matches("WARN: ");
            if !keep.iter().any(|k| msg.contains(k)) {
                continue;
            }
            let Some(at) = tl.log_secs(&stamp) else {
                continue;
            };
            if at + 1.0 >= since {
                out.push((at, format!("{}: {}", d.node(), msg.trim())));
            }
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out.dedup();
    out
}

/// Waits for a state, noting when it was reached; panics with the logs
/// when it is not reached within `limit`.
pub fn wait_for(
    c: &Cluster,
    tl: &Timeline,
    what: &str,
    limit: Duration,
    f: impl FnMut(&State) -> bool,
) -> (f64, State) {
    match c.wait_state(limit, f) {
        Ok(s) => {
            let at = tl.now();
            tl.note(at, what);
            (at, s)
        }
        Err(s) => panic!(
            "timed out after {limit:?} waiting for: {what}\nlast state: {s:?}\n{}",
            c.logs()
        ),
    }
}

/// www3 directs with all three real servers and www4 is a real server.
pub fn www3_directs(s: &State) -> bool {
    s.vip_on_eth0 == [Host::Www3]
        && s.service3
        && s.dests3 == ALL_DESTS
        && !s.service4
        && s.www4_vip_on_lo
}

/// www4 has taken over: VIP on its eth0, its own table with the three.
pub fn www4_directs(s: &State) -> bool {
    s.vip_on_eth0.contains(&Host::Www4) && s.service4 && s.dests4 == ALL_DESTS && !s.www4_vip_on_lo
}

/// Boots the cluster's roles: waits for www3 to direct.
pub fn wait_ready(c: &Cluster, tl: &Timeline) -> f64 {
    let (at, _) = wait_for(
        c,
        tl,
        "www3 holds the VIP, its puck loaded 3 real servers (www4 is one, VIP on its lo:0)",
        BOOT_LIMIT,
        www3_directs,
    );
    at
}

/// Section 2.5: the titles clients see.
#[derive(Debug)]
pub struct Balance {
    /// Every client address's answers (first request scheduled by wlc,
    /// the rest by the persistence template).
    pub per_client: Vec<(Ipv4Addr, Vec<Result<String, String>>)>,
    /// How many clients each title's server got.
    pub clients_per_title: BTreeMap<String, usize>,
}

/// `rounds` requests from each of the client addresses, one client after
/// the other.
pub fn balance(c: &Cluster, tl: &Timeline, rounds: usize) -> Balance {
    let mut per_client = vec![];
    let mut clients_per_title = BTreeMap::new();
    for n in 0..CLIENTS {
        let src = client_addr(n);
        let r = get_titles(&c.topo, src, rounds, Duration::from_secs(5));
        if let Some(Ok(t)) = r.first() {
            *clients_per_title.entry(t.clone()).or_insert(0) += 1;
        }
        per_client.push((src, r));
    }
    let summary: Vec<String> = clients_per_title
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    tl.note(
        tl.now(),
        format!(
            "balance: {} clients x {rounds} requests; clients per server: {} (wlc, equal weights; -p 360 keeps each client on one server)",
            CLIENTS,
            summary.join(", ")
        ),
    );
    Balance {
        per_client,
        clients_per_title,
    }
}

/// The seed's own client: `get_title.pl` (Perl, LWP, 100 requests) run in
/// the client namespace. Its output lines.
pub fn get_title_pl(c: &Cluster, count: usize) -> Vec<String> {
    let script = super::seed_dir().join("get_title.pl");
    let out = super::netns_command(
        &c.topo.path(Host::Client),
        &[
            "/usr/bin/perl",
            &script.display().to_string(),
            "http://10.0.0.100/",
            &count.to_string(),
        ],
    )
    .output()
    .expect("run get_title.pl");
    assert!(out.status.success(), "get_title.pl: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Requests in `[from, to)` and how many failed.
pub fn count(probes: &[Probe], from: f64, to: f64) -> (usize, usize) {
    let w: Vec<&Probe> = probes
        .iter()
        .filter(|p| p.at >= from && p.at < to)
        .collect();
    (w.len(), w.iter().filter(|p| p.result.is_err()).count())
}

/// Waits until the prober has `n` answers started after `after`.
pub fn settle(prober: &Prober, after: f64, n: usize, limit: Duration) {
    let t = Instant::now();
    while prober.probes().iter().filter(|p| p.at > after).count() < n && t.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Section 2.5.3 (A/D): httpd on node01 stops, then starts again.
#[derive(Debug)]
pub struct WebFailure {
    pub stopped: f64,
    pub removed: f64,
    pub restarted: f64,
    pub readded: f64,
    /// Client requests (all addresses, rotating) failed between the stop
    /// and mon's removal: those the persistence templates sent to node01.
    pub errors_before_removal: (usize, usize),
    /// (requests, failures) from the removal until httpd came back.
    pub after_removal: (usize, usize),
    /// (requests, failures) after the re-add.
    pub after_readd: (usize, usize),
}

impl WebFailure {
    /// The seed's expectation of test A/D: node01 leaves the table within
    /// `limit` seconds of its httpd stopping and returns within `limit` of
    /// its restart, and no client request fails while it is out or after
    /// it is back. `context` (e.g. the directors' logs) ends each message.
    pub fn check(&self, limit: f64, context: &dyn Fn() -> String) {
        assert!(
            self.removed - self.stopped < limit,
            "node01 removed {:.1}s after httpd stopped: {self:?}\n{}",
            self.removed - self.stopped,
            context()
        );
        assert!(
            self.after_removal.0 >= 20,
            "too few requests after the removal: {self:?}"
        );
        assert_eq!(
            self.after_removal.1, 0,
            "client errors after node01 left the table: {self:?}"
        );
        assert!(
            self.readded - self.restarted < limit,
            "node01 back too late: {self:?}\n{}",
            context()
        );
        assert_eq!(
            self.after_readd.1, 0,
            "client errors after node01 returned: {self:?}"
        );
    }
}

pub fn web_node_failure(c: &mut Cluster, tl: &Timeline, prober: &Prober) -> WebFailure {
    let stopped = tl.now();
    c.web(Host::Web1).stop();
    tl.note(stopped, "A: httpd on node01 (10.0.0.11) stopped");
    let (removed, _) = wait_for(
        c,
        tl,
        "A: mon's http.monitor failed, lvs.alert ran `ipvsadm -d ... -r 10.0.0.11:80`: node01 gone from www3's table",
        EVENT_LIMIT,
        |s| s.dests3 == [WWW4, WEB2],
    );
    // Let clients run against the reduced table for a while.
    settle(prober, removed + 0.5, 20, EVENT_LIMIT);
    let restarted = tl.now();
    c.web(Host::Web1).start();
    tl.note(restarted, "D: httpd on node01 started again");
    let (readded, _) = wait_for(
        c,
        tl,
        "D: mon's upalert ran `lvs.alert -u`: `ipvsadm -a ... -r 10.0.0.11:80 -g -w 100`, node01 back",
        EVENT_LIMIT,
        |s| s.dests3 == ALL_DESTS,
    );
    settle(prober, readded, 10, EVENT_LIMIT);
    let p = prober.probes();
    let r = WebFailure {
        stopped,
        removed,
        restarted,
        readded,
        errors_before_removal: count(&p, stopped, removed),
        // Requests that started before the removal was observed may still
        // have been scheduled to node01: count from 0.3 s later.
        after_removal: count(&p, removed + 0.3, restarted),
        after_readd: count(&p, readded, f64::MAX),
    };
    tl.note(
        tl.now(),
        format!(
            "A/D: detected in {:.1}s; clients saw {} errors in {} requests until then, {} in {} after; back {:.1}s after httpd started",
            removed - stopped,
            r.errors_before_removal.1,
            r.errors_before_removal.0,
            r.after_removal.1,
            r.after_removal.0,
            readded - restarted
        ),
    );
    r
}

/// How the master is lost (section 2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// www3's cable is pulled (its bridge port goes down).
    LinkCut,
    /// `kill -9` of www3's heartbeat: mon, its VIP and IPVS table stay.
    KillHeartbeat,
}

/// Test B's measurements.
#[derive(Debug)]
pub struct Failover {
    pub how: Loss,
    pub injected: f64,
    /// When www4 had the VIP and its table.
    pub took_over: f64,
    /// What clients saw from the injection on (None: no request failed).
    pub outage: Option<Outage>,
    /// (requests, failures) from 1 s after the takeover on.
    pub after: (usize, usize),
    /// mon processes on (www3, www4) once www4 directs.
    pub mons: (usize, usize),
}

pub fn master_lost(c: &mut Cluster, tl: &Timeline, prober: &Prober, how: Loss) -> Failover {
    let injected = tl.now();
    match how {
        Loss::LinkCut => {
            c.topo.set_link(Host::Www3, false);
            tl.note(injected, "B: www3's link cut (master director lost)");
        }
        Loss::KillHeartbeat => {
            assert!(c.www3.kill_heartbeat(), "no heartbeat to kill on www3");
            tl.note(injected, "B: kill -9 of www3's heartbeat");
        }
    }
    let (took_over, _) = wait_for(
        c,
        tl,
        "B: www4 directs: the VIP on its eth0 (its puck moved it off lo:0 and ran send_arp), its table (puck start) lists the 3 real servers",
        EVENT_LIMIT,
        www4_directs,
    );
    // puck start ends by starting mon: wait for it, so that the takeover
    // is complete before anything else happens (a partition that heals
    // while heartbeat's takeover is still running makes heartbeat give the
    // group back, take it again and hand it over once more).
    let t = Instant::now();
    while c.processes(Host::Www4, "mon") == 0 && t.elapsed() < EVENT_LIMIT {
        std::thread::sleep(Duration::from_millis(100));
    }
    tl.note(tl.now(), "B: www4's mon runs (puck start done)");
    settle(prober, took_over + 1.0, 20, EVENT_LIMIT);
    // The outage ends with the first success after the last failure; wait
    // for a success after any failure seen so far.
    let t = Instant::now();
    while t.elapsed() < EVENT_LIMIT {
        let p = prober.probes();
        match Outage::find(&p, injected, None) {
            Some(o) if o.recovered.is_none() => std::thread::sleep(Duration::from_millis(100)),
            _ => break,
        }
    }
    let p = prober.probes();
    let outage = Outage::find(&p, injected, None);
    for (at, what) in heartbeat_actions(c, tl, injected) {
        tl.note(at, format!("log {what}"));
    }
    let after = count(&p, took_over + 1.0, f64::MAX);
    let mons = (
        c.processes(Host::Www3, "mon"),
        c.processes(Host::Www4, "mon"),
    );
    tl.note(
        tl.now(),
        format!("B: mon processes: www3 {}, www4 {}", mons.0, mons.1),
    );
    let f = Failover {
        how,
        injected,
        took_over,
        outage,
        after,
        mons,
    };
    tl.note(tl.now(), format!("B: {}", failover_line(&f)));
    f
}

/// One line for a failover: detection, takeover, what clients saw.
pub fn failover_line(f: &Failover) -> String {
    let seen = match &f.outage {
        None => "clients saw no failed request".to_string(),
        Some(o) => match o.gap() {
            Some(g) => format!(
                "clients saw errors for {g:.1}s ({} of {} requests failed)",
                o.errors, o.requests
            ),
            None => format!("clients still failing ({} errors)", o.errors),
        },
    };
    format!(
        "{:?}: www4 directing {:.1}s after the fault; {seen}",
        f.how,
        f.took_over - f.injected
    )
}

/// How the master comes back (test C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Return {
    /// The cable is plugged in again.
    LinkRestored,
    /// www3 is rebooted (after its heartbeat was killed: mon, the VIP
    /// and the table it left behind go with the reboot).
    Reboot,
}

/// Test C's measurements.
#[derive(Debug)]
pub struct Failback {
    pub how: Return,
    pub at: f64,
    /// When www3 directed again with www4 a real server.
    pub back: f64,
    pub outage: Option<Outage>,
    /// Titles clients got after the failback (several: through www3's IPVS).
    pub titles_after: BTreeMap<String, usize>,
    /// (requests, failures) from 1 s after the failback on.
    pub after: (usize, usize),
    /// mon processes on (www3, www4) after the failback.
    pub mons: (usize, usize),
    /// Whose MAC the client's ARP entry for the VIP held at the end.
    pub client_arp: Option<Host>,
}

pub fn master_returns(c: &mut Cluster, tl: &Timeline, prober: &Prober, how: Return) -> Failback {
    if how == Return::LinkRestored {
        // Why clients may see errors when the link returns: www3 kept the
        // VIP through the partition, and its table is whatever its mon
        // left of it.
        let d = c.state().dests3;
        let list: Vec<String> = d.iter().map(|a| a.to_string()).collect();
        let why = if d.len() < ALL_DESTS.len() {
            ": its mon, cut off, ran lvs.alert -X down for the real servers it could not reach"
        } else {
            ""
        };
        tl.note(
            tl.now(),
            format!(
                "C: before: www3 (cut off, still holding the VIP) has [{}] in its table{why}",
                list.join(", ")
            ),
        );
    }
    let at = tl.now();
    match how {
        Return::LinkRestored => {
            c.topo.set_link(Host::Www3, true);
            tl.note(at, "C: www3's link restored");
        }
        Return::Reboot => {
            c.reboot(Host::Www3);
            tl.note(at, "C: www3 rebooted (heartbeat starts at boot)");
        }
    }
    let (back, _) = wait_for(
        c,
        tl,
        "C: www3 directs again; www4 gave the VIP back (auto_failback on) and is a real server: table cleared by puck stop, VIP on lo:0 by lvs-r.sh",
        EVENT_LIMIT,
        www3_directs,
    );
    settle(prober, back + 1.0, 3 * CLIENTS as usize, EVENT_LIMIT);
    let p = prober.probes();
    let outage = Outage::find(&p, at, None);
    for (t, what) in heartbeat_actions(c, tl, at) {
        tl.note(t, format!("log {what}"));
    }
    let mut titles_after = BTreeMap::new();
    for q in p.iter().filter(|q| q.at >= back + 1.0) {
        if let Ok(t) = &q.result {
            *titles_after.entry(t.clone()).or_insert(0) += 1;
        }
    }
    let after = count(&p, back + 1.0, f64::MAX);
    let mons = (
        c.processes(Host::Www3, "mon"),
        c.processes(Host::Www4, "mon"),
    );
    tl.note(
        tl.now(),
        format!("C: mon processes: www3 {}, www4 {}", mons.0, mons.1),
    );
    let client_arp = c.state().client_arp_vip;
    let seen = match &outage {
        None => "clients saw no failed request".to_string(),
        Some(o) => format!(
            "clients saw errors for {} ({} of {} requests failed)",
            o.gap().map_or("?".into(), |g| format!("{g:.1}s")),
            o.errors,
            o.requests
        ),
    };
    let titles: Vec<String> = titles_after
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    tl.note(
        tl.now(),
        format!(
            "C: {how:?}: www3 directing {:.1}s later; {seen}; titles since: {}",
            back - at,
            titles.join(", ")
        ),
    );
    Failback {
        how,
        at,
        back,
        outage,
        titles_after,
        after,
        mons,
        client_arp,
    }
}

/// Notes every change of the cluster's state in the timeline as it is
/// seen (polled every 100 ms): the VIP coming and going on each director,
/// real servers entering and leaving each IPVS table, the client's ARP
/// entry for the VIP moving. The raw facts under the scenario's notes.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    pub fn start(c: &Cluster, tl: Arc<Timeline>) -> Watcher {
        let paths = [Host::Www3, Host::Www4, Host::Client].map(|h| c.topo.path(h));
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let handle = std::thread::spawn(move || {
            let read = || State::read_at(&paths[0], &paths[1], &paths[2]);
            let mut prev = read();
            while !s2.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let now = read();
                let at = tl.now();
                for d in state_changes(&prev, &now) {
                    tl.note(at, format!("seen {d}"));
                }
                prev = now;
            }
        });
        Watcher {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// What changed between two states, in words.
pub fn state_changes(a: &State, b: &State) -> Vec<String> {
    let mut out = vec![];
    for h in [Host::Www3, Host::Www4] {
        let (was, is) = (a.vip_on_eth0.contains(&h), b.vip_on_eth0.contains(&h));
        if was != is {
            out.push(format!(
                "{}: VIP {} eth0",
                h.name(),
                if is { "up on" } else { "removed from" }
            ));
        }
        let n = h.name();
        match (a.service(h), b.service(h)) {
            (false, true) => out.push(format!(
                "{n}: virtual service 10.0.0.100:80 created (wlc -p 360)"
            )),
            (true, false) => out.push(format!("{n}: IPVS table cleared")),
            _ => {}
        }
        for d in b.dests(h).iter().filter(|d| !a.dests(h).contains(d)) {
            out.push(format!("{n}: real server {d} added"));
        }
        if a.service(h) && b.service(h) {
            for d in a.dests(h).iter().filter(|d| !b.dests(h).contains(d)) {
                out.push(format!("{n}: real server {d} removed"));
            }
        }
    }
    if a.www4_vip_on_lo != b.www4_vip_on_lo {
        out.push(format!(
            "www4: VIP {} lo:0",
            if b.www4_vip_on_lo {
                "up on"
            } else {
                "removed from"
            }
        ));
    }
    if a.client_arp_vip != b.client_arp_vip {
        if let Some(h) = b.client_arp_vip {
            out.push(format!(
                "client: ARP entry for the VIP now {}'s MAC",
                h.name()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_changes_name_what_moved() {
        let before = State {
            vip_on_eth0: vec![Host::Www3],
            service3: true,
            dests3: ALL_DESTS.to_vec(),
            www4_vip_on_lo: true,
            client_arp_vip: Some(Host::Www3),
            ..State::default()
        };
        let mut after = before.clone();
        after.dests3 = vec![WWW4, WEB2];
        assert_eq!(
            state_changes(&before, &after),
            ["www3: real server 10.0.0.11 removed"]
        );
        let after = State {
            vip_on_eth0: vec![Host::Www3, Host::Www4],
            service3: true,
            dests3: ALL_DESTS.to_vec(),
            service4: true,
            dests4: vec![WEB1],
            client_arp_vip: Some(Host::Www4),
            ..State::default()
        };
        assert_eq!(
            state_changes(&before, &after),
            [
                "www4: VIP up on eth0",
                "www4: virtual service 10.0.0.100:80 created (wlc -p 360)",
                "www4: real server 10.0.0.11 added",
                "www4: VIP removed from lo:0",
                "client: ARP entry for the VIP now www4's MAC",
            ]
        );
        // A cleared table is one event, not one per real server.
        let cleared = State {
            service3: false,
            dests3: vec![],
            ..before.clone()
        };
        assert_eq!(
            state_changes(&before, &cleared),
            ["www3: IPVS table cleared"]
        );
    }

    #[test]
    fn www3_directs_needs_the_whole_seed_setup() {
        let s = State {
            vip_on_eth0: vec![Host::Www3],
            service3: true,
            dests3: ALL_DESTS.to_vec(),
            www4_vip_on_lo: true,
            ..State::default()
        };
        assert!(www3_directs(&s));
        assert!(!www3_directs(&State {
            www4_vip_on_lo: false,
            ..s.clone()
        }));
        assert!(!www3_directs(&State {
            vip_on_eth0: vec![Host::Www3, Host::Www4],
            ..s.clone()
        }));
        assert!(!www4_directs(&s));
    }
}
