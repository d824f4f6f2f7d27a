//! The seed cluster (issue 6): the 2004 guide's two directors, two web
//! nodes and a client, built from `examples/seed/` in network namespaces
//! inside the IPVS lab.
//!
//! The address plan is fixed (notes/seed-facts.md): a bridge in its own
//! namespace, VIP 10.0.0.100, www3 (master director) 10.0.0.3, www4 (slave
//! director, real server while www3 directs) 10.0.0.4, node01 10.0.0.11,
//! node02 10.0.0.12, the client 10.0.0.200 (plus .201–.215, so persistence
//! can be seen from several clients). Each cluster has a tag that makes its
//! namespace names unique (`sd-www3-TAG`), so clusters of parallel tests
//! never meet; the tag "" gives the plan's own names.
//!
//! Each director is a [`Director`]: its own network, mount, UTS and PID
//! namespaces, the seed's files bound at their real paths, and a tool set
//! behind it: ours ([`OursDirector`]) or Debian's (`debian.rs`). Everything
//! the scenarios observe (who holds the VIP, the IPVS table, client
//! requests) is read from threads that enter a namespace, not from new
//! processes: a process start costs 0.3–1 s under the lab's TCG.

pub mod debian;
pub mod load;
pub mod scenario;

use std::ffi::CString;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The seed's virtual IP (211.238.41.170) in the lab.
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
/// The client's first address; [`CLIENTS`] addresses follow it.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 200);
/// How many client source addresses the client namespace carries.
pub const CLIENTS: u8 = 16;

/// RedHat's init function library as far as `puck` needs it (environment
/// emulation, not a seed file): bound at `/etc/rc.d/init.d/functions`.
pub const RC_FUNCTIONS: &str = include_str!("rc.d-functions.sh");

/// The hosts of the seed's LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    Www3,
    Www4,
    Web1,
    Web2,
    Client,
}

impl Host {
    pub const ALL: [Host; 5] = [Host::Www3, Host::Www4, Host::Web1, Host::Web2, Host::Client];

    /// The name in namespace names and in the seed (`www3`, `node01`...).
    pub fn name(self) -> &'static str {
        match self {
            Host::Www3 => "www3",
            Host::Www4 => "www4",
            Host::Web1 => "web1",
            Host::Web2 => "web2",
            Host::Client => "client",
        }
    }

    /// The host's LAN address.
    pub fn addr(self) -> Ipv4Addr {
        match self {
            Host::Www3 => Ipv4Addr::new(10, 0, 0, 3),
            Host::Www4 => Ipv4Addr::new(10, 0, 0, 4),
            Host::Web1 => Ipv4Addr::new(10, 0, 0, 11),
            Host::Web2 => Ipv4Addr::new(10, 0, 0, 12),
            Host::Client => CLIENT,
        }
    }

    /// The `<title>` its web server answers with (none for www3 and the
    /// client, which serve nothing).
    pub fn title(self) -> Option<&'static str> {
        match self {
            Host::Web1 => Some("node01"),
            Host::Web2 => Some("node02"),
            Host::Www4 => Some("www4"),
            _ => None,
        }
    }

    /// Its document root in `examples/seed/`.
    fn docroot(self) -> Option<&'static str> {
        match self {
            Host::Web1 => Some("node01"),
            Host::Web2 => Some("node02"),
            Host::Www4 => Some("www4"),
            _ => None,
        }
    }
}

/// `examples/seed/` of this checkout.
pub fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seed")
}

/// Where the workspace's binaries are: `SEED_BIN_DIR`, else next to the
/// running executable (`target/<profile>/`, also from `deps/`).
pub fn default_bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SEED_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().expect("target dir").to_path_buf()
    } else {
        dir
    }
}

fn sh(script: &str) {
    let out = Command::new("/bin/sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .output()
        .expect("run /bin/sh");
    assert!(
        out.status.success(),
        "failed: {script}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `f` on a fresh thread inside the network namespace at `netns`:
/// sockets, rtnetlink and `/proc/thread-self/net` then see that namespace.
pub fn in_netns<T: Send + 'static>(netns: &Path, f: impl FnOnce() -> T + Send + 'static) -> T {
    let ns = fs::File::open(netns).unwrap_or_else(|e| panic!("open {}: {e}", netns.display()));
    std::thread::spawn(move || {
        // SAFETY: setns(2) on this thread only, with a valid descriptor.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            panic!("setns: {}", io::Error::last_os_error());
        }
        f()
    })
    .join()
    .expect("netns thread panicked")
}

/// A command that runs inside the network namespace at `netns` (setns in
/// the child, no extra process).
pub fn netns_command(netns: &Path, argv: &[&str]) -> Command {
    let ns = fs::File::open(netns).unwrap_or_else(|e| panic!("open {}: {e}", netns.display()));
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]);
    // SAFETY: only setns(2) runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// The LAN: one namespace per host plus the bridge's, wired as in the
/// address plan. Deleted on drop.
#[derive(Debug)]
pub struct Topology {
    pub tag: String,
    names: Vec<String>,
}

impl Topology {
    /// The namespace name of `host` (`sd-www3-TAG`, or `sd-www3` for tag "").
    pub fn ns_name(tag: &str, host: &str) -> String {
        if tag.is_empty() {
            format!("sd-{host}")
        } else {
            format!("sd-{host}-{tag}")
        }
    }

    /// Builds the LAN: bridge `sd-br0` in `sd-lan[-TAG]`, each host's
    /// `eth0` (with a broadcast address: heartbeat's `udp` medium needs
    /// one) on it; web nodes with the VIP on `lo:0` and
    /// `arp_ignore=1`/`arp_announce=2` (the seed's real-server setup;
    /// www4's comes from its own `lvs-r.sh`, see [`Cluster`]).
    pub fn new(tag: &str) -> Topology {
        crate::require_ipvs();
        let lan = Self::ns_name(tag, "lan");
        let mut t = Topology {
            tag: tag.to_string(),
            names: vec![],
        };
        let mut root = String::new();
        for n in std::iter::once(lan.clone())
            .chain(Host::ALL.iter().map(|h| Self::ns_name(tag, h.name())))
        {
            // A leftover of an earlier run with the same tag would break
            // the wiring; names are unique per test, so it can only be ours.
            let _ = fs::remove_file(format!("/run/netns/{n}"));
            root += &format!("netns add {n}\n");
            t.names.push(n);
        }
        let mut br = String::from(
            "link set lo up\nlink add sd-br0 type bridge\nlink set sd-br0 type bridge forward_delay 0\nlink set sd-br0 up\n",
        );
        for h in Host::ALL {
            let p = format!("p-{}", h.name());
            br += &format!(
                "link add {p} type veth peer name eth0 netns {}\nlink set {p} master sd-br0\nlink set {p} up\n",
                Self::ns_name(tag, h.name())
            );
        }
        let mut script = format!(
            "set -e\nip -batch - <<'EOF'\n{root}EOF\nip -n {lan} -batch - <<'EOF'\n{br}EOF\n"
        );
        for h in Host::ALL {
            let mut b = format!(
                "link set lo up\naddr add {}/24 brd + dev eth0\nlink set eth0 up\n",
                h.addr()
            );
            match h {
                Host::Client => {
                    for i in 1..CLIENTS {
                        let a = Ipv4Addr::from(u32::from(CLIENT) + u32::from(i));
                        b += &format!("addr add {a}/24 dev eth0\n");
                    }
                }
                Host::Web1 | Host::Web2 => {
                    b += &format!("addr add {VIP}/32 dev lo label lo:0\n");
                }
                _ => {}
            }
            script += &format!(
                "ip -n {} -batch - <<'EOF'\n{b}EOF\n",
                Self::ns_name(tag, h.name())
            );
        }
        sh(&script);
        for h in [Host::Web1, Host::Web2] {
            in_netns(&t.path(h), || {
                for (k, v) in [
                    ("conf/all/arp_ignore", "1"),
                    ("conf/all/arp_announce", "2"),
                    ("conf/lo/arp_ignore", "1"),
                    ("conf/lo/arp_announce", "2"),
                ] {
                    fs::write(format!("/proc/sys/net/ipv4/{k}"), v)
                        .unwrap_or_else(|e| panic!("sysctl {k}: {e}"));
                }
            });
        }
        t
    }

    /// `/run/netns/<name>` of a host.
    pub fn path(&self, host: Host) -> PathBuf {
        PathBuf::from(format!(
            "/run/netns/{}",
            Self::ns_name(&self.tag, host.name())
        ))
    }

    /// Cuts (`up = false`) or restores a host's link: its bridge port.
    pub fn set_link(&self, host: Host, up: bool) {
        let p = format!("p-{}", host.name());
        let lan = format!("/run/netns/{}", Self::ns_name(&self.tag, "lan"));
        let out = netns_command(
            Path::new(&lan),
            &[
                "/sbin/ip",
                "link",
                "set",
                &p,
                if up { "up" } else { "down" },
            ],
        )
        .output()
        .expect("ip link set");
        assert!(out.status.success(), "ip link set {p}: {out:?}");
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for n in self.names.iter().rev() {
            let p = format!("/run/netns/{n}");
            if let Ok(c) = CString::new(p.clone()) {
                // SAFETY: a valid NUL-terminated path.
                unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            }
            let _ = fs::remove_file(p);
        }
    }
}

/// A web server: busybox httpd serving the host's page from a copy of its
/// `examples/seed/<node>/` directory.
#[derive(Debug)]
pub struct WebServer {
    netns: PathBuf,
    docroot: PathBuf,
    child: Option<Child>,
}

impl WebServer {
    pub fn new(netns: PathBuf, docroot: PathBuf) -> WebServer {
        let mut w = WebServer {
            netns,
            docroot,
            child: None,
        };
        w.start();
        w
    }

    /// Starts httpd (the seed's `/etc/rc.d/init.d/httpd start`).
    pub fn start(&mut self) {
        if self.child.is_some() {
            return;
        }
        let root = self.docroot.display().to_string();
        let c = netns_command(
            &self.netns,
            &["/usr/bin/busybox", "httpd", "-f", "-p", "80", "-h", &root],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start busybox httpd");
        self.child = Some(c);
    }

    /// Stops httpd (`httpd stop`).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One director of the seed: heartbeat with the seed's `ha.cf`,
/// `authkeys`, `haresources`; its `puck` starting the IPVS rules and mon;
/// all in the director's own namespaces. Implemented by [`OursDirector`]
/// and by Debian's tools in `debian.rs`.
pub trait Director: Send {
    /// The heartbeat node name (`www3`, `www4`).
    fn node(&self) -> &str;
    /// Which tools run it ("ours", "debian"), for reports.
    fn tools(&self) -> &'static str;
    /// Boots the director: mounts, then heartbeat. Its network namespace
    /// is wired already.
    fn boot(&mut self);
    /// `kill -9` of heartbeat only: mon, the VIP and the IPVS table stay.
    fn kill_heartbeat(&mut self) -> bool;
    /// Starts heartbeat again in the running director (after
    /// [`Director::kill_heartbeat`]), as `/etc/init.d/heartbeat start`.
    fn start_heartbeat(&mut self);
    /// Power cut: every process of the director dies at once. The network
    /// namespace's kernel state stays; [`Cluster::reboot`] clears it.
    /// [`Director::boot`] may follow (it must start from a clean `/run`).
    fn crash(&mut self);
    /// heartbeat's log (`/var/log/ha-log` inside), for timelines and
    /// assertion messages.
    fn log(&self) -> String;
}

/// What every director is, whichever tools it runs: a private tree
/// (`root`), a network namespace, and PID 1 of its own PID namespace
/// running a boot script under `unshare` (killing it kills the machine).
#[derive(Debug)]
pub struct Machine {
    pub node: String,
    /// The director's network namespace handle (`/run/netns/sd-www3-TAG`).
    pub netns: PathBuf,
    /// Per-director state (kept after drop only when `SEED_KEEP` is set,
    /// for debugging).
    pub root: PathBuf,
    /// `unshare`: its child is PID 1 of the director's PID namespace.
    child: Option<Child>,
}

impl Machine {
    pub fn new(node: &str, netns: PathBuf, root: &Path) -> Machine {
        Machine {
            node: node.to_string(),
            netns,
            root: root.to_path_buf(),
            child: None,
        }
    }

    /// Runs `script` (written to `root/boot.sh`) as PID 1 of fresh mount,
    /// UTS and PID namespaces in the director's network namespace, its
    /// output in `root/console.log`.
    pub fn spawn(&mut self, script: &str, path: &str) {
        assert!(self.child.is_none(), "{} already booted", self.node);
        fs::write(self.root.join("boot.sh"), script).expect("write boot.sh");
        let console = fs::File::create(self.root.join("console.log")).expect("console log");
        let mut cmd = netns_command(
            &self.netns,
            &[
                "/usr/bin/unshare",
                "--mount",
                "--uts",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "--propagation",
                "private",
                "/bin/bash",
            ],
        );
        cmd.arg(self.root.join("boot.sh"))
            .env_clear()
            .env("PATH", path)
            .env("LANG", "C")
            .env("HOME", "/root")
            .stdin(Stdio::null())
            .stdout(console.try_clone().expect("dup the console log"))
            .stderr(console);
        self.child = Some(cmd.spawn().expect("start the director"));
    }

    /// Processes of this director (host PIDs) named `comm`.
    pub fn pids_named(&self, comm: &str) -> Vec<i32> {
        let Some(c) = self.child.as_ref() else {
            return vec![];
        };
        let Ok(want) = fs::read_link(format!("/proc/{}/ns/pid_for_children", c.id())) else {
            return vec![];
        };
        let mut out = vec![];
        for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|l| l == want)
                && fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|n| n.trim() == comm)
            {
                out.push(pid);
            }
        }
        out
    }

    /// SIGKILL to every process named `comm`; false when there was none.
    pub fn kill_named(&self, comm: &str) -> bool {
        let pids = self.pids_named(comm);
        for p in &pids {
            // SAFETY: plain kill(2).
            unsafe { libc::kill(*p, libc::SIGKILL) };
        }
        !pids.is_empty()
    }

    /// An order for the boot script's loop on `/run/pid1.fifo`.
    pub fn tell_pid1(&self, order: &str) {
        let mut f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.root.join("run/pid1.fifo"))
            .expect("open the director's FIFO");
        f.write_all(format!("{order}\n").as_bytes())
            .expect("write the director's FIFO");
    }

    /// Power cut: PID 1 dies (`--kill-child`), the kernel kills the rest.
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// heartbeat's `logfile` (`/var/log/ha-log`), its stderr, and the boot
    /// script's output, each headed by its name and `who`.
    pub fn log(&self, who: &str) -> String {
        let mut s = String::new();
        for name in ["ha-log", "ha-console"] {
            if let Ok(t) = fs::read_to_string(self.root.join("log").join(name)) {
                s += &format!("--- {name} ({who})\n{t}");
            }
        }
        if let Ok(t) = fs::read_to_string(self.root.join("console.log")) {
            if !t.is_empty() {
                s += &format!("--- console ({who})\n{t}");
            }
        }
        s
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.crash();
        if std::env::var_os("SEED_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// A director running our binaries at the original paths: `ipvsadm` over
/// `/sbin/ipvsadm`, `mon` over `/usr/sbin/mon`, `heartbeat` and `send_arp`
/// over Debian's `/usr/libexec/heartbeat/` ones, our `IPaddr` in
/// `/etc/ha.d/resource.d`, our monitors in `/usr/lib/mon/mon.d` (from
/// `mon-scripts install`) — each a bind mount inside the director's mount
/// namespace, so the seed's scripts run unchanged and find ours.
pub struct OursDirector {
    /// Its tree under `root`: `ha.d/`, `run/`, `log/`, `mon/`, ...
    pub m: Machine,
    bin: PathBuf,
}

/// The files every director gets from `examples/seed/` (per-node copies
/// from `examples/seed/<node>/` win over the common ones).
fn seed_file(node: &str, name: &str) -> PathBuf {
    let own = seed_dir().join(node).join(name);
    if own.exists() {
        own
    } else {
        seed_dir().join(name)
    }
}

fn copy_mode(from: &Path, to: &Path, mode: u32) {
    if let Some(p) = to.parent() {
        fs::create_dir_all(p).unwrap();
    }
    fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).unwrap();
}

impl OursDirector {
    /// Lays out the director's private tree under `root` (emptied first).
    pub fn new(node: &str, netns: PathBuf, root: &Path, bin: &Path) -> OursDirector {
        for b in [
            "ipvsadm",
            "mon",
            "mon-scripts",
            "heartbeat",
            "send_arp",
            "IPaddr",
        ] {
            assert!(
                bin.join(b).is_file(),
                "{} missing: cargo build --workspace --bins first",
                bin.join(b).display()
            );
        }
        let _ = fs::remove_dir_all(root);
        for d in [
            "ha.d/resource.d",
            "varlib-heartbeat",
            "run/heartbeat",
            "run/mon",
            "log/mon",
            "varlib-mon",
            "etc-mon",
            "monlib/mon.d",
            "monlib/alert.d",
            "scratch-alert.d",
            "rc.d/init.d",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        let r = |p: &str| root.join(p);
        copy_mode(&seed_file(node, "ha.cf"), &r("ha.d/ha.cf"), 0o644);
        copy_mode(&seed_file(node, "authkeys"), &r("ha.d/authkeys"), 0o600);
        copy_mode(
            &seed_file(node, "haresources"),
            &r("ha.d/haresources"),
            0o644,
        );
        copy_mode(&seed_file(node, "puck"), &r("ha.d/resource.d/puck"), 0o755);
        if seed_file(node, "lvs-r.sh").exists() {
            copy_mode(&seed_file(node, "lvs-r.sh"), &r("ha.d/lvs-r.sh"), 0o755);
        }
        copy_mode(&bin.join("IPaddr"), &r("ha.d/resource.d/IPaddr"), 0o755);
        copy_mode(&seed_file(node, "mon.cf"), &r("etc-mon/mon.cf"), 0o644);
        if Path::new("/etc/mon/auth.cf").exists() {
            copy_mode(Path::new("/etc/mon/auth.cf"), &r("etc-mon/auth.cf"), 0o644);
        }
        copy_mode(
            &seed_file(node, "lvs.alert"),
            &r("monlib/alert.d/lvs.alert"),
            0o755,
        );
        fs::write(r("rc.d/init.d/functions"), RC_FUNCTIONS).unwrap();
        // Our monitors as `make install` places them (links to mon-scripts);
        // our own lvs.alert goes to a scratch directory: the seed's is used.
        let out = Command::new(bin.join("mon-scripts"))
            .arg("install")
            .arg(r("monlib/mon.d"))
            .arg(r("scratch-alert.d"))
            .output()
            .expect("mon-scripts install");
        assert!(out.status.success(), "mon-scripts install: {out:?}");
        OursDirector {
            m: Machine::new(node, netns, root),
            bin: bin.to_path_buf(),
        }
    }

    fn boot_script(&self) -> String {
        let r = self.m.root.display();
        let b = self.bin.display();
        let mut s = String::from("set -e\n");
        s += &format!("hostname {}\n", self.m.node);
        // This mount namespace's /sys shows this network namespace's links.
        s += "mount -t sysfs sysfs /sys\n";
        for (src, dst) in [
            (format!("{r}/ha.d"), "/etc/ha.d"),
            (format!("{r}/varlib-heartbeat"), "/var/lib/heartbeat"),
            (format!("{r}/run"), "/run"),
            (format!("{r}/log"), "/var/log"),
            (format!("{r}/etc-mon"), "/etc/mon"),
            (format!("{r}/varlib-mon"), "/var/lib/mon"),
            (format!("{r}/monlib"), "/usr/lib/mon"),
            (format!("{r}/rc.d"), "/etc/rc.d"),
            (format!("{b}/ipvsadm"), "/usr/sbin/ipvsadm"),
            (format!("{b}/mon"), "/usr/sbin/mon"),
            (format!("{b}/heartbeat"), "/usr/libexec/heartbeat/heartbeat"),
            (format!("{b}/send_arp"), "/usr/libexec/heartbeat/send_arp"),
        ] {
            if Path::new(&src).is_dir() {
                s += &format!("mkdir -p {dst}\n");
            } else {
                let parent = Path::new(dst).parent().unwrap().display();
                s += &format!("[ -e {dst} ] || {{ mkdir -p {parent}; : > {dst}; }}\n");
            }
            s += &format!("mount --bind {src} {dst}\n");
        }
        s += "set +e\ncd /\n";
        s += "start_hb() { /usr/libexec/heartbeat/heartbeat -f >>/var/log/ha-console 2>&1 & }\n";
        s += "start_hb\n";
        // PID 1 outlives heartbeat (a killed heartbeat leaves mon and the
        // kernel state behind, as on a machine) and takes orders on a FIFO.
        s += "exec 3<>/run/pid1.fifo\n";
        s += "while :; do if read -t 5 line <&3; then case $line in heartbeat) start_hb ;; esac; fi; done\n";
        s
    }

    /// Processes of this director (host PIDs) named `comm`.
    pub fn pids_named(&self, comm: &str) -> Vec<i32> {
        self.m.pids_named(comm)
    }
}

impl Director for OursDirector {
    fn node(&self) -> &str {
        &self.m.node
    }

    fn tools(&self) -> &'static str {
        "ours"
    }

    fn boot(&mut self) {
        // /run is a tmpfs on a real machine: nothing survives a reboot.
        let run = self.m.root.join("run");
        let _ = fs::remove_dir_all(&run);
        for d in ["heartbeat", "mon", "lock"] {
            fs::create_dir_all(run.join(d)).unwrap();
        }
        let fifo = CString::new(self.m.root.join("run/pid1.fifo").display().to_string()).unwrap();
        // SAFETY: a valid path.
        unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) };
        let script = self.boot_script();
        self.m.spawn(&script, "/usr/sbin:/usr/bin:/sbin:/bin");
    }

    fn kill_heartbeat(&mut self) -> bool {
        self.m.kill_named("heartbeat")
    }

    fn start_heartbeat(&mut self) {
        self.m.tell_pid1("heartbeat");
    }

    fn crash(&mut self) {
        self.m.crash();
    }

    fn log(&self) -> String {
        self.m.log(&self.m.node)
    }
}

/// The whole seed cluster: the LAN, the web servers (node01, node02 and
/// www4's), the two directors booted, and a start instant for timelines.
pub struct Cluster {
    pub topo: Topology,
    pub web1: WebServer,
    pub web2: WebServer,
    pub web4: WebServer,
    pub www3: Box<dyn Director>,
    pub www4: Box<dyn Director>,
    pub t0: Instant,
    scratch: PathBuf,
}

impl Cluster {
    /// The seed cluster with our tools on both directors; see
    /// [`Cluster::start_with`].
    pub fn start(tag: &str) -> Cluster {
        Cluster::start_with(tag, |h, netns, root, bin| {
            Box::new(OursDirector::new(h.name(), netns, root, bin))
        })
    }

    /// Builds and boots the cluster: topology, web servers, www4 made a
    /// real server by its own `lvs-r.sh` (as its boot would), then both
    /// directors, each made by `make(host, its netns path, a private empty
    /// directory for its state, the workspace's binary directory)` — the
    /// per-director switch between our tools and Debian's. Returns once
    /// both are booted; wait for the VIP with [`Cluster::wait_state`].
    pub fn start_with(
        tag: &str,
        mut make: impl FnMut(Host, PathBuf, &Path, &Path) -> Box<dyn Director>,
    ) -> Cluster {
        let t0 = Instant::now();
        let topo = Topology::new(tag);
        let scratch = PathBuf::from(format!("/tmp/{}", Topology::ns_name(tag, "seed")));
        let _ = fs::remove_dir_all(&scratch);
        fs::create_dir_all(&scratch).unwrap();
        let web = |h: Host| {
            let dir = scratch.join(format!("www-{}", h.name()));
            fs::create_dir_all(&dir).unwrap();
            let src = seed_dir().join(h.docroot().unwrap()).join("index.html");
            fs::copy(&src, dir.join("index.html"))
                .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
            WebServer::new(topo.path(h), dir)
        };
        let web1 = web(Host::Web1);
        let web2 = web(Host::Web2);
        let web4 = web(Host::Www4);
        // www4 boots as a real server: its lvs-r.sh (rc.local in the seed).
        let lvs_r = seed_file("www4", "lvs-r.sh");
        let out = netns_command(
            &topo.path(Host::Www4),
            &["/bin/sh", &lvs_r.display().to_string()],
        )
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .expect("run lvs-r.sh");
        assert!(out.status.success(), "lvs-r.sh on www4: {out:?}");
        let bin = default_bin_dir();
        let mut www3 = make(
            Host::Www3,
            topo.path(Host::Www3),
            &scratch.join("www3"),
            &bin,
        );
        let mut www4 = make(
            Host::Www4,
            topo.path(Host::Www4),
            &scratch.join("www4"),
            &bin,
        );
        www3.boot();
        www4.boot();
        Cluster {
            topo,
            web1,
            web2,
            web4,
            www3,
            www4,
            t0,
            scratch,
        }
    }

    pub fn director(&mut self, h: Host) -> &mut dyn Director {
        match h {
            Host::Www3 => self.www3.as_mut(),
            Host::Www4 => self.www4.as_mut(),
            _ => panic!("{h:?} is not a director"),
        }
    }

    pub fn web(&mut self, h: Host) -> &mut WebServer {
        match h {
            Host::Web1 => &mut self.web1,
            Host::Web2 => &mut self.web2,
            Host::Www4 => &mut self.web4,
            _ => panic!("{h:?} serves no web pages"),
        }
    }

    /// What the cluster looks like now, read without new processes.
    pub fn state(&self) -> State {
        State::read(&self.topo)
    }

    /// Polls until `f(state)` holds or `limit` passes; returns the state
    /// that satisfied it, or the last one seen as the error.
    pub fn wait_state(
        &self,
        limit: Duration,
        mut f: impl FnMut(&State) -> bool,
    ) -> Result<State, State> {
        let t = Instant::now();
        loop {
            let s = self.state();
            if f(&s) {
                return Ok(s);
            }
            if t.elapsed() > limit {
                return Err(s);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Reboots a director: power cut, the kernel state a reboot loses
    /// (its addresses beyond eth0's own, the IPVS table) cleared, boot.
    pub fn reboot(&mut self, h: Host) {
        self.director(h).crash();
        let ipvsadm = default_bin_dir().join("ipvsadm");
        let script = format!(
            "ip addr del {VIP}/24 dev eth0 2>/dev/null; ip addr del {VIP}/32 dev lo 2>/dev/null; {} -C",
            ipvsadm.display()
        );
        let out = netns_command(&self.topo.path(h), &["/bin/sh", "-c", &script])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .expect("clear the director's kernel state");
        assert!(out.status.success(), "reboot {h:?}: {out:?}");
        self.director(h).boot();
    }

    /// How many processes named `comm` run in host `h`'s network
    /// namespace (e.g. `mon` on a director), whatever tools run it. A
    /// child of a process of that name is not counted: a daemon's child
    /// between fork and exec (mon starting a monitor) has its name too.
    pub fn processes(&self, h: Host, comm: &str) -> usize {
        use std::os::unix::fs::MetadataExt;
        let Ok(ino) = fs::metadata(self.topo.path(h)).map(|m| m.ino()) else {
            return 0;
        };
        let want = format!("net:[{ino}]");
        fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            })
            .filter(|e| {
                let p = e.path();
                fs::read_link(p.join("ns/net")).is_ok_and(|l| l.to_str() == Some(want.as_str()))
                    && fs::read_to_string(p.join("comm")).is_ok_and(|c| c.trim() == comm)
                    && !parent_named(&p, comm)
            })
            .count()
    }

    /// Both directors' logs, for assertion messages.
    pub fn logs(&self) -> String {
        format!("{}\n{}", self.www3.log(), self.www4.log())
    }

    /// Seconds since the cluster started, for timelines.
    pub fn secs(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::env::var_os("SEED_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.scratch);
        }
    }
}

/// Which director holds the VIP on `eth0` and what each IPVS table says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Directors with the VIP on eth0 (normally exactly one).
    pub vip_on_eth0: Vec<Host>,
    /// www4 has the VIP on lo (it is a real server).
    pub www4_vip_on_lo: bool,
    /// The real servers in www3's and www4's virtual service VIP:80.
    pub dests3: Vec<Ipv4Addr>,
    pub dests4: Vec<Ipv4Addr>,
    /// Whether each director has the virtual service at all.
    pub service3: bool,
    pub service4: bool,
    /// The director whose MAC the client's ARP entry for the VIP holds
    /// (moved by the gratuitous ARP of IPaddr / send_arp).
    pub client_arp_vip: Option<Host>,
}

impl State {
    fn read(topo: &Topology) -> State {
        State::read_at(
            &topo.path(Host::Www3),
            &topo.path(Host::Www4),
            &topo.path(Host::Client),
        )
    }

    /// Reads the state from the directors' and the client's namespaces.
    pub fn read_at(www3: &Path, www4: &Path, client: &Path) -> State {
        let mut s = State::default();
        let mut macs = vec![];
        for (h, path) in [(Host::Www3, www3), (Host::Www4, www4)] {
            let (on_eth0, on_lo, service, dests, mac) = in_netns(path, || {
                let addrs = ipv4_addrs();
                let on_eth0 = addrs
                    .iter()
                    .any(|(i, a)| i.starts_with("eth0") && *a == VIP);
                let on_lo = addrs.iter().any(|(i, a)| i.starts_with("lo") && *a == VIP);
                let (service, dests) = ipvs_dests(
                    &fs::read_to_string("/proc/thread-self/net/ip_vs").unwrap_or_default(),
                );
                (on_eth0, on_lo, service, dests, mac_of("eth0"))
            });
            if on_eth0 {
                s.vip_on_eth0.push(h);
            }
            macs.push((h, mac));
            if h == Host::Www3 {
                s.service3 = service;
                s.dests3 = dests;
            } else {
                s.www4_vip_on_lo = on_lo;
                s.service4 = service;
                s.dests4 = dests;
            }
        }
        let arp = in_netns(client, || {
            fs::read_to_string("/proc/thread-self/net/arp").unwrap_or_default()
        });
        let vip = VIP.to_string();
        s.client_arp_vip = arp.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // IP address, HW type, Flags (0x2: complete), HW address, ...
            if f.first() != Some(&vip.as_str()) || f.get(2) == Some(&"0x0") {
                return None;
            }
            let hw = f.get(3)?.to_ascii_lowercase();
            macs.iter()
                .find(|(_, m)| m.as_deref() == Some(hw.as_str()))
                .map(|(h, _)| *h)
        });
        s
    }

    /// The one active director: holds the VIP on eth0 and has the service.
    pub fn active(&self) -> Option<Host> {
        match self.vip_on_eth0.as_slice() {
            [h] if self.service(*h) => Some(*h),
            _ => None,
        }
    }

    pub fn service(&self, h: Host) -> bool {
        match h {
            Host::Www3 => self.service3,
            Host::Www4 => self.service4,
            _ => false,
        }
    }

    pub fn dests(&self, h: Host) -> &[Ipv4Addr] {
        match h {
            Host::Www3 => &self.dests3,
            Host::Www4 => &self.dests4,
            _ => &[],
        }
    }
}

/// The IPv4 addresses of this thread's network namespace: (label, addr).
pub fn ipv4_addrs() -> Vec<(String, Ipv4Addr)> {
    let mut out = vec![];
    let mut ifa: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we free below; entries are read only
    // while it is alive.
    unsafe {
        if libc::getifaddrs(&mut ifa) != 0 {
            return out;
        }
        let mut p = ifa;
        while !p.is_null() {
            let e = &*p;
            if !e.ifa_addr.is_null() && i32::from((*e.ifa_addr).sa_family) == libc::AF_INET {
                let sin = &*(e.ifa_addr as *const libc::sockaddr_in);
                let name = std::ffi::CStr::from_ptr(e.ifa_name)
                    .to_string_lossy()
                    .into_owned();
                out.push((name, Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))));
            }
            p = e.ifa_next;
        }
        libc::freeifaddrs(ifa);
    }
    out
}

/// Whether the parent of the process at `/proc/PID` is named `comm`.
fn parent_named(proc_pid: &Path, comm: &str) -> bool {
    let Ok(stat) = fs::read_to_string(proc_pid.join("stat")) else {
        return false;
    };
    // pid (comm) state ppid ...: the name may hold spaces and parentheses.
    let Some(ppid) = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
    else {
        return false;
    };
    fs::read_to_string(format!("/proc/{ppid}/comm")).is_ok_and(|c| c.trim() == comm)
}

/// The hardware address of `ifname` in this thread's network namespace
/// (`aa:bb:...`), from getifaddrs' AF_PACKET entries.
pub fn mac_of(ifname: &str) -> Option<String> {
    let mut out = None;
    let mut ifa: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: as in ipv4_addrs; sockaddr_ll is what AF_PACKET entries hold.
    unsafe {
        if libc::getifaddrs(&mut ifa) != 0 {
            return None;
        }
        let mut p = ifa;
        while !p.is_null() {
            let e = &*p;
            if !e.ifa_addr.is_null()
                && i32::from((*e.ifa_addr).sa_family) == libc::AF_PACKET
                && std::ffi::CStr::from_ptr(e.ifa_name).to_bytes() == ifname.as_bytes()
            {
                let ll = &*(e.ifa_addr as *const libc::sockaddr_ll);
                let n = usize::from(ll.sll_halen).min(8);
                out = Some(
                    ll.sll_addr[..n]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(":"),
                );
            }
            p = e.ifa_next;
        }
        libc::freeifaddrs(ifa);
    }
    out
}

/// Reads `/proc/net/ip_vs`: whether the virtual service VIP:80 exists and
/// its real servers.
pub fn ipvs_dests(text: &str) -> (bool, Vec<Ipv4Addr>) {
    let vip = format!("{:08X}:0050", u32::from(VIP));
    let mut in_service = false;
    let mut found = false;
    let mut dests = vec![];
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() == Some(&"TCP") {
            in_service = f.get(1) == Some(&vip.as_str());
            found |= in_service;
        } else if in_service && f.first() == Some(&"->") {
            if let Some(a) = f.get(1).and_then(|a| a.split(':').next()) {
                if let Ok(n) = u32::from_str_radix(a, 16) {
                    dests.push(Ipv4Addr::from(n));
                }
            }
        } else if !line.starts_with(' ') && f.first() != Some(&"->") {
            in_service = false;
        }
    }
    dests.sort();
    (found, dests)
}

/// One HTTP/1.0 GET of `/` at VIP:80 from client address `src`, a new
/// connection (KeepAlive off, as get_title.pl): the page's `<title>`.
pub fn get_title(src: Ipv4Addr, timeout: Duration) -> Result<String, String> {
    // SAFETY: plain socket calls on a descriptor we own; it is handed to
    // TcpStream (which closes it) or closed on error.
    let stream = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(format!("socket: {}", io::Error::last_os_error()));
        }
        let stream = TcpStream::from_raw_fd(fd);
        let sin = |a: Ipv4Addr, port: u16| libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(a).to_be(),
            },
            sin_zero: [0; 8],
        };
        let local = sin(src, 0);
        if libc::bind(
            fd,
            &local as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        ) != 0
        {
            return Err(format!("bind {src}: {}", io::Error::last_os_error()));
        }
        // A blocking connect honours SO_SNDTIMEO.
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        let remote = sin(VIP, 80);
        if libc::connect(
            fd,
            &remote as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        ) != 0
        {
            return Err(format!("connect: {}", io::Error::last_os_error()));
        }
        stream
    };
    let mut stream = stream;
    stream
        .write_all(format!("GET / HTTP/1.0\r\nHost: {VIP}\r\nConnection: close\r\n\r\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut body = String::new();
    stream
        .read_to_string(&mut body)
        .map_err(|e| format!("receive: {e}"))?;
    let lower = body.to_ascii_lowercase();
    match (lower.find("<title>"), lower.find("</title>")) {
        (Some(a), Some(b)) if b > a + 7 => Ok(body[a + 7..b].trim().to_string()),
        _ => Err(format!(
            "no title in answer: {:?}",
            body.lines().next().unwrap_or("")
        )),
    }
}

/// The `n`-th client source address (0 is 10.0.0.200).
pub fn client_addr(n: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(CLIENT) + u32::from(n % CLIENTS))
}

/// get_title.pl from the client namespace: `count` requests from client
/// address `src`, each on a new connection. Returns the answers in order.
pub fn get_titles(
    topo: &Topology,
    src: Ipv4Addr,
    count: usize,
    timeout: Duration,
) -> Vec<Result<String, String>> {
    in_netns(&topo.path(Host::Client), move || {
        (0..count).map(|_| get_title(src, timeout)).collect()
    })
}

/// One client request's outcome, timed from the cluster's start.
#[derive(Clone, Debug)]
pub struct Probe {
    pub at: f64,
    pub src: Ipv4Addr,
    pub result: Result<String, String>,
}

/// A client that keeps asking (every `period`, rotating over the client
/// addresses, each request with `timeout`) until stopped: what a user of
/// the site sees during a scenario.
pub struct Prober {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Probe>>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Prober {
    pub fn start(cluster: &Cluster, period: Duration, timeout: Duration) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let ns = fs::File::open(cluster.topo.path(Host::Client)).expect("client netns");
        let t0 = cluster.t0;
        let (s, l) = (stop.clone(), log.clone());
        let handle = std::thread::spawn(move || {
            // SAFETY: setns(2) on this thread only.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                panic!("setns: {}", io::Error::last_os_error());
            }
            let mut n = 0u8;
            while !s.load(Ordering::Relaxed) {
                let start = Instant::now();
                let src = client_addr(n);
                n = n.wrapping_add(1);
                let result = get_title(src, timeout);
                l.lock().unwrap().push(Probe {
                    at: (start - t0).as_secs_f64(),
                    src,
                    result,
                });
                if let Some(rest) = period.checked_sub(start.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
        });
        Prober {
            stop,
            log,
            handle: Some(handle),
        }
    }

    /// Everything seen so far.
    pub fn probes(&self) -> Vec<Probe> {
        self.log.lock().unwrap().clone()
    }

    /// Stops the client and returns everything it saw.
    pub fn finish(mut self) -> Vec<Probe> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.probes()
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The client-visible outage around `since`: from the last success
/// before the first failure after `since` to the first success after the
/// last failure. `None` when no request after `since` failed.
#[derive(Clone, Debug)]
pub struct Outage {
    /// First failed request (seconds since the cluster started).
    pub first_error: f64,
    /// Last failed request.
    pub last_error: f64,
    /// First success after the last failure.
    pub recovered: Option<f64>,
    /// How many requests failed.
    pub errors: usize,
    /// How many requests ran in the window.
    pub requests: usize,
}

impl Outage {
    /// Requests at or after `since` (and before `until`, if given).
    pub fn find(probes: &[Probe], since: f64, until: Option<f64>) -> Option<Outage> {
        let w: Vec<&Probe> = probes
            .iter()
            .filter(|p| p.at >= since && until.is_none_or(|u| p.at < u))
            .collect();
        let first = w.iter().position(|p| p.result.is_err())?;
        let last = w.iter().rposition(|p| p.result.is_err())?;
        Some(Outage {
            first_error: w[first].at,
            last_error: w[last].at,
            recovered: w[last + 1..]
                .iter()
                .find(|p| p.result.is_ok())
                .map(|p| p.at),
            errors: w.iter().filter(|p| p.result.is_err()).count(),
            requests: w.len(),
        })
    }

    /// The gap clients saw: failure start to recovery.
    pub fn gap(&self) -> Option<f64> {
        self.recovered.map(|r| r - self.first_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// /proc/net/ip_vs as the 6.1 kernel prints it: the VIP's service and
    /// its destinations; other services' destinations are not counted.
    #[test]
    fn ipvs_dests_reads_the_vip_service_only() {
        let text = "IP Virtual Server version 1.2.1 (size=4096)\n\
Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n\
TCP  0A000064:0050 wlc persistent 360\n  -> 0A00000C:0050      Route   100    0          3         \n  -> 0A00000B:0050      Route   100    1          0         \n\
TCP  0A000064:01BB rr\n  -> 0A000004:01BB      Route   1      0          0         \n";
        let (found, dests) = ipvs_dests(text);
        assert!(found);
        assert_eq!(
            dests,
            [Ipv4Addr::new(10, 0, 0, 11), Ipv4Addr::new(10, 0, 0, 12)]
        );
        assert_eq!(
            ipvs_dests("IP Virtual Server version 1.2.1 (size=4096)\n"),
            (false, vec![])
        );
    }

    fn probe(at: f64, ok: bool) -> Probe {
        Probe {
            at,
            src: CLIENT,
            result: if ok {
                Ok("node01".into())
            } else {
                Err("connect".into())
            },
        }
    }

    /// The gap runs from the first failure to the first success after the
    /// last failure; successes between failures do not end it.
    #[test]
    fn outage_spans_first_failure_to_recovery() {
        let p: Vec<Probe> = [
            (1.0, true),
            (2.0, false),
            (3.0, true),
            (4.0, false),
            (5.0, true),
            (6.0, true),
        ]
        .iter()
        .map(|&(t, ok)| probe(t, ok))
        .collect();
        let o = Outage::find(&p, 1.5, None).unwrap();
        assert_eq!(
            (o.first_error, o.last_error, o.recovered),
            (2.0, 4.0, Some(5.0))
        );
        assert_eq!((o.errors, o.requests), (2, 5));
        assert_eq!(o.gap(), Some(3.0));
        assert!(Outage::find(&p, 4.5, None).is_none());
        assert_eq!(Outage::find(&p[..4], 0.0, None).unwrap().gap(), None);
    }
}
