//! Wire codec and authentication, against heartbeat 3.0.6's captured bytes.

use heartbeat::auth::Method;
use heartbeat::config::AuthKeys;
use heartbeat::msg::{
    base64_decode, base64_encode, decode, encode_classic, encode_netstring, verify, AuthError,
    DecodeError, Format, Message,
};

const UUID: [u8; 16] = *b"\xbds\x05\xa5?\x1fG[\xa0\x8a\x80\x99\xc0s\x88\xff";

/// The 305-byte status packet captured from heartbeat 3.0.6 (reference §2.5).
fn captured() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(
        b"###\n11:(0)t=status,10:(0)st=init,10:(0)dt=1f40,13:(0)protocol=1,9:(0)src=vm,",
    );
    v.extend_from_slice(b"27:(1)srcuuid=");
    v.extend_from_slice(&UUID);
    v.extend_from_slice(b",8:(0)seq=1,14:(0)hg=6b0739fa,");
    v.extend_from_slice(b"14:(0)ts=6b0739f9,32:(0)ld=1.27 1.12 0.56 2/106 16714,8:(0)ttl=3,");
    v.extend_from_slice(b"50:(0)auth=1 7f44d2c588c40b096cccd646efcc9152246341f3,%%%\n42:1 956717eece457fd0cb1f81c46a7432f3bd951433,");
    v
}

fn captured_fields() -> Message {
    let mut m = Message::new("status");
    m.add("st", "init")
        .add("dt", "1f40")
        .add("protocol", "1")
        .add("src", "vm");
    m.add_bin("srcuuid", &UUID);
    m.add("seq", "1")
        .add("hg", "6b0739fa")
        .add("ts", "6b0739f9");
    m.add("ld", "1.27 1.12 0.56 2/106 16714").add("ttl", "3");
    m
}

fn sha1_keys() -> AuthKeys {
    AuthKeys::single(1, Method::Sha1(b"testsecret".to_vec()))
}

#[test]
fn netstring_encode_is_byte_exact_with_the_capture() {
    let cap = captured();
    assert_eq!(cap.len(), 305);
    let ours = encode_netstring(&captured_fields(), &sha1_keys(), true).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&cap)
    );
    assert_eq!(ours, cap);
}

#[test]
fn netstring_decode_and_verify_the_capture() {
    let cap = captured();
    let d = decode(&cap).unwrap();
    assert_eq!(d.format, Format::Netstring);
    assert_eq!(d.msg.t(), Some("status"));
    assert_eq!(d.msg.get("src"), Some("vm"));
    assert_eq!(d.msg.get_bin("srcuuid"), Some(&UUID[..]));
    assert_eq!(d.msg.get_hex("hg"), Some(0x6b0739fa));
    assert_eq!(d.msg.get_hex("dt"), Some(8000));
    verify(&d, &cap, &sha1_keys()).unwrap();
    // the inner classic token is right too
    let body = d.msg.classic_body();
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        "t=status\nst=init\ndt=1f40\nprotocol=1\nsrc=vm\n(1)srcuuid=vXMFpT8fR1ugioCZwHOI/w==\nseq=1\nhg=6b0739fa\nts=6b0739f9\nld=1.27 1.12 0.56 2/106 16714\nttl=3\n"
    );
    assert_eq!(
        Method::Sha1(b"testsecret".to_vec()).token(&body),
        "7f44d2c588c40b096cccd646efcc9152246341f3"
    );
}

#[test]
fn netstring_tampering_is_rejected() {
    let cap = captured();
    // a modified field
    let mut bad = cap.clone();
    let p = bad.windows(7).position(|w| w == b"st=init").unwrap();
    bad[p + 3..p + 7].copy_from_slice(b"dead");
    let d = decode(&bad).unwrap();
    assert!(matches!(
        verify(&d, &bad, &sha1_keys()),
        Err(AuthError::Mismatch { .. })
    ));
    // wrong key
    let wrong = AuthKeys::single(1, Method::Sha1(b"other".to_vec()));
    let d = decode(&cap).unwrap();
    let e = verify(&d, &cap, &wrong).unwrap_err();
    let (lvl, text) = e.log_text(Format::Netstring, Some("vm"));
    assert_eq!(lvl, heartbeat::log::Level::Error);
    assert!(text.starts_with(
        "authtoken does not match, authtoken=956717eece457fd0cb1f81c46a7432f3bd951433, authstr="
    ));
    // unknown auth index
    let other_slot = AuthKeys::single(2, Method::Sha1(b"testsecret".to_vec()));
    assert_eq!(
        verify(&d, &cap, &other_slot),
        Err(AuthError::UnknownIndex(1))
    );
    assert_eq!(
        AuthError::UnknownIndex(1)
            .log_text(Format::Netstring, None)
            .1,
        "Invalid authentication type [1] in message!"
    );
}

#[test]
fn netstring_uses_the_active_keys_secret_like_3_0_6() {
    // Slot 2 md5 "md5secret", active slot 1 sha1 "testsecret": a netstring
    // message signed with slot 2 is checked with md5 keyed "testsecret".
    let mut keys = AuthKeys::single(1, Method::Sha1(b"testsecret".to_vec()));
    keys.slots[2] = Some(Method::Md5(b"md5secret".to_vec()));
    let signer = AuthKeys::single(2, Method::Md5(b"testsecret".to_vec()));
    let wire = encode_netstring(&captured_fields(), &signer, false).unwrap();
    let d = decode(&wire).unwrap();
    verify(&d, &wire, &keys).unwrap();
    let honest = AuthKeys::single(2, Method::Md5(b"md5secret".to_vec()));
    let wire = encode_netstring(&captured_fields(), &honest, false).unwrap();
    let d = decode(&wire).unwrap();
    assert!(verify(&d, &wire, &keys).is_err());
}

fn classic_fields() -> Message {
    let mut m = Message::new("status");
    m.add("st", "active")
        .add("dt", "1770")
        .add("protocol", "1")
        .add("src", "peer");
    m.add("seq", "5")
        .add("hg", "200")
        .add("ts", "6b073a60")
        .add("ld", "0.00 0.00 0.00 1/1 1")
        .add("ttl", "3");
    m
}

#[test]
fn classic_vectors_all_three_methods() {
    let body = "t=status\nst=active\ndt=1770\nprotocol=1\nsrc=peer\nseq=5\nhg=200\nts=6b073a60\nld=0.00 0.00 0.00 1/1 1\nttl=3\n";
    assert_eq!(classic_fields().classic_body(), body.as_bytes());
    for (idx, m, tok) in [
        (
            1,
            Method::Sha1(b"testsecret".to_vec()),
            "d5aa94be4ef8204a0421922170dfc1c2e79cd5bd",
        ),
        (
            2,
            Method::Md5(b"md5secret".to_vec()),
            "025be9c2dea21e70e87af8db86be4c6d",
        ),
        (3, Method::Crc, "f8943403"),
    ] {
        let keys = AuthKeys::single(idx, m.clone());
        let wire = encode_classic(&classic_fields(), &keys).unwrap();
        let want = format!(">>>\n{body}auth={idx} {tok}\n<<<\n\0");
        assert_eq!(String::from_utf8_lossy(&wire), want);
        let d = decode(&wire).unwrap();
        assert_eq!(d.format, Format::Classic);
        verify(&d, &wire, &keys).unwrap();
        // the NUL is optional on receive
        let d = decode(&wire[..wire.len() - 1]).unwrap();
        verify(&d, &wire, &keys).unwrap();
    }
}

#[test]
fn classic_2004_vector() {
    let mut m = Message::new("status");
    m.add("st", "active")
        .add("src", "www3")
        .add("seq", "1a")
        .add("hg", "3")
        .add("ts", "40c9f2a1");
    m.add("ld", "0.00 0.01 0.00 1/56 1234").add("ttl", "3");
    let keys = AuthKeys::single(2, Method::Sha1(b"HI!".to_vec()));
    let wire = encode_classic(&m, &keys).unwrap();
    assert!(String::from_utf8_lossy(&wire)
        .ends_with("ttl=3\nauth=2 77043eb91647dc1a774cda657b193415e5cc8bfa\n<<<\n\0"));
    assert_eq!(Method::Crc.token(&m.classic_body()), "960a9374");
    assert_eq!(
        Method::Md5(b"Hello!".to_vec()).token(&m.classic_body()),
        "330874112544b604d0cc58919a5a8563"
    );
}

#[test]
fn classic_receive_rules() {
    let keys = AuthKeys::single(1, Method::Crc);
    // blank lines are skipped, duplicates kept, first one wins
    let body = b"t=x\nsrc=a\nsrc=b\n";
    let tok = Method::Crc.token(body);
    let wire = format!(">>>\n\n\nt=x\nsrc=a\nsrc=b\nauth=1 {tok}\n<<<\n");
    let d = decode(wire.as_bytes()).unwrap();
    assert_eq!(d.msg.get("src"), Some("a"));
    verify(&d, wire.as_bytes(), &keys).unwrap();
    // a modified field fails classic authentication with the original's line
    let tampered = wire.replace("src=b", "src=c");
    let d = decode(tampered.as_bytes()).unwrap();
    let e = verify(&d, tampered.as_bytes(), &keys).unwrap_err();
    assert_eq!(
        e.log_text(Format::Classic, Some("a")).1,
        "string2msg_ll: node [a] failed authentication"
    );
    // no auth / malformed auth
    let d = decode(b">>>\nt=x\n<<<\n").unwrap();
    assert!(matches!(
        verify(&d, b"", &keys),
        Err(AuthError::BadToken(_))
    ));
    let d = decode(b">>>\nt=x\nauth=zz\n<<<\n").unwrap();
    assert!(matches!(
        verify(&d, b"", &keys),
        Err(AuthError::BadToken(_))
    ));
    // invalid lines make the whole message invalid
    assert!(decode(b">>>\nt=x\nnoequals\n<<<\n").is_err());
    assert!(decode(b">>>\nt=\n<<<\n").is_err());
    assert!(decode(b">>>\nt=x\n").is_err());
    assert!(decode(b">>>\n(1)u=!!!!\n<<<\n").is_err());
    assert_eq!(decode(b"hello"), Err(DecodeError::UnknownFormat));
}

#[test]
fn classic_encode_refuses_unrepresentable_fields() {
    let keys = AuthKeys::single(1, Method::Crc);
    let mut m = Message::new("x");
    m.add("info", "two\nlines");
    assert!(encode_classic(&m, &keys).is_err());
    let mut m = Message::new("x");
    m.add("a=b", "v");
    assert!(encode_classic(&m, &keys).is_err());
    assert!(encode_netstring(&m, &keys, false).is_err());
    // netstring carries any bytes in a value
    let mut m = Message::new("x");
    m.add("info", "two\nlines, with = and ,");
    let w = encode_netstring(&m, &keys, false).unwrap();
    let d = decode(&w).unwrap();
    assert_eq!(d.msg.get("info"), Some("two\nlines, with = and ,"));
    verify(&d, &w, &keys).unwrap();
}

#[test]
fn netstring_structure_errors() {
    for bad in [
        &b"###\n"[..],
        b"###\n5:(0)t=x,%%%\n",
        b"###\n99999999999:(0)t=x,%%%\n",
        b"###\n5:(0)t=x;%%%\n",
        b"###\n3:t=x,%%%\n",
        b"###\n5:(0)t=x,%%%\n10:1 0,",
    ] {
        assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn base64_roundtrip_and_strictness() {
    for n in 0..40u8 {
        let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
        assert_eq!(
            base64_decode(base64_encode(&data).as_bytes()).unwrap(),
            data
        );
    }
    assert_eq!(base64_encode(&UUID), "vXMFpT8fR1ugioCZwHOI/w==");
    assert!(base64_decode(b"abc").is_none());
    assert!(base64_decode(b"a===").is_none());
    assert!(base64_decode(b"ab==cd==").is_none());
}

/// xorshift: deterministic garbage without a dependency.
fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn decoder_never_panics_on_garbage_or_mutations() {
    let keys = sha1_keys();
    let seeds = [
        captured(),
        encode_classic(&classic_fields(), &keys).unwrap(),
    ];
    let mut s = 0x9e3779b97f4a7c15u64;
    for _ in 0..20000 {
        let base = &seeds[(rng(&mut s) % 2) as usize];
        let mut b = base.clone();
        match rng(&mut s) % 4 {
            0 => {
                let n = (rng(&mut s) % 64) as usize;
                b = (0..n).map(|_| rng(&mut s) as u8).collect();
                if rng(&mut s) & 1 == 0 {
                    b.splice(0..0, b"###\n".iter().copied());
                }
            }
            1 => {
                let cut = (rng(&mut s) as usize) % (b.len() + 1);
                b.truncate(cut);
            }
            _ => {
                for _ in 0..(1 + rng(&mut s) % 4) {
                    let i = (rng(&mut s) as usize) % b.len();
                    b[i] = rng(&mut s) as u8;
                }
            }
        }
        if let Ok(d) = decode(&b) {
            let _ = verify(&d, &b, &keys);
        }
    }
}
