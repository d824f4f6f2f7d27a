//! `ipvsadm -L -c`: the connection table, read from /proc/net/ip_vs_conn
//! (not netlink) and re-printed line by line like ipvsadm's `print_conn`.

use std::net::{IpAddr, Ipv4Addr};

use super::addr::{inet_pton4, inet_pton6, strtol, strtoul};
use super::host::Host;
use super::opts::fmt;
use super::output::{addrport, pad_right};
use crate::model::*;

/// `sscanf("%s")`: skip blanks, take a run of non-blanks.
fn scan_word<'a>(s: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    while *pos < s.len() && s[*pos].is_ascii_whitespace() {
        *pos += 1;
    }
    let start = *pos;
    while *pos < s.len() && !s[*pos].is_ascii_whitespace() {
        *pos += 1;
    }
    (start < *pos).then(|| &s[start..*pos])
}

/// Parse the address fields the way print_conn does: IPv6 text, else dotted
/// IPv4, else the kernel's `%08X` hex.
fn parse_addr(word: &[u8], af6: bool) -> IpAddr {
    if af6 {
        return IpAddr::V6(inet_pton6(word).unwrap_or(std::net::Ipv6Addr::UNSPECIFIED));
    }
    if let Some(a) = inet_pton4(word) {
        return IpAddr::V4(a);
    }
    IpAddr::V4(Ipv4Addr::from(strtoul(word, 16).0 as u32))
}

/// One output line for one line of the proc file, or `None` if the line is
/// blank (sscanf would hit end of input and ipvsadm would stop there).
pub fn conn_line(host: &mut dyn Host, line: &[u8], format: u32) -> Option<Vec<u8>> {
    let mut pos = 0;
    let mut fields: Vec<&[u8]> = Vec::new();
    // Conversions in order: %s %s %hX %s %hX %s %hX %s %d %s %s; sscanf stops
    // at the first one that fails, leaving the rest at their defaults.
    for i in 0..11 {
        let Some(w) = scan_word(line, &mut pos) else {
            break;
        };
        let numeric_ok = match i {
            2 | 4 | 6 => strtoul(w, 16).2 > 0,
            8 => strtol(w, 10).2 > 0,
            _ => true,
        };
        if !numeric_ok {
            break;
        }
        fields.push(w);
    }
    if fields.is_empty() {
        return None;
    }
    let n = fields.len();
    let get = |i: usize| -> &[u8] { fields.get(i).copied().unwrap_or(b"") };
    let hex16 = |i: usize| -> u16 { strtoul(get(i), 16).0 as u16 };
    let protocol = get(0);
    let proto = match protocol {
        b"TCP" => IPPROTO_TCP,
        b"UDP" => IPPROTO_UDP,
        b"SCTP" => IPPROTO_SCTP,
        _ => 0,
    };
    let c6 = inet_pton6(get(1)).is_some();
    let caddr = parse_addr(get(1), c6);
    let vaddr = parse_addr(get(3), c6);
    let d6 = inet_pton6(get(5)).is_some();
    let daddr = parse_addr(get(5), d6);
    let expires = strtol(get(8), 10).0 as i32 as u32;
    let cname = addrport(host, &caddr, hex16(2), proto, format);
    let vname = addrport(host, &vaddr, hex16(4), proto, format);
    let dname = addrport(host, &daddr, hex16(6), proto, format);
    // "%02d:%02d" of minutes/seconds.
    let expire = format!("{:02}:{:02}", (expires / 60) as i32, (expires % 60) as i32);
    let mut o = Vec::new();
    o.extend_from_slice(&pad_right(protocol, 3));
    o.push(b' ');
    o.extend_from_slice(&pad_right(expire.as_bytes(), 6));
    o.push(b' ');
    o.extend_from_slice(&pad_right(get(7), 11));
    o.push(b' ');
    o.extend_from_slice(&pad_right(&cname, 18));
    o.push(b' ');
    o.extend_from_slice(&pad_right(&vname, 18));
    o.push(b' ');
    if format & fmt::PERSISTENTCONN != 0 && n == 11 {
        o.extend_from_slice(&pad_right(&dname, 16));
        o.push(b' ');
        o.extend_from_slice(&pad_right(get(9), 18));
        o.push(b' ');
        o.extend_from_slice(get(10));
    } else {
        o.extend_from_slice(&dname);
    }
    o.push(b'\n');
    Some(o)
}

/// The two header lines.
pub fn header(format: u32) -> &'static str {
    if format & fmt::PERSISTENTCONN != 0 {
        "IPVS connection entries\npro expire state       source             virtual            destination        pe name          pe_data\n"
    } else {
        "IPVS connection entries\npro expire state       source             virtual            destination\n"
    }
}

/// `fgets(buf, 256, f)`: the next line, cut after 255 bytes (the rest
/// comes back as the following "line"), `None` at end of file. Streams, so
/// a connection table of millions of entries is never held in memory.
pub fn fgets(r: &mut dyn std::io::BufRead) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    while line.len() < 255 {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(_) => break,
        };
        if buf.is_empty() {
            break;
        }
        let want = 255 - line.len();
        let (n, done) = match buf.iter().take(want).position(|&c| c == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len().min(want), false),
        };
        line.extend_from_slice(&buf[..n]);
        r.consume(n);
        if done {
            break;
        }
    }
    (!line.is_empty()).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fgets_cuts_long_lines_at_255_bytes() {
        let mut data = vec![b'x'; 300];
        data.push(b'\n');
        data.extend_from_slice(b"ab\ncd");
        let mut r: &[u8] = &data;
        let lens: Vec<usize> = std::iter::from_fn(|| fgets(&mut r))
            .map(|l| l.len())
            .collect();
        assert_eq!(lens, [255, 46, 3, 2]);
    }
}
