//! What the announcements are for: a neighbour holding a stale entry for
//! the VIP (pointing at the old master) learns the new MAC.

use std::time::Duration;

use crate::util::*;

const OLD_MAC: &str = "02:0d:0e:0a:0d:01";

fn neighbour_entry(ns: &Netns, family: &str, ip: &str) -> String {
    let out = ns.ip(&[family, "neigh", "show", ip, "dev", "sa1"]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn arp_updates_a_stale_entry() {
    let w = Wire::new("garp");
    let tmp = TempDir::new("garp");
    let pf = tmp.path("pf");
    // The kernel default: gratuitous ARP may update, not create, entries.
    w.b.sysctl("net.ipv4.conf.sa1.arp_accept", "0");
    w.a.ip(&["addr", "add", "192.168.78.1/24", "dev", "sa0"]);
    w.b.ip(&["addr", "add", "192.168.78.2/24", "dev", "sa1"]);
    for (vip, mac_arg, expected) in [
        ("192.168.78.10", "auto", SENDER_MAC_TEXT),
        ("192.168.78.11", "02:00:00:00:be:ef", "02:00:00:00:be:ef"),
    ] {
        w.b.ip(&[
            "neigh", "replace", vip, "lladdr", OLD_MAC, "dev", "sa1", "nud", "stale",
        ]);
        assert!(neighbour_entry(&w.b, "-4", vip).contains(OLD_MAC));
        let out = w.a.run(
            ours(),
            &[
                "-i", "20", "-r", "1", "-p", &pf, "sa0", vip, mac_arg, "x", "y",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let entry = neighbour_entry(&w.b, "-4", vip);
        assert!(
            entry.contains(expected),
            "entry for {vip} after send_arp: {entry:?}"
        );
    }
}

#[test]
fn neighbour_advertisement_updates_a_stale_entry() {
    let w = Wire::new("una");
    for ns in [&w.a, &w.b] {
        ns.sysctl("net.ipv6.conf.all.disable_ipv6", "0");
    }
    w.b.ip(&[
        "-6",
        "addr",
        "add",
        "2001:db8:78::2/64",
        "dev",
        "sa1",
        "nodad",
    ]);
    let vip = "2001:db8:78::10";
    w.b.ip(&[
        "-6", "neigh", "replace", vip, "lladdr", OLD_MAC, "dev", "sa1", "nud", "stale",
    ]);
    assert!(neighbour_entry(&w.b, "-6", vip).contains(OLD_MAC));

    let cap = Capture::start(&w.b, "sa1");
    let announcement = sendarp::Announcement {
        ifname: "sa0".into(),
        ip: vip.parse().unwrap(),
        mac: None,
        repeat: 2,
        interval: Duration::from_millis(30),
    };
    in_netns(&w.a, move || sendarp::announce(&announcement)).unwrap();
    let entry = neighbour_entry(&w.b, "-6", vip);
    assert!(entry.contains(SENDER_MAC_TEXT), "entry after NA: {entry:?}");

    let frames: Vec<_> = cap
        .drain(Duration::from_millis(60))
        .into_iter()
        .filter(|f| {
            is_neighbour_advert(f)
                && f.bytes[62..78] == vip.parse::<std::net::Ipv6Addr>().unwrap().octets()
        })
        .collect();
    assert_eq!(frames.len(), 2, "{}", hexdump(&frames));
    let expected = sendarp::frame::neighbour_advertisement(
        SENDER_MAC,
        SENDER_MAC,
        vip.parse().unwrap(),
        false,
    );
    assert_eq!(frames[0].bytes, expected.to_vec());
    let g = gaps(&frames)[0];
    assert!(
        g >= Duration::from_millis(29)
            && g < Duration::from_millis(30) + crate::differential::LATE_ONE,
        "{g:?}"
    );
}

/// The router flag follows the sending interface's forwarding setting.
#[test]
fn router_flag_follows_forwarding() {
    let w = Wire::new("rtr");
    let tmp = TempDir::new("rtr");
    let pf = tmp.path("pf");
    w.a.sysctl("net.ipv6.conf.sa0.forwarding", "1");
    let cap = Capture::start(&w.b, "sa1");
    let out = w.a.run(
        ours(),
        &[
            "-i",
            "0",
            "-r",
            "1",
            "-p",
            &pf,
            "sa0",
            "2001:db8:79::10",
            "auto",
            "x",
            "y",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames: Vec<_> = cap
        .drain(Duration::from_millis(60))
        .into_iter()
        .filter(is_neighbour_advert)
        .collect();
    let na = frames
        .iter()
        .find(|f| {
            f.bytes[62..78]
                == "2001:db8:79::10"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets()
        })
        .expect("no advertisement for the VIP");
    assert_eq!(na.bytes[58], 0xa0, "R and O set");
    assert_eq!(na.bytes[21], 255, "hop limit");
}

/// Run `f` on a thread that has entered `ns`'s network namespace.
pub fn in_netns<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: affects only this thread.
        assert_eq!(
            unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        f()
    })
    .join()
    .unwrap()
}
