//! mon's `dhmstos`: "20m" → 1200. A unit is mandatory, fractions are
//! allowed, compound forms ("1h30m") are not.

use crate::perlnum::{fmt_num, str_true};

/// A parsed time value. `text` is what Perl would hold: for the `s` unit
/// the digits exactly as written (so "00s" is the true string "00"), for
/// other units the stringified product.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeval {
    pub secs: f64,
    pub text: String,
}

impl Timeval {
    /// Perl truthiness of the stored value; mon rejects false values with
    /// `if (!($x = dhmstos(...)))`.
    pub fn is_true(&self) -> bool {
        str_true(&self.text)
    }
}

pub fn dhmstos(s: &str) -> Option<Timeval> {
    let l = s.to_lowercase();
    let t = l.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let unit = t.chars().last()?;
    let num = &t[..t.len() - unit.len_utf8()];
    if !matches!(unit, 'd' | 'h' | 'm' | 's') || !valid_number(num) {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    let (secs, text) = match unit {
        's' => (v, num.to_string()),
        'm' => (v * 60.0, fmt_num(v * 60.0)),
        'h' => (v * 3600.0, fmt_num(v * 3600.0)),
        _ => (v * 86400.0, fmt_num(v * 86400.0)),
    };
    Some(Timeval { secs, text })
}

/// `\d+(?:\.\d+)?`
fn valid_number(n: &str) -> bool {
    let (int, frac) = match n.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (n, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// The stricter form alertafter uses: `^\d+[hms]$` (integer, lower-case,
/// no days).
pub fn is_alertafter_timeval(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && matches!(b[b.len() - 1], b'h' | b'm' | b's')
        && b[..b.len() - 1].iter().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(dhmstos("20m").unwrap().secs, 1200.0);
        assert_eq!(dhmstos("1.5m").unwrap().secs, 90.0);
        assert_eq!(dhmstos("2h").unwrap().secs, 7200.0);
        assert_eq!(dhmstos("1d").unwrap().secs, 86400.0);
        assert_eq!(dhmstos(" 5S ").unwrap().secs, 5.0);
        assert_eq!(dhmstos("30s").unwrap().text, "30");
    }

    #[test]
    fn rejects() {
        for bad in ["60", "1h30m", "", "m", "1.m", ".5m", "-1s", "5 m", "1x"] {
            assert!(dhmstos(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn perl_truth_of_zero_values() {
        assert!(!dhmstos("0s").unwrap().is_true());
        assert!(!dhmstos("0m").unwrap().is_true());
        assert!(dhmstos("00s").unwrap().is_true());
        assert!(dhmstos("0.0s").unwrap().is_true());
        assert_eq!(dhmstos("0m").unwrap().text, "0");
    }

    #[test]
    fn alertafter_form() {
        assert!(is_alertafter_timeval("5m"));
        assert!(!is_alertafter_timeval("1d"));
        assert!(!is_alertafter_timeval("1.5m"));
        assert!(!is_alertafter_timeval("5M"));
        assert!(!is_alertafter_timeval("m"));
    }
}
