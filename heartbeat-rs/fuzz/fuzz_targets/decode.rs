//! Any datagram: decoding and authentication must return, never panic.
#![no_main]

use heartbeat::auth::Method;
use heartbeat::config::AuthKeys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut keys = AuthKeys::single(1, Method::Sha1(b"fuzz".to_vec()));
    keys.slots[2] = Some(Method::Md5(b"fuzz2".to_vec()));
    keys.slots[3] = Some(Method::Crc);
    if let Ok(d) = heartbeat::msg::decode(data) {
        let _ = heartbeat::msg::verify(&d, data, &keys);
        let _ = d.msg.classic_body();
        for f in &d.msg.fields {
            let _ = d.msg.get(&f.name);
        }
        // What we decode we can encode again.
        let _ = heartbeat::msg::encode_netstring(&d.msg, &keys, true);
    }
});
