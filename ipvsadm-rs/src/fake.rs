//! An in-memory IPVS table with the kernel's error semantics, for testing the command line without a kernel.
