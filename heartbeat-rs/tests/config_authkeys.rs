//! authkeys parsing and the permission rule.

use heartbeat::auth::Method;
use heartbeat::config::AuthKeys;
use heartbeat::log::{Diag, Level};

const P: &str = "/etc/ha.d//authkeys";

fn parse(text: &str, mode: u32) -> (Option<AuthKeys>, Vec<String>) {
    let mut d: Vec<Diag> = Vec::new();
    let k = AuthKeys::parse(text, P, mode, &mut d);
    (k, d.iter().map(|x| x.log_text()).collect())
}

#[test]
fn sample_file() {
    let (k, d) = parse(
        "# comment\nauth 2\n1 crc\n2 sha1 HI!\n3 md5 Hello!\n",
        0o600,
    );
    let k = k.unwrap();
    assert!(d.is_empty());
    assert_eq!(k.active, 2);
    assert_eq!(k.active_method(), &Method::Sha1(b"HI!".to_vec()));
    assert_eq!(k.method(1), Some(&Method::Crc));
    assert_eq!(k.method(3), Some(&Method::Md5(b"Hello!".to_vec())));
    assert_eq!(k.method(4), None);
}

#[test]
fn permissions() {
    for mode in [0o640, 0o604, 0o644, 0o444] {
        let (k, d) = parse("auth 1\n1 crc\n", mode);
        assert!(k.is_none(), "{mode:o}");
        assert_eq!(
            d,
            ["ERROR: Bad permissions on keyfile [/etc/ha.d//authkeys], 600 recommended."]
        );
    }
    // write bits for group/other are not checked (as the original)
    for mode in [0o600, 0o400, 0o620, 0o602, 0o700] {
        assert!(parse("auth 1\n1 crc\n", mode).0.is_some(), "{mode:o}");
    }
}

#[test]
fn errors_match_the_original() {
    let cases: &[(&str, &[&str])] = &[
        (
            "auth 2\n1 sha1 foo\n",
            &["ERROR: Auth Key [2] not found in keyfile [/etc/ha.d//authkeys]"],
        ),
        (
            "1 sha1 foo\n",
            &["ERROR: Missing auth directive in keyfile [/etc/ha.d//authkeys]"],
        ),
        (
            "auth x\n1 sha1 foo\n",
            &[
                "ERROR: Invalid auth line [auth x\n] in /etc/ha.d//authkeys",
                "ERROR: Missing auth directive in keyfile [/etc/ha.d//authkeys]",
            ],
        ),
        (
            "auth 1\n1 crc foo\n",
            &[
                "info: Auth method [crc] doesn't use a key",
                "ERROR: Auth Key [1] not found in keyfile [/etc/ha.d//authkeys]",
            ],
        ),
        (
            "auth 1\n1 md5\n",
            &[
                "ERROR: Auth method [md5] requires a key",
                "ERROR: Auth Key [1] not found in keyfile [/etc/ha.d//authkeys]",
            ],
        ),
        (
            "auth 1\n1 blah foo\n",
            &[
                "ERROR: Invalid authtype [blah]",
                "ERROR: Auth Key [1] not found in keyfile [/etc/ha.d//authkeys]",
            ],
        ),
        // the key line must come after `auth N`
        (
            "1 sha1 foo\nauth 1\n",
            &["ERROR: Auth Key [1] not found in keyfile [/etc/ha.d//authkeys]"],
        ),
        (
            "auth 1\n16 sha1 foo\n1 crc\n",
            &["ERROR: Invalid authnum [16] in /etc/ha.d//authkeys"],
        ),
        (
            "auth 1\n-1 sha1 foo\n1 crc\n",
            &["ERROR: Invalid authnum [-1] in /etc/ha.d//authkeys"],
        ),
        (
            "auth 1\nx sha1 foo\n1 crc\n",
            &["ERROR: Auth line [x sha1 foo\n] is invalid."],
        ),
        (
            "auth 1\n1\n1 crc\n",
            &["ERROR: Auth line [1\n] is invalid."],
        ),
    ];
    for (text, want) in cases {
        let (k, d) = parse(text, 0o600);
        assert!(k.is_none(), "{text:?}");
        assert_eq!(&d, want, "{text:?}");
    }
}

#[test]
fn lenient_forms_the_original_accepts() {
    // leading blanks, trailing words, index 0, last duplicate wins
    let (k, d) = parse("  auth 0 2\n0 md5 k extra words\n", 0o600);
    assert!(d.is_empty());
    assert_eq!(k.unwrap().active_method(), &Method::Md5(b"k".to_vec()));
    let (k, _) = parse("auth 1\n1 crc\n1 sha1 x\n", 0o600);
    assert_eq!(k.unwrap().active_method(), &Method::Sha1(b"x".to_vec()));
    let (k, _) = parse("auth1\n1 crc", 0o600);
    assert!(k.is_some());
}

#[test]
fn error_positions() {
    let mut d = Vec::new();
    AuthKeys::parse("auth 1\n\n1 blah foo\n", P, 0o600, &mut d);
    assert_eq!(d[0].level, Level::Error);
    assert_eq!(d[0].at.as_ref().unwrap().line, 3);
}
