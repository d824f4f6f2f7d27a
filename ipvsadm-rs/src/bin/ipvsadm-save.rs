//! `ipvsadm-save [-n]`: print the IPVS table in `ipvsadm -R` form, like
//! Debian's ipvsadm-save script (which runs `ipvsadm -S [-n]`), but calling
//! the library directly instead of a shell and a second process.

use std::io::Write;
use std::os::unix::ffi::OsStringExt;

fn main() {
    let argv: Vec<Vec<u8>> = std::env::args_os().map(|a| a.into_vec()).collect();
    let mut numeric = false;
    for a in argv.iter().skip(1) {
        if a.as_slice() == b"-n" {
            numeric = true;
        } else if a.first() == Some(&b'-') {
            // The script's help(): `basename $0`, to stderr, exit 1.
            let me = argv
                .first()
                .map(|a| a.as_slice())
                .unwrap_or(b"ipvsadm-save");
            let base = me.rsplit(|&c| c == b'/').next().unwrap_or(me);
            let mut e = std::io::stderr().lock();
            let _ = e.write_all(base);
            let _ = e.write_all(
                b": Script to save the IPVS table to stdout.\n   With the -n option, prints out the table in numeric format.\n",
            );
            std::process::exit(1);
        }
    }
    let mut cmd: Vec<Vec<u8>> = vec![b"ipvsadm".to_vec(), b"-S".to_vec()];
    if numeric {
        cmd.push(b"-n".to_vec());
    }
    std::process::exit(ipvs::cli::stdio::run_process(&cmd, None));
}
