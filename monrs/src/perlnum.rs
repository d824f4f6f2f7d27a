//! The few pieces of Perl scalar semantics that mon.cf meaning depends on:
//! how a string numifies, how a number stringifies, and which values are
//! true. mon stores many settings as raw strings and tests them with Perl's
//! rules, so "00s" is a *true* interval while "0s" is not.

/// Numeric value of a string the way Perl numifies it: optional leading
/// whitespace, then the longest decimal-number prefix; anything else is 0.
pub fn numify(s: &str) -> f64 {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut seen_digit = i > digits_start;
    if i < b.len() && b[i] == b'.' {
        let j = i + 1;
        let mut k = j;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if k > j || seen_digit {
            seen_digit = seen_digit || k > j;
            i = k;
        }
    }
    if !seen_digit {
        return 0.0;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut k = i + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        let ds = k;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if k > ds {
            i = k;
        }
    }
    t[..i].parse::<f64>().unwrap_or(0.0)
}

/// Perl's default number stringification (`%.15g`, integers without a
/// fraction).
pub fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    // %.15g
    let s = format!("{:.14e}", v);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-5..15).contains(&exp) {
        let decimals = (14 - exp).max(0) as usize;
        let f = format!("{:.*}", decimals, v);
        let f = if f.contains('.') {
            f.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            f
        };
        f
    } else {
        let m = mant.trim_end_matches('0').trim_end_matches('.');
        format!("{}e{}{:02}", m, if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Perl truthiness of a string scalar.
pub fn str_true(s: &str) -> bool {
    !(s.is_empty() || s == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numify_like_perl() {
        assert_eq!(numify("12"), 12.0);
        assert_eq!(numify(" 1abc"), 1.0);
        assert_eq!(numify("yes"), 0.0);
        assert_eq!(numify("1.5x"), 1.5);
        assert_eq!(numify("1e2"), 100.0);
        assert_eq!(numify("-3"), -3.0);
        assert_eq!(numify(".5"), 0.5);
        assert_eq!(numify("."), 0.0);
        assert_eq!(numify(""), 0.0);
    }

    #[test]
    fn fmt_like_perl() {
        assert_eq!(fmt_num(90.0), "90");
        assert_eq!(fmt_num(0.6), "0.6");
        assert_eq!(fmt_num(0.1 * 60.0), "6");
        assert_eq!(fmt_num(1.5), "1.5");
        assert_eq!(fmt_num(-1.0), "-1");
        assert_eq!(fmt_num(1e20), "1e+20");
    }

    #[test]
    fn truth() {
        assert!(!str_true(""));
        assert!(!str_true("0"));
        assert!(str_true("00"));
        assert!(str_true("0.0"));
    }
}
