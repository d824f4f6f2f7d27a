//! Behaviours of ipvsadm 1.31 beyond the transcripts, each test named after
//! the quirk (or the bug it guards against).

use ipvs::fake::{Call, FakeIpvs, Op};
use ipvs::*;

use super::support::*;

fn fresh() -> FakeIpvs {
    FakeIpvs::new()
}

fn restore(input: &str, k: FakeIpvs) -> (Outcome, FakeIpvs) {
    let (o, k) = run_argv(
        &argv(&["-R"]),
        input.as_bytes(),
        Some(k),
        &mut FakeHost::default(),
    );
    (o, k.unwrap())
}

fn mutations(k: &FakeIpvs) -> Vec<Call> {
    k.calls
        .iter()
        .filter(|c| !matches!(c, Call::Info | Call::Services | Call::Destinations(_)))
        .cloned()
        .collect()
}

#[test]
fn help_substitutes_argv0_thirteen_times_and_goes_to_stdout() {
    let (o, _) = run_argv(
        &[b"ipvsadm".to_vec(), b"-h".to_vec()],
        b"",
        Some(fresh()),
        &mut FakeHost::default(),
    );
    assert_eq!(o.status, 0);
    assert_eq!(o.stderr, "");
    assert!(o.stdout.starts_with(
        "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\nUsage:\n  ipvsadm -A|E virtual-service"
    ));
    assert_eq!(o.stdout.matches("\n  ipvsadm -").count(), 13);
    assert!(o
        .stdout
        .ends_with("  --mcast-ttl ttl                     Multicast TTL (default=1)\n"));
    let (long, _) = run_argv(
        &[b"ipvsadm".to_vec(), b"--help".to_vec(), b"ignored".to_vec()],
        b"",
        Some(fresh()),
        &mut FakeHost::default(),
    );
    assert_eq!(long, o);
}

#[test]
fn help_and_version_still_need_ipvs() {
    let mut host = FakeHost::default();
    let (o, _) = run_argv(&argv(&["-v"]), b"", None, &mut host);
    assert_eq!(o.status, 2);
    assert_eq!(
        o.stderr,
        "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n"
    );
    assert_eq!(host.modprobe_calls, 1);
}

#[test]
fn second_command_taking_an_argument_reports_that_argument() {
    let (o, _) = run(&["-L", "--start-daemon", "master"], fresh());
    assert_eq!(o.stderr, "invalid option `master'\n");
    assert_eq!(o.status, 2);
}

#[test]
fn short_option_with_equals_and_no_argument_is_a_popt_error() {
    let (o, _) = run(&["-L", "-n=x"], fresh());
    assert_eq!(o.stderr, "-n=x: option does not take an argument\n");
    assert_eq!(o.status, 255);
}

#[test]
fn bracketed_ipv4_address_loses_its_port() {
    let (o, _) = run(&["-A", "-t", "[10.0.0.1]:80"], fresh());
    assert_eq!(o.stderr, "Zero port specified for non-persistent service\n");
    assert_eq!(o.status, 2);
}

#[test]
fn direct_routing_forces_the_service_port_on_the_destination() {
    let mut k = fresh();
    k.stateless = true;
    let (o, k) = run(&["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080", "-g"], k);
    assert_eq!(o.status, 0);
    match &mutations(&k)[..] {
        [Call::AddDest(_, d)] => assert_eq!(d.port, 80),
        other => panic!("{other:?}"),
    }
}

#[test]
fn masquerading_keeps_the_destination_port_and_fwmark_dests_default_to_zero() {
    let mut k = fresh();
    k.stateless = true;
    let (_, k) = run(&["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:8080", "-m"], k);
    let (_, k) = run(&["-a", "-f", "5", "-r", "10.0.0.3", "-m"], k);
    let ports: Vec<u16> = mutations(&k)
        .iter()
        .map(|c| match c {
            Call::AddDest(_, d) => d.port,
            _ => 999,
        })
        .collect();
    assert_eq!(ports, [8080, 0]);
}

#[test]
fn persistent_without_value_is_360_and_mask_24_is_0_0_0_24() {
    let mut k = fresh();
    k.stateless = true;
    let (_, k) = run(&["-A", "-t", "10.0.0.1:80", "-p", "-s", "rr"], k);
    let (_, k) = run(&["-A", "-t", "10.0.0.1:80", "-p", "100", "-M", "24"], k);
    let (_, k) = run(&["-A", "-f", "7", "-M", "64", "-6"], k);
    let svcs: Vec<Service> = mutations(&k)
        .into_iter()
        .map(|c| match c {
            Call::AddService(s) => s,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        (svcs[0].timeout, svcs[0].flags, svcs[0].scheduler.as_str()),
        (360, 1, "rr")
    );
    assert_eq!((svcs[1].timeout, svcs[1].netmask), (100, 24));
    assert_eq!(svcs[2].netmask, 128);
    assert_eq!(
        svcs[2].key,
        ServiceKey::Fwmark {
            af: AF_INET6,
            mark: 7
        }
    );
}

#[test]
fn long_scheduler_and_pe_names_are_truncated_silently() {
    let mut k = fresh();
    k.stateless = true;
    let (o, k) = run(
        &[
            "-A",
            "-t",
            "10.0.0.1:80",
            "-s",
            "averyveryverylongschedulername",
            "--pe",
            "averyveryverylongpename",
        ],
        k,
    );
    assert_eq!(o.status, 0);
    match &mutations(&k)[..] {
        [Call::AddService(s)] => {
            assert_eq!(s.scheduler, "averyveryverylo");
            assert_eq!(s.pe_name, "averyveryverylon");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn zero_with_an_all_zero_service_zeroes_everything() {
    let mut k = fresh();
    k.stateless = true;
    let (o, k) = run(&["-Z", "-t", "0.0.0.0"], k);
    assert_eq!(o.status, 0);
    assert_eq!(mutations(&k), vec![Call::Zero(None)]);
}

#[test]
fn list_single_service_sends_a_zeroed_lookup() {
    let k = FakeIpvs::with_table(fixture_table());
    let (o, k) = run(&["-Ln", "-t", "10.1.1.1:443"], k);
    assert_eq!(o.status, 0);
    let q = k
        .calls
        .iter()
        .find_map(|c| match c {
            Call::Service(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (q.scheduler.as_str(), q.flags, q.timeout, q.netmask),
        ("", 0, 0, 0)
    );
}

#[test]
fn comma_only_sched_flags_is_rejected_instead_of_crashing() {
    // ipvsadm 1.31 dies with SIGSEGV here (strtok returns NULL); we report
    // the argument as an invalid flag (documented in ipvsadm(8)).
    let (o, _) = run(&["-A", "-t", "10.0.0.1:80", "-s", "sh", "-b", ","], fresh());
    assert_eq!(o.stderr, "invalid scheduler flag `,'\n");
    assert_eq!(o.status, 2);
    let (o, _) = run(&["-A", "-t", "10.0.0.1:80", "-b", ""], fresh());
    assert_eq!(o.status, 0, "an empty -b is ignored: {o:?}");
}

#[test]
fn restore_error_messages_use_the_previous_lines_function() {
    // -C does not record itself in libipvs, so after an -a line its EEXIST
    // is explained as a destination error.
    let mut k = FakeIpvs::with_table(fixture_table());
    k.fail_next(Op::Flush, libc::EEXIST);
    let (o, _) = restore("-a -t 192.168.1.10:80 -r 10.0.0.9:80 -m\n-C\n", k);
    assert_eq!(o.stderr, "Destination already exists\n");
    assert_eq!(o.status, 255);
}

#[test]
fn restore_goes_on_after_popt_errors_and_kernel_errors() {
    let (o, k) = restore(
        "-L --bogus\n-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80\n",
        fresh(),
    );
    assert_eq!(
        o.stderr,
        "--bogus: unknown option\nService already exists\n"
    );
    assert_eq!(o.status, 0, "the last line decides the status");
    assert_eq!(k.table().len(), 2);
}

#[test]
fn restore_stops_at_the_first_validation_failure() {
    let (o, k) = restore(
        "-A -t 10.0.0.1:80\n-A -t 10.0.0.3\n-A -t 10.0.0.4:80\n",
        fresh(),
    );
    assert_eq!(o.stderr, "Zero port specified for non-persistent service\n");
    assert_eq!(o.status, 2);
    assert_eq!(k.table().len(), 1);
}

#[test]
fn restore_inside_restore_is_refused() {
    let (o, _) = restore("-R\n", fresh());
    assert_eq!(
        o.stderr,
        "Try `/sbin/ipvsadm -h' or '/sbin/ipvsadm --help' for more information.\n"
    );
    assert_eq!(o.status, 255);
}

#[test]
fn save_then_restore_round_trips_the_table() {
    // Service 10 is left out: its BYPASS destination saves as "(null)",
    // which cannot be restored, and its Local destination saves as -g,
    // which restores with the service's port.
    let table: Vec<_> = fixture_table()
        .into_iter()
        .filter(|(s, _)| !s.af().eq(&AF_INET) || !format!("{:?}", s.key).contains("127.0.0.1"))
        .collect();
    let (saved, _) = run(&["-Sn"], FakeIpvs::with_table(table));
    assert_eq!(saved.status, 0);
    let (o, dst) = restore(&saved.stdout, fresh());
    assert_eq!((o.stderr.as_str(), o.status), ("", 0));
    let (again, _) = run(&["-Sn"], dst);
    // The restored table dumps in a different order, and the listing sort
    // is order-dependent, so compare the rules, not their order.
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&again.stdout), sorted(&saved.stdout));
}

#[test]
fn connection_listing_stops_at_a_blank_line() {
    let dir = std::env::temp_dir().join(format!("ipvsadm-cli-blank-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("conn");
    std::fs::write(
        &p,
        "Pro FromIP\nTCP C0A80064 D431 C0A8010A 0050 0A000002 0050 ESTABLISHED     893\n   \nTCP C0A80064 D431 C0A8010A 0050 0A000002 0050 ESTABLISHED     893\n",
    )
    .unwrap();
    let mut host = FakeHost {
        conn_path: Some(p),
        ..Default::default()
    };
    let (o, _) = run_argv(&argv(&["-Lnc"]), b"", Some(fresh()), &mut host);
    assert_eq!(o.status, 1);
    assert_eq!(o.stdout.lines().count(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn negative_and_huge_fwmarks_print_signed() {
    let mut k = fresh();
    k.add_service(&{
        let mut s = Service::new(ServiceKey::Fwmark {
            af: AF_INET,
            mark: 3_000_000_000,
        });
        s.scheduler = "rr".into();
        s
    })
    .unwrap();
    let (o, k) = run(&["-Sn"], k);
    assert_eq!(o.stdout, "-A -f -1294967296 -s rr\n");
    let (o, _) = run(&["-Ln"], k);
    assert!(o.stdout.contains("FWM  -1294967296 rr\n"));
}

#[test]
fn ipv4_compatible_ipv6_addresses_print_like_glibc() {
    let mut k = fresh();
    let s = {
        let mut s = Service::new(ServiceKey::Addr {
            protocol: IPPROTO_TCP,
            addr: "::1.2.3.4".parse().unwrap(),
            port: 80,
        });
        s.scheduler = "rr".into();
        s
    };
    k.add_service(&s).unwrap();
    let (o, _) = run(&["-Sn"], k);
    assert_eq!(o.stdout, "-A -t [::1.2.3.4]:80 -s rr\n");
}

#[test]
fn long_hostnames_are_cut_at_59_bytes_in_saves() {
    // The 60-byte snprintf buffer: "[" + name + "]:" + port <= 59 bytes.
    let v = ipvs::cli::output::addrport(
        &mut LongNames,
        &"10.0.0.1".parse().unwrap(),
        80,
        IPPROTO_TCP,
        0,
    );
    assert_eq!(v.len(), 59);
}

struct LongNames;
impl ipvs::cli::Host for LongNames {
    fn host_to_addr(&mut self, _: &[u8]) -> Option<std::net::Ipv4Addr> {
        None
    }
    fn addr_to_host(&mut self, _: &std::net::IpAddr) -> Option<Vec<u8>> {
        Some(vec![b'h'; 80])
    }
    fn service_to_port(&mut self, _: &[u8], _: &str) -> Option<u16> {
        None
    }
    fn port_to_service(&mut self, _: u16, _: &str) -> Option<Vec<u8>> {
        None
    }
    fn modprobe_ipvs(&mut self) -> bool {
        false
    }
}

#[test]
fn stop_daemon_sends_no_interface() {
    let mut k = fresh();
    k.stateless = true;
    let (_, k) = run(&["--stop-daemon", "backup", "--syncid", "3"], k);
    match &mutations(&k)[..] {
        [Call::StopDaemon(d)] => {
            assert_eq!(
                (d.state, d.mcast_ifn.as_str(), d.syncid),
                (DaemonState::Backup, "", 3)
            )
        }
        other => panic!("{other:?}"),
    }
}

/// No input may panic: throw many random command lines built from
/// ipvsadm's vocabulary at the CLI and at -R.
#[test]
fn random_command_lines_never_panic() {
    let vocab = [
        "-A",
        "-E",
        "-D",
        "-C",
        "-L",
        "-l",
        "-Z",
        "-a",
        "-e",
        "-d",
        "-R",
        "-S",
        "--set",
        "--start-daemon",
        "--stop-daemon",
        "master",
        "backup",
        "-t",
        "-u",
        "-f",
        "--sctp-service",
        "10.0.0.1:80",
        "[2001:db8::1]:443",
        "2001:db8::1",
        "[1.2.3.4]:5",
        "1",
        "0",
        "-1",
        "4294967296",
        "-s",
        "rr",
        "sh",
        "mh",
        "-p",
        "-p0",
        "-M",
        "24",
        "255.255.255.0",
        "-r",
        "10.0.0.2",
        "-g",
        "-i",
        "-m",
        "-w",
        "-x",
        "-y",
        "-n",
        "-c",
        "--timeout",
        "--daemon",
        "--stats",
        "--rate",
        "--thresholds",
        "--persistent-conn",
        "--nosort",
        "--sort",
        "--syncid",
        "--exact",
        "-X",
        "-6",
        "-o",
        "--pe",
        "sip",
        "-b",
        ",",
        "sh-port,flag-1",
        "--mcast-group",
        "224.0.0.1",
        "ff02::1",
        "--mcast-port",
        "--mcast-ttl",
        "--sync-maxlen",
        "--tun-info",
        "--tun-type",
        "gue",
        "gre",
        "--tun-port",
        "--tun-nocsum",
        "--tun-csum",
        "--tun-remcsum",
        "--",
        "-",
        "",
        "=",
        "-Ln",
        "-At",
        "--list=",
        "\u{0}",
        "\u{ff}",
        "ipvsadm",
        "#",
    ];
    let mut seed: u64 = 12345;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (seed >> 33) as usize
    };
    for _ in 0..4000 {
        let n = next() % 8;
        let words: Vec<&str> = (0..n).map(|_| vocab[next() % vocab.len()]).collect();
        let mut k = FakeIpvs::with_table(fixture_table());
        k.stateless = next() & 1 == 0;
        let (_o, _) = run_argv(
            &argv(&words),
            words.join(" ").as_bytes(),
            Some(k),
            &mut FakeHost::default(),
        );
    }
}

#[test]
fn ipvsadm_save_rejects_unknown_dash_options_like_the_script() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipvsadm-save"))
        .arg("-n")
        .arg("-x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ipvsadm-save: Script to save the IPVS table to stdout.\n   With the -n option, prints out the table in numeric format.\n"
    );
}

#[test]
fn restore_script_input_drops_comment_lines_and_normalises_the_end() {
    use ipvs::cli::stdio::restore_script_input;
    assert_eq!(
        restore_script_input(b"# saved\n-A -t 10.0.0.1:80 -s rr # not a comment\n\n"),
        b"-A -t 10.0.0.1:80 -s rr # not a comment\n"
    );
    // The last line always ends in a newline, so the "-R drops a last
    // line ending in blanks" quirk never bites through the script.
    assert_eq!(
        restore_script_input(b"-A -t 10.0.0.1:80 \t"),
        b"-A -t 10.0.0.1:80 \t\n"
    );
}
