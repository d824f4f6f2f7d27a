//! `authtype pam`: logins through PAM, under Debian's mon (with
//! Authen::PAM, which its package recommends) and ours. The PAM service
//! is the test's own, in a private mount namespace where it is overlaid
//! on /etc/pam.d; its pam_exec script accepts one user and password.

use crate::common::{reference_lock, require_reference};
use crate::harness::{Running, Setup};
use crate::protocol_diff::Conn;
use std::time::{Duration, Instant};

const CF: &str = "authtype = pam\npamservice = monrs-test\n\nhostgroup web w1\n\nwatch web\n    service http\n        interval 1h\n        monitor ctl.monitor\n";

/// A program that runs `bin` with the test's PAM service in place.
fn with_pam_service(s: &Setup, bin: &str) -> String {
    let d = s.dir.display().to_string();
    std::fs::create_dir_all(s.dir.join("pam.d")).unwrap();
    std::fs::create_dir_all(s.dir.join("pam.d-work")).unwrap();
    // the password comes on standard input, NUL-terminated
    std::fs::write(
        s.dir.join("check.sh"),
        "#!/bin/sh\npw=$(head -c 200 | tr -d '\\000')\n[ \"$PAM_USER\" = alice ] && [ \"$pw\" = 's3cret word' ]\n",
    )
    .unwrap();
    std::fs::write(
        s.dir.join("pam.d/monrs-test"),
        format!("auth required pam_exec.so expose_authtok quiet {d}/check.sh\n"),
    )
    .unwrap();
    let wrapper = s.dir.join("with-pam");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec unshare -m --propagation private sh -c 'mount -t overlay overlay -o lowerdir=/etc/pam.d,upperdir={d}/pam.d,workdir={d}/pam.d-work /etc/pam.d && exec \"$@\"' sh {bin} \"$@\"\n"
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args([
            "+x",
            &wrapper.display().to_string(),
            &format!("{d}/check.sh"),
        ])
        .status()
        .unwrap();
    wrapper.display().to_string()
}

fn logins(s: &Setup, child: &mut Running) -> Vec<String> {
    let port = s.port();
    let start = Instant::now();
    while crate::common::connect_local(port).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no daemon: {}",
            s.file("stderr")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = Vec::new();
    for (user, pass) in [
        ("alice", "s3cret word"),
        ("alice", "wrong"),
        ("bob", "s3cret word"),
        ("alice", ""),
    ] {
        let mut c = Conn::open(port);
        out.push(format!("login {user} {pass}"));
        out.extend(c.cmd(&format!("login {user} {pass}")));
        // what the login allows (auth.cf: stop for alice only)
        out.extend(c.cmd("stop"));
    }
    let _ = child.kill();
    let _ = child.wait();
    out
}

#[test]
fn pam_logins_match_debian_mon() {
    require_reference();
    assert!(
        std::process::Command::new("perl")
            .args(["-MAuthen::PAM", "-e", "1"])
            .status()
            .is_ok_and(|s| s.success()),
        "Debian's mon needs Authen::PAM for authtype pam: apt-get install libauthen-pam-perl"
    );
    let _serial = reference_lock();
    let plans: &[(&str, &str, &[&str])] = &[("web", "http", &["0 ok"])];
    let ours = Setup::new("pam-ours", CF, plans, &[]);
    let theirs = Setup::new("pam-mon", CF, plans, &[]);
    for s in [&ours, &theirs] {
        std::fs::write(s.dir.join("auth.cf"), "list: all\nstop: alice\n").unwrap();
    }
    let mut c_ours = ours.start(&with_pam_service(&ours, env!("CARGO_BIN_EXE_mon")));
    let mut c_theirs = theirs.start(&with_pam_service(&theirs, "/usr/sbin/mon"));
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(|| logins(&ours, &mut c_ours));
        let b = sc.spawn(|| logins(&theirs, &mut c_theirs));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a, b);
    // and PAM did decide: alice got in with her password only
    assert_eq!(a[1], "220 login accepted", "{a:?}");
    assert!(a[2].starts_with("220"), "{a:?}");
    assert_eq!(a[4], "530 login unsuccessful", "{a:?}");
}
