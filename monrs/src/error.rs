//! The crate's error type. Messages are the original's where one exists.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A mon.cf error, with mon's exact text ("cf error: ..., line N").
    #[error("{0}")]
    Config(String),
    /// A mon.cf error after a failed file test: Perl's die exits with
    /// that errno.
    #[error("{msg}")]
    ConfigErrno { msg: String, errno: i32 },
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// An io::Error as Perl's `$!` prints it ("No such file or directory").
pub fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            // SAFETY: strerror returns a pointer to a static or thread-local
            // string; it is copied immediately.
            let p = unsafe { libc::strerror(n) };
            if p.is_null() {
                e.to_string()
            } else {
                unsafe { std::ffi::CStr::from_ptr(p) }
                    .to_string_lossy()
                    .into_owned()
            }
        }
        None => e.to_string(),
    }
}
