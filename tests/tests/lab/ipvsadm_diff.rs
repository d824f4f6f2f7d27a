//! Differential test of our `ipvsadm`, `ipvsadm-save` and `ipvsadm-restore`
//! against Debian's ipvsadm 1.31, on the real IPVS of the lab kernel.
//!
//! Every case in `tests/ipvsadm/cases/*.txt` (format: `tests/ipvsadm/README.md`)
//! runs twice from an empty table, each run in its own fresh network namespace
//! set up identically: once with Debian's tools, once with ours, in lockstep,
//! line by line. Each line's stdout, stderr and exit status must be identical,
//! and so must the final table (`ipvsadm -Sn`).
//!
//! The kernel's service hash includes the namespace, so the dump order (what
//! `--nosort` shows, and what the original's non-transitive sort starts from)
//! differs between two namespaces. Lines marked `%` therefore compare the two
//! runs as the original compares against itself (as a multiset of service
//! blocks) and, in addition, run our tool once more in the original's
//! namespace, where the dump order is the same, and compare byte for byte.
//!
//! All mismatches are collected and reported together (printed between
//! markers, and written to `$IPVS_DIFF_REPORT` when set) so the whole list is
//! visible from one run.
//!
//! Environment: `IPVS_DIFF_OURS` (directory holding our three binaries;
//! default: the cargo target directory of this test binary), `IPVS_DIFF_FILTER`
//! (only cases whose name contains one of these comma-separated strings), `IPVS_DIFF_JOBS` (parallel
//! workers, default 4), `IPVS_DIFF_REPORT` (report path).

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CASES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ipvsadm/cases");
const DEBIAN_DIR: &str = "/sbin";
/// Generous: the lab shares a loaded host, and a listing with names does a
/// reverse lookup per address.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(120);
/// The counters ipvsadm shows are copied from per-CPU counters by the
/// kernel's estimator, every 2 s: after traffic, wait for the next round.
const STATS_SETTLE: Duration = Duration::from_secs(3);
/// At most this many failing cases get a serial rerun (see the test).
const RERUN_LIMIT: usize = 40;
const REPORT_BEGIN: &str = "===== ipvsadm-diff report begin =====";
const REPORT_END: &str = "===== ipvsadm-diff report end =====";

/// Names the cases use; appended to the VM's (tmpfs-backed) /etc/hosts.
const HOSTS: &str = "\
# ipvsadm differential test (tests/tests/lab/ipvsadm_diff.rs)
10.20.0.1 vip.diff.test vip
10.20.0.2 a-very-long-virtual-service-hostname.diff.test
10.20.0.3 vip3.diff.test
192.168.10.1 web1.diff.test web1
192.168.10.2 web2.diff.test web2
192.168.10.3 a-very-long-real-server-hostname.diff.test
2001:db8:20::1 vip6.diff.test
2001:db8:10::1 web6.diff.test
2001:db8:10::2 a-very-long-ipv6-real-server-hostname.diff.test
10.20.0.4 this-host-name-is-longer-than-the-sixty-bytes-ipvsadm-formats-names-into.diff.test
192.168.10.4 this-real-server-name-is-longer-than-the-sixty-bytes-ipvsadm-uses.diff.test
";

// ---------------------------------------------------------------------------
// Case model and parser

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prog {
    Ipvsadm,
    Save,
    Restore,
}

impl Prog {
    fn name(self) -> &'static str {
        match self {
            Prog::Ipvsadm => "ipvsadm",
            Prog::Save => "ipvsadm-save",
            Prog::Restore => "ipvsadm-restore",
        }
    }
}

#[derive(Clone, Debug)]
enum Input {
    Null,
    Text(Vec<u8>),
    /// The stdout of the previous command line of the same run.
    Previous,
}

#[derive(Clone, Debug)]
struct Cmd {
    prog: Prog,
    argv0: String,
    args: Vec<String>,
    input: Input,
    /// `%`: output depends on the kernel's hash order.
    hash_order: bool,
    /// `~`: connection expiry timers (`-c`) are masked.
    mask_expiry: bool,
    /// `^`: run as user and group nobody (65534), without privileges.
    unprivileged: bool,
}

#[derive(Clone, Debug)]
enum Step {
    Run(Cmd),
    /// `@udp FROM TO COUNT [PAYLOAD]`: datagrams sent from inside the namespace.
    Udp {
        from: SocketAddr,
        to: SocketAddr,
        count: u32,
        payload: Vec<u8>,
    },
    /// `@tcp FROM TO`: one connection attempt (a SYN), not waited for.
    Tcp {
        from: SocketAddr,
        to: SocketAddr,
    },
    /// `@ip ARGS`: an `ip` command that must succeed in both namespaces.
    Ip(Vec<String>),
}

#[derive(Clone, Debug)]
struct Line {
    no: usize,
    text: String,
    step: Step,
}

#[derive(Clone, Debug)]
struct Case {
    name: String,
    file: String,
    line: usize,
    lines: Vec<Line>,
}

impl Case {
    fn hash_order(&self) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(&l.step, Step::Run(c) if c.hash_order))
    }
}

/// Shell-like word splitting: whitespace separates, `'...'` is literal,
/// `"..."` and bare words take `\` escapes.
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated '".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => cur.push(unescape_char(chars.next())?),
                        Some(c) => cur.push(c),
                        None => return Err("unterminated \"".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(unescape_char(chars.next())?);
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn unescape_char(c: Option<char>) -> Result<char, String> {
    Ok(match c {
        Some('t') => '\t',
        Some('r') => '\r',
        Some('n') => '\n',
        Some(c) => c,
        None => return Err("trailing \\".into()),
    })
}

/// Body of a `> ` stdin line: `\t`, `\r`, `\n`, `\\` escapes; a final `\c`
/// suppresses the newline that otherwise ends the line.
fn stdin_line(s: &str) -> Result<Vec<u8>, String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    let mut newline = true;
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('c') if chars.peek().is_none() => newline = false,
                Some('c') => return Err("\\c must end the line".into()),
                other => out.push(unescape_char(other)?),
            }
        } else {
            out.push(c);
        }
    }
    if newline {
        out.push('\n');
    }
    Ok(out.into_bytes())
}

fn parse_sockaddr(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|_| format!("bad socket address {s:?}"))
}

fn parse_file(file: &str, text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let err = |m: String| format!("{file}:{no}: {m}");
        let trimmed = raw.trim_start();
        if let Some(name) = raw.strip_prefix("== ") {
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(err(format!("bad case name {name:?}")));
            }
            cases.push(Case {
                name: name.to_string(),
                file: file.to_string(),
                line: no,
                lines: Vec::new(),
            });
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let case = cases
            .last_mut()
            .ok_or_else(|| err("line before the first `== name`".into()))?;
        if let Some(rest) = raw.strip_prefix('>') {
            let body = rest.strip_prefix(' ').unwrap_or(rest);
            let bytes = match body.strip_prefix('[') {
                // `>[A..B] text`: the text once per i in A..=B, `{}` = i.
                Some(range) => {
                    let (range, text) = range
                        .split_once("] ")
                        .ok_or_else(|| err("`>[A..B] text` expected".into()))?;
                    let (a, b) = range
                        .split_once("..")
                        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
                        .ok_or_else(|| err(format!("bad range {range:?}")))?;
                    let mut v = Vec::new();
                    for i in a..=b {
                        v.extend(stdin_line(&text.replace("{}", &i.to_string())).map_err(err)?);
                    }
                    v
                }
                None => stdin_line(body).map_err(err)?,
            };
            match case.lines.last_mut().map(|l| &mut l.step) {
                Some(Step::Run(Cmd { input, .. })) => match input {
                    Input::Null => *input = Input::Text(bytes),
                    Input::Text(t) => t.extend(bytes),
                    Input::Previous => return Err(err("stdin given twice".into())),
                },
                _ => return Err(err("`>` must follow a command line".into())),
            }
            continue;
        }
        if trimmed == "<prev" {
            match case.lines.last_mut().map(|l| &mut l.step) {
                Some(Step::Run(Cmd { input, .. })) if matches!(input, Input::Null) => {
                    *input = Input::Previous
                }
                _ => {
                    return Err(err(
                        "`<prev` must follow a command line without stdin".into()
                    ))
                }
            }
            continue;
        }
        let step = if let Some(d) = trimmed.strip_prefix('@') {
            let w = split_words(d).map_err(err)?;
            match w.first().map(String::as_str) {
                Some("udp") if w.len() == 4 || w.len() == 5 => Step::Udp {
                    from: parse_sockaddr(&w[1]).map_err(err)?,
                    to: parse_sockaddr(&w[2]).map_err(err)?,
                    count: w[3].parse().map_err(|_| err("bad count".into()))?,
                    payload: match w.get(4) {
                        None => b"x".to_vec(),
                        Some(p) => match p.strip_prefix("size:") {
                            Some(n) => vec![b'x'; n.parse().map_err(|_| err("bad size".into()))?],
                            None => p.as_bytes().to_vec(),
                        },
                    },
                },
                Some("tcp") if w.len() == 3 => Step::Tcp {
                    from: parse_sockaddr(&w[1]).map_err(err)?,
                    to: parse_sockaddr(&w[2]).map_err(err)?,
                },
                Some("ip") if w.len() > 1 => Step::Ip(w[1..].to_vec()),
                _ => return Err(err(format!("unknown directive {raw:?}"))),
            }
        } else {
            let mut rest = trimmed;
            let mut hash_order = false;
            let mut mask_expiry = false;
            let mut unprivileged = false;
            loop {
                if let Some(r) = rest.strip_prefix('%') {
                    hash_order = true;
                    rest = r.trim_start();
                } else if let Some(r) = rest.strip_prefix('~') {
                    mask_expiry = true;
                    rest = r.trim_start();
                } else if let Some(r) = rest.strip_prefix('^') {
                    unprivileged = true;
                    rest = r.trim_start();
                } else {
                    break;
                }
            }
            let mut words = split_words(rest).map_err(err)?;
            // The first word is argv[0] as given (a path is kept: the help
            // text and some messages print it); its base name picks the tool.
            let argv0 = words.first().cloned().unwrap_or_default();
            let prog = match argv0.rsplit('/').next() {
                Some("ipvsadm") => Prog::Ipvsadm,
                Some("ipvsadm-save") => Prog::Save,
                Some("ipvsadm-restore") => Prog::Restore,
                _ => {
                    return Err(err(
                        "a command line starts with ipvsadm, ipvsadm-save or ipvsadm-restore"
                            .into(),
                    ))
                }
            };
            words.remove(0);
            if hash_order && prog == Prog::Restore {
                return Err(err("`%` is for read-only commands".into()));
            }
            Step::Run(Cmd {
                prog,
                argv0,
                args: words,
                input: Input::Null,
                hash_order,
                mask_expiry,
                unprivileged,
            })
        };
        case.lines.push(Line {
            no,
            text: raw.to_string(),
            step,
        });
    }
    for c in &cases {
        if !c.lines.iter().any(|l| matches!(l.step, Step::Run(_))) {
            return Err(format!("{file}:{}: case {} runs nothing", c.line, c.name));
        }
    }
    Ok(cases)
}

fn load_cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = fs::read_dir(CASES_DIR)
        .unwrap_or_else(|e| panic!("cannot read {CASES_DIR}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    let mut seen = BTreeMap::new();
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for c in parse_file(&name, &text).unwrap_or_else(|e| panic!("{e}")) {
            if let Some(prev) = seen.insert(c.name.clone(), format!("{}:{}", c.file, c.line)) {
                panic!(
                    "case {} defined twice ({prev} and {}:{})",
                    c.name, c.file, c.line
                );
            }
            all.push(c);
        }
    }
    all
}

// ---------------------------------------------------------------------------
// Namespaces and processes

struct Netns(OwnedFd);

impl Netns {
    /// A new network namespace for the calling thread (only this thread
    /// moves; children it spawns inherit it).
    fn new() -> Netns {
        // SAFETY: plain syscalls; the fd returned by open is owned below.
        unsafe {
            assert_eq!(
                libc::unshare(libc::CLONE_NEWNET),
                0,
                "unshare(CLONE_NEWNET): {}",
                std::io::Error::last_os_error()
            );
            let path = CString::new("/proc/thread-self/ns/net").unwrap();
            let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            assert!(fd >= 0, "open netns: {}", std::io::Error::last_os_error());
            Netns(OwnedFd::from_raw_fd(fd))
        }
    }

    fn enter(&self) {
        // SAFETY: setns on a namespace fd we own.
        let r = unsafe { libc::setns(self.0.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    status: String,
}

fn memfd() -> File {
    let name = CString::new("ipvsadm-diff").unwrap();
    // SAFETY: memfd_create returns a new fd that File takes over.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
    unsafe { File::from_raw_fd(fd) }
}

fn read_back(mut f: File) -> Vec<u8> {
    let mut v = Vec::new();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut v).unwrap();
    v
}

/// Runs `path` with `argv0`, a fixed environment and the given stdin;
/// stdout/stderr go to memory files (no pipes to drain, no deadlock).
fn run_process(
    path: &Path,
    argv0: &str,
    args: &[String],
    path_env: &str,
    input: Option<&[u8]>,
    unprivileged: bool,
) -> Outcome {
    let out = memfd();
    let err = memfd();
    let mut cmd = Command::new(path);
    cmd.arg0(argv0)
        .args(args)
        .env_clear()
        .env("PATH", path_env)
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(err.try_clone().unwrap()));
    if unprivileged {
        // std drops the supplementary groups too (setgroups(0) when root).
        cmd.uid(65534).gid(65534);
    }
    let stdin_file = input.map(|bytes| {
        let mut f = memfd();
        f.write_all(bytes).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        f
    });
    match stdin_file {
        Some(f) => cmd.stdin(Stdio::from(f)),
        None => cmd.stdin(Stdio::null()),
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                stdout: Vec::new(),
                stderr: format!("cannot execute {}: {e}", path.display()).into_bytes(),
                status: "not run".into(),
            }
        }
    };
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break match (st.code(), st.signal()) {
                (Some(c), _) => format!("exit {c}"),
                (None, Some(s)) => format!("signal {s}"),
                _ => "unknown".into(),
            };
        }
        if start.elapsed() > PROCESS_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break format!("timed out after {}s", PROCESS_TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(3));
    };
    Outcome {
        stdout: read_back(out),
        stderr: read_back(err),
        status,
    }
}

/// One implementation of the three tools.
struct Tools {
    label: &'static str,
    dir: PathBuf,
    path_env: String,
}

impl Tools {
    fn run(
        &self,
        prog: Prog,
        argv0: &str,
        args: &[String],
        input: Option<&[u8]>,
        unprivileged: bool,
    ) -> Outcome {
        run_process(
            &self.dir.join(prog.name()),
            argv0,
            args,
            &self.path_env,
            input,
            unprivileged,
        )
    }
}

fn ours_dir() -> PathBuf {
    if let Ok(d) = std::env::var("IPVS_DIFF_OURS") {
        return PathBuf::from(d);
    }
    // target/<profile>/deps/lab-HASH -> target/<profile>/
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The identical setup of every namespace: loopback up, a dummy `eth0`
/// (the sync daemon's default interface) carrying the subnets the cases use,
/// and unreachable routes to the resolver's name servers so that reverse
/// lookups of unknown addresses fail at once instead of timing out. Done over
/// rtnetlink from the worker thread (already in the namespace): a process
/// start costs ~0.1 s in the lab.
fn setup_netns(nameservers: &[IpAddr]) -> Result<(), String> {
    let nl = rtnl::Socket::open()?;
    nl.set_up(1, None)?; // lo is always ifindex 1 in a new namespace
    nl.set_up(0, Some("eth0"))?;
    let eth0 = rtnl::ifindex("eth0")?;
    for (addr, prefix) in [
        ("10.0.0.254", 8),
        ("192.168.255.254", 16),
        ("172.16.255.254", 12),
        ("2001:db8:ffff::fe", 32),
        ("fd00::fe", 16),
    ] {
        nl.add_address(eth0, addr.parse().unwrap(), prefix)?;
    }
    for ns in nameservers {
        nl.add_unreachable(*ns)?;
    }
    Ok(())
}

/// Just enough rtnetlink for `setup_netns`.
mod rtnl {
    use std::net::IpAddr;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const RTM_NEWLINK: u16 = 16;
    const RTM_NEWADDR: u16 = 20;
    const RTM_NEWROUTE: u16 = 24;
    const IFLA_IFNAME: u16 = 3;
    const IFLA_LINKINFO: u16 = 18;
    const IFLA_INFO_KIND: u16 = 1;
    const IFA_ADDRESS: u16 = 1;
    const IFA_LOCAL: u16 = 2;
    const IFA_FLAGS: u16 = 8;
    const IFA_F_NODAD: u32 = 0x02;
    const RTA_DST: u16 = 1;
    const RTN_UNREACHABLE: u8 = 7;
    const RT_TABLE_MAIN: u8 = 254;
    const RTPROT_BOOT: u8 = 3;
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_ACK: u16 = 4;
    const NLM_F_EXCL: u16 = 0x200;
    const NLM_F_CREATE: u16 = 0x400;
    const NLMSG_ERROR: u16 = 2;

    pub struct Socket(OwnedFd);

    fn attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
        let len = 4 + data.len();
        buf.extend_from_slice(&(len as u16).to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(data);
        while buf.len() & 3 != 0 {
            buf.push(0);
        }
    }

    fn family(a: &IpAddr) -> u8 {
        if a.is_ipv4() {
            libc::AF_INET as u8
        } else {
            libc::AF_INET6 as u8
        }
    }

    fn octets(a: &IpAddr) -> Vec<u8> {
        match a {
            IpAddr::V4(v) => v.octets().to_vec(),
            IpAddr::V6(v) => v.octets().to_vec(),
        }
    }

    pub fn ifindex(name: &str) -> Result<u32, String> {
        let c = std::ffi::CString::new(name).unwrap();
        // SAFETY: if_nametoindex reads a NUL-terminated string.
        match unsafe { libc::if_nametoindex(c.as_ptr()) } {
            0 => Err(format!("no interface {name}")),
            i => Ok(i),
        }
    }

    impl Socket {
        pub fn open() -> Result<Socket, String> {
            // SAFETY: socket(2); the fd is owned right away.
            let fd = unsafe {
                libc::socket(
                    libc::AF_NETLINK,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    libc::NETLINK_ROUTE,
                )
            };
            if fd < 0 {
                return Err(format!(
                    "rtnetlink socket: {}",
                    std::io::Error::last_os_error()
                ));
            }
            Ok(Socket(unsafe { OwnedFd::from_raw_fd(fd) }))
        }

        fn request(&self, kind: u16, flags: u16, body: &[u8], what: &str) -> Result<(), String> {
            let mut msg = Vec::with_capacity(16 + body.len());
            msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
            msg.extend_from_slice(&kind.to_ne_bytes());
            msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | flags).to_ne_bytes());
            msg.extend_from_slice(&1u32.to_ne_bytes());
            msg.extend_from_slice(&0u32.to_ne_bytes());
            msg.extend_from_slice(body);
            let fd = self.0.as_raw_fd();
            // SAFETY: send/recv on our socket with buffers of the given sizes.
            let n = unsafe { libc::send(fd, msg.as_ptr().cast(), msg.len(), 0) };
            if n != msg.len() as isize {
                return Err(format!("{what}: send: {}", std::io::Error::last_os_error()));
            }
            let mut buf = [0u8; 8192];
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 20 {
                return Err(format!("{what}: recv: {}", std::io::Error::last_os_error()));
            }
            let t = u16::from_ne_bytes([buf[4], buf[5]]);
            let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
            if t != NLMSG_ERROR {
                return Err(format!("{what}: unexpected reply type {t}"));
            }
            if err != 0 {
                return Err(format!(
                    "{what}: {}",
                    std::io::Error::from_raw_os_error(-err)
                ));
            }
            Ok(())
        }

        /// Sets an interface up; with `create`, first creates it as a dummy.
        pub fn set_up(&self, index: i32, create: Option<&str>) -> Result<(), String> {
            let mut body = Vec::new();
            body.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
            body.extend_from_slice(&index.to_ne_bytes());
            body.extend_from_slice(&(libc::IFF_UP as u32).to_ne_bytes());
            body.extend_from_slice(&(libc::IFF_UP as u32).to_ne_bytes());
            let mut flags = 0;
            if let Some(name) = create {
                let mut n = name.as_bytes().to_vec();
                n.push(0);
                attr(&mut body, IFLA_IFNAME, &n);
                let mut info = Vec::new();
                attr(&mut info, IFLA_INFO_KIND, b"dummy");
                attr(&mut body, IFLA_LINKINFO, &info);
                flags = NLM_F_CREATE | NLM_F_EXCL;
            }
            self.request(RTM_NEWLINK, flags, &body, create.unwrap_or("link up"))
        }

        pub fn add_address(&self, index: u32, addr: IpAddr, prefix: u8) -> Result<(), String> {
            let mut body = vec![family(&addr), prefix, 0, 0];
            body.extend_from_slice(&index.to_ne_bytes());
            let o = octets(&addr);
            if addr.is_ipv4() {
                attr(&mut body, IFA_LOCAL, &o);
            } else {
                attr(&mut body, IFA_FLAGS, &IFA_F_NODAD.to_ne_bytes());
            }
            attr(&mut body, IFA_ADDRESS, &o);
            self.request(
                RTM_NEWADDR,
                NLM_F_CREATE | NLM_F_EXCL,
                &body,
                &format!("address {addr}/{prefix}"),
            )
        }

        pub fn add_unreachable(&self, dst: IpAddr) -> Result<(), String> {
            let len = if dst.is_ipv4() { 32 } else { 128 };
            let mut body = vec![
                family(&dst),
                len,
                0,
                0,
                RT_TABLE_MAIN,
                RTPROT_BOOT,
                0,
                RTN_UNREACHABLE,
            ];
            body.extend_from_slice(&0u32.to_ne_bytes());
            attr(&mut body, RTA_DST, &octets(&dst));
            self.request(
                RTM_NEWROUTE,
                NLM_F_CREATE | NLM_F_EXCL,
                &body,
                &format!("unreachable route {dst}"),
            )
        }
    }
}

fn udp_send(from: SocketAddr, to: SocketAddr, count: u32, payload: &[u8]) -> Result<(), String> {
    let s = UdpSocket::bind(from).map_err(|e| format!("bind {from}: {e}"))?;
    for _ in 0..count {
        s.send_to(payload, to)
            .map_err(|e| format!("send to {to}: {e}"))?;
    }
    Ok(())
}

fn tcp_syn(from: SocketAddr, to: SocketAddr) -> Result<(), String> {
    // A non-blocking connect from a fixed source: the SYN goes out (and
    // through IPVS) without waiting for an answer that never comes.
    let domain = if from.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: socket/bind/connect on a fresh fd with properly sized sockaddrs.
    unsafe {
        let fd = libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(format!("socket: {}", std::io::Error::last_os_error()));
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let (sa_from, len) = sockaddr(from);
        if libc::bind(
            fd.as_raw_fd(),
            &sa_from as *const _ as *const libc::sockaddr,
            len,
        ) != 0
        {
            return Err(format!("bind {from}: {}", std::io::Error::last_os_error()));
        }
        let (sa_to, len) = sockaddr(to);
        libc::connect(
            fd.as_raw_fd(),
            &sa_to as *const _ as *const libc::sockaddr,
            len,
        );
        // Keep the socket until the SYN has certainly left; closing an
        // unestablished connection sends nothing more.
        std::thread::sleep(Duration::from_millis(50));
        drop(fd);
    }
    Ok(())
}

fn sockaddr(a: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: zeroed sockaddr_storage is a valid value; we fill a prefix.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match a {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            (
                ss,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            (
                ss,
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        }
    }
}

// ---------------------------------------------------------------------------
// Comparison

/// Output split into blocks (a line not starting with "  ->" opens a block),
/// sorted: equal for two listings of the same table in any dump order.
fn blocks(out: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Vec::new();
    for line in out.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"  ->") && !v.is_empty() {
            v.last_mut().unwrap().extend_from_slice(line);
        } else {
            v.push(line.to_vec());
        }
    }
    v.sort();
    v
}

/// Masks the expiry column (`MM:SS`) of connection listings.
fn mask_expiry(out: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(out);
    let mut res = String::new();
    for line in text.split_inclusive('\n') {
        let mut parts = line.splitn(3, ' ');
        let (a, b, c) = (parts.next(), parts.next(), parts.next());
        match (a, b, c) {
            (Some(a), Some(b), Some(c))
                if b.len() >= 5
                    && b.contains(':')
                    && b.chars().all(|ch| ch.is_ascii_digit() || ch == ':') =>
            {
                let _ = write!(res, "{a} {} {c}", "X".repeat(b.len()));
            }
            _ => res.push_str(line),
        }
    }
    res.into_bytes()
}

#[derive(Debug)]
struct Mismatch {
    /// Where: "line 12 `ipvsadm -Ln`" or "final state".
    what: String,
    /// How the two sides were obtained.
    how: String,
    expected_label: String,
    actual_label: String,
    expected: Outcome,
    actual: Outcome,
    unordered: bool,
}

fn compare(expected: &Outcome, actual: &Outcome, unordered: bool) -> bool {
    if expected.status != actual.status || expected.stderr != actual.stderr {
        return false;
    }
    if unordered {
        blocks(&expected.stdout) == blocks(&actual.stdout)
    } else {
        expected.stdout == actual.stdout
    }
}

fn show_lines(s: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(s);
    let mut v: Vec<String> = text
        .split_inclusive('\n')
        .map(|l| {
            let body = l.strip_suffix('\n').unwrap_or(l);
            let mut shown = String::new();
            for ch in body.chars() {
                match ch {
                    '\t' => shown.push_str("\\t"),
                    '\r' => shown.push_str("\\r"),
                    c if c.is_control() => {
                        let _ = write!(shown, "\\x{:02x}", c as u32);
                    }
                    c => shown.push(c),
                }
            }
            if l.ends_with('\n') {
                shown.push('|');
            } else {
                shown.push_str("  (no newline at end)");
            }
            shown
        })
        .collect();
    if v.is_empty() {
        v.push("(empty)".into());
    }
    v
}

/// Line diff (longest common subsequence): `-` the original, `+` ours.
fn line_diff(a: &[String], b: &[String]) -> String {
    let (n, m) = (a.len(), b.len());
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if a[i] == b[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops: Vec<(char, &str)> = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', &a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[i + 1][j] >= t[i][j + 1]) {
            ops.push(('-', &a[i]));
            i += 1;
        } else {
            ops.push(('+', &b[j]));
            j += 1;
        }
    }
    // Unified-diff style: equal lines more than CONTEXT away from a change
    // are summarised (big-table listings would drown the report).
    const CONTEXT: usize = 3;
    const MAX_DIFF_LINES: usize = 80;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut out = String::new();
    let mut skipped = 0;
    let mut shown = 0;
    for (k, (tag, line)) in ops.iter().enumerate() {
        if *tag == ' ' && !near(k) {
            skipped += 1;
            continue;
        }
        if shown == MAX_DIFF_LINES {
            let _ = writeln!(out, "  ... ({} more diff lines)", ops.len() - k);
            return out;
        }
        shown += 1;
        if skipped > 0 {
            let _ = writeln!(out, "  ... ({skipped} equal lines)");
            skipped = 0;
        }
        let _ = writeln!(out, "{tag} {line}");
    }
    if skipped > 0 {
        let _ = writeln!(out, "  ... ({skipped} equal lines)");
    }
    out
}

fn render_mismatch(m: &Mismatch) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "- {} ({})", m.what, m.how);
    let e = &m.expected;
    let a = &m.actual;
    if e.status != a.status {
        let _ = writeln!(
            s,
            "  - status: {} `{}`, {} `{}`",
            m.expected_label, e.status, m.actual_label, a.status
        );
    }
    for (stream, x, y) in [
        ("stdout", &e.stdout, &a.stdout),
        ("stderr", &e.stderr, &a.stderr),
    ] {
        let differs = if stream == "stdout" && m.unordered {
            blocks(x) != blocks(y)
        } else {
            x != y
        };
        if differs {
            let _ =
                writeln!(
                s,
                "  - {stream}{} (`-` {}, `+` {}; `|` marks the end of a line):\n\n```diff\n{}```\n",
                if m.unordered { " (as sorted service blocks)" } else { "" },
                m.expected_label,
                m.actual_label,
                if m.unordered {
                    line_diff(&show_lines(&blocks(x).concat()), &show_lines(&blocks(y).concat()))
                } else {
                    line_diff(&show_lines(x), &show_lines(y))
                }
            );
        }
    }
    s
}

// ---------------------------------------------------------------------------
// Running a case

struct Env {
    debian: Tools,
    ours: Tools,
    nameservers: Vec<IpAddr>,
}

struct CaseResult {
    mismatches: Vec<Mismatch>,
    /// A failure of the harness itself (setup, traffic), not a difference.
    error: Option<String>,
    elapsed: Duration,
}

impl CaseResult {
    fn passed(&self) -> bool {
        self.error.is_none() && self.mismatches.is_empty()
    }
}

fn run_case(env: &Env, case: &Case) -> CaseResult {
    let start = Instant::now();
    let mut res = CaseResult {
        mismatches: Vec::new(),
        error: None,
        elapsed: Duration::ZERO,
    };
    let a = Netns::new();
    if let Err(e) = setup_netns(&env.nameservers) {
        res.error = Some(e);
        return res;
    }
    let b = Netns::new();
    if let Err(e) = setup_netns(&env.nameservers) {
        res.error = Some(e);
        return res;
    }
    let mut prev_a: Vec<u8> = Vec::new();
    let mut prev_b: Vec<u8> = Vec::new();
    let both = |f: &dyn Fn() -> Result<(), String>| -> Result<(), String> {
        a.enter();
        f()?;
        b.enter();
        f()
    };
    for line in &case.lines {
        let what = format!("line {} `{}`", line.no, line.text.trim());
        match &line.step {
            Step::Udp {
                from,
                to,
                count,
                payload,
            } => {
                if let Err(e) = both(&|| udp_send(*from, *to, *count, payload)) {
                    res.error = Some(format!("{what}: {e}"));
                    return res;
                }
                std::thread::sleep(STATS_SETTLE);
            }
            Step::Tcp { from, to } => {
                if let Err(e) = both(&|| tcp_syn(*from, *to)) {
                    res.error = Some(format!("{what}: {e}"));
                    return res;
                }
                std::thread::sleep(STATS_SETTLE);
            }
            Step::Ip(args) => {
                let r = both(&|| {
                    let o = run_process(
                        Path::new("/sbin/ip"),
                        "ip",
                        args,
                        "/usr/sbin:/usr/bin:/sbin:/bin",
                        None,
                        false,
                    );
                    if o.status == "exit 0" {
                        Ok(())
                    } else {
                        Err(format!(
                            "{}: {}",
                            o.status,
                            String::from_utf8_lossy(&o.stderr)
                        ))
                    }
                });
                if let Err(e) = r {
                    res.error = Some(format!("{what}: {e}"));
                    return res;
                }
            }
            Step::Run(cmd) => {
                let input_a = match &cmd.input {
                    Input::Null => None,
                    Input::Text(t) => Some(t.clone()),
                    Input::Previous => Some(prev_a.clone()),
                };
                let input_b = match &cmd.input {
                    Input::Null => None,
                    Input::Text(t) => Some(t.clone()),
                    Input::Previous => Some(prev_b.clone()),
                };
                a.enter();
                let mut oa = env.debian.run(
                    cmd.prog,
                    &cmd.argv0,
                    &cmd.args,
                    input_a.as_deref(),
                    cmd.unprivileged,
                );
                b.enter();
                let mut ob = env.ours.run(
                    cmd.prog,
                    &cmd.argv0,
                    &cmd.args,
                    input_b.as_deref(),
                    cmd.unprivileged,
                );
                prev_a = oa.stdout.clone();
                prev_b = ob.stdout.clone();
                if cmd.mask_expiry {
                    oa.stdout = mask_expiry(&oa.stdout);
                    ob.stdout = mask_expiry(&ob.stdout);
                }
                if !compare(&oa, &ob, cmd.hash_order) {
                    res.mismatches.push(Mismatch {
                        what: what.clone(),
                        how: "each in its own namespace".into(),
                        expected_label: "Debian".into(),
                        actual_label: "ours".into(),
                        expected: oa.clone(),
                        actual: ob,
                        unordered: cmd.hash_order,
                    });
                }
                if cmd.hash_order {
                    // Same namespace, same dump order: must be identical.
                    a.enter();
                    let mut oc = env.ours.run(
                        cmd.prog,
                        &cmd.argv0,
                        &cmd.args,
                        input_a.as_deref(),
                        cmd.unprivileged,
                    );
                    if cmd.mask_expiry {
                        oc.stdout = mask_expiry(&oc.stdout);
                    }
                    if !compare(&oa, &oc, false) {
                        res.mismatches.push(Mismatch {
                            what,
                            how: "ours run again in Debian's namespace (same dump order)".into(),
                            expected_label: "Debian".into(),
                            actual_label: "ours".into(),
                            expected: oa,
                            actual: oc,
                            unordered: false,
                        });
                    }
                }
            }
        }
    }
    // Final table: `ipvsadm -Sn`, each implementation on its own table
    // (already compared when it is the case's last line).
    let sn = vec!["-Sn".to_string()];
    let ends_with_sn = matches!(
        case.lines.last().map(|l| &l.step),
        Some(Step::Run(c)) if c.argv0 == "ipvsadm" && c.args == sn && matches!(c.input, Input::Null) && !c.unprivileged
    );
    if ends_with_sn {
        res.elapsed = start.elapsed();
        return res;
    }
    a.enter();
    let deb_a = env.debian.run(Prog::Ipvsadm, "ipvsadm", &sn, None, false);
    b.enter();
    let ours_b = env.ours.run(Prog::Ipvsadm, "ipvsadm", &sn, None, false);
    let unordered = case.hash_order();
    if !compare(&deb_a, &ours_b, unordered) {
        // Tell a different table from a different rendering of it.
        let deb_b = env.debian.run(Prog::Ipvsadm, "ipvsadm", &sn, None, false);
        let how = if compare(&deb_a, &deb_b, unordered) {
            "the tables are the same (Debian's -Sn agrees on both); our -Sn prints it differently"
        } else {
            "the tables differ (Debian's own -Sn differs between the two namespaces)"
        };
        res.mismatches.push(Mismatch {
            what: "final `ipvsadm -Sn`".into(),
            how: how.into(),
            expected_label: "Debian".into(),
            actual_label: "ours".into(),
            expected: deb_a,
            actual: ours_b,
            unordered,
        });
    }
    res.elapsed = start.elapsed();
    res
}

// ---------------------------------------------------------------------------
// Environment preparation

fn nameservers() -> Vec<IpAddr> {
    fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver"))
                .then(|| w.next()?.parse().ok())
                .flatten()
        })
        .collect()
}

/// Adds the case host names to /etc/hosts, only inside the lab VM (its root
/// is a throw-away overlay; the host's own file is never touched).
fn install_hosts() {
    let root_is_overlay = fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().take(3).collect::<Vec<_>>()[1..] == ["/", "overlay"]);
    assert!(
        root_is_overlay && std::env::var_os("LAB_VM").is_some(),
        "the ipvsadm differential test must run inside the lab VM (lab/vm-run): it edits /etc/hosts"
    );
    let cur = fs::read_to_string("/etc/hosts").unwrap_or_default();
    if cur.contains("diff.test") {
        return;
    }
    let tmp = "/etc/hosts.ipvsadm-diff";
    fs::write(
        tmp,
        format!(
            "{cur}{}{HOSTS}",
            if cur.ends_with('\n') || cur.is_empty() {
                ""
            } else {
                "\n"
            }
        ),
    )
    .unwrap();
    fs::rename(tmp, "/etc/hosts").unwrap();
}

fn prepare() -> Env {
    let debian = Tools {
        label: "Debian",
        dir: PathBuf::from(DEBIAN_DIR),
        path_env: "/usr/sbin:/usr/bin:/sbin:/bin".into(),
    };
    let ours_dir = ours_dir();
    let ours = Tools {
        label: "ours",
        path_env: format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", ours_dir.display()),
        dir: ours_dir,
    };
    for t in [&debian, &ours] {
        for p in [Prog::Ipvsadm, Prog::Save, Prog::Restore] {
            let f = t.dir.join(p.name());
            assert!(
                f.is_file(),
                "{} {} missing at {} (ours: build ipvsadm-rs's binaries, e.g. `cargo build -p ipvsadm-rs --bins`, or set IPVS_DIFF_OURS)",
                t.label,
                p.name(),
                f.display()
            );
        }
    }
    // The lab loads these already; loading them again is cheap and keeps the
    // test independent of that list.
    let mods = [
        "ip_vs",
        "ip_vs_rr",
        "ip_vs_wrr",
        "ip_vs_lc",
        "ip_vs_wlc",
        "ip_vs_lblc",
        "ip_vs_lblcr",
        "ip_vs_dh",
        "ip_vs_sh",
        "ip_vs_sed",
        "ip_vs_nq",
        "ip_vs_fo",
        "ip_vs_ovf",
        "ip_vs_mh",
        "ip_vs_pe_sip",
        "dummy",
    ];
    let mut args = vec!["-a".to_string()];
    args.extend(mods.iter().map(|m| m.to_string()));
    let o = run_process(
        Path::new("/sbin/modprobe"),
        "modprobe",
        &args,
        "/usr/sbin:/usr/bin:/sbin:/bin",
        None,
        false,
    );
    assert_eq!(
        o.status,
        "exit 0",
        "modprobe: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        Path::new("/proc/net/ip_vs").exists(),
        "no IPVS in this kernel: run inside the lab VM"
    );
    install_hosts();
    Env {
        debian,
        ours,
        nameservers: nameservers(),
    }
}

// ---------------------------------------------------------------------------
// The test

#[test]
fn ipvsadm_matches_debian_ipvsadm() {
    let mut cases = load_cases();
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let total = cases.len();
    if let Ok(f) = std::env::var("IPVS_DIFF_FILTER") {
        cases.retain(|c| f.split(',').any(|p| c.name.contains(p)));
    }
    let env = prepare();
    let jobs: usize = std::env::var("IPVS_DIFF_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(4);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseResult>>> =
        Mutex::new((0..cases.len()).map(|_| None).collect());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= cases.len() {
                    break;
                }
                let r = run_case(&env, &cases[i]);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    let mut results: Vec<CaseResult> = results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();

    // IPVS keeps every namespace's services in one global hash table and its
    // dumps resume by position in it, so a service added or removed in
    // another namespace between two chunks of a dump can duplicate or skip
    // an entry (the original shows it as well). Failing cases therefore get
    // one serial rerun; a case that then passes is reported as such.
    let failing: Vec<usize> = (0..cases.len()).filter(|&i| !results[i].passed()).collect();
    let mut rerun_passed = Vec::new();
    if !failing.is_empty() && failing.len() <= RERUN_LIMIT {
        std::thread::scope(|s| {
            s.spawn(|| {
                for &i in &failing {
                    let r = run_case(&env, &cases[i]);
                    if r.passed() {
                        rerun_passed.push((i, std::mem::replace(&mut results[i], r)));
                    } else {
                        results[i] = r;
                    }
                }
            });
        });
    }
    let elapsed = start.elapsed();

    let failed: Vec<(&Case, &CaseResult)> = cases
        .iter()
        .zip(&results)
        .filter(|(_, r)| !r.passed())
        .collect();
    let mut report = String::new();
    let _ = writeln!(report, "# ipvsadm differential test report\n");
    let _ = writeln!(
        report,
        "Debian's ipvsadm 1.31 (`{DEBIAN_DIR}`) vs ours (`{}`), real IPVS in the lab VM (kernel {}).\n",
        env.ours.dir.display(),
        fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim()
    );
    let _ = writeln!(
        report,
        "{} of {} cases run ({} defined), {} pass, {} fail; {:.0}s with {} workers.\n",
        cases.len(),
        cases.len(),
        total,
        cases.len() - failed.len(),
        failed.len(),
        elapsed.as_secs_f64(),
        jobs
    );
    if !rerun_passed.is_empty() {
        let _ = writeln!(
            report,
            "Passed only on the serial rerun (IPVS dump race with other namespaces): {}.\n",
            rerun_passed
                .iter()
                .map(|(i, _)| format!("`{}`", cases[*i].name))
                .collect::<Vec<_>>()
                .join(", ")
        );
    } else if failing.len() > RERUN_LIMIT {
        let _ = writeln!(report, "More than {RERUN_LIMIT} cases failed: no reruns.\n");
    }
    if !failed.is_empty() {
        let _ = writeln!(report, "## Failing cases\n");
        for (c, r) in &failed {
            let n = r.mismatches.len();
            let _ = writeln!(
                report,
                "- `{}` ({}:{}){}",
                c.name,
                c.file,
                c.line,
                match &r.error {
                    Some(_) => " - harness error".to_string(),
                    None => format!(" - {n} mismatch{}", if n == 1 { "" } else { "es" }),
                }
            );
        }
        let _ = writeln!(report, "\n## Details\n");
        for (c, r) in &failed {
            let _ = writeln!(report, "### `{}` ({}:{})\n\n```", c.name, c.file, c.line);
            for l in &c.lines {
                let _ = writeln!(report, "{:>4}  {}", l.no, l.text);
            }
            let _ = writeln!(report, "```\n");
            if let Some(e) = &r.error {
                let _ = writeln!(report, "Harness error: {e}\n");
            }
            for m in &r.mismatches {
                let _ = writeln!(report, "{}", render_mismatch(m));
            }
        }
    }
    if !rerun_passed.is_empty() {
        let _ = writeln!(
            report,
            "## First-run differences of the cases that passed on the rerun\n"
        );
        for (i, r) in &rerun_passed {
            let c = &cases[*i];
            let _ = writeln!(report, "### `{}` ({}:{})\n", c.name, c.file, c.line);
            if let Some(e) = &r.error {
                let _ = writeln!(report, "Harness error: {e}\n");
            }
            for m in &r.mismatches {
                let _ = writeln!(report, "{}", render_mismatch(m));
            }
        }
    }
    let mut slow: Vec<(&Case, &CaseResult)> = cases.iter().zip(&results).collect();
    slow.sort_by_key(|x| std::cmp::Reverse(x.1.elapsed));
    let _ = writeln!(report, "## Slowest cases\n");
    for (c, r) in slow.iter().take(5) {
        let _ = writeln!(report, "- `{}`: {:.1}s", c.name, r.elapsed.as_secs_f64());
    }
    println!("{REPORT_BEGIN}\n{report}{REPORT_END}");
    if let Ok(p) = std::env::var("IPVS_DIFF_REPORT") {
        if let Err(e) = fs::write(&p, &report) {
            eprintln!("cannot write {p}: {e}");
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} ipvsadm differential cases differ from Debian's ipvsadm: {}",
        failed.len(),
        cases.len(),
        failed
            .iter()
            .map(|(c, _)| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn words_and_stdin_escapes() {
        assert_eq!(
            split_words(r#"-A -t '' "a b" c\ d"#).unwrap(),
            ["-A", "-t", "", "a b", "c d"]
        );
        assert_eq!(stdin_line(r"-A\t-t x\r").unwrap(), b"-A\t-t x\r\n");
        assert_eq!(stdin_line(r"-A \c").unwrap(), b"-A ");
    }

    #[test]
    fn blocks_ignore_service_order_only() {
        let x = b"H\nA\n  -> 1\n  -> 2\nB\n";
        let y = b"H\nB\nA\n  -> 1\n  -> 2\n";
        let z = b"H\nB\nA\n  -> 2\n  -> 1\n";
        assert_eq!(blocks(x), blocks(y));
        assert_ne!(blocks(x), blocks(z));
    }

    #[test]
    fn diff_keeps_context_around_changes() {
        let a: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let mut b = a.clone();
        b[10] = "x".into();
        let d = line_diff(&a, &b);
        assert!(d.starts_with("  ... (7 equal lines)\n  7\n"), "{d}");
        assert!(d.contains("- 10\n+ x\n"), "{d}");
        assert!(d.ends_with("  13\n  ... (6 equal lines)\n"), "{d}");
    }

    #[test]
    fn expiry_masked() {
        assert_eq!(
            mask_expiry(b"UDP 04:59  UDP         10.0.0.254:40000\n"),
            b"UDP XXXXX  UDP         10.0.0.254:40000\n"
        );
    }
}
