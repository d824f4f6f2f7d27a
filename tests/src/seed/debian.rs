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
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    /// Its tree under `root`: `etc-ha.d/`, `run/`, `log/`, `etc-mon/`…
    pub m: super::Machine,
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
            m: super::Machine::new(node, netns, root),
        }
    }

    /// The script PID 1 of the director runs: private mounts, heartbeat in
    /// the background, then an idle loop that outlives heartbeat (a
    /// SIGKILLed heartbeat leaves mon and the kernel state behind, as on a
    /// real machine), reaps orphans (bash's SIGCHLD handler) and takes the
    /// order `heartbeat` (start it again) on `/run/pid1.fifo`.
    fn boot_script(&self) -> String {
        let r = self.m.root.display();
        let mon_cf = fs::read_to_string(self.m.root.join("etc-mon/mon.cf")).unwrap_or_default();
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
        s += &format!("hostname {}\n", self.m.node);
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

    /// Processes of this director (host PIDs) named `comm`.
    pub fn pids_named(&self, comm: &str) -> Vec<i32> {
        self.m.pids_named(comm)
    }
}

impl super::Director for DebianDirector {
    fn node(&self) -> &str {
        &self.m.node
    }

    fn tools(&self) -> &'static str {
        "debian"
    }

    fn boot(&mut self) {
        // /run is a tmpfs on a real machine: nothing survives a reboot.
        // What heartbeat 3.0.6 expects of a Debian boot (lab-notes.md).
        let run = self.m.root.join("run");
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
        self.m.spawn(&script, DEBIAN_PATH);
    }

    /// SIGKILL to every heartbeat process (master control, FIFO reader,
    /// the bcast reader and writer): mon, the VIP and the IPVS table stay.
    fn kill_heartbeat(&mut self) -> bool {
        self.m.kill_named("heartbeat")
    }

    fn start_heartbeat(&mut self) {
        self.m.tell_pid1("heartbeat");
    }

    /// Everything in the director dies at once (power cut).
    fn crash(&mut self) {
        self.m.crash();
    }

    /// heartbeat's `logfile`, its stderr, and the boot script's output.
    /// (`ha-debug` stays in the root for debugging.)
    fn log(&self) -> String {
        self.m.log(&format!("{}, debian", self.m.node))
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
