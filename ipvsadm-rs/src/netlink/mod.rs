//! Generic-netlink client for the IPVS family: message encoding/decoding, transport, and `Client`, the real [`crate::Ipvs`].
