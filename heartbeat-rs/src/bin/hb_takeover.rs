//! `hb_takeover [all|foreign|local|failback]`: take resources from the other node.

use heartbeat::daemon::{fifo_send, Paths};

fn main() {
    let me = std::env::args()
        .next()
        .unwrap_or_else(|| "hb_takeover".into());
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() > 1 {
        eprintln!("hb_takeover: too many arguments");
        eprintln!("usage:\n{me} [all|foreign|local|failback]");
        std::process::exit(1);
    }
    let set = args.first().map(String::as_str).unwrap_or("all");
    if !matches!(set, "all" | "foreign" | "local" | "failback") {
        eprintln!("wrong resources({set}).");
        eprintln!("usage:\n{me} [all|foreign|local|failback]");
        std::process::exit(1);
    }
    if let Err(e) = fifo_send(
        &Paths::from_env(),
        &[("t", "hb_takeover"), ("rsc_hold", set)],
    ) {
        eprintln!("hb_takeover: cannot reach heartbeat: {e}");
        std::process::exit(1);
    }
}
