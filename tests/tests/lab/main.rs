//! Tests against the real kernel IPVS: one integration-test binary, run
//! inside the QEMU lab (one boot for all of them):
//!
//! ```sh
//! CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/lab/vm-run \
//!   cargo test -p suite-tests --features lab --test lab
//! ```
//!
//! Each test works in its own fresh network namespace
//! ([`suite_tests::Netns::with_ipvs`]), so it starts from an empty IPVS
//! table and tests can run in parallel. Add a topic as a module here.

mod ipvsadm_diff;
mod netlink_client;
mod seed;
mod seed_rolling;
mod seed_scaling;
mod smoke;
