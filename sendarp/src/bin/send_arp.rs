//! heartbeat-compatible `send_arp`; everything lives in `sendarp::cli`.

fn main() {
    sendarp::cli::install_sigterm_exit();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let environ: Vec<std::ffi::OsString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            kv
        })
        .collect();
    std::process::exit(sendarp::cli::run(&argv, &environ));
}
