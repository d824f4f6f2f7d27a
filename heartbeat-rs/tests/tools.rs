//! Command-line behaviour of the binaries and the init script.

use crate::support::{require_reference, TempDir, REAL_HEARTBEAT};
use std::process::Command;

fn run(bin: &str, args: &[&str], env: &[(&str, String)]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.clone())))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn defaults_table_matches_the_original() {
    require_reference();
    let theirs = Command::new(REAL_HEARTBEAT).arg("-D").output().unwrap();
    let ours = Command::new(env!("CARGO_BIN_EXE_heartbeat"))
        .arg("-D")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout)
    );
    assert_eq!(ours.status.code(), Some(0));
}

#[test]
fn control_options_without_a_daemon() {
    let t = TempDir::new("tools");
    let env = [
        (
            "HEARTBEAT_PIDFILE",
            t.join("none.pid").display().to_string(),
        ),
        ("HEARTBEAT_STATE_DIR", t.path.display().to_string()),
    ];
    let hb = env!("CARGO_BIN_EXE_heartbeat");
    assert_eq!(
        run(hb, &["-s"], &env).1,
        "heartbeat is stopped. No process\n"
    );
    assert_eq!(run(hb, &["-s"], &env).0, 3);
    assert_eq!(
        run(hb, &["-k"], &env),
        (
            0,
            "INFO: Heartbeat already stopped.\n".into(),
            String::new()
        )
    );
    assert!(run(hb, &["-V"], &env).1.starts_with("3.0.6 "));
    assert_eq!(run(hb, &["-x"], &env).0, 1);
    let (rc, _, err) = run(env!("CARGO_BIN_EXE_hb_standby"), &["all", "local"], &env);
    assert_eq!(rc, 1);
    assert!(
        err.starts_with("hb_standby: too many arguments\nusage:\n"),
        "{err}"
    );
    let (rc, _, err) = run(env!("CARGO_BIN_EXE_hb_standby"), &["some"], &env);
    assert_eq!(rc, 1);
    assert!(err.starts_with("wrong resources(some).\n"), "{err}");
    let (rc, _, err) = run(env!("CARGO_BIN_EXE_hb_standby"), &[], &env);
    assert_eq!(rc, 1, "no daemon, no FIFO");
    assert!(err.contains("Going standby [all]."), "{err}");
    let cl = env!("CARGO_BIN_EXE_cl_status");
    assert_eq!(
        run(cl, &["hbstatus"], &env),
        (
            1,
            "Heartbeat is stopped on this machine.\n".into(),
            String::new()
        )
    );
    let (rc, _, err) = run(cl, &["nodestatus", "www3"], &env);
    assert_eq!(rc, 1);
    assert!(err.contains("ERROR: Cannot signon with heartbeat"));
    assert_eq!(run(cl, &["bogus"], &env).0, 11);
}

#[test]
fn init_script_actions() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/dist/heartbeat.init");
    let t = TempDir::new("init");
    let env = [
        ("HA_DIR", t.join("etc").display().to_string()),
        ("HEARTBEAT", env!("CARGO_BIN_EXE_heartbeat").to_string()),
        ("HEARTBEAT_PIDFILE", t.join("hb.pid").display().to_string()),
    ];
    let (rc, out, _) = run(script, &["bogus"], &env);
    assert_eq!(rc, 1);
    assert!(out.starts_with("Usage: "), "{out}");
    assert!(
        out.ends_with(" {start|stop|status|restart|reload|force-reload}\n"),
        "{out}"
    );
    let (rc, out, _) = run(script, &["start"], &env);
    assert_eq!(rc, 0);
    assert!(
        out.contains("Heartbeat not configured: ")
            && out.contains("Heartbeat failure [rc=1]. Failed."),
        "{out}"
    );
    assert_eq!(run(script, &["status"], &env).0, 3);
    let (rc, out, _) = run(script, &["stop"], &env);
    assert_eq!(rc, 0);
    assert!(
        out.contains("Stopping High-Availability services: ") && out.contains("Done."),
        "{out}"
    );
    t.write("etc/ha.cf", "node a\nauto_failback legacy\n");
    let (rc, out, _) = run(script, &["standby"], &env);
    assert_eq!(
        (rc, out.as_str()),
        (
            1,
            "auto_failback is set to legacy.  Cannot enter standby.\n"
        )
    );
}
