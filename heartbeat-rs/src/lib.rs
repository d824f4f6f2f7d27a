//! Heartbeat (haresources mode): config, membership, wire protocol, resources.
//!
//! Pure layers (parsers, codec, state machines) are separate from I/O so
//! each can be tested alone; the daemon glues them together.

pub mod auth;
pub mod config;
pub mod daemon;
pub mod error;
pub mod ipaddr;
pub mod log;
pub mod logger;
pub mod media;
pub mod membership;
pub mod msg;
pub mod planner;
pub mod resources;
pub mod runner;
pub mod state;

pub use error::{ConfigError, Error, Result};

/// The heartbeat version we are compatible with (printed where 3.0.6 prints its own).
pub const VERSION: &str = "3.0.6";
