//! Network-namespace tests of send_arp: differential against Debian's
//! heartbeat send_arp, neighbour-cache effects, and our extensions.
//! Needs root (namespaces, AF_PACKET). Every namespace is named `sa-<pid>-…`
//! and removed when its test ends, even on failure.

mod differential;
mod extensions;
mod neighbour;
mod util;
