//! The lab itself works: real IPVS, the modules the suite relies on, one
//! empty table per namespace, and Debian's ipvsadm driving it end to end.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use suite_tests::{in_lab, require_tool, Netns, DEBIAN_IPVSADM};

/// Gives `ns` a dummy interface in 10.0.0.0/24 so the real servers below are
/// routable: the kernel refuses a direct-routing destination whose address
/// it cannot route ("address not unicast").
fn with_lan(ns: &Netns) {
    ns.ip_batch("link add lab0 type dummy\nlink set lab0 up\naddr add 10.0.0.254/24 dev lab0\n");
}

fn ipvsadm(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec![DEBIAN_IPVSADM];
    argv.extend_from_slice(args);
    ns.run_ok(&argv)
}

#[test]
fn lab_vm_provides_ipvs_modules_and_basics() {
    assert!(
        in_lab(),
        "LAB_VM=1 missing: the lab test binary must run through lab/vm-run"
    );
    let _ns = Netns::with_ipvs("lab-smoke");
    // Every scheduler the seed and ipvsadm(8) name, plus the helpers and the
    // network drivers multi-host tests build their topologies from.
    for m in [
        "ip_vs",
        "ip_vs_rr",
        "ip_vs_wrr",
        "ip_vs_lc",
        "ip_vs_wlc",
        "ip_vs_lblc",
        "ip_vs_lblcr",
        "ip_vs_dh",
        "ip_vs_sh",
        "ip_vs_sed",
        "ip_vs_nq",
        "ip_vs_fo",
        "ip_vs_ovf",
        "ip_vs_mh",
        "ip_vs_pe_sip",
        "ip_vs_ftp",
        "veth",
        "bridge",
        "dummy",
        "sch_netem",
    ] {
        assert!(
            Path::new("/sys/module").join(m).exists(),
            "module {m} is not loaded in the lab"
        );
    }
    // bash process substitution needs /dev/fd.
    assert!(Path::new("/dev/fd/0").exists(), "/dev/fd is missing");
    assert!(
        Path::new("/run/netns").is_dir(),
        "/run is not writable for ip netns"
    );
}

#[test]
fn namespace_starts_with_loopback_up_and_an_empty_table() {
    let ns = Netns::with_ipvs("lab-smoke");
    let link = ns.run_ok(&["/sbin/ip", "-o", "link", "show", "lo"]);
    assert!(link.contains("UP"), "lo is not up: {link}");
    assert_eq!(
        ipvsadm(&ns, &["-Ln"]),
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port Scheduler Flags\n  \
         -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    );
}

/// The seed's director session (`ipvsadm -A -t VIP:80 -s wlc -p 360`, two
/// direct-routing web servers of weight 100) through Debian's ipvsadm: the
/// lab proven end to end.
#[test]
fn debian_ipvsadm_seed_session_wlc_persistent_two_dr_servers() {
    require_tool(DEBIAN_IPVSADM);
    let ns = Netns::with_ipvs("lab-smoke");
    with_lan(&ns);
    ipvsadm(&ns, &["-A", "-t", "10.0.0.1:80", "-s", "wlc", "-p", "360"]);
    ipvsadm(
        &ns,
        &[
            "-a",
            "-t",
            "10.0.0.1:80",
            "-r",
            "10.0.0.11",
            "-g",
            "-w",
            "100",
        ],
    );
    ipvsadm(
        &ns,
        &[
            "-a",
            "-t",
            "10.0.0.1:80",
            "-r",
            "10.0.0.12",
            "-g",
            "-w",
            "100",
        ],
    );
    assert_eq!(
        ipvsadm(&ns, &["-Ln"]),
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port Scheduler Flags\n  \
         -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
         TCP  10.0.0.1:80 wlc persistent 360\n  \
         -> 10.0.0.11:80                 Route   100    0          0         \n  \
         -> 10.0.0.12:80                 Route   100    0          0         \n"
    );
}

#[test]
fn each_namespace_has_its_own_ipvs_table() {
    let a = Netns::with_ipvs("lab-smoke");
    let b = Netns::with_ipvs("lab-smoke");
    ipvsadm(&a, &["-A", "-t", "10.0.0.1:80", "-s", "rr"]);
    assert!(ipvsadm(&a, &["-Ln"]).contains("TCP  10.0.0.1:80 rr"));
    assert!(
        !ipvsadm(&b, &["-Ln"]).contains("10.0.0.1:80"),
        "a service leaked into another namespace"
    );
}

/// Every scheduler module answers, and the SIP persistence engine loads: one
/// ipvsadm -R run (one process) creates a service per scheduler.
#[test]
fn every_scheduler_and_the_sip_persistence_engine_work() {
    let ns = Netns::with_ipvs("lab-smoke");
    let scheds = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
    ];
    let mut rules = String::new();
    for (i, s) in scheds.iter().enumerate() {
        rules.push_str(&format!("-A -t 10.0.0.1:{} -s {s}\n", 8000 + i));
    }
    rules.push_str("-A -u 10.0.0.1:5060 -s rr -p 60 --pe sip\n");
    let mut child = ns
        .command(&[DEBIAN_IPVSADM, "-R"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ipvsadm -R");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(rules.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ipvsadm -R failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = ipvsadm(&ns, &["-Ln"]);
    for (i, s) in scheds.iter().enumerate() {
        let line = format!("TCP  10.0.0.1:{} {s}", 8000 + i);
        assert!(
            listing.lines().any(|l| l.trim_end() == line),
            "no `{line}` in:\n{listing}"
        );
    }
    assert!(
        listing
            .lines()
            .any(|l| l.trim_end() == "UDP  10.0.0.1:5060 rr persistent 60 pe sip"),
        "no SIP service in:\n{listing}"
    );
}
