//! IPVS requests, encoded byte-for-byte as ipvsadm 1.31 (libipvs + libnl 3.7)
//! sends them: attribute order, NLA_F_NESTED on nests, 16-byte addresses,
//! an always-present SCHED_NAME (empty when the service only identifies
//! one), FLAGS mask 0xffffffff, and the dest/daemon quirks listed in the
//! reference (ipvs.md 1.6, Appendix C/C2). The kernel would accept leaner
//! messages; matching the original byte for byte lets us diff traffic.

use std::net::IpAddr;

use super::consts::*;
use super::wire::MsgBuilder;
use crate::model::*;

/// One request to the kernel. `encode` takes family id, sequence number and
/// port id from the caller so tests can reproduce captured bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// nlctrl CTRL_CMD_GETFAMILY for a family name ("IPVS").
    GetFamily(&'a str),
    GetInfo,
    /// GET_CONFIG (ipvsadm's GET_TIMEOUT).
    GetConfig,
    /// SET_CONFIG (ipvsadm's SET_TIMEOUT); all three values are sent, 0 = unchanged.
    SetConfig(&'a Timeouts),
    Flush,
    /// ZERO: one service's counters, or all with `None`.
    Zero(Option<&'a ServiceKey>),
    /// GET_SERVICE dump (`-L`).
    ListServices,
    /// GET_SERVICE doit (`-L -t ...`).
    GetService(&'a ServiceKey),
    NewService(&'a Service),
    SetService(&'a Service),
    DelService(&'a ServiceKey),
    /// GET_DEST dump for one service.
    ListDests(&'a ServiceKey),
    NewDest(&'a ServiceKey, &'a Destination),
    SetDest(&'a ServiceKey, &'a Destination),
    DelDest(&'a ServiceKey, &'a Destination),
    /// GET_DAEMON dump.
    ListDaemons,
    NewDaemon(&'a SyncDaemon),
    DelDaemon(&'a SyncDaemon),
}

impl Request<'_> {
    /// The generic-netlink command number.
    pub fn cmd(&self) -> u8 {
        match self {
            Request::GetFamily(_) => CTRL_CMD_GETFAMILY,
            Request::GetInfo => IPVS_CMD_GET_INFO,
            Request::GetConfig => IPVS_CMD_GET_CONFIG,
            Request::SetConfig(_) => IPVS_CMD_SET_CONFIG,
            Request::Flush => IPVS_CMD_FLUSH,
            Request::Zero(_) => IPVS_CMD_ZERO,
            Request::ListServices | Request::GetService(_) => IPVS_CMD_GET_SERVICE,
            Request::NewService(_) => IPVS_CMD_NEW_SERVICE,
            Request::SetService(_) => IPVS_CMD_SET_SERVICE,
            Request::DelService(_) => IPVS_CMD_DEL_SERVICE,
            Request::ListDests(_) => IPVS_CMD_GET_DEST,
            Request::NewDest(..) => IPVS_CMD_NEW_DEST,
            Request::SetDest(..) => IPVS_CMD_SET_DEST,
            Request::DelDest(..) => IPVS_CMD_DEL_DEST,
            Request::ListDaemons => IPVS_CMD_GET_DAEMON,
            Request::NewDaemon(_) => IPVS_CMD_NEW_DAEMON,
            Request::DelDaemon(_) => IPVS_CMD_DEL_DAEMON,
        }
    }

    /// Kernel command name, for error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Request::GetFamily(_) => "CTRL_CMD_GETFAMILY",
            Request::GetInfo => "IPVS_CMD_GET_INFO",
            Request::GetConfig => "IPVS_CMD_GET_CONFIG",
            Request::SetConfig(_) => "IPVS_CMD_SET_CONFIG",
            Request::Flush => "IPVS_CMD_FLUSH",
            Request::Zero(_) => "IPVS_CMD_ZERO",
            Request::ListServices => "IPVS_CMD_GET_SERVICE (dump)",
            Request::GetService(_) => "IPVS_CMD_GET_SERVICE",
            Request::NewService(_) => "IPVS_CMD_NEW_SERVICE",
            Request::SetService(_) => "IPVS_CMD_SET_SERVICE",
            Request::DelService(_) => "IPVS_CMD_DEL_SERVICE",
            Request::ListDests(_) => "IPVS_CMD_GET_DEST",
            Request::NewDest(..) => "IPVS_CMD_NEW_DEST",
            Request::SetDest(..) => "IPVS_CMD_SET_DEST",
            Request::DelDest(..) => "IPVS_CMD_DEL_DEST",
            Request::ListDaemons => "IPVS_CMD_GET_DAEMON",
            Request::NewDaemon(_) => "IPVS_CMD_NEW_DAEMON",
            Request::DelDaemon(_) => "IPVS_CMD_DEL_DAEMON",
        }
    }

    /// Dumps are answered by NLM_F_MULTI messages ending in NLMSG_DONE;
    /// everything else by at most one data message and an ACK.
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            Request::ListServices | Request::ListDests(_) | Request::ListDaemons
        )
    }

    /// `NLM_F_REQUEST|NLM_F_ACK`, plus `NLM_F_DUMP` for dumps (libnl adds
    /// ACK to every request, dumps included; the kernel sends no ACK for a
    /// dump that started).
    pub fn flags(&self) -> u16 {
        let base = NLM_F_REQUEST | NLM_F_ACK;
        if self.is_dump() {
            base | NLM_F_DUMP
        } else {
            base
        }
    }

    /// The complete request message. `family` is ignored for nlctrl.
    pub fn encode(&self, family: u16, seq: u32, pid: u32) -> Vec<u8> {
        if let Request::GetFamily(name) = self {
            let mut b = MsgBuilder::genl(
                GENL_ID_CTRL,
                self.flags(),
                seq,
                pid,
                CTRL_CMD_GETFAMILY,
                CTRL_VERSION,
            );
            b.put_cstr(CTRL_ATTR_FAMILY_NAME, name, usize::MAX);
            return b.finish();
        }
        let mut b = MsgBuilder::genl(
            family,
            self.flags(),
            seq,
            pid,
            self.cmd(),
            IPVS_GENL_VERSION,
        );
        match self {
            Request::GetFamily(_)
            | Request::GetInfo
            | Request::GetConfig
            | Request::Flush
            | Request::ListServices
            | Request::ListDaemons => {}
            Request::SetConfig(t) => {
                b.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
                b.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin);
                b.put_u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
            }
            Request::Zero(key) => {
                // libipvs sends the service only when it names something
                // (fwmark, address or port non-zero); otherwise the kernel
                // zeroes everything, exactly as for a bare `-Z`.
                if let Some(key) = key.filter(|k| names_a_service(k)) {
                    put_service_id(&mut b, key, default_netmask(key.af()));
                }
            }
            Request::GetService(key) => put_service_id(&mut b, key, 0),
            Request::NewService(svc) | Request::SetService(svc) => put_service_full(&mut b, svc),
            Request::DelService(key) => put_service_id(&mut b, key, default_netmask(key.af())),
            Request::ListDests(key) => {
                b.begin_nest(IPVS_CMD_ATTR_SERVICE);
                put_service_key(&mut b, key);
                b.end_nest();
            }
            Request::NewDest(key, dest)
            | Request::SetDest(key, dest)
            | Request::DelDest(key, dest) => {
                put_service_id(&mut b, key, default_netmask(key.af()));
                put_dest(&mut b, key, dest);
            }
            Request::NewDaemon(d) => {
                b.begin_nest(IPVS_CMD_ATTR_DAEMON);
                b.put_u32(IPVS_DAEMON_ATTR_STATE, d.state.raw());
                b.put_cstr(IPVS_DAEMON_ATTR_MCAST_IFN, &d.mcast_ifn, IFNAME_MAX);
                b.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, d.syncid);
                if let Some(v) = d.sync_maxlen {
                    b.put_u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, v);
                }
                if let Some(v) = d.mcast_port {
                    // Host order, unlike every other port in IPVS.
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
            }
            Request::DelDaemon(d) => {
                // `--mcast-interface` is illegal with --stop-daemon, so
                // ipvsadm always sends an empty name here.
                b.begin_nest(IPVS_CMD_ATTR_DAEMON);
                b.put_u32(IPVS_DAEMON_ATTR_STATE, d.state.raw());
                b.put_cstr(IPVS_DAEMON_ATTR_MCAST_IFN, "", IFNAME_MAX);
                b.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, d.syncid);
                b.end_nest();
            }
        }
        b.finish()
    }
}

/// ipvsadm's default netmask for a service it only identifies: /32 as a
/// mask for IPv4, prefix length 128 for IPv6 (`-M` is illegal there).
fn default_netmask(af: u16) -> u32 {
    if af == AF_INET6 {
        128
    } else {
        u32::MAX
    }
}

fn names_a_service(key: &ServiceKey) -> bool {
    match key {
        ServiceKey::Fwmark { mark, .. } => *mark != 0,
        ServiceKey::Addr { addr, port, .. } => !addr.is_unspecified() || *port != 0,
    }
}

/// The 16 bytes of `union nf_inet_addr` as ipvsadm fills it.
fn addr16(addr: &IpAddr) -> [u8; 16] {
    let mut a = [0u8; 16];
    match addr {
        IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => a.copy_from_slice(&v6.octets()),
    }
    a
}

fn put_service_key(b: &mut MsgBuilder, key: &ServiceKey) {
    b.put_u16(IPVS_SVC_ATTR_AF, key.af());
    match key {
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
}

/// NETMASK is a `__be32` mask for IPv4 but a host-order prefix length for
/// IPv6; the model keeps the numeric value, the wire needs the right order.
fn netmask_bytes(af: u16, netmask: u32) -> [u8; 4] {
    if af == AF_INET6 {
        netmask.to_ne_bytes()
    } else {
        netmask.to_be_bytes()
    }
}

/// The service nest of commands that only identify a service: libipvs
/// sends the whole struct with the fields the CLI could not set zeroed.
fn put_service_id(b: &mut MsgBuilder, key: &ServiceKey, netmask: u32) {
    b.begin_nest(IPVS_CMD_ATTR_SERVICE);
    put_service_key(b, key);
    b.put_cstr(IPVS_SVC_ATTR_SCHED_NAME, "", SCHED_NAME_MAX);
    put_flags(b, 0);
    b.put_u32(IPVS_SVC_ATTR_TIMEOUT, 0);
    b.put(IPVS_SVC_ATTR_NETMASK, &netmask_bytes(key.af(), netmask));
    b.end_nest();
}

fn put_flags(b: &mut MsgBuilder, flags: u32) {
    let mut v = [0u8; 8];
    v[..4].copy_from_slice(&flags.to_ne_bytes());
    v[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    b.put(IPVS_SVC_ATTR_FLAGS, &v);
}

fn put_service_full(b: &mut MsgBuilder, svc: &Service) {
    b.begin_nest(IPVS_CMD_ATTR_SERVICE);
    put_service_key(b, &svc.key);
    b.put_cstr(IPVS_SVC_ATTR_SCHED_NAME, &svc.scheduler, SCHED_NAME_MAX);
    if !svc.pe_name.is_empty() {
        b.put_cstr(IPVS_SVC_ATTR_PE_NAME, &svc.pe_name, PE_NAME_MAX);
    }
    put_flags(b, svc.flags);
    b.put_u32(IPVS_SVC_ATTR_TIMEOUT, svc.timeout);
    b.put(IPVS_SVC_ATTR_NETMASK, &netmask_bytes(svc.af(), svc.netmask));
    b.end_nest();
}

fn put_dest(b: &mut MsgBuilder, key: &ServiceKey, dest: &Destination) {
    // ipvsadm copies the service address into the dest struct and then
    // overwrites only as many bytes as the dest family has, so an IPv4 real
    // server of an IPv6 service carries the service's bytes 4..15.
    let mut addr = match key {
        ServiceKey::Addr { addr, .. } => addr16(addr),
        ServiceKey::Fwmark { .. } => [0u8; 16],
    };
    match dest.addr {
        IpAddr::V4(v4) => addr[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => addr.copy_from_slice(&v6.octets()),
    }
    b.begin_nest(IPVS_CMD_ATTR_DEST);
    b.put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, dest.af());
    b.put(IPVS_DEST_ATTR_ADDR, &addr);
    b.put_be16(IPVS_DEST_ATTR_PORT, dest.port);
    b.put_u32(IPVS_DEST_ATTR_FWD_METHOD, dest.forward.raw());
    b.put_u32(IPVS_DEST_ATTR_WEIGHT, dest.weight as u32);
    b.put_u8(IPVS_DEST_ATTR_TUN_TYPE, dest.tun_type.raw());
    b.put_be16(IPVS_DEST_ATTR_TUN_PORT, dest.tun_port);
    b.put_u16(IPVS_DEST_ATTR_TUN_FLAGS, dest.tun_flags);
    b.put_u32(IPVS_DEST_ATTR_U_THRESH, dest.u_threshold);
    b.put_u32(IPVS_DEST_ATTR_L_THRESH, dest.l_threshold);
    b.end_nest();
}
