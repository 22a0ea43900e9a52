//! What an osixia node really runs with: osixia's startup.sh pastes values into its
//! keepalived.conf template with GNU sed (`s|{{ VAR }}|$VALUE|g`), and keepalived then reads
//! config words from the result. A value that survives neither the same way here would make
//! a keepvip node and an osixia node disagree silently (different passwords: both master).

/// The word keepalived reads after `auth_pass` for `KEEPALIVED_PASSWORD=raw` under osixia
/// (before keepalived's 8-byte cut), or why osixia's node would not start at all.
pub fn auth_pass(raw: &str) -> Result<String, String> {
    word(&sed_replacement(raw, "{{ KEEPALIVED_PASSWORD }}")?)
}

/// GNU sed's reading of `value` as the replacement of an `s|…|…|g` command that matched
/// `matched`: `&` is the match, `\x` escapes, `|` ends the replacement.
fn sed_replacement(value: &str, matched: &str) -> Result<String, String> {
    let refuse =
        |what: &str| Err(format!("{what}: osixia's sed command fails on it, so an osixia node would not start"));
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '|' => return refuse("'|' ends osixia's sed replacement"),
            '\n' => return refuse("a newline"),
            '&' => out.push_str(matched),
            '\\' => match chars.next() {
                None => return refuse("a trailing backslash"),
                Some('1'..='9') => return refuse("'\\1'..'\\9' (sed back-references)"),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('a') => out.push('\x07'),
                Some('f') => out.push('\x0c'),
                Some('v') => out.push('\x0b'),
                Some(e @ ('L' | 'U' | 'l' | 'u' | 'E' | 'c' | 'd' | 'o' | 'x')) => {
                    return Err(format!(
                        "'\\{e}' is a GNU sed escape osixia's startup.sh would interpret; write the password without backslashes"
                    ))
                }
                Some(other) => out.push(other),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The first word keepalived's parser takes from the rest of a config line: `#` and `!`
/// start a comment anywhere outside quotes, a double-quoted string is one word without its
/// quotes, `{`/`}` are words of their own, whitespace separates.
fn word(line: &str) -> Result<String, String> {
    let s = line.trim_start_matches([' ', '\t']);
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    if chars.peek() == Some(&'"') {
        chars.next();
        for c in chars.by_ref() {
            if c == '"' {
                return nonempty(out);
            }
            out.push(c);
        }
        return Err(
            "an unbalanced '\"': keepalived reports an unmatched quote and an osixia node would not start".into()
        );
    }
    for c in chars {
        if c.is_whitespace() || matches!(c, '#' | '!' | '"' | '{' | '}') {
            break;
        }
        out.push(c);
    }
    nonempty(out)
}

fn nonempty(w: String) -> Result<String, String> {
    if w.is_empty() {
        Err("keepalived reads no password from it (auth_pass without a value) and an osixia node would not start"
            .into())
    } else {
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_as_an_osixia_node_sends_them() {
        let ok = [
            ("d0cker", "d0cker"),
            ("pa ss", "pa"),
            ("pa#ss", "pa"),
            ("pa!ss", "pa"),
            ("pa\\ss", "pass"),
            ("a\\&b", "a&b"),
            ("p&", "p"),
            ("\"pa ss\"", "pa ss"),
            ("pa\\tss", "pa"),
            ("pa{ss", "pa"),
        ];
        for (raw, want) in ok {
            assert_eq!(auth_pass(raw).as_deref(), Ok(want), "{raw:?}");
        }
        for bad in ["a|b", "a\\1", "#x", "\"pa ss", "a\\Ub", "x\\"] {
            assert!(auth_pass(bad).is_err(), "{bad:?}");
        }
    }
}
