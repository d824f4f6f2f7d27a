//! The real script runner (fork/exec, environment as ResourceManager sets it)
//! and the resource worker that runs planner jobs off the main loop.

use crate::config::HaResources;
use crate::ipaddr::{self, Flavor};
use crate::log::Level;
use crate::planner::{Action, JobResult};
use crate::resources::{
    acquire_group, release_group, run_op, AcquireOutcome, LogSink, ReleaseOutcome, ScriptDirs,
    ScriptResult, ScriptRunner,
};
use std::path::Path;
use std::process::{Command, Stdio};

/// Our own IPaddr/IPaddr2 agents, known by file identity (device and
/// inode) of the binaries installed beside the daemon: a resource script
/// that resolves to one of them (a symlink or hard link, as installed
/// into resource.d) is run in the resource worker instead of forked,
/// which saves two fork/execs on the takeover path. Anything else, a
/// user's own IPaddr script or a copy of ours included, is forked.
#[derive(Clone, Debug, Default)]
pub struct OwnAgents {
    ids: Vec<((u64, u64), Flavor)>,
}

impl OwnAgents {
    /// `HEARTBEAT_FORK_AGENTS=1` in the daemon's environment turns the
    /// in-process path off (every resource script is forked).
    pub fn beside_current_exe() -> OwnAgents {
        if std::env::var_os("HEARTBEAT_FORK_AGENTS").is_some_and(|v| !v.is_empty() && v != "0") {
            return OwnAgents::default();
        }
        match std::env::current_exe() {
            Ok(exe) => OwnAgents::beside(&exe),
            Err(_) => OwnAgents::default(),
        }
    }

    /// The agents in the directory of `exe`.
    pub fn beside(exe: &Path) -> OwnAgents {
        let Some(dir) = exe.parent() else {
            return OwnAgents::default();
        };
        let ids = [("IPaddr", Flavor::IPaddr), ("IPaddr2", Flavor::IPaddr2)]
            .into_iter()
            .filter_map(|(name, f)| Some((identity(&dir.join(name))?, f)))
            .collect();
        OwnAgents { ids }
    }

    /// Which of our agents `path` is, if it is one and starting it would
    /// not change privileges (setuid/setgid or file capabilities: then
    /// in-process it would run with the daemon's instead).
    pub fn recognise(&self, path: &Path) -> Option<Flavor> {
        let id = identity(path)?;
        let f = self.ids.iter().find(|(i, _)| *i == id)?.1;
        (!privileged(path)).then_some(f)
    }
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(path).ok()?;
    md.is_file().then(|| (md.dev(), md.ino()))
}

fn privileged(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(md) = std::fs::metadata(path) else {
        return true;
    };
    if md.permissions().mode() & 0o6000 != 0 {
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

/// Runs scripts with heartbeat's environment.
pub struct ProcessRunner {
    pub env: Vec<(String, String)>,
    pub pause: std::time::Duration,
    /// Agents run in-process (empty: fork everything).
    pub own: OwnAgents,
}

impl ScriptRunner for ProcessRunner {
    fn run(&mut self, path: &Path, args: &[String], op: &str) -> ScriptResult {
        if let Some(flavor) = self.own.recognise(path) {
            // Exactly what the forked agent gives: stdout read for status
            // only, stderr dropped, its exit status.
            let mut argv = args.to_vec();
            argv.push(op.to_string());
            // The forked agent would see the daemon's environment
            // overridden by ours.
            let run_dir = self
                .env
                .iter()
                .rev()
                .find(|(k, _)| k == "HEARTBEAT_RUN_DIR")
                .map(|(_, v)| std::path::PathBuf::from(v))
                .unwrap_or_else(ipaddr::run_dir_from_env);
            let mut err = String::new();
            let (out, status) = ipaddr::run_agent(flavor, &argv, &run_dir, &mut err);
            return ScriptResult {
                status,
                stdout: if op == "status" || op == "monitor" {
                    out
                } else {
                    String::new()
                },
            };
        }
        let mut c = Command::new(path);
        c.args(args).arg(op).stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        // Only status output is read; the rest would block on a pipe held
        // open by background children (IPaddr's send_arp), so it is dropped.
        if op == "status" || op == "monitor" {
            c.stdout(Stdio::piped()).stderr(Stdio::null());
            match c.output() {
                Ok(o) => ScriptResult {
                    status: o.status.code().unwrap_or(1),
                    stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                },
                Err(_) => ScriptResult {
                    status: 1,
                    stdout: String::new(),
                },
            }
        } else {
            c.stdout(Stdio::null()).stderr(Stdio::null());
            match c.status() {
                Ok(s) => ScriptResult {
                    status: s.code().unwrap_or(1),
                    stdout: String::new(),
                },
                Err(_) => ScriptResult {
                    status: 1,
                    stdout: String::new(),
                },
            }
        }
    }

    fn pause(&mut self) {
        std::thread::sleep(self.pause);
    }
}

/// Runs one planner job to completion, logging as it goes.
pub fn run_job(
    dirs: &ScriptDirs,
    runner: &mut dyn ScriptRunner,
    res: &HaResources,
    action: &Action,
    logs: &mut dyn LogSink,
) -> JobResult {
    let mut r = JobResult::default();
    match action {
        Action::Acquire(keys) => {
            for k in keys {
                let Some(g) = res.group(k) else { continue };
                match acquire_group(dirs, runner, g, logs) {
                    AcquireOutcome::Ok => r.acquired.push(k.clone()),
                    AcquireOutcome::Failed { .. } => r.failed = true,
                }
            }
        }
        Action::Release(keys) => {
            for k in keys {
                let Some(g) = res.group(k) else { continue };
                if let ReleaseOutcome::StopFailure { resource } =
                    release_group(dirs, runner, g, logs)
                {
                    // The original reboots here. We refuse to reboot the
                    // machine from a library and say so loudly instead.
                    logs.push((
                        Level::Crit,
                        format!("Resource {resource} could not be stopped: the other node must not take it over until it is stopped by hand."),
                    ));
                }
                r.released.push(k.clone());
            }
        }
        Action::Refresh(keys) => {
            for k in keys {
                let Some(g) = res.group(k) else { continue };
                for rsc in &g.resources {
                    run_op(dirs, runner, rsc, "start", logs);
                }
            }
        }
    }
    r
}

/// ResourceManager's lines written as they happen, in its own format
/// (`ResourceManager(default)[id]:` rather than the daemon's prefix):
/// operators' log watchers look for them there.
pub struct ResourceManagerLog {
    pub log: std::sync::Arc<crate::logger::Logger>,
    pub tag: String,
}

impl ResourceManagerLog {
    /// Tagged with the worker thread's id, which stands where the
    /// original has its ResourceManager shell's pid.
    pub fn for_this_thread(log: std::sync::Arc<crate::logger::Logger>) -> ResourceManagerLog {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        ResourceManagerLog {
            log,
            tag: format!("ResourceManager(default)[{tid}]"),
        }
    }
}

impl LogSink for ResourceManagerLog {
    fn push(&mut self, (level, text): (Level, String)) {
        self.log.script_log(&self.tag, level, &text);
    }
}
