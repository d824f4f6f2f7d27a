//! `cl_status`: heartbeat's status as 3.0.6's tool prints it, read from
//! the status file the daemon keeps in its run directory.

use heartbeat::daemon::{running_pid, Paths};
use std::process::exit;

const USAGE: &str = "Usage: cl_status <sub-command> [<options>] [<parameters>]
Sub-commands:
	hbstatus [-v]
	listnodes [-p|-n|-v]
	nodestatus <node>
	nodetype <node>
	nodeweight <node>
	nodesite <node>
	listhblinks [-v] <node>
	hblinkstatus <node> <link>
	clientstatus <node> <client-id> [<timeout>]
	rscstatus [-m]
	hbparameter -p <parameter-name>
";

struct Status {
    nodes: Vec<(String, String)>,
    links: Vec<(String, String, String)>,
    rsc: String,
    params: Vec<(String, String)>,
}

fn read(paths: &Paths) -> Option<Status> {
    running_pid(&paths.pidfile)?;
    let text = std::fs::read_to_string(paths.status_file()).ok()?;
    let mut s = Status {
        nodes: vec![],
        links: vec![],
        rsc: "none".into(),
        params: vec![],
    };
    for l in text.lines() {
        let w: Vec<&str> = l.splitn(4, ' ').collect();
        match w.as_slice() {
            ["node", n, _, st] => s.nodes.push((n.to_string(), st.to_string())),
            ["link", n, m, st] => s.links.push((n.to_string(), m.to_string(), st.to_string())),
            ["rscstatus", r] => s.rsc = r.to_string(),
            ["param", k, v @ ..] => s.params.push((k.to_string(), v.join(" "))),
            _ => {}
        }
    }
    Some(s)
}

fn down() -> ! {
    eprintln!("ERROR: Cannot signon with heartbeat");
    eprintln!("REASON: hb_api_signon: Can't initiate connection to heartbeat");
    exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let paths = Paths::from_env();
    let Some(cmd) = args.first() else {
        eprint!("{USAGE}");
        exit(11);
    };
    let flags: Vec<&str> = args[1..]
        .iter()
        .filter(|a| a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let words: Vec<&str> = args[1..]
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let human = flags.contains(&"-m");
    match cmd.as_str() {
        "hbstatus" => {
            if running_pid(&paths.pidfile).is_none() {
                println!("Heartbeat is stopped on this machine.");
                exit(1);
            }
            println!("Heartbeat is running on this machine.");
            exit(0);
        }
        "listnodes" => {
            let s = read(&paths).unwrap_or_else(|| down());
            let mut names: Vec<&(String, String)> = s.nodes.iter().collect();
            names.sort();
            if flags.contains(&"-p") {
                exit(0); // no ping nodes here
            }
            for (n, st) in names {
                if flags.contains(&"-v") {
                    println!("\n{n}\t{st}\t(nodetype: normal)");
                    for (_, m, ls) in s.links.iter().filter(|(ln, _, _)| ln == n) {
                        println!("\t{m}\t{ls}");
                    }
                } else {
                    println!("{n}");
                }
            }
            exit(0);
        }
        "nodestatus" | "nodetype" | "nodeweight" | "nodesite" => {
            let Some(node) = words.first() else {
                eprint!("{USAGE}");
                exit(11);
            };
            let s = read(&paths).unwrap_or_else(|| down());
            let node = node.to_ascii_lowercase();
            let Some((_, st)) = s.nodes.iter().find(|(n, _)| *n == node) else {
                eprintln!("Error. May be due to incorrect node name");
                exit(11);
            };
            match cmd.as_str() {
                "nodestatus" => {
                    println!("{st}");
                    exit(if st == "dead" { 1 } else { 0 });
                }
                "nodetype" => println!("normal"),
                "nodeweight" => println!("100"),
                _ => println!(),
            }
            exit(0);
        }
        "listhblinks" => {
            let Some(node) = words.first() else {
                eprint!("{USAGE}");
                exit(11);
            };
            let s = read(&paths).unwrap_or_else(|| down());
            for (_, m, st) in s.links.iter().filter(|(n, _, _)| n == node) {
                if flags.contains(&"-v") {
                    println!("\t{m}\t{st}");
                } else {
                    println!("\t{m}");
                }
            }
            exit(0);
        }
        "hblinkstatus" => {
            let (Some(node), Some(link)) = (words.first(), words.get(1)) else {
                eprint!("{USAGE}");
                exit(11);
            };
            let s = read(&paths).unwrap_or_else(|| down());
            match s.links.iter().find(|(n, m, _)| n == node && m == link) {
                Some((_, _, st)) => {
                    println!("{st}");
                    exit(if st == "up" { 0 } else { 1 });
                }
                None => {
                    eprintln!("Error. May be due to incorrect node name");
                    exit(11);
                }
            }
        }
        "rscstatus" => {
            let s = read(&paths).unwrap_or_else(|| down());
            if human {
                match s.rsc.as_str() {
                    "all" => println!("This node is holding all resources."),
                    "local" => println!("This node is holding local resources."),
                    "foreign" => println!("This node is holding foreign resources."),
                    "none" => println!("This node is holding none resources."),
                    _ => println!("This node is in resource transition state."),
                }
            } else {
                println!("{}", s.rsc);
            }
            exit(0);
        }
        "hbparameter" => {
            let name = args[1..]
                .iter()
                .position(|a| a == "-p")
                .and_then(|i| args.get(i + 2))
                .cloned();
            let Some(name) = name else {
                eprint!("{USAGE}");
                exit(11);
            };
            let s = read(&paths).unwrap_or_else(|| down());
            match s.params.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => {
                    println!("{v}");
                    exit(0);
                }
                None => {
                    eprintln!("ERROR: Cannot get parameter {name}'s value");
                    exit(1);
                }
            }
        }
        "clientstatus" => {
            read(&paths).unwrap_or_else(|| down());
            println!("offline");
            exit(1);
        }
        _ => {
            eprint!("{USAGE}");
            exit(11);
        }
    }
}
