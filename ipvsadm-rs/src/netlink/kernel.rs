//! The kernel's side of the protocol: builds replies shaped exactly like
//! Linux 6.1's (`ip_vs_genl_fill_*`, `netlink_ack`, `netlink_dump`, nlctrl),
//! with their attribute order and nests without NLA_F_NESTED. Used by the
//! decoder tests, the fake transport scripts and the fuzz corpus; it also
//! documents what a real reply looks like.

use std::net::IpAddr;

use super::consts::*;
use super::wire::MsgBuilder;
use crate::model::*;

/// Header fields of a reply: the kernel echoes the request's seq and the
/// requester's port id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct To {
    pub family: u16,
    pub seq: u32,
    pub pid: u32,
    /// NLM_F_MULTI for dump parts, 0 for a doit's data message.
    pub flags: u16,
}

impl To {
    pub fn doit(family: u16, seq: u32, pid: u32) -> Self {
        To {
            family,
            seq,
            pid,
            flags: 0,
        }
    }
    pub fn dump(family: u16, seq: u32, pid: u32) -> Self {
        To {
            family,
            seq,
            pid,
            flags: NLM_F_MULTI,
        }
    }
}

fn addr16(addr: &IpAddr) -> [u8; 16] {
    let mut a = [0u8; 16];
    match addr {
        IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => a.copy_from_slice(&v6.octets()),
    }
    a
}

fn put_stats(b: &mut MsgBuilder, ty: u16, s: &Stats, wide: bool) {
    b.begin_nest_noflag(ty);
    let narrow = |b: &mut MsgBuilder, t: u16, v: u64| {
        if wide {
            b.put(t, &v.to_ne_bytes())
        } else {
            b.put_u32(t, v as u32)
        }
    };
    narrow(b, IPVS_STATS_ATTR_CONNS, s.conns);
    narrow(b, IPVS_STATS_ATTR_INPKTS, s.inpkts);
    narrow(b, IPVS_STATS_ATTR_OUTPKTS, s.outpkts);
    b.put(IPVS_STATS_ATTR_INBYTES, &s.inbytes.to_ne_bytes());
    b.put(IPVS_STATS_ATTR_OUTBYTES, &s.outbytes.to_ne_bytes());
    narrow(b, IPVS_STATS_ATTR_CPS, s.cps);
    narrow(b, IPVS_STATS_ATTR_INPPS, s.inpps);
    narrow(b, IPVS_STATS_ATTR_OUTPPS, s.outpps);
    narrow(b, IPVS_STATS_ATTR_INBPS, s.inbps);
    narrow(b, IPVS_STATS_ATTR_OUTBPS, s.outbps);
    b.end_nest();
}

/// Which stats nests a reply carries: 6.1 sends both; kernels before 4.1
/// only the 32-bit one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsNests {
    Both,
    Only32,
    None,
}

fn put_stats_nests(b: &mut MsgBuilder, ty32: u16, ty64: u16, s: &Stats, which: StatsNests) {
    match which {
        StatsNests::Both => {
            put_stats(b, ty32, s, false);
            put_stats(b, ty64, s, true);
        }
        StatsNests::Only32 => put_stats(b, ty32, s, false),
        StatsNests::None => {}
    }
}

/// A service message (cmd NEW_SERVICE), as a dump part or a doit answer.
pub fn service(to: To, svc: &Service) -> Vec<u8> {
    service_with(to, svc, StatsNests::Both)
}

pub fn service_with(to: To, svc: &Service, stats: StatsNests) -> Vec<u8> {
    let mut b = MsgBuilder::genl(to.family, to.flags, to.seq, to.pid, IPVS_CMD_NEW_SERVICE, 1);
    b.begin_nest_noflag(IPVS_CMD_ATTR_SERVICE);
    b.put_u16(IPVS_SVC_ATTR_AF, svc.af());
    match &svc.key {
        ServiceKey::Fwmark { mark, .. } => b.put_u32(IPVS_SVC_ATTR_FWMARK, *mark),
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            b.put_u16(IPVS_SVC_ATTR_PROTOCOL, *protocol);
            b.put(IPVS_SVC_ATTR_ADDR, &addr16(addr));
            b.put_be16(IPVS_SVC_ATTR_PORT, *port);
        }
    }
    b.put_cstr(IPVS_SVC_ATTR_SCHED_NAME, &svc.scheduler, usize::MAX);
    if !svc.pe_name.is_empty() {
        b.put_cstr(IPVS_SVC_ATTR_PE_NAME, &svc.pe_name, usize::MAX);
    }
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&svc.flags.to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    b.put(IPVS_SVC_ATTR_FLAGS, &flags);
    b.put_u32(IPVS_SVC_ATTR_TIMEOUT, svc.timeout);
    let nm = if svc.af() == AF_INET6 {
        svc.netmask.to_ne_bytes()
    } else {
        svc.netmask.to_be_bytes()
    };
    b.put(IPVS_SVC_ATTR_NETMASK, &nm);
    put_stats_nests(
        &mut b,
        IPVS_SVC_ATTR_STATS,
        IPVS_SVC_ATTR_STATS64,
        &svc.stats,
        stats,
    );
    b.end_nest();
    b.finish()
}

/// A destination message (cmd NEW_DEST), always a dump part.
pub fn dest(to: To, d: &Destination) -> Vec<u8> {
    dest_with(to, d, StatsNests::Both, true)
}

/// `with_af = false` imitates kernels before 3.18 (no ADDR_FAMILY).
pub fn dest_with(to: To, d: &Destination, stats: StatsNests, with_af: bool) -> Vec<u8> {
    let mut b = MsgBuilder::genl(to.family, to.flags, to.seq, to.pid, IPVS_CMD_NEW_DEST, 1);
    b.begin_nest_noflag(IPVS_CMD_ATTR_DEST);
    b.put(IPVS_DEST_ATTR_ADDR, &addr16(&d.addr));
    b.put_be16(IPVS_DEST_ATTR_PORT, d.port);
    b.put_u32(IPVS_DEST_ATTR_FWD_METHOD, d.forward.raw());
    b.put_u32(IPVS_DEST_ATTR_WEIGHT, d.weight as u32);
    b.put_u8(IPVS_DEST_ATTR_TUN_TYPE, d.tun_type.raw());
    b.put_be16(IPVS_DEST_ATTR_TUN_PORT, d.tun_port);
    b.put_u16(IPVS_DEST_ATTR_TUN_FLAGS, d.tun_flags);
    b.put_u32(IPVS_DEST_ATTR_U_THRESH, d.u_threshold);
    b.put_u32(IPVS_DEST_ATTR_L_THRESH, d.l_threshold);
    b.put_u32(IPVS_DEST_ATTR_ACTIVE_CONNS, d.active_conns);
    b.put_u32(IPVS_DEST_ATTR_INACT_CONNS, d.inactive_conns);
    b.put_u32(IPVS_DEST_ATTR_PERSIST_CONNS, d.persist_conns);
    if with_af {
        b.put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, d.af());
    }
    put_stats_nests(
        &mut b,
        IPVS_DEST_ATTR_STATS,
        IPVS_DEST_ATTR_STATS64,
        &d.stats,
        stats,
    );
    b.end_nest();
    b.finish()
}

/// A sync-daemon message (cmd NEW_DAEMON), always a dump part. The kernel
/// fills every optional field; `None`s here are simply left out.
pub fn daemon(to: To, d: &SyncDaemon) -> Vec<u8> {
    let mut b = MsgBuilder::genl(to.family, to.flags, to.seq, to.pid, IPVS_CMD_NEW_DAEMON, 1);
    b.begin_nest_noflag(IPVS_CMD_ATTR_DAEMON);
    b.put_u32(IPVS_DAEMON_ATTR_STATE, d.state.raw());
    b.put_cstr(IPVS_DAEMON_ATTR_MCAST_IFN, &d.mcast_ifn, usize::MAX);
    b.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, d.syncid);
    if let Some(v) = d.sync_maxlen {
        b.put_u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, v);
    }
    if let Some(v) = d.mcast_port {
        b.put_u16(IPVS_DAEMON_ATTR_MCAST_PORT, v);
    }
    if let Some(v) = d.mcast_ttl {
        b.put_u8(IPVS_DAEMON_ATTR_MCAST_TTL, v);
    }
    match d.mcast_group {
        Some(IpAddr::V4(a)) => b.put(IPVS_DAEMON_ATTR_MCAST_GROUP, &a.octets()),
        Some(IpAddr::V6(a)) => b.put(IPVS_DAEMON_ATTR_MCAST_GROUP6, &a.octets()),
        None => {}
    }
    b.end_nest();
    b.finish()
}

/// GET_CONFIG's answer (cmd SET_CONFIG), timeouts at the top level.
pub fn timeouts(to: To, t: &Timeouts) -> Vec<u8> {
    let mut b = MsgBuilder::genl(to.family, to.flags, to.seq, to.pid, IPVS_CMD_SET_CONFIG, 1);
    b.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
    b.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin);
    b.put_u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
    b.finish()
}

/// GET_INFO's answer (cmd SET_INFO), info attributes at the top level.
pub fn info(to: To, i: &Info) -> Vec<u8> {
    let mut b = MsgBuilder::genl(to.family, to.flags, to.seq, to.pid, IPVS_CMD_SET_INFO, 1);
    b.put_u32(IPVS_INFO_ATTR_VERSION, i.version);
    b.put_u32(IPVS_INFO_ATTR_CONN_TAB_SIZE, i.conn_tab_size);
    b.finish()
}

/// nlctrl's CTRL_CMD_NEWFAMILY answer (name, id, version, hdrsize,
/// maxattr; the ops and multicast-group nests are left out).
pub fn family(seq: u32, pid: u32, name: &str, id: u16) -> Vec<u8> {
    let mut b = MsgBuilder::genl(GENL_ID_CTRL, 0, seq, pid, CTRL_CMD_NEWFAMILY, 2);
    b.put_cstr(CTRL_ATTR_FAMILY_NAME, name, usize::MAX);
    b.put_u16(CTRL_ATTR_FAMILY_ID, id);
    b.put_u32(3, 1); // CTRL_ATTR_VERSION
    b.put_u32(4, 0); // CTRL_ATTR_HDRSIZE
    b.put_u32(5, 6); // CTRL_ATTR_MAXATTR
    b.finish()
}

/// NLMSG_ERROR answering `request` (the full request message as sent):
/// error 0 is an ACK. `capped` imitates NETLINK_CAP_ACK (only the request
/// header is echoed); `ext_msg` adds an extended-ack message TLV.
pub fn error(request: &[u8], errno: i32, capped: bool, ext_msg: Option<&str>) -> Vec<u8> {
    let hdr = request.get(..NLMSG_HDRLEN).unwrap_or(request);
    let seq = u32::from_ne_bytes(
        hdr.get(8..12)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 4]),
    );
    let pid = u32::from_ne_bytes(
        hdr.get(12..16)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 4]),
    );
    // An ACK echoes only the header; errors echo everything unless capped.
    let echo = if capped || errno == 0 { hdr } else { request };
    let mut flags = if capped || errno == 0 {
        NLM_F_CAPPED
    } else {
        0
    };
    if ext_msg.is_some() {
        flags |= NLM_F_ACK_TLVS;
    }
    let mut m = Vec::new();
    let total_hint = NLMSG_HDRLEN + 4 + echo.len();
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&pid.to_ne_bytes());
    m.extend_from_slice(&(-errno).to_ne_bytes());
    m.extend_from_slice(echo);
    m.resize((total_hint + 3) & !3, 0);
    if let Some(msg) = ext_msg {
        let mut payload = msg.as_bytes().to_vec();
        payload.push(0);
        let len = (NLA_HDRLEN + payload.len()) as u16;
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        m.extend_from_slice(&payload);
        let n = (m.len() + 3) & !3;
        m.resize(n, 0);
    }
    let len = m.len() as u32;
    m[0..4].copy_from_slice(&len.to_ne_bytes());
    m
}

/// The ACK of a doit request.
pub fn ack(request: &[u8]) -> Vec<u8> {
    error(request, 0, true, None)
}

/// NLMSG_DONE ending a dump; `errno` non-zero if the dump failed.
pub fn done(seq: u32, pid: u32, errno: i32) -> Vec<u8> {
    let mut m = Vec::with_capacity(20);
    m.extend_from_slice(&20u32.to_ne_bytes());
    m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    m.extend_from_slice(&NLM_F_MULTI.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&pid.to_ne_bytes());
    m.extend_from_slice(&(-errno).to_ne_bytes());
    m
}
