//! `mon --check -c FILE` (also `mon -C FILE`): parse like the daemon
//! would and print what was understood, then mon's own warnings and ours.

use std::fmt::Write;

use crate::config::{AlertEveryMode, Config, Period, Service};
use crate::perlnum::fmt_num;

fn secs(v: f64) -> String {
    format!("{}s", fmt_num(v))
}

pub fn render(c: &Config) -> String {
    let mut o = String::new();
    let g = &c.globals;
    let _ = writeln!(o, "config {}", c.file);
    let mut globals: Vec<(&str, String)> = Vec::new();
    macro_rules! raw {
        ($($f:ident),*) => {$(
            if let Some(v) = &g.$f { globals.push((stringify!($f), v.clone())); }
        )*};
    }
    raw!(
        alertdir,
        mondir,
        basedir,
        cfbasedir,
        statedir,
        logdir,
        authfile,
        authtype,
        userfile,
        pamservice,
        serverbind,
        trapbind,
        serverport,
        trapport,
        clientallow,
        pidfile,
        maxprocs,
        histlength,
        historicfile,
        monerrfile,
        dtlogfile,
        dep_recur_limit,
        syslog_facility,
        monremote,
        exclude_period
    );
    if let Some(v) = g.randstart {
        globals.push(("randstart", secs(v)));
    }
    if let Some(v) = g.cltimeout {
        globals.push(("cltimeout", secs(v)));
    }
    if let Some(v) = g.historictime {
        globals.push(("historictime", secs(v)));
    }
    if let Some(v) = g.dtlogging {
        globals.push(("dtlogging", if v { "yes" } else { "no" }.into()));
    }
    if let Some(v) = g.startupalerts_on_reset {
        globals.push((
            "startupalerts_on_reset",
            if v { "yes" } else { "no" }.into(),
        ));
    }
    for (k, v) in globals {
        let _ = writeln!(o, "global {k} = {v}");
    }
    for hg in &c.hostgroups {
        let _ = writeln!(
            o,
            "hostgroup {} (line {}): {}",
            hg.name,
            hg.line,
            hg.hosts.join(" ")
        );
    }
    for (name, lines) in &c.aliases {
        let _ = writeln!(o, "alias {name}: {} line(s)", lines.len());
    }
    for (name, members) in &c.views {
        let _ = writeln!(o, "view {name}: {}", members.join(" "));
    }
    for w in &c.watches {
        let hosts = c
            .hostgroup(&w.name)
            .map(|h| h.hosts.join(" "))
            .unwrap_or_default();
        let _ = writeln!(o, "watch {} (line {}) hosts: {}", w.name, w.line, hosts);
        for s in &w.services {
            service(&mut o, s);
        }
    }
    o
}

fn service(o: &mut String, s: &Service) {
    let _ = writeln!(o, "  service {} (line {})", s.name, s.line);
    match s.interval {
        Some(i) => {
            let _ = writeln!(o, "    interval {}", secs(i));
        }
        None => {
            let _ = writeln!(o, "    interval none (never scheduled; traps only)");
        }
    }
    if let Some(m) = &s.monitor {
        let _ = writeln!(o, "    monitor {m}");
    }
    let opt = |o: &mut String, k: &str, v: &Option<String>| {
        if let Some(v) = v {
            let _ = writeln!(o, "    {k} {v}");
        }
    };
    opt(o, "description", &s.description);
    for (k, v) in [
        ("failure_interval", s.failure_interval),
        ("traptimeout", s.traptimeout),
        ("trapduration", s.trapduration),
    ] {
        if let Some(v) = v {
            let _ = writeln!(o, "    {k} {}", secs(v));
        }
    }
    if s.randskew != 0.0 {
        let _ = writeln!(o, "    randskew {}", secs(s.randskew));
    }
    if s.allow_empty_group {
        let _ = writeln!(o, "    allow_empty_group");
    }
    if !s.exclude_hosts.is_empty() {
        let _ = writeln!(o, "    exclude_hosts {}", s.exclude_hosts.join(" "));
    }
    if !s.exclude_period.is_empty() {
        let _ = writeln!(o, "    exclude_period {}", s.exclude_period);
    }
    opt(o, "depend", &s.depend);
    opt(o, "alertdepend", &s.alertdepend);
    opt(o, "monitordepend", &s.monitordepend);
    opt(o, "hostdepend", &s.hostdepend);
    if s.depend.is_some() {
        let _ = writeln!(o, "    dep_behavior {}", s.dep_behavior.as_str());
    }
    if !s.redistribute.is_empty() {
        let _ = writeln!(o, "    redistribute {}", s.redistribute);
    }
    if s.unack_summary {
        let _ = writeln!(o, "    unack_summary 1");
    }
    for (k, v) in &s.env {
        let _ = writeln!(o, "    env {k}={v}");
    }
    for p in &s.periods {
        period(o, p);
    }
}

fn period(o: &mut String, p: &Period) {
    if p.key == p.spec {
        let _ = writeln!(o, "    period '{}' (line {})", p.spec, p.line);
    } else {
        let _ = writeln!(o, "    period {}: '{}' (line {})", p.key, p.spec, p.line);
    }
    for (k, list) in [
        ("alert", &p.alerts),
        ("upalert", &p.upalerts),
        ("startupalert", &p.startupalerts),
        ("ackalert", &p.ackalerts),
        ("disablealert", &p.disablealerts),
    ] {
        for a in list {
            let _ = writeln!(o, "      {k} {a}");
        }
    }
    if p.alertevery != 0.0 {
        let mode = match p.alertevery_mode {
            AlertEveryMode::Summary => "",
            AlertEveryMode::ObserveDetail => " observe_detail",
            AlertEveryMode::IgnoreSummary => " ignore_summary",
            AlertEveryMode::Strict => " strict",
        };
        let _ = writeln!(o, "      alertevery {}{}", secs(p.alertevery), mode);
    }
    if let Some(n) = p.alertafter_consec {
        let _ = writeln!(o, "      alertafter {n} consecutive failures");
    }
    match (p.alertafter, p.alertafterival) {
        (Some(n), Some(t)) => {
            let _ = writeln!(o, "      alertafter {n} failures within {}", secs(t));
        }
        (None, Some(t)) => {
            let _ = writeln!(o, "      alertafter failing for more than {}", secs(t));
        }
        _ => {}
    }
    if p.numalerts != 0 {
        let _ = writeln!(o, "      numalerts {}", p.numalerts);
    }
    if p.no_comp_alerts {
        let _ = writeln!(o, "      no_comp_alerts");
    }
    if let Some(r) = &p.alertexitrange {
        let _ = writeln!(o, "      alertexitrange {r}");
    }
    if p.alerts_dont_count {
        let _ = writeln!(o, "      alerts_dont_count");
    }
}
