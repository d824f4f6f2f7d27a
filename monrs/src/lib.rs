//! mon: service monitoring daemon (mon.cf, scheduler, alerts, client
//! protocol), a drop-in replacement for mon 1.3.6.
//!
//! Layers, each pure and unit-tested where it can be:
//! * [`config`]: the mon.cf reader, with the original's dispatch order,
//!   messages and misreadings (plus warnings naming file and line);
//! * [`period`]: Time::Period with an injected time;
//! * [`decide`]: the alert decision procedure as a state machine with an
//!   injected clock;
//! * [`exec`]: monitor/alert argv, environment and stdin;
//! * [`daemon`]: the scheduler loop that runs it all.

pub mod auth;
pub mod check;
pub mod config;
pub mod daemon;
pub mod decide;
pub mod depend;
pub mod echo;
pub mod error;
pub mod exec;
pub mod options;
pub mod period;
pub mod perlnum;
pub mod quotewords;
pub mod scripts;
pub mod server;
pub mod syslog;
pub mod timeval;

pub use error::Error;
