//! monshow(1), text mode: scheduler state, then the failing (or, with
//! --showall, all) services in mon's monshow table layout.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use mon::daemon::{ctime, epoch};
use mon::server::un_esc_str;

struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Conn {
    fn cmd(&mut self, c: &str) -> Result<Vec<String>, String> {
        self.w
            .write_all(format!("{c}\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        loop {
            let mut l = String::new();
            if self.r.read_line(&mut l).map_err(|e| e.to_string())? == 0 {
                return Err("server closed the connection".into());
            }
            let l = l.trim_end_matches(['\n', '\r']).to_string();
            let b = l.as_bytes();
            if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' ' {
                if !l.starts_with('2') {
                    return Err(l);
                }
                return Ok(out);
            }
            out.push(l);
        }
    }
}

/// key=value pairs of an opstatus line (values un-escaped).
fn opstatus(l: &str) -> Vec<(String, String)> {
    l.split(' ')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), un_esc_str(v.trim_matches('\''))))
        .collect()
}

fn secs_to_hms(s: i64) -> String {
    let (dd, rest) = (s / 86400, s % 86400);
    let (hh, mm, ss) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if dd == 0 {
        format!("{hh:02}:{mm:02}:{ss:02}")
    } else {
        format!("{dd} days, {hh:02}:{mm:02}:{ss:02}")
    }
}

fn tdiff(t: i64) -> String {
    if t <= 90 {
        format!("{t}s")
    } else {
        secs_to_hms(t)
    }
}

/// A Perl format field `@<<<`: left-justified, padded, truncated.
fn field(s: &str, w: usize) -> String {
    let t: String = s.chars().take(w).collect();
    format!("{t:<w$}")
}

fn usage() -> ! {
    eprint!(
        "usage: monshow [--auth] [--showall] [--login user] [--disabled]\n               [--server host] [--port num]\n    --showall      show opstatus of all services\n    --disabled     show disabled\n    --auth         authenticate to mon server\n    --login user   use \"login\" as username while authenticating\n    --server host  use \"host\" as monhost, instead of MONHOST\n    --port num     use \"num\" as port number instead of default\n"
    );
    std::process::exit(1);
}

fn main() {
    let mut showall = false;
    let mut disabled = false;
    let mut auth = false;
    let mut login: Option<String> = None;
    let mut server: Option<String> = None;
    let mut port: Option<u16> = None;
    let mut rcfile: Option<String> = None;
    let mut full = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let a = a.trim_start_matches('-').to_string();
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let mut val = || {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| usage())
        };
        match name.as_str() {
            "showall" => showall = true,
            "disabled" => disabled = true,
            "auth" => auth = true,
            "full" => full = true,
            "login" => login = Some(val()),
            "server" => server = Some(val()),
            "port" => port = Some(val().parse().unwrap_or_else(|_| usage())),
            "rcfile" => rcfile = Some(val()),
            _ => usage(),
        }
    }
    // the rc file (--rcfile, ~/.monshowrc, else /etc/mon/monshowrc):
    // "set key [value]" lines
    let mut rc_host: Option<String> = None;
    let mut rc_port: Option<u16> = None;
    let mut show_disabled = false;
    let mut summary_len = 80usize;
    {
        let home_rc = std::env::var("HOME")
            .map(|h| format!("{h}/.monshowrc"))
            .unwrap_or_default();
        let path = rcfile.clone().unwrap_or_else(|| {
            if std::path::Path::new(&home_rc).is_file() {
                home_rc
            } else {
                "/etc/mon/monshowrc".into()
            }
        });
        if let Ok(text) = std::fs::read_to_string(&path) {
            for l in text.lines() {
                let w: Vec<&str> = l.split_whitespace().collect();
                if w.first() != Some(&"set") || w.len() < 2 {
                    continue;
                }
                match (w[1], w.get(2)) {
                    ("full", _) => full = true,
                    ("show-disabled", _) => show_disabled = true,
                    ("host", Some(h)) => rc_host = Some(h.to_string()),
                    ("port", Some(p)) => rc_port = p.parse().ok(),
                    ("summary-len", Some(n)) => summary_len = n.parse().unwrap_or(80),
                    _ => {}
                }
            }
        }
    }
    if showall {
        full = true;
    }
    let server = server
        .or(rc_host)
        .or_else(|| std::env::var("MONHOST").ok())
        .unwrap_or_else(|| "localhost".into());
    let port = port.or(rc_port).unwrap_or(2583);
    let err = |m: String| -> ! {
        eprintln!("monshow: {m}");
        std::process::exit(1);
    };
    let s = TcpStream::connect((server.as_str(), port))
        .unwrap_or_else(|e| err(format!("could not connect: {e}")));
    let mut c = Conn {
        r: BufReader::new(s.try_clone().unwrap_or_else(|e| err(e.to_string()))),
        w: s,
    };
    c.cmd("protid 9745").unwrap_or_else(|e| err(e));
    if auth || login.is_some() {
        let user = login.unwrap_or_else(|| std::env::var("USER").unwrap_or_default());
        let pass = std::env::var("MONPASS").unwrap_or_else(|_| {
            print!("Password: ");
            let _ = std::io::stdout().flush();
            let mut p = String::new();
            let _ = std::io::stdin().read_line(&mut p);
            p.trim_end().to_string()
        });
        c.cmd(&format!("login {user} {pass}"))
            .unwrap_or_else(|e| err(e));
    }
    let disabled_lines = c.cmd("list disabled").unwrap_or_else(|e| err(e));
    let mut state = c.cmd("list state").unwrap_or_else(|e| err(e)).join(" ");
    // Mon::Client shows the stop time as local time
    if let Some(t) = state
        .strip_prefix("scheduler stopped since ")
        .and_then(|t| t.trim().parse::<i64>().ok())
    {
        state = format!("scheduler stopped since {}", ctime(t));
    }
    let ops = c.cmd("list opstatus").unwrap_or_else(|e| err(e));
    let _ = c.cmd("quit");

    print!(
        "\n     server: {server}\n       time: {}\n      state: {state}\n",
        ctime(epoch())
    );
    if disabled {
        print_disabled(&disabled_lines);
        println!();
        return;
    }
    let dis_watch: Vec<&str> = disabled_lines
        .iter()
        .filter_map(|l| l.strip_prefix("watch "))
        .filter(|l| !l.contains(" service "))
        .collect();
    let mut rows: Vec<(&str, Vec<(String, String)>)> = Vec::new();
    // mon's order: independent failures first, then dependent ones, then
    // (with --showall) the rest
    let order: &[(i32, bool)] = &[
        (0, false),
        (4, false),
        (6, false),
        (2, false),
        (3, false),
        (0, true),
        (4, true),
        (6, true),
        (2, true),
        (3, true),
    ];
    let all_order: &[(i32, bool)] = &[
        (0, false),
        (4, false),
        (6, false),
        (2, false),
        (3, false),
        (7, false),
        (5, false),
        (0, true),
        (4, true),
        (6, true),
        (2, true),
        (3, true),
        (1, false),
        (1, true),
        (7, true),
        (5, true),
    ];
    let parsed: Vec<Vec<(String, String)>> = ops.iter().map(|l| opstatus(l)).collect();
    let get = |kv: &Vec<(String, String)>, k: &str| {
        kv.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    for (st, dep) in if full { all_order } else { order } {
        for kv in &parsed {
            let g = get(kv, "group");
            if dis_watch.contains(&g.as_str()) {
                continue;
            }
            let op: i32 = get(kv, "opstatus").parse().unwrap_or(-1);
            let has_dep = !get(kv, "depend").is_empty();
            if op == *st && has_dep == *dep {
                rows.push((if *dep { "D" } else { "R" }, kv.clone()));
            }
        }
    }
    if rows.is_empty() {
        print!("\nAll systems OK\n");
    } else {
        print!(
            "\n  GROUP           SERVICE      STATUS      LAST       NEXT       ALERTS SUMMARY\n"
        );
        let now = epoch();
        for (dep, kv) in rows {
            let op: i32 = get(&kv, "opstatus").parse().unwrap_or(-1);
            let (status, mut time) = match op {
                7 => ("untested".to_string(), "untested".to_string()),
                1 => ("-".into(), String::new()),
                0 if get(&kv, "ack") != "0" && !get(&kv, "ack").is_empty() => {
                    ("ACK FAIL".into(), String::new())
                }
                0 => ("FAIL".into(), String::new()),
                _ => ("unknown".into(), String::new()),
            };
            if time.is_empty() {
                time = tdiff(now - get(&kv, "last_check").parse::<i64>().unwrap_or(0));
            }
            let timer: i64 = get(&kv, "timer").parse().unwrap_or(0);
            let next = if timer < 60 {
                format!("{timer}s")
            } else {
                secs_to_hms(timer)
            };
            let mut summary = get(&kv, "last_summary");
            if summary.chars().count() > summary_len {
                summary = summary.chars().take(summary_len).collect::<String>() + "...";
            }
            let alerts = match get(&kv, "alerts_sent").as_str() {
                "" | "0" => "none".to_string(),
                a => a.to_string(),
            };
            let w = summary.chars().count().max(1);
            println!(
                "{} {} {} {}  {}   {} {}   {}",
                field(dep, 1),
                field(&get(&kv, "group"), 15),
                field(&get(&kv, "service"), 12),
                field(&status, 10),
                field(&time, 8),
                field(&next, 10),
                field(&alerts, 4),
                field(&summary, w)
            );
        }
    }
    if show_disabled {
        print_disabled(&disabled_lines);
    }
    println!();
}

fn print_disabled(lines: &[String]) {
    let watches: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("watch "))
        .filter(|l| !l.contains(" service "))
        .collect();
    let services: Vec<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("watch "))
        .filter_map(|l| l.split_once(" service ").map(|(w, s)| format!("{w} {s}")))
        .collect();
    let hosts: Vec<(&str, &str)> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("group "))
        .filter_map(|l| l.split_once(": "))
        .collect();
    if watches.is_empty() && services.is_empty() && hosts.is_empty() {
        print!("\nNothing is disabled.\n");
        return;
    }
    if !watches.is_empty() {
        print!("\nDISABLED WATCHES:\n");
        for w in watches {
            println!("{w}");
        }
    }
    if !services.is_empty() {
        print!("\nDISABLED SERVICES\n");
        for s in services {
            println!("{s}");
        }
    }
    if !hosts.is_empty() {
        print!("\nDISABLED HOSTS:\n");
        for (g, h) in hosts {
            println!("{g:<15} {h}");
        }
    }
}
