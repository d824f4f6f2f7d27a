//! The real script runner (fork/exec, environment as ResourceManager sets it)
//! and the resource worker that runs planner jobs off the main loop.

use crate::config::HaResources;
use crate::log::Level;
use crate::planner::{Action, JobResult};
use crate::resources::{
    acquire_group, release_group, run_op, AcquireOutcome, LogSink, ReleaseOutcome, ScriptDirs,
    ScriptResult, ScriptRunner,
};
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs scripts with heartbeat's environment.
pub struct ProcessRunner {
    pub env: Vec<(String, String)>,
    pub pause: std::time::Duration,
}

impl ScriptRunner for ProcessRunner {
    fn run(&mut self, path: &Path, args: &[String], op: &str) -> ScriptResult {
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
