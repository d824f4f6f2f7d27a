//! Gratuitous ARP and unsolicited neighbour advertisements.
//!
//! When a node takes over a virtual IP, every neighbour still maps it to
//! the old holder's MAC. [`announce`] tells them the new one: for IPv4 the
//! request/reply pairs heartbeat's `send_arp` sends (byte for byte), for
//! IPv6 unsolicited neighbour advertisements with the override flag.
//!
//! ```no_run
//! use std::time::Duration;
//! let a = sendarp::Announcement {
//!     ifname: "eth0".into(),
//!     ip: "192.168.1.110".parse().unwrap(),
//!     mac: None, // the interface's own
//!     repeat: 10,
//!     interval: Duration::from_millis(500),
//! };
//! sendarp::announce(&a)?;
//! # Ok::<(), sendarp::Error>(())
//! ```
//!
//! Layers, for callers that need less than the whole thing: [`frame`]
//! builds bytes, [`schedule`] spaces them out (behind [`schedule::Sleeper`]),
//! [`link`] finds the interface and sends (behind [`link::FrameSink`]).
//! [`cli`], [`pidfile`] and [`cllog`] are the `send_arp` command's
//! heartbeat-compatible command line, pid file and logging.

use std::io;
use std::net::IpAddr;
use std::time::Duration;

pub mod cli;
pub mod cllog;
pub mod frame;
pub mod link;
pub mod mac;
pub mod pidfile;
pub mod schedule;

pub use frame::Mac;
pub use link::{FrameSink, Interface, Link, PacketSocket};
pub use schedule::{CancellableSleeper, Sleeper, ThreadSleeper};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0:?} cannot be an interface name")]
    InterfaceName(String),
    #[error("interface {ifname}: {source}")]
    Interface { ifname: String, source: io::Error },
    #[error("interface {0} is down")]
    InterfaceDown(String),
    #[error("sending raw frames needs root or CAP_NET_RAW")]
    NotPermitted,
    #[error("cannot open socket: {0}")]
    Socket(io::Error),
    #[error("cannot read the hardware address of {ifname}: {source}")]
    HwAddr { ifname: String, source: io::Error },
    #[error("interface {ifname} has link type {hwtype:#x}, not Ethernet")]
    LinkType { ifname: String, hwtype: u16 },
    #[error("sending on {ifname} failed: {source}")]
    Send { ifname: String, source: io::Error },
    #[error("pid file {0:?} must be an absolute path")]
    PidfileRelative(String),
    #[error("pid file {path:?}: {op}: {source}")]
    Pidfile {
        path: String,
        op: PidfileOp,
        source: io::Error,
    },
    #[error("pid file directory {0:?} is not a directory")]
    PidDirNotDir(String),
    #[error("pid file {path:?} holds no usable pid ({content:?})")]
    PidfileInvalid { path: String, content: String },
}

/// The pid-file step that failed (see [`Error::Pidfile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidfileOp {
    StatDir,
    CreateDir,
    Open,
    Read,
    Delete,
    /// Signalling the process named in an old pid file.
    Kill(u64),
    Write,
}

impl std::fmt::Display for PidfileOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PidfileOp::StatDir => write!(f, "stat directory"),
            PidfileOp::CreateDir => write!(f, "create directory"),
            PidfileOp::Open => write!(f, "open"),
            PidfileOp::Read => write!(f, "read"),
            PidfileOp::Delete => write!(f, "delete"),
            PidfileOp::Kill(pid) => write!(f, "kill old process {pid}"),
            PidfileOp::Write => write!(f, "write"),
        }
    }
}

/// Announce `ip` at `mac` (or the interface's own address) on `ifname`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub ifname: String,
    pub ip: IpAddr,
    /// `None`: the interface's own MAC (send_arp's `auto`).
    pub mac: Option<[u8; 6]>,
    /// Repetitions: ARP request+reply pairs for IPv4, advertisements for
    /// IPv6. Zero sends nothing.
    pub repeat: u32,
    /// Time from one repetition to the next. The two ARP frames of a
    /// repetition are half of it apart, as heartbeat spaces them.
    pub interval: std::time::Duration,
}

/// An announcement with its interface opened and its frames built, ready
/// to [`run`](Prepared::run). Splitting the two lets a caller report
/// set-up problems before anything is sent.
#[derive(Debug)]
pub struct Prepared {
    pub link: Link,
    /// The frames of one repetition.
    pub frames: Vec<Vec<u8>>,
    pub repeat: u32,
    pub interval: Duration,
}

impl Prepared {
    pub fn new(a: &Announcement) -> Result<Prepared, Error> {
        let link = Link::open(&a.ifname)?;
        let mac = a.mac.unwrap_or(link.interface.mac);
        Ok(Prepared::from_link(link, a.ip, mac, a.repeat, a.interval))
    }

    /// Build the frames for an already opened interface. The IPv6 router
    /// flag follows the interface's forwarding setting, as the kernel's
    /// own advertisements do.
    pub fn from_link(
        link: Link,
        ip: IpAddr,
        mac: Mac,
        repeat: u32,
        interval: Duration,
    ) -> Prepared {
        let router = match ip {
            IpAddr::V6(_) => link::ipv6_forwarding(&link.interface.name),
            IpAddr::V4(_) => false,
        };
        let frames = frame::announcement_frames(link.interface.mac, mac, ip, router);
        Prepared {
            link,
            frames,
            repeat,
            interval,
        }
    }

    /// Send every repetition, sleeping with `sleeper` in between.
    pub fn run(&mut self, sleeper: &mut dyn Sleeper) -> Result<(), Error> {
        schedule::run(
            &self.frames,
            self.repeat,
            self.interval,
            &mut self.link.socket,
            sleeper,
        )
    }
}

/// Send the whole announcement; blocks for (frames·repeat − 1) gaps.
pub fn announce(a: &Announcement) -> Result<(), Error> {
    Prepared::new(a)?.run(&mut ThreadSleeper)
}

/// [`announce`], stopping early (without error) when `cancel` receives a
/// message or its sender is dropped. Meant for a thread per takeover that
/// the resource manager can call off when it releases the address.
pub fn announce_cancellable(
    a: &Announcement,
    cancel: std::sync::mpsc::Receiver<()>,
) -> Result<(), Error> {
    Prepared::new(a)?.run(&mut CancellableSleeper(cancel))
}

/// `strerror(errno)` text without Rust's " (os error N)" suffix, as C
/// tools print it.
pub fn strerror(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let mut buf = [0 as libc::c_char; 256];
            // SAFETY: buf is writable for its full length; the XSI
            // strerror_r NUL-terminates on success.
            let rc = unsafe { libc::strerror_r(code, buf.as_mut_ptr(), buf.len()) };
            if rc != 0 {
                return format!("Unknown error {code}");
            }
            // SAFETY: NUL-terminated by strerror_r.
            unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_is_plain_c_text() {
        assert_eq!(
            strerror(&io::Error::from_raw_os_error(libc::ENODEV)),
            "No such device"
        );
        assert_eq!(
            strerror(&io::Error::from_raw_os_error(libc::EEXIST)),
            "File exists"
        );
    }
}
