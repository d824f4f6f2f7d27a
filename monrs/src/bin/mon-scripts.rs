//! The monitors and alerts shipped with mon, as one binary that acts
//! according to the name it is started under (see mon-scripts(8)).
//! `mon-scripts install MONDIR ALERTDIR` creates those names as links.

use mon::scripts;

fn main() {
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_default();
    let name = argv0.rsplit('/').next().unwrap_or("").to_string();
    let rest: Vec<String> = args.collect();
    if name == "mon-scripts" {
        std::process::exit(install(&rest));
    }
    std::process::exit(scripts::main_for(&name, &rest));
}

fn install(args: &[String]) -> i32 {
    let [cmd, mondir, alertdir] = args else {
        eprintln!("usage: mon-scripts install MONDIR ALERTDIR");
        return 2;
    };
    if cmd != "install" {
        eprintln!("usage: mon-scripts install MONDIR ALERTDIR");
        return 2;
    }
    let me = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mon-scripts: cannot find myself: {e}");
            return 1;
        }
    };
    let mut rc = 0;
    for (dir, names) in [(mondir, scripts::MONITORS), (alertdir, scripts::ALERTS)] {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("mon-scripts: {dir}: {e}");
            return 1;
        }
        for n in names {
            let p = std::path::Path::new(dir).join(n);
            let _ = std::fs::remove_file(&p);
            if let Err(e) = std::os::unix::fs::symlink(&me, &p) {
                eprintln!("mon-scripts: {}: {e}", p.display());
                rc = 1;
            }
        }
    }
    rc
}
