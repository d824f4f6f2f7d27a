//! Time::Period 1.25 `inPeriod`, with the broken-down time injected so it
//! is pure. See mon.cf(5) for the grammar; the quirks kept here (lazy
//! validation, greedy range split, whole-unit ranges, wrap-around, the
//! week-of-month rule) are the original's.

use crate::perlnum::{fmt_num, numify};

/// A broken-down local time, as `localtime` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tm {
    /// full year, e.g. 2026
    pub year: i32,
    /// 0..=11
    pub mon: i32,
    /// 1..=31
    pub mday: i32,
    /// 0..=6, 0 = Sunday
    pub wday: i32,
    /// 0..=365
    pub yday: i32,
    pub hour: i32,
    pub min: i32,
    pub sec: i32,
}

impl Tm {
    /// Week of the month, 0-based: week 0 starts on the 1st, every Sunday
    /// other than the 1st starts the next one.
    pub fn week_of_month(&self) -> i32 {
        // weekday of the 1st
        let first = (self.wday - (self.mday - 1)).rem_euclid(7);
        (2..=self.mday)
            .filter(|d| (first + d - 1).rem_euclid(7) == 0)
            .count() as i32
    }

    /// Pure UTC breakdown of an epoch (used by tests and by injected
    /// clocks that run in UTC).
    pub fn from_epoch_utc(t: i64) -> Tm {
        let days = t.div_euclid(86400);
        let secs = t.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        let wday = (days + 4).rem_euclid(7) as i32; // 1970-01-01 was a Thursday
        let yday = (days - days_from_civil(y, 1, 1)) as i32;
        Tm {
            year: y as i32,
            mon: m as i32 - 1,
            mday: d as i32,
            wday,
            yday,
            hour: (secs / 3600) as i32,
            min: (secs % 3600 / 60) as i32,
            sec: (secs % 60) as i32,
        }
    }

    /// The process's local time, like Perl's `localtime`.
    pub fn local(t: i64) -> Tm {
        let tt = t as libc::time_t;
        // SAFETY: localtime_r only writes into the struct we own.
        let mut out: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe { !libc::localtime_r(&tt, &mut out).is_null() };
        if !ok {
            return Tm::from_epoch_utc(t);
        }
        Tm {
            year: out.tm_year + 1900,
            mon: out.tm_mon,
            mday: out.tm_mday,
            wday: out.tm_wday,
            yday: out.tm_yday,
            hour: out.tm_hour,
            min: out.tm_min,
            sec: out.tm_sec,
        }
    }
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// inPeriod's three answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InPeriod {
    No,
    Yes,
    Invalid,
}

impl InPeriod {
    pub fn is_yes(self) -> bool {
        self == InPeriod::Yes
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scale {
    Yr,
    Mo,
    Wk,
    Yd,
    Md,
    Wd,
    Hr,
    Min,
    Sec,
}

fn scale_of(name: &str) -> Option<Scale> {
    use Scale::*;
    if name.len() > 3 {
        return match name {
            "year" => Some(Yr),
            "month" => Some(Mo),
            "week" => Some(Wk),
            "mday" => Some(Md),
            "wday" => Some(Wd),
            "yday" => Some(Yd),
            "hour" => Some(Hr),
            "minute" => Some(Min),
            "second" => Some(Sec),
            _ => None,
        };
    }
    if name.len() <= 1 {
        return None;
    }
    match name {
        "yr" => Some(Yr),
        "mo" => Some(Mo),
        "wk" => Some(Wk),
        "md" => Some(Md),
        "wd" => Some(Wd),
        "yd" => Some(Yd),
        "hr" => Some(Hr),
        "min" => Some(Min),
        "sec" => Some(Sec),
        _ => None,
    }
}

/// Perl's `split(/RE/, s)`: trailing empty fields are removed.
fn perl_split(parts: Vec<&str>) -> Vec<&str> {
    let mut v = parts;
    while v.last().is_some_and(|s| s.is_empty()) {
        v.pop();
    }
    v
}

/// split on `\s*,\s*`
fn split_commas(s: &str) -> Vec<&str> {
    perl_split(s.split(',').map(|p| p.trim()).collect())
}

/// split on `}\s*`
fn split_scales(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('}') {
        out.push(&rest[..i]);
        rest = rest[i + 1..].trim_start();
    }
    out.push(rest);
    perl_split(out)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn has_word(s: &str) -> bool {
    s.chars().any(is_word_char)
}

fn all_digits(s: &str) -> bool {
    // Perl: `$v !~ /\D/` (the empty string passes)
    s.chars().all(|c| c.is_ascii_digit())
}

/// `s/(\w+)\s*-\s*(\w+)/$1-$2/g` : only whitespace around a dash that sits
/// between word characters is removed.
fn squeeze_dashes(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        if is_word_char(c[i]) {
            // a word run
            let st = i;
            while i < c.len() && is_word_char(c[i]) {
                i += 1;
            }
            out.extend(&c[st..i]);
            let mut j = i;
            while j < c.len() && c[j].is_whitespace() {
                j += 1;
            }
            if j < c.len() && c[j] == '-' {
                let mut k = j + 1;
                while k < c.len() && c[k].is_whitespace() {
                    k += 1;
                }
                if k < c.len() && is_word_char(c[k]) {
                    out.push('-');
                    // the second word is consumed by this match
                    let st2 = k;
                    let mut e = k;
                    while e < c.len() && is_word_char(c[e]) {
                        e += 1;
                    }
                    out.extend(&c[st2..e]);
                    i = e;
                    continue;
                }
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

pub fn in_period(tm: &Tm, period: &str) -> InPeriod {
    let p = period.trim().to_lowercase();
    if p.is_empty() {
        return InPeriod::Yes;
    }
    if p == "none" {
        return InPeriod::No;
    }
    for sub in split_commas(&p) {
        let lb = sub.matches('{').count();
        let rb = sub.matches('}').count();
        if lb != rb || lb == 0 {
            return InPeriod::Invalid;
        }
        let scales = split_scales(sub);
        if scales.len() != lb {
            return InPeriod::Invalid;
        }
        // per scale: matched?
        let mut results: Vec<(Scale, bool)> = Vec::new();
        for sc in scales {
            let name_end = sc
                .find(|c: char| !c.is_ascii_lowercase())
                .unwrap_or(sc.len());
            let name = &sc[..name_end];
            let rest = sc[name_end..].trim_start();
            let Some(data) = rest.strip_prefix('{') else {
                return InPeriod::Invalid;
            };
            let data = data.trim_start();
            let Some(scale) = scale_of(name) else {
                return InPeriod::Invalid;
            };
            let data = squeeze_dashes(data);
            let idx = match results.iter().position(|(s, _)| *s == scale) {
                Some(i) => i,
                None => {
                    results.push((scale, false));
                    results.len() - 1
                }
            };
            for range in data.split_whitespace() {
                if let Some(d) = range.rfind('-') {
                    if !has_word(&range[..d]) || !has_word(&range[d + 1..]) {
                        return InPeriod::Invalid;
                    }
                } else if !has_word(range) {
                    return InPeriod::Invalid;
                }
                match eval_scale(scale, range, tm) {
                    None => return InPeriod::Invalid,
                    Some(true) => results[idx].1 = true,
                    Some(false) => {}
                }
            }
        }
        if results.iter().all(|(_, ok)| *ok) {
            return InPeriod::Yes;
        }
    }
    InPeriod::No
}

/// Some(matches) or None for "invalid".
fn eval_scale(scale: Scale, range: &str, tm: &Tm) -> Option<bool> {
    match scale {
        Scale::Yr => yr(range, tm.year),
        Scale::Mo => named_or_num(range, tm.mon, 3, MONTHS, 11),
        Scale::Wk => simple(range, tm.week_of_month(), 1, 6, true),
        Scale::Yd => yd(range, tm.yday),
        Scale::Md => simple(range, tm.mday, 1, 31, false),
        Scale::Wd => named_or_num(range, tm.wday, 2, WDAYS, 6),
        Scale::Hr => hr(range, tm.hour),
        Scale::Min => simple(range, tm.min, 0, 59, false),
        Scale::Sec => simple(range, tm.sec, 0, 59, false),
    }
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WDAYS: &[&str] = &["su", "mo", "tu", "we", "th", "fr", "sa"];

fn wrap_match(v1: i64, v2: i64, cur: i64) -> bool {
    if v1 > v2 {
        v1 <= cur || v2 >= cur
    } else {
        v1 <= cur && cur <= v2
    }
}

fn num(s: &str) -> i64 {
    numify(s) as i64
}

/// digits only, `lo..=hi`; with `minus_one` the value is made 0-based first.
fn simple(range: &str, cur: i32, lo: i64, hi: i64, minus_one: bool) -> Option<bool> {
    let adj = |v: &str| -> Option<i64> {
        if !all_digits(v) {
            return None;
        }
        let n = num(v);
        if n < lo || n > hi {
            return None;
        }
        Some(if minus_one { n - 1 } else { n })
    };
    if let Some(d) = range.rfind('-') {
        let v1 = adj(&range[..d])?;
        let v2 = adj(&range[d + 1..])?;
        Some(wrap_match(v1, v2, cur as i64))
    } else {
        Some(adj(range)? == cur as i64)
    }
}

fn named_or_num(range: &str, cur: i32, sig: usize, names: &[&str], max0: i64) -> Option<bool> {
    let val = |v: &str| -> Option<i64> {
        if v.chars().any(|c| c.is_ascii_lowercase()) {
            let pre: String = v.chars().take(sig).collect();
            names.iter().position(|n| *n == pre).map(|i| i as i64)
        } else if !all_digits(v) {
            None
        } else {
            let n = num(v) - 1;
            if n < 0 || n > max0 {
                None
            } else {
                Some(n)
            }
        }
    };
    if let Some(d) = range.rfind('-') {
        let v1 = val(&range[..d])?;
        let v2 = val(&range[d + 1..])?;
        Some(wrap_match(v1, v2, cur as i64))
    } else {
        Some(val(range)? == cur as i64)
    }
}

fn yr(range: &str, year: i32) -> Option<bool> {
    let century = (year / 100) as i64;
    let val = |v: &str| -> Option<i64> {
        if !all_digits(v) {
            return None;
        }
        let n = num(v);
        if n > 99 && n < 1970 {
            return None;
        }
        Some(if n <= 99 { 100 * century + n } else { n })
    };
    if let Some(d) = range.rfind('-') {
        let mut v1 = val(&range[..d])?;
        let mut v2 = val(&range[d + 1..])?;
        if v1 > v2 {
            std::mem::swap(&mut v1, &mut v2);
        }
        Some(v1 <= year as i64 && year as i64 <= v2)
    } else {
        Some(val(range)? == year as i64)
    }
}

fn yd(range: &str, cur: i32) -> Option<bool> {
    if let Some(d) = range.rfind('-') {
        let adj = |v: &str| -> Option<i64> {
            if !all_digits(v) {
                return None;
            }
            let n = num(v) - 1;
            if !(0..=365).contains(&n) {
                return None;
            }
            Some(n)
        };
        let v1 = adj(&range[..d])?;
        let v2 = adj(&range[d + 1..])?;
        Some(wrap_match(v1, v2, cur as i64))
    } else {
        // the original decrements before checking for non-digits, so the
        // value is Perl's numification of the text minus one
        let v = numify(range) - 1.0;
        let s = fmt_num(v);
        if !all_digits(&s) || !(0.0..=365.0).contains(&v) {
            return None;
        }
        Some(v as i64 == cur as i64)
    }
}

fn hour_value(v: &str) -> Option<i64> {
    let conv = if let Some(n) = v
        .strip_suffix("am")
        .filter(|n| !n.is_empty() && all_digits(n))
    {
        let n = num(n);
        if n == 12 {
            0.to_string()
        } else {
            n.to_string()
        }
    } else if let Some(n) = v
        .strip_suffix("pm")
        .filter(|n| !n.is_empty() && all_digits(n))
    {
        let n = num(n);
        if n == 12 {
            "12".into()
        } else {
            (n + 12).to_string()
        }
    } else if let Some(n) = v
        .strip_suffix("noon")
        .filter(|n| !n.is_empty() && all_digits(n))
    {
        if num(n) != 12 {
            return None;
        }
        "12".into()
    } else {
        v.to_string()
    };
    if !all_digits(&conv) {
        return None;
    }
    let n = num(&conv);
    if !(0..=23).contains(&n) {
        return None;
    }
    Some(n)
}

fn hr(range: &str, cur: i32) -> Option<bool> {
    if let Some(d) = range.rfind('-') {
        let v1 = hour_value(&range[..d])?;
        let v2 = hour_value(&range[d + 1..])?;
        Some(wrap_match(v1, v2, cur as i64))
    } else {
        Some(hour_value(range)? == cur as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Wed 2026-11-25 19:40:46 UTC
    const WED: i64 = 1795635646;

    fn at(t: i64, p: &str) -> InPeriod {
        in_period(&Tm::from_epoch_utc(t), p)
    }

    #[test]
    fn breakdown() {
        let tm = Tm::from_epoch_utc(WED);
        assert_eq!((tm.year, tm.mon, tm.mday, tm.wday), (2026, 10, 25, 3));
        assert_eq!((tm.hour, tm.min, tm.sec), (19, 40, 46));
        assert_eq!(tm.yday, 328);
        // Nov 2026: the 1st is a Sunday, so the 25th is in week index 3
        assert_eq!(tm.week_of_month(), 3);
    }

    #[test]
    fn verified_table() {
        assert_eq!(at(WED, "wday {monday-friday}"), InPeriod::Yes);
        assert_eq!(at(WED, "hr {12pm-13pm}"), InPeriod::Invalid);
        assert_eq!(at(WED, "w {1}"), InPeriod::Invalid);
        assert_eq!(at(WED, "hr {24}"), InPeriod::Invalid);
        assert_eq!(at(WED, ""), InPeriod::Yes);
        assert_eq!(at(WED, "  "), InPeriod::Yes);
        assert_eq!(at(WED, "NONE"), InPeriod::No);
    }

    #[test]
    fn whole_unit_and_wrap() {
        assert_eq!(at(WED, "hr {9am-7pm}"), InPeriod::Yes); // 19:40 is in hour 19
        assert_eq!(at(WED, "hr {9am-6pm}"), InPeriod::No);
        assert_eq!(at(WED, "hr {10pm-8pm}"), InPeriod::Yes);
        assert_eq!(at(WED, "hr {10pm-6am}"), InPeriod::No);
        assert_eq!(at(WED, "mo {nov-feb}"), InPeriod::Yes);
        assert_eq!(at(WED, "min {50-45}"), InPeriod::Yes);
        assert_eq!(at(WED, "min {50-10}"), InPeriod::No);
        assert_eq!(at(WED, "hr {9am - 8pm}"), InPeriod::Yes);
    }

    #[test]
    fn and_or_semantics() {
        assert_eq!(at(WED, "wd {Mon-Fri} hr {9am-5pm}"), InPeriod::No);
        assert_eq!(
            at(WED, "wd {Mon-Fri} hr {9am-5pm}, wd {wed}"),
            InPeriod::Yes
        );
        assert_eq!(at(WED, "wd {sun} wd {wed}"), InPeriod::Yes);
        assert_eq!(at(WED, "wd {sun mon wed}"), InPeriod::Yes);
        assert_eq!(at(WED, "wd {4}"), InPeriod::Yes); // 1 = Sunday
        assert_eq!(at(WED, "wd {0}"), InPeriod::Invalid);
    }

    #[test]
    fn lazy_validation() {
        assert_eq!(at(WED, "wd {Sun-Sat}, wd {Foo}"), InPeriod::Yes);
        assert_eq!(at(WED, "wd {Foo}, wd {Sun-Sat}"), InPeriod::Invalid);
        assert_eq!(at(WED, "wd {Sun-Sat} junk"), InPeriod::Invalid);
        assert_eq!(at(WED, "wd {Sun-Sat"), InPeriod::Invalid);
        assert_eq!(at(WED, "wd {1,2}"), InPeriod::Invalid);
    }

    #[test]
    fn scales() {
        assert_eq!(at(WED, "yr {26}"), InPeriod::Yes);
        assert_eq!(at(WED, "yr {2030-2020}"), InPeriod::Yes);
        assert_eq!(at(WED, "yr {1969}"), InPeriod::Invalid);
        assert_eq!(at(WED, "year {2026}"), InPeriod::Yes);
        assert_eq!(at(WED, "md {25}"), InPeriod::Yes);
        assert_eq!(at(WED, "md {32}"), InPeriod::Invalid);
        assert_eq!(at(WED, "yd {329}"), InPeriod::Yes);
        assert_eq!(at(WED, "yd {329x}"), InPeriod::Yes);
        assert_eq!(at(WED, "wk {4}"), InPeriod::Yes);
        assert_eq!(at(WED, "wk {7}"), InPeriod::Invalid);
        assert_eq!(at(WED, "sec {46}"), InPeriod::Yes);
        assert_eq!(at(WED, "hr {7pm}"), InPeriod::Yes);
        assert_eq!(at(WED, "hr {12noon}"), InPeriod::No);
        assert_eq!(at(WED, "hr {11noon}"), InPeriod::Invalid);
        assert_eq!(at(WED, "hr {13am}"), InPeriod::No);
        assert_eq!(at(WED, "month {november}"), InPeriod::Yes);
        assert_eq!(at(WED, "mo {11}"), InPeriod::Yes);
        assert_eq!(at(WED, "mo {13}"), InPeriod::Invalid);
        assert_eq!(at(WED, "mi {1}"), InPeriod::Invalid);
    }
}
