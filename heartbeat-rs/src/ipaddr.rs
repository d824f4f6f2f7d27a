//! The `IPaddr`/`IPaddr2` resource agents: a virtual IPv4 address added or
//! removed over rtnetlink and announced with gratuitous ARP (the `sendarp`
//! library), with the original agents' arguments and outputs.

use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Which agent's conventions apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `IPaddr`: an alias label `nic:N`, GARP 10 × 500 ms.
    IPaddr,
    /// `IPaddr2`: no label unless `nic:label` is given, GARP 5 × 200 ms.
    IPaddr2,
}

/// `ip[/bits[/nic[/broadcast]]]` (a third part starting with a digit is
/// the broadcast address), IPaddr2 also `nic:label`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub ip: Ipv4Addr,
    pub bits: Option<u8>,
    pub nic: Option<String>,
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
}

pub fn parse_spec(s: &str, flavor: Flavor) -> Result<Spec, String> {
    let parts: Vec<&str> = s.split('/').collect();
    let ip: Ipv4Addr = parts[0]
        .parse()
        .map_err(|_| format!("ERROR: Invalid IP address [{}]", parts[0]))?;
    let mut spec = Spec {
        ip,
        bits: None,
        nic: None,
        label: None,
        broadcast: None,
    };
    if let Some(b) = parts.get(1).filter(|b| !b.is_empty()) {
        let n: u8 = b
            .parse()
            .ok()
            .filter(|n| *n <= 32)
            .ok_or_else(|| format!("ERROR: Invalid netmask [{b}]"))?;
        spec.bits = Some(n);
    }
    let mut rest = parts.iter().skip(2);
    if let Some(p) = rest.next() {
        if p.starts_with(|c: char| c.is_ascii_digit()) {
            spec.broadcast = Some(
                p.parse()
                    .map_err(|_| format!("ERROR: Invalid broadcast address [{p}]"))?,
            );
        } else if !p.is_empty() {
            match (flavor, p.split_once(':')) {
                (Flavor::IPaddr2, Some((nic, label))) => {
                    spec.nic = Some(nic.to_string());
                    spec.label = Some(format!("{nic}:{label}"));
                }
                (_, Some((nic, _))) => spec.nic = Some(nic.to_string()),
                (_, None) => spec.nic = Some(p.to_string()),
            }
            if let Some(b) = rest.next() {
                spec.broadcast = Some(
                    b.parse()
                        .map_err(|_| format!("ERROR: Invalid broadcast address [{b}]"))?,
                );
            }
        }
    }
    Ok(spec)
}

/// One IPv4 address of an interface (label as the kernel reports it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfAddr {
    pub label: String,
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

/// All IPv4 addresses with their labels.
pub fn addresses() -> io::Result<Vec<IfAddr>> {
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list freed below.
    if unsafe { libc::getifaddrs(&mut ifap) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut v = Vec::new();
    let mut p = ifap;
    while !p.is_null() {
        // SAFETY: walking the list getifaddrs returned.
        let ifa = unsafe { &*p };
        p = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_netmask.is_null() {
            continue;
        }
        if unsafe { (*ifa.ifa_addr).sa_family } as libc::c_int != libc::AF_INET {
            continue;
        }
        let a = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
        let m = unsafe { &*(ifa.ifa_netmask as *const libc::sockaddr_in) };
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
        v.push(IfAddr {
            label: name.to_string_lossy().into_owned(),
            addr: Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
            prefix: u32::from_be(m.sin_addr.s_addr).count_ones() as u8,
        });
    }
    // SAFETY: frees what getifaddrs allocated.
    unsafe { libc::freeifaddrs(ifap) };
    Ok(v)
}

fn base(label: &str) -> &str {
    label.split(':').next().unwrap_or(label)
}

fn mask(bits: u8) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(bits))
    }
}

/// The interface and prefix to use: given, or from the interface whose
/// subnet covers the address.
pub fn resolve(spec: &Spec, addrs: &[IfAddr]) -> Result<(String, u8, Ipv4Addr), String> {
    let ip = u32::from(spec.ip);
    let covering = addrs.iter().find(|a| {
        a.addr != spec.ip
            && a.prefix > 0
            && (u32::from(a.addr) & mask(a.prefix)) == (ip & mask(a.prefix))
            && spec.nic.as_deref().is_none_or(|n| base(&a.label) == n)
    });
    let nic = match (&spec.nic, covering) {
        (Some(n), _) => n.clone(),
        (None, Some(a)) => base(&a.label).to_string(),
        (None, None) => return Err("ERROR: Unable to find nic or netmask.".into()),
    };
    let bits = match (spec.bits, covering) {
        (Some(b), _) => b,
        (None, Some(a)) => a.prefix,
        (None, None) => 32,
    };
    let brd = spec
        .broadcast
        .unwrap_or_else(|| Ipv4Addr::from(ip | !mask(bits)));
    Ok((nic, bits, brd))
}

/// Whether the address is on `nic` (any label).
pub fn present(ip: Ipv4Addr, nic: Option<&str>, addrs: &[IfAddr]) -> Option<IfAddr> {
    addrs
        .iter()
        .find(|a| a.addr == ip && nic.is_none_or(|n| base(&a.label) == n))
        .cloned()
}

/// IPaddr only: the address is up, but not on the interface the agent
/// would use for it (the given nic, or the calculated one); returns that
/// address and the interface it should be on.
fn wrong_interface(flavor: Flavor, spec: &Spec, addrs: &[IfAddr]) -> Option<(IfAddr, String)> {
    if flavor != Flavor::IPaddr {
        return None;
    }
    let nic = match &spec.nic {
        Some(n) => n.clone(),
        None => resolve(spec, addrs).ok()?.0,
    };
    if present(spec.ip, Some(&nic), addrs).is_some() {
        return None;
    }
    present(spec.ip, None, addrs).map(|a| (a, nic))
}

/// First free `nic:N` alias label.
pub fn free_alias(nic: &str, addrs: &[IfAddr]) -> String {
    (0..)
        .map(|n| format!("{nic}:{n}"))
        .find(|l| !addrs.iter().any(|a| a.label == *l))
        .unwrap_or_else(|| format!("{nic}:0"))
}

fn push_attr(buf: &mut Vec<u8>, ty: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(data);
    while buf.len() & 3 != 0 {
        buf.push(0);
    }
}

/// An RTM_NEWADDR/RTM_DELADDR request, as bytes.
pub fn addr_request(
    add: bool,
    ifindex: u32,
    ip: Ipv4Addr,
    prefix: u8,
    brd: Option<Ipv4Addr>,
    label: Option<&str>,
    seq: u32,
) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    // ifaddrmsg
    b.push(libc::AF_INET as u8);
    b.push(prefix);
    b.push(0); // flags
    b.push(0); // RT_SCOPE_UNIVERSE
    b.extend_from_slice(&ifindex.to_ne_bytes());
    push_attr(&mut b, libc::IFA_LOCAL, &ip.octets());
    push_attr(&mut b, libc::IFA_ADDRESS, &ip.octets());
    if add {
        if let Some(brd) = brd {
            push_attr(&mut b, libc::IFA_BROADCAST, &brd.octets());
        }
        if let Some(l) = label {
            let mut s = l.as_bytes().to_vec();
            s.push(0);
            push_attr(&mut b, libc::IFA_LABEL, &s);
        }
    }
    let (ty, flags) = if add {
        (
            libc::RTM_NEWADDR,
            libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL,
        )
    } else {
        (libc::RTM_DELADDR, libc::NLM_F_REQUEST | libc::NLM_F_ACK)
    };
    let len = b.len() as u32;
    b[0..4].copy_from_slice(&len.to_ne_bytes());
    b[4..6].copy_from_slice(&ty.to_ne_bytes());
    b[6..8].copy_from_slice(&(flags as u16).to_ne_bytes());
    b[8..12].copy_from_slice(&seq.to_ne_bytes());
    b
}

/// Sends one rtnetlink request and waits for its ACK.
pub fn netlink(req: &[u8]) -> io::Result<()> {
    // SAFETY: socket/send/recv on a netlink socket we own and close.
    unsafe {
        let fd = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let r = (|| {
            if libc::send(fd, req.as_ptr() as *const libc::c_void, req.len(), 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut buf = [0u8; 4096];
            let n = libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0);
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = n as usize;
            if n >= 20 && u16::from_ne_bytes([buf[4], buf[5]]) == libc::NLMSG_ERROR as u16 {
                let e = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
                if e == 0 {
                    return Ok(());
                }
                return Err(io::Error::from_raw_os_error(-e));
            }
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "unexpected netlink reply",
            ))
        })();
        libc::close(fd);
        r
    }
}

pub fn if_index(nic: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(nic).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: c is a valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(i)
    }
}

/// Where the background announcer's pid is kept: `rsctmp` under
/// `run_dir` (the agent's `HEARTBEAT_RUN_DIR`, default /var/run/heartbeat).
pub fn pidfile(run_dir: &Path, ip: Ipv4Addr) -> std::path::PathBuf {
    let dir = run_dir.join("rsctmp");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("send_arp-{ip}"))
}

/// Stops a still-running announcer for `ip`.
pub fn stop_announcer(run_dir: &Path, ip: Ipv4Addr) {
    let p = pidfile(run_dir, ip);
    if let Some(pid) = std::fs::read_to_string(&p)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        // SAFETY: plain kill(2).
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let _ = std::fs::remove_file(p);
}

/// Announces in a background process (the first frames leave at once),
/// as the original agents start send_arp in the background. The
/// announcer is a grandchild, detached like the one a forked agent
/// leaves behind, so that it also works from inside the daemon (see
/// [`crate::runner::OwnAgents`]): there it must not keep the daemon's
/// descriptors, inherit its blocked signals, or wait to be reaped.
pub fn announce_background(
    run_dir: &Path,
    nic: &str,
    ip: Ipv4Addr,
    repeat: u32,
    interval_ms: u64,
) -> io::Result<()> {
    stop_announcer(run_dir, ip);
    let a = sendarp::Announcement {
        ifname: nic.to_string(),
        ip: ip.into(),
        mac: None,
        repeat,
        interval: std::time::Duration::from_millis(interval_ms),
    };
    // Fail in the foreground if the interface cannot be used.
    let probe = sendarp::Prepared::new(&a).map_err(|e| io::Error::other(e.to_string()))?;
    // SAFETY: fork/waitpid; the child only forks again and _exits.
    let child = unsafe { libc::fork() };
    match child {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            // SAFETY: the grandchild detaches and announces; the child
            // leaves at once so that the grandchild is nobody's to reap.
            unsafe {
                if libc::fork() != 0 {
                    libc::_exit(0);
                }
                libc::setsid();
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
                for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGPIPE] {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            // The probe's socket goes with the rest of the inherited
            // descriptors (the daemon's media sockets among them).
            std::mem::forget(probe);
            close_inherited();
            // SAFETY: stdout/stderr to /dev/null.
            unsafe {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null >= 0 {
                    libc::dup2(null, 1);
                    libc::dup2(null, 2);
                    if null > 2 {
                        libc::close(null);
                    }
                }
            }
            let p = pidfile(run_dir, ip);
            let _ = std::fs::write(&p, format!("{}\n", std::process::id()));
            if let Ok(mut prepared) = sendarp::Prepared::new(&a) {
                let _ = prepared.run(&mut sendarp::ThreadSleeper);
            }
            let _ = std::fs::remove_file(p);
            // SAFETY: leave without running the parent's atexit handlers.
            unsafe { libc::_exit(0) }
        }
        pid => {
            drop(probe);
            let mut st = 0;
            // SAFETY: reaps the intermediate child, which exits at once.
            unsafe { libc::waitpid(pid, &mut st, 0) };
            Ok(())
        }
    }
}

/// Closes every descriptor above stderr.
fn close_inherited() {
    // SAFETY: close_range(2) on our own descriptor table.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if r != 0 {
        for fd in 3..4096 {
            // SAFETY: closing descriptors we do not use any more.
            unsafe { libc::close(fd) };
        }
    }
}

/// Runs the agent as its binary does: the stderr text is printed;
/// returns (stdout text, exit status).
pub fn agent(flavor: Flavor, args: &[String]) -> (String, i32) {
    let mut err = String::new();
    let r = run_agent(flavor, args, &run_dir_from_env(), &mut err);
    eprint!("{err}");
    r
}

/// `HEARTBEAT_RUN_DIR`, default /var/run/heartbeat.
pub fn run_dir_from_env() -> PathBuf {
    std::env::var_os("HEARTBEAT_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/var/run/heartbeat".into())
}

/// Runs the agent; `run_dir` is where its announcer's pidfile goes
/// (see [`pidfile`]); its stderr text goes to `err`; returns (stdout
/// text, exit status).
pub fn run_agent(
    flavor: Flavor,
    args: &[String],
    run_dir: &Path,
    err: &mut String,
) -> (String, i32) {
    let name = match flavor {
        Flavor::IPaddr => "IPaddr",
        Flavor::IPaddr2 => "IPaddr2",
    };
    let usage = format!("usage: {name} ip-address[/netmaskbits[/interface[:label][/broadcast]]] {{start|stop|status|monitor}}\n");
    let (Some(spec), Some(op)) = (args.first(), args.get(1)) else {
        return (usage, 1);
    };
    let spec = match parse_spec(spec, flavor) {
        Ok(s) => s,
        Err(e) => return (format!("{e}\n"), 1),
    };
    let addrs = match addresses() {
        Ok(a) => a,
        Err(e) => return (format!("ERROR: cannot list addresses: {e}\n"), 1),
    };
    match op.as_str() {
        "status" | "monitor" => {
            if let Some((a, nic)) = wrong_interface(flavor, &spec, &addrs) {
                // The original's validate step fills in the calculated
                // nic, so an LVS real server's VIP on lo:0 is not "ours":
                // heartbeat then runs start, which brings it up on eth0.
                // Like the original, the reason goes to stderr (its log).
                err.push_str(&format!(
                    "ERROR: {} is running an interface ({}) instead of the configured one ({nic})\n",
                    spec.ip,
                    base(&a.label)
                ));
                ("ERROR:  Generic error\n".into(), 1)
            } else if present(spec.ip, spec.nic.as_deref(), &addrs).is_some() {
                ("INFO:  Running OK\n".into(), 0)
            } else {
                (
                    "INFO:  Resource is stopped\n".into(),
                    if op == "monitor" { 7 } else { 3 },
                )
            }
        }
        "start" => {
            let (nic, bits, brd) = match resolve(&spec, &addrs) {
                Ok(x) => x,
                Err(e) => return (format!("{e}\n"), 1),
            };
            if present(spec.ip, Some(&nic), &addrs).is_none() {
                let label = match flavor {
                    Flavor::IPaddr => Some(free_alias(&nic, &addrs)),
                    Flavor::IPaddr2 => spec.label.clone(),
                };
                let idx = match if_index(&nic) {
                    Ok(i) => i,
                    Err(e) => return (format!("ERROR: interface {nic}: {e}\n"), 1),
                };
                let req = addr_request(true, idx, spec.ip, bits, Some(brd), label.as_deref(), 1);
                if let Err(e) = netlink(&req) {
                    return (
                        format!("ERROR: adding {}/{bits} to {nic}: {e}\n", spec.ip),
                        1,
                    );
                }
            }
            // Announce even when the address was already there: a start
            // is also how a holder re-claims it after a partition.
            let (repeat, interval) = match flavor {
                Flavor::IPaddr => (10, 500),
                Flavor::IPaddr2 => (5, 200),
            };
            if let Err(e) = announce_background(run_dir, &nic, spec.ip, repeat, interval) {
                return (format!("ERROR: sending gratuitous ARP on {nic}: {e}\n"), 1);
            }
            ("INFO:  Success\n".into(), 0)
        }
        "stop" => {
            stop_announcer(run_dir, spec.ip);
            // An LVS real server's VIP on lo:0 may sit beside ours: release
            // the one on the interface start would have used.
            let nic = spec
                .nic
                .clone()
                .or_else(|| resolve(&spec, &addrs).ok().map(|(n, _, _)| n));
            let ours = present(spec.ip, nic.as_deref(), &addrs)
                .or_else(|| present(spec.ip, spec.nic.as_deref(), &addrs));
            if let Some(a) = ours {
                let nic = base(&a.label).to_string();
                let idx = match if_index(&nic) {
                    Ok(i) => i,
                    Err(e) => return (format!("ERROR: interface {nic}: {e}\n"), 1),
                };
                let req = addr_request(false, idx, spec.ip, a.prefix, None, None, 1);
                if let Err(e) = netlink(&req) {
                    return (format!("ERROR: removing {} from {nic}: {e}\n", spec.ip), 1);
                }
            }
            ("INFO:  Success\n".into(), 0)
        }
        _ => (usage, 1),
    }
}
