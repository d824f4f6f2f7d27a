use super::*;
use crate::config::{parse_str, Config, ParseEnv};
use crate::period::{in_period, Tm};
use std::collections::HashMap;

const T0: i64 = 1795635646; // Wed 2026-11-25 19:40:46 UTC

fn cfg(text: &str) -> Config {
    let env = ParseEnv {
        now: Tm::from_epoch_utc(T0),
        readable: &|_| true,
        disabled_hosts: HashMap::new(),
    };
    parse_str(text, "t.cf", &env).unwrap()
}

/// A one-service world driven by hand.
struct H {
    c: Config,
    st: ServiceState,
    now: i64,
    stopped: bool,
    disabled: bool,
    log: Vec<String>,
}

impl H {
    fn new(text: &str) -> H {
        let c = cfg(text);
        let st = ServiceState::new(&c.watches[0].services[0]);
        H {
            c,
            st,
            now: T0,
            stopped: false,
            disabled: false,
            log: Vec::new(),
        }
    }
    fn run(&mut self, f: &mut dyn FnMut(&mut Decider)) -> Vec<Effect> {
        let svc = &self.c.watches[0].services[0];
        let now = self.now;
        let inp = move |spec: &str| in_period(&Tm::from_epoch_utc(now), spec).is_yes();
        let ap = |name: &str| (name != "missing.alert").then(|| format!("/a/{name}"));
        let ctx = Ctx {
            now,
            group: &self.c.watches[0].name,
            hosts: "h1 h2".into(),
            stopped: self.stopped,
            disabled: self.disabled,
            in_period: &inp,
            alert_path: &ap,
            statedir: "/s",
            logdir: "/l",
            cfbasedir: "/c",
            dtlogging: true,
            start_time: T0 - 100,
        };
        let mut d = Decider::new(svc, &mut self.st, &ctx);
        f(&mut d);
        d.out
    }
    /// an event at now+dt; returns "ALERTNAME FLAG ARGS|SUMMARY" per alert
    fn ev(&mut self, dt: i64, exit: i64, out: &str) -> Vec<String> {
        self.now += dt;
        let dep = self.dep();
        let eff = self.run(&mut |d| d.process_event(EventKind::Monitor, exit, out, dep.clone()));
        self.alerts(eff)
    }
    fn dep(&self) -> Option<DepOutcome> {
        let svc = &self.c.watches[0].services[0];
        let expr = svc.depend.as_ref()?;
        if expr.is_empty() || svc.dep_behavior != DepBehavior::A {
            return None;
        }
        Some(depend_eval(expr, 0, DepBehavior::A, 10, &|g, s| {
            // the test world: "up:x" services are OK, "down:x" are failing
            let st_ok = ServiceState {
                op_status: if g == "up" { STAT_OK } else { STAT_FAIL },
                ..ServiceState::new(svc)
            };
            let leaked: &'static ServiceState = Box::leak(Box::new(st_ok));
            let svc_static: &'static Service = Box::leak(Box::new(Service::default()));
            (g == "up" || g == "down")
                .then_some((svc_static, leaked))
                .filter(|_| !s.is_empty())
        }))
    }
    fn alerts(&mut self, eff: Vec<Effect>) -> Vec<String> {
        let mut v = Vec::new();
        for e in eff {
            match e {
                Effect::Alert(a) => {
                    let name = a.path.rsplit('/').next().unwrap().to_string();
                    let flag = a.flag().unwrap_or("");
                    v.push(
                        format!("{name} {flag} {}|{}", a.args, summary_of(&a.stdin))
                            .replace("  ", " "),
                    );
                }
                Effect::Log(_, m) => self.log.push(m),
                _ => {}
            }
        }
        v
    }
    fn n(&mut self, dt: i64, exit: i64, out: &str) -> usize {
        self.ev(dt, exit, out).len()
    }
}

const HEAD: &str = "watch g\n service s\n  interval 10s\n  monitor m.monitor\n";

#[test]
fn failure_then_recovery_with_upalert() {
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert x\n   upalert u.alert y\n"
    ));
    assert_eq!(h.ev(10, 0, "fine"), Vec::<String>::new());
    assert_eq!(h.ev(10, 1, "h1\ndetail"), vec!["a.alert x|h1"]);
    assert_eq!(h.ev(10, 1, "h1\ndetail"), vec!["a.alert x|h1"]);
    // the upalert carries the last failing output
    assert_eq!(h.ev(10, 0, ""), vec!["u.alert -u y|h1"]);
    assert_eq!(h.ev(10, 0, ""), Vec::<String>::new());
}

#[test]
fn no_upalert_without_down_alert_unless_no_comp_alerts() {
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert\n   upalert u.alert\n   alertafter 3\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 0);
    assert_eq!(h.n(10, 0, ""), 0);
    assert!(h
        .log
        .iter()
        .any(|l| l.contains("Suppressing upalert since no down alert was sent")));

    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert\n   upalert u.alert\n   alertafter 3\n   no_comp_alerts\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 0);
    assert_eq!(h.ev(10, 0, ""), vec!["u.alert -u |x"]);
    // once per recovery
    assert_eq!(h.n(10, 1, "x"), 0);
    assert_eq!(h.n(10, 0, ""), 0);
}

#[test]
fn alertevery_summary_change_overrides() {
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert\n   alertevery 1h\n"
    ));
    assert_eq!(h.n(10, 1, "h1"), 1);
    assert_eq!(h.n(10, 1, "h1"), 0);
    assert_eq!(h.n(10, 1, "h1 h2"), 1);
    assert_eq!(h.n(10, 1, "h1 h2"), 0);
    assert_eq!(h.n(3600, 1, "h1 h2"), 1);
    assert!(h
        .log
        .iter()
        .any(|l| l == "g/s/wd {Sun-Sat}: Suppressing alert for now due to alertevery."));
}

#[test]
fn alertevery_strict_and_ignore_summary_and_observe_detail() {
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert\n   alertevery 1h strict\n"
    ));
    assert_eq!(h.n(10, 1, "h1"), 1);
    assert_eq!(h.n(10, 1, "h2"), 0);
    // strict survives a recovery (no upalert configured)
    assert_eq!(h.n(10, 0, ""), 0);
    assert_eq!(h.n(10, 1, "h1"), 0);

    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert\n   alertevery 1h ignore_summary\n"
    ));
    assert_eq!(h.n(10, 1, "h1"), 1);
    assert_eq!(h.n(10, 1, "h2"), 0);
    assert_eq!(h.n(10, 0, ""), 0);
    assert_eq!(h.n(10, 1, "h1"), 1, "recovery resets a non-strict window");

    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert\n   alertevery 1h observe_detail\n"
    ));
    assert_eq!(h.n(10, 1, "h1\nd1"), 1);
    assert_eq!(h.n(10, 1, "h1\nd1"), 0);
    assert_eq!(h.n(10, 1, "h1\nd2"), 1);
}

#[test]
fn alertafter_consecutive() {
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert\n   alertafter 3\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 0);
    assert_eq!(h.n(10, 1, "x"), 0);
    assert_eq!(h.n(10, 1, "x"), 1);
    assert_eq!(h.n(10, 1, "x"), 1);
    assert_eq!(h.n(10, 0, ""), 0);
    assert_eq!(h.n(10, 1, "x"), 0);
}

#[test]
fn alertafter_timeval_is_strictly_more_than() {
    // alertafter 5s with a 2 s interval: first alert 6 s after the first failure
    let mut h = H::new("watch g\n service s\n  interval 2s\n  period wd {Sun-Sat}\n   alert a.alert\n   alertafter 5s\n");
    assert_eq!(h.n(2, 1, "x"), 0); // t=0
    assert_eq!(h.n(2, 1, "x"), 0); // 2
    assert_eq!(h.n(2, 1, "x"), 0); // 4
    assert_eq!(h.n(2, 1, "x"), 1); // 6
    assert_eq!(h.n(2, 1, "x"), 1); // 8
}

#[test]
fn alertafter_num_timeval_window() {
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert\n   alertafter 3 30s\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 0); // window starts, count 1
    assert_eq!(h.n(10, 1, "x"), 0); // 2
    assert_eq!(h.n(10, 1, "x"), 1); // 3 within 20 s
    assert_eq!(h.n(10, 1, "x"), 1); // 4, still within 30 s
    assert_eq!(h.n(10, 1, "x"), 0); // 40 s after start: window restarts, count 1
    assert_eq!(h.n(10, 1, "x"), 0);
    assert_eq!(h.n(10, 1, "x"), 1);
}

#[test]
fn numalerts_per_episode() {
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert\n   numalerts 2\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 1);
    assert_eq!(h.n(10, 1, "x"), 1);
    assert_eq!(h.n(10, 1, "x"), 0);
    assert_eq!(h.n(10, 0, ""), 0);
    assert_eq!(h.n(10, 1, "x"), 1);
}

#[test]
fn periods_are_independent() {
    let mut h = H::new(&format!(
        "{HEAD}  period A: wd {{Sun-Sat}}\n   alert a.alert\n   alertevery 1h\n  period B: wd {{Sun-Sat}}\n   alert b.alert\n  period C: wd {{Mon}}\n   alert c.alert\n"
    ));
    assert_eq!(h.ev(10, 1, "x"), vec!["a.alert |x", "b.alert |x"]);
    assert_eq!(h.ev(10, 1, "x"), vec!["b.alert |x"]);
}

#[test]
fn exit_ranges_and_alertexitrange() {
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert exit=2 two.alert a\n   alert exit=3-5 many.alert\n   alert all.alert\n"
    ));
    assert_eq!(h.ev(10, 2, "x"), vec!["two.alert a|x", "all.alert |x"]);
    assert_eq!(h.ev(10, 4, "x"), vec!["many.alert |x", "all.alert |x"]);
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert a.alert\n   alertexitrange 2-3\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 0);
    assert_eq!(h.n(10, 3, "x"), 1);
}

#[test]
fn missing_alert_does_not_count() {
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   alert missing.alert\n   upalert u.alert\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 0);
    assert!(h
        .log
        .iter()
        .any(|l| l == "no alert found while trying to run missing.alert"));
    assert_eq!(h.n(10, 0, ""), 0, "no down alert was sent, so no upalert");
}

#[test]
fn startup_alerts_count_as_sent() {
    let mut h = H::new(&format!(
        "{HEAD}  period wd {{Sun-Sat}}\n   startupalert s.alert\n   upalert u.alert\n   alertafter 9\n   alert a.alert\n"
    ));
    let eff = h.run(&mut |d| d.startup());
    let Effect::Alert(a) = eff.iter().find(|e| matches!(e, Effect::Alert(_))).unwrap() else {
        unreachable!()
    };
    assert_eq!(a.stdin, "");
    assert!(a.env.contains(&("MON_ALERTTYPE".into(), "startup".into())));
    assert!(a.env.contains(&("MON_OPSTATUS".into(), "7".into())));
    assert_eq!(a.flag(), None);
    assert_eq!(h.n(10, 1, "x"), 0);
    // the startup alert enabled this upalert
    assert_eq!(h.ev(10, 0, ""), vec!["u.alert -u |x"]);
}

#[test]
fn stopped_and_disabled_suppress_but_redistribute_fires_when_disabled() {
    let mut h = H::new(&format!(
        "{HEAD}  redistribute r.alert -x\n  period wd {{Sun-Sat}}\n   alert a.alert\n"
    ));
    h.disabled = true;
    assert_eq!(h.ev(10, 1, "x"), vec!["r.alert -x|x"]);
    h.stopped = true;
    assert_eq!(h.n(10, 1, "x"), 0);
    assert!(h
        .log
        .iter()
        .any(|l| l == "ignoring alert for g,s because the mon scheduler is stopped"));
}

#[test]
fn redistribute_runs_upalert_path_on_every_success() {
    let mut h = H::new(&format!(
        "{HEAD}  redistribute r.alert\n  period wd {{Sun-Sat}}\n   upalert u.alert\n   no_comp_alerts\n"
    ));
    assert_eq!(
        h.ev(10, 0, "ok"),
        vec!["r.alert -u |(NO SUMMARY)", "u.alert -u |(NO SUMMARY)"]
    );
    assert_eq!(h.ev(10, 0, "ok"), vec!["r.alert -u |ok"]);
}

#[test]
fn depend_suppresses_failure_alerts_only() {
    let mut h = H::new(&format!(
        "{HEAD}  depend up:ping && down:ping\n  period wd {{Sun-Sat}}\n   alert a.alert\n   upalert u.alert\n   startupalert s.alert\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 0);
    assert_eq!(h.st.depend_status, Some(false));
    let mut h = H::new(&format!(
        "{HEAD}  depend up:ping || down:ping\n  period wd {{Sun-Sat}}\n   alert a.alert\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 1);
    // a whitespace list is an eval error: alerts stay suppressed, notice logged
    let mut h = H::new(&format!(
        "{HEAD}  depend up:ping up:dns\n  period wd {{Sun-Sat}}\n   alert a.alert\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 0);
    assert_eq!(h.st.depend_status, None);
    assert!(h
        .log
        .iter()
        .any(|l| l.starts_with("eval error for dependency starting at up:ping up:dns")));
    // alertdepend alone is never evaluated by process_event: always suppressed
    let mut h = H::new(&format!(
        "{HEAD}  alertdepend up:ping\n  period wd {{Sun-Sat}}\n   alert a.alert\n"
    ));
    assert_eq!(h.n(10, 1, "x"), 0);
}

#[test]
fn ack_suppresses_until_summary_changes_with_unack_summary() {
    let mut h = H::new(&format!(
        "{HEAD}  unack_summary 1\n  period wd {{Sun-Sat}}\n   alert a.alert\n   ackalert k.alert\n"
    ));
    assert_eq!(h.n(10, 1, "h1"), 1);
    let eff = h.run(&mut |d| d.ack("USER: looking"));
    assert_eq!(h.alerts(eff), vec!["k.alert -a |USER: looking"]);
    assert_eq!(h.n(10, 1, "h1"), 0);
    assert!(h
        .log
        .iter()
        .any(|l| l == "no alert for g.s because of ack'd failure"));
    assert_eq!(h.n(10, 1, "h1 h2"), 1);
    assert_eq!(h.st.ack, 0);
}

#[test]
fn failure_interval_swaps_and_restores() {
    let mut h = H::new(&format!(
        "{HEAD}  failure_interval 2s\n  period wd {{Sun-Sat}}\n   alert a.alert\n"
    ));
    h.ev(10, 1, "x");
    assert_eq!(h.st.interval, Some(2.0));
    assert_eq!(h.st.old_interval, Some(10.0));
    h.ev(2, 0, "");
    assert_eq!(h.st.interval, Some(10.0));
    assert_eq!(h.st.old_interval, None);
}

#[test]
fn alert_env_argv_and_stdin() {
    let mut h = H::new(&format!(
        "{HEAD}  description web farm\n  FOO=bar baz\n  period wd {{Sun-Sat}}\n   alert a.alert a1 \"two words\"\n   upalert u.alert up1\n"
    ));
    h.ev(10, 0, "all ok");
    let t_fail = h.now + 10;
    h.now = t_fail;
    let eff = h.run(&mut |d| d.process_event(EventKind::Monitor, 3, "h1\ndetail 1\n", None));
    let a = eff
        .iter()
        .find_map(|e| {
            if let Effect::Alert(a) = e {
                Some(a.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(
        a.argv(),
        vec![
            "/a/a.alert",
            "-s",
            "s",
            "-g",
            "g",
            "-h",
            "h1 h2",
            "-t",
            &t_fail.to_string(),
            "a1",
            "two words"
        ]
    );
    assert_eq!(a.stdin, "h1\ndetail 1\n");
    let env: HashMap<_, _> = a.env.iter().cloned().collect();
    assert_eq!(env["MON_LAST_SUMMARY"], "h1");
    assert_eq!(env["MON_LAST_OUTPUT"], "all ok");
    assert_eq!(env["MON_RETVAL"], "3");
    assert_eq!(env["MON_OPSTATUS"], "0");
    assert_eq!(env["MON_ALERTTYPE"], "failure");
    assert_eq!(env["MON_FIRST_FAILURE"], t_fail.to_string());
    assert_eq!(env["MON_LAST_FAILURE"], t_fail.to_string());
    assert_eq!(env["MON_FIRST_SUCCESS"], "");
    assert_eq!(env["MON_DESCRIPTION"], "web farm");
    assert_eq!(env["FOO"], "bar baz");
    assert!(eff.iter().any(|e| matches!(e, Effect::AlertHist(l) if l == &format!("alert g s {t_fail} /a/a.alert (a1 \"two words\") h1"))));
    assert!(eff
        .iter()
        .any(|e| matches!(e, Effect::FailureHist(l) if l == &format!("g s {t_fail} h1"))));

    h.now += 10;
    let eff = h.run(&mut |d| d.process_event(EventKind::Monitor, 0, "fine", None));
    let u = eff
        .iter()
        .find_map(|e| {
            if let Effect::Alert(a) = e {
                Some(a.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(u.argv()[9..], ["-u".to_string(), "up1".to_string()]);
    assert_eq!(u.stdin, "h1\ndetail 1\n");
    let env: HashMap<_, _> = u.env.iter().cloned().collect();
    assert_eq!(env["MON_RETVAL"], "0");
    assert_eq!(env["MON_OPSTATUS"], "1");
    assert_eq!(env["MON_ALERTTYPE"], "up");
    assert_eq!(env["MON_LAST_SUMMARY"], "h1");
    assert!(eff.iter().any(
        |e| matches!(e, Effect::DtLog(l) if l == &format!("{} g s {t_fail} 10 10 h1", t_fail + 10))
    ));
}

#[test]
fn trap_flags() {
    let mut h = H::new(
        "watch g\n service s\n  period wd {Sun-Sat}\n   alert a.alert\n   upalert u.alert\n",
    );
    let eff = h.run(&mut |d| d.process_event(EventKind::Trap, 1, "bad\n\ndetail", None));
    assert_eq!(h.alerts(eff), vec!["a.alert -T |bad"]);
    h.now += 5;
    let eff = h.run(&mut |d| d.process_event(EventKind::TrapTimeout, 1, "trap timeout\nx\n", None));
    assert_eq!(h.alerts(eff), vec!["a.alert -O |trap timeout"]);
    let eff = h.run(&mut |d| d.process_event(EventKind::Trap, 0, "good\n\n", None));
    assert_eq!(h.alerts(eff), vec!["u.alert -u |trap timeout"]);
}

#[test]
fn no_summary_placeholder() {
    assert_eq!(summary_of(""), "(NO SUMMARY)");
    assert_eq!(summary_of("  \nx"), "(NO SUMMARY)");
    assert_eq!(summary_of("a\nb"), "a");
    assert_eq!(split_summary(""), (None, None));
    assert_eq!(split_summary("a\n"), (Some("a".into()), Some("".into())));
}
