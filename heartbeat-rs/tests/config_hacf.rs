//! ha.cf parsing and validation.

use heartbeat::config::hacf::{AutoJoin, Ctx, GenMethod, HaCf, MsgFmt};
use heartbeat::config::{AutoFailback, Medium};
use heartbeat::log::{Diag, Level, Sink};

fn ctx() -> Ctx {
    Ctx::new("/etc/ha.d//ha.cf", "www3")
}

fn parse(text: &str) -> (Option<HaCf>, Vec<Diag>) {
    let mut d = Vec::new();
    let cf = HaCf::parse(text, &ctx(), &mut d);
    (cf, d)
}

fn full(text: &str) -> (Option<HaCf>, Vec<Diag>) {
    let mut d = Vec::new();
    let c = ctx();
    let Some(mut cf) = HaCf::parse(text, &c, &mut d) else {
        return (None, d);
    };
    if cf.finalize(&c, &mut d) {
        (Some(cf), d)
    } else {
        (None, d)
    }
}

fn log_lines(d: &[Diag]) -> Vec<String> {
    d.iter()
        .filter(|x| x.sink == Sink::Log && x.level != Level::Debug)
        .map(|x| x.log_text())
        .collect()
}

const SEED: &str = "debugfile /var/log/ha-debug
logfile /var/log/ha-log
logfacility local0
keepalive 2
deadtime 5
udpport 694
udp eth0
node www3
node www4
";

#[test]
fn seed_file_loads_with_the_originals_warnings() {
    let (cf, d) = full(SEED);
    let cf = cf.expect("seed ha.cf is valid");
    assert_eq!(cf.nodes, ["www3", "www4"]);
    assert_eq!(cf.keepalive_ms, 2000);
    assert_eq!(cf.deadtime_ms, 5000);
    assert_eq!(cf.warntime_ms, 2500);
    assert_eq!(cf.initdead_ms, 12000);
    assert_eq!(cf.deadping_ms, 5000);
    assert_eq!(cf.udpport, 694);
    assert_eq!(
        cf.media,
        [Medium::Bcast {
            dev: "eth0".into(),
            port: 694
        }]
    );
    assert_eq!(cf.auto_failback, AutoFailback::Legacy);
    assert_eq!(cf.logfacility.as_deref(), Some("local0"));
    let lines = log_lines(&d);
    assert_eq!(
        lines[0],
        "WARN: WARNING: directive 'udp' replaced by 'bcast'"
    );
    assert!(lines.contains(&"WARN: Deprecated 'legacy' auto_failback option selected.".into()));
    // the udp alias warning carries its position
    let udp = d.iter().find(|x| x.sink == Sink::Log).unwrap();
    assert_eq!(udp.at.as_ref().unwrap().line, 7);
    assert_eq!(
        udp.to_string(),
        "/etc/ha.d//ha.cf:7: WARN: WARNING: directive 'udp' replaced by 'bcast'"
    );
    // udpport always complains on stderr
    assert!(d.iter().any(|x| x.sink == Sink::Stderr
        && x.text == "heartbeat: udpport setting must precede media statements"));
    // cl_status hbparameter values: original text, derived ones in ms
    assert_eq!(cf.param("keepalive"), Some("2"));
    assert_eq!(cf.param("deadtime"), Some("5"));
    assert_eq!(cf.param("warntime"), Some("2500ms"));
    assert_eq!(cf.param("initdead"), Some("12000ms"));
    assert_eq!(cf.param("deadping"), Some("5000ms"));
    assert_eq!(cf.param("udpport"), Some("694"));
    assert_eq!(cf.param("msgfmt"), Some("classic"));
    assert_eq!(cf.param("auto_failback"), Some("legacy"));
}

#[test]
fn initdead_derivation() {
    let base = "logfile /x\nnode www3\nbcast eth0\nkeepalive 1\n";
    for (dead, init) in [
        ("5", 12000),
        ("6", 12000),
        ("8", 16000),
        ("10", 20000),
        ("11", 11000),
        ("30", 30000),
    ] {
        let (cf, _) = full(&format!("{base}deadtime {dead}\n"));
        assert_eq!(cf.unwrap().initdead_ms, init, "deadtime {dead}");
    }
}

#[test]
fn deadtime_must_exceed_twice_keepalive() {
    let (cf, d) = full("logfile /x\nnode www3\nbcast eth0\nkeepalive 2\ndeadtime 4\n");
    assert!(cf.is_none());
    assert!(log_lines(&d)
        .contains(&"ERROR: Dead time [4000] is too small compared to keeplive [2000]".into()));
}

#[test]
fn initdead_smaller_than_deadtime_is_an_error_and_small_initdead_a_warning() {
    let (cf, d) = full("logfile /x\nnode www3\nbcast eth0\ndeadtime 10\ninitdead 5\n");
    assert!(cf.is_none());
    assert!(log_lines(&d)
        .contains(&"ERROR: Initial dead time [5000] is smaller than deadtime [10000]".into()));
    let (cf, d) =
        full("logfile /x\nnode www3\nbcast eth0\nkeepalive 100ms\ndeadtime 300ms\ninitdead 2\n");
    let cf = cf.unwrap();
    assert_eq!(
        (cf.keepalive_ms, cf.deadtime_ms, cf.warntime_ms),
        (100, 300, 150)
    );
    let l = log_lines(&d);
    assert!(l.contains(&"WARN: Initial dead time [2000 ms] may be too small!".into()));
    assert!(l.contains(&"info: It should be >= deadtime and >= 10 seconds".into()));
}

#[test]
fn unknown_and_miscased_directives_are_illegal() {
    let (cf, d) = parse("node www3\nKeepalive 1\nfoo bar\n");
    assert!(cf.is_none());
    let l = log_lines(&d);
    assert_eq!(
        l,
        [
            "ERROR: Illegal directive [Keepalive] in /etc/ha.d//ha.cf",
            "ERROR: Illegal directive [foo] in /etc/ha.d//ha.cf",
            "ERROR: Heartbeat not started: configuration error.",
        ]
    );
    assert_eq!(d[0].at.as_ref().unwrap().line, 2);
    assert_eq!(d[1].at.as_ref().unwrap().line, 3);
}

#[test]
fn options_are_split_per_token_on_commas_and_blanks() {
    let (cf, _) = parse("node a,B  c\n");
    assert_eq!(cf.unwrap().nodes, ["a", "b", "c"]);
    // "1500 ms" is two values; "ms" alone is not a time
    let (cf, d) = parse("keepalive 1500 ms\n");
    assert!(cf.is_none());
    assert_eq!(
        d.last().unwrap().text,
        "Heartbeat not started: configuration error."
    );
    // the failing token is named at debug level with its line
    assert!(d.iter().any(|x| x.level == Level::Debug
        && x.text.contains("[ms]")
        && x.at.as_ref().unwrap().line == 1));
}

#[test]
fn comments_blank_lines_and_crlf() {
    let (cf, _) = parse("# c\n\n   \nnode www3 # trailing\r\nkeepalive 250ms\r\n");
    let cf = cf.unwrap();
    assert_eq!(cf.nodes, ["www3"]);
    assert_eq!(cf.keepalive_ms, 250);
}

#[test]
fn udpport_applies_only_to_later_media() {
    let (cf, _) = parse("bcast eth0\nudpport 700\nbcast eth1\nucast eth2 10.0.0.2\n");
    let cf = cf.unwrap();
    assert_eq!(
        cf.media[0],
        Medium::Bcast {
            dev: "eth0".into(),
            port: 694
        }
    );
    assert_eq!(
        cf.media[1],
        Medium::Bcast {
            dev: "eth1".into(),
            port: 700
        }
    );
    assert_eq!(
        cf.media[2],
        Medium::Ucast {
            dev: "eth2".into(),
            host: "10.0.0.2".into(),
            port: 700
        }
    );
    assert_eq!(cf.udpport, 700);
}

#[test]
fn bad_udpport_and_warntime_go_to_stderr() {
    let (cf, d) = parse("udpport 0\nwarntime 0\n");
    assert!(cf.is_none());
    let se: Vec<_> = d
        .iter()
        .filter(|x| x.sink == Sink::Stderr)
        .map(|x| x.text.as_str())
        .collect();
    assert_eq!(
        se,
        [
            "heartbeat: invalid port [0] specified.",
            "Warn time [0] is invalid."
        ]
    );
}

#[test]
fn media_grammar() {
    let (cf, _) = parse("bcast eth0 eth1\nmcast eth0 225.0.0.1 694 1 0\nucast eth0 10.0.0.2\n");
    let cf = cf.unwrap();
    assert_eq!(cf.media.len(), 4);
    assert_eq!(
        cf.media[2],
        Medium::Mcast {
            dev: "eth0".into(),
            group: "225.0.0.1".parse().unwrap(),
            port: 694,
            ttl: 1,
            loopback: false
        }
    );
    assert_eq!(cf.media[3].name(), "eth0");
    for (line, msg) in [
        (
            "mcast eth0 225.0.0.1 694 5 0",
            "glib:  mcast [eth0] bad ttl [5]",
        ),
        (
            "mcast eth0 225.0.0.1 694 1",
            "glib: mcast [eth0] missing loop",
        ),
        (
            "mcast eth0 1.2.3.4 694 1 0",
            "glib: mcast [eth0] bad addr [1.2.3.4]",
        ),
        (
            "mcast eth0 225.0.0.1 694 1 2",
            "glib:  mcast [eth0] bad loop [2]",
        ),
        (
            "ucast eth0",
            "glib: ucast: [eth0] missing target IP address/hostname",
        ),
    ] {
        let (cf, d) = parse(&format!("{line}\n"));
        assert!(cf.is_none(), "{line}");
        assert_eq!(d[0].text, msg, "{line}");
        assert_eq!(d[0].level, Level::Error);
    }
}

#[test]
fn auto_failback_and_nice_failback() {
    for (v, want) in [
        ("on", AutoFailback::On),
        ("off", AutoFailback::Off),
        ("legacy", AutoFailback::Legacy),
        ("Yes", AutoFailback::On),
    ] {
        let (cf, _) = parse(&format!("auto_failback {v}\n"));
        assert_eq!(cf.unwrap().auto_failback, want);
    }
    assert!(parse("auto_failback maybe\n").0.is_none());
    // nice_failback after auto_failback on → off (the original's quirk)
    let (cf, d) = parse("auto_failback on\nnice_failback on\n");
    assert_eq!(cf.unwrap().auto_failback, AutoFailback::Off);
    assert_eq!(
        log_lines(&d),
        [
            "ERROR: nice_failback flag is obsolete.. Use auto_failback {on, off, legacy} instead.",
            "ERROR: 'nice_failback on' has been changed to 'auto_failback off'",
            "ERROR: See documentation for details.",
        ]
    );
    let (cf, d) = parse("nice_failback on\n");
    assert_eq!(cf.unwrap().auto_failback, AutoFailback::Legacy);
    assert_eq!(
        log_lines(&d)[1],
        "ERROR: nice_failback on has been strictly interpreted as 'auto_failback legacy'"
    );
}

#[test]
fn missing_media_nodes_and_local_node() {
    let (cf, d) = full("logfile /x\nnode www4\n");
    assert!(cf.is_none());
    let l = log_lines(&d);
    assert!(l.contains(&"ERROR: No heartbeat media defined".into()));
    assert!(l.contains(&"ERROR: Current node [www3] not in configuration!".into()));
    let (cf, d) = full("logfile /x\nbcast eth0\n");
    assert!(cf.is_none());
    assert!(log_lines(&d).contains(&"ERROR: no nodes defined".into()));
}

#[test]
fn logging_choices() {
    let (cf, d) = full("node www3\nbcast eth0\n");
    assert!(cf.unwrap().use_logd);
    assert!(log_lines(&d).contains(&"info: No log entry found in ha.cf -- use logd".into()));
    let (cf, d) = full("node www3\nbcast eth0\nuse_logd no\n");
    assert!(cf.is_none());
    assert!(log_lines(&d)
        .contains(&"ERROR: No log entry found in ha.cf and use_logd is set to off".into()));
    let (cf, d) = parse("logfacility bogus\n");
    assert!(cf.is_none());
    assert_eq!(d[0].text, "Log facility(bogus) not valid");
    let (cf, _) = full("node www3\nbcast eth0\nlogfacility local7\n");
    let cf = cf.unwrap();
    assert_eq!(cf.param("logfile"), Some("/dev/null"));
}

#[test]
fn crm_mode_is_refused_and_crm_only_directives_ignored() {
    let (cf, d) = parse("crm yes\n");
    assert!(cf.is_none());
    assert!(d[0].text.contains("pacemaker (CRM) mode is not supported"));
    let (cf, _) = parse("crm off\ncompression bz2\nrecord_config_changes off\nuuidfrom nodename\n");
    let cf = cf.unwrap();
    let names: Vec<_> = cf.ignored.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["compression", "record_config_changes", "uuidfrom"]);
    assert_eq!(cf.ignored[1].1, 3);
    // still validated like the original
    assert!(parse("traditional_compression maybe\n").0.is_none());
    assert!(parse("uuidfrom dns\n").0.is_none());
}

#[test]
fn autojoin_conflicts_with_haresources() {
    let (cf, d) = full("logfile /x\nnode www3\nbcast eth0\nautojoin any\n");
    assert!(cf.is_none());
    let l = log_lines(&d);
    assert!(l.contains(&"ERROR: R1 style resource management conflicts with  autojoin set".into()));
    let (cf, _) = parse("autojoin other\n");
    assert_eq!(cf.unwrap().autojoin, AutoJoin::Other);
}

#[test]
fn misc_directives() {
    let (cf, _) = parse(
        "hbgenmethod time\nmsgfmt netstring\nrealtime off\nrtprio 5\nhopfudge 3\ndebug 2\nmax_rexmit_delay 100\nenv FOO=bar=baz\nrespawn hacluster /usr/lib/heartbeat/ipfail -x\n",
    );
    let cf = cf.unwrap();
    assert_eq!(cf.genmethod, GenMethod::Time);
    assert_eq!(cf.msgfmt, MsgFmt::Netstring);
    assert!(!cf.realtime);
    assert_eq!(cf.rtprio, Some(5));
    assert_eq!(cf.hopfudge, 3);
    assert_eq!(cf.debug, 2);
    assert_eq!(cf.max_rexmit_delay_ms, 100);
    assert_eq!(cf.env, [("FOO".to_string(), "bar=baz".to_string())]);
    assert_eq!(cf.clients[0].path, "/usr/lib/heartbeat/ipfail");
    assert_eq!(cf.clients[0].command, "/usr/lib/heartbeat/ipfail -x");
    for bad in [
        "hbgenmethod clock",
        "rtprio 0",
        "hopfudge 256",
        "debug 300",
        "msgfmt xml",
        "respawn root ipfail",
        "baud 1234",
        "max_rexmit_delay 0",
    ] {
        assert!(parse(&format!("{bad}\n")).0.is_none(), "{bad}");
    }
    let (_, d) = parse("hbgenmethod clock\nrtprio 0\n");
    assert_eq!(d[0].text, "Illegal hb generation method [clock]");
    assert_eq!(d[1].text, "Illegal realtime priority [0]");
}

#[test]
fn ha_cluster_service_sets_default_port() {
    let c =
        Ctx::new("/etc/ha.d//ha.cf", "www3").with_services("ha-cluster 695/udp\nfoo 700/udp # x\n");
    let mut d = Vec::new();
    let mut cf = HaCf::parse(
        "logfile /x\nnode www3\nbcast eth0\nudpport 700\n",
        &c,
        &mut d,
    )
    .unwrap();
    assert!(d
        .iter()
        .any(|x| x.text == "heartbeat: udp port 700 reserved for service \"foo\"."));
    assert!(cf.finalize(&c, &mut d));
    let mut cf2 = HaCf::parse("logfile /x\nnode www3\nbcast eth0\n", &c, &mut d).unwrap();
    assert!(cf2.finalize(&c, &mut d));
    assert_eq!(cf2.udpport, 695);
    assert_eq!(cf.udpport, 700);
}
