//! The YAML osixia's environment files use, read as PyYAML (YAML 1.1) reads it: a top-level
//! mapping of names to scalars or lists of scalars, in block (`- item`) or flow (`[a, b]`)
//! style, with comments and quotes. Anything more (nested mappings, anchors, tags, block
//! scalars) is an error naming the line, not a guess. No YAML crate: this subset is all an
//! environment file holds, and the image stays small.

/// A value as PyYAML resolves it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
}

impl Value {
    /// What light-baseimage's `run` puts in the environment: `str()` of a scalar, and
    /// `#PYTHON2BASH:` + `str()` of a list.
    pub fn to_env(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Str(s) => s.clone(),
            Value::List(_) => format!("#PYTHON2BASH:{}", self.py_repr()),
            other => other.py_repr(),
        }
    }

    /// Python's `repr()` (what `str()` of a list prints for its items).
    pub fn py_repr(&self) -> String {
        match self {
            Value::Null => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => py_float(*f),
            Value::Str(s) => py_str_repr(s),
            Value::List(items) => format!("[{}]", items.iter().map(Value::py_repr).collect::<Vec<_>>().join(", ")),
        }
    }
}

fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let s = format!("{f}");
    if s.contains(['.', 'e']) {
        s
    } else {
        s + ".0"
    }
}

fn py_str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::from(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// A YAML error: line number (1-based) and what was expected.
pub type Error = (usize, String);

/// The top-level mapping, in file order.
pub fn parse(text: &str) -> Result<Vec<(String, Value)>, Error> {
    let mut out: Vec<(String, Value)> = vec![];
    let mut list: Option<(usize, Vec<Value>)> = None; // open block list: key index
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = strip_comment(raw).trim_end();
        if line.trim().is_empty() || (out.is_empty() && line == "---") {
            continue;
        }
        if line.starts_with('\t') {
            return Err((line_no, "tabs cannot indent YAML".into()));
        }
        let body = line.trim_start();
        if let Some(item) = body.strip_prefix("- ").or(if body == "-" { Some("") } else { None }) {
            let Some((_, items)) = list.as_mut() else {
                return Err((line_no, "a list item outside a list: expected `NAME:` above it".into()));
            };
            items.push(scalar(item.trim(), line_no)?);
            continue;
        }
        if line.starts_with(' ') {
            return Err((
                line_no,
                "keepvip reads a top-level mapping of names to values or lists; nested mappings are not supported"
                    .into(),
            ));
        }
        if let Some((k, items)) = list.take() {
            out[k].1 = if items.is_empty() { Value::Null } else { Value::List(items) };
        }
        let Some((key, rest)) = split_key(body) else {
            return Err((line_no, "expected `NAME: value`".into()));
        };
        let rest = rest.trim();
        if out.iter().any(|(k, _)| *k == key) {
            return Err((line_no, format!("{key} is set twice")));
        }
        if rest.is_empty() {
            out.push((key, Value::Null));
            list = Some((out.len() - 1, vec![]));
        } else if let Some(inner) = rest.strip_prefix('[') {
            let inner =
                inner.strip_suffix(']').ok_or((line_no, "a flow list must close on its line with ']'".to_string()))?;
            let items =
                split_flow(inner, line_no)?.into_iter().map(|i| scalar(&i, line_no)).collect::<Result<_, _>>()?;
            out.push((key, Value::List(items)));
        } else {
            out.push((key, scalar(rest, line_no)?));
        }
    }
    if let Some((k, items)) = list.take() {
        out[k].1 = if items.is_empty() { Value::Null } else { Value::List(items) };
    }
    Ok(out)
}

/// `#` starts a comment at the line's start or after a space, outside quotes.
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

fn split_key(body: &str) -> Option<(String, &str)> {
    let i = body.find(": ").or_else(|| body.strip_suffix(':').map(|k| k.len()))?;
    let key = body[..i].trim().trim_matches(['\'', '"']);
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    Some((key.to_string(), body.get(i + 1..).unwrap_or("")))
}

fn split_flow(inner: &str, line: usize) -> Result<Vec<String>, Error> {
    let mut items = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in inner.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, ',') => items.push(std::mem::take(&mut cur)),
            (None, '[' | ']' | '{' | '}') => return Err((line, "nested lists or mappings are not supported".into())),
            _ => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err((line, "unterminated quote".into()));
    }
    items.push(cur);
    let items: Vec<String> = items.into_iter().map(|s| s.trim().to_string()).collect();
    // `[a, b,]` and `[]`: a trailing empty item is not an item.
    Ok(match items.as_slice() {
        [only] if only.is_empty() => vec![],
        [.., last] if last.is_empty() => items[..items.len() - 1].to_vec(),
        _ => items,
    })
}

fn scalar(s: &str, line: usize) -> Result<Value, Error> {
    if let Some(rest) = s.strip_prefix('\'') {
        let inner = rest.strip_suffix('\'').ok_or((line, "unterminated single-quoted string".to_string()))?;
        return Ok(Value::Str(inner.replace("''", "'")));
    }
    if let Some(rest) = s.strip_prefix('"') {
        let inner = rest.strip_suffix('"').ok_or((line, "unterminated double-quoted string".to_string()))?;
        return double_quoted(inner, line).map(Value::Str);
    }
    if s.starts_with(['&', '*', '!', '|', '>', '{', '[', '%', '@', '`']) {
        return Err((
            line,
            format!("'{s}': anchors, tags, block scalars and nested values are not supported; quote the value"),
        ));
    }
    Ok(resolve(s))
}

fn double_quoted(s: &str, line: usize) -> Result<String, Error> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(c @ ('\\' | '"' | '/' | ' ')) => out.push(c),
            _ => return Err((line, "unsupported escape in a double-quoted string".into())),
        }
    }
    Ok(out)
}

/// PyYAML's implicit resolvers (YAML 1.1) for a plain scalar.
fn resolve(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Value::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Value::Bool(false),
        _ => {}
    }
    if let Some(i) = int(s) {
        return Value::Int(i);
    }
    if is_float(s) {
        if let Ok(f) = s.replace('_', "").parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(s.to_string())
}

fn int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let digits = |b: &str, radix: u32| {
        let clean = b.replace('_', "");
        (!clean.is_empty() && b.chars().all(|c| c == '_' || c.is_digit(radix)))
            .then(|| i64::from_str_radix(&clean, radix).ok())
            .flatten()
    };
    let v = if let Some(b) = body.strip_prefix("0b") {
        digits(b, 2)?
    } else if let Some(b) = body.strip_prefix("0x") {
        digits(b, 16)?
    } else if body.len() > 1 && body.starts_with('0') {
        digits(&body[1..], 8)?
    } else if body.contains(':') {
        // Sexagesimal (YAML 1.1): 1:20 is 80.
        let mut v: i64 = 0;
        for (k, part) in body.split(':').enumerate() {
            let p = digits(part, 10)?;
            if k > 0 && p >= 60 || k == 0 && part.starts_with('0') {
                return None;
            }
            v = v.checked_mul(60)?.checked_add(p)?;
        }
        v
    } else {
        if body.starts_with('_') {
            return None;
        }
        digits(body, 10)?
    };
    Some(if neg { -v } else { v })
}

fn is_float(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mant, exp) = match b.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (b, None),
    };
    let mant_ok = mant.contains('.')
        && mant.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '_')
        && mant.chars().any(|c| c.is_ascii_digit());
    let exp_ok = exp.is_none_or(|e| {
        let d = e.strip_prefix(['-', '+']);
        d.is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
    });
    mant_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected `to_env` values are what light-baseimage's `run` exports for the same file
    /// (PyYAML's `yaml.load`, then `str()`, lists as `#PYTHON2BASH:` + `str(list)`).
    #[test]
    fn osixia_env_yaml() {
        let text = "\
# osixia's default.yaml shape
KEEPALIVED_INTERFACE: eth0
KEEPALIVED_PASSWORD: 'd0cker'
KEEPALIVED_PRIORITY: 150   # comment
KEEPALIVED_UNICAST_PEERS:
  - 192.168.1.10
  - \"192.168.1.11\"
KEEPALIVED_VIRTUAL_IPS: [192.168.1.231, '192.168.1.232/24 dev eth1']
KEEPALIVED_ROUTER_ID: 077
KEEPALIVED_PREEMPT: yes
KEEPALIVED_ADVERT_INT: 1.50
KEEPALIVED_NOTIFY:
KEEPALIVED_STATE: pa#ss
";
        let got: Vec<(String, String)> = parse(text).unwrap().into_iter().map(|(k, v)| (k, v.to_env())).collect();
        let want = [
            ("KEEPALIVED_INTERFACE", "eth0"),
            ("KEEPALIVED_PASSWORD", "d0cker"),
            ("KEEPALIVED_PRIORITY", "150"),
            ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['192.168.1.10', '192.168.1.11']"),
            ("KEEPALIVED_VIRTUAL_IPS", "#PYTHON2BASH:['192.168.1.231', '192.168.1.232/24 dev eth1']"),
            ("KEEPALIVED_ROUTER_ID", "63"),
            ("KEEPALIVED_PREEMPT", "True"),
            ("KEEPALIVED_ADVERT_INT", "1.5"),
            ("KEEPALIVED_NOTIFY", ""),
            ("KEEPALIVED_STATE", "pa#ss"),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(got, want);
        assert_eq!(Value::List(vec![Value::Str("it's".into()), Value::Int(1)]).py_repr(), "[\"it's\", 1]");
        assert_eq!(resolve("1:20"), Value::Int(80));
        assert_eq!(resolve("1.0").to_env(), "1.0");
        assert_eq!(resolve("192.168.1.1"), Value::Str("192.168.1.1".into()));
    }

    #[test]
    fn what_is_not_read_names_the_line() {
        for (text, line, want) in [
            ("A: 1\nB:\n  C: 2\n", 3, "nested mappings"),
            ("A: &x 1\n", 1, "anchors"),
            ("A: |\n  x\n", 1, "block scalars"),
            ("- a\n", 1, "outside a list"),
            ("A: [a, [b]]\n", 1, "nested"),
            ("A: 'x\n", 1, "unterminated"),
            ("A: 1\nA: 2\n", 2, "set twice"),
            ("just text\n", 1, "expected `NAME: value`"),
        ] {
            let (l, msg) = parse(text).unwrap_err();
            assert_eq!(l, line, "{text:?}: {msg}");
            assert!(msg.contains(want), "{text:?}: {msg}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }
    }
}
