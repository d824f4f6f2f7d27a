//! Generic-netlink client for the IPVS family.
//!
//! Layers, each usable on its own:
//! - [`wire`]: netlink/genetlink framing and attribute (TLV) parsing.
//! - [`request`]: every IPVS request, byte-identical to ipvsadm 1.31's.
//! - [`reply`]: decoding kernel replies into the [`crate::model`] types;
//!   [`decode_datagram`] is the fuzzed entry point.
//! - [`kernel`]: builders for kernel-shaped replies (tests, fakes, corpus).
//! - [`transport`]: the [`Transport`] trait, the real socket and a fake.
//! - [`client`]: [`Client`], the real [`crate::Ipvs`].

pub mod client;
pub mod consts;
pub mod fuzz;
pub mod kernel;
pub mod reply;
pub mod request;
pub mod transport;
pub mod wire;

pub use client::{Client, DUMP_WINDOW};
pub use reply::{decode_datagram, Payload, Reply};
pub use request::Request;
pub use transport::{FakeTransport, NetlinkSocket, Transport};
