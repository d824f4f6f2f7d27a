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

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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

/// A seed file for `node`: `examples/seed/<node>/NAME` wins over
/// `examples/seed/NAME` (www4 has its own `puck` and `lvs-r.sh`).
fn seed_file(node: &str, name: &str) -> PathBuf {
    let own = super::seed_dir().join(node).join(name);
    if own.exists() {
        own
    } else {
        super::seed_dir().join(name)
    }
}

/// One director running Debian's tools; see the module documentation.
/// Same paths inside as [`super::OursDirector`]: `/etc/ha.d/{ha.cf,
/// authkeys,haresources,resource.d/puck,lvs-r.sh}`, `/etc/mon/mon.cf`,
/// `lvs.alert` in mon.cf's `alertdir`, `/etc/rc.d/init.d/functions`.
#[derive(Debug)]
pub struct DebianDirector {
    node: String,
    /// The director's network namespace handle (`/run/netns/sd-www3-TAG`).
    netns: PathBuf,
    /// Per-director state: `etc-ha.d/`, `run/`, `log/`, `etc-mon/`…
    /// (kept after drop only when `SEED_KEEP` is set, for debugging).
    pub root: PathBuf,
    /// `unshare`: its child is PID 1 of the director's PID namespace.
    child: Option<Child>,
}

impl DebianDirector {
    /// Lays out the director's private tree under `root` (emptied first)
    /// from Debian's installed files and the seed's. Nothing runs yet.
    pub fn new(node: &str, netns: PathBuf, root: &Path) -> DebianDirector {
        require_debian_director();
        let _ = fs::remove_dir_all(root);
        for d in [
            "etc-ha.d",
            "varlib-heartbeat/cores/root",
            "run",
            "log",
            "etc-mon",
            "varlib-mon",
            "alert.d",
            "rc.d/init.d",
        ] {
            mkdir(&root.join(d));
        }
        let r = root.display();
        // Debian's installed files first (harc, shellfuncs, rc.d/, the
        // resource.d scripts with IPaddr; mon's auth.cf; the shipped
        // alerts), then the seed's on top.
        sh_ok(&format!(
            "cp -a /etc/ha.d/. {r}/etc-ha.d/ && cp -a /etc/mon/. {r}/etc-mon/ && cp -a {ALERT_D}/. {r}/alert.d/"
        ));
        let at = |p: &str| root.join(p);
        copy(&seed_file(node, "ha.cf"), &at("etc-ha.d/ha.cf"), 0o644);
        copy(
            &seed_file(node, "authkeys"),
            &at("etc-ha.d/authkeys"),
            0o600,
        );
        copy(
            &seed_file(node, "haresources"),
            &at("etc-ha.d/haresources"),
            0o644,
        );
        copy(
            &seed_file(node, "puck"),
            &at("etc-ha.d/resource.d/puck"),
            0o755,
        );
        if seed_file(node, "lvs-r.sh").exists() {
            copy(
                &seed_file(node, "lvs-r.sh"),
                &at("etc-ha.d/lvs-r.sh"),
                0o755,
            );
        }
        copy(&seed_file(node, "mon.cf"), &at("etc-mon/mon.cf"), 0o644);
        copy(
            &seed_file(node, "lvs.alert"),
            &at("alert.d/lvs.alert"),
            0o755,
        );
        fs::write(at("rc.d/init.d/functions"), super::RC_FUNCTIONS).expect("write functions");
        DebianDirector {
            node: node.to_string(),
            netns,
            root: root.to_path_buf(),
            child: None,
        }
    }

    /// The script PID 1 of the director runs: private mounts, heartbeat in
    /// the background, then an idle loop that outlives heartbeat (a
    /// SIGKILLed heartbeat leaves mon and the kernel state behind, as on a
    /// real machine), reaps orphans (bash's SIGCHLD handler) and takes the
    /// order `heartbeat` (start it again) on `/run/pid1.fifo`.
    fn boot_script(&self) -> String {
        let r = self.root.display();
        let mon_cf = fs::read_to_string(self.root.join("etc-mon/mon.cf")).unwrap_or_default();
        let mut binds: Vec<(String, String)> = vec![
            (format!("{r}/etc-ha.d"), "/etc/ha.d".into()),
            (format!("{r}/varlib-heartbeat"), "/var/lib/heartbeat".into()),
            (format!("{r}/run"), "/run".into()),
            (format!("{r}/log"), "/var/log".into()),
            (format!("{r}/etc-mon"), "/etc/mon".into()),
            (format!("{r}/varlib-mon"), "/var/lib/mon".into()),
            (format!("{r}/rc.d"), "/etc/rc.d".into()),
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
        s += &format!("hostname {}\n", self.node);
        // This mount namespace's /sys shows this network namespace's links.
        s += "mount -t sysfs sysfs /sys\n";
        for (src, dst) in &binds {
            s += &format!("mkdir -p {dst}\nmount --bind {src} {dst}\n");
        }
        s += "set +e\ncd /\n";
        s += &format!("start_hb() {{ {HEARTBEAT} -f >>/var/log/ha-console 2>&1 & }}\n");
        s += "start_hb\n";
        s += "exec 3<>/run/pid1.fifo\n";
        s += "while :; do if read -t 5 line <&3; then case $line in heartbeat) start_hb ;; esac; fi; done\n";
        s
    }

    /// Processes of this director (PIDs in our namespace) named `comm`.
    pub fn pids_named(&self, comm: &str) -> Vec<i32> {
        let Some(c) = self.child.as_ref() else {
            return Vec::new();
        };
        let Ok(want) = fs::read_link(format!("/proc/{}/ns/pid_for_children", c.id())) else {
            return Vec::new();
        };
        let mut out = Vec::new();
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
}

impl super::Director for DebianDirector {
    fn node(&self) -> &str {
        &self.node
    }

    fn tools(&self) -> &'static str {
        "debian"
    }

    fn boot(&mut self) {
        assert!(self.child.is_none(), "{} already booted", self.node);
        // /run is a tmpfs on a real machine: nothing survives a reboot.
        // What heartbeat 3.0.6 expects of a Debian boot (lab-notes.md).
        let run = self.root.join("run");
        let _ = fs::remove_dir_all(&run);
        for d in [
            "heartbeat/ccm",
            "heartbeat/crm",
            "heartbeat/dopd",
            "resource-agents",
            "mon",
            "lock",
        ] {
            mkdir(&run.join(d));
        }
        let r = run.display();
        sh_ok(&format!(
            "chown hacluster:haclient {r}/heartbeat/ccm {r}/heartbeat/crm {r}/heartbeat/dopd && \
             chmod 750 {r}/heartbeat/ccm {r}/heartbeat/crm {r}/heartbeat/dopd && mkfifo -m 600 {r}/pid1.fifo"
        ));
        let script = self.boot_script();
        fs::write(self.root.join("boot.sh"), &script).expect("write boot.sh");
        let console = fs::File::create(self.root.join("console.log")).expect("console log");
        let mut cmd = super::netns_command(
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
            .env("PATH", DEBIAN_PATH)
            .env("LANG", "C")
            .env("HOME", "/root")
            .stdin(Stdio::null())
            .stdout(console.try_clone().expect("dup"))
            .stderr(console);
        self.child = Some(cmd.spawn().expect("start unshare for the Debian director"));
    }

    /// SIGKILL to every heartbeat process (master control, FIFO reader,
    /// the bcast reader and writer): mon, the VIP and the IPVS table stay.
    fn kill_heartbeat(&mut self) -> bool {
        let pids = self.pids_named("heartbeat");
        for p in &pids {
            // SAFETY: plain kill(2).
            unsafe { libc::kill(*p, libc::SIGKILL) };
        }
        !pids.is_empty()
    }

    fn start_heartbeat(&mut self) {
        let mut f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.root.join("run/pid1.fifo"))
            .expect("open the director's FIFO");
        f.write_all(b"heartbeat\n")
            .expect("write the director's FIFO");
    }

    /// Everything in the director dies at once (power cut): PID 1 of its
    /// PID namespace is killed, so the kernel kills the rest.
    fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // --kill-child: the namespace's PID 1 gets SIGKILL
            let _ = c.wait();
        }
    }

    /// heartbeat's `logfile` (`/var/log/ha-log`), its stderr, and the
    /// boot script's output. (`ha-debug` stays in the root for debugging.)
    fn log(&self) -> String {
        let mut s = String::new();
        for name in ["ha-log", "ha-console"] {
            if let Ok(t) = fs::read_to_string(self.root.join("log").join(name)) {
                s += &format!("--- {name} ({}, debian)\n{t}", self.node);
            }
        }
        if let Ok(t) = fs::read_to_string(self.root.join("console.log")) {
            if !t.is_empty() {
                s += &format!("--- console ({}, debian)\n{t}", self.node);
            }
        }
        s
    }
}

impl Drop for DebianDirector {
    fn drop(&mut self) {
        super::Director::crash(self);
        if std::env::var_os("SEED_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
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
