//! mon's command line (Getopt::Long with no_ignore_case): short and long
//! names, `--name=value`, optional values for `-M` and `-l`.

use crate::error::Error;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub authfile: Option<String>,
    pub cfbasedir: Option<String>,
    pub statedir: Option<String>,
    pub logdir: Option<String>,
    /// Some("") for a bare -M (which mon mishandles; see mon(8))
    pub m4: Option<String>,
    pub syslogfacility: Option<String>,
    pub pidfile: Option<String>,
    pub stopped: bool,
    pub alertdir: Option<String>,
    pub basedir: Option<String>,
    pub configfile: Option<String>,
    pub debug: u32,
    pub fork: bool,
    pub help: bool,
    pub sleep: Option<i64>,
    pub maxkeep: Option<i64>,
    pub loadstate: Option<String>,
    pub maxprocs: Option<i64>,
    pub port: Option<i64>,
    pub randstart: Option<String>,
    pub scriptdir: Option<String>,
    pub trapport: Option<i64>,
    pub version: bool,
    /// ours: print what the config means and exit
    pub check: bool,
}

enum Kind {
    Str,
    OptStr,
    Int,
    Flag,
    Count,
}

fn spec(name: &str) -> Option<(&'static str, Kind)> {
    use Kind::*;
    Some(match name {
        "A" | "authfile" => ("A", Str),
        "B" | "cfbasedir" => ("B", Str),
        "C" => ("C", Str),
        "D" | "statedir" => ("D", Str),
        "L" | "logdir" => ("L", Str),
        "M" | "m4" => ("M", OptStr),
        "O" | "syslogfacility" => ("O", Str),
        "P" | "pidfile" => ("P", Str),
        "S" | "stopped" => ("S", Flag),
        "a" | "alertdir" => ("a", Str),
        "b" | "basedir" => ("b", Str),
        "c" | "configfile" => ("c", Str),
        "d" | "debug" => ("d", Count),
        "f" | "fork" => ("f", Flag),
        "h" | "help" => ("h", Flag),
        "i" | "sleep" => ("i", Int),
        "k" | "maxkeep" => ("k", Int),
        "l" | "loadstate" => ("l", OptStr),
        "m" | "maxprocs" => ("m", Int),
        "p" | "port" => ("p", Int),
        "r" | "randstart" => ("r", Str),
        "s" | "scriptdir" => ("s", Str),
        "t" | "trapport" => ("t", Int),
        "v" | "version" => ("v", Flag),
        "check" | "config-test" => ("check", Flag),
        _ => return None,
    })
}

pub fn parse(args: &[String]) -> Result<Options, Error> {
    let mut o = Options::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            break;
        }
        let body = if let Some(b) = a.strip_prefix("--") {
            b
        } else if let Some(b) = a.strip_prefix('-') {
            if b.is_empty() {
                break;
            }
            b
        } else {
            // mon ignores non-option arguments
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some((key, kind)) = spec(name) else {
            return Err(Error::Usage(format!("Unknown option: {name}")));
        };
        let mut take = |optional: bool| -> Result<Option<String>, Error> {
            if let Some(v) = inline.clone() {
                return Ok(Some(v));
            }
            match args.get(i) {
                Some(v) if !(optional && v.starts_with('-') && v.len() > 1) => {
                    i += 1;
                    Ok(Some(v.clone()))
                }
                _ if optional => Ok(None),
                _ => Err(Error::Usage(format!("Option {name} requires an argument"))),
            }
        };
        match kind {
            Kind::Flag => match key {
                "S" => o.stopped = true,
                "f" => o.fork = true,
                "h" => o.help = true,
                "v" => o.version = true,
                _ => o.check = true,
            },
            Kind::Count => o.debug += 1,
            Kind::Str => {
                let v = take(false)?.unwrap_or_default();
                match key {
                    "A" => o.authfile = Some(v),
                    "B" => o.cfbasedir = Some(v),
                    "C" => {
                        o.configfile = Some(v);
                        o.check = true;
                    }
                    "D" => o.statedir = Some(v),
                    "L" => o.logdir = Some(v),
                    "O" => o.syslogfacility = Some(v),
                    "P" => o.pidfile = Some(v),
                    "a" => o.alertdir = Some(v),
                    "b" => o.basedir = Some(v),
                    "c" => o.configfile = Some(v),
                    "r" => o.randstart = Some(v),
                    _ => o.scriptdir = Some(v),
                }
            }
            Kind::OptStr => {
                let v = take(true)?.unwrap_or_default();
                if key == "M" {
                    o.m4 = Some(v);
                } else {
                    o.loadstate = Some(v);
                }
            }
            Kind::Int => {
                let v = take(false)?.unwrap_or_default();
                let n: i64 = v.parse().map_err(|_| {
                    Error::Usage(format!(
                        "Value \"{v}\" invalid for option {name} (number expected)"
                    ))
                })?;
                match key {
                    "i" => o.sleep = Some(n),
                    "k" => o.maxkeep = Some(n),
                    "m" => o.maxprocs = Some(n),
                    "p" => o.port = Some(n),
                    _ => o.trapport = Some(n),
                }
            }
        }
    }
    Ok(o)
}

pub const USAGE: &str = "Usage: mon [-dfhlMSv] [-a dir] [-A authfile] [-b dir] [-B dir] [-c config]
           [-D dir] [-i secs] [-k num] [-l [statetype]] [-L dir] [-m num]
           [-M [path]] [-O facility] [-p port] [-P pidfile] [-r delay]
           [-s dir] [-t trapport]
       mon --check [-c config] | mon -C config   (print what the config means)
";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Options {
        parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn lab_notes_command_line() {
        let o = p(&[
            "-c",
            "D/mon.cf",
            "-b",
            "D",
            "-B",
            "D",
            "-A",
            "D/auth.cf",
            "-a",
            "D/alert.d",
            "-s",
            "D/mon.d",
            "-L",
            "D/log",
            "-D",
            "D/state",
            "-P",
            "D/mon.pid",
        ]);
        assert_eq!(o.configfile.as_deref(), Some("D/mon.cf"));
        assert_eq!(o.scriptdir.as_deref(), Some("D/mon.d"));
        assert_eq!(o.pidfile.as_deref(), Some("D/mon.pid"));
    }

    #[test]
    fn optional_values_and_long_forms() {
        let o = p(&[
            "-l",
            "-d",
            "-d",
            "--port=12",
            "-M",
            "m4",
            "--configfile",
            "x",
        ]);
        assert_eq!(o.loadstate.as_deref(), Some(""));
        assert_eq!(o.debug, 2);
        assert_eq!(o.port, Some(12));
        assert_eq!(o.m4.as_deref(), Some("m4"));
        assert_eq!(o.configfile.as_deref(), Some("x"));
        let o = p(&["-P", ""]);
        assert_eq!(o.pidfile.as_deref(), Some(""));
        let o = p(&["-C", "f.cf"]);
        assert!(o.check);
        assert!(parse(&["-x".to_string()]).is_err());
        assert!(parse(&["-p".to_string(), "abc".to_string()]).is_err());
    }
}
