//! `seed-demo`: the seed cluster running, as a short timeline (what
//! `lab/demo` shows). Runs inside the IPVS lab only (`lab/vm-run`): it
//! builds the 2004 guide's cluster from `examples/seed/` with our
//! ipvsadm, mon, heartbeat and send_arp on both directors, then runs the
//! guide's tests — balance (2.5), a web node failing and returning (2.5.3,
//! A/D), the master director lost (2.6, B) and returning (C) — and prints
//! what was injected, when the tools reacted and what clients saw.

use std::time::Duration;
use suite_tests::seed::scenario::{self, Loss, Return, Timeline, Watcher};
use suite_tests::seed::{default_bin_dir, netns_command, Cluster, Host, Prober, CLIENTS};

fn section(title: &str) {
    println!("\n== {title}");
}

fn ipvsadm_ln(c: &Cluster, h: Host) {
    let bin = default_bin_dir().join("ipvsadm");
    let out = netns_command(&c.topo.path(h), &[&bin.display().to_string(), "-Ln"])
        .output()
        .expect("ipvsadm -Ln");
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        println!("          | {l}");
    }
}

fn main() {
    if !suite_tests::in_lab() {
        eprintln!("seed-demo runs inside the IPVS lab: use ./lab/demo");
        std::process::exit(2);
    }
    println!(
        "The seed cluster (2004 LVS guide), in network namespaces on the lab's real IPVS kernel."
    );
    println!(
        "Files: examples/seed/ (reconstructions; see its README). Tools on both directors: ours."
    );
    println!("  www3 10.0.0.3  master director    www4 10.0.0.4  slave director + real server");
    println!("  node01 10.0.0.11, node02 10.0.0.12 web nodes (busybox httpd)    VIP 10.0.0.100:80");
    println!("  client 10.0.0.200-.215; times are seconds since the cluster was built;");
    println!("  `seen` = observed in the kernel (VIP, IPVS table, client's ARP), `log` = heartbeat's ha-log\n");

    let mut c = Cluster::start("");
    let tl = std::sync::Arc::new(Timeline::new(&c, false));
    let _watcher = Watcher::start(&c, tl.clone());
    tl.note(
        tl.now(),
        "namespaces wired, httpd up, heartbeat started on www3 and www4",
    );
    scenario::wait_ready(&c, &tl);
    tl.flush();
    println!("          www3# ipvsadm -Ln");
    ipvsadm_ln(&c, Host::Www3);

    section("2.5 balance: get_title from each client address (6 requests each, KeepAlive off)");
    let b = scenario::balance(&c, &tl, 6);
    let row: Vec<String> = b
        .per_client
        .iter()
        .map(|(src, r)| {
            let t = r
                .first()
                .map(|x| x.clone().unwrap_or_else(|e| format!("ERR {e}")))
                .unwrap_or_default();
            let same = r.iter().all(|x| x.as_ref().ok() == r[0].as_ref().ok());
            format!(
                ".{}={t}{}",
                src.octets()[3],
                if same { "" } else { "(moved!)" }
            )
        })
        .collect();
    for chunk in row.chunks(6) {
        println!("          {}", chunk.join("  "));
    }
    let lines = scenario::get_title_pl(&c, 100);
    let first = lines.first().cloned().unwrap_or_default();
    let same = lines
        .iter()
        .filter(|l| l.split_whitespace().nth(1) == first.split_whitespace().nth(1))
        .count();
    tl.note(
        tl.now(),
        format!(
            "get_title.pl (the seed's Perl client, 100 requests from 10.0.0.200): {same} of {} answered by {} (persistence -p 360)",
            lines.len(),
            first.split_whitespace().nth(1).unwrap_or("?")
        ),
    );

    tl.flush();
    let prober = Prober::start(&c, Duration::from_millis(100), Duration::from_secs(1));
    println!(
        "\n          (from here a client asks every 100 ms, rotating over {CLIENTS} addresses, 1 s timeout)"
    );
    section("2.5.3 A/D: a web node fails and comes back");
    let a = scenario::web_node_failure(&mut c, &tl, &prober);
    tl.flush();
    println!("          www3# ipvsadm -Ln");
    ipvsadm_ln(&c, Host::Www3);

    section("2.6 B: master director lost (link cut)");
    let b1 = scenario::master_lost(&mut c, &tl, &prober, Loss::LinkCut);
    tl.flush();
    println!("          www4# ipvsadm -Ln");
    ipvsadm_ln(&c, Host::Www4);
    section("C: master returns (link restored)");
    let c1 = scenario::master_returns(&mut c, &tl, &prober, Return::LinkRestored);
    tl.flush();
    section("2.6 B: master director lost (kill -9 heartbeat)");
    let b2 = scenario::master_lost(&mut c, &tl, &prober, Loss::KillHeartbeat);
    tl.flush();
    section("C: master returns (reboot)");
    let c2 = scenario::master_returns(&mut c, &tl, &prober, Return::Reboot);
    tl.flush();
    let probes = prober.finish();

    section("summary");
    let errors = probes.iter().filter(|p| p.result.is_err()).count();
    println!(
        "  client requests: {} in {:.0}s, {errors} failed",
        probes.len(),
        probes.last().map_or(0.0, |p| p.at) - probes.first().map_or(0.0, |p| p.at)
    );
    println!(
        "  A/D  node01 down: removed {:.1}s after httpd stopped ({} requests failed meanwhile), re-added {:.1}s after it started",
        a.removed - a.stopped,
        a.errors_before_removal.1,
        a.readded - a.restarted
    );
    for f in [&b1, &b2] {
        println!("  B    {}", scenario::failover_line(f));
    }
    for f in [&c1, &c2] {
        let seen = match &f.outage {
            None => "no failed request".to_string(),
            Some(o) => format!(
                "errors for {} ({} failed)",
                o.gap().map_or("?".into(), |g| format!("{g:.1}s")),
                o.errors
            ),
        };
        println!(
            "  C    {:?}: www3 directing {:.1}s later; clients saw {seen}",
            f.how,
            f.back - f.at
        );
    }
}
