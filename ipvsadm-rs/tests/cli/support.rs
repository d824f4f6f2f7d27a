//! Test fixtures: the reference transcripts' fake kernel table, fake name
//! resolution (Debian netbase port names, the transcripts' reverse DNS) and
//! a runner that captures stdout, stderr and the exit status.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::rc::Rc;

use ipvs::cli::{run_with, Host};
use ipvs::fake::FakeIpvs;
use ipvs::*;

/// Deterministic stand-in for NSS.
#[derive(Debug, Default)]
pub struct FakeHost {
    pub conn_path: Option<PathBuf>,
    pub modprobe_ok: bool,
    pub modprobe_calls: usize,
}

const SERVICES: &[(&str, u16, &str)] = &[
    ("http", 80, "tcp"),
    ("https", 443, "tcp"),
    ("https", 443, "udp"),
    ("domain", 53, "tcp"),
    ("domain", 53, "udp"),
    ("http-alt", 8080, "tcp"),
    ("http-alt", 8080, "udp"),
    ("sip", 5060, "tcp"),
    ("sip", 5060, "udp"),
];

impl Host for FakeHost {
    fn host_to_addr(&mut self, name: &[u8]) -> Option<Ipv4Addr> {
        match name {
            b"localhost" => Some(Ipv4Addr::LOCALHOST),
            _ => None,
        }
    }

    fn addr_to_host(&mut self, addr: &IpAddr) -> Option<Vec<u8>> {
        let n: &str = match addr.to_string().as_str() {
            "127.0.0.1" => "localhost",
            "192.168.1.10" => "a-very-long-virtual-hostname.example.com",
            "10.0.0.2" => "realserver-number-two.example.com",
            "2001:db8::10" => "v6-real.example.com",
            _ => return None,
        };
        Some(n.as_bytes().to_vec())
    }

    fn service_to_port(&mut self, name: &[u8], proto: &str) -> Option<u16> {
        SERVICES
            .iter()
            .find(|(n, _, p)| n.as_bytes() == name && *p == proto)
            .map(|s| s.1)
    }

    fn port_to_service(&mut self, port: u16, proto: &str) -> Option<Vec<u8>> {
        SERVICES
            .iter()
            .find(|(_, n, p)| *n == port && *p == proto)
            .map(|s| s.0.as_bytes().to_vec())
    }

    fn modprobe_ipvs(&mut self) -> bool {
        self.modprobe_calls += 1;
        self.modprobe_ok
    }

    fn posixly_correct(&self) -> bool {
        // Tests must not depend on the environment they run in.
        false
    }

    fn conn_file(&self) -> PathBuf {
        self.conn_path
            .clone()
            .unwrap_or_else(|| PathBuf::from("/nonexistent/ip_vs_conn"))
    }
}

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

fn svc(protocol: u16, addr: IpAddr, port: u16, sched: &str) -> Service {
    let mut s = Service::new(ServiceKey::Addr {
        protocol,
        addr,
        port,
    });
    s.scheduler = sched.into();
    s
}

fn fwm(af: u16, mark: u32, sched: &str) -> Service {
    let mut s = Service::new(ServiceKey::Fwmark { af, mark });
    s.scheduler = sched.into();
    s
}

fn dest(addr: IpAddr, port: u16, fwd: ForwardMethod, weight: i32) -> Destination {
    let mut d = Destination::new(addr, port);
    d.forward = fwd;
    d.weight = weight;
    d
}

/// The eleven services of the reference's fake kernel, in its dump order.
pub fn fixture_table() -> Vec<(Service, Vec<Destination>)> {
    use ForwardMethod::*;
    let mut t = Vec::new();

    let mut s1 = svc(IPPROTO_TCP, v4("192.168.1.10"), 80, "wlc");
    s1.stats = Stats {
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
    };
    let mut d1 = dest(v4("10.0.0.2"), 80, Masquerade, 1);
    d1.u_threshold = 100;
    d1.l_threshold = 50;
    d1.active_conns = 3;
    d1.inactive_conns = 4;
    d1.stats = Stats {
        conns: 1,
        inpkts: 2,
        outpkts: 3,
        inbytes: 4,
        outbytes: 5,
        cps: 6,
        inpps: 7,
        outpps: 8,
        inbps: 9,
        outbps: 10,
    };
    let mut d2 = dest(v4("10.0.0.1"), 8080, Masquerade, 5);
    d2.active_conns = 1;
    d2.inactive_conns = 2;
    d2.stats = Stats {
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
    };
    t.push((s1, vec![d1, d2]));

    let mut s2 = svc(IPPROTO_TCP, v4("10.1.1.1"), 443, "rr");
    s2.flags = svc_flags::PERSISTENT;
    s2.timeout = 300;
    s2.netmask = 0xffff_ff00;
    let mut a = dest(v4("200.0.0.1"), 443, DirectRoute, 1);
    a.persist_conns = 7;
    let mut b = dest(v4("10.2.2.2"), 443, DirectRoute, 2);
    b.persist_conns = 8;
    t.push((s2, vec![a, b]));

    let mut s3 = svc(IPPROTO_TCP, v4("200.1.1.1"), 80, "wrr");
    s3.flags = svc_flags::SCHED3;
    t.push((s3, vec![]));

    let mut s4 = svc(IPPROTO_UDP, v4("192.168.1.10"), 53, "rr");
    s4.flags = svc_flags::ONEPACKET;
    t.push((s4, vec![dest(v4("10.0.0.3"), 53, Masquerade, 1)]));

    let mut s5 = fwm(AF_INET, 1, "sh");
    s5.flags = svc_flags::PERSISTENT | svc_flags::SCHED1 | svc_flags::SCHED2;
    s5.timeout = 600;
    t.push((
        s5,
        vec![
            dest(v4("10.0.0.5"), 0, DirectRoute, 1),
            dest(v4("10.0.0.6"), 0, Tunnel, 1),
        ],
    ));

    let mut s6 = fwm(AF_INET6, 2, "mh");
    s6.flags = svc_flags::SCHED2;
    let mut g = dest(v6("2001:db8::5"), 0, Tunnel, 1);
    g.tun_type = TunnelType::Gue;
    g.tun_port = 6080;
    g.tun_flags = tun_flags::CSUM;
    t.push((s6, vec![g]));

    let mut s7 = svc(IPPROTO_TCP, v6("2001:db8::1"), 443, "wlc");
    s7.flags = svc_flags::PERSISTENT;
    s7.timeout = 1800;
    s7.netmask = 64;
    let mut gre = dest(v4("10.0.0.7"), 443, Tunnel, 1);
    gre.tun_type = TunnelType::Gre;
    gre.tun_flags = tun_flags::CSUM;
    let mut gue = dest(v6("2001:db8::11"), 443, Tunnel, 3);
    gue.tun_type = TunnelType::Gue;
    gue.tun_port = 5555;
    gue.tun_flags = tun_flags::REMCSUM;
    t.push((
        s7,
        vec![dest(v6("2001:db8::10"), 443, Masquerade, 1), gre, gue],
    ));

    let mut s8 = svc(IPPROTO_UDP, v4("192.168.1.20"), 5060, "rr");
    s8.flags = svc_flags::PERSISTENT;
    s8.timeout = 360;
    s8.pe_name = "sip".into();
    t.push((s8, vec![]));

    t.push((svc(IPPROTO_SCTP, v4("192.168.1.30"), 9999, "wlc"), vec![]));

    t.push((
        svc(IPPROTO_TCP, v4("127.0.0.1"), 80, "wlc"),
        vec![
            dest(v4("127.0.0.1"), 8080, LocalNode, 1),
            dest(v4("10.9.9.9"), 80, Bypass, 1),
        ],
    ));

    let mut s11 = svc(IPPROTO_TCP, v4("192.168.1.40"), 0, "lc");
    s11.flags = svc_flags::PERSISTENT;
    s11.timeout = 360;
    t.push((s11, vec![]));
    t
}

/// The transcripts' daemons for `-L --daemon`.
pub fn fixture_daemons() -> Vec<SyncDaemon> {
    vec![
        SyncDaemon {
            state: DaemonState::Master,
            mcast_ifn: "eth0".into(),
            syncid: 10,
            sync_maxlen: Some(1472),
            mcast_group: Some(v4("224.0.0.81")),
            mcast_port: Some(8848),
            mcast_ttl: Some(1),
        },
        SyncDaemon {
            state: DaemonState::Backup,
            mcast_ifn: "eth1".into(),
            syncid: 20,
            sync_maxlen: Some(1400),
            mcast_group: Some(v6("ff02::51")),
            mcast_port: Some(8849),
            mcast_ttl: Some(2),
        },
    ]
}

/// The reference's fake kernel: fixture table, acknowledges every change.
pub fn reference_kernel() -> FakeIpvs {
    let mut f = FakeIpvs::with_table(fixture_table());
    f.set_daemons(fixture_daemons());
    f.stateless = true;
    f
}

/// What one run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

/// Run with `kernel` (None: the IPVS family is missing). The fake comes
/// back with its call log.
pub fn run_argv(
    argv: &[Vec<u8>],
    stdin: &[u8],
    kernel: Option<FakeIpvs>,
    host: &mut FakeHost,
) -> (Outcome, Option<FakeIpvs>) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut input: &[u8] = stdin;
    let shared = kernel.map(|k| Rc::new(RefCell::new(k)));
    let handle = shared.clone();
    // The opener hands out the same table each time it is called (ipvsadm
    // initialises again after a successful modprobe).
    let mut open = move || -> ipvs::Result<Box<dyn Ipvs>> {
        match &handle {
            Some(k) => Ok(Box::new(Shared(k.clone()))),
            None => Err(ipvs::Error::FamilyNotFound),
        }
    };
    let status = run_with(argv, &mut input, &mut out, &mut err, host, &mut open);
    drop(open);
    let outcome = Outcome {
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
        status,
    };
    let back = shared.and_then(|rc| Rc::try_unwrap(rc).ok().map(|c| c.into_inner()));
    (outcome, back)
}

/// `ipvsadm` invoked as `/sbin/ipvsadm` with words `args`.
pub fn argv(args: &[&str]) -> Vec<Vec<u8>> {
    let mut v = vec![b"/sbin/ipvsadm".to_vec()];
    v.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    v
}

pub fn run(args: &[&str], kernel: FakeIpvs) -> (Outcome, FakeIpvs) {
    let (o, k) = run_argv(&argv(args), b"", Some(kernel), &mut FakeHost::default());
    (o, k.expect("fake returned"))
}

/// One fake table shared by every handle the program opens.
pub struct Shared(pub Rc<RefCell<FakeIpvs>>);

impl Ipvs for Shared {
    fn info(&mut self) -> ipvs::Result<Info> {
        self.0.borrow_mut().info()
    }
    fn services(&mut self) -> ipvs::Result<Vec<Service>> {
        self.0.borrow_mut().services()
    }
    fn service(&mut self, s: &Service) -> ipvs::Result<Service> {
        self.0.borrow_mut().service(s)
    }
    fn destinations(&mut self, s: &Service) -> ipvs::Result<Vec<Destination>> {
        self.0.borrow_mut().destinations(s)
    }
    fn add_service(&mut self, s: &Service) -> ipvs::Result<()> {
        self.0.borrow_mut().add_service(s)
    }
    fn edit_service(&mut self, s: &Service) -> ipvs::Result<()> {
        self.0.borrow_mut().edit_service(s)
    }
    fn del_service(&mut self, s: &Service) -> ipvs::Result<()> {
        self.0.borrow_mut().del_service(s)
    }
    fn zero(&mut self, s: Option<&Service>) -> ipvs::Result<()> {
        self.0.borrow_mut().zero(s)
    }
    fn flush(&mut self) -> ipvs::Result<()> {
        self.0.borrow_mut().flush()
    }
    fn add_dest(&mut self, s: &Service, d: &Destination) -> ipvs::Result<()> {
        self.0.borrow_mut().add_dest(s, d)
    }
    fn edit_dest(&mut self, s: &Service, d: &Destination) -> ipvs::Result<()> {
        self.0.borrow_mut().edit_dest(s, d)
    }
    fn del_dest(&mut self, s: &Service, d: &Destination) -> ipvs::Result<()> {
        self.0.borrow_mut().del_dest(s, d)
    }
    fn timeouts(&mut self) -> ipvs::Result<Timeouts> {
        self.0.borrow_mut().timeouts()
    }
    fn set_timeouts(&mut self, t: &Timeouts) -> ipvs::Result<()> {
        self.0.borrow_mut().set_timeouts(t)
    }
    fn daemons(&mut self) -> ipvs::Result<Vec<SyncDaemon>> {
        self.0.borrow_mut().daemons()
    }
    fn start_daemon(&mut self, d: &SyncDaemon) -> ipvs::Result<()> {
        self.0.borrow_mut().start_daemon(d)
    }
    fn stop_daemon(&mut self, d: &SyncDaemon) -> ipvs::Result<()> {
        self.0.borrow_mut().stop_daemon(d)
    }
}
