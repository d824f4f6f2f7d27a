#![no_main]
//! Any period specification at any time: Yes, No or Invalid, no panic.
use libfuzzer_sys::fuzz_target;
use mon::period::{in_period, Tm};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let t = i64::from_le_bytes(data[..8].try_into().unwrap()) % 10_000_000_000;
    let spec = String::from_utf8_lossy(&data[8..]);
    let _ = in_period(&Tm::from_epoch_utc(t), &spec);
});
