//! mon.cf as mon 1.3.6's `read_cf` reads it: logical lines, record
//! dispatch order, every keyword, and the exact fatal messages. Where the
//! original silently misreads a file, the meaning is kept and a
//! [`Warning`] naming the file and line is added.

use std::collections::{HashMap, HashSet};

use crate::depend;
use crate::error::Error;
use crate::period::{in_period, InPeriod, Tm};
use crate::perlnum::numify;
use crate::timeval::{dhmstos, is_alertafter_timeval};

/// Something the original accepts silently but which is almost certainly
/// not what the author meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub line: usize,
    pub msg: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: warning: {}", self.file, self.line, self.msg)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DepBehavior {
    #[default]
    A,
    M,
    Hm,
}

impl DepBehavior {
    fn parse(s: &str) -> Option<DepBehavior> {
        match s {
            "a" => Some(DepBehavior::A),
            "m" => Some(DepBehavior::M),
            "hm" => Some(DepBehavior::Hm),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DepBehavior::A => "a",
            DepBehavior::M => "m",
            DepBehavior::Hm => "hm",
        }
    }
}

/// Global settings. `None` means "not set in the file"; values are kept
/// raw where mon keeps them raw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Globals {
    pub alertdir: Option<String>,
    pub mondir: Option<String>,
    pub basedir: Option<String>,
    pub cfbasedir: Option<String>,
    pub statedir: Option<String>,
    pub logdir: Option<String>,
    pub authfile: Option<String>,
    pub authtype: Option<String>,
    pub userfile: Option<String>,
    pub pamservice: Option<String>,
    pub serverbind: Option<String>,
    pub trapbind: Option<String>,
    pub serverport: Option<String>,
    pub trapport: Option<String>,
    pub clientallow: Option<String>,
    pub pidfile: Option<String>,
    pub maxprocs: Option<String>,
    pub histlength: Option<String>,
    pub randstart: Option<f64>,
    pub cltimeout: Option<f64>,
    pub historicfile: Option<String>,
    pub historictime: Option<f64>,
    pub monerrfile: Option<String>,
    pub dtlogging: Option<bool>,
    pub dtlogfile: Option<String>,
    pub dep_recur_limit: Option<String>,
    pub syslog_facility: Option<String>,
    pub startupalerts_on_reset: Option<bool>,
    pub monremote: Option<String>,
    pub exclude_period: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostGroup {
    pub name: String,
    pub line: usize,
    /// Hosts verbatim; a disabled host carries a leading `*`.
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertEveryMode {
    /// alert again inside the window only if the summary changed
    #[default]
    Summary,
    ObserveDetail,
    IgnoreSummary,
    Strict,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Period {
    /// the label, or the spec text itself when unlabelled
    pub key: String,
    pub spec: String,
    pub line: usize,
    pub alerts: Vec<String>,
    pub upalerts: Vec<String>,
    pub startupalerts: Vec<String>,
    pub ackalerts: Vec<String>,
    pub disablealerts: Vec<String>,
    pub alertevery: f64,
    pub alertevery_mode: AlertEveryMode,
    /// `alertafter N`
    pub alertafter_consec: Option<u64>,
    /// `alertafter T` or the T of `alertafter N T`
    pub alertafterival: Option<f64>,
    /// the N of `alertafter N T`
    pub alertafter: Option<i64>,
    pub numalerts: u64,
    pub no_comp_alerts: bool,
    pub upalertafter: Option<f64>,
    pub alertexitrange: Option<String>,
    pub alerts_dont_count: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Service {
    pub name: String,
    pub line: usize,
    pub interval: Option<f64>,
    pub monitor: Option<String>,
    pub allow_empty_group: bool,
    pub description: Option<String>,
    pub traptimeout: Option<f64>,
    pub trapduration: Option<f64>,
    pub randskew: f64,
    pub failure_interval: Option<f64>,
    pub exclude_hosts: Vec<String>,
    pub exclude_period: String,
    pub depend: Option<String>,
    pub alertdepend: Option<String>,
    pub monitordepend: Option<String>,
    pub hostdepend: Option<String>,
    pub dep_behavior: DepBehavior,
    pub dep_memory: f64,
    pub redistribute: String,
    pub unack_summary: bool,
    /// service `VAR=value` lines (a later definition replaces the value)
    pub env: Vec<(String, String)>,
    pub periods: Vec<Period>,
}

impl Service {
    /// The dependency expression that plays role `a`, `m` or `hm`, as
    /// mon's `dep_ok` picks it.
    pub fn dep_expr(&self, role: DepBehavior) -> Option<&str> {
        if let Some(d) = &self.depend {
            if self.dep_behavior == role {
                return Some(d);
            }
        }
        match role {
            DepBehavior::A => self.alertdepend.as_deref(),
            DepBehavior::M => self.monitordepend.as_deref(),
            DepBehavior::Hm => self.hostdepend.as_deref(),
        }
    }
    pub fn has_upalert(&self) -> bool {
        self.periods.iter().any(|p| !p.upalerts.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Watch {
    pub name: String,
    pub line: usize,
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub file: String,
    pub globals: Globals,
    pub hostgroups: Vec<HostGroup>,
    pub watches: Vec<Watch>,
    pub aliases: Vec<(String, Vec<String>)>,
    pub views: Vec<(String, Vec<String>)>,
    /// mon's own STDERR warnings, verbatim (printed at every parse)
    pub mon_warnings: Vec<String>,
    /// our additional warnings, with file and line
    pub warnings: Vec<Warning>,
}

impl Config {
    pub fn hostgroup(&self, name: &str) -> Option<&HostGroup> {
        self.hostgroups.iter().find(|g| g.name == name)
    }
    pub fn watch(&self, name: &str) -> Option<&Watch> {
        self.watches.iter().find(|w| w.name == name)
    }
    pub fn service(&self, group: &str, service: &str) -> Option<&Service> {
        self.watch(group)?
            .services
            .iter()
            .find(|s| s.name == service)
    }
}

/// What the parser needs from outside: the time used to validate periods
/// (mon validates lazily, with the current time), the readability test
/// for authfile/userfile, and the hosts disabled in the running config
/// (their `*` marks survive a re-read).
pub struct ParseEnv<'a> {
    pub now: Tm,
    pub readable: &'a dyn Fn(&str) -> bool,
    pub disabled_hosts: HashMap<String, HashSet<String>>,
}

impl ParseEnv<'_> {
    pub fn real(now: i64) -> ParseEnv<'static> {
        ParseEnv {
            now: Tm::local(now),
            readable: &|p: &str| std::fs::File::open(p).is_ok(),
            disabled_hosts: HashMap::new(),
        }
    }
}

fn cf(msg: String) -> Error {
    Error::Config(msg)
}

/// Read a config file, through m4 when `m4` is given or the name ends in
/// `.m4`, like mon.
pub fn read_file(path: &str, m4: Option<&str>, env: &ParseEnv) -> Result<Config, ConfigError> {
    let plain = |message: String| ConfigError {
        message,
        exit_code: 25,
        mon_warnings: Vec::new(),
        warnings: Vec::new(),
    };
    if m4.is_some() || path.ends_with(".m4") {
        let prog = m4.unwrap_or("m4");
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{prog} {path}"))
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| {
                plain(format!(
                    "could not open m4 pipe of cf file: {path}: {}",
                    crate::error::errno_text(&e)
                ))
            })?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // the original notices a failed m4 only when closing the pipe,
        // after parsing what m4 printed
        let c = parse_str(&text, path, env)?;
        if !out.status.success() {
            return Err(ConfigError {
                exit_code: 25,
                message: "Could not open pipe to m4 (check that m4 is properly installed and in your PATH): "
                    .to_string(),
                mon_warnings: c.mon_warnings,
                warnings: c.warnings,
            });
        }
        Ok(c)
    } else {
        let bytes = std::fs::read(path).map_err(|e| {
            plain(format!(
                "could not open cf file: {path}: {}",
                crate::error::errno_text(&e)
            ))
        })?;
        parse_str(&String::from_utf8_lossy(&bytes), path, env)
    }
}

#[derive(Default)]
struct St {
    ingroup: bool,
    inalias: bool,
    inview: bool,
    inwatch: bool,
    period: bool,
    curgroup: String,
    curalias: String,
    curview: String,
    watchgroup: String,
    service: String,
}

impl St {
    fn end_record(&mut self) {
        self.ingroup = false;
        self.inalias = false;
        self.inwatch = false;
        self.period = false;
        self.inview = false;
        self.curgroup.clear();
        self.curalias.clear();
        self.watchgroup.clear();
    }
}

fn is_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `^KEYWORD\s+([a-zA-Z0-9_.-]+)` → (tag, rest after the tag)
fn keyword_tag<'a>(l: &'a str, kw: &str) -> Option<(&'a str, &'a str)> {
    let rest = l.strip_prefix(kw)?;
    let trimmed = rest.trim_start();
    if trimmed.len() == rest.len() {
        return None;
    }
    let end = trimmed
        .find(|c: char| !is_tag_char(c))
        .unwrap_or(trimmed.len());
    if end == 0 {
        return None;
    }
    Some((&trimmed[..end], &trimmed[end..]))
}

/// `^(\w+)\s*=\s*(.*)$` on an already trimmed line.
fn global_assignment(l: &str) -> Option<(&str, &str)> {
    let end = l.find(|c: char| !is_word(c)).unwrap_or(l.len());
    if end == 0 {
        return None;
    }
    let rest = l[end..].trim_start();
    let v = rest.strip_prefix('=')?;
    Some((&l[..end], v.trim_start()))
}

/// `^([A-Z_][A-Z0-9_]*)=(.*)`
fn env_assignment(l: &str) -> Option<(&str, &str)> {
    let eq = l.find('=')?;
    let name = &l[..eq];
    let mut cs = name.chars();
    let first = cs.next()?;
    if !(first.is_ascii_uppercase() || first == '_') {
        return None;
    }
    if !cs.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
        return None;
    }
    Some((name, &l[eq + 1..]))
}

/// Perl `split(/\s+/, $s)` on a string without leading whitespace.
fn split_ws(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

const SERVICE_KEYWORDS: &[&str] = &[
    "service",
    "interval",
    "monitor",
    "period",
    "alert",
    "upalert",
    "alertevery",
    "alertafter",
    "numalerts",
    "description",
    "depend",
    "exclude_hosts",
    "exclude_period",
    "traptimeout",
    "trapduration",
    "startupalert",
];

/// A fatal parse error plus mon's STDERR warnings printed before it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub message: String,
    /// the exit status of the original's `die` for this error
    pub exit_code: i32,
    pub mon_warnings: Vec<String>,
    pub warnings: Vec<Warning>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parse mon.cf text. `file` is only used in messages.
pub fn parse_str(text: &str, file: &str, env: &ParseEnv) -> Result<Config, ConfigError> {
    let mut c = Config {
        file: file.to_string(),
        ..Default::default()
    };
    match parse_into(&mut c, text, env) {
        Ok(views) => {
            finish(&mut c, views);
            Ok(c)
        }
        Err(e) => Err(ConfigError {
            exit_code: match &e {
                Error::ConfigErrno { errno, .. } => *errno,
                _ => 25,
            },
            message: e.to_string(),
            mon_warnings: c.mon_warnings,
            warnings: c.warnings,
        }),
    }
}

type Views = Vec<(String, HashSet<String>)>;

fn parse_into(c: &mut Config, text: &str, env: &ParseEnv) -> Result<Views, Error> {
    let file = c.file.clone();
    let file = file.as_str();
    let mut st = St::default();
    let mut dep_behavior = DepBehavior::A;
    let mut dep_memory = 0.0;
    let mut unack_summary = false;
    // where in `c.watches` the current watch/service/period live
    let mut cur_watch: Option<usize> = None; // set only once a service exists
    let mut cur_service: Option<usize> = None;
    let mut watch_line = 0;
    let mut view_members: Vec<(String, HashSet<String>)> = Vec::new();

    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut idx = 0;
    let mut acc = String::new();
    let mut incomplete = false;
    let mut acc_start = 0;
    let mut line_num = 0;
    let mut line_num_this_logical = 0usize;
    let mut line_num_prev_logical;
    let mut ignored_run_until = usize::MAX;
    loop {
        // one logical line
        let l: String;
        loop {
            line_num += 1;
            let Some(raw) = lines.get(idx) else {
                if incomplete {
                    c.warnings.push(Warning {
                        file: file.into(),
                        line: acc_start,
                        msg: "continued line runs into the end of the file and is ignored".into(),
                    });
                }
                return Ok(view_members);
            };
            idx += 1;
            let mut part: &str = raw;
            if part.trim_start().starts_with('#') {
                continue;
            }
            if incomplete {
                part = part.trim_start();
            }
            let body = part.strip_suffix('\n').unwrap_or(part);
            let t = body.trim_end();
            if let Some(before) = t.strip_suffix('\\') {
                if !incomplete {
                    acc_start = line_num;
                }
                incomplete = true;
                acc.push_str(before);
                continue;
            }
            acc.push_str(part);
            l = acc.trim().to_string();
            acc.clear();
            incomplete = false;
            break;
        }
        let l = l.as_str();
        line_num_prev_logical = std::mem::replace(&mut line_num_this_logical, line_num);
        let warn = |c: &mut Config, msg: String| {
            c.warnings.push(Warning {
                file: file.into(),
                line: line_num,
                msg,
            })
        };

        // 1. global variables
        if !st.inwatch {
            if let Some((name, value)) = global_assignment(l) {
                global(
                    c,
                    name,
                    value,
                    line_num,
                    env,
                    &mut dep_behavior,
                    &mut dep_memory,
                    &mut unack_summary,
                )?;
                if value.contains(" #") || value.starts_with('#') {
                    warn(
                        c,
                        format!("'#' does not start a comment here: {name} is set to '{value}'"),
                    );
                }
                if st.ingroup || st.inalias || st.inview {
                    warn(
                        c,
                        format!("'{name} = ...' inside a record is read as a global setting"),
                    );
                }
                continue;
            }
        }

        // 2. blank line ends the record
        if l.is_empty() {
            if st.inwatch && cur_watch.is_some() {
                // a later non-blank line that is not a record start will
                // be dropped; remember where the watch ended
                watch_line = line_num;
            }
            st.end_record();
            continue;
        }

        // 3. hostgroup
        if let Some((tag, rest)) = keyword_tag(l, "hostgroup") {
            st.curgroup = tag.to_string();
            st.ingroup = true;
            st.inview = false;
            st.inalias = false;
            st.inwatch = false;
            st.period = false;
            let disabled = env.disabled_hosts.get(tag);
            let hosts: Vec<String> = split_ws(rest.trim_start())
                .into_iter()
                .map(|h| mark_disabled(h, disabled))
                .collect();
            if let Some(g) = c.hostgroups.iter_mut().find(|g| g.name == tag) {
                g.hosts = hosts;
                g.line = line_num;
            } else {
                c.hostgroups.push(HostGroup {
                    name: tag.into(),
                    line: line_num,
                    hosts,
                });
            }
            continue;
        }

        // 4. inside a hostgroup every line is more hosts
        if st.ingroup {
            let first = l.split_whitespace().next().unwrap_or("");
            if SERVICE_KEYWORDS.contains(&first) || first == "watch" {
                warn(
                    c,
                    format!(
                        "'{}' is read as host names of hostgroup {} (is a blank line missing before it?)",
                        l, st.curgroup
                    ),
                );
            }
            let disabled = env.disabled_hosts.get(&st.curgroup);
            let g = c
                .hostgroups
                .iter_mut()
                .find(|g| g.name == st.curgroup)
                .expect("current hostgroup exists");
            for h in split_ws(l) {
                g.hosts.push(mark_disabled(h, disabled));
            }
            continue;
        }

        // 5. alias
        if let Some((tag, rest)) = keyword_tag(l, "alias") {
            if rest.trim().is_empty() {
                st.inalias = true;
                st.inview = false;
                st.ingroup = false;
                st.inwatch = false;
                st.period = false;
                st.curalias = tag.to_string();
                if !c.aliases.iter().any(|(n, _)| n == tag) {
                    c.aliases.push((tag.to_string(), Vec::new()));
                }
                continue;
            }
        }
        if st.inalias {
            if l.starts_with("watch ") || l.starts_with("hostgroup ") {
                warn(
                    c,
                    format!("'{l}' is read as a line of alias {}", st.curalias),
                );
            }
            if let Some(a) = c.aliases.iter_mut().find(|(n, _)| *n == st.curalias) {
                a.1.push(l.to_string());
            }
            continue;
        }

        // 6. view
        if let Some((tag, rest)) = keyword_tag(l, "view") {
            if rest.starts_with(|ch: char| ch.is_whitespace()) {
                st.inview = true;
                st.inalias = false;
                st.ingroup = false;
                st.inwatch = false;
                st.period = false;
                st.curview = tag.to_string();
                let members: HashSet<String> = split_ws(rest.trim_start()).into_iter().collect();
                if let Some(v) = view_members.iter_mut().find(|(n, _)| n == tag) {
                    v.1 = members;
                } else {
                    view_members.push((tag.to_string(), members));
                }
                continue;
            }
        }
        if st.inview {
            if l.starts_with("watch ") {
                warn(
                    c,
                    format!("'{l}' is read as members of view {}", st.curview),
                );
            }
            if let Some(v) = view_members.iter_mut().find(|(n, _)| *n == st.curview) {
                v.1.extend(split_ws(l));
            }
            continue;
        }

        // 7. watch
        if let Some((tag, _)) = keyword_tag(l, "watch") {
            st.watchgroup = tag.to_string();
            st.inwatch = true;
            st.inview = false;
            st.inalias = false;
            st.ingroup = false;
            st.period = false;
            if c.hostgroup(tag).is_none() {
                c.hostgroups.push(HostGroup {
                    name: tag.into(),
                    line: line_num,
                    hosts: vec![tag.to_string()],
                });
                c.mon_warnings.push(format!(
                    "Warning: watch group {tag} defined with no corresponding hostgroup."
                ));
            }
            if c.watch(tag).is_some() {
                return Err(cf(format!(
                    "cf error: watch '{tag}' already defined, line {line_num}"
                )));
            }
            cur_watch = None;
            cur_service = None;
            watch_line = line_num;
            st.curgroup.clear();
            st.service.clear();
            continue;
        }

        // 8. inside a watch
        if st.inwatch {
            in_watch(
                c,
                &mut st,
                l,
                line_num,
                env,
                &mut cur_watch,
                &mut cur_service,
                watch_line,
                (dep_behavior, dep_memory, unack_summary),
            )?;
            continue;
        }

        // 9. anything else is silently ignored by the original; one
        // warning per run of ignored lines
        if ignored_run_until == line_num_prev_logical {
            ignored_run_until = line_num;
            continue;
        }
        ignored_run_until = line_num;
        let first = l.split_whitespace().next().unwrap_or("");
        let msg = if SERVICE_KEYWORDS.contains(&first) || env_assignment(l).is_some() {
            format!("'{l}' is outside any watch record and is ignored (a blank line inside a watch ends it)")
        } else {
            format!("'{l}' is not part of any record and is ignored")
        };
        warn(c, msg);
    }
}

fn mark_disabled(h: String, disabled: Option<&HashSet<String>>) -> String {
    if disabled.is_some_and(|d| d.contains(&h)) {
        format!("*{h}")
    } else {
        h
    }
}

fn finish(c: &mut Config, views: Views) {
    for g in &c.hostgroups {
        if c.watch(&g.name).is_none() {
            c.mon_warnings.push(format!(
                "Warning: hostgroup {} has no watch assigned to it!",
                g.name
            ));
        }
    }
    c.views = views
        .into_iter()
        .map(|(n, m)| {
            let mut v: Vec<String> = m.into_iter().collect();
            v.sort();
            (n, v)
        })
        .collect();
}

#[allow(clippy::too_many_arguments)]
fn global(
    c: &mut Config,
    name: &str,
    v: &str,
    line: usize,
    env: &ParseEnv,
    dep_behavior: &mut DepBehavior,
    dep_memory: &mut f64,
    unack_summary: &mut bool,
) -> Result<(), Error> {
    let g = &mut c.globals;
    let s = Some(v.to_string());
    let abs_or_dot = |v: &str| {
        if v.starts_with('/') {
            v.to_string()
        } else {
            let t = v.trim_end_matches('/');
            let t = t.strip_prefix("./").unwrap_or(t);
            if t.is_empty() || t == "." {
                ".".to_string()
            } else {
                format!("./{t}")
            }
        }
    };
    match name {
        "alertdir" => g.alertdir = s,
        "basedir" => g.basedir = Some(abs_or_dot(v)),
        "cfbasedir" => g.cfbasedir = Some(abs_or_dot(v)),
        "mondir" => g.mondir = s,
        "logdir" => g.logdir = s,
        "histlength" => g.histlength = s,
        "serverport" => g.serverport = s,
        "trapport" => g.trapport = s,
        "serverbind" => g.serverbind = s,
        "clientallow" => g.clientallow = s,
        "trapbind" => g.trapbind = s,
        "pidfile" => g.pidfile = s,
        "randstart" => {
            g.randstart = Some(dhmstos(v).map(|t| t.secs).ok_or_else(|| {
                cf(format!(
                    "cf error: bad value '{v}' for randstart option (syntax: randstart = timeval), line {line}"
                ))
            })?)
        }
        "maxprocs" => g.maxprocs = s,
        "statedir" => g.statedir = s,
        "authfile" => {
            g.authfile = s;
            if !(env.readable)(v) {
                return Err(Error::ConfigErrno {
                    msg: format!("cf error: authfile '{v}' does not exist or is not readable, line {line}"),
                    errno: std::fs::File::open(v).err().and_then(|e| e.raw_os_error()).unwrap_or(libc::ENOENT),
                });
            }
        }
        "authtype" => {
            g.authtype = s;
            if v.split_whitespace().any(|t| t == "pam") && !crate::auth::pam::available() {
                return Err(cf(
                    "cf error: could not use PAM authentication: Can't locate Authen/PAM.pm in @INC"
                        .to_string(),
                ));
            }
        }
        "pamservice" => g.pamservice = s,
        "userfile" => {
            g.userfile = s;
            if !(env.readable)(v) {
                return Err(Error::ConfigErrno {
                    msg: format!("cf error: userfile '{v}' does not exist or is not readable, line {line}"),
                    errno: std::fs::File::open(v).err().and_then(|e| e.raw_os_error()).unwrap_or(libc::ENOENT),
                });
            }
        }
        "historicfile" => g.historicfile = s,
        "historictime" => {
            g.historictime = Some(dhmstos(v).map(|t| t.secs).ok_or_else(|| {
                cf(format!(
                    "cf error: bad value '{v}' for historictime command (syntax: historictime = timeval), line {line}"
                ))
            })?)
        }
        "cltimeout" => {
            g.cltimeout = Some(dhmstos(v).map(|t| t.secs).ok_or_else(|| {
                cf(format!(
                    "cf error: bad value '{v}' for cltimeout command (syntax: cltimeout = secs), line {line}"
                ))
            })?)
        }
        "monerrfile" => g.monerrfile = s,
        "dtlogfile" => g.dtlogfile = s,
        "dtlogging" => g.dtlogging = Some(numify(v) == 1.0 || v == "yes" || v == "true"),
        "dep_recur_limit" => g.dep_recur_limit = s,
        "dep_behavior" => {
            *dep_behavior = DepBehavior::parse(v)
                .ok_or_else(|| cf(format!("cf error: unknown dependency behavior '{v}', line {line}")))?;
        }
        "dep_memory" => {
            *dep_memory = dhmstos(v).map(|t| t.secs).ok_or_else(|| {
                cf(format!(
                    "cf error: bad value '{v}' for dep_memory option (syntax: dep_memory = timeval), line {line}"
                ))
            })?;
        }
        "unack_summary" => {
            let lv = v.to_lowercase();
            if lv.contains('y') {
                *unack_summary = true;
            } else if lv.contains('n') {
                *unack_summary = false;
            } else if v == "0" || v == "1" {
                *unack_summary = v == "1";
            } else {
                return Err(cf(format!(
                    "cf error: invalid unack_summary value '{v}' (syntax: unack_summary [0|1|y|yes|n|no])"
                )));
            }
        }
        "syslog_facility" => g.syslog_facility = s,
        "startupalerts_on_reset" => {
            let lv = v.to_lowercase();
            g.startupalerts_on_reset =
                Some(lv.starts_with('1') || lv.contains("yes") || lv.contains("true") || lv.ends_with("on"));
        }
        "monremote" => g.monremote = s,
        "exclude_period" => {
            if in_period(&env.now, v) == InPeriod::Invalid {
                return Err(cf(format!("cf error: malformed exclude_period '{v}' (the specified time period is not valid as per Time::Period::inPeriod), line {line}")));
            }
            g.exclude_period = s;
        }
        _ => return Err(cf(format!("cf error: unknown variable '{name}', line {line}"))),
    }
    Ok(())
}

/// Perl's stringification of a failed `$args = dhmstos($args)`: undef
/// prints as '' and a false value as itself.
fn dhms_msg(v: &str) -> String {
    dhmstos(v).map(|t| t.text).unwrap_or_default()
}

/// `$args = dhmstos($args)` that must be true.
fn positive_timeval(v: &str) -> Option<f64> {
    dhmstos(v).filter(|t| t.is_true()).map(|t| t.secs)
}

#[allow(clippy::too_many_arguments)]
fn in_watch(
    c: &mut Config,
    st: &mut St,
    l: &str,
    line: usize,
    env: &ParseEnv,
    cur_watch: &mut Option<usize>,
    cur_service: &mut Option<usize>,
    watch_line: usize,
    defaults: (DepBehavior, f64, bool),
) -> Result<(), Error> {
    let file = c.file.clone();
    if let Some((name, value)) = env_assignment(l) {
        if st.service.is_empty() {
            return Err(cf(format!(
                "cf error: environment variable defined without a service, line {line}"
            )));
        }
        let svc = service_mut(c, *cur_watch, *cur_service);
        if let Some(e) = svc.env.iter_mut().find(|(k, _)| k == name) {
            e.1 = value.to_string();
        } else {
            svc.env.push((name.to_string(), value.to_string()));
        }
        return Ok(());
    }
    let end = l.find(|ch: char| !is_word(ch)).unwrap_or(l.len());
    let (var, args) = if end == 0 {
        (None, "")
    } else {
        (Some(&l[..end]), l[end..].trim_start())
    };
    if var == Some("service") {
        if args.is_empty() || !args.chars().all(is_tag_char) {
            return Err(cf(format!(
                "cf error: invalid service tag '{args}', line {line}"
            )));
        }
        let wi = match *cur_watch {
            Some(i) => i,
            None => {
                c.watches.push(Watch {
                    name: st.watchgroup.clone(),
                    line: watch_line,
                    services: Vec::new(),
                });
                c.watches.len() - 1
            }
        };
        *cur_watch = Some(wi);
        if c.watches[wi].services.iter().any(|s| s.name == args) {
            return Err(cf(format!(
                "cf error: service {args} already defined for watch group {}, line {line}",
                st.watchgroup
            )));
        }
        st.service = args.to_string();
        st.period = false;
        c.watches[wi].services.push(Service {
            name: args.to_string(),
            line,
            dep_behavior: defaults.0,
            dep_memory: defaults.1,
            unack_summary: defaults.2,
            ..Default::default()
        });
        *cur_service = Some(c.watches[wi].services.len() - 1);
        return Ok(());
    }
    if st.service.is_empty() {
        return Err(cf(format!(
            "cf error: need to specify service in watch record, line {line}"
        )));
    }
    let unknown = || cf(format!("cf error: unknown syntax [{l}], line {line}"));
    let Some(var) = var else {
        return Err(unknown());
    };
    let watchgroup = st.watchgroup.clone();
    let svc = service_mut(c, *cur_watch, *cur_service);
    if var == "period" {
        st.period = true;
        let (key, spec) = match period_label(args) {
            Some((k, s)) => (k.to_string(), s.to_string()),
            None => (args.to_string(), args.to_string()),
        };
        if svc.periods.iter().any(|p| p.key == key) {
            return Err(cf(format!(
                "cf error: period '{key}' already defined for watch group {watchgroup} service {}, line {line}",
                svc.name
            )));
        }
        if in_period(&env.now, &spec) == InPeriod::Invalid {
            return Err(cf(format!("cf error: malformed period '{spec}' (the specified time period is not valid as per Time::Period::inPeriod), line {line}")));
        }
        svc.periods.push(Period {
            key,
            spec,
            line,
            ..Default::default()
        });
        return Ok(());
    }
    let mut extra_warning: Option<String> = None;
    if st.period {
        let interval = svc.interval;
        let p = svc.periods.last_mut().expect("period exists");
        match var {
            "alert" => p.alerts.push(args.into()),
            "ackalert" => p.ackalerts.push(args.into()),
            "disablealert" => p.disablealerts.push(args.into()),
            "upalert" => p.upalerts.push(args.into()),
            "startupalert" => p.startupalerts.push(args.into()),
            "alertevery" => {
                let (val, mode) = alertevery_split(args);
                p.alertevery_mode = mode;
                match positive_timeval(val) {
                    Some(secs) => p.alertevery = secs,
                    None => return Err(cf(format!("cf error: invalid time interval '{}' (syntax: alertevery {{positive number}}{{smhd}} [ strict | observe_detail | ignore_summary ]), line {line}", dhms_msg(val)))),
                }
            }
            "alertafter" => {
                if !args.is_empty() && args.bytes().all(|b| b.is_ascii_digit()) {
                    p.alertafter_consec = Some(args.parse().unwrap_or(u64::MAX));
                } else if is_alertafter_timeval(args) {
                    match positive_timeval(args) {
                        Some(secs) => p.alertafterival = Some(secs),
                        None => return Err(cf(format!("cf error: invalid time interval '{args}' (syntax: alertafter = [{{positive integer}}] [{{positive number}}{{smhd}}]), line {line}"))),
                    }
                } else if let Some((n, t)) = alertafter_num_time(args) {
                    let secs = dhmstos(t).map(|t| t.secs).unwrap_or(0.0);
                    let n: f64 = n.parse().unwrap_or(f64::MAX);
                    if (n - 1.0) * interval.unwrap_or(0.0) >= secs {
                        return Err(cf(format!("cf error:  interval & alertafter not sensible. No alerts can be generated with those parameters, line {line}")));
                    }
                    p.alertafter = Some(n as i64);
                    p.alertafterival = Some(secs);
                } else {
                    return Err(cf(format!("cf error: invalid interval specification '{args}', line {line}")));
                }
            }
            "upalertafter" => match positive_timeval(args) {
                Some(secs) => {
                    p.upalertafter = Some(secs);
                    extra_warning = Some("upalertafter has no effect in mon 1.3 (kept for compatibility)".into());
                }
                None => return Err(cf(format!("cf error: invalid upalertafter specification '{}' (syntax: upalertafter = {{positive number}}{{smhd}}), line {line}", dhms_msg(args)))),
            },
            "numalerts" => {
                if args.is_empty() || !args.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(cf(format!("cf error: -numeric arg '{args}' (syntax: numalerts = {{positive integer}}, line {line}")));
                }
                p.numalerts = args.parse().unwrap_or(u64::MAX);
            }
            "no_comp_alerts" => p.no_comp_alerts = true,
            "alerts_dont_count" => p.alerts_dont_count = true,
            "alertexitrange" => {
                if !valid_exit_range(args.trim()) {
                    return Err(cf(format!("cf error: invalid exit code range '{args}', line {line}")));
                }
                p.alertexitrange = Some(args.to_string());
            }
            _ => return Err(unknown()),
        }
    } else {
        let self_sub = |a: &str| a.replace("SELF:", &format!("{watchgroup}:"));
        macro_rules! timeval_or {
            ($what:expr) => {
                match positive_timeval(args) {
                    Some(v) => v,
                    None => return Err(cf(format!($what, dhms_msg(args), line))),
                }
            };
        }
        match var {
            "interval" => {
                svc.interval = Some(timeval_or!(
                    "cf error: invalid time interval '{}' (syntax: interval = {{positive number}}{{smhd}}), line {}"
                ))
            }
            "failure_interval" => {
                svc.failure_interval = Some(timeval_or!(
                    "cf error: invalid interval '{}' (syntax: failure_interval = {{positive number}}{{smhd}}), line {}"
                ))
            }
            "monitor" => svc.monitor = Some(args.into()),
            "redistribute" => svc.redistribute = args.into(),
            "allow_empty_group" => svc.allow_empty_group = true,
            "description" => svc.description = Some(args.into()),
            "unack_summary" => {
                let la = args.to_lowercase();
                let v = if la.contains('y') {
                    "1"
                } else if la.contains('n') {
                    "0"
                } else {
                    args
                };
                match v {
                    "1" => svc.unack_summary = true,
                    "0" => svc.unack_summary = false,
                    _ => {
                        return Err(cf(format!(
                            "cf error: invalid unack_summary value '{args}' (syntax: unack_summary [0|1|y|yes|n|no])"
                        )))
                    }
                }
            }
            "traptimeout" => {
                svc.traptimeout = Some(timeval_or!(
                    "cf error: invalid traptimeout interval '{}' (syntax: traptimeout = {{positive number}}{{smhd}}), line {}"
                ))
            }
            "trapduration" => {
                svc.trapduration = Some(timeval_or!(
                    "cf error: invalid trapduration interval '{}' (syntax: trapduration = {{positive number}}{{smhd}}), line {}"
                ))
            }
            "randskew" => {
                svc.randskew = timeval_or!(
                    "cf error: invalid randskew time interval '{}' (syntax: randskew = {{positive number}}{{smhd}}), line {}"
                )
            }
            "dep_behavior" => {
                svc.dep_behavior = DepBehavior::parse(args).ok_or_else(|| {
                    cf(format!(
                        "cf error: unknown dependency behavior '{args}' (syntax: dep_behavior = {{m|a}}), line {line}"
                    ))
                })?
            }
            "dep_memory" => match positive_timeval(args) {
                Some(v) => {
                    svc.dep_memory = v;
                    extra_warning = Some("dep_memory has no effect in mon 1.3 (kept for compatibility)".into());
                }
                None => {
                    return Err(cf(format!(
                        "cf error: bad value '{args}' for dep_memory option (syntax: dep_memory = timeval), line {line}"
                    )))
                }
            },
            "depend" => {
                let e = self_sub(args);
                extra_warning = check_expr(&e, "depend");
                svc.depend = Some(e);
            }
            "alertdepend" => {
                let e = self_sub(args);
                extra_warning = check_expr(&e, "alertdepend");
                svc.alertdepend = Some(e);
            }
            "monitordepend" => {
                let e = self_sub(args);
                extra_warning = check_expr(&e, "monitordepend");
                svc.monitordepend = Some(e);
            }
            "hostdepend" => svc.hostdepend = Some(self_sub(args)),
            "exclude_hosts" => {
                let mut v: Vec<String> = Vec::new();
                for h in split_ws(args) {
                    if !v.contains(&h) {
                        v.push(h);
                    }
                }
                svc.exclude_hosts = v;
            }
            "exclude_period" => {
                if in_period(&env.now, args) == InPeriod::Invalid {
                    return Err(cf(format!("cf error: malformed exclude_period '{args}' (the specified time period is not valid as per Time::Period::inPeriod), line {line}")));
                }
                svc.exclude_period = args.into();
            }
            _ => return Err(unknown()),
        }
    }
    if let Some(msg) = extra_warning {
        c.warnings.push(Warning { file, line, msg });
    }
    Ok(())
}

fn check_expr(e: &str, what: &str) -> Option<String> {
    let sub = depend::substitute(e, &mut |_, _| true);
    match depend::eval(&sub) {
        Ok(_) => None,
        Err(_) => Some(format!(
            "{what} '{e}' is not a valid expression (join terms with && or ||); mon treats the dependency as failed and suppresses this service's failure alerts"
        )),
    }
}

fn service_mut(c: &mut Config, w: Option<usize>, s: Option<usize>) -> &mut Service {
    &mut c.watches[w.expect("watch exists once a service exists")].services
        [s.expect("service exists")]
}

/// `^([a-z_]\w*)\s*:\s*(.*)$` case-insensitively
fn period_label(args: &str) -> Option<(&str, &str)> {
    let mut cs = args.char_indices();
    let (_, first) = cs.next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let end = args.find(|ch: char| !is_word(ch)).unwrap_or(args.len());
    let rest = args[end..].trim_start();
    let spec = rest.strip_prefix(':')?;
    Some((&args[..end], spec.trim_start()))
}

/// The alertevery flag is recognised only as the last word (or, for the
/// legacy `summary`, anywhere after the value).
fn alertevery_split(args: &str) -> (&str, AlertEveryMode) {
    let words: Vec<(usize, &str)> = word_spans(args);
    if words.len() >= 2 {
        let (_, last) = words[words.len() - 1];
        let prev = words[words.len() - 2].1;
        let ll = last.to_lowercase();
        if ll == "observe_detail" {
            return (prev, AlertEveryMode::ObserveDetail);
        }
        if ll == "ignore_summary" {
            return (prev, AlertEveryMode::IgnoreSummary);
        }
        // /(\S+) \s+ summary/ix : the first word followed by one starting
        // with "summary"
        for i in 1..words.len() {
            if words[i].1.to_lowercase().starts_with("summary") {
                return (words[i - 1].1, AlertEveryMode::Summary);
            }
        }
        if ll == "strict" {
            return (prev, AlertEveryMode::Strict);
        }
    }
    (args, AlertEveryMode::Summary)
}

fn word_spans(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, ch) in s.char_indices() {
        if ch.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, &s[st..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

/// `(\d+)\s+(\d+[hms])$`, unanchored at the start.
fn alertafter_num_time(args: &str) -> Option<(&str, &str)> {
    let words = word_spans(args);
    if words.len() < 2 {
        return None;
    }
    let t = words[words.len() - 1].1;
    if !is_alertafter_timeval(t) {
        return None;
    }
    let prev = words[words.len() - 2].1;
    // the digits at the end of the previous word
    let start = prev
        .char_indices()
        .rev()
        .find(|(_, ch)| !ch.is_ascii_digit())
        .map(|(i, ch)| i + ch.len_utf8())
        .unwrap_or(0);
    let n = &prev[start..];
    if n.is_empty() {
        return None;
    }
    Some((n, t))
}

/// `^\s*(\d+|\d+-\d+)\s*$` after trimming: no spaces around the dash.
fn valid_exit_range(r: &str) -> bool {
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    match r.split_once('-') {
        Some((a, b)) => digits(a) && digits(b),
        None => digits(r),
    }
}

/// `N` or `N-M` (spaces allowed around the dash, as inRange reads it).
pub fn parse_range(r: &str) -> Option<(u64, u64)> {
    if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) {
        let n = r.parse().ok()?;
        return Some((n, n));
    }
    let (a, b) = r.split_once('-')?;
    let (a, b) = (a.trim_end(), b.trim_start());
    if a.is_empty()
        || b.is_empty()
        || !a.bytes().all(|x| x.is_ascii_digit())
        || !b.bytes().all(|x| x.is_ascii_digit())
    {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// mon's inRange(value, range).
pub fn in_range(v: i64, r: &str) -> bool {
    match parse_range(r) {
        Some((a, b)) => v >= a as i64 && v <= b as i64,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> ParseEnv<'static> {
        ParseEnv {
            now: Tm::from_epoch_utc(1795635646), // Wed 19:40 UTC
            readable: &|p: &str| p == "auth.cf",
            disabled_hosts: HashMap::new(),
        }
    }
    fn ok(t: &str) -> Config {
        parse_str(t, "mon.cf", &env()).unwrap_or_else(|e| panic!("{e}"))
    }
    fn err(t: &str) -> String {
        parse_str(t, "mon.cf", &env()).unwrap_err().message
    }

    const BASIC: &str = "\
# comment
serverport = 12583
hostgroup web 10.0.0.1 10.0.0.2
    10.0.0.3

watch web
    service http
        interval 10s
        monitor http.monitor -p 80
        MYVAR=some value
        period wd {Sun-Sat}
            alert mail.alert root
            upalert mail.alert root
            alertevery 1h
        period P2: hr {0-23}
            alert file.alert -d /tmp log
";

    #[test]
    fn basic_structure() {
        let c = ok(BASIC);
        assert_eq!(c.globals.serverport.as_deref(), Some("12583"));
        assert_eq!(
            c.hostgroup("web").unwrap().hosts,
            vec!["10.0.0.1", "10.0.0.2", "10.0.0.3"]
        );
        let s = c.service("web", "http").unwrap();
        assert_eq!(s.interval, Some(10.0));
        assert_eq!(s.monitor.as_deref(), Some("http.monitor -p 80"));
        assert_eq!(s.env, vec![("MYVAR".to_string(), "some value".to_string())]);
        assert_eq!(s.periods.len(), 2);
        assert_eq!(s.periods[0].key, "wd {Sun-Sat}");
        assert_eq!(s.periods[0].alertevery, 3600.0);
        assert_eq!(s.periods[1].key, "P2");
        assert_eq!(s.periods[1].spec, "hr {0-23}");
        assert!(s.has_upalert());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert!(c.mon_warnings.is_empty());
    }

    #[test]
    fn continuation_and_comments() {
        let c = ok("hostgroup g a \\\n# inside\n    b \\  \n  c\n\nwatch g\n");
        assert_eq!(c.hostgroup("g").unwrap().hosts, vec!["a", "b", "c"]);
    }

    #[test]
    fn inline_hash_is_data() {
        let c = ok("cfbasedir = /etc/mon # comment\n");
        assert_eq!(c.globals.cfbasedir.as_deref(), Some("/etc/mon # comment"));
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].line, 1);
    }

    #[test]
    fn hostgroup_swallows_watch_without_blank_line() {
        let c = ok("hostgroup g a\nwatch g\n    service s\n        interval 1m\n");
        assert_eq!(
            c.hostgroup("g").unwrap().hosts,
            vec!["a", "watch", "g", "service", "s", "interval", "1m"]
        );
        assert!(c.watches.is_empty());
        assert_eq!(c.warnings[0].line, 2);
        assert!(c.warnings[0].msg.contains("hostgroup g"));
        assert_eq!(
            c.mon_warnings,
            vec!["Warning: hostgroup g has no watch assigned to it!"]
        );
    }

    #[test]
    fn blank_line_inside_watch_drops_the_rest() {
        let c = ok("watch g\n service a\n  interval 1m\n\n service b\n  interval 1m\n");
        assert_eq!(c.watch("g").unwrap().services.len(), 1);
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].line, 5);
        assert_eq!(
            c.mon_warnings,
            vec!["Warning: watch group g defined with no corresponding hostgroup."]
        );
        assert_eq!(c.hostgroup("g").unwrap().hosts, vec!["g"]);
    }

    #[test]
    fn global_inside_hostgroup_is_a_global() {
        let c = ok("hostgroup g a\nhistlength = 5\n");
        assert_eq!(c.globals.histlength.as_deref(), Some("5"));
        assert_eq!(c.hostgroup("g").unwrap().hosts, vec!["a"]);
    }

    #[test]
    fn fatal_messages() {
        assert_eq!(
            err("Histlength = 5\n"),
            "cf error: unknown variable 'Histlength', line 1"
        );
        assert_eq!(
            err("watch g\n service s\n  interval 0s\n"),
            "cf error: invalid time interval '0' (syntax: interval = {positive number}{smhd}), line 3"
        );
        assert_eq!(
            err("watch g\n service s\n  interval 5\n"),
            "cf error: invalid time interval '' (syntax: interval = {positive number}{smhd}), line 3"
        );
        assert_eq!(
            err("watch g\n service s\n  period\n  alertevery 5x\n"),
            "cf error: invalid time interval '' (syntax: alertevery {positive number}{smhd} [ strict | observe_detail | ignore_summary ]), line 4"
        );
        assert_eq!(
            err("watch g\n service s\n  -foo bar\n"),
            "cf error: unknown syntax [-foo bar], line 3"
        );
        assert_eq!(
            err("watch g\n service s\n  period\n  interval 5m\n"),
            "cf error: unknown syntax [interval 5m], line 4"
        );
        assert_eq!(
            err("watch g\n service s\n  unack_summary\n"),
            "cf error: invalid unack_summary value '' (syntax: unack_summary [0|1|y|yes|n|no])"
        );
        assert_eq!(
            err("watch g\n service s\n  interval 1m\n  period\n  alertafter 3 0s\n"),
            "cf error:  interval & alertafter not sensible. No alerts can be generated with those parameters, line 5"
        );
        assert_eq!(
            err("watch g\n service s\n  interval 1m\n  period\n  alertafter 3 2m\n"),
            "cf error:  interval & alertafter not sensible. No alerts can be generated with those parameters, line 5"
        );
        assert_eq!(
            err("watch g\n service s\n  period\n  alertafter 1d\n"),
            "cf error: invalid interval specification '1d', line 4"
        );
        assert_eq!(
            err("watch g\n service s\n  period\n  numalerts x\n"),
            "cf error: -numeric arg 'x' (syntax: numalerts = {positive integer}, line 4"
        );
        assert_eq!(
            err("watch g\nFOO=1\n"),
            "cf error: environment variable defined without a service, line 2"
        );
        assert_eq!(
            err("watch g\n interval 1m\n"),
            "cf error: need to specify service in watch record, line 2"
        );
        assert_eq!(
            err("watch g\n service a b\n"),
            "cf error: invalid service tag 'a b', line 2"
        );
        assert_eq!(
            err("watch g\n service a\n service a\n"),
            "cf error: service a already defined for watch group g, line 3"
        );
        assert_eq!(
            err("watch g\n service a\n\nwatch g\n"),
            "cf error: watch 'g' already defined, line 4"
        );
        assert_eq!(
            err("watch g\n service a\n period x: wd {1}\n period x: wd {2}\n"),
            "cf error: period 'x' already defined for watch group g service a, line 4"
        );
        assert_eq!(
            err("watch g\n service a\n period wd {Foo}\n"),
            "cf error: malformed period 'wd {Foo}' (the specified time period is not valid as per Time::Period::inPeriod), line 3"
        );
        assert_eq!(
            err("randstart = 60\n"),
            "cf error: bad value '60' for randstart option (syntax: randstart = timeval), line 1"
        );
        assert_eq!(
            err("dep_behavior = x\n"),
            "cf error: unknown dependency behavior 'x', line 1"
        );
        assert_eq!(
            err("authfile = nope.cf\n"),
            "cf error: authfile 'nope.cf' does not exist or is not readable, line 1"
        );
        assert_eq!(
            err("watch g\n service a\n period\n alertexitrange 1 - 2\n"),
            "cf error: invalid exit code range '1 - 2', line 4"
        );
    }

    #[test]
    fn empty_watch_can_be_repeated() {
        // a watch only exists once it has a service
        let c = ok("watch g\n\nwatch g\n service s\n");
        assert_eq!(c.watches.len(), 1);
    }

    #[test]
    fn line_numbers_count_physical_lines() {
        assert_eq!(
            err("# c\nhostgroup g a \\\n b\n\nwatch g\n service s\n  interval \\\n   0s\n"),
            "cf error: invalid time interval '0' (syntax: interval = {positive number}{smhd}), line 8"
        );
    }

    #[test]
    fn alertafter_forms() {
        let c = ok("watch g\n service s\n interval 1m\n period a: wd {1-7}\n alertafter 3\n period b: wd {1-7}\n alertafter 5m\n period c: wd {1-7}\n alertafter 2 5m\n");
        let s = c.service("g", "s").unwrap();
        assert_eq!(s.periods[0].alertafter_consec, Some(3));
        assert_eq!(s.periods[1].alertafterival, Some(300.0));
        assert_eq!(
            (s.periods[2].alertafter, s.periods[2].alertafterival),
            (Some(2), Some(300.0))
        );
    }

    #[test]
    fn alertevery_flags() {
        let modes: Vec<AlertEveryMode> = [
            "1h",
            "1h strict",
            "1h observe_detail",
            "1h IGNORE_SUMMARY",
            "1h summary",
        ]
        .iter()
        .map(|a| {
            let c = ok(&format!("watch g\n service s\n period\n alertevery {a}\n"));
            c.service("g", "s").unwrap().periods[0].alertevery_mode
        })
        .collect();
        use AlertEveryMode::*;
        assert_eq!(
            modes,
            vec![Summary, Strict, ObserveDetail, IgnoreSummary, Summary]
        );
    }

    #[test]
    fn depend_self_and_space_list_warning() {
        let c = ok("watch g\n service s\n  depend SELF:ping && r:ping\n service t\n  depend r:ping r2:ping\n");
        assert_eq!(
            c.service("g", "s").unwrap().depend.as_deref(),
            Some("g:ping && r:ping")
        );
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].line, 5);
    }

    #[test]
    fn parse_time_defaults_apply_to_later_services() {
        let c = ok(
            "watch g\n service a\n\ndep_behavior = m\nunack_summary = yes\nwatch h\n service b\n",
        );
        assert_eq!(c.service("g", "a").unwrap().dep_behavior, DepBehavior::A);
        assert_eq!(c.service("h", "b").unwrap().dep_behavior, DepBehavior::M);
        assert!(c.service("h", "b").unwrap().unack_summary);
    }

    #[test]
    fn disabled_marks_survive_reparse() {
        let mut e = env();
        e.disabled_hosts
            .insert("g".into(), ["b".to_string()].into_iter().collect());
        let c = parse_str("hostgroup g a b\n c b\n", "f", &e).unwrap();
        assert_eq!(c.hostgroup("g").unwrap().hosts, vec!["a", "*b", "c", "*b"]);
    }

    #[test]
    fn regression_alertafter_after_multibyte_char() {
        // found by tests/robustness: a non-ASCII character before the
        // count made the digit scan split a UTF-8 sequence
        let e = err("watch g\n service s\n  period\n  alertafter \u{fffd} 5m\n");
        assert_eq!(
            e,
            "cf error: invalid interval specification '\u{fffd} 5m', line 4"
        );
        let c = ok("watch g\n service s\n  interval 1m\n  period\n  alertafter \u{fffd}3 5m\n");
        assert_eq!(c.service("g", "s").unwrap().periods[0].alertafter, Some(3));
    }

    #[test]
    fn exit_ranges() {
        assert!(in_range(3, "1-5"));
        assert!(in_range(3, "3"));
        assert!(!in_range(6, "1-5"));
        assert!(in_range(2, "1 - 5"));
    }
}

#[cfg(test)]
mod m4_tests {
    use super::*;

    fn env() -> ParseEnv<'static> {
        ParseEnv {
            now: Tm::from_epoch_utc(1795635646),
            readable: &|_| true,
            disabled_hosts: HashMap::new(),
        }
    }

    #[test]
    fn m4_pipes_the_file_through_the_given_program() {
        let d = std::env::temp_dir().join(format!("monrs-m4-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("mon.cf");
        std::fs::write(&f, "watch g\n service s\n  _IV_ 5m\n").unwrap();
        // any program works as "m4": here sed plays a macro
        let c = read_file(f.to_str().unwrap(), Some("sed s/_IV_/interval/"), &env()).unwrap();
        assert_eq!(c.service("g", "s").unwrap().interval, Some(300.0));
        // errors are reported against the program's output
        std::fs::write(&f, "watch g\n service s\n  _IV_ 0s\n").unwrap();
        let e = read_file(f.to_str().unwrap(), Some("sed s/_IV_/interval/"), &env()).unwrap_err();
        assert_eq!(
            e.message,
            "cf error: invalid time interval '0' (syntax: interval = {positive number}{smhd}), line 3"
        );
        // a failing program: the original's close() message
        let e = read_file(f.to_str().unwrap(), Some("false"), &env()).unwrap_err();
        assert!(
            e.message.starts_with("Could not open pipe to m4"),
            "{}",
            e.message
        );
        // a bare -M runs the config file itself, as in mon
        let e = read_file(f.to_str().unwrap(), Some(""), &env()).unwrap_err();
        assert!(
            e.message.starts_with("Could not open pipe to m4"),
            "{}",
            e.message
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
