//! Running Debian's heartbeat 3.0.6 and mon 1.3.6 as one of the seed
//! cluster's directors (the rolling-replacement scenarios).
//!
//! A Debian director is what an operator has before the upgrade: Debian's
//! `/usr/libexec/heartbeat/heartbeat` with its `ResourceManager`, `IPaddr`
//! (resource-agents) and `send_arp`, the seed's `puck` starting Debian's
//! `/usr/sbin/mon` with Debian's `fping.monitor` and `http.monitor`, and the
//! seed's `lvs.alert` calling Debian's `/sbin/ipvsadm`. The seed's files are
//! used unchanged; only where they live is arranged per node.
//!
//! Debian's daemons have fixed paths (`/etc/ha.d`, `/var/lib/heartbeat`,
//! `/run`, `/var/log`, `/etc/mon`, `/var/lib/mon`) and the seed's `puck stop`
//! runs `killproc mon` and `killall http.monitor`. So each Debian director
//! runs in its own mount, UTS and PID namespaces inside its network
//! namespace, with per-node directories bound over those paths and `/proc`
//! remounted, so that `killall` only sees the director's own processes and
//! `uname -n` is the heartbeat node name.

// The section 5.1 load generator lives in seed/load.rs; it is reached from
// here until seed/mod.rs declares it (requested in notes/seed-api.md).
#[path = "load.rs"]
pub mod load;

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's heartbeat 3.0.6 daemon.
pub const HEARTBEAT: &str = "/usr/libexec/heartbeat/heartbeat";
/// Debian's mon 1.3.6 (a Perl script: its process name is `mon`).
pub const MON: &str = "/usr/sbin/mon";
/// Debian's monitors, used as they are.
pub const MON_D: &str = "/usr/lib/mon/mon.d";
/// Debian's alert scripts; the seed's `lvs.alert` is added to a copy.
pub const ALERT_D: &str = "/usr/lib/mon/alert.d";
/// Debian's `send_arp` (IPaddr runs it in the background).
pub const SEND_ARP: &str = "/usr/libexec/heartbeat/send_arp";
/// resource-agents' helper functions; without them `ResourceManager`
/// exits 2 and heartbeat silently acquires nothing.
pub const SHELLFUNCS: &str = "/etc/ha.d/shellfuncs";

/// A plain Debian PATH: the seed's scripts call `mon`, `ipvsadm`,
/// `killall`, `ifconfig` by name, and on a Debian director every one of
/// them must be Debian's, never one of our freshly built binaries.
pub const DEBIAN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Fails loudly (never skips) when a piece of the Debian director is
/// missing: the rolling-replacement tests are only meaningful with the
/// real originals.
pub fn require_debian_director() {
    for (path, pkg) in [
        (HEARTBEAT, "heartbeat"),
        (SEND_ARP, "heartbeat"),
        ("/usr/share/heartbeat/ResourceManager", "heartbeat"),
        ("/etc/ha.d/resource.d/IPaddr", "heartbeat"),
        (
            "/usr/lib/ocf/resource.d/heartbeat/IPaddr",
            "resource-agents",
        ),
        (SHELLFUNCS, "resource-agents"),
        ("/sbin/ifconfig", "net-tools"),
        (MON, "mon"),
        ("/usr/lib/mon/mon.d/fping.monitor", "mon"),
        ("/usr/lib/mon/mon.d/http.monitor", "mon"),
        ("/usr/bin/fping", "fping"),
        (crate::DEBIAN_IPVSADM, "ipvsadm"),
        ("/usr/bin/unshare", "util-linux"),
        ("/usr/bin/killall", "psmisc"),
    ] {
        assert!(
            Path::new(path).exists(),
            "the Debian director needs {path} (Debian package {pkg}; lab/packages.txt, lab/setup installs it)"
        );
    }
}

/// One file of the seed placed at a fixed path inside the director.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The file as shipped (e.g. `examples/seed/puck`).
    pub source: PathBuf,
    /// Where the director's scripts expect it (e.g. `/etc/ha.d/resource.d/puck`).
    pub target: String,
    pub mode: u32,
}

/// The seed's files for one Debian director, and where each one goes.
#[derive(Debug, Clone)]
pub struct DebianConfig {
    /// Heartbeat node name (`www3`, `www4`): the UTS hostname.
    pub node: String,
    /// `ha.cf`, `authkeys`, `haresources` for `/etc/ha.d`.
    pub ha_cf: PathBuf,
    pub authkeys: PathBuf,
    pub haresources: PathBuf,
    /// The seed's `mon.cf` (for `/etc/mon/mon.cf`); its `alertdir` and
    /// `mondir` lines say where `lvs.alert` and the monitors must be.
    pub mon_cf: PathBuf,
    /// The seed's `lvs.alert`, added to a copy of Debian's alert directory.
    pub lvs_alert: PathBuf,
    /// Every other file (the `puck` resource script, `lvs-r.sh`, RedHat's
    /// `functions` for `puck`...), each at the path the scripts use.
    pub files: Vec<Placed>,
}

impl DebianConfig {
    /// The seed's file set from `dir` (normally `examples/seed`):
    /// `ha.cf`, `authkeys`, `haresources`, `mon.cf`, `lvs.alert`. Add the
    /// rest with [`DebianConfig::place`].
    pub fn from_seed_dir(node: &str, dir: &Path) -> DebianConfig {
        DebianConfig {
            node: node.to_string(),
            ha_cf: dir.join("ha.cf"),
            authkeys: dir.join("authkeys"),
            haresources: dir.join("haresources"),
            mon_cf: dir.join("mon.cf"),
            lvs_alert: dir.join("lvs.alert"),
            files: Vec::new(),
        }
    }

    /// Puts `source` at `target` inside the director.
    pub fn place(mut self, source: impl Into<PathBuf>, target: &str, mode: u32) -> DebianConfig {
        self.files.push(Placed {
            source: source.into(),
            target: target.to_string(),
            mode,
        });
        self
    }
}

/// A `name = value` setting of the seed's `mon.cf` (first occurrence).
/// Only the first colon-separated directory counts: that is where the file
/// is put.
pub fn mon_cf_dir(mon_cf: &str, key: &str) -> Option<String> {
    mon_cf.lines().find_map(|l| {
        let (k, v) = l.trim().split_once('=')?;
        if k.trim() != key {
            return None;
        }
        let v = v.split('#').next().unwrap_or("").trim();
        let first = v.split(':').next().unwrap_or("").trim();
        (!first.is_empty()).then(|| first.to_string())
    })
}

/// One Debian director, started and stopped like a machine: `boot` starts
/// heartbeat (which runs `IPaddr` and `puck` when it takes the VIP),
/// `crash` kills everything in the director at once, `kill_heartbeat`
/// only heartbeat's master process (SIGKILL, the seed's test B).
#[derive(Debug)]
pub struct DebianDirector {
    pub config: DebianConfig,
    /// The director's network namespace handle (`/run/netns/sd-www3`).
    pub netns: PathBuf,
    /// Per-node state: `etc-ha.d/`, `run/`, `log/`, `mon/`… (kept after
    /// drop only when `SEED_KEEP` is set, for debugging).
    pub root: PathBuf,
    /// `unshare`: its child is PID 1 of the director's PID namespace.
    child: Option<Child>,
    /// Where `boot` left the console output of the director's PID 1.
    console: PathBuf,
}

impl DebianDirector {
    /// Lays out the director's private directories under `root` (which
    /// must not exist or be empty) from `config`. Nothing runs yet.
    pub fn new(config: DebianConfig, netns: impl Into<PathBuf>, root: &Path) -> DebianDirector {
        require_debian_director();
        let _ = fs::remove_dir_all(root);
        for d in [
            "etc-ha.d/resource.d",
            "etc-ha.d/rc.d",
            "varlib-heartbeat",
            "run",
            "log",
            "etc-mon",
            "varlib-mon",
            "alert.d",
            "files",
        ] {
            mkdir(&root.join(d));
        }
        let r = root.display();
        // Debian's own heartbeat files first (harc, shellfuncs, rc.d, the
        // resource.d scripts with IPaddr), then the seed's on top.
        sh_ok(&format!(
            "cp -a /etc/ha.d/. {r}/etc-ha.d/ && cp -a {ALERT_D}/. {r}/alert.d/"
        ));
        copy(&config.ha_cf, &root.join("etc-ha.d/ha.cf"), 0o644);
        copy(&config.authkeys, &root.join("etc-ha.d/authkeys"), 0o600);
        copy(
            &config.haresources,
            &root.join("etc-ha.d/haresources"),
            0o644,
        );
        copy(&config.mon_cf, &root.join("etc-mon/mon.cf"), 0o644);
        copy(&config.lvs_alert, &root.join("alert.d/lvs.alert"), 0o755);
        for (i, f) in config.files.iter().enumerate() {
            copy(&f.source, &root.join(format!("files/{i}")), f.mode);
        }
        DebianDirector {
            config,
            netns: netns.into(),
            root: root.to_path_buf(),
            child: None,
            console: root.join("console.log"),
        }
    }

    /// The shell script PID 1 of the director runs: private mounts, then
    /// heartbeat in the foreground; it stays alive after heartbeat dies so
    /// that a SIGKILLed heartbeat leaves mon and the kernel state behind,
    /// as on a real machine.
    fn boot_script(&self) -> String {
        let r = self.root.display();
        let mon_cf = fs::read_to_string(&self.config.mon_cf).unwrap_or_default();
        let mut binds: Vec<(String, String)> = vec![
            (format!("{r}/etc-ha.d"), "/etc/ha.d".into()),
            (format!("{r}/varlib-heartbeat"), "/var/lib/heartbeat".into()),
            (format!("{r}/run"), "/run".into()),
            (format!("{r}/log"), "/var/log".into()),
            (format!("{r}/etc-mon"), "/etc/mon".into()),
            (format!("{r}/varlib-mon"), "/var/lib/mon".into()),
        ];
        // mon.cf decides where lvs.alert and the monitors are looked for.
        let alertdir = mon_cf_dir(&mon_cf, "alertdir").unwrap_or_else(|| ALERT_D.to_string());
        binds.push((format!("{r}/alert.d"), alertdir));
        if let Some(mondir) = mon_cf_dir(&mon_cf, "mondir") {
            if mondir != MON_D {
                binds.push((MON_D.to_string(), mondir));
            }
        }
        let mut s = String::from("set -e\n");
        s += &format!("hostname {}\n", self.config.node);
        // This mount namespace's /sys shows this network namespace's links.
        s += "mount -t sysfs sysfs /sys\n";
        for (src, dst) in &binds {
            s += &format!("mkdir -p {dst}\nmount --bind {src} {dst}\n");
        }
        for (i, f) in self.config.files.iter().enumerate() {
            let t = &f.target;
            let parent = Path::new(t)
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "/".into());
            s += &format!(
                "mkdir -p {parent}\n[ -e {t} ] || : > {t}\nmount --bind {r}/files/{i} {t}\n"
            );
        }
        // What heartbeat 3.0.6 expects of a Debian boot (lab-notes.md).
        s += "mkdir -p /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd /run/resource-agents /run/mon /run/lock /var/log/mon /var/lib/heartbeat/cores\n";
        s += "chown hacluster:haclient /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd || true\n";
        s += "chmod 750 /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd\n";
        s += "set +e\n";
        s += &format!("cd /\n{HEARTBEAT} -f &\necho $! > /run/heartbeat-master.nspid\n");
        // PID 1 must outlive heartbeat (its death would kill mon too) and
        // reap orphans (send_arp, monitors): bash's wait does both.
        s += "while :; do wait; read -t 5 <> /run/pid1.fifo || true; done\n";
        s
    }

    /// Starts the director: like booting the machine with heartbeat
    /// enabled. Its network namespace must already be wired.
    pub fn boot(&mut self) {
        assert!(
            self.child.is_none(),
            "{} is already running",
            self.config.node
        );
        let script = self.boot_script();
        let r = &self.root;
        fs::write(r.join("boot.sh"), &script).expect("write boot.sh");
        // PID 1's idle read blocks on this FIFO instead of forking sleeps.
        let fifo = r.join("run/pid1.fifo");
        let _ = fs::remove_file(&fifo);
        sh_ok(&format!("mkfifo {}", fifo.display()));
        let console = fs::File::create(&self.console).expect("console log");
        let ns = fs::File::open(&self.netns)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.netns.display()));
        let mut cmd = Command::new("/usr/bin/unshare");
        cmd.args([
            "--mount",
            "--uts",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--propagation",
            "private",
            "/bin/bash",
        ])
        .arg(r.join("boot.sh"))
        .env_clear()
        .env("PATH", DEBIAN_PATH)
        .env("LANG", "C")
        .env("HOME", "/root")
        .stdin(Stdio::null())
        .stdout(console.try_clone().expect("dup"))
        .stderr(console);
        // SAFETY: only setns(2) runs between fork and exec; it is
        // async-signal-safe and `ns` lives in the closure.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        self.child = Some(cmd.spawn().expect("start unshare for the Debian director"));
    }

    /// True while the director's PID namespace is up.
    pub fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// PID (in our namespace) of the director's PID 1.
    fn pid1(&self) -> Option<i32> {
        let c = self.child.as_ref()?;
        children(c.id() as i32).into_iter().next()
    }

    /// Processes of the director (in our PID namespace) named `comm`.
    pub fn pids_named(&self, comm: &str) -> Vec<i32> {
        let Some(p1) = self.pid1() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut todo = vec![p1];
        while let Some(p) = todo.pop() {
            let kids = children(p);
            if fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == comm) {
                out.push(p);
            }
            todo.extend(kids);
        }
        out
    }

    /// heartbeat's master control process: PID 1's child named heartbeat.
    pub fn heartbeat_master(&self) -> Option<i32> {
        let p1 = self.pid1()?;
        children(p1).into_iter().find(|p| {
            fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "heartbeat")
        })
    }

    /// SIGKILLs heartbeat's master process only (test B's "kill -9 its
    /// heartbeat"): mon, the VIP and the IPVS table stay behind.
    pub fn kill_heartbeat(&self) -> bool {
        match self.heartbeat_master() {
            // SAFETY: plain kill(2).
            Some(p) => unsafe { libc::kill(p, libc::SIGKILL) == 0 },
            None => false,
        }
    }

    /// SIGTERM to heartbeat: a clean stop (it gives its resources up and
    /// tells the peer). Returns false when heartbeat is not running.
    pub fn stop_heartbeat(&self) -> bool {
        match self.heartbeat_master() {
            // SAFETY: plain kill(2).
            Some(p) => unsafe { libc::kill(p, libc::SIGTERM) == 0 },
            None => false,
        }
    }

    /// Waits until no heartbeat process is left in the director.
    pub fn wait_heartbeat_gone(&self, limit: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < limit {
            if self.pids_named("heartbeat").is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Everything in the director dies at once (power cut): PID 1 of its
    /// PID namespace is killed, so the kernel kills the rest. The network
    /// namespace's state (addresses, IPVS table) is left as it was; the
    /// caller cuts the link and cleans it as the scenario needs.
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // --kill-child: the namespace's PID 1 gets SIGKILL
            let _ = c.wait();
        }
    }

    /// heartbeat's log (the seed's `logfile`/`debugfile` in `/var/log`).
    pub fn log(&self) -> String {
        let mut s = String::new();
        for name in ["ha-log", "ha-debug"] {
            if let Ok(t) = fs::read_to_string(self.root.join("log").join(name)) {
                s += &format!("--- {name} ({})\n{t}", self.config.node);
            }
        }
        if let Ok(t) = fs::read_to_string(&self.console) {
            if !t.is_empty() {
                s += &format!("--- console ({})\n{t}", self.config.node);
            }
        }
        s
    }

    /// A short tail of the logs for assertion messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let all = self.log();
        let v: Vec<&str> = all.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for DebianDirector {
    fn drop(&mut self) {
        self.crash();
        if std::env::var_os("SEED_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// Direct children of `pid` (all its threads' children).
fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(s) = fs::read_to_string(t.path().join("children")) {
            out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
}

fn mkdir(p: &Path) {
    fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
}

fn copy(from: &Path, to: &Path, mode: u32) {
    fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    fs::set_permissions(to, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", to.display()));
}

fn sh_ok(cmd: &str) {
    let out = Command::new("/bin/sh")
        .args(["-c", cmd])
        .output()
        .unwrap_or_else(|e| panic!("sh: {e}"));
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mon_cf_dirs_take_the_first_directory_and_drop_comments() {
        let cf = "cfbasedir = /etc/mon\nalertdir   = /usr/lib/mon/alert.d:/x # seed\nmondir=/usr/lib/mon/mon.d\n";
        assert_eq!(
            mon_cf_dir(cf, "alertdir").as_deref(),
            Some("/usr/lib/mon/alert.d")
        );
        assert_eq!(
            mon_cf_dir(cf, "mondir").as_deref(),
            Some("/usr/lib/mon/mon.d")
        );
        assert_eq!(mon_cf_dir(cf, "logdir"), None);
    }
}
