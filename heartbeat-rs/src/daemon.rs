//! The running daemon: media readers, the main loop joining membership,
//! the resource planner and the resource worker, signals, the FIFO and
//! the status file `cl_status` reads.

use crate::config::{AutoFailback, Config, ConfigDir};
use crate::log::Level;
use crate::logger::Logger;
use crate::media::{self, OpenMedium};
use crate::membership::{Event, Membership, NodeStatus, Settings};
use crate::msg::{self, Message};
use crate::planner::{Action, Hold, JobResult, Output, Planner};
use crate::resources::ScriptDirs;
use crate::runner::{run_job, ProcessRunner, ResourceManagerLog};
use nix::sys::signal::{SigSet, Signal};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the daemon keeps things (the original's compiled-in paths by default).
#[derive(Clone, Debug)]
pub struct Paths {
    pub config_dir: PathBuf,
    /// `/var/lib/heartbeat`: hb_generation, hb_uuid, fifo.
    pub state_dir: PathBuf,
    /// `/var/run/heartbeat`: our status file for cl_status.
    pub run_dir: PathBuf,
    pub pidfile: PathBuf,
}

impl Default for Paths {
    fn default() -> Paths {
        Paths {
            config_dir: "/etc/ha.d".into(),
            state_dir: "/var/lib/heartbeat".into(),
            run_dir: "/var/run/heartbeat".into(),
            pidfile: "/var/run/heartbeat.pid".into(),
        }
    }
}

impl Paths {
    pub fn fifo(&self) -> PathBuf {
        self.state_dir.join("fifo")
    }
    pub fn status_file(&self) -> PathBuf {
        self.run_dir.join("status")
    }
}

enum Input {
    Packet(usize, Vec<u8>),
    Job(JobResult),
    Local(Message),
    Signal(Signal),
}

fn wall_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| "n/a".into())
}

/// Blocks the signals the daemon handles (call before any thread starts)
/// and forwards them to the main loop.
fn signal_thread(tx: Sender<Input>) -> nix::Result<()> {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        set.add(s);
    }
    set.thread_block()?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            match set.wait() {
                Ok(s) => {
                    if tx.send(Input::Signal(s)).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            }
        })
        .map(|_| ())
        .map_err(|_| nix::Error::EAGAIN)
}

/// Gives the calling thread the main thread's realtime policy. The main
/// thread runs SCHED_FIFO with SCHED_RESET_ON_FORK (so that resource
/// scripts start at normal priority), and that flag also resets threads
/// it creates: a medium reader left at normal priority read heartbeats
/// late on a loaded machine (5 false failovers in 10 idle minutes at
/// deadtime 300 ms, load 10-34).
fn follow_main_thread_priority() {
    // SAFETY: scheduler queries/changes on this process and thread only.
    unsafe {
        let pid = libc::getpid();
        let policy = libc::sched_getscheduler(pid);
        if policy < 0 || policy & !libc::SCHED_RESET_ON_FORK != libc::SCHED_FIFO {
            return;
        }
        let mut p = libc::sched_param { sched_priority: 0 };
        if libc::sched_getparam(pid, &mut p) == 0 {
            libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &p);
        }
    }
}

fn reader_thread(idx: usize, m: &OpenMedium, tx: Sender<Input>) -> std::io::Result<()> {
    let sock = m.recv.try_clone()?;
    std::thread::Builder::new()
        .name(format!("read: {} {}", m.kind, m.name))
        .spawn(move || {
            follow_main_thread_priority();
            let mut buf = vec![0u8; msg::MAX_MSG + 1];
            loop {
                match sock.recv_from(&mut buf) {
                    Ok((n, _)) => {
                        if tx.send(Input::Packet(idx, buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })?;
    Ok(())
}

/// The FIFO scripts write classic messages into (`ha_clustermsg`,
/// hb_standby, hb_takeover).
fn fifo_thread(path: PathBuf, tx: Sender<Input>) -> std::io::Result<()> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(&path);
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: c is a valid path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // O_RDWR: the reader never sees EOF when a writer goes away.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&path)?;
    std::thread::Builder::new()
        .name("FIFO reader".into())
        .spawn(move || {
            let mut acc: Vec<u8> = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = match f.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    Ok(n) => n,
                };
                acc.extend_from_slice(&buf[..n]);
                while let Some(end) = acc.windows(4).position(|w| w == b"<<<\n") {
                    let chunk: Vec<u8> = acc.drain(..end + 4).collect();
                    let start = chunk.windows(4).position(|w| w == b">>>\n").unwrap_or(0);
                    if let Ok(d) = msg::decode(&chunk[start..]) {
                        if tx.send(Input::Local(d.msg)).is_err() {
                            return;
                        }
                    }
                }
                if acc.len() > msg::MAX_MSG {
                    acc.clear();
                }
            }
        })?;
    Ok(())
}

fn worker_thread(
    cfg: &Config,
    env: Vec<(String, String)>,
    tx: Sender<Input>,
    log: Arc<Logger>,
) -> std::io::Result<Sender<Action>> {
    let (jtx, jrx) = mpsc::channel::<Action>();
    let dirs = ScriptDirs::standard(&cfg.dir);
    let res = cfg.resources.clone();
    std::thread::Builder::new()
        .name("ResourceManager".into())
        .spawn(move || {
            let mut runner = ProcessRunner {
                env,
                pause: Duration::from_secs(1),
                own: crate::runner::OwnAgents::beside_current_exe(),
            };
            let mut logs = ResourceManagerLog::for_this_thread(log);
            while let Ok(a) = jrx.recv() {
                let r = run_job(&dirs, &mut runner, &res, &a, &mut logs);
                if tx.send(Input::Job(r)).is_err() {
                    return;
                }
            }
        })?;
    Ok(jtx)
}

struct Daemon {
    cfg: Config,
    paths: Paths,
    log: Arc<Logger>,
    media: Vec<OpenMedium>,
    mem: Membership,
    plan: Planner,
    jobs: Sender<Action>,
    start: Instant,
    exiting: bool,
    standby_later: Option<u64>,
    dirty: bool,
    /// ha.cf as loaded, to tell a SIGHUP whether it changed.
    hacf_text: String,
}

impl Daemon {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn transmit(&mut self, m: &Message) {
        let wire = match msg::encode_netstring(m, &self.cfg.authkeys, true) {
            Ok(w) => w,
            Err(e) => {
                self.log
                    .log(Level::Error, &format!("cannot send message: {e}"));
                return;
            }
        };
        for md in &self.media {
            if let Err(e) = md.transmit(&wire) {
                self.log.log(
                    Level::Debug,
                    &format!("write failure on {} {}: {e}", md.kind, md.name),
                );
            }
        }
    }

    fn membership_events(&mut self, evs: Vec<Event>) {
        for e in evs {
            self.dirty = true;
            let now = self.now();
            match e {
                Event::Send(m) => self.transmit(&m),
                Event::Log(l, t) => self.log.log(l, &t),
                Event::NodeStatus {
                    node,
                    status,
                    cause,
                } => {
                    if status == NodeStatus::Dead {
                        let out = self.plan.node_dead(
                            &node,
                            cause.unwrap_or(crate::membership::DeathCause::Timeout),
                            now,
                        );
                        self.planner_outputs(out);
                    } else {
                        self.plan.node_alive(&node);
                    }
                }
                Event::LinkStatus { .. } => {}
                Event::CommUp => {
                    let alive = self.mem.peers().any(|(_, s)| s != NodeStatus::Dead);
                    let out = self.plan.comm_up(alive, now);
                    self.planner_outputs(out);
                }
                Event::NodeRestarted(_) => {}
                Event::PartitionReturn(node) => {
                    let out = self.plan.partition_return(&node);
                    self.planner_outputs(out);
                }
                Event::LateReturn(node) => {
                    let out = self.plan.late_return(&node);
                    self.planner_outputs(out);
                }
                Event::Deliver(m) => {
                    let builtin = matches!(
                        m.t(),
                        Some(
                            "starting"
                                | "resource"
                                | "ask_resources"
                                | "ip-request"
                                | "ip-request-resp"
                                | "hb_takeover"
                                | "stonith"
                        )
                    );
                    if builtin {
                        let out = self.plan.message(&m, now);
                        self.planner_outputs(out);
                    } else {
                        self.event_script(&m);
                    }
                }
            }
        }
    }

    fn planner_outputs(&mut self, outs: Vec<Output>) {
        for o in outs {
            self.dirty = true;
            match o {
                Output::Send(m) => {
                    let now = self.now();
                    let stamped = self.mem.send_message(m, now);
                    self.transmit(&stamped);
                    if stamped.t() == Some("shutdone") {
                        // It carries a seq the peer can no longer ask us to
                        // resend once we are gone: say it twice.
                        std::thread::sleep(Duration::from_millis(20));
                        self.transmit(&stamped);
                    }
                }
                Output::Log(l, t) => self.log.log(l, &t),
                Output::Run(a) => {
                    if self.jobs.send(a).is_err() {
                        self.log.log(Level::Error, "resource worker is gone");
                    }
                }
                Output::Exit => self.exiting = true,
                Output::StandbyLater => self.standby_later = Some(self.now() + 30_000),
            }
        }
    }

    /// `/etc/ha.d/rc.d/<type>` for message types heartbeat has no built-in
    /// handling for, run as harc runs it: one at a time, with every string
    /// field of the message as `HA_<name>`. (The standard rc.d scripts for
    /// status, ip-request, ask_resources... are not run: their work is
    /// built in, and running them as well would act twice.)
    fn event_script(&mut self, m: &Message) {
        let Some(t) = m.t().map(str::to_ascii_lowercase) else {
            return;
        };
        if t.is_empty() || t.contains('/') || t.starts_with('.') {
            return;
        }
        let path = self.cfg.dir.join("rc.d").join(&t);
        let Ok(md) = std::fs::metadata(&path) else {
            return;
        };
        use std::os::unix::fs::PermissionsExt;
        if !md.is_file() || md.permissions().mode() & 0o111 == 0 {
            return;
        }
        self.log.log(
            Level::Info,
            &format!("Running {}//rc.d/{t} {t}", self.cfg.dir.display()),
        );
        let mut env: Vec<(String, String)> = m
            .fields
            .iter()
            .filter(|f| f.ty == crate::msg::T_STRING)
            .filter_map(|f| {
                Some((
                    format!("HA_{}", f.name),
                    String::from_utf8(f.value.clone()).ok()?,
                ))
            })
            .collect();
        env.push(("HA_CURHOST".into(), self.cfg.local_node.clone()));
        env.push(("HA_OSTATUS".into(), self.mem.local_status().as_str().into()));
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let log = self.log.clone();
        let _ = std::thread::Builder::new()
            .name("harc".into())
            .spawn(move || {
                let _g = ONE_AT_A_TIME.lock();
                let r = std::process::Command::new(&path)
                    .arg(&t)
                    .envs(env)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
                if let Ok(s) = r {
                    if !s.success() {
                        log.log(
                            Level::Error,
                            &format!("{} returned {}", path.display(), s.code().unwrap_or(-1)),
                        );
                    }
                }
            });
    }

    fn local_message(&mut self, m: Message) {
        let now = self.now();
        match m.t() {
            Some("ask_resources") if m.get("info") == Some("me") => {
                let set = m.get("rsc_hold").and_then(Hold::parse).unwrap_or(Hold::ALL);
                let out = self.plan.standby(set, now);
                self.planner_outputs(out);
            }
            Some("hb_takeover") => {
                let set = m.get("rsc_hold").unwrap_or("all").to_string();
                let out = self.plan.takeover(&set);
                self.planner_outputs(out);
            }
            Some(_) => {
                let mut m = m;
                m.remove("auth");
                let stamped = self.mem.send_message(m, now);
                self.transmit(&stamped);
            }
            None => {}
        }
    }

    fn packet(&mut self, medium: usize, bytes: &[u8]) {
        let Ok(d) = msg::decode(bytes) else {
            return;
        };
        if let Err(e) = msg::verify(&d, bytes, &self.cfg.authkeys) {
            let (l, t) = e.log_text(d.format, d.msg.get("src"));
            self.log.log(l, &t);
            return;
        }
        let now = self.now();
        self.mem.set_wall(wall_secs());
        let evs = self.mem.on_message(now, medium, d.msg);
        self.membership_events(evs);
    }

    fn write_status(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let mut s = String::new();
        s.push_str(&format!("pid {}\n", std::process::id()));
        s.push_str(&format!(
            "node {} normal {}\n",
            self.cfg.local_node,
            self.mem.local_status().as_str()
        ));
        for (n, st) in self.mem.peers() {
            s.push_str(&format!("node {n} normal {}\n", st.as_str()));
        }
        for n in &self.cfg.hacf.nodes {
            for m in &self.media {
                let up = self.mem.link_up(n, &m.name).unwrap_or(false);
                s.push_str(&format!(
                    "link {n} {} {}\n",
                    m.name,
                    if up { "up" } else { "dead" }
                ));
            }
        }
        s.push_str(&format!("rscstatus {}\n", self.plan.rscstatus()));
        for k in self.plan.held() {
            s.push_str(&format!("held {k}\n"));
        }
        for (k, v) in self.cfg.hacf.params() {
            s.push_str(&format!("param {k} {v}\n"));
        }
        let p = self.paths.status_file();
        let tmp = p.with_extension("tmp");
        if std::fs::write(&tmp, s).is_ok() {
            let _ = std::fs::rename(&tmp, &p);
        }
    }

    fn run(&mut self, rx: Receiver<Input>) -> i32 {
        loop {
            let now = self.now();
            self.mem.set_wall(wall_secs());
            let evs = self.mem.tick(now);
            self.membership_events(evs);
            let out = self.plan.tick(now);
            self.planner_outputs(out);
            if let Some(t) = self.standby_later {
                if now >= t {
                    self.standby_later = None;
                    let out = self.plan.standby(Hold::FOREIGN, now);
                    self.planner_outputs(out);
                }
            }
            self.write_status();
            if self.exiting {
                let _ = std::fs::remove_file(self.paths.status_file());
                self.log.log(
                    Level::Info,
                    &format!("{} Heartbeat shutdown complete.", self.cfg.local_node),
                );
                return 0;
            }
            let now = self.now();
            let wait = self.mem.next_deadline().saturating_sub(now).clamp(1, 100);
            match rx.recv_timeout(Duration::from_millis(wait)) {
                Ok(Input::Packet(m, b)) => self.packet(m, &b),
                Ok(Input::Job(r)) => {
                    let now = self.now();
                    let out = self.plan.done(r, now);
                    self.planner_outputs(out);
                }
                Ok(Input::Local(m)) => self.local_message(m),
                Ok(Input::Signal(s)) => self.signal(s),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return 1,
            }
        }
    }

    fn signal(&mut self, s: Signal) {
        match s {
            Signal::SIGTERM => {
                self.log.log(
                    Level::Info,
                    &format!("Heartbeat shutdown in progress. ({})", std::process::id()),
                );
                let out = self.plan.shutdown();
                self.planner_outputs(out);
            }
            Signal::SIGHUP => self.reload(),
            Signal::SIGUSR1 | Signal::SIGUSR2 => {
                let d = self.cfg.hacf.debug;
                let d = if s == Signal::SIGUSR1 {
                    d.saturating_add(1)
                } else {
                    d.saturating_sub(1)
                };
                self.cfg.hacf.debug = d;
                self.log.set_debug(d);
                self.log.log(Level::Info, &format!("debug now set to {d}"));
            }
            _ => {}
        }
    }

    /// SIGHUP: authkeys is reread when it changed; other changes need a
    /// restart (the original re-execs itself for ha.cf changes).
    fn reload(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let dir = ConfigDir::new(&self.cfg.dir);
        let p = dir.path("authkeys");
        let (Ok(t), Ok(md)) = (std::fs::read_to_string(&p), std::fs::metadata(&p)) else {
            self.log.log(
                Level::Error,
                &format!("Cannot open keyfile [{}].  Stop.", dir.display("authkeys")),
            );
            return;
        };
        if std::fs::read_to_string(dir.path("ha.cf")).ok().as_deref()
            != Some(self.hacf_text.as_str())
        {
            // 3.0.6 re-execs itself here, keeping its resources; we do not
            // restart on our own: a restart is a handover decision.
            self.log.log(
                Level::Warn,
                &format!(
                    "{} changed: restart heartbeat to apply it",
                    dir.display("ha.cf")
                ),
            );
        }
        let mut diags = Vec::new();
        match crate::config::AuthKeys::parse(
            &t,
            &dir.display("authkeys"),
            md.permissions().mode(),
            &mut diags,
        ) {
            Some(k) if k != self.cfg.authkeys => {
                self.log.log(Level::Info, "Rereading authentication file.");
                self.cfg.authkeys = k;
            }
            Some(_) => self.log.log(Level::Info, "Configuration unchanged."),
            None => {
                for d in diags {
                    self.log.log(d.level, &d.text);
                }
                self.log.log(
                    Level::Error,
                    "Authentication configuration error; keeping the old keys.",
                );
            }
        }
    }
}

/// Options of a run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub foreground: bool,
    pub node: Option<String>,
    pub debug: u8,
    pub manage_resources: bool,
}

/// Starts the daemon with a loaded configuration; returns the exit status.
pub fn run(cfg: Config, paths: Paths, opts: &RunOptions, log: Arc<Logger>) -> i32 {
    let (tx, rx) = mpsc::channel::<Input>();
    if let Err(e) = signal_thread(tx.clone()) {
        log.log(Level::Error, &format!("cannot set up signal handling: {e}"));
        return 1;
    }
    log.log(
        Level::Info,
        &format!("heartbeat: version {}", crate::VERSION),
    );
    let _ = std::fs::create_dir_all(&paths.state_dir);
    let _ = std::fs::create_dir_all(&paths.run_dir);
    let mut logs = Vec::new();
    let generation = match crate::state::bump_generation(
        &paths.state_dir.join("hb_generation"),
        wall_secs(),
        &mut logs,
    ) {
        Ok(g) => g,
        Err(e) => {
            log.log(Level::Error, &format!("Cannot write generation file: {e}"));
            return 1;
        }
    };
    let uuid = crate::state::node_uuid(&paths.state_dir.join("hb_uuid"), &mut logs).ok();
    for (l, t) in logs {
        log.log(l, &t);
    }
    for (d, line) in &cfg.hacf.ignored {
        log.log(
            Level::Info,
            &format!("ha.cf line {line}: directive '{d}' is accepted and ignored (CRM mode or a subsystem this heartbeat does not have)"),
        );
    }
    for c in &cfg.hacf.clients {
        log.log(
            Level::Warn,
            &format!(
                "{} client \"{}\" is not started: this heartbeat has no client API",
                if c.failfast { "failfast" } else { "respawn" },
                c.command
            ),
        );
    }
    let mut media = Vec::new();
    for m in &cfg.hacf.media {
        match media::open(m) {
            Ok(o) => {
                log.log(
                    Level::Info,
                    &format!(
                        "glib: {} heartbeat started on port {} interface {} to {}",
                        o.kind,
                        o.dest.port(),
                        o.name,
                        o.dest.ip()
                    ),
                );
                media.push(o);
            }
            Err(media::MediumError(lines)) => {
                if let crate::config::Medium::Unsupported { .. } = m {
                    for l in lines {
                        log.log(Level::Warn, &l);
                    }
                    continue;
                }
                for l in lines {
                    log.log(Level::Error, &l);
                }
                log.log(Level::Error, "Configuration error, heartbeat not started.");
                return 6;
            }
        }
    }
    if media.is_empty() {
        log.log(Level::Error, "No heartbeat media defined");
        return 6;
    }
    for (i, m) in media.iter().enumerate() {
        if let Err(e) = reader_thread(i, m, tx.clone()) {
            log.log(
                Level::Error,
                &format!("cannot start reader for {}: {e}", m.name),
            );
            return 1;
        }
    }
    if let Err(e) = fifo_thread(paths.fifo(), tx.clone()) {
        log.log(
            Level::Error,
            &format!("Cannot create FIFO {}: {e}", paths.fifo().display()),
        );
        return 1;
    }
    let h = &cfg.hacf;
    let mut env: Vec<(String, String)> = vec![
        ("HA_CURHOST".into(), cfg.local_node.clone()),
        ("HA_D".into(), cfg.dir.display().to_string()),
        ("HA_DIR".into(), cfg.dir.display().to_string()),
        (
            "HA_RESOURCEDIR".into(),
            cfg.dir.join("resource.d").display().to_string(),
        ),
        ("HA_debug".into(), h.debug.max(opts.debug).to_string()),
    ];
    if let Some(f) = &h.logfile {
        env.push(("HA_LOGFILE".into(), f.clone()));
    }
    if let Some(f) = &h.debugfile {
        env.push(("HA_DEBUGLOG".into(), f.clone()));
    }
    if let Some(f) = &h.logfacility {
        env.push(("HA_LOGFACILITY".into(), f.clone()));
    }
    if h.auto_failback != AutoFailback::Legacy {
        env.push(("HA_NICEFAILBACK".into(), "yes".into()));
    }
    for (k, v) in &h.env {
        env.push((format!("HA_{k}"), v.clone()));
    }
    let jobs = match worker_thread(&cfg, env, tx.clone(), log.clone()) {
        Ok(j) => j,
        Err(e) => {
            log.log(Level::Error, &format!("cannot start resource worker: {e}"));
            return 1;
        }
    };
    let settings = Settings {
        local: cfg.local_node.clone(),
        nodes: h.nodes.clone(),
        media: media.iter().map(|m| m.name.clone()).collect(),
        keepalive_ms: h.keepalive_ms,
        deadtime_ms: h.deadtime_ms,
        warntime_ms: h.warntime_ms,
        initdead_ms: h.initdead_ms,
        max_rexmit_delay_ms: h.max_rexmit_delay_ms,
        generation,
        ttl: u32::from(h.hopfudge) + h.nodes.len() as u32,
        uuid,
        start_bonus: true,
        status_interval_ms: crate::membership::status_interval(h.keepalive_ms, h.deadtime_ms),
    };
    let seed = wall_secs() ^ (u64::from(std::process::id()) << 32) ^ generation;
    let mut mem = Membership::new(settings, 0, seed);
    mem.set_load(&loadavg());
    let resources = if opts.manage_resources {
        cfg.resources.clone()
    } else {
        Default::default()
    };
    let plan = Planner::new(&cfg.local_node, &h.nodes, h.auto_failback, resources);
    let hacf_text =
        std::fs::read_to_string(ConfigDir::new(&cfg.dir).path("ha.cf")).unwrap_or_default();
    let mut d = Daemon {
        cfg,
        paths,
        log,
        media,
        mem,
        plan,
        jobs,
        start: Instant::now(),
        exiting: false,
        standby_later: None,
        dirty: true,
        hacf_text,
    };
    drop(tx);
    d.run(rx)
}

/// Loads the configuration with the original's messages; on error logs
/// them (to stderr when no log target is known yet) and returns 6.
pub fn load_config(
    paths: &Paths,
    node: Option<&str>,
) -> Result<(Config, Vec<crate::log::Diag>), crate::error::ConfigError> {
    crate::config::load(&ConfigDir::new(&paths.config_dir), node)
}

impl Paths {
    /// Defaults, overridden by `HEARTBEAT_CONFIG_DIR`, `HEARTBEAT_STATE_DIR`,
    /// `HEARTBEAT_RUN_DIR`, `HEARTBEAT_PIDFILE` (for several nodes on one
    /// host, e.g. in test namespaces).
    pub fn from_env() -> Paths {
        let mut p = Paths::default();
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(v) = var("HEARTBEAT_CONFIG_DIR") {
            p.config_dir = v;
        }
        if let Some(v) = var("HEARTBEAT_STATE_DIR") {
            p.state_dir = v;
        }
        if let Some(v) = var("HEARTBEAT_RUN_DIR") {
            p.run_dir = v;
        }
        if let Some(v) = var("HEARTBEAT_PIDFILE") {
            p.pidfile = v;
        }
        p
    }
}

/// Pid from the pidfile if that process exists.
pub fn running_pid(pidfile: &std::path::Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    // SAFETY: signal 0 only checks for existence.
    (pid > 0 && unsafe { libc::kill(pid, 0) } == 0).then_some(pid)
}

/// Writes a classic message into the daemon's FIFO (what `ha_clustermsg` does).
pub fn fifo_send(paths: &Paths, fields: &[(&str, &str)]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut s = String::from(">>>\n");
    for (k, v) in fields {
        s.push_str(&format!("{k}={v}\n"));
    }
    s.push_str("<<<\n");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(paths.fifo())?;
    f.write_all(s.as_bytes())
}
