//! `Text::ParseWords::quotewords('\s+', 0, $line)` as mon uses it to split
//! monitor and alert command lines. `None` stands for Perl's empty list
//! on a parse failure (unbalanced quote, trailing lone backslash); mon
//! then runs with no words from the config at all.

/// One word may be Perl's `undef` (a trailing delimiter yields one); exec
/// turns it into an empty argument, so it is represented as "".
pub fn quotewords(line: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = line.chars().collect();
    let mut pos = 0;
    let mut pieces = Vec::new();
    let mut word = String::new();
    let n = chars.len();
    while pos < n {
        let start = pos;
        let c = chars[pos];
        let mut delim_len = 0;
        let mut matched_quote = false;
        if c == '"' || c == '\'' {
            // quoted alternative: the body may contain backslash pairs
            let mut p = pos + 1;
            let mut body = String::new();
            let mut closed = false;
            while p < n {
                if chars[p] == '\\' {
                    if p + 1 >= n {
                        break;
                    }
                    body.push(chars[p]);
                    body.push(chars[p + 1]);
                    p += 2;
                } else if chars[p] == c {
                    closed = true;
                    break;
                } else {
                    body.push(chars[p]);
                    p += 1;
                }
            }
            if closed {
                matched_quote = true;
                pos = p + 1;
                if c == '"' {
                    word.push_str(&unescape(&body));
                } else {
                    word.push_str(&body);
                }
            }
        }
        if !matched_quote {
            // unquoted run, lazily up to EOL, whitespace, or a quote not
            // at the start of what is left
            let mut p = pos;
            let mut raw = String::new();
            loop {
                if p >= n {
                    break;
                }
                if chars[p].is_whitespace() {
                    let mut q = p;
                    while q < n && chars[q].is_whitespace() {
                        q += 1;
                    }
                    delim_len = q - p;
                    break;
                }
                if (chars[p] == '"' || chars[p] == '\'') && p > start {
                    break;
                }
                if chars[p] == '\\' {
                    if p + 1 >= n {
                        return None;
                    }
                    raw.push(chars[p]);
                    raw.push(chars[p + 1]);
                    p += 2;
                } else if chars[p] == '"' || chars[p] == '\'' {
                    return None;
                } else {
                    raw.push(chars[p]);
                    p += 1;
                }
            }
            if raw.is_empty() && delim_len == 0 && p < n {
                return None;
            }
            word.push_str(&unescape(&raw));
            pos = p + delim_len;
        }
        if delim_len > 0 {
            pieces.push(std::mem::take(&mut word));
        }
        if pos >= n {
            pieces.push(std::mem::take(&mut word));
        }
    }
    Some(pieces)
}

/// `s/\\(.)/$1/sg`
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(d) = it.next() {
                out.push(d);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Option<Vec<String>> {
        quotewords(s)
    }
    fn v(x: &[&str]) -> Option<Vec<String>> {
        Some(x.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn plain_and_quoted() {
        assert_eq!(
            q(r#"/m/dump.monitor -x "quoted arg" 'single q'"#),
            v(&["/m/dump.monitor", "-x", "quoted arg", "single q"])
        );
        assert_eq!(q("a   b"), v(&["a", "b"]));
        assert_eq!(q(""), v(&[]));
    }

    #[test]
    fn joining_and_escapes() {
        assert_eq!(q(r#"a"b c"d"#), v(&["ab cd"]));
        assert_eq!(q(r"a\ b"), v(&["a b"]));
        assert_eq!(q(r#""a\"b""#), v(&["a\"b"]));
        assert_eq!(q(r"'a\'b'"), v(&[r"a\'b"]));
        assert_eq!(q(r#""""#), v(&[""]));
        assert_eq!(q(r#"x "" y"#), v(&["x", "", "y"]));
    }

    #[test]
    fn leading_and_trailing_delimiters() {
        assert_eq!(q(" a"), v(&["", "a"]));
        assert_eq!(q("a "), v(&["a", ""]));
    }

    #[test]
    fn unbalanced_is_empty_list() {
        assert_eq!(q(r#"a "b"#), None);
        assert_eq!(q("a 'b"), None);
        assert_eq!(q(r"a\"), None);
    }
}
