//! What ipvsadm asks of the C library and the system besides IPVS: name
//! lookups, the modprobe fallback, and the connection table file. Behind a
//! trait so tests can supply the reference transcripts' fake resolver.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// The path ipvsadm reads for `-L -c`.
pub const CONN_PROC_FILE: &str = "/proc/net/ip_vs_conn";

pub trait Host {
    /// `gethostbyname(name)`: the first IPv4 address, if the name resolves
    /// to IPv4 (ipvsadm ignores anything else).
    fn host_to_addr(&mut self, name: &[u8]) -> Option<Ipv4Addr>;
    /// `gethostbyaddr(addr)->h_name`.
    fn addr_to_host(&mut self, addr: &IpAddr) -> Option<Vec<u8>>;
    /// `getservbyname(name, proto)` as a host-order port.
    fn service_to_port(&mut self, name: &[u8], proto: &str) -> Option<u16>;
    /// `getservbyport(htons(port), proto)->s_name`.
    fn port_to_service(&mut self, port: u16, proto: &str) -> Option<Vec<u8>>;
    /// Run `/sbin/modprobe -- ip_vs`; true if it exited with status 0.
    fn modprobe_ipvs(&mut self) -> bool;
    /// Where the connection table is read from.
    fn conn_file(&self) -> PathBuf {
        PathBuf::from(CONN_PROC_FILE)
    }
    /// Whether popt's POSIX mode is on (`POSIXLY_CORRECT` or
    /// `POSIX_ME_HARDER` in the environment): options then end at the
    /// first non-option word.
    fn posixly_correct(&self) -> bool {
        std::env::var_os("POSIXLY_CORRECT").is_some()
            || std::env::var_os("POSIX_ME_HARDER").is_some()
    }
}

/// C strings cannot hold NUL: like a C program, see only what precedes it.
fn c_string(s: &[u8]) -> CString {
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    // Cannot fail: the slice has no NUL byte.
    CString::new(&s[..end]).unwrap_or_default()
}

#[repr(C)]
struct HostEnt {
    h_name: *mut libc::c_char,
    h_aliases: *mut *mut libc::c_char,
    h_addrtype: libc::c_int,
    h_length: libc::c_int,
    h_addr_list: *mut *mut libc::c_char,
}

extern "C" {
    fn gethostbyname(name: *const libc::c_char) -> *mut HostEnt;
    fn gethostbyaddr(
        addr: *const libc::c_void,
        len: libc::socklen_t,
        ty: libc::c_int,
    ) -> *mut HostEnt;
}

/// The real thing: glibc's NSS lookups and a real modprobe.
#[derive(Debug, Default)]
pub struct SystemHost {
    /// Override for the connection table path (tests, labs).
    pub conn_path: Option<PathBuf>,
}

impl Host for SystemHost {
    fn host_to_addr(&mut self, name: &[u8]) -> Option<Ipv4Addr> {
        let c = c_string(name);
        // SAFETY: gethostbyname gets a valid NUL-terminated string; the
        // returned static hostent is read before any other resolver call.
        unsafe {
            let h = gethostbyname(c.as_ptr());
            if h.is_null() || (*h).h_addrtype != libc::AF_INET || (*h).h_length != 4 {
                return None;
            }
            let list = (*h).h_addr_list;
            if list.is_null() || (*list).is_null() {
                return None;
            }
            let p = *list as *const u8;
            let mut o = [0u8; 4];
            std::ptr::copy_nonoverlapping(p, o.as_mut_ptr(), 4);
            Some(Ipv4Addr::from(o))
        }
    }

    fn addr_to_host(&mut self, addr: &IpAddr) -> Option<Vec<u8>> {
        let (bytes, af): (Vec<u8>, libc::c_int) = match addr {
            IpAddr::V4(a) => (a.octets().to_vec(), libc::AF_INET),
            IpAddr::V6(a) => (a.octets().to_vec(), libc::AF_INET6),
        };
        // SAFETY: the buffer outlives the call; the static result is copied
        // out immediately.
        unsafe {
            let h = gethostbyaddr(
                bytes.as_ptr() as *const libc::c_void,
                bytes.len() as libc::socklen_t,
                af,
            );
            if h.is_null() || (*h).h_name.is_null() {
                return None;
            }
            Some(CStr::from_ptr((*h).h_name).to_bytes().to_vec())
        }
    }

    fn service_to_port(&mut self, name: &[u8], proto: &str) -> Option<u16> {
        let n = c_string(name);
        let p = c_string(proto.as_bytes());
        // SAFETY: valid C strings; the static servent is read at once.
        unsafe {
            let s = libc::getservbyname(n.as_ptr(), p.as_ptr());
            if s.is_null() {
                return None;
            }
            Some(u16::from_be((*s).s_port as u16))
        }
    }

    fn port_to_service(&mut self, port: u16, proto: &str) -> Option<Vec<u8>> {
        let p = c_string(proto.as_bytes());
        // SAFETY: as above.
        unsafe {
            let s = libc::getservbyport(port.to_be() as libc::c_int, p.as_ptr());
            if s.is_null() || (*s).s_name.is_null() {
                return None;
            }
            Some(CStr::from_ptr((*s).s_name).to_bytes().to_vec())
        }
    }

    fn modprobe_ipvs(&mut self) -> bool {
        // Like ipvsadm: exec /sbin/modprobe with exactly these arguments,
        // stdio inherited so modprobe's own complaints reach the user.
        match std::process::Command::new("/sbin/modprobe")
            .arg("--")
            .arg("ip_vs")
            .status()
        {
            Ok(st) => st.code() == Some(0),
            Err(_) => false,
        }
    }

    fn conn_file(&self) -> PathBuf {
        self.conn_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(CONN_PROC_FILE))
    }
}

/// glibc's `strerror` text for `errno` (not Rust's io::Error rendering,
/// which appends " (os error N)").
pub fn strerror(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the buffer is valid for its length; strerror_r (XSI) writes a
    // NUL-terminated message into it.
    unsafe {
        if libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) != 0 {
            return format!("Unknown error {errno}");
        }
        CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_is_glibc_text() {
        assert_eq!(strerror(libc::ESRCH), "No such process");
        assert_eq!(strerror(libc::ERANGE), "Numerical result out of range");
        assert_eq!(strerror(libc::ENODEV), "No such device");
    }
}

/// A host that resolves nothing and loads nothing: for side-effect-free
/// parsing (fuzzing, validation-only checks).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullHost;

impl Host for NullHost {
    fn host_to_addr(&mut self, _: &[u8]) -> Option<Ipv4Addr> {
        None
    }
    fn addr_to_host(&mut self, _: &IpAddr) -> Option<Vec<u8>> {
        None
    }
    fn service_to_port(&mut self, _: &[u8], _: &str) -> Option<u16> {
        None
    }
    fn port_to_service(&mut self, _: u16, _: &str) -> Option<Vec<u8>> {
        None
    }
    fn modprobe_ipvs(&mut self) -> bool {
        false
    }
    fn posixly_correct(&self) -> bool {
        false
    }
}
