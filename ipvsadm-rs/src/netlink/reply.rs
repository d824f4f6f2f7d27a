//! Decoding what the kernel sends back: ACKs and errors, NLMSG_DONE, nlctrl
//! family replies and the IPVS data messages (service, destination, sync
//! daemon, timeouts, info).
//!
//! Required attributes follow ipvsadm 1.31's parser (a reply it would reject
//! is rejected here too, as `Error::Malformed`); values are kept exact
//! (64-bit stats), with the stats' origin recorded so the CLI can reproduce
//! 1.31's truncation of destination counters.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::consts::*;
use super::wire::{genl_header, split_datagram, Attrs, RawMsg};
use crate::model::*;
use crate::{Error, Result};

/// What one received message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// NLMSG_ERROR with error 0.
    Ack,
    /// NLMSG_ERROR with a non-zero error: the positive errno, and the
    /// extended-ack message if the kernel attached one.
    Error {
        errno: i32,
        message: Option<String>,
    },
    /// NLMSG_DONE; `errno` is non-zero when the dump itself failed.
    Done {
        errno: i32,
    },
    /// nlctrl's answer to CTRL_CMD_GETFAMILY.
    Family {
        id: u16,
    },
    Service(Service),
    Dest(Destination),
    Daemon(SyncDaemon),
    Timeouts(Timeouts),
    Info(Info),
}

/// One decoded message with the header fields a client checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub seq: u32,
    pub pid: u32,
    pub flags: u16,
    pub payload: Payload,
}

/// Decodes every message of one received datagram.
///
/// `family` is the IPVS family id (messages of any other type than it,
/// nlctrl and the netlink control types are rejected); `dest_af` is the
/// address family assumed for destinations whose reply lacks ADDR_FAMILY
/// (kernels before 3.18), i.e. the family of the service being listed.
///
/// This is the entry point the fuzz target drives: it must return an error,
/// never panic, whatever the bytes.
pub fn decode_datagram(buf: &[u8], family: u16, dest_af: u16) -> Result<Vec<Reply>> {
    decode_datagram_by(buf, family, |_| dest_af)
}

/// Like [`decode_datagram`], with the fallback destination family chosen
/// per sequence number (several dumps may share one socket).
pub fn decode_datagram_by(
    buf: &[u8],
    family: u16,
    dest_af: impl Fn(u32) -> u16,
) -> Result<Vec<Reply>> {
    let mut out = Vec::new();
    for m in split_datagram(buf)? {
        if m.ty == NLMSG_NOOP {
            continue;
        }
        out.push(Reply {
            seq: m.seq,
            pid: m.pid,
            flags: m.flags,
            payload: decode_message(&m, family, dest_af(m.seq))?,
        });
    }
    Ok(out)
}

/// Decodes one message (already split out of its datagram).
pub fn decode_message(m: &RawMsg<'_>, family: u16, dest_af: u16) -> Result<Payload> {
    match m.ty {
        NLMSG_ERROR => decode_error(m),
        NLMSG_DONE => decode_done(m),
        NLMSG_OVERRUN => Err(Error::Malformed("kernel reported NLMSG_OVERRUN".into())),
        t if t == family => decode_ipvs(m.payload, dest_af),
        GENL_ID_CTRL => decode_ctrl(m.payload),
        t => Err(Error::Malformed(format!(
            "unexpected netlink message type {t:#x} (IPVS family is {family:#x})"
        ))),
    }
}

fn read_i32(p: &[u8]) -> Option<i32> {
    p.get(..4)
        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

fn decode_error(m: &RawMsg<'_>) -> Result<Payload> {
    let error = read_i32(m.payload).ok_or_else(|| {
        Error::Malformed(format!(
            "NLMSG_ERROR with {} payload bytes (needs 4)",
            m.payload.len()
        ))
    })?;
    if error == 0 {
        return Ok(Payload::Ack);
    }
    // The kernel sends -errno; a positive value (or i32::MIN, whose negation
    // overflows) cannot come from it.
    if error > 0 || error == i32::MIN {
        return Err(Error::Malformed(format!(
            "NLMSG_ERROR carries impossible error code {error}"
        )));
    }
    Ok(Payload::Error {
        errno: -error,
        message: extack_message(m),
    })
}

/// The NLMSGERR_ATTR_MSG TLV of an error, if present and well formed. It
/// is only decoration for the errno, so a damaged TLV area is ignored
/// rather than turning a clear kernel error into a decoding error.
fn extack_message(m: &RawMsg<'_>) -> Option<String> {
    if m.flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    // errno, then the echoed request: its header only when capped, else all.
    let orig = m.payload.get(4..)?;
    let orig_len = if m.flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        let l = u32::from_ne_bytes(orig.get(..4)?.try_into().ok()?) as usize;
        (l.checked_add(3)? & !3).max(NLMSG_HDRLEN)
    };
    let tlvs = orig.get(orig_len..)?;
    let attrs = Attrs::parse(tlvs, "extended ack").ok()?;
    attrs.opt_str(NLMSGERR_ATTR_MSG)
}

fn decode_done(m: &RawMsg<'_>) -> Result<Payload> {
    // Old kernels may send an empty DONE; modern ones an int that is the
    // dump's final status (0, or -errno if the dump callback failed).
    match read_i32(m.payload) {
        None | Some(0) => Ok(Payload::Done { errno: 0 }),
        Some(e) if e < 0 && e != i32::MIN => Ok(Payload::Done { errno: -e }),
        Some(e) => Err(Error::Malformed(format!(
            "NLMSG_DONE carries impossible status {e}"
        ))),
    }
}

fn decode_ctrl(payload: &[u8]) -> Result<Payload> {
    let (cmd, _version, attrs) = genl_header(payload)?;
    if cmd != CTRL_CMD_NEWFAMILY {
        return Err(Error::Malformed(format!(
            "unexpected nlctrl command {cmd} (expected CTRL_CMD_NEWFAMILY)"
        )));
    }
    let a = Attrs::parse(attrs, "nlctrl family")?;
    Ok(Payload::Family {
        id: a.u16(CTRL_ATTR_FAMILY_ID, "CTRL_ATTR_FAMILY_ID")?,
    })
}

fn decode_ipvs(payload: &[u8], dest_af: u16) -> Result<Payload> {
    let (cmd, _version, attrs) = genl_header(payload)?;
    match cmd {
        IPVS_CMD_NEW_SERVICE => {
            let top = Attrs::parse(attrs, "service message")?;
            let svc = top.nest(IPVS_CMD_ATTR_SERVICE, "IPVS_CMD_ATTR_SERVICE", "service")?;
            Ok(Payload::Service(decode_service(&svc)?))
        }
        IPVS_CMD_NEW_DEST => {
            let top = Attrs::parse(attrs, "destination message")?;
            let d = top.nest(IPVS_CMD_ATTR_DEST, "IPVS_CMD_ATTR_DEST", "destination")?;
            Ok(Payload::Dest(decode_dest(&d, dest_af)?))
        }
        IPVS_CMD_NEW_DAEMON => {
            let top = Attrs::parse(attrs, "daemon message")?;
            let d = top.nest(IPVS_CMD_ATTR_DAEMON, "IPVS_CMD_ATTR_DAEMON", "daemon")?;
            Ok(Payload::Daemon(decode_daemon(&d)?))
        }
        IPVS_CMD_SET_CONFIG => {
            // Each timeout may be absent (ipvsadm then shows 0).
            let a = Attrs::parse(attrs, "timeouts")?;
            Ok(Payload::Timeouts(Timeouts {
                tcp: a
                    .opt_u32(IPVS_CMD_ATTR_TIMEOUT_TCP, "TIMEOUT_TCP")?
                    .unwrap_or(0),
                tcp_fin: a
                    .opt_u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, "TIMEOUT_TCP_FIN")?
                    .unwrap_or(0),
                udp: a
                    .opt_u32(IPVS_CMD_ATTR_TIMEOUT_UDP, "TIMEOUT_UDP")?
                    .unwrap_or(0),
            }))
        }
        IPVS_CMD_SET_INFO => {
            let a = Attrs::parse(attrs, "info")?;
            Ok(Payload::Info(Info {
                version: a.u32(IPVS_INFO_ATTR_VERSION, "INFO_ATTR_VERSION")?,
                conn_tab_size: a.u32(IPVS_INFO_ATTR_CONN_TAB_SIZE, "INFO_ATTR_CONN_TAB_SIZE")?,
            }))
        }
        c => Err(Error::Malformed(format!(
            "unexpected IPVS command {c} in a reply"
        ))),
    }
}

fn decode_addr(a: &Attrs<'_>, ty: u16, name: &str, af: u16) -> Result<IpAddr> {
    match af {
        AF_INET => Ok(IpAddr::V4(Ipv4Addr::from(a.bytes::<4>(ty, name)?))),
        AF_INET6 => Ok(IpAddr::V6(Ipv6Addr::from(a.bytes::<16>(ty, name)?))),
        other => Err(Error::Malformed(format!(
            "{}: unknown address family {other}",
            a.what()
        ))),
    }
}

pub(crate) fn decode_service(a: &Attrs<'_>) -> Result<Service> {
    let af = a.u16(IPVS_SVC_ATTR_AF, "SVC_ATTR_AF")?;
    if af != AF_INET && af != AF_INET6 {
        return Err(Error::Malformed(format!(
            "service: unknown address family {af}"
        )));
    }
    let key = match a.opt_u32(IPVS_SVC_ATTR_FWMARK, "SVC_ATTR_FWMARK")? {
        Some(mark) => ServiceKey::Fwmark { af, mark },
        None => ServiceKey::Addr {
            protocol: a.u16(IPVS_SVC_ATTR_PROTOCOL, "SVC_ATTR_PROTOCOL")?,
            addr: decode_addr(a, IPVS_SVC_ATTR_ADDR, "SVC_ATTR_ADDR", af)?,
            port: a.be16(IPVS_SVC_ATTR_PORT, "SVC_ATTR_PORT")?,
        },
    };
    let flags = a.bytes::<8>(IPVS_SVC_ATTR_FLAGS, "SVC_ATTR_FLAGS")?;
    let (fl, mask) = (
        u32::from_ne_bytes([flags[0], flags[1], flags[2], flags[3]]),
        u32::from_ne_bytes([flags[4], flags[5], flags[6], flags[7]]),
    );
    let nm = a.bytes::<4>(IPVS_SVC_ATTR_NETMASK, "SVC_ATTR_NETMASK")?;
    let netmask = if af == AF_INET6 {
        u32::from_ne_bytes(nm)
    } else {
        u32::from_be_bytes(nm)
    };
    let (stats, stats_source) =
        decode_stats_pair(a, IPVS_SVC_ATTR_STATS64, IPVS_SVC_ATTR_STATS, "service")?;
    Ok(Service {
        key,
        scheduler: a.str(IPVS_SVC_ATTR_SCHED_NAME, "SVC_ATTR_SCHED_NAME")?,
        pe_name: a.opt_str(IPVS_SVC_ATTR_PE_NAME).unwrap_or_default(),
        // ipvsadm keeps only the bits the mask says are valid.
        flags: fl & mask,
        timeout: a.u32(IPVS_SVC_ATTR_TIMEOUT, "SVC_ATTR_TIMEOUT")?,
        netmask,
        stats,
        stats_source,
    })
}

pub(crate) fn decode_dest(a: &Attrs<'_>, fallback_af: u16) -> Result<Destination> {
    // Kernels before 3.18 omit ADDR_FAMILY: the dest then has the service's.
    let af = a
        .opt_u16(IPVS_DEST_ATTR_ADDR_FAMILY, "DEST_ATTR_ADDR_FAMILY")?
        .unwrap_or(fallback_af);
    let (stats, stats_source) = decode_stats_pair(
        a,
        IPVS_DEST_ATTR_STATS64,
        IPVS_DEST_ATTR_STATS,
        "destination",
    )?;
    Ok(Destination {
        addr: decode_addr(a, IPVS_DEST_ATTR_ADDR, "DEST_ATTR_ADDR", af)?,
        port: a.be16(IPVS_DEST_ATTR_PORT, "DEST_ATTR_PORT")?,
        forward: ForwardMethod::from_raw(a.u32(IPVS_DEST_ATTR_FWD_METHOD, "DEST_ATTR_FWD_METHOD")?),
        weight: a.u32(IPVS_DEST_ATTR_WEIGHT, "DEST_ATTR_WEIGHT")? as i32,
        u_threshold: a.u32(IPVS_DEST_ATTR_U_THRESH, "DEST_ATTR_U_THRESH")?,
        l_threshold: a.u32(IPVS_DEST_ATTR_L_THRESH, "DEST_ATTR_L_THRESH")?,
        active_conns: a.u32(IPVS_DEST_ATTR_ACTIVE_CONNS, "DEST_ATTR_ACTIVE_CONNS")?,
        inactive_conns: a.u32(IPVS_DEST_ATTR_INACT_CONNS, "DEST_ATTR_INACT_CONNS")?,
        persist_conns: a.u32(IPVS_DEST_ATTR_PERSIST_CONNS, "DEST_ATTR_PERSIST_CONNS")?,
        // Tunnel attributes appeared in 5.2/5.3; older kernels mean ipip/0/0.
        tun_type: TunnelType::from_raw(
            a.opt_u8(IPVS_DEST_ATTR_TUN_TYPE, "DEST_ATTR_TUN_TYPE")?
                .unwrap_or(0),
        ),
        tun_port: a
            .opt_be16(IPVS_DEST_ATTR_TUN_PORT, "DEST_ATTR_TUN_PORT")?
            .unwrap_or(0),
        tun_flags: a
            .opt_u16(IPVS_DEST_ATTR_TUN_FLAGS, "DEST_ATTR_TUN_FLAGS")?
            .unwrap_or(0),
        stats,
        stats_source,
    })
}

pub(crate) fn decode_daemon(a: &Attrs<'_>) -> Result<SyncDaemon> {
    let raw_state = a.u32(IPVS_DAEMON_ATTR_STATE, "DAEMON_ATTR_STATE")?;
    let state = DaemonState::from_raw(raw_state)
        .ok_or_else(|| Error::Malformed(format!("daemon: unknown state {raw_state}")))?;
    // ipvsadm prefers the IPv4 group when both are present.
    let mcast_group =
        match a.opt_bytes::<4>(IPVS_DAEMON_ATTR_MCAST_GROUP, "DAEMON_ATTR_MCAST_GROUP")? {
            Some(v4) => Some(IpAddr::V4(Ipv4Addr::from(v4))),
            None => a
                .opt_bytes::<16>(IPVS_DAEMON_ATTR_MCAST_GROUP6, "DAEMON_ATTR_MCAST_GROUP6")?
                .map(|v6| IpAddr::V6(Ipv6Addr::from(v6))),
        };
    Ok(SyncDaemon {
        state,
        mcast_ifn: a.str(IPVS_DAEMON_ATTR_MCAST_IFN, "DAEMON_ATTR_MCAST_IFN")?,
        syncid: a.u32(IPVS_DAEMON_ATTR_SYNC_ID, "DAEMON_ATTR_SYNC_ID")?,
        sync_maxlen: a.opt_u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, "DAEMON_ATTR_SYNC_MAXLEN")?,
        mcast_group,
        mcast_port: a.opt_u16(IPVS_DAEMON_ATTR_MCAST_PORT, "DAEMON_ATTR_MCAST_PORT")?,
        mcast_ttl: a.opt_u8(IPVS_DAEMON_ATTR_MCAST_TTL, "DAEMON_ATTR_MCAST_TTL")?,
    })
}

/// STATS64 when present (kernel >= 4.1), else the 32-bit STATS nest, else
/// zeros. Within the chosen nest all ten counters are required, as ipvsadm
/// requires them.
fn decode_stats_pair(
    a: &Attrs<'_>,
    ty64: u16,
    ty32: u16,
    what: &'static str,
) -> Result<(Stats, StatsSource)> {
    if let Some(n) = a.opt_nest(ty64, stats_what(what, true))? {
        return Ok((decode_stats(&n, true)?, StatsSource::Stats64));
    }
    if let Some(n) = a.opt_nest(ty32, stats_what(what, false))? {
        return Ok((decode_stats(&n, false)?, StatsSource::Stats32));
    }
    Ok((Stats::default(), StatsSource::Stats64))
}

fn stats_what(what: &str, wide: bool) -> &'static str {
    match (what, wide) {
        ("service", true) => "service STATS64",
        ("service", false) => "service STATS",
        (_, true) => "destination STATS64",
        (_, false) => "destination STATS",
    }
}

fn decode_stats(n: &Attrs<'_>, wide: bool) -> Result<Stats> {
    // In the 32-bit nest only the byte counters are 64-bit.
    let narrow = |ty: u16, name: &str| -> Result<u64> {
        if wide {
            n.u64(ty, name)
        } else {
            n.u32(ty, name).map(u64::from)
        }
    };
    Ok(Stats {
        conns: narrow(IPVS_STATS_ATTR_CONNS, "STATS_ATTR_CONNS")?,
        inpkts: narrow(IPVS_STATS_ATTR_INPKTS, "STATS_ATTR_INPKTS")?,
        outpkts: narrow(IPVS_STATS_ATTR_OUTPKTS, "STATS_ATTR_OUTPKTS")?,
        inbytes: n.u64(IPVS_STATS_ATTR_INBYTES, "STATS_ATTR_INBYTES")?,
        outbytes: n.u64(IPVS_STATS_ATTR_OUTBYTES, "STATS_ATTR_OUTBYTES")?,
        cps: narrow(IPVS_STATS_ATTR_CPS, "STATS_ATTR_CPS")?,
        inpps: narrow(IPVS_STATS_ATTR_INPPS, "STATS_ATTR_INPPS")?,
        outpps: narrow(IPVS_STATS_ATTR_OUTPPS, "STATS_ATTR_OUTPPS")?,
        inbps: narrow(IPVS_STATS_ATTR_INBPS, "STATS_ATTR_INBPS")?,
        outbps: narrow(IPVS_STATS_ATTR_OUTBPS, "STATS_ATTR_OUTBPS")?,
    })
}
