//! keepalived.conf as keepalived reads it, before any keyword means anything: lines of
//! words, `#` and `!` comments, quoted strings, `{ }` blocks, `include` with globs and
//! `$NAME=value` definitions. Every statement keeps its file and line for messages.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Where a statement is: printed as `file:line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    pub file: Rc<Path>,
    pub line: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A problem in the file, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    pub at: Pos,
    pub msg: String,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.msg)
    }
}

/// A keyword with its arguments, and the block that follows it if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub at: Pos,
    pub words: Vec<String>,
    pub block: Option<Vec<Stmt>>,
}

impl Stmt {
    pub fn keyword(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }

    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }
}

/// How deep `include` may nest: keepalived's limit is similar, and a file that includes
/// itself must end with an error, not a stack overflow.
const MAX_INCLUDE_DEPTH: usize = 16;

/// A token of one line: a word, or a brace.
#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
}

/// Read `path` and everything it includes into statements.
pub fn read(path: &Path) -> Result<Vec<Stmt>, ConfError> {
    let mut r = Reader { vars: HashMap::new(), toks: vec![] };
    let top = Pos { file: Rc::from(Path::new("command line")), line: 0 };
    r.file(path, &top, 0)?;
    build(r.toks)
}

/// Parse text as if it were the file `name` (tests, and `include`-free configs).
pub fn parse_str(name: &str, text: &str) -> Result<Vec<Stmt>, ConfError> {
    let mut r = Reader { vars: HashMap::new(), toks: vec![] };
    r.text(Rc::from(Path::new(name)), Path::new("."), text, 0)?;
    build(r.toks)
}

struct Reader {
    vars: HashMap<String, String>,
    /// Each line's tokens, with its position; a line ends a statement.
    toks: Vec<(Pos, Vec<Tok>)>,
}

impl Reader {
    fn file(&mut self, path: &Path, from: &Pos, depth: usize) -> Result<(), ConfError> {
        if depth > MAX_INCLUDE_DEPTH {
            return Err(ConfError {
                at: from.clone(),
                msg: format!("includes nest deeper than {MAX_INCLUDE_DEPTH} (does a file include itself?)"),
            });
        }
        let text = std::fs::read(path)
            .map_err(|e| ConfError { at: from.clone(), msg: format!("cannot read {}: {e}", path.display()) })?;
        let text = String::from_utf8(text)
            .map_err(|_| ConfError { at: from.clone(), msg: format!("{} is not UTF-8 text", path.display()) })?;
        let dir = path.parent().map_or(PathBuf::from("."), Path::to_path_buf);
        self.text(Rc::from(path), &dir, &text, depth)
    }

    fn text(&mut self, file: Rc<Path>, dir: &Path, text: &str, depth: usize) -> Result<(), ConfError> {
        for (i, raw) in text.lines().enumerate() {
            let at = Pos { file: file.clone(), line: i + 1 };
            let line = raw.trim();
            if let Some(def) = line.strip_prefix('$') {
                // `$NAME=value` defines; `$NAME` alone is a use (a whole statement).
                if let Some((name, value)) = def.split_once('=') {
                    if is_var_name(name) {
                        let value = self.substitute(value.trim(), &at)?;
                        self.vars.insert(name.to_string(), value);
                        continue;
                    }
                }
            }
            if line.starts_with('@') {
                return Err(ConfError {
                    at,
                    msg: "conditional lines (@config_id) are not supported: keepvip reads every line; remove the @ prefix from the lines this node needs".into(),
                });
            }
            let line = self.substitute(line, &at)?;
            let toks = tokens(&line).map_err(|msg| ConfError { at: at.clone(), msg })?;
            if let [Tok::Word(kw), rest @ ..] = toks.as_slice() {
                if kw == "include" {
                    let [Tok::Word(pattern)] = rest else {
                        return Err(ConfError { at, msg: "include takes one file name or glob pattern".into() });
                    };
                    let pattern =
                        if Path::new(pattern).is_absolute() { PathBuf::from(pattern) } else { dir.join(pattern) };
                    let files = glob(&pattern);
                    if files.is_empty() {
                        // keepalived warns and goes on; so do we, loudly.
                        log::warn!("{at}: include {}: no file matches", pattern.display());
                    }
                    for f in files {
                        self.file(&f, &at, depth + 1)?;
                    }
                    continue;
                }
            }
            if !toks.is_empty() {
                self.toks.push((at, toks));
            }
        }
        Ok(())
    }

    /// `$NAME` and `${NAME}` of defined names are replaced; others stay as written.
    fn substitute(&self, line: &str, at: &Pos) -> Result<String, ConfError> {
        if !line.contains('$') {
            return Ok(line.to_string());
        }
        let mut out = String::new();
        let mut rest = line;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, len) = if let Some(b) = after.strip_prefix('{') {
                match b.find('}') {
                    Some(end) => (&b[..end], end + 2),
                    None => return Err(ConfError { at: at.clone(), msg: "'${' without a closing '}'".into() }),
                }
            } else {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], end)
            };
            match self.vars.get(name) {
                Some(v) if !name.is_empty() => out.push_str(v),
                _ => out.push_str(&rest[i..i + 1 + len]),
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn is_var_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// One line's tokens: words split on whitespace, `"quoted strings"` as one word, braces
/// on their own, and a comment from `#` or `!` (outside quotes) to the end.
fn tokens(line: &str) -> Result<Vec<Tok>, String> {
    let mut out = vec![];
    let mut word = String::new();
    let mut chars = line.chars();
    let flush = |word: &mut String, out: &mut Vec<Tok>| {
        if !word.is_empty() {
            out.push(Tok::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' | '!' => break,
            '"' => {
                let mut quoted = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => quoted.push(c),
                        None => return Err("a quoted string is not closed on its line".into()),
                    }
                }
                word.push_str(&quoted);
                flush(&mut word, &mut out);
            }
            '{' | '}' => {
                flush(&mut word, &mut out);
                out.push(if c == '{' { Tok::Open } else { Tok::Close });
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    Ok(out)
}

/// Lines of tokens into a statement tree. A `{` opens the block of the statement before
/// it, on its line or the line above; `}` closes the innermost block.
fn build(lines: Vec<(Pos, Vec<Tok>)>) -> Result<Vec<Stmt>, ConfError> {
    // The open blocks: each is its statements so far, and the statement that opened it.
    let mut stack: Vec<(Stmt, Vec<Stmt>)> = vec![];
    let mut top: Vec<Stmt> = vec![];
    for (at, toks) in lines {
        let mut words: Vec<String> = vec![];
        for t in toks {
            match t {
                Tok::Word(w) => words.push(w),
                Tok::Open => {
                    let opener = if words.is_empty() {
                        // `{` on its own line: the previous statement's block.
                        let cur = stack.last_mut().map_or(&mut top, |(_, b)| b);
                        match cur.pop() {
                            Some(s) if s.block.is_none() => s,
                            _ => return Err(ConfError { at, msg: "'{' without a keyword before it".into() }),
                        }
                    } else {
                        Stmt { at: at.clone(), words: std::mem::take(&mut words), block: None }
                    };
                    stack.push((opener, vec![]));
                }
                Tok::Close => {
                    let cur = stack.last_mut().map_or(&mut top, |(_, b)| b);
                    if !words.is_empty() {
                        cur.push(Stmt { at: at.clone(), words: std::mem::take(&mut words), block: None });
                    }
                    let Some((mut opener, block)) = stack.pop() else {
                        return Err(ConfError { at, msg: "'}' without a block to close".into() });
                    };
                    opener.block = Some(block);
                    stack.last_mut().map_or(&mut top, |(_, b)| b).push(opener);
                }
            }
        }
        if !words.is_empty() {
            stack.last_mut().map_or(&mut top, |(_, b)| b).push(Stmt { at, words, block: None });
        }
    }
    if let Some((opener, _)) = stack.pop() {
        return Err(ConfError {
            at: opener.at.clone(),
            msg: format!("the block of '{}' opened here is never closed (a '}}' is missing)", opener.words.join(" ")),
        });
    }
    Ok(top)
}

/// Files matching `pattern` (`*`, `?` and `[...]` in any component), sorted; a pattern
/// without wildcards is that file if it exists.
pub fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for comp in pattern.components() {
        let part = comp.as_os_str().to_string_lossy();
        let wild = part.contains(['*', '?', '[']);
        let mut next = vec![];
        for base in &found {
            if !wild {
                next.push(base.join(comp));
                continue;
            }
            let dir = if base.as_os_str().is_empty() { Path::new(".") } else { base.as_path() };
            let Ok(rd) = std::fs::read_dir(dir) else { continue };
            let mut names: Vec<String> = rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
            names.sort();
            for n in names {
                // As the shell: a leading dot is matched only by a leading dot.
                if wildcard(&part, &n) && (!n.starts_with('.') || part.starts_with('.')) {
                    next.push(base.join(n));
                }
            }
        }
        found = next;
    }
    found.retain(|p| p.is_file());
    found
}

/// Shell wildcard match of one path component.
fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('[') => {
                let Some(end) = p.iter().skip(1).position(|c| *c == ']').map(|e| e + 1) else {
                    return n.first() == Some(&'[') && go(&p[1..], &n[1..]);
                };
                let Some(c) = n.first() else { return false };
                let (neg, set) = match p[1] {
                    '!' | '^' => (true, &p[2..end]),
                    _ => (false, &p[1..end]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= *c && *c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == *c;
                        i += 1;
                    }
                }
                hit != neg && go(&p[end + 1..], &n[1..])
            }
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &Stmt) -> Vec<&str> {
        s.words.iter().map(String::as_str).collect()
    }

    #[test]
    fn blocks_comments_quotes_and_lines() {
        let t = parse_str(
            "k.conf",
            "! a comment\nvrrp_instance VI_1 {   # trailing\n  interface eth0\n  notify \"/bin/x arg\"\n  virtual_ipaddress { 198.18.0.100 }\n  authentication\n  {\n    auth_pass se!cret\n  }\n}\n",
        )
        .unwrap();
        assert_eq!(t.len(), 1);
        let vi = &t[0];
        assert_eq!(words(vi), ["vrrp_instance", "VI_1"]);
        assert_eq!(vi.at.line, 2);
        let b = vi.block.as_ref().unwrap();
        assert_eq!(words(&b[0]), ["interface", "eth0"]);
        assert_eq!(words(&b[1]), ["notify", "/bin/x arg"]);
        assert_eq!(words(&b[2]), ["virtual_ipaddress"]);
        assert_eq!(words(&b[2].block.as_ref().unwrap()[0]), ["198.18.0.100"]);
        assert_eq!(words(&b[3]), ["authentication"]);
        // `!` starts a comment anywhere, as keepalived reads it.
        assert_eq!(words(&b[3].block.as_ref().unwrap()[0]), ["auth_pass", "se"]);
        assert_eq!(b[3].block.as_ref().unwrap()[0].at.line, 8);
    }

    #[test]
    fn unbalanced_braces_name_the_place() {
        let e = parse_str("k.conf", "vrrp_instance A {\n interface eth0\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "k.conf:1: the block of 'vrrp_instance A' opened here is never closed (a '}' is missing)"
        );
        let e = parse_str("k.conf", "a\n}\n").unwrap_err();
        assert_eq!(e.to_string(), "k.conf:2: '}' without a block to close");
        let e = parse_str("k.conf", "{\n}\n").unwrap_err();
        assert_eq!(e.at.line, 1);
        let e = parse_str("k.conf", "notify \"/bin/x\n").unwrap_err();
        assert!(e.msg.contains("quoted"), "{e}");
    }

    #[test]
    fn variables_are_defined_and_substituted() {
        let t = parse_str("k.conf", "$IF=eth1\n$P=1${IF}0\ninterface $IF\npriority ${P}\nx $UNDEFINED\n").unwrap();
        assert_eq!(words(&t[0]), ["interface", "eth1"]);
        assert_eq!(words(&t[1]), ["priority", "1eth10"]);
        assert_eq!(words(&t[2]), ["x", "$UNDEFINED"]);
    }

    #[test]
    fn includes_with_globs_in_order_and_with_their_own_positions() {
        let dir = std::env::temp_dir().join(format!("keepvip-lex-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        std::fs::write(dir.join("main.conf"), "global_defs {\n}\ninclude conf.d/*.conf\n").unwrap();
        std::fs::write(dir.join("conf.d/b.conf"), "vrrp_instance B {\n}\n").unwrap();
        std::fs::write(dir.join("conf.d/a.conf"), "\nvrrp_instance A {\n}\n").unwrap();
        std::fs::write(dir.join("conf.d/skip.txt"), "nonsense {\n").unwrap();
        let t = read(&dir.join("main.conf")).unwrap();
        let names: Vec<_> = t.iter().map(|s| s.words.join(" ")).collect();
        assert_eq!(names, ["global_defs", "vrrp_instance A", "vrrp_instance B"]);
        assert!(t[1].at.to_string().ends_with("conf.d/a.conf:2"), "{}", t[1].at);
        // A file that includes itself ends with an error, not a stack overflow.
        std::fs::write(dir.join("loop.conf"), "include loop.conf\n").unwrap();
        let e = read(&dir.join("loop.conf")).unwrap_err();
        assert!(e.msg.contains("nest deeper"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.conf", "a.conf"));
        assert!(!wildcard("*.conf", "a.conf.bak"));
        assert!(wildcard("vi_?.conf", "vi_1.conf"));
        assert!(wildcard("[a-c]x", "bx"));
        assert!(!wildcard("[!a-c]x", "bx"));
        assert!(wildcard("*", ""));
    }
}
