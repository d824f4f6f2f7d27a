//! Failover time, end to end: from SIGKILL of the VIP holder (its link cut
//! too, like a dead machine) until the first reply to a client's ICMP echo
//! (one every 2 ms from a raw socket) arrives from the survivor. Debian's
//! heartbeat 3.0.6 and ours at keepalive 2 / deadtime 5, and ours at
//! keepalive 100ms / deadtime 300ms; then (IDLE_SECS) a check that the
//! fast settings see no false failover while idle.
//! Run with bench/heartbeat/run; TRIALS (default 20), IDLE_SECS (default 600).
//! HEARTBEAT_FORK_AGENTS=1 makes our daemon fork its IPaddr agent as it did
//! before it ran it in-process.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::netns::{in_ns, sh, sh_ok, wait_for, Net, Node, RealNode};

const KEYS: &str = "auth 1\n1 sha1 bench-secret\n";

enum Kind {
    Real,
    Ours,
}

struct Holder {
    real: Option<(RealNode, RealNode)>,
    ours: Option<(Node, Node)>,
}

fn has_vip(ns: &str, vip: &str) -> bool {
    sh(&format!("ip -n {ns} -4 addr show dev eth0")).contains(&format!("{vip}/"))
}

fn trial(kind: &Kind, timings: &str) -> Option<Sample> {
    let net = Net::new(2);
    let vip = format!("{}.50", net.subnet);
    let hacf =
        format!("logfile LOGFILE\n{timings}\nbcast eth0\nauto_failback on\nnode www3 www4\n");
    let res = format!("www3 {vip}\n");
    let mut h = Holder {
        real: None,
        ours: None,
    };
    let start = Instant::now();
    match kind {
        Kind::Real => {
            let mut a = RealNode::new("www3", &net.ns('a'), &hacf, KEYS, &res);
            let b = RealNode::new("www4", &net.ns('b'), &hacf, KEYS, &res);
            for n in [&a, &b] {
                sh(&format!(
                    "cp -a /etc/ha.d/resource.d/. {}/etc/resource.d/",
                    n.dir.path.display()
                ));
            }
            a.start();
            h.real = Some((a, b));
        }
        Kind::Ours => {
            let mut a = Node::new("www3", &net.ns('a'), &hacf, KEYS, &res);
            let b = Node::new("www4", &net.ns('b'), &hacf, KEYS, &res);
            for n in [&a, &b] {
                std::os::unix::fs::symlink(
                    env!("CARGO_BIN_EXE_IPaddr"),
                    n.dir.join("etc/resource.d/IPaddr"),
                )
                .unwrap();
            }
            a.start();
            h.ours = Some((a, b));
        }
    }
    let (a_ns, b_ns, c_ns) = (net.ns('a'), net.ns('b'), net.ns('c'));
    // www3 alone takes the VIP after initdead, then www4 joins (two nodes
    // starting together wait out a 10 s start-up exchange, both 3.0.6 and
    // ours: it does not change what is measured)
    let a_held = wait_for(Duration::from_secs(40), || has_vip(&a_ns, &vip)).is_some();
    if a_held {
        match (&mut h.real, &mut h.ours) {
            (Some((_, b)), _) => b.start(),
            (_, Some((_, b))) => b.start(),
            _ => unreachable!(),
        }
    }
    if !a_held {
        if let Some((a, _)) = &h.real {
            eprintln!("www3 never held {vip}:\n{}", a.log());
            let dbg = std::fs::read_to_string(a.dir.join("log.debug")).unwrap_or_default();
            eprintln!(
                "--- debug log (script stderr):\n{}",
                dbg.lines()
                    .filter(|l| !l.contains("heartbeat: ["))
                    .take(40)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        if let Some((a, _)) = &h.ours {
            eprintln!("www3 never held {vip}:\n{}", a.log());
        }
        return None;
    }
    let peer_joined = wait_for(Duration::from_secs(40), || match (&h.real, &h.ours) {
        (Some((a, _)), _) => a
            .log()
            .contains("Status update for node www4: status active"),
        (_, Some((a, _))) => a
            .log()
            .contains("Status update for node www4: status active"),
        _ => false,
    });
    if peer_joined.is_none() {
        eprintln!("www4 never joined");
        return None;
    }
    // steady state: past the start-up dead-time bonus, peer known
    std::thread::sleep(
        Duration::from_millis(8000)
            .saturating_sub(start.elapsed())
            .max(Duration::from_secs(2)),
    );
    if !sh_ok(&format!("ip netns exec {c_ns} ping -c1 -W1 {vip}")) {
        return None;
    }
    // www3's heartbeats as the client sees them on the wire (bcast 694)
    let stop = Arc::new(AtomicBool::new(false));
    let last_hb = {
        let stop = stop.clone();
        in_ns(&c_ns, move || {
            let s = std::net::UdpSocket::bind("0.0.0.0:694").unwrap();
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut buf = vec![0u8; 65536];
            let mut last = None;
            while !stop.load(Ordering::SeqCst) {
                if let Ok(n) = s.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]);
                    if text.contains("t=status") && text.contains("src=www3") {
                        // the kernel's arrival time, not when this thread
                        // (maybe late, on a loaded machine) read it
                        last = Some(arrival(&s));
                    }
                }
            }
            last
        })
    };
    // at least one full keepalive interval seen by the listener
    std::thread::sleep(Duration::from_millis(2200));
    let t_wall = SystemTime::now();
    match (&mut h.real, &mut h.ours) {
        (Some((a, _)), _) => a.kill9(),
        (_, Some((a, _))) => a.kill9(),
        _ => unreachable!(),
    }
    net.set_link('a', false);
    let _ = b_ns;
    let answered = first_answer(&c_ns, &vip, t_wall);
    stop.store(true, Ordering::SeqCst);
    let last_hb = last_hb.join().unwrap();
    match (answered, last_hb) {
        (Some(d), Some(hb)) if hb <= t_wall => Some(Sample {
            from_kill: d,
            from_last_heartbeat: (t_wall + d).duration_since(hb).unwrap_or_default(),
        }),
        (Some(_), _) => {
            eprintln!("no heartbeat of www3 seen before the kill");
            None
        }
        (None, _) => {
            match (&h.real, &h.ours) {
                (Some((_, b)), _) => eprintln!("the VIP never answered:\n{}", b.log()),
                (_, Some((_, b))) => eprintln!("the VIP never answered:\n{}", b.log()),
                _ => {}
            }
            None
        }
    }
}

/// When the last datagram read from `s` arrived (SIOCGSTAMP).
fn arrival(s: &std::net::UdpSocket) -> SystemTime {
    use std::os::fd::AsRawFd;
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    // <linux/sockios.h>; not exported by the libc crate
    const SIOCGSTAMP: libc::c_ulong = 0x8906;
    // SAFETY: SIOCGSTAMP writes one timeval into tv.
    let r = unsafe { libc::ioctl(s.as_raw_fd(), SIOCGSTAMP as _, &mut tv) };
    if r != 0 {
        return SystemTime::now();
    }
    UNIX_EPOCH + Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000)
}

struct Sample {
    from_kill: Duration,
    from_last_heartbeat: Duration,
}

/// Sends an ICMP echo to the VIP every 2 ms from a raw socket in the
/// client's namespace and returns when the first reply arrived (the
/// kernel's receive time, SIOCGSTAMP), as time since `t_wall`. Echoes sent
/// before the takeover wait in the client's ARP queue and are answered
/// once the survivor holds the VIP, so a reply's arrival never reads
/// early. (Replaces one `ping` process every 20 ms, whose start-up took
/// from a few ms to tens of ms on a loaded host.)
fn first_answer(c_ns: &str, vip: &str, t_wall: SystemTime) -> Option<Duration> {
    let vip: std::net::Ipv4Addr = vip.parse().ok()?;
    in_ns(c_ns, move || echo_until_reply(vip, t_wall))
        .join()
        .ok()
        .flatten()
}

fn echo_until_reply(vip: std::net::Ipv4Addr, t_wall: SystemTime) -> Option<Duration> {
    // SAFETY: plain socket(2); the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
    if fd < 0 {
        eprintln!("raw ICMP socket: {}", std::io::Error::last_os_error());
        return None;
    }
    let id = (std::process::id() & 0xffff) as u16;
    let dst = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(vip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let start = Instant::now();
    let mut seq: u16 = 0;
    let mut next_send = Instant::now();
    let mut buf = [0u8; 1500];
    let mut found = None;
    while start.elapsed() < Duration::from_secs(30) {
        if Instant::now() >= next_send {
            seq = seq.wrapping_add(1);
            let mut pkt = [0u8; 16];
            pkt[0] = 8; // echo request
            pkt[4..6].copy_from_slice(&id.to_be_bytes());
            pkt[6..8].copy_from_slice(&seq.to_be_bytes());
            let sum = checksum(&pkt);
            pkt[2..4].copy_from_slice(&sum.to_be_bytes());
            // SAFETY: sendto with a valid buffer and address.
            unsafe {
                libc::sendto(
                    fd,
                    pkt.as_ptr().cast(),
                    pkt.len(),
                    libc::MSG_DONTWAIT,
                    (&dst as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            };
            next_send += Duration::from_millis(2);
        }
        let wait = next_send.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, wait.as_millis().max(1) as i32) };
        if r <= 0 {
            continue;
        }
        // SAFETY: recv into our buffer.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n < 20 {
            continue;
        }
        let n = n as usize;
        let ihl = usize::from(buf[0] & 0x0f) * 4;
        let src = std::net::Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
        if n < ihl + 8 || src != vip || buf[ihl] != 0 || buf[ihl + 4..ihl + 6] != id.to_be_bytes() {
            continue;
        }
        let at = stamp(fd);
        found = Some(at.duration_since(t_wall).unwrap_or_default());
        break;
    }
    // SAFETY: our descriptor.
    unsafe { libc::close(fd) };
    found
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// When the last packet read from `fd` arrived (SIOCGSTAMP).
fn stamp(fd: i32) -> SystemTime {
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    const SIOCGSTAMP: libc::c_ulong = 0x8906;
    // SAFETY: SIOCGSTAMP writes one timeval into tv.
    let r = unsafe { libc::ioctl(fd, SIOCGSTAMP as _, &mut tv) };
    if r != 0 {
        return SystemTime::now();
    }
    UNIX_EPOCH + Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000)
}

fn stats(name: &str, v: &mut [Duration]) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p50 = ms(v[v.len() / 2]);
    let p95 = ms(v[((v.len() as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)]);
    println!(
        "{name:<44} n={:<3} min={:>7.0}ms p50={p50:>7.0}ms p95={p95:>7.0}ms max={:>7.0}ms",
        v.len(),
        ms(v[0]),
        ms(v[v.len() - 1])
    );
    (p50, p95)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    support::require_reference();
    println!("start: load average {}", load());
    let trials: usize = std::env::var("TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let idle: u64 = std::env::var("IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let seed = "keepalive 2\ndeadtime 5\ninitdead 5";
    let fast = "keepalive 100ms\ndeadtime 300ms\ninitdead 1";
    let kinds = std::env::var("KINDS").unwrap_or_else(|_| "real,ours,fast".into());
    let mut results = Vec::new();
    for (key, name, kind, timings) in [
        (
            "real",
            "heartbeat 3.0.6, keepalive 2 / deadtime 5",
            Kind::Real,
            seed,
        ),
        ("ours", "ours, keepalive 2 / deadtime 5", Kind::Ours, seed),
        (
            "fast",
            "ours, keepalive 100ms / deadtime 300ms",
            Kind::Ours,
            fast,
        ),
    ] {
        if !kinds.split(',').any(|k| k == key) {
            continue;
        }
        let (mut v, mut k) = (Vec::new(), Vec::new());
        for i in 0..trials {
            match trial(&kind, timings) {
                Some(d) => {
                    eprintln!(
                        "{key} trial {i}: {} ms from last heartbeat, {} ms from SIGKILL (load {})",
                        d.from_last_heartbeat.as_millis(),
                        d.from_kill.as_millis(),
                        load()
                    );
                    v.push(d.from_last_heartbeat);
                    k.push(d.from_kill);
                }
                None => eprintln!("{name}: trial {i} failed"),
            }
        }
        if v.is_empty() {
            println!("{name}: no successful trial");
            continue;
        }
        println!("{name} ({} of {trials} trials):", v.len());
        results.push((key, stats("  from last heartbeat", &mut v)));
        stats("  from SIGKILL", &mut k);
    }
    let of = |key: &str| results.iter().find(|(k, _)| *k == key).map(|(_, r)| *r);
    if let (Some(real), Some(ours)) = (of("real"), of("ours")) {
        println!(
            "ratio ours/original at 2/5, p50: {:.2}  p95: {:.2}",
            ours.0 / real.0,
            ours.1 / real.1
        );
    }
    if let Some(ours) = of("ours") {
        println!(
            "target: ours p95 (from last heartbeat) <= deadtime + 50 ms = 5050 ms: {}",
            if ours.1 <= 5050.0 { "met" } else { "NOT met" }
        );
    }
    if let Some(fast) = of("fast") {
        println!(
            "target: fast p95 (from last heartbeat) <= 500 ms: {}",
            if fast.1 <= 500.0 { "met" } else { "NOT met" }
        );
    }
    if idle > 0 {
        let net = Net::new(2);
        let hacf =
            format!("logfile LOGFILE\n{fast}\nbcast eth0\nauto_failback on\nnode www3 www4\n");
        let mut a = Node::new("www3", &net.ns('a'), &hacf, KEYS, "");
        let mut b = Node::new("www4", &net.ns('b'), &hacf, KEYS, "");
        a.start();
        b.start();
        std::thread::sleep(Duration::from_secs(idle));
        let false_failovers =
            a.log().matches("is dead").count() + b.log().matches("is dead").count();
        let late =
            a.log().matches("Late heartbeat").count() + b.log().matches("Late heartbeat").count();
        println!(
            "idle {idle}s at 100ms/300ms: {false_failovers} false failover(s), {late} late heartbeat warning(s); load average {}",
            load()
        );
        for l in a.log().lines().chain(b.log().lines()) {
            if l.contains("is dead") || l.contains("Late heartbeat") {
                println!("  {l}");
            }
        }
    }
}
