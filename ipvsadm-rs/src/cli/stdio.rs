//! Process glue shared by the three binaries: real stdio with C-like
//! buffering, the netlink client, and the ipvsadm-restore script's input
//! filtering.

use std::io::{BufRead, BufReader, IsTerminal, LineWriter, Write};

use crate::netlink::Client;
use crate::Ipvs;

/// Run ipvsadm as a process would: `argv` from the command line, stdin (or
/// `stdin_data` instead), stdout buffered like glibc's (line-buffered on a
/// terminal, 4 KiB blocks otherwise), unbuffered stderr. Returns the exit
/// status.
pub fn run_process(argv: &[Vec<u8>], stdin_data: Option<Vec<u8>>) -> i32 {
    // A C program dies of SIGPIPE when its reader goes away; the Rust
    // runtime ignores the signal, so restore the default.
    // SAFETY: setting a signal disposition to SIG_DFL has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let stdout = std::io::stdout();
    let mut out: Box<dyn Write> = if stdout.is_terminal() {
        Box::new(LineWriter::new(stdout.lock()))
    } else {
        Box::new(std::io::BufWriter::with_capacity(4096, stdout.lock()))
    };
    let mut err = std::io::stderr().lock();
    let mut open = || -> crate::Result<Box<dyn Ipvs>> { Ok(Box::new(Client::open()?)) };
    let code = match stdin_data {
        Some(data) => {
            let mut r: &[u8] = &data;
            super::run(argv, &mut r, &mut out, &mut err, &mut open)
        }
        None => {
            let mut r: Box<dyn BufRead> = Box::new(BufReader::new(std::io::stdin().lock()));
            super::run(argv, &mut r, &mut out, &mut err, &mut open)
        }
    };
    let _ = out.flush();
    code
}

/// What the ipvsadm-restore script pipes into `ipvsadm -R`:
/// `INPUT="$(grep -v '^#')"; echo "$INPUT"` - comment lines removed,
/// trailing newlines stripped by the command substitution, one newline
/// added back by echo.
pub fn restore_script_input(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in input.split_inclusive(|&c| c == b'\n') {
        if line.first() == Some(&b'#') {
            continue;
        }
        out.extend_from_slice(line);
        if line.last() != Some(&b'\n') {
            out.push(b'\n');
        }
    }
    // bash drops NUL bytes from a command substitution.
    out.retain(|&c| c != 0);
    while out.last() == Some(&b'\n') {
        out.pop();
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_script_filtering() {
        assert_eq!(
            restore_script_input(b"# c\n-A -t a:1\n\n\n"),
            b"-A -t a:1\n"
        );
        assert_eq!(restore_script_input(b"-C\n #x\n-L"), b"-C\n #x\n-L\n");
        assert_eq!(restore_script_input(b""), b"\n");
    }
}
