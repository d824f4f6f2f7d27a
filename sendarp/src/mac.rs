//! Hardware address arguments as heartbeat's `send_arp` reads them.
//!
//! The original takes `src_hw_addr` as twelve hex digits without
//! separators and converts it two characters at a time, each pair with
//! `strtol(pair, NULL, 16)`; it never rejects anything. Its only concession
//! to separators is a colon check that looks at the *first* character of
//! the whole argument, so `:02:01:02:03:04:05` works while
//! `02:01:02:03:04:05` silently becomes `02:00:01:02:00:03`. Short
//! arguments make it read past the end of the string into whatever follows
//! it in memory (the next command-line words, then the environment).
//!
//! [`convert_heartbeat`] reproduces that conversion exactly, given the
//! bytes that follow the argument in the original's memory, so odd inputs
//! put the same frames on the wire. [`parse_src_hw_addr`] adds the one
//! deliberate difference: the ordinary colon form `xx:xx:xx:xx:xx:xx`
//! means what it says (as it did in the pre-libnet send_arp the old
//! tutorials were written for) instead of announcing a mangled address.

use crate::frame::Mac;

/// Is `c` a C-locale `isspace` character?
fn c_isspace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `strtol(s, NULL, 16)` on a NUL-terminated buffer of at most two
/// characters, truncated to a byte as the original's `u_char` assignment
/// does.
fn strtol_hex_pair(pair: [u8; 2]) -> u8 {
    let len = pair.iter().position(|&c| c == 0).unwrap_or(2);
    let s = &pair[..len];
    let mut i = 0;
    while i < s.len() && c_isspace(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    // A "0x" prefix is only skipped when a hex digit follows; with two
    // characters at most it never is, and "0x" parses as 0 either way.
    let mut value: i64 = 0;
    while i < s.len() {
        match (s[i] as char).to_digit(16) {
            Some(d) => value = value * 16 + i64::from(d),
            None => break,
        }
        i += 1;
    }
    if negative {
        value = -value;
    }
    value as u8
}

/// The original's conversion. `memory` starts at the argument's first
/// byte and continues with whatever followed it in the process image:
/// the argument's NUL terminator, the next words, ... Reads beyond the
/// end of `memory` yield NUL.
pub fn convert_heartbeat(memory: &[u8]) -> Mac {
    let at = |i: usize| memory.get(i).copied().unwrap_or(0);
    let colon_first = at(0) == b':';
    let mut pos = 0usize;
    let mut mac = [0u8; 6];
    for byte in &mut mac {
        if colon_first {
            pos += 1;
        }
        *byte = strtol_hex_pair([at(pos), at(pos + 1)]);
        pos += 2;
    }
    mac
}

/// Strict `xx:xx:xx:xx:xx:xx` (hex digits, either case).
pub fn parse_colon_form(s: &[u8]) -> Option<Mac> {
    if s.len() != 17 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (i, byte) in mac.iter_mut().enumerate() {
        let pair = &s[i * 3..i * 3 + 2];
        if i < 5 && s[i * 3 + 2] != b':' {
            return None;
        }
        if !pair.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(mac)
}

/// How the `src_hw_addr` argument is to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HwAddrArg {
    /// `auto` (any case): the interface's own address.
    Auto,
    Given(Mac),
}

/// Interpret `src_hw_addr`. `arg` is the argument itself, `following` the
/// bytes that came after its NUL terminator in the original's argument
/// area (the later command-line words and the environment, each
/// NUL-terminated); only short, malformed arguments ever reach them.
pub fn parse_src_hw_addr(arg: &[u8], following: &[u8]) -> HwAddrArg {
    if arg.eq_ignore_ascii_case(b"auto") {
        return HwAddrArg::Auto;
    }
    if let Some(mac) = parse_colon_form(arg) {
        return HwAddrArg::Given(mac);
    }
    let mut memory = Vec::with_capacity(arg.len() + 1 + following.len());
    memory.extend_from_slice(arg);
    memory.push(0);
    memory.extend_from_slice(following);
    HwAddrArg::Given(convert_heartbeat(&memory))
}

/// `aa:bb:cc:dd:ee:ff`, lower case.
pub fn format_mac(mac: &Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(arg: &str, following: &[u8]) -> Mac {
        match parse_src_hw_addr(arg.as_bytes(), following) {
            HwAddrArg::Given(m) => m,
            HwAddrArg::Auto => panic!("auto"),
        }
    }

    #[test]
    fn twelve_hex_digits() {
        assert_eq!(
            given("00a0cc34a878", b""),
            [0x00, 0xa0, 0xcc, 0x34, 0xa8, 0x78]
        );
        assert_eq!(
            given("FFEEDDCCBBAA", b""),
            [0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa]
        );
    }

    #[test]
    fn auto_in_any_case() {
        for a in ["auto", "AUTO", "Auto"] {
            assert_eq!(parse_src_hw_addr(a.as_bytes(), b""), HwAddrArg::Auto);
        }
    }

    #[test]
    fn leading_colon_form_as_the_original() {
        assert_eq!(given(":02:01:02:03:04:05", b""), [2, 1, 2, 3, 4, 5]);
    }

    // Measured on Debian's send_arp: 02:01:02:03:04:05 goes out as
    // 02:00:01:02:00:03. We announce the address the user wrote.
    #[test]
    fn plain_colon_form_is_parsed_correctly() {
        assert_eq!(given("02:01:02:03:04:05", b""), [2, 1, 2, 3, 4, 5]);
        assert_eq!(
            convert_heartbeat(b"02:01:02:03:04:05\0"),
            [2, 0, 1, 2, 0, 3]
        );
    }

    // Measured: "0201020304" followed by "10.0.0.9" went out as
    // 02:01:02:03:04:00 (the 6th pair starts at the NUL terminator).
    #[test]
    fn short_even_argument() {
        assert_eq!(given("0201020304", b"10.0.0.9\0y\0"), [2, 1, 2, 3, 4, 0]);
    }

    // An odd-length argument makes the original read the next word.
    #[test]
    fn short_odd_argument_reads_into_next_word() {
        assert_eq!(given("020102030", b"10.0.0.9\0y\0"), [2, 1, 2, 3, 0, 0x10]);
        assert_eq!(given("0", b"ab\0cd\0"), [0, 0xab, 0, 0x0d, 0, 0]);
    }

    #[test]
    fn strtol_quirks() {
        assert_eq!(strtol_hex_pair(*b"zz"), 0);
        assert_eq!(strtol_hex_pair(*b"1g"), 1);
        assert_eq!(strtol_hex_pair(*b" f"), 0x0f);
        assert_eq!(strtol_hex_pair(*b"+f"), 0x0f);
        assert_eq!(strtol_hex_pair(*b"-f"), 0xf1);
        assert_eq!(strtol_hex_pair(*b"0x"), 0);
        assert_eq!(strtol_hex_pair([0, b'a']), 0);
        assert_eq!(strtol_hex_pair([b'a', 0]), 0x0a);
    }

    #[test]
    fn colon_form_rejects_near_misses() {
        assert_eq!(parse_colon_form(b"02:01:02:03:04:0g"), None);
        assert_eq!(parse_colon_form(b"02-01-02-03-04-05"), None);
        assert_eq!(parse_colon_form(b"02:01:02:03:04:5"), None);
        assert_eq!(
            parse_colon_form(b"aA:bB:cC:dD:eE:fF"),
            Some([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff])
        );
    }

    #[test]
    fn format() {
        assert_eq!(
            format_mac(&[2, 0xaa, 0, 1, 0xff, 0x10]),
            "02:aa:00:01:ff:10"
        );
    }
}
