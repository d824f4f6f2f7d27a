//! UDP heartbeat media: bcast, ucast and mcast sockets on one interface each.
//!
//! Receive sockets are bound to their device (`SO_BINDTODEVICE`), so a
//! packet's medium is known even when several media share a port.

use crate::config::Medium;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs, UdpSocket};
use std::os::fd::FromRawFd;

/// An open medium.
#[derive(Debug)]
pub struct OpenMedium {
    pub name: String,
    pub kind: &'static str,
    pub send: UdpSocket,
    pub dest: SocketAddr,
    pub recv: UdpSocket,
}

impl OpenMedium {
    pub fn transmit(&self, bytes: &[u8]) -> io::Result<()> {
        self.send.send_to(bytes, self.dest).map(|_| ())
    }
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setopt<T>(fd: libc::c_int, level: libc::c_int, opt: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: v points to a live T of the size given.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            v as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

fn udp_socket() -> io::Result<UdpSocket> {
    // SAFETY: plain socket(2); the fd is owned by the UdpSocket from here on.
    let fd = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    Ok(unsafe { UdpSocket::from_raw_fd(fd) })
}

fn bind_device(s: &UdpSocket, dev: &str) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the name buffer outlives the call.
    cvt(unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            dev.as_ptr() as *const libc::c_void,
            dev.len() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

fn bind_any(s: &UdpSocket, addr: Ipv4Addr, port: u16) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(addr).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sa is a valid sockaddr_in.
    cvt(unsafe {
        libc::bind(
            s.as_raw_fd(),
            &sa as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// IPv4 address and broadcast address of an interface.
pub fn interface_v4(dev: &str) -> io::Result<(Ipv4Addr, Option<Ipv4Addr>)> {
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list we free below.
    cvt(unsafe { libc::getifaddrs(&mut ifap) })?;
    let mut found = None;
    let mut p = ifap;
    while !p.is_null() {
        // SAFETY: p walks the list getifaddrs returned.
        let ifa = unsafe { &*p };
        p = ifa.ifa_next;
        if ifa.ifa_addr.is_null() {
            continue;
        }
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
        if name.to_bytes() != dev.as_bytes() {
            continue;
        }
        if unsafe { (*ifa.ifa_addr).sa_family } as libc::c_int != libc::AF_INET {
            continue;
        }
        let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
        let addr = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
        let brd = if ifa.ifa_flags & libc::IFF_BROADCAST as u32 != 0 && !ifa.ifa_ifu.is_null() {
            let b = unsafe { &*(ifa.ifa_ifu as *const libc::sockaddr_in) };
            Some(Ipv4Addr::from(u32::from_be(b.sin_addr.s_addr)))
        } else {
            None
        };
        found = Some((addr, brd));
        break;
    }
    // SAFETY: frees what getifaddrs allocated.
    unsafe { libc::freeifaddrs(ifap) };
    found.ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))
}

fn if_index(dev: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(dev).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: c is a valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(i)
    }
}

/// Error text for a medium that cannot be opened, in the original's words
/// where it has them.
#[derive(Debug)]
pub struct MediumError(pub Vec<String>);

/// Opens a medium.
pub fn open(m: &Medium) -> Result<OpenMedium, MediumError> {
    use std::os::fd::AsRawFd;
    let io = |what: &str, e: io::Error| MediumError(vec![format!("{what}: {e}")]);
    match m {
        Medium::Bcast { dev, port } => {
            let (_, brd) = interface_v4(dev).map_err(|e| {
                MediumError(vec![
                    format!("glib: Get broadcast for interface {dev} failed: {e}"),
                    format!("glib: IP interface [{dev}] does not exist"),
                    format!("Illegal bcast [UDP/IP broadcast] in config file [{dev}]"),
                ])
            })?;
            let brd = brd.ok_or_else(|| {
                MediumError(vec![format!(
                    "glib: Get broadcast for interface {dev} failed: no broadcast address"
                )])
            })?;
            let send = udp_socket().map_err(|e| io("socket", e))?;
            setopt(
                send.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BROADCAST,
                &1i32,
            )
            .map_err(|e| io("SO_BROADCAST", e))?;
            bind_device(&send, dev).map_err(|e| io("SO_BINDTODEVICE", e))?;
            let recv = recv_socket(dev, Ipv4Addr::UNSPECIFIED, *port).map_err(|e| io("bind", e))?;
            Ok(OpenMedium {
                name: dev.clone(),
                kind: "bcast",
                send,
                dest: SocketAddr::V4(SocketAddrV4::new(brd, *port)),
                recv,
            })
        }
        Medium::Ucast { dev, host, port } => {
            if_index(dev).map_err(|_| {
                MediumError(vec![format!(
                    "glib: ucast: interface [{dev}] does not exist"
                )])
            })?;
            let dest = (host.as_str(), *port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut it| it.find(|a| a.is_ipv4()))
                .ok_or_else(|| MediumError(vec!["glib: ucast: cannot resolve hostname".into()]))?;
            let send = udp_socket().map_err(|e| io("socket", e))?;
            bind_device(&send, dev).map_err(|e| io("SO_BINDTODEVICE", e))?;
            let _ = setopt(send.as_raw_fd(), libc::IPPROTO_IP, libc::IP_TOS, &0x10i32);
            let recv = recv_socket(dev, Ipv4Addr::UNSPECIFIED, *port).map_err(|e| io("bind", e))?;
            Ok(OpenMedium {
                name: dev.clone(),
                kind: "ucast",
                send,
                dest,
                recv,
            })
        }
        Medium::Mcast {
            dev,
            group,
            port,
            ttl,
            loopback,
        } => {
            let idx = if_index(dev).map_err(|e| io("interface", e))?;
            let mreq = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr {
                    s_addr: u32::from(*group).to_be(),
                },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: idx as libc::c_int,
            };
            let send = udp_socket().map_err(|e| io("socket", e))?;
            setopt(
                send.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_IF,
                &mreq,
            )
            .map_err(|e| io("IP_MULTICAST_IF", e))?;
            setopt(
                send.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_TTL,
                &i32::from(*ttl),
            )
            .map_err(|e| io("IP_MULTICAST_TTL", e))?;
            setopt(
                send.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_LOOP,
                &i32::from(*loopback),
            )
            .map_err(|e| io("IP_MULTICAST_LOOP", e))?;
            let recv = recv_socket(dev, *group, *port).map_err(|e| io("bind", e))?;
            setopt(
                recv.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_ADD_MEMBERSHIP,
                &mreq,
            )
            .map_err(|e| io("IP_ADD_MEMBERSHIP", e))?;
            Ok(OpenMedium {
                name: dev.clone(),
                kind: "mcast",
                send,
                dest: SocketAddr::V4(SocketAddrV4::new(*group, *port)),
                recv,
            })
        }
        Medium::Unsupported { kind, spec } => Err(MediumError(vec![format!(
            "{kind} {spec}: this medium is not supported by this heartbeat"
        )])),
    }
}

fn recv_socket(dev: &str, addr: Ipv4Addr, port: u16) -> io::Result<UdpSocket> {
    use std::os::fd::AsRawFd;
    let s = udp_socket()?;
    setopt(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, &1i32)?;
    setopt(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT, &1i32)?;
    bind_device(&s, dev)?;
    bind_any(&s, addr, port)?;
    Ok(s)
}
