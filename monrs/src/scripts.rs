//! The monitors and alerts shipped with mon, as one multi-call binary
//! (`mon-scripts`, installed under the original names: fping.monitor,
//! http.monitor, tcp.monitor, lvs.alert, mail.alert, file.alert,
//! test.alert). Options, output and exit status follow the originals;
//! checks of many hosts run in parallel.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::daemon::ctime;
use crate::echo::set_socket_option;

/// A numeric option the way the Perl monitors read it (`$opt{x} || N`):
/// absent, unparsable or zero means the default.
fn opt_number<T: std::str::FromStr + PartialEq + Default>(
    o: &std::collections::HashMap<char, String>,
    flag: char,
    default: T,
) -> T {
    o.get(&flag)
        .and_then(|v| v.parse().ok())
        .filter(|v| *v != T::default())
        .unwrap_or(default)
}

/// Getopt::Std `getopts(spec)`: bundled flags, values attached or in the
/// next word, stops at the first non-option or `--`. Unknown options are
/// reported on stderr (as Perl does) and skipped.
pub fn getopts(
    spec: &str,
    args: &[String],
) -> (std::collections::HashMap<char, String>, Vec<String>) {
    let (opts, rest, unknown) = parse_opts(spec, args);
    for c in unknown {
        eprintln!("Unknown option: {c}");
    }
    (opts, rest)
}

type Parsed = (
    std::collections::HashMap<char, String>,
    Vec<String>,
    Vec<char>,
);

/// [`getopts`] without the warnings: the options, the remaining
/// arguments, and the unknown option letters in order.
fn parse_opts(spec: &str, args: &[String]) -> Parsed {
    let mut unknown = Vec::new();
    let mut opts = std::collections::HashMap::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a.len() < 2 {
            break;
        }
        let chars: Vec<char> = a[1..].chars().collect();
        let mut j = 0;
        i += 1;
        while j < chars.len() {
            let c = chars[j];
            let pos = spec.find(c);
            match pos {
                None => {
                    unknown.push(c);
                    j += 1;
                }
                Some(p) if spec[p + 1..].starts_with(':') => {
                    let rest: String = chars[j + 1..].iter().collect();
                    if !rest.is_empty() {
                        opts.insert(c, rest);
                    } else if i < args.len() {
                        opts.insert(c, args[i].clone());
                        i += 1;
                    } else {
                        opts.insert(c, String::new());
                    }
                    break;
                }
                Some(_) => {
                    opts.insert(c, "1".into());
                    j += 1;
                }
            }
        }
    }
    (opts, args[i.min(args.len())..].to_vec(), unknown)
}

fn resolve(host: &str) -> Option<Ipv4Addr> {
    if let Ok(ip) = host.parse() {
        return Some(ip);
    }
    (host, 0).to_socket_addrs().ok()?.find_map(|a| match a {
        std::net::SocketAddr::V4(v) => Some(*v.ip()),
        _ => None,
    })
}

/// tcp.monitor [-p port] [-t secs] host…
pub fn tcp_monitor(args: &[String], out: &mut dyn Write) -> i32 {
    let (o, hosts) = getopts("p:t:", args);
    let port: u16 = opt_number(&o, 'p', 23);
    let timeout: u64 = opt_number(&o, 't', 10);
    let results = connect_many(&hosts, port, Duration::from_secs(timeout));
    let mut failures: Vec<&String> = Vec::new();
    let mut detail = Vec::new();
    for (h, r) in hosts.iter().zip(&results) {
        if let Some(d) = r {
            failures.push(h);
            detail.push(d.clone());
        }
    }
    if failures.is_empty() {
        return 0;
    }
    failures.sort();
    let f: Vec<&str> = failures.iter().map(|s| s.as_str()).collect();
    let _ = write!(out, "{}\n\n{}\n", f.join(" "), detail.join("\n"));
    1
}

/// An epoll instance; when the process is out of descriptors (they are
/// shared with the daemon's other in-process checks), it waits up to a
/// second for some to be freed. Negative when there is none.
fn epoll_instance() -> FdGuard {
    for _ in 0..100 {
        // SAFETY: plain epoll instance creation, owned by the guard.
        let ep = FdGuard(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) });
        if ep.0 >= 0 {
            return ep;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    FdGuard(-1)
}

/// Connect to every host at once from one thread (non-blocking sockets
/// under epoll), each within `limit`: per host None when it connected,
/// else tcp.monitor's detail line. Like http.monitor, hosts wait when
/// the process is out of descriptors rather than fail.
fn connect_many(hosts: &[String], port: u16, limit: Duration) -> Vec<Option<String>> {
    let mut res: Vec<Option<String>> = vec![None; hosts.len()];
    let ep = epoll_instance();
    // (index, socket, deadline) of connections in progress
    let mut pending: Vec<(usize, FdGuard, Instant)> = Vec::new();
    let mut next = 0;
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
    loop {
        while next < hosts.len() && pending.len() < HTTP_PARALLEL {
            let h = &hosts[next];
            let Some(ip) = resolve(h) else {
                res[next] = Some(format!("{h} could not inet_aton"));
                next += 1;
                continue;
            };
            // SAFETY: plain socket creation; FdGuard owns the result.
            let fd = unsafe {
                libc::socket(
                    libc::AF_INET,
                    libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    0,
                )
            };
            if fd < 0 {
                let e = std::io::Error::last_os_error();
                if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
                    && !pending.is_empty()
                {
                    break;
                }
                res[next] = Some(format!(
                    "{h} could not connect: {}",
                    crate::error::errno_text(&e)
                ));
                next += 1;
                continue;
            }
            let fd = FdGuard(fd);
            let sa = sockaddr(ip, port);
            // SAFETY: connecting our socket to a valid sockaddr_in.
            let r = unsafe {
                libc::connect(
                    fd.0,
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            };
            let e = std::io::Error::last_os_error();
            if r == 0 {
                // connected at once; the socket closes here
            } else if e.raw_os_error() == Some(libc::EINPROGRESS) && ep.0 >= 0 {
                let mut ev = libc::epoll_event {
                    events: libc::EPOLLOUT as u32,
                    u64: next as u64,
                };
                // SAFETY: registering our socket with our epoll instance.
                unsafe { libc::epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, fd.0, &mut ev) };
                pending.push((next, fd, Instant::now() + limit));
            } else {
                res[next] = Some(format!(
                    "{h} could not connect: {}",
                    crate::error::errno_text(&e)
                ));
            }
            next += 1;
        }
        if pending.is_empty() {
            if next >= hosts.len() {
                break;
            }
            continue;
        }
        let now = Instant::now();
        pending.retain(|(i, _, deadline)| {
            if now >= *deadline {
                res[*i] = Some(format!("{} timeout", hosts[*i]));
                false
            } else {
                true
            }
        });
        let Some(wait) = pending.iter().map(|(_, _, d)| *d - now).min() else {
            continue;
        };
        let ms = wait.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: events is a valid buffer of the length passed.
        let n = {
            let _waiting = crate::exec::Waiting::enter();
            unsafe { libc::epoll_wait(ep.0, events.as_mut_ptr(), events.len() as i32, ms) }
        };
        for ev in &events[..n.max(0) as usize] {
            let i = ev.u64 as usize;
            let Some(k) = pending.iter().position(|(j, _, _)| *j == i) else {
                continue;
            };
            let (_, fd, _) = pending.swap_remove(k);
            let mut err: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: reading SO_ERROR into a local int.
            unsafe {
                libc::getsockopt(
                    fd.0,
                    libc::SOL_SOCKET,
                    libc::SO_ERROR,
                    (&mut err as *mut libc::c_int).cast(),
                    &mut len,
                )
            };
            if err != 0 {
                let e = std::io::Error::from_raw_os_error(err);
                res[i] = Some(format!(
                    "{} could not connect: {}",
                    hosts[i],
                    crate::error::errno_text(&e)
                ));
            }
        }
    }
    res
}

struct HttpResult {
    ok: bool,
    error: String,
    header: Option<String>,
}

/// The regular-expression subset supported by `http.monitor -m`:
/// literals, `.`, classes, `\d \w \s`, `* + ?`, `^` and `$`; searched
/// anywhere in the response.
pub fn regex_search(re: &str, text: &str) -> bool {
    let anchored = re.starts_with('^');
    let re = re.strip_prefix('^').unwrap_or(re);
    let (re, end) = match re.strip_suffix('$') {
        Some(r) if !r.ends_with('\\') => (r, true),
        _ => (re, false),
    };
    let t: Vec<char> = text.chars().collect();
    let starts: Vec<usize> = if anchored {
        vec![0]
    } else {
        (0..=t.len()).collect()
    };
    for st in starts {
        let sub: String = t[st..].iter().collect();
        if crate::server::regex_prefix_match(re, &sub, end) {
            return true;
        }
    }
    false
}

/// One host's HTTP transaction in [`http_get_many`].
struct HttpConn {
    fd: Option<FdGuard>,
    state: HttpState,
    /// this host's own deadline: the original checks hosts one after
    /// another, each with its own alarm
    deadline: Instant,
    req: Vec<u8>,
    sent: usize,
    content: Vec<u8>,
    timed_out: bool,
    /// socket() failed for lack of file descriptors
    out_of_fds: bool,
    /// the server closed after answering: the socket can be reused
    answered: bool,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum HttpState {
    Connecting,
    Writing,
    Reading,
    Done,
}

/// At most this many transactions in flight (each holds a socket).
const HTTP_PARALLEL: usize = 256;

/// `GET path HTTP/1.0` to every host at once from one thread: non-blocking
/// sockets under one poll(), so a check of many hosts costs one thread and
/// no per-host waits (the daemon runs this in-process, see mon(8)).
/// Per host, the outcome is what a blocking connect/write/read with the
/// host's own timeout would give.
fn http_get_many(
    hosts: &[String],
    port: u16,
    path: &str,
    ua: &str,
    timeout: u64,
    matchre: Option<&str>,
) -> Vec<HttpResult> {
    let mut conns: Vec<HttpConn> = Vec::with_capacity(hosts.len());
    // epoll rather than poll: a wake-up costs the ready sockets, not a
    // scan of every socket in flight. Edge-triggered for both directions,
    // registered once: http_step always goes on until it would block.
    let ep = epoll_instance();
    if ep.0 < 0 {
        return hosts
            .iter()
            .map(|_| http_result(&[], false, timeout, matchre))
            .collect();
    }
    let watch = |c: &HttpConn, i: usize| {
        let out = if c.state == HttpState::Reading {
            0
        } else {
            libc::EPOLLOUT
        };
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | out | libc::EPOLLET) as u32,
            u64: i as u64,
        };
        if let Some(fd) = &c.fd {
            // SAFETY: registering our socket with our epoll instance.
            unsafe { libc::epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, fd.0, &mut ev) };
        }
    };
    let mut next = 0;
    let mut active = 0;
    let limit = Duration::from_secs(timeout);
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
    loop {
        while next < hosts.len() && active < HTTP_PARALLEL {
            let c = http_start(&hosts[next], port, path, ua, limit);
            if c.out_of_fds && active > 0 {
                // the daemon's descriptors are shared with every other
                // check running in-process: wait for ours to free some
                // rather than report the host as failed
                break;
            }
            if c.state != HttpState::Done {
                active += 1;
                watch(&c, next);
            }
            conns.push(c);
            next += 1;
        }
        if active == 0 {
            break;
        }
        let now = Instant::now();
        let mut wait = Duration::from_secs(3600);
        for c in conns.iter_mut().filter(|c| c.state != HttpState::Done) {
            if now >= c.deadline {
                // what came so far counts ("timeout isn't a problem if we
                // already got good data", the original says); with
                // SO_RCVLOWAT it may not have woken us yet
                if c.state == HttpState::Reading {
                    if let Some(fd) = &c.fd {
                        read_available(fd.0, &mut c.content);
                    }
                }
                // a blocking write that timed out was not reported as a
                // timeout by the original; connect and read were
                c.timed_out = c.state != HttpState::Writing;
                c.state = HttpState::Done;
                c.fd = None;
                active -= 1;
            } else {
                wait = wait.min(c.deadline - now);
            }
        }
        if active == 0 {
            continue;
        }
        let ms = wait.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: events is a valid buffer of the length passed.
        let n = {
            let _waiting = crate::exec::Waiting::enter();
            unsafe { libc::epoll_wait(ep.0, events.as_mut_ptr(), events.len() as i32, ms) }
        };
        for ev in &events[..n.max(0) as usize] {
            let i = ev.u64 as usize;
            let c = &mut conns[i];
            if c.state == HttpState::Done {
                continue;
            }
            http_step(c);
            if c.state == HttpState::Done {
                // (else closing the socket also removes it from the epoll set)
                if let Some(fd) = c.fd.take().filter(|_| c.answered) {
                    retire_answered(fd, ep.0);
                }
                active -= 1;
            }
        }
    }
    conns
        .into_iter()
        .map(|c| http_result(&c.content, c.timed_out, timeout, matchre))
        .collect()
}

/// Append what the socket has queued, without waiting.
fn read_available(fd: libc::c_int, into: &mut Vec<u8>) {
    let mut buf = [0u8; 8192];
    loop {
        // SAFETY: reading into a local buffer from our socket.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n <= 0 {
            return;
        }
        into.extend_from_slice(&buf[..n as usize]);
    }
}

fn http_start(host: &str, port: u16, path: &str, ua: &str, limit: Duration) -> HttpConn {
    let mut c = HttpConn {
        fd: None,
        state: HttpState::Done,
        deadline: Instant::now() + limit,
        req: Vec::new(),
        sent: 0,
        content: Vec::new(),
        timed_out: false,
        out_of_fds: false,
        answered: false,
    };
    let Some(ip) = resolve(host) else {
        return c;
    };
    c.req = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: {ua}\r\n\r\n").into_bytes();
    let fd = match idle_socket() {
        Ok(fd) => fd,
        Err(e) => {
            c.out_of_fds = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
            return c;
        }
    };
    // Delayed ACKs from the start: the handshake's final ACK then rides
    // on the request instead of going out alone (see http_step).
    delay_acks(fd.0);
    let sa = sockaddr(ip, port);
    // SAFETY: connecting our socket to a valid sockaddr_in.
    let r = unsafe {
        libc::connect(
            fd.0,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if r == 0 {
        c.state = HttpState::Writing;
    } else if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINPROGRESS) {
        c.state = HttpState::Connecting;
    } else {
        return c;
    }
    c.fd = Some(fd);
    // On loopback and fast links the handshake is often over already:
    // send now rather than after a trip through epoll.
    http_step(&mut c);
    c
}

/// Disconnected TCP sockets kept for the next check. An HTTP check is
/// short, and creating and freeing its socket was a tenth of the daemon's
/// CPU under a 1,000-host load; a socket that has been through
/// connect(AF_UNSPEC) connects again like a new one.
static IDLE_SOCKETS: std::sync::Mutex<Vec<FdGuard>> = std::sync::Mutex::new(Vec::new());

/// How many idle sockets to keep: an eighth of the descriptor limit (the
/// daemon's descriptors also serve the monitors and clients it runs),
/// at most 512.
fn idle_socket_cap() -> usize {
    static CAP: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CAP.get_or_init(|| {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: reading our own limit into a local struct.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return 0;
        }
        (lim.rlim_cur / 8).min(512) as usize
    })
}

/// A TCP socket ready for connect(): an idle one, or a new one.
fn idle_socket() -> std::io::Result<FdGuard> {
    if let Some(fd) = IDLE_SOCKETS.lock().ok().and_then(|mut v| v.pop()) {
        return Ok(fd);
    }
    // SAFETY: plain socket creation; FdGuard owns the result.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let fd = FdGuard(fd);
    wake_on_whole_answer(fd.0);
    Ok(fd)
}

/// End a connection whose server has closed after answering: a reset
/// rather than a FIN exchange (fewer packets, no state left behind on
/// either side). connect(AF_UNSPEC) sends that reset and leaves the
/// socket reusable: out of `ep`'s set (a socket handed to another check
/// must not still be watched by this one), it goes back to the idle ones.
fn retire_answered(fd: FdGuard, ep: libc::c_int) {
    // SAFETY: removing our socket from our epoll set.
    unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_DEL, fd.0, std::ptr::null_mut()) };
    // SAFETY: an all-zero sockaddr with family AF_UNSPEC is valid for
    // connect(), which then disconnects our socket.
    let mut sa: libc::sockaddr = unsafe { std::mem::zeroed() };
    sa.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
    // SAFETY: as above, on our socket.
    let r = unsafe {
        libc::connect(
            fd.0,
            &sa,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
    if r == 0 {
        let cap = idle_socket_cap();
        if let Ok(mut idle) = IDLE_SOCKETS.lock() {
            if idle.len() < cap {
                idle.push(fd);
            }
        }
        // (else it closes here, without packets: it is disconnected)
        return;
    }
    let lg = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // closed with a reset as it drops
    set_socket_option(fd.0, libc::SOL_SOCKET, libc::SO_LINGER, &lg);
}

/// A high SO_RCVLOWAT: the kernel then wakes us when the server has sent
/// its whole (HTTP/1.0, so closing) answer, not once for the answer and
/// again for the FIN that follows it; a large page still wakes us every
/// 64 KiB. Wake-ups are a large part of an in-process check's cost.
fn wake_on_whole_answer(fd: libc::c_int) {
    let lowat: libc::c_int = 64 * 1024;
    set_socket_option(fd, libc::SOL_SOCKET, libc::SO_RCVLOWAT, &lowat);
}

/// TCP_QUICKACK off before connect(): the kernel then holds back the
/// handshake's final ACK for the request to carry, and since the request
/// follows at once, a check costs seven packets instead of nine (each
/// handled by both ends on loopback). Linux turns quick ACKs back on when
/// the handshake completes, so the response is still ACKed at once; not
/// doing that would have the server's loss probe resend it whenever we
/// are slow to read (seen on loopback).
fn delay_acks(fd: libc::c_int) {
    let off: libc::c_int = 0;
    set_socket_option(fd, libc::IPPROTO_TCP, libc::TCP_QUICKACK, &off);
}

fn sockaddr(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// Advance one transaction after poll() reported its socket ready.
fn http_step(c: &mut HttpConn) {
    let Some(fd) = c.fd.as_ref().map(|f| f.0) else {
        c.state = HttpState::Done;
        return;
    };
    if c.state == HttpState::Connecting || c.state == HttpState::Writing {
        // While the socket is still connecting, send() says EAGAIN, and a
        // failed connect shows as send()'s error: no SO_ERROR round trip.
        // A fresh socket's send buffer always takes the whole request, so
        // EAGAIN before the first byte means "not connected yet".
        while c.sent < c.req.len() {
            let rest = &c.req[c.sent..];
            // SAFETY: sending from our buffer; MSG_NOSIGNAL instead of SIGPIPE.
            let n = unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL) };
            if n > 0 {
                c.sent += n as usize;
                c.state = HttpState::Writing;
                continue;
            }
            let e = std::io::Error::last_os_error();
            match e.kind() {
                std::io::ErrorKind::WouldBlock => return,
                std::io::ErrorKind::Interrupted => continue,
                _ => {
                    c.state = HttpState::Done;
                    return;
                }
            }
        }
        c.state = HttpState::Reading;
        // epoll reports the answer when it comes (also one that came
        // already); reading now would almost always find nothing
        return;
    }
    let mut buf = [0u8; 8192];
    loop {
        // SAFETY: reading into a local buffer from our socket.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n > 0 {
            c.content.extend_from_slice(&buf[..n as usize]);
            continue;
        }
        if n == 0 {
            // the server closed first and we have everything
            c.answered = true;
            c.state = HttpState::Done;
            return;
        }
        match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::WouldBlock => return,
            std::io::ErrorKind::Interrupted => continue,
            _ => {
                c.state = HttpState::Done;
                return;
            }
        }
    }
}

fn http_result(content: &[u8], timed_out: bool, timeout: u64, matchre: Option<&str>) -> HttpResult {
    let text = String::from_utf8_lossy(content).into_owned();
    let header = header_block(&text);
    let mut r = HttpResult {
        ok: status_ok(&text),
        error: String::new(),
        header,
    };
    if !r.ok {
        r.error = "HTTP response code failure".into();
    }
    if let Some(m) = matchre.filter(|m| !m.is_empty()) {
        if regex_search(m, &text) {
            r.ok = true;
        } else {
            r.ok = false;
            r.error = "Regex match failed".into();
        }
    }
    if !r.ok && timed_out {
        r.error = format!("timeout after {timeout} seconds");
    }
    r
}

/// `/^(.*?)\r?\n\r?\n/s`
fn header_block(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' {
            let mut j = i + 1;
            if j < b.len() && b[j] == b'\r' {
                j += 1;
            }
            if j < b.len() && b[j] == b'\n' {
                let end = if i > 0 && b[i - 1] == b'\r' { i - 1 } else { i };
                return Some(t[..end].to_string());
            }
        }
        i += 1;
    }
    None
}

/// `/^HTTP\/([\d\.]+)\s+(200|30[12]|401)\b/`
fn status_ok(t: &str) -> bool {
    let Some(rest) = t.strip_prefix("HTTP/") else {
        return false;
    };
    let v = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    if v == 0 {
        return false;
    }
    let rest = &rest[v..];
    let code = rest.trim_start();
    if code.len() == rest.len() {
        return false;
    }
    ["200", "301", "302", "401"].iter().any(|c| {
        code.starts_with(c) && !code[3..].starts_with(|ch: char| ch.is_alphanumeric() || ch == '_')
    })
}

/// http.monitor [-p port] [-t secs] [-u path] [-a agent] [-o] [-m regex] host…
pub fn http_monitor(args: &[String], out: &mut dyn Write) -> i32 {
    let (o, hosts) = getopts("p:t:u:a:m:o", args);
    if hosts.is_empty() {
        return 0;
    }
    let port: u16 = opt_number(&o, 'p', 80);
    let timeout: u64 = opt_number(&o, 't', 30);
    let path = o
        .get(&'u')
        .cloned()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/".into());
    let ua = o
        .get(&'a')
        .cloned()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "mon.d/http.monitor".into());
    let m = o.get(&'m').cloned();
    let results = http_get_many(&hosts, port, &path, &ua, timeout, m.as_deref());
    let mut bad: Vec<(&String, &HttpResult)> =
        hosts.iter().zip(&results).filter(|(_, r)| !r.ok).collect();
    let mut good: Vec<(&String, &HttpResult)> =
        hosts.iter().zip(&results).filter(|(_, r)| r.ok).collect();
    bad.sort_by(|a, b| a.0.cmp(b.0));
    bad.dedup_by(|a, b| a.0 == b.0);
    good.sort_by(|a, b| a.0.cmp(b.0));
    good.dedup_by(|a, b| a.0 == b.0);
    let mut s = String::new();
    if bad.is_empty() {
        s.push('\n');
    } else {
        let names: Vec<&str> = bad.iter().map(|(h, _)| h.as_str()).collect();
        s.push_str(&names.join(" "));
        s.push('\n');
    }
    for (h, r) in &bad {
        s.push_str(&format!("HOST {h}: {}\n", r.error));
        if let Some(hd) = r.header.as_deref().filter(|h| !h.is_empty()) {
            s.push_str(hd);
            s.push('\n');
        }
        s.push('\n');
    }
    if !o.contains_key(&'o') {
        for (h, r) in &good {
            s.push_str(&format!(
                "HOST {h}: ok\n{}\n\n",
                r.header.as_deref().unwrap_or("")
            ));
        }
    }
    let _ = out.write_all(s.as_bytes());
    if bad.is_empty() {
        0
    } else {
        1
    }
}

struct FdGuard(libc::c_int);
impl Drop for FdGuard {
    fn drop(&mut self) {
        // SAFETY: closing the fd we created.
        unsafe { libc::close(self.0) };
    }
}

/// fping.monitor [-a] [-r num] [-s ms] [-t ms] [-T] host…, with ICMP
/// done in-process instead of by the fping program.
pub fn fping_monitor(args: &[String], out: &mut dyn Write) -> i32 {
    let (o, hosts) = getopts("ahr:s:t:T", args);
    if o.contains_key(&'h') {
        let _ = out.write_all(b"usage: fping.monitor [-a] [-r num] [-s num] [-t num] [-T] host [host...]\n    -a\t\tonly report failure if all hosts are unreachable\n    -r num\tretry \"num\" times for each host before reporting failure\n    -s num\tconsider hosts which respond in over \"num\" msecs failures\n    -t num\twait \"num\" msecs before sending retries\n    -T\t\ttraceroute to each failed host. CAUTION: this may cause\n    \t\tthis monitor to hang for a very long time\n");
        return 0;
    }
    if hosts.is_empty() {
        return 0;
    }
    let timeout: u64 = opt_number(&o, 't', 2000);
    let retries: u32 = opt_number(&o, 'r', 3);
    let slow_ms: Option<f64> = o
        .get(&'s')
        .and_then(|t| t.parse().ok())
        .filter(|t| *t != 0.0);
    let start = crate::daemon::epoch();
    let mut not_found = Vec::new();
    let mut ips = Vec::new();
    let mut idx = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        match resolve(h) {
            Some(ip) => {
                ips.push(ip);
                idx.push(i);
            }
            None => not_found.push(h.clone()),
        }
    }
    let rtts = match crate::echo::ping_hosts(&ips, retries, timeout) {
        Ok(r) => r,
        Err(_) => {
            let _ = out.write_all(b"fping: system call failure\n");
            return 1;
        }
    };
    let end = crate::daemon::epoch();
    let mut unreachable: Vec<String> = Vec::new();
    let mut alive = Vec::new();
    let mut slow = Vec::new();
    for (k, r) in rtts.iter().enumerate() {
        let h = &hosts[idx[k]];
        match r {
            None => unreachable.push(h.clone()),
            Some(ms) if slow_ms.is_some_and(|s| *ms > s) => slow.push((h.clone(), *ms)),
            Some(ms) => alive.push((h.clone(), *ms)),
        }
    }
    unreachable.extend(not_found.iter().cloned());
    let retval = if !not_found.is_empty() {
        2
    } else if !unreachable.is_empty() {
        1
    } else {
        0
    };
    let mut s = String::new();
    if retval != 0 || !slow.is_empty() {
        let mut sum: Vec<String> = unreachable.clone();
        sum.extend(slow.iter().map(|(h, _)| h.clone()));
        sum.sort();
        s.push_str(&format!("{}\n\n", sum.join(" ")));
    } else {
        s.push('\n');
    }
    s.push_str(&format!("start time: {}\n", ctime(start)));
    s.push_str(&format!("end time  : {}\n", ctime(end)));
    s.push_str(&format!("duration  : {} seconds\n\n", end - start));
    let rule = "------------------------------------------------------------------------------\n";
    if !unreachable.is_empty() {
        s.push_str(&format!("{rule}unreachable hosts\n{rule}"));
        s.push_str(&format!("{}\n\n", unreachable.join("\n")));
        if !not_found.is_empty() {
            s.push_str(&format!("address not found for {}\n", not_found.join(" ")));
        }
        s.push('\n');
    }
    if !slow.is_empty() {
        s.push_str(&format!(
            "{rule}slow hosts (response time which exceeds {}ms)\n{rule}",
            o.get(&'s').cloned().unwrap_or_default()
        ));
        for (h, ms) in &slow {
            s.push_str(&format!("{h:<40} {ms:.2} ms\n"));
        }
    }
    if !alive.is_empty() {
        s.push_str(&format!(
            "{rule}reachable hosts                          rtt\n{rule}"
        ));
        for (h, ms) in &alive {
            s.push_str(&format!("{h:<40} {ms:.2} ms\n"));
        }
    }
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
    if o.contains_key(&'T') && !unreachable.is_empty() {
        for h in &unreachable {
            let _ = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("traceroute -w 3 {h} 2>&1"))
                .status();
        }
        let _ = out.write_all(b"\n");
    }
    if o.contains_key(&'a') {
        return if unreachable.len() == hosts.len() {
            1
        } else {
            0
        };
    }
    if !slow.is_empty() {
        return 1;
    }
    retval
}

fn read_stdin() -> String {
    let mut s = String::new();
    let _ = std::io::stdin().read_to_string(&mut s);
    s
}

/// First line and the rest, like `$summary = <STDIN>; chomp` then the
/// remaining lines.
fn split_stdin(s: &str) -> (String, String) {
    match s.split_once('\n') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (s.to_string(), String::new()),
    }
}

/// `($wday,$mon,$day,$tm) = split(/\s+/, localtime($t))`
fn short_time(t: i64) -> String {
    let c = ctime(t);
    let w: Vec<&str> = c.split_whitespace().collect();
    w[..4.min(w.len())].join(" ")
}

/// file.alert [-d dir] [-S summary] … [file]
pub fn file_alert(args: &[String], stdin: &str) -> i32 {
    let (o, rest) = getopts("d:S:s:g:h:t:l:uOT", args);
    let (mut summary, detail) = split_stdin(stdin);
    if let Some(s) = o.get(&'S') {
        summary = s.clone();
    }
    let mut file = rest.first().cloned().unwrap_or_else(|| "file".into());
    if let Some(d) = o.get(&'d').filter(|d| !d.is_empty()) {
        file = format!("{d}/{file}");
    }
    let alert = std::env::var("MON_ALERTTYPE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "UNKNOWN ALERT".into());
    let opstatus = std::env::var("MON_OPSTATUS").unwrap_or_else(|_| "UNKNOWN OPSTATUS".into());
    let t = o.get(&'t').cloned().unwrap_or_default();
    let when = short_time(crate::perlnum::numify(&t) as i64);
    let text = format!(
        "{alert} {} {} {t} ({when}) {summary}\nDESCR={}\nOPSTATUS={opstatus}\n{detail}.\n",
        o.get(&'g').cloned().unwrap_or_default(),
        o.get(&'s').cloned().unwrap_or_default(),
        std::env::var("MON_DESCRIPTION").unwrap_or_default(),
    );
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
    {
        Ok(mut f) => {
            let _ = f.write_all(text.as_bytes());
            0
        }
        Err(e) => {
            eprintln!(
                "could not append to {file}: {}",
                crate::error::errno_text(&e)
            );
            2
        }
    }
}

/// test.alert: one line with the date and all arguments.
pub fn test_alert(args: &[String]) -> i32 {
    let path = std::env::var("MON_TEST_ALERT_LOG")
        .unwrap_or_else(|_| "/var/log/mon/test.alert.log".into());
    let date = std::process::Command::new("date")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim_end().to_string())
        .unwrap_or_default();
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        Ok(mut f) => {
            let _ = writeln!(f, "{date} {}", args.join(" "));
            0
        }
        Err(e) => {
            eprintln!("{path}: {}", crate::error::errno_text(&e));
            1
        }
    }
}

/// Text::Tabs::expand: tabs to spaces up to the next multiple of 8.
fn expand_tabs(line: &str) -> String {
    let mut out = String::new();
    let mut col = 0;
    for c in line.chars() {
        if c == '\n' {
            out.push(c);
            col = 0;
        } else if c == '\t' {
            let n = 8 - col % 8;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else {
            out.push(c);
            col += 1;
        }
    }
    out
}

/// Text::Tabs::unexpand: per line, every full 8-column chunk that ends in
/// two or more spaces has them replaced by one tab (the chunk after the
/// last full one is left alone).
fn unexpand(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let chars: Vec<char> = expand_tabs(line).chars().collect();
            let full = chars.len() / 8;
            let mut out = String::new();
            for chunk in chars[..full * 8].chunks(8) {
                let spaces = chunk.iter().rev().take_while(|c| **c == ' ').count();
                if spaces >= 2 {
                    out.extend(&chunk[..8 - spaces]);
                    out.push('\t');
                } else {
                    out.extend(chunk);
                }
            }
            out.extend(&chars[full * 8..]);
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text::Wrap::wrap("", "\t\t\t", text) with its defaults (76 columns),
/// as mail.alert lays out the members line.
pub fn wrap_members(text: &str) -> String {
    text_wrap(76, "", "\t\t\t", text)
}

/// Text::Wrap::wrap(ip, xp, text) with `$columns = columns` and the
/// module's other defaults: break at one whitespace character, cut words
/// longer than a line, unexpand each line (8-column tabs).
pub fn text_wrap(columns: usize, ip: &str, xp: &str, text: &str) -> String {
    let t: Vec<char> = expand_tabs(text).chars().collect();
    let width = |s: &str| expand_tabs(s).chars().count();
    let mut ll = columns.saturating_sub(width(ip) + 1);
    let nll = columns.saturating_sub(width(xp) + 1).max(1);
    let mut pos = 0;
    let mut r = String::new();
    let mut lead = ip;
    let mut nl = "";
    let mut remainder = String::new();
    while !t[pos..].iter().all(|c| c.is_whitespace()) {
        // the longest run of at most ll non-newline characters followed
        // by a whitespace character or the end
        let run = t[pos..].iter().take(ll).take_while(|c| **c != '\n').count();
        let fit = (0..=run)
            .rev()
            .find(|k| pos + k == t.len() || t[pos + k].is_whitespace());
        let line: String;
        match fit {
            Some(k) => {
                line = t[pos..pos + k].iter().collect();
                if pos + k == t.len() {
                    remainder.clear();
                    pos += k;
                } else {
                    remainder = t[pos + k].to_string();
                    pos += k + 1;
                }
            }
            None => {
                let k = ll.max(1).min(t.len() - pos);
                line = t[pos..pos + k].iter().collect();
                remainder = "\n".into();
                pos += k;
            }
        }
        r.push_str(&unexpand(&format!("{nl}{lead}{line}")));
        lead = xp;
        ll = nll;
        nl = "\n";
    }
    r.push_str(&remainder);
    r
}

/// mail.alert [-S summary] [-f from] [-u] … addr…
pub fn mail_alert(args: &[String], stdin: &str) -> i32 {
    let (o, rest) = getopts("S:s:g:h:t:l:f:u", args);
    let (mut summary, detail) = split_stdin(stdin);
    if let Some(s) = o.get(&'S') {
        summary = s.clone();
    }
    let alert = if o.contains_key(&'u') {
        "UPALERT"
    } else {
        "ALERT"
    };
    let t = crate::perlnum::numify(o.get(&'t').map(String::as_str).unwrap_or("")) as i64;
    let g = o.get(&'g').cloned().unwrap_or_default();
    let s = o.get(&'s').cloned().unwrap_or_default();
    let mut text = format!(
        "To: {}\nSubject: {alert} {g}/{s}: {summary} ({})\nX-Mailer: {}\n\n\nGroup                 : {g}\nService               : {s}\nTime noticed          : {}\nSecs until next alert : {}\n",
        rest.join(","),
        short_time(t),
        std::env::args().next().unwrap_or_default(),
        ctime(t),
        o.get(&'l').cloned().unwrap_or_default(),
    );
    text.push_str(&wrap_members(&format!(
        "Members               : {}",
        o.get(&'h').cloned().unwrap_or_default()
    )));
    text.push_str("\n\nDetailed text (if any) follows:\n-------------------------------\n");
    text.push_str(&detail);
    let sendmail = std::env::var("MON_SENDMAIL").unwrap_or_else(|_| "/usr/lib/sendmail".into());
    let mut cmd = std::process::Command::new(&sendmail);
    cmd.args(["-oi", "-t"]);
    if let Some(f) = o.get(&'f') {
        cmd.args(["-f", f, "-F", f]);
    }
    match cmd.stdin(std::process::Stdio::piped()).spawn() {
        Ok(mut c) => {
            if let Some(mut i) = c.stdin.take() {
                let _ = i.write_all(text.as_bytes());
            }
            let _ = c.wait();
            0
        }
        Err(e) => {
            eprintln!(
                "could not open pipe to mail: {}",
                crate::error::errno_text(&e)
            );
            2
        }
    }
}

/// The ipvsadm command lines lvs.alert runs: `-u` adds the real server,
/// anything else deletes it.
pub fn lvs_commands(args: &[String]) -> Result<Vec<String>, String> {
    let (o, _) = getopts("s:g:h:t:l:P:V:R:W:F:X:S:uDBTOa", args);
    let proto = match o.get(&'P').map(|s| s.to_lowercase()).as_deref() {
        Some("tcp") | None => "-t",
        Some("udp") => "-u",
        Some("fwm") => "-f",
        Some(p) => {
            return Err(format!(
                "lvs.alert: unknown protocol '{p}' (tcp, udp or fwm)"
            ))
        }
    };
    let v = o
        .get(&'V')
        .cloned()
        .ok_or("lvs.alert: -V virtual service missing")?;
    let r = o
        .get(&'R')
        .cloned()
        .ok_or("lvs.alert: -R real server missing")?;
    if o.contains_key(&'u') {
        let fwd = match o.get(&'F').map(|s| s.to_lowercase()).as_deref() {
            Some("dr") | Some("gate") | None => "-g",
            Some("nat") | Some("masq") => "-m",
            Some("tun") | Some("ipip") => "-i",
            Some(f) => {
                return Err(format!(
                    "lvs.alert: unknown forwarding method '{f}' (dr, nat or tun)"
                ))
            }
        };
        let w = o.get(&'W').cloned().unwrap_or_else(|| "1".into());
        Ok(vec![format!("-a {proto} {v} -r {r} -w {w} {fwd}")])
    } else {
        Ok(vec![format!("-d {proto} {v} -r {r}")])
    }
}

/// lvs.alert: add (`-u`) or delete a real server with ipvsadm.
pub fn lvs_alert(args: &[String]) -> i32 {
    let ipvsadm = std::env::var("IPVSADM").unwrap_or_else(|_| "/sbin/ipvsadm".into());
    match lvs_commands(args) {
        Ok(cmds) => {
            let mut rc = 0;
            for c in cmds {
                let argv: Vec<&str> = c.split(' ').collect();
                match std::process::Command::new(&ipvsadm).args(&argv).status() {
                    Ok(s) if s.success() => {}
                    Ok(s) => rc = s.code().unwrap_or(1),
                    Err(e) => {
                        eprintln!(
                            "lvs.alert: could not run {ipvsadm}: {}",
                            crate::error::errno_text(&e)
                        );
                        rc = 1;
                    }
                }
            }
            rc
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// Dispatch on the name the binary was started under.
pub fn main_for(name: &str, args: &[String]) -> i32 {
    let mut out = std::io::stdout();
    match name {
        "fping.monitor" => fping_monitor(args, &mut out),
        "http.monitor" => http_monitor(args, &mut out),
        "tcp.monitor" => tcp_monitor(args, &mut out),
        "lvs.alert" => lvs_alert(args),
        "mail.alert" => mail_alert(args, &read_stdin()),
        "file.alert" => file_alert(args, &read_stdin()),
        "test.alert" => test_alert(args),
        _ => {
            eprintln!("mon-scripts: run me as fping.monitor, http.monitor, tcp.monitor, lvs.alert, mail.alert, file.alert or test.alert\n  (mon-scripts install MONDIR ALERTDIR creates those links)");
            2
        }
    }
}

pub const MONITORS: &[&str] = &["fping.monitor", "http.monitor", "tcp.monitor"];

/// Whether a resolved monitor path is one of ours: a link (`mon-scripts
/// install`) to the mon-scripts binary under a shipped monitor's name.
/// Then the daemon can run it in-process (see [`in_process_args_ok`]).
/// `MONRS_FORK_MONITORS=1` in the daemon's environment turns this off.
pub fn shipped_monitor(path: &str) -> Option<&'static str> {
    if std::env::var_os("MONRS_FORK_MONITORS").is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    let p = std::path::Path::new(path);
    let name = p.file_name()?.to_str()?;
    let name = MONITORS.iter().find(|m| **m == name)?;
    let target = std::fs::canonicalize(p).ok()?;
    if target.file_name()? != "mon-scripts" || privileged(&target) {
        return None;
    }
    Some(name)
}

/// Whether a program gains privileges when started (setuid/setgid, or
/// file capabilities such as cap_net_raw for fping.monitor's raw
/// socket): then the daemon must start it, as in-process it would run
/// with the daemon's own privileges instead.
fn privileged(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return true;
    };
    if meta.permissions().mode() & 0o6000 != 0 {
        return true;
    }
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return true;
    };
    // SAFETY: a size query (null buffer, length 0) on a valid C string.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"security.capability".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    n >= 0
}

/// Whether running `name` with `args` in-process gives exactly what the
/// process would have given mon: no option that would warn on stderr (in
/// the process that text is merged into the output ahead of stdout) and
/// nothing that starts other programs (`fping.monitor -T` runs
/// traceroute).
pub fn in_process_args_ok(name: &str, args: &[String]) -> bool {
    let spec = match name {
        "fping.monitor" => "ahr:s:t:T",
        "http.monitor" => "p:t:u:a:m:o",
        "tcp.monitor" => "p:t:",
        _ => return false,
    };
    let (o, _, unknown) = parse_opts(spec, args);
    unknown.is_empty() && !(name == "fping.monitor" && o.contains_key(&'T'))
}

/// Run a shipped monitor in the calling process: what it would print and
/// its exit status.
pub fn run_monitor_in_process(name: &str, args: &[String], out: &mut dyn Write) -> i32 {
    match name {
        "fping.monitor" => fping_monitor(args, out),
        "http.monitor" => http_monitor(args, out),
        "tcp.monitor" => tcp_monitor(args, out),
        _ => 2,
    }
}
pub const ALERTS: &[&str] = &["lvs.alert", "mail.alert", "file.alert", "test.alert"];

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn getopts_like_perl() {
        let (o, rest) = getopts("p:t:o", &s(&["-p80", "-o", "-t", "5", "h1", "-x"]));
        assert_eq!(o[&'p'], "80");
        assert_eq!(o[&'t'], "5");
        assert!(o.contains_key(&'o'));
        assert_eq!(rest, s(&["h1", "-x"]));
    }

    #[test]
    fn lvs_seed_options() {
        let base = s(&["-s", "http", "-g", "web", "-h", "10.0.0.2", "-t", "1"]);
        let mut down = base.clone();
        down.extend(s(&[
            "-P",
            "tcp",
            "-V",
            "10.0.0.1:80",
            "-R",
            "10.0.0.2:80",
            "-W",
            "100",
            "-F",
            "dr",
            "-X",
            "down",
        ]));
        assert_eq!(
            lvs_commands(&down).unwrap(),
            vec!["-d -t 10.0.0.1:80 -r 10.0.0.2:80"]
        );
        let mut up = base.clone();
        up.push("-u".into());
        up.extend(s(&[
            "-P",
            "tcp",
            "-V",
            "10.0.0.1:80",
            "-R",
            "10.0.0.2:80",
            "-W",
            "100",
            "-F",
            "dr",
        ]));
        assert_eq!(
            lvs_commands(&up).unwrap(),
            vec!["-a -t 10.0.0.1:80 -r 10.0.0.2:80 -w 100 -g"]
        );
        let mut nat = base;
        nat.extend(s(&[
            "-u",
            "-P",
            "udp",
            "-V",
            "1.2.3.4:53",
            "-R",
            "5.6.7.8:53",
            "-F",
            "nat",
        ]));
        assert_eq!(
            lvs_commands(&nat).unwrap(),
            vec!["-a -u 1.2.3.4:53 -r 5.6.7.8:53 -w 1 -m"]
        );
    }

    #[test]
    fn http_status_and_header() {
        assert!(status_ok("HTTP/1.0 200 OK\r\n"));
        assert!(status_ok("HTTP/1.1 302 Found"));
        assert!(!status_ok("HTTP/1.1 204 No Content"));
        assert!(!status_ok("HTTP/1.1 2000"));
        assert_eq!(
            header_block("HTTP/1.0 200 OK\r\nA: b\r\n\r\nbody"),
            Some("HTTP/1.0 200 OK\r\nA: b".into())
        );
        assert_eq!(header_block("no blank line"), None);
        assert!(regex_search("Welcome", "xx Welcome yy"));
        assert!(regex_search("^HTTP/1\\.[01] 200", "HTTP/1.1 200 OK"));
        assert!(!regex_search("^200", "HTTP/1.1 200 OK"));
        assert!(regex_search("b[0-9]+c$", "ab123c"));
    }

    #[test]
    fn tcp_monitor_output() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mut out = Vec::new();
        assert_eq!(
            tcp_monitor(&s(&["-p", &port.to_string(), "127.0.0.1"]), &mut out),
            0
        );
        assert!(out.is_empty());
        drop(l);
        let mut out = Vec::new();
        assert_eq!(
            tcp_monitor(
                &s(&["-p", &port.to_string(), "127.0.0.1", "bad host!"]),
                &mut out
            ),
            1
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "127.0.0.1 bad host!\n\n127.0.0.1 could not connect: Connection refused\nbad host! could not inet_aton\n"
        );
    }

    /// A tiny HTTP/1.0 server on 127.0.0.1 answering `n` requests, each
    /// read up to the blank line, then closing.
    fn http_server(n: usize) -> (u16, std::thread::JoinHandle<()>) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            for _ in 0..n {
                let (mut c, _) = l.accept().unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 512];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                    }
                }
                let _ = c.write_all(b"HTTP/1.0 200 OK\r\nServer: t\r\n\r\nbody\n");
            }
        });
        (port, t)
    }

    /// Sockets that served one check serve the next (IDLE_SOCKETS): a
    /// reused socket must connect, send and report like a new one, and
    /// the reset left on it by the disconnect must not leak into the next
    /// check's outcome, whether that check succeeds or is refused.
    #[test]
    fn http_check_on_reused_sockets_reports_like_new_ones() {
        let hosts = ["127.0.0.1"; 4];
        let (port, server) = http_server(8);
        for round in 0..2 {
            let r = http_get_many(&s(&hosts), port, "/", "ua", 5, None);
            assert!(r.iter().all(|r| r.ok), "round {round}");
            assert_eq!(r[0].header.as_deref(), Some("HTTP/1.0 200 OK\r\nServer: t"));
            assert!(!IDLE_SOCKETS.lock().unwrap().is_empty(), "round {round}");
        }
        server.join().unwrap();
        // the listener is gone: refused, not a stale reset or a timeout
        let r = http_get_many(&s(&hosts), port, "/", "ua", 5, None);
        assert!(r
            .iter()
            .all(|r| !r.ok && r.error == "HTTP response code failure"));
    }
}
