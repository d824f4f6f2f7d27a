//! `/etc/ha.d/authkeys` (`parse_authfile()` of heartbeat 3.0.6).

use crate::auth::Method;
use crate::log::{Diag, Level, Location};

/// Number of key slots (`MAXAUTH`).
pub const MAX_AUTH: usize = 16;

/// The parsed key file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthKeys {
    /// Key slots by index; incoming messages name the slot they used.
    pub slots: Vec<Option<Method>>,
    /// The slot used to sign outgoing messages (`auth N`).
    pub active: usize,
}

impl AuthKeys {
    /// The outbound method.
    pub fn active_method(&self) -> &Method {
        self.slots[self.active]
            .as_ref()
            .expect("active slot is always filled by the parser")
    }

    pub fn method(&self, index: usize) -> Option<&Method> {
        self.slots.get(index).and_then(|m| m.as_ref())
    }

    /// A single-key set (tests, tools).
    pub fn single(index: usize, method: Method) -> AuthKeys {
        let mut slots = vec![None; MAX_AUTH];
        slots[index] = Some(method);
        AuthKeys {
            slots,
            active: index,
        }
    }

    /// The original's permission rule: group- or other-readable is refused
    /// (write bits are not looked at).
    pub fn mode_ok(mode: u32) -> bool {
        mode & 0o044 == 0
    }

    /// Parses the file text. `path` is the name used in messages
    /// (the original prints `/etc/ha.d//authkeys`); `mode` the file's
    /// permission bits, checked first.
    pub fn parse(text: &str, path: &str, mode: u32, diags: &mut Vec<Diag>) -> Option<AuthKeys> {
        if !Self::mode_ok(mode) {
            diags.push(
                Diag::new(
                    Level::Error,
                    format!("Bad permissions on keyfile [{path}], 600 recommended."),
                )
                .at(Some(Location {
                    file: path.to_string(),
                    line: 0,
                })),
            );
            return None;
        }
        let mut ok = true;
        let mut authnum: Option<i64> = None;
        let mut slots: Vec<Option<Method>> = vec![None; MAX_AUTH];
        let mut active: Option<usize> = None;
        for (idx, buf) in text.split_inclusive('\n').enumerate() {
            let at = Some(Location {
                file: path.to_string(),
                line: idx + 1,
            });
            let mut push = |level: Level, text: String| {
                diags.push(Diag::new(level, text).at(at.clone()));
            };
            let bp = buf.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
            if bp.is_empty() || bp.starts_with('#') {
                continue;
            }
            if bp.starts_with('a') {
                // sscanf(bp, "auth %d")
                match bp
                    .strip_prefix("auth")
                    .and_then(|r| scan_int(r.trim_start_matches(C_SPACE)))
                {
                    Some((n, _)) => authnum = Some(n),
                    None => {
                        push(Level::Error, format!("Invalid auth line [{buf}] in {path}"));
                        ok = false;
                    }
                }
                continue;
            }
            // sscanf(bp, "%d%s%s", &i, method, key) >= 2
            let parsed = scan_int(bp).and_then(|(i, rest)| {
                let mut words = rest.split(C_SPACE).filter(|w| !w.is_empty());
                let method = words.next()?;
                Some((i, method, words.next().unwrap_or("")))
            });
            let Some((i, method, key)) = parsed else {
                push(Level::Error, format!("Auth line [{buf}] is invalid."));
                ok = false;
                continue;
            };
            if i < 0 || i >= MAX_AUTH as i64 {
                push(Level::Error, format!("Invalid authnum [{i}] in {path}"));
                ok = false;
                continue;
            }
            let needs_key = match method {
                "crc" => false,
                "md5" | "sha1" => true,
                _ => {
                    push(Level::Error, format!("Invalid authtype [{method}]"));
                    ok = false;
                    continue;
                }
            };
            if !key.is_empty() && !needs_key {
                push(
                    Level::Info,
                    format!("Auth method [{method}] doesn't use a key"),
                );
                ok = false;
                continue;
            }
            if key.is_empty() && needs_key {
                push(
                    Level::Error,
                    format!("Auth method [{method}] requires a key"),
                );
                ok = false;
                continue;
            }
            let m = match method {
                "crc" => Method::Crc,
                "md5" => Method::Md5(key.as_bytes().to_vec()),
                _ => Method::Sha1(key.as_bytes().to_vec()),
            };
            let i = i as usize;
            slots[i] = Some(m);
            // The outbound key is chosen when its line is read, so an
            // `auth N` after the key line does not find it (as the original).
            if authnum == Some(i as i64) {
                active = Some(i);
            }
        }
        let Some(active) = active else {
            match authnum {
                None => diags.push(Diag::new(
                    Level::Error,
                    format!("Missing auth directive in keyfile [{path}]"),
                )),
                Some(n) => diags.push(Diag::new(
                    Level::Error,
                    format!("Auth Key [{n}] not found in keyfile [{path}]"),
                )),
            }
            return None;
        };
        if !ok {
            return None;
        }
        Some(AuthKeys { slots, active })
    }
}

const C_SPACE: &[char] = &[' ', '\t', '\n', '\r', '\x0b', '\x0c'];

/// `%d`: optional blanks, sign, at least one digit. Returns the rest.
fn scan_int(s: &str) -> Option<(i64, &str)> {
    let s = s.trim_start_matches(C_SPACE);
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return None;
    }
    let v = s[..i].parse::<i64>().unwrap_or(i64::MAX);
    Some((v, &s[i..]))
}
