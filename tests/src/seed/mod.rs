//! The seed cluster (issue 6): the 2004 guide's two directors, two web
//! nodes and a client, built from `examples/seed/` in network namespaces
//! inside the IPVS lab.

pub mod debian;
