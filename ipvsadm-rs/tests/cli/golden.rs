//! Replays the golden transcripts of the reference (Appendix A-G of
//! ipvs.md, captured from Debian's real ipvsadm 1.31 against a fake
//! kernel) and compares stdout, stderr and exit status byte for byte.

use std::io::Write;

use ipvs::fake::{Call, Op};

use super::support::*;

const APPENDIX: &str = include_str!("appendix.txt");

/// The `/proc/net/ip_vs_conn` content of Appendix B.
pub const CONN_TXT: &str = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP C0A80064 D431 C0A8010A 0050 0A000002 0050 ESTABLISHED     893
TCP C0A80065 D432 C0A8010A 0050 0A000001 1F90 TIME_WAIT        65
UDP C0A80066 8235 C0A8010A 0035 0A000003 0035 UDP             299
TCP 7F000001 9C40 7F000001 0050 7F000001 1F90 SYN_RECV         30
TCP 2001:0db8:0000:0000:0000:0000:0000:0099 C350 2001:0db8:0000:0000:0000:0000:0000:0001 01BB 2001:0db8:0000:0000:0000:0000:0000:0010 01BB ESTABLISHED    7200
UDP C0A80067 13C4 C0A80114 13C4 0A000004 13C4 UDP             180 sip 0123456789abcdef@host
TCP C0A80068 0000 0A010101 01BB C8000001 01BB NONE            299
";

#[derive(Debug, Default, Clone)]
pub struct Case {
    pub header: String,
    pub cond: Option<String>,
    pub args: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    pub stdout: String,
    pub stderr: String,
    pub exit: Option<i32>,
    pub requests: Vec<String>,
    /// Whether the transcript lists the netlink requests sent, and their
    /// raw bytes (hex, groups joined).
    pub has_netlink: bool,
    pub raw: Vec<String>,
}

/// Undo `sed -n l`: `$` ends a line, `\t`, `\r`, `\\` escapes.
fn unescape_sed_l(line: &str) -> Vec<u8> {
    let body = line.strip_suffix('$').unwrap_or(line);
    let mut out = Vec::new();
    let mut it = body.bytes();
    while let Some(c) = it.next() {
        if c == b'\\' {
            match it.next() {
                Some(b't') => out.push(b'\t'),
                Some(b'r') => out.push(b'\r'),
                Some(b'n') => out.push(b'\n'),
                Some(b'\\') => out.push(b'\\'),
                Some(o) => {
                    out.push(b'\\');
                    out.push(o);
                }
                None => out.push(b'\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn parse_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut cur: Option<Case> = None;
    let mut section = "";
    for line in APPENDIX.lines() {
        if let Some(h) = line.strip_prefix("$ ") {
            if let Some(c) = cur.take() {
                cases.push(c);
            }
            let mut c = Case {
                header: h.to_string(),
                ..Default::default()
            };
            let mut rest = h;
            if let Some(r) = rest.strip_prefix('(') {
                if let Some(end) = r.find(") ") {
                    c.cond = Some(r[..end].to_string());
                    rest = &r[end + 2..];
                }
            }
            let rest = rest.strip_prefix("ipvsadm").unwrap_or(rest);
            // Split on single spaces so empty arguments survive; a trailing
            // blank after the program name alone means no argument.
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            c.args = if rest.is_empty() {
                Vec::new()
            } else {
                rest.split(' ').map(|s| s.to_string()).collect()
            };
            // The words of rin*.txt redirections are not arguments.
            if let Some(p) = c.args.iter().position(|a| a == "<") {
                c.args.truncate(p);
            }
            cur = Some(c);
            section = "";
            continue;
        }
        if line.starts_with("```") || line.starts_with("### ") {
            if let Some(c) = cur.take() {
                cases.push(c);
            }
            section = "";
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        if line == "--- stdout" {
            section = "stdout";
        } else if line == "--- stderr" {
            section = "stderr";
        } else if let Some(n) = line.strip_prefix("--- exit ") {
            c.exit = n.trim().parse().ok();
            section = "";
        } else if line == "--- stdin:" {
            section = "stdin";
            c.stdin = Some(Vec::new());
        } else if line == "--- requests:" {
            section = "requests";
        } else if line.starts_with("--- netlink requests sent") {
            section = "netlink";
            c.has_netlink = true;
        } else {
            match section {
                "stdout" => {
                    c.stdout.push_str(line.strip_suffix('|').unwrap_or(line));
                    c.stdout.push('\n');
                }
                "stderr" => {
                    c.stderr.push_str(line.strip_suffix('|').unwrap_or(line));
                    c.stderr.push('\n');
                }
                "stdin" => {
                    let s = c.stdin.get_or_insert_with(Vec::new);
                    s.extend_from_slice(&unescape_sed_l(line));
                    s.push(b'\n');
                }
                "requests" => c.requests.push(line.trim().to_string()),
                "netlink" => {
                    if let Some(r) = line.trim().strip_prefix("raw: ") {
                        c.raw.push(r.replace(' ', ""));
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(c) = cur.take() {
        cases.push(c);
    }
    cases
}

/// The transcripts that record what was sent on the wire, with the raw
/// requests after GET_INFO.
pub fn parse_cases_with_raw() -> Vec<(Case, Vec<String>)> {
    parse_cases()
        .into_iter()
        .filter(|c| c.has_netlink && c.exit.is_some())
        .map(|c| {
            let r = c.raw.clone();
            (c, r)
        })
        .collect()
}

fn op_of(cmd: &str) -> Op {
    match cmd {
        "NEW_SERVICE" => Op::AddService,
        "SET_SERVICE" => Op::EditService,
        "DEL_SERVICE" => Op::DelService,
        "NEW_DEST" => Op::AddDest,
        "SET_DEST" => Op::EditDest,
        "DEL_DEST" => Op::DelDest,
        "NEW_DAEMON" => Op::StartDaemon,
        "DEL_DAEMON" => Op::StopDaemon,
        "SET_CONFIG" => Op::SetTimeouts,
        "ZERO" => Op::Zero,
        "FLUSH" => Op::Flush,
        "GET_SERVICE dump" => Op::Services,
        "GET_DEST dump" => Op::Destinations,
        "GET_SERVICE" => Op::Service,
        "GET_TIMEOUT" => Op::Timeouts,
        "GET_DAEMON" => Op::Daemons,
        "GET_INFO" => Op::Info,
        other => panic!("unknown command {other}"),
    }
}

fn genl_cmd_op(n: u32) -> Op {
    match n {
        1 => Op::AddService,
        5 => Op::AddDest,
        other => panic!("unexpected genl cmd {other}"),
    }
}

/// Set up the fake kernel and host for a transcript's condition.
fn setup(c: &Case, conn_file: &std::path::Path) -> (Option<ipvs::fake::FakeIpvs>, FakeHost) {
    let mut k = reference_kernel();
    let mut host = FakeHost::default();
    let Some(cond) = c.cond.as_deref() else {
        return (Some(k), host);
    };
    if let Some(rest) = cond.strip_prefix("kernel replies errno ") {
        let (n, cmd) = rest.split_once(" to ").unwrap();
        k.fail_next(op_of(cmd), n.parse().unwrap());
    } else if let Some(rest) = cond.strip_prefix("errno ") {
        let (n, cmd) = rest.split_once(" on ").unwrap();
        k.fail_always(op_of(cmd), n.parse().unwrap());
    } else if let Some(rest) = cond.strip_prefix("FAKE_ERR=") {
        let (n, cmd) = rest.split_once(" FAKE_ERR_CMD=").unwrap();
        k.fail_always(genl_cmd_op(cmd.parse().unwrap()), n.parse().unwrap());
    } else if let Some(p) = cond.strip_prefix("FAKE_CONN=") {
        host.conn_path = Some(match p {
            "conn.txt" => conn_file.to_path_buf(),
            other => other.into(),
        });
    } else if cond.starts_with("FAKE_VERSION=0x010104") {
        k.set_info(ipvs::Info {
            version: 0x010104,
            conn_tab_size: 1_048_576,
        });
    } else if cond == "version 1.1.3" {
        // That capture ran against an empty table.
        k = ipvs::fake::FakeIpvs::new();
        k.set_info(ipvs::Info {
            version: 0x010103,
            conn_tab_size: 4096,
        });
    } else if cond == "no daemons" {
        k.set_daemons(Vec::new());
    } else if cond == "empty table" {
        let mut e = ipvs::fake::FakeIpvs::new();
        e.stateless = true;
        k = e;
    } else if cond.starts_with("no IPVS genl family") {
        return (None, host);
    } else {
        panic!("unhandled condition {cond}");
    }
    (Some(k), host)
}

/// The `--- requests:` lines of Appendix G reduced to what the fake can
/// show: command number, service/destination address bytes and weight.
fn requests_of(calls: &[Call]) -> Vec<String> {
    fn hex(a: &std::net::IpAddr) -> String {
        let mut b = [0u8; 16];
        match a {
            std::net::IpAddr::V4(v) => b[..4].copy_from_slice(&v.octets()),
            std::net::IpAddr::V6(v) => b = v.octets(),
        }
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
    fn svc_addr(s: &ipvs::Service) -> Option<String> {
        match s.key {
            ipvs::ServiceKey::Addr { addr, .. } => Some(format!("SVC {}", hex(&addr))),
            _ => None,
        }
    }
    let mut v = Vec::new();
    for c in calls {
        match c {
            Call::Services => v.push("cmd=4".to_string()),
            Call::Destinations(s) => {
                v.push("cmd=8".into());
                v.extend(svc_addr(s));
            }
            Call::AddService(s) => {
                v.push("cmd=1".into());
                v.extend(svc_addr(s));
            }
            Call::AddDest(s, d) => {
                v.push("cmd=5".into());
                v.extend(svc_addr(s));
                v.push(format!("DEST {}", hex(&d.addr)));
                v.push(format!("WEIGHT {}", d.weight));
            }
            Call::Info => {}
            other => v.push(format!("{other:?}")),
        }
    }
    v
}

fn expected_requests(lines: &[String]) -> Vec<String> {
    let mut v = Vec::new();
    for l in lines {
        if let Some(r) = l.strip_prefix("genlhdr cmd=") {
            v.push(format!("cmd={}", r.split(' ').next().unwrap()));
        } else if let Some(r) = l.strip_prefix("SVC_ATTR_ADDR (type=3, len=20) ") {
            v.push(format!("SVC {}", r.split(' ').next().unwrap()));
        } else if let Some(r) = l.strip_prefix("DEST_ATTR_ADDR (type=1, len=20) ") {
            v.push(format!("DEST {}", r.split(' ').next().unwrap()));
        } else if let Some(r) = l.strip_prefix("WEIGHT (type=4, len=8) ") {
            let n = r.split("u32(host LE)=").nth(1).unwrap();
            v.push(format!("WEIGHT {}", n.split(' ').next().unwrap()));
        }
    }
    v
}

/// Cases whose argv cannot be recovered by splitting the header on spaces.
fn argv_override(header: &str) -> Option<Vec<&'static str>> {
    match header {
        // The real argument carried the trailing blank.
        "ipvsadm -A -t 10.0.0.1:80 " => Some(vec!["-A", "-t", "10.0.0.1:80 "]),
        _ => None,
    }
}

/// Cases where we deliberately differ from the original (documented in
/// ipvsadm(8)): `-b ,` crashes ipvsadm 1.31 with SIGSEGV.
fn known_difference(header: &str) -> bool {
    header == "ipvsadm -A -t 10.0.0.1:80 -s sh -b ,"
}

/// Run every transcript; returns the list of mismatches (empty = pass).
pub fn replay_all() -> (usize, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("ipvsadm-cli-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conn = dir.join("conn.txt");
    std::fs::File::create(&conn)
        .unwrap()
        .write_all(CONN_TXT.as_bytes())
        .unwrap();

    let mut failures = Vec::new();
    let mut n = 0;
    for c in parse_cases() {
        if known_difference(&c.header) {
            continue;
        }
        let Some(exit) = c.exit else {
            // "(identical stdout to -h, exit 0)": checked in the help tests.
            continue;
        };
        n += 1;
        let args: Vec<String> = match argv_override(&c.header) {
            Some(a) => a.into_iter().map(String::from).collect(),
            None => c.args.clone(),
        };
        let args_ref: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let mut stdin = c.stdin.clone().unwrap_or_default();
        // rin6.txt ends without a newline (that is the point of the case).
        if c.stdin.is_some() && stdin.ends_with(b"\t\n") {
            stdin.pop();
        }
        let (kernel, mut host) = setup(&c, &conn);
        let (got, back) = run_argv(&argv(&args_ref), &stdin, kernel, &mut host);
        // modprobe's own complaint comes from the real modprobe, not us.
        let want_err: String = c
            .stderr
            .lines()
            .filter(|l| !l.starts_with("modprobe: FATAL"))
            .map(|l| format!("{l}\n"))
            .collect();
        let want = Outcome {
            stdout: c.stdout.clone(),
            stderr: want_err,
            status: exit,
        };
        if got != want {
            failures.push(format!(
                "$ {}\n--- want\n{}{}exit {}\n--- got\n{}{}exit {}\n",
                c.header, want.stdout, want.stderr, want.status, got.stdout, got.stderr, got.status
            ));
            continue;
        }
        if c.stdin.is_some() {
            let calls = back.map(|k| k.calls).unwrap_or_default();
            let (g, w) = (requests_of(&calls), expected_requests(&c.requests));
            if g != w {
                failures.push(format!("$ {}\nrequests want {w:?}\n got {g:?}\n", c.header));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    (n, failures)
}
