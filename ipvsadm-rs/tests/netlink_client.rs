//! `Client` against fake transports: the request/reply exchanges, kernel
//! errors, protocol violations (wrong seq/pid/type, truncation, MSG_TRUNC)
//! and the pipelined destination listing against a simulated kernel that
//! has Linux's one-dump-per-socket rule.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::rc::Rc;

use ipvs::netlink::consts::*;
use ipvs::netlink::kernel::{self, To};
use ipvs::netlink::transport::request_seq_pid;
use ipvs::netlink::wire::{genl_header, split_datagram, Attrs};
use ipvs::netlink::{Client, FakeTransport, Request, Transport};
use ipvs::*;

const FAMILY: u16 = 0x2a;
const PID: u32 = 777;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(a: &str, port: u16) -> Service {
    Service::new(ServiceKey::Addr {
        protocol: IPPROTO_TCP,
        addr: ip(a),
        port,
    })
}

fn client(f: impl FnMut(&[u8]) -> Vec<Vec<u8>> + 'static) -> Client<FakeTransport> {
    Client::with_family(FakeTransport::responder(PID, f), FAMILY)
}

fn cmd_of(req: &[u8]) -> u8 {
    req[16]
}

fn is_malformed(r: Result<impl std::fmt::Debug>, needle: &str) {
    match r {
        Err(Error::Malformed(m)) => assert!(m.contains(needle), "message {m:?} lacks {needle:?}"),
        other => panic!("expected Malformed({needle}), got {other:?}"),
    }
}

// ---- family resolution -------------------------------------------------

#[test]
fn family_is_resolved_once_and_used_for_every_request() {
    let t = FakeTransport::responder(PID, |req| {
        let (seq, pid) = request_seq_pid(req);
        if u16::from_ne_bytes([req[4], req[5]]) == GENL_ID_CTRL {
            vec![kernel::family(seq, pid, "IPVS", 0x31), kernel::ack(req)]
        } else {
            vec![kernel::ack(req)]
        }
    });
    let mut c = Client::with_transport(t).unwrap();
    assert_eq!(c.family_id(), 0x31);
    c.flush().unwrap();
    c.flush().unwrap();
    let sent = &c.transport().sent;
    assert_eq!(sent.len(), 3, "one lookup, then only the requests");
    assert_eq!(sent[0], Request::GetFamily("IPVS").encode(0, 1, PID));
    assert_eq!(sent[2], Request::Flush.encode(0x31, 3, PID));
}

#[test]
fn unknown_family_is_family_not_found() {
    let t = FakeTransport::responder(PID, |req| {
        vec![kernel::error(req, libc::ENOENT, false, None)]
    });
    let e = Client::with_transport(t).unwrap_err();
    assert!(matches!(e, Error::FamilyNotFound), "{e:?}");
    assert_eq!(e.errno(), libc::ENOPROTOOPT);
    let t = FakeTransport::responder(PID, |req| vec![kernel::error(req, libc::EPERM, true, None)]);
    assert!(matches!(
        Client::with_transport(t),
        Err(Error::Kernel(libc::EPERM))
    ));
}

// ---- acked commands and kernel errors -----------------------------------

#[test]
fn kernel_errnos_come_back_as_kernel_errors() {
    let svc = tcp("10.0.0.1", 80);
    let dest = Destination::new(ip("192.168.0.1"), 80);
    for errno in [
        libc::EEXIST,
        libc::ENOENT,
        libc::ESRCH,
        libc::EPERM,
        libc::EOPNOTSUPP,
        libc::EINVAL,
        libc::ERANGE,
    ] {
        let mut c = client(move |req| vec![kernel::error(req, errno, false, Some("why"))]);
        let results = [
            c.add_service(&svc),
            c.edit_service(&svc),
            c.del_service(&svc),
            c.add_dest(&svc, &dest),
            c.edit_dest(&svc, &dest),
            c.del_dest(&svc, &dest),
            c.zero(None),
            c.flush(),
            c.set_timeouts(&Timeouts::default()),
        ];
        for r in results {
            match r {
                Err(e @ Error::Kernel(_)) => assert_eq!(e.errno(), errno),
                other => panic!("errno {errno}: {other:?}"),
            }
        }
        assert!(matches!(c.service(&svc), Err(Error::Kernel(e)) if e == errno));
        assert!(matches!(c.info(), Err(Error::Kernel(e)) if e == errno));
        assert!(matches!(c.services(), Err(Error::Kernel(e)) if e == errno));
        assert!(matches!(c.daemons(), Err(Error::Kernel(e)) if e == errno));
    }
}

#[test]
fn acked_commands_send_the_reference_bytes_with_running_seq() {
    let mut c = client(|req| vec![kernel::ack(req)]);
    let svc = tcp("10.0.0.1", 80);
    c.add_service(&svc).unwrap();
    c.del_service(&svc).unwrap();
    let d = SyncDaemon {
        state: DaemonState::Master,
        mcast_ifn: "eth0".into(),
        syncid: 0,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
    };
    c.start_daemon(&d).unwrap();
    c.stop_daemon(&d).unwrap();
    let sent = &c.transport().sent;
    assert_eq!(sent[0], Request::NewService(&svc).encode(FAMILY, 1, PID));
    assert_eq!(
        sent[1],
        Request::DelService(&svc.key).encode(FAMILY, 2, PID)
    );
    assert_eq!(sent[2], Request::NewDaemon(&d).encode(FAMILY, 3, PID));
    assert_eq!(sent[3], Request::DelDaemon(&d).encode(FAMILY, 4, PID));
}

#[test]
fn one_socket_serves_a_long_restore() {
    let mut c = client(|req| vec![kernel::ack(req)]);
    for i in 0..2000u16 {
        c.add_service(&tcp("10.0.0.1", i)).unwrap();
    }
    assert_eq!(c.transport().sent.len(), 2000);
    assert!(c.transport().queue.is_empty(), "every ACK consumed");
    assert_eq!(c.next_seq(), 2001);
}

// ---- data replies --------------------------------------------------------

#[test]
fn doit_gets_read_data_then_the_ack() {
    let info = Info {
        version: 0x010201,
        conn_tab_size: 4096,
    };
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    let listed = Service {
        flags: svc_flags::HASHED,
        ..tcp("192.168.1.10", 80)
    };
    let l2 = listed.clone();
    let mut c = client(move |req| {
        let (seq, pid) = request_seq_pid(req);
        let to = To::doit(FAMILY, seq, pid);
        let data = match cmd_of(req) {
            IPVS_CMD_GET_INFO => kernel::info(to, &info),
            IPVS_CMD_GET_CONFIG => kernel::timeouts(to, &t),
            IPVS_CMD_GET_SERVICE => kernel::service(to, &l2),
            c => panic!("cmd {c}"),
        };
        vec![data, kernel::ack(req)]
    });
    assert_eq!(c.info().unwrap(), info);
    assert_eq!(c.timeouts().unwrap(), t);
    assert_eq!(c.service(&tcp("192.168.1.10", 80)).unwrap(), listed);
    assert!(c.transport().queue.is_empty());
    assert_eq!(
        c.transport().sent[2],
        Request::GetService(&listed.key).encode(FAMILY, 3, PID)
    );
}

#[test]
fn dumps_span_datagrams_with_several_messages_each() {
    let svcs: Vec<Service> = (0..250u16).map(|p| tcp("10.0.0.1", p)).collect();
    let s2 = svcs.clone();
    let mut c = client(move |req| {
        let (seq, pid) = request_seq_pid(req);
        let to = To::dump(FAMILY, seq, pid);
        let mut out: Vec<Vec<u8>> = Vec::new();
        for chunk in s2.chunks(100) {
            out.push(chunk.iter().flat_map(|s| kernel::service(to, s)).collect());
        }
        // DONE shares the last datagram.
        out.last_mut().unwrap().extend(kernel::done(seq, pid, 0));
        out
    });
    assert_eq!(c.services().unwrap(), svcs);
}

#[test]
fn errors_inside_a_dump_fail_the_dump() {
    // NLMSG_ERROR after some data.
    let mut c = client(|req| {
        let (seq, pid) = request_seq_pid(req);
        vec![
            kernel::service(To::dump(FAMILY, seq, pid), &tcp("10.0.0.1", 1)),
            kernel::error(req, libc::EMSGSIZE, true, None),
        ]
    });
    assert!(matches!(c.services(), Err(Error::Kernel(libc::EMSGSIZE))));
    // NLMSG_DONE carrying a failure status.
    let mut c = client(|req| {
        let (seq, pid) = request_seq_pid(req);
        vec![kernel::done(seq, pid, libc::ENOBUFS)]
    });
    assert!(matches!(
        c.destinations(&tcp("10.0.0.1", 80)),
        Err(Error::Kernel(libc::ENOBUFS))
    ));
}

#[test]
fn protocol_violations_are_malformed() {
    // ACK where a dump was expected.
    let mut c = client(|req| vec![kernel::ack(req)]);
    is_malformed(
        c.services(),
        "unexpected ACK in reply to IPVS_CMD_GET_SERVICE (dump)",
    );
    // ACK without the data message.
    let mut c = client(|req| vec![kernel::ack(req)]);
    is_malformed(c.info(), "acknowledged without data");
    // Two data messages for a doit.
    let mut c = client(|req| {
        let (seq, pid) = request_seq_pid(req);
        let i = Info {
            version: 1,
            conn_tab_size: 2,
        };
        vec![
            kernel::info(To::doit(FAMILY, seq, pid), &i),
            kernel::info(To::doit(FAMILY, seq, pid), &i),
        ]
    });
    is_malformed(c.info(), "second data message");
    // A destination in a service dump.
    let mut c = client(|req| {
        let (seq, pid) = request_seq_pid(req);
        vec![kernel::dest(
            To::dump(FAMILY, seq, pid),
            &Destination::new(ip("10.0.0.2"), 80),
        )]
    });
    is_malformed(c.services(), "unexpected destination message");
    // Wrong family id (unexpected message type).
    let mut c = client(|req| {
        let (seq, pid) = request_seq_pid(req);
        vec![kernel::service(
            To::dump(0x2b, seq, pid),
            &tcp("10.0.0.1", 1),
        )]
    });
    is_malformed(c.services(), "unexpected netlink message type 0x2b");
    // A sequence number never sent.
    let mut c = client(|req| {
        let (seq, _) = request_seq_pid(req);
        let mut a = kernel::ack(req);
        a[8..12].copy_from_slice(&(seq + 100).to_ne_bytes());
        vec![a]
    });
    is_malformed(c.flush(), "sequence number 101");
    // Someone else's port id.
    let mut c = client(|req| {
        let mut a = kernel::ack(req);
        a[12..16].copy_from_slice(&4u32.to_ne_bytes());
        vec![a]
    });
    is_malformed(c.flush(), "port id 4");
    // A truncated message.
    let mut c = client(|req| {
        let (seq, pid) = request_seq_pid(req);
        let mut m = kernel::service(To::dump(FAMILY, seq, pid), &tcp("10.0.0.1", 1));
        m.truncate(40);
        vec![m]
    });
    is_malformed(c.services(), "netlink message length");
    // A datagram larger than the receive buffer (MSG_TRUNC).
    let mut c = client(|_| vec![vec![0u8; 70_000]]);
    is_malformed(c.flush(), "MSG_TRUNC");
    // An empty datagram.
    let mut c = client(|_| vec![Vec::new()]);
    is_malformed(c.flush(), "empty");
}

#[test]
fn no_reply_is_an_io_error_not_a_hang() {
    let mut c = client(|_| Vec::new());
    assert!(matches!(c.flush(), Err(Error::Io(_))));
}

#[test]
fn replies_to_abandoned_requests_are_skipped() {
    // The first dump fails on a malformed message; its DONE is still queued
    // when the next request runs and must not confuse it.
    let mut c = client(|req| {
        let (seq, pid) = request_seq_pid(req);
        if cmd_of(req) == IPVS_CMD_GET_SERVICE {
            vec![vec![0u8; 3], kernel::done(seq, pid, 0)]
        } else {
            vec![kernel::ack(req)]
        }
    });
    assert!(c.services().is_err());
    c.flush().unwrap();
}

#[test]
fn destinations_fall_back_to_the_service_family() {
    let svc = Service::new(ServiceKey::Fwmark {
        af: AF_INET6,
        mark: 2,
    });
    let d = Destination::new(ip("2001:db8::5"), 0);
    let d2 = d.clone();
    let mut c = client(move |req| {
        let (seq, pid) = request_seq_pid(req);
        vec![
            kernel::dest_with(
                To::dump(FAMILY, seq, pid),
                &d2,
                kernel::StatsNests::Both,
                false,
            ),
            kernel::done(seq, pid, 0),
        ]
    });
    assert_eq!(c.destinations(&svc).unwrap(), vec![d.clone()]);
    assert_eq!(c.destinations_of_all(&[svc]).unwrap(), vec![vec![d]]);
}

// ---- the simulated kernel -------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Sent(u32),
    /// A datagram was received; `Some(seq)` if it ended dump `seq`.
    Received(Option<u32>),
    Busy(u32),
}

/// Enough of Linux's netlink + IPVS to check pipelining: dumps are filled
/// in chunks of `chunk` bytes; the first chunk is produced while the
/// request is sent, each next one (or NLMSG_DONE) while the previous chunk
/// is received; a dump request while another dump runs gets EBUSY.
struct SimKernel {
    table: Table,
    chunk: usize,
    queue: VecDeque<Vec<u8>>,
    running: Option<(u32, usize, usize)>, // (seq, service index, next dest)
    log: Rc<RefCell<Vec<Event>>>,
    /// The first datagram of the dump with this seq gets an unknown type.
    corrupt: Option<u32>,
    /// Answer `recv_batch` like recvmmsg(MSG_WAITFORONE) does.
    batch: bool,
    recv_calls: usize,
}

fn key_of(req: &[u8]) -> Option<ServiceKey> {
    let msg = split_datagram(req).ok()?.into_iter().next()?;
    let (_, _, attrs) = genl_header(msg.payload).ok()?;
    let top = Attrs::parse(attrs, "request").ok()?;
    let s = top.nest(IPVS_CMD_ATTR_SERVICE, "SERVICE", "service").ok()?;
    let af = s.u16(IPVS_SVC_ATTR_AF, "AF").ok()?;
    if let Ok(mark) = s.u32(IPVS_SVC_ATTR_FWMARK, "FWMARK") {
        return Some(ServiceKey::Fwmark { af, mark });
    }
    let raw = s.bytes::<16>(IPVS_SVC_ATTR_ADDR, "ADDR").ok()?;
    let addr = if af == AF_INET {
        IpAddr::from([raw[0], raw[1], raw[2], raw[3]])
    } else {
        IpAddr::from(raw)
    };
    Some(ServiceKey::Addr {
        protocol: s.u16(IPVS_SVC_ATTR_PROTOCOL, "PROTOCOL").ok()?,
        addr,
        port: s.be16(IPVS_SVC_ATTR_PORT, "PORT").ok()?,
    })
}

impl SimKernel {
    fn dump_step(&mut self) {
        let Some((seq, si, pos)) = self.running else {
            return;
        };
        let to = To::dump(FAMILY, seq, PID);
        let mut skb = Vec::new();
        let mut next = pos;
        let dests = self.table.get(si).map(|t| t.1.as_slice()).unwrap_or(&[]);
        while let Some(d) = dests.get(next) {
            let m = kernel::dest(to, d);
            if skb.len() + m.len() > self.chunk {
                break;
            }
            skb.extend(m);
            next += 1;
        }
        if pos == 0 && self.corrupt == Some(seq) && !skb.is_empty() {
            skb[4] = 0x33;
        }
        if skb.is_empty() {
            skb.extend(kernel::done(seq, PID, 0));
            self.running = None;
        } else {
            self.running = Some((seq, si, next));
        }
        self.queue.push_back(skb);
    }
}

impl Transport for SimKernel {
    fn send(&mut self, req: &[u8]) -> io::Result<()> {
        let (seq, _) = request_seq_pid(req);
        self.log.borrow_mut().push(Event::Sent(seq));
        assert_eq!(cmd_of(req), IPVS_CMD_GET_DEST);
        if self.running.is_some() {
            self.log.borrow_mut().push(Event::Busy(seq));
            self.queue
                .push_back(kernel::error(req, libc::EBUSY, true, None));
            return Ok(());
        }
        let key = key_of(req).expect("request names a service");
        let si = self
            .table
            .iter()
            .position(|(s, _)| s.key == key)
            .unwrap_or(usize::MAX);
        self.running = Some((seq, si, 0));
        self.dump_step();
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let d = self
            .queue
            .pop_front()
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "sim: nothing queued"))?;
        let n = d.len().min(buf.len());
        buf[..n].copy_from_slice(&d[..n]);
        let done = split_datagram(&d)
            .unwrap()
            .iter()
            .find(|m| m.ty == NLMSG_DONE)
            .map(|m| m.seq);
        self.log.borrow_mut().push(Event::Received(done));
        // Linux continues a running dump inside recvmsg.
        self.dump_step();
        Ok(d.len())
    }

    fn port_id(&self) -> u32 {
        PID
    }

    fn recv_batch(&mut self, bufs: &mut [Vec<u8>]) -> io::Result<Vec<usize>> {
        self.recv_calls += 1;
        let want = if self.batch { bufs.len() } else { 1 };
        let mut lens = Vec::new();
        for b in bufs.iter_mut().take(want) {
            // Only the first receive waits; later ones take what is queued.
            if !lens.is_empty() && self.queue.is_empty() {
                break;
            }
            lens.push(self.recv(b)?);
        }
        Ok(lens)
    }
}

fn sim_table() -> Table {
    (0..300u16)
        .map(|i| {
            let svc = if i % 50 == 7 {
                Service::new(ServiceKey::Fwmark {
                    af: AF_INET6,
                    mark: u32::from(i),
                })
            } else {
                tcp("10.1.0.1", i)
            };
            // Mostly small dests lists, some empty, a few spanning chunks.
            let n = if i % 97 == 5 { 260 } else { usize::from(i % 7) };
            let dests = (0..n)
                .map(|k| {
                    let addr = if svc.af() == AF_INET6 {
                        IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, i, k as u16])
                    } else {
                        IpAddr::from([10, (i >> 8) as u8, i as u8, k as u8])
                    };
                    Destination {
                        weight: k as i32,
                        active_conns: u32::from(i),
                        ..Destination::new(addr, 8000 + k as u16)
                    }
                })
                .collect();
            (svc, dests)
        })
        .collect()
}

type Table = Vec<(Service, Vec<Destination>)>;

fn run_sim(chunk: usize, batch: bool) -> (Vec<Vec<Destination>>, Vec<Event>, Table, usize) {
    let table = sim_table();
    let log = Rc::new(RefCell::new(Vec::new()));
    let sim = SimKernel {
        table: table.clone(),
        chunk,
        queue: VecDeque::new(),
        running: None,
        log: log.clone(),
        corrupt: None,
        batch,
        recv_calls: 0,
    };
    let mut c = Client::with_family(sim, FAMILY);
    let svcs: Vec<Service> = table.iter().map(|t| t.0.clone()).collect();
    let got = c.destinations_of_all(&svcs).unwrap();
    assert!(c.transport().queue.is_empty(), "every reply consumed");
    let events = log.borrow().clone();
    (got, events, table, c.transport().recv_calls)
}

#[test]
fn pipelined_listing_matches_the_table_and_runs_ahead() {
    // 32 KiB chunks, what the kernel uses with our 64 KiB receive buffer.
    let (got, events, table, calls) = run_sim(32 * 1024 - 320, false);
    let want: Vec<Vec<Destination>> = table.into_iter().map(|t| t.1).collect();
    assert_eq!(got, want);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Busy(_))),
        "no EBUSY"
    );
    // Pipelining: request k+1 goes out before dump k's DONE is read.
    let mut ahead = 0;
    for (i, e) in events.iter().enumerate() {
        if let Event::Sent(seq) = e {
            let done_prev = events[..i]
                .iter()
                .any(|e| *e == Event::Received(Some(seq - 1)));
            if *seq > 1 && !done_prev {
                ahead += 1;
            }
        }
    }
    assert!(ahead > 200, "only {ahead} of 300 requests were sent ahead");
    // One receive call per datagram: a data datagram and a DONE per
    // non-empty list, one datagram (DONE only) per empty one.
    let datagrams = events
        .iter()
        .filter(|e| matches!(e, Event::Received(_)))
        .count();
    assert_eq!(calls, datagrams);
}

#[test]
fn batched_receives_take_data_and_done_in_one_call() {
    let (got, events, table, calls) = run_sim(32 * 1024 - 320, true);
    let n = table.len();
    let want: Vec<Vec<Destination>> = table.into_iter().map(|t| t.1).collect();
    assert_eq!(got, want);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Busy(_))),
        "no EBUSY"
    );
    // About one receive call per service (a few more for the lists that
    // span several datagrams), where one-at-a-time needs two per list.
    assert!(calls <= n + 20, "{calls} receive calls for {n} services");
}

#[test]
fn pipelined_listing_recovers_from_ebusy() {
    // With page-sized chunks our "short datagram" guess is wrong for the big
    // lists: the kernel answers EBUSY and the request is sent again.
    let (got, events, table, _) = run_sim(3776, true);
    let want: Vec<Vec<Destination>> = table.into_iter().map(|t| t.1).collect();
    assert_eq!(got, want);
    assert!(events.iter().any(|e| matches!(e, Event::Busy(_))));
}

#[test]
fn pipelined_and_sequential_agree_on_errors() {
    let svcs = vec![tcp("10.0.0.1", 1), tcp("10.0.0.1", 2)];
    let mut c = client(|req| vec![kernel::error(req, libc::EPERM, false, None)]);
    assert!(matches!(
        c.destinations_of_all(&svcs),
        Err(Error::Kernel(libc::EPERM))
    ));
    let mut c = client(|_| Vec::new());
    assert!(c.destinations_of_all(&[]).unwrap().is_empty());
    assert!(c.transport().sent.is_empty());
}

#[test]
fn a_dump_abandoned_mid_way_does_not_block_the_next_one() {
    // Linux keeps an abandoned dump running and answers EBUSY to the next
    // dump on the socket until it ends; the client drains it first.
    let table = sim_table();
    let big = table.iter().position(|t| t.1.len() == 260).unwrap();
    let sim = SimKernel {
        table: table.clone(),
        chunk: 3776,
        queue: VecDeque::new(),
        running: None,
        log: Rc::new(RefCell::new(Vec::new())),
        corrupt: Some(1),
        batch: true,
        recv_calls: 0,
    };
    let mut c = Client::with_family(sim, FAMILY);
    let svc = &table[big].0;
    is_malformed(c.destinations(svc), "unexpected netlink message type 0x33");
    assert_eq!(c.destinations(svc).unwrap(), table[big].1);

    // The same inside a pipelined listing: seq 4 is corrupted.
    let svcs: Vec<Service> = table.iter().map(|t| t.0.clone()).collect();
    c.transport_mut().corrupt = Some(c.next_seq() + big as u32);
    assert!(c.destinations_of_all(&svcs).is_err());
    let want: Vec<Vec<Destination>> = table.into_iter().map(|t| t.1).collect();
    assert_eq!(c.destinations_of_all(&svcs).unwrap(), want);
    assert!(c.transport().queue.is_empty());
}
