//! Resource scripts: lookup, status reading, group start/stop with a fake runner.

use crate::support::TempDir;
use heartbeat::config::haresources::{Group, Resource};
use heartbeat::log::Level;
use heartbeat::resources::{
    acquire_group, release_group, status_says_running, AcquireOutcome, ReleaseOutcome, ScriptDirs,
    ScriptResult, ScriptRunner, STOP_RETRY_MAX,
};
use std::collections::HashMap;
use std::path::Path;

#[derive(Default)]
struct Fake {
    calls: Vec<String>,
    running: HashMap<String, bool>,
    fail: HashMap<(String, String), i32>,
    pauses: u32,
}

impl ScriptRunner for Fake {
    fn run(&mut self, path: &Path, args: &[String], op: &str) -> ScriptResult {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let key = format!("{name}:{}", args.join(","));
        self.calls.push(format!("{key} {op}"));
        let status = *self.fail.get(&(key.clone(), op.to_string())).unwrap_or(&0);
        let stdout = match op {
            "status" if *self.running.get(&key).unwrap_or(&false) => "INFO:  Running OK\n".into(),
            "status" => "INFO:  Resource is stopped\n".into(),
            "start" if status == 0 => {
                self.running.insert(key, true);
                String::new()
            }
            "stop" if status == 0 => {
                self.running.insert(key, false);
                String::new()
            }
            _ => String::new(),
        };
        ScriptResult { status, stdout }
    }
    fn pause(&mut self) {
        self.pauses += 1;
    }
}

fn dirs() -> (TempDir, ScriptDirs) {
    let t = TempDir::new("rsc");
    for s in ["IPaddr", "puck", "hbtestres"] {
        t.write_mode(&format!("etc/resource.d/{s}"), "#!/bin/sh\n", 0o755);
    }
    t.write_mode("etc/resource.d/notexec", "#!/bin/sh\n", 0o644);
    t.write_mode("init.d/httpd", "#!/bin/sh\n", 0o755);
    t.write_mode("init.d/puck", "#!/bin/sh\n", 0o755);
    let d = ScriptDirs {
        dirs: vec![
            (t.join("etc/resource.d"), "/etc/ha.d//resource.d".into()),
            (t.join("init.d"), "/etc/init.d".into()),
        ],
    };
    (t, d)
}

fn group(specs: &[&str]) -> Group {
    Group {
        node: "www3".into(),
        resources: specs.iter().map(|s| Resource::parse(s)).collect(),
        line: 1,
    }
}

#[test]
fn lookup_order_and_rules() {
    let (_t, d) = dirs();
    assert_eq!(d.find("puck").unwrap().1, "/etc/ha.d//resource.d/puck");
    assert_eq!(d.find("httpd").unwrap().1, "/etc/init.d/httpd");
    assert!(d.find("notexec").is_none());
    assert!(d.find("missing").is_none());
    assert!(d.find("../init.d/httpd").is_none());
}

#[test]
fn status_interpretation() {
    assert!(status_says_running("INFO:  Running OK"));
    assert!(status_says_running("httpd (pid 1) is running..."));
    assert!(status_says_running("OK"));
    assert!(!status_says_running("INFO:  Resource is stopped"));
    assert!(!status_says_running("httpd is not running"));
    assert!(!status_says_running("NOT  Running"));
    assert!(!status_says_running("ok")); // only upper-case OK counts
    assert!(!status_says_running(""));
}

#[test]
fn acquire_in_order_skipping_running_and_release_in_reverse() {
    let (_t, d) = dirs();
    let mut f = Fake::default();
    f.running.insert("puck:".into(), true);
    let g = group(&["211.238.41.170", "hbtestres::alpha::beta", "puck"]);
    let mut logs = Vec::new();
    assert_eq!(acquire_group(&d, &mut f, &g, &mut logs), AcquireOutcome::Ok);
    assert_eq!(
        f.calls,
        [
            "IPaddr:211.238.41.170 status",
            "IPaddr:211.238.41.170 start",
            "hbtestres:alpha,beta status",
            "hbtestres:alpha,beta start",
            "puck: status"
        ]
    );
    let texts: Vec<_> = logs.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Acquiring resource group: www3 211.238.41.170 hbtestres::alpha::beta puck",
            "Running /etc/ha.d//resource.d/IPaddr 211.238.41.170 start",
            "Running /etc/ha.d//resource.d/hbtestres alpha beta start",
        ]
    );
    f.calls.clear();
    logs.clear();
    assert_eq!(release_group(&d, &mut f, &g, &mut logs), ReleaseOutcome::Ok);
    assert_eq!(
        f.calls,
        [
            "puck: stop",
            "hbtestres:alpha,beta stop",
            "IPaddr:211.238.41.170 stop"
        ]
    );
    assert_eq!(
        logs[0].1,
        "Releasing resource group: www3 211.238.41.170 hbtestres::alpha::beta puck"
    );
    assert_eq!(logs[1].1, "Running /etc/ha.d//resource.d/puck  stop"); // two spaces: no args
}

#[test]
fn failed_start_gives_the_group_up() {
    let (_t, d) = dirs();
    let mut f = Fake::default();
    f.fail.insert(("puck:".into(), "start".into()), 1);
    let g = group(&["10.0.0.1", "puck", "hbtestres"]);
    let mut logs = Vec::new();
    assert_eq!(
        acquire_group(&d, &mut f, &g, &mut logs),
        AcquireOutcome::Failed {
            resource: "puck".into()
        }
    );
    assert!(logs.contains(&(
        Level::Error,
        "Return code 1 from /etc/ha.d//resource.d/puck".into()
    )));
    assert!(logs.contains(&(
        Level::Crit,
        "Giving up resources due to failure of puck".into()
    )));
    assert!(!f.calls.contains(&"hbtestres: start".to_string()));
    assert!(f.calls.contains(&"IPaddr:10.0.0.1 stop".to_string()));
}

#[test]
fn stop_retries_then_reboot_or_lsb_warning() {
    let (_t, d) = dirs();
    let mut f = Fake::default();
    f.running.insert("puck:".into(), true);
    f.fail.insert(("puck:".into(), "stop".into()), 1);
    let g = group(&["puck"]);
    let mut logs = Vec::new();
    assert_eq!(
        release_group(&d, &mut f, &g, &mut logs),
        ReleaseOutcome::StopFailure {
            resource: "puck".into()
        }
    );
    assert_eq!(f.pauses, STOP_RETRY_MAX);
    assert_eq!(
        logs.iter()
            .filter(|(_, t)| t == "Retrying failed stop operation [puck]")
            .count(),
        STOP_RETRY_MAX as usize
    );
    assert!(logs.contains(&(
        Level::Crit,
        "Resource STOP failure. Reboot required!".into()
    )));
    // stopped already but stop fails: warnings only
    let mut f = Fake::default();
    f.fail.insert(("puck:".into(), "stop".into()), 1);
    let mut logs = Vec::new();
    assert_eq!(release_group(&d, &mut f, &g, &mut logs), ReleaseOutcome::Ok);
    assert!(logs.contains(&(
        Level::Error,
        "Resource script for puck probably not LSB-compliant.".into()
    )));
    assert!(logs.contains(&(Level::Warn, "Machine reboot narrowly avoided!".into())));
    // a script that cannot be found
    let mut logs = Vec::new();
    let g = group(&["nosuch"]);
    assert!(matches!(
        acquire_group(&d, &mut Fake::default(), &g, &mut logs),
        AcquireOutcome::Failed { .. }
    ));
    assert!(logs.contains(&(Level::Error, "Cannot locate resource script nosuch".into())));
}
