//! Time::Period: our in_period against Perl's Time::Period::inPeriod for
//! thousands of generated (time, spec) pairs, in UTC.

use crate::common::{require_reference, Rng};
use mon::period::{in_period, InPeriod, Tm};
use std::io::Write;
use std::process::{Command, Stdio};

fn gen_value(r: &mut Rng, scale: &str) -> String {
    let names_wd = [
        "sun", "Mon", "tuesday", "We", "th", "fri", "sa", "xx", "0", "8",
    ];
    let names_mo = ["jan", "Feb", "march", "ap", "dec", "nov", "13", "0", "foo"];
    let hrs = [
        "9am", "5pm", "12am", "12pm", "12noon", "11noon", "13am", "13pm", "0", "23", "24", "7",
    ];
    match scale {
        "wd" | "wday" => {
            if r.below(3) == 0 {
                (r.below(9)).to_string()
            } else {
                r.pick(&names_wd).to_string()
            }
        }
        "mo" | "month" => {
            if r.below(2) == 0 {
                (r.below(14)).to_string()
            } else {
                r.pick(&names_mo).to_string()
            }
        }
        "hr" | "hour" => r.pick(&hrs).to_string(),
        "min" | "minute" | "sec" | "second" => r.below(62).to_string(),
        "md" | "mday" => r.below(33).to_string(),
        "wk" | "week" => r.below(8).to_string(),
        "yd" | "yday" => {
            let v = r.below(368);
            if r.below(8) == 0 {
                format!("{v}x")
            } else {
                v.to_string()
            }
        }
        _ => {
            let ys = ["26", "25", "2026", "2027", "1969", "99", "0", "1970"];
            r.pick(&ys).to_string()
        }
    }
}

fn gen_spec(r: &mut Rng) -> String {
    let scales = [
        "yr", "year", "mo", "month", "wk", "week", "yd", "yday", "md", "mday", "wd", "wday", "hr",
        "hour", "min", "minute", "sec", "second", "w", "foo",
    ];
    let nsub = 1 + r.below(3);
    let mut subs = Vec::new();
    for _ in 0..nsub {
        let nsc = 1 + r.below(3);
        let mut sc = Vec::new();
        for _ in 0..nsc {
            let s = *r.pick(&scales);
            let nr = 1 + r.below(3);
            let mut ranges = Vec::new();
            for _ in 0..nr {
                let a = gen_value(r, s);
                ranges.push(match r.below(4) {
                    0 => format!("{a}-{}", gen_value(r, s)),
                    1 => format!("{a} - {}", gen_value(r, s)),
                    _ => a,
                });
            }
            let sep = if r.below(2) == 0 { " " } else { "" };
            sc.push(format!("{s}{sep}{{{}}}", ranges.join(" ")));
        }
        subs.push(sc.join(" "));
    }
    let mut spec = subs.join(if r.below(2) == 0 { ", " } else { "," });
    match r.below(25) {
        0 => spec.push_str(" junk"),
        1 => spec.push('}'),
        2 => spec = spec.replacen('}', "", 1),
        3 => spec = String::new(),
        4 => spec = "NONE".into(),
        5 => spec.push(','),
        _ => {}
    }
    spec
}

#[test]
fn in_period_matches_perl_time_period() {
    require_reference();
    let mut r = Rng(0x5eed_1234_abcd);
    let mut cases = Vec::new();
    for _ in 0..4000 {
        // times spread over several years
        let t = 1_700_000_000 + (r.below(200_000_000) as i64);
        cases.push((t, gen_spec(&mut r)));
    }
    let mut child = Command::new("perl")
        .env("TZ", "UTC")
        .args([
            "-MTime::Period",
            "-ne",
            "chomp; my ($t, $p) = split /\\t/, $_, 2; print inPeriod($t, $p), \"\\n\";",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("perl");
    let mut input = String::new();
    for (t, p) in &cases {
        input.push_str(&format!("{t}\t{p}\n"));
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let answers: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(answers.len(), cases.len());
    let mut mismatches = Vec::new();
    let mut counts = [0usize; 3];
    for ((t, p), a) in cases.iter().zip(&answers) {
        let ours = match in_period(&Tm::from_epoch_utc(*t), p) {
            InPeriod::No => "0",
            InPeriod::Yes => "1",
            InPeriod::Invalid => "-1",
        };
        counts[match *a {
            "0" => 0,
            "1" => 1,
            _ => 2,
        }] += 1;
        if ours != *a {
            mismatches.push(format!("t={t} spec={p:?}: perl {a}, ours {ours}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(30)].join("\n")
    );
    // the generator must exercise all three answers
    assert!(counts.iter().all(|&c| c > 100), "{counts:?}");
}

#[test]
fn local_breakdown_matches_libc_in_utc() {
    // Tm::from_epoch_utc is what injected clocks use; it must agree with
    // the C library for TZ=UTC-like breakdowns across leap years
    let mut r = Rng(42);
    for _ in 0..2000 {
        let t = r.below(4_000_000_000) as i64;
        let tt = t as libc::time_t;
        let mut out: libc::tm = unsafe { std::mem::zeroed() };
        unsafe { libc::gmtime_r(&tt, &mut out) };
        let ours = Tm::from_epoch_utc(t);
        assert_eq!(
            (ours.year, ours.mon, ours.mday, ours.wday, ours.yday, ours.hour, ours.min, ours.sec),
            (
                out.tm_year + 1900,
                out.tm_mon,
                out.tm_mday,
                out.tm_wday,
                out.tm_yday,
                out.tm_hour,
                out.tm_min,
                out.tm_sec
            ),
            "t={t}"
        );
    }
}
