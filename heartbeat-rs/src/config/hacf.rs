//! `/etc/ha.d/ha.cf`, read the way heartbeat 3.0.6 reads it.
//!
//! Two phases, like the original: [`HaCf::parse`] walks the lines
//! (`parse_config()`), [`HaCf::finalize`] fills in derived defaults and runs
//! the cross-directive checks (`init_config()`); `authkeys` is read between
//! the two, which decides the order of the messages an operator sees.

use super::values::{atoi, parse_bool, parse_msec};
use crate::log::{Diag, Level, Location};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// `WHITESPACE` in the original.
const WHITESPACE: &[char] = &[' ', '\t', '\n', '\r', '\x0c'];
/// `DELIMS`: option values are split on commas as well as blanks.
const DELIMS: &[char] = &[',', ' ', '\t', '\n', '\r', '\x0c'];
/// Default UDP port when /etc/services has no `ha-cluster` entry.
pub const DEFAULT_UDPPORT: u16 = 694;
/// `MAXNODE` of the original.
pub const MAX_NODES: usize = 100;

/// How resources move back (`auto_failback`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoFailback {
    /// nice_failback, and the preferred node takes its groups back.
    On,
    /// nice_failback, groups stay where they are.
    Off,
    /// 1.x behaviour: `ip-request` for own groups at start-up.
    Legacy,
}

impl AutoFailback {
    /// The original's `nice_failback` flag.
    pub fn nice_failback(self) -> bool {
        !matches!(self, AutoFailback::Legacy)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenMethod {
    File,
    Time,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgFmt {
    Classic,
    Netstring,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoJoin {
    None,
    Other,
    Any,
}

/// A heartbeat medium; its `name` is the link name in logs and cl_status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Medium {
    /// UDP broadcast to the interface's broadcast address.
    Bcast { dev: String, port: u16 },
    /// UDP unicast to one peer (address or host name, resolved at start).
    Ucast {
        dev: String,
        host: String,
        port: u16,
    },
    /// UDP multicast.
    Mcast {
        dev: String,
        group: Ipv4Addr,
        port: u16,
        ttl: u8,
        loopback: bool,
    },
    /// Media the original knows but this implementation does not run
    /// (serial, IPv6, ping nodes): accepted by the parser, refused or
    /// ignored by the daemon with a log line.
    Unsupported { kind: String, spec: String },
}

impl Medium {
    /// The link name (`Link peer:eth0 up.`).
    pub fn name(&self) -> &str {
        match self {
            Medium::Bcast { dev, .. } | Medium::Ucast { dev, .. } | Medium::Mcast { dev, .. } => {
                dev
            }
            Medium::Unsupported { spec, .. } => spec,
        }
    }

    /// The ha.cf keyword.
    pub fn kind(&self) -> &str {
        match self {
            Medium::Bcast { .. } => "bcast",
            Medium::Ucast { .. } => "ucast",
            Medium::Mcast { .. } => "mcast",
            Medium::Unsupported { kind, .. } => kind,
        }
    }
}

/// `respawn`/`failfast` client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientChild {
    pub user: String,
    /// Whole command line (path and arguments).
    pub command: String,
    pub path: String,
    /// `failfast`: reboot when it dies.
    pub failfast: bool,
}

/// Parsing context: things the original takes from the system.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// Path as printed in messages (the original prints `/etc/ha.d//ha.cf`).
    pub path: String,
    /// Local node name, lower-case (`uname -n` or `/etc/ha.d/nodeinfo`).
    pub local_node: String,
    /// udp services from /etc/services, by port.
    pub udp_services: HashMap<u16, String>,
}

impl Ctx {
    pub fn new(path: impl Into<String>, local_node: &str) -> Ctx {
        Ctx {
            path: path.into(),
            local_node: local_node.to_ascii_lowercase(),
            udp_services: HashMap::new(),
        }
    }

    /// Loads the udp entries of an `/etc/services`-format text.
    pub fn with_services(mut self, services: &str) -> Ctx {
        for line in services.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut it = line.split_whitespace();
            let (Some(name), Some(pp)) = (it.next(), it.next()) else {
                continue;
            };
            if let Some((port, proto)) = pp.split_once('/') {
                if proto == "udp" {
                    if let Ok(p) = port.parse::<u16>() {
                        self.udp_services
                            .entry(p)
                            .or_insert_with(|| name.to_string());
                    }
                }
            }
        }
        self
    }

    fn ha_cluster_port(&self) -> Option<u16> {
        self.udp_services
            .iter()
            .filter(|(_, n)| n.as_str() == "ha-cluster")
            .map(|(p, _)| *p)
            .min()
    }
}

/// The parsed `ha.cf`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaCf {
    /// Normal nodes, lower-case, in file order.
    pub nodes: Vec<String>,
    /// `ping` pseudo-nodes (accepted, not used in haresources mode).
    pub ping_nodes: Vec<String>,
    pub keepalive_ms: u64,
    pub deadtime_ms: u64,
    pub warntime_ms: u64,
    pub initdead_ms: u64,
    pub deadping_ms: u64,
    pub udpport: u16,
    pub media: Vec<Medium>,
    pub auto_failback: AutoFailback,
    pub logfile: Option<String>,
    pub debugfile: Option<String>,
    /// syslog facility name; `None` when unset or `none`.
    pub logfacility: Option<String>,
    pub use_logd: bool,
    pub debug: u8,
    pub realtime: bool,
    pub rtprio: Option<i32>,
    pub hopfudge: u8,
    pub genmethod: GenMethod,
    pub msgfmt: MsgFmt,
    pub max_rexmit_delay_ms: u64,
    pub autojoin: AutoJoin,
    pub cluster: String,
    pub watchdog: Option<String>,
    pub clients: Vec<ClientChild>,
    /// `env NAME=value` → exported as `HA_NAME`.
    pub env: Vec<(String, String)>,
    /// Directives that only matter in CRM mode or for features not built
    /// here: (directive, line) — reported with a log line at start.
    pub ignored: Vec<(String, usize)>,
    /// The parameter table (`cl_status hbparameter`): text as recorded.
    params: Vec<(String, String)>,
    // parse state
    nodes_seen: bool,
    deadtime_set: bool,
    warntime_set: bool,
    initdead_set: bool,
    deadping_set: bool,
    baud_set: bool,
    any_media_statements_yet: bool,
    facility_set: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Option,
    WholeLine,
    TokenMedium,
    LineMedium,
}

fn directive_kind(d: &str) -> Option<Kind> {
    const OPTIONS: &[&str] = &[
        "cluster",
        "node",
        "hopfudge",
        "keepalive",
        "deadtime",
        "deadping",
        "initdead",
        "warntime",
        "watchdog",
        "baud",
        "udpport",
        "logfacility",
        "logfile",
        "debugfile",
        "nice_failback",
        "auto_failback",
        "rtprio",
        "hbgenmethod",
        "realtime",
        "debug",
        "msgfmt",
        "use_logd",
        "conn_logd_time",
        "use_apphbd",
        "log_badpack",
        "syslogmsgfmt",
        "coredumps",
        "coreroot",
        "crm_daemon_dir",
        "crmd_spawns_pengine",
        "crm",
        "pacemaker",
        "autojoin",
        "uuidfrom",
        "compression",
        "compression_threshold",
        "traditional_compression",
        "env",
        "max_rexmit_delay",
        "record_config_changes",
        "record_pengine_inputs",
        "enable_config_writes",
        "memreserve",
        "quorum_server",
    ];
    if OPTIONS.contains(&d) {
        return Some(Kind::Option);
    }
    match d {
        "stonith" | "stonith_host" | "apiauth" | "respawn" | "failfast" => Some(Kind::WholeLine),
        "bcast" | "serial" | "ping" | "ping6" => Some(Kind::TokenMedium),
        "ucast" | "mcast" | "mcast6" | "ucast6" | "ping_group" => Some(Kind::LineMedium),
        _ => None,
    }
}

/// Directives with a default value, applied in table order after parsing
/// (`Directives[]` with `defaultvalue`, as `heartbeat -D` lists them).
pub const DEFAULTS: &[(&str, &str, &str)] = &[
    ("cluster", "linux-ha", "the name of cluster"),
    ("hopfudge", "1", "# of hops above cluster size"),
    ("keepalive", "1000ms", "keepalive time"),
    ("deadtime", "30000ms", "node deadtime"),
    ("baud", "19200", "baud rate"),
    ("auto_failback", "legacy", "auto failback"),
    (
        "hbgenmethod",
        "file",
        "protocol generation computation method",
    ),
    ("realtime", "true", "enable realtime behavior?"),
    ("msgfmt", "classic", "message format in the wire"),
    ("conn_logd_time", "60", "the interval to reconnect to logd"),
    ("log_badpack", "true", "warn about bad packets"),
    ("syslogmsgfmt", "true", "log to files in syslog format"),
    ("coredumps", "true", "enable Linux-HA core dumps"),
    ("pacemaker", "false", "enable Pacemaker resource management"),
    ("autojoin", "none", "set automatic join mode/style"),
    ("uuidfrom", "file", "set the source for uuid"),
    ("compression", "zlib", "set compression module"),
    ("compression_threshold", "2", "set compression threshold"),
    (
        "traditional_compression",
        "no",
        "set traditional_compression",
    ),
    (
        "max_rexmit_delay",
        "250",
        "set the maximum rexmit delay time",
    ),
    (
        "record_config_changes",
        "on",
        "record changes to the cib (valid only with: pacemaker on)",
    ),
    (
        "record_pengine_inputs",
        "on",
        "record the input used by the policy engine (valid only with: pacemaker on)",
    ),
    (
        "enable_config_writes",
        "on",
        "write configuration changes to disk (valid only with: pacemaker on)",
    ),
    (
        "memreserve",
        "6500",
        "number of kbytes to preallocate in heartbeat",
    ),
];

/// Directives whose handler records the value in the parameter table.
fn records_value(d: &str) -> bool {
    !matches!(d, "node" | "nice_failback" | "use_apphbd" | "crm" | "env")
}

/// Directives that only matter with pacemaker (CRM) or for subsystems this
/// implementation leaves out; they are checked like the original checks
/// them, then ignored with a log line.
fn ignored_here(d: &str) -> bool {
    matches!(
        d,
        "crm_daemon_dir"
            | "crmd_spawns_pengine"
            | "record_config_changes"
            | "record_pengine_inputs"
            | "enable_config_writes"
            | "compression"
            | "compression_threshold"
            | "traditional_compression"
            | "quorum_server"
            | "uuidfrom"
            | "memreserve"
            | "coredumps"
            | "coreroot"
            | "use_apphbd"
            | "conn_logd_time"
            | "apiauth"
            | "stonith"
            | "stonith_host"
            | "baud"
            | "log_badpack"
    )
}

const FACILITIES: &[&str] = &[
    "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "security",
    "syslog", "user", "uucp", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7",
];

/// syslog facility number for a facility name accepted in `logfacility`
/// (the same cl_log table send_arp reads `HA_logfacility` with).
pub fn facility_code(name: &str) -> Option<libc::c_int> {
    sendarp::cllog::facility_code(name)
}

struct LineCtx<'a> {
    diags: &'a mut Vec<Diag>,
    at: Location,
}

impl LineCtx<'_> {
    fn log(&mut self, level: Level, text: impl Into<String>) {
        self.diags
            .push(Diag::new(level, text).at(Some(self.at.clone())));
    }
    fn stderr(&mut self, text: impl Into<String>) {
        self.diags.push(
            Diag::new(Level::Error, text)
                .at(Some(self.at.clone()))
                .stderr(),
        );
    }
    /// A handler that fails without a message of its own in the original:
    /// we still say which line, at debug level so the log text stays the same.
    fn silent_fail(&mut self, directive: &str, value: &str) {
        self.diags.push(
            Diag::new(
                Level::Debug,
                format!("invalid value [{value}] for {directive}"),
            )
            .at(Some(self.at.clone())),
        );
    }
}

impl Default for HaCf {
    fn default() -> Self {
        HaCf {
            nodes: Vec::new(),
            ping_nodes: Vec::new(),
            keepalive_ms: 1000,
            deadtime_ms: 30000,
            warntime_ms: 0,
            initdead_ms: 0,
            deadping_ms: 0,
            udpport: DEFAULT_UDPPORT,
            media: Vec::new(),
            auto_failback: AutoFailback::Legacy,
            logfile: None,
            debugfile: None,
            logfacility: None,
            use_logd: false,
            debug: 0,
            realtime: true,
            rtprio: None,
            hopfudge: 1,
            genmethod: GenMethod::File,
            msgfmt: MsgFmt::Classic,
            max_rexmit_delay_ms: 250,
            autojoin: AutoJoin::None,
            cluster: "linux-ha".into(),
            watchdog: None,
            clients: Vec::new(),
            env: Vec::new(),
            ignored: Vec::new(),
            params: Vec::new(),
            nodes_seen: false,
            deadtime_set: false,
            warntime_set: false,
            initdead_set: false,
            deadping_set: false,
            baud_set: false,
            any_media_statements_yet: false,
            facility_set: false,
        }
    }
}

impl HaCf {
    /// Phase 1 (`parse_config`). On failure the diagnostics end with
    /// `Heartbeat not started: configuration error.`.
    pub fn parse(text: &str, ctx: &Ctx, diags: &mut Vec<Diag>) -> Option<HaCf> {
        let mut cf = HaCf::default();
        let mut errcount = 0usize;
        for (idx, raw) in text.split_inclusive('\n').enumerate() {
            let mut lc = LineCtx {
                diags: &mut *diags,
                at: Location {
                    file: ctx.path.clone(),
                    line: idx + 1,
                },
            };
            let mut bp = raw.trim_start_matches(WHITESPACE);
            if let Some(p) = bp.find('#') {
                bp = &bp[..p];
            }
            if let Some(p) = bp.find(['\r', '\n']) {
                bp = &bp[..p];
            }
            if bp.is_empty() {
                continue;
            }
            let dlen = bp.find(WHITESPACE).unwrap_or(bp.len());
            let mut directive = &bp[..dlen];
            if directive == "udp" {
                lc.log(Level::Warn, "WARNING: directive 'udp' replaced by 'bcast'");
                directive = "bcast";
            }
            let Some(kind) = directive_kind(directive) else {
                lc.log(
                    Level::Error,
                    format!("Illegal directive [{directive}] in {}", ctx.path),
                );
                errcount += 1;
                continue;
            };
            let rest = bp[dlen..].trim_start_matches(DELIMS);
            if ignored_here(directive) && directive != "baud" {
                cf.ignored.push((directive.to_string(), idx + 1));
            }
            match kind {
                Kind::LineMedium => {
                    if !cf.line_medium(directive, rest, &mut lc) {
                        errcount += 1;
                        continue;
                    }
                    cf.any_media_statements_yet = true;
                }
                Kind::WholeLine => {
                    if !cf.whole_line(directive, rest, ctx, &mut lc) {
                        errcount += 1;
                    }
                    cf.any_media_statements_yet = true;
                }
                Kind::Option | Kind::TokenMedium => {
                    for tok in rest.split(DELIMS).filter(|t| !t.is_empty()) {
                        if !cf.add_option(directive, tok, ctx, &mut lc) {
                            errcount += 1;
                        }
                    }
                }
            }
        }
        if errcount > 0 {
            diags.push(Diag::new(
                Level::Error,
                "Heartbeat not started: configuration error.",
            ));
            return None;
        }
        Some(cf)
    }

    fn set_param(&mut self, k: &str, v: &str) {
        if let Some(e) = self.params.iter_mut().find(|(n, _)| n == k) {
            e.1 = v.to_string();
        } else {
            self.params.push((k.to_string(), v.to_string()));
        }
    }

    /// A recorded parameter (`cl_status hbparameter -p NAME`).
    pub fn param(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    /// All recorded parameters, in the order first recorded.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    fn add_option(&mut self, d: &str, v: &str, ctx: &Ctx, lc: &mut LineCtx) -> bool {
        let ok = self.apply_option(d, v, ctx, lc);
        if ok && records_value(d) && directive_kind(d) == Some(Kind::Option) {
            self.set_param(d, v);
        }
        ok
    }

    fn apply_option(&mut self, d: &str, v: &str, ctx: &Ctx, lc: &mut LineCtx) -> bool {
        let msec_nonneg = |v: &str| parse_msec(v).filter(|&m| m >= 0);
        macro_rules! silent {
            () => {{
                lc.silent_fail(d, v);
                false
            }};
        }
        macro_rules! boolean {
            ($f:expr) => {
                match parse_bool(v) {
                    Some(b) => {
                        #[allow(clippy::redundant_closure_call)]
                        ($f)(b);
                        true
                    }
                    None => silent!(),
                }
            };
        }
        match d {
            "cluster" | "quorum_server" => {
                self.cluster = v.to_string();
                true
            }
            "node" => {
                self.nodes_seen = true;
                if self.nodes.len() >= MAX_NODES {
                    return silent!();
                }
                let n = v.to_ascii_lowercase();
                self.nodes.push(n);
                true
            }
            "hopfudge" => {
                let h = atoi(v);
                if (0..256).contains(&h) {
                    self.hopfudge = h as u8;
                    true
                } else {
                    silent!()
                }
            }
            "keepalive" => match parse_msec(v) {
                Some(ms) if ms > 0 => {
                    self.keepalive_ms = ms as u64;
                    true
                }
                _ => silent!(),
            },
            "deadtime" => match msec_nonneg(v) {
                Some(ms) => {
                    self.deadtime_ms = ms as u64;
                    self.deadtime_set = true;
                    true
                }
                None => silent!(),
            },
            "deadping" => match msec_nonneg(v) {
                Some(ms) => {
                    self.deadping_ms = ms as u64;
                    self.deadping_set = true;
                    true
                }
                None => silent!(),
            },
            "initdead" => match msec_nonneg(v) {
                Some(ms) => {
                    self.initdead_ms = ms as u64;
                    self.initdead_set = true;
                    true
                }
                None => silent!(),
            },
            "warntime" => match parse_msec(v) {
                Some(ms) if ms > 0 => {
                    self.warntime_ms = ms as u64;
                    self.warntime_set = true;
                    true
                }
                _ => {
                    lc.stderr(format!("Warn time [{v}] is invalid."));
                    false
                }
            },
            "watchdog" => {
                if self.watchdog.is_some() {
                    lc.stderr("heartbeat: Watchdog device multiply specified.");
                    return false;
                }
                self.watchdog = Some(v.to_string());
                true
            }
            "baud" => {
                if self.baud_set {
                    lc.stderr("heartbeat: Baudrate multiply specified.");
                    return false;
                }
                self.baud_set = true;
                if !matches!(
                    atoi(v),
                    9600 | 19200 | 38400 | 57600 | 115200 | 230400 | 460800
                ) {
                    lc.stderr(format!("heartbeat: invalid baudrate [{v}] specified."));
                    return false;
                }
                if self.any_media_statements_yet {
                    lc.stderr("heartbeat: baudrate setting must precede media statements");
                }
                true
            }
            "udpport" => {
                let port = atoi(v);
                if port <= 0 || port > i64::from(u16::MAX) {
                    lc.stderr(format!("heartbeat: invalid port [{v}] specified."));
                    return false;
                }
                let port = port as u16;
                if let Some(svc) = ctx.udp_services.get(&port) {
                    if svc != "ha-cluster" {
                        lc.log(
                            Level::Warn,
                            format!("heartbeat: udp port {v} reserved for service \"{svc}\"."),
                        );
                    }
                }
                // The original prints this every time, whatever the order.
                lc.stderr("heartbeat: udpport setting must precede media statements");
                self.udpport = port;
                true
            }
            "logfacility" => {
                if v == "none" {
                    self.logfacility = None;
                    self.facility_set = false;
                    return true;
                }
                if FACILITIES.contains(&v) {
                    self.logfacility = Some(v.to_string());
                    self.facility_set = true;
                    true
                } else {
                    lc.log(Level::Error, format!("Log facility({v}) not valid"));
                    false
                }
            }
            "logfile" => {
                self.logfile = Some(v.to_string());
                true
            }
            "debugfile" => {
                self.debugfile = Some(v.to_string());
                true
            }
            "nice_failback" => {
                let parsed = parse_bool(v);
                lc.log(
                    Level::Error,
                    "nice_failback flag is obsolete.. Use auto_failback {on, off, legacy} instead.",
                );
                if parsed.is_some() {
                    // The original tests the current global flag, not the
                    // value given (a bug we keep: configs depend on it).
                    if self.auto_failback.nice_failback() {
                        lc.log(
                            Level::Error,
                            format!("'nice_failback {v}' has been changed to 'auto_failback off'"),
                        );
                        self.auto_failback = AutoFailback::Off;
                    } else {
                        lc.log(
                            Level::Error,
                            format!(
                                "nice_failback {v} has been strictly interpreted as 'auto_failback legacy'"
                            ),
                        );
                        lc.log(Level::Error, "Consider converting to 'auto_failback on'.");
                        lc.log(
                            Level::Error,
                            "When you do, then you can use ipfail, and hb_standby",
                        );
                        self.auto_failback = AutoFailback::Legacy;
                    }
                }
                lc.log(Level::Error, "See documentation for details.");
                parsed.is_some()
            }
            "auto_failback" => match parse_bool(v) {
                Some(true) => {
                    self.auto_failback = AutoFailback::On;
                    true
                }
                Some(false) => {
                    self.auto_failback = AutoFailback::Off;
                    true
                }
                None if v.eq_ignore_ascii_case("legacy") => {
                    self.auto_failback = AutoFailback::Legacy;
                    true
                }
                None => silent!(),
            },
            "rtprio" => {
                let p = atoi(v);
                if (1..=99).contains(&p) {
                    self.rtprio = Some(p as i32);
                    true
                } else {
                    lc.log(Level::Error, format!("Illegal realtime priority [{v}]"));
                    false
                }
            }
            "hbgenmethod" => match v {
                "file" => {
                    self.genmethod = GenMethod::File;
                    true
                }
                "time" => {
                    self.genmethod = GenMethod::Time;
                    true
                }
                _ => {
                    lc.log(Level::Error, format!("Illegal hb generation method [{v}]"));
                    false
                }
            },
            "realtime" => boolean!(|b| self.realtime = b),
            "debug" => {
                let l = atoi(v);
                if (0..256).contains(&l) {
                    self.debug = l as u8;
                    true
                } else {
                    silent!()
                }
            }
            "msgfmt" => match v {
                "classic" => {
                    self.msgfmt = MsgFmt::Classic;
                    true
                }
                "netstring" => {
                    self.msgfmt = MsgFmt::Netstring;
                    true
                }
                _ => silent!(),
            },
            "use_logd" => {
                let b = parse_bool(v);
                if b == Some(true) {
                    lc.log(Level::Info, "Enabling logging daemon ");
                    lc.log(
                        Level::Info,
                        "logfile and debug file are those specified in logd config file (default /etc/logd.cf)",
                    );
                } else {
                    lc.log(
                        Level::Warn,
                        "Logging daemon is disabled --enabling logging daemon is recommended",
                    );
                }
                match b {
                    Some(b) => {
                        self.use_logd = b;
                        true
                    }
                    None => silent!(),
                }
            }
            "conn_logd_time" => match parse_msec(v) {
                Some(ms) if ms > 0 => true,
                _ => silent!(),
            },
            "use_apphbd"
            | "log_badpack"
            | "syslogmsgfmt"
            | "coredumps"
            | "record_config_changes"
            | "record_pengine_inputs"
            | "enable_config_writes" => boolean!(|_b| ()),
            "crmd_spawns_pengine" => boolean!(|_b| ()),
            "coreroot" | "crm_daemon_dir" | "memreserve" | "compression" => true,
            "crm" | "pacemaker" => {
                let off = parse_bool(v) == Some(false);
                if off {
                    true
                } else if parse_bool(v).is_some()
                    || matches!(
                        v,
                        "respawn" | "minimal" | "manual" | "ccm-only" | "valgrind"
                    )
                {
                    lc.log(
                        Level::Error,
                        format!(
                            "{d} {v}: pacemaker (CRM) mode is not supported by this heartbeat; only haresources mode is"
                        ),
                    );
                    false
                } else {
                    silent!()
                }
            }
            "autojoin" => {
                self.autojoin = match v {
                    "none" => AutoJoin::None,
                    "other" => AutoJoin::Other,
                    "any" => AutoJoin::Any,
                    _ => return silent!(),
                };
                true
            }
            "uuidfrom" => match v {
                "file" | "nodename" => true,
                _ => silent!(),
            },
            "compression_threshold" => {
                if atoi(v) <= 0 {
                    lc.log(
                        Level::Error,
                        format!("set_compression_threshold: compress_threshhold({v}) invalid"),
                    );
                    false
                } else {
                    true
                }
            }
            "traditional_compression" => {
                if parse_bool(v).is_none() {
                    lc.log(
                        Level::Error,
                        format!("set_traditional_compression:Invalid directive value {v}"),
                    );
                    false
                } else {
                    true
                }
            }
            "env" => {
                let nlen = v.find('=').unwrap_or(v.len());
                if nlen == 0 {
                    lc.log(Level::Error, format!("set_env: invalid nvpair({v})"));
                    return false;
                }
                let value = v.get(nlen + 1..).unwrap_or("");
                self.env.push((v[..nlen].to_string(), value.to_string()));
                true
            }
            "max_rexmit_delay" => {
                let ms = atoi(v);
                if ms <= 0 {
                    lc.log(Level::Error, format!("Invalid max_rexmit_delay time({v})"));
                    false
                } else {
                    self.max_rexmit_delay_ms = ms as u64;
                    true
                }
            }
            "bcast" => {
                self.media.push(Medium::Bcast {
                    dev: v.to_string(),
                    port: self.udpport,
                });
                true
            }
            "ping" | "ping6" => {
                self.ping_nodes.push(v.to_ascii_lowercase());
                self.media.push(Medium::Unsupported {
                    kind: d.to_string(),
                    spec: v.to_string(),
                });
                true
            }
            "serial" => {
                self.media.push(Medium::Unsupported {
                    kind: d.to_string(),
                    spec: v.to_string(),
                });
                true
            }
            _ => {
                lc.log(
                    Level::Error,
                    format!("Illegal configuration directive [{d}]"),
                );
                false
            }
        }
    }

    fn line_medium(&mut self, d: &str, rest: &str, lc: &mut LineCtx) -> bool {
        let mut toks = rest.split(WHITESPACE).filter(|t| !t.is_empty());
        match d {
            "ucast" => {
                let dev = toks.next().unwrap_or("");
                let Some(host) = toks.next() else {
                    lc.log(
                        Level::Error,
                        format!("glib: ucast: [{dev}] missing target IP address/hostname"),
                    );
                    return false;
                };
                self.media.push(Medium::Ucast {
                    dev: dev.to_string(),
                    host: host.to_string(),
                    port: self.udpport,
                });
                true
            }
            "mcast" => {
                let dev = toks.next().unwrap_or("");
                let Some(group) = toks.next() else {
                    lc.log(
                        Level::Error,
                        format!("glib: mcast [{dev}] missing mcast address"),
                    );
                    return false;
                };
                let group = match group.parse::<Ipv4Addr>() {
                    Ok(g) if g.is_multicast() => g,
                    _ => {
                        lc.log(
                            Level::Error,
                            format!("glib: mcast [{dev}] bad addr [{group}]"),
                        );
                        return false;
                    }
                };
                let Some(port) = toks.next() else {
                    lc.log(Level::Error, format!("glib: mcast [{dev}] missing port"));
                    return false;
                };
                let port = match port.parse::<u16>() {
                    Ok(p) if p > 0 => p,
                    _ => {
                        lc.log(
                            Level::Error,
                            format!("glib:  mcast [{dev}] bad port [{}]", atoi(port)),
                        );
                        return false;
                    }
                };
                let Some(ttl) = toks.next() else {
                    lc.log(Level::Error, format!("glib: mcast [{dev}] missing ttl"));
                    return false;
                };
                let ttl = match ttl.parse::<u8>() {
                    Ok(t) if t <= 4 => t,
                    _ => {
                        lc.log(
                            Level::Error,
                            format!("glib:  mcast [{dev}] bad ttl [{}]", atoi(ttl)),
                        );
                        return false;
                    }
                };
                let Some(lp) = toks.next() else {
                    lc.log(Level::Error, format!("glib: mcast [{dev}] missing loop"));
                    return false;
                };
                let loopback = match lp {
                    "0" => false,
                    "1" => true,
                    _ => {
                        lc.log(
                            Level::Error,
                            format!("glib:  mcast [{dev}] bad loop [{}]", atoi(lp)),
                        );
                        return false;
                    }
                };
                self.media.push(Medium::Mcast {
                    dev: dev.to_string(),
                    group,
                    port,
                    ttl,
                    loopback,
                });
                true
            }
            _ => {
                // mcast6, ucast6, ping_group
                if d == "ping_group" {
                    if let Some(name) = toks.next() {
                        self.ping_nodes.push(name.to_ascii_lowercase());
                    }
                }
                self.media.push(Medium::Unsupported {
                    kind: d.to_string(),
                    spec: rest.to_string(),
                });
                true
            }
        }
    }

    fn whole_line(&mut self, d: &str, rest: &str, _ctx: &Ctx, lc: &mut LineCtx) -> bool {
        match d {
            "respawn" | "failfast" => {
                let mut parts = rest.trim_start_matches(WHITESPACE).splitn(2, WHITESPACE);
                let user = parts.next().unwrap_or("").to_string();
                let command = parts
                    .next()
                    .unwrap_or("")
                    .trim_start_matches(WHITESPACE)
                    .to_string();
                if !command.starts_with('/') {
                    lc.log(
                        Level::Error,
                        format!("Client child command [{command}] is not full pathname"),
                    );
                    return false;
                }
                let path = command.split(WHITESPACE).next().unwrap_or("").to_string();
                self.clients.push(ClientChild {
                    user,
                    command,
                    path,
                    failfast: d == "failfast",
                });
                true
            }
            "stonith" | "stonith_host" => {
                if rest.trim().is_empty() {
                    lc.log(Level::Error, "No Stonith type given");
                    return false;
                }
                true
            }
            _ => true, // apiauth: only guards the client API, which is local here
        }
    }

    /// Phase 2 (`init_config`): defaults, derived values, cross-checks.
    /// Returns false when an error was logged.
    pub fn finalize(&mut self, ctx: &Ctx, diags: &mut Vec<Diag>) -> bool {
        let mut errcount = 0usize;
        let mut lc = LineCtx {
            diags: &mut *diags,
            at: Location {
                file: ctx.path.clone(),
                line: 0,
            },
        };
        for (name, default, _) in DEFAULTS {
            if self.param(name).is_some() {
                continue;
            }
            if *name == "baud" {
                // Only the "must precede" complaint can come out of this.
                if !self.baud_set && self.any_media_statements_yet {
                    lc.diags.push(
                        Diag::new(
                            Level::Error,
                            "heartbeat: baudrate setting must precede media statements",
                        )
                        .stderr(),
                    );
                }
                self.set_param(name, default);
                continue;
            }
            self.add_option(name, default, ctx, &mut lc);
        }
        if self.param("debug").is_none() {
            let d = self.debug.to_string();
            self.set_param("debug", &d);
        }
        let diags = lc.diags;
        let mut log = |level: Level, text: String| diags.push(Diag::new(level, text));

        if self.media.is_empty() {
            log(Level::Error, "No heartbeat media defined".into());
            errcount += 1;
        }
        if !self.warntime_set {
            self.warntime_ms = self.deadtime_ms / 2;
            let v = format!("{}ms", self.warntime_ms);
            self.set_param("warntime", &v);
        }
        if self.nodes.is_empty() && self.autojoin != AutoJoin::Any {
            log(Level::Error, "no nodes defined".into());
            errcount += 1;
        }
        if !self.nodes.contains(&ctx.local_node) {
            if self.autojoin == AutoJoin::Any {
                self.nodes.push(ctx.local_node.clone());
                log(
                    Level::Info,
                    format!("Current node [{}] added to configuration.", ctx.local_node),
                );
            } else {
                log(
                    Level::Error,
                    format!("Current node [{}] not in configuration!", ctx.local_node),
                );
                log(Level::Info, "By default, cluster nodes are named by `uname -n` and must be declared with a 'node' directive in the ha.cf file.".into());
                log(
                    Level::Info,
                    "See also: http://linux-ha.org/wiki/Ha.cf#node_directive".into(),
                );
                errcount += 1;
            }
        }
        if self.deadtime_ms <= 2 * self.keepalive_ms {
            log(
                Level::Error,
                format!(
                    "Dead time [{}] is too small compared to keeplive [{}]",
                    self.deadtime_ms, self.keepalive_ms
                ),
            );
            errcount += 1;
        }
        if !self.initdead_set {
            self.initdead_ms = if self.deadtime_ms > 10000 {
                self.deadtime_ms
            } else if self.deadtime_ms < 6000 {
                12000
            } else {
                2 * self.deadtime_ms
            };
            let v = format!("{}ms", self.initdead_ms);
            self.set_param("initdead", &v);
        }
        if self.initdead_ms < self.deadtime_ms {
            log(
                Level::Error,
                format!(
                    "Initial dead time [{}] is smaller than deadtime [{}]",
                    self.initdead_ms, self.deadtime_ms
                ),
            );
            errcount += 1;
        } else if self.initdead_ms < 10000 {
            log(
                Level::Warn,
                format!(
                    "Initial dead time [{} ms] may be too small!",
                    self.initdead_ms
                ),
            );
            log(
                Level::Info,
                "Initial dead time accounts for slow network startup time".into(),
            );
            log(
                Level::Info,
                "It should be >= deadtime and >= 10 seconds".into(),
            );
        }
        if !self.deadping_set {
            self.deadping_ms = self.deadtime_ms;
            let v = format!("{}ms", self.deadping_ms);
            self.set_param("deadping", &v);
        } else if self.deadping_ms <= 2 * self.keepalive_ms {
            log(
                Level::Error,
                format!(
                    "Ping dead time [{}] is too small compared to keeplive [{}]",
                    self.deadping_ms, self.keepalive_ms
                ),
            );
            errcount += 1;
        }
        if self.param("udpport").is_none() {
            let port = ctx.ha_cluster_port().unwrap_or(DEFAULT_UDPPORT);
            self.udpport = port;
            self.set_param("udpport", &port.to_string());
        }
        if !self.auto_failback.nice_failback() {
            log(
                Level::Warn,
                "Deprecated 'legacy' auto_failback option selected.".into(),
            );
            log(Level::Warn, "Please convert to 'auto_failback on'.".into());
            log(
                Level::Warn,
                "See documentation for conversion details.".into(),
            );
        }
        // check_logd_usage()
        let logd_param = self.param("use_logd").map(str::to_string);
        let no_targets = self.logfile.is_none() && self.debugfile.is_none() && !self.facility_set;
        if no_targets {
            match logd_param {
                None => {
                    log(
                        Level::Info,
                        "No log entry found in ha.cf -- use logd".into(),
                    );
                    self.use_logd = true;
                    self.set_param("use_logd", "yes");
                }
                Some(_) if !self.use_logd => {
                    log(
                        Level::Error,
                        "No log entry found in ha.cf and use_logd is set to off".into(),
                    );
                    errcount += 1;
                }
                Some(_) => {}
            }
        } else if logd_param.is_none() || !self.use_logd {
            log(
                Level::Warn,
                "Logging daemon is disabled --enabling logging daemon is recommended".into(),
            );
        } else {
            log(
                Level::Warn,
                format!(
                    "logd is enabled but {}{}{} is still configured in ha.cf",
                    if self.logfile.is_some() {
                        "logfile"
                    } else {
                        ""
                    },
                    if self.debugfile.is_some() {
                        "/debugfile"
                    } else {
                        ""
                    },
                    if self.facility_set {
                        "/logfacility"
                    } else {
                        ""
                    },
                ),
            );
        }
        if self.facility_set {
            if self.param("logfile").is_none() {
                self.set_param("logfile", "/dev/null");
            }
            if self.param("debugfile").is_none() {
                self.set_param("debugfile", "/dev/null");
            }
        }
        if self.autojoin != AutoJoin::None {
            log(
                Level::Error,
                "R1 style resource management conflicts with  autojoin set".into(),
            );
            log(
                Level::Error,
                "You need either unset autojoin or enable crm".into(),
            );
            errcount += 1;
        }
        errcount == 0
    }

    /// Other normal nodes (everything but `local`).
    pub fn peers<'a>(&'a self, local: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.nodes.iter().filter(move |n| n.as_str() != local)
    }
}
