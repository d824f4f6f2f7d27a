//! `hb_standby [all|foreign|local|failback]`: give resources to the other node.

use heartbeat::daemon::{fifo_send, Paths};

fn main() {
    let me = std::env::args()
        .next()
        .unwrap_or_else(|| "hb_standby".into());
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() > 1 {
        eprintln!("hb_standby: too many arguments");
        eprintln!("usage:\n{me} [all|foreign|local|failback]");
        std::process::exit(1);
    }
    let set = args.first().map(String::as_str).unwrap_or("all");
    let set = match set {
        "all" | "foreign" | "local" => set,
        "failback" => "foreign",
        other => {
            eprintln!("wrong resources({other}).");
            eprintln!("usage:\n{me} [all|foreign|local|failback]");
            std::process::exit(1);
        }
    };
    eprintln!("Going standby [{set}].");
    if let Err(e) = fifo_send(
        &Paths::from_env(),
        &[("t", "ask_resources"), ("rsc_hold", set), ("info", "me")],
    ) {
        eprintln!("hb_standby: cannot reach heartbeat: {e}");
        std::process::exit(1);
    }
}
