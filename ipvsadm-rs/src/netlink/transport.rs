//! Where netlink datagrams go: a real `NETLINK_GENERIC` socket, or a
//! scripted fake for tests. The client only ever sends whole request
//! messages and receives whole datagrams.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::consts::*;

/// A datagram pipe to the kernel.
pub trait Transport {
    /// Sends one datagram (one or more complete netlink messages).
    fn send(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Receives one datagram into `buf` and returns its FULL length, which
    /// is larger than `buf.len()` if the datagram did not fit (MSG_TRUNC
    /// semantics: the tail is lost and the caller must treat it as an error).
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// The port id the kernel puts into `nlmsg_pid` of replies to us.
    fn port_id(&self) -> u32;

    /// Receives the datagrams already queued, up to `bufs.len()`, waiting
    /// only for the first; returns each one's full length as `recv` does,
    /// in order. The default receives one datagram.
    fn recv_batch(&mut self, bufs: &mut [Vec<u8>]) -> io::Result<Vec<usize>> {
        match bufs.first_mut() {
            Some(b) => Ok(vec![self.recv(b)?]),
            None => Ok(Vec::new()),
        }
    }
}

/// Receive buffer the client hands to `recv`. The kernel sizes dump
/// datagrams after the largest buffer it has seen, capped at 32 KiB minus
/// skb overhead, so 32 KiB always holds a whole datagram, and a larger
/// buffer would only add resident memory (one per recvmmsg slot).
pub const RECV_BUF_LEN: usize = 32 * 1024;

/// Socket receive queue: room for many queued replies; it only matters for
/// requests sent ahead of their replies (pipelining).
const SO_RCVBUF_LEN: libc::c_int = 4 * 1024 * 1024;

/// A bound `AF_NETLINK`/`NETLINK_GENERIC` socket.
#[derive(Debug)]
pub struct NetlinkSocket {
    fd: OwnedFd,
    port_id: u32,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt_int(
    fd: libc::c_int,
    level: libc::c_int,
    opt: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

impl NetlinkSocket {
    pub fn open() -> io::Result<Self> {
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = cvt(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_GENERIC,
            )
        })?;
        // SAFETY: `raw` is a freshly created descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // Root may exceed rmem_max with the FORCE variant; otherwise take
        // what the sysctl allows. Neither is fatal: the default queue is
        // enough for one outstanding request.
        if setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, SO_RCVBUF_LEN).is_err() {
            let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, SO_RCVBUF_LEN);
        }
        // Extended acks give kernel error strings; capped acks keep error
        // replies small (no echo of our request). Both are optional extras.
        let _ = setsockopt_int(raw, SOL_NETLINK, NETLINK_EXT_ACK, 1);
        let _ = setsockopt_int(raw, SOL_NETLINK, NETLINK_CAP_ACK, 1);
        // A kernel reply never takes long: the work happens inside our own
        // send/recv calls. A timeout turns a lost reply into an error
        // instead of a hang.
        let tv = libc::timeval {
            tv_sec: 30,
            tv_usec: 0,
        };
        // SAFETY: pointer to a live timeval and its exact size.
        cvt(unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        })?;

        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // nl_pid 0: the kernel assigns a unique port id.
        // SAFETY: address pointer and length describe `addr`.
        cvt(unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        let mut len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: the kernel writes at most `len` bytes into `addr`.
        cvt(unsafe {
            libc::getsockname(raw, (&mut addr as *mut libc::sockaddr_nl).cast(), &mut len)
        })?;
        Ok(NetlinkSocket {
            fd,
            port_id: addr.nl_pid,
        })
    }
}

impl Transport for NetlinkSocket {
    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_nl is plain data; all-zero is the kernel (pid 0).
        let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        loop {
            // SAFETY: buffer and address pointers/lengths are valid.
            let r = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    0,
                    (&to as *const libc::sockaddr_nl).cast(),
                    std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if r >= 0 {
                // Netlink datagrams are sent whole or not at all.
                return if r as usize == buf.len() {
                    Ok(())
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "short netlink send",
                    ))
                };
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: sockaddr_nl is plain data; all-zero is valid.
            let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            let mut fromlen = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            // MSG_TRUNC makes recvfrom return the datagram's real length,
            // so a too-small buffer is detected instead of silently
            // yielding a cut message.
            // SAFETY: buffer and address pointers/lengths are valid.
            let r = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_TRUNC,
                    (&mut from as *mut libc::sockaddr_nl).cast(),
                    &mut fromlen,
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                if e.kind() == io::ErrorKind::WouldBlock {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no reply from the kernel within 30 s",
                    ));
                }
                return Err(e);
            }
            // Only the kernel (port 0) answers requests; anything else
            // (another process unicasting to our port) is not for us.
            if from.nl_pid != 0 {
                continue;
            }
            return Ok(r as usize);
        }
    }

    fn port_id(&self) -> u32 {
        self.port_id
    }

    /// One `recvmmsg` for everything queued. The kernel queues a dump's
    /// NLMSG_DONE while we receive its last data datagram, so a GET_DEST
    /// costs one send and one receive call instead of one send and two.
    fn recv_batch(&mut self, bufs: &mut [Vec<u8>]) -> io::Result<Vec<usize>> {
        const MAX: usize = 8;
        let count = bufs.len().min(MAX);
        loop {
            // SAFETY: these are plain C structs; all-zero is valid for each.
            let mut addrs: [libc::sockaddr_nl; MAX] = unsafe { std::mem::zeroed() };
            let mut iovs: [libc::iovec; MAX] = unsafe { std::mem::zeroed() };
            let mut hdrs: [libc::mmsghdr; MAX] = unsafe { std::mem::zeroed() };
            for i in 0..count {
                iovs[i].iov_base = bufs[i].as_mut_ptr().cast();
                iovs[i].iov_len = bufs[i].len();
                hdrs[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_nl).cast();
                hdrs[i].msg_hdr.msg_namelen =
                    std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
                hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
                hdrs[i].msg_hdr.msg_iovlen = 1;
            }
            // MSG_WAITFORONE: block for the first datagram only.
            // SAFETY: `count` headers, each pointing at a live buffer of
            // the stated length and at a sockaddr_nl of the stated size.
            let r = unsafe {
                libc::recvmmsg(
                    self.fd.as_raw_fd(),
                    hdrs.as_mut_ptr(),
                    count as libc::c_uint,
                    libc::MSG_WAITFORONE,
                    std::ptr::null_mut(),
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                if e.kind() == io::ErrorKind::WouldBlock {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no reply from the kernel within 30 s",
                    ));
                }
                return Err(e);
            }
            let mut lens = Vec::with_capacity(r as usize);
            let mut slot = 0;
            for i in 0..r as usize {
                // Only the kernel (port 0) answers; drop anything else.
                if addrs[i].nl_pid != 0 {
                    continue;
                }
                let mut len = hdrs[i].msg_len as usize;
                if hdrs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                    // The real size is unknown; report "larger than the
                    // buffer", which is what the caller checks.
                    len = bufs[i].len() + 1;
                }
                if slot != i {
                    // Keep the returned datagrams at the front, in order.
                    let (a, b) = bufs.split_at_mut(i);
                    a[slot][..len.min(b[0].len())].copy_from_slice(&b[0][..len.min(b[0].len())]);
                }
                lens.push(len);
                slot += 1;
            }
            if !lens.is_empty() {
                return Ok(lens);
            }
        }
    }
}

/// A scripted stand-in for the kernel.
///
/// Replies come from a queue of datagrams and/or a responder called with
/// each sent request (which can read the request's sequence number and
/// queue datagrams in answer). Every sent datagram is recorded in `sent`.
/// Receiving with nothing queued is an error (`UnexpectedEof`), never a
/// hang, so a client that waits for a reply that will not come fails fast.
pub struct FakeTransport {
    pub sent: Vec<Vec<u8>>,
    pub queue: VecDeque<Vec<u8>>,
    #[allow(clippy::type_complexity)]
    responder: Option<Box<dyn FnMut(&[u8]) -> Vec<Vec<u8>>>>,
    pub port_id: u32,
}

impl std::fmt::Debug for FakeTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTransport")
            .field("sent", &self.sent.len())
            .field("queue", &self.queue.len())
            .field("port_id", &self.port_id)
            .finish()
    }
}

impl FakeTransport {
    /// Replies in this order, whatever is sent.
    pub fn scripted(port_id: u32, datagrams: Vec<Vec<u8>>) -> Self {
        FakeTransport {
            sent: Vec::new(),
            queue: datagrams.into(),
            responder: None,
            port_id,
        }
    }

    /// Replies computed from each request as it is sent.
    pub fn responder(port_id: u32, f: impl FnMut(&[u8]) -> Vec<Vec<u8>> + 'static) -> Self {
        FakeTransport {
            sent: Vec::new(),
            queue: VecDeque::new(),
            responder: Some(Box::new(f)),
            port_id,
        }
    }
}

impl Transport for FakeTransport {
    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        self.sent.push(buf.to_vec());
        if let Some(f) = self.responder.as_mut() {
            let replies = f(buf);
            self.queue.extend(replies);
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let d = self.queue.pop_front().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "fake transport: no reply queued",
            )
        })?;
        let n = d.len().min(buf.len());
        buf[..n].copy_from_slice(&d[..n]);
        Ok(d.len())
    }

    fn port_id(&self) -> u32 {
        self.port_id
    }
}

/// Sequence number and port id of a request message (for responders).
pub fn request_seq_pid(req: &[u8]) -> (u32, u32) {
    let word = |at: usize| {
        req.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
            .unwrap_or(0)
    };
    (word(8), word(12))
}
