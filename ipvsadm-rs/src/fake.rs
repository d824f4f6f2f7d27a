//! An in-memory IPVS table with the kernel's error semantics, for testing the
//! command line without a kernel.
//!
//! The rules follow Linux 6.1 `ip_vs_ctl.c` as summarised in the reference
//! notes (ipvs.md 1.7/1.8): which errno each command returns, that services
//! and destinations are reported newest first, that the kernel sets the
//! HASHED flag on every service it holds, and that a destination whose
//! address is local is reported with the LOCALNODE forwarding method.
//!
//! Besides the table, the fake records every call (so tests can check what
//! "reached the kernel", like the golden transcripts do) and can be told to
//! fail the next call of a given operation with an errno.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::model::*;
use crate::{Error, Ipvs, Result};

/// The operations of [`Ipvs`], for fault injection and the call log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Info,
    Services,
    Service,
    Destinations,
    AddService,
    EditService,
    DelService,
    Zero,
    Flush,
    AddDest,
    EditDest,
    DelDest,
    Timeouts,
    SetTimeouts,
    Daemons,
    StartDaemon,
    StopDaemon,
}

/// One recorded call with the arguments that matter to tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Info,
    Services,
    Service(Service),
    Destinations(Service),
    AddService(Service),
    EditService(Service),
    DelService(Service),
    Zero(Option<Service>),
    Flush,
    AddDest(Service, Destination),
    EditDest(Service, Destination),
    DelDest(Service, Destination),
    Timeouts,
    SetTimeouts(Timeouts),
    Daemons,
    StartDaemon(SyncDaemon),
    StopDaemon(SyncDaemon),
}

/// Schedulers a 6.1 kernel can load (`ip_vs_<name>` modules).
pub const KERNEL_SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// Persistence engines a 6.1 kernel can load.
pub const KERNEL_PES: &[&str] = &["sip"];

/// Kernel HZ used to bound `--set` timeouts (`INT_MAX / HZ`).
const HZ: u32 = 250;

#[derive(Debug, Clone)]
struct Entry {
    svc: Service,
    dests: Vec<Destination>,
}

/// The fake kernel table.
#[derive(Debug, Clone)]
pub struct FakeIpvs {
    entries: Vec<Entry>,
    timeouts: Timeouts,
    daemons: Vec<SyncDaemon>,
    info: Info,
    /// Network interfaces that "exist" for `--start-daemon` (ENODEV otherwise).
    pub interfaces: Vec<String>,
    failures: HashMap<Op, Vec<i32>>,
    /// Every call made, in order.
    pub calls: Vec<Call>,
    /// Acknowledge every change without applying it (after fault
    /// injection), like the stateless fake kernel the reference
    /// transcripts were captured with.
    pub stateless: bool,
}

impl Default for FakeIpvs {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeIpvs {
    /// An empty table with the kernel defaults a fresh netns has.
    pub fn new() -> Self {
        FakeIpvs {
            entries: Vec::new(),
            timeouts: Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            },
            daemons: Vec::new(),
            info: Info {
                version: 0x010201,
                conn_tab_size: 4096,
            },
            interfaces: vec!["lo".into(), "eth0".into(), "eth1".into()],
            failures: HashMap::new(),
            calls: Vec::new(),
            stateless: false,
        }
    }

    /// A table whose dump order is exactly `table` (services and their
    /// destinations are reported as given). Used to replay the reference
    /// transcripts, whose fake kernel had a fixed order.
    pub fn with_table(table: Vec<(Service, Vec<Destination>)>) -> Self {
        let mut f = Self::new();
        f.entries = table
            .into_iter()
            .map(|(svc, dests)| Entry { svc, dests })
            .collect();
        f
    }

    pub fn set_info(&mut self, info: Info) {
        self.info = info;
    }

    /// Replace the running daemons (as GET_DAEMON would report them).
    pub fn set_daemons(&mut self, daemons: Vec<SyncDaemon>) {
        self.daemons = daemons;
    }

    pub fn set_timeouts_raw(&mut self, t: Timeouts) {
        self.timeouts = t;
    }

    /// Make the next call of `op` fail with `errno` (queued: several calls
    /// queue several failures).
    pub fn fail_next(&mut self, op: Op, errno: i32) {
        self.failures.entry(op).or_default().push(errno);
    }

    /// Make every call of `op` fail with `errno` until cleared.
    pub fn fail_always(&mut self, op: Op, errno: i32) {
        self.failures.insert(op, vec![-errno]);
    }

    /// The current table in dump order (for assertions).
    pub fn table(&self) -> Vec<(Service, Vec<Destination>)> {
        self.entries
            .iter()
            .map(|e| (self.reported(&e.svc), e.dests.clone()))
            .collect()
    }

    fn injected(&mut self, op: Op) -> Result<()> {
        if let Some(q) = self.failures.get_mut(&op) {
            if let Some(&first) = q.first() {
                if first < 0 {
                    // fail_always marker: keep it.
                    return Err(Error::Kernel(-first));
                }
                q.remove(0);
                return Err(Error::Kernel(first));
            }
        }
        Ok(())
    }

    fn reported(&self, svc: &Service) -> Service {
        let mut s = svc.clone();
        s.flags |= svc_flags::HASHED;
        s
    }

    fn find(&self, key: &ServiceKey) -> Option<usize> {
        self.entries.iter().position(|e| same_key(&e.svc.key, key))
    }

    fn check_service_params(svc: &Service) -> Result<()> {
        if svc.af() != AF_INET && svc.af() != AF_INET6 {
            return Err(Error::Kernel(libc::EAFNOSUPPORT));
        }
        if !KERNEL_SCHEDULERS.contains(&svc.scheduler.as_str()) {
            return Err(Error::Kernel(libc::ENOENT));
        }
        if !svc.pe_name.is_empty() && !KERNEL_PES.contains(&svc.pe_name.as_str()) {
            return Err(Error::Kernel(libc::ENOENT));
        }
        if svc.af() == AF_INET6 && !(1..=128).contains(&svc.netmask) {
            return Err(Error::Kernel(libc::EINVAL));
        }
        Ok(())
    }

    fn check_dest(&self, svc: &Service, d: &Destination) -> Result<()> {
        if d.af() != svc.af() {
            if d.forward != ForwardMethod::Tunnel {
                return Err(Error::Kernel(libc::EINVAL));
            }
            if !self.daemons.is_empty() {
                return Err(Error::Kernel(libc::EINVAL));
            }
        }
        if d.weight < 0 {
            return Err(Error::Kernel(libc::ERANGE));
        }
        if d.l_threshold > d.u_threshold {
            return Err(Error::Kernel(libc::ERANGE));
        }
        if d.u_threshold > i32::MAX as u32 {
            return Err(Error::Kernel(libc::EINVAL));
        }
        if d.forward == ForwardMethod::Tunnel && d.tun_type == TunnelType::Gue && d.tun_port == 0 {
            return Err(Error::Kernel(libc::EINVAL));
        }
        if !is_unicast(&d.addr) {
            return Err(Error::Kernel(libc::EINVAL));
        }
        Ok(())
    }

    /// The kernel reports LOCALNODE for a destination on a local address;
    /// the fake treats loopback as the only local addresses.
    fn as_stored(d: &Destination) -> Destination {
        let mut d = d.clone();
        if d.addr.is_loopback() {
            d.forward = ForwardMethod::LocalNode;
        }
        d.active_conns = 0;
        d.inactive_conns = 0;
        d.persist_conns = 0;
        d.stats = Stats::default();
        d
    }
}

fn same_key(a: &ServiceKey, b: &ServiceKey) -> bool {
    match (a, b) {
        (
            ServiceKey::Addr {
                protocol: p1,
                addr: a1,
                port: o1,
            },
            ServiceKey::Addr {
                protocol: p2,
                addr: a2,
                port: o2,
            },
        ) => p1 == p2 && a1 == a2 && o1 == o2,
        (ServiceKey::Fwmark { af: f1, mark: m1 }, ServiceKey::Fwmark { af: f2, mark: m2 }) => {
            f1 == f2 && m1 == m2
        }
        _ => false,
    }
}

fn is_unicast(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast()),
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

impl Ipvs for FakeIpvs {
    fn info(&mut self) -> Result<Info> {
        self.calls.push(Call::Info);
        self.injected(Op::Info)?;
        Ok(self.info)
    }

    fn services(&mut self) -> Result<Vec<Service>> {
        self.calls.push(Call::Services);
        self.injected(Op::Services)?;
        Ok(self.entries.iter().map(|e| self.reported(&e.svc)).collect())
    }

    fn service(&mut self, svc: &Service) -> Result<Service> {
        self.calls.push(Call::Service(svc.clone()));
        self.injected(Op::Service)?;
        match self.find(&svc.key) {
            Some(i) => Ok(self.reported(&self.entries[i].svc)),
            None => Err(Error::Kernel(libc::ESRCH)),
        }
    }

    fn destinations(&mut self, svc: &Service) -> Result<Vec<Destination>> {
        self.calls.push(Call::Destinations(svc.clone()));
        self.injected(Op::Destinations)?;
        // An absent service yields an empty dump, as the kernel does.
        Ok(self
            .find(&svc.key)
            .map(|i| self.entries[i].dests.clone())
            .unwrap_or_default())
    }

    fn add_service(&mut self, svc: &Service) -> Result<()> {
        self.calls.push(Call::AddService(svc.clone()));
        self.injected(Op::AddService)?;
        if self.stateless {
            return Ok(());
        }
        if self.find(&svc.key).is_some() {
            return Err(Error::Kernel(libc::EEXIST));
        }
        Self::check_service_params(svc)?;
        let mut s = svc.clone();
        s.flags &= !svc_flags::HASHED;
        s.stats = Stats::default();
        // Newest first; fwmark services are dumped after all address ones.
        let at = match s.key {
            ServiceKey::Addr { .. } => 0,
            ServiceKey::Fwmark { .. } => self
                .entries
                .iter()
                .position(|e| matches!(e.svc.key, ServiceKey::Fwmark { .. }))
                .unwrap_or(self.entries.len()),
        };
        self.entries.insert(
            at,
            Entry {
                svc: s,
                dests: Vec::new(),
            },
        );
        Ok(())
    }

    fn edit_service(&mut self, svc: &Service) -> Result<()> {
        self.calls.push(Call::EditService(svc.clone()));
        self.injected(Op::EditService)?;
        if self.stateless {
            return Ok(());
        }
        let i = self.find(&svc.key).ok_or(Error::Kernel(libc::ESRCH))?;
        Self::check_service_params(svc)?;
        let e = &mut self.entries[i].svc;
        e.scheduler = svc.scheduler.clone();
        e.pe_name = svc.pe_name.clone();
        e.flags = svc.flags | svc_flags::HASHED;
        e.timeout = svc.timeout;
        e.netmask = svc.netmask;
        Ok(())
    }

    fn del_service(&mut self, svc: &Service) -> Result<()> {
        self.calls.push(Call::DelService(svc.clone()));
        self.injected(Op::DelService)?;
        if self.stateless {
            return Ok(());
        }
        let i = self.find(&svc.key).ok_or(Error::Kernel(libc::ESRCH))?;
        self.entries.remove(i);
        Ok(())
    }

    fn zero(&mut self, svc: Option<&Service>) -> Result<()> {
        self.calls.push(Call::Zero(svc.cloned()));
        self.injected(Op::Zero)?;
        if self.stateless {
            return Ok(());
        }
        let range: Vec<usize> = match svc {
            Some(s) => vec![self.find(&s.key).ok_or(Error::Kernel(libc::ESRCH))?],
            None => (0..self.entries.len()).collect(),
        };
        for i in range {
            let e = &mut self.entries[i];
            e.svc.stats = Stats::default();
            for d in &mut e.dests {
                d.stats = Stats::default();
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.calls.push(Call::Flush);
        self.injected(Op::Flush)?;
        if self.stateless {
            return Ok(());
        }
        self.entries.clear();
        Ok(())
    }

    fn add_dest(&mut self, svc: &Service, dest: &Destination) -> Result<()> {
        self.calls.push(Call::AddDest(svc.clone(), dest.clone()));
        self.injected(Op::AddDest)?;
        if self.stateless {
            return Ok(());
        }
        let i = self.find(&svc.key).ok_or(Error::Kernel(libc::ESRCH))?;
        let stored = self.entries[i].svc.clone();
        self.check_dest(&stored, dest)?;
        let dests = &mut self.entries[i].dests;
        if dests
            .iter()
            .any(|d| d.addr == dest.addr && d.port == dest.port)
        {
            return Err(Error::Kernel(libc::EEXIST));
        }
        dests.insert(0, Self::as_stored(dest));
        Ok(())
    }

    fn edit_dest(&mut self, svc: &Service, dest: &Destination) -> Result<()> {
        self.calls.push(Call::EditDest(svc.clone(), dest.clone()));
        self.injected(Op::EditDest)?;
        if self.stateless {
            return Ok(());
        }
        let i = self.find(&svc.key).ok_or(Error::Kernel(libc::ESRCH))?;
        let stored = self.entries[i].svc.clone();
        self.check_dest(&stored, dest)?;
        let d = self.entries[i]
            .dests
            .iter_mut()
            .find(|d| d.addr == dest.addr && d.port == dest.port)
            .ok_or(Error::Kernel(libc::ENOENT))?;
        let new = Self::as_stored(dest);
        d.forward = new.forward;
        d.weight = new.weight;
        d.u_threshold = new.u_threshold;
        d.l_threshold = new.l_threshold;
        d.tun_type = new.tun_type;
        d.tun_port = new.tun_port;
        d.tun_flags = new.tun_flags;
        Ok(())
    }

    fn del_dest(&mut self, svc: &Service, dest: &Destination) -> Result<()> {
        self.calls.push(Call::DelDest(svc.clone(), dest.clone()));
        self.injected(Op::DelDest)?;
        if self.stateless {
            return Ok(());
        }
        let i = self.find(&svc.key).ok_or(Error::Kernel(libc::ESRCH))?;
        let dests = &mut self.entries[i].dests;
        let j = dests
            .iter()
            .position(|d| d.addr == dest.addr && d.port == dest.port)
            .ok_or(Error::Kernel(libc::ENOENT))?;
        dests.remove(j);
        Ok(())
    }

    fn timeouts(&mut self) -> Result<Timeouts> {
        self.calls.push(Call::Timeouts);
        self.injected(Op::Timeouts)?;
        Ok(self.timeouts)
    }

    fn set_timeouts(&mut self, t: &Timeouts) -> Result<()> {
        self.calls.push(Call::SetTimeouts(*t));
        self.injected(Op::SetTimeouts)?;
        if self.stateless {
            return Ok(());
        }
        let max = i32::MAX as u32 / HZ;
        if t.tcp > max || t.tcp_fin > max || t.udp > max {
            return Err(Error::Kernel(libc::EINVAL));
        }
        if t.tcp != 0 {
            self.timeouts.tcp = t.tcp;
        }
        if t.tcp_fin != 0 {
            self.timeouts.tcp_fin = t.tcp_fin;
        }
        if t.udp != 0 {
            self.timeouts.udp = t.udp;
        }
        Ok(())
    }

    fn daemons(&mut self) -> Result<Vec<SyncDaemon>> {
        self.calls.push(Call::Daemons);
        self.injected(Op::Daemons)?;
        let mut v = self.daemons.clone();
        // Master first, then backup, as GET_DAEMON dumps them.
        v.sort_by_key(|d| d.state.raw());
        Ok(v)
    }

    fn start_daemon(&mut self, d: &SyncDaemon) -> Result<()> {
        self.calls.push(Call::StartDaemon(d.clone()));
        self.injected(Op::StartDaemon)?;
        if self.stateless {
            return Ok(());
        }
        if let Some(g) = d.mcast_group {
            if !g.is_multicast() {
                return Err(Error::Kernel(libc::EINVAL));
            }
        }
        let mixed = self
            .entries
            .iter()
            .any(|e| e.dests.iter().any(|x| x.af() != e.svc.af()));
        if mixed {
            return Err(Error::Kernel(libc::EINVAL));
        }
        if self.daemons.iter().any(|x| x.state == d.state) {
            return Err(Error::Kernel(libc::EEXIST));
        }
        if !self.interfaces.contains(&d.mcast_ifn) {
            return Err(Error::Kernel(libc::ENODEV));
        }
        // The kernel fills in the defaults it used.
        let mut stored = d.clone();
        stored.sync_maxlen = Some(d.sync_maxlen.unwrap_or(1472));
        stored.mcast_group = Some(
            d.mcast_group
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::new(224, 0, 0, 81))),
        );
        stored.mcast_port = Some(d.mcast_port.unwrap_or(8848));
        stored.mcast_ttl = Some(d.mcast_ttl.unwrap_or(1));
        self.daemons.push(stored);
        Ok(())
    }

    fn stop_daemon(&mut self, d: &SyncDaemon) -> Result<()> {
        self.calls.push(Call::StopDaemon(d.clone()));
        self.injected(Op::StopDaemon)?;
        if self.stateless {
            return Ok(());
        }
        let i = self
            .daemons
            .iter()
            .position(|x| x.state == d.state)
            .ok_or(Error::Kernel(libc::ESRCH))?;
        self.daemons.remove(i);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn tcp(a: [u8; 4], port: u16) -> Service {
        Service::new(ServiceKey::Addr {
            protocol: IPPROTO_TCP,
            addr: IpAddr::V4(Ipv4Addr::from(a)),
            port,
        })
    }

    #[test]
    fn add_twice_is_eexist_and_hashed_is_reported() {
        let mut f = FakeIpvs::new();
        f.add_service(&tcp([10, 0, 0, 1], 80)).unwrap();
        let e = f.add_service(&tcp([10, 0, 0, 1], 80)).unwrap_err();
        assert_eq!(e.errno(), libc::EEXIST);
        let s = f.services().unwrap();
        assert_eq!(s[0].flags & svc_flags::HASHED, svc_flags::HASHED);
    }

    #[test]
    fn unknown_scheduler_is_enoent() {
        let mut f = FakeIpvs::new();
        let mut s = tcp([10, 0, 0, 1], 80);
        s.scheduler = "bogus".into();
        assert_eq!(f.add_service(&s).unwrap_err().errno(), libc::ENOENT);
    }

    #[test]
    fn dest_errors_follow_the_kernel() {
        let mut f = FakeIpvs::new();
        let s = tcp([10, 0, 0, 1], 80);
        let d = Destination::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);
        assert_eq!(f.add_dest(&s, &d).unwrap_err().errno(), libc::ESRCH);
        f.add_service(&s).unwrap();
        f.add_dest(&s, &d).unwrap();
        assert_eq!(f.add_dest(&s, &d).unwrap_err().errno(), libc::EEXIST);
        let mut bad = d.clone();
        bad.port = 81;
        bad.u_threshold = 1;
        bad.l_threshold = 2;
        assert_eq!(f.add_dest(&s, &bad).unwrap_err().errno(), libc::ERANGE);
        let mc = Destination::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), 80);
        assert_eq!(f.add_dest(&s, &mc).unwrap_err().errno(), libc::EINVAL);
        let other = Destination::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)), 80);
        assert_eq!(f.edit_dest(&s, &other).unwrap_err().errno(), libc::ENOENT);
        assert_eq!(f.del_dest(&s, &other).unwrap_err().errno(), libc::ENOENT);
    }

    #[test]
    fn newest_first() {
        let mut f = FakeIpvs::new();
        f.add_service(&tcp([10, 0, 0, 1], 80)).unwrap();
        f.add_service(&tcp([10, 0, 0, 2], 80)).unwrap();
        let s = f.services().unwrap();
        assert_eq!(s[0].key, tcp([10, 0, 0, 2], 80).key);
    }

    #[test]
    fn injected_failure_is_used_once() {
        let mut f = FakeIpvs::new();
        f.fail_next(Op::Flush, libc::EPERM);
        assert_eq!(f.flush().unwrap_err().errno(), libc::EPERM);
        f.flush().unwrap();
    }

    #[test]
    fn daemon_semantics() {
        let mut f = FakeIpvs::new();
        let d = SyncDaemon {
            state: DaemonState::Master,
            mcast_ifn: "eth0".into(),
            syncid: 0,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        };
        f.start_daemon(&d).unwrap();
        assert_eq!(f.start_daemon(&d).unwrap_err().errno(), libc::EEXIST);
        f.stop_daemon(&d).unwrap();
        assert_eq!(f.stop_daemon(&d).unwrap_err().errno(), libc::ESRCH);
        let mut nodev = d.clone();
        nodev.mcast_ifn = "nope0".into();
        assert_eq!(f.start_daemon(&nodev).unwrap_err().errno(), libc::ENODEV);
    }
}
