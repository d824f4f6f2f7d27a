//! The crate's error type.

use crate::log::{Diag, Level};
use std::fmt;

/// Configuration rejected: every diagnostic the original would have logged,
/// in order, ending with the original's closing error line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub diags: Vec<Diag>,
}

impl ConfigError {
    /// The diagnostics at error level or worse.
    pub fn errors(&self) -> impl Iterator<Item = &Diag> {
        self.diags.iter().filter(|d| d.level <= Level::Error)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for d in self.errors() {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("message decode: {0}")]
    Decode(#[from] crate::msg::DecodeError),
    #[error("message encode: {0}")]
    Encode(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, Error>;
