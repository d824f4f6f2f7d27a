//! Logging the way mon does: syslog with ident "mon", LOG_CONS|LOG_PID,
//! the configured facility, and every `%` removed from messages. Setting
//! MONRS_SYSLOG_FILE additionally appends "priority message" lines to a
//! file (tests use it; the original needed a Perl shim for the same).

use std::ffi::CString;
use std::io::Write;

use crate::decide::Priority;

pub fn facility_code(name: &str) -> Option<libc::c_int> {
    Some(match name.to_lowercase().as_str() {
        "kern" => libc::LOG_KERN,
        "user" => libc::LOG_USER,
        "mail" => libc::LOG_MAIL,
        "daemon" => libc::LOG_DAEMON,
        "auth" => libc::LOG_AUTH,
        "syslog" => libc::LOG_SYSLOG,
        "lpr" => libc::LOG_LPR,
        "news" => libc::LOG_NEWS,
        "uucp" => libc::LOG_UUCP,
        "cron" => libc::LOG_CRON,
        "authpriv" => libc::LOG_AUTHPRIV,
        "ftp" => libc::LOG_FTP,
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

pub fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Alert => "alert",
        Priority::Crit => "crit",
        Priority::Err => "err",
        Priority::Warning => "warning",
        Priority::Notice => "notice",
        Priority::Info => "info",
        Priority::Debug => "debug",
    }
}

pub struct Logger {
    facility: libc::c_int,
    file: Option<std::fs::File>,
    /// -d: also print to stderr
    pub debug: u32,
}

static IDENT: &[u8] = b"mon\0";

impl Logger {
    pub fn open(facility: &str) -> Logger {
        let fac = facility_code(facility).unwrap_or(libc::LOG_DAEMON);
        // SAFETY: IDENT is a static NUL-terminated string, as openlog needs.
        unsafe { libc::openlog(IDENT.as_ptr().cast(), libc::LOG_CONS | libc::LOG_PID, fac) };
        let file = std::env::var_os("MONRS_SYSLOG_FILE").and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        });
        Logger {
            facility: fac,
            file,
            debug: 0,
        }
    }

    pub fn set_facility(&mut self, facility: &str) {
        let fac = facility_code(facility).unwrap_or(libc::LOG_DAEMON);
        self.facility = fac;
        // SAFETY: as in open
        unsafe {
            libc::closelog();
            libc::openlog(IDENT.as_ptr().cast(), libc::LOG_CONS | libc::LOG_PID, fac)
        };
    }

    pub fn log(&mut self, p: Priority, msg: &str) {
        let clean: String = msg.chars().filter(|&c| c != '%' && c != '\0').collect();
        if let Ok(c) = CString::new(clean.clone()) {
            // SAFETY: format string and argument are valid C strings.
            unsafe { libc::syslog(p.as_libc() | self.facility, c"%s".as_ptr(), c.as_ptr()) };
        }
        if let Some(f) = self.file.as_mut() {
            let _ = writeln!(f, "{} {}", priority_name(p), clean.trim_end_matches('\n'));
        }
        if self.debug > 0 {
            eprintln!("{} {}", priority_name(p), clean.trim_end_matches('\n'));
        }
    }
}
