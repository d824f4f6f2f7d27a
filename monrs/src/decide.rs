//! The alert decision procedure: mon's `process_event`, `do_alert` and the
//! bookkeeping half of `call_alert`, as a state machine. Nothing here does
//! I/O or reads a clock: the caller passes the time, the period test and
//! the alert lookup in a [`Ctx`], and gets back [`Effect`]s (alerts to run,
//! syslog lines, history lines) to carry out.

use crate::config::{in_range, AlertEveryMode, DepBehavior, Service};
use crate::depend;
use crate::quotewords::quotewords;

pub const STAT_FAIL: i32 = 0;
pub const STAT_OK: i32 = 1;
pub const STAT_COLDSTART: i32 = 2;
pub const STAT_WARMSTART: i32 = 3;
pub const STAT_LINKDOWN: i32 = 4;
pub const STAT_UNKNOWN: i32 = 5;
pub const STAT_TIMEOUT: i32 = 6;
pub const STAT_UNTESTED: i32 = 7;
pub const STAT_DEPEND: i32 = 8;
pub const STAT_WARN: i32 = 9;

pub fn is_success(s: i32) -> bool {
    matches!(
        s,
        STAT_OK | STAT_COLDSTART | STAT_WARMSTART | STAT_UNKNOWN | STAT_UNTESTED
    )
}
pub fn is_failure(s: i32) -> bool {
    matches!(s, STAT_FAIL | STAT_LINKDOWN | STAT_TIMEOUT)
}
pub fn is_warning(s: i32) -> bool {
    matches!(
        s,
        STAT_COLDSTART | STAT_WARMSTART | STAT_UNKNOWN | STAT_WARN
    )
}

/// Alert flags, combined like mon's `$FL_*`.
pub mod fl {
    pub const MONITOR: u32 = 1;
    pub const UPALERT: u32 = 2;
    pub const TRAP: u32 = 4;
    pub const TRAPTIMEOUT: u32 = 8;
    pub const STARTUPALERT: u32 = 16;
    pub const TEST: u32 = 32;
    pub const REDISTRIBUTE: u32 = 64;
    pub const ACKALERT: u32 = 128;
    pub const DISABLEALERT: u32 = 256;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// a monitor exited ("m")
    Monitor,
    /// a trap arrived ("t")
    Trap,
    /// a trap timeout fired ("T")
    TrapTimeout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
}

impl Priority {
    pub fn as_libc(self) -> libc::c_int {
        match self {
            Priority::Alert => libc::LOG_ALERT,
            Priority::Crit => libc::LOG_CRIT,
            Priority::Err => libc::LOG_ERR,
            Priority::Warning => libc::LOG_WARNING,
            Priority::Notice => libc::LOG_NOTICE,
            Priority::Info => libc::LOG_INFO,
            Priority::Debug => libc::LOG_DEBUG,
        }
    }
}

/// One alert to run, fully determined: the runner only execs it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertCall {
    pub group: String,
    pub service: String,
    /// full path found in alertdir
    pub path: String,
    /// the config words after the alert name, raw
    pub args: String,
    pub flags: u32,
    /// what the alert reads on stdin
    pub stdin: String,
    /// `-h`: enabled hosts joined by spaces
    pub hosts: String,
    /// `-t`
    pub time: i64,
    /// MON_* variables and the service's own (added to mon's environment)
    pub env: Vec<(String, String)>,
}

impl AlertCall {
    /// The one flag mon passes; later checks override earlier ones.
    pub fn flag(&self) -> Option<&'static str> {
        let f = self.flags;
        let mut t = None;
        if f & fl::UPALERT != 0 {
            t = Some("-u");
        }
        if f & fl::ACKALERT != 0 {
            t = Some("-a");
        }
        if f & fl::DISABLEALERT != 0 {
            t = Some("-D");
        }
        if f & fl::TRAP != 0 {
            t = Some("-T");
        }
        if f & fl::TRAPTIMEOUT != 0 {
            t = Some("-O");
        }
        t
    }

    /// `PATH -s S -g G -h "HOSTS" -t T [FLAG] user-args…`
    pub fn argv(&self) -> Vec<String> {
        let mut v = vec![
            self.path.clone(),
            "-s".into(),
            self.service.clone(),
            "-g".into(),
            self.group.clone(),
            "-h".into(),
            self.hosts.clone(),
            "-t".into(),
            self.time.to_string(),
        ];
        if let Some(f) = self.flag() {
            v.push(f.into());
        }
        if !self.args.is_empty() {
            v.extend(quotewords(&self.args).unwrap_or_default());
        }
        v
    }
}

/// (history/syslog type, MON_ALERTTYPE) by mon's priority order.
pub fn alert_type(flags: u32) -> (&'static str, &'static str) {
    if flags & fl::UPALERT != 0 {
        ("upalert", "up")
    } else if flags & fl::STARTUPALERT != 0 {
        ("startupalert", "startup")
    } else if flags & fl::ACKALERT != 0 {
        ("ackalert", "ack")
    } else if flags & fl::DISABLEALERT != 0 {
        ("disablealert", "disable")
    } else if flags & fl::TRAPTIMEOUT != 0 {
        ("traptimeoutalert", "traptimeout")
    } else if flags & fl::TRAP != 0 {
        ("trapalert", "trap")
    } else if flags & fl::TEST != 0 {
        ("testalert", "test")
    } else {
        ("alert", "failure")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Alert(AlertCall),
    Log(Priority, String),
    /// a line for the in-memory failure history
    FailureHist(String),
    /// a line for the alert history (and historicfile)
    AlertHist(String),
    /// a line to append to the downtime log
    DtLog(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeriodState {
    pub last_alert: i64,
    pub alert_sent: u64,
    pub first_fail_time: i64,
    pub failcount: i64,
    pub no_comp_upalert_sent: u64,
    /// whether mon would have these keys defined (saved state prints
    /// undefined ones as empty)
    pub last_alert_set: bool,
    pub first_fail_set: bool,
    pub failcount_set: bool,
}

/// Per-service run-time state (mon's `_underscore` keys).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceState {
    pub op_status: i32,
    pub last_op_status: i32,
    pub exitval: Option<i64>,
    pub failure_count: u64,
    pub consec_failures: u64,
    pub alert_count: u64,
    pub last_failure: i64,
    pub first_failure: Option<i64>,
    pub last_success: i64,
    pub last_summary: Option<String>,
    pub last_detail: Option<String>,
    pub last_output: Option<String>,
    pub failure_output: Option<String>,
    pub upalert_output: Option<String>,
    pub ack: i64,
    pub ack_comment: String,
    pub depend_status: Option<bool>,
    pub last_trap: i64,
    pub last_uptrap: i64,
    /// `grp:svc` of a trap caught by default/default, while it is handled
    pub intended: Option<String>,
    /// current interval (failure_interval swaps it)
    pub interval: Option<f64>,
    pub old_interval: Option<f64>,
    /// start-to-start schedule anchor; 0 = none
    pub next_check: f64,
    pub periods: Vec<PeriodState>,
}

impl ServiceState {
    pub fn new(svc: &Service) -> ServiceState {
        ServiceState {
            op_status: STAT_UNTESTED,
            last_op_status: STAT_UNTESTED,
            exitval: None,
            failure_count: 0,
            consec_failures: 0,
            alert_count: 0,
            last_failure: 0,
            first_failure: None,
            last_success: 0,
            last_summary: None,
            last_detail: None,
            last_output: None,
            failure_output: None,
            upalert_output: None,
            ack: 0,
            ack_comment: String::new(),
            depend_status: None,
            last_trap: 0,
            last_uptrap: 0,
            intended: None,
            interval: svc.interval,
            old_interval: None,
            next_check: 0.0,
            periods: svc
                .periods
                .iter()
                .map(|p| PeriodState {
                    first_fail_set: p.alertafterival.is_some(),
                    failcount_set: p.alertafter.is_some(),
                    ..Default::default()
                })
                .collect(),
        }
    }

    fn set_op_status(&mut self, s: i32) {
        self.last_op_status = self.op_status;
        self.op_status = s;
    }

    /// `alerts_sent` as `list opstatus` reports it.
    pub fn alerts_sent(&self, svc: &Service) -> u64 {
        self.periods
            .iter()
            .zip(&svc.periods)
            .filter(|(_, p)| !p.alerts_dont_count)
            .map(|(s, _)| s.alert_sent)
            .sum()
    }
}

/// Everything a decision needs from the outside world.
pub struct Ctx<'a> {
    pub now: i64,
    pub group: &'a str,
    /// the group's enabled hosts joined by spaces (the alert `-h`)
    pub hosts: String,
    pub stopped: bool,
    /// watch or service disabled
    pub disabled: bool,
    pub in_period: &'a dyn Fn(&str) -> bool,
    pub alert_path: &'a dyn Fn(&str) -> Option<String>,
    pub statedir: &'a str,
    pub logdir: &'a str,
    pub cfbasedir: &'a str,
    pub dtlogging: bool,
    pub start_time: i64,
}

/// The result of evaluating a dependency.
#[derive(Debug, Clone, PartialEq)]
pub enum DepOutcome {
    Value(bool),
    /// recursion limit reached: nothing changes
    TooDeep,
    /// eval error: logged, nothing changes
    Error(String),
}

/// `split("\n", $s, 2)` → (first, rest), with Perl's undefs.
pub fn split_summary(output: &str) -> (Option<String>, Option<String>) {
    if output.is_empty() {
        return (None, None);
    }
    match output.split_once('\n') {
        Some((a, b)) => (Some(a.to_string()), Some(b.to_string())),
        None => (Some(output.to_string()), None),
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// First line of `output`, or "(NO SUMMARY)" if it is blank.
pub fn summary_of(output: &str) -> String {
    let first = output.split('\n').next().map(String::from);
    let first = if output.is_empty() { None } else { first };
    if blank(&first) {
        "(NO SUMMARY)".into()
    } else {
        first.unwrap_or_default()
    }
}

pub struct Decider<'a> {
    pub svc: &'a Service,
    pub st: &'a mut ServiceState,
    pub ctx: &'a Ctx<'a>,
    pub out: Vec<Effect>,
}

impl<'a> Decider<'a> {
    pub fn new(svc: &'a Service, st: &'a mut ServiceState, ctx: &'a Ctx<'a>) -> Decider<'a> {
        Decider {
            svc,
            st,
            ctx,
            out: Vec::new(),
        }
    }

    fn log(&mut self, p: Priority, m: String) {
        self.out.push(Effect::Log(p, m));
    }

    fn gs(&self) -> (&str, &str) {
        (self.ctx.group, &self.svc.name)
    }

    /// mon's `process_event`. `dep` is the result of the `a`-role
    /// dependency check when the service has `depend` with dep_behavior
    /// `a` (the caller evaluates it against the other services first).
    pub fn process_event(
        &mut self,
        kind: EventKind,
        exitval: i64,
        output: &str,
        dep: Option<DepOutcome>,
    ) {
        let now = self.ctx.now;
        let (mut summary, detail) = split_summary(output);
        self.st.exitval = Some(exitval);
        if let Some(d) = dep {
            self.apply_dep(d);
        }
        if exitval != 0 {
            self.st.failure_count += 1;
            self.st.consec_failures += 1;
            self.st.last_failure = now;
            if matches!(self.st.op_status, STAT_OK | STAT_UNKNOWN | STAT_UNTESTED) {
                self.st.first_failure = Some(now);
            }
            self.st.set_op_status(STAT_FAIL);
            if blank(&summary) {
                summary = Some("(NO SUMMARY)".into());
            }
            let sum = summary.clone().unwrap_or_default();
            self.st.last_summary = summary.clone();
            self.st.last_detail = detail.clone();
            let (g, s) = self.gs();
            let line = format!("{g} {s} {now} {sum}");
            self.out.push(Effect::FailureHist(line.clone()));
            self.log(Priority::Crit, format!("failure for {line}"));
            let flags = match kind {
                EventKind::Monitor => fl::MONITOR,
                EventKind::Trap => fl::TRAP,
                EventKind::TrapTimeout => fl::TRAPTIMEOUT,
            };
            self.do_alert(output, Some(exitval), flags);
            if kind == EventKind::Monitor
                && self.svc.failure_interval.is_some()
                && self.st.old_interval.is_none()
            {
                self.st.old_interval = self.st.interval;
                self.st.interval = self.svc.failure_interval;
                self.st.next_check = 0.0;
            }
            self.st.failure_output = Some(output.to_string());
        } else {
            if self.ctx.dtlogging && self.st.op_status == STAT_FAIL {
                let ff = match self.st.first_failure {
                    Some(f) if f != 0 => f,
                    _ => self.ctx.start_time,
                };
                self.st.first_failure = Some(ff);
                let (g, s) = self.gs();
                let line = format!(
                    "{now} {g} {s} {ff} {} {} {}",
                    now - ff,
                    crate::perlnum::fmt_num(self.st.interval.unwrap_or(0.0)),
                    self.st.last_summary.clone().unwrap_or_default()
                );
                self.out.push(Effect::DtLog(line));
            }
            let old = self.st.op_status;
            self.st.set_op_status(STAT_OK);
            if kind == EventKind::Trap {
                self.st.last_uptrap = now;
            }
            if !self.svc.redistribute.is_empty() || (old == STAT_FAIL && self.svc.has_upalert()) {
                self.st.upalert_output = self.st.last_output.clone();
                let o = self.st.upalert_output.clone().unwrap_or_default();
                self.do_alert(&o, Some(0), fl::UPALERT);
            }
            self.st.ack = 0;
            self.st.ack_comment.clear();
            self.st.first_failure = Some(0);
            self.st.last_failure = 0;
            self.st.consec_failures = 0;
            self.st.failure_output = Some(String::new());
            for (ps, p) in self.st.periods.iter_mut().zip(&self.svc.periods) {
                if p.alertevery_mode != AlertEveryMode::Strict {
                    ps.last_alert = 0;
                    ps.last_alert_set = true;
                }
                ps.first_fail_time = 0;
                ps.first_fail_set = true;
                ps.alert_sent = 0;
            }
            if self.svc.failure_interval.is_some() && self.st.old_interval.is_some_and(|v| v != 0.0)
            {
                self.st.interval = self.st.old_interval.take();
                self.st.next_check = 0.0;
            }
            self.st.last_success = now;
        }
        self.st.last_output = Some(output.to_string());
        self.st.last_summary = summary;
        self.st.last_detail = detail;
    }

    fn apply_dep(&mut self, d: DepOutcome) {
        match d {
            DepOutcome::Value(v) => self.st.depend_status = Some(v),
            DepOutcome::TooDeep => {}
            DepOutcome::Error(e) => {
                let expr = self
                    .svc
                    .dep_expr(DepBehavior::A)
                    .unwrap_or_default()
                    .to_string();
                self.log(
                    Priority::Notice,
                    format!("eval error for dependency starting at {expr}: {e}"),
                );
            }
        }
    }

    /// mon's `do_alert`.
    pub fn do_alert(&mut self, output: &str, retval: Option<i64>, flags: u32) {
        let now = self.ctx.now;
        let (g, s) = (self.ctx.group.to_string(), self.svc.name.clone());
        if self.ctx.stopped {
            self.log(
                Priority::Notice,
                format!("ignoring alert for {g},{s} because the mon scheduler is stopped"),
            );
            return;
        }
        if !self.svc.redistribute.is_empty() {
            let (fac, args) = split2(&self.svc.redistribute);
            self.call_alert(&fac, &args, output, retval, flags | fl::REDISTRIBUTE, None);
        }
        if self.ctx.disabled {
            self.log(Priority::Notice, format!("ignoring alert for {g},{s}"));
            return;
        }
        if flags & (fl::STARTUPALERT | fl::UPALERT) == 0
            && ((self.svc.depend.is_some() && self.svc.dep_behavior == DepBehavior::A)
                || self.svc.alertdepend.is_some())
            && self.st.depend_status != Some(true)
        {
            return;
        }
        let summary = summary_of(output);
        let prevsumm = summary_of(self.st.failure_output.as_deref().unwrap_or(""));
        let strip = |x: &str| x.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let quiet = fl::UPALERT | fl::ACKALERT | fl::DISABLEALERT;
        if self.st.ack != 0
            && self.svc.unack_summary
            && strip(&summary) != strip(&prevsumm)
            && flags & quiet == 0
        {
            self.st.ack = 0;
            self.st.ack_comment.clear();
            self.st.consec_failures = 1;
            for ps in &mut self.st.periods {
                ps.last_alert = 0;
                ps.first_fail_time = 0;
                ps.failcount = 0;
                ps.last_alert_set = true;
                ps.first_fail_set = true;
                ps.failcount_set = true;
            }
        }
        if self.st.ack != 0 && flags & quiet == 0 {
            self.log(
                Priority::Debug,
                format!("no alert for {g}.{s} because of ack'd failure"),
            );
            return;
        }
        for pi in 0..self.svc.periods.len() {
            let p = &self.svc.periods[pi];
            if !(self.ctx.in_period)(&p.spec) {
                continue;
            }
            let key = p.key.clone();
            let ps = &self.st.periods[pi];
            if !p.no_comp_alerts && flags & (fl::UPALERT | fl::ACKALERT) != 0 && ps.alert_sent == 0
            {
                let what = if flags & fl::UPALERT != 0 {
                    "upalert"
                } else {
                    "ackalert"
                };
                self.log(
                    Priority::Debug,
                    format!("{g}/{s}/{key}: Suppressing {what} since no down alert was sent."),
                );
                continue;
            }
            if p.no_comp_alerts && flags & fl::UPALERT != 0 && ps.no_comp_upalert_sent > 0 {
                continue;
            }
            if flags & (fl::UPALERT | fl::STARTUPALERT | fl::DISABLEALERT | fl::ACKALERT) == 0 {
                if let Some(r) = &p.alertexitrange {
                    if !in_range(retval.unwrap_or(0), r) {
                        continue;
                    }
                }
                if p.numalerts != 0 && ps.alert_sent >= p.numalerts {
                    self.log(
                        Priority::Debug,
                        format!("{g}/{s}/{key}: Suppressing alert since numalerts is met."),
                    );
                    continue;
                }
                let failure_output = self.st.failure_output.as_deref().unwrap_or("");
                if p.alertevery != 0.0
                    && ((now - ps.last_alert) as f64) < p.alertevery
                    && match p.alertevery_mode {
                        AlertEveryMode::Strict => true,
                        AlertEveryMode::ObserveDetail => failure_output == output,
                        AlertEveryMode::Summary => prevsumm == summary,
                        AlertEveryMode::IgnoreSummary => true,
                    }
                {
                    self.log(
                        Priority::Debug,
                        format!("{g}/{s}/{key}: Suppressing alert for now due to alertevery."),
                    );
                    continue;
                }
                let consec = self.st.consec_failures;
                let ps = &mut self.st.periods[pi];
                if p.alertafter_consec.is_some_and(|n| consec < n) {
                    self.out.push(Effect::Log(
                        Priority::Debug,
                        format!("{g}/{s}/{key}: Suppressing alert for now due to alertafter consecutive failures."),
                    ));
                    continue;
                } else if let (None, Some(ival)) = (p.alertafter, p.alertafterival) {
                    if ps.first_fail_time == 0 {
                        ps.first_fail_time = now;
                        ps.first_fail_set = true;
                    }
                    if ((now - ps.first_fail_time) as f64) <= ival {
                        self.out.push(Effect::Log(
                            Priority::Debug,
                            format!("{g}/{s}/{key}: Suppressing alert for now due to alertafter numval."),
                        ));
                        continue;
                    }
                } else if let Some(n) = p.alertafter {
                    let ival = p.alertafterival.unwrap_or(0.0);
                    ps.failcount += 1;
                    let msg = format!(
                        "{g}/{s}/{key}: Suppressing alert for now due to alertafter num timeval."
                    );
                    if ((now - ps.first_fail_time) as f64) <= ival && ps.failcount < n {
                        self.out.push(Effect::Log(Priority::Debug, msg));
                        continue;
                    }
                    if ((now - ps.first_fail_time) as f64) > ival {
                        ps.failcount = 1;
                    }
                    if ps.failcount == 1 {
                        ps.first_fail_time = now;
                    }
                    if ps.failcount < n {
                        self.out.push(Effect::Log(Priority::Debug, msg));
                        continue;
                    }
                }
            }
            let list = if flags & fl::UPALERT != 0 {
                &p.upalerts
            } else if flags & fl::STARTUPALERT != 0 {
                &p.startupalerts
            } else if flags & fl::DISABLEALERT != 0 {
                &p.disablealerts
            } else if flags & fl::ACKALERT != 0 {
                &p.ackalerts
            } else {
                &p.alerts
            };
            let mut called = 0;
            for entry in list.clone() {
                let (fac, args) = match exit_prefix(&entry) {
                    Some(range) => {
                        if !in_range(retval.unwrap_or(0), &range) {
                            continue;
                        }
                        let mut it = split_n(&entry, 3).into_iter().skip(1);
                        (it.next().unwrap_or_default(), it.next().unwrap_or_default())
                    }
                    None => split2(&entry),
                };
                if self.call_alert(&fac, &args, output, retval, flags, Some(pi)) {
                    called += 1;
                }
            }
            if called > 0 {
                let no_comp = self.svc.periods[pi].no_comp_alerts;
                let ps = &mut self.st.periods[pi];
                if flags & fl::UPALERT != 0 {
                    ps.alert_sent = 0;
                    ps.last_alert = 0;
                    ps.last_alert_set = true;
                } else {
                    ps.alert_sent += 1;
                    if no_comp {
                        ps.no_comp_upalert_sent = 0;
                    }
                }
                if no_comp && flags & fl::UPALERT != 0 {
                    ps.no_comp_upalert_sent += 1;
                }
            }
        }
    }

    /// The environment an alert gets, from the state at call time.
    fn alert_env(&self, retval: Option<i64>, alert_type: &str) -> Vec<(String, String)> {
        let st = &self.st;
        let mut env: Vec<(String, String)> = self.svc.env.clone();
        let mut set = |k: &str, v: String| {
            if let Some(e) = env.iter_mut().find(|(n, _)| n == k) {
                e.1 = v;
            } else {
                env.push((k.to_string(), v));
            }
        };
        if let Some(v) = &st.last_summary {
            set("MON_LAST_SUMMARY", v.clone());
        }
        if let Some(v) = &st.last_output {
            set("MON_LAST_OUTPUT", v.clone());
        }
        set("MON_LAST_FAILURE", st.last_failure.to_string());
        if let Some(v) = st.first_failure {
            set("MON_FIRST_FAILURE", v.to_string());
        }
        set("MON_FIRST_SUCCESS", String::new());
        set("MON_LAST_SUCCESS", st.last_success.to_string());
        if let Some(d) = &self.svc.description {
            set("MON_DESCRIPTION", d.clone());
        }
        set("MON_GROUP", self.ctx.group.to_string());
        set("MON_SERVICE", self.svc.name.clone());
        if let Some(r) = retval {
            set("MON_RETVAL", r.to_string());
        }
        set("MON_OPSTATUS", st.op_status.to_string());
        if st.ack != 0 && !st.ack_comment.is_empty() {
            set("MON_ACK", st.ack_comment.clone());
        }
        set("MON_ALERTTYPE", alert_type.to_string());
        set("MON_STATEDIR", self.ctx.statedir.to_string());
        set("MON_LOGDIR", self.ctx.logdir.to_string());
        set("MON_CFBASEDIR", self.ctx.cfbasedir.to_string());
        if let Some(i) = &st.intended {
            set("MON_TRAP_INTENDED", i.clone());
        }
        env
    }

    /// mon's `call_alert`: true if the alert was found and started.
    pub fn call_alert(
        &mut self,
        alert: &str,
        args: &str,
        output: &str,
        retval: Option<i64>,
        flags: u32,
        period: Option<usize>,
    ) -> bool {
        let now = self.ctx.now;
        let summary = summary_of(output);
        let Some(path) = (if alert.is_empty() {
            None
        } else {
            (self.ctx.alert_path)(alert)
        }) else {
            self.log(
                Priority::Err,
                format!("no alert found while trying to run {alert}"),
            );
            return false;
        };
        let (alerttype, alert_type) = alert_type(flags);
        let (g, s) = (self.ctx.group.to_string(), self.svc.name.clone());
        if flags & fl::REDISTRIBUTE == 0 {
            let base = path.rsplit('/').next().unwrap_or(&path).to_string();
            self.log(
                Priority::Alert,
                format!("calling {alerttype} {base} for {g}/{s} ({path},{args}) {summary}"),
            );
        }
        let call = AlertCall {
            group: g.clone(),
            service: s.clone(),
            path: path.clone(),
            args: args.to_string(),
            flags,
            stdin: output.to_string(),
            hosts: self.ctx.hosts.clone(),
            time: now,
            env: self.alert_env(retval, alert_type),
        };
        self.out.push(Effect::Alert(call));
        if flags & (fl::TEST | fl::REDISTRIBUTE) != 0 {
            return true;
        }
        if let Some(pi) = period {
            self.st.periods[pi].last_alert = now;
            self.st.periods[pi].last_alert_set = true;
        }
        self.st.alert_count += 1;
        self.out.push(Effect::AlertHist(format!(
            "{alerttype} {g} {s} {now} {path} ({args}) {summary}"
        )));
        true
    }

    /// Startup alerts (also on reset with startupalerts_on_reset).
    pub fn startup(&mut self) {
        self.do_alert("", Some(0), fl::STARTUPALERT);
    }

    /// `ack G S COMMENT`, after the caller checked the service is failing.
    pub fn ack(&mut self, comment: &str) {
        self.st.ack = self.ctx.now;
        self.st.ack_comment = comment.to_string();
        self.do_alert(comment, None, fl::ACKALERT);
    }

    /// `test alert|upalert|... G S RETVAL PERIOD`: every alert of that kind
    /// in that period, with the test flag; nothing is counted.
    pub fn test_alerts(&mut self, kind_flag: u32, retval: i64, period: usize) {
        let p = &self.svc.periods[period];
        let list = if kind_flag & fl::UPALERT != 0 {
            p.upalerts.clone()
        } else if kind_flag & fl::STARTUPALERT != 0 {
            p.startupalerts.clone()
        } else if kind_flag & fl::ACKALERT != 0 {
            p.ackalerts.clone()
        } else if kind_flag & fl::DISABLEALERT != 0 {
            p.disablealerts.clone()
        } else {
            p.alerts.clone()
        };
        for entry in list {
            let (fac, args) = match exit_prefix(&entry) {
                Some(_) => {
                    let mut it = split_n(&entry, 3).into_iter().skip(1);
                    (it.next().unwrap_or_default(), it.next().unwrap_or_default())
                }
                None => split2(&entry),
            };
            self.call_alert(
                &fac,
                &args,
                "test\ntest detail\n",
                Some(retval),
                kind_flag | fl::TEST,
                Some(period),
            );
        }
    }
}

/// `split(/\s+/, $s, 2)`
pub fn split2(s: &str) -> (String, String) {
    let mut v = split_n(s, 2).into_iter();
    (v.next().unwrap_or_default(), v.next().unwrap_or_default())
}

/// Perl `split(/\s+/, $s, n)` (a leading empty field is kept).
fn split_n(s: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while out.len() + 1 < n {
        match rest.find(char::is_whitespace) {
            Some(i) => {
                out.push(rest[..i].to_string());
                rest = rest[i..].trim_start();
            }
            None => break,
        }
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.to_string());
    }
    if s.is_empty() {
        return Vec::new();
    }
    out
}

/// `^exit\s*=\s*((\d+|\d+-\d+))\s` (case-insensitive) → the range.
fn exit_prefix(entry: &str) -> Option<String> {
    let lower = entry.to_lowercase();
    let rest = lower.strip_prefix("exit")?.trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '-'))?;
    let r = &rest[..end];
    if !rest[end..].starts_with(char::is_whitespace) {
        return None;
    }
    let ok = match r.split_once('-') {
        Some((a, b)) => !a.is_empty() && !b.is_empty() && !b.contains('-'),
        None => !r.is_empty(),
    };
    ok.then(|| r.to_string())
}

/// Finds a referenced service's config and state.
pub type DepLookup<'s> = dyn Fn(&str, &str) -> Option<(&'s Service, &'s ServiceState)> + 's;

/// Dependency evaluation over the whole configuration: mon's `depend`.
/// `lookup` gives a referenced service's config and state.
pub fn depend_eval<'s>(
    expr: &str,
    depth: u32,
    role: DepBehavior,
    limit: u32,
    lookup: &DepLookup<'s>,
) -> DepOutcome {
    if depth > limit {
        return DepOutcome::TooDeep;
    }
    let mut failed: Option<DepOutcome> = None;
    let sub = depend::substitute(expr, &mut |g, s| {
        if failed.is_some() {
            return false;
        }
        let Some((svc, st)) = lookup(g, s) else {
            return false;
        };
        let subexpr = match (&svc.depend, role) {
            (Some(d), r) if svc.dep_behavior == r => d.as_str(),
            (_, DepBehavior::A) => svc.alertdepend.as_deref().unwrap_or(""),
            (_, DepBehavior::M) => svc.monitordepend.as_deref().unwrap_or(""),
            _ => "",
        };
        if subexpr.is_empty() {
            is_success(st.op_status)
        } else {
            match depend_eval(subexpr, depth + 1, role, limit, lookup) {
                DepOutcome::Value(v) => v && is_success(st.op_status),
                other => {
                    failed = Some(other);
                    false
                }
            }
        }
    });
    if let Some(f) = failed {
        return f;
    }
    match depend::eval(&sub) {
        Ok(v) => DepOutcome::Value(v.unwrap_or(false)),
        Err(e) => DepOutcome::Error(e),
    }
}

#[cfg(test)]
mod tests;
