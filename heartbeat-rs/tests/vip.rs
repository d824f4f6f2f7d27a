//! The IPaddr/IPaddr2 agents, alone and under the daemon: the address, its
//! label, and the client's neighbour entry following the takeover.

use crate::support::netns::{sh, sh_ok, wait_for, Net, Node};
use heartbeat::ipaddr::{addr_request, parse_spec, resolve, Flavor, IfAddr, Spec};
use std::time::Duration;

fn agent_in(ns: &str, bin: &str, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns, bin])
        .args(args)
        .env("HEARTBEAT_RUN_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn spec_forms() {
    let s = parse_spec("10.0.0.5", Flavor::IPaddr).unwrap();
    assert_eq!(
        s,
        Spec {
            ip: "10.0.0.5".parse().unwrap(),
            bits: None,
            nic: None,
            label: None,
            broadcast: None
        }
    );
    let s = parse_spec("10.0.0.5/24/10.0.0.255", Flavor::IPaddr).unwrap();
    assert_eq!(
        (s.bits, s.nic.as_deref(), s.broadcast),
        (Some(24), None, Some("10.0.0.255".parse().unwrap()))
    );
    let s = parse_spec("10.0.0.5/24/eth1/10.0.0.127", Flavor::IPaddr).unwrap();
    assert_eq!(
        (s.nic.as_deref(), s.broadcast),
        (Some("eth1"), Some("10.0.0.127".parse().unwrap()))
    );
    let s = parse_spec("10.0.0.5/24/eth1:web", Flavor::IPaddr2).unwrap();
    assert_eq!(
        (s.nic.as_deref(), s.label.as_deref()),
        (Some("eth1"), Some("eth1:web"))
    );
    assert!(parse_spec("10.0.0.300", Flavor::IPaddr).is_err());
    assert!(parse_spec("10.0.0.1/33", Flavor::IPaddr).is_err());
    let addrs = vec![IfAddr {
        label: "eth0".into(),
        addr: "10.0.0.1".parse().unwrap(),
        prefix: 24,
    }];
    let (nic, bits, brd) =
        resolve(&parse_spec("10.0.0.5", Flavor::IPaddr).unwrap(), &addrs).unwrap();
    assert_eq!(
        (nic.as_str(), bits, brd),
        ("eth0", 24, "10.0.0.255".parse().unwrap())
    );
    assert!(resolve(&parse_spec("192.0.2.5", Flavor::IPaddr).unwrap(), &addrs).is_err());
}

#[test]
fn rtnetlink_request_bytes() {
    let b = addr_request(
        true,
        2,
        "10.0.0.5".parse().unwrap(),
        24,
        Some("10.0.0.255".parse().unwrap()),
        Some("eth0:0"),
        7,
    );
    // nlmsghdr: len, RTM_NEWADDR (20), REQUEST|ACK|EXCL|CREATE (0x605), seq 7
    assert_eq!(
        u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize,
        b.len()
    );
    assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 20);
    assert_eq!(u16::from_ne_bytes([b[6], b[7]]), 0x605);
    assert_eq!(u32::from_ne_bytes(b[8..12].try_into().unwrap()), 7);
    // ifaddrmsg: AF_INET, /24, ifindex 2
    assert_eq!(&b[16..20], &[2, 24, 0, 0]);
    assert_eq!(u32::from_ne_bytes(b[20..24].try_into().unwrap()), 2);
    // IFA_LOCAL then IFA_ADDRESS, IFA_BROADCAST, IFA_LABEL "eth0:0\0" padded
    assert_eq!(&b[24..32], &[8, 0, 2, 0, 10, 0, 0, 5]);
    assert_eq!(&b[32..40], &[8, 0, 1, 0, 10, 0, 0, 5]);
    assert_eq!(&b[40..48], &[8, 0, 4, 0, 10, 0, 0, 255]);
    assert_eq!(
        &b[48..60],
        &[11, 0, 3, 0, b'e', b't', b'h', b'0', b':', b'0', 0, 0]
    );
    assert_eq!(b.len(), 60);
    let d = addr_request(false, 2, "10.0.0.5".parse().unwrap(), 24, None, None, 8);
    assert_eq!(u16::from_ne_bytes([d[4], d[5]]), 21);
    assert_eq!(d.len(), 40);
}

#[test]
fn agents_add_label_and_remove_the_address() {
    let net = Net::new(1);
    let ns = net.ns('a');
    let vip = format!("{}.60", net.subnet);
    let ip1 = env!("CARGO_BIN_EXE_IPaddr");
    assert_eq!(
        agent_in(&ns, ip1, &[&vip, "status"]).1,
        "INFO:  Resource is stopped\n"
    );
    assert_eq!(
        agent_in(&ns, ip1, &[&vip, "start"]),
        (0, "INFO:  Success\n".into())
    );
    let show = sh(&format!("ip -n {ns} -4 addr show dev eth0"));
    assert!(
        show.contains(&format!(
            "inet {vip}/24 brd {}.255 scope global secondary eth0:0",
            net.subnet
        )),
        "{show}"
    );
    assert_eq!(
        agent_in(&ns, ip1, &[&vip, "status"]),
        (0, "INFO:  Running OK\n".into())
    );
    // idempotent start, then stop twice (LSB: stop when stopped succeeds)
    assert_eq!(agent_in(&ns, ip1, &[&vip, "start"]).0, 0);
    assert_eq!(agent_in(&ns, ip1, &[&vip, "stop"]).0, 0);
    assert_eq!(agent_in(&ns, ip1, &[&vip, "stop"]).0, 0);
    assert!(!sh(&format!("ip -n {ns} -4 addr show dev eth0")).contains(&vip));
    // IPaddr2 with an explicit label and prefix
    let ip2 = env!("CARGO_BIN_EXE_IPaddr2");
    let spec = format!("{vip}/25/eth0:web");
    assert_eq!(agent_in(&ns, ip2, &[&spec, "start"]).0, 0);
    let show = sh(&format!("ip -n {ns} -4 addr show dev eth0"));
    assert!(
        show.contains(&format!("inet {vip}/25")) && show.contains("eth0:web"),
        "{show}"
    );
    assert_eq!(agent_in(&ns, ip2, &[&spec, "stop"]).0, 0);
    assert_eq!(agent_in(&ns, ip2, &[&spec, "monitor"]).0, 7);
    assert_eq!(agent_in(&ns, ip2, &["10.0.0.1"]).0, 1);
}

/// Found by the seed lab's rolling replacement: the slave director is an
/// LVS real server with the VIP on lo:0 until it takes over. Debian's
/// IPaddr calculates the nic (eth0), reports the lo:0 address as a generic
/// error, and so heartbeat runs start, which brings the VIP up on eth0:0;
/// ours called it running and never brought the VIP up on the LAN.
#[test]
fn vip_on_loopback_of_a_real_server_is_not_held() {
    let net = Net::new(1);
    let ns = net.ns('a');
    let vip = format!("{}.61", net.subnet);
    let ip1 = env!("CARGO_BIN_EXE_IPaddr");
    sh(&format!("ip -n {ns} addr add {vip}/32 dev lo label lo:0"));
    assert_eq!(
        agent_in(&ns, ip1, &[&vip, "status"]),
        (1, "ERROR:  Generic error\n".into())
    );
    assert_eq!(agent_in(&ns, ip1, &[&vip, "start"]).0, 0);
    let show = sh(&format!("ip -n {ns} -4 addr show"));
    assert!(show.contains("eth0:0") && show.contains("lo:0"), "{show}");
    assert_eq!(
        agent_in(&ns, ip1, &[&vip, "status"]),
        (0, "INFO:  Running OK\n".into())
    );
    // stop releases the LAN address and leaves the real server's alone
    assert_eq!(agent_in(&ns, ip1, &[&vip, "stop"]).0, 0);
    assert!(!sh(&format!("ip -n {ns} -4 addr show dev eth0")).contains(&vip));
    assert!(sh(&format!("ip -n {ns} -4 addr show dev lo")).contains(&vip));
}

/// A client ping that tolerates a busy machine (a few tries).
fn ping_ok(net: &Net, vip: &str) -> bool {
    (0..5).any(|_| sh_ok(&format!("ip netns exec {} ping -c1 -W1 {vip}", net.ns('c'))))
}

fn neigh_mac(net: &Net, ip: &str) -> String {
    let out = sh(&format!("ip -n {} neigh show {ip}", net.ns('c')));
    out.split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .unwrap_or("")
        .to_string()
}

#[test]
fn vip_failover_moves_the_clients_neighbour_entry() {
    let net = Net::new(2);
    let vip = format!("{}.50", net.subnet);
    let hacf = "logfile LOGFILE\nkeepalive 100ms\ndeadtime 1\ninitdead 1\nbcast eth0\nauto_failback on\nnode www3 www4\n";
    let keys = "auth 2\n2 md5 vip-test\n";
    let res = format!("www3 {vip}\n");
    let mut a = Node::new("www3", &net.ns('a'), hacf, keys, &res);
    let mut b = Node::new("www4", &net.ns('b'), hacf, keys, &res);
    for n in [&a, &b] {
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_IPaddr"),
            n.dir.join("etc/resource.d/IPaddr"),
        )
        .unwrap();
    }
    let started = std::time::Instant::now();
    // www3 first: two nodes starting together wait out the 10 s start-up
    // exchange (RQSTDELAY, 3.0.6 does the same); a joining node does not.
    a.start();
    let has_vip =
        |ns: &str| sh(&format!("ip -n {ns} -4 addr show dev eth0")).contains(&format!("{vip}/"));
    assert!(
        wait_for(Duration::from_secs(30), || has_vip(&a.ns)).is_some(),
        "{}",
        a.log()
    );
    b.start();
    assert!(
        wait_for(Duration::from_secs(30), || b
            .log()
            .contains("remote resource transition completed."))
        .is_some(),
        "{}",
        b.log()
    );
    assert!(sh(&format!("ip -n {} -4 addr show dev eth0", a.ns)).contains("eth0:0"));
    assert!(ping_ok(&net, &vip), "the client cannot reach {vip}");
    assert_eq!(neigh_mac(&net, &vip), net.mac('a'));
    std::thread::sleep(Duration::from_millis(5600).saturating_sub(started.elapsed()));
    // Crash www3 and take its link down (a dead machine answers no ARP).
    a.kill9();
    net.set_link('a', false);
    let t = std::time::Instant::now();
    assert!(
        wait_for(Duration::from_secs(30), || has_vip(&b.ns)).is_some(),
        "{}",
        b.log()
    );
    let bmac = net.mac('b');
    let moved = wait_for(Duration::from_secs(30), || neigh_mac(&net, &vip) == bmac);
    assert!(
        moved.is_some(),
        "client still maps {vip} to {}",
        neigh_mac(&net, &vip)
    );
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "VIP moved after {:?}",
        t.elapsed()
    );
    assert!(ping_ok(&net, &vip), "the client cannot reach {vip}");
}

#[test]
fn healed_partition_leaves_one_vip_owner_and_the_client_follows_it() {
    let net = Net::new(2);
    let vip = format!("{}.51", net.subnet);
    let hacf = "logfile LOGFILE\nkeepalive 100ms\ndeadtime 1\ninitdead 1\nbcast eth0\nauto_failback off\nnode www3 www4\n";
    let keys = "auth 1\n1 crc\n";
    let res = format!("www3 {vip}\n");
    let mut a = Node::new("www3", &net.ns('a'), hacf, keys, &res);
    let mut b = Node::new("www4", &net.ns('b'), hacf, keys, &res);
    for n in [&a, &b] {
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_IPaddr"),
            n.dir.join("etc/resource.d/IPaddr"),
        )
        .unwrap();
    }
    a.start();
    let has_vip =
        |ns: &str| sh(&format!("ip -n {ns} -4 addr show dev eth0")).contains(&format!("{vip}/"));
    let long = Duration::from_secs(30);
    assert!(wait_for(long, || has_vip(&a.ns)).is_some(), "{}", a.log());
    let started = std::time::Instant::now();
    b.start();
    assert!(
        wait_for(long, || b
            .log()
            .contains("remote resource transition completed."))
        .is_some(),
        "{}",
        b.log()
    );
    // both past their first 5 s (when a node advertises deadtime + 2 s),
    // so that each declares the other dead (a one-sided partition is
    // covered by the membership and planner tests)
    std::thread::sleep(Duration::from_millis(5600).saturating_sub(started.elapsed()));
    net.set_link('a', false);
    assert!(
        wait_for(long, || has_vip(&b.ns)).is_some(),
        "www4 takes the VIP in the partition:\n{}",
        b.log()
    );
    assert!(ping_ok(&net, &vip), "the client cannot reach {vip}");
    assert_eq!(neigh_mac(&net, &vip), net.mac('b'));
    net.set_link('a', true);
    // one owner again (the preferred node), and the client is told so
    assert!(
        wait_for(long, || has_vip(&a.ns) && !has_vip(&b.ns)).is_some(),
        "{}\n{}",
        a.log(),
        b.log()
    );
    let amac = net.mac('a');
    assert!(
        wait_for(long, || neigh_mac(&net, &vip) == amac).is_some(),
        "client still maps {vip} to {}\n{}\n{}",
        neigh_mac(&net, &vip),
        a.log(),
        b.log()
    );
    assert!(ping_ok(&net, &vip), "the client cannot reach {vip}");
}

/// One pass of a group through the resource worker's runner: every
/// ResourceManager line, job result, status output and exit status, the
/// address on eth0 and the announcer's life, in order.
fn agent_trace(
    rsc_dir: std::path::PathBuf,
    run_dir: std::path::PathBuf,
    haresources: String,
    own: heartbeat::runner::OwnAgents,
) -> Vec<String> {
    use heartbeat::config::HaResources;
    use heartbeat::planner::Action;
    use heartbeat::resources::{Logs, ScriptDirs, ScriptRunner};
    use heartbeat::runner::{run_job, ProcessRunner};
    let dirs = ScriptDirs {
        dirs: vec![(rsc_dir.clone(), "/etc/ha.d//resource.d".into())],
    };
    let res = HaResources::parse(&haresources, "haresources", &["www3".into()], &mut vec![])
        .expect("haresources");
    let key = res.groups[0].key().to_string();
    let spec = res.groups[0].resources[1].args.clone();
    let ip: std::net::Ipv4Addr = spec[0].split('/').next().unwrap().parse().unwrap();
    let mut runner = ProcessRunner {
        env: vec![("HEARTBEAT_RUN_DIR".into(), run_dir.display().to_string())],
        pause: Duration::from_millis(10),
        own,
    };
    let pidfile = heartbeat::ipaddr::pidfile(&run_dir, ip);
    let addrs = || {
        let out = std::process::Command::new("ip")
            .args(["-o", "-4", "addr", "show", "dev", "eth0"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .map(|l| l.split_whitespace().skip(3).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let announcer = |pidfile: &std::path::Path| -> Option<i32> {
        let pid = std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
        // SAFETY: signal 0 only checks for existence.
        (unsafe { libc::kill(pid, 0) } == 0).then_some(pid)
    };
    let path = rsc_dir.join("IPaddr");
    let mut t = Vec::new();
    let mut logs: Logs = Vec::new();
    for op in ["status", "monitor"] {
        t.push(format!("{op}: {:?}", runner.run(&path, &spec, op)));
    }
    let acquire = Action::Acquire(vec![key.clone()]);
    t.push(format!(
        "acquire: {:?}",
        run_job(&dirs, &mut runner, &res, &acquire, &mut logs)
    ));
    t.push(format!("addresses: {}", addrs()));
    let pid = wait_for(Duration::from_secs(2), || announcer(&pidfile).is_some())
        .and_then(|_| announcer(&pidfile));
    t.push(format!("announcer running: {}", pid.is_some()));
    for op in ["status", "monitor"] {
        t.push(format!("{op}: {:?}", runner.run(&path, &spec, op)));
    }
    t.push(format!(
        "acquire again: {:?}",
        run_job(&dirs, &mut runner, &res, &acquire, &mut logs)
    ));
    let release = Action::Release(vec![key]);
    t.push(format!(
        "release: {:?}",
        run_job(&dirs, &mut runner, &res, &release, &mut logs)
    ));
    t.push(format!("addresses: {}", addrs()));
    let gone = wait_for(Duration::from_secs(2), || {
        // SAFETY: signal 0 only checks for existence.
        pid.is_some_and(|p| unsafe { libc::kill(p, 0) } != 0) && !pidfile.exists()
    });
    t.push(format!("announcer stopped: {}", gone.is_some()));
    t.push(format!("status: {:?}", runner.run(&path, &spec, "status")));
    for (args, op) in [
        (vec!["10.0.0.300".to_string()], "start"),
        (vec![], "start"),
        (spec.clone(), "restart"),
    ] {
        t.push(format!("{args:?} {op}: {:?}", runner.run(&path, &args, op)));
    }
    t.extend(logs.iter().map(|(l, s)| format!("{l:?}: {s}")));
    t
}

/// Our IPaddr, recognised by file identity, runs in the resource worker
/// and gives exactly what the forked agent gives; a user's script or a
/// copy of ours is never run in-process.
#[test]
fn in_process_agent_matches_the_forked_one() {
    use crate::support::netns::in_ns;
    use crate::support::TempDir;
    use heartbeat::runner::OwnAgents;
    let net = Net::new(1);
    let t = TempDir::new("inproc");
    let rsc = t.join("resource.d");
    std::fs::create_dir_all(&rsc).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_IPaddr"), rsc.join("IPaddr")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_IPaddr"), rsc.join("copy")).unwrap();
    t.write_mode("resource.d/mine", "#!/bin/sh\necho Running OK\n", 0o755);
    let own = OwnAgents::beside(std::path::Path::new(env!("CARGO_BIN_EXE_heartbeat")));
    assert_eq!(own.recognise(&rsc.join("IPaddr")), Some(Flavor::IPaddr));
    assert_eq!(own.recognise(&rsc.join("copy")), None);
    assert_eq!(own.recognise(&rsc.join("mine")), None);
    let two = t.join("two");
    std::fs::create_dir_all(&two).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_IPaddr2"), two.join("IPaddr")).unwrap();
    assert_eq!(own.recognise(&two.join("IPaddr")), Some(Flavor::IPaddr2));
    let vip = format!("{}.50", net.subnet);
    let hares = format!("www3 mine {vip}/24/eth0\n");
    let traces: Vec<Vec<String>> = [own, OwnAgents::default()]
        .into_iter()
        .map(|own| {
            let (rsc, run, hares) = (rsc.clone(), t.join("run"), hares.clone());
            in_ns(&net.ns('a'), move || agent_trace(rsc, run, hares, own))
                .join()
                .unwrap()
        })
        .collect();
    assert_eq!(traces[0], traces[1]);
    let all = traces[0].join("\n");
    for want in [
        "status: ScriptResult { status: 3, stdout: \"INFO:  Resource is stopped\\n\" }",
        "monitor: ScriptResult { status: 7,",
        "announcer running: true",
        "announcer stopped: true",
        "status: ScriptResult { status: 0, stdout: \"INFO:  Running OK\\n\" }",
        "eth0:0",
        "Info: Running /etc/ha.d//resource.d/IPaddr",
        "start: ScriptResult { status: 1,",
    ] {
        assert!(all.contains(want), "{want:?} not in:\n{all}");
    }
}
