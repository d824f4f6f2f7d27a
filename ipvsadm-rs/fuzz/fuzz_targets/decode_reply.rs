//! Any bytes as a kernel reply: the netlink decoder and the client's
//! request/reply state machine must return an error, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ipvs::netlink::fuzz::decode_reply(data));
