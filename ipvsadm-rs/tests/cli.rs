//! Integration tests of the ipvsadm command line, run against the fake
//! IPVS table. One test binary; modules under tests/cli/.

#[path = "cli/support.rs"]
mod support;

#[path = "cli/golden.rs"]
mod golden;

#[path = "cli/sorting.rs"]
mod sorting;

#[path = "cli/behaviour.rs"]
mod behaviour;

#[path = "cli/wire.rs"]
mod wire;

#[test]
fn golden_transcripts_replay_byte_for_byte() {
    let (n, failures) = golden::replay_all();
    assert!(n > 150, "only {n} transcripts parsed");
    if !failures.is_empty() {
        panic!(
            "{} of {n} transcripts differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
