//! Two-node clusters in network namespaces on a bridge, plus a client.
//! Names are `hb-<pid>-<n>-*`; everything is torn down on drop.

use super::TempDir;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "command failed: {cmd}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sh_ok(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Polls `f` every 20 ms until it is true or `limit` passes.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if f() {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Runs `f` on a thread inside the named network namespace.
pub fn in_ns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).expect("netns handle");
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
}

/// A bridge namespace, node namespaces `a`, `b`… and a client `c`.
pub struct Net {
    pub prefix: String,
    pub subnet: String,
    names: Vec<String>,
}

impl Net {
    /// `nodes` node namespaces with eth0 = <subnet>.<i+1>/24, and a client
    /// at <subnet>.100.
    pub fn new(nodes: usize) -> Net {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let prefix = format!("hb-{}-{n}", pid % 100000);
        // A per-test subnet inside our own namespaces only.
        let subnet = format!("10.77.{}", (pid as usize * 7 + n) % 250 + 1);
        let mut net = Net {
            prefix: prefix.clone(),
            subnet: subnet.clone(),
            names: vec![],
        };
        let br = format!("{prefix}-br");
        sh(&format!("ip netns add {br}"));
        net.names.push(br.clone());
        sh(&format!("ip -n {br} link add br0 type bridge && ip -n {br} link set br0 up && ip -n {br} link set lo up"));
        let mut hosts: Vec<(String, String)> = (0..nodes)
            .map(|i| {
                (
                    format!("{prefix}-{}", (b'a' + i as u8) as char),
                    format!("{subnet}.{}", i + 1),
                )
            })
            .collect();
        hosts.push((format!("{prefix}-c"), format!("{subnet}.100")));
        for (i, (ns, ip)) in hosts.iter().enumerate() {
            sh(&format!("ip netns add {ns}"));
            net.names.push(ns.clone());
            sh(&format!(
                "ip -n {br} link add p{i} type veth peer name eth0 netns {ns} && \
                 ip -n {br} link set p{i} master br0 && ip -n {br} link set p{i} up && \
                 ip -n {ns} link set lo up && ip -n {ns} addr add {ip}/24 brd + dev eth0 && \
                 ip -n {ns} link set eth0 up"
            ));
        }
        net
    }

    pub fn ns(&self, which: char) -> String {
        format!("{}-{which}", self.prefix)
    }

    pub fn mac(&self, which: char) -> String {
        sh(&format!(
            "ip netns exec {} cat /sys/class/net/eth0/address",
            self.ns(which)
        ))
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string()
    }

    /// Cuts or restores a node's link (the bridge port goes down).
    pub fn set_link(&self, which: char, up: bool) {
        let i = (which as u8 - b'a') as usize;
        sh(&format!(
            "ip -n {}-br link set p{i} {}",
            self.prefix,
            if up { "up" } else { "down" }
        ));
    }

    /// Adds netem loss on a node's bridge port (both directions via its eth0 too).
    pub fn loss(&self, which: char, percent: u32) -> bool {
        let i = (which as u8 - b'a') as usize;
        sh_ok(&format!(
            "ip netns exec {}-br tc qdisc replace dev p{i} root netem loss {percent}%",
            self.prefix
        )) && sh_ok(&format!(
            "ip netns exec {} tc qdisc replace dev eth0 root netem loss {percent}%",
            self.ns(which)
        ))
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for n in self.names.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// One heartbeat daemon (ours or Debian's) with its own directories.
pub struct Node {
    pub name: String,
    pub ns: String,
    pub dir: TempDir,
    pub child: Option<Child>,
}

impl Node {
    pub fn new(name: &str, ns: &str, hacf: &str, authkeys: &str, haresources: &str) -> Node {
        let dir = TempDir::new(name);
        let hacf = hacf.replace("LOGFILE", &dir.join("log").display().to_string());
        dir.write("etc/ha.cf", &hacf);
        dir.write_mode("etc/authkeys", authkeys, 0o600);
        dir.write("etc/haresources", haresources);
        for d in ["state", "run", "marks", "etc/resource.d"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        Node {
            name: name.into(),
            ns: ns.into(),
            dir,
            child: None,
        }
    }

    pub fn script(&self, name: &str, body: &str) {
        self.dir
            .write_mode(&format!("etc/resource.d/{name}"), body, 0o755);
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "HEARTBEAT_CONFIG_DIR".into(),
                self.dir.join("etc").display().to_string(),
            ),
            (
                "HEARTBEAT_STATE_DIR".into(),
                self.dir.join("state").display().to_string(),
            ),
            (
                "HEARTBEAT_RUN_DIR".into(),
                self.dir.join("run").display().to_string(),
            ),
            (
                "HEARTBEAT_PIDFILE".into(),
                self.dir.join("run/heartbeat.pid").display().to_string(),
            ),
            ("MARKS".into(), self.dir.join("marks").display().to_string()),
        ]
    }

    /// Starts our daemon in the foreground inside the node's namespace.
    pub fn start(&mut self) {
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &self.ns,
            env!("CARGO_BIN_EXE_heartbeat"),
            "-f",
            "--node",
            &self.name,
        ]);
        c.envs(self.env());
        c.stdout(Stdio::null()).stderr(Stdio::null());
        self.child = Some(c.spawn().expect("start heartbeat"));
    }

    /// Runs one of our tools with this node's environment.
    pub fn tool(&self, bin: &str, args: &[&str]) -> (i32, String, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, bin])
            .args(args)
            .envs(self.env())
            .output()
            .expect("run tool");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn term(&mut self) {
        if let Some(c) = &self.child {
            // SAFETY: plain kill(2) on our child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        }
    }

    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    self.child = None;
                    return true;
                }
            } else {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    pub fn has_mark(&self, m: &str) -> bool {
        self.dir.join("marks").join(m).exists()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Debian's heartbeat 3.0.6 for a node: its own mount, UTS and PID
/// namespaces inside the node's network namespace, with the node's
/// directories bound over /etc/ha.d, /var/lib/heartbeat and /run.
pub struct RealNode {
    pub name: String,
    pub ns: String,
    pub dir: TempDir,
    child: Option<Child>,
}

impl RealNode {
    pub fn new(name: &str, ns: &str, hacf: &str, authkeys: &str, haresources: &str) -> RealNode {
        super::require_reference();
        let dir = TempDir::new(&format!("real-{name}"));
        let hacf = hacf.replace("LOGFILE", &dir.join("log").display().to_string());
        dir.write("etc/ha.cf", &hacf);
        dir.write_mode("etc/authkeys", authkeys, 0o600);
        dir.write("etc/haresources", haresources);
        for d in ["varlib", "run", "marks", "etc/resource.d", "etc/rc.d"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        sh(&format!(
            "cp -a /etc/ha.d/harc /etc/ha.d/shellfuncs {d}/etc/ && cp -a /etc/ha.d/rc.d/. {d}/etc/rc.d/",
            d = dir.path.display()
        ));
        RealNode {
            name: name.into(),
            ns: ns.into(),
            dir,
            child: None,
        }
    }

    pub fn script(&self, name: &str, body: &str) {
        self.dir
            .write_mode(&format!("etc/resource.d/{name}"), body, 0o755);
    }

    pub fn start(&mut self) {
        let d = self.dir.path.display();
        let script = format!(
            "set -e; hostname {n}; mount --bind {d}/etc /etc/ha.d; mount --bind {d}/varlib /var/lib/heartbeat; \
             mount --bind {d}/run /run; mkdir -p /run/resource-agents /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd; \
             chown -R hacluster:haclient /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd 2>/dev/null || true; \
             exec {bin} -f",
            n = self.name,
            bin = super::REAL_HEARTBEAT
        );
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &self.ns,
            "unshare",
            "--mount",
            "--uts",
            "--pid",
            "--kill-child",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ]);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        self.child = Some(c.spawn().expect("start Debian heartbeat"));
    }

    /// The daemon's master process (pid 1 of its PID namespace).
    fn master_pid(&self) -> Option<i32> {
        let c = self.child.as_ref()?;
        // ip → (exec) unshare → forked child = heartbeat master
        let kids =
            std::fs::read_to_string(format!("/proc/{}/task/{}/children", c.id(), c.id())).ok()?;
        kids.split_whitespace().next()?.parse().ok()
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // --kill-child takes the namespace down with it
            let _ = c.wait();
        }
    }

    pub fn term(&mut self) {
        if let Some(p) = self.master_pid() {
            // SAFETY: plain kill(2).
            unsafe { libc::kill(p, libc::SIGTERM) };
        }
    }

    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < limit {
            match self.child.as_mut().map(|c| c.try_wait()) {
                Some(Ok(Some(_))) | None => {
                    self.child = None;
                    return true;
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        false
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    pub fn has_mark(&self, m: &str) -> bool {
        self.dir.join("marks").join(m).exists()
    }
}

impl Drop for RealNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// ResourceManager's lines of a log (`2026/11/25_19:45:42  ResourceManager(default)[24860]:    info: text`),
/// with the date, the id and the node's configuration directory replaced
/// (`DATE`, `N`, `ETC`) so that ours and the original's compare; panics
/// on a ResourceManager line in any other shape. 3.0.6 writes the script
/// path as `/etc/ha.d//resource.d/x` when the daemon itself starts
/// ResourceManager and `/etc/ha.d/resource.d/x` when its standby scripts
/// do; ours always writes `//`: both read `ETC/resource.d/x` here.
pub fn resource_manager_lines(log: &str, etc: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("ResourceManager("))
        .map(|l| {
            let (date, rest) = l.split_at(l.find(' ').unwrap_or(0));
            let shape: String = date
                .chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect();
            assert_eq!(shape, "9999/99/99_99:99:99", "date of: {l}");
            let rest = rest
                .strip_prefix("  ResourceManager(default)[")
                .unwrap_or_else(|| panic!("tag of: {l}"));
            let (id, text) = rest.split_once("]:    ").unwrap_or_else(|| panic!("{l}"));
            assert!(id.chars().all(|c| c.is_ascii_digit()), "id of: {l}");
            format!(
                "DATE  ResourceManager(default)[N]:    {}",
                text.replace(etc, "ETC").replace("ETC//", "ETC/")
            )
        })
        .collect()
}

/// (thread name, scheduling policy) of each thread of a process, from
/// /proc (policy 0 = SCHED_OTHER, 1 = SCHED_FIFO).
pub fn thread_policies(pid: u32) -> Vec<(String, u32)> {
    let mut v = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return v;
    };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        let sched = std::fs::read_to_string(t.path().join("sched")).unwrap_or_default();
        let policy = sched
            .lines()
            .find(|l| l.starts_with("policy"))
            .and_then(|l| l.rsplit(':').next())
            .and_then(|x| x.trim().parse().ok())
            .unwrap_or(u32::MAX);
        v.push((comm.trim().to_string(), policy));
    }
    v
}
