//! Decoding kernel replies (ipvs.md 1.3 reply attribute orders, 1.7): hand
//! assembled bytes, round trips through the kernel-shaped builders, and
//! hostile input (truncation, bad lengths, missing attributes) that must
//! give `Error::Malformed`, never a panic.

use std::net::IpAddr;

use ipvs::netlink::consts::*;
use ipvs::netlink::kernel::{self, StatsNests, To};
use ipvs::netlink::{decode_datagram, Payload, Request};
use ipvs::svc_flags::*;
use ipvs::*;

const FAMILY: u16 = 0x2a;
const PID: u32 = 4242;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn one(buf: &[u8], dest_af: u16) -> Payload {
    let mut r = decode_datagram(buf, FAMILY, dest_af).expect("decodes");
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0).payload
}

fn malformed(buf: &[u8], dest_af: u16) -> String {
    match decode_datagram(buf, FAMILY, dest_af) {
        Err(Error::Malformed(m)) => m,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

/// TCP 10.1.1.1:443 rr persistent 300 netmask 255.255.255.0, as 6.1 sends
/// it (no NLA_F_NESTED, HASHED set), stats nests left out.
const SERVICE_NO_STATS: &str = "68000000 2a000200 07000000 92100000 01010000
    54000100 06000100 02000000 06000200 06000000 14000300 0a010101 00000000 00000000 00000000
    06000400 01bb0000 07000600 72720000 0c000700 03000000 ffffffff 08000800 2c010000
    08000900 ffffff00";

/// Dest 10.0.0.1:8080 Masq weight 5, active 1, inactive 2, with both stats
/// nests; STATS64 conns = 0x100000005 (the 32-bit nest says 5).
const DEST_FULL: &str = "64010000 2a000200 07000000 92100000 05010000
    50010200
    14000100 0a000001 00000000 00000000 00000000
    06000200 1f900000 08000300 00000000 08000400 05000000
    05000d00 00000000 06000e00 00000000 06000f00 00000000
    08000500 00000000 08000600 00000000
    08000700 01000000 08000800 02000000 08000900 00000000
    06000b00 02000000
    5c000a00
      08000100 05000000 08000200 ffe0f505 08000300 00e1f505
      0c000400 ffc99a3b 00000000 0c000500 00ca9a3b 00000000
      08000600 4d000000 08000700 58000000 08000800 63000000
      08000900 15cd5b07 08000a00 05000000
    7c000c00
      0c000100 05000000 01000000 0c000200 ffe0f505 00000000 0c000300 00e1f505 00000000
      0c000400 ffc99a3b 00000000 0c000500 00ca9a3b 00000000
      0c000600 4d000000 00000000 0c000700 58000000 00000000 0c000800 63000000 00000000
      0c000900 15cd5b07 00000000 0c000a00 05000000 00000000";

fn appendix_dest() -> Destination {
    Destination {
        forward: ForwardMethod::Masquerade,
        weight: 5,
        active_conns: 1,
        inactive_conns: 2,
        stats: Stats {
            conns: 0x1_0000_0005,
            inpkts: 99_999_999,
            outpkts: 100_000_000,
            inbytes: 999_999_999,
            outbytes: 1_000_000_000,
            cps: 77,
            inpps: 88,
            outpps: 99,
            inbps: 123_456_789,
            outbps: 5,
        },
        ..Destination::new(ip("10.0.0.1"), 8080)
    }
}

#[test]
fn hand_assembled_service_reply() {
    let buf = hex(SERVICE_NO_STATS);
    let r = decode_datagram(&buf, FAMILY, AF_INET).unwrap();
    assert_eq!((r[0].seq, r[0].pid, r[0].flags), (7, PID, NLM_F_MULTI));
    let want = Service {
        scheduler: "rr".into(),
        flags: PERSISTENT | HASHED,
        timeout: 300,
        netmask: 0xffff_ff00,
        ..Service::new(ServiceKey::Addr {
            protocol: IPPROTO_TCP,
            addr: ip("10.1.1.1"),
            port: 443,
        })
    };
    assert_eq!(r[0].payload, Payload::Service(want));
}

#[test]
fn hand_assembled_dest_reply_keeps_64_bit_stats() {
    let buf = hex(DEST_FULL);
    let want = appendix_dest();
    assert_eq!(one(&buf, AF_INET), Payload::Dest(want.clone()));
    // The builder produces the same bytes the kernel does.
    assert_eq!(kernel::dest(To::dump(FAMILY, 7, PID), &want), buf);
}

#[test]
fn stats32_only_kernels_widen_counters_and_say_so() {
    let d = appendix_dest();
    let buf = kernel::dest_with(To::dump(FAMILY, 1, PID), &d, StatsNests::Only32, true);
    let Payload::Dest(got) = one(&buf, AF_INET) else {
        panic!()
    };
    assert_eq!(got.stats_source, StatsSource::Stats32);
    assert_eq!(
        got.stats.conns, 5,
        "32-bit nest carries the truncated value"
    );
    assert_eq!(got.stats.inbytes, 999_999_999);
}

#[test]
fn dest_without_addr_family_takes_the_service_family() {
    let d = Destination::new(ip("2001:db8::10"), 443);
    let buf = kernel::dest_with(To::dump(FAMILY, 1, PID), &d, StatsNests::Both, false);
    assert_eq!(one(&buf, AF_INET6), Payload::Dest(d.clone()));
    // With an IPv4 service the same 16 bytes read as their first four.
    let Payload::Dest(v4) = one(&buf, AF_INET) else {
        panic!()
    };
    assert_eq!(v4.addr, ip("32.1.13.184"));
}

#[test]
fn round_trips_of_every_reply_kind() {
    let to = To::dump(FAMILY, 9, PID);
    let services = [
        Service {
            scheduler: "wlc".into(),
            stats: Stats {
                conns: 12345,
                inpkts: 150_000_000,
                outpkts: 2_500_000_000,
                inbytes: 5_000_000_000_000,
                outbytes: 200_000_000_000_000,
                cps: 5,
                inpps: 100,
                outpps: 90,
                inbps: 123_456_789,
                outbps: 99,
            },
            flags: HASHED,
            ..Service::new(ServiceKey::Addr {
                protocol: IPPROTO_TCP,
                addr: ip("192.168.1.10"),
                port: 80,
            })
        },
        Service {
            scheduler: "mh".into(),
            flags: SCHED2 | HASHED,
            ..Service::new(ServiceKey::Fwmark {
                af: AF_INET6,
                mark: 2,
            })
        },
        Service {
            scheduler: "wlc".into(),
            flags: PERSISTENT | HASHED,
            timeout: 1800,
            netmask: 64,
            ..Service::new(ServiceKey::Addr {
                protocol: IPPROTO_TCP,
                addr: ip("2001:db8::1"),
                port: 443,
            })
        },
        Service {
            scheduler: "rr".into(),
            pe_name: "sip".into(),
            flags: PERSISTENT | HASHED,
            timeout: 360,
            ..Service::new(ServiceKey::Addr {
                protocol: IPPROTO_UDP,
                addr: ip("192.168.1.20"),
                port: 5060,
            })
        },
        Service {
            scheduler: "none".into(),
            flags: HASHED,
            ..Service::new(ServiceKey::Fwmark {
                af: AF_INET,
                mark: 0xffff_fff0,
            })
        },
    ];
    for s in &services {
        assert_eq!(
            one(&kernel::service(to, s), AF_INET),
            Payload::Service(s.clone())
        );
    }
    let dests = [
        appendix_dest(),
        Destination {
            forward: ForwardMethod::Tunnel,
            tun_type: TunnelType::Gue,
            tun_port: 6080,
            tun_flags: tun_flags::CSUM,
            ..Destination::new(ip("2001:db8::5"), 0)
        },
        Destination {
            forward: ForwardMethod::Tunnel,
            tun_type: TunnelType::Gre,
            tun_flags: tun_flags::REMCSUM,
            weight: 3,
            ..Destination::new(ip("10.0.0.7"), 443)
        },
        Destination {
            forward: ForwardMethod::LocalNode,
            persist_conns: 8,
            weight: i32::MAX,
            u_threshold: 100,
            l_threshold: 50,
            ..Destination::new(ip("127.0.0.1"), 8080)
        },
        Destination {
            forward: ForwardMethod::Bypass,
            ..Destination::new(ip("10.9.9.9"), 80)
        },
        Destination {
            forward: ForwardMethod::Other(6),
            ..Destination::new(ip("10.9.9.8"), 80)
        },
    ];
    for d in &dests {
        // The dest's own ADDR_FAMILY wins over the fallback.
        assert_eq!(
            one(&kernel::dest(to, d), AF_INET6),
            Payload::Dest(d.clone())
        );
    }
    let daemons = [
        SyncDaemon {
            state: DaemonState::Master,
            mcast_ifn: "eth0".into(),
            syncid: 10,
            sync_maxlen: Some(1472),
            mcast_group: Some(ip("224.0.0.81")),
            mcast_port: Some(8848),
            mcast_ttl: Some(1),
        },
        SyncDaemon {
            state: DaemonState::Backup,
            mcast_ifn: "eth1".into(),
            syncid: 20,
            sync_maxlen: Some(1400),
            mcast_group: Some(ip("ff02::51")),
            mcast_port: Some(8849),
            mcast_ttl: Some(2),
        },
        // A kernel before 4.3 reports only the three basic attributes.
        SyncDaemon {
            state: DaemonState::Master,
            mcast_ifn: "lo".into(),
            syncid: 0,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        },
    ];
    for d in &daemons {
        assert_eq!(
            one(&kernel::daemon(to, d), AF_INET),
            Payload::Daemon(d.clone())
        );
    }
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    let doit = To::doit(FAMILY, 3, PID);
    assert_eq!(
        one(&kernel::timeouts(doit, &t), AF_INET),
        Payload::Timeouts(t)
    );
    let i = Info {
        version: 0x010201,
        conn_tab_size: 4096,
    };
    assert_eq!(one(&kernel::info(doit, &i), AF_INET), Payload::Info(i));
    assert_eq!(
        one(&kernel::family(1, PID, "IPVS", 0x23), AF_INET),
        Payload::Family { id: 0x23 }
    );
}

#[test]
fn missing_timeouts_read_as_zero() {
    // GET_CONFIG reply with only TIMEOUT_UDP.
    let buf = hex("1c000000 2a000000 03000000 92100000 0c010000 08000600 2c010000");
    assert_eq!(
        one(&buf, AF_INET),
        Payload::Timeouts(Timeouts {
            tcp: 0,
            tcp_fin: 0,
            udp: 300
        })
    );
}

#[test]
fn acks_errors_extack_and_done() {
    let req = Request::Flush.encode(FAMILY, 5, PID);
    assert_eq!(one(&kernel::ack(&req), AF_INET), Payload::Ack);
    assert_eq!(
        one(&kernel::error(&req, libc::EPERM, false, None), AF_INET),
        Payload::Error {
            errno: libc::EPERM,
            message: None
        }
    );
    for capped in [false, true] {
        assert_eq!(
            one(
                &kernel::error(
                    &req,
                    libc::EINVAL,
                    capped,
                    Some("Attribute failed policy validation")
                ),
                AF_INET
            ),
            Payload::Error {
                errno: libc::EINVAL,
                message: Some("Attribute failed policy validation".into())
            }
        );
    }
    assert_eq!(
        one(&kernel::done(5, PID, 0), AF_INET),
        Payload::Done { errno: 0 }
    );
    assert_eq!(
        one(&kernel::done(5, PID, libc::EMSGSIZE), AF_INET),
        Payload::Done {
            errno: libc::EMSGSIZE
        }
    );
    // A pre-2.6 style DONE without payload.
    let bare = hex("10000000 03000200 05000000 92100000");
    assert_eq!(one(&bare, AF_INET), Payload::Done { errno: 0 });
    // A damaged extack area does not hide the errno.
    let mut e = kernel::error(&req, libc::ENOENT, true, Some("x"));
    let n = e.len();
    e[n - 8] = 0xff; // TLV length now exceeds the message
    assert!(matches!(
        one(&e, AF_INET),
        Payload::Error {
            errno: libc::ENOENT,
            message: None
        }
    ));
}

#[test]
fn several_messages_per_datagram() {
    let to = To::dump(FAMILY, 11, PID);
    let mut dgram = Vec::new();
    for port in [80u16, 81, 82] {
        dgram.extend(kernel::service(
            to,
            &Service::new(ServiceKey::Addr {
                protocol: IPPROTO_TCP,
                addr: ip("10.0.0.1"),
                port,
            }),
        ));
    }
    dgram.extend(kernel::done(11, PID, 0));
    let r = decode_datagram(&dgram, FAMILY, AF_INET).unwrap();
    assert_eq!(r.len(), 4);
    assert!(
        matches!(&r[2].payload, Payload::Service(s) if s.key == ServiceKey::Addr { protocol: IPPROTO_TCP, addr: ip("10.0.0.1"), port: 82 })
    );
    assert_eq!(r[3].payload, Payload::Done { errno: 0 });
}

#[test]
fn malformed_replies_are_named() {
    let svc = hex(SERVICE_NO_STATS);
    // Unknown message type.
    let mut m = svc.clone();
    m[4] = 0x33;
    assert!(malformed(&m, AF_INET).contains("unexpected netlink message type 0x33"));
    // Unknown IPVS command.
    let mut m = svc.clone();
    m[16] = 8;
    assert!(malformed(&m, AF_INET).contains("unexpected IPVS command 8"));
    // Missing SCHED_NAME: retag it as an unknown attribute type.
    let mut m = svc.clone();
    let at = m.windows(4).position(|w| w == [7, 0, 6, 0]).unwrap();
    m[at + 2] = 13;
    assert!(malformed(&m, AF_INET).contains("missing attribute SVC_ATTR_SCHED_NAME"));
    // Unknown address family.
    let mut m = svc.clone();
    m[28] = 7;
    assert!(malformed(&m, AF_INET).contains("unknown address family 7"));
    // Short PORT attribute.
    let mut m = svc.clone();
    let at = m.windows(4).position(|w| w == [6, 0, 4, 0]).unwrap();
    m[at] = 5;
    assert!(malformed(&m, AF_INET).contains("SVC_ATTR_PORT has 1 bytes, needs 2"));
    // Nest length running past the message.
    let mut m = svc.clone();
    m[20] = 0xff;
    assert!(malformed(&m, AF_INET).contains("outside"));
    // Message length running past the datagram.
    let mut m = svc.clone();
    m[0] = 0x70;
    assert!(malformed(&m, AF_INET).contains("netlink message length 112"));
    // Daemon with an unknown state.
    let d = SyncDaemon {
        state: DaemonState::Master,
        mcast_ifn: "eth0".into(),
        syncid: 1,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
    };
    let mut m = kernel::daemon(To::dump(FAMILY, 1, PID), &d);
    m[28] = 9;
    assert!(malformed(&m, AF_INET).contains("unknown state 9"));
    // NLMSG_ERROR too short for its errno; positive error code.
    let short_err = hex("12000000 02000000 01000000 92100000 0000");
    assert!(malformed(&short_err, AF_INET).contains("NLMSG_ERROR"));
    let pos_err = hex("14000000 02000000 01000000 92100000 05000000");
    assert!(malformed(&pos_err, AF_INET).contains("impossible error code 5"));
    // Overrun.
    let overrun = hex("10000000 04000000 01000000 92100000");
    assert!(malformed(&overrun, AF_INET).contains("OVERRUN"));
    // genl header missing.
    let no_genl = hex("12000000 2a000000 01000000 92100000 0101");
    assert!(malformed(&no_genl, AF_INET).contains("genlmsghdr"));
    // Stats nest lacking a counter.
    let mut m = hex(DEST_FULL);
    let at = m.len() - 12;
    m[at + 2] = 11; // OUTBPS of STATS64 becomes the unknown PAD type
    assert!(
        malformed(&m, AF_INET).contains("destination STATS64: missing attribute STATS_ATTR_OUTBPS")
    );
}

/// Every prefix and a sweep of single-byte corruptions of a realistic
/// datagram: decoding may succeed or fail, but must return.
#[test]
fn truncations_and_corruptions_never_panic() {
    let to = To::dump(FAMILY, 2, PID);
    let mut dgram = hex(DEST_FULL);
    dgram.extend(kernel::service(
        to,
        &Service {
            pe_name: "sip".into(),
            ..Service::new(ServiceKey::Fwmark {
                af: AF_INET6,
                mark: 1,
            })
        },
    ));
    dgram.extend(kernel::daemon(
        to,
        &SyncDaemon {
            state: DaemonState::Backup,
            mcast_ifn: "eth1".into(),
            syncid: 20,
            sync_maxlen: Some(1400),
            mcast_group: Some(ip("ff02::51")),
            mcast_port: Some(8849),
            mcast_ttl: Some(2),
        },
    ));
    dgram.extend(kernel::error(
        &Request::Flush.encode(FAMILY, 2, PID),
        libc::EINVAL,
        false,
        Some("bad"),
    ));
    dgram.extend(kernel::done(2, PID, 0));
    assert_eq!(decode_datagram(&dgram, FAMILY, AF_INET).unwrap().len(), 5);
    for cut in 0..dgram.len() {
        let _ = decode_datagram(&dgram[..cut], FAMILY, AF_INET);
    }
    for at in 0..dgram.len() {
        for v in [0u8, 1, 3, 4, 0x7f, 0x80, 0xff] {
            let mut m = dgram.clone();
            m[at] = v;
            let _ = decode_datagram(&m, FAMILY, AF_INET6);
        }
    }
}
