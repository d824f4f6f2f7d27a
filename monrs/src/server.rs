//! The network side: TCP client protocol (port 2583 by default) and UDP
//! traps, as mon 1.3.6 answers them. Replies, status codes, the opstatus
//! line and esc_str encoding are the original's; commands are answered
//! in order, several per read if a client pipelines them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::Instant;

use crate::daemon::{ctime, epoch, Daemon};
use crate::decide::{self, fl, EventKind, Priority};
use crate::quotewords::quotewords;

pub const PROT_VERSION: u32 = 0x2611;
pub const TRAP_PRO_VERSION: f64 = 0.3807;

/// mon's esc_str: bytes ≤ 32, > 126, `"` and `'` become `\xx`; with
/// `inquotes` a backslash is doubled.
pub fn esc_str(s: &str, inquotes: bool) -> String {
    let mut o = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b <= 32 || b > 126 || b == b'"' || b == b'\'' {
            o.push_str(&format!("\\{b:02x}"));
        } else if inquotes && b == b'\\' {
            o.push_str("\\\\");
        } else {
            o.push(b as char);
        }
    }
    o
}

/// `s/\\([0-9a-f]{2})/chr(hex($1))/eg` (lower-case hex only).
pub fn un_esc_str(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| matches!(c, b'0'..=b'9' | b'a'..=b'f');
    let val = |c: u8| {
        if c.is_ascii_digit() {
            c - b'0'
        } else {
            c - b'a' + 10
        }
    };
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 2 < b.len() && hex(b[i + 1]) && hex(b[i + 2]) {
            out.push(val(b[i + 1]) * 16 + val(b[i + 2]));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A decoded trap datagram (`tag=value` lines; quotes stripped, values
/// un-escaped; later tags override earlier ones).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trap {
    pub tags: std::collections::HashMap<String, String>,
    /// lines that were not `tag=value`
    pub bad_lines: Vec<String>,
}

impl Trap {
    pub fn parse(buf: &[u8]) -> Trap {
        let text = String::from_utf8_lossy(buf);
        let mut t = Trap::default();
        for line in text.split('\n') {
            // Perl's split drops trailing empty fields only
            let end = line
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(line.len());
            if end > 0 && line[end..].starts_with('=') {
                let mut v = &line[end + 1..];
                if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
                    v = &v[1..v.len() - 1];
                }
                t.tags.insert(line[..end].to_string(), un_esc_str(v));
            } else if !line.is_empty() {
                t.bad_lines.push(line.to_string());
            }
        }
        // trailing empty lines are not reported (split drops them); an
        // empty line in the middle is
        t
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.tags.get(k).map(String::as_str)
    }
}

pub struct Client {
    pub stream: TcpStream,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub view: Option<String>,
    pub buf: Vec<u8>,
    pub out: Vec<u8>,
    pub last_read: Instant,
    pub closed: bool,
}

pub struct Server {
    pub listener: TcpListener,
    pub trap: UdpSocket,
    pub clients: Vec<Client>,
}

fn bind_addr(host: Option<&str>) -> Result<std::net::Ipv4Addr, ()> {
    use std::net::ToSocketAddrs;
    match host {
        None => Ok(std::net::Ipv4Addr::UNSPECIFIED),
        Some(h) => {
            if let Ok(ip) = h.parse() {
                return Ok(ip);
            }
            (h, 0)
                .to_socket_addrs()
                .map_err(|_| ())?
                .find_map(|a| match a {
                    std::net::SocketAddr::V4(v) => Some(*v.ip()),
                    _ => None,
                })
                .ok_or(())
        }
    }
}

/// mon's setup_server; errors are die_die messages ("fatal, ..." is
/// added by the caller).
pub fn setup(
    serverbind: Option<&str>,
    serverport: u16,
    trapbind: Option<&str>,
    trapport: u16,
) -> Result<Server, String> {
    let a = bind_addr(serverbind)
        .map_err(|_| "error returned by gethostbyname for serverbind: 0".to_string())?;
    let listener = TcpListener::bind((a, serverport)).map_err(|e| {
        format!(
            "could not bind TCP server port {serverport}: {}",
            crate::error::errno_text(&e)
        )
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("could not configure TCP server port: {e}"))?;
    let a = bind_addr(trapbind)
        .map_err(|_| "error returned by gethostbyname for trapbind: 0".to_string())?;
    let trap = UdpSocket::bind((a, trapport)).map_err(|e| {
        format!(
            "could not bind UDP server port: {}",
            crate::error::errno_text(&e)
        )
    })?;
    trap.set_nonblocking(true)
        .map_err(|e| format!("could not configure UDP trap port: {e}"))?;
    Ok(Server {
        listener,
        trap,
        clients: Vec::new(),
    })
}

/// clientallow: each pattern's unescaped dots become literal, and the
/// pattern must match the whole address. Patterns are regular
/// expressions in mon; the forms used in practice (literal addresses,
/// `\d+`, `.*`, `[0-9]`, alternation-free classes) are supported.
pub fn client_allowed(clientallow: &str, ip: &str) -> bool {
    clientallow
        .split_whitespace()
        .any(|p| regex_full_match(&fix_dots(p), ip))
}

fn fix_dots(p: &str) -> String {
    // s/([^[\\])\./$1\\./g
    let c: Vec<char> = p.chars().collect();
    let mut o = String::new();
    let mut i = 0;
    while i < c.len() {
        o.push(c[i]);
        if i + 1 < c.len() && c[i + 1] == '.' && c[i] != '[' && c[i] != '\\' {
            o.push_str("\\.");
            i += 2;
            continue;
        }
        i += 1;
    }
    o
}

/// A tiny backtracking matcher for the regex subset clientallow uses:
/// literals, `\d \w \s \.`, `.`, `[...]` classes, and `* + ?` quantifiers.
fn regex_full_match(re: &str, s: &str) -> bool {
    regex_prefix_match(re, s, true)
}

/// Match `re` (the subset above) at the start of `s`; with `to_end` the
/// match must consume all of `s`.
pub fn regex_prefix_match(re: &str, s: &str, to_end: bool) -> bool {
    #[derive(Clone)]
    enum Atom {
        Any,
        Class(Vec<(char, char)>, bool),
        Lit(char),
    }
    let r: Vec<char> = re.chars().collect();
    let mut atoms: Vec<(Atom, char)> = Vec::new();
    let mut i = 0;
    while i < r.len() {
        let atom = match r[i] {
            '.' => Atom::Any,
            '\\' if i + 1 < r.len() => {
                i += 1;
                match r[i] {
                    'd' => Atom::Class(vec![('0', '9')], false),
                    'w' => Atom::Class(vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], false),
                    's' => Atom::Class(vec![(' ', ' '), ('\t', '\t')], false),
                    c => Atom::Lit(c),
                }
            }
            '[' => {
                let mut j = i + 1;
                let neg = j < r.len() && r[j] == '^';
                if neg {
                    j += 1;
                }
                let mut ranges = Vec::new();
                while j < r.len() && r[j] != ']' {
                    let a = if r[j] == '\\' && j + 1 < r.len() {
                        j += 1;
                        r[j]
                    } else {
                        r[j]
                    };
                    if j + 2 < r.len() && r[j + 1] == '-' && r[j + 2] != ']' {
                        ranges.push((a, r[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((a, a));
                        j += 1;
                    }
                }
                i = j;
                Atom::Class(ranges, neg)
            }
            c => Atom::Lit(c),
        };
        i += 1;
        let q = if i < r.len() && matches!(r[i], '*' | '+' | '?') {
            i += 1;
            r[i - 1]
        } else {
            '1'
        };
        atoms.push((atom, q));
    }
    let m = |a: &Atom, c: char| match a {
        Atom::Any => c != '\n',
        Atom::Lit(l) => *l == c,
        Atom::Class(rs, neg) => rs.iter().any(|(x, y)| *x <= c && c <= *y) != *neg,
    };
    let s: Vec<char> = s.chars().collect();
    // iterative backtracking
    fn run(
        ai: usize,
        si: usize,
        atoms: &[(usize, char)],
        s: &[char],
        test: &dyn Fn(usize, char) -> bool,
        to_end: bool,
    ) -> bool {
        if ai == atoms.len() {
            return !to_end || si == s.len();
        }
        let (idx, q) = atoms[ai];
        match q {
            '1' => si < s.len() && test(idx, s[si]) && run(ai + 1, si + 1, atoms, s, test, to_end),
            '?' => {
                (si < s.len() && test(idx, s[si]) && run(ai + 1, si + 1, atoms, s, test, to_end))
                    || run(ai + 1, si, atoms, s, test, to_end)
            }
            _ => {
                let min = if q == '+' { 1 } else { 0 };
                let mut n = 0;
                while si + n < s.len() && test(idx, s[si + n]) {
                    n += 1;
                }
                loop {
                    if n >= min && run(ai + 1, si + n, atoms, s, test, to_end) {
                        return true;
                    }
                    if n == 0 {
                        return false;
                    }
                    n -= 1;
                }
            }
        }
    }
    let idx: Vec<(usize, char)> = atoms
        .iter()
        .enumerate()
        .map(|(i, (_, q))| (i, *q))
        .collect();
    let test = |i: usize, c: char| m(&atoms[i].0, c);
    run(0, 0, &idx, &s, &test, to_end)
}

/// Perl's parse_line('\s+', 0, $s): like quotewords for one line.
fn first_token(s: &str) -> String {
    quotewords(s)
        .and_then(|v| v.into_iter().next())
        .unwrap_or_default()
}

impl Daemon {
    /// View filter (mon's view_match).
    fn view_match(
        &self,
        view: &Option<String>,
        group: Option<&str>,
        service: Option<&str>,
    ) -> bool {
        let Some(v) = view else { return true };
        let Some((_, members)) = self.cfg.views.iter().find(|(n, _)| n == v) else {
            return false;
        };
        if let Some(g) = group {
            if members.iter().any(|m| m == g) {
                return true;
            }
        }
        let key = format!("{}:{}", group.unwrap_or(""), service.unwrap_or(""));
        members.contains(&key)
    }

    /// One `list opstatus` line.
    pub fn opstatus_line(&self, i: usize) -> String {
        let slot = &self.slots[i];
        let svc = self.service(i);
        let st = &slot.state;
        let e = |s: &Option<String>| esc_str(s.as_deref().unwrap_or(""), true);
        let comment = if st.ack != 0 {
            esc_str(&st.ack_comment, true)
        } else {
            String::new()
        };
        let alerts_sent = st.alerts_sent(svc);
        let last_alert = st.periods.iter().map(|p| p.last_alert).max().unwrap_or(0);
        let mut b = format!(
            "group={} service={} opstatus={} last_opstatus={} exitval={} timer={} last_success={} last_trap={} last_traphost= last_check={} ack={} ackcomment={} alerts_sent={} depstatus={} depend={} hostdepend={} monitordepend={} alertdepend={} monitor={} last_summary={} last_detail={}",
            slot.group,
            svc.name,
            st.op_status,
            st.last_op_status,
            st.exitval.map(|v| v.to_string()).unwrap_or_else(|| "undef".into()),
            if svc.interval.is_some() { format!("{}", slot.timer().round() as i64) } else { String::new() },
            st.last_success,
            st.last_trap,
            slot.last_check.map(|v| v.to_string()).unwrap_or_default(),
            st.ack,
            comment,
            alerts_sent,
            st.depend_status.map(|d| if d { "1" } else { "0" }.to_string()).unwrap_or_default(),
            e(&svc.depend),
            e(&svc.hostdepend),
            e(&svc.monitordepend),
            e(&svc.alertdepend),
            e(&svc.monitor),
            e(&st.last_summary),
            e(&st.last_detail),
        );
        if st.last_failure != 0 {
            b.push_str(&format!(" last_failure={}", st.last_failure));
        }
        if let Some(iv) = st.interval.filter(|v| *v != 0.0) {
            b.push_str(&format!(
                " interval={} monitor_duration={} monitor_running={}",
                crate::perlnum::fmt_num(iv),
                slot.monitor_duration,
                if slot.running.is_some() { 1 } else { 0 }
            ));
        }
        if !svc.exclude_period.is_empty() {
            b.push_str(&format!(
                " exclude_period={}",
                esc_str(&svc.exclude_period, false)
            ));
        }
        if !svc.exclude_hosts.is_empty() {
            b.push_str(&format!(
                " exclude_hosts={}",
                esc_str(&svc.exclude_hosts.join(" "), false)
            ));
        }
        if svc.randskew != 0.0 {
            b.push_str(&format!(
                " randskew={}",
                crate::perlnum::fmt_num(svc.randskew)
            ));
        }
        if last_alert != 0 {
            b.push_str(&format!(" last_alert={last_alert}"));
        }
        if let Some(ff) = st.first_failure.filter(|v| *v != 0) {
            b.push_str(&format!(
                " first_failure={ff} failure_duration={}",
                epoch() - ff
            ));
        }
        b.push('\n');
        b
    }

    fn groups_disabled_lines(&self, view: &Option<String>) -> String {
        let mut o = String::new();
        for g in &self.cfg.hostgroups {
            if !self.view_match(view, Some(&g.name), None) {
                continue;
            }
            let d: Vec<&str> = g.hosts.iter().filter_map(|h| h.strip_prefix('*')).collect();
            if !d.is_empty() {
                o.push_str(&format!("group {}: {}\n", g.name, d.join(" ")));
            }
        }
        for w in &self.cfg.watches {
            if self.view_match(view, Some(&w.name), None) && self.watch_disabled.contains(&w.name) {
                o.push_str(&format!("watch {}\n", w.name));
            }
            for (i, s) in self.slots.iter().enumerate() {
                if s.group == w.name
                    && s.disabled
                    && self.view_match(view, Some(&w.name), Some(&self.service(i).name))
                {
                    o.push_str(&format!(
                        "watch {} service {}\n",
                        w.name,
                        self.service(i).name
                    ));
                }
            }
        }
        o
    }

    /// statedir/disabled, rewritten after every enable/disable.
    pub fn save_disabled(&mut self) {
        let mut o = String::new();
        for g in &self.cfg.hostgroups {
            for h in g.hosts.iter().filter_map(|h| h.strip_prefix('*')) {
                o.push_str(&format!("disable host {h}\n"));
            }
        }
        for w in &self.cfg.watches {
            if self.watch_disabled.contains(&w.name) {
                o.push_str(&format!("disable watch {}\n", w.name));
            }
        }
        for (i, s) in self.slots.iter().enumerate() {
            if s.disabled {
                o.push_str(&format!(
                    "disable service {} {}\n",
                    s.group,
                    self.service(i).name
                ));
            }
        }
        let p = format!("{}/disabled", self.set.statedir);
        if let Err(e) = std::fs::write(&p, o) {
            self.log.log(
                Priority::Err,
                &format!(
                    "could not write to state file: {}",
                    crate::error::errno_text(&e)
                ),
            );
        }
    }

    /// statedir/opstatus: one line per service, TAB-separated
    /// `key=esc(value)` in mon's key order, then each period's counters.
    pub fn save_opstatus(&mut self) {
        let mut o = String::new();
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            let svc = self.service(i);
            let st = &slot.state;
            let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
            let vars: [(&str, String); 22] = [
                ("op_status", st.op_status.to_string()),
                ("failure_count", st.failure_count.to_string()),
                ("alert_count", st.alert_count.to_string()),
                ("last_success", st.last_success.to_string()),
                ("first_success", String::new()),
                ("consec_failures", st.consec_failures.to_string()),
                ("last_failure", st.last_failure.to_string()),
                ("first_failure", opt(st.first_failure)),
                ("last_summary", st.last_summary.clone().unwrap_or_default()),
                ("last_failure_time", String::new()),
                ("last_failure_summary", String::new()),
                ("last_failure_detail", String::new()),
                ("last_detail", st.last_detail.clone().unwrap_or_default()),
                ("ack", st.ack.to_string()),
                ("ack_comment", st.ack_comment.clone()),
                ("last_trap", st.last_trap.to_string()),
                ("last_traphost", String::new()),
                (
                    "exitval",
                    st.exitval
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "undef".into()),
                ),
                ("last_check", opt(slot.last_check)),
                ("last_op_status", st.last_op_status.to_string()),
                (
                    "failure_output",
                    st.failure_output.clone().unwrap_or_default(),
                ),
                (
                    "trap_timer",
                    if svc.traptimeout.is_some() {
                        crate::perlnum::fmt_num(slot.trap_timer)
                    } else {
                        String::new()
                    },
                ),
            ];
            o.push_str(&format!("group={}\tservice={}", slot.group, svc.name));
            for (k, v) in vars {
                o.push_str(&format!("\t{k}={}", esc_str(&v, false)));
            }
            for (p, ps) in svc.periods.iter().zip(&st.periods) {
                let set = |on: bool, v: i64| if on { v.to_string() } else { String::new() };
                for (k, v) in [
                    ("last_alert", set(ps.last_alert_set, ps.last_alert)),
                    ("alert_sent", ps.alert_sent.to_string()),
                    ("1stfailtime", set(ps.first_fail_set, ps.first_fail_time)),
                    ("failcount", set(ps.failcount_set, ps.failcount)),
                ] {
                    o.push_str(&format!("\t{}:{k}={}", p.key, esc_str(&v, false)));
                }
            }
            o.push('\n');
        }
        let p = format!("{}/opstatus", self.set.statedir);
        if let Err(e) = std::fs::write(&p, o) {
            self.log.log(
                Priority::Err,
                &format!(
                    "could not write to opstatus state file: {}",
                    crate::error::errno_text(&e)
                ),
            );
        }
    }

    /// Reads `statedir/NAME`; a failure is logged as mon logs it and
    /// leaves the state as it was.
    fn read_state_file(&mut self, name: &str) -> Option<String> {
        let p = format!("{}/{name}", self.set.statedir);
        match std::fs::read_to_string(&p) {
            Ok(t) => Some(t),
            Err(e) => {
                self.log.log(
                    Priority::Err,
                    &format!(
                        "could not read state file: {}",
                        crate::error::errno_text(&e)
                    ),
                );
                None
            }
        }
    }

    /// load_state("opstatus").
    pub fn load_opstatus(&mut self) {
        let Some(text) = self.read_state_file("opstatus") else {
            return;
        };
        for line in text.lines() {
            let kv: Vec<(&str, &str)> = line
                .split('\t')
                .filter_map(|f| f.rsplit_once('='))
                .collect();
            let get = |k: &str| kv.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
            let (Some(g), Some(sv)) = (get("group"), get("service")) else {
                continue;
            };
            let Some(i) = self.slot_index(g, sv) else {
                continue;
            };
            let periods: Vec<String> = self
                .service(i)
                .periods
                .iter()
                .map(|p| p.key.clone())
                .collect();
            let slot = &mut self.slots[i];
            for (k, raw) in &kv {
                let v = un_esc_str(raw);
                let n = crate::perlnum::numify(&v);
                let st = &mut slot.state;
                if let Some((label, var)) = k.rsplit_once(':') {
                    if let Some(pi) = periods.iter().position(|p| p == label) {
                        let ps = &mut st.periods[pi];
                        match var {
                            "last_alert" => {
                                ps.last_alert = n as i64;
                                ps.last_alert_set = true;
                            }
                            "alert_sent" => ps.alert_sent = n as u64,
                            "1stfailtime" => {
                                ps.first_fail_time = n as i64;
                                ps.first_fail_set = true;
                            }
                            "failcount" => {
                                ps.failcount = n as i64;
                                ps.failcount_set = true;
                            }
                            _ => {}
                        }
                    }
                    continue;
                }
                match *k {
                    "op_status" => st.op_status = n as i32,
                    "last_op_status" => st.last_op_status = n as i32,
                    "failure_count" => st.failure_count = n as u64,
                    "alert_count" => st.alert_count = n as u64,
                    "last_success" => st.last_success = n as i64,
                    "consec_failures" => st.consec_failures = n as u64,
                    "last_failure" => st.last_failure = n as i64,
                    "first_failure" => st.first_failure = Some(n as i64),
                    "last_summary" => st.last_summary = Some(v),
                    "last_detail" => st.last_detail = Some(v),
                    "ack" => st.ack = n as i64,
                    "ack_comment" => st.ack_comment = v,
                    "last_trap" => st.last_trap = n as i64,
                    "exitval" => st.exitval = (v != "undef" && !v.is_empty()).then_some(n as i64),
                    "last_check" => slot.last_check = (!v.is_empty()).then_some(n as i64),
                    "failure_output" => st.failure_output = Some(v),
                    "trap_timer" if !v.is_empty() => slot.trap_timer = n,
                    _ => {}
                }
            }
        }
        self.log.log(Priority::Info, "state 'opstatus' loaded");
    }

    /// load_state("disabled").
    pub fn load_disabled(&mut self) {
        let Some(text) = self.read_state_file("disabled") else {
            return;
        };
        for l in text.lines() {
            let mut it = l.splitn(3, char::is_whitespace);
            let (cmd, what, args) = (
                it.next().unwrap_or(""),
                it.next().unwrap_or(""),
                it.next().unwrap_or(""),
            );
            if cmd != "disable" {
                continue;
            }
            match what {
                "host" => {
                    self.disen_host(args, false);
                }
                "watch" => {
                    if self.cfg.watch(args).is_some() {
                        self.watch_disabled.insert(args.to_string());
                    } else {
                        self.log.log(
                            Priority::Err,
                            &format!("undefined watch reading state file: {l}"),
                        );
                    }
                }
                "service" => {
                    let (g, s) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
                    match self.slot_index(g, s) {
                        Some(i) => self.slots[i].disabled = true,
                        None => self.log.log(
                            Priority::Err,
                            &format!("undefined group or service reading state file: {l}"),
                        ),
                    }
                }
                _ => {}
            }
        }
        self.log.log(Priority::Info, "state 'disabled' loaded");
    }

    fn disen_host(&mut self, h: &str, enable: bool) -> bool {
        let mut found = false;
        for g in &mut self.cfg.hostgroups {
            for x in &mut g.hosts {
                if !enable && x == h {
                    *x = format!("*{h}");
                    found = true;
                } else if enable && x.strip_prefix('*') == Some(h) {
                    *x = h.to_string();
                    found = true;
                }
            }
        }
        found
    }

    fn singleton_groups(&self, h: &str) -> Vec<String> {
        self.cfg
            .hostgroups
            .iter()
            .filter(|g| g.hosts.len() == 1 && g.hosts[0].trim_start_matches('*') == h)
            .map(|g| g.name.clone())
            .collect()
    }

    fn checked(&mut self, ci: usize, cmd: &str) -> bool {
        let user = self
            .server
            .as_ref()
            .and_then(|s| s.clients[ci].user.clone());
        match self.auth.check(user.as_deref(), cmd) {
            Ok(()) => true,
            Err(m) => {
                self.log.log(Priority::Err, &m);
                false
            }
        }
    }

    fn client_user(&self, ci: usize) -> Option<String> {
        self.server
            .as_ref()
            .and_then(|s| s.clients[ci].user.clone())
    }
    fn client_view(&self, ci: usize) -> Option<String> {
        self.server
            .as_ref()
            .and_then(|s| s.clients[ci].view.clone())
    }

    /// Answer one command line from client `ci`. Returns the reply text
    /// and whether the server must terminate afterwards.
    pub fn client_command(&mut self, ci: usize, l: &str) -> (String, bool) {
        let mut o = String::new();
        let is_login = l.trim_start().to_lowercase().starts_with("login");
        if !is_login {
            self.log
                .log(Priority::Info, &format!("client command \"{l}\""));
        }
        const CMDS: &[&str] = &[
            "dump",
            "login",
            "disable",
            "enable",
            "quit",
            "list",
            "set",
            "get",
            "setview",
            "getview",
            "stop",
            "start",
            "loadstate",
            "savestate",
            "reset",
            "clear",
            "checkauth",
            "reload",
            "term",
            "test",
            "servertime",
            "ack",
            "version",
            "protid",
        ];
        let word_end = l.find(char::is_whitespace).unwrap_or(l.len());
        let word = l[..word_end].to_lowercase();
        if !CMDS.contains(&word.as_str()) {
            return ("520 invalid command\n".into(), false);
        }
        let args = l[word_end..].trim_start().to_string();
        let cmd = word.as_str();
        let mut terminate = false;
        let mut stchanged = false;
        let view = self.client_view(ci);
        match cmd {
            "quit" => {
                o.push_str("220 quitting\n");
                if let Some(s) = self.server.as_mut() {
                    s.clients[ci].closed = true;
                }
            }
            // like mon -d's Data::Dumper of %watch: every service's
            // configuration and run-time state on stderr, and no reply
            "dump" if self.opts.debug > 0 => {
                let mut text = String::new();
                for (i, slot) in self.slots.iter().enumerate() {
                    text.push_str(&format!(
                        "watch {} service {}:
{:#?}
{:#?}
disabled: {} running: {} timer: {}
\n",
                        slot.group,
                        self.service(i).name,
                        self.service(i),
                        slot.state,
                        slot.disabled,
                        slot.running.is_some(),
                        crate::perlnum::fmt_num(slot.timer().round())
                    ));
                }
                eprint!("{text}");
            }
            "protid" => {
                if crate::perlnum::numify(&args) as i64 != PROT_VERSION as i64 {
                    o.push_str("520 protocol mismatch\n");
                } else {
                    o.push_str("220 protocol match\n");
                }
            }
            "version" => o.push_str(&format!("version {PROT_VERSION}\n220 version completed\n")),
            "login" => {
                let (user, pass) = args
                    .split_once(char::is_whitespace)
                    .map(|(u, p)| (u, p.trim_start()))
                    .unwrap_or((&args, ""));
                let host = self
                    .server
                    .as_ref()
                    .map(|s| s.clients[ci].host.clone())
                    .unwrap_or_default();
                let types = self
                    .cfg
                    .globals
                    .authtype
                    .clone()
                    .unwrap_or_else(|| "getpwnam".into());
                let userfile = self.userfile();
                let pamservice = self
                    .cfg
                    .globals
                    .pamservice
                    .clone()
                    .unwrap_or_else(|| "passwd".into());
                let mut ok = false;
                for t in types.split_whitespace() {
                    match crate::auth::authenticate(t, user, pass, &host, &userfile, &pamservice) {
                        Ok(()) => {
                            ok = true;
                            break;
                        }
                        Err(msgs) => {
                            for m in msgs {
                                let p = if m.starts_with("User ") {
                                    Priority::Warning
                                } else {
                                    Priority::Err
                                };
                                self.log.log(p, &m);
                            }
                        }
                    }
                }
                if ok {
                    if let Some(s) = self.server.as_mut() {
                        s.clients[ci].user = Some(user.to_string());
                    }
                    self.log
                        .log(Priority::Info, &format!("authenticated {user}"));
                    o.push_str("220 login accepted\n");
                } else {
                    o.push_str("530 login unsuccessful\n");
                }
            }
            "reset" if self.checked(ci, cmd) => {
                if args.to_lowercase().contains("stopped") {
                    self.stop_scheduler();
                }
                let keep = args.contains("keepstate");
                self.log.log(
                    Priority::Info,
                    &format!("resetting, and re-reading configuration {}", self.set.cf),
                );
                let host = hostname();
                match self.reset(keep) {
                    Ok(()) => o.push_str(&format!("220 reset PID {}@{host}\n", std::process::id())),
                    Err(e) => {
                        self.log
                            .log(Priority::Err, &format!("error reading config file: {e}"));
                        o.push_str(&format!(
                            "520 reset PID {}@{host} failed, error in config file\n",
                            std::process::id()
                        ))
                    }
                }
            }
            "reload" if self.checked(ci, cmd) => {
                let what: Vec<&str> = args.split_whitespace().collect();
                if what.iter().all(|w| *w == "auth") {
                    if !what.is_empty() {
                        self.reload_auth();
                    }
                    o.push_str("220 reload completed\n");
                } else {
                    o.push_str("520 unknown reload command\n");
                }
            }
            "clear" if self.checked(ci, cmd) => {
                let w: Vec<&str> = args.split_whitespace().collect();
                if w.len() >= 3 && w[0].eq_ignore_ascii_case("timers") {
                    match self.slot_index(w[1], w[2]) {
                        None => o.push_str("520 unknown group\n"),
                        Some(i) => {
                            self.clear_timers(i);
                            o.push_str("220 clear timers completed\n");
                        }
                    }
                } else {
                    o.push_str("520 unknown clear command\n");
                }
            }
            "test" if self.checked(ci, cmd) => self.cmd_test(&args, &mut o),
            "loadstate" if self.checked(ci, cmd) => {
                for s in args.split_whitespace() {
                    self.load_state(s);
                }
                o.push_str("220 loadstate completed\n");
            }
            "savestate" if self.checked(ci, cmd) => {
                if args.trim().is_empty() {
                    o.push_str("520 savestate error, arguments required\n");
                } else {
                    for s in args.split_whitespace() {
                        self.save_state(s);
                    }
                    o.push_str("220 savestate completed\n");
                }
            }
            "term" if self.checked(ci, cmd) => {
                o.push_str("220 terminating server\n");
                terminate = true;
            }
            "stop" if self.checked(ci, cmd) => {
                self.stop_scheduler();
                o.push_str("220 stop completed\n");
            }
            "start" if self.checked(ci, cmd) => {
                self.start_scheduler();
                o.push_str("220 start completed\n");
            }
            "setview" => {
                let a: Vec<&str> = args.split_whitespace().collect();
                if a.len() > 1 {
                    o.push_str("500 Unknown setview command\n");
                } else if a.len() == 1 {
                    if self.cfg.views.iter().any(|(n, _)| n == a[0]) {
                        if let Some(s) = self.server.as_mut() {
                            s.clients[ci].view = Some(a[0].to_string());
                        }
                        o.push_str(&format!("selecting view {}\n220 setview completed\n", a[0]));
                    } else {
                        o.push_str(&format!("504 unknown view {}\n", a[0]));
                    }
                } else {
                    if let Some(s) = self.server.as_mut() {
                        s.clients[ci].view = None;
                    }
                    o.push_str(
                        "no view selected -- all groups will be displayed\n220 setview completed\n",
                    );
                }
            }
            "getview" => {
                match &view {
                    Some(v) => o.push_str(&format!("view {v} selected\n")),
                    None => o.push_str("no view selected -- all groups will be displayed\n"),
                }
                o.push_str("220 getview completed\n");
            }
            "set" if self.checked(ci, cmd) => self.cmd_set(&args, &mut o),
            "get" if self.checked(ci, cmd) => self.cmd_get(&args, &mut o),
            "list" if self.checked(ci, cmd) => self.cmd_list(&args, &view, &mut o),
            "ack" if self.checked(ci, cmd) => {
                let mut it = args.splitn(3, char::is_whitespace);
                let (g, s, comment) = (
                    it.next().unwrap_or(""),
                    it.next().unwrap_or(""),
                    it.next().unwrap_or(""),
                );
                let idx = self.slot_index(g, s);
                if self.cfg.watch(g).is_none() {
                    o.push_str("520 unknown group\n");
                } else if idx.is_none() {
                    o.push_str("520 unknown service\n");
                }
                match idx {
                    Some(i)
                        if matches!(
                            self.slots[i].state.op_status,
                            decide::STAT_OK | decide::STAT_UNTESTED
                        ) =>
                    {
                        o.push_str("520 service is in a non-failure state\n")
                    }
                    Some(i) => {
                        let c = format!(
                            "{}: {}",
                            self.client_user(ci).unwrap_or_default(),
                            un_esc_str(&first_token(comment))
                        );
                        o.push_str("220 ack completed\n");
                        self.decide_pub(i, &mut |d| d.ack(&c));
                    }
                    // the original answers twice for an unknown group or
                    // service (its phantom service is never "failing OK")
                    None => o.push_str("220 ack completed\n"),
                }
            }
            "disable" if self.checked(ci, cmd) => {
                let (what, rest) = args
                    .split_once(char::is_whitespace)
                    .map(|(a, b)| (a, b.trim_start()))
                    .unwrap_or((&args, ""));
                match what {
                    "watch" => {
                        if self.cfg.watch(rest).is_some() {
                            self.watch_disabled.insert(rest.to_string());
                            stchanged = true;
                            self.monremote(&format!("disable watch {rest}"));
                            o.push_str("220 disable watch completed\n");
                        } else {
                            o.push_str(&format!("520 disable error, unknown watch \"{rest}\"\n"));
                        }
                    }
                    "service" => {
                        let (g, s) = rest
                            .split_once(char::is_whitespace)
                            .map(|(a, b)| (a, b.trim_start()))
                            .unwrap_or((rest, ""));
                        match self.slot_index(g, s) {
                            Some(i) => {
                                self.slots[i].disabled = true;
                                stchanged = true;
                                self.monremote(&format!("disable service {g} {s}"));
                                o.push_str("220 disable service completed\n");
                                let u = self.client_user(ci).unwrap_or_default();
                                self.decide_pub(i, &mut |d| d.do_alert(&u, None, fl::DISABLEALERT));
                            }
                            None => o.push_str("520 disable error, unknown service\n"),
                        }
                    }
                    "host" => {
                        let hosts: Vec<String> =
                            rest.split_whitespace().map(String::from).collect();
                        let missing: Vec<&String> = hosts
                            .iter()
                            .filter(|h| !self.cfg.hostgroups.iter().any(|g| g.hosts.contains(h)))
                            .collect();
                        if !missing.is_empty() {
                            let m: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                            o.push_str(&format!(
                                "520 disable host failed, host(s) {} do not exist\n",
                                m.join(" ")
                            ));
                        } else {
                            for h in &hosts {
                                for g in self.singleton_groups(h) {
                                    self.watch_disabled.insert(g.clone());
                                    self.monremote(&format!("disable watch {g}"));
                                }
                                self.disen_host(h, false);
                                stchanged = true;
                                self.monremote(&format!("disable host {h}"));
                            }
                            o.push_str("220 disable host completed\n");
                        }
                    }
                    _ => o.push_str("520 command could not be executed\n"),
                }
            }
            "enable" if self.checked(ci, cmd) => {
                let (what, rest) = args
                    .split_once(char::is_whitespace)
                    .map(|(a, b)| (a, b.trim_start()))
                    .unwrap_or((&args, ""));
                match what {
                    "watch" => {
                        if self.cfg.watch(rest).is_some() {
                            self.watch_disabled.remove(rest);
                            stchanged = true;
                            self.monremote(&format!("enable watch {rest}"));
                            o.push_str("220 enable watch completed\n");
                        } else {
                            o.push_str("520 enable error, unknown watch\n");
                        }
                    }
                    "service" => {
                        let (g, s) = rest
                            .split_once(char::is_whitespace)
                            .map(|(a, b)| (a, b.trim_start()))
                            .unwrap_or((rest, ""));
                        match self.slot_index(g, s) {
                            Some(i) => {
                                self.slots[i].disabled = false;
                                stchanged = true;
                                self.monremote(&format!("enable service {g} {s}"));
                                o.push_str("220 enable completed\n");
                            }
                            None => o.push_str("520 enable error, unknown group\n"),
                        }
                    }
                    "host" => {
                        for h in rest.split_whitespace() {
                            for g in self.singleton_groups(h) {
                                self.watch_disabled.remove(&g);
                                self.monremote(&format!("enable watch {g}"));
                            }
                            self.disen_host(h, true);
                            self.monremote(&format!("enable host {h}"));
                            stchanged = true;
                        }
                        o.push_str("220 enable completed\n");
                    }
                    _ => o.push_str("520 command could not be executed\n"),
                }
            }
            "servertime" if self.checked(ci, cmd) => {
                let now = epoch();
                o.push_str(&format!("{now} {}\n220 servertime completed\n", ctime(now)));
            }
            "checkauth" => {
                let c = args.split_whitespace().next().unwrap_or("").to_string();
                let user = self.client_user(ci);
                if self.auth.check(user.as_deref(), &c).is_ok() {
                    o.push_str("220 command authorized\n");
                } else {
                    o.push_str("520 command could not be executed\n");
                }
            }
            _ => o.push_str("520 command could not be executed, unknown command\n"),
        }
        if stchanged {
            self.save_disabled();
        }
        if !is_login {
            self.log
                .log(Priority::Info, &format!("finished client command \"{l}\""));
        }
        (o, terminate)
    }

    fn monremote(&mut self, what: &str) {
        if let Some(p) = self.cfg.globals.monremote.clone() {
            if let Ok(mut c) = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("{p} {what}"))
                .spawn()
            {
                // reaped here: the daemon only waits for its monitors' pids
                std::thread::spawn(move || c.wait());
            }
        }
    }

    pub fn userfile(&self) -> String {
        let u = self
            .cfg
            .globals
            .userfile
            .clone()
            .unwrap_or_else(|| "monusers.cf".into());
        if u.starts_with('/') {
            u
        } else {
            format!("{}/{u}", self.set.cfbasedir)
        }
    }

    pub fn reload_auth(&mut self) {
        match crate::auth::Auth::load(&self.set.authfile) {
            Ok(a) => {
                for e in &a.errors {
                    self.log.log(Priority::Err, e);
                }
                for (h, users) in &a.traps {
                    for (u, p) in users {
                        self.log.log(
                            Priority::Notice,
                            &format!("Adding trap auth of: {h} {u} {p}"),
                        );
                    }
                }
                self.auth = a;
            }
            Err(e) => self.log.log(Priority::Err, &e),
        }
    }

    pub fn load_state(&mut self, what: &str) {
        if what == "disabled" || what == "all" {
            self.load_disabled();
        }
        if what == "opstatus" || what == "all" {
            self.load_opstatus();
        }
    }

    pub fn save_state(&mut self, what: &str) {
        if what == "disabled" || what == "all" {
            self.save_disabled();
        }
        if what == "opstatus" || what == "all" {
            self.save_opstatus();
        }
    }

    fn clear_timers(&mut self, i: usize) {
        let svc = self.service(i).clone();
        let tt = svc.traptimeout.map(|t| self.trap_countdown(t));
        let td = svc.trapduration.map(|t| self.trap_countdown(t));
        let s = &mut self.slots[i];
        if let Some(t) = tt {
            s.trap_timer = t;
        }
        if let Some(t) = td {
            s.trap_duration_timer = Some(t);
        }
        if let Some(iv) = svc.interval {
            s.set_timer(iv);
        }
        s.state.consec_failures = 0;
        for (ps, p) in s.state.periods.iter_mut().zip(&svc.periods) {
            if p.alertevery != 0.0 {
                ps.last_alert = 0;
                ps.last_alert_set = true;
            }
            if p.alertafterival.is_some() {
                ps.first_fail_time = 0;
                ps.first_fail_set = true;
            }
        }
    }

    fn cmd_test(&mut self, args: &str, o: &mut String) {
        let (sub, rest) = args
            .split_once(char::is_whitespace)
            .map(|(a, b)| (a, b.trim_start()))
            .unwrap_or((args, ""));
        let is_alert_kind = sub.starts_with("alert")
            || sub.contains("startupalert")
            || sub.contains("upalert")
            || sub.contains("ackalert")
            || sub.ends_with("disablealert");
        if sub == "monitor" {
            let mut it = rest.split_whitespace();
            let (g, s) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
            match self.slot_index(g, s) {
                None => o.push_str(&format!("{g} {s} not defined\n")),
                Some(i) => {
                    self.slots[i].set_timer(0.0);
                    self.slots[i].state.next_check = 0.0;
                    self.monremote(&format!("test {g} {s}"));
                }
            }
            o.push_str("220 test monitor completed\n");
        } else if is_alert_kind {
            let mut it = rest.splitn(4, char::is_whitespace);
            let (g, s, rv, period) = (
                it.next().unwrap_or(""),
                it.next().unwrap_or(""),
                it.next().unwrap_or(""),
                it.next().unwrap_or(""),
            );
            let Some(i) = self.slot_index(g, s) else {
                o.push_str(&format!("520 {g} {s} not defined\n"));
                return;
            };
            let Some(pi) = self.service(i).periods.iter().position(|p| p.key == period) else {
                o.push_str("520 period not defined\n");
                return;
            };
            let f = if sub == "alert" {
                0
            } else if sub == "startupalert" {
                fl::STARTUPALERT
            } else if sub == "upalert" {
                fl::UPALERT
            } else if sub == "ackalert" {
                fl::ACKALERT
            } else if sub == "disablealert" {
                fl::DISABLEALERT
            } else {
                0
            };
            let p = &self.service(i).periods[pi];
            let list = match f {
                fl::STARTUPALERT => p.startupalerts.clone(),
                fl::UPALERT => p.upalerts.clone(),
                fl::ACKALERT => p.ackalerts.clone(),
                fl::DISABLEALERT => p.disablealerts.clone(),
                _ => p.alerts.clone(),
            };
            let retval = crate::perlnum::numify(rv) as i64;
            for entry in list {
                let (alert, mut a) = decide::split2(&entry);
                if a.starts_with("exit=") {
                    if let Some(sp) = a.find(char::is_whitespace) {
                        a = a[sp..].trim_start().to_string();
                    }
                }
                self.decide_pub(i, &mut |d| {
                    d.call_alert(
                        &alert,
                        &a,
                        "test\ntest detail\n",
                        Some(retval),
                        f | fl::TEST,
                        None,
                    );
                });
            }
            o.push_str("220 test alert completed\n");
        } else if sub == "config" {
            let env = crate::config::ParseEnv::real(epoch());
            match crate::config::read_file(&self.set.cf, self.opts.m4.as_deref(), &env) {
                Ok(_) => o.push_str("220 test config completed OK, no errors found\n"),
                Err(e) => {
                    o.push_str(&e.message);
                    o.push_str("\n520 test config completed, errors found in config file\n");
                }
            }
        } else {
            o.push_str("520 test error\n");
        }
    }

    fn cmd_set(&mut self, args: &str, o: &mut String) {
        let w: Vec<&str> = args.split_whitespace().collect();
        if w.len() >= 2 && w[0] == "maxkeep" && w[1].bytes().all(|b| b.is_ascii_digit()) {
            self.set.max_keep = w[1].parse().unwrap_or(self.set.max_keep);
            o.push_str("220 set completed\n");
            return;
        }
        let mut it = args.splitn(4, char::is_whitespace);
        let (g, s, var, value) = (
            it.next().unwrap_or(""),
            it.next().unwrap_or(""),
            it.next().unwrap_or(""),
            it.next().unwrap_or(""),
        );
        let Some(i) = self.slot_index(g, s) else {
            o.push_str(&format!("520 {g},{s} not defined\n"));
            return;
        };
        let v = un_esc_str(&first_token(value));
        if var == "opstatus" {
            let code = match value {
                "fail" => 0,
                "ok" => 1,
                "coldstart" => 2,
                "warmstart" => 3,
                "linkdown" => 4,
                "unknown" => 5,
                "timeout" => 6,
                "untested" => 7,
                _ => {
                    o.push_str("520 undefined opstatus\n");
                    return;
                }
            };
            let st = &mut self.slots[i].state;
            st.last_op_status = st.op_status;
            st.op_status = code;
            o.push_str("220 set completed\n");
            return;
        }
        match var {
            "interval" => {
                let n = crate::perlnum::numify(&v);
                self.slots[i].state.interval = if n != 0.0 { Some(n) } else { None };
            }
            "_timer" => self.slots[i].set_timer(crate::perlnum::numify(&v)),
            "_op_status" => self.slots[i].state.op_status = crate::perlnum::numify(&v) as i32,
            "disable" => self.slots[i].disabled = crate::perlnum::numify(&v) == 1.0,
            _ => {
                self.extra_vars
                    .insert((g.to_string(), s.to_string(), var.to_string()), v.clone());
            }
        }
        o.push_str(&format!("{g} {s} {var}='{v}'\n220 set completed\n"));
    }

    fn cmd_get(&mut self, args: &str, o: &mut String) {
        if args.trim_end() == "maxkeep" {
            o.push_str(&format!(
                "maxkeep = {}\n220 set completed\n",
                self.set.max_keep
            ));
            return;
        }
        let mut it = args.splitn(3, char::is_whitespace);
        let (g, s, var) = (
            it.next().unwrap_or(""),
            it.next().unwrap_or(""),
            it.next().unwrap_or(""),
        );
        let Some(i) = self.slot_index(g, s) else {
            o.push_str(&format!("520 {g},{s} not defined\n"));
            return;
        };
        let svc = self.service(i);
        let st = &self.slots[i].state;
        let val: String = match var {
            "_op_status" | "opstatus" => st.op_status.to_string(),
            "_last_op_status" => st.last_op_status.to_string(),
            "interval" => st.interval.map(crate::perlnum::fmt_num).unwrap_or_default(),
            "monitor" => svc.monitor.clone().unwrap_or_default(),
            "description" => svc.description.clone().unwrap_or_default(),
            "depend" => svc.depend.clone().unwrap_or_default(),
            "_last_summary" => st.last_summary.clone().unwrap_or_default(),
            "_last_detail" => st.last_detail.clone().unwrap_or_default(),
            "_last_output" => st.last_output.clone().unwrap_or_default(),
            "_exitval" => st
                .exitval
                .map(|v| v.to_string())
                .unwrap_or_else(|| "undef".into()),
            "_failure_count" => st.failure_count.to_string(),
            "_consec_failures" => st.consec_failures.to_string(),
            "_alert_count" => st.alert_count.to_string(),
            "_last_success" => st.last_success.to_string(),
            "_last_failure" => st.last_failure.to_string(),
            "_first_failure" => st.first_failure.map(|v| v.to_string()).unwrap_or_default(),
            "_ack" => st.ack.to_string(),
            "_ack_comment" => st.ack_comment.clone(),
            "_last_trap" => st.last_trap.to_string(),
            "_timer" => format!("{}", self.slots[i].timer().round() as i64),
            "disable" => if self.slots[i].disabled { "1" } else { "" }.to_string(),
            _ => self
                .extra_vars
                .get(&(g.to_string(), s.to_string(), var.to_string()))
                .cloned()
                .unwrap_or_default(),
        };
        o.push_str(&format!(
            "{g} {s} {var}='{}'\n220 get completed\n",
            esc_str(&val, true)
        ));
    }

    fn cmd_list(&mut self, args: &str, view: &Option<String>, o: &mut String) {
        let all: Vec<String> = args.split_whitespace().map(String::from).collect();
        let (sub, rest) = args
            .split_once(char::is_whitespace)
            .map(|(a, b)| (a, b.trim_start()))
            .unwrap_or((args, ""));
        let each = |d: &Daemon, f: &mut dyn FnMut(usize)| {
            for i in 0..d.slots.len() {
                if d.view_match(view, Some(&d.slots[i].group), Some(&d.service(i).name)) {
                    f(i);
                }
            }
        };
        match sub {
            "descriptions" => {
                each(self, &mut |i| {
                    o.push_str(&format!(
                        "{} {} {}\n",
                        self.slots[i].group,
                        self.service(i).name,
                        esc_str(self.service(i).description.as_deref().unwrap_or(""), true)
                    ))
                });
                o.push_str("220 list descriptions completed\n");
            }
            "group" => match self.cfg.hostgroup(rest) {
                Some(g) if !g.hosts.is_empty() => o.push_str(&format!(
                    "hostgroup {rest} {}\n220 list group completed\n",
                    g.hosts.join(" ")
                )),
                _ => o.push_str("520 list group error, undefined group\n"),
            },
            "opstatus" => {
                if rest.is_empty() {
                    each(self, &mut |i| o.push_str(&self.opstatus_line(i)));
                    o.push_str("220 list opstatus completed\n");
                } else {
                    let mut sel: Vec<usize> = Vec::new();
                    for gs in rest.split_whitespace() {
                        let (g, s) = gs.split_once(',').unwrap_or((gs, ""));
                        if !s.is_empty() {
                            match self.slot_index(g, s) {
                                Some(i) => sel.push(i),
                                None => {
                                    o.push_str(&format!("520 {g},{s} does not exist\n"));
                                    return;
                                }
                            }
                        } else {
                            sel.extend((0..self.slots.len()).filter(|&i| self.slots[i].group == g));
                        }
                    }
                    for i in sel {
                        o.push_str(&self.opstatus_line(i));
                    }
                    o.push_str("220 list opstatus completed\n");
                }
            }
            "disabled" => {
                o.push_str(&self.groups_disabled_lines(view));
                o.push_str("220 list disabled completed\n");
            }
            "alerthist" => {
                for l in &self.alert_hist {
                    o.push_str(&esc_str(l, false));
                    o.push('\n');
                }
                o.push_str("220 list alerthist completed\n");
            }
            "failurehist" => {
                for l in &self.failure_hist {
                    o.push_str(&esc_str(l, false));
                    o.push('\n');
                }
                o.push_str("220 list failurehist completed\n");
            }
            "failures" | "successes" | "warnings" => {
                let pick: fn(i32) -> bool = match sub {
                    "failures" => decide::is_failure,
                    "successes" => decide::is_success,
                    _ => decide::is_warning,
                };
                each(self, &mut |i| {
                    if pick(self.slots[i].state.op_status) {
                        o.push_str(&self.opstatus_line(i));
                    }
                });
                o.push_str(if sub == "failures" {
                    "220 list failures completed\n"
                } else {
                    "220 list successes completed\n"
                });
            }
            "pids" => {
                o.push_str(&format!("server {}\n", std::process::id()));
                for (i, s) in self.slots.iter().enumerate() {
                    if let Some(r) = &s.running {
                        o.push_str(&format!("{} {} {}\n", s.group, self.service(i).name, r.pid));
                    }
                }
                o.push_str("220 list pids completed\n");
            }
            "watch" => {
                each(self, &mut |i| {
                    o.push_str(&format!(
                        "{} {}\n",
                        self.slots[i].group,
                        self.service(i).name
                    ))
                });
                o.push_str("220 list watch completed\n");
            }
            "state" => {
                if self.stopped {
                    o.push_str(&format!("scheduler stopped since {}\n", self.stopped_time));
                } else {
                    o.push_str("scheduler running\n");
                }
                o.push_str("220 list state completed\n");
            }
            "aliases" => {
                let names: Vec<String> = if all.len() > 1 {
                    all[1..].to_vec()
                } else {
                    self.cfg.aliases.iter().map(|(n, _)| n.clone()).collect()
                };
                for n in names {
                    o.push_str(&format!("alias {n}\n"));
                    if let Some((_, lines)) = self.cfg.aliases.iter().find(|(a, _)| *a == n) {
                        for l in lines {
                            o.push_str(l);
                            o.push('\n');
                        }
                    }
                    o.push('\n');
                }
                o.push_str("220 list aliases completed\n");
            }
            "aliasgroups" => {
                let names: Vec<&str> = self.cfg.aliases.iter().map(|(n, _)| n.as_str()).collect();
                if !names.is_empty() {
                    o.push_str(&format!("{}\n", names.join(" ")));
                }
                o.push_str("220 list aliasgroups completed\n");
            }
            "deps" => {
                // the original filters with variables that are never set,
                // so a selected view hides every line
                if view.is_none() {
                    for i in 0..self.slots.len() {
                        let svc = self.service(i);
                        let g = &self.slots[i].group;
                        let dep = svc.depend.clone().unwrap_or_default();
                        if !dep.is_empty() {
                            o.push_str(&format!(
                                "exp {g} {} '{}'\n",
                                svc.name,
                                esc_str(&dep, true)
                            ));
                        } else {
                            o.push_str(&format!("exp {g} {} 'NONE'\n", svc.name));
                        }
                        let toks = crate::depend::dep_tokens(&dep);
                        if toks.is_empty() {
                            o.push_str(&format!("cmp {g} {} NONE\n", svc.name));
                        } else {
                            o.push_str(&format!("cmp {g} {} {}\n", svc.name, toks.join(" ")));
                        }
                    }
                }
                o.push_str("220 list deps completed\n");
            }
            "dtlog" => {
                if self.set.dtlogging {
                    match std::fs::read_to_string(&self.set.dtlogfile) {
                        Ok(t) => {
                            for l in t.lines() {
                                if !l.starts_with('#') && !l.trim().is_empty() {
                                    o.push_str(l);
                                    o.push('\n');
                                }
                            }
                            o.push_str("220 list dtlog completed\n");
                        }
                        Err(_) => o.push_str("520 list dtlog error, cannot open dtlog\n"),
                    }
                } else {
                    o.push_str("520 list dtlog error, dtlogging is not turned on\n");
                }
            }
            "views" => {
                let mut v: Vec<&str> = self.cfg.views.iter().map(|(n, _)| n.as_str()).collect();
                v.sort();
                o.push_str(&format!(
                    "views {}\n220 list group completed\n",
                    v.join(" ")
                ));
            }
            _ => o.push_str("520 unknown list command\n"),
        }
    }

    /// A trap datagram from `ip`.
    pub fn handle_trap(&mut self, buf: &[u8], ip: &str) {
        let t = Trap::parse(buf);
        for l in &t.bad_lines {
            self.log
                .log(Priority::Err, &format!("unspecified tag in trap: {l}"));
        }
        let mut sum = t.get("sum").unwrap_or("").to_string();
        if !sum.ends_with('\n') {
            sum.push('\n');
        }
        let traphost = if self.auth.traps.contains_key("*") {
            "*".to_string()
        } else {
            ip.to_string()
        };
        let Some(users) = self.auth.traps.get(&traphost).cloned() else {
            self.log.log(
                Priority::Err,
                &format!("received trap from unauthorized host: {ip}"),
            );
            return;
        };
        if !users.contains_key("*") {
            let u = t.get("usr").unwrap_or("");
            let p = t.get("pas").unwrap_or("");
            match users.get(u) {
                None => {
                    self.log.log(
                        Priority::Err,
                        &format!("received trap from unknown user {u}, host {traphost}"),
                    );
                    return;
                }
                Some(h) if !crate::auth::crypt_matches(p, h) => {
                    self.log.log(
                        Priority::Err,
                        &format!("received trap with bad password from user {u}, host {traphost}"),
                    );
                    return;
                }
                _ => {}
            }
        }
        if crate::perlnum::numify(t.get("pro").unwrap_or("")) < TRAP_PRO_VERSION {
            self.log.log(
                Priority::Err,
                &format!("cannot handle traps from version less than {TRAP_PRO_VERSION}"),
            );
            return;
        }
        let Some(sta) = t.get("sta") else {
            self.log.log(
                Priority::Err,
                &format!("no trap sta value specified from {ip}"),
            );
            return;
        };
        let mut grp = t.get("grp").unwrap_or("").to_string();
        let mut svc = t.get("svc").unwrap_or("").to_string();
        let mut intended = None;
        if self.cfg.watch(&grp).is_none() && self.cfg.watch("default").is_some() {
            intended = Some(format!("{grp}:{svc}"));
            grp = "default".into();
        }
        if grp == "default"
            && self.slot_index("default", &svc).is_none()
            && self.slot_index("default", "default").is_some()
        {
            svc = "default".into();
        }
        if self.cfg.hostgroup(&grp).is_none() {
            self.log.log(
                Priority::Err,
                &format!("trap received for undefined group {grp}"),
            );
            return;
        }
        let Some(i) = self.slot_index(&grp, &svc) else {
            self.log.log(
                Priority::Err,
                &format!("trap received for undefined service type {grp}/{svc}"),
            );
            return;
        };
        let now = epoch();
        let sv = self.service(i).clone();
        if let Some(tt) = sv.traptimeout {
            self.slots[i].trap_timer = self.trap_countdown(tt);
        }
        self.slots[i].state.last_trap = now;
        if intended.is_some() {
            self.slots[i].state.intended = intended;
        }
        self.log.log(
            Priority::Info,
            &format!(
                "trap {} {} from {ip} grp={grp} svc={svc}, sta={sta}\n",
                t.get("typ").unwrap_or(""),
                t.get("spc").unwrap_or("")
            ),
        );
        if let Some(d) = sv.trapduration {
            self.slots[i].trap_duration_timer = Some(self.trap_countdown(d));
        }
        let exit = crate::perlnum::numify(sta) as i64;
        let output = format!("{sum}\n{}", t.get("dtl").unwrap_or(""));
        self.event(i, EventKind::Trap, exit, &output);
        self.slots[i].state.intended = None;
    }

    /// Accept, read and answer clients; receive traps. Called after poll.
    pub fn service_io(&mut self) -> bool {
        let mut terminate = false;
        let Some(srv) = self.server.as_mut() else {
            return false;
        };
        // traps
        let mut traps = Vec::new();
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = srv.trap.recv_from(&mut buf) {
            traps.push((buf[..n].to_vec(), from.ip().to_string()));
        }
        // new clients
        let mut accepted = Vec::new();
        while let Ok((s, addr)) = srv.listener.accept() {
            accepted.push((s, addr));
        }
        for (b, ip) in traps {
            self.handle_trap(&b, &ip);
        }
        for (s, addr) in accepted {
            let ip = match addr.ip() {
                std::net::IpAddr::V4(v) => v.to_string(),
                std::net::IpAddr::V6(v) => v.to_string(),
            };
            self.log.log(
                Priority::Info,
                &format!("client connection from {ip}:{}", addr.port()),
            );
            let allow = self
                .cfg
                .globals
                .clientallow
                .clone()
                .unwrap_or_else(|| "\\d+.\\d+.\\d+.\\d+".into());
            if !client_allowed(&allow, &ip) {
                self.log
                    .log(Priority::Notice, &format!("closing unwanted client: {ip}"));
                continue;
            }
            let _ = s.set_nonblocking(true);
            let _ = s.set_nodelay(true);
            if let Some(srv) = self.server.as_mut() {
                srv.clients.push(Client {
                    stream: s,
                    host: ip,
                    port: addr.port(),
                    user: None,
                    view: None,
                    buf: Vec::new(),
                    out: Vec::new(),
                    last_read: Instant::now(),
                    closed: false,
                });
            }
        }
        // read
        let n = self.server.as_ref().map(|s| s.clients.len()).unwrap_or(0);
        for ci in 0..n {
            let mut chunk = [0u8; 8192];
            loop {
                let srv = self.server.as_mut().expect("server");
                let c = &mut srv.clients[ci];
                if c.closed {
                    break;
                }
                match c.stream.read(&mut chunk) {
                    Ok(0) => {
                        c.closed = true;
                        break;
                    }
                    Ok(k) => {
                        c.buf.extend_from_slice(&chunk[..k]);
                        c.last_read = Instant::now();
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        c.closed = true;
                        let m = format!("closing client {}: read error: {e}", ci);
                        self.log.log(Priority::Info, &m);
                        break;
                    }
                }
            }
            // answer every complete line, in order
            loop {
                let line = {
                    let srv = self.server.as_mut().expect("server");
                    let c = &mut srv.clients[ci];
                    let Some(pos) = c.buf.iter().position(|&b| b == b'\n' || b == b'\r') else {
                        break;
                    };
                    let line = String::from_utf8_lossy(&c.buf[..pos]).into_owned();
                    let mut end = pos;
                    while end < c.buf.len() && (c.buf[end] == b'\n' || c.buf[end] == b'\r') {
                        end += 1;
                    }
                    c.buf.drain(..end);
                    line
                };
                let (reply, term) = self.client_command(ci, &line);
                let srv = self.server.as_mut().expect("server");
                let c = &mut srv.clients[ci];
                c.out.extend_from_slice(reply.as_bytes());
                flush(c);
                if term {
                    terminate = true;
                }
                if c.closed {
                    break;
                }
            }
        }
        // timeouts and closes
        let cltimeout = self.cfg.globals.cltimeout.unwrap_or(30.0);
        let mut msgs = Vec::new();
        if let Some(srv) = self.server.as_mut() {
            for (ci, c) in srv.clients.iter_mut().enumerate() {
                flush(c);
                if !c.closed && c.last_read.elapsed().as_secs_f64() >= cltimeout {
                    c.closed = true;
                    msgs.push(format!(
                        "closing client {ci}: timeout after {}s",
                        crate::perlnum::fmt_num(cltimeout)
                    ));
                }
            }
            srv.clients.retain(|c| !(c.closed && c.out.is_empty()));
        }
        for m in msgs {
            self.log.log(Priority::Info, &m);
        }
        if terminate {
            self.log.log(Priority::Info, "terminating by user command");
        }
        terminate
    }
}

fn flush(c: &mut Client) {
    while !c.out.is_empty() {
        match c.stream.write(&c.out) {
            Ok(0) => break,
            Ok(n) => {
                c.out.drain(..n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => {
                c.out.clear();
                c.closed = true;
                break;
            }
        }
    }
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes.
    unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_roundtrip() {
        assert_eq!(esc_str("a b\n'\"\\", false), "a\\20b\\0a\\27\\22\\");
        assert_eq!(esc_str("a\\b", true), "a\\\\b");
        assert_eq!(un_esc_str("all\\20good\\0anow"), "all good\nnow");
        assert_eq!(un_esc_str("\\2G\\4"), "\\2G\\4");
        assert_eq!(un_esc_str("\\4A"), "\\4A", "upper-case hex is not decoded");
    }

    #[test]
    fn trap_decoding() {
        let t = Trap::parse(b"pro='0.3807'\nusr=''\nspc='1'\nseq='0'\ntyp='trap'\ngrp='trapg'\nsvc='t1'\nsta='0'\nsum='all\\20good\\20now'\ndtl='detail\\201\\0adetail\\202'\njunk line\n");
        assert_eq!(t.get("sum"), Some("all good now"));
        assert_eq!(t.get("dtl"), Some("detail 1\ndetail 2"));
        assert_eq!(t.get("usr"), Some(""));
        assert_eq!(t.bad_lines, vec!["junk line"]);
    }

    #[test]
    fn clientallow_patterns() {
        let def = "\\d+.\\d+.\\d+.\\d+";
        assert!(client_allowed(def, "127.0.0.1"));
        assert!(!client_allowed(def, "::1"));
        assert!(client_allowed("127.0.0.1", "127.0.0.1"));
        assert!(!client_allowed("127.0.0.1", "127.0.0.10"));
        assert!(!client_allowed("127.0.0.1", "127a0.0.1"));
        // "0.*" becomes "0\\.*": a trailing star repeats the dot, as in mon
        assert!(!client_allowed("10.0.0.*", "10.0.0.7"));
        assert!(client_allowed("10.0.0.\\d+ 127.0.0.1", "10.0.0.7"));
        assert!(client_allowed("192.168.[0-9]+.1", "192.168.42.1"));
    }
}
