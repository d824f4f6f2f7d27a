//! Appendix H: the listing order produced by glibc's merge sort with
//! libipvs's wrapping comparators.

use std::net::IpAddr;

use ipvs::fake::FakeIpvs;
use ipvs::*;

use super::support::*;

/// The real binary's output for the 40-entry example of Appendix H.
pub const H_OUTPUT: &str = "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
FWM  -2147483647 rr
FWM  -1294967296 rr
FWM  -16 rr
FWM  -16 rr
TCP  128.43.81.87:80 rr
TCP  129.178.186.41:80 rr
TCP  129.205.31.97:443 rr
TCP  129.245.247.159:443 rr
TCP  200.174.26.52:8080 rr
TCP  255.59.252.30:53 rr
TCP  64.77.250.215:80 rr
TCP  64.229.147.37:8080 rr
UDP  129.35.47.138:80 rr
UDP  129.41.85.229:8080 rr
UDP  192.23.68.148:443 rr
UDP  1.27.233.200:0 rr
UDP  10.109.19.44:0 rr
UDP  128.116.102.252:80 rr
SCTP 129.82.11.105:53 rr
SCTP 172.241.132.99:8080 rr
SCTP 192.92.124.41:53 rr
SCTP 192.244.91.222:53 rr
SCTP 255.157.92.52:8080 rr
SCTP 255.160.174.179:0 rr
SCTP 255.228.145.197:53 rr
SCTP 1.152.46.133:53 rr
SCTP 1.218.160.238:0 rr
SCTP 10.63.114.31:8080 rr
SCTP 64.49.32.30:443 rr
SCTP 64.114.168.114:443 rr
SCTP 127.202.24.37:80 rr
TCP  [e777:cea7:259c:d398:fa79:a8ef:5927:8c8c]:2804 rr
TCP  [23d1:6edd:8c47:b46a:fc5b:aee2:61f5:3b26]:23097 rr
TCP  [3256:347b:9ffc:e69c:d700:7ae8:a758:cca4]:15716 rr
UDP  [a83b:37c:d496:2e43:4801:256b:885e:9c90]:16448 rr
UDP  [19f2:5d9d:612:df35:9d60:26a2:40f4:589a]:62147 rr
FWM  1 rr
  -> 10.0.0.5:0                   Route   1      0          0         
  -> 10.0.0.6:0                   Tunnel  1      0          0         
FWM  5 rr
FWM  7 rr
FWM  7 rr
";

/// Rebuild the services of the listing (in listing order).
pub fn h_table() -> Vec<(Service, Vec<Destination>)> {
    let mut t = Vec::new();
    for line in H_OUTPUT.lines().skip(3) {
        if line.starts_with("  ->") {
            continue;
        }
        let (proto, rest) = line.split_at(5);
        let name = rest.split(' ').next().unwrap();
        let key = if proto.trim() == "FWM" {
            let mark = name.parse::<i64>().unwrap() as i32 as u32;
            ServiceKey::Fwmark { af: AF_INET, mark }
        } else {
            let (host, port) = name.rsplit_once(':').unwrap();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            ServiceKey::Addr {
                protocol: match proto.trim() {
                    "TCP" => IPPROTO_TCP,
                    "UDP" => IPPROTO_UDP,
                    _ => IPPROTO_SCTP,
                },
                addr: host.parse::<IpAddr>().unwrap(),
                port: port.parse().unwrap(),
            }
        };
        let mut s = Service::new(key);
        s.scheduler = "rr".into();
        let dests = if name == "1" && proto.trim() == "FWM" {
            let mut a = Destination::new("10.0.0.6".parse().unwrap(), 0);
            a.forward = ForwardMethod::Tunnel;
            vec![a, Destination::new("10.0.0.5".parse().unwrap(), 0)]
        } else {
            vec![]
        };
        t.push((s, dests));
    }
    t
}

thread_local! {
    static TABLE: std::cell::RefCell<Vec<Service>> = const { std::cell::RefCell::new(Vec::new()) };
}

extern "C" fn c_cmp(a: *const libc::c_void, b: *const libc::c_void) -> libc::c_int {
    // SAFETY: qsort hands us pointers into the u32 index array.
    let (i, j) = unsafe { (*(a as *const u32) as usize, *(b as *const u32) as usize) };
    TABLE.with(|t| {
        let t = t.borrow();
        ipvs::cli::sort::cmp_services(&t[i], &t[j])
    })
}

/// Order of `services` according to this machine's glibc qsort with
/// libipvs's comparator (what ipvsadm itself would print).
fn glibc_order(services: &[Service]) -> Vec<Service> {
    TABLE.with(|t| *t.borrow_mut() = services.to_vec());
    let mut idx: Vec<u32> = (0..services.len() as u32).collect();
    // SAFETY: a valid array of u32 with the matching element size.
    unsafe {
        libc::qsort(
            idx.as_mut_ptr() as *mut libc::c_void,
            idx.len(),
            std::mem::size_of::<u32>(),
            Some(c_cmp),
        );
    }
    idx.iter().map(|&i| services[i as usize].clone()).collect()
}

fn ours(services: &[Service]) -> Vec<Service> {
    let mut v = services.to_vec();
    ipvs::cli::sort::merge_sort(&mut v, &ipvs::cli::sort::cmp_services);
    v
}

/// A small deterministic generator (no test-only dependency needed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

fn random_table(seed: u64, n: usize) -> Vec<Service> {
    let mut r = Lcg(seed);
    let firsts = [1u32, 10, 127, 128, 192, 200, 255, 64];
    let marks = [
        0x7fff_ffffu32,
        0x8000_0000,
        0x8000_0001,
        0xffff_fff0,
        3_000_000_000,
        1,
        5,
        7,
    ];
    (0..n)
        .map(|_| {
            let key = match r.next() % 4 {
                0 => ServiceKey::Fwmark {
                    af: if r.next() & 1 == 0 { AF_INET } else { AF_INET6 },
                    mark: marks[(r.next() % 8) as usize],
                },
                1 => {
                    let mut o = [0u8; 16];
                    for b in o.iter_mut() {
                        *b = r.next() as u8;
                    }
                    ServiceKey::Addr {
                        protocol: [IPPROTO_TCP, IPPROTO_UDP][(r.next() % 2) as usize],
                        addr: IpAddr::from(o),
                        port: r.next() as u16,
                    }
                }
                _ => {
                    let a = (firsts[(r.next() % 8) as usize] << 24) | (r.next() & 0xff_ffff);
                    ServiceKey::Addr {
                        protocol: [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP][(r.next() % 3) as usize],
                        addr: IpAddr::V4(std::net::Ipv4Addr::from(a)),
                        port: [0u16, 53, 80, 443, 8080][(r.next() % 5) as usize],
                    }
                }
            };
            Service::new(key)
        })
        .collect()
}

/// Regression guard for the non-transitive comparator: our merge sort must
/// order exactly like glibc's qsort (the algorithm ipvsadm runs), not just
/// "sort" - checked against the C library on random wrapping tables.
#[test]
fn merge_sort_matches_glibc_qsort_on_non_transitive_input() {
    for seed in 0..40u64 {
        for n in [2usize, 3, 7, 40, 300] {
            let t = random_table(seed * 1000 + n as u64, n);
            assert_eq!(ours(&t), glibc_order(&t), "seed {seed} n {n}");
        }
    }
    let h: Vec<Service> = h_table().into_iter().map(|(s, _)| s).collect();
    assert_eq!(ours(&h), glibc_order(&h));
    let mut r = h.clone();
    r.reverse();
    assert_eq!(ours(&r), glibc_order(&r));
}

/// Appendix H's listing shape: the wrapping fwmarks first, plain fwmarks
/// last, the FWM 1 destinations sorted.
#[test]
fn appendix_h_groups() {
    let out = run(&["-Ln"], FakeIpvs::with_table(h_table())).0.stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..7], &H_OUTPUT.lines().collect::<Vec<_>>()[..7]);
    assert_eq!(
        &lines[lines.len() - 6..],
        &H_OUTPUT.lines().collect::<Vec<_>>()[lines.len() - 6..]
    );
}
