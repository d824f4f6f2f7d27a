//! The `send_arp` command: heartbeat 3.0.6's (resource-agents' libnet
//! build) command line, messages and exit statuses.
//!
//! ```text
//! send_arp [-i repeatinterval-ms] [-r repeatcount] [-p pidfile] \
//!          device src_ip_addr src_hw_addr broadcast_ip_addr netmask
//! ```
//!
//! Options are parsed the way glibc getopt("i:r:p:") does: they may follow
//! the positional words, `--` ends them, values are read with atol/atoi
//! (so `-i 500ms` is 500 and `-r x` is 0). Exactly five positional words or
//! the usage text goes to stderr and the exit status is 1. The last two
//! words are ignored; they exist for the old five-argument call
//! `send_arp DEV VIP HWADDR VIP ffffffffffff`.
//!
//! Differences from the original, all where it misbehaves:
//! * an interval below 2 ms sends without pausing (the original waits
//!   forever after the first frame, its timer never armed);
//! * `src_hw_addr` in the usual colon form is read as written (see
//!   [`crate::mac`]);
//! * an IPv6 `src_ip_addr` sends unsolicited neighbour advertisements
//!   (the original cannot resolve it and exits 1);
//! * a pid file naming no single process is refused instead of being
//!   passed to kill(2) (see [`crate::pidfile`]).

use std::ffi::{CString, OsStr, OsString};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::cllog::{Config, Logger, Priority};
use crate::link::Link;
use crate::mac::{parse_src_hw_addr, HwAddrArg};
use crate::pidfile;
use crate::{Error, PidfileOp, Prepared, ThreadSleeper};

/// The usage text, exactly as heartbeat prints it (including the two extra
/// newlines its `fprintf(stderr, "%s\n\n", ...)` adds).
pub const USAGE: &str = concat!(
    "send_arp: sends out custom ARP packet.\n",
    "  usage: send_arp [-i repeatinterval-ms] [-r repeatcount] [-p pidfile] \\\n",
    "              device src_ip_addr src_hw_addr broadcast_ip_addr netmask\n",
    "\n",
    "  where:\n",
    "    repeatinterval-ms: timing, in milliseconds of sending arp packets\n",
    "      For each ARP announcement requested, a pair of ARP packets is sent,\n",
    "      an ARP request, and an ARP reply. This is because some systems\n",
    "      ignore one or the other, and this combination gives the greatest\n",
    "      chance of success.\n",
    "\n",
    "      Each time an ARP is sent, if another ARP will be sent then\n",
    "      the code sleeps for half of repeatinterval-ms.\n",
    "\n",
    "    repeatcount: how many pairs of ARP packets to send.\n",
    "                 See above for why pairs are sent\n",
    "\n",
    "    pidfile: pid file to use\n",
    "\n",
    "    device: network interface to use\n",
    "\n",
    "    src_ip_addr: source ip address\n",
    "\n",
    "    src_hw_addr: source hardware address.\n",
    "                 If \"auto\" then the address of device\n",
    "\n",
    "    broadcast_ip_addr: ignored\n",
    "\n",
    "    netmask: ignored\n",
    "\n\n",
);

/// Defaults of the original.
pub const DEFAULT_INTERVAL_MS: i64 = 1000;
pub const DEFAULT_REPEAT: i32 = 1;

/// A getopt complaint, printed before the usage text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetoptError {
    Invalid(u8),
    MissingArgument(u8),
}

impl GetoptError {
    /// glibc's wording, prefixed with argv[0] as invoked.
    pub fn message(&self, argv0: &[u8]) -> Vec<u8> {
        let (text, c) = match self {
            GetoptError::Invalid(c) => ("invalid option", *c),
            GetoptError::MissingArgument(c) => ("option requires an argument", *c),
        };
        let mut m = argv0.to_vec();
        m.extend_from_slice(format!(": {text} -- '").as_bytes());
        m.push(c);
        m.extend_from_slice(b"'\n");
        m
    }
}

/// What getopt("i:r:p:") leaves behind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Getopt {
    /// (option letter, value) in command-line order.
    pub options: Vec<(u8, Vec<u8>)>,
    /// (index in the original argv, word): non-option words in order.
    pub operands: Vec<(usize, Vec<u8>)>,
}

/// glibc getopt with optstring "i:r:p:": operands may be mixed with
/// options unless POSIXLY_CORRECT is set; `--` ends the options; `-`
/// alone is an operand.
pub fn getopt(argv: &[Vec<u8>], posixly_correct: bool) -> Result<Getopt, GetoptError> {
    let mut g = Getopt::default();
    let mut i = 1;
    while i < argv.len() {
        let a = &argv[i];
        if a.as_slice() == b"--" {
            g.operands
                .extend((i + 1..argv.len()).map(|k| (k, argv[k].clone())));
            break;
        }
        if a.len() > 1 && a[0] == b'-' {
            let c = a[1];
            if !matches!(c, b'i' | b'r' | b'p') {
                return Err(GetoptError::Invalid(c));
            }
            let value = if a.len() > 2 {
                a[2..].to_vec()
            } else if i + 1 < argv.len() {
                i += 1;
                argv[i].clone()
            } else {
                return Err(GetoptError::MissingArgument(c));
            };
            g.options.push((c, value));
            i += 1;
            continue;
        }
        if posixly_correct {
            g.operands
                .extend((i..argv.len()).map(|k| (k, argv[k].clone())));
            break;
        }
        g.operands.push((i, a.clone()));
        i += 1;
    }
    Ok(g)
}

/// atol(3): leading blanks, a sign, decimal digits; saturates like strtol.
pub fn atol(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let mut v: i128 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = (v * 10 + i128::from(s[i] - b'0')).min(i128::from(i64::MAX) + 1);
        i += 1;
    }
    if negative {
        v = -v;
    }
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// atoi(3) is `(int) strtol(...)`.
pub fn atoi(s: &[u8]) -> i32 {
    atol(s) as i32
}

/// inet_aton(3): one to four parts, each decimal, octal (leading 0) or
/// hex (0x); the last part fills the remaining bytes; anything after a
/// blank is ignored.
pub fn inet_aton(s: &[u8]) -> Option<u32> {
    let mut parts: Vec<u64> = Vec::with_capacity(4);
    let mut i = 0;
    loop {
        if i >= s.len() || !s[i].is_ascii_digit() {
            return None;
        }
        let mut base = 10;
        if s[i] == b'0' {
            if i + 1 < s.len() && (s[i + 1] == b'x' || s[i + 1] == b'X') {
                base = 16;
                i += 2;
            } else {
                base = 8;
            }
        }
        let mut v: u64 = 0;
        while i < s.len() {
            let d = match (s[i] as char).to_digit(base) {
                Some(d) => d,
                None => break,
            };
            v = v * u64::from(base) + u64::from(d);
            if v > 0xffff_ffff {
                return None;
            }
            i += 1;
        }
        parts.push(v);
        if i < s.len() && s[i] == b'.' {
            if parts.len() >= 4 {
                return None;
            }
            i += 1;
            continue;
        }
        break;
    }
    if i < s.len() && !matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let fits = |v: u64, max: u64| v <= max;
    let v = match parts.as_slice() {
        [a] => *a,
        [a, b] if fits(*a, 0xff) && fits(*b, 0xff_ffff) => (a << 24) | b,
        [a, b, c] if fits(*a, 0xff) && fits(*b, 0xff) && fits(*c, 0xffff) => {
            (a << 24) | (b << 16) | c
        }
        [a, b, c, d] if [a, b, c, d].iter().all(|x| fits(**x, 0xff)) => {
            (a << 24) | (b << 16) | (c << 8) | d
        }
        _ => return None,
    };
    Some(v as u32)
}

/// Host name lookup for IPv4, as gethostbyname would answer.
fn lookup_ipv4(name: &[u8]) -> Option<Ipv4Addr> {
    let cname = CString::new(name).ok()?;
    // SAFETY: addrinfo is POD; hints zeroed apart from the family.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_family = libc::AF_INET;
        hints.ai_socktype = libc::SOCK_DGRAM;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(cname.as_ptr(), std::ptr::null(), &hints, &mut res) != 0 {
            return None;
        }
        let mut out = None;
        if !res.is_null() && !(*res).ai_addr.is_null() && (*res).ai_family == libc::AF_INET {
            let sin = (*res).ai_addr as *const libc::sockaddr_in;
            out = Some(Ipv4Addr::from(u32::from_be((*sin).sin_addr.s_addr)));
        }
        libc::freeaddrinfo(res);
        out
    }
}

/// `src_ip_addr` as the original resolves it (numbers first, then the
/// host name service; a result of 255.255.255.255 is indistinguishable
/// from failure there, so it fails), plus IPv6 literals.
pub fn resolve(arg: &[u8]) -> Option<IpAddr> {
    if let Some(v6) = std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<Ipv6Addr>().ok())
    {
        return Some(IpAddr::V6(v6));
    }
    let v4 = match inet_aton(arg) {
        Some(v) => Ipv4Addr::from(v),
        // glibc answers all-digits-and-dots names itself, without asking
        // the name service.
        None if !arg.is_empty()
            && arg[0].is_ascii_digit()
            && arg.iter().all(|c| c.is_ascii_digit() || *c == b'.') =>
        {
            return None
        }
        None => lookup_ipv4(arg)?,
    };
    (v4 != Ipv4Addr::BROADCAST).then_some(IpAddr::V4(v4))
}

/// The interval the original actually sleeps: msinterval/2 twice per pair,
/// in whole milliseconds, rounded toward zero. Non-positive halves (the
/// original hangs on those) become no pause at all.
pub fn effective_interval(ms: i64) -> Duration {
    let half = ms / 2;
    if half <= 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(half as u64 * 2)
    }
}

/// An interface name as libnet hands it to the kernel: cut to IFNAMSIZ-1.
pub fn kernel_ifname(device: &[u8]) -> String {
    let cut = &device[..device.len().min(libc::IFNAMSIZ - 1)];
    String::from_utf8_lossy(cut).into_owned()
}

/// libnet's error buffer for a failed libnet_init, which send_arp prints.
pub fn libnet_errbuf(e: &Error, device: &str) -> String {
    let s = crate::strerror;
    match e {
        Error::Interface { source, .. } => format!("libnet_check_iface() ioctl: {}\n", s(source)),
        Error::InterfaceName(_) => "libnet_check_iface() ioctl: No such device\n".to_string(),
        Error::InterfaceDown(_) => format!("libnet_check_iface(): {device} is down\n"),
        Error::NotPermitted => {
            "libnet_open_link(): UID/EUID 0 or capability CAP_NET_RAW required".to_string()
        }
        Error::Socket(source) => format!("socket: {}", s(source)),
        Error::HwAddr { source, .. } => format!("SIOCGIFHWADDR: {}", s(source)),
        Error::LinkType { hwtype, .. } => format!("unknown physical layer type 0x{hwtype:x}\n"),
        other => other.to_string(),
    }
}

/// The message the original logs for a pid-file problem.
pub fn pidfile_message(e: &Error) -> String {
    let s = crate::strerror;
    match e {
        Error::PidfileRelative(p) => {
            format!("Invalid pid-file name, must begin with a '/' [{p}]\n")
        }
        Error::PidDirNotDir(d) => format!("Pid-File directory exists but is not a directory [{d}]"),
        Error::PidfileInvalid { path, content } => {
            // For an empty file the original prints the errno left by its
            // exclusive create; for the contents we refuse, EINVAL.
            let why = if content.is_empty() {
                "File exists"
            } else {
                "Invalid argument"
            };
            format!("Invalid pid in pid-file [{path}]: {why}")
        }
        Error::Pidfile { path, op, source } => match op {
            PidfileOp::StatDir => {
                format!("Could not stat pid-file directory [{path}]: {}", s(source))
            }
            PidfileOp::CreateDir => {
                format!(
                    "Could not create pid-file directory [{path}]: {}",
                    s(source)
                )
            }
            PidfileOp::Open => format!("Could not open pid-file [{path}]: {}", s(source)),
            PidfileOp::Read => format!("Could not read pid-file [{path}]: {}", s(source)),
            PidfileOp::Delete => format!("Could not delete pid-file [{path}]: {}", s(source)),
            PidfileOp::Kill(pid) => format!(
                "Error killing old process [{pid}] from pid-file [{path}]: {}",
                s(source)
            ),
            PidfileOp::Write => format!("Could not write pid-file [{path}]: {}", s(source)),
        },
        other => other.to_string(),
    }
}

/// The bytes that followed argv[index] in the original's memory: the later
/// arguments and then the environment, each NUL-terminated.
pub fn memory_after(argv: &[Vec<u8>], index: usize, environ: &[Vec<u8>]) -> Vec<u8> {
    let mut m = Vec::new();
    for w in argv.iter().skip(index + 1).chain(environ.iter()) {
        m.extend_from_slice(w);
        m.push(0);
    }
    m
}

/// SIGTERM ends send_arp quietly with status 0, leaving the pid file
/// behind, as heartbeat's does (IPaddr's stop removes it).
pub fn install_sigterm_exit() {
    extern "C" fn bye(_: libc::c_int) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(0) }
    }
    // SAFETY: sigaction with a valid handler; no SA_RESTART, so a pending
    // sleep is cut short.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = bye as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaction(libc::SIGTERM, &act, std::ptr::null_mut());
    }
}

fn to_bytes(v: &[OsString]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Run send_arp with `argv` and the process environment (`KEY=value`
/// entries in order); returns the exit status.
pub fn run(argv: &[OsString], environ: &[OsString]) -> i32 {
    let argv = to_bytes(argv);
    let environ = to_bytes(environ);
    let env = |key: &str| -> Option<String> {
        environ.iter().find_map(|kv| {
            let rest = kv.strip_prefix(key.as_bytes())?.strip_prefix(b"=")?;
            Some(String::from_utf8_lossy(rest).into_owned())
        })
    };
    let log = Logger::new(Config::from_env("send_arp", env));
    let mut stderr = std::io::stderr();

    let g = match getopt(&argv, env("POSIXLY_CORRECT").is_some()) {
        Ok(g) => g,
        Err(e) => {
            let argv0 = argv.first().cloned().unwrap_or_default();
            let _ = stderr.write_all(&e.message(&argv0));
            let _ = stderr.write_all(USAGE.as_bytes());
            return 1;
        }
    };
    if g.operands.len() != 5 {
        let _ = stderr.write_all(USAGE.as_bytes());
        return 1;
    }
    let mut interval_ms = DEFAULT_INTERVAL_MS;
    let mut repeat = DEFAULT_REPEAT;
    let mut pidfile_arg: Option<Vec<u8>> = None;
    for (c, v) in &g.options {
        match c {
            b'i' => interval_ms = atol(v),
            b'r' => repeat = atoi(v),
            _ => pidfile_arg = Some(v.clone()),
        }
    }
    let device = &g.operands[0].1;
    let ip_arg = &g.operands[1].1;
    let (mac_index, mac_arg) = (&g.operands[2].0, &g.operands[2].1);
    let device_text = String::from_utf8_lossy(device).into_owned();

    let pidfile_path = match pidfile_arg {
        Some(p) => PathBuf::from(OsStr::from_bytes(&p)),
        None => match pidfile::default_path(ip_arg) {
            Some(p) => p,
            None => {
                log.log(Priority::Info, "Pid file truncated");
                return 1;
            }
        },
    };
    let created = pidfile::create(&pidfile_path, &mut pidfile::SigKill, &mut |pid| {
        log.log(
            Priority::Info,
            &format!("Killed old send_arp process [{pid}]\n"),
        );
    });
    if let Err(e) = created {
        log.log(Priority::Info, &pidfile_message(&e));
        return 1;
    }
    let fail = |msg: &str| {
        log.log(Priority::Err, msg);
        pidfile::remove(&pidfile_path);
        1
    };

    let hw = parse_src_hw_addr(mac_arg, &memory_after(&argv, *mac_index, &environ));
    let link = match Link::open(&kernel_ifname(device)) {
        Ok(l) => l,
        Err(e) => {
            let errbuf = libnet_errbuf(&e, &device_text);
            return if hw == HwAddrArg::Auto {
                let _ = writeln!(stderr, "libnet_open_link_interface: {errbuf}");
                fail(&format!("Cannot find mac address for {device_text}"))
            } else {
                fail(&format!("libnet_init failure on {device_text}: {errbuf}"))
            };
        }
    };
    let Some(ip) = resolve(ip_arg) else {
        return fail(&format!(
            "Cannot resolve IP address [{}]",
            String::from_utf8_lossy(ip_arg)
        ));
    };
    let mac = match hw {
        HwAddrArg::Auto => link.interface.mac,
        HwAddrArg::Given(m) => m,
    };
    if repeat <= 0 {
        // The original's send loop never runs and its status stays "failed".
        pidfile::remove(&pidfile_path);
        return 1;
    }
    let mut prepared = Prepared::from_link(
        link,
        ip,
        mac,
        repeat as u32,
        effective_interval(interval_ms),
    );
    if prepared.run(&mut ThreadSleeper).is_err() {
        return fail("libnet_write failed");
    }
    pidfile::remove(&pidfile_path);
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn operands(g: &Getopt) -> Vec<&[u8]> {
        g.operands.iter().map(|(_, w)| w.as_slice()).collect()
    }

    #[test]
    fn ipaddr_call() {
        let a = argv(&[
            "send_arp",
            "-i",
            "500",
            "-r",
            "10",
            "-p",
            "/run/resource-agents/send_arp-10.0.0.5",
            "eth0",
            "10.0.0.5",
            "auto",
            "10.0.0.5",
            "ffffffffffff",
        ]);
        let g = getopt(&a, false).unwrap();
        assert_eq!(
            g.options,
            vec![
                (b'i', b"500".to_vec()),
                (b'r', b"10".to_vec()),
                (b'p', b"/run/resource-agents/send_arp-10.0.0.5".to_vec())
            ]
        );
        assert_eq!(
            operands(&g),
            vec![
                &b"eth0"[..],
                b"10.0.0.5",
                b"auto",
                b"10.0.0.5",
                b"ffffffffffff"
            ]
        );
        assert_eq!(g.operands[2].0, 9);
    }

    #[test]
    fn legacy_five_words() {
        let a = argv(&[
            "send_arp",
            "eth0",
            "192.168.1.110",
            "00a0cc34a878",
            "192.168.1.110",
            "ffffffffffff",
        ]);
        let g = getopt(&a, false).unwrap();
        assert!(g.options.is_empty());
        assert_eq!(g.operands.len(), 5);
    }

    #[test]
    fn attached_values_and_permutation() {
        let a = argv(&[
            "x", "eth0", "-i200", "ip", "-r", "-5", "mac", "b", "n", "-p/x",
        ]);
        let g = getopt(&a, false).unwrap();
        assert_eq!(
            g.options,
            vec![
                (b'i', b"200".to_vec()),
                (b'r', b"-5".to_vec()),
                (b'p', b"/x".to_vec())
            ]
        );
        assert_eq!(operands(&g), vec![&b"eth0"[..], b"ip", b"mac", b"b", b"n"]);
        assert_eq!(
            g.operands.iter().map(|o| o.0).collect::<Vec<_>>(),
            vec![1, 3, 6, 7, 8]
        );
    }

    #[test]
    fn double_dash_and_lone_dash() {
        let g = getopt(&argv(&["x", "-", "--", "-i", "b"]), false).unwrap();
        assert!(g.options.is_empty());
        assert_eq!(operands(&g), vec![&b"-"[..], b"-i", b"b"]);
    }

    #[test]
    fn posixly_correct_stops_at_first_operand() {
        let g = getopt(&argv(&["x", "eth0", "-i", "5"]), true).unwrap();
        assert!(g.options.is_empty());
        assert_eq!(operands(&g), vec![&b"eth0"[..], b"-i", b"5"]);
    }

    #[test]
    fn getopt_errors_and_messages() {
        assert_eq!(
            getopt(&argv(&["x", "-h"]), false),
            Err(GetoptError::Invalid(b'h'))
        );
        assert_eq!(
            getopt(&argv(&["x", "--foo"]), false),
            Err(GetoptError::Invalid(b'-'))
        );
        assert_eq!(
            getopt(&argv(&["x", "a", "-i"]), false),
            Err(GetoptError::MissingArgument(b'i'))
        );
        assert_eq!(
            GetoptError::Invalid(b'h').message(b"/usr/libexec/heartbeat/send_arp"),
            b"/usr/libexec/heartbeat/send_arp: invalid option -- 'h'\n".to_vec()
        );
        assert_eq!(
            GetoptError::MissingArgument(b'i').message(b"send_arp"),
            b"send_arp: option requires an argument -- 'i'\n".to_vec()
        );
    }

    #[test]
    fn numbers_like_atol() {
        assert_eq!(atol(b"500"), 500);
        assert_eq!(atol(b" 500ms"), 500);
        assert_eq!(atol(b"-3"), -3);
        assert_eq!(atol(b"+7"), 7);
        assert_eq!(atol(b"abc"), 0);
        assert_eq!(atol(b""), 0);
        assert_eq!(atol(b"99999999999999999999999"), i64::MAX);
        assert_eq!(atol(b"-99999999999999999999999"), i64::MIN);
        assert_eq!(atoi(b"4294967297"), 1);
    }

    #[test]
    fn interval_as_slept() {
        assert_eq!(effective_interval(1000), Duration::from_millis(1000));
        assert_eq!(effective_interval(201), Duration::from_millis(200));
        assert_eq!(effective_interval(1), Duration::ZERO);
        assert_eq!(effective_interval(0), Duration::ZERO);
        assert_eq!(effective_interval(-500), Duration::ZERO);
    }

    #[test]
    fn inet_aton_forms() {
        let ip = |s: &str| inet_aton(s.as_bytes()).map(Ipv4Addr::from);
        assert_eq!(ip("10.0.0.5"), Some(Ipv4Addr::new(10, 0, 0, 5)));
        assert_eq!(ip("10.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(ip("10.1.2"), Some(Ipv4Addr::new(10, 1, 0, 2)));
        assert_eq!(ip("0x0a.010.0.1"), Some(Ipv4Addr::new(10, 8, 0, 1)));
        assert_eq!(ip("167772161"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(ip("10.0.0.1 junk"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(ip("10.0.0.256"), None);
        assert_eq!(ip("1.2.3.4.5"), None);
        assert_eq!(ip("1."), None);
        assert_eq!(ip("08.1.1.1"), None);
        assert_eq!(ip("abc"), None);
        assert_eq!(ip(""), None);
        assert_eq!(ip("4294967296"), None);
    }

    #[test]
    fn resolution() {
        assert_eq!(resolve(b"10.0.0.5"), Some("10.0.0.5".parse().unwrap()));
        assert_eq!(resolve(b"255.255.255.255"), None);
        assert_eq!(resolve(b"0xffffffff"), None);
        assert_eq!(resolve(b"1.2.3.4.5"), None);
        assert_eq!(
            resolve(b"2001:db8::1"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(resolve(b"localhost"), Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn long_interface_names_are_cut_like_libnet() {
        assert_eq!(kernel_ifname(b"eth0"), "eth0");
        assert_eq!(kernel_ifname(b"abcdefghijklmnopq"), "abcdefghijklmno");
    }

    #[test]
    fn libnet_error_texts() {
        let enodev = Error::Interface {
            ifname: "nosuch".into(),
            source: std::io::Error::from_raw_os_error(libc::ENODEV),
        };
        assert_eq!(
            libnet_errbuf(&enodev, "nosuch"),
            "libnet_check_iface() ioctl: No such device\n"
        );
        assert_eq!(
            libnet_errbuf(&Error::InterfaceDown("sa0".into()), "sa0"),
            "libnet_check_iface(): sa0 is down\n"
        );
        assert_eq!(
            libnet_errbuf(&Error::NotPermitted, "sa0"),
            "libnet_open_link(): UID/EUID 0 or capability CAP_NET_RAW required"
        );
        assert_eq!(
            libnet_errbuf(
                &Error::LinkType {
                    ifname: "tun0".into(),
                    hwtype: 0xfffe
                },
                "tun0"
            ),
            "unknown physical layer type 0xfffe\n"
        );
    }

    #[test]
    fn pidfile_texts() {
        assert_eq!(
            pidfile_message(&Error::PidfileRelative("rel".into())),
            "Invalid pid-file name, must begin with a '/' [rel]\n"
        );
        assert_eq!(
            pidfile_message(&Error::PidfileInvalid {
                path: "/x".into(),
                content: String::new()
            }),
            "Invalid pid in pid-file [/x]: File exists"
        );
        assert_eq!(
            pidfile_message(&Error::Pidfile {
                path: "/nonexist/dir".into(),
                op: PidfileOp::CreateDir,
                source: std::io::Error::from_raw_os_error(libc::ENOENT)
            }),
            "Could not create pid-file directory [/nonexist/dir]: No such file or directory"
        );
    }

    #[test]
    fn memory_layout_after_an_argument() {
        let a = argv(&["send_arp", "eth0", "ip", "0201", "10.0.0.9", "y"]);
        let env = argv(&["A=1"]);
        assert_eq!(memory_after(&a, 3, &env), b"10.0.0.9\0y\0A=1\0".to_vec());
    }

    #[test]
    fn usage_ends_like_the_original() {
        assert!(USAGE.starts_with("send_arp: sends out custom ARP packet.\n"));
        assert!(USAGE.ends_with("    netmask: ignored\n\n\n"));
    }
}
