//! Domain model of an IPVS table, as the kernel reports it over netlink.
//!
//! Values keep the kernel's meaning (not ipvsadm's presentation): ports are
//! host-order `u16`, addresses are `IpAddr`, the IPv4 netmask is the dotted mask
//! and the IPv6 netmask is a prefix length, exactly as the NETMASK attribute
//! carries them. Presentation quirks (signed fwmarks, u32-truncated dest
//! stats, `(null)` forwarding names) belong to the CLI, not here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const AF_INET: u16 = libc::AF_INET as u16;
pub const AF_INET6: u16 = libc::AF_INET6 as u16;

pub const IPPROTO_TCP: u16 = 6;
pub const IPPROTO_UDP: u16 = 17;
pub const IPPROTO_SCTP: u16 = 132;

/// `IP_VS_SVC_F_*` service flags.
pub mod svc_flags {
    pub const PERSISTENT: u32 = 0x0001;
    pub const HASHED: u32 = 0x0002;
    pub const ONEPACKET: u32 = 0x0004;
    pub const SCHED1: u32 = 0x0008;
    pub const SCHED2: u32 = 0x0010;
    pub const SCHED3: u32 = 0x0020;
}

/// `IP_VS_CONN_F_*` forwarding methods (the low three bits of conn_flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardMethod {
    Masquerade,
    LocalNode,
    Tunnel,
    DirectRoute,
    Bypass,
    /// A value the kernel might report that has no name (5..7).
    Other(u32),
}

impl ForwardMethod {
    pub const MASK: u32 = 0x0007;

    pub fn from_raw(v: u32) -> Self {
        match v & Self::MASK {
            0 => ForwardMethod::Masquerade,
            1 => ForwardMethod::LocalNode,
            2 => ForwardMethod::Tunnel,
            3 => ForwardMethod::DirectRoute,
            4 => ForwardMethod::Bypass,
            o => ForwardMethod::Other(o),
        }
    }

    pub fn raw(self) -> u32 {
        match self {
            ForwardMethod::Masquerade => 0,
            ForwardMethod::LocalNode => 1,
            ForwardMethod::Tunnel => 2,
            ForwardMethod::DirectRoute => 3,
            ForwardMethod::Bypass => 4,
            ForwardMethod::Other(o) => o,
        }
    }
}

/// Tunnel encapsulation of a tunnelled destination (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
    Other(u8),
}

impl TunnelType {
    pub fn from_raw(v: u8) -> Self {
        match v {
            0 => TunnelType::Ipip,
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            o => TunnelType::Other(o),
        }
    }

    pub fn raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
            TunnelType::Other(o) => o,
        }
    }
}

/// `IP_VS_TUNNEL_ENCAP_FLAG_*`.
pub mod tun_flags {
    pub const NOCSUM: u16 = 0;
    pub const CSUM: u16 = 1 << 0;
    pub const REMCSUM: u16 = 1 << 1;
}

/// How a virtual service is identified: by (protocol, address, port) or by
/// firewall mark. The address family is carried separately because a fwmark
/// service still has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    Addr {
        protocol: u16,
        addr: IpAddr,
        port: u16,
    },
    Fwmark {
        af: u16,
        mark: u32,
    },
}

impl ServiceKey {
    pub fn af(&self) -> u16 {
        match self {
            ServiceKey::Addr { addr, .. } => af_of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

pub fn af_of(addr: &IpAddr) -> u16 {
    match addr {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    }
}

/// The kernel's traffic counters and rates for a service or destination.
/// Always held at 64 bits; STATS (32-bit nest) values are widened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// Where a stats block came from: ipvsadm 1.31 presents the two differently
/// (destination STATS64 counters are truncated to 32 bits by its parser).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatsSource {
    #[default]
    Stats64,
    Stats32,
}

/// A virtual service as sent to or reported by the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler name (`wlc`, `rr`, ...; the kernel reports `none` if unbound).
    pub scheduler: String,
    /// Persistence engine name (`sip`), empty if none.
    pub pe_name: String,
    /// `IP_VS_SVC_F_*` bits.
    pub flags: u32,
    /// Persistence timeout in seconds.
    pub timeout: u32,
    /// Raw NETMASK attribute value: for IPv4 the mask as a host-order u32
    /// (0xffffffff = /32), for IPv6 the prefix length (128 = none).
    pub netmask: u32,
    pub stats: Stats,
    pub stats_source: StatsSource,
}

impl Service {
    /// A service with ipvsadm's defaults: wlc, no persistence, full netmask.
    pub fn new(key: ServiceKey) -> Self {
        let netmask = if key.af() == AF_INET6 { 128 } else { u32::MAX };
        Service {
            key,
            scheduler: "wlc".into(),
            pe_name: String::new(),
            flags: 0,
            timeout: 0,
            netmask,
            stats: Stats::default(),
            stats_source: StatsSource::Stats64,
        }
    }

    pub fn af(&self) -> u16 {
        self.key.af()
    }
}

/// A real server behind a virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub addr: IpAddr,
    pub port: u16,
    pub forward: ForwardMethod,
    pub weight: i32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persist_conns: u32,
    pub tun_type: TunnelType,
    /// Host-order tunnel port (GUE).
    pub tun_port: u16,
    pub tun_flags: u16,
    pub stats: Stats,
    pub stats_source: StatsSource,
}

impl Destination {
    pub fn new(addr: IpAddr, port: u16) -> Self {
        Destination {
            addr,
            port,
            forward: ForwardMethod::DirectRoute,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            active_conns: 0,
            inactive_conns: 0,
            persist_conns: 0,
            tun_type: TunnelType::Ipip,
            tun_port: 0,
            tun_flags: 0,
            stats: Stats::default(),
            stats_source: StatsSource::Stats64,
        }
    }

    pub fn af(&self) -> u16 {
        af_of(&self.addr)
    }
}

/// Connection timeouts (`--set` / `--timeout`), seconds; 0 on set = unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// Connection-sync daemon role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonState {
    Master,
    Backup,
}

impl DaemonState {
    pub fn raw(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
        }
    }

    pub fn from_raw(v: u32) -> Option<Self> {
        match v {
            1 => Some(DaemonState::Master),
            2 => Some(DaemonState::Backup),
            _ => None,
        }
    }
}

/// A connection-sync daemon, as started with `--start-daemon` or reported
/// by GET_DAEMON. Optional fields are only sent when the user gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    pub state: DaemonState,
    pub mcast_ifn: String,
    pub syncid: u32,
    pub sync_maxlen: Option<u16>,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: Option<u16>,
    pub mcast_ttl: Option<u8>,
}

/// GET_INFO reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// `0x010201` for 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    pub fn version_triple(&self) -> (u32, u32, u32) {
        (
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff,
        )
    }
}

pub const UNSPECIFIED_V4: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
pub const UNSPECIFIED_V6: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
