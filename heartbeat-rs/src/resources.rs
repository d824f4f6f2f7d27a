//! Resource scripts: lookup, the start/stop/status convention, group
//! start (in order) and stop (in reverse, with retries), as
//! ResourceManager 3.0.6 runs them. Scripts run behind [`ScriptRunner`]
//! so the logic is testable with a fake.

use crate::config::{Group, Resource};
use crate::log::Level;
use std::path::{Path, PathBuf};

/// How many times a failing stop is tried (`HA_STOPRETRYMAX`).
pub const STOP_RETRY_MAX: u32 = 10;

/// What a script run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptResult {
    pub status: i32,
    pub stdout: String,
}

/// Runs resource scripts; the real one forks, tests use a fake.
pub trait ScriptRunner {
    /// Runs `path args... op` and waits for it.
    fn run(&mut self, path: &Path, args: &[String], op: &str) -> ScriptResult;
    /// Pause between stop retries (1 s in the original).
    fn pause(&mut self);
}

/// Where scripts are looked for: `resource.d` then `/etc/init.d`.
#[derive(Clone, Debug)]
pub struct ScriptDirs {
    /// (real path, path as printed in logs)
    pub dirs: Vec<(PathBuf, String)>,
}

impl ScriptDirs {
    /// `<ha_dir>/resource.d` (printed as `/etc/ha.d//resource.d`), then `/etc/init.d`.
    pub fn standard(ha_dir: &Path) -> ScriptDirs {
        ScriptDirs {
            dirs: vec![
                (
                    ha_dir.join("resource.d"),
                    format!("{}//resource.d", ha_dir.display()),
                ),
                (PathBuf::from("/etc/init.d"), "/etc/init.d".into()),
            ],
        }
    }

    /// First regular executable file of that name: (real path, printed path).
    pub fn find(&self, script: &str) -> Option<(PathBuf, String)> {
        use std::os::unix::fs::PermissionsExt;
        if script.is_empty() || script.contains('/') {
            return None;
        }
        self.dirs.iter().find_map(|(d, shown)| {
            let p = d.join(script);
            let md = std::fs::metadata(&p).ok()?;
            (md.is_file() && md.permissions().mode() & 0o111 != 0)
                .then(|| (p, format!("{shown}/{script}")))
        })
    }
}

/// ResourceManager's `we_own_resource` reading of `status` output; the
/// exit code is ignored.
pub fn status_says_running(stdout: &str) -> bool {
    let lower = stdout.to_ascii_lowercase();
    // *[Nn][Oo][Tt]\ *[Rr]unning*
    let mut from = 0;
    while let Some(p) = lower[from..].find("not") {
        let after = lower[from + p + 3..].trim_start_matches(' ');
        if after.starts_with("running") {
            return false;
        }
        from += p + 3;
    }
    lower.contains("running") || stdout.contains("OK")
}

/// Logs produced while running a group.
pub type Logs = Vec<(Level, String)>;

/// Where ResourceManager's lines go: collected (tests, the planner's
/// fakes) or written as they happen (the daemon writes them in
/// ResourceManager's own format, before each script runs, as the
/// original's shell script does).
pub trait LogSink {
    fn push(&mut self, line: (Level, String));
}

impl LogSink for Logs {
    fn push(&mut self, line: (Level, String)) {
        Vec::push(self, line);
    }
}

/// Runs one resource operation, logging like ResourceManager.
pub fn run_op(
    dirs: &ScriptDirs,
    runner: &mut dyn ScriptRunner,
    r: &Resource,
    op: &str,
    logs: &mut dyn LogSink,
) -> Option<ScriptResult> {
    let Some((path, shown)) = dirs.find(&r.script) else {
        logs.push((
            Level::Error,
            format!("Cannot locate resource script {}", r.script),
        ));
        return None;
    };
    if op != "status" {
        logs.push((
            Level::Info,
            format!("Running {shown} {} {op}", r.args.join(" ")),
        ));
    }
    let res = runner.run(&path, &r.args, op);
    if res.status != 0 && op != "status" {
        logs.push((
            Level::Error,
            format!("Return code {} from {shown}", res.status),
        ));
    }
    Some(res)
}

/// Whether the resource is running according to its `status`.
pub fn owned(dirs: &ScriptDirs, runner: &mut dyn ScriptRunner, r: &Resource) -> bool {
    let mut scratch: Logs = Vec::new();
    run_op(dirs, runner, r, "status", &mut scratch)
        .is_some_and(|res| status_says_running(&res.stdout))
}

/// Outcome of taking a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcquireOutcome {
    Ok,
    /// A start failed; the group was given up again.
    Failed {
        resource: String,
    },
}

/// `acquireresourcegroup`: start each resource in order unless its status
/// says it runs; on a failure, give the whole group up.
pub fn acquire_group(
    dirs: &ScriptDirs,
    runner: &mut dyn ScriptRunner,
    g: &Group,
    logs: &mut dyn LogSink,
) -> AcquireOutcome {
    logs.push((
        Level::Info,
        format!("Acquiring resource group: {} {}", g.node, specs(g)),
    ));
    for r in &g.resources {
        if owned(dirs, runner, r) {
            continue;
        }
        let ok = run_op(dirs, runner, r, "start", logs).is_some_and(|x| x.status == 0);
        if !ok {
            logs.push((
                Level::Crit,
                format!("Giving up resources due to failure of {}", r.spec),
            ));
            release_group(dirs, runner, g, logs);
            return AcquireOutcome::Failed {
                resource: r.spec.clone(),
            };
        }
    }
    AcquireOutcome::Ok
}

/// Outcome of giving a group up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReleaseOutcome {
    Ok,
    /// A stop kept failing and the resource still runs: the original
    /// reboots the machine here.
    StopFailure {
        resource: String,
    },
}

/// `giveupresourcegroup`: stop in reverse order, retrying each stop.
pub fn release_group(
    dirs: &ScriptDirs,
    runner: &mut dyn ScriptRunner,
    g: &Group,
    logs: &mut dyn LogSink,
) -> ReleaseOutcome {
    logs.push((
        Level::Info,
        format!("Releasing resource group: {} {}", g.node, specs(g)),
    ));
    let mut outcome = ReleaseOutcome::Ok;
    for r in g.resources.iter().rev() {
        let mut ok = false;
        for attempt in 0..=STOP_RETRY_MAX {
            if attempt > 0 {
                logs.push((
                    Level::Info,
                    format!("Retrying failed stop operation [{}]", r.spec),
                ));
                runner.pause();
            }
            if run_op(dirs, runner, r, "stop", logs).is_some_and(|x| x.status == 0) {
                ok = true;
                break;
            }
        }
        if ok {
            continue;
        }
        if owned(dirs, runner, r) {
            logs.push((
                Level::Crit,
                "Resource STOP failure. Reboot required!".into(),
            ));
            outcome = ReleaseOutcome::StopFailure {
                resource: r.spec.clone(),
            };
        } else {
            logs.push((
                Level::Error,
                format!("Resource script for {} probably not LSB-compliant.", r.spec),
            ));
            logs.push((
                Level::Warn,
                format!(
                    "it ({}) MUST succeed on a stop when already stopped",
                    r.spec
                ),
            ));
            logs.push((Level::Warn, "Machine reboot narrowly avoided!".into()));
        }
    }
    outcome
}

fn specs(g: &Group) -> String {
    g.resources
        .iter()
        .map(|r| r.spec.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
