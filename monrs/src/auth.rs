//! auth.cf (command and trap sections), mon's check_auth, and password
//! checks (getpwnam/shadow, userfile, pam, trustlocal) with the system
//! crypt(3) and PAM.

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, CString};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Auth {
    /// command → users allowed (including "all", "AUTH_ANY")
    pub allow: HashMap<String, HashSet<String>>,
    /// command → users denied (`!user`)
    pub deny: HashMap<String, HashSet<String>>,
    /// trap host ("*" or a dotted quad) → user → crypt hash
    pub traps: HashMap<String, HashMap<String, String>>,
    /// problems found while loading (for syslog)
    pub errors: Vec<String>,
}

impl Auth {
    pub fn parse(text: &str, file: &str) -> Auth {
        let mut a = Auth::default();
        let mut trap = false;
        for (i, raw) in text.lines().enumerate() {
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if l.starts_with("command")
                && l["command".len()..].trim_start().starts_with("section")
                && l.len() > 7
                && l.as_bytes()[7].is_ascii_whitespace()
            {
                trap = false;
                continue;
            }
            if l.starts_with("trap")
                && l.len() > 4
                && l.as_bytes()[4].is_ascii_whitespace()
                && l[4..].trim_start().starts_with("section")
            {
                trap = true;
                continue;
            }
            if !trap {
                let Some((cmd, users)) = l.split_once(':') else {
                    a.errors
                        .push(format!("could not parse line {} of auth file\n", i + 1));
                    continue;
                };
                let cmd = cmd.trim().to_lowercase();
                for u in users.split(',').map(str::trim) {
                    if let Some(n) = u.strip_prefix('!') {
                        a.deny.entry(cmd.clone()).or_default().insert(n.to_string());
                    } else {
                        a.allow
                            .entry(cmd.clone())
                            .or_default()
                            .insert(u.to_string());
                    }
                }
            } else {
                let f: Vec<&str> = l.split_whitespace().collect();
                if f.len() != 3 {
                    a.errors.push(format!(
                        "invalid entry in trap sect of {file}, line {}",
                        i + 1
                    ));
                    continue;
                }
                let host = if f[0] == "*" {
                    "*".to_string()
                } else if let Ok(ip) = f[0].parse::<std::net::Ipv4Addr>() {
                    ip.to_string()
                } else {
                    match resolve_v4(f[0]) {
                        Some(ip) => ip,
                        None => {
                            a.errors
                                .push(format!("invalid host in {file}, line {}", i + 1));
                            continue;
                        }
                    }
                };
                a.traps
                    .entry(host)
                    .or_default()
                    .insert(f[1].to_string(), f[2].to_string());
            }
        }
        a
    }

    pub fn load(path: &str) -> Result<Auth, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("could not open {path}: {}", crate::error::errno_text(&e)))?;
        Ok(Auth::parse(&text, path))
    }

    /// mon's check_auth: Ok(()) or the syslog line explaining the refusal.
    pub fn check(&self, user: Option<&str>, cmd: &str) -> Result<(), String> {
        let has = |m: &HashMap<String, HashSet<String>>, u: &str| {
            m.get(cmd).is_some_and(|s| s.contains(u))
        };
        if let Some(u) = user {
            if has(&self.deny, u) || has(&self.deny, "AUTH_ANY") {
                return Err(format!("user '{u}' tried '{cmd}', denied"));
            }
        }
        if has(&self.allow, "all") {
            return Ok(());
        }
        if let Some(u) = user {
            if has(&self.allow, "AUTH_ANY") || has(&self.allow, u) {
                return Ok(());
            }
        }
        Err(format!(
            "user '{}' tried '{cmd}', not authenticated",
            user.unwrap_or("")
        ))
    }
}

fn resolve_v4(name: &str) -> Option<String> {
    use std::net::ToSocketAddrs;
    (name, 0).to_socket_addrs().ok()?.find_map(|a| match a {
        std::net::SocketAddr::V4(v) => Some(v.ip().to_string()),
        _ => None,
    })
}

type CryptFn = unsafe extern "C" fn(*const libc::c_char, *const libc::c_char) -> *mut libc::c_char;

fn crypt_fn() -> Option<CryptFn> {
    static F: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let p = F.get_or_init(|| {
        for lib in [c"libcrypt.so.1", c"libcrypt.so.2", c"libcrypt.so"] {
            // SAFETY: dlopen/dlsym with valid C strings; the handle is kept
            // for the life of the process.
            unsafe {
                let h = libc::dlopen(lib.as_ptr(), libc::RTLD_NOW);
                if !h.is_null() {
                    let s = libc::dlsym(h, c"crypt".as_ptr());
                    if !s.is_null() {
                        return Some(s as usize);
                    }
                }
            }
        }
        None
    });
    // SAFETY: the symbol is crypt(3) with this signature.
    p.map(|a| unsafe { std::mem::transmute::<usize, CryptFn>(a) })
}

/// `crypt(plain, hash) eq hash`
pub fn crypt_matches(plain: &str, hash: &str) -> bool {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let (Some(f), Ok(k), Ok(s)) = (crypt_fn(), CString::new(plain), CString::new(hash)) else {
        return false;
    };
    let _g = LOCK.lock();
    // SAFETY: crypt returns a static buffer (or NULL); copied at once under a lock.
    let out = unsafe { f(k.as_ptr(), s.as_ptr()) };
    if out.is_null() {
        return false;
    }
    let out = unsafe { CStr::from_ptr(out) }
        .to_string_lossy()
        .into_owned();
    out == hash
}

/// The password hash getpwnam gives root (shadow if the passwd field is "x").
fn system_hash(user: &str) -> Option<String> {
    let cu = CString::new(user).ok()?;
    // SAFETY: getpwnam/getspnam_r with valid buffers; results copied at once.
    unsafe {
        let pw = libc::getpwnam(cu.as_ptr());
        if pw.is_null() {
            return None;
        }
        let p = CStr::from_ptr((*pw).pw_passwd)
            .to_string_lossy()
            .into_owned();
        if p != "x" {
            return Some(p);
        }
        let mut sp: libc::spwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut res: *mut libc::spwd = std::ptr::null_mut();
        if libc::getspnam_r(cu.as_ptr(), &mut sp, buf.as_mut_ptr(), buf.len(), &mut res) != 0
            || res.is_null()
        {
            return Some(p);
        }
        Some(CStr::from_ptr(sp.sp_pwdp).to_string_lossy().into_owned())
    }
}

/// mon's auth(type, user, pass, host): Ok or Err(syslog lines).
/// `userfile` and `pamservice` are the mon.cf settings of those names.
pub fn authenticate(
    kind: &str,
    user: &str,
    pass: &str,
    host: &str,
    userfile: &str,
    pamservice: &str,
) -> Result<(), Vec<String>> {
    if user.is_empty() || (kind != "trustlocal" && pass.is_empty()) {
        return Err(vec!["an undef username or password supplied".into()]);
    }
    match kind {
        "getpwnam" => match system_hash(user) {
            Some(h) if crypt_matches(pass, &h) => Ok(()),
            _ => Err(vec![]),
        },
        "userfile" => {
            let text = std::fs::read_to_string(userfile).map_err(|e| {
                vec![format!(
                    "could not open user file '{userfile}': {}",
                    crate::error::errno_text(&e)
                )]
            })?;
            let mut users = HashMap::new();
            for l in text.lines() {
                let t = l.trim();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                let (u, p) = l
                    .split_once(':')
                    .map(|(u, p)| (u.trim_end(), p.trim_start()))
                    .unwrap_or((l, ""));
                users.insert(u.to_string(), p.to_string());
            }
            match users.get(user) {
                None => Err(vec![format!("User '{user}' not in file '{userfile}'")]),
                Some(h) if !crypt_matches(pass, h) => {
                    Err(vec![format!("User '{user}' gave bad password")])
                }
                Some(_) => Ok(()),
            }
        }
        "trustlocal" => {
            if host == "127.0.0.1" {
                Ok(())
            } else {
                Err(vec![])
            }
        }
        "pam" => pam::authenticate(pamservice, user, pass),
        "shadow" => Err(vec![]),
        other => Err(vec![format!("authentication type '{other}' not known")]),
    }
}

/// `authtype pam`: the PAM library, loaded when first needed. mon does
/// this with Authen::PAM (which Debian's mon recommends); a mon without
/// it refuses such a mon.cf, and so do we without libpam.
pub mod pam {
    use std::ffi::{c_char, c_int, c_void, CString};
    use std::sync::OnceLock;

    const PAM_SUCCESS: c_int = 0;
    const PAM_BUF_ERR: c_int = 5;
    const PAM_PROMPT_ECHO_OFF: c_int = 1;
    const PAM_PROMPT_ECHO_ON: c_int = 2;

    #[repr(C)]
    struct Message {
        msg_style: c_int,
        msg: *const c_char,
    }

    #[repr(C)]
    struct Response {
        resp: *mut c_char,
        resp_retcode: c_int,
    }

    type ConvFn =
        extern "C" fn(c_int, *mut *const Message, *mut *mut Response, *mut c_void) -> c_int;

    #[repr(C)]
    struct Conv {
        conv: ConvFn,
        appdata: *mut c_void,
    }

    type StartFn =
        unsafe extern "C" fn(*const c_char, *const c_char, *const Conv, *mut *mut c_void) -> c_int;
    type HandleFn = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;

    struct Lib {
        start: StartFn,
        authenticate: HandleFn,
        end: HandleFn,
    }

    /// libpam.so.0, opened at run time: no build dependency, and a host
    /// without PAM only loses `authtype pam`.
    fn lib() -> Option<&'static Lib> {
        static LIB: OnceLock<Option<Lib>> = OnceLock::new();
        LIB.get_or_init(|| {
            // SAFETY: dlopen/dlsym with NUL-terminated names; the symbols
            // are the documented PAM entry points with these signatures,
            // and the library is never closed.
            unsafe {
                let h = libc::dlopen(c"libpam.so.0".as_ptr(), libc::RTLD_NOW);
                if h.is_null() {
                    return None;
                }
                let sym = |n: &std::ffi::CStr| {
                    let p = libc::dlsym(h, n.as_ptr());
                    (!p.is_null()).then_some(p)
                };
                Some(Lib {
                    start: std::mem::transmute::<*mut c_void, StartFn>(sym(c"pam_start")?),
                    authenticate: std::mem::transmute::<*mut c_void, HandleFn>(sym(
                        c"pam_authenticate",
                    )?),
                    end: std::mem::transmute::<*mut c_void, HandleFn>(sym(c"pam_end")?),
                })
            }
        })
        .as_ref()
    }

    /// Whether `authtype pam` can work here.
    pub fn available() -> bool {
        lib().is_some()
    }

    struct Credentials {
        user: CString,
        pass: CString,
    }

    /// The conversation, as mon's: the user name for a prompt that
    /// echoes, the password for one that does not, "" for the rest.
    extern "C" fn answer(
        n: c_int,
        msgs: *mut *const Message,
        resp: *mut *mut Response,
        appdata: *mut c_void,
    ) -> c_int {
        if n <= 0 || msgs.is_null() || resp.is_null() || appdata.is_null() {
            return PAM_BUF_ERR;
        }
        // SAFETY: PAM passes n messages (an array of pointers, Linux-PAM's
        // layout) and our Credentials as appdata; the responses are
        // calloc'd and strdup'd because PAM frees them with free().
        unsafe {
            let creds = &*(appdata as *const Credentials);
            let out = libc::calloc(n as usize, std::mem::size_of::<Response>()) as *mut Response;
            if out.is_null() {
                return PAM_BUF_ERR;
            }
            for i in 0..n as usize {
                let m = *msgs.add(i);
                let style = if m.is_null() { 0 } else { (*m).msg_style };
                let text: &std::ffi::CStr = match style {
                    PAM_PROMPT_ECHO_ON => &creds.user,
                    PAM_PROMPT_ECHO_OFF => &creds.pass,
                    _ => c"",
                };
                (*out.add(i)).resp = libc::strdup(text.as_ptr());
                (*out.add(i)).resp_retcode = 0;
            }
            *resp = out;
        }
        PAM_SUCCESS
    }

    /// pam_start(service, user) and pam_authenticate, as mon does (no
    /// account check). Err: the lines mon would send to syslog.
    pub fn authenticate(service: &str, user: &str, pass: &str) -> Result<(), Vec<String>> {
        let Some(lib) = lib() else {
            return Err(vec!["authentication type 'pam' not known".into()]);
        };
        let (Ok(svc), Ok(u), Ok(p)) = (
            CString::new(service),
            CString::new(user),
            CString::new(pass),
        ) else {
            return Err(vec![]);
        };
        let creds = Credentials {
            user: u.clone(),
            pass: p,
        };
        let conv = Conv {
            conv: answer,
            appdata: &creds as *const Credentials as *mut c_void,
        };
        let mut h: *mut c_void = std::ptr::null_mut();
        // SAFETY: valid C strings and conversation, which outlive the
        // handle (pam_end is called before they go out of scope).
        unsafe {
            let r = (lib.start)(svc.as_ptr(), u.as_ptr(), &conv, &mut h);
            if r != PAM_SUCCESS || h.is_null() {
                let e = std::io::Error::last_os_error();
                return Err(vec![format!(
                    "Error code {r} during PAM init!: {}",
                    crate::error::errno_text(&e)
                )]);
            }
            let r = (lib.authenticate)(h, 0);
            (lib.end)(h, r);
            if r == PAM_SUCCESS {
                Ok(())
            } else {
                Err(vec![])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str = "# comment\nlist:\t\tall\nreset:\t\tAUTH_ANY\nack: root, bob\nstop: !bob, AUTH_ANY\n\ntrap section\n127.0.0.1 * *\n* mon $1$abc$xyz\n";

    #[test]
    fn command_rules() {
        let a = Auth::parse(DEBIAN, "auth.cf");
        assert!(a.check(None, "list").is_ok());
        assert_eq!(
            a.check(None, "reset"),
            Err("user '' tried 'reset', not authenticated".into())
        );
        assert!(a.check(Some("x"), "reset").is_ok());
        assert!(a.check(Some("bob"), "ack").is_ok());
        assert!(a.check(Some("x"), "ack").is_err());
        assert_eq!(
            a.check(Some("bob"), "stop"),
            Err("user 'bob' tried 'stop', denied".into())
        );
        assert!(a.check(Some("x"), "term").is_err(), "default deny");
        assert_eq!(a.traps["127.0.0.1"]["*"], "*");
        assert_eq!(a.traps["*"]["mon"], "$1$abc$xyz");
    }

    #[test]
    fn crypt_roundtrip() {
        // a DES and an MD5 hash of "secret" made with Perl's crypt
        assert!(crypt_matches("secret", "abNANd1rDfiNc"));
        assert!(!crypt_matches("wrong", "abNANd1rDfiNc"));
        assert!(crypt_matches("secret", "$1$salt$ez2vlPGdaLYkJam5pWs/Y1"));
    }

    #[test]
    fn trustlocal_and_empty() {
        assert!(authenticate("trustlocal", "u", "", "127.0.0.1", "", "").is_ok());
        assert!(authenticate("trustlocal", "u", "", "10.0.0.1", "", "").is_err());
        assert!(authenticate("getpwnam", "", "x", "127.0.0.1", "", "").is_err());
    }
}
