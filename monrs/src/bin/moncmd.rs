//! moncmd(1): send commands to a mon server and print the replies.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::net::TcpStream;

use mon::scripts::getopts;

fn usage() -> ! {
    print!(
        "usage: moncmd [-a] [-l user] [-s host] [-p port] [-f file|-] [command...]\n\
         \x20   -a\t\tauthenticate (password from the terminal, or USER=/PASS= lines)\n\
         \x20   -l user\tlog in as user\n\
         \x20   -s host\tserver (default $MONHOST, else localhost)\n\
         \x20   -p port\tport (default 2583)\n\
         \x20   -f file\tread commands from file (- for stdin)\n"
    );
    std::process::exit(0);
}

fn die(m: &str) -> ! {
    eprintln!("{m}");
    std::process::exit(255);
}

/// Send one command; return (status line, data lines). None on EOF.
fn do_cmd(
    w: &mut TcpStream,
    r: &mut BufReader<TcpStream>,
    cmd: &str,
) -> Option<(String, Vec<String>)> {
    if cmd.trim().is_empty() {
        // the original returns ("", undef): one empty data line, empty status
        return Some((String::new(), vec![String::new()]));
    }
    w.write_all(format!("{cmd}\n").as_bytes()).ok()?;
    let mut out = Vec::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).ok()? == 0 {
            return if out.is_empty() {
                None
            } else {
                Some((String::new(), out))
            };
        }
        let l = l.trim_end_matches('\n').to_string();
        let b = l.as_bytes();
        if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3].is_ascii_whitespace() {
            return Some((l, out));
        }
        out.push(l);
    }
}

fn print_reply(status: &str, out: &[String]) {
    for l in out {
        println!("{l}");
    }
    println!("{status}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (o, rest) = getopts("ahf:l:s:p:rd", &args);
    if o.contains_key(&'h') {
        usage();
    }
    let server = o
        .get(&'s')
        .cloned()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("MONHOST").ok())
        .unwrap_or_else(|| "localhost".into());
    let port: u16 = o
        .get(&'p')
        .and_then(|p| p.parse().ok())
        .filter(|p| *p != 0)
        .unwrap_or(2583);
    let mut input: Option<Box<dyn BufRead>> = None;
    if let Some(f) = o.get(&'f') {
        input = Some(if f == "-" {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            match std::fs::File::open(f) {
                Ok(fh) => Box::new(BufReader::new(fh)),
                Err(e) => die(&format!(
                    "could not open input file: {}",
                    mon::error::errno_text(&e)
                )),
            }
        });
    } else if rest.is_empty() {
        if std::io::stdin().is_terminal() {
            print!("You did not give a command on the command line nor a -f flag and\nthe program is running interactively (e.g. reading from terminal).\nThis is not supported.  Exiting\n");
            std::process::exit(1);
        }
        input = Some(Box::new(BufReader::new(std::io::stdin())));
    }
    let mut pending: Option<String> = None;
    let mut creds: Option<(String, String)> = None;
    if o.contains_key(&'a') {
        let mut user = o.get(&'l').cloned().filter(|s| !s.is_empty());
        if user.is_none() {
            // SAFETY: getpwuid on our own euid; the name is copied at once.
            user = unsafe {
                let pw = libc::getpwuid(libc::geteuid());
                (!pw.is_null()).then(|| {
                    std::ffi::CStr::from_ptr((*pw).pw_name)
                        .to_string_lossy()
                        .into_owned()
                })
            };
        }
        let Some(user0) = user else {
            die("could not determine username")
        };
        let mut user = user0;
        let mut pass = String::new();
        if std::io::stdin().is_terminal() {
            let _ = std::process::Command::new("stty").arg("-echo").status();
            print!("Password: ");
            let _ = std::io::stdout().flush();
            let _ = std::io::stdin().read_line(&mut pass);
            println!();
            let _ = std::process::Command::new("stty").arg("echo").status();
            pass = pass.trim_end_matches('\n').to_string();
            if pass.trim().is_empty() {
                die("invalid password");
            }
        } else if rest.is_empty() {
            if let Some(h) = input.as_mut() {
                loop {
                    let mut l = String::new();
                    if h.read_line(&mut l).unwrap_or(0) == 0 {
                        break;
                    }
                    let t = l.trim_end_matches('\n');
                    let lower = t.to_lowercase();
                    if lower.starts_with("user=") {
                        if !o.contains_key(&'l') {
                            user = t[5..].to_string();
                        }
                    } else if lower.starts_with("pass=") {
                        pass = t[5..].to_string();
                    } else {
                        pending = Some(t.to_string());
                        break;
                    }
                }
            }
        }
        if user.is_empty() || pass.is_empty() {
            die("inadequate authentication information supplied");
        }
        creds = Some((user, pass));
    }
    let mut w = match TcpStream::connect((server.as_str(), port)) {
        Ok(s) => s,
        Err(e) => die(&format!(
            "could not connect: {}",
            mon::error::errno_text(&e)
        )),
    };
    let mut r = BufReader::new(w.try_clone().unwrap_or_else(|e| die(&e.to_string())));
    if let Some((u, p)) = creds {
        if let Some((l, _)) = do_cmd(&mut w, &mut r, &format!("login {u} {p}")) {
            if l.starts_with("530") {
                die("Could not authenticate");
            }
        }
    }
    if let Some(mut h) = input {
        let mut next = pending.take();
        loop {
            let cmd = match next.take() {
                Some(c) => c,
                None => {
                    let mut l = String::new();
                    if h.read_line(&mut l).unwrap_or(0) == 0 {
                        break;
                    }
                    l.trim_end_matches('\n').to_string()
                }
            };
            match do_cmd(&mut w, &mut r, &cmd) {
                Some((l, out)) => print_reply(&l, &out),
                None => break,
            }
        }
    } else if let Some((l, out)) = do_cmd(&mut w, &mut r, &rest.join(" ")) {
        print_reply(&l, &out);
    }
    let _ = do_cmd(&mut w, &mut r, "quit");
}
