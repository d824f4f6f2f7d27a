//! The authkeys methods: heartbeat's `crc`, and RFC 2104 HMAC-MD5/SHA1
//! keyed with the raw key token. Output is lowercase hex; `crc` without
//! leading zeros (`%lx`).

use hmac::{Hmac, Mac};
use std::fmt;

/// An authkeys method with its key.
#[derive(Clone, PartialEq, Eq)]
pub enum Method {
    Crc,
    Md5(Vec<u8>),
    Sha1(Vec<u8>),
}

impl fmt::Debug for Method {
    // Keys stay out of debug output and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Method {
    pub fn name(&self) -> &'static str {
        match self {
            Method::Crc => "crc",
            Method::Md5(_) => "md5",
            Method::Sha1(_) => "sha1",
        }
    }

    /// The same algorithm with another key: 3.0.6 checks netstring
    /// messages with the message's algorithm but the *active* slot's key.
    pub fn with_key_of(&self, other: &Method) -> Method {
        let key = match other {
            Method::Crc => Vec::new(),
            Method::Md5(k) | Method::Sha1(k) => k.clone(),
        };
        match self {
            Method::Crc => Method::Crc,
            Method::Md5(_) => Method::Md5(key),
            Method::Sha1(_) => Method::Sha1(key),
        }
    }

    /// The hex token for `data`.
    pub fn token(&self, data: &[u8]) -> String {
        match self {
            Method::Crc => format!("{:x}", crc(data)),
            Method::Md5(key) => {
                let mut m = <Hmac<md5::Md5> as Mac>::new_from_slice(key)
                    .expect("HMAC accepts any key length");
                m.update(data);
                hex(&m.finalize().into_bytes())
            }
            Method::Sha1(key) => {
                let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key)
                    .expect("HMAC accepts any key length");
                m.update(data);
                hex(&m.finalize().into_bytes())
            }
        }
    }

    /// Constant-time comparison of a received token against ours.
    pub fn verify(&self, data: &[u8], token: &str) -> bool {
        let ours = self.token(data);
        let (a, b) = (ours.as_bytes(), token.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(D[(x >> 4) as usize] as char);
        s.push(D[(x & 15) as usize] as char);
    }
    s
}

const fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 24;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04C1_1DB7
            } else {
                c << 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC_TABLE: [u32; 256] = crc_table();

/// heartbeat's crc: CRC-32 polynomial 0x04C11DB7, MSB first, init 0,
/// result inverted, no length appended (POSIX cksum without the trailer).
pub fn crc(data: &[u8]) -> u32 {
    let mut c: u32 = 0;
    for &b in data {
        c = (c << 8) ^ CRC_TABLE[(((c >> 24) as u8) ^ b) as usize];
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_values() {
        assert_eq!(Method::Crc.token(b""), "ffffffff");
        assert_eq!(Method::Crc.token(b"a"), "579b24df");
        assert_eq!(Method::Crc.token(b"123456789"), "765e7680");
    }

    #[test]
    fn rfc2202_vectors() {
        // RFC 2202 test case 2 for both HMACs.
        let data = b"what do ya want for nothing?";
        assert_eq!(
            Method::Md5(b"Jefe".to_vec()).token(data),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        assert_eq!(
            Method::Sha1(b"Jefe".to_vec()).token(data),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn verify_is_exact() {
        let m = Method::Sha1(b"k".to_vec());
        let t = m.token(b"x");
        assert!(m.verify(b"x", &t));
        assert!(!m.verify(b"y", &t));
        assert!(!m.verify(b"x", &t[1..]));
        assert!(!m.verify(b"x", &t.to_uppercase()));
    }

    #[test]
    fn debug_hides_key() {
        assert_eq!(format!("{:?}", Method::Md5(b"secret".to_vec())), "md5");
    }
}
