//! `ipvsadm-restore`: replace the IPVS table with rules read from stdin,
//! like Debian's ipvsadm-restore script: drop lines starting with `#`,
//! clear the table (`ipvsadm -C`, whose failure is ignored), then feed the
//! rest to `ipvsadm -R`. Arguments are ignored, as the script ignores them.

use std::io::Read;

fn main() {
    let mut input = Vec::new();
    let _ = std::io::stdin().lock().read_to_end(&mut input);
    let filtered = ipvs::cli::stdio::restore_script_input(&input);
    let argv0 = b"ipvsadm".to_vec();
    let _ = ipvs::cli::stdio::run_process(&[argv0.clone(), b"-C".to_vec()], Some(Vec::new()));
    std::process::exit(ipvs::cli::stdio::run_process(
        &[argv0, b"-R".to_vec()],
        Some(filtered),
    ));
}
