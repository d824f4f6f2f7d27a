//! monrs integration tests: one binary, one module per area. Tests that
//! compare with Debian's mon 1.3.6 (or its Perl libraries) fail, not
//! skip, when the reference is missing: CI installs it (lab/setup).

mod common;
mod daemon_diff;
mod harness;
mod in_process;
mod lifecycle;
mod moncmd_diff;
mod monremote_diff;
mod monshow_diff;
mod pam_diff;
mod parse_diff;
mod period_diff;
mod protocol_diff;
mod robustness;
mod scripts_diff;
mod timers_diff;
