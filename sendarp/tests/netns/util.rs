//! Namespaces, veth pairs, frame capture and process helpers.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Debian's send_arp, the reference. CI installs heartbeat/resource-agents;
/// a missing binary must fail the differential tests, never skip them.
pub const REFERENCE: &str = "/usr/libexec/heartbeat/send_arp";

pub fn reference() -> &'static str {
    assert!(
        Path::new(REFERENCE).exists(),
        "{REFERENCE} is missing: install Debian's heartbeat/resource-agents (lab/packages.txt)"
    );
    REFERENCE
}

pub fn ours() -> &'static str {
    env!("CARGO_BIN_EXE_send_arp")
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test (in this or any other process) uses.
pub fn unique(tag: &str) -> String {
    format!(
        "sa-{}-{}-{tag}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A small per-process number for addresses that must not collide between
/// concurrently running test processes (default pid files are global).
pub fn process_tag() -> (u8, u8) {
    let pid = std::process::id();
    ((pid >> 8) as u8, pid as u8)
}

pub fn sh(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network namespace, deleted (with its interfaces) when dropped, also
/// when the test panics.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = unique(tag);
        sh("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn ip(&self, args: &[&str]) -> Output {
        let mut a = vec!["-n", self.name.as_str()];
        a.extend_from_slice(args);
        sh("ip", &a)
    }

    pub fn sysctl(&self, key: &str, value: &str) {
        let setting = format!("{key}={value}");
        sh(
            "ip",
            &["netns", "exec", &self.name, "sysctl", "-qw", &setting],
        );
    }

    /// Run `program args` inside the namespace with a controlled
    /// environment (no heartbeat logging variables from the caller, syslog
    /// off so nothing reaches the console).
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program])
            .args(args)
            .stdin(Stdio::null())
            .env_remove("HA_logfile")
            .env_remove("HA_debugfile")
            .env_remove("HA_syslogmsgfmt")
            .env_remove("HA_use_logd")
            .env_remove("POSIXLY_CORRECT")
            .env("HA_logfacility", "none")
            .env("LC_ALL", "C");
        c
    }

    /// Run to completion, with a watchdog: heartbeat's send_arp sleeps by
    /// arming a timer and then calling pause(), so if it is descheduled
    /// until the timer has already fired (a busy machine, short
    /// intervals) it waits forever. After 10 s the watchdog delivers the
    /// SIGALRM it missed; after 20 s it kills the process.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        let child = self
            .command(program, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let pid = child.id() as libc::pid_t;
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let what = format!("{program} {args:?}");
        let watchdog = std::thread::spawn(move || {
            for (after, sig) in [(10, libc::SIGALRM), (10, libc::SIGKILL)] {
                for _ in 0..after * 100 {
                    if flag.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                eprintln!("watchdog: {what} still running, sending signal {sig}");
                // SAFETY: signalling our own child, which has not been
                // reaped yet (`done` is set only after wait returns).
                unsafe { libc::kill(pid, sig) };
            }
        });
        let out = child.wait_with_output().unwrap();
        done.store(true, Ordering::SeqCst);
        watchdog.join().unwrap();
        out
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// Two namespaces joined by a veth pair: `sa0` in `a` (the sender, MAC
/// [`SENDER_MAC`]) and `sa1` in `b` (the listener), both up.
pub struct Wire {
    pub a: Netns,
    pub b: Netns,
}

pub const SENDER_MAC: [u8; 6] = [0x02, 0x5a, 0x00, 0x00, 0x00, 0x01];
pub const SENDER_MAC_TEXT: &str = "02:5a:00:00:00:01";

impl Wire {
    pub fn new(tag: &str) -> Wire {
        let a = Netns::new(&format!("{tag}a"));
        let b = Netns::new(&format!("{tag}b"));
        a.ip(&[
            "link",
            "add",
            "sa0",
            "address",
            SENDER_MAC_TEXT,
            "type",
            "veth",
            "peer",
            "name",
            "sa1",
            "netns",
            &b.name,
        ]);
        a.ip(&["link", "set", "sa0", "up"]);
        b.ip(&["link", "set", "sa1", "up"]);
        // Until the kernel's link watcher has processed the carrier change
        // (it may take up to a second for veth), the device's queue is the
        // no-op one and silently drops every frame sent. Operational state
        // UP is set in the same step.
        let start = std::time::Instant::now();
        for (ns, dev) in [(&a, "sa0"), (&b, "sa1")] {
            while !String::from_utf8_lossy(&ns.ip(&["-o", "link", "show", dev]).stdout)
                .contains("state UP")
            {
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "{dev} never came up"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        Wire { a, b }
    }
}

/// One received frame with its kernel receive time.
#[derive(Debug, Clone)]
pub struct Frame {
    pub at: Duration,
    pub bytes: Vec<u8>,
}

/// An AF_PACKET socket listening on an interface inside a namespace.
pub struct Capture {
    fd: OwnedFd,
}

fn enter_and_open(ns: &str, ifname: &str) -> io::Result<OwnedFd> {
    let nsfile = std::fs::File::open(PathBuf::from("/run/netns").join(ns))?;
    // SAFETY: setns on this (short-lived) thread only.
    if unsafe { libc::setns(nsfile.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        let fd = libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            proto as i32,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(fd);
        // Kernel receive timestamps, delivered with each frame.
        let one: libc::c_int = 1;
        if libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        ) < 0
        {
            return Err(io::Error::last_os_error());
        }
        let name = CString::new(ifname).unwrap();
        let index = libc::if_nametoindex(name.as_ptr());
        if index == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = index as i32;
        if libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        ) < 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(fd)
    }
}

impl Capture {
    pub fn start(ns: &Netns, ifname: &str) -> Capture {
        let (name, ifname) = (ns.name.clone(), ifname.to_string());
        // setns affects only the calling thread; the socket stays in the
        // namespace it was created in after the thread is gone.
        let fd = std::thread::spawn(move || enter_and_open(&name, &ifname))
            .join()
            .unwrap()
            .expect("capture socket");
        Capture { fd }
    }

    /// Everything received (not sent) on the interface so far, waiting
    /// until `quiet` passes without a frame.
    pub fn drain(&self, quiet: Duration) -> Vec<Frame> {
        let mut out = Vec::new();
        loop {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, quiet.as_millis() as i32) };
            if n <= 0 {
                return out;
            }
            let mut buf = vec![0u8; 2048];
            let mut control = [0u64; 16];
            // SAFETY: msghdr/iovec/sockaddr_ll are POD and point at live
            // buffers of the stated sizes; cmsgs are walked with the libc
            // macros within msg_controllen.
            unsafe {
                let mut sll: libc::sockaddr_ll = std::mem::zeroed();
                let mut iov = libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: buf.len(),
                };
                let mut msg: libc::msghdr = std::mem::zeroed();
                msg.msg_name = (&mut sll as *mut libc::sockaddr_ll).cast();
                msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
                msg.msg_iov = &mut iov;
                msg.msg_iovlen = 1;
                msg.msg_control = control.as_mut_ptr().cast();
                msg.msg_controllen = std::mem::size_of_val(&control);
                let r = libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT);
                if r < 0 {
                    continue;
                }
                buf.truncate(r as usize);
                if sll.sll_pkttype == libc::PACKET_OUTGOING {
                    continue;
                }
                let mut at = None;
                let mut c = libc::CMSG_FIRSTHDR(&msg);
                while !c.is_null() {
                    if (*c).cmsg_level == libc::SOL_SOCKET
                        && (*c).cmsg_type == libc::SCM_TIMESTAMPNS
                    {
                        let ts =
                            std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::timespec);
                        at = Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
                    }
                    c = libc::CMSG_NXTHDR(&msg, c);
                }
                out.push(Frame {
                    at: at.expect("frame without a receive timestamp"),
                    bytes: buf,
                });
            }
        }
    }
}

pub fn is_arp(f: &Frame) -> bool {
    f.bytes.len() >= 14 && f.bytes[12..14] == [0x08, 0x06]
}

pub fn is_neighbour_advert(f: &Frame) -> bool {
    f.bytes.len() >= 55
        && f.bytes[12..14] == [0x86, 0xdd]
        && f.bytes[20] == 58
        && f.bytes[54] == 136
}

/// Gaps between consecutive frames.
pub fn gaps(frames: &[Frame]) -> Vec<Duration> {
    frames
        .windows(2)
        .map(|w| w[1].at.saturating_sub(w[0].at))
        .collect()
}

/// cl_log lines carry a timestamp, host name and pid; replace those, and
/// argv[0] in getopt's complaints, so two runs can be compared.
pub fn normalise_stderr(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut l = line.to_string();
        // "Nov 25 22:04:50 host send_arp: [123]: ..." -> "TS send_arp: [PID]: ..."
        if let Some(p) = l.find(" send_arp: [") {
            let head = &l[..p];
            if head.len() >= 15 && head.as_bytes()[3] == b' ' && head.as_bytes()[9] == b':' {
                let rest = &l[p + " send_arp: [".len()..];
                if let Some(close) = rest.find("]: ") {
                    if rest[..close].bytes().all(|c| c.is_ascii_digit()) {
                        l = format!("TS send_arp: [PID]: {}", &rest[close + 3..]);
                    }
                }
            }
        }
        for what in [": invalid option -- ", ": option requires an argument -- "] {
            if let Some(p) = l.find(what) {
                if !l[..p].contains(' ') {
                    l = format!("ARGV0{}", &l[p..]);
                }
            }
        }
        out.push_str(&l);
    }
    out
}

/// A directory for pid files and copies of binaries, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir_all(&p).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o1777)).unwrap();
        TempDir(p)
    }

    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn hexdump(frames: &[Frame]) -> String {
    frames
        .iter()
        .map(|f| {
            f.bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn normalising_cl_log_lines() {
    let raw = b"libnet_open_link_interface: x\n\nNov 25 22:04:50 vm send_arp: [8580]: ERROR: Cannot find mac address for nosuch\n/usr/libexec/heartbeat/send_arp: invalid option -- 'h'\n";
    assert_eq!(
        normalise_stderr(raw),
        "libnet_open_link_interface: x\n\nTS send_arp: [PID]: ERROR: Cannot find mac address for nosuch\nARGV0: invalid option -- 'h'\n"
    );
}
