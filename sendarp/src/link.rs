//! The interface and the AF_PACKET socket frames leave through.
//!
//! [`Link::open`] checks things in the order heartbeat's send_arp (libnet)
//! does, so the first problem reported is the same one: the interface must
//! exist and be up, then the packet socket needs CAP_NET_RAW, then the
//! interface must carry Ethernet framing.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::frame::Mac;
use crate::Error;

const ARPHRD_ETHER: u16 = 1;
const ARPHRD_METRICOM: u16 = 23;
const ARPHRD_LOOPBACK: u16 = 772;

/// What we need to know about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    /// Its own hardware address: the Ethernet source of every frame.
    pub mac: Mac,
    /// ARPHRD_* link type.
    pub hwtype: u16,
}

/// Where frames go. The real one is [`PacketSocket`]; tests use fakes.
pub trait FrameSink {
    fn send(&mut self, frame: &[u8]) -> Result<(), Error>;
}

fn ifreq_for(name: &str) -> Result<libc::ifreq, Error> {
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(Error::InterfaceName(name.to_string()));
    }
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &src) in ifr.ifr_name.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    Ok(ifr)
}

fn socket(domain: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the returned descriptor is owned from here on.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ioctl(fd: &OwnedFd, request: libc::c_ulong, ifr: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: every request used here reads/writes a struct ifreq.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, ifr as *mut libc::ifreq) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Is the interface forwarding IPv6 (a router, for the NA's R flag)?
/// Read from the calling thread's network namespace; an interface without
/// IPv6 counts as a host.
pub fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

/// An AF_PACKET socket bound to send on one interface.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
    ifname: String,
}

impl FrameSink for PacketSocket {
    fn send(&mut self, frame: &[u8]) -> Result<(), Error> {
        // SAFETY: sockaddr_ll is plain old data.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.ifindex as i32;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: frame and sll outlive the call; lengths are exact.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(Error::Send {
                ifname: self.ifname.clone(),
                source: io::Error::last_os_error(),
            });
        }
        if n as usize != frame.len() {
            return Err(Error::Send {
                ifname: self.ifname.clone(),
                source: io::Error::new(io::ErrorKind::WriteZero, "short write"),
            });
        }
        Ok(())
    }
}

/// An interface ready to send on.
#[derive(Debug)]
pub struct Link {
    pub interface: Interface,
    pub socket: PacketSocket,
}

impl Link {
    pub fn open(ifname: &str) -> Result<Link, Error> {
        let mut ifr = ifreq_for(ifname)?;
        let probe = socket(libc::AF_INET, libc::SOCK_DGRAM, 0).map_err(Error::Socket)?;
        ioctl(&probe, libc::SIOCGIFFLAGS, &mut ifr).map_err(|source| Error::Interface {
            ifname: ifname.to_string(),
            source,
        })?;
        // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
        let flags = unsafe { ifr.ifr_ifru.ifru_flags };
        if flags & libc::IFF_UP as libc::c_short == 0 {
            return Err(Error::InterfaceDown(ifname.to_string()));
        }

        // Protocol 0: this socket only sends, so the kernel never queues
        // received traffic on it.
        let fd = socket(libc::AF_PACKET, libc::SOCK_RAW, 0).map_err(|e| {
            if e.raw_os_error() == Some(libc::EPERM) || e.raw_os_error() == Some(libc::EACCES) {
                Error::NotPermitted
            } else {
                Error::Socket(e)
            }
        })?;

        let mut ifr = ifreq_for(ifname)?;
        ioctl(&fd, libc::SIOCGIFHWADDR, &mut ifr).map_err(|source| Error::HwAddr {
            ifname: ifname.to_string(),
            source,
        })?;
        // SAFETY: SIOCGIFHWADDR filled the hwaddr member of the union.
        let hw = unsafe { ifr.ifr_ifru.ifru_hwaddr };
        let hwtype = hw.sa_family;
        if !matches!(hwtype, ARPHRD_ETHER | ARPHRD_METRICOM | ARPHRD_LOOPBACK) {
            return Err(Error::LinkType {
                ifname: ifname.to_string(),
                hwtype,
            });
        }
        let mut mac = [0u8; 6];
        for (m, &b) in mac.iter_mut().zip(hw.sa_data.iter()) {
            *m = b as u8;
        }

        let mut ifr = ifreq_for(ifname)?;
        ioctl(&fd, libc::SIOCGIFINDEX, &mut ifr).map_err(|source| Error::Interface {
            ifname: ifname.to_string(),
            source,
        })?;
        // SAFETY: SIOCGIFINDEX filled the ifindex member of the union.
        let index = unsafe { ifr.ifr_ifru.ifru_ifindex } as u32;

        Ok(Link {
            interface: Interface {
                name: ifname.to_string(),
                index,
                mac,
                hwtype,
            },
            socket: PacketSocket {
                fd,
                ifindex: index,
                ifname: ifname.to_string(),
            },
        })
    }
}

/// Convenience for callers that only want the address (`auto`).
pub fn interface_mac(ifname: &str) -> Result<Mac, Error> {
    Link::open(ifname).map(|l| l.interface.mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_be_interfaces() {
        assert!(matches!(
            ifreq_for("0123456789abcdef"),
            Err(Error::InterfaceName(_))
        ));
        assert!(matches!(ifreq_for("a\0b"), Err(Error::InterfaceName(_))));
        assert!(ifreq_for("0123456789abcde").is_ok());
    }

    #[test]
    fn unknown_interface_is_reported_by_name() {
        match Link::open("sa-nonexist0") {
            Err(Error::Interface { ifname, source }) => {
                assert_eq!(ifname, "sa-nonexist0");
                assert_eq!(source.raw_os_error(), Some(libc::ENODEV));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
