#![no_main]
//! Any datagram through the trap decoder and the esc_str round trip.
use libfuzzer_sys::fuzz_target;
use mon::server::{esc_str, un_esc_str, Trap};

fuzz_target!(|data: &[u8]| {
    let t = Trap::parse(data);
    for v in t.tags.values() {
        assert_eq!(un_esc_str(&esc_str(v, false)), *v);
    }
});
