//! The mcast medium (`mcast dev group port ttl loop`): heartbeats and the
//! resource exchange go to a multicast group on the bridge, ours–ours and
//! with Debian's heartbeat 3.0.6, and failover works over it.

use crate::support::netns::{in_ns, thread_policies, wait_for, Net, Node, RealNode};
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

const KEYS: &str = "auth 1\n1 sha1 mcast-secret\n";
const RES: &str = "www3 marker::svc3\nwww4 marker::svc4\n";
const PORT: u16 = 1694;

// Upper bound for waits (generous for loaded CI machines).
const T: Duration = Duration::from_secs(30);

fn marker(marks: &std::path::Path) -> String {
    format!(
        "#!/bin/sh\nf=\"{m}/$1\"\ncase \"$2\" in\n start) touch \"$f\";;\n stop) rm -f \"$f\";;\n status) if [ -e \"$f\" ]; then echo running; else echo stopped; fi;;\nesac\nexit 0\n",
        m = marks.display()
    )
}

/// A group per test network; only the mcast medium, on its own port
/// (`udpport` does not apply to mcast).
fn group(net: &Net) -> Ipv4Addr {
    let third: u8 = net.subnet.rsplit('.').next().unwrap().parse().unwrap();
    Ipv4Addr::new(239, 77, third, 1)
}

fn hacf(net: &Net) -> String {
    format!(
        "logfile LOGFILE\nkeepalive 200ms\ndeadtime 1\nwarntime 600ms\ninitdead 2\nmcast eth0 {} {PORT} 1 0\nauto_failback on\nnode www3 www4\n",
        group(net)
    )
}

/// For its first 5 s a node advertises deadtime + 2 s.
fn settle(since: Instant) {
    std::thread::sleep(Duration::from_millis(5600).saturating_sub(since.elapsed()));
}

/// A third host joined to the group sees `node`'s heartbeats addressed to
/// the group.
fn group_carries_heartbeats_of(net: &Net, node: &'static str) {
    let g = group(net);
    // no multicast route in the client: join on its eth0 address
    let me: Ipv4Addr = format!("{}.100", net.subnet).parse().unwrap();
    let got = in_ns(&net.ns('c'), move || {
        let s = UdpSocket::bind(("0.0.0.0", PORT)).unwrap();
        s.join_multicast_v4(&g, &me).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = vec![0u8; 65536];
        let until = Instant::now() + T;
        while Instant::now() < until {
            if let Ok(n) = s.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]);
                if text.contains("t=status") && text.contains(&format!("src={node}")) {
                    return true;
                }
            }
        }
        false
    })
    .join()
    .unwrap();
    assert!(got, "no heartbeat of {node} on {g}:{PORT}");
}

#[test]
fn mcast_ours_ours_heartbeats_and_failover() {
    let net = Net::new(2);
    let cf = hacf(&net);
    let mut a = Node::new("www3", &net.ns('a'), &cf, KEYS, RES);
    let mut b = Node::new("www4", &net.ns('b'), &cf, KEYS, RES);
    a.script("marker", &marker(&a.dir.join("marks")));
    b.script("marker", &marker(&b.dir.join("marks")));
    let a_started = Instant::now();
    a.start();
    assert!(
        wait_for(T, || a.has_mark("svc3") && a.has_mark("svc4")).is_some(),
        "{}",
        a.log()
    );
    assert!(
        a.log().contains(&format!(
            "info: glib: mcast heartbeat started on port {PORT} interface eth0 to {}",
            group(&net)
        )),
        "{}",
        a.log()
    );
    group_carries_heartbeats_of(&net, "www3");
    // Regression: realtime (the default) must reach the thread reading
    // the medium, not only the main thread (SCHED_RESET_ON_FORK reset it).
    let threads = thread_policies(a.child.as_ref().unwrap().id());
    let main = threads.iter().find(|(n, _)| n == "heartbeat").map(|t| t.1);
    assert_eq!(main, Some(1), "the daemon runs SCHED_FIFO: {threads:?}");
    assert!(
        threads
            .iter()
            .any(|(n, p)| n.starts_with("read: mcast") && *p == 1),
        "{threads:?}"
    );
    // www4 joins over the group: auto_failback on gives it svc4
    b.start();
    assert!(
        wait_for(T, || b.has_mark("svc4") && !a.has_mark("svc4")).is_some(),
        "{}\n{}",
        a.log(),
        b.log()
    );
    let (_, out, _) = b.tool(
        env!("CARGO_BIN_EXE_cl_status"),
        &["hblinkstatus", "www3", "eth0"],
    );
    assert_eq!(out.trim(), "up");
    // SIGKILL www3: www4 takes svc3 after its dead time (1 s)
    settle(a_started);
    a.kill9();
    let took = wait_for(T, || b.has_mark("svc3")).expect("takeover over mcast");
    assert!(took < Duration::from_secs(4), "takeover took {took:?}");
    assert!(b.log().contains("WARN: node www3: is dead"), "{}", b.log());
}

#[test]
fn mcast_with_heartbeat_3_0_6() {
    crate::support::require_reference();
    let net = Net::new(2);
    let cf = hacf(&net);
    let mut real = RealNode::new("www3", &net.ns('a'), &cf, KEYS, RES);
    real.script("marker", &marker(&real.dir.join("marks")));
    let mut ours = Node::new("www4", &net.ns('b'), &cf, KEYS, RES);
    ours.script("marker", &marker(&ours.dir.join("marks")));
    // ours first: 3.0.6 alone stays in transition for 10 s (RQSTDELAY)
    ours.start();
    assert!(
        wait_for(T, || ours.has_mark("svc3") && ours.has_mark("svc4")).is_some(),
        "{}",
        ours.log()
    );
    // the original joins over the group and ours hands svc3 back
    let real_started = Instant::now();
    real.start();
    assert!(
        wait_for(T, || real.has_mark("svc3") && !ours.has_mark("svc3")).is_some(),
        "--- original\n{}\n--- ours\n{}",
        real.log(),
        ours.log()
    );
    assert!(ours.has_mark("svc4"));
    group_carries_heartbeats_of(&net, "www3");
    assert!(
        real.log()
            .contains("Status update for node www4: status active"),
        "{}",
        real.log()
    );
    // the original dies: ours takes svc3 over mcast
    settle(real_started);
    real.kill9();
    let took = wait_for(T, || ours.has_mark("svc3")).expect("ours takes over from the original");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(
        ours.log().contains("WARN: node www3: is dead"),
        "{}",
        ours.log()
    );
}
