//! The `IPaddr` resource agent (`ip[/bits[/nic[/broadcast]]] start|stop|status`).
#![allow(non_snake_case)]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, rc) = heartbeat::ipaddr::agent(heartbeat::ipaddr::Flavor::IPaddr, &args);
    print!("{out}");
    std::process::exit(rc);
}
