//! The three configuration files and how they are loaded together.

pub mod authkeys;
pub mod hacf;
pub mod haresources;
pub mod values;

pub use authkeys::AuthKeys;
pub use hacf::{AutoFailback, HaCf, Medium};
pub use haresources::{Group, HaResources, Resource};

use crate::error::ConfigError;
use crate::log::{Diag, Level};
use std::path::{Path, PathBuf};

/// Where the configuration lives (`/etc/ha.d` unless told otherwise).
#[derive(Clone, Debug)]
pub struct ConfigDir {
    pub dir: PathBuf,
}

impl ConfigDir {
    pub fn new(dir: impl Into<PathBuf>) -> ConfigDir {
        ConfigDir { dir: dir.into() }
    }

    /// File name as the original prints it: `/etc/ha.d//ha.cf`.
    pub fn display(&self, file: &str) -> String {
        format!("{}//{}", self.dir.display(), file)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

/// Everything needed to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub hacf: HaCf,
    pub authkeys: AuthKeys,
    pub resources: HaResources,
    pub local_node: String,
    pub dir: PathBuf,
}

/// The local node name: first line of `nodeinfo` if present, else `uname -n`;
/// lower-case either way.
pub fn local_node_name(dir: &Path) -> String {
    if let Ok(s) = std::fs::read_to_string(dir.join("nodeinfo")) {
        if let Some(l) = s.lines().next() {
            let l = l.trim();
            if !l.is_empty() {
                return l.to_ascii_lowercase();
            }
        }
    }
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname fills the struct we own.
    if unsafe { libc::uname(&mut uts) } == 0 {
        let name: Vec<u8> = uts
            .nodename
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        return String::from_utf8_lossy(&name).to_ascii_lowercase();
    }
    "localhost".into()
}

/// Loads `ha.cf`, `authkeys`, `haresources` in the original's order, with
/// its messages. `local_node` overrides `nodeinfo`/`uname -n` when given.
pub fn load(dir: &ConfigDir, local_node: Option<&str>) -> Result<(Config, Vec<Diag>), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let mut diags = Vec::new();
    let local = local_node
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_else(|| local_node_name(&dir.dir));
    let services = std::fs::read_to_string("/etc/services").unwrap_or_default();
    let ctx = hacf::Ctx::new(dir.display("ha.cf"), &local).with_services(&services);
    let fail = |mut diags: Vec<Diag>| {
        diags.push(Diag::new(
            Level::Error,
            "Configuration error, heartbeat not started.",
        ));
        ConfigError { diags }
    };
    let text = match std::fs::read_to_string(dir.path("ha.cf")) {
        Ok(t) => t,
        Err(_) => {
            let p = dir.display("ha.cf");
            diags.push(Diag::new(
                Level::Error,
                format!("Cannot open config file [{p}]"),
            ));
            diags.push(Diag::new(
                Level::Info,
                format!("An annotated sample {p} file is provided in the documentation."),
            ));
            diags.push(Diag::new(
                Level::Info,
                format!("Please copy it to {p}, read it, customize it, and try again."),
            ));
            diags.push(Diag::new(
                Level::Error,
                "Heartbeat not started: configuration error.",
            ));
            return Err(fail(diags));
        }
    };
    let Some(mut hacf) = HaCf::parse(&text, &ctx, &mut diags) else {
        return Err(fail(diags));
    };
    let akpath = dir.path("authkeys");
    let akdisplay = dir.display("authkeys");
    let authkeys = match (std::fs::read_to_string(&akpath), std::fs::metadata(&akpath)) {
        (Ok(t), Ok(md)) => AuthKeys::parse(&t, &akdisplay, md.permissions().mode(), &mut diags),
        _ => {
            diags.push(Diag::new(
                Level::Error,
                format!("Cannot open keyfile [{akdisplay}].  Stop."),
            ));
            None
        }
    };
    let Some(authkeys) = authkeys else {
        diags.push(Diag::new(
            Level::Error,
            "Authentication configuration error.",
        ));
        return Err(fail(diags));
    };
    if !hacf.finalize(&ctx, &mut diags) {
        return Err(fail(diags));
    }
    diags.push(Diag::new(Level::Info, "**************************"));
    diags.push(Diag::new(
        Level::Info,
        format!(
            "Configuration validated. Starting heartbeat {}",
            crate::VERSION
        ),
    ));
    let rdisplay = dir.display("haresources");
    let resources = match std::fs::read_to_string(dir.path("haresources")) {
        Ok(t) => HaResources::parse(&t, &rdisplay, &hacf.nodes, &mut diags),
        Err(_) => {
            diags.push(Diag::new(
                Level::Error,
                format!("Cannot open resources file [{rdisplay}]"),
            ));
            diags.push(Diag::new(
                Level::Info,
                format!("An annotated sample {rdisplay} file is provided in the documentation."),
            ));
            diags.push(Diag::new(
                Level::Info,
                format!("Please copy it to {rdisplay}, read it, customize it, and try again."),
            ));
            None
        }
    };
    let Some(resources) = resources else {
        return Err(fail(diags));
    };
    Ok((
        Config {
            hacf,
            authkeys,
            resources,
            local_node: local,
            dir: dir.dir.clone(),
        },
        diags,
    ))
}
