//! mon(8): the monitoring daemon.

use mon::config::{self, ParseEnv};
use mon::daemon::{self, Daemon};
use mon::decide::Priority;
use mon::options::{self, USAGE};
use mon::syslog::Logger;

const RELEASE: &str = "mon-1.3.4";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            print!("{USAGE}");
            std::process::exit(0);
        }
    };
    if opts.version {
        println!("{RELEASE}");
        return;
    }
    if opts.help {
        print!("{USAGE}");
        return;
    }
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| ".".into());
    let cf = daemon::config_path(&opts, &cwd);
    let env = ParseEnv::real(daemon::epoch());
    if opts.check {
        std::process::exit(check(&cf, opts.m4.as_deref(), &env));
    }
    let mut log = Logger::open(opts.syslogfacility.as_deref().unwrap_or("daemon"));
    log.debug = opts.debug;
    if let Some(b) = &opts.basedir {
        if !b.is_empty() && !std::path::Path::new(b).is_dir() {
            eprintln!("basedir {b} does not exist");
            std::process::exit(2);
        }
    }
    if !std::path::Path::new(&cf).is_file() {
        die(&mut log, &format!("config file {cf} does not exist"), 25);
    }
    let c = match config::read_file(&cf, opts.m4.as_deref(), &env) {
        Ok(c) => c,
        Err(e) => {
            for w in &e.mon_warnings {
                eprintln!("{w}");
            }
            die(&mut log, &e.message, e.exit_code);
        }
    };
    for w in &c.mon_warnings {
        eprintln!("{w}");
    }
    for w in &c.warnings {
        log.log(Priority::Warning, &w.to_string());
    }
    let set = daemon::settings(&opts, &c, &cwd, &mut log);
    log.set_facility(&set.syslog_facility);
    if let Some(r) = &opts.randstart {
        if mon::timeval::dhmstos(r).is_none() {
            die(&mut log, "bad randstart value", 25);
        }
    }
    if !std::path::Path::new(&set.authfile).is_file() {
        die(
            &mut log,
            &format!("could not open {}: No such file or directory", set.authfile),
            2,
        );
    }
    let auth = match mon::auth::Auth::load(&set.authfile) {
        Ok(a) => a,
        Err(e) => die(&mut log, &e, 2),
    };
    let server = match mon::server::setup(
        c.globals.serverbind.as_deref(),
        set.serverport,
        c.globals.trapbind.as_deref(),
        set.trapport,
    ) {
        Ok(s) => s,
        Err(e) => {
            if opts.debug > 0 {
                eprintln!("[err] {e}");
                std::process::exit(255);
            }
            log.log(Priority::Err, &format!("fatal, {e}"));
            std::process::exit(1);
        }
    };
    let fork = opts.fork;
    let loadstate = opts.loadstate.clone();
    let monerrfile = set.monerrfile.clone();
    let mut d = Daemon::new(opts, c, set, log);
    d.server = Some(server);
    for e in &auth.errors {
        d.log.log(Priority::Err, e);
    }
    for (h, users) in &auth.traps {
        for (u, p) in users {
            d.log.log(
                Priority::Notice,
                &format!("Adding trap auth of: {h} {u} {p}"),
            );
        }
    }
    d.auth = auth;
    if fork {
        daemon::daemonize(&monerrfile);
        d.log.log(Priority::Info, "running as daemon");
    }
    if let Some(l) = loadstate {
        d.load_state(if l.is_empty() { "disabled" } else { &l });
    }
    d.run();
}

/// mon's syslog_die: the message to syslog and stderr, then exit the way
/// Perl's die does: with the current errno (25, ENOTTY, after start-up;
/// the failed file test's errno for authfile/userfile).
fn die(log: &mut Logger, msg: &str, code: i32) -> ! {
    log.log(Priority::Err, msg);
    eprintln!("{msg}");
    std::process::exit(code);
}

fn check(cf: &str, m4: Option<&str>, env: &ParseEnv) -> i32 {
    match config::read_file(cf, m4, env) {
        Ok(c) => {
            print!("{}", mon::check::render(&c));
            for w in &c.mon_warnings {
                eprintln!("{w}");
            }
            for w in &c.warnings {
                eprintln!("{w}");
            }
            println!("config OK");
            0
        }
        Err(e) => {
            for w in &e.mon_warnings {
                eprintln!("{w}");
            }
            for w in &e.warnings {
                eprintln!("{w}");
            }
            eprintln!("{}", e.message);
            1
        }
    }
}
