#![no_main]
//! Any byte string through the mon.cf reader: an error or a config,
//! never a panic; a config re-rendered by the check mode never panics.
use libfuzzer_sys::fuzz_target;
use mon::config::{parse_str, ParseEnv};
use mon::period::Tm;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let env = ParseEnv {
        now: Tm::from_epoch_utc(1_795_635_646),
        readable: &|_| true,
        disabled_hosts: Default::default(),
    };
    if let Ok(c) = parse_str(&text, "fuzz.cf", &env) {
        let _ = mon::check::render(&c);
    }
});
