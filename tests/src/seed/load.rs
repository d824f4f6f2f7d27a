//! The seed's section 5.1 measurement: requests per second through the VIP,
//! one request per connection (HTTP/1.0 with `Connection: close`, KeepAlive
//! off as in the seed's `get_title.pl`), from N concurrent workers for a
//! fixed time. The scaling efficiency is `multi / (single × n)`.
//!
//! Every request's outcome is kept: a load run that hides failed requests
//! would make a broken cluster look fast.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one load run saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// Requests answered with `200` and a page.
    pub ok: u64,
    /// Requests that failed: connect/read errors, timeouts, other statuses.
    pub errors: u64,
    /// Wall-clock length of the run in seconds.
    pub secs: f64,
    /// Answers per page `<title>` (`node01`, `node02`…).
    pub titles: BTreeMap<String, u64>,
    /// The first few error messages, for a failing test's message.
    pub first_errors: Vec<String>,
}

impl LoadReport {
    /// Answered requests per second.
    pub fn rps(&self) -> f64 {
        if self.secs > 0.0 {
            self.ok as f64 / self.secs
        } else {
            0.0
        }
    }

    /// One line: `ok=N errors=N secs=S rps=R titles=node01:N,node02:N`.
    /// `seed-load` prints it; [`LoadReport::parse`] reads it back.
    pub fn line(&self) -> String {
        let titles: Vec<String> = self
            .titles
            .iter()
            .map(|(t, n)| format!("{t}:{n}"))
            .collect();
        format!(
            "ok={} errors={} secs={:.3} rps={:.2} titles={}",
            self.ok,
            self.errors,
            self.secs,
            self.rps(),
            titles.join(",")
        )
    }

    /// Reads back a [`LoadReport::line`] (the error messages are not in it).
    pub fn parse(line: &str) -> Option<LoadReport> {
        let mut r = LoadReport::default();
        let mut seen = 0;
        for field in line.split_whitespace() {
            let (k, v) = field.split_once('=')?;
            match k {
                "ok" => r.ok = v.parse().ok()?,
                "errors" => r.errors = v.parse().ok()?,
                "secs" => r.secs = v.parse().ok()?,
                "rps" => {}
                "titles" => {
                    for t in v.split(',').filter(|t| !t.is_empty()) {
                        let (name, n) = t.rsplit_once(':')?;
                        r.titles.insert(name.to_string(), n.parse().ok()?);
                    }
                }
                _ => continue,
            }
            seen += 1;
        }
        (seen == 5).then_some(r)
    }
}

/// The seed's scaling efficiency: `multi / (single × n)` (1.0 = perfect).
pub fn efficiency(single_rps: f64, multi_rps: f64, n: u32) -> f64 {
    if single_rps <= 0.0 || n == 0 {
        return 0.0;
    }
    multi_rps / (single_rps * f64::from(n))
}

/// One request on a fresh connection from source address `src` (any
/// local address when `None`); returns the page's `<title>`.
pub fn fetch_title(
    src: Option<Ipv4Addr>,
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> Result<String, String> {
    let mut s = connect_from(src, addr, timeout)?;
    let req = format!(
        "GET {path} HTTP/1.0\r\nHost: {}\r\nUser-Agent: seed-load\r\nConnection: close\r\n\r\n",
        addr.ip()
    );
    s.write_all(req.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut body = Vec::new();
    s.read_to_end(&mut body).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&body);
    let status = text.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("status line {status:?}"));
    }
    Ok(title_of(&text).unwrap_or_default())
}

/// A TCP connection to `addr`, bound first to `src` when given (the seed's
/// `-p 360` persistence keeps one client address on one real server, so a
/// load test that should reach every server needs many addresses).
fn connect_from(
    src: Option<Ipv4Addr>,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, String> {
    let Some(src) = src else {
        return TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"));
    };
    let SocketAddr::V4(dst) = addr else {
        return Err(format!(
            "{addr}: a source address needs an IPv4 destination"
        ));
    };
    let sin = |a: Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(a).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: a fresh descriptor, owned by the TcpStream (closed on drop,
    // also on the error paths below).
    let stream = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(format!("socket: {}", std::io::Error::last_os_error()));
        }
        TcpStream::from_raw_fd(fd)
    };
    let fd = stream.as_raw_fd();
    let local = sin(src, 0);
    // SAFETY: valid sockaddr_in of the given length.
    if unsafe { libc::bind(fd, &local as *const _ as *const libc::sockaddr, len) } != 0 {
        return Err(format!("bind {src}: {}", std::io::Error::last_os_error()));
    }
    // A blocking connect honours SO_SNDTIMEO.
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let remote = sin(*dst.ip(), dst.port());
    // SAFETY: as above.
    if unsafe { libc::connect(fd, &remote as *const _ as *const libc::sockaddr, len) } != 0 {
        return Err(format!("connect: {}", std::io::Error::last_os_error()));
    }
    Ok(stream)
}

/// The text between `<title>` and `</title>` (case-insensitive tags).
pub fn title_of(page: &str) -> Option<String> {
    let lower = page.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    Some(page[start..end].trim().to_string())
}

/// `workers` threads each send requests one after another for `duration`,
/// request `i` of worker `w` from `sources[(w + i * workers) % len]` (any
/// local address when `sources` is empty).
pub fn run_load(
    addr: SocketAddr,
    path: &str,
    sources: &[Ipv4Addr],
    workers: usize,
    duration: Duration,
) -> LoadReport {
    let workers = workers.max(1);
    let shared = Arc::new(Mutex::new(LoadReport::default()));
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let shared = Arc::clone(&shared);
            let path = path.to_string();
            let sources = sources.to_vec();
            std::thread::spawn(move || {
                let mut mine = LoadReport::default();
                let mut i = 0;
                while Instant::now() < deadline {
                    let src =
                        (!sources.is_empty()).then(|| sources[(w + i * workers) % sources.len()]);
                    i += 1;
                    match fetch_title(src, addr, &path, Duration::from_secs(5)) {
                        Ok(t) => {
                            mine.ok += 1;
                            *mine.titles.entry(t).or_insert(0) += 1;
                        }
                        Err(e) => {
                            mine.errors += 1;
                            if mine.first_errors.len() < 5 {
                                mine.first_errors.push(e);
                            }
                        }
                    }
                }
                let mut all = shared.lock().unwrap_or_else(|p| p.into_inner());
                all.ok += mine.ok;
                all.errors += mine.errors;
                for (t, n) in mine.titles {
                    *all.titles.entry(t).or_insert(0) += n;
                }
                for e in mine.first_errors {
                    if all.first_errors.len() < 5 {
                        all.first_errors.push(e);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        // A panicking worker loses only its own counts; the totals still show.
        let _ = h.join();
    }
    let mut report = shared.lock().unwrap_or_else(|p| p.into_inner()).clone();
    report.secs = start.elapsed().as_secs_f64();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn efficiency_is_multi_over_single_times_n() {
        assert!((efficiency(100.0, 180.0, 2) - 0.9).abs() < 1e-9);
        assert_eq!(efficiency(0.0, 10.0, 2), 0.0);
    }

    #[test]
    fn report_line_round_trips() {
        let mut r = LoadReport {
            ok: 12,
            errors: 1,
            secs: 2.5,
            ..Default::default()
        };
        r.titles.insert("node01".into(), 7);
        r.titles.insert("node02".into(), 5);
        let back = LoadReport::parse(&r.line()).unwrap();
        assert_eq!(back.ok, 12);
        assert_eq!(back.errors, 1);
        assert_eq!(back.titles, r.titles);
        assert!(LoadReport::parse("garbage").is_none());
    }

    #[test]
    fn title_is_found_case_insensitively() {
        assert_eq!(
            title_of("HTTP/1.0 200 OK\r\n\r\n<HTML><TITLE> node01 </TITLE>").as_deref(),
            Some("node01")
        );
        assert_eq!(title_of("no title"), None);
    }

    #[test]
    fn load_against_a_local_server_counts_every_answer() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n<title>node01</title>");
            }
        });
        let r = run_load(addr, "/", &[], 2, Duration::from_millis(300));
        assert!(r.ok > 0, "{r:?}");
        assert_eq!(r.errors, 0, "{r:?}");
        let r = run_load(
            addr,
            "/",
            &[Ipv4Addr::LOCALHOST, Ipv4Addr::new(127, 0, 0, 2)],
            2,
            Duration::from_millis(300),
        );
        assert!(r.ok > 0, "{r:?}");
        assert_eq!(r.errors, 0, "{r:?}");
        assert_eq!(r.titles.get("node01"), Some(&r.ok));
    }
}
