//! Shared helpers: reference-tool checks, scratch directories, free ports.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Panics (fails the test) if Debian's mon or its Perl libraries are absent.
pub fn require_reference() {
    assert!(
        Path::new("/usr/sbin/mon").exists(),
        "Debian's mon 1.3.6 is required (apt-get install mon libtime-period-perl; see lab/setup)"
    );
    let ok = std::process::Command::new("perl")
        .args(["-MTime::Period", "-e", "1"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "perl with Time::Period is required (libtime-period-perl)"
    );
}

/// Tests that run Debian's mon take this lock so they do not overlap:
/// the original's one-second loop drifts on a loaded machine.
pub fn reference_lock() -> std::sync::MutexGuard<'static, ()> {
    static L: std::sync::Mutex<()> = std::sync::Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh scratch directory unique to this process and call.
pub fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "monrs-test-{}-{}-{}",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A deterministic xorshift generator for generated test inputs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// A connection to whatever listens on 127.0.0.1:`port`, or None. A
/// connect to a port nobody listens on can still succeed when the kernel
/// picks that same port for our end (TCP self-connect); that is not a
/// server.
pub fn connect_local(port: u16) -> Option<std::net::TcpStream> {
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    (s.local_addr().ok()? != s.peer_addr().ok()?).then_some(s)
}
