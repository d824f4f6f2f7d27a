//! Logging to `logfile`, `debugfile` and syslog in heartbeat 3.0.6's format:
//! `Nov 25 19:43:57 node heartbeat: [pid]: WARN: text`.

use crate::log::Level;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;

pub struct Logger {
    inner: Mutex<Inner>,
}

struct Inner {
    logfile: Option<File>,
    debugfile: Option<File>,
    syslog: bool,
    facility: libc::c_int,
    stderr: bool,
    host: String,
    pid: u32,
    debug: u8,
}

fn open(p: &str) -> Option<File> {
    if p == "/dev/null" {
        return None;
    }
    OpenOptions::new().create(true).append(true).open(p).ok()
}

/// `%b %e %H:%M:%S` in local time.
pub fn syslog_time() -> String {
    strftime(c"%b %e %H:%M:%S")
}

/// The resource scripts' date (`HA_DATEFMT`): `%Y/%m/%d_%T` and a blank.
pub fn script_time() -> String {
    strftime(c"%Y/%m/%d_%H:%M:%S ")
}

fn strftime(fmt: &std::ffi::CStr) -> String {
    let mut t: libc::time_t = 0;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut buf = [0u8; 64];
    // SAFETY: time/localtime_r/strftime on buffers we own.
    let n = unsafe {
        libc::time(&mut t);
        libc::localtime_r(&t, &mut tm);
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            fmt.as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

impl Logger {
    pub fn new(
        logfile: Option<&str>,
        debugfile: Option<&str>,
        facility: Option<libc::c_int>,
        stderr: bool,
        host: &str,
        debug: u8,
    ) -> Logger {
        if let Some(f) = facility {
            // SAFETY: the ident is a static C string.
            unsafe { libc::openlog(c"heartbeat".as_ptr(), libc::LOG_PID, f) };
        }
        Logger {
            inner: Mutex::new(Inner {
                logfile: logfile.and_then(open),
                debugfile: debugfile.and_then(open),
                syslog: facility.is_some(),
                facility: facility.unwrap_or(libc::LOG_DAEMON),
                stderr,
                host: host.to_string(),
                pid: std::process::id(),
                debug,
            }),
        }
    }

    pub fn set_debug(&self, d: u8) {
        if let Ok(mut i) = self.inner.lock() {
            i.debug = d;
        }
    }

    /// A line in the form heartbeat 3.0.6's shell scripts (ResourceManager,
    /// via `ha_log`) write it: `2026/11/25_19:45:42  ResourceManager(default)[24860]:    info: text`
    /// in the logfile, `tag:<TAB>date text` in a separate debugfile, and to
    /// syslog under the tag with `logger`'s priorities (err for ERROR, warning
    /// for WARN, notice otherwise, as `ha_log` picks them).
    pub fn script_log(&self, tag: &str, level: Level, text: &str) {
        let Ok(mut i) = self.inner.lock() else {
            return;
        };
        let msg = format!("{}: {}", level.tag(), text);
        let date = script_time();
        let line = format!("{date} {tag}:    {msg}\n");
        if let Some(f) = i.logfile.as_mut() {
            let _ = f.write_all(line.as_bytes());
        }
        if let Some(f) = i.debugfile.as_mut() {
            let _ = f.write_all(format!("{tag}:\t{date}{msg}\n").as_bytes());
        }
        if i.stderr {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        if i.syslog {
            let prio = if msg.contains("ERROR") {
                libc::LOG_ERR
            } else if msg.contains("WARN") {
                libc::LOG_WARNING
            } else {
                libc::LOG_NOTICE
            };
            let datagram = format!("<{}>{} {tag}: {msg}", i.facility | prio, syslog_time());
            if let Ok(s) = std::os::unix::net::UnixDatagram::unbound() {
                let _ = s.send_to(datagram.as_bytes(), "/dev/log");
            }
        }
    }

    pub fn log(&self, level: Level, text: &str) {
        let Ok(mut i) = self.inner.lock() else {
            return;
        };
        if level == Level::Debug && i.debug == 0 {
            return;
        }
        let line = format!(
            "{} {} heartbeat: [{}]: {}: {}\n",
            syslog_time(),
            i.host,
            i.pid,
            level.tag(),
            text
        );
        if level != Level::Debug {
            if let Some(f) = i.logfile.as_mut() {
                let _ = f.write_all(line.as_bytes());
            }
        }
        if let Some(f) = i.debugfile.as_mut() {
            let _ = f.write_all(line.as_bytes());
        }
        if i.stderr {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        if i.syslog {
            if let Ok(c) = CString::new(format!("[{}]: {}: {}", i.pid, level.tag(), text)) {
                // SAFETY: format string and argument are valid C strings.
                unsafe { libc::syslog(level.syslog_priority(), c"%s".as_ptr(), c.as_ptr()) };
            }
        }
    }
}
