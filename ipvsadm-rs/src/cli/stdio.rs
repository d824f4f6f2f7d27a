//! Process glue shared by the three binaries: real stdio with C-like
//! buffering, the netlink client, and the ipvsadm-restore script's input
//! filtering.

use std::io::{BufRead, BufReader, IsTerminal, Write};

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
    let line = std::io::stdout().is_terminal();
    // Rust's own stdout is line-buffered; bypass it so that only CStdout
    // decides when bytes reach fd 1.
    // SAFETY: fd 1 stays open for the life of the process and the File is
    // never dropped (ManuallyDrop), so it is not closed here.
    let fd1 = std::mem::ManuallyDrop::new(unsafe {
        <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(1)
    });
    let mut out = CStdout::new(&*fd1, stdio_block_size(), line);
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

/// glibc's choice of stdio buffer size: the file's `st_blksize`, else
/// BUFSIZ.
fn stdio_block_size() -> usize {
    // SAFETY: fstat on fd 1 with a zeroed stat buffer we own.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(1, &mut st) == 0 && st.st_blksize > 0 {
            return st.st_blksize as usize;
        }
    }
    8192
}

/// stdout buffered the way glibc buffers it, so that when stdout and
/// stderr share a pipe the two interleave as they do with ipvsadm: a
/// fixed-size buffer written out only when full (or at a newline when
/// line-buffered on a terminal) and at exit.
pub struct CStdout<W: Write> {
    inner: W,
    buf: Vec<u8>,
    size: usize,
    line: bool,
}

impl<W: Write> CStdout<W> {
    pub fn new(inner: W, size: usize, line_buffered: bool) -> Self {
        let size = size.max(1);
        CStdout {
            inner,
            buf: Vec::with_capacity(size),
            size,
            line: line_buffered,
        }
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let r = self.inner.write_all(&self.buf);
            self.buf.clear();
            r?;
        }
        Ok(())
    }
}

impl<W: Write> Write for CStdout<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            let room = self.size - self.buf.len();
            let n = room.min(rest.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.buf.len() == self.size {
                self.flush_buf()?;
            }
        }
        if self.line && data.contains(&b'\n') {
            self.flush_buf()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_buf()?;
        self.inner.flush()
    }
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
    fn stdout_is_written_in_whole_blocks_like_glibc() {
        let mut sink: Vec<Vec<u8>> = Vec::new();
        struct Rec<'a>(&'a mut Vec<Vec<u8>>);
        impl Write for Rec<'_> {
            fn write(&mut self, d: &[u8]) -> std::io::Result<usize> {
                self.0.push(d.to_vec());
                Ok(d.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        {
            let mut w = CStdout::new(Rec(&mut sink), 8, false);
            w.write_all(b"abc\n").unwrap();
            w.write_all(b"defghij\n").unwrap();
            w.write_all(b"xy").unwrap();
            w.flush().unwrap();
        }
        assert_eq!(sink, vec![b"abc\ndefg".to_vec(), b"hij\nxy".to_vec()]);
    }

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
