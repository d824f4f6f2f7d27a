//! Log levels and diagnostics in the form heartbeat 3.0.6 writes them.
//!
//! Operators' log watchers grep for the original texts (`node X: is dead`,
//! `Late heartbeat`, ...), so every diagnostic carries the original message
//! verbatim; the file/line position is extra information kept beside it.

use std::fmt;

/// Severity, printed with the original's spelling (`CRIT ERROR WARN info debug`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Crit,
    Error,
    Warn,
    Info,
    Debug,
}

impl Level {
    /// The tag heartbeat puts before the message text.
    pub fn tag(self) -> &'static str {
        match self {
            Level::Crit => "CRIT",
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    /// syslog(3) priority.
    pub fn syslog_priority(self) -> libc::c_int {
        match self {
            Level::Crit => libc::LOG_CRIT,
            Level::Error => libc::LOG_ERR,
            Level::Warn => libc::LOG_WARNING,
            Level::Info => libc::LOG_INFO,
            Level::Debug => libc::LOG_DEBUG,
        }
    }
}

/// A position in a configuration file (1-based line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Where the original writes a message: its log, or bare stderr
/// (a few config checks use `fprintf(stderr, ...)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    Log,
    Stderr,
}

/// One message produced while loading configuration or running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub level: Level,
    pub text: String,
    pub at: Option<Location>,
    pub sink: Sink,
}

impl Diag {
    pub fn new(level: Level, text: impl Into<String>) -> Diag {
        Diag {
            level,
            text: text.into(),
            at: None,
            sink: Sink::Log,
        }
    }

    pub fn at(mut self, at: Option<Location>) -> Diag {
        self.at = at;
        self
    }

    pub fn stderr(mut self) -> Diag {
        self.sink = Sink::Stderr;
        self
    }

    /// `LEVEL: text` as it appears after the syslog-style prefix.
    pub fn log_text(&self) -> String {
        format!("{}: {}", self.level.tag(), self.text)
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.at {
            write!(f, "{at}: ")?;
        }
        write!(f, "{}: {}", self.level.tag(), self.text)
    }
}
