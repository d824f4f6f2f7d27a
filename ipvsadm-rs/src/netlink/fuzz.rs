//! Entry points of the fuzz targets (`ipvsadm-rs/fuzz`), kept here so the
//! targets are one line each and so the same bodies run over a seed corpus
//! in ordinary tests, where cargo-fuzz is not available.

use super::consts::*;
use super::kernel::{self, StatsNests, To};
use super::reply::decode_datagram;
use super::request::Request;
use super::transport::FakeTransport;
use super::Client;
use crate::model::*;
use crate::Ipvs;

/// Family id, sequence number and port id the seeds are built with, so a
/// fuzzed datagram derived from them passes the client's header checks and
/// reaches the decoders.
pub const FUZZ_FAMILY: u16 = 0x2a;
pub const FUZZ_SEQ: u32 = 1;
pub const FUZZ_PID: u32 = 0;

/// The `decode_reply` target: any bytes as one received datagram, through
/// the pure decoder (both destination-family fallbacks) and through a
/// client operation chosen by the first byte. It must return, whatever the
/// input: errors are fine, panics and hangs are the bugs being hunted.
pub fn decode_reply(data: &[u8]) {
    let _ = decode_datagram(data, FUZZ_FAMILY, AF_INET);
    let _ = decode_datagram(data, FUZZ_FAMILY, AF_INET6);
    let Some((&op, datagram)) = data.split_first() else {
        return;
    };
    // One reply, then silence: a client that wants more gets an I/O error
    // from the fake instead of blocking.
    let t = FakeTransport::scripted(FUZZ_PID, vec![datagram.to_vec()]);
    let mut c = Client::with_family(t, FUZZ_FAMILY);
    let svc = Service::new(ServiceKey::Fwmark {
        af: AF_INET6,
        mark: 1,
    });
    match op % 8 {
        0 => drop(c.services()),
        1 => drop(c.destinations(&svc)),
        2 => drop(c.destinations_of_all(&[svc.clone(), svc])),
        3 => drop(c.info()),
        4 => drop(c.timeouts()),
        5 => drop(c.daemons()),
        6 => drop(c.service(&svc)),
        _ => drop(c.flush()),
    }
}

/// Well-formed replies of every kind (seq 1, pid 0, family 0x2a), each
/// prefixed with the operation byte that makes [`decode_reply`] expect it:
/// starting points for the fuzzer and the corpus of the unit test.
pub fn seed_corpus() -> Vec<Vec<u8>> {
    let dump = To::dump(FUZZ_FAMILY, FUZZ_SEQ, FUZZ_PID);
    let doit = To::doit(FUZZ_FAMILY, FUZZ_SEQ, FUZZ_PID);
    let done = kernel::done(FUZZ_SEQ, FUZZ_PID, 0);
    let cat = |parts: &[&[u8]]| parts.concat();
    let svc4 = Service {
        scheduler: "wlc".into(),
        pe_name: "sip".into(),
        flags: svc_flags::PERSISTENT | svc_flags::HASHED,
        timeout: 360,
        ..Service::new(ServiceKey::Addr {
            protocol: IPPROTO_UDP,
            addr: "192.168.1.20".parse().unwrap_or(UNSPECIFIED_V4),
            port: 5060,
        })
    };
    let svc6 = Service::new(ServiceKey::Fwmark {
        af: AF_INET6,
        mark: 2,
    });
    let dest = Destination {
        forward: ForwardMethod::Tunnel,
        tun_type: TunnelType::Gue,
        tun_port: 6080,
        tun_flags: tun_flags::CSUM,
        ..Destination::new("2001:db8::5".parse().unwrap_or(UNSPECIFIED_V6), 0)
    };
    let daemon = SyncDaemon {
        state: DaemonState::Backup,
        mcast_ifn: "eth1".into(),
        syncid: 20,
        sync_maxlen: Some(1400),
        mcast_group: Some("ff02::51".parse().unwrap_or(UNSPECIFIED_V6)),
        mcast_port: Some(8849),
        mcast_ttl: Some(2),
    };
    let flush = Request::Flush.encode(FUZZ_FAMILY, FUZZ_SEQ, FUZZ_PID);
    let ack = kernel::ack(&flush);
    let info = Info {
        version: 0x010201,
        conn_tab_size: 4096,
    };
    let timeouts = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    let with_op = |op: u8, body: Vec<u8>| {
        let mut v = vec![op];
        v.extend(body);
        v
    };
    vec![
        with_op(
            0,
            cat(&[
                &kernel::service(dump, &svc4),
                &kernel::service_with(dump, &svc6, StatsNests::Only32),
                &done,
            ]),
        ),
        with_op(
            1,
            cat(&[
                &kernel::dest(dump, &dest),
                &kernel::dest_with(dump, &dest, StatsNests::None, false),
                &done,
            ]),
        ),
        with_op(2, cat(&[&kernel::dest(dump, &dest), &done])),
        with_op(3, cat(&[&kernel::info(doit, &info), &ack])),
        with_op(4, cat(&[&kernel::timeouts(doit, &timeouts), &ack])),
        with_op(5, cat(&[&kernel::daemon(dump, &daemon), &done])),
        with_op(6, cat(&[&kernel::service(doit, &svc4), &ack])),
        with_op(7, ack.clone()),
        with_op(
            7,
            kernel::error(&flush, libc::EINVAL, false, Some("policy violation")),
        ),
        with_op(0, kernel::family(FUZZ_SEQ, FUZZ_PID, IPVS_GENL_NAME, 0x2a)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target's body over the seeds, every prefix of them and a
    /// sweep of byte corruptions (a poor man's fuzzer that runs anywhere).
    #[test]
    fn decode_reply_survives_the_corpus_and_its_mutations() {
        let seeds = seed_corpus();
        for s in &seeds {
            decode_reply(s);
            for cut in 0..s.len() {
                decode_reply(&s[..cut]);
            }
            for at in 0..s.len() {
                for v in [0u8, 1, 2, 3, 4, 0x10, 0x2a, 0x7f, 0x80, 0xfe, 0xff] {
                    let mut m = s.clone();
                    m[at] = v;
                    decode_reply(&m);
                }
            }
        }
    }

    #[test]
    fn seeds_decode_cleanly() {
        for s in seed_corpus() {
            assert!(
                decode_datagram(&s[1..], FUZZ_FAMILY, AF_INET).is_ok(),
                "seed for op {} does not decode",
                s[0]
            );
        }
    }
}
