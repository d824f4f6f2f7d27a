//! The daemon: mon's startup sequence and main loop. Scheduling follows
//! mon's timers (first run one interval after start, start-to-start
//! rescheduling, one instance per service, no monitor timeouts), but the
//! loop sleeps exactly until the next due timer instead of ticking every
//! second, so a monitor's exit is acted on as soon as it happens.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Instant;

use crate::config::{self, Config, DepBehavior, ParseEnv, Service};
use crate::decide::{self, Ctx, Decider, DepOutcome, Effect, EventKind, Priority, ServiceState};
use crate::exec::{self, Dirs, RunningMonitor};
use crate::options::Options;
use crate::period::{in_period, Tm};
use crate::syslog::Logger;

/// Wall-clock time with sub-second precision (scheduling anchors).
pub fn epoch_f() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub fn epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Perl's scalar `localtime`: "Wed Nov 25 19:40:46 2026".
pub fn ctime(t: i64) -> String {
    let tm = Tm::local(t);
    const D: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const M: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        D[tm.wday as usize % 7],
        M[tm.mon as usize % 12],
        tm.mday,
        tm.hour,
        tm.min,
        tm.sec,
        tm.year
    )
}

/// Resolved paths and settings after command line and config are merged
/// (mon's %CF after normalize_paths).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub basedir: String,
    pub cfbasedir: String,
    pub cf: String,
    pub scriptdirs: Vec<String>,
    pub alertdirs: Vec<String>,
    pub logdir: String,
    pub statedir: String,
    pub authfile: String,
    pub pidfile: String,
    pub monerrfile: String,
    pub dtlogfile: String,
    pub dtlogging: bool,
    pub historicfile: String,
    pub historictime: f64,
    pub max_keep: usize,
    pub maxprocs: usize,
    pub randstart: f64,
    pub sleepint: f64,
    pub dep_recur_limit: u32,
    pub syslog_facility: String,
    pub startupalerts_on_reset: bool,
    pub exclude_period: String,
    pub serverport: u16,
    pub trapport: u16,
}

/// getservbyname(name, proto) or the default.
fn service_port(proto: &str, default: u16) -> u16 {
    let (Ok(n), Ok(p)) = (std::ffi::CString::new("mon"), std::ffi::CString::new(proto)) else {
        return default;
    };
    // SAFETY: valid C strings; the result is read at once.
    let se = unsafe { libc::getservbyname(n.as_ptr(), p.as_ptr()) };
    if se.is_null() {
        default
    } else {
        u16::from_be(unsafe { (*se).s_port } as u16)
    }
}

fn is_abs(p: &str) -> bool {
    p.starts_with('/')
}

fn catdir(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{}/{}", a.trim_end_matches('/'), b)
    }
}

fn is_dir(p: &str) -> bool {
    std::path::Path::new(p).is_dir()
}

/// mon's init_cf_globals + command-line overrides + normalize_paths.
pub fn settings(o: &Options, c: &Config, cwd: &str, log: &mut Logger) -> Settings {
    let g = &c.globals;
    let mut s = Settings {
        basedir: o.basedir.clone().unwrap_or_else(|| "/usr/lib/mon".into()),
        ..Default::default()
    };
    s.basedir = s.basedir.trim_end_matches('/').to_string();
    if let Some(b) = &g.basedir {
        s.basedir = b.clone();
    }
    if let Some(b) = &o.basedir {
        if !b.is_empty() {
            s.basedir = b.clone();
        }
    }
    s.cfbasedir = g
        .cfbasedir
        .clone()
        .or_else(|| o.cfbasedir.clone())
        .unwrap_or_else(|| "/etc/mon".into());
    s.cf = config_path(o, cwd);
    let pick = |cli: &Option<String>, cfv: &Option<String>, def: String| -> String {
        match cli {
            Some(v) if !v.is_empty() => v.clone(),
            _ => cfv.clone().unwrap_or(def),
        }
    };
    let scriptdir = pick(
        &o.scriptdir,
        &g.mondir,
        "/usr/local/lib/mon/mon.d:mon.d".into(),
    );
    let alertdir = pick(
        &o.alertdir,
        &g.alertdir,
        "/usr/local/lib/mon/alert.d:alert.d".into(),
    );
    let default_log = if is_dir("/var/log/mon") {
        "/var/log/mon"
    } else {
        "log.d"
    };
    s.logdir = match &o.logdir {
        Some(v) if !v.is_empty() => v.clone(),
        _ => g.logdir.clone().unwrap_or_else(|| default_log.into()),
    };
    let default_state = if is_dir("/var/state/mon") {
        "/var/state/mon"
    } else if is_dir("/var/lib/mon") {
        "/var/lib/mon"
    } else {
        "state.d"
    };
    s.statedir = pick(&o.statedir, &g.statedir, default_state.into());
    s.authfile = pick(&o.authfile, &g.authfile, "auth.cf".into());
    let default_pid = format!(
        "{}/mon.pid",
        if is_dir("/run/mon") {
            "/run/mon"
        } else if is_dir("/run") {
            "/run"
        } else {
            "/etc"
        }
    );
    s.pidfile = match &o.pidfile {
        Some(v) => v.clone(),
        None => g.pidfile.clone().unwrap_or(default_pid),
    };
    s.monerrfile = g.monerrfile.clone().unwrap_or_else(|| "/dev/null".into());
    s.dtlogfile = g.dtlogfile.clone().unwrap_or_else(|| "downtime.log".into());
    s.dtlogging = g.dtlogging.unwrap_or(false);
    s.historicfile = g.historicfile.clone().unwrap_or_default();
    s.historictime = g.historictime.unwrap_or(0.0);
    s.max_keep = match o.maxkeep {
        Some(k) if k != 0 => k.max(0) as usize,
        _ => g
            .histlength
            .as_deref()
            .map(|v| crate::perlnum::numify(v).max(0.0) as usize)
            .unwrap_or(100),
    };
    s.maxprocs = match o.maxprocs {
        Some(m) if m != 0 => m.max(0) as usize,
        _ => g
            .maxprocs
            .as_deref()
            .map(|v| crate::perlnum::numify(v).max(0.0) as usize)
            .unwrap_or(0),
    };
    s.randstart = g.randstart.unwrap_or(0.0);
    if let Some(r) = &o.randstart {
        if !r.is_empty() {
            s.randstart = crate::timeval::dhmstos(r).map(|t| t.secs).unwrap_or(0.0);
        }
    }
    s.sleepint = match o.sleep {
        Some(i) if i != 0 => i as f64,
        _ => 1.0,
    };
    s.dep_recur_limit = g
        .dep_recur_limit
        .as_deref()
        .map(|v| crate::perlnum::numify(v) as u32)
        .unwrap_or(10);
    s.syslog_facility = g
        .syslog_facility
        .clone()
        .or_else(|| o.syslogfacility.clone())
        .unwrap_or_else(|| "daemon".into());
    s.startupalerts_on_reset = g.startupalerts_on_reset.unwrap_or(false);
    s.exclude_period = g.exclude_period.clone().unwrap_or_default();
    let port = |cli: Option<i64>, cfv: &Option<String>, proto: &str| -> u16 {
        match cli {
            Some(p) if p != 0 => p as u16,
            _ => cfv
                .as_deref()
                .map(|v| crate::perlnum::numify(v) as u16)
                .unwrap_or_else(|| service_port(proto, 2583)),
        }
    };
    s.serverport = port(o.port, &g.serverport, "tcp");
    s.trapport = port(o.trapport, &g.trapport, "udp");

    // normalize_paths
    if !is_abs(&s.statedir) {
        s.statedir = catdir(&s.basedir, &s.statedir);
    }
    if !is_dir(&s.statedir) {
        log.log(Priority::Err, &format!("{} does not exist", s.statedir));
    }
    if !is_abs(&s.logdir) {
        s.logdir = catdir(&s.basedir, &s.logdir);
    }
    if !is_dir(&s.logdir) {
        log.log(Priority::Err, &format!("{} does not exist", s.logdir));
    }
    if !is_abs(&s.authfile) {
        s.authfile = catdir(&s.cfbasedir, &s.authfile);
    }
    if !std::path::Path::new(&s.authfile).is_file() {
        log.log(Priority::Err, &format!("{} does not exist", s.authfile));
    }
    if !is_abs(&s.dtlogfile) {
        s.dtlogfile = catdir(&s.logdir, &s.dtlogfile);
    }
    if !s.historicfile.is_empty() && !is_abs(&s.historicfile) {
        s.historicfile = catdir(&s.logdir, &s.historicfile);
    }
    let norm = |list: &str, log: &mut Logger| -> Vec<String> {
        list.split(':')
            .map(|d| d.trim())
            .filter(|d| !d.is_empty())
            .map(|d| {
                let d = d.strip_suffix('/').unwrap_or(d);
                let d = if is_abs(d) {
                    d.to_string()
                } else {
                    catdir(&s.basedir, d)
                };
                if !is_dir(&d) {
                    log.log(
                        Priority::Err,
                        &format!("{d} does not exist, check your alertdir and mondir paths"),
                    );
                }
                d
            })
            .collect()
    };
    s.scriptdirs = norm(&scriptdir, log);
    s.alertdirs = norm(&alertdir, log);
    s
}

/// `-c`, made absolute against the start-up cwd; default cfbasedir/mon.cf.
pub fn config_path(o: &Options, cwd: &str) -> String {
    let cf = match &o.configfile {
        Some(c) if !c.is_empty() => c.clone(),
        _ => format!(
            "{}/mon.cf",
            o.cfbasedir.clone().unwrap_or_else(|| "/etc/mon".into())
        ),
    };
    if cf.starts_with('/') {
        cf
    } else {
        format!("{cwd}/{cf}")
    }
}

fn executable(p: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(p) else {
        return false;
    };
    // SAFETY: c is a valid C string.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

/// mon's gen_scriptdir_hash: monitor and alert names → first executable
/// match in the search path. Missing ones are logged.
pub fn script_hashes(
    c: &Config,
    s: &Settings,
    log: &mut Logger,
) -> (HashMap<String, String>, HashMap<String, String>) {
    let usable = |dirs: &[String], what: &str, log: &mut Logger| -> Vec<String> {
        dirs.iter()
            .filter(|d| {
                let ok = is_dir(d) && executable(d);
                if !ok {
                    log.log(Priority::Err, &format!("{what} {d} is not usable"));
                }
                ok
            })
            .cloned()
            .collect()
    };
    let sdirs = usable(&s.scriptdirs, "scriptdir", log);
    let adirs = usable(&s.alertdirs, "alertdir", log);
    let mut mons = HashMap::new();
    let mut alerts = HashMap::new();
    for w in &c.watches {
        for svc in &w.services {
            let Some(m) = &svc.monitor else { continue };
            let name = m.split_whitespace().next().unwrap_or("");
            match sdirs
                .iter()
                .map(|d| format!("{d}/{name}"))
                .find(|p| executable(p))
            {
                Some(p) => {
                    mons.entry(name.to_string()).or_insert(p);
                }
                None => log.log(
                    Priority::Err,
                    &format!(
                        "{name} not found in one of (@scriptdirs[{}])",
                        sdirs.join(" ")
                    ),
                ),
            }
        }
    }
    let mut want_alert = |name: &str, log: &mut Logger| match adirs
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| executable(p))
    {
        Some(p) => {
            alerts.entry(name.to_string()).or_insert(p);
        }
        None => log.log(
            Priority::Err,
            &format!(
                "{name} not found in one of (@alerttdirs[{}])",
                adirs.join(" ")
            ),
        ),
    };
    for w in &c.watches {
        for svc in &w.services {
            if !svc.redistribute.is_empty() {
                // looked up under the whole string, as the original does
                want_alert(&svc.redistribute, log);
            }
            for p in &svc.periods {
                for a in p
                    .alerts
                    .iter()
                    .chain(&p.upalerts)
                    .chain(&p.startupalerts)
                    .chain(&p.ackalerts)
                    .chain(&p.disablealerts)
                {
                    want_alert(&alert_name(a), log);
                }
            }
        }
    }
    (mons, alerts)
}

/// `s/^(\S+=\S+ )*(\S+).*$/$2/`
fn alert_name(entry: &str) -> String {
    let mut words = entry.split(' ').peekable();
    while let Some(w) = words.peek() {
        if w.contains('=')
            && !w.starts_with('=')
            && !w.ends_with('=')
            && !w.contains(char::is_whitespace)
        {
            let w = words.next().unwrap_or("");
            if words.peek().is_none() {
                return w.to_string();
            }
        } else {
            break;
        }
    }
    words
        .next()
        .map(|w| w.split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Per-service scheduling state (mon keeps these in the service hash).
impl Slot {
    /// Seconds until the next run (mon's `_timer`).
    pub fn timer(&self) -> f64 {
        if let Some(f) = self.frozen {
            return f.max(0.0);
        }
        (self.due - epoch_f()).max(0.0)
    }
    pub fn set_timer(&mut self, v: f64) {
        self.due = epoch_f() + v;
        if self.frozen.is_some() {
            self.frozen = Some(v);
        }
    }
}

pub struct Slot {
    pub group: String,
    pub w: usize,
    pub s: usize,
    pub state: ServiceState,
    /// when the monitor is next due (epoch seconds); mon's `_timer` is
    /// `due - now`. Frozen while the scheduler is stopped or excluded.
    pub due: f64,
    /// the countdown held while the scheduler is stopped
    pub frozen: Option<f64>,
    pub running: Option<RunningMonitor>,
    pub last_check: Option<i64>,
    pub monitor_duration: i64,
    pub trap_timer: f64,
    pub trap_duration_timer: Option<f64>,
    pub disabled: bool,
}

static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
static GOT_HUP: AtomicBool = AtomicBool::new(false);
static GOT_TERM: AtomicBool = AtomicBool::new(false);
static GOT_CHLD: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    match sig {
        libc::SIGHUP => GOT_HUP.store(true, Ordering::SeqCst),
        libc::SIGTERM | libc::SIGINT => GOT_TERM.store(true, Ordering::SeqCst),
        libc::SIGCHLD => GOT_CHLD.store(true, Ordering::SeqCst),
        _ => {}
    }
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let b = 1u8;
        // SAFETY: write(2) is async-signal-safe; fd is our non-blocking pipe.
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
}

fn install_signals() -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills fds.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    WAKE_FD.store(fds[1], Ordering::SeqCst);
    for sig in [libc::SIGHUP, libc::SIGTERM, libc::SIGINT, libc::SIGCHLD] {
        // SAFETY: installing a handler that only touches atomics and write(2).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESTART
                | if sig == libc::SIGCHLD {
                    libc::SA_NOCLDSTOP
                } else {
                    0
                };
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    // SAFETY: ignoring SIGPIPE like mon.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // SAFETY: fds[0] is ours.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[0]) })
}

pub struct Daemon {
    pub opts: Options,
    pub cfg: Config,
    pub set: Settings,
    pub slots: Vec<Slot>,
    pub monitors: HashMap<String, String>,
    pub alerts: HashMap<String, String>,
    pub watch_disabled: HashSet<String>,
    pub stopped: bool,
    pub stopped_time: i64,
    pub start_time: i64,
    pub log: Logger,
    pub failure_hist: VecDeque<String>,
    pub alert_hist: VecDeque<String>,
    pub procs: usize,
    pub server: Option<crate::server::Server>,
    pub auth: crate::auth::Auth,
    /// `set G S VAR VALUE` for variables without a typed home
    pub extra_vars: HashMap<(String, String, String), String>,
    /// monitor pipes poll() reported readable in the last wait
    ready: HashSet<i32>,
    /// when the scheduling pass last ran: the next pass counts the trap
    /// timers down by the time since then
    pub last_pass: Instant,
    /// resolved monitor path -> the shipped monitor it is, if any
    shipped: HashMap<String, Option<&'static str>>,
    rng: u64,
}

impl Daemon {
    pub fn new(opts: Options, cfg: Config, set: Settings, log: Logger) -> Daemon {
        let now = epoch();
        let mut d = Daemon {
            opts,
            cfg,
            set,
            slots: Vec::new(),
            monitors: HashMap::new(),
            alerts: HashMap::new(),
            watch_disabled: HashSet::new(),
            stopped: false,
            stopped_time: 0,
            start_time: now,
            log,
            failure_hist: VecDeque::new(),
            alert_hist: VecDeque::new(),
            procs: 0,
            server: None,
            auth: crate::auth::Auth::default(),
            extra_vars: HashMap::new(),
            ready: HashSet::new(),
            shipped: HashMap::new(),
            last_pass: Instant::now(),
            rng: (now as u64) ^ ((std::process::id() as u64) << 32) | 1,
        };
        d.build_slots();
        let (m, a) = script_hashes(&d.cfg, &d.set, &mut d.log);
        d.monitors = m;
        d.alerts = a;
        d
    }

    fn rand_below(&mut self, n: f64) -> f64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 11) as f64 / (1u64 << 53) as f64 * n
    }

    fn build_slots(&mut self) {
        self.slots.clear();
        for (wi, w) in self.cfg.watches.iter().enumerate() {
            for (si, s) in w.services.iter().enumerate() {
                self.slots.push(Slot {
                    group: w.name.clone(),
                    w: wi,
                    s: si,
                    state: ServiceState::new(s),
                    due: epoch_f() + s.interval.unwrap_or(0.0),
                    frozen: None,
                    running: None,
                    last_check: None,
                    monitor_duration: -1,
                    trap_timer: s.traptimeout.unwrap_or(0.0),
                    trap_duration_timer: None,
                    disabled: false,
                });
            }
        }
        if self.set.randstart > 0.0 {
            let r = self.set.randstart;
            for i in 0..self.slots.len() {
                let v = self.rand_below(r).floor();
                self.slots[i].set_timer(v);
            }
        }
    }

    pub fn service(&self, i: usize) -> &Service {
        &self.cfg.watches[self.slots[i].w].services[self.slots[i].s]
    }

    pub fn slot_index(&self, group: &str, service: &str) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.group == group && self.cfg.watches[s.w].services[s.s].name == service)
    }

    fn hosts_of(&self, group: &str) -> Vec<String> {
        self.cfg
            .hostgroup(group)
            .map(|g| g.hosts.clone())
            .unwrap_or_default()
    }

    fn alert_hosts(&self, group: &str) -> String {
        self.hosts_of(group)
            .into_iter()
            .filter(|h| !h.starts_with('*'))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn dirs(&self) -> Dirs {
        Dirs {
            statedir: self.set.statedir.clone(),
            logdir: self.set.logdir.clone(),
            cfbasedir: self.set.cfbasedir.clone(),
        }
    }

    /// mon's dep_ok(sref, role) value, not yet applied.
    pub fn dep_check(&self, i: usize, role: DepBehavior) -> Option<DepOutcome> {
        let svc = self.service(i);
        let expr = svc.dep_expr(role)?;
        if expr.is_empty() {
            return None;
        }
        let lookup = |g: &str, s: &str| -> Option<(&Service, &ServiceState)> {
            let j = self.slot_index(g, s)?;
            Some((self.service(j), &self.slots[j].state))
        };
        Some(decide::depend_eval(
            expr,
            0,
            role,
            self.set.dep_recur_limit,
            &lookup,
        ))
    }

    /// Run a decision on slot `i` and carry out its effects.
    pub fn decide_pub(&mut self, i: usize, f: &mut dyn FnMut(&mut Decider)) {
        self.decide(i, f)
    }

    fn decide(&mut self, i: usize, f: &mut dyn FnMut(&mut Decider)) {
        let now = epoch();
        let hosts = self.alert_hosts(&self.slots[i].group);
        let effects = {
            let slot = &mut self.slots[i];
            let svc = &self.cfg.watches[slot.w].services[slot.s];
            let alerts = &self.alerts;
            let tm = Tm::local(now);
            let inp = move |spec: &str| in_period(&tm, spec).is_yes();
            let ap = |name: &str| {
                alerts
                    .get(name)
                    .filter(|p| std::path::Path::new(p).is_file())
                    .cloned()
            };
            let ctx = Ctx {
                now,
                group: &slot.group,
                hosts,
                stopped: self.stopped,
                disabled: self.watch_disabled.contains(&slot.group) || slot.disabled,
                in_period: &inp,
                alert_path: &ap,
                statedir: &self.set.statedir,
                logdir: &self.set.logdir,
                cfbasedir: &self.set.cfbasedir,
                dtlogging: self.set.dtlogging,
                start_time: self.start_time,
            };
            let mut d = Decider::new(svc, &mut slot.state, &ctx);
            f(&mut d);
            d.out
        };
        self.apply(effects);
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Alert(call) => {
                    if let Err(err) = exec::spawn_alert(&call) {
                        self.log.log(
                            Priority::Err,
                            &format!(
                                "could not exec alert {}: {}",
                                call.path,
                                crate::error::errno_text(&err)
                            ),
                        );
                    }
                }
                Effect::Log(p, m) => self.log.log(p, &m),
                Effect::FailureHist(l) => {
                    if self.failure_hist.len() > self.set.max_keep {
                        self.failure_hist.pop_front();
                    }
                    self.failure_hist.push_back(l);
                }
                Effect::AlertHist(l) => {
                    if self.alert_hist.len() > self.set.max_keep {
                        self.alert_hist.pop_front();
                    }
                    if !self.set.historicfile.is_empty() {
                        match std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&self.set.historicfile)
                        {
                            Ok(mut f) => {
                                let _ = writeln!(f, "{l}");
                            }
                            Err(e) => self.log.log(
                                Priority::Err,
                                &format!(
                                    "Could not append alert history to {}: {}",
                                    self.set.historicfile,
                                    crate::error::errno_text(&e)
                                ),
                            ),
                        }
                    }
                    self.alert_hist.push_back(l);
                }
                Effect::DtLog(l) => match std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.set.dtlogfile)
                {
                    Ok(mut f) => {
                        self.set.dtlogging = true;
                        let _ = writeln!(f, "{l}");
                    }
                    Err(e) => {
                        self.log.log(
                            Priority::Err,
                            &format!(
                                "could not append to {}: {}",
                                self.set.dtlogfile,
                                crate::error::errno_text(&e)
                            ),
                        );
                        self.set.dtlogging = false;
                    }
                },
            }
        }
    }

    /// A finished (or trap/timeout) event for slot `i`.
    pub fn event(&mut self, i: usize, kind: EventKind, exit: i64, output: &str) {
        let svc = self.service(i);
        let dep = if svc.depend.as_deref().is_some_and(|d| !d.is_empty())
            && svc.dep_behavior == DepBehavior::A
        {
            self.dep_check(i, DepBehavior::A)
        } else {
            None
        };
        let output = output.to_string();
        self.decide(i, &mut |d| {
            d.process_event(kind, exit, &output, dep.clone())
        });
    }

    pub fn startup_alerts(&mut self) {
        for i in 0..self.slots.len() {
            self.decide(i, &mut |d| d.startup());
        }
    }

    fn init_dtlog(&mut self) {
        if !self.set.dtlogging {
            return;
        }
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.set.dtlogfile)
        {
            Ok(mut f) => {
                let _ = write!(
                    f,
                    "#\n# downtime log start {}\n# time back up, group, service, first failure, downtime, interval, summary\n#\n",
                    epoch()
                );
            }
            Err(e) => {
                self.log.log(
                    Priority::Err,
                    &format!(
                        "could not open dtlog file {}: {}",
                        self.set.dtlogfile,
                        crate::error::errno_text(&e)
                    ),
                );
                self.set.dtlogging = false;
            }
        }
    }

    /// mon's readhistoricfile: the alert history from historicfile,
    /// limited to historictime and histlength.
    pub fn read_historic_file(&mut self) {
        if self.set.historicfile.is_empty() {
            return;
        }
        let text = match std::fs::read_to_string(&self.set.historicfile) {
            Ok(t) => t,
            Err(e) => {
                self.log.log(
                    Priority::Err,
                    &format!(
                        "Could not read history from {} : {}",
                        self.set.historicfile,
                        crate::error::errno_text(&e)
                    ),
                );
                return;
            }
        };
        let limit = if self.set.historictime != 0.0 {
            epoch() as f64 - self.set.historictime
        } else {
            0.0
        };
        self.alert_hist.clear();
        for l in text.lines() {
            let t = l.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let when = l
                .split_whitespace()
                .nth(3)
                .map(crate::perlnum::numify)
                .unwrap_or(0.0);
            if when >= limit {
                self.alert_hist.push_back(l.to_string());
            }
        }
        while self.alert_hist.len() > self.set.max_keep {
            self.alert_hist.pop_front();
        }
    }

    /// mon's reset_timer.
    fn reset_timer(&mut self, i: usize) {
        let now = epoch_f();
        let skew = self.service(i).randskew;
        if skew != 0.0 {
            let up = self.rand_below(2.0) >= 1.0;
            let r = self.rand_below(skew).floor() + 1.0;
            let iv = self.slots[i].state.interval.unwrap_or(0.0);
            self.slots[i].set_timer(if up { iv + r } else { iv - r });
        } else if self.slots[i].state.next_check != 0.0 {
            let t = self.slots[i].state.next_check - now;
            let v = if t < 0.0 {
                self.slots[i].state.interval.unwrap_or(0.0)
            } else {
                t
            };
            self.slots[i].set_timer(v);
        } else {
            let v = self.slots[i].state.interval.unwrap_or(0.0);
            self.slots[i].set_timer(v);
        }
    }

    /// mon's run_monitor.
    fn run_monitor(&mut self, i: usize) {
        let svc = self.service(i).clone();
        let group = self.slots[i].group.clone();
        let line = svc.monitor.clone().unwrap_or_default();
        let (name, args) = exec::monitor_name(&line);
        let path = match self.monitors.get(name) {
            Some(p) if std::path::Path::new(p).is_file() => p.clone(),
            _ => {
                self.log.log(
                    Priority::Err,
                    &format!("no monitor found while trying to run [{name}]"),
                );
                // the original retries every loop and logs each time; once
                // per interval is enough to say the same thing
                self.reset_timer(i);
                return;
            }
        };
        let hm = (svc.depend.as_deref().is_some_and(|d| !d.is_empty())
            && svc.dep_behavior == DepBehavior::Hm)
            || svc.hostdepend.as_deref().is_some_and(|d| !d.is_empty());
        let sums = if hm { self.dep_summary(&svc) } else { None };
        let hosts = self.hosts_of(&group);
        match exec::monitor_argv(&path, args, &hosts, &svc, sums.as_deref()) {
            Err(exec::NotRun::NoHosts) => {
                self.log.log(
                    Priority::Err,
                    &format!(
                        "monitor for {group}/{} not called because of no host arguments\n",
                        svc.name
                    ),
                );
                self.reset_timer(i);
            }
            Ok(argv) => {
                let now = epoch();
                let native = self.in_process(&path, &argv);
                let started = match native {
                    Some(name) => exec::spawn_in_process(name, argv[1..].to_vec()),
                    None => {
                        let env =
                            exec::monitor_env(&group, &svc, &self.slots[i].state, &self.dirs());
                        exec::spawn_monitor(&argv, &env)
                    }
                };
                match started {
                    Ok(r) => {
                        self.slots[i].running = Some(r);
                        self.procs += 1;
                    }
                    Err(e) => {
                        // the original's child logs and exits 1
                        self.log.log(
                            Priority::Err,
                            &format!(
                                "could not exec '{}': {}",
                                argv.join(" "),
                                crate::error::errno_text(&e)
                            ),
                        );
                        let argv = vec!["/bin/sh".to_string(), "-c".into(), "exit 1".into()];
                        if let Ok(r) = exec::spawn_monitor(&argv, &[]) {
                            self.slots[i].running = Some(r);
                            self.procs += 1;
                        }
                    }
                }
                self.slots[i].last_check = Some(now);
            }
        }
        let st = &mut self.slots[i].state;
        if st.next_check != 0.0 {
            st.next_check += st.interval.unwrap_or(0.0);
        } else {
            st.next_check = epoch_f() + st.interval.unwrap_or(0.0);
        }
    }

    /// The shipped monitor to run in-process instead of starting `path`,
    /// if it is one and these arguments allow it (scripts::shipped_monitor
    /// is asked once per path and configuration).
    fn in_process(&mut self, path: &str, argv: &[String]) -> Option<&'static str> {
        let name = match self.shipped.get(path) {
            Some(n) => (*n)?,
            None => {
                let n = crate::scripts::shipped_monitor(path);
                self.shipped.insert(path.to_string(), n);
                n?
            }
        };
        crate::scripts::in_process_args_ok(name, &argv[1..]).then_some(name)
    }

    /// Summaries of failing parents for host dependencies; None when a
    /// parent is not defined (then nothing is removed).
    fn dep_summary(&self, svc: &Service) -> Option<Vec<String>> {
        let expr = if svc.dep_behavior == DepBehavior::Hm && svc.depend.is_some() {
            svc.depend.clone()
        } else {
            svc.hostdepend.clone()
        }?;
        let mut out = Vec::new();
        for tok in crate::depend::dep_tokens(&expr) {
            let (g, s) = tok.split_once(':')?;
            let j = self.slot_index(g, s)?;
            if self.slots[j].state.op_status == decide::STAT_FAIL {
                out.push(self.slots[j].state.last_summary.clone().unwrap_or_default());
            }
        }
        Some(out)
    }

    fn global_excluded(&self) -> bool {
        !self.set.exclude_period.is_empty()
            && in_period(&Tm::local(epoch()), &self.set.exclude_period).is_yes()
    }

    /// One pass of the scheduling block of mon's main loop.
    /// Stop the scheduler: countdowns hold still until `start_scheduler`.
    /// A trap timer value to store now so that it runs out `secs` from
    /// now: the next pass subtracts the time since the last one, part of
    /// which had passed before now.
    pub fn trap_countdown(&self, secs: f64) -> f64 {
        secs + self.last_pass.elapsed().as_secs_f64()
    }

    pub fn stop_scheduler(&mut self) {
        if !self.stopped {
            for s in &mut self.slots {
                s.frozen = Some(s.timer());
            }
        }
        self.stopped = true;
        self.stopped_time = epoch();
    }

    pub fn start_scheduler(&mut self) {
        for s in &mut self.slots {
            if let Some(f) = s.frozen.take() {
                s.due = epoch_f() + f;
            }
        }
        self.stopped = false;
        self.stopped_time = 0;
    }

    fn schedule(&mut self, t: f64) {
        if self.stopped {
            return;
        }
        if self.global_excluded() {
            // mon's timers do not count down while stopped or excluded
            for s in &mut self.slots {
                s.due += t;
            }
            return;
        }
        let now = epoch();
        let now_f = epoch_f();
        let mut tm_now: Option<Tm> = None;
        for i in 0..self.slots.len() {
            // read what this pass needs without cloning the service: this
            // loop runs for every service on every wake-up
            let (traptimeout, excl_nonempty, mdep) = {
                let svc = self.service(i);
                (
                    svc.traptimeout,
                    !svc.exclude_period.is_empty(),
                    (svc.dep_behavior == DepBehavior::M
                        && svc.depend.as_deref().is_some_and(|d| !d.is_empty()))
                        || svc.monitordepend.as_deref().is_some_and(|d| !d.is_empty()),
                )
            };
            if let Some(tt) = traptimeout {
                self.slots[i].trap_timer -= t;
                if self.slots[i].trap_timer <= 0.0
                    && (now - self.slots[i].state.last_trap) as f64 > tt
                {
                    self.slots[i].trap_timer = tt;
                    let out = format!(
                        "trap timeout\ntrap timeout after {}s at {}\n",
                        crate::perlnum::fmt_num(tt),
                        ctime(now)
                    );
                    self.event(i, EventKind::TrapTimeout, 1, &out);
                }
            }
            if let Some(d) = self.slots[i].trap_duration_timer {
                let d = d - t;
                if d <= 0.0 {
                    let st = &mut self.slots[i].state;
                    st.last_op_status = st.op_status;
                    st.op_status = decide::STAT_OK;
                    self.slots[i].trap_duration_timer = None;
                } else {
                    self.slots[i].trap_duration_timer = Some(d);
                }
            }
            let interval = self.slots[i].state.interval.unwrap_or(0.0);
            if interval != 0.0 && self.slots[i].due <= now_f && self.slots[i].running.is_none() {
                if self.set.maxprocs == 0 || self.procs < self.set.maxprocs {
                    if excl_nonempty {
                        let tm = *tm_now.get_or_insert_with(|| Tm::local(now));
                        if in_period(&tm, &self.service(i).exclude_period).is_yes() {
                            continue;
                        }
                    }
                    if mdep {
                        match self.dep_check(i, DepBehavior::M) {
                            Some(DepOutcome::Value(v)) => {
                                self.slots[i].state.depend_status = Some(v);
                                if v {
                                    self.run_monitor(i);
                                }
                            }
                            Some(DepOutcome::Error(e)) => {
                                let expr = self
                                    .service(i)
                                    .dep_expr(DepBehavior::M)
                                    .unwrap_or_default()
                                    .to_string();
                                self.log.log(
                                    Priority::Notice,
                                    &format!("eval error for dependency starting at {expr}: {e}"),
                                );
                            }
                            Some(DepOutcome::TooDeep) | None => {}
                        }
                    } else {
                        self.run_monitor(i);
                    }
                } else {
                    self.log.log(
                        Priority::Info,
                        &format!("throttled at {} processes", self.procs),
                    );
                }
            }
        }
    }

    /// mon's collect_output + proc_cleanup.
    fn reap(&mut self) {
        // only children that signalled or closed their output need a
        // waitpid; only pipes poll() flagged need a read
        let sweep = GOT_CHLD.swap(false, Ordering::SeqCst);
        let ready = std::mem::take(&mut self.ready);
        for i in 0..self.slots.len() {
            let Some(r) = self.slots[i].running.as_mut() else {
                continue;
            };
            if !r.eof && ready.contains(&r.pipe.as_raw_fd()) {
                r.drain();
            }
            if !(sweep || r.eof) {
                continue;
            }
            let Some(status) = r.try_wait() else { continue };
            let mut r = self.slots[i].running.take().expect("running");
            r.drain();
            self.procs = self.procs.saturating_sub(1);
            let now = epoch();
            let slot = &mut self.slots[i];
            slot.monitor_duration = now - slot.last_check.unwrap_or(now);
            let output = String::from_utf8_lossy(&r.output).into_owned();
            let exit = exec::exit_value(status);
            self.event(i, EventKind::Monitor, exit, &output);
            self.reset_timer(i);
        }
    }

    /// How long the loop may sleep: until the next due timer, at most the
    /// sleep interval.
    fn sleep_time(&self) -> f64 {
        let mut t = self.set.sleepint;
        if self.stopped {
            return t;
        }
        let now = epoch_f();
        for s in &self.slots {
            let svc = &self.cfg.watches[s.w].services[s.s];
            let left = s.due - now;
            if s.running.is_none() && s.state.interval.unwrap_or(0.0) != 0.0 && left > 0.0 {
                t = t.min(left);
            }
            if svc.traptimeout.is_some() && s.trap_timer > 0.0 {
                t = t.min(s.trap_timer);
            }
            if let Some(d) = s.trap_duration_timer {
                if d > 0.0 {
                    t = t.min(d);
                }
            }
        }
        t.max(0.001)
    }

    fn wait(&mut self, wake: &std::os::fd::OwnedFd, secs: f64) {
        let mut fds = vec![libc::pollfd {
            fd: wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        for s in &self.slots {
            if let Some(r) = &s.running {
                if !r.eof {
                    fds.push(libc::pollfd {
                        fd: r.pipe.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    });
                }
            }
        }
        if let Some(srv) = &self.server {
            fds.push(libc::pollfd {
                fd: srv.listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            fds.push(libc::pollfd {
                fd: srv.trap.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            for c in &srv.clients {
                fds.push(libc::pollfd {
                    fd: c.stream.as_raw_fd(),
                    events: libc::POLLIN | if c.out.is_empty() { 0 } else { libc::POLLOUT },
                    revents: 0,
                });
            }
        }
        let ms = (secs * 1000.0).ceil() as libc::c_int;
        // SAFETY: fds is a valid array of pollfd for the call's duration.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        for f in &fds[1..] {
            if f.revents != 0 {
                self.ready.insert(f.fd);
            }
        }
        if fds[0].revents != 0 {
            let mut buf = [0u8; 64];
            // SAFETY: draining our own non-blocking pipe.
            while unsafe { libc::read(wake.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        }
    }

    fn terminate(&mut self, msg: &str) -> ! {
        self.log.log(Priority::Info, msg);
        if !self.set.pidfile.is_empty() {
            let _ = std::fs::remove_file(&self.set.pidfile);
        }
        std::process::exit(1);
    }

    /// HUP: reset keeping state (disables and operational status are
    /// carried into the re-read configuration).
    pub fn reset(&mut self, keepstate: bool) -> Result<(), String> {
        for i in 0..self.slots.len() {
            if let Some(mut r) = self.slots[i].running.take() {
                if r.thread.is_some() {
                    // an in-process monitor cannot be killed; it ends
                    // within its own timeout and its result is dropped
                    // with the pipe's read end
                    self.procs = self.procs.saturating_sub(1);
                    continue;
                }
                let pid = r.pid;
                // SAFETY: signalling our own child.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
                let st = exec::exit_value(r.wait());
                self.procs = self.procs.saturating_sub(1);
                self.log.log(
                    Priority::Info,
                    &format!("reset killed child {pid}, exit status {st}"),
                );
            }
        }
        if keepstate {
            self.save_state("all");
        }
        let mut disabled_hosts: HashMap<String, HashSet<String>> = HashMap::new();
        for g in &self.cfg.hostgroups {
            for h in &g.hosts {
                if let Some(h) = h.strip_prefix('*') {
                    disabled_hosts
                        .entry(g.name.clone())
                        .or_default()
                        .insert(h.to_string());
                }
            }
        }
        let env = ParseEnv {
            now: Tm::local(epoch()),
            readable: &|p: &str| std::fs::File::open(p).is_ok(),
            disabled_hosts,
        };
        let new = config::read_file(&self.set.cf, self.opts.m4.as_deref(), &env)
            .map_err(|e| e.message)?;
        for w in &new.mon_warnings {
            eprintln!("{w}");
        }
        let old_slots: Vec<(String, String, ServiceState, bool)> = self
            .slots
            .iter()
            .map(|s| {
                (
                    s.group.clone(),
                    self.cfg.watches[s.w].services[s.s].name.clone(),
                    s.state.clone(),
                    s.disabled,
                )
            })
            .collect();
        self.cfg = new;
        let mut log = Logger::open(&self.set.syslog_facility);
        log.debug = self.log.debug;
        let cwd = std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        self.set = settings(&self.opts, &self.cfg, &cwd, &mut self.log);
        self.build_slots();
        if self.stopped {
            for s in &mut self.slots {
                s.frozen = Some(s.timer());
            }
        }
        let (m, a) = script_hashes(&self.cfg, &self.set, &mut self.log);
        self.monitors = m;
        self.alerts = a;
        self.shipped.clear();
        if keepstate {
            for (g, s, st, dis) in old_slots {
                if let Some(j) = self.slot_index(&g, &s) {
                    let svc = self.service(j).clone();
                    let mut st = st;
                    st.interval = svc.interval;
                    st.old_interval = None;
                    st.next_check = 0.0;
                    st.periods.resize(svc.periods.len(), Default::default());
                    self.slots[j].state = st;
                    self.slots[j].disabled = dis;
                }
            }
            self.log.log(Priority::Info, "state 'all' loaded");
        }
        self.init_dtlog();
        self.read_historic_file();
        if self.set.startupalerts_on_reset {
            self.startup_alerts();
        }
        Ok(())
    }

    /// Startup after the config was read: pid file, dtlog, startup
    /// alerts, then the loop. Never returns.
    pub fn run(&mut self) -> ! {
        // in-process monitors run on worker threads; glibc would give
        // each its own malloc arena (tens of MiB reserved, some of it
        // touched) for a few KiB of output per run
        #[cfg(target_env = "gnu")]
        // SAFETY: mallopt only tunes the allocator; called before any
        // worker thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
        let wake = match install_signals() {
            Ok(w) => w,
            Err(e) => {
                eprintln!("could not install signal handlers: {e}");
                std::process::exit(1);
            }
        };
        self.init_dtlog();
        if !self.set.pidfile.is_empty() {
            if let Ok(mut f) = std::fs::File::create(&self.set.pidfile) {
                let _ = writeln!(f, "{}", std::process::id());
            }
        }
        if self.opts.stopped {
            self.stop_scheduler();
        }
        self.read_historic_file();
        self.log.log(Priority::Info, "mon server started");
        self.startup_alerts();
        self.last_pass = Instant::now();
        loop {
            let t = self.last_pass.elapsed().as_secs_f64();
            self.schedule(t);
            self.last_pass = Instant::now();
            self.reap();
            if GOT_TERM.swap(false, Ordering::SeqCst) {
                self.terminate("caught TERM signal, exiting");
            }
            if GOT_HUP.swap(false, Ordering::SeqCst) {
                self.log.log(
                    Priority::Info,
                    &format!("resetting, and re-reading configuration {}", self.set.cf),
                );
                if let Err(e) = self.reset(true) {
                    self.log
                        .log(Priority::Err, &format!("error reading config file: {e}"));
                }
            }
            let mut secs = self.sleep_time();
            if exec::tend_workers() {
                // in-process runs wait for a worker: look again soon
                secs = secs.min(exec::QUEUE_WAIT.as_secs_f64());
            }
            self.wait(&wake, secs);
            if self.service_io() {
                if !self.set.pidfile.is_empty() {
                    let _ = std::fs::remove_file(&self.set.pidfile);
                }
                std::process::exit(0);
            }
        }
    }
}

/// `-f`: double fork, setsid, umask 022; stdio to monerrfile.
pub fn daemonize(monerrfile: &str) {
    // SAFETY: classic daemonisation before any threads are started.
    unsafe {
        match libc::fork() {
            -1 => {
                eprintln!("could not fork");
                std::process::exit(1)
            }
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        match libc::fork() {
            -1 => libc::_exit(1),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::umask(0o022);
    }
    if let Ok(null) = std::fs::File::open("/dev/null") {
        // SAFETY: dup2 onto stdin.
        unsafe { libc::dup2(null.as_raw_fd(), 0) };
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(monerrfile)
    {
        let _ = writeln!(f, "Mon starting at {}", ctime(epoch()));
        // SAFETY: dup2 onto stdout/stderr.
        unsafe {
            libc::dup2(f.as_raw_fd(), 1);
            libc::dup2(f.as_raw_fd(), 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_skip_exit_prefix() {
        assert_eq!(alert_name("exit=2 foo.alert a b"), "foo.alert");
        assert_eq!(alert_name("mail.alert root"), "mail.alert");
        assert_eq!(alert_name("x=1 y=2 z.alert"), "z.alert");
    }

    #[test]
    fn ctime_format() {
        // TZ is whatever the test runs in; only check the shape
        let s = ctime(1795635646);
        assert_eq!(s.len(), 24, "{s}");
    }
}
