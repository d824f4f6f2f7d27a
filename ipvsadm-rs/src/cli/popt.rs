//! A re-implementation of the parts of libpopt 1.19 that ipvsadm relies on.
//!
//! ipvsadm's messages depend on popt's exact behaviour: which argv element
//! `poptBadOption` names, when an optional argument is taken, what happens to
//! `-x=value`, `--`, and lone `-`. The rules below were observed on
//! Debian's libpopt0 1.19 with a probe program using ipvsadm's option table:
//!
//! * A word starting with `--` is a long option, matched exactly (no prefix
//!   abbreviation); `--name=value` attaches a value. A value given to an
//!   option that takes none is "option does not take an argument".
//! * A word `--` ends option processing: every later word is a leftover.
//! * Any other word starting with `-` (and longer than `-`) is a cluster of
//!   short options. After a short option, a `=` is skipped; a short option
//!   without argument followed by `=` is "option does not take an argument".
//!   A short option with an argument takes the rest of the cluster, or else
//!   the next word (even if it starts with `-`).
//! * An optional argument (`-p`) is only taken from the next word when that
//!   word exists and does not start with `-`.
//! * Words not starting with `-` (and the lone `-`, and the empty word) are
//!   leftovers, collected in order; option processing goes on after them.
//! * The "bad option" reported with an error or after a return is always the
//!   last argv word consumed.

/// How an option takes its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    Required,
    Optional,
}

/// One row of the option table.
#[derive(Debug, Clone, Copy)]
pub struct OptDef<T: Copy> {
    pub long: Option<&'static str>,
    pub short: Option<u8>,
    pub arg: ArgKind,
    pub tag: T,
}

/// popt's error codes that can occur with this table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoptError {
    /// POPT_ERROR_NOARG (-10)
    NoArg,
    /// POPT_ERROR_BADOPT (-11)
    BadOpt,
    /// POPT_ERROR_UNWANTEDARG (-12)
    UnwantedArg,
}

impl PoptError {
    /// `poptStrerror` text.
    pub fn message(self) -> &'static str {
        match self {
            PoptError::NoArg => "missing argument",
            PoptError::BadOpt => "unknown option",
            PoptError::UnwantedArg => "option does not take an argument",
        }
    }
}

/// One result of `poptGetNextOpt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next<T> {
    /// An option, with its argument (`None` for argument-less options and
    /// for an optional argument that was not given).
    Opt(T, Option<Vec<u8>>),
    /// End of options (-1).
    End,
    /// An error; the context stops.
    Err(PoptError),
}

/// A parsing context over `argv[1..]`.
pub struct Context<'a, T: Copy> {
    table: &'a [OptDef<T>],
    argv: &'a [Vec<u8>],
    /// Index of the next argv word to look at.
    next: usize,
    /// Remaining characters of the short-option cluster being processed.
    cluster: Option<(usize, usize)>,
    rest_leftover: bool,
    leftovers: Vec<Vec<u8>>,
    leftover_pos: usize,
    /// POPT_CONTEXT_POSIXMEHARDER: the first non-option ends the options.
    posix: bool,
}

impl<'a, T: Copy> Context<'a, T> {
    pub fn new(table: &'a [OptDef<T>], argv: &'a [Vec<u8>]) -> Self {
        Context {
            table,
            argv,
            next: 1,
            cluster: None,
            rest_leftover: false,
            leftovers: Vec::new(),
            leftover_pos: 0,
            posix: false,
        }
    }

    /// popt turns this on when `POSIXLY_CORRECT` or `POSIX_ME_HARDER` is
    /// set in the environment.
    pub fn posix_me_harder(mut self, on: bool) -> Self {
        self.posix = on;
        self
    }

    /// `poptBadOption(ctx, POPT_BADOPTION_NOALIAS)`: the last word consumed.
    pub fn bad_option(&self) -> &[u8] {
        if self.next > 0 {
            if let Some(w) = self.argv.get(self.next - 1) {
                return w;
            }
        }
        b""
    }

    /// `poptGetArg`: the next leftover word.
    pub fn get_arg(&mut self) -> Option<Vec<u8>> {
        let a = self.leftovers.get(self.leftover_pos).cloned();
        if a.is_some() {
            self.leftover_pos += 1;
        }
        a
    }

    fn find_long(&self, name: &[u8]) -> Option<&'a OptDef<T>> {
        self.table
            .iter()
            .find(|o| o.long.map(|l| l.as_bytes() == name).unwrap_or(false))
    }

    fn find_short(&self, c: u8) -> Option<&'a OptDef<T>> {
        self.table.iter().find(|o| o.short == Some(c))
    }

    /// Take the next word as a required argument.
    fn take_required(&mut self) -> Option<Vec<u8>> {
        let w = self.argv.get(self.next)?.clone();
        self.next += 1;
        Some(w)
    }

    /// Take the next word as an optional argument, if it does not look like
    /// an option.
    fn take_optional(&mut self) -> Option<Vec<u8>> {
        let w = self.argv.get(self.next)?;
        if w.first() == Some(&b'-') {
            return None;
        }
        let w = w.clone();
        self.next += 1;
        Some(w)
    }

    /// `poptGetNextOpt`.
    pub fn next_opt(&mut self) -> Next<T> {
        loop {
            if let Some((word, pos)) = self.cluster {
                return self.short_in_cluster(word, pos);
            }
            let Some(w) = self.argv.get(self.next) else {
                return Next::End;
            };
            self.next += 1;
            if self.rest_leftover {
                self.leftovers.push(w.clone());
                continue;
            }
            if w.as_slice() == b"--" {
                self.rest_leftover = true;
                continue;
            }
            if w.first() != Some(&b'-') || w.len() == 1 {
                self.leftovers.push(w.clone());
                if self.posix {
                    self.rest_leftover = true;
                }
                continue;
            }
            if w.starts_with(b"--") {
                let body = &w[2..];
                let (name, value) = match body.iter().position(|&c| c == b'=') {
                    Some(i) => (&body[..i], Some(body[i + 1..].to_vec())),
                    None => (body, None),
                };
                let Some(def) = self.find_long(name) else {
                    return Next::Err(PoptError::BadOpt);
                };
                return match def.arg {
                    ArgKind::None => {
                        if value.is_some() {
                            Next::Err(PoptError::UnwantedArg)
                        } else {
                            Next::Opt(def.tag, None)
                        }
                    }
                    ArgKind::Required => match value.or_else(|| self.take_required()) {
                        Some(v) => Next::Opt(def.tag, Some(v)),
                        None => Next::Err(PoptError::NoArg),
                    },
                    ArgKind::Optional => {
                        let v = value.or_else(|| self.take_optional());
                        Next::Opt(def.tag, v)
                    }
                };
            }
            // Short cluster: starts after the '-'.
            let word = self.next - 1;
            return self.short_in_cluster(word, 1);
        }
    }

    fn short_in_cluster(&mut self, word: usize, pos: usize) -> Next<T> {
        self.cluster = None;
        let w = &self.argv[word];
        let Some(&c) = w.get(pos) else {
            // Cannot happen: clusters are only kept while characters remain.
            return self.next_opt();
        };
        let Some(def) = self.find_short(c) else {
            return Next::Err(PoptError::BadOpt);
        };
        let mut rest = pos + 1;
        let eq = w.get(rest) == Some(&b'=');
        if eq {
            rest += 1;
        }
        match def.arg {
            ArgKind::None => {
                if eq {
                    return Next::Err(PoptError::UnwantedArg);
                }
                if rest < w.len() {
                    self.cluster = Some((word, rest));
                }
                Next::Opt(def.tag, None)
            }
            ArgKind::Required | ArgKind::Optional => {
                if rest < w.len() || eq {
                    return Next::Opt(def.tag, Some(w[rest..].to_vec()));
                }
                let v = if def.arg == ArgKind::Required {
                    match self.take_required() {
                        Some(v) => v,
                        None => return Next::Err(PoptError::NoArg),
                    }
                } else {
                    match self.take_optional() {
                        Some(v) => v,
                        None => return Next::Opt(def.tag, None),
                    }
                };
                Next::Opt(def.tag, Some(v))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &[OptDef<char>] = &[
        OptDef {
            long: Some("list"),
            short: Some(b'L'),
            arg: ArgKind::None,
            tag: 'L',
        },
        OptDef {
            long: Some("numeric"),
            short: Some(b'n'),
            arg: ArgKind::None,
            tag: 'n',
        },
        OptDef {
            long: Some("tcp-service"),
            short: Some(b't'),
            arg: ArgKind::Required,
            tag: 't',
        },
        OptDef {
            long: Some("persistent"),
            short: Some(b'p'),
            arg: ArgKind::Optional,
            tag: 'p',
        },
    ];

    /// Run the context to the end and render every step like the probe
    /// program that observed the real libpopt did.
    fn trace(args: &[&str]) -> String {
        let mut argv = vec![b"x".to_vec()];
        argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
        let mut c = Context::new(T, &argv).posix_me_harder(args.first() == Some(&"POSIX"));
        if args.first() == Some(&"POSIX") {
            c.next = 2;
        }
        let mut out = String::new();
        loop {
            match c.next_opt() {
                Next::Opt(t, a) => out.push_str(&format!(
                    "{}={} bad={};",
                    t,
                    a.map(|a| String::from_utf8_lossy(&a).into_owned())
                        .unwrap_or("NULL".into()),
                    String::from_utf8_lossy(c.bad_option())
                )),
                Next::End => {
                    out.push_str("end");
                    break;
                }
                Next::Err(e) => {
                    out.push_str(&format!(
                        "err {} bad={}",
                        e.message(),
                        String::from_utf8_lossy(c.bad_option())
                    ));
                    break;
                }
            }
        }
        while let Some(a) = c.get_arg() {
            out.push_str(&format!(" [{}]", String::from_utf8_lossy(&a)));
        }
        out
    }

    #[test]
    fn behaviour_observed_on_libpopt_1_19() {
        assert_eq!(
            trace(&["--numeric=5"]),
            "err option does not take an argument bad=--numeric=5"
        );
        assert_eq!(trace(&["-p=100"]), "p=100 bad=-p=100;end");
        assert_eq!(
            trace(&["-L=n"]),
            "err option does not take an argument bad=-L=n"
        );
        assert_eq!(trace(&["-pn"]), "p=n bad=-pn;end");
        assert_eq!(trace(&["-p", "-n"]), "p=NULL bad=-p;n=NULL bad=-n;end");
        assert_eq!(trace(&["-p", ""]), "p= bad=;end");
        assert_eq!(trace(&["-L", "--", "-n"]), "L=NULL bad=-L;end [-n]");
        assert_eq!(
            trace(&["-Ln", "x", "-n"]),
            "L=NULL bad=-Ln;n=NULL bad=-Ln;n=NULL bad=-n;end [x]"
        );
        assert_eq!(trace(&["-", "-n"]), "n=NULL bad=-n;end [-]");
        assert_eq!(trace(&["-t"]), "err missing argument bad=-t");
        assert_eq!(trace(&["--tcp-service="]), "t= bad=--tcp-service=;end");
        assert_eq!(trace(&["-t=a"]), "t=a bad=-t=a;end");
        assert_eq!(trace(&["--p"]), "err unknown option bad=--p");
        assert_eq!(trace(&["---n"]), "err unknown option bad=---n");
        assert_eq!(trace(&["--persistent", "x"]), "p=x bad=x;end");
        assert_eq!(trace(&["-Lp", "100"]), "L=NULL bad=-Lp;p=100 bad=100;end");
        assert_eq!(trace(&["-t", "--"]), "t=-- bad=--;end");
        assert_eq!(trace(&["--", "--"]), "end [--]");
        assert_eq!(trace(&["-tn"]), "t=n bad=-tn;end");
        assert_eq!(
            trace(&["-Ln="]),
            "L=NULL bad=-Ln=;err option does not take an argument bad=-Ln="
        );
        assert_eq!(trace(&["", "-L"]), "L=NULL bad=-L;end []");
        assert_eq!(
            trace(&["-nL", "-t"]),
            "n=NULL bad=-nL;L=NULL bad=-nL;err missing argument bad=-t"
        );
        assert_eq!(trace(&["--=x"]), "err unknown option bad=--=x");
        assert_eq!(trace(&["-p=-5"]), "p=-5 bad=-p=-5;end");
        assert_eq!(trace(&["-p", "-"]), "p=NULL bad=-p;end [-]");
        // POSIXLY_CORRECT: the first leftover ends option processing.
        assert_eq!(trace(&["POSIX", "foo", "-L", "-n"]), "end [foo] [-L] [-n]");
        assert_eq!(
            trace(&["POSIX", "-L", "foo", "-n"]),
            "L=NULL bad=-L;end [foo] [-n]"
        );
    }
}
