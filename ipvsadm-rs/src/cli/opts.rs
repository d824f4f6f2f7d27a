//! ipvsadm's commands, options, the command x option legality table, and
//! option parsing into a command entry (ipvsadm.c `parse_options`).

use std::net::IpAddr;

use super::addr::{atoi, inet_aton, inet_pton4, inet_pton6, string_to_number, strtol};
use super::host::Host;
use super::popt::{ArgKind, Context, Next, OptDef};
use super::Stop;
use crate::model::*;

/// Commands, in the order of ipvsadm's `cmdnames` and legality table rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
}

impl Cmd {
    pub fn name(self) -> &'static str {
        CMD_NAMES[self as usize]
    }
}

const CMD_NAMES: [&str; 14] = [
    "add-service",
    "edit-service",
    "delete-service",
    "flush",
    "list",
    "add-server",
    "delete-server",
    "edit-server",
    "set",
    "start-daemon",
    "stop-daemon",
    "restore",
    "save",
    "zero",
];

/// Tracked options; the discriminant is the bit number (OPTC_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    Numeric = 0,
    Connection,
    Service,
    Scheduler,
    Persistent,
    Netmask,
    Server,
    Forward,
    Weight,
    UThreshold,
    LThreshold,
    Mcast,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    SyncId,
    Exact,
    OnePacket,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
}

impl Opt {
    pub fn bit(self) -> u64 {
        1u64 << (self as u32)
    }
}

const OPT_NAMES: [&str; 34] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
];

/// `commands_v_options`: `+` compulsory, `x` illegal, `1` at most one of
/// the `1` options, `.` optional. Rows in [`Cmd`] order, columns in bit order.
const LEGALITY: [&[u8; 34]; 14] = [
    b"xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx", // add-service
    b"xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx", // edit-service
    b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-service
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // flush
    b".11xxxxxxxxx11.......xxxxxxx.xxxxx", // list
    b"xx+xxx+....xxxxxxxxxxxxxxxxxx.....", // add-server
    b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-server
    b"xx+xxx+....xxxxxxxxxxxxxxxxxx.....", // edit-server
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // set
    b"xxxxxxxxxxx.xxxxxxx.xxxx....xxxxxx", // start-daemon
    b"xxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxx", // stop-daemon
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // restore
    b".xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // save
    b"xx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // zero
];

const TUN_NAMES: [&str; 3] = ["ipip", "gue", "gre"];
const TUN_OPTS: [Opt; 4] = [Opt::TunPort, Opt::TunNocsum, Opt::TunCsum, Opt::TunRemcsum];
const TUN_LEGALITY: [&[u8; 4]; 3] = [b"xxxx", b"+111", b"x11x"];

/// Printing format flags (FMT_*).
pub mod fmt {
    pub const NUMERIC: u32 = 0x0001;
    pub const RULE: u32 = 0x0002;
    pub const STATS: u32 = 0x0004;
    pub const RATE: u32 = 0x0008;
    pub const THRESHOLDS: u32 = 0x0010;
    pub const PERSISTENTCONN: u32 = 0x0020;
    pub const NOSORT: u32 = 0x0040;
    pub const EXACT: u32 = 0x0080;
    pub const TUN_INFO: u32 = 0x0100;
}

/// What `-t/-u/--sctp-service/-f` and friends build (ipvsadm's
/// `ipvs_service_t`, zero-initialised like the original's memset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvcSpec {
    pub af: u16,
    pub protocol: u16,
    /// `union nf_inet_addr`: IPv4 lives in the first four bytes.
    pub addr: [u8; 16],
    pub port: u16,
    pub fwmark: u32,
    pub sched: Vec<u8>,
    pub flags: u32,
    pub timeout: u32,
    /// Model form: IPv4 mask as a host-order u32, IPv6 prefix length.
    pub netmask: u32,
    pub pe: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestSpec {
    pub af: u16,
    pub addr: [u8; 16],
    pub port: u16,
    pub conn_flags: u32,
    pub weight: i32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub tun_type: u8,
    pub tun_port: u16,
    pub tun_flags: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSpec {
    pub state: DaemonState,
    pub ifn: Vec<u8>,
    pub syncid: u32,
    pub maxlen: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

/// A parsed command line (`struct ipvs_command_entry` plus options/format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub cmd: Cmd,
    pub svc: SvcSpec,
    pub dest: DestSpec,
    pub timeout: Timeouts,
    pub daemon: DaemonSpec,
    pub options: u64,
    pub format: u32,
}

impl Entry {
    fn new(cmd: Cmd) -> Self {
        Entry {
            cmd,
            svc: SvcSpec {
                af: 0,
                protocol: 0,
                addr: [0; 16],
                port: 0,
                fwmark: 0,
                sched: Vec::new(),
                flags: 0,
                timeout: 0,
                netmask: 0xffff_ffff,
                pe: Vec::new(),
            },
            dest: DestSpec {
                af: 0,
                addr: [0; 16],
                port: 0,
                conn_flags: ForwardMethod::DirectRoute.raw(),
                weight: 1,
                u_threshold: 0,
                l_threshold: 0,
                tun_type: 0,
                tun_port: 0,
                tun_flags: 0,
            },
            timeout: Timeouts::default(),
            daemon: DaemonSpec {
                state: DaemonState::Master,
                ifn: Vec::new(),
                syncid: 0,
                maxlen: None,
                group: None,
                port: None,
                ttl: None,
            },
            options: 0,
            format: 0,
        }
    }

    pub fn has(&self, o: Opt) -> bool {
        self.options & o.bit() != 0
    }
}

pub fn addr_from(af: u16, a: &[u8; 16]) -> IpAddr {
    if af == AF_INET6 {
        IpAddr::from(*a)
    } else {
        IpAddr::from([a[0], a[1], a[2], a[3]])
    }
}

impl SvcSpec {
    /// The model service this entry names (for sending to the kernel).
    pub fn to_service(&self) -> Service {
        let af = if self.af == AF_INET6 {
            AF_INET6
        } else {
            AF_INET
        };
        let key = if self.fwmark != 0 {
            ServiceKey::Fwmark {
                af,
                mark: self.fwmark,
            }
        } else {
            ServiceKey::Addr {
                protocol: self.protocol,
                addr: addr_from(af, &self.addr),
                port: self.port,
            }
        };
        Service {
            key,
            scheduler: String::from_utf8_lossy(&self.sched).into_owned(),
            pe_name: String::from_utf8_lossy(&self.pe).into_owned(),
            flags: self.flags,
            timeout: self.timeout,
            netmask: self.netmask,
            stats: Stats::default(),
            stats_source: StatsSource::Stats64,
        }
    }
}

impl DestSpec {
    pub fn to_destination(&self) -> Destination {
        let mut d = Destination::new(addr_from(self.af, &self.addr), self.port);
        d.forward = ForwardMethod::from_raw(self.conn_flags);
        d.weight = self.weight;
        d.u_threshold = self.u_threshold;
        d.l_threshold = self.l_threshold;
        d.tun_type = TunnelType::from_raw(self.tun_type);
        d.tun_port = self.tun_port;
        d.tun_flags = self.tun_flags;
        d
    }
}

impl DaemonSpec {
    pub fn to_daemon(&self) -> SyncDaemon {
        SyncDaemon {
            state: self.state,
            mcast_ifn: String::from_utf8_lossy(&self.ifn).into_owned(),
            syncid: self.syncid,
            sync_maxlen: self.maxlen,
            mcast_group: self.group,
            mcast_port: self.port,
            mcast_ttl: self.ttl,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Command(Cmd),
    Help,
    Version,
    StartD,
    StopD,
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Sched,
    Persistent,
    Netmask,
    Server,
    Masq,
    Ipip,
    Gate,
    Weight,
    UThr,
    LThr,
    Numeric,
    Connection,
    McastIf,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
}

const fn o(long: &'static str, short: u8, arg: ArgKind, tag: Tag) -> OptDef<Tag> {
    OptDef {
        long: Some(long),
        short: if short == 0 { None } else { Some(short) },
        arg,
        tag,
    }
}

use ArgKind::{None as N, Optional as P, Required as S};

/// ipvsadm 1.31's popt table, in its order (`--list` is there twice, for
/// `-L` and `-l`; the long name finds the first).
const TABLE: &[OptDef<Tag>] = &[
    o("add-service", b'A', N, Tag::Command(Cmd::Add)),
    o("edit-service", b'E', N, Tag::Command(Cmd::Edit)),
    o("delete-service", b'D', N, Tag::Command(Cmd::Del)),
    o("clear", b'C', N, Tag::Command(Cmd::Flush)),
    o("list", b'L', N, Tag::Command(Cmd::List)),
    o("list", b'l', N, Tag::Command(Cmd::List)),
    o("zero", b'Z', N, Tag::Command(Cmd::Zero)),
    o("add-server", b'a', N, Tag::Command(Cmd::AddDest)),
    o("edit-server", b'e', N, Tag::Command(Cmd::EditDest)),
    o("delete-server", b'd', N, Tag::Command(Cmd::DelDest)),
    o("set", 0, N, Tag::Command(Cmd::Timeout)),
    o("help", b'h', N, Tag::Help),
    o("version", b'v', N, Tag::Version),
    o("restore", b'R', N, Tag::Command(Cmd::Restore)),
    o("save", b'S', N, Tag::Command(Cmd::Save)),
    o("start-daemon", 0, S, Tag::StartD),
    o("stop-daemon", 0, S, Tag::StopD),
    o("tcp-service", b't', S, Tag::Tcp),
    o("udp-service", b'u', S, Tag::Udp),
    o("sctp-service", 0, S, Tag::Sctp),
    o("fwmark-service", b'f', S, Tag::Fwmark),
    o("scheduler", b's', S, Tag::Sched),
    o("persistent", b'p', P, Tag::Persistent),
    o("netmask", b'M', S, Tag::Netmask),
    o("real-server", b'r', S, Tag::Server),
    o("masquerading", b'm', N, Tag::Masq),
    o("ipip", b'i', N, Tag::Ipip),
    o("gatewaying", b'g', N, Tag::Gate),
    o("weight", b'w', S, Tag::Weight),
    o("u-threshold", b'x', S, Tag::UThr),
    o("l-threshold", b'y', S, Tag::LThr),
    o("numeric", b'n', N, Tag::Numeric),
    o("connection", b'c', N, Tag::Connection),
    o("mcast-interface", 0, S, Tag::McastIf),
    o("syncid", 0, S, Tag::SyncId),
    o("timeout", 0, N, Tag::Timeout),
    o("daemon", 0, N, Tag::Daemon),
    o("stats", 0, N, Tag::Stats),
    o("rate", 0, N, Tag::Rate),
    o("thresholds", 0, N, Tag::Thresholds),
    o("persistent-conn", 0, N, Tag::PersistentConn),
    o("nosort", 0, N, Tag::NoSort),
    o("sort", 0, N, Tag::Sort),
    o("exact", b'X', N, Tag::Exact),
    o("ipv6", b'6', N, Tag::Ipv6),
    o("ops", b'o', N, Tag::Ops),
    o("pe", 0, S, Tag::Pe),
    o("sched-flags", b'b', S, Tag::SchedFlags),
    o("mcast-group", 0, S, Tag::McastGroup),
    o("mcast-port", 0, S, Tag::McastPort),
    o("mcast-ttl", 0, S, Tag::McastTtl),
    o("sync-maxlen", 0, S, Tag::SyncMaxlen),
    o("tun-info", 0, N, Tag::TunInfo),
    o("tun-type", 0, S, Tag::TunType),
    o("tun-port", 0, S, Tag::TunPort),
    o("tun-nocsum", 0, N, Tag::TunNocsum),
    o("tun-csum", 0, N, Tag::TunCsum),
    o("tun-remcsum", 0, N, Tag::TunRemcsum),
];

/// Maximum persistence / connection timeout: 31 days.
pub const MAX_TIMEOUT: i64 = 86400 * 31;
/// `IPVS_SVC_PERSISTENT_TIMEOUT`: what `-p` without a value means.
pub const DEFAULT_PERSISTENT_TIMEOUT: u32 = 360;

/// What the option parser decided, besides a command entry.
pub enum Parsed {
    Entry(Box<Entry>),
    Help,
    Version,
    /// popt failed after the first option: message printed, "return -1".
    PoptFailed,
}

/// Sinks and lookups the parser needs.
pub struct ParseIo<'a> {
    pub err: &'a mut dyn std::io::Write,
    pub host: &'a mut dyn Host,
}

impl ParseIo<'_> {
    /// ipvsadm's `fail()`: message, newline, exit with `code`.
    pub fn fail(&mut self, code: i32, msg: &[u8]) -> Stop {
        let _ = self.err.write_all(msg);
        let _ = self.err.write_all(b"\n");
        Stop::Exit(code)
    }

    pub fn try_help(&mut self, argv0: &[u8]) -> Stop {
        let mut m = b"Try `".to_vec();
        m.extend_from_slice(argv0);
        m.extend_from_slice(b" -h' or '");
        m.extend_from_slice(argv0);
        m.extend_from_slice(b" --help' for more information.\n");
        let _ = self.err.write_all(&m);
        Stop::Exit(255)
    }
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn set_option(io: &mut ParseIo, options: &mut u64, o: Opt) -> Result<(), Stop> {
    if *options & o.bit() != 0 {
        return Err(io.fail(
            2,
            format!("multiple '{}' options specified", OPT_NAMES[o as usize]).as_bytes(),
        ));
    }
    *options |= o.bit();
    Ok(())
}

/// `strncpy(dst, src, n)` into a field that keeps at most `n` bytes: the
/// kernel-bound copy stops at NUL and at the limit.
fn truncated(s: &[u8], n: usize) -> Vec<u8> {
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len()).min(n);
    s[..end].to_vec()
}

const SERVICE_ADDR: u32 = 1;
const SERVICE_PORT: u32 = 2;

fn proto_name(p: u16) -> Option<&'static str> {
    match p {
        IPPROTO_TCP => Some("tcp"),
        IPPROTO_UDP => Some("udp"),
        IPPROTO_SCTP => Some("sctp"),
        _ => None,
    }
}

/// `parse_service`: returns SERVICE_* bits (0 = invalid), updating
/// af/addr/port (and the netmask, for IPv6) of `svc` like the original.
fn parse_service(host: &mut dyn Host, buf: &[u8], svc: &mut SvcSpec) -> u32 {
    // Only what precedes a NUL is visible to C.
    let buf = &buf[..buf.iter().position(|&c| c == 0).unwrap_or(buf.len())];
    if buf.iter().all(|c| c.is_ascii_digit()) {
        return 0;
    }
    let mut hostpart: &[u8] = buf;
    // Where the port text starts, if a ':' separated it.
    let mut port: Option<&[u8]> = None;
    if buf[0] == b'[' {
        let inner = &buf[1..];
        let Some(close) = inner.iter().position(|&c| c == b']') else {
            return 0;
        };
        if inner.get(close + 1) != Some(&b':') {
            return 0;
        }
        hostpart = &inner[..close];
        port = Some(&inner[close + 2..]);
    }
    if let Some(a6) = inet_pton6(hostpart) {
        svc.addr = a6.octets();
        svc.af = AF_INET6;
        svc.netmask = 128;
    } else {
        // The original re-splits the (bracket-stripped) host at its last
        // ':'; for "[1.2.3.4]:80" that finds none and the port is lost.
        port = None;
        if let Some(i) = hostpart.iter().rposition(|&c| c == b':') {
            port = Some(&hostpart[i + 1..]);
            hostpart = &hostpart[..i];
        }
        let a4 = match inet_aton(hostpart) {
            Some(a) => a,
            None => match host.host_to_addr(hostpart) {
                Some(a) => a,
                None => return 0,
            },
        };
        svc.addr[..4].copy_from_slice(&a4.octets());
        svc.af = AF_INET;
    }
    let mut result = SERVICE_ADDR;
    if let Some(p) = port {
        result |= SERVICE_PORT;
        if let Some(n) = string_to_number(p, 0, 65535) {
            svc.port = n as u16;
        } else if let Some(n) = proto_name(svc.protocol).and_then(|pn| host.service_to_port(p, pn))
        {
            svc.port = n;
        } else {
            return 0;
        }
    }
    result
}

/// `parse_sched_flags` (fails like the original, except that a list with
/// no flag at all - which crashes the original - is reported as invalid).
fn parse_sched_flags(io: &mut ParseIo, sched: &[u8], arg: &[u8]) -> Result<u32, Stop> {
    let sched: &[u8] = if sched.is_empty() { b"wlc" } else { sched };
    let toks: Vec<&[u8]> = arg
        .split(|&c| c == b',')
        .filter(|t| !t.is_empty())
        .collect();
    if toks.is_empty() {
        return Err(io.fail(2, &cat(&[b"invalid scheduler flag `", arg, b"'"])));
    }
    let mut flags = 0;
    for t in toks {
        let (bit, need): (u32, Option<&[u8]>) = match t {
            b"flag-1" => (svc_flags::SCHED1, None),
            b"flag-2" => (svc_flags::SCHED2, None),
            b"flag-3" => (svc_flags::SCHED3, None),
            b"sh-fallback" => (svc_flags::SCHED1, Some(b"sh")),
            b"sh-port" => (svc_flags::SCHED2, Some(b"sh")),
            b"mh-fallback" => (svc_flags::SCHED1, Some(b"mh")),
            b"mh-port" => (svc_flags::SCHED2, Some(b"mh")),
            _ => return Err(io.fail(2, &cat(&[b"invalid scheduler flag `", t, b"'"]))),
        };
        flags |= bit;
        if let Some(n) = need {
            if sched != n {
                return Err(io.fail(2, &cat(&[b"incompatible scheduler flag `", t, b"'"])));
            }
        }
    }
    Ok(flags)
}

/// `parse_options`: the popt loop with every per-option check, then the
/// leftovers and the scheduler flags.
pub fn parse_options(io: &mut ParseIo, argv: &[Vec<u8>]) -> Result<Parsed, Stop> {
    let argv0: &[u8] = argv.first().map(|a| a.as_slice()).unwrap_or(b"");
    let posix = io.host.posixly_correct();
    let mut ctx = Context::new(TABLE, argv).posix_me_harder(posix);
    let first = ctx.next_opt();
    let mut ce = match first {
        Next::Opt(Tag::Command(c), _) => Entry::new(c),
        Next::Opt(t @ (Tag::StartD | Tag::StopD), Some(a)) => {
            let start = t == Tag::StartD;
            let mut ce = Entry::new(if start {
                Cmd::StartDaemon
            } else {
                Cmd::StopDaemon
            });
            ce.daemon.state = match a.as_slice() {
                b"master" => DaemonState::Master,
                b"backup" => DaemonState::Backup,
                _ => {
                    let m: &[u8] = if start {
                        b"illegal start-daemon parameter specified"
                    } else {
                        b"illegal start_daemon specified"
                    };
                    return Err(io.fail(2, m));
                }
            };
            ce
        }
        Next::Opt(Tag::Help, _) => return Ok(Parsed::Help),
        Next::Opt(Tag::Version, _) => return Ok(Parsed::Version),
        _ => return Err(io.try_help(argv0)),
    };
    let mut sched_flags_arg: Vec<u8> = Vec::new();
    let opts = &mut ce.options;
    loop {
        let (tag, arg) = match ctx.next_opt() {
            Next::Opt(t, a) => (t, a),
            Next::End => break,
            Next::Err(e) => {
                let mut m = ctx.bad_option().to_vec();
                m.extend_from_slice(b": ");
                m.extend_from_slice(e.message().as_bytes());
                m.push(b'\n');
                let _ = io.err.write_all(&m);
                return Ok(Parsed::PoptFailed);
            }
        };
        let a: Vec<u8> = arg.clone().unwrap_or_default();
        match tag {
            Tag::Tcp | Tag::Udp | Tag::Sctp => {
                set_option(io, opts, Opt::Service)?;
                ce.svc.protocol = match tag {
                    Tag::Tcp => IPPROTO_TCP,
                    Tag::Udp => IPPROTO_UDP,
                    _ => IPPROTO_SCTP,
                };
                if parse_service(io.host, &a, &mut ce.svc) & SERVICE_ADDR == 0 {
                    return Err(io.fail(2, b"illegal virtual server address[:port] specified"));
                }
            }
            Tag::Fwmark => {
                set_option(io, opts, Opt::Service)?;
                ce.svc.af = AF_INET;
                ce.svc.protocol = IPPROTO_TCP;
                let (l, erange, used) = strtol(&a, 10);
                if used == 0 || used != a.len() || erange || l <= 0 || l > u32::MAX as i64 {
                    return Err(io.fail(2, &cat(&[b"invalid fwmark value `", &a, b"' specified"])));
                }
                ce.svc.fwmark = l as u32;
            }
            Tag::Sched => {
                set_option(io, opts, Opt::Scheduler)?;
                ce.svc.sched = truncated(&a, 15);
            }
            Tag::Persistent => {
                set_option(io, opts, Opt::Persistent)?;
                ce.svc.flags |= svc_flags::PERSISTENT;
                ce.svc.timeout = match &arg {
                    None => DEFAULT_PERSISTENT_TIMEOUT,
                    Some(t) => match string_to_number(t, 1, MAX_TIMEOUT) {
                        Some(n) => n as u32,
                        None => {
                            return Err(
                                io.fail(2, &cat(&[b"invalid timeout value `", t, b"' specified"]))
                            )
                        }
                    },
                };
            }
            Tag::Netmask => {
                set_option(io, opts, Opt::Netmask)?;
                if ce.svc.af != AF_INET6 {
                    let m = inet_aton(&a).or_else(|| io.host.host_to_addr(&a));
                    match m {
                        Some(m) => ce.svc.netmask = u32::from(m),
                        None => {
                            return Err(
                                io.fail(2, b"illegal virtual server persistent mask specified")
                            )
                        }
                    }
                } else {
                    let n = atoi(&a) as u32;
                    ce.svc.netmask = n;
                    if !(1..=128).contains(&n) {
                        return Err(io.fail(2, b"illegal ipv6 netmask specified"));
                    }
                }
            }
            Tag::Server => {
                set_option(io, opts, Opt::Server)?;
                let mut t = ce.svc.clone();
                let parse = parse_service(io.host, &a, &mut t);
                ce.dest.af = t.af;
                ce.dest.addr = t.addr;
                ce.dest.port = t.port;
                if parse & SERVICE_ADDR == 0 {
                    return Err(io.fail(2, b"illegal real server address[:port] specified"));
                }
                if parse == SERVICE_ADDR {
                    ce.dest.port = ce.svc.port;
                }
            }
            Tag::Ipip | Tag::Gate | Tag::Masq => {
                set_option(io, opts, Opt::Forward)?;
                ce.dest.conn_flags = match tag {
                    Tag::Ipip => ForwardMethod::Tunnel,
                    Tag::Gate => ForwardMethod::DirectRoute,
                    _ => ForwardMethod::Masquerade,
                }
                .raw();
            }
            Tag::Weight => {
                set_option(io, opts, Opt::Weight)?;
                // Debian's build accepts weights up to INT_MAX (upstream 65535).
                match string_to_number(&a, 0, i32::MAX as i64) {
                    Some(n) => ce.dest.weight = n as i32,
                    None => return Err(io.fail(2, b"illegal weight specified")),
                }
            }
            Tag::UThr => {
                set_option(io, opts, Opt::UThreshold)?;
                match string_to_number(&a, 0, i32::MAX as i64) {
                    Some(n) => ce.dest.u_threshold = n as u32,
                    None => return Err(io.fail(2, b"illegal u_threshold specified")),
                }
            }
            Tag::LThr => {
                set_option(io, opts, Opt::LThreshold)?;
                match string_to_number(&a, 0, i32::MAX as i64) {
                    Some(n) => ce.dest.l_threshold = n as u32,
                    None => return Err(io.fail(2, b"illegal l_threshold specified")),
                }
            }
            Tag::Connection => set_option(io, opts, Opt::Connection)?,
            Tag::Numeric => {
                set_option(io, opts, Opt::Numeric)?;
                ce.format |= fmt::NUMERIC;
            }
            Tag::McastIf => {
                set_option(io, opts, Opt::Mcast)?;
                ce.daemon.ifn = truncated(&a, 15);
            }
            Tag::SyncId => {
                set_option(io, opts, Opt::SyncId)?;
                match string_to_number(&a, 0, 255) {
                    Some(n) => ce.daemon.syncid = n as u32,
                    None => return Err(io.fail(2, b"illegal syncid specified")),
                }
            }
            Tag::Timeout => set_option(io, opts, Opt::Timeout)?,
            Tag::Daemon => set_option(io, opts, Opt::Daemon)?,
            Tag::Stats => {
                set_option(io, opts, Opt::Stats)?;
                ce.format |= fmt::STATS;
            }
            Tag::Rate => {
                set_option(io, opts, Opt::Rate)?;
                ce.format |= fmt::RATE;
            }
            Tag::Thresholds => {
                set_option(io, opts, Opt::Thresholds)?;
                ce.format |= fmt::THRESHOLDS;
            }
            Tag::PersistentConn => {
                set_option(io, opts, Opt::PersistentConn)?;
                ce.format |= fmt::PERSISTENTCONN;
            }
            Tag::NoSort => {
                set_option(io, opts, Opt::NoSort)?;
                ce.format |= fmt::NOSORT;
            }
            Tag::Sort => {}
            Tag::Exact => {
                set_option(io, opts, Opt::Exact)?;
                ce.format |= fmt::EXACT;
            }
            Tag::Ipv6 => {
                if ce.svc.fwmark != 0 {
                    ce.svc.af = AF_INET6;
                    ce.svc.netmask = 128;
                } else {
                    // The message carries its own newline and fail() adds one.
                    return Err(io.fail(2, b"-6 used before -f\n"));
                }
            }
            Tag::Ops => {
                set_option(io, opts, Opt::OnePacket)?;
                ce.svc.flags |= svc_flags::ONEPACKET;
            }
            Tag::Pe => {
                set_option(io, opts, Opt::Pe)?;
                ce.svc.pe = truncated(&a, 16);
            }
            Tag::SchedFlags => {
                set_option(io, opts, Opt::SchedFlags)?;
                // A 128-byte buffer filled with snprintf.
                sched_flags_arg = truncated(&a, 127);
            }
            Tag::McastGroup => {
                set_option(io, opts, Opt::McastGroup)?;
                if a.contains(&b':') {
                    match inet_pton6(&a) {
                        Some(g) if g.is_multicast() => ce.daemon.group = Some(IpAddr::V6(g)),
                        _ => {
                            return Err(io.fail(2, &cat(&[b"invalid IPv6 mcast-group `", &a, b"'"])))
                        }
                    }
                } else {
                    match inet_pton4(&a) {
                        Some(g) if g.is_multicast() => ce.daemon.group = Some(IpAddr::V4(g)),
                        _ => {
                            return Err(io.fail(2, &cat(&[b"invalid IPv4 mcast-group `", &a, b"'"])))
                        }
                    }
                }
            }
            Tag::McastPort => {
                set_option(io, opts, Opt::McastPort)?;
                match string_to_number(&a, 1, 65535) {
                    Some(n) => ce.daemon.port = Some(n as u16),
                    None => return Err(io.fail(2, b"illegal mcast-port specified")),
                }
            }
            Tag::McastTtl => {
                set_option(io, opts, Opt::McastTtl)?;
                match string_to_number(&a, 1, 255) {
                    Some(n) => ce.daemon.ttl = Some(n as u8),
                    None => return Err(io.fail(2, b"illegal mcast-ttl specified")),
                }
            }
            Tag::SyncMaxlen => {
                set_option(io, opts, Opt::SyncMaxlen)?;
                match string_to_number(&a, 1, 65535 - 20 - 8) {
                    Some(n) => ce.daemon.maxlen = Some(n as u16),
                    None => return Err(io.fail(2, b"illegal sync-maxlen specified")),
                }
            }
            Tag::TunInfo => {
                set_option(io, opts, Opt::TunInfo)?;
                ce.format |= fmt::TUN_INFO;
            }
            Tag::TunType => {
                set_option(io, opts, Opt::TunType)?;
                ce.dest.tun_type = match a.as_slice() {
                    b"ipip" => 0,
                    b"gue" => 1,
                    b"gre" => 2,
                    _ => return Err(io.fail(2, b"illegal tunnel type specified")),
                };
            }
            Tag::TunPort => {
                set_option(io, opts, Opt::TunPort)?;
                match string_to_number(&a, 1, 65535) {
                    Some(n) => ce.dest.tun_port = n as u16,
                    None => return Err(io.fail(2, b"illegal tunnel port specified")),
                }
            }
            Tag::TunNocsum => set_option(io, opts, Opt::TunNocsum)?,
            Tag::TunCsum => {
                set_option(io, opts, Opt::TunCsum)?;
                ce.dest.tun_flags |= tun_flags::CSUM;
            }
            Tag::TunRemcsum => {
                set_option(io, opts, Opt::TunRemcsum)?;
                ce.dest.tun_flags |= tun_flags::REMCSUM;
            }
            // A second command (or -h/-v/--start-daemon...) later on.
            Tag::Command(_) | Tag::Help | Tag::Version | Tag::StartD | Tag::StopD => {
                return Err(io.fail(2, &cat(&[b"invalid option `", ctx.bad_option(), b"'"])));
            }
        }
    }

    if ce.cmd == Cmd::Timeout {
        let (a, b, c) = (ctx.get_arg(), ctx.get_arg(), ctx.get_arg());
        match (a, b, c) {
            (Some(a), Some(b), Some(c)) => {
                let mut vals = [0u32; 3];
                for (v, s) in vals.iter_mut().zip([a, b, c]) {
                    *v = match string_to_number(&s, 0, MAX_TIMEOUT) {
                        Some(n) => n as u32,
                        None => {
                            return Err(
                                io.fail(2, &cat(&[b"invalid timeout value `", &s, b"' specified"]))
                            )
                        }
                    };
                }
                ce.timeout = Timeouts {
                    tcp: vals[0],
                    tcp_fin: vals[1],
                    udp: vals[2],
                };
            }
            _ => return Err(io.fail(2, b"--set option requires 3 timeout values")),
        }
    }
    if let Some(extra) = ctx.get_arg() {
        return Err(io.fail(2, &cat(&[b"unexpected argument ", &extra])));
    }
    if !sched_flags_arg.is_empty() {
        ce.svc.flags &= !(svc_flags::SCHED1 | svc_flags::SCHED2 | svc_flags::SCHED3);
        ce.svc.flags |= parse_sched_flags(io, &ce.svc.sched, &sched_flags_arg)?;
    }
    Ok(Parsed::Entry(Box::new(ce)))
}

/// `generic_opt_check` against the legality table.
pub fn generic_opt_check(io: &mut ParseIo, cmd: Cmd, options: u64) -> Result<(), Stop> {
    let row = LEGALITY[cmd as usize];
    check_row(io, row, |j| j, options, cmd.name(), "command")
}

/// `tunnel_opt_check` for `-a`/`-e`.
pub fn tunnel_opt_check(io: &mut ParseIo, tun_type: u8, options: u64) -> Result<(), Stop> {
    let Some(row) = TUN_LEGALITY.get(tun_type as usize) else {
        return Ok(());
    };
    let tname = TUN_NAMES[tun_type as usize];
    check_row(
        io,
        row.as_slice(),
        |j| TUN_OPTS[j] as usize,
        options,
        tname,
        "tunnel type",
    )
}

/// One row of a legality table (`+` compulsory, `x` illegal, `1` at most
/// one of them): the original has two copies of this loop (commands and
/// tunnel types) that differ only in which option a column means and in
/// the word their messages use (`what`).
fn check_row(
    io: &mut ParseIo,
    row: &[u8],
    option_of_column: impl Fn(usize) -> usize,
    options: u64,
    name: &str,
    what: &str,
) -> Result<(), Stop> {
    let mut last = 0usize;
    let mut count = 0;
    for (j, &rule) in row.iter().enumerate() {
        let k = option_of_column(j);
        let given = options & (1u64 << k) != 0;
        let message = if !given {
            if rule != b'+' {
                continue;
            }
            format!(
                "You need to supply the '{}' option for the '{name}' {what}",
                OPT_NAMES[k]
            )
        } else if rule == b'x' {
            format!("Illegal '{}' option with the '{name}' {what}", OPT_NAMES[k])
        } else if rule == b'1' {
            count += 1;
            if count == 1 {
                last = k;
                continue;
            }
            format!(
                "The option '{}' conflicts with the '{}' option in the '{name}' {what}",
                OPT_NAMES[k], OPT_NAMES[last]
            )
        } else {
            continue;
        };
        return Err(io.fail(2, message.as_bytes()));
    }
    Ok(())
}

/// The validation `process_options` does after parsing, before executing.
pub fn validate(io: &mut ParseIo, ce: &mut Entry) -> Result<(), Stop> {
    generic_opt_check(io, ce.cmd, ce.options)?;
    if matches!(ce.cmd, Cmd::Add | Cmd::Edit) {
        if ce.svc.fwmark == 0 && ce.svc.port == 0 && ce.svc.flags & svc_flags::PERSISTENT == 0 {
            return Err(io.fail(2, b"Zero port specified for non-persistent service"));
        }
        if ce.svc.flags & svc_flags::ONEPACKET != 0
            && ce.svc.fwmark == 0
            && ce.svc.protocol != IPPROTO_UDP
        {
            return Err(io.fail(2, b"One-Packet Scheduling is only for UDP virtual services"));
        }
        if ce.svc.sched.is_empty() {
            ce.svc.sched = b"wlc".to_vec();
        }
    }
    if ce.cmd == Cmd::StartDaemon && ce.daemon.ifn.is_empty() {
        ce.daemon.ifn = b"eth0".to_vec();
    }
    let fwd = ce.dest.conn_flags & ForwardMethod::MASK;
    if matches!(ce.cmd, Cmd::AddDest | Cmd::EditDest) {
        let tunnel = ForwardMethod::Tunnel.raw();
        if ce.svc.fwmark == 0 && (fwd == tunnel || fwd == ForwardMethod::DirectRoute.raw()) {
            ce.dest.port = ce.svc.port;
        }
        if ce.dest.af != ce.svc.af && fwd != tunnel {
            return Err(io.fail(
                2,
                b"Different address family is allowed only for tunneling servers",
            ));
        }
        let tun_opts = Opt::TunType.bit()
            | Opt::TunPort.bit()
            | Opt::TunNocsum.bit()
            | Opt::TunCsum.bit()
            | Opt::TunRemcsum.bit();
        if ce.options & tun_opts != 0 && fwd != tunnel {
            return Err(io.fail(2, b"Tunnel options conflict with forward method"));
        }
        tunnel_opt_check(io, ce.dest.tun_type, ce.options)?;
    }
    if ce.cmd == Cmd::List {
        let o = ce.options;
        let any = |bits: &[Opt]| bits.iter().any(|b| o & b.bit() != 0);
        if (any(&[Opt::Connection, Opt::Timeout, Opt::Daemon])
            && any(&[Opt::Stats, Opt::Rate, Opt::Thresholds]))
            || (any(&[Opt::Timeout, Opt::Daemon]) && any(&[Opt::PersistentConn]))
        {
            return Err(io.fail(2, b"options conflicts in the list command"));
        }
    }
    Ok(())
}
