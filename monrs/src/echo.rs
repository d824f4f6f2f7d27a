//! ICMP echo for fping.monitor: many hosts at once, fping-style (each
//! unanswered host retried `retries` times, the wait growing by 1.5 each
//! round), with the per-host round-trip time.
//!
//! In the daemon, every fping.monitor run shares one raw ICMP socket
//! served by one thread. A raw ICMP socket is offered every ICMP packet
//! the host receives, so N sockets (one per run, N runs at once) meant
//! every reply copied N times and a socket filter compiled per run; with
//! the seed's layout (one watch per real server) that was thousands of
//! sockets a second. Runs tell their replies apart by ICMP ident.
//! Without a raw socket (not root) each run falls back to an ICMP
//! datagram socket of its own, where the kernel does that sorting.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Ping every host; per host the rtt in ms of the first answered request,
/// None when no request was answered.
pub fn ping_hosts(
    ips: &[Ipv4Addr],
    retries: u32,
    timeout_ms: u64,
) -> std::io::Result<Vec<Option<f64>>> {
    if ips.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(engine) = shared_engine() {
        let (done, result) = mpsc::channel();
        engine.submit(Request {
            ips: ips.to_vec(),
            retries,
            timeout_ms,
            done,
        });
        // an error means the engine is gone (it dropped our request)
        let answer = {
            let _waiting = crate::exec::Waiting::enter();
            result.recv()
        };
        if let Ok(rtt) = answer {
            return Ok(rtt);
        }
    }
    ping_alone(ips, retries, timeout_ms)
}

/// One run of a private socket: a datagram ICMP socket, else a raw one.
fn ping_alone(
    ips: &[Ipv4Addr],
    retries: u32,
    timeout_ms: u64,
) -> std::io::Result<Vec<Option<f64>>> {
    let (sock, raw) = match icmp_socket(libc::SOCK_DGRAM) {
        Ok(s) => (s, false),
        Err(e) => match icmp_socket(libc::SOCK_RAW) {
            Ok(s) => (s, true),
            Err(_) => return Err(e),
        },
    };
    let (done, result) = mpsc::channel();
    let mut runs = Runs {
        raw,
        block: None,
        waiting: Vec::new(),
        fd: sock.as_raw_fd(),
        by_ident: HashMap::new(),
        replies: Vec::new(),
        next_ident: (std::process::id() & 0xffff) as u16,
    };
    runs.start(Request {
        ips: ips.to_vec(),
        retries,
        timeout_ms,
        done,
    });
    loop {
        let wait = runs.step();
        if runs.by_ident.is_empty() {
            break;
        }
        poll_in(&[runs.fd], wait);
    }
    result
        .recv()
        .map_err(|_| std::io::Error::other("echo run lost"))
}

struct Request {
    ips: Vec<Ipv4Addr>,
    retries: u32,
    timeout_ms: u64,
    done: mpsc::Sender<Vec<Option<f64>>>,
}

/// The daemon-wide echo service: requests go into `queue`, and a write
/// to the `wake` eventfd gets the thread's attention. `queue` is None
/// once the thread is gone; a request dropped then reports that to its
/// caller (its channel closes), who falls back to a socket of its own.
struct Engine {
    queue: Mutex<Option<Vec<Request>>>,
    wake: OwnedFd,
}

impl Engine {
    fn submit(&self, r: Request) {
        if let Some(q) = self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            q.push(r);
        }
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a local u64 to our eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

/// The engine, started on first use; None without a raw ICMP socket.
fn shared_engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<&'static Engine>> = OnceLock::new();
    *ENGINE.get_or_init(|| {
        let sock = icmp_socket(libc::SOCK_RAW).ok()?;
        only_our_echo_replies(sock.as_raw_fd(), ident_block());
        // SAFETY: plain eventfd creation; OwnedFd owns the result.
        let wake = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if wake < 0 {
            return None;
        }
        // SAFETY: wake is a new descriptor nobody else owns.
        let wake = unsafe { OwnedFd::from_raw_fd(wake) };
        let engine: &'static Engine = Box::leak(Box::new(Engine {
            queue: Mutex::new(Some(Vec::new())),
            wake,
        }));
        std::thread::Builder::new()
            .name("fping".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                // serve() only returns by a panic (a bug): the runs it
                // held are dropped with it, and later ones are refused
                let _ =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| serve(engine, sock)));
                engine
                    .queue
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
            })
            .ok()?;
        Some(engine)
    })
}

/// The engine's thread: never returns while the process lives.
fn serve(engine: &Engine, sock: OwnedFd) {
    let mut runs = Runs {
        raw: true,
        block: Some(ident_block()),
        waiting: Vec::new(),
        fd: sock.as_raw_fd(),
        by_ident: HashMap::new(),
        replies: Vec::new(),
        next_ident: ident_block(),
    };
    let wake = engine.wake.as_raw_fd();
    loop {
        let new = engine
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for r in new {
            runs.start(r);
        }
        let wait = runs.step();
        if poll_in(&[runs.fd, wake], wait) & 2 != 0 {
            let mut n: u64 = 0;
            // SAFETY: reading 8 bytes into a local u64 from our eventfd.
            unsafe { libc::read(wake, (&mut n as *mut u64).cast(), 8) };
        }
    }
}

/// The runs in progress on one socket.
struct Runs {
    /// raw: replies start with the IP header and carry our idents; a
    /// datagram socket has one run and the kernel's own ident
    raw: bool,
    fd: RawFd,
    by_ident: HashMap<u16, Run>,
    /// the shared socket's idents all have these top four bits (its
    /// socket filter passes no others)
    block: Option<u16>,
    /// requests for which no ident was free
    waiting: Vec<Request>,
    /// replies read but not yet given to their run
    replies: Vec<Reply>,
    next_ident: u16,
}

struct Run {
    ips: Vec<Ipv4Addr>,
    retries: u32,
    attempt: u32,
    wait_ms: f64,
    deadline: Instant,
    rtt: Vec<Option<f64>>,
    /// per host, when each of its requests went out
    sent_at: Vec<Vec<Instant>>,
    unanswered: usize,
    done: mpsc::Sender<Vec<Option<f64>>>,
}

struct Reply {
    ident: u16,
    seq: u16,
    from: Ipv4Addr,
    at: Instant,
}

impl Runs {
    fn start(&mut self, r: Request) {
        let mask = if self.block.is_some() { 0x0fff } else { 0xffff };
        if self.by_ident.len() > mask as usize {
            self.waiting.push(r);
            return;
        }
        let ident = loop {
            let low = self.next_ident.wrapping_add(1) & mask;
            self.next_ident = self.block.unwrap_or(0) | low;
            if !self.by_ident.contains_key(&self.next_ident) {
                break self.next_ident;
            }
        };
        let n = r.ips.len();
        let mut run = Run {
            ips: r.ips,
            retries: r.retries,
            attempt: 0,
            wait_ms: r.timeout_ms as f64,
            deadline: Instant::now(),
            rtt: vec![None; n],
            sent_at: vec![Vec::new(); n],
            unanswered: n,
            done: r.done,
        };
        run.send_round(self.fd, self.raw, ident, &mut self.replies);
        self.by_ident.insert(ident, run);
    }

    /// Hand out the replies read, finish runs that are answered or out
    /// of retries, send the next round where a round's wait is over.
    /// How long until the next deadline (None: no run left).
    fn step(&mut self) -> Option<Duration> {
        loop {
            drain(self.fd, self.raw, &mut self.replies);
            for r in self.replies.drain(..) {
                let run = if self.raw {
                    self.by_ident.get_mut(&r.ident)
                } else {
                    self.by_ident.values_mut().next()
                };
                if let Some(run) = run {
                    run.record(&r);
                }
            }
            let now = Instant::now();
            let mut finished = Vec::new();
            for (ident, run) in self.by_ident.iter_mut() {
                if run.unanswered == 0 {
                    finished.push(*ident);
                } else if now >= run.deadline {
                    if run.attempt < run.retries {
                        run.attempt += 1;
                        run.wait_ms *= 1.5;
                        run.send_round(self.fd, self.raw, *ident, &mut self.replies);
                    } else {
                        finished.push(*ident);
                    }
                }
            }
            for ident in finished {
                if let Some(run) = self.by_ident.remove(&ident) {
                    let _ = run.done.send(run.rtt);
                    if let Some(r) = self.waiting.pop() {
                        self.start(r);
                    }
                }
            }
            // replies read while sending may finish a run: go round again
            if self.replies.is_empty() {
                break;
            }
        }
        let now = Instant::now();
        self.by_ident
            .values()
            .map(|r| r.deadline.saturating_duration_since(now))
            .min()
    }
}

impl Run {
    /// Send this round's requests to every unanswered host, reading
    /// replies every 64 requests: they come back as fast as they are
    /// sent (on loopback before sendto() returns), and a large hostgroup
    /// would otherwise overflow the socket's queue and wait out the
    /// timeout for retries.
    fn send_round(&mut self, fd: RawFd, raw: bool, ident: u16, replies: &mut Vec<Reply>) {
        let per_host = self.retries + 1;
        let mut sent = 0;
        for i in 0..self.ips.len() {
            if self.rtt[i].is_some() {
                continue;
            }
            let seq = ((i as u32 * per_host + self.attempt) & 0xffff) as u16;
            let pkt = echo_packet(ident, seq);
            let sa = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from(self.ips[i]).to_be(),
                },
                sin_zero: [0; 8],
            };
            self.sent_at[i].push(Instant::now());
            // SAFETY: sending a buffer we own to a valid sockaddr_in.
            unsafe {
                libc::sendto(
                    fd,
                    pkt.as_ptr().cast(),
                    pkt.len(),
                    0,
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            };
            sent += 1;
            if sent % 64 == 0 {
                drain(fd, raw, replies);
            }
        }
        self.deadline = Instant::now() + Duration::from_micros((self.wait_ms * 1000.0) as u64);
    }

    fn record(&mut self, r: &Reply) {
        let per_host = self.retries + 1;
        let host = (r.seq as u32 / per_host) as usize;
        if host >= self.ips.len() || self.ips[host] != r.from || self.rtt[host].is_some() {
            return;
        }
        let attempt = (r.seq as u32 % per_host) as usize;
        if let Some(t) = self.sent_at[host].get(attempt) {
            self.rtt[host] = Some(r.at.saturating_duration_since(*t).as_secs_f64() * 1000.0);
            self.unanswered -= 1;
        }
    }
}

/// Read every echo reply queued on the socket.
fn drain(fd: RawFd, raw: bool, out: &mut Vec<Reply>) {
    let mut buf = [0u8; 1500];
    loop {
        // SAFETY: an all-zero sockaddr_in is a valid value.
        let mut from: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut fl = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: receiving into our buffer.
        let k = unsafe {
            libc::recvfrom(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                (&mut from as *mut libc::sockaddr_in).cast(),
                &mut fl,
            )
        };
        if k < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if k <= 0 {
            return;
        }
        let at = Instant::now();
        let data = &buf[..k as usize];
        let icmp = if raw {
            let ihl = ((data[0] & 0x0f) as usize) * 4;
            match data.get(ihl..) {
                Some(d) => d,
                None => continue,
            }
        } else {
            data
        };
        if icmp.len() < 8 || icmp[0] != 0 {
            continue;
        }
        out.push(Reply {
            ident: u16::from_be_bytes([icmp[4], icmp[5]]),
            seq: u16::from_be_bytes([icmp[6], icmp[7]]),
            from: Ipv4Addr::from(u32::from_be(from.sin_addr.s_addr)),
            at,
        });
    }
}

/// The top four bits of the shared socket's idents: the process id's.
/// Another pinger on the host (each raw ICMP socket sees every reply)
/// then shares them with odds of one in sixteen, and only costs a look.
fn ident_block() -> u16 {
    ((std::process::id() & 0xf) as u16) << 12
}

/// A socket filter so that the kernel queues on the shared socket only
/// echo replies with an ident of our block: otherwise every ping any
/// other program on the host sends would wake the engine.
fn only_our_echo_replies(fd: RawFd, block: u16) {
    const LDX_B_MSH: u16 = 0xb1; // X = 4 * (IP[0] & 0xf): the IP header length
    const LD_B_IND: u16 = 0x50; // A = byte at X + k
    const LD_H_IND: u16 = 0x48; // A = half-word at X + k
    const AND_K: u16 = 0x54;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    let ins = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let mut prog = [
        ins(LDX_B_MSH, 0, 0, 0),
        ins(LD_B_IND, 0, 0, 0), // ICMP type
        ins(JEQ_K, 0, 4, 0),    // echo reply, else drop
        ins(LD_H_IND, 0, 0, 4), // ICMP ident
        ins(AND_K, 0, 0, 0xf000),
        ins(JEQ_K, 0, 1, block as u32), // our block, else drop
        ins(RET_K, 0, 0, 0xffff),
        ins(RET_K, 0, 0, 0),
    ];
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // the kernel copies the program; best effort: without it, replies with
    // other idents are still ignored after reading
    set_socket_option(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog);
}

/// setsockopt() with `value` as the option's value (its C type); whether
/// the kernel took it.
pub(crate) fn set_socket_option<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> bool {
    // SAFETY: the kernel reads size_of::<T>() bytes from a live reference.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        ) == 0
    }
}

/// poll() for input on `fds` for at most `wait` (None: without end); a
/// bit mask of the fds that have input.
fn poll_in(fds: &[RawFd], wait: Option<Duration>) -> u32 {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // round up: waking a little early would only cost another round
    let ms = wait.map_or(-1, |w| {
        (w.as_micros().div_ceil(1000)).min(i32::MAX as u128) as libc::c_int
    });
    // SAFETY: p is a valid array of pollfd for the call's duration.
    unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, ms) };
    p.iter()
        .enumerate()
        .filter(|(_, f)| f.revents != 0)
        .fold(0, |m, (i, _)| m | 1 << i)
}

/// An ICMP socket of `kind` (SOCK_RAW or SOCK_DGRAM) with room for many
/// replies; a raw one only queues echo replies (ICMP_FILTER).
fn icmp_socket(kind: libc::c_int) -> std::io::Result<OwnedFd> {
    // SAFETY: plain socket creation; OwnedFd owns the result.
    let fd = unsafe { libc::socket(libc::AF_INET, kind | libc::SOCK_CLOEXEC, libc::IPPROTO_ICMP) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a new descriptor nobody else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    if kind == libc::SOCK_RAW {
        // ICMP_FILTER (SOL_RAW 255, option 1): every type but echo reply out
        let mask: u32 = !(1u32 << 0);
        set_socket_option(fd, 255, 1, &mask);
    }
    // FORCE, as root, may exceed rmem_max; the plain option is the fallback
    let room: libc::c_int = 4 << 20;
    let _ = set_socket_option(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &room)
        || set_socket_option(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &room);
    Ok(sock)
}

fn echo_packet(id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![8u8, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0x6d; 48]);
    let ck = checksum(&p);
    p[2..4].copy_from_slice(&ck.to_be_bytes());
    p
}

/// The Internet checksum (RFC 1071).
pub fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        s += w as u32;
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_checksum() {
        let p = echo_packet(0x1234, 1);
        assert_eq!(checksum(&p), 0);
    }

    fn loopback_hosts(n: u32) -> Vec<Ipv4Addr> {
        (0..n)
            .map(|k| Ipv4Addr::new(127, 0, (k / 250) as u8, (k % 250 + 1) as u8))
            .collect()
    }

    /// Regression: 1,000 hosts in one fping.monitor run lost most echo
    /// replies (they came back faster than they were read and overflowed
    /// the socket's queue), so the run waited out 2 + 3 + 4.5 s of
    /// retries. Every loopback host answers the first request.
    #[test]
    fn ping_of_1000_hosts_needs_no_retries() {
        let ips = loopback_hosts(1000);
        let t0 = Instant::now();
        let rtt = ping_hosts(&ips, 3, 2000).expect("an ICMP socket (run as root)");
        assert!(rtt.iter().all(Option::is_some));
        assert!(
            t0.elapsed() < Duration::from_millis(1500),
            "{:?}",
            t0.elapsed()
        );
    }

    /// Runs at once on the shared socket each get their own hosts'
    /// answers, and a host that never answers costs its own run the
    /// retries, not the others.
    #[test]
    fn runs_at_once_share_the_engine() {
        let threads: Vec<_> = (0..8u32)
            .map(|k| {
                std::thread::spawn(move || {
                    let mut ips = loopback_hosts(50 + k);
                    if k == 0 {
                        // loopback's broadcast address: never answered
                        // (icmp_echo_ignore_broadcasts, or the send is
                        // refused without SO_BROADCAST), never leaves lo
                        ips.push(Ipv4Addr::new(127, 255, 255, 255));
                    }
                    let t0 = Instant::now();
                    let rtt = ping_hosts(&ips, 1, 300).unwrap();
                    (k, rtt, t0.elapsed())
                })
            })
            .collect();
        for t in threads {
            let (k, rtt, took) = t.join().unwrap();
            if k == 0 {
                assert_eq!(rtt.iter().filter(|r| r.is_none()).count(), 1);
                assert!(rtt.last().unwrap().is_none());
                // 300 ms, then 450 ms for the retry
                assert!(took >= Duration::from_millis(740), "{took:?}");
            } else {
                assert!(rtt.iter().all(Option::is_some), "run {k}");
                // well before run 0's retry is over
                assert!(took < Duration::from_millis(700), "run {k}: {took:?}");
            }
        }
    }
}
