//! heartbeat-rs integration tests (one binary, one module per area).

mod support;

mod cluster;
mod codec;
mod config_authkeys;
mod config_differential;
mod config_hacf;
mod config_haresources;
mod faults;
mod interop;
mod mcast;
mod membership;
mod planner;
mod resources;
mod tools;
mod vip;
