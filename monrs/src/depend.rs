//! Dependency expressions. mon replaces every `group:service` token by 1
//! or 0 and hands the result to Perl's `eval`; in practice the expressions
//! are boolean, so this evaluates the Perl subset they use: numbers,
//! `! not && || and or xor == !=` and parentheses, with Perl precedence.
//! Anything else (including two operands in a row, as the whitespace list
//! `depend a:b c:d` becomes) is an eval error, as in Perl.

/// `[a-zA-Z0-9_.-]+:[a-zA-Z0-9_.-]+` tokens, in order of appearance.
pub fn dep_tokens(expr: &str) -> Vec<String> {
    let is_tag = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let c: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if is_tag(c[i]) {
            let st = i;
            while i < c.len() && is_tag(c[i]) {
                i += 1;
            }
            if i < c.len() && c[i] == ':' && i + 1 < c.len() && is_tag(c[i + 1]) {
                let mut e = i + 1;
                while e < c.len() && is_tag(c[e]) {
                    e += 1;
                }
                out.push(c[st..e].iter().collect());
                i = e;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Replace each token with its value (`\b`-bounded, like mon's s///g).
pub fn substitute(expr: &str, value_of: &mut dyn FnMut(&str, &str) -> bool) -> String {
    let mut s = expr.to_string();
    for tok in dep_tokens(expr) {
        let (g, svc) = tok.split_once(':').unwrap_or((&tok, ""));
        let v = if value_of(g, svc) { "1" } else { "0" };
        s = replace_bounded(&s, &tok, v);
    }
    s
}

fn replace_bounded(s: &str, tok: &str, v: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(tok) {
        let before = rest[..i].chars().last().or_else(|| out.chars().last());
        let after = rest[i + tok.len()..].chars().next();
        let first = tok.chars().next();
        let last = tok.chars().last();
        let b1 = word(before) != word(first);
        let b2 = word(after) != word(last);
        out.push_str(&rest[..i]);
        if b1 && b2 {
            out.push_str(v);
        } else {
            out.push_str(tok);
        }
        rest = &rest[i + tok.len()..];
    }
    out.push_str(rest);
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Not,    // !
    LowNot, // not
    AndAnd, // &&
    OrOr,   // ||
    LowAnd, // and
    LowOr,  // or
    LowXor, // xor
    Eq,     // ==
    Ne,     // !=
    LParen,
    RParen,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() || ch == ';' && i + 1 == c.len() {
            i += 1;
            continue;
        }
        let two: String = c[i..(i + 2).min(c.len())].iter().collect();
        match two.as_str() {
            "&&" => {
                out.push(Tok::AndAnd);
                i += 2;
                continue;
            }
            "||" => {
                out.push(Tok::OrOr);
                i += 2;
                continue;
            }
            "==" => {
                out.push(Tok::Eq);
                i += 2;
                continue;
            }
            "!=" => {
                out.push(Tok::Ne);
                i += 2;
                continue;
            }
            _ => {}
        }
        if ch == '!' {
            out.push(Tok::Not);
            i += 1;
        } else if ch == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if ch == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if ch.is_ascii_digit() || ch == '.' {
            let st = i;
            while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                i += 1;
            }
            let t: String = c[st..i].iter().collect();
            out.push(Tok::Num(
                t.parse()
                    .map_err(|_| format!("syntax error near \"{t}\""))?,
            ));
        } else if ch.is_ascii_alphabetic() {
            let st = i;
            while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let w: String = c[st..i].iter().collect();
            out.push(match w.as_str() {
                "and" => Tok::LowAnd,
                "or" => Tok::LowOr,
                "xor" => Tok::LowXor,
                "not" => Tok::LowNot,
                _ => {
                    return Err(format!(
                        "Bareword \"{w}\" not allowed while \"strict subs\" in use"
                    ))
                }
            });
        } else {
            return Err(format!("syntax error near \"{ch}\""));
        }
    }
    Ok(out)
}

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    // or / xor
    fn low_or(&mut self) -> Result<f64, String> {
        let mut v = self.low_and()?;
        loop {
            if self.eat(&Tok::LowOr) {
                let r = self.low_and()?;
                v = if v != 0.0 { v } else { r };
            } else if self.eat(&Tok::LowXor) {
                let r = self.low_and()?;
                v = if (v != 0.0) != (r != 0.0) { 1.0 } else { 0.0 };
            } else {
                return Ok(v);
            }
        }
    }
    fn low_and(&mut self) -> Result<f64, String> {
        let mut v = self.low_not()?;
        while self.eat(&Tok::LowAnd) {
            let r = self.low_not()?;
            v = if v == 0.0 { v } else { r };
        }
        Ok(v)
    }
    fn low_not(&mut self) -> Result<f64, String> {
        if self.eat(&Tok::LowNot) {
            let v = self.low_not()?;
            return Ok(if v == 0.0 { 1.0 } else { 0.0 });
        }
        self.oror()
    }
    fn oror(&mut self) -> Result<f64, String> {
        let mut v = self.andand()?;
        while self.eat(&Tok::OrOr) {
            let r = self.andand()?;
            v = if v != 0.0 { v } else { r };
        }
        Ok(v)
    }
    fn andand(&mut self) -> Result<f64, String> {
        let mut v = self.equality()?;
        while self.eat(&Tok::AndAnd) {
            let r = self.equality()?;
            v = if v == 0.0 { v } else { r };
        }
        Ok(v)
    }
    fn equality(&mut self) -> Result<f64, String> {
        let v = self.unary()?;
        if self.eat(&Tok::Eq) {
            let r = self.unary()?;
            return Ok(if v == r { 1.0 } else { 0.0 });
        }
        if self.eat(&Tok::Ne) {
            let r = self.unary()?;
            return Ok(if v != r { 1.0 } else { 0.0 });
        }
        Ok(v)
    }
    fn unary(&mut self) -> Result<f64, String> {
        if self.eat(&Tok::Not) {
            let v = self.unary()?;
            return Ok(if v == 0.0 { 1.0 } else { 0.0 });
        }
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(n)
            }
            Some(Tok::LParen) => {
                self.i += 1;
                let v = self.low_or()?;
                if !self.eat(&Tok::RParen) {
                    return Err("syntax error, missing )".into());
                }
                Ok(v)
            }
            _ => Err("syntax error".into()),
        }
    }
}

/// Evaluate a substituted expression. `Ok(None)` is Perl's `undef` (an
/// empty expression), which counts as false.
pub fn eval(expr: &str) -> Result<Option<bool>, String> {
    let t = lex(expr)?;
    if t.is_empty() {
        return Ok(None);
    }
    let mut p = P { t, i: 0 };
    let v = p.low_or()?;
    if p.i != p.t.len() {
        return Err("syntax error".into());
    }
    Ok(Some(v != 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(
            dep_tokens("routers:ping && (a.b:c-d || !x:y)"),
            vec!["routers:ping", "a.b:c-d", "x:y"]
        );
        assert_eq!(dep_tokens("foo"), Vec::<String>::new());
    }

    #[test]
    fn substitution_is_word_bounded() {
        let s = substitute("a:b && aa:b", &mut |g, _| g == "a");
        assert_eq!(s, "1 && 0");
    }

    #[test]
    fn perl_like_eval() {
        assert_eq!(eval("1 && 0"), Ok(Some(false)));
        assert_eq!(eval("not 0"), Ok(Some(true)));
        assert_eq!(eval("(1 || 0) and !0"), Ok(Some(true)));
        assert_eq!(eval("1 xor 1"), Ok(Some(false)));
        assert_eq!(eval("!1 || 1 && 0"), Ok(Some(false)));
        assert_eq!(eval("not 1 or 1"), Ok(Some(true)));
        assert_eq!(eval(""), Ok(None));
        assert!(eval("1 1").is_err());
        assert!(eval("routers").is_err());
        assert!(eval("(1").is_err());
    }
}
