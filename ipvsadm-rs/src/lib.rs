//! IPVS (IP Virtual Server) over generic netlink, and the pieces of a
//! byte-compatible `ipvsadm` 1.31 built on it.
//!
//! Layout:
//! - [`model`]: the domain types (service, destination, stats, timeouts,
//!   sync daemon, info) as the kernel sees them.
//! - [`Ipvs`]: the operations ipvsadm needs, as a trait so the CLI logic can be
//!   tested against a fake table and the netlink client against a fake socket.

pub mod model;

pub use model::*;

/// Everything that can go wrong talking to IPVS.
///
/// ipvsadm reports every failure through an errno (`ipvs_strerror`), so each
/// variant maps to one with [`Error::errno`]; the variants keep the detail
/// that errno alone would lose, for logs and tests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel answered with NLMSG_ERROR carrying this (positive) errno.
    #[error("kernel returned errno {0}")]
    Kernel(i32),
    /// The generic-netlink family "IPVS" is not registered (no ip_vs module).
    #[error("generic netlink family IPVS not found")]
    FamilyNotFound,
    /// A reply could not be decoded (truncated, missing attribute, wrong
    /// sequence number...). ipvsadm reports these as EINVAL.
    #[error("malformed netlink reply: {0}")]
    Malformed(String),
    /// The socket itself failed.
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The errno ipvsadm 1.31 would have seen for this failure.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Kernel(e) => *e,
            Error::FamilyNotFound => libc::ENOPROTOOPT,
            Error::Malformed(_) => libc::EINVAL,
            Error::Io(e) => e.raw_os_error().unwrap_or(libc::EINVAL),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The IPVS operations, one per ipvsadm action. Implemented by the netlink
/// client and by an in-memory fake for tests.
///
/// Methods that identify a service take a whole [`Service`] because ipvsadm
/// sends the full service nest even for deletes (with an empty scheduler).
pub trait Ipvs {
    fn info(&mut self) -> Result<Info>;
    /// All services, in kernel dump order.
    fn services(&mut self) -> Result<Vec<Service>>;
    /// One service (GET_SERVICE doit); `Error::Kernel(ESRCH)` if absent.
    fn service(&mut self, svc: &Service) -> Result<Service>;
    /// Destinations of one service, in kernel dump order. An absent service
    /// yields an empty list, as the kernel does.
    fn destinations(&mut self, svc: &Service) -> Result<Vec<Destination>>;
    /// Destinations of many services. The netlink client overrides this to
    /// pipeline the N dump requests instead of waiting for each reply.
    fn destinations_of_all(&mut self, svcs: &[Service]) -> Result<Vec<Vec<Destination>>> {
        svcs.iter().map(|s| self.destinations(s)).collect()
    }
    fn add_service(&mut self, svc: &Service) -> Result<()>;
    fn edit_service(&mut self, svc: &Service) -> Result<()>;
    fn del_service(&mut self, svc: &Service) -> Result<()>;
    /// Zero counters of one service, or of all when `None`.
    fn zero(&mut self, svc: Option<&Service>) -> Result<()>;
    fn flush(&mut self) -> Result<()>;
    fn add_dest(&mut self, svc: &Service, dest: &Destination) -> Result<()>;
    fn edit_dest(&mut self, svc: &Service, dest: &Destination) -> Result<()>;
    fn del_dest(&mut self, svc: &Service, dest: &Destination) -> Result<()>;
    fn timeouts(&mut self) -> Result<Timeouts>;
    fn set_timeouts(&mut self, t: &Timeouts) -> Result<()>;
    /// Running sync daemons: master first, then backup.
    fn daemons(&mut self) -> Result<Vec<SyncDaemon>>;
    fn start_daemon(&mut self, d: &SyncDaemon) -> Result<()>;
    fn stop_daemon(&mut self, d: &SyncDaemon) -> Result<()>;
}

pub mod cli;
pub mod fake;
pub mod netlink;
