//! monshow(1): scheduler state, then the failing (or, with --showall,
//! all) services in mon's monshow table layout; as a CGI program (when
//! REQUEST_METHOD is set) the same as mon's monshow HTML pages.

#[path = "monshow/cgi.rs"]
mod cgi;

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

/// Where --view NAME is looked for, as in Debian's monshow.
const VIEWPATH: &str = "/etc/mon/monshow";

/// The original's usage text (Getopt::Long's complaint comes first).
fn usage_for(bad: Option<&str>) -> ! {
    if let Some(b) = bad {
        eprintln!("Unknown option: {b}");
    }
    eprint!(
        "\nusage: monshow [--auth] [--showall] [--full] [--login user] [--disabled]\n               [--server host] [--port num] [--rcfile file]\n\t       [--detail group,service] [--view name]\n    --showall      do not read rcfile and show opstatus of all services\n    --full         show disabled, failures, successes, and untested\n    --detail g,s   show detail (alert acks, etc.) for group,service\n    --view name    display a pre-defined view\n    --auth         authenticate to mon server\n    --disabled     show disabled\n    --prot ver     set protocol version, must match 1.2.3 format\n    --login user   use \"login\" as username while authenticating\n    --server host  use \"host\" as monhost, instead of MONHOST\n    --port num     use \"num\" as port number instead of default\n    --rcfile file  use \"file\" as config file instead of $HOME/.monshowrc\n\n"
    );
    std::process::exit(1);
}

fn usage() -> ! {
    usage_for(None)
}

/// What the server told us, as monshow's get_client_status gathers it.
struct Status {
    disabled: Vec<String>,
    state: String,
    /// every service's opstatus fields, in the server's order
    ops: Vec<Vec<(String, String)>>,
    /// (group, service, description)
    descriptions: Vec<(String, String, String)>,
    /// the detail service's group and its members, with `*` removed
    hosts: Option<(String, String)>,
}

impl Status {
    /// The opstatus fields of `group`/`service`.
    fn service(&self, g: &str, svc: &str) -> Option<&Vec<(String, String)>> {
        self.ops
            .iter()
            .find(|kv| get(kv, "group") == g && get(kv, "service") == svc)
    }
}

fn get(kv: &[(String, String)], k: &str) -> String {
    kv.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Query the server. `what`: the rc file's choice (empty: everything);
/// `detail`: the group,service whose group members are wanted too.
/// Errors are the original's messages for err_die.
fn fetch(
    server: &str,
    port: u16,
    login: Option<(String, String)>,
    what: &[Vec<String>],
    detail: Option<&str>,
) -> Result<(Status, Vec<(String, String)>), String> {
    let s = TcpStream::connect((server, port)).map_err(|e| {
        format!(
            "Could not connect to server: connect failed, {}",
            mon::error::errno_text(&e)
        )
    })?;
    let mut c = Conn {
        r: BufReader::new(s.try_clone().map_err(|e| e.to_string())?),
        w: s,
    };
    c.cmd("protid 9745")?;
    if let Some((user, pass)) = login {
        c.cmd(&format!("login {user} {pass}"))
            .map_err(|e| format!("Could authenticate: {e}"))?;
    }
    let disabled = c
        .cmd("list disabled")
        .map_err(|e| format!("could not get disabled: {e}"))?;
    let mut state = c
        .cmd("list state")
        .map_err(|e| format!("could not get state: {e}"))?
        .join(" ");
    // Mon::Client shows the stop time as local time
    if let Some(t) = state
        .strip_prefix("scheduler stopped since ")
        .and_then(|t| t.trim().parse::<i64>().ok())
    {
        state = format!("scheduler stopped since {}", ctime(t));
    }
    let watches: Vec<(String, String)> = c
        .cmd("list watch")
        .map_err(|e| format!("could not get opstatus: {e}"))?
        .iter()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect();
    // "watch G" entries stand for every service of G, in list watch order
    let chosen: Vec<(String, String)> = what
        .iter()
        .flat_map(|r| match r.as_slice() {
            [g, s] => vec![(g.clone(), s.clone())],
            [g] => watches.iter().filter(|(wg, _)| wg == g).cloned().collect(),
            _ => vec![],
        })
        .collect();
    let ops = if what.is_empty() {
        c.cmd("list opstatus")
    } else {
        let list: Vec<String> = chosen.iter().map(|(g, s)| format!("{g},{s}")).collect();
        c.cmd(&format!("list opstatus {}", list.join(" ")))
    }
    .map_err(|e| format!("could not get opstatus: {e}"))?;
    let ops: Vec<Vec<(String, String)>> = ops.iter().map(|l| opstatus(l)).collect();
    let descriptions = c
        .cmd("list descriptions")
        .map_err(|e| format!("could not list descriptions: {e}"))?
        .iter()
        .filter_map(|l| {
            let mut w = l.splitn(3, ' ');
            Some((
                w.next()?.to_string(),
                w.next()?.to_string(),
                un_esc_str(w.next().unwrap_or("")),
            ))
        })
        .collect();
    let mut hosts = None;
    if let Some(d) = detail {
        let g = d.split(',').next().unwrap_or("");
        if ops.iter().any(|kv| get(kv, "group") == g) {
            let lines = c
                .cmd(&format!("list group {g}"))
                .map_err(|e| format!("could not list group: {e}"))?;
            let members: Vec<String> = lines
                .first()
                .map(|l| {
                    l.split_whitespace()
                        .skip(2)
                        .map(|h| h.replacen('*', "", 1))
                        .collect()
                })
                .unwrap_or_default();
            hosts = Some((g.to_string(), members.join(" ")));
        }
    }
    let _ = c.cmd("quit");
    Ok((
        Status {
            disabled,
            state,
            ops,
            descriptions,
            hosts,
        },
        chosen,
    ))
}

/// The services the table shows, with "R" (independent) or "D"
/// (dependent), in mon's order: independent failures first, then
/// dependent ones, then (full) the rest. Disabled watches are left out.
fn select_rows<'a>(
    st: &'a Status,
    chosen: &[(String, String)],
    every: bool,
    full: bool,
) -> Vec<(&'static str, &'a Vec<(String, String)>)> {
    let dis_watch: Vec<&str> = st
        .disabled
        .iter()
        .filter_map(|l| l.strip_prefix("watch "))
        .filter(|l| !l.contains(" service "))
        .collect();
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
    // every service (--showall or nothing chosen), else the chosen ones
    // in the order chosen
    let candidates: Vec<&Vec<(String, String)>> = if every {
        st.ops.iter().collect()
    } else {
        chosen
            .iter()
            .filter_map(|(g, s)| st.service(g, s))
            .collect()
    };
    let mut rows = Vec::new();
    for (op_wanted, dep) in if full { all_order } else { order } {
        for kv in candidates.iter().copied() {
            if dis_watch.contains(&get(kv, "group").as_str()) {
                continue;
            }
            let op: i32 = get(kv, "opstatus").parse().unwrap_or(-1);
            let has_dep = !get(kv, "depend").is_empty();
            if op == *op_wanted && has_dep == *dep {
                rows.push((if *dep { "D" } else { "R" }, kv));
            }
        }
    }
    rows
}

/// One table row's columns as monshow computes them.
struct RowText {
    status: String,
    time: String,
    next: String,
    alerts: String,
    summary: String,
}

fn row_text(
    kv: &[(String, String)],
    summary_len: usize,
    acked: &dyn Fn(&str) -> String,
) -> RowText {
    let op: i32 = get(kv, "opstatus").parse().unwrap_or(-1);
    let (status, mut time) = match op {
        7 => ("untested".to_string(), "untested".to_string()),
        1 => ("-".into(), String::new()),
        0 if get(kv, "ack") != "0" && !get(kv, "ack").is_empty() => {
            (acked("ACK FAIL"), String::new())
        }
        0 => ("FAIL".into(), String::new()),
        _ => ("unknown".into(), String::new()),
    };
    if time.is_empty() {
        time = tdiff(epoch() - get(kv, "last_check").parse::<i64>().unwrap_or(0));
    }
    let timer: i64 = get(kv, "timer").parse().unwrap_or(0);
    let next = if timer < 60 {
        format!("{timer}s")
    } else {
        secs_to_hms(timer)
    };
    let mut summary = get(kv, "last_summary");
    if summary.chars().count() > summary_len {
        summary = summary.chars().take(summary_len).collect::<String>() + "...";
    }
    let alerts = match get(kv, "alerts_sent").as_str() {
        "" | "0" => "none".to_string(),
        a => a.to_string(),
    };
    RowText {
        status,
        time,
        next,
        alerts,
        summary,
    }
}

fn main() {
    if std::env::var_os("REQUEST_METHOD").is_some() {
        cgi::main();
    }
    let mut showall = false;
    let mut disabled = false;
    let mut auth = false;
    let mut login: Option<String> = None;
    let mut server: Option<String> = None;
    let mut port: Option<u16> = None;
    let mut rcfile: Option<String> = None;
    let mut full = false;
    let mut detail: Option<String> = None;
    let mut watch: Option<String> = None;
    let mut view: Option<String> = None;
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
            "detail" => detail = Some(val()),
            "watch" => watch = Some(val()),
            "view" => view = Some(val()),
            // the old-protocol selector: our server speaks one protocol
            "prot" => {
                val();
            }
            "help" => usage(),
            _ => usage_for(Some(&name)),
        }
    }
    // the rc file (--rcfile, the view's file, ~/.monshowrc, else
    // /etc/mon/monshowrc): "set key [value]" lines, and "watch G" /
    // "service G S" lines that choose what is shown
    let home_rc = std::env::var("HOME")
        .map(|h| format!("{h}/.monshowrc"))
        .unwrap_or_default();
    let path = if let Some(r) = rcfile.clone() {
        r
    } else if let Some(v) = view.as_deref().filter(|v| !v.is_empty()) {
        format!("{VIEWPATH}/{v}")
    } else if std::path::Path::new(&home_rc).is_file() {
        home_rc
    } else {
        "/etc/mon/monshowrc".into()
    };
    let is_view = rcfile.is_none() && view.as_deref().is_some_and(|v| !v.is_empty());
    let rc = load_rc(&path, is_view, err_die);
    let mut what = rc.what.clone();
    if rc.set("full").is_some() {
        full = true;
    }
    if let Some(w) = watch {
        what = vec![vec![w]];
    }
    if showall {
        full = true;
    }
    let server = server
        .or(rc.set("host"))
        .or_else(|| std::env::var("MONHOST").ok())
        .unwrap_or_else(|| "localhost".into());
    let port = port
        .or_else(|| rc.set("port").and_then(|p| p.parse().ok()))
        .unwrap_or(2583);
    let login = (auth || login.is_some()).then(|| {
        let user = login.unwrap_or_else(|| std::env::var("USER").unwrap_or_default());
        let pass = std::env::var("MONPASS").unwrap_or_else(|_| {
            print!("Password: ");
            let _ = std::io::stdout().flush();
            let mut p = String::new();
            let _ = std::io::stdin().read_line(&mut p);
            p.trim_end().to_string()
        });
        (user, pass)
    });
    let (st, chosen) = match fetch(&server, port, login, &what, detail.as_deref()) {
        Ok(r) => r,
        Err(e) => err_die(&e),
    };

    print!(
        "\n     server: {server}\n       time: {}\n      state: {}\n",
        ctime(epoch()),
        st.state
    );
    if disabled {
        print_disabled(&st.disabled);
        println!();
        return;
    }
    if let Some(d) = &detail {
        let (g, svc) = d.split_once(',').unwrap_or((d.as_str(), ""));
        let Some(kv) = st.service(g, svc) else {
            err_die(&format!("{g}/{svc} not a valid service"));
        };
        print_detail(g, svc, kv, description(&st, g, svc), group_hosts(&st, g));
        println!();
        return;
    }
    let rows = select_rows(&st, &chosen, showall || what.is_empty(), full);
    if rows.is_empty() {
        print!("\nAll systems OK\n");
    } else {
        print!(
            "\n  GROUP           SERVICE      STATUS      LAST       NEXT       ALERTS SUMMARY\n"
        );
        for (dep, kv) in rows {
            let r = row_text(kv, rc.summary_len(), &|s| s.to_string());
            let w = r.summary.chars().count().max(1);
            println!(
                "{} {} {} {}  {}   {} {}   {}",
                field(dep, 1),
                field(&get(kv, "group"), 15),
                field(&get(kv, "service"), 12),
                field(&r.status, 10),
                field(&r.time, 8),
                field(&r.next, 10),
                field(&r.alerts, 4),
                field(&r.summary, w)
            );
        }
    }
    if rc.set("show-disabled").is_some() {
        print_disabled(&st.disabled);
    }
    println!();
}

fn description<'a>(st: &'a Status, g: &str, svc: &str) -> &'a str {
    st.descriptions
        .iter()
        .find(|(dg, ds, _)| dg == g && ds == svc)
        .map(|(_, _, t)| t.as_str())
        .unwrap_or("")
}

fn group_hosts<'a>(st: &'a Status, g: &str) -> &'a str {
    st.hosts
        .as_ref()
        .filter(|(gg, _)| gg == g)
        .map(|(_, h)| h.as_str())
        .unwrap_or("")
}

/// Read the rc file at `path` (none there is fine, unless it names a
/// view); errors go to `die`, the output mode's err_die.
fn load_rc(path: &str, is_view: bool, die: fn(&str) -> !) -> Rc {
    match std::fs::read_to_string(path) {
        Ok(text) => match read_rc(&text) {
            Ok(rc) => rc,
            // the original closes the file before reading $. for the
            // message, so it always says line 0
            Err(_line) => die("error in config file, line 0"),
        },
        Err(_) if is_view && !std::path::Path::new(path).is_file() => die("no view found"),
        Err(_) => Rc::default(),
    }
}

/// An opstatus as monshow shows it: "fail (0)", or the number alone
/// when it has no name.
fn opstatus_text(op: &str) -> String {
    let name = match op {
        "0" => "fail",
        "1" => "ok",
        "2" => "coldstart",
        "3" => "warmstart",
        "4" => "linkdown",
        "5" => "unknown",
        "6" => "timeout",
        "7" => "untested",
        "8" => "dependency",
        _ => return op.to_string(),
    };
    format!("{name} ({op})")
}

/// monshow's --detail text for one service.
fn print_detail(g: &str, svc: &str, kv: &[(String, String)], desc: &str, hosts: &str) {
    let get = |k: &str| {
        kv.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let opstatus = opstatus_text(&get("opstatus"));
    let num = |k: &str| mon::perlnum::numify(&get(k)) as i64;
    let wrap = |t: &str| mon::scripts::text_wrap(70, "    ", "    ", t);
    print!(
        "\nDetail for group {g} service {svc}\n\ndescription\n-----------\n{}\nsummary\n-------\n{}\nhosts\n-----\n{}\n\n-----DETAIL-----\n{}\n-----DETAIL-----\n\n",
        wrap(desc),
        wrap(&get("last_summary")),
        wrap(hosts),
        get("last_detail")
    );
    let ack = get("ack");
    if !ack.is_empty() && ack != "0" {
        print!("alert ack:  {}\n\n", get("ackcomment"));
    }
    // the original fills in neither depend nor monitor here
    print!(
        "  opstatus: {opstatus}\n   exitval: {}\n    depend: \n   monitor: \nlast check: {} ago\nnext_check: in {}\n\n",
        get("exitval"),
        tdiff(epoch() - num("last_check")),
        tdiff(num("timer"))
    );
}

/// The original's err_die: the message on standard output, exit 1.
fn err_die(msg: &str) -> ! {
    print!("Error: {msg}\n\n");
    let _ = std::io::stdout().flush();
    std::process::exit(1);
}

/// What a monshow rc file says: its `set` lines, and the services chosen
/// by `watch G` and `service G S` lines.
#[derive(Default)]
struct Rc {
    sets: Vec<(String, Option<String>)>,
    what: Vec<Vec<String>>,
    /// `set html-header` text, up to END (blank and comment lines left
    /// out, as the original reads them)
    html_header: String,
    /// (group, service, URL, `link-text` if any)
    links: Vec<(String, String, String, Option<String>)>,
}

impl Rc {
    /// A `set` key's value: its argument, or "1" when it has none (the
    /// last such line wins).
    fn set(&self, key: &str) -> Option<String> {
        self.sets
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone().unwrap_or_else(|| "1".into()))
    }

    fn summary_len(&self) -> usize {
        self.set("summary-len")
            .and_then(|n| n.parse().ok())
            .unwrap_or(80)
    }
}

/// Parse an rc file the way monshow does; Err(line number) on a line it
/// does not understand.
fn read_rc(text: &str) -> Result<Rc, usize> {
    let mut rc = Rc::default();
    // inside html-header (None) or a link's text (Some(index)), up to END
    let mut block: Option<Option<usize>> = None;
    for (n, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        if let Some(into) = block {
            if raw.starts_with("END") && raw[3..].trim().is_empty() {
                block = None;
            } else {
                let line = format!("{raw}\n");
                match into {
                    None => rc.html_header.push_str(&line),
                    Some(i) => rc.links[i]
                        .3
                        .get_or_insert_with(String::new)
                        .push_str(&line),
                }
            }
            continue;
        }
        let w: Vec<&str> = t.split_whitespace().collect();
        match w[0].to_lowercase().as_str() {
            "set" if w.len() >= 2 => {
                const KNOWN: &[&str] = &[
                    "show-disabled",
                    "host",
                    "prot",
                    "port",
                    "full",
                    "bg",
                    "bg-ok",
                    "bg-fail",
                    "bg-untested",
                    "table-color",
                    "refresh",
                    "summary-len",
                ];
                if w[1] == "html-header" {
                    block = Some(None);
                } else if KNOWN.contains(&w[1]) {
                    rc.sets
                        .push((w[1].to_string(), w.get(2).map(|v| v.to_string())));
                } else {
                    eprintln!("unknown set, line {}", n + 1);
                }
            }
            _ if w[0] == "watch" && w.len() >= 2 => rc.what.push(vec![w[1].to_string()]),
            _ if w[0] == "service" && w.len() >= 3 => {
                rc.what.push(vec![w[1].to_string(), w[2].to_string()])
            }
            "link" if w.len() >= 4 => {
                let url = t.splitn(4, char::is_whitespace).nth(3).unwrap_or("");
                let (g, s) = (w[1].to_string(), w[2].to_string());
                match rc.links.iter_mut().find(|l| l.0 == g && l.1 == s) {
                    Some(l) => l.2 = url.trim_start().to_string(),
                    None => rc.links.push((g, s, url.trim_start().to_string(), None)),
                }
            }
            "link-text" if w.len() >= 3 => {
                let (g, s) = (w[1].to_string(), w[2].to_string());
                let i = match rc.links.iter().position(|l| l.0 == g && l.1 == s) {
                    Some(i) => i,
                    None => {
                        rc.links.push((g, s, String::new(), None));
                        rc.links.len() - 1
                    }
                };
                block = Some(Some(i));
            }
            _ => return Err(n + 1),
        }
    }
    Ok(rc)
}

type DisabledParts<'a> = (Vec<&'a str>, Vec<String>, Vec<(&'a str, &'a str)>);

/// `list disabled` as monshow lists it: watches, "watch service"
/// pairs, and (group, hosts).
fn disabled_parts(lines: &[String]) -> DisabledParts<'_> {
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
    (watches, services, hosts)
}

fn print_disabled(lines: &[String]) {
    let (watches, services, hosts) = disabled_parts(lines);
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
