//! The subset of Python literals osixia's `#PYTHON2BASH:` accepts for list variables:
//! a list (or tuple) of strings, or a single string. Numbers, dicts and nesting are
//! not something a keepalived list can hold, so they are errors here.

/// Why a literal did not parse. `Unquoted` carries enough to suggest the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyError {
    /// An item that is not a quoted string, e.g. `[192.168.4.1]`.
    Unquoted(String),
    /// Anything else, with a short description.
    Syntax(String),
}

/// Parse a Python string or list/tuple of strings.
pub fn parse(text: &str) -> Result<Vec<String>, PyError> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    p.ws();
    let out = match p.peek() {
        Some(b'[') => p.seq(b']')?,
        Some(b'(') => p.seq(b')')?,
        Some(b'\'' | b'"') => vec![p.string()?],
        None => return Err(PyError::Syntax("empty literal".into())),
        Some(_) => return Err(PyError::Unquoted(text.trim().to_string())),
    };
    p.ws();
    if p.i != p.s.len() {
        return Err(PyError::Syntax(format!("unexpected text after the literal at offset {}", p.i)));
    }
    Ok(out)
}

/// Rewrite an unquoted list such as `[a, b]` as `['a', 'b']` for error messages.
pub fn suggest_quoted(text: &str) -> String {
    let inner = text.trim().trim_start_matches(['[', '(']).trim_end_matches([']', ')']);
    let items: Vec<String> = inner
        .split(',')
        .map(|s| s.trim().trim_matches(['\'', '"']))
        .filter(|s| !s.is_empty())
        .map(|s| format!("'{s}'"))
        .collect();
    format!("#PYTHON2BASH:[{}]", items.join(", "))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn seq(&mut self, close: u8) -> Result<Vec<String>, PyError> {
        self.i += 1; // opening bracket
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(items);
                }
                Some(b'\'' | b'"') => items.push(self.string()?),
                Some(b'[' | b'(' | b'{') => {
                    return Err(PyError::Syntax("nested lists or dicts are not supported".into()))
                }
                None => return Err(PyError::Syntax("missing closing bracket".into())),
                Some(_) => {
                    let start = self.i;
                    while !matches!(self.peek(), None | Some(b',')) && self.peek() != Some(close) {
                        self.i += 1;
                    }
                    let item = String::from_utf8_lossy(&self.s[start..self.i]).trim().to_string();
                    return Err(PyError::Unquoted(item));
                }
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {}
                None => return Err(PyError::Syntax("missing closing bracket".into())),
                Some(c) => return Err(PyError::Syntax(format!("expected ',' between items, found '{}'", c as char))),
            }
        }
    }

    fn string(&mut self) -> Result<String, PyError> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek().ok_or_else(|| PyError::Syntax("unterminated string".into()))?;
            self.i += 1;
            match c {
                c if c == quote => break,
                b'\n' => return Err(PyError::Syntax("unterminated string".into())),
                b'\\' => {
                    let e = self.peek().ok_or_else(|| PyError::Syntax("unterminated string".into()))?;
                    self.i += 1;
                    match e {
                        b'\\' | b'\'' | b'"' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'0' => out.push(0),
                        b'x' => {
                            let ch = self.hex(2)?;
                            push_char(&mut out, ch);
                        }
                        b'u' => {
                            let ch = self.hex(4)?;
                            push_char(&mut out, ch);
                        }
                        b'\n' => {}
                        // Python keeps unknown escapes verbatim.
                        other => out.extend_from_slice(&[b'\\', other]),
                    }
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| PyError::Syntax("string is not valid UTF-8".into()))
    }

    fn hex(&mut self, n: usize) -> Result<u32, PyError> {
        let digits = self
            .s
            .get(self.i..self.i + n)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| PyError::Syntax("bad escape sequence".into()))?;
        self.i += n;
        Ok(digits)
    }
}

fn push_char(out: &mut Vec<u8>, code: u32) {
    let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<String> {
        parse(s).unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
    }

    #[test]
    fn osixia_forms() {
        assert_eq!(ok("['192.168.4.1', '192.168.4.2']"), ["192.168.4.1", "192.168.4.2"]);
        assert_eq!(ok(r#"["a", 'b',]"#), ["a", "b"]);
        assert_eq!(ok("  [ 'a' ,'b' ]  "), ["a", "b"]);
        assert_eq!(ok("('a',)"), ["a"]);
        assert_eq!(ok("'single'"), ["single"]);
        assert_eq!(ok("[]"), Vec::<String>::new());
        assert_eq!(ok(r"['it\'s', 'a\x41\u00e9\\']"), ["it's", "aAé\\"]);
        assert_eq!(ok("['10.0.0.1/24 dev eth0 label eth0:1']"), ["10.0.0.1/24 dev eth0 label eth0:1"]);
    }

    #[test]
    fn errors() {
        assert_eq!(parse("[192.168.4.1]"), Err(PyError::Unquoted("192.168.4.1".into())));
        assert_eq!(parse("192.168.4.1"), Err(PyError::Unquoted("192.168.4.1".into())));
        for bad in ["['a'", "['a' 'b']", "['a]", "[['a']]", "", "['a'] x", "[1]"] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn suggestion_requotes_items() {
        assert_eq!(suggest_quoted("[192.168.4.1, 192.168.4.2]"), "#PYTHON2BASH:['192.168.4.1', '192.168.4.2']");
        assert_eq!(suggest_quoted("[a, 'b']"), "#PYTHON2BASH:['a', 'b']");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s);
        }

        #[test]
        fn round_trips_lists(items in proptest::collection::vec("[ -~]{0,12}", 0..5)) {
            let lit = format!("[{}]", items.iter().map(|i| format!("'{}'", i.replace('\\', "\\\\").replace('\'', "\\'"))).collect::<Vec<_>>().join(", "));
            proptest::prop_assert_eq!(parse(&lit).unwrap(), items);
        }
    }
}
