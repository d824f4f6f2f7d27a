//! Helpers shared by the cross-component tests.
//!
//! The lab helpers are for tests that need the real kernel IPVS. They run
//! inside the QEMU lab (`lab/vm-run`, see `lab/README.md`), where each test
//! works in a fresh network namespace and so starts from an empty IPVS
//! table. They never touch the initial namespace's IPVS table, even on a
//! host whose kernel has IPVS.

pub mod seed;

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Debian's ipvsadm 1.31, the reference the lab tests compare against.
pub const DEBIAN_IPVSADM: &str = "/sbin/ipvsadm";

const IP: &str = "/sbin/ip";

/// True inside the lab VM (`lab/vm-run` sets `LAB_VM=1`).
pub fn in_lab() -> bool {
    std::env::var_os("LAB_VM").is_some_and(|v| v == "1")
}

/// Makes sure this kernel has IPVS, or fails the test loudly.
///
/// Inside the lab the modules are loaded already. Outside it, a host kernel
/// may still have IPVS as a module: `modprobe ip_vs` is tried once. A test
/// that cannot reach a real IPVS must fail, not pass silently: run it
/// through `lab/vm-run` instead.
pub fn require_ipvs() {
    let proc_ip_vs = Path::new("/proc/net/ip_vs");
    if !proc_ip_vs.exists() {
        // Best effort: the outcome is checked just below.
        let _ = Command::new("modprobe")
            .arg("ip_vs")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    if proc_ip_vs.exists() {
        return;
    }
    if in_lab() {
        panic!("inside the lab VM but /proc/net/ip_vs is missing: the lab failed to load ip_vs");
    }
    panic!(
        "this kernel has no IPVS (/proc/net/ip_vs missing, `modprobe ip_vs` did not help).\n\
         Run the lab tests inside the QEMU lab:\n  \
         CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/lab/vm-run \
         cargo test -p suite-tests --features lab --test lab\n\
         (see lab/README.md)"
    );
}

/// Fails the test loudly when `path` is not an executable file: a missing
/// reference tool must never turn a differential test into a silent pass.
pub fn require_tool(path: &str) {
    let ok = std::fs::metadata(path).is_ok_and(|m| m.is_file());
    assert!(
        ok,
        "required tool {path} is missing (lab/setup installs the Debian packages)"
    );
}

/// A fresh named network namespace (`ip netns add`), loopback up, deleted
/// again on drop. Names are unique per process and call.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `PREFIX-PID-N`. Prefix it with your component (`lab`, `hb`,
    /// `mon`, `sa`) so parallel developers on one machine never collide.
    pub fn new(prefix: &str) -> Netns {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new(IP)
            .args(["netns", "add", &name])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {IP}: {e}"));
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ns = Netns { name };
        ns.run_ok(&[IP, "link", "set", "lo", "up"]);
        ns
    }

    /// A namespace for an IPVS test: fails loudly unless the kernel has IPVS
    /// (see [`require_ipvs`]). Its IPVS table starts empty.
    pub fn with_ipvs(prefix: &str) -> Netns {
        require_ipvs();
        Netns::new(prefix)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/run/netns/NAME`, the handle `setns(2)` takes.
    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// A command that runs inside this namespace (network only: unlike
    /// `ip netns exec` it does not remount /sys or bind /etc/netns files,
    /// which saves a process per call, ~0.2 s under the lab's TCG).
    pub fn command(&self, argv: &[&str]) -> Command {
        assert!(!argv.is_empty(), "empty argv");
        let ns = File::open(self.path()).unwrap_or_else(|e| panic!("open {}: {e}", self.path()));
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..]);
        // SAFETY: between fork and exec only setns(2) runs, which is
        // async-signal-safe; `ns` moves into the closure and outlives it.
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

    /// Runs `argv` in this namespace and returns what it did.
    pub fn run(&self, argv: &[&str]) -> Output {
        self.command(argv)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {argv:?} in netns {}: {e}", self.name))
    }

    /// Runs `argv` in this namespace, panics unless it exits 0, returns its
    /// stdout.
    pub fn run_ok(&self, argv: &[&str]) -> String {
        let out = self.run(argv);
        assert!(
            out.status.success(),
            "{argv:?} in netns {} failed ({}):\nstdout: {}\nstderr: {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap_or_else(|e| panic!("{argv:?}: stdout is not UTF-8: {e}"))
    }

    /// Runs a batch of `ip` commands (one per line, `ip -batch` syntax) in
    /// this namespace with a single process.
    pub fn ip_batch(&self, script: &str) {
        use std::io::Write;
        let mut child = self
            .command(&[IP, "-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run ip -batch: {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ip -batch in netns {} failed:\n{script}\n{}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Not `ip netns del`: it is a process, and unmounting + unlinking is
        // all it does. Errors are ignored; a leftover name is harmless in the
        // throw-away VM and unique on a host.
        let path = self.path();
        if let Ok(c) = CString::new(path.clone()) {
            // SAFETY: a valid NUL-terminated path.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        let _ = std::fs::remove_file(&path);
    }
}

/// Runs `argv` inside `netns`; see [`Netns::run`].
pub fn run_in(netns: &Netns, argv: &[&str]) -> Output {
    netns.run(argv)
}
