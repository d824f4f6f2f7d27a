//! heartbeat messages and their two wire formats.
//!
//! Classic: `>>>\n`, then `name=value\n` lines, then `<<<\n` and a NUL;
//! binary values base64-encoded behind a `(1)` prefix; the `auth=N hex`
//! line is computed over the other lines. Netstring: `###\n`, then
//! `len:(t)name=value,` items, then `%%%\n` and a `len:N hex,` trailer
//! computed over everything before it.
//!
//! heartbeat 3.0.6 sends netstring (with a classic `auth` field inside) and
//! accepts both; so do we.

use crate::auth::Method;
use crate::config::AuthKeys;
use std::fmt;

/// Largest message accepted (`MAXMSG` of heartbeat 2.x/3.x).
pub const MAX_MSG: usize = 256 * 1024;

/// Field types (the `(N)` prefix).
pub const T_STRING: u8 = 0;
pub const T_BINARY: u8 = 1;

#[derive(Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// 0 string, 1 binary; other types (nested, list, compressed) are kept
    /// as raw bytes and never produced here.
    pub ty: u8,
    pub value: Vec<u8>,
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ty, std::str::from_utf8(&self.value)) {
            (T_STRING, Ok(s)) => write!(f, "{}={:?}", self.name, s),
            _ => write!(f, "({}){}={:02x?}", self.ty, self.name, self.value),
        }
    }
}

/// An ordered list of fields; duplicates are kept, lookups find the first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub fields: Vec<Field>,
}

impl Message {
    /// A message of type `t`.
    pub fn new(t: &str) -> Message {
        let mut m = Message::default();
        m.add("t", t);
        m
    }

    pub fn add(&mut self, name: &str, value: &str) -> &mut Self {
        self.fields.push(Field {
            name: name.to_string(),
            ty: T_STRING,
            value: value.as_bytes().to_vec(),
        });
        self
    }

    pub fn add_bin(&mut self, name: &str, value: &[u8]) -> &mut Self {
        self.fields.push(Field {
            name: name.to_string(),
            ty: T_BINARY,
            value: value.to_vec(),
        });
        self
    }

    /// Replaces the first field of that name or appends it.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        match self.fields.iter_mut().find(|f| f.name == name) {
            Some(f) => {
                f.ty = T_STRING;
                f.value = value.as_bytes().to_vec();
            }
            None => {
                self.add(name, value);
            }
        }
        self
    }

    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|f| f.name != name);
    }

    /// First string field of that name (None if absent, binary or not UTF-8).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .filter(|f| f.ty == T_STRING)
            .and_then(|f| std::str::from_utf8(&f.value).ok())
    }

    pub fn get_bin(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_slice())
    }

    /// The message type (`t`).
    pub fn t(&self) -> Option<&str> {
        self.get("t")
    }

    /// A hex field (`seq`, `hg`, `ts`, `ackseq`...).
    pub fn get_hex(&self, name: &str) -> Option<u64> {
        parse_hex(self.get(name)?)
    }

    /// The classic text of every field but `auth`, in order: what the
    /// classic `auth` token is computed over.
    pub fn classic_body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in self.fields.iter().filter(|f| f.name != "auth") {
            push_classic_line(&mut out, f);
        }
        out
    }
}

/// `strtoul(s, NULL, 16)`-like, but the whole string must be hex.
pub fn parse_hex(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

fn push_classic_line(out: &mut Vec<u8>, f: &Field) {
    if f.ty != T_STRING {
        out.extend_from_slice(format!("({})", f.ty).as_bytes());
    }
    out.extend_from_slice(f.name.as_bytes());
    out.push(b'=');
    if f.ty == T_BINARY {
        out.extend_from_slice(base64_encode(&f.value).as_bytes());
    } else {
        out.extend_from_slice(&f.value);
    }
    out.push(b'\n');
}

/// Which wire format a datagram used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Classic,
    Netstring,
}

/// Why bytes are not a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message too long ({0} bytes)")]
    TooLong(usize),
    #[error("unknown message format")]
    UnknownFormat,
    #[error("truncated message")]
    Truncated,
    #[error("bad field at byte {0}")]
    BadField(usize),
    #[error("bad netstring length at byte {0}")]
    BadLength(usize),
    #[error("bad base64 in field {0}")]
    BadBase64(String),
    #[error("missing authentication trailer")]
    NoTrailer,
}

/// A decoded datagram, with what is needed to check its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub msg: Message,
    pub format: Format,
    /// Netstring only: the trailer's index and token, and how many leading
    /// bytes of the datagram it signs.
    pub trailer: Option<(String, usize)>,
}

/// Decodes a datagram in either format. Never panics.
pub fn decode(buf: &[u8]) -> Result<Decoded, DecodeError> {
    if buf.len() > MAX_MSG {
        return Err(DecodeError::TooLong(buf.len()));
    }
    if buf.starts_with(b">>>\n") {
        decode_classic(buf).map(|msg| Decoded {
            msg,
            format: Format::Classic,
            trailer: None,
        })
    } else if buf.starts_with(b"###\n") {
        decode_netstring(buf)
    } else {
        Err(DecodeError::UnknownFormat)
    }
}

fn split_field(pos: usize, line: &[u8], base64: bool) -> Result<Field, DecodeError> {
    let (ty, rest) = if line.first() == Some(&b'(') {
        let close = line
            .iter()
            .position(|&b| b == b')')
            .ok_or(DecodeError::BadField(pos))?;
        let digits = &line[1..close];
        if digits.is_empty() || digits.len() > 2 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(DecodeError::BadField(pos));
        }
        let ty: u8 = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(DecodeError::BadField(pos))?;
        (ty, &line[close + 1..])
    } else {
        (T_STRING, line)
    };
    let eq = rest
        .iter()
        .position(|&b| b == b'=')
        .ok_or(DecodeError::BadField(pos))?;
    let name = std::str::from_utf8(&rest[..eq]).map_err(|_| DecodeError::BadField(pos))?;
    if name.is_empty() {
        return Err(DecodeError::BadField(pos));
    }
    let raw = &rest[eq + 1..];
    let value = if ty == T_BINARY && base64 {
        base64_decode(raw).ok_or_else(|| DecodeError::BadBase64(name.to_string()))?
    } else {
        raw.to_vec()
    };
    Ok(Field {
        name: name.to_string(),
        ty,
        value,
    })
}

fn decode_classic(buf: &[u8]) -> Result<Message, DecodeError> {
    let mut msg = Message::default();
    let mut i = 4;
    loop {
        while buf.get(i) == Some(&b'\n') {
            i += 1;
        }
        let rest = &buf[i.min(buf.len())..];
        if rest.starts_with(b"<<<") {
            return Ok(msg);
        }
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(DecodeError::Truncated)?;
        let line = &rest[..nl];
        let f = split_field(i, line, true)?;
        // An empty value makes the original drop the whole message.
        if f.value.is_empty() {
            return Err(DecodeError::BadField(i));
        }
        msg.fields.push(f);
        i += nl + 1;
    }
}

/// Reads `len:` + `len` bytes + `,` at `i`; returns the payload and the
/// index after the comma.
fn read_netstring(buf: &[u8], i: usize) -> Result<(&[u8], usize), DecodeError> {
    let rest = buf.get(i..).ok_or(DecodeError::Truncated)?;
    let colon = rest
        .iter()
        .take(8)
        .position(|&b| b == b':')
        .ok_or(DecodeError::BadLength(i))?;
    let digits = &rest[..colon];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(DecodeError::BadLength(i));
    }
    let len: usize = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(DecodeError::BadLength(i))?;
    let start = colon + 1;
    let end = start.checked_add(len).ok_or(DecodeError::BadLength(i))?;
    if rest.len() < end + 1 {
        return Err(DecodeError::Truncated);
    }
    if rest[end] != b',' {
        return Err(DecodeError::BadLength(i));
    }
    Ok((&rest[start..end], i + end + 1))
}

fn decode_netstring(buf: &[u8]) -> Result<Decoded, DecodeError> {
    let mut msg = Message::default();
    let mut i = 4;
    loop {
        let rest = buf.get(i..).ok_or(DecodeError::Truncated)?;
        if rest.starts_with(b"%%%\n") {
            i += 4;
            break;
        }
        if rest.is_empty() {
            return Err(DecodeError::Truncated);
        }
        let (payload, next) = read_netstring(buf, i)?;
        if payload.first() != Some(&b'(') {
            return Err(DecodeError::BadField(i));
        }
        msg.fields.push(split_field(i, payload, false)?);
        i = next;
    }
    let signed = i;
    if buf.len() == signed {
        return Err(DecodeError::NoTrailer);
    }
    let (trailer, _) = read_netstring(buf, signed)?;
    let trailer = std::str::from_utf8(trailer)
        .map_err(|_| DecodeError::BadField(signed))?
        .to_string();
    Ok(Decoded {
        msg,
        format: Format::Netstring,
        trailer: Some((trailer, signed)),
    })
}

/// Why a decoded message is not authentic; `log_text` is the original's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// No `auth` field / trailer, or not `N hex`.
    BadToken(String),
    /// The index names no configured key.
    UnknownIndex(i64),
    /// The token does not match.
    Mismatch { token: String, expected: String },
}

impl AuthError {
    /// The message heartbeat 3.0.6 logs for this failure (level, text).
    pub fn log_text(&self, format: Format, src: Option<&str>) -> (crate::log::Level, String) {
        use crate::log::Level;
        match self {
            AuthError::BadToken(t) => (
                Level::Error,
                format!("Bad/invalid auth token, authtoken={t}"),
            ),
            AuthError::UnknownIndex(i) => (
                Level::Error,
                format!("Invalid authentication type [{i}] in message!"),
            ),
            AuthError::Mismatch { token, expected } => match format {
                Format::Classic => (
                    Level::Warn,
                    format!(
                        "string2msg_ll: node [{}] failed authentication",
                        src.unwrap_or("?")
                    ),
                ),
                Format::Netstring => (
                    Level::Error,
                    format!("authtoken does not match, authtoken={token}, authstr={expected}"),
                ),
            },
        }
    }
}

fn split_token(s: &str) -> Result<(usize, i64, &str), AuthError> {
    let bad = || AuthError::BadToken(s.to_string());
    let (idx, tok) = s.split_once(' ').ok_or_else(bad)?;
    let n: i64 = idx.parse().map_err(|_| bad())?;
    if tok.is_empty() {
        return Err(bad());
    }
    let slot = usize::try_from(n).map_err(|_| AuthError::UnknownIndex(n))?;
    Ok((slot, n, tok))
}

/// Checks a decoded datagram's signature as heartbeat 3.0.6 does.
///
/// Netstring: the trailer, with the trailer index's algorithm but the
/// *active* slot's key (a 3.0.6 quirk that makes both ends need the same
/// `auth N`); the inner `auth` field is ignored. Classic: the `auth`
/// field over the re-serialised other fields, with that index's key.
pub fn verify(d: &Decoded, buf: &[u8], keys: &AuthKeys) -> Result<(), AuthError> {
    match &d.trailer {
        Some((trailer, signed)) => {
            let (slot, n, tok) = split_token(trailer)?;
            let m = keys.method(slot).ok_or(AuthError::UnknownIndex(n))?;
            let m = m.with_key_of(keys.active_method());
            let data = &buf[..(*signed).min(buf.len())];
            if m.verify(data, tok) {
                Ok(())
            } else {
                Err(AuthError::Mismatch {
                    token: tok.to_string(),
                    expected: m.token(data),
                })
            }
        }
        None => {
            let a = d
                .msg
                .get("auth")
                .ok_or_else(|| AuthError::BadToken(String::new()))?;
            let (slot, n, tok) = split_token(a)?;
            let m = keys.method(slot).ok_or(AuthError::UnknownIndex(n))?;
            let body = d.msg.classic_body();
            if m.verify(&body, tok) {
                Ok(())
            } else {
                Err(AuthError::Mismatch {
                    token: tok.to_string(),
                    expected: m.token(&body),
                })
            }
        }
    }
}

/// Why a message cannot be put on the wire.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("field name [{0}] is empty or contains '=', '(' or a newline")]
    BadName(String),
    #[error("field {0}: a classic value cannot be empty or contain a newline")]
    BadValue(String),
    #[error("message too long ({0} bytes)")]
    TooLong(usize),
}

fn check_name(f: &Field) -> Result<(), EncodeError> {
    if f.name.is_empty() || f.name.contains(['=', '\n', '(']) {
        return Err(EncodeError::BadName(f.name.clone()));
    }
    Ok(())
}

fn auth_value(index: usize, m: &Method, data: &[u8]) -> String {
    format!("{} {}", index, m.token(data))
}

/// Classic format, signed with the active key; any `auth` field in `msg`
/// is replaced by the one computed here (always last).
pub fn encode_classic(msg: &Message, keys: &AuthKeys) -> Result<Vec<u8>, EncodeError> {
    for f in &msg.fields {
        check_name(f)?;
        if f.ty != T_BINARY && (f.value.is_empty() || f.value.contains(&b'\n')) {
            return Err(EncodeError::BadValue(f.name.clone()));
        }
    }
    let body = msg.classic_body();
    let mut out = Vec::with_capacity(body.len() + 80);
    out.extend_from_slice(b">>>\n");
    out.extend_from_slice(&body);
    out.extend_from_slice(b"auth=");
    out.extend_from_slice(auth_value(keys.active, keys.active_method(), &body).as_bytes());
    out.extend_from_slice(b"\n<<<\n\0");
    if out.len() > MAX_MSG {
        return Err(EncodeError::TooLong(out.len()));
    }
    Ok(out)
}

/// Netstring format as heartbeat 3.0.6 sends it: fields, then (when
/// `inner_auth`) a classic `auth` field, then the trailer.
pub fn encode_netstring(
    msg: &Message,
    keys: &AuthKeys,
    inner_auth: bool,
) -> Result<Vec<u8>, EncodeError> {
    let method = keys.active_method();
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"###\n");
    let put = |out: &mut Vec<u8>, ty: u8, name: &str, value: &[u8]| {
        let head = format!("({ty}){name}=");
        out.extend_from_slice(format!("{}:", head.len() + value.len()).as_bytes());
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(value);
        out.push(b',');
    };
    for f in msg.fields.iter().filter(|f| f.name != "auth") {
        check_name(f)?;
        put(&mut out, f.ty, &f.name, &f.value);
    }
    if inner_auth {
        let a = auth_value(keys.active, method, &msg.classic_body());
        put(&mut out, T_STRING, "auth", a.as_bytes());
    }
    out.extend_from_slice(b"%%%\n");
    let a = auth_value(keys.active, method, &out);
    out.extend_from_slice(format!("{}:{},", a.len(), a).as_bytes());
    if out.len() > MAX_MSG {
        return Err(EncodeError::TooLong(out.len()));
    }
    Ok(out)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with `=` padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                s.push(B64[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Strict standard base64 (padding required, no whitespace).
pub fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() & 3 != 0 {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let n_chunks = s.len() / 4;
    for (ci, c) in s.chunks(4).enumerate() {
        let pad = c.iter().rev().take_while(|&&x| x == b'=').count();
        if pad > 2 || (pad > 0 && ci + 1 != n_chunks) {
            return None;
        }
        let mut n = 0u32;
        for (k, &x) in c.iter().enumerate() {
            let v = if k >= 4 - pad { 0 } else { val(x)? };
            n = (n << 6) | v;
        }
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Some(out)
}
