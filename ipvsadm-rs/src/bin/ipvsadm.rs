//! `ipvsadm`: the IPVS administration command, byte-compatible with
//! ipvsadm 1.31. All logic lives in [`ipvs::cli`]; this only wires the
//! process's argv, stdio and the netlink client to it.

use std::os::unix::ffi::OsStringExt;

fn main() {
    let argv: Vec<Vec<u8>> = std::env::args_os().map(|a| a.into_vec()).collect();
    std::process::exit(ipvs::cli::stdio::run_process(&argv, None));
}
