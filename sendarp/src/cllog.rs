//! Logging as heartbeat's tools do it (cluster-glue `cl_log`), so the
//! lines scripts and log watchers see are the ones they know.
//!
//! Each message goes to
//! * stderr: `Nov 25 22:04:50 host send_arp: [1234]: ERROR: text`
//!   (`send_arp[1234]: 2026/11/25_22:04:50 ERROR: text` when
//!   `HA_syslogmsgfmt` is false);
//! * syslog, ident `send_arp`, facility `user` (or `HA_logfacility`;
//!   `none` turns it off), text `[1234]: ERROR: text`; `LOG_CONS`, so
//!   without a syslog daemon it lands on the console like the original's;
//! * `HA_logfile` (all but debug) and `HA_debugfile` (everything), same
//!   line format as stderr.
//!
//! heartbeat exports these `HA_*` variables to resource scripts, so a
//! send_arp started by IPaddr logs into heartbeat's own log files.
//! `HA_use_logd` is not honoured: messages are always written directly.

use std::ffi::CString;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// cl_log's message buffer is 512 bytes including the NUL.
const MAXLINE: usize = 511;

/// The syslog priorities send_arp uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Err,
    Info,
    Debug,
}

impl Priority {
    fn syslog(self) -> libc::c_int {
        match self {
            Priority::Err => libc::LOG_ERR,
            Priority::Info => libc::LOG_INFO,
            Priority::Debug => libc::LOG_DEBUG,
        }
    }

    /// cl_log's names for the levels (its own odd mix of cases).
    pub fn label(self) -> &'static str {
        match self {
            Priority::Err => "ERROR",
            Priority::Info => "info",
            Priority::Debug => "debug",
        }
    }
}

/// Broken-down local time, the fields the two timestamp styles use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 0-11
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl LocalTime {
    pub fn now() -> LocalTime {
        // SAFETY: time/localtime_r with valid pointers; tm is POD.
        unsafe {
            let t = libc::time(std::ptr::null_mut());
            let mut tm: libc::tm = std::mem::zeroed();
            libc::localtime_r(&t, &mut tm);
            LocalTime {
                year: tm.tm_year + 1900,
                month: tm.tm_mon as u32,
                day: tm.tm_mday as u32,
                hour: tm.tm_hour as u32,
                minute: tm.tm_min as u32,
                second: tm.tm_sec as u32,
            }
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// One log line (with its newline) as written to stderr and log files.
pub fn format_line(
    syslog_style: bool,
    t: &LocalTime,
    nodename: &str,
    entity: &str,
    pid: u32,
    prio: Priority,
    msg: &str,
) -> String {
    if syslog_style {
        format!(
            "{} {:02} {:02}:{:02}:{:02} {} {}: [{}]: {}: {}\n",
            MONTHS[t.month as usize % 12],
            t.day,
            t.hour,
            t.minute,
            t.second,
            nodename,
            entity,
            pid,
            prio.label(),
            msg
        )
    } else {
        format!(
            "{}[{}]: {:04}/{:02}/{:02}_{:02}:{:02}:{:02} {}: {}\n",
            entity,
            pid,
            t.year,
            t.month + 1,
            t.day,
            t.hour,
            t.minute,
            t.second,
            prio.label(),
            msg
        )
    }
}

/// The text handed to syslog(3); the ident supplies the entity.
pub fn syslog_text(pid: u32, prio: Priority, msg: &str) -> String {
    format!("[{}]: {}: {}", pid, prio.label(), msg)
}

/// Cut a message the way cl_log's fixed buffer does.
pub fn truncate(msg: &str) -> &str {
    if msg.len() <= MAXLINE {
        return msg;
    }
    let mut end = MAXLINE;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    &msg[..end]
}

/// The syslog facility for a name in heartbeat's (cl_log's) facility
/// table, the names `ha.cf`'s `logfacility` and `HA_logfacility` take.
/// Shared with heartbeat-rs so the two read the same names.
pub fn facility_code(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "auth" | "security" => libc::LOG_AUTH,
        "authpriv" => libc::LOG_AUTHPRIV,
        "cron" => libc::LOG_CRON,
        "daemon" => libc::LOG_DAEMON,
        "ftp" => libc::LOG_FTP,
        "kern" => libc::LOG_KERN,
        "lpr" => libc::LOG_LPR,
        "mail" => libc::LOG_MAIL,
        "news" => libc::LOG_NEWS,
        "syslog" => libc::LOG_SYSLOG,
        "user" => libc::LOG_USER,
        "uucp" => libc::LOG_UUCP,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => return None,
    })
}

/// Facility names cl_log accepts in `HA_logfacility`. `Some(None)`:
/// logging to syslog switched off; `None`: unknown name (ignored).
pub fn facility_from_name(name: &str) -> Option<Option<libc::c_int>> {
    if name == "none" {
        return Some(None);
    }
    let f = facility_code(name)?;
    // cl_log treats facility 0 (kern) as "off", like "none".
    Some(if f > 0 { Some(f) } else { None })
}

/// cl_log's boolean words.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "y" | "1" => Some(true),
        "false" | "off" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Where and how messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub entity: String,
    pub stderr: bool,
    pub facility: Option<libc::c_int>,
    pub logfile: Option<PathBuf>,
    pub debugfile: Option<PathBuf>,
    pub syslog_style: bool,
}

impl Config {
    /// send_arp's settings: stderr on, facility user, then the `HA_*`
    /// environment heartbeat passes down.
    pub fn from_env(entity: &str, get: impl Fn(&str) -> Option<String>) -> Config {
        let mut c = Config {
            entity: entity.to_string(),
            stderr: true,
            facility: Some(libc::LOG_USER),
            logfile: None,
            debugfile: None,
            syslog_style: true,
        };
        let file = |v: Option<String>| {
            v.filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("/dev/null"))
                .map(PathBuf::from)
        };
        c.logfile = file(get("HA_logfile"));
        c.debugfile = file(get("HA_debugfile"));
        if let Some(f) = get("HA_logfacility").filter(|s| !s.is_empty()) {
            if let Some(fac) = facility_from_name(&f) {
                c.facility = fac;
            }
        }
        if let Some(b) = get("HA_syslogmsgfmt").and_then(|s| parse_bool(&s)) {
            c.syslog_style = b;
        }
        c
    }
}

fn nodename() -> String {
    // SAFETY: utsname is POD; uname fills it.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return String::new();
        }
        std::ffi::CStr::from_ptr(u.nodename.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
}

/// A logger for one process.
#[derive(Debug)]
pub struct Logger {
    config: Config,
    nodename: String,
}

/// openlog(3) keeps the ident pointer; it must live forever.
static IDENT: OnceLock<CString> = OnceLock::new();

impl Logger {
    pub fn new(config: Config) -> Logger {
        if let Some(fac) = config.facility {
            let ident = IDENT
                .get_or_init(|| CString::new(config.entity.replace('\0', "")).unwrap_or_default());
            // SAFETY: ident is 'static.
            unsafe { libc::openlog(ident.as_ptr(), libc::LOG_CONS, fac) };
        }
        Logger {
            config,
            nodename: nodename(),
        }
    }

    pub fn log(&self, prio: Priority, msg: &str) {
        let msg = truncate(msg);
        let pid = std::process::id();
        let now = LocalTime::now();
        let line = |style| {
            format_line(
                style,
                &now,
                &self.nodename,
                &self.config.entity,
                pid,
                prio,
                msg,
            )
        };
        if self.config.stderr {
            let _ = std::io::stderr().write_all(line(self.config.syslog_style).as_bytes());
        }
        if self.config.facility.is_some() {
            if let Ok(text) = CString::new(syslog_text(pid, prio, msg).replace('\0', "")) {
                // SAFETY: constant "%s" format with one C string argument.
                unsafe { libc::syslog(prio.syslog(), c"%s".as_ptr(), text.as_ptr()) };
            }
        }
        if let Some(p) = &self.config.debugfile {
            self.append(p, &line(self.config.syslog_style));
        }
        if prio != Priority::Debug {
            if let Some(p) = &self.config.logfile {
                self.append(p, &line(self.config.syslog_style));
            }
        }
    }

    fn append(&self, path: &PathBuf, line: &str) {
        let r = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = r {
            if self.config.facility.is_some() {
                let text = format!(
                    "Failed to open log file {}: {}\n",
                    path.display(),
                    crate::strerror(&e)
                );
                if let Ok(text) = CString::new(text.replace('\0', "")) {
                    // SAFETY: constant "%s" format with one C string.
                    unsafe { libc::syslog(libc::LOG_ERR, c"%s".as_ptr(), text.as_ptr()) };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: LocalTime = LocalTime {
        year: 2026,
        month: 10,
        day: 5,
        hour: 2,
        minute: 4,
        second: 9,
    };

    #[test]
    fn stderr_line_as_cl_log() {
        assert_eq!(
            format_line(
                true,
                &T,
                "vm",
                "send_arp",
                8580,
                Priority::Err,
                "Cannot find mac address for nosuch"
            ),
            "Nov 05 02:04:09 vm send_arp: [8580]: ERROR: Cannot find mac address for nosuch\n"
        );
        // Messages that end in a newline keep it: a blank line follows.
        assert_eq!(
            format_line(
                true,
                &T,
                "vm",
                "send_arp",
                7,
                Priority::Info,
                "Killed old send_arp process [5]\n"
            ),
            "Nov 05 02:04:09 vm send_arp: [7]: info: Killed old send_arp process [5]\n\n"
        );
    }

    #[test]
    fn non_syslog_style() {
        assert_eq!(
            format_line(false, &T, "vm", "send_arp", 12, Priority::Err, "x"),
            "send_arp[12]: 2026/11/05_02:04:09 ERROR: x\n"
        );
    }

    #[test]
    fn syslog_message() {
        assert_eq!(syslog_text(42, Priority::Info, "hi"), "[42]: info: hi");
    }

    #[test]
    fn environment() {
        let env = |k: &str| match k {
            "HA_logfile" => Some("/var/log/ha-log".to_string()),
            "HA_debugfile" => Some("/dev/null".to_string()),
            "HA_logfacility" => Some("local7".to_string()),
            "HA_syslogmsgfmt" => Some("off".to_string()),
            _ => None,
        };
        let c = Config::from_env("send_arp", env);
        assert_eq!(c.logfile, Some(PathBuf::from("/var/log/ha-log")));
        assert_eq!(c.debugfile, None);
        assert_eq!(c.facility, Some(libc::LOG_LOCAL7));
        assert!(!c.syslog_style);

        let none = Config::from_env("send_arp", |k| {
            (k == "HA_logfacility").then(|| "none".to_string())
        });
        assert_eq!(none.facility, None);
        let bogus = Config::from_env("send_arp", |k| {
            (k == "HA_logfacility").then(|| "bogus".to_string())
        });
        assert_eq!(bogus.facility, Some(libc::LOG_USER));
        let default = Config::from_env("send_arp", |_| None);
        assert!(default.stderr && default.syslog_style);
    }

    #[test]
    fn long_messages_are_cut_like_cl_log() {
        let long = "x".repeat(600);
        assert_eq!(truncate(&long).len(), 511);
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn log_file_gets_the_line() {
        let dir = std::env::temp_dir().join(format!("sa-cllog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ha-log");
        let logger = Logger::new(Config {
            entity: "send_arp".into(),
            stderr: false,
            facility: None,
            logfile: Some(path.clone()),
            debugfile: None,
            syslog_style: false,
        });
        logger.log(Priority::Err, "boom");
        logger.log(Priority::Debug, "not in the log file");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.starts_with(&format!("send_arp[{}]: ", std::process::id())));
        assert!(text.ends_with(" ERROR: boom\n"));
    }
}
