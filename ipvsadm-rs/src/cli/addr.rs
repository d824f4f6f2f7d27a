//! C library parsing and printing semantics ipvsadm's output depends on:
//! `strtol`/`strtoul`/`atoi`, glibc `inet_aton`, `inet_pton` and glibc
//! `inet_ntop` (whose IPv6 text differs from Rust's `Display` for
//! IPv4-compatible addresses such as `::1.2.3.4`).

use std::net::{Ipv4Addr, Ipv6Addr};

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Digit value of `c` in `base`, if any.
fn digit(c: u8, base: u32) -> Option<u32> {
    let v = match c {
        b'0'..=b'9' => (c - b'0') as u32,
        b'a'..=b'z' => (c - b'a') as u32 + 10,
        b'A'..=b'Z' => (c - b'A') as u32 + 10,
        _ => return None,
    };
    (v < base).then_some(v)
}

/// The common core of `strtol`/`strtoul`: returns (negative, magnitude
/// saturated to u64::MAX, overflowed, bytes consumed). `consumed == 0`
/// means no number was found (C sets `*endptr = nptr`).
fn strto_core(s: &[u8], base: u32) -> (bool, u64, bool, usize) {
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut base = base;
    if (base == 0 || base == 16)
        && i + 1 < s.len()
        && s[i] == b'0'
        && (s[i + 1] == b'x' || s[i + 1] == b'X')
        && s.get(i + 2).and_then(|&c| digit(c, 16)).is_some()
    {
        i += 2;
        base = 16;
    } else if base == 0 {
        base = if s.get(i) == Some(&b'0') { 8 } else { 10 };
    }
    let start = i;
    let mut val: u64 = 0;
    let mut over = false;
    while let Some(d) = s.get(i).and_then(|&c| digit(c, base)) {
        match val
            .checked_mul(base as u64)
            .and_then(|v| v.checked_add(d as u64))
        {
            Some(v) => val = v,
            None => {
                over = true;
                val = u64::MAX;
            }
        }
        i += 1;
    }
    if i == start {
        return (false, 0, false, 0);
    }
    (neg, val, over, i)
}

/// `strtol(s, &end, base)` on a 64-bit host: (value, ERANGE, consumed).
pub fn strtol(s: &[u8], base: u32) -> (i64, bool, usize) {
    let (neg, mag, over, used) = strto_core(s, base);
    if used == 0 {
        return (0, false, 0);
    }
    if neg {
        if over || mag > i64::MAX as u64 + 1 {
            (i64::MIN, true, used)
        } else {
            ((mag as i128).wrapping_neg() as i64, false, used)
        }
    } else if over || mag > i64::MAX as u64 {
        (i64::MAX, true, used)
    } else {
        (mag as i64, false, used)
    }
}

/// `strtoul(s, &end, base)` on a 64-bit host: (value, ERANGE, consumed).
/// A leading `-` negates in unsigned arithmetic, as C does.
pub fn strtoul(s: &[u8], base: u32) -> (u64, bool, usize) {
    let (neg, mag, over, used) = strto_core(s, base);
    if used == 0 {
        return (0, false, 0);
    }
    if over {
        return (u64::MAX, true, used);
    }
    (if neg { mag.wrapping_neg() } else { mag }, false, used)
}

/// ipvsadm's `string_to_number`: the whole string must be a base-10 number
/// (strtol: leading blanks and a sign allowed) within `min..=max`.
pub fn string_to_number(s: &[u8], min: i64, max: i64) -> Option<i64> {
    let (n, erange, used) = strtol(s, 10);
    if used == 0 || used != s.len() || erange || n < min || n > max {
        return None;
    }
    Some(n)
}

/// glibc `atoi`: `(int) strtol(s, NULL, 10)`.
pub fn atoi(s: &[u8]) -> i32 {
    strtol(s, 10).0 as i32
}

/// glibc 2.36 `inet_aton`: one to four parts, each a C integer (`0x` hex,
/// leading `0` octal), the last part filling the remaining bytes; trailing
/// characters are allowed only after whitespace.
pub fn inet_aton(s: &[u8]) -> Option<Ipv4Addr> {
    const MAX: [u64; 4] = [0xffff_ffff, 0xff_ffff, 0xffff, 0xff];
    let mut parts: Vec<u64> = Vec::new();
    let mut i = 0;
    let val;
    loop {
        if !s.get(i).is_some_and(|c| c.is_ascii_digit()) {
            return None;
        }
        let (v, erange, used) = strtoul(&s[i..], 0);
        if erange || v > 0xffff_ffff {
            return None;
        }
        i += used;
        if s.get(i) == Some(&b'.') {
            if parts.len() > 2 || v > 0xff {
                return None;
            }
            parts.push(v);
            i += 1;
        } else {
            val = v;
            break;
        }
    }
    if let Some(&c) = s.get(i) {
        if !(c.is_ascii() && is_space(c)) {
            return None;
        }
    }
    if val > MAX[parts.len()] {
        return None;
    }
    let mut addr = val as u32;
    for (k, p) in parts.iter().enumerate() {
        addr |= (*p as u32) << (24 - 8 * k);
    }
    Some(Ipv4Addr::from(addr))
}

/// glibc `inet_pton(AF_INET, ...)`: strict dotted quad, no leading zeros.
pub fn inet_pton4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0usize;
    let mut cur: u32 = 0;
    let mut saw_digit = false;
    for &c in s {
        if c.is_ascii_digit() {
            if saw_digit && cur == 0 {
                return None;
            }
            cur = cur * 10 + (c - b'0') as u32;
            if cur > 255 {
                return None;
            }
            if !saw_digit {
                n += 1;
                if n > 4 {
                    return None;
                }
                saw_digit = true;
            }
        } else if c == b'.' && saw_digit {
            if n == 4 {
                return None;
            }
            octets[n - 1] = cur as u8;
            cur = 0;
            saw_digit = false;
        } else {
            return None;
        }
    }
    if n < 4 || !saw_digit {
        return None;
    }
    octets[3] = cur as u8;
    Some(Ipv4Addr::from(octets))
}

/// glibc `inet_pton(AF_INET6, ...)`.
pub fn inet_pton6(s: &[u8]) -> Option<Ipv6Addr> {
    let mut out = [0u8; 16];
    let mut tp = 0usize;
    let mut colonp: Option<usize> = None;
    let mut i = 0usize;
    if s.first() == Some(&b':') {
        if s.get(1) != Some(&b':') {
            return None;
        }
        i = 1;
    }
    let mut curtok = i;
    let mut saw_xdigit = false;
    let mut val: u32 = 0;
    let mut ndig = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if let Some(d) = digit(c, 16) {
            if ndig >= 4 {
                return None;
            }
            val = (val << 4) | d;
            ndig += 1;
            saw_xdigit = true;
            continue;
        }
        if c == b':' {
            curtok = i;
            if !saw_xdigit {
                if colonp.is_some() {
                    return None;
                }
                colonp = Some(tp);
                continue;
            } else if i >= s.len() {
                return None;
            }
            if tp + 2 > 16 {
                return None;
            }
            out[tp] = (val >> 8) as u8;
            out[tp + 1] = val as u8;
            tp += 2;
            saw_xdigit = false;
            val = 0;
            ndig = 0;
            continue;
        }
        if c == b'.' && tp + 4 <= 16 {
            let v4 = inet_pton4(&s[curtok..])?;
            out[tp..tp + 4].copy_from_slice(&v4.octets());
            tp += 4;
            saw_xdigit = false;
            break;
        }
        return None;
    }
    if saw_xdigit {
        if tp + 2 > 16 {
            return None;
        }
        out[tp] = (val >> 8) as u8;
        out[tp + 1] = val as u8;
        tp += 2;
    }
    if let Some(cp) = colonp {
        if tp == 16 {
            return None;
        }
        let n = tp - cp;
        for k in 1..=n {
            out[16 - k] = out[cp + n - k];
            out[cp + n - k] = 0;
        }
        tp = 16;
    }
    if tp != 16 {
        return None;
    }
    Some(Ipv6Addr::from(out))
}

/// glibc `inet_ntop(AF_INET6, ...)`: the longest run (first on ties) of two
/// or more zero words becomes `::`; `::a.b.c.d` and `::ffff:a.b.c.d` keep
/// the embedded IPv4 address dotted.
pub fn inet_ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    let (mut best_base, mut best_len) = (None::<usize>, 0usize);
    let mut cur: Option<(usize, usize)> = None;
    for (i, &x) in w.iter().enumerate() {
        if x == 0 {
            cur = Some(match cur {
                Some((b, l)) => (b, l + 1),
                None => (i, 1),
            });
        } else if let Some((b, l)) = cur.take() {
            if best_base.is_none() || l > best_len {
                best_base = Some(b);
                best_len = l;
            }
        }
    }
    if let Some((b, l)) = cur {
        if best_base.is_none() || l > best_len {
            best_base = Some(b);
            best_len = l;
        }
    }
    if best_len < 2 {
        best_base = None;
    }
    let mut s = String::new();
    let mut i = 0;
    while i < 8 {
        if let Some(b) = best_base {
            if i >= b && i < b + best_len {
                if i == b {
                    s.push(':');
                }
                i += 1;
                continue;
            }
        }
        if i != 0 {
            s.push(':');
        }
        if i == 6 && best_base == Some(0) && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            s.push_str(&format!("{}.{}.{}.{}", o[12], o[13], o[14], o[15]));
            return s;
        }
        s.push_str(&format!("{:x}", w[i]));
        i += 1;
    }
    if let Some(b) = best_base {
        if b + best_len == 8 {
            s.push(':');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_number_is_strtol_base_10() {
        assert_eq!(string_to_number(b"080", 0, 65535), Some(80));
        assert_eq!(string_to_number(b" +80", 0, 65535), Some(80));
        assert_eq!(string_to_number(b"0x50", 0, 65535), None);
        assert_eq!(string_to_number(b"", 0, 65535), None);
        assert_eq!(string_to_number(b"80 ", 0, 65535), None);
        assert_eq!(string_to_number(b"-1", 0, 65535), None);
        assert_eq!(string_to_number(b"99999999999999999999", 0, i64::MAX), None);
    }

    #[test]
    fn inet_aton_accepts_the_classic_forms() {
        assert_eq!(inet_aton(b"10.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton(b"0x0a000001"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton(b"012.0.0.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton(b"24"), Some(Ipv4Addr::new(0, 0, 0, 24)));
        assert_eq!(inet_aton(b"1.2.3.4 junk"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(inet_aton(b"1.2.3.256"), None);
        assert_eq!(inet_aton(b"1.2.3.4.5"), None);
        assert_eq!(inet_aton(b" 1.2.3.4"), None);
        assert_eq!(inet_aton(b"08"), None);
        assert_eq!(inet_aton(b"localhost"), None);
        assert_eq!(inet_aton(b""), None);
        assert_eq!(inet_aton(b"1.2.65535"), Some(Ipv4Addr::new(1, 2, 255, 255)));
    }

    #[test]
    fn inet_pton_is_strict() {
        assert!(inet_pton4(b"224.0.0.81").is_some());
        assert!(inet_pton4(b"224.0.0.081").is_none());
        assert!(inet_pton4(b"224.0.0").is_none());
        assert!(inet_pton6(b"2001:db8::1").is_some());
        assert!(inet_pton6(b"::ffff:1.2.3.4").is_some());
        assert!(inet_pton6(b"::").is_some());
        assert!(inet_pton6(b"1::2::3").is_none());
        assert!(inet_pton6(b"10.0.0.1").is_none());
        assert!(inet_pton6(b":1").is_none());
        assert!(inet_pton6(b"1:").is_none());
        assert!(inet_pton6(b"12345::").is_none());
        assert_eq!(
            inet_pton6(b"1:2:3:4:5:6:7:8").map(|a| a.segments()),
            Some([1, 2, 3, 4, 5, 6, 7, 8])
        );
        assert!(inet_pton6(b"1:2:3:4:5:6:7:8:9").is_none());
        assert!(inet_pton6(b"1:2:3:4:5:6:7::").is_some());
    }

    #[test]
    fn inet_ntop6_matches_glibc() {
        let p = |s: &str| inet_ntop6(&s.parse::<Ipv6Addr>().unwrap());
        assert_eq!(p("2001:db8::1"), "2001:db8::1");
        assert_eq!(p("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(p("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(p("::1"), "::1");
        assert_eq!(p("::"), "::");
        assert_eq!(p("1::"), "1::");
        assert_eq!(p("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
        assert_eq!(p("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
        assert_eq!(p("ff02::51"), "ff02::51");
        assert_eq!(p("1:0:0:2:0:0:3:4"), "1::2:0:0:3:4");
    }
}
