//! Pure frame building: every function returns the exact bytes handed to
//! the packet socket.
//!
//! The ARP frames are the ones heartbeat's (libnet) `send_arp` emits: 42
//! bytes, no padding (the NIC pads to 60 on real Ethernet; veth and lo do
//! not), Ethernet source = the sending interface's own MAC, ARP sender =
//! the announced MAC. The request carries an all-zero target MAC, the reply
//! repeats the announced MAC as target.

use std::net::{Ipv4Addr, Ipv6Addr};

/// An Ethernet hardware address.
pub type Mac = [u8; 6];

pub const BROADCAST_MAC: Mac = [0xff; 6];
pub const ZERO_MAC: Mac = [0; 6];
/// `33:33:00:00:00:01`: the Ethernet mapping of ff02::1 (RFC 2464 §7).
pub const ALL_NODES_MAC: Mac = [0x33, 0x33, 0, 0, 0, 1];
/// ff02::1, where unsolicited neighbour advertisements go (RFC 4861 §7.2.6).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ARPHRD_ETHER: u16 = 1;
const IPPROTO_ICMPV6: u8 = 58;
const ND_NEIGHBOR_ADVERT: u8 = 136;
const ND_OPT_TARGET_LINKADDR: u8 = 2;

/// Length of an ARP frame as sent: Ethernet header (14) + ARP for IPv4 (28).
pub const ARP_FRAME_LEN: usize = 42;
/// Ethernet (14) + IPv6 (40) + NA (24) + target link-layer option (8).
pub const NA_FRAME_LEN: usize = 86;

/// ARP operation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    Request = 1,
    Reply = 2,
}

fn ethernet_header(buf: &mut [u8], dst: Mac, src: Mac, ethertype: u16) {
    buf[0..6].copy_from_slice(&dst);
    buf[6..12].copy_from_slice(&src);
    buf[12..14].copy_from_slice(&ethertype.to_be_bytes());
}

/// One ARP announcement frame for `ip` at `mac`, broadcast from an interface
/// whose own address is `eth_src`.
pub fn arp_frame(op: ArpOp, eth_src: Mac, mac: Mac, ip: Ipv4Addr) -> [u8; ARP_FRAME_LEN] {
    let mut f = [0u8; ARP_FRAME_LEN];
    ethernet_header(&mut f, BROADCAST_MAC, eth_src, ETHERTYPE_ARP);
    let target_mac = match op {
        ArpOp::Request => ZERO_MAC,
        ArpOp::Reply => mac,
    };
    f[14..16].copy_from_slice(&ARPHRD_ETHER.to_be_bytes());
    f[16..18].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&(op as u16).to_be_bytes());
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    f[32..38].copy_from_slice(&target_mac);
    f[38..42].copy_from_slice(&ip.octets());
    f
}

/// The request + reply pair heartbeat sends per repetition, in that order
/// ("some systems ignore one or the other").
pub fn gratuitous_arp_pair(eth_src: Mac, mac: Mac, ip: Ipv4Addr) -> [[u8; ARP_FRAME_LEN]; 2] {
    [
        arp_frame(ArpOp::Request, eth_src, mac, ip),
        arp_frame(ArpOp::Reply, eth_src, mac, ip),
    ]
}

/// Internet checksum over the IPv6 pseudo-header and an ICMPv6 message
/// whose checksum field is zero (RFC 4443 §2.3).
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for chunk in bytes.chunks(2) {
            let word = if chunk.len() == 2 {
                u16::from_be_bytes([chunk[0], chunk[1]])
            } else {
                u16::from_be_bytes([chunk[0], 0])
            };
            sum += u32::from(word);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(message.len() as u32).to_be_bytes());
    add(&[0, 0, 0, IPPROTO_ICMPV6]);
    add(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An unsolicited neighbour advertisement for `ip` at `mac` to ff02::1:
/// override flag set (so neighbours replace a cached address), solicited
/// flag clear, router flag as given, target link-layer address option,
/// hop limit 255 (receivers drop anything else, RFC 4861 §7.1.2). The IPv6
/// source is the announced address itself, which the sender owns.
pub fn neighbour_advertisement(
    eth_src: Mac,
    mac: Mac,
    ip: Ipv6Addr,
    router: bool,
) -> [u8; NA_FRAME_LEN] {
    let mut f = [0u8; NA_FRAME_LEN];
    ethernet_header(&mut f, ALL_NODES_MAC, eth_src, ETHERTYPE_IPV6);
    let payload_len: u16 = 32;
    // IPv6 header: version 6, traffic class 0, flow label 0.
    f[14] = 0x60;
    f[18..20].copy_from_slice(&payload_len.to_be_bytes());
    f[20] = IPPROTO_ICMPV6;
    f[21] = 255;
    f[22..38].copy_from_slice(&ip.octets());
    f[38..54].copy_from_slice(&ALL_NODES.octets());
    // ICMPv6 neighbour advertisement.
    let m = &mut f[54..];
    m[0] = ND_NEIGHBOR_ADVERT;
    m[1] = 0;
    m[4] = if router { 0x80 } else { 0 } | 0x20;
    m[8..24].copy_from_slice(&ip.octets());
    m[24] = ND_OPT_TARGET_LINKADDR;
    m[25] = 1; // option length in units of 8 octets
    m[26..32].copy_from_slice(&mac);
    let sum = icmpv6_checksum(ip, ALL_NODES, &f[54..]);
    f[56..58].copy_from_slice(&sum.to_be_bytes());
    f
}

/// The frames one repetition of an announcement consists of: the ARP
/// request/reply pair for IPv4, one neighbour advertisement for IPv6.
pub fn announcement_frames(
    eth_src: Mac,
    mac: Mac,
    ip: std::net::IpAddr,
    router: bool,
) -> Vec<Vec<u8>> {
    match ip {
        std::net::IpAddr::V4(v4) => gratuitous_arp_pair(eth_src, mac, v4)
            .iter()
            .map(|f| f.to_vec())
            .collect(),
        std::net::IpAddr::V6(v6) => {
            vec![neighbour_advertisement(eth_src, mac, v6, router).to_vec()]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Captured from Debian's send_arp on lo (all-zero interface MAC),
    // announcing 127.0.0.79 at 02:01:02:03:04:05.
    #[test]
    fn arp_request_matches_heartbeat_capture() {
        let f = arp_frame(
            ArpOp::Request,
            ZERO_MAC,
            [2, 1, 2, 3, 4, 5],
            Ipv4Addr::new(127, 0, 0, 79),
        );
        assert_eq!(
            f.to_vec(),
            hex("ffff ffff ffff 0000 0000 0000 0806 0001 0800 0604 0001 0201 0203 0405 7f00 004f 0000 0000 0000 7f00 004f")
        );
    }

    #[test]
    fn arp_reply_matches_heartbeat_capture() {
        let f = arp_frame(
            ArpOp::Reply,
            ZERO_MAC,
            [2, 1, 2, 3, 4, 5],
            Ipv4Addr::new(127, 0, 0, 79),
        );
        assert_eq!(
            f.to_vec(),
            hex("ffff ffff ffff 0000 0000 0000 0806 0001 0800 0604 0002 0201 0203 0405 7f00 004f 0201 0203 0405 7f00 004f")
        );
    }

    // Captured on a veth peer: Debian's send_arp with `auto` on an
    // interface whose MAC is 02:aa:bb:cc:dd:01, VIP 10.0.0.5.
    #[test]
    fn pair_uses_interface_mac_as_ethernet_source() {
        let [req, rep] = gratuitous_arp_pair(
            [2, 0xaa, 0xbb, 0xcc, 0xdd, 1],
            [2, 1, 2, 3, 4, 0],
            Ipv4Addr::new(10, 0, 0, 6),
        );
        assert_eq!(
            req.to_vec(),
            hex("ffffffffffff 02aabbccdd01 0806 0001 0800 0604 0001 020102030400 0a000006 000000000000 0a000006")
        );
        assert_eq!(
            rep.to_vec(),
            hex("ffffffffffff 02aabbccdd01 0806 0001 0800 0604 0002 020102030400 0a000006 020102030400 0a000006")
        );
    }

    #[test]
    fn neighbour_advertisement_bytes() {
        let ip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let f = neighbour_advertisement(
            [2, 0xaa, 0xbb, 0xcc, 0xdd, 1],
            [2, 1, 2, 3, 4, 5],
            ip,
            false,
        );
        let expected = hex(concat!(
            "333300000001 02aabbccdd01 86dd",
            "60000000 0020 3a ff",
            "20010db8000000000000000000000010",
            "ff020000000000000000000000000001",
            "88 00 f304 20000000",
            "20010db8000000000000000000000010",
            "02 01 020102030405",
        ));
        assert_eq!(f.to_vec(), expected);
    }

    #[test]
    fn router_flag_changes_flags_and_checksum() {
        let ip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let f =
            neighbour_advertisement([2, 0xaa, 0xbb, 0xcc, 0xdd, 1], [2, 1, 2, 3, 4, 5], ip, true);
        assert_eq!(f[58], 0xa0);
        // Setting R adds 0x8000 to the one's-complement sum, so the
        // checksum drops by the same amount.
        assert_eq!(u16::from_be_bytes([f[56], f[57]]), 0x7304);
    }

    #[test]
    fn checksum_verifies_to_zero() {
        let ip: Ipv6Addr = "fe80::1234:5678".parse().unwrap();
        for router in [false, true] {
            let f = neighbour_advertisement(
                [0x52, 0x54, 0, 0x12, 0x34, 0x56],
                [0x52, 0x54, 0, 0x12, 0x34, 0x56],
                ip,
                router,
            );
            // Summing a message including its own checksum yields 0xffff,
            // whose complement is zero.
            assert_eq!(icmpv6_checksum(ip, ALL_NODES, &f[54..]), 0);
        }
    }

    #[test]
    fn checksum_pads_odd_length_with_zero() {
        // Independent computation (Python, RFC 1071 sum) of ::1 -> ::1 with
        // a one-byte message.
        let a: Ipv6Addr = "::1".parse().unwrap();
        assert_eq!(icmpv6_checksum(a, a, &[0xff]), 0x00c2);
    }

    #[test]
    fn frames_per_repetition() {
        let v4 = announcement_frames(ZERO_MAC, ZERO_MAC, "10.1.2.3".parse().unwrap(), false);
        assert_eq!(v4.len(), 2);
        assert_eq!(v4[0][21], 1);
        assert_eq!(v4[1][21], 2);
        let v6 = announcement_frames(ZERO_MAC, ZERO_MAC, "2001:db8::1".parse().unwrap(), false);
        assert_eq!(v6.len(), 1);
        assert_eq!(v6[0].len(), NA_FRAME_LEN);
    }
}
