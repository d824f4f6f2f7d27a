//! send_arp's pid file, with heartbeat's semantics.
//!
//! The path must be absolute. Its directory is created (one level, mode
//! 0750) when missing. The file is created exclusively; if it already
//! exists, the process named in it is an older send_arp for the same
//! address, which is killed (SIGKILL) before the file is replaced: a new
//! takeover supersedes a running announcement. The file holds the decimal
//! pid without a newline and is removed when send_arp finishes (not when
//! it is killed).
//!
//! One deliberate difference: heartbeat passes whatever the file holds to
//! kill(2), so a file reading `0`, `-1` or garbage makes it SIGKILL its own
//! process group or every process it may signal. We refuse such files
//! ([`Error::PidfileInvalid`]) instead.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::{Error, PidfileOp};

/// heartbeat's default: `/var/run/resource-agents/send_arp-<ip as given>`.
pub const DEFAULT_PREFIX: &str = "/var/run/resource-agents/send_arp-";
/// The original formats the default name into a 64-byte buffer and gives
/// up ("Pid file truncated") when it does not fit.
pub const DEFAULT_NAME_MAX: usize = 63;

/// The default pid file for `ip`, or `None` when heartbeat's buffer would
/// have truncated it.
pub fn default_path(ip: &[u8]) -> Option<PathBuf> {
    let mut p = DEFAULT_PREFIX.as_bytes().to_vec();
    p.extend_from_slice(ip);
    (p.len() <= DEFAULT_NAME_MAX).then(|| PathBuf::from(OsStr::from_bytes(&p)))
}

/// dirname(3).
pub fn dirname(path: &[u8]) -> Vec<u8> {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    match path[..end].iter().rposition(|&c| c == b'/') {
        None => b".".to_vec(),
        Some(slash) => {
            let mut d = slash;
            while d > 0 && path[d - 1] == b'/' {
                d -= 1;
            }
            if d == 0 {
                b"/".to_vec()
            } else {
                path[..d].to_vec()
            }
        }
    }
}

/// strtoul(buf, NULL, 10) as the original reads the old pid.
pub fn parse_pid(buf: &[u8]) -> u64 {
    let mut i = 0;
    while i < buf.len() && matches!(buf[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < buf.len() && (buf[i] == b'+' || buf[i] == b'-') {
        negative = buf[i] == b'-';
        i += 1;
    }
    let mut v: u64 = 0;
    while i < buf.len() && buf[i].is_ascii_digit() {
        v = v
            .saturating_mul(10)
            .saturating_add(u64::from(buf[i] - b'0'));
        i += 1;
    }
    if negative {
        v.wrapping_neg()
    } else {
        v
    }
}

/// The pid kill(2) would receive (the original passes its unsigned long
/// into a pid_t), if it names a single process.
pub fn signalable_pid(parsed: u64) -> Option<libc::pid_t> {
    let pid = parsed as libc::pid_t;
    (pid > 0).then_some(pid)
}

fn err(path: &Path, op: PidfileOp, source: io::Error) -> Error {
    Error::Pidfile {
        path: path.to_string_lossy().into_owned(),
        op,
        source,
    }
}

fn ensure_directory(path: &Path) -> Result<(), Error> {
    let dir = PathBuf::from(OsStr::from_bytes(&dirname(path.as_os_str().as_bytes())));
    match fs::metadata(&dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => return Err(Error::PidDirNotDir(dir.to_string_lossy().into_owned())),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {}
        Err(e) => return Err(err(&dir, PidfileOp::StatDir, e)),
    }
    match fs::DirBuilder::new().mode(0o750).create(&dir) {
        Ok(()) => Ok(()),
        // Someone else made it meanwhile.
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) && dir.is_dir() => Ok(()),
        Err(e) => Err(err(&dir, PidfileOp::CreateDir, e)),
    }
}

/// What to do with a process named in an old pid file.
pub trait Killer {
    fn kill(&mut self, pid: libc::pid_t) -> io::Result<()>;
}

/// SIGKILL for real.
pub struct SigKill;

impl Killer for SigKill {
    fn kill(&mut self, pid: libc::pid_t) -> io::Result<()> {
        // SAFETY: plain syscall.
        if unsafe { libc::kill(pid, libc::SIGKILL) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Create the pid file for this process. `on_killed` hears about each old
/// process that was signalled (or already gone), with the pid as the file
/// spelled it.
pub fn create(
    path: &Path,
    killer: &mut dyn Killer,
    on_killed: &mut dyn FnMut(u64),
) -> Result<(), Error> {
    if !path.as_os_str().as_bytes().starts_with(b"/") {
        return Err(Error::PidfileRelative(path.to_string_lossy().into_owned()));
    }
    ensure_directory(path)?;
    let mut file = loop {
        match fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(f) => break f,
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(err(path, PidfileOp::Open, e)),
        }
        let mut old = fs::File::open(path).map_err(|e| err(path, PidfileOp::Open, e))?;
        let mut buf = [0u8; 10];
        let n = loop {
            match old.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(err(path, PidfileOp::Read, e)),
            }
        };
        fs::remove_file(path).map_err(|e| err(path, PidfileOp::Delete, e))?;
        let parsed = parse_pid(&buf[..n]);
        let pid = if n == 0 { None } else { signalable_pid(parsed) };
        let Some(pid) = pid else {
            return Err(Error::PidfileInvalid {
                path: path.to_string_lossy().into_owned(),
                content: String::from_utf8_lossy(&buf[..n]).into_owned(),
            });
        };
        match killer.kill(pid) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            Err(e) => return Err(err(path, PidfileOp::Kill(parsed), e)),
        }
        on_killed(parsed);
    };
    let text = std::process::id().to_string();
    file.write_all(text.as_bytes())
        .map_err(|e| err(path, PidfileOp::Write, e))?;
    Ok(())
}

/// Remove the pid file; errors are ignored like the original's unlink.
pub fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Recorder(Vec<libc::pid_t>, Option<i32>);
    impl Killer for Recorder {
        fn kill(&mut self, pid: libc::pid_t) -> io::Result<()> {
            self.0.push(pid);
            match self.1 {
                Some(e) => Err(io::Error::from_raw_os_error(e)),
                None => Ok(()),
            }
        }
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sa-pidfile-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn default_path_and_truncation() {
        assert_eq!(
            default_path(b"10.0.0.1").unwrap(),
            PathBuf::from("/var/run/resource-agents/send_arp-10.0.0.1")
        );
        // 34-byte prefix + 29 = 63 fits, 30 does not.
        assert!(default_path(&[b'1'; 29]).is_some());
        assert!(default_path(&[b'1'; 30]).is_none());
    }

    #[test]
    fn dirname_like_libc() {
        assert_eq!(dirname(b"/var/run/x"), b"/var/run");
        assert_eq!(dirname(b"/x"), b"/");
        assert_eq!(dirname(b"/a//b"), b"/a");
        assert_eq!(dirname(b"/a/b/"), b"/a");
        assert_eq!(dirname(b"/"), b"/");
        assert_eq!(dirname(b"x"), b".");
    }

    #[test]
    fn pid_parsing_like_strtoul() {
        assert_eq!(parse_pid(b"1234"), 1234);
        assert_eq!(parse_pid(b" 42\n"), 42);
        assert_eq!(parse_pid(b"abc"), 0);
        assert_eq!(parse_pid(b"-1"), u64::MAX);
        assert_eq!(parse_pid(b"9999999999"), 9_999_999_999);
        assert_eq!(signalable_pid(1234), Some(1234));
        assert_eq!(signalable_pid(0), None);
        assert_eq!(signalable_pid(u64::MAX), None);
        // What the original's kill() would get: 9999999999 as a pid_t.
        assert_eq!(signalable_pid(9_999_999_999), Some(1_410_065_407));
    }

    #[test]
    fn creates_writes_and_removes() {
        let d = tmp("create");
        let p = d.join("sub").join("send_arp-10.0.0.1");
        let mut k = Recorder(vec![], None);
        create(&p, &mut k, &mut |_| panic!("nothing to kill")).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            std::process::id().to_string()
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        remove(&p);
        assert!(!p.exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn old_process_is_killed_and_file_replaced() {
        let d = tmp("old");
        let p = d.join("pf");
        fs::write(&p, "4242\n").unwrap();
        let mut k = Recorder(vec![], Some(libc::ESRCH));
        let mut killed = vec![];
        create(&p, &mut k, &mut |pid| killed.push(pid)).unwrap();
        assert_eq!(k.0, vec![4242]);
        assert_eq!(killed, vec![4242]);
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            std::process::id().to_string()
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn empty_file_is_an_error_and_goes_away() {
        let d = tmp("empty");
        let p = d.join("pf");
        fs::write(&p, "").unwrap();
        let e = create(&p, &mut Recorder(vec![], None), &mut |_| {}).unwrap_err();
        match e {
            Error::PidfileInvalid { content, .. } => assert_eq!(content, ""),
            other => panic!("{other:?}"),
        }
        assert!(!p.exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn group_killing_contents_are_refused() {
        let d = tmp("group");
        for content in ["0", "abc", "-1", "-77"] {
            let p = d.join("pf");
            fs::write(&p, content).unwrap();
            let mut k = Recorder(vec![], None);
            let e = create(&p, &mut k, &mut |_| {}).unwrap_err();
            assert!(
                matches!(e, Error::PidfileInvalid { .. }),
                "{content}: {e:?}"
            );
            assert!(k.0.is_empty(), "{content}: signalled {:?}", k.0);
        }
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn kill_failure_is_reported() {
        let d = tmp("eperm");
        let p = d.join("pf");
        fs::write(&p, "1").unwrap();
        let e = create(&p, &mut Recorder(vec![], Some(libc::EPERM)), &mut |_| {}).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Pidfile {
                    op: PidfileOp::Kill(1),
                    ..
                }
            ),
            "{e:?}"
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn bad_locations() {
        assert!(matches!(
            create(Path::new("rel/pf"), &mut SigKill, &mut |_| {}),
            Err(Error::PidfileRelative(_))
        ));
        let d = tmp("notdir");
        let f = d.join("file");
        fs::write(&f, "").unwrap();
        match create(&f.join("pf"), &mut SigKill, &mut |_| {}) {
            Err(Error::PidDirNotDir(dir)) => assert_eq!(Path::new(&dir), f),
            other => panic!("{other:?}"),
        }
        match create(&d.join("a/b/pf"), &mut SigKill, &mut |_| {}) {
            Err(Error::Pidfile {
                op: PidfileOp::CreateDir,
                source,
                ..
            }) => {
                assert_eq!(source.raw_os_error(), Some(libc::ENOENT))
            }
            other => panic!("{other:?}"),
        }
        fs::remove_dir_all(&d).unwrap();
    }
}
