//! Value syntaxes shared by the configuration files.

/// heartbeat's time syntax (`cl_get_msec`): a decimal number of seconds,
/// or with a case-insensitive `ms`/`us` suffix (anything starting with
/// those letters, so `msec`/`usec` work too), optionally after blanks.
/// Rounded to the nearest millisecond. `None` where the original returns -1.
pub fn parse_msec(s: &str) -> Option<i64> {
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, rest) = s.split_at(num_end);
    let value: f64 = parse_c_double(num)?;
    let unit = rest.trim_start_matches([' ', '\t']);
    let lower = unit.to_ascii_lowercase();
    let ms = if unit.is_empty() {
        value * 1000.0
    } else if lower.starts_with("ms") {
        value
    } else if lower.starts_with("us") {
        value / 1000.0
    } else {
        return None;
    };
    let rounded = (ms + 0.5).floor();
    if !rounded.is_finite() || rounded > i64::MAX as f64 {
        return None;
    }
    Some(rounded as i64)
}

/// A `[0-9.]+` run read the way strtod would: the longest valid prefix.
fn parse_c_double(num: &str) -> Option<f64> {
    if num.is_empty() {
        return None;
    }
    // "1.2.3" -> strtod reads "1.2"
    let mut end = num.len();
    if let Some(first_dot) = num.find('.') {
        if let Some(second) = num[first_dot + 1..].find('.') {
            end = first_dot + 1 + second;
        }
    }
    let part = &num[..end];
    if part == "." {
        return None;
    }
    part.parse::<f64>().ok()
}

/// `cl_str_to_boolean`: true/on/yes/y/1, false/off/no/n/0, case-insensitive.
pub fn parse_bool(s: &str) -> Option<bool> {
    let l = s.to_ascii_lowercase();
    match l.as_str() {
        "true" | "on" | "yes" | "y" | "1" => Some(true),
        "false" | "off" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// C `atoi`: leading blanks, optional sign, digits; anything else gives 0.
/// Saturates instead of overflowing.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -v
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msec_units() {
        assert_eq!(parse_msec("2"), Some(2000));
        assert_eq!(parse_msec("1.5"), Some(1500));
        assert_eq!(parse_msec("0.001"), Some(1));
        assert_eq!(parse_msec("1500ms"), Some(1500));
        assert_eq!(parse_msec("1500MS"), Some(1500));
        assert_eq!(parse_msec("250msec"), Some(250));
        assert_eq!(parse_msec("1500000us"), Some(1500));
        assert_eq!(parse_msec("1500 ms"), Some(1500));
        assert_eq!(parse_msec("1499us"), Some(1));
        assert_eq!(parse_msec("0"), Some(0));
        assert_eq!(parse_msec("ms"), None);
        assert_eq!(parse_msec("2s"), None);
        assert_eq!(parse_msec(""), None);
        assert_eq!(parse_msec("-1"), None);
        assert_eq!(parse_msec("1.2.3"), Some(1200)); // strtod stops at the second dot
    }

    #[test]
    fn booleans() {
        for t in ["true", "ON", "Yes", "y", "1"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "Off", "NO", "n", "0"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(parse_bool(""), None);
    }

    #[test]
    fn c_atoi() {
        assert_eq!(atoi("694"), 694);
        assert_eq!(atoi(" 12abc"), 12);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("-5"), -5);
        assert_eq!(atoi("99999999999999999999999"), i64::MAX);
    }
}
