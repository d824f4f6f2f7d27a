//! Bad input never panics: mutated mon.cf files, random trap datagrams,
//! random period specs (the in-tree counterpart of monrs/fuzz, run on
//! every test run).

use crate::common::Rng;
use mon::config::{parse_str, ParseEnv};
use mon::period::{in_period, Tm};
use mon::server::{esc_str, un_esc_str, Trap};

const SEED_CF: &str = "serverport = 2583\nhostgroup www 10.0.0.2 10.0.0.3\n\nwatch www\n    service http\n        interval 10s\n        monitor http.monitor -p 80 ;;\n        depend routers:ping && SELF:ping\n        FOO=bar\n        period wd {Mon-Fri} hr {9am-5pm}\n            alert mail.alert -S \"x y\" root\n            alertevery 1h strict\n            alertafter 2 5m\n            numalerts 3\n        period L: wd {Sun-Sat}\n            alert exit=2-4 lvs.alert -P tcp -V 10.0.0.1:80\n            upalert lvs.alert -u\n";

fn mutate(r: &mut Rng, s: &str) -> String {
    let mut b: Vec<u8> = s.as_bytes().to_vec();
    let tokens: &[&[u8]] = &[
        b"\\\n",
        b"\n\n",
        b"#",
        b"{",
        b"}",
        b"=",
        b"-",
        b";;",
        b"\"",
        b"'",
        b"period ",
        b"service ",
        b"watch ",
        b"hostgroup ",
        b"alertafter ",
        b"0s",
        b"1.5m",
        b"\xff\xfe",
        b" ",
        b"\t",
        b"SELF:",
        b":",
    ];
    for _ in 0..(1 + r.below(8)) {
        let pos = if b.is_empty() {
            0
        } else {
            r.below(b.len() as u64) as usize
        };
        match r.below(3) {
            0 => {
                let t = r.pick(tokens);
                b.splice(pos..pos, t.iter().copied());
            }
            1 => {
                let end = (pos + 1 + r.below(12) as usize).min(b.len());
                b.drain(pos..end);
            }
            _ => {
                if !b.is_empty() {
                    b[pos] = r.below(256) as u8;
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn mutated_configs_never_panic() {
    let env = ParseEnv {
        now: Tm::from_epoch_utc(1_795_635_646),
        readable: &|_| true,
        disabled_hosts: Default::default(),
    };
    let mut r = Rng(0xfeed_f00d);
    let (mut ok, mut bad) = (0, 0);
    for _ in 0..20_000 {
        let text = mutate(&mut r, SEED_CF);
        match parse_str(&text, "m.cf", &env) {
            Ok(c) => {
                ok += 1;
                let _ = mon::check::render(&c);
            }
            Err(e) => {
                bad += 1;
                assert!(!e.message.is_empty());
            }
        }
    }
    assert!(ok > 100 && bad > 100, "ok {ok} bad {bad}");
}

#[test]
fn random_traps_never_panic_and_escape_round_trips() {
    let mut r = Rng(7);
    for _ in 0..20_000 {
        let n = r.below(300) as usize;
        let mut b: Vec<u8> = (0..n).map(|_| r.below(256) as u8).collect();
        if r.below(2) == 0 {
            b.extend_from_slice(b"\nsum='a\\20b\\0ac'\ngrp=");
        }
        let t = Trap::parse(&b);
        for v in t.tags.values() {
            assert_eq!(&un_esc_str(&esc_str(v, false)), v);
        }
    }
}

#[test]
fn random_period_specs_never_panic() {
    let mut r = Rng(99);
    let alphabet = b"wdhrminsecyomkd {}-,:0123456789apmnoonsunmonfri \t";
    for _ in 0..50_000 {
        let n = r.below(40) as usize;
        let s: String = (0..n).map(|_| *r.pick(alphabet) as char).collect();
        let _ = in_period(&Tm::from_epoch_utc(r.below(4_000_000_000) as i64), &s);
    }
}
