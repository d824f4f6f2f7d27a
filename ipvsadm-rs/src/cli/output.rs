//! The listing and save formats of ipvsadm 1.31, byte for byte (ipvs.md
//! section 3): title lines, service and destination lines, `print_largenum`,
//! name rendering with its 59-byte limit and 33/28-column truncation.

use std::net::IpAddr;

use super::addr::inet_ntop6;
use super::host::Host;
use super::opts::fmt;
use crate::model::*;

/// printf `%-Ns` on bytes: pad on the right, never truncate.
pub fn pad_right(s: &[u8], width: usize) -> Vec<u8> {
    let mut v = s.to_vec();
    while v.len() < width {
        v.push(b' ');
    }
    v
}

/// printf `%Ns`.
pub fn pad_left(s: &[u8], width: usize) -> Vec<u8> {
    let mut v = Vec::new();
    while v.len() + s.len() < width {
        v.push(b' ');
    }
    v.extend_from_slice(s);
    v
}

pub fn inet_ntop(a: &IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => inet_ntop6(v6),
    }
}

fn proto_str(p: u16) -> Option<&'static str> {
    match p {
        IPPROTO_TCP => Some("tcp"),
        IPPROTO_UDP => Some("udp"),
        IPPROTO_SCTP => Some("sctp"),
        _ => None,
    }
}

/// `addrport_to_anyname`: `[v6]` brackets, reverse names and service names
/// unless numeric, written with `snprintf(buf, 60, ...)`.
pub fn addrport(host: &mut dyn Host, addr: &IpAddr, port: u16, proto: u16, format: u32) -> Vec<u8> {
    let v6 = matches!(addr, IpAddr::V6(_));
    let mut s = Vec::new();
    if v6 {
        s.push(b'[');
    }
    if format & fmt::NUMERIC != 0 {
        s.extend_from_slice(inet_ntop(addr).as_bytes());
    } else {
        match host.addr_to_host(addr) {
            Some(n) => s.extend_from_slice(&n),
            None => s.extend_from_slice(inet_ntop(addr).as_bytes()),
        }
    }
    if v6 {
        s.push(b']');
    }
    s.push(b':');
    let name = if format & fmt::NUMERIC != 0 {
        None
    } else {
        proto_str(proto).and_then(|p| host.port_to_service(port, p))
    };
    match name {
        Some(n) => s.extend_from_slice(&n),
        None => s.extend_from_slice(port.to_string().as_bytes()),
    }
    s.truncate(59);
    s
}

/// `print_largenum`.
pub fn largenum(n: u64, format: u32) -> String {
    if format & fmt::EXACT != 0 {
        let len = n.to_string().len();
        let w = if len <= 8 { 9 } else { len + 1 };
        return format!("{n:>w$}");
    }
    if n < 100_000_000 {
        format!("{n:>9}")
    } else if n < 1_000_000_000 {
        format!("{:>8}K", n / 1000)
    } else if n < 100_000_000_000 {
        format!("{:>8}M", n / 1_000_000)
    } else if n < 100_000_000_000_000 {
        format!("{:>8}G", n / 1_000_000_000)
    } else {
        format!("{:>8}T", n / 1_000_000_000_000)
    }
}

/// `print_title`.
pub fn title(format: u32) -> &'static str {
    if format & fmt::STATS != 0 {
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n"
    } else if format & fmt::RATE != 0 {
        "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n  -> RemoteAddress:Port\n"
    } else if format & fmt::THRESHOLDS != 0 {
        "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n  -> RemoteAddress:Port\n"
    } else if format & fmt::PERSISTENTCONN != 0 {
        "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n  -> RemoteAddress:Port\n"
    } else if format & fmt::TUN_INFO != 0 {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
    } else if format & fmt::RULE == 0 {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    } else {
        ""
    }
}

fn sched_flags(s: &Service) -> String {
    let mut v: Vec<&str> = Vec::new();
    let f = s.flags;
    match s.scheduler.as_str() {
        "sh" | "mh" => {
            let p = &s.scheduler;
            if f & svc_flags::SCHED1 != 0 {
                v.push(if p == "sh" {
                    "sh-fallback"
                } else {
                    "mh-fallback"
                });
            }
            if f & svc_flags::SCHED2 != 0 {
                v.push(if p == "sh" { "sh-port" } else { "mh-port" });
            }
        }
        _ => {
            if f & svc_flags::SCHED1 != 0 {
                v.push("flag-1");
            }
            if f & svc_flags::SCHED2 != 0 {
                v.push("flag-2");
            }
            if f & svc_flags::SCHED3 != 0 {
                v.push("flag-3");
            }
        }
    }
    v.join(",")
}

/// `fwd_name`; `None` prints as glibc's `(null)`.
fn fwd_name(f: ForwardMethod) -> &'static str {
    match f {
        ForwardMethod::Masquerade => "Masq",
        ForwardMethod::LocalNode => "Local",
        ForwardMethod::Tunnel => "Tunnel",
        ForwardMethod::DirectRoute => "Route",
        _ => "(null)",
    }
}

fn fwd_switch(f: ForwardMethod) -> &'static str {
    match f {
        ForwardMethod::Masquerade => "-m",
        ForwardMethod::Tunnel => "-i",
        ForwardMethod::LocalNode | ForwardMethod::DirectRoute => "-g",
        _ => "(null)",
    }
}

/// `tunflags[]` / `tun_flags_opts[]` indexed by the raw flags; the original
/// reads past its 3-entry arrays for other values, we print `?` instead.
fn tun_flag_str(flags: u16) -> &'static str {
    match flags {
        0 => "-c",
        1 => "+c",
        2 => "r+c",
        _ => "?",
    }
}

fn tun_flag_opt(flags: u16) -> &'static str {
    match flags {
        0 => "--tun-nocsum",
        1 => "--tun-csum",
        2 => "--tun-remcsum",
        _ => "?",
    }
}

/// `fwd_tun_info` (at most 15 characters, snprintf into 16 bytes).
fn tun_info(d: &Destination) -> Option<String> {
    if d.forward != ForwardMethod::Tunnel {
        return None;
    }
    let mut s = match d.tun_type {
        TunnelType::Ipip => "ipip".to_string(),
        TunnelType::Gue => format!("gue:{}:{}", d.tun_port, tun_flag_str(d.tun_flags)),
        TunnelType::Gre => format!("gre:{}", tun_flag_str(d.tun_flags)),
        TunnelType::Other(_) => return None,
    };
    s.truncate(15);
    Some(s)
}

/// Destination stats as ipvsadm 1.31 shows them: its parser reads the
/// 64-bit STATS64 nest of a destination with 32-bit getters, so on a
/// little-endian host every value is truncated modulo 2^32.
fn dest_stats(d: &Destination) -> Stats {
    match d.stats_source {
        StatsSource::Stats32 => d.stats,
        StatsSource::Stats64 => {
            let t = |v: u64| v & 0xffff_ffff;
            let s = d.stats;
            Stats {
                conns: t(s.conns),
                inpkts: t(s.inpkts),
                outpkts: t(s.outpkts),
                inbytes: t(s.inbytes),
                outbytes: t(s.outbytes),
                cps: t(s.cps),
                inpps: t(s.inpps),
                outpps: t(s.outpps),
                inbps: t(s.inbps),
                outbps: t(s.outbps),
            }
        }
    }
}

fn svc_proto(s: &Service) -> u16 {
    match s.key {
        ServiceKey::Addr { protocol, .. } => protocol,
        ServiceKey::Fwmark { .. } => 0,
    }
}

/// The service name column (`svc_name`): `FWM  %d`, `-f %d -6`,
/// `TCP  host:port` cut to 33 characters, `-t host:port`.
pub fn svc_name(host: &mut dyn Host, s: &Service, format: u32) -> Vec<u8> {
    let rule = format & fmt::RULE != 0;
    match s.key {
        ServiceKey::Fwmark { af, mark } => {
            // Printed with %d: marks >= 2^31 come out negative.
            let m = mark as i32;
            let t = match (rule, af == AF_INET6) {
                (true, true) => format!("-f {m} -6"),
                (true, false) => format!("-f {m}"),
                (false, true) => format!("FWM  {m} IPv6"),
                (false, false) => format!("FWM  {m}"),
            };
            t.into_bytes()
        }
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let v = addrport(host, &addr, port, protocol, format);
            let mut out = Vec::new();
            if rule {
                out.extend_from_slice(match protocol {
                    IPPROTO_TCP => b"-t".as_slice(),
                    IPPROTO_UDP => b"-u",
                    IPPROTO_SCTP => b"--sctp-service",
                    _ => b"--xxx-service",
                });
                out.push(b' ');
                out.extend_from_slice(&v);
            } else {
                let p: &[u8] = match protocol {
                    IPPROTO_TCP => b"TCP",
                    IPPROTO_UDP => b"UDP",
                    IPPROTO_SCTP => b"SCTP",
                    _ => b"?",
                };
                out.extend_from_slice(&pad_right(p, 4));
                out.push(b' ');
                out.extend_from_slice(&v);
                if !addr.is_ipv6() {
                    out.truncate(33);
                }
            }
            out
        }
    }
}

fn ipv4_mask(m: u32) -> String {
    std::net::Ipv4Addr::from(m).to_string()
}

/// The service line (with its newline).
pub fn service_line(name: &[u8], s: &Service, format: u32) -> Vec<u8> {
    let mut o = Vec::new();
    let af = s.af();
    let sched_bits = svc_flags::SCHED1 | svc_flags::SCHED2 | svc_flags::SCHED3;
    if format & fmt::RULE != 0 {
        o.extend_from_slice(b"-A ");
        o.extend_from_slice(name);
        o.extend_from_slice(format!(" -s {}", s.scheduler).as_bytes());
        if s.flags & svc_flags::PERSISTENT != 0 {
            o.extend_from_slice(format!(" -p {}", s.timeout).as_bytes());
            if af == AF_INET && s.netmask != 0xffff_ffff {
                o.extend_from_slice(format!(" -M {}", ipv4_mask(s.netmask)).as_bytes());
            }
            if af == AF_INET6 && s.netmask != 128 {
                o.extend_from_slice(format!(" -M {}", s.netmask as i32).as_bytes());
            }
        }
        if !s.pe_name.is_empty() {
            o.extend_from_slice(format!(" --pe {}", s.pe_name).as_bytes());
        }
        if s.flags & svc_flags::ONEPACKET != 0 {
            o.extend_from_slice(b" -o");
        }
        if s.flags & sched_bits != 0 {
            o.extend_from_slice(format!(" -b {}", sched_flags(s)).as_bytes());
        }
    } else if format & (fmt::STATS | fmt::RATE) != 0 {
        o.extend_from_slice(&pad_right(name, 33));
        let st = s.stats;
        let vals = if format & fmt::STATS != 0 {
            [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes]
        } else {
            [st.cps, st.inpps, st.outpps, st.inbps, st.outbps]
        };
        for v in vals {
            o.extend_from_slice(largenum(v, format).as_bytes());
        }
    } else {
        o.extend_from_slice(name);
        o.push(b' ');
        o.extend_from_slice(s.scheduler.as_bytes());
        if s.flags & sched_bits != 0 {
            o.extend_from_slice(format!(" ({})", sched_flags(s)).as_bytes());
        }
        if s.flags & svc_flags::PERSISTENT != 0 {
            o.extend_from_slice(format!(" persistent {}", s.timeout).as_bytes());
            if af == AF_INET && s.netmask != 0xffff_ffff {
                o.extend_from_slice(format!(" mask {}", ipv4_mask(s.netmask)).as_bytes());
            }
            if af == AF_INET6 && s.netmask != 128 {
                o.extend_from_slice(format!(" mask {}", s.netmask as i32).as_bytes());
            }
            if !s.pe_name.is_empty() {
                o.extend_from_slice(format!(" pe {}", s.pe_name).as_bytes());
            }
        }
        if s.flags & svc_flags::ONEPACKET != 0 {
            o.extend_from_slice(b" ops");
        }
    }
    o.push(b'\n');
    o
}

/// One destination line (with its newline) of service `s`.
pub fn dest_line(
    host: &mut dyn Host,
    name: &[u8],
    s: &Service,
    d: &Destination,
    format: u32,
) -> Vec<u8> {
    // Destination ports are named with the service's protocol; fwmark
    // services carry protocol 0, so theirs stay numeric.
    let mut dname = addrport(host, &d.addr, d.port, svc_proto(s), format);
    if format & fmt::RULE == 0 && !d.addr.is_ipv6() {
        dname.truncate(28);
    }
    let mut o = Vec::new();
    let lead = |o: &mut Vec<u8>, dname: &[u8]| {
        o.extend_from_slice(b"  -> ");
        o.extend_from_slice(&pad_right(dname, 28));
    };
    if format & fmt::RULE != 0 {
        o.extend_from_slice(b"-a ");
        o.extend_from_slice(name);
        o.extend_from_slice(b" -r ");
        o.extend_from_slice(&dname);
        o.extend_from_slice(format!(" {} -w {}", fwd_switch(d.forward), d.weight).as_bytes());
        if d.forward == ForwardMethod::Tunnel {
            match d.tun_type {
                TunnelType::Gre => o.extend_from_slice(
                    format!(" --tun-type gre {}", tun_flag_opt(d.tun_flags)).as_bytes(),
                ),
                TunnelType::Gue => o.extend_from_slice(
                    format!(
                        " --tun-type gue --tun-port {} {}",
                        d.tun_port,
                        tun_flag_opt(d.tun_flags)
                    )
                    .as_bytes(),
                ),
                TunnelType::Ipip => o.extend_from_slice(b" --tun-type ipip"),
                TunnelType::Other(_) => {}
            }
        }
    } else if format & fmt::STATS != 0 {
        lead(&mut o, &dname);
        let st = dest_stats(d);
        for v in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
            o.extend_from_slice(largenum(v, format).as_bytes());
        }
    } else if format & fmt::RATE != 0 {
        lead(&mut o, &dname);
        let st = dest_stats(d);
        o.extend_from_slice(format!(" {:>8} {:>8} {:>8}", st.cps, st.inpps, st.outpps).as_bytes());
        o.extend_from_slice(largenum(st.inbps, format).as_bytes());
        o.extend_from_slice(largenum(st.outbps, format).as_bytes());
    } else if format & fmt::THRESHOLDS != 0 {
        lead(&mut o, &dname);
        o.extend_from_slice(
            format!(
                " {:<10} {:<10} {:<10} {:<10}",
                d.u_threshold, d.l_threshold, d.active_conns, d.inactive_conns
            )
            .as_bytes(),
        );
    } else if format & fmt::PERSISTENTCONN != 0 {
        lead(&mut o, &dname);
        o.extend_from_slice(
            format!(
                " {:<9} {:<11} {:<10} {:<10}",
                d.weight as u32, d.persist_conns, d.active_conns, d.inactive_conns
            )
            .as_bytes(),
        );
    } else if format & fmt::TUN_INFO != 0 {
        lead(&mut o, &dname);
        let ti = tun_info(d).unwrap_or_else(|| "n/a".into());
        o.extend_from_slice(
            format!(
                " {:<7} {:<13} {:<6} {:<10} {:<10}",
                fwd_name(d.forward),
                ti,
                d.weight,
                d.active_conns,
                d.inactive_conns
            )
            .as_bytes(),
        );
    } else {
        lead(&mut o, &dname);
        o.extend_from_slice(
            format!(
                " {:<7} {:<6} {:<10} {:<10}",
                fwd_name(d.forward),
                d.weight,
                d.active_conns,
                d.inactive_conns
            )
            .as_bytes(),
        );
    }
    o.push(b'\n');
    o
}

/// `list_daemon` lines.
pub fn daemon_line(d: &SyncDaemon) -> String {
    let kind = match d.state {
        DaemonState::Master => "master",
        DaemonState::Backup => "backup",
    };
    let mut s = format!(
        "{} sync daemon (mcast={}, syncid={}",
        kind, d.mcast_ifn, d.syncid as i32
    );
    if let Some(m) = d.sync_maxlen.filter(|&m| m != 0) {
        s.push_str(&format!(", maxlen={m}"));
    }
    if let Some(g) = d.mcast_group {
        s.push_str(&format!(", group={}", inet_ntop(&g)));
    }
    if let Some(p) = d.mcast_port.filter(|&p| p != 0) {
        s.push_str(&format!(", port={p}"));
    }
    if let Some(t) = d.mcast_ttl.filter(|&t| t != 0) {
        s.push_str(&format!(", ttl={t}"));
    }
    s.push_str(")\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largenum_abbreviates_like_the_original() {
        assert_eq!(largenum(150_000_000, 0), "  150000K");
        assert_eq!(largenum(2_500_000_000, 0), "    2500M");
        assert_eq!(largenum(5_000_000_000_000, 0), "    5000G");
        assert_eq!(largenum(200_000_000_000_000, 0), "     200T");
        assert_eq!(largenum(12345, 0), "    12345");
        assert_eq!(largenum(150_000_000, fmt::EXACT), " 150000000");
        assert_eq!(largenum(5, fmt::EXACT), "        5");
    }
}
