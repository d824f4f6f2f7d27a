//! `seed-load ADDR[:PORT] [--workers N] [--secs S] [--path P] [--from IP [--sources N]]`: the seed's
//! section 5.1 load generator. N workers send HTTP/1.0 requests with
//! `Connection: close` (one connection per request, KeepAlive off) for S
//! seconds and the totals are printed as one line:
//! `ok=N errors=N secs=S rps=R titles=node01:N,node02:N`.
//! `--from IP --sources N` binds the requests to N consecutive local
//! addresses from IP on, in turn: with the seed's `-p 360` persistence one
//! client address always reaches the same real server.
//! Exit status 0 when every request was answered, 1 when some failed, 2 on
//! a bad command line.

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;
use suite_tests::seed::load::run_load;

const USAGE: &str =
    "usage: seed-load ADDR[:PORT] [--workers N] [--secs S] [--path P] [--from IP [--sources N]]";

struct Args {
    addr: SocketAddr,
    workers: usize,
    secs: f64,
    path: String,
    sources: Vec<Ipv4Addr>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut addr = None;
    let mut from: Option<Ipv4Addr> = None;
    let mut count = 1u32;
    let mut workers = 4usize;
    let mut secs = 5.0f64;
    let mut path = "/".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--workers" => {
                workers = value("--workers")?
                    .parse()
                    .map_err(|e| format!("--workers: {e}"))?;
                if workers == 0 {
                    return Err("--workers must be at least 1".into());
                }
            }
            "--secs" => {
                secs = value("--secs")?
                    .parse()
                    .map_err(|e| format!("--secs: {e}"))?;
                if !(secs > 0.0 && secs.is_finite()) {
                    return Err("--secs must be a positive number".into());
                }
            }
            "--path" => path = value("--path")?,
            "--from" => {
                from = Some(
                    value("--from")?
                        .parse()
                        .map_err(|e| format!("--from: {e}"))?,
                )
            }
            "--sources" => {
                count = value("--sources")?
                    .parse()
                    .map_err(|e| format!("--sources: {e}"))?;
                if count == 0 {
                    return Err("--sources must be at least 1".into());
                }
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if addr.is_none() => {
                let with_port = if s.contains(':') {
                    s.to_string()
                } else {
                    format!("{s}:80")
                };
                addr = Some(
                    with_port
                        .to_socket_addrs()
                        .map_err(|e| format!("{s}: {e}"))?
                        .next()
                        .ok_or_else(|| format!("{s}: no address"))?,
                );
            }
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    let addr = addr.ok_or("missing ADDR")?;
    let sources = match from {
        Some(first) => (0..count)
            .map(|i| {
                u32::from(first)
                    .checked_add(i)
                    .map(Ipv4Addr::from)
                    .ok_or_else(|| {
                        format!("--from {first} --sources {count}: past 255.255.255.255")
                    })
            })
            .collect::<Result<_, _>>()?,
        None if count > 1 => return Err("--sources needs --from".into()),
        None => Vec::new(),
    };
    Ok(Args {
        addr,
        workers,
        secs,
        path,
        sources,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("seed-load: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let report = run_load(
        a.addr,
        &a.path,
        &a.sources,
        a.workers,
        Duration::from_secs_f64(a.secs),
    );
    println!("{}", report.line());
    for e in &report.first_errors {
        eprintln!("seed-load: {e}");
    }
    if report.errors == 0 && report.ok > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
