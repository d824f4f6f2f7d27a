//! Netlink framing: `nlmsghdr` + `genlmsghdr` + attributes (TLVs padded to 4
//! bytes), for building requests and taking replies apart.
//!
//! Everything here is pure and never panics on hostile input: every length
//! read from the wire is checked against the bytes actually present before it
//! is used, and every loop consumes at least one header per iteration.

use super::consts::*;
use crate::{Error, Result};

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Builds one generic-netlink message. Lengths (message and nests) are
/// patched in when known; every attribute is padded with zero bytes, and the
/// padding is counted in the enclosing lengths, as libnl does.
#[derive(Debug)]
pub struct MsgBuilder {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl MsgBuilder {
    pub fn genl(ty: u16, flags: u16, seq: u32, pid: u32, cmd: u8, version: u8) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, patched in finish()
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&pid.to_ne_bytes());
        buf.extend_from_slice(&[cmd, version, 0, 0]);
        MsgBuilder {
            buf,
            nests: Vec::new(),
        }
    }

    pub fn put(&mut self, ty: u16, payload: &[u8]) {
        // Our attributes are at most a few dozen bytes; a longer one would be
        // a programming error, and truncating the length would corrupt the
        // message, so saturate the payload instead.
        let payload = &payload[..payload.len().min(u16::MAX as usize - NLA_HDRLEN)];
        let len = (NLA_HDRLEN + payload.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
    }

    pub fn put_u8(&mut self, ty: u16, v: u8) {
        self.put(ty, &[v]);
    }
    pub fn put_u16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_ne_bytes());
    }
    pub fn put_be16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_be_bytes());
    }
    pub fn put_u32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_ne_bytes());
    }

    /// A NUL-terminated string cut to `max` bytes (and at an embedded NUL,
    /// which a C caller could not have passed), like ipvsadm's `strncpy`.
    pub fn put_cstr(&mut self, ty: u16, s: &str, max: usize) {
        let bytes = s.as_bytes();
        let end = bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(bytes.len())
            .min(max);
        let mut v = Vec::with_capacity(end + 1);
        v.extend_from_slice(&bytes[..end]);
        v.push(0);
        self.put(ty, &v);
    }

    pub fn begin_nest(&mut self, ty: u16) {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
    }

    /// Like `begin_nest` but without NLA_F_NESTED, as the kernel's own
    /// replies are built (`nla_nest_start_noflag`).
    pub fn begin_nest_noflag(&mut self, ty: u16) {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
    }

    pub fn end_nest(&mut self) {
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start).min(u16::MAX as usize) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
    }

    /// Raw bytes appended to the payload (test helpers build odd messages).
    pub fn put_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn pad(&mut self) {
        let n = align4(self.buf.len());
        self.buf.resize(n, 0);
    }

    pub fn finish(mut self) -> Vec<u8> {
        while !self.nests.is_empty() {
            self.end_nest();
        }
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// One netlink message inside a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMsg<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
    /// Bytes after the 16-byte header, up to `nlmsg_len`.
    pub payload: &'a [u8],
}

fn rd_u16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}
fn rd_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Splits a datagram into its messages. A datagram is rejected whole if any
/// header is inconsistent: after such a header the positions of the later
/// messages are unknown, so guessing would only produce garbage.
pub fn split_datagram(buf: &[u8]) -> Result<Vec<RawMsg<'_>>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < buf.len() {
        let rest = buf.len() - at;
        if rest < NLMSG_HDRLEN {
            return Err(Error::Malformed(format!(
                "{rest} stray bytes after the last netlink message (a header needs {NLMSG_HDRLEN})"
            )));
        }
        let len = rd_u32(buf, at) as usize;
        if len < NLMSG_HDRLEN || len > rest {
            return Err(Error::Malformed(format!(
                "netlink message length {len} at offset {at} is outside 16..={rest}"
            )));
        }
        out.push(RawMsg {
            ty: rd_u16(buf, at + 4),
            flags: rd_u16(buf, at + 6),
            seq: rd_u32(buf, at + 8),
            pid: rd_u32(buf, at + 12),
            payload: &buf[at + NLMSG_HDRLEN..at + len],
        });
        // The last message may legitimately lack its alignment padding.
        at = at.saturating_add(align4(len)).min(buf.len());
    }
    Ok(out)
}

/// Attributes of one nest (or of a message's top level), indexed by type.
/// Types beyond the table are ignored, as the kernel's non-strict parser and
/// libnl do (newer kernels add attributes); a repeated type keeps the last.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    slots: [Option<&'a [u8]>; 17],
    /// What these attributes describe, for error messages ("service", ...).
    what: &'static str,
}

impl<'a> Attrs<'a> {
    pub fn parse(buf: &'a [u8], what: &'static str) -> Result<Self> {
        let mut slots = [None; 17];
        let mut at = 0usize;
        while at < buf.len() {
            let rest = buf.len() - at;
            if rest < NLA_HDRLEN {
                return Err(Error::Malformed(format!(
                    "{what}: {rest} stray bytes after the last attribute"
                )));
            }
            let len = rd_u16(buf, at) as usize;
            let ty = rd_u16(buf, at + 2) & NLA_TYPE_MASK;
            if len < NLA_HDRLEN || len > rest {
                return Err(Error::Malformed(format!(
                    "{what}: attribute type {ty} has length {len}, outside 4..={rest}"
                )));
            }
            if let Some(slot) = slots.get_mut(ty as usize) {
                *slot = Some(&buf[at + NLA_HDRLEN..at + len]);
            }
            at = at.saturating_add(align4(len)).min(buf.len());
        }
        Ok(Attrs { slots, what })
    }

    pub fn what(&self) -> &'static str {
        self.what
    }

    pub fn get(&self, ty: u16) -> Option<&'a [u8]> {
        self.slots.get(ty as usize).copied().flatten()
    }

    pub fn has(&self, ty: u16) -> bool {
        self.get(ty).is_some()
    }

    fn require(&self, ty: u16, name: &str) -> Result<&'a [u8]> {
        self.get(ty)
            .ok_or_else(|| Error::Malformed(format!("{}: missing attribute {name}", self.what)))
    }

    /// The first `N` bytes of an attribute; like libnl's fixed-size policies
    /// only a minimum length is enforced.
    fn fixed<const N: usize>(&self, ty: u16, name: &str) -> Result<Option<[u8; N]>> {
        match self.get(ty) {
            None => Ok(None),
            Some(p) if p.len() < N => Err(Error::Malformed(format!(
                "{}: attribute {name} has {} bytes, needs {N}",
                self.what,
                p.len()
            ))),
            Some(p) => {
                let mut a = [0u8; N];
                a.copy_from_slice(&p[..N]);
                Ok(Some(a))
            }
        }
    }

    pub fn opt_u8(&self, ty: u16, name: &str) -> Result<Option<u8>> {
        Ok(self.fixed::<1>(ty, name)?.map(|a| a[0]))
    }
    pub fn opt_u16(&self, ty: u16, name: &str) -> Result<Option<u16>> {
        Ok(self.fixed::<2>(ty, name)?.map(u16::from_ne_bytes))
    }
    pub fn opt_be16(&self, ty: u16, name: &str) -> Result<Option<u16>> {
        Ok(self.fixed::<2>(ty, name)?.map(u16::from_be_bytes))
    }
    pub fn opt_u32(&self, ty: u16, name: &str) -> Result<Option<u32>> {
        Ok(self.fixed::<4>(ty, name)?.map(u32::from_ne_bytes))
    }
    pub fn opt_u64(&self, ty: u16, name: &str) -> Result<Option<u64>> {
        Ok(self.fixed::<8>(ty, name)?.map(u64::from_ne_bytes))
    }
    pub fn opt_bytes<const N: usize>(&self, ty: u16, name: &str) -> Result<Option<[u8; N]>> {
        self.fixed::<N>(ty, name)
    }

    fn missing(&self, name: &str) -> Error {
        Error::Malformed(format!("{}: missing attribute {name}", self.what))
    }
    pub fn u16(&self, ty: u16, name: &str) -> Result<u16> {
        self.opt_u16(ty, name)?.ok_or_else(|| self.missing(name))
    }
    pub fn be16(&self, ty: u16, name: &str) -> Result<u16> {
        self.opt_be16(ty, name)?.ok_or_else(|| self.missing(name))
    }
    pub fn u32(&self, ty: u16, name: &str) -> Result<u32> {
        self.opt_u32(ty, name)?.ok_or_else(|| self.missing(name))
    }
    pub fn u64(&self, ty: u16, name: &str) -> Result<u64> {
        self.opt_u64(ty, name)?.ok_or_else(|| self.missing(name))
    }
    pub fn bytes<const N: usize>(&self, ty: u16, name: &str) -> Result<[u8; N]> {
        self.fixed::<N>(ty, name)?.ok_or_else(|| self.missing(name))
    }

    /// A NUL-terminated string attribute; the kernel always terminates, a
    /// missing NUL is tolerated (the whole payload is the string).
    pub fn opt_str(&self, ty: u16) -> Option<String> {
        self.get(ty).map(|p| {
            let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
            String::from_utf8_lossy(&p[..end]).into_owned()
        })
    }
    pub fn str(&self, ty: u16, name: &str) -> Result<String> {
        self.opt_str(ty).ok_or_else(|| self.missing(name))
    }

    pub fn nest(&self, ty: u16, name: &str, what: &'static str) -> Result<Attrs<'a>> {
        Attrs::parse(self.require(ty, name)?, what)
    }
    pub fn opt_nest(&self, ty: u16, what: &'static str) -> Result<Option<Attrs<'a>>> {
        self.get(ty).map(|p| Attrs::parse(p, what)).transpose()
    }
}

/// Splits a generic-netlink payload into (cmd, version, attributes bytes).
pub fn genl_header(payload: &[u8]) -> Result<(u8, u8, &[u8])> {
    if payload.len() < GENL_HDRLEN {
        return Err(Error::Malformed(format!(
            "generic netlink message of {} bytes has no genlmsghdr",
            payload.len()
        )));
    }
    Ok((payload[0], payload[1], &payload[GENL_HDRLEN..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_pads_and_counts_padding() {
        let mut b = MsgBuilder::genl(0x2a, 5, 1, 0, 9, 1);
        b.begin_nest(3);
        b.put_cstr(2, "eth0", 15);
        b.put_u8(8, 3);
        b.end_nest();
        let m = b.finish();
        // 16 + 4 + nest(4 + 12 + 8)
        assert_eq!(m.len(), 44);
        assert_eq!(&m[0..4], &44u32.to_ne_bytes());
        assert_eq!(&m[20..24], &[24, 0, 3, 0x80]);
        assert_eq!(
            &m[24..36],
            &[9, 0, 2, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0]
        );
        assert_eq!(&m[36..44], &[5, 0, 8, 0, 3, 0, 0, 0]);
    }

    #[test]
    fn cstr_truncates_like_strncpy() {
        let mut b = MsgBuilder::genl(1, 0, 0, 0, 0, 0);
        b.put_cstr(6, "averyveryverylongschedulername", 15);
        let m = b.finish();
        assert_eq!(&m[20..22], &20u16.to_ne_bytes());
        assert_eq!(&m[24..40], b"averyveryverylo\0");
    }

    #[test]
    fn split_rejects_bad_lengths() {
        assert!(split_datagram(&[0; 15]).is_err());
        let mut m = MsgBuilder::genl(1, 0, 0, 0, 0, 0).finish();
        m[0] = 200;
        assert!(split_datagram(&m).is_err());
        m[0] = 3;
        assert!(split_datagram(&m).is_err());
        assert!(split_datagram(&[]).unwrap().is_empty());
    }

    #[test]
    fn split_accepts_several_messages_and_missing_final_padding() {
        let mut d = MsgBuilder::genl(1, 0, 1, 0, 0, 0).finish();
        let mut b = MsgBuilder::genl(2, 0, 2, 0, 0, 0);
        b.put_raw(&[1]);
        let mut second = b.finish();
        second[0] = 21; // unpadded length, datagram ends right after it
        second.truncate(21);
        d.extend_from_slice(&second);
        let msgs = split_datagram(&d).unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[1].payload, &[0, 0, 0, 0, 1]);
    }

    #[test]
    fn attrs_mask_flags_ignore_unknown_and_check_sizes() {
        let buf = [
            6, 0, 1, 0x80, 7, 0, 0, 0, // type 1 with NESTED flag, u16 7
            8, 0, 99, 0, 1, 2, 3, 4, // unknown type 99
            5, 0, 2, 0, 9, 0, 0, 0, // 1-byte payload in type 2
        ];
        let a = Attrs::parse(&buf, "test").unwrap();
        assert_eq!(a.u16(1, "A").unwrap(), 7);
        assert!(a.u32(2, "B").is_err());
        assert_eq!(a.opt_u8(2, "B").unwrap(), Some(9));
        assert!(a.u32(3, "C").is_err());
        assert!(Attrs::parse(&[3, 0, 1, 0], "t").is_err());
        assert!(Attrs::parse(&[9, 0, 1, 0, 0], "t").is_err());
        assert!(Attrs::parse(&[4, 0, 1, 0, 0, 0], "t").is_err());
    }
}
