//! The ipvsadm 1.31 command line: option parsing, validation, listing/save
//! formats, sorting, restore - byte-compatible with Debian's ipvsadm.
//!
//! Everything writes to injectable sinks and talks to an [`Ipvs`], so the
//! whole program can run against [`crate::fake::FakeIpvs`] in tests.
//! Entry point: [`run`] (system name resolution) or [`run_with`].

pub mod addr;
pub mod conn;
pub mod host;
pub mod opts;
pub mod output;
pub mod popt;
pub mod restore;
pub mod sort;
pub mod stdio;

use std::io::{BufRead, Write};

pub use host::{strerror, Host, NullHost, SystemHost};
use opts::{fmt, Cmd, Entry, ParseIo, Parsed};

use crate::model::*;
use crate::{Error, Ipvs};

/// `IP_VS_VERSION_CODE` ipvsadm 1.31 was compiled with.
/// Services whose destinations a listing holds at once: enough to keep the
/// netlink client's pipeline full, small enough that memory stays flat.
const LIST_WINDOW: usize = 64;

pub const COMPILED_IPVS_VERSION: u32 = 0x010201;
/// Oldest kernel IPVS version ipvsadm accepts without a warning.
pub const MINIMUM_IPVS_VERSION: u32 = 0x010104;

/// The `-v` line.
pub const VERSION_LINE: &str = "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n";

/// A process exit requested somewhere deep down (ipvsadm calls `exit()`
/// from many places; here it unwinds to [`run_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Exit(i32),
}

/// The libipvs function that last "recorded itself": ipvs_strerror picks
/// function-specific messages by it, and it survives across `-R` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Init,
    AddService,
    UpdateService,
    DelService,
    ZeroService,
    AddDest,
    UpdateDest,
    DelDest,
    SetTimeout,
    StartDaemon,
    StopDaemon,
    GetDests,
    GetService,
    GetTimeout,
    GetDaemon,
}

/// `ipvs_strerror`: the function-specific table, then the generic rows,
/// then glibc's `strerror`.
pub fn ipvs_strerror(func: Func, err: i32) -> String {
    use Func::*;
    let specific = match (func, err) {
        (AddService, libc::EEXIST) => Some("Service already exists"),
        (AddService, libc::ENOENT) => Some("Scheduler or persistence engine not found"),
        (UpdateService, libc::ESRCH) => Some("No such service"),
        (UpdateService, libc::ENOENT) => Some("Scheduler or persistence engine not found"),
        (DelService, libc::ESRCH) => Some("No such service"),
        (ZeroService, libc::ESRCH) => Some("No such service"),
        (AddDest, libc::ESRCH) => Some("Service not defined"),
        (AddDest, libc::EEXIST) => Some("Destination already exists"),
        (UpdateDest, libc::ESRCH) => Some("Service not defined"),
        (UpdateDest, libc::ENOENT) => Some("No such destination"),
        (DelDest, libc::ESRCH) => Some("Service not defined"),
        (DelDest, libc::ENOENT) => Some("No such destination"),
        (StartDaemon, libc::EEXIST) => Some("Daemon has already run"),
        (StopDaemon, libc::ESRCH) => Some("No daemon is running"),
        (GetDests, libc::ESRCH) => Some("No such service"),
        (GetService, libc::ESRCH) => Some("No such service"),
        _ => None,
    };
    if let Some(m) = specific {
        return m.to_string();
    }
    let generic = match err {
        libc::EPERM => Some("Permission denied (you must be root)"),
        libc::EINVAL => {
            Some("Invalid operation.  Possibly wrong module version, address not unicast, ...")
        }
        libc::ENOPROTOOPT => Some("Protocol not available"),
        libc::ENOMEM => Some("Memory allocation problem"),
        libc::EOPNOTSUPP => Some("Operation not supported with IPv6"),
        libc::EAFNOSUPPORT => Some("Operation not supported with specified address family"),
        libc::EMSGSIZE => Some("Module is wrong version"),
        _ => None,
    };
    match generic {
        Some(m) => m.to_string(),
        None => strerror(err),
    }
}

/// Opens an IPVS handle (the netlink client in the binary, a fake in tests).
pub type Opener<'a> = dyn FnMut() -> crate::Result<Box<dyn Ipvs + 'a>> + 'a;

fn init<'a>(open: &mut Opener<'a>) -> crate::Result<(Box<dyn Ipvs + 'a>, Info)> {
    let mut ipvs = open()?;
    let info = ipvs.info()?;
    Ok((ipvs, info))
}

/// The help text (`usage_exit`), with argv[0] substituted.
pub fn usage(argv0: &[u8]) -> Vec<u8> {
    const TEMPLATE: &str = include_str!("usage.txt");
    let mut out = VERSION_LINE.as_bytes().to_vec();
    for (i, part) in TEMPLATE.split("%s").enumerate() {
        if i > 0 {
            out.extend_from_slice(argv0);
        }
        out.extend_from_slice(part.as_bytes());
    }
    out
}

struct Runner<'r, 'i> {
    stdin: &'r mut dyn BufRead,
    out: &'r mut dyn Write,
    err: &'r mut dyn Write,
    host: &'r mut dyn Host,
    ipvs: Box<dyn Ipvs + 'i>,
    info: Info,
    func: Func,
}

/// Run ipvsadm with the system's resolver. Returns the exit status.
pub fn run<'i>(
    argv: &[Vec<u8>],
    stdin: &mut dyn BufRead,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    ipvs_factory: &mut Opener<'i>,
) -> i32 {
    let mut host = SystemHost::default();
    run_with(argv, stdin, stdout, stderr, &mut host, ipvs_factory)
}

/// Run ipvsadm with an explicit [`Host`]. Returns the exit status.
pub fn run_with<'i>(
    argv: &[Vec<u8>],
    stdin: &mut dyn BufRead,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    host: &mut dyn Host,
    open: &mut Opener<'i>,
) -> i32 {
    // ipvs_init() comes before anything else, even -h and -v.
    let (ipvs, info) = match init(open) {
        Ok(x) => x,
        Err(first) => {
            // If modprobe fails, errno is still the first attempt's.
            let retried = if host.modprobe_ipvs() {
                init(open)
            } else {
                Err(first)
            };
            match retried {
                Ok(x) => x,
                Err(e) => {
                    let _ = write!(
                        stderr,
                        "Can't initialize ipvs: {}\nAre you sure that IP Virtual Server is built in the kernel or as module?\n",
                        ipvs_strerror(Func::Init, e.errno())
                    );
                    return 2;
                }
            }
        }
    };
    let mut r = Runner {
        stdin,
        out: stdout,
        err: stderr,
        host,
        ipvs,
        info,
        func: Func::Init,
    };
    if info.version < MINIMUM_IPVS_VERSION {
        let (a, b, c) = info.version_triple();
        let _ = write!(
            r.err,
            "Warning: IPVS version mismatch: \n  Kernel compiled with IPVS version {a}.{b}.{c}\n  ipvsadm v1.31  requires minimum IPVS version 1.1.4\n\n"
        );
    }
    let status = if argv.len() <= 1 {
        match r.list_all(0) {
            Ok(()) => 0,
            Err(Stop::Exit(c)) => c,
        }
    } else {
        match r.process_options(argv, false) {
            Ok(v) => v,
            Err(Stop::Exit(c)) => c,
        }
    };
    let _ = r.out.flush();
    let _ = r.err.flush();
    status & 0xff
}

/// Parse and validate a command line without executing it (no kernel, no
/// output besides error messages). Returns the exit status ipvsadm would
/// end with if the line is invalid, or `None` if it would go on to act.
/// Used by the fuzz targets and to test validation alone.
pub fn check_command_line(
    argv: &[Vec<u8>],
    host: &mut dyn Host,
    err: &mut dyn Write,
) -> Option<i32> {
    let mut io = ParseIo { err, host };
    match opts::parse_options(&mut io, argv) {
        Err(Stop::Exit(c)) => Some(c),
        Ok(Parsed::PoptFailed) => Some(255),
        Ok(Parsed::Help) | Ok(Parsed::Version) => Some(0),
        Ok(Parsed::Entry(mut ce)) => match opts::validate(&mut io, &mut ce) {
            Err(Stop::Exit(c)) => Some(c),
            Ok(()) => None,
        },
    }
}

impl Runner<'_, '_> {
    fn parse_io(&mut self) -> ParseIo<'_> {
        ParseIo {
            err: &mut *self.err,
            host: &mut *self.host,
        }
    }

    fn say_err(&mut self, func: Func, e: &Error) {
        let _ = writeln!(self.err, "{}", ipvs_strerror(func, e.errno()));
    }

    /// `process_options`: returns 0 or -1 like the original, or stops.
    fn process_options(&mut self, argv: &[Vec<u8>], reading_stdin: bool) -> Result<i32, Stop> {
        let parsed = opts::parse_options(&mut self.parse_io(), argv)?;
        let mut ce = match parsed {
            Parsed::PoptFailed => return Ok(-1),
            Parsed::Help => {
                let argv0: &[u8] = argv.first().map(|a| a.as_slice()).unwrap_or(b"");
                let _ = self.out.write_all(&usage(argv0));
                return Err(Stop::Exit(0));
            }
            Parsed::Version => {
                let _ = self.out.write_all(VERSION_LINE.as_bytes());
                return Err(Stop::Exit(0));
            }
            Parsed::Entry(ce) => ce,
        };
        opts::validate(&mut self.parse_io(), &mut ce)?;
        let svc = ce.svc.to_service();
        let dest = ce.dest.to_destination();
        let result = match ce.cmd {
            Cmd::List => {
                self.list(&ce)?;
                return Ok(0);
            }
            Cmd::Restore => return self.restore_table(argv, reading_stdin),
            Cmd::Save => {
                self.list_all(ce.format | fmt::RULE)?;
                return Ok(0);
            }
            Cmd::Flush => self.ipvs.flush(),
            Cmd::Add => {
                self.func = Func::AddService;
                self.ipvs.add_service(&svc)
            }
            Cmd::Edit => {
                self.func = Func::UpdateService;
                self.ipvs.edit_service(&svc)
            }
            Cmd::Del => {
                self.func = Func::DelService;
                self.ipvs.del_service(&svc)
            }
            Cmd::Zero => {
                self.func = Func::ZeroService;
                // libipvs sends no service (= zero everything) when the
                // entry has no fwmark, an all-zero address and port 0.
                if ce.svc.fwmark == 0 && ce.svc.addr == [0; 16] && ce.svc.port == 0 {
                    self.ipvs.zero(None)
                } else {
                    self.ipvs.zero(Some(&svc))
                }
            }
            Cmd::AddDest => {
                self.func = Func::AddDest;
                self.ipvs.add_dest(&svc, &dest)
            }
            Cmd::EditDest => {
                self.func = Func::UpdateDest;
                self.ipvs.edit_dest(&svc, &dest)
            }
            Cmd::DelDest => {
                self.func = Func::DelDest;
                self.ipvs.del_dest(&svc, &dest)
            }
            Cmd::Timeout => {
                self.func = Func::SetTimeout;
                self.ipvs.set_timeouts(&ce.timeout)
            }
            Cmd::StartDaemon => {
                self.func = Func::StartDaemon;
                self.ipvs.start_daemon(&ce.daemon.to_daemon())
            }
            Cmd::StopDaemon => {
                self.func = Func::StopDaemon;
                // Only the state and the sync id are sent for a stop.
                let mut d = ce.daemon.to_daemon();
                d.mcast_ifn = String::new();
                self.ipvs.stop_daemon(&d)
            }
        };
        match result {
            Ok(()) => Ok(0),
            Err(e) => {
                let f = self.func;
                self.say_err(f, &e);
                Ok(-1)
            }
        }
    }

    fn restore_table(&mut self, argv: &[Vec<u8>], reading_stdin: bool) -> Result<i32, Stop> {
        let argv0: Vec<u8> = argv.first().cloned().unwrap_or_default();
        if reading_stdin {
            return Err(self.parse_io().try_help(&argv0));
        }
        let mut result = 0;
        loop {
            let line = {
                let mut t = restore::Tokenizer::new(&mut *self.stdin);
                t.next_line()
            };
            let words = match line {
                restore::Line::Words(w) => w,
                restore::Line::End => break,
            };
            if words.is_empty() {
                continue;
            }
            let mut a = Vec::with_capacity(words.len() + 1);
            a.push(argv0.clone());
            a.extend(words);
            result = self.process_options(&a, true)?;
        }
        Ok(result)
    }

    fn list(&mut self, ce: &Entry) -> Result<(), Stop> {
        use opts::Opt;
        if ce.has(Opt::Connection) {
            self.list_conn(ce.format)
        } else if ce.has(Opt::Service) {
            self.list_service(ce)
        } else if ce.has(Opt::Timeout) {
            self.func = Func::GetTimeout;
            match self.ipvs.timeouts() {
                Ok(t) => {
                    let _ = writeln!(
                        self.out,
                        "Timeout (tcp tcpfin udp): {} {} {}",
                        t.tcp as i32, t.tcp_fin as i32, t.udp as i32
                    );
                    Ok(())
                }
                Err(_) => Err(Stop::Exit(1)),
            }
        } else if ce.has(Opt::Daemon) {
            self.func = Func::GetDaemon;
            match self.ipvs.daemons() {
                Ok(ds) => {
                    // Two slots, master then backup, as libipvs fills them.
                    for d in ds.iter().take(2) {
                        let _ = self.out.write_all(output::daemon_line(d).as_bytes());
                    }
                    Ok(())
                }
                Err(_) => Err(Stop::Exit(1)),
            }
        } else {
            self.list_all(ce.format)
        }
    }

    fn list_conn(&mut self, format: u32) -> Result<(), Stop> {
        let path = self.host.conn_file();
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(_) => {
                let _ = writeln!(self.err, "cannot open file {}", host::CONN_PROC_FILE);
                return Err(Stop::Exit(1));
            }
        };
        let mut r = std::io::BufReader::new(file);
        // The first line is the kernel's header.
        if conn::fgets(&mut r).is_none() {
            let _ = writeln!(self.err, "unexpected input from {}", host::CONN_PROC_FILE);
            return Err(Stop::Exit(1));
        }
        let _ = self.out.write_all(conn::header(format).as_bytes());
        while let Some(l) = conn::fgets(&mut r) {
            match conn::conn_line(self.host, &l, format) {
                Some(o) => {
                    let _ = self.out.write_all(&o);
                }
                // sscanf found nothing at all: ipvsadm exits there.
                None => return Err(Stop::Exit(1)),
            }
        }
        Ok(())
    }

    fn list_service(&mut self, ce: &Entry) -> Result<(), Stop> {
        self.func = Func::GetService;
        // The lookup is built from a zeroed entry: no scheduler, no flags,
        // netmask 0 (see the reference's captured requests).
        let mut q = ce.svc.to_service();
        q.scheduler = String::new();
        q.pe_name = String::new();
        q.flags = 0;
        q.timeout = 0;
        q.netmask = 0;
        let svc = match self.ipvs.service(&q) {
            Ok(s) => s,
            Err(e) => {
                self.say_err(Func::GetService, &e);
                return Err(Stop::Exit(1));
            }
        };
        let _ = self.out.write_all(output::title(ce.format).as_bytes());
        self.print_service_entry(&svc, ce.format)
    }

    fn list_all(&mut self, format: u32) -> Result<(), Stop> {
        if format & fmt::RULE == 0 {
            let (a, b, c) = self.info.version_triple();
            let _ = writeln!(
                self.out,
                "IP Virtual Server version {a}.{b}.{c} (size={})",
                self.info.conn_tab_size as i32
            );
        }
        let services = match self.ipvs.services() {
            Ok(s) => s,
            Err(e) => {
                // The service dump does not record itself: the context of
                // the previous libipvs call decides the message.
                let f = self.func;
                self.say_err(f, &e);
                return Err(Stop::Exit(1));
            }
        };
        // Sort references: the merge sort copies its halves at every level,
        // and copying whole services (counters, names) doubled the peak
        // memory of a large listing. Same algorithm, same order.
        let mut order: Vec<&Service> = services.iter().collect();
        if format & fmt::NOSORT == 0 {
            sort::merge_sort(&mut order, &|a: &&Service, b: &&Service| {
                sort::cmp_services(a, b)
            });
        }
        let _ = self.out.write_all(output::title(format).as_bytes());
        // Destinations are fetched a bounded window of services at a time
        // (the netlink client pipelines each window's requests), printed,
        // and dropped, so memory does not grow with the table. If a window
        // fails, its services are asked one by one so the output stops
        // exactly where ipvsadm's would.
        let mut rest: &[&Service] = &order;
        while !rest.is_empty() {
            let (window, tail) = rest.split_at(rest.len().min(LIST_WINDOW));
            rest = tail;
            let keys: Vec<Service> = window.iter().map(|s| (*s).clone()).collect();
            let fetched = self.ipvs.destinations_of_all(&keys).ok();
            drop(keys);
            let mut fetched = fetched.map(Vec::into_iter);
            for s in window {
                let dests = fetched.as_mut().and_then(Iterator::next);
                self.print_service_entry_with(s, dests, format)?;
            }
        }
        Ok(())
    }

    fn print_service_entry(&mut self, s: &Service, format: u32) -> Result<(), Stop> {
        self.print_service_entry_with(s, None, format)
    }

    fn print_service_entry_with(
        &mut self,
        s: &Service,
        known: Option<Vec<Destination>>,
        format: u32,
    ) -> Result<(), Stop> {
        self.func = Func::GetDests;
        let fetched = match known {
            Some(d) => Ok(d),
            None => self.ipvs.destinations(s),
        };
        let mut dests = match fetched {
            Ok(d) => d,
            Err(e) => {
                self.say_err(Func::GetDests, &e);
                return Err(Stop::Exit(1));
            }
        };
        let name = output::svc_name(self.host, s, format);
        let _ = self.out.write_all(&output::service_line(&name, s, format));
        if format & fmt::NOSORT == 0 {
            sort::merge_sort(&mut dests, &sort::cmp_dests);
        }
        for d in &dests {
            let line = output::dest_line(self.host, &name, s, d, format);
            let _ = self.out.write_all(&line);
        }
        Ok(())
    }
}
