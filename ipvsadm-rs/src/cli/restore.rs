//! The `-R` input tokenizer, reproducing ipvsadm's `config_stream_read`
//! (an `fscanf("%4096[^ \t\n\r]%1[ \t\n\r]")` loop):
//!
//! * tokens are runs of bytes other than space, TAB, CR, LF, at most 4096
//!   bytes (longer runs are split);
//! * the word `ipvsadm` is dropped wherever it appears;
//! * a line ends at LF; a line without tokens yields no command;
//! * there is no quoting and no comment syntax (`#` is an ordinary token);
//! * at end of input a pending line is still returned, unless end of input
//!   was reached while skipping blanks after a token (`-A ... \t<EOF>`),
//!   in which case the line is silently dropped and reading stops.

use std::io::BufRead;

/// Longest token `fscanf` reads in one go.
pub const MAX_TOKEN: usize = 4096;

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// What one call of the tokenizer produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// The words of one line (possibly none: the caller skips those).
    Words(Vec<Vec<u8>>),
    /// Nothing more will be read.
    End,
}

/// Reads restore lines from a byte stream.
pub struct Tokenizer<'a> {
    input: &'a mut dyn BufRead,
}

impl<'a> Tokenizer<'a> {
    pub fn new(input: &'a mut dyn BufRead) -> Self {
        Tokenizer { input }
    }

    fn peek(&mut self) -> Option<u8> {
        match self.input.fill_buf() {
            Ok(b) => b.first().copied(),
            Err(_) => None,
        }
    }

    fn bump(&mut self) {
        self.input.consume(1);
    }

    /// The next line (`config_stream_read`).
    pub fn next_line(&mut self) -> Line {
        let mut words: Vec<Vec<u8>> = Vec::new();
        let mut ntoken = 0usize;
        loop {
            let Some(c) = self.peek() else {
                // fscanf hit end of input before converting anything.
                return if ntoken == 0 {
                    Line::End
                } else {
                    Line::Words(words)
                };
            };
            if is_ws(c) {
                // The token conversion matched nothing: skip blanks by hand.
                loop {
                    match self.peek() {
                        None => return Line::End,
                        Some(b'\n') => {
                            self.bump();
                            return Line::Words(words);
                        }
                        Some(b' ' | b'\t' | b'\r') => self.bump(),
                        Some(_) => break,
                    }
                }
                continue;
            }
            let mut tok = Vec::new();
            while tok.len() < MAX_TOKEN {
                match self.peek() {
                    Some(c) if !is_ws(c) => {
                        tok.push(c);
                        self.bump();
                    }
                    _ => break,
                }
            }
            // The one-character blank conversion after the token.
            let tail = match self.peek() {
                Some(c) if is_ws(c) => {
                    self.bump();
                    Some(c)
                }
                _ => None,
            };
            // A C string ends at the first NUL.
            if let Some(z) = tok.iter().position(|&c| c == 0) {
                tok.truncate(z);
            }
            if tok != b"ipvsadm" {
                ntoken += 1;
                words.push(tok);
            }
            if tail == Some(b'\n') {
                return Line::Words(words);
            }
        }
    }
}

/// Tokenise one restore line (everything up to and including its first
/// newline) without side effects: the words ipvsadm would run, `None` if
/// the line would end the restore (see the module notes). A fuzzing entry
/// point and a way to test the tokenizer alone.
pub fn parse_restore_line(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r: &[u8] = line;
    match Tokenizer::new(&mut r).next_line() {
        Line::Words(w) => Some(w),
        Line::End => None,
    }
}

/// Tokenise one restore line and run it through ipvsadm's option parsing
/// and validation, without resolving names or touching the kernel.
/// Returns the words and the exit status the line would stop the restore
/// with (`None`: it would be executed; a nested `-R`, refused only at run
/// time, counts as executable). The fuzz target for `-R`.
pub fn check_restore_line(line: &[u8]) -> (Option<Vec<Vec<u8>>>, Option<i32>) {
    let Some(words) = parse_restore_line(line) else {
        return (None, None);
    };
    let mut argv = vec![b"ipvsadm".to_vec()];
    argv.extend(words.iter().cloned());
    let mut sink = std::io::sink();
    let status = super::check_command_line(&argv, &mut super::host::NullHost, &mut sink);
    (Some(words), status)
}

/// All the lines a whole input yields, in order, up to the end marker.
pub fn split_input(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut r: &[u8] = input;
    let mut t = Tokenizer::new(&mut r);
    let mut out = Vec::new();
    while let Line::Words(w) = t.next_line() {
        out.push(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[u8]) -> Vec<Vec<String>> {
        split_input(s)
            .into_iter()
            .map(|l| {
                l.into_iter()
                    .map(|w| String::from_utf8_lossy(&w).into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn ipvsadm_tokens_are_dropped_and_blank_lines_are_empty() {
        let w =
            words(b"-A -t 10.0.0.1:80 -s rr\nipvsadm -a -t x\n\n   -a\t-t y -w 2\n-a ipvsadm\n");
        assert_eq!(
            w,
            vec![
                vec!["-A", "-t", "10.0.0.1:80", "-s", "rr"],
                vec!["-a", "-t", "x"],
                vec![],
                vec!["-a", "-t", "y", "-w", "2"],
                vec!["-a"],
            ]
        );
    }

    #[test]
    fn crlf_is_whitespace() {
        assert_eq!(
            words(b"-A -t a\r\n-A -t b\r\n"),
            vec![vec!["-A", "-t", "a"], vec!["-A", "-t", "b"]]
        );
    }

    #[test]
    fn last_line_without_newline_runs_unless_it_ends_in_blanks() {
        assert_eq!(
            words(b"-A -t a\n-A -t b"),
            vec![vec!["-A", "-t", "a"], vec!["-A", "-t", "b"]]
        );
        assert_eq!(words(b"-A -t a\n-A -t b \t"), vec![vec!["-A", "-t", "a"]]);
        assert_eq!(words(b"-A -t a\nipvsadm"), vec![vec!["-A", "-t", "a"]]);
    }

    #[test]
    fn long_tokens_are_split_at_4096() {
        let mut s = vec![b'a'; 5000];
        s.push(b'\n');
        let w = split_input(&s);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].len(), 2);
        assert_eq!(w[0][0].len(), 4096);
        assert_eq!(w[0][1].len(), 904);
    }

    #[test]
    fn check_restore_line_validates_without_side_effects() {
        let (w, st) = check_restore_line(b"-A -t 10.0.0.1:80 -s rr\n");
        assert_eq!(w.map(|w| w.len()), Some(5));
        assert_eq!(st, None);
        assert_eq!(check_restore_line(b"-A -t 10.0.0.1\n").1, Some(2));
        assert_eq!(check_restore_line(b"# comment\n").1, Some(255));
        assert_eq!(check_restore_line(b"-L --bogus\n").1, Some(255));
        assert_eq!(check_restore_line(b"-A -t host.invalid:80\n").1, Some(2));
        assert_eq!(check_restore_line(b"").0, None);
    }

    /// A poor man's fuzz run that always executes: random bytes biased
    /// towards ipvsadm's vocabulary must never panic.
    #[test]
    fn random_lines_never_panic() {
        let pieces: &[&[u8]] = &[
            b"-A ",
            b"-a ",
            b"-L ",
            b"-R ",
            b"-t ",
            b"-f ",
            b"-r ",
            b"-p ",
            b"-M ",
            b"-b ",
            b"[",
            b"]",
            b":",
            b"::",
            b"10.0.0.1",
            b"80",
            b"\t",
            b"\r",
            b"\n",
            b" ",
            b"\0",
            b"ipvsadm",
            b"#",
            b"--",
            b"=",
            b"-",
            b",",
            b"\xff",
            b"4294967296",
            b"-6 ",
        ];
        let mut seed: u64 = 7;
        for _ in 0..20000 {
            let mut line = Vec::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = (seed >> 60) as usize;
            for _ in 0..n {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                line.extend_from_slice(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            let _ = check_restore_line(&line);
            let _ = split_input(&line);
        }
    }

    #[test]
    fn hash_is_an_ordinary_token() {
        assert_eq!(words(b"# a comment\n"), vec![vec!["#", "a", "comment"]]);
    }
}
