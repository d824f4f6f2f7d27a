//! monshow as a CGI program: when REQUEST_METHOD is set, mon's monshow
//! answers with HTML pages (summary table, one watch, one service's
//! detail, the disabled list) chosen by the query string, and the same
//! page layout, colours and links. Command-line options do not apply;
//! the rc file is the view named by PATH_INFO or `view=`, else
//! ./.monshowrc, else /etc/mon/monshowrc.

use super::*;

/// The query string's `var=val` pairs. Like the original, pairs are
/// split on `?` (not `&`) and nothing is URL-decoded; a later pair wins.
fn query_args(q: &str) -> Vec<(String, Option<String>)> {
    let mut args: Vec<(String, Option<String>)> = Vec::new();
    for e in q.split('?').filter(|e| e.contains('=')) {
        let mut parts = e.split('=');
        let var = parts.next().unwrap_or("").to_string();
        // Perl's split drops trailing empty fields: "detail=" has no value
        let val = parts.next().filter(|v| !v.is_empty()).map(str::to_string);
        args.retain(|(v, _)| *v != var);
        args.push((var, val));
    }
    args
}

/// Perl truth of a query value: set, not "" and not "0".
fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| !v.is_empty() && v != "0")
}

/// The original's err_die as a CGI: an error page, exit 1.
fn err_die(msg: &str) -> ! {
    print!(
        "Content-type: text/html\n\n<html>\n<head>\n<title> Error </title>\n</head>\n<body>\n<h2> Error </h2>\n<pre>\n{msg}\n</pre>\n</body>\n</html>\n"
    );
    let _ = std::io::stdout().flush();
    std::process::exit(1);
}

/// `<pre> </pre>` for an empty (or blank) cell, as the original pads.
fn pad(s: &str) -> String {
    if s.trim().is_empty() {
        "<pre> </pre>".into()
    } else {
        s.to_string()
    }
}

/// The page's colours from the rc file, with the original's defaults.
struct Colours {
    bg: String,
    ok: String,
    fail: String,
    untested: String,
    table: String,
}

impl Colours {
    fn of(rc: &Rc) -> Colours {
        let c = |k: &str, d: &str| rc.set(k).unwrap_or_else(|| d.into());
        Colours {
            bg: c("bg", "d5d5d5"),
            ok: c("bg-ok", "a0d0a0"),
            fail: c("bg-fail", "e088b7"),
            untested: c("bg-untested", "e0e0e0"),
            table: c("table-color", "cccccc"),
        }
    }

    /// A row's ` bgcolor="#…"` attribute text for an opstatus ("" when
    /// the status has no colour).
    fn of_status(&self, op: &str) -> String {
        let c = match op {
            "7" => &self.untested,
            "1" => &self.ok,
            "0" => &self.fail,
            _ => return String::new(),
        };
        if c.is_empty() {
            String::new()
        } else {
            format!("bgcolor=\"#{c}\"")
        }
    }
}

pub fn main() -> ! {
    let query = query_args(&std::env::var("QUERY_STRING").unwrap_or_default());
    let q = |k: &str| {
        query
            .iter()
            .find(|(v, _)| v == k)
            .and_then(|(_, val)| val.clone())
    };
    let script = std::env::var("SCRIPT_NAME").unwrap_or_default();
    let path_info = std::env::var("PATH_INFO").unwrap_or_default();
    let clean = |p: &str| p.trim_start_matches(['.', '/']).replace("..", "");
    let (path, view_name, is_view) = if path_info.len() > 1
        && path_info.starts_with('/')
        && !path_info[1..].starts_with(char::is_whitespace)
    {
        let p = clean(&path_info).trim_end_matches('/').replace("..", "");
        (format!("{VIEWPATH}/{p}"), p, true)
    } else if let Some(v) = q("view") {
        let v = clean(&v);
        (format!("{VIEWPATH}/{v}"), v, true)
    } else if std::path::Path::new(".monshowrc").is_file() {
        (".monshowrc".to_string(), String::new(), false)
    } else {
        ("/etc/mon/monshowrc".to_string(), String::new(), false)
    };
    let rc = load_rc(&path, is_view, err_die);
    let mut what = rc.what.clone();
    let watch = q("watch");
    if let Some(w) = watch.clone().filter(|w| truthy(Some(w))) {
        what = vec![vec![w]];
    }
    let host = rc.set("host").unwrap_or_else(|| "localhost".into());
    let port = rc.set("port").and_then(|p| p.parse().ok()).unwrap_or(2583);
    let detail = q("detail").filter(|d| truthy(Some(d)));
    let (st, chosen) = match fetch(&host, port, None, &what, detail.as_deref()) {
        Ok(r) => r,
        Err(e) => err_die(&e),
    };
    let colours = Colours::of(&rc);
    let mut out = header(&rc, &colours, &host, &st.state, &view_name);
    if truthy(q("disabled").as_deref()) {
        out += &disabled(&st.disabled);
    } else if let Some(d) = &detail {
        out += &service_detail(d, &st, &rc, &colours, &script);
    } else {
        let rows = select_rows(&st, &chosen, what.is_empty(), rc.set("full").is_some());
        out += &table(&rows, &st, &rc, &colours, &script);
        if rc.set("show-disabled").is_some() {
            out += &disabled(&st.disabled);
        }
        if truthy(watch.as_deref()) {
            out += &format!("       <a href=\"{script}\">Back to summary table</a><br>\n");
        }
    }
    out += "</body>\n</html>\n";
    print!("Content-type: text/html\n\n{out}\n");
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}

fn header(rc: &Rc, c: &Colours, host: &str, state: &str, view: &str) -> String {
    let mut o = String::from("<html>\n<head>\n<title> Operational Status </title>\n");
    if let Some(r) = rc.set("refresh") {
        o += &format!(
            "<META HTTP-EQUIV=\"Pragma\" CONTENT=\"no-cache\">\n<META HTTP-EQUIV=\"Refresh\" CONTENT={r}>\n"
        );
    }
    o += &format!("</head>\n<body bgcolor=\"#{}\">\n", c.bg);
    o += &rc.html_header;
    o += &format!(
        "<h1><FONT FACE=\"sans-serif\">Operational Status</font></h1>\n\n<table width=\"100%\">\n    <tr>\n\t<td>\n\t    <table>\n\t\t<tr>\n\t\t    <td align=right><b>Server:</b></td>\n\t\t    <td> {host} </td>\n\t\t</tr>\n\t\t<tr>\n\t\t    <td align=right><b>Time:</b></td>\n\t\t    <td> {} </td>\n\t\t</tr>\n\t\t<tr>\n\t\t    <td align=right><b>State:</b></td>\n\t\t    <td> {state} </td>\n\t\t</tr>\n",
        ctime(epoch())
    );
    if !view.is_empty() {
        o += &format!(
            "\t\t<tr>\n\t\t    <td align=right><b>View:</b></td>\n\t\t    <td><b>{view}</b></td>\n\t\t</tr>\n"
        );
    }
    o += &format!(
        "\t    </table>\n\t</td>\n\n\t<td>\n\t    <table>\n\t\t<tr>\n\t\t    <td><FONT FACE=\"sans-serif\">Color legend</FONT></td>\n\t\t</tr>\n\t\t<tr>\n\t\t    <td bgcolor=\"#{}\"> all is OK </td>\n\t\t</tr>\n\t\t<tr>\n\t\t    <td bgcolor=\"#{}\"> failure </td>\n\t\t</tr>\n\t\t<tr>\n\t\t    <td bgcolor=\"#{}\"> untested </td>\n\t\t</tr>\n\t    </table>\n\t</td>\n    </tr>\n</table>\n<p>\n<hr>\n",
        c.ok, c.fail, c.untested
    );
    o
}

fn table(
    rows: &[(&str, &Vec<(String, String)>)],
    st: &Status,
    rc: &Rc,
    c: &Colours,
    script: &str,
) -> String {
    if rows.is_empty() {
        return "<h2> All systems OK </h2>\n<p>\n\n".into();
    }
    let mut o = format!(
        "\n<table cellpadding=2 cellspacing=1 bgcolor=\"#{}\" width=\"100%\">\n    <tr>\n",
        c.table
    );
    for h in [
        "Dep",
        "Group",
        "Service",
        "Desc.",
        "Last check",
        "Next check",
        "Alerts",
        "Status",
        "Summary",
    ] {
        o += &format!("\t<th><FONT FACE=\"sans-serif\">{h}</FONT></th>\n");
    }
    o += "    </tr>\n\n";
    for (dep, kv) in rows {
        let (g, s) = (get(kv, "group"), get(kv, "service"));
        let acked = |t: &str| format!("<a href=\"{script}?detail={g},{s}\"><b>{t}</b></a>");
        let r = row_text(kv, rc.summary_len(), &acked);
        let summary = if r.summary.trim().is_empty() {
            "<pre> </pre>".to_string()
        } else {
            format!("<small>{}</small>", r.summary)
        };
        o += &format!(
            "\n<tr {}>\n   <td> {dep} </td>\n   <td> <a href=\"{script}?watch={g}\">{g}</a> </td>\n   <td> <a href=\"{script}?detail={g},{s}\">{s}</a> </td>\n   <td> <small>{}</small> </td>\n   <td> {} </td>\n   <td> {} </td>\n   <td> {} </td>\n   <td> {} </td>\n   <td> {summary} </td>\n</tr>\n",
            c.of_status(&get(kv, "opstatus")),
            pad(description(st, &g, &s)),
            r.time,
            r.next,
            r.alerts,
            r.status,
        );
    }
    o + "</table>\n\n"
}

fn disabled(lines: &[String]) -> String {
    let (watches, services, hosts) = disabled_parts(lines);
    if watches.is_empty() && services.is_empty() && hosts.is_empty() {
        return "<br>\nNothing is disabled.\n<p>\n".into();
    }
    let mut o = String::new();
    if !watches.is_empty() {
        o += "\n<h2> Disabled Watches </h2>\n\n";
        for w in watches {
            o += &format!("{w} <br>\n");
        }
    }
    if !services.is_empty() {
        o += "\n<h2> Disabled Services </h2>\n\n";
        for s in services {
            o += &format!("{s} <br>\n");
        }
    }
    if !hosts.is_empty() {
        o += "\n<h2> Disabled Hosts </h2>\n\n";
        for (g, h) in hosts {
            o += &format!("{g:<15} {h} <br>\n");
        }
    }
    o
}

/// The detail page of `group,service`.
fn service_detail(arg: &str, st: &Status, rc: &Rc, c: &Colours, script: &str) -> String {
    let (g, svc) = arg.split_once(',').unwrap_or((arg, ""));
    let Some(kv) = st.service(g, svc) else {
        err_die(&format!("{g}/{svc} not a valid service"));
    };
    let raw = |k: &str| get(kv, k);
    let op = raw("opstatus");
    let bg = c.of_status(&op);
    // the values shown, where monshow replaces the server's: blank ones
    // padded, times made readable
    let mut shown: Vec<(&str, String)> = Vec::new();
    for k in [
        "opstatus",
        "exitval",
        "last_check",
        "timer",
        "ack",
        "ackcomment",
    ] {
        let v = if k == "opstatus" {
            opstatus_text(&op)
        } else {
            raw(k)
        };
        shown.push((k, pad(&v)));
    }
    let num = |k: &str| mon::perlnum::numify(&raw(k)) as i64;
    let set = |shown: &mut Vec<(&str, String)>, k: &'static str, v: String| {
        shown.retain(|(n, _)| *n != k);
        shown.push((k, v));
    };
    set(
        &mut shown,
        "last_check",
        format!("{} ago", tdiff(epoch() - num("last_check"))),
    );
    set(&mut shown, "timer", format!("in {}", tdiff(num("timer"))));
    for k in [
        "last_success",
        "last_failure",
        "first_failure",
        "last_alert",
    ] {
        if num(k) != 0 {
            set(&mut shown, k, ctime(num(k)));
        }
    }
    if num("first_failure") != 0 {
        set(
            &mut shown,
            "failure_duration",
            secs_to_hms(num("failure_duration")),
        );
    }
    let value = |k: &str| {
        shown
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| raw(k))
    };
    let mut o = format!(
        "\n<h2><FONT FACE=\"sans-serif\">Detail for {g}/{svc}</font></h2>\n\n<table width=\"100%\">\n    <tr {bg}>\n    \t<td align=right width=\"15%\"> <b> Description: </b> <td> {}\n    <tr {bg}>\n\t<td align=right width=\"15%\"> <b> Summary: </b> <td> {}\n    <tr {bg}>\n\t<td align=right width=\"15%\"> <b> Hosts: </b> <td> {}\n    <tr {bg}>\n\t<td valign=top align=right width=\"15%\"> <b> Detail: </b>\n\t<td>\n\t<pre>\n{}\n\t</pre>\n</table>\n",
        pad(description(st, g, svc)),
        pad(&raw("last_summary")),
        pad(group_hosts(st, g)),
        raw("last_detail"),
    );
    if truthy(Some(&value("ack"))) {
        o += &format!(
            "<table width=\"100%\">\n    <tr>\n    \t<td align=right width=\"15%\"> <h2>Acknowledgment of failure</h2> </td>\n    <tr>\n\t<td align=right width=\"15%\"> {}\n</table>\n\n",
            pad(&value("ackcomment"))
        );
    }
    o += "<table cellpadding=2 cellspacing=1 bgcolor=\"#CCCCCC\" width=\"100%\">\n";
    // (key, label, when to leave the row out, how to show the value):
    // 1 = when zero, 2 = when empty; s = seconds, b = boolean
    const ROWS: &[(&str, &str, u8, char)] = &[
        ("opstatus", "Operational Status", 0, ' '),
        ("exitval", "Exit Value", 0, ' '),
        ("depend", "Dependency", 2, ' '),
        ("monitor", "Monitor Program", 2, ' '),
        ("last_check", "Last Check", 2, ' '),
        ("timer", "Next Check", 2, ' '),
        ("last_success", "Last Success", 2, ' '),
        ("last_failure", "Last Failure", 2, ' '),
        ("first_failure", "First Failure", 2, ' '),
        ("failure_duration", "Failure Duration", 2, ' '),
        ("interval", "Schedule Interval", 0, 's'),
        ("exclude_period", "Exclude Period", 2, ' '),
        ("exclude_hosts", "Exclude Hosts", 2, ' '),
        ("randskew", "Random Skew", 1, 's'),
        ("alerts_sent", "Alerts Sent", 1, ' '),
        ("last_alert", "Last Alert", 2, ' '),
        ("monitor_duration", "Monitor Execution Duration", 2, 's'),
        ("monitor_running", "Monitor currently running", 0, 'b'),
    ];
    for &(k, label, leave_out, kind) in ROWS {
        let mut v = value(k);
        match kind {
            's' if mon::perlnum::numify(&v) >= 0.0 => {
                v = secs_to_hms(mon::perlnum::numify(&v) as i64)
            }
            'b' => {
                v = if mon::perlnum::numify(&v) == 0.0 {
                    "false"
                } else {
                    "true"
                }
                .into()
            }
            _ => {}
        }
        if (leave_out == 1 && mon::perlnum::numify(&v) == 0.0) || (leave_out == 2 && v.is_empty()) {
            continue;
        }
        o += &format!(
            "    <tr>\n    \t<td align=right width=\"15%\"><b>{label}:</b></td>\n\t<td> {v} </td>\n"
        );
    }
    o += "</table>\n\n";
    if let Some((_, _, url, text)) = rc.links.iter().find(|l| l.0 == g && l.1 == svc) {
        match text {
            Some(t) => {
                o += &format!("<p>\n<h2><a href=\"{url}\">More Information</a></h2>\n{t}\n\n")
            }
            None => o += &format!("<p>\n<a href=\"{url}\">{url}</a>\n\n"),
        }
    }
    // (sic: the original's link to the group's table says "group")
    o += &format!(
        "<p>\n<a href=\"{script}?watch=group\">Back to {g} table</a>\n<a href=\"{script}\">Back to summary table</a>\n<p>\n\n"
    );
    o
}
