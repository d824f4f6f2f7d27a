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

#[test]
fn daemon_mode_pidfile_status_and_stop() {
    use crate::support::netns::{wait_for, Net, Node};
    use std::time::Duration;
    let net = Net::new(1);
    let hacf = "logfile LOGFILE\nkeepalive 200ms\ndeadtime 1\ninitdead 1\nbcast eth0\nauto_failback on\nnode www3 www4\n";
    let n = Node::new("www3", &net.ns('a'), hacf, "auth 1\n1 crc\n", "");
    let hb = env!("CARGO_BIN_EXE_heartbeat");
    // without -f it detaches at once and the daemon writes its pid file
    let (rc, _, _) = n.tool(hb, &["--node", "www3"]);
    assert_eq!(rc, 0);
    let pidfile = n.dir.join("run/heartbeat.pid");
    assert!(wait_for(Duration::from_secs(30), || pidfile.exists()).is_some());
    let (rc, out, _) = n.tool(hb, &["-s", "--node", "www3"]);
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.starts_with("heartbeat OK [pid ")
            && out.ends_with(" et al] is running on www3 [www3]...\n"),
        "{out}"
    );
    let (rc, _, err) = n.tool(hb, &["--node", "www3"]);
    assert_eq!(rc, 1, "a second daemon is refused");
    assert!(err.contains("already running"), "{err}");
    assert!(
        wait_for(Duration::from_secs(30), || n.log().contains("Comm_now_up")).is_some(),
        "{}",
        n.log()
    );
    // SIGHUP: a changed authkeys is reread, an unchanged one reported,
    // a changed ha.cf asks for a restart
    n.dir
        .write_mode("etc/authkeys", "auth 2\n2 sha1 newkey\n", 0o600);
    assert_eq!(n.tool(hb, &["-r"]).0, 0);
    assert!(
        wait_for(Duration::from_secs(30), || n
            .log()
            .contains("info: Rereading authentication file."))
        .is_some(),
        "{}",
        n.log()
    );
    assert_eq!(n.tool(hb, &["-r"]).0, 0);
    assert!(
        wait_for(Duration::from_secs(30), || n
            .log()
            .contains("info: Configuration unchanged."))
        .is_some(),
        "{}",
        n.log()
    );
    let cf = std::fs::read_to_string(n.dir.join("etc/ha.cf")).unwrap();
    n.dir.write("etc/ha.cf", &format!("{cf}# edited\n"));
    assert_eq!(n.tool(hb, &["-r"]).0, 0);
    assert!(
        wait_for(Duration::from_secs(30), || n
            .log()
            .contains("changed: restart heartbeat to apply it"))
        .is_some(),
        "{}",
        n.log()
    );
    let (rc, _, _) = n.tool(hb, &["-k"]);
    assert_eq!(rc, 0);
    assert!(!pidfile.exists(), "-k returns after the daemon is gone");
    assert!(
        n.log().contains("www3 Heartbeat shutdown complete."),
        "{}",
        n.log()
    );
    assert_eq!(n.tool(hb, &["-s"]).0, 3);
}
