//! osixia light-baseimage list variables: `#PYTHON2BASH:`, `#JSON2BASH:` or one plain value.

use super::pylist;

pub const PY: &str = "#PYTHON2BASH:";
pub const JSON: &str = "#JSON2BASH:";

/// A value written the way that looks right but is not: quotes an env file kept around a
/// prefixed (or any list) value, or a prefix without its `#`. The message shows the line
/// as it should read. (Quotes inside other single values can be meant: a password.)
/// Returns the message and the value as it should be.
pub fn quoting_mistake(var: &str, value: &str, list: bool) -> Option<(String, String)> {
    let v = value.trim();
    let quoted = v.len() >= 2 && (v.starts_with('"') && v.ends_with('"') || v.starts_with('\'') && v.ends_with('\''));
    if quoted {
        let inner = &v[1..v.len() - 1];
        if list || inner.starts_with(PY) || inner.starts_with(JSON) {
            let msg = format!(
                "the value keeps its quotes (docker run --env-file passes them on; docker-compose and a shell strip them): the line should read {var}={inner}"
            );
            return Some((msg, inner.to_string()));
        }
    }
    for prefix in [PY, JSON] {
        if let Some(rest) = v.strip_prefix(&prefix[1..]) {
            let fixed = format!("{prefix}{rest}");
            return Some((format!("the prefix needs its '#': the line should read {var}={fixed}"), fixed));
        }
    }
    None
}

/// Items of a list variable. Errors are messages about `value`, without the variable name.
pub fn items(value: &str) -> Result<Vec<String>, String> {
    if let Some(lit) = value.strip_prefix(PY) {
        return pylist::parse(lit).map_err(|e| match e {
            pylist::PyError::Unquoted(item) => {
                format!("item '{item}' is not a quoted Python string; write {}", pylist::suggest_quoted(lit))
            }
            pylist::PyError::Syntax(why) => {
                format!(
                    "not a Python list of strings ({why}); expected e.g. #PYTHON2BASH:['192.168.4.1', '192.168.4.2']"
                )
            }
        });
    }
    if let Some(json) = value.strip_prefix(JSON) {
        let bad = |why: String| {
            format!("{why}; expected a JSON array of strings, e.g. #JSON2BASH:[\"192.168.4.1\", \"192.168.4.2\"]")
        };
        return match serde_json::from_str::<serde_json::Value>(json) {
            Ok(serde_json::Value::String(s)) => Ok(vec![s]),
            Ok(serde_json::Value::Array(a)) => a
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s),
                    other => Err(bad(format!("item {other} is not a string"))),
                })
                .collect(),
            Ok(other) => Err(bad(format!("{other} is not an array"))),
            Err(e) => Err(bad(format!("invalid JSON ({e})"))),
        };
    }
    let v = value.trim();
    Ok(if v.is_empty() { vec![] } else { vec![v.to_string()] })
}

/// A single-value variable as osixia's light-baseimage decodes it: `#JSON2BASH:` is JSON (a
/// string, number, `true`/`false` as Python prints them, `null` as empty), `#PYTHON2BASH:` a
/// Python literal; a decoded string is evaluated once more as a Python literal, and text that
/// does not parse is kept without its prefix (all as `run` does). A list is an error here:
/// osixia would paste a table name into keepalived.conf.
pub fn scalar(value: &str) -> Result<String, String> {
    if let Some(json) = value.strip_prefix(JSON) {
        return match serde_json::from_str::<serde_json::Value>(json) {
            Ok(serde_json::Value::String(s)) => py_scalar(&s),
            Ok(serde_json::Value::Number(n)) => Ok(n.to_string()),
            Ok(serde_json::Value::Bool(b)) => Ok(if b { "True" } else { "False" }.into()),
            Ok(serde_json::Value::Null) => Ok(String::new()),
            Ok(_) => Err("a JSON list or object".into()),
            Err(_) => Ok(json.to_string()),
        };
    }
    match value.strip_prefix(PY) {
        Some(lit) => py_scalar(lit),
        None => Ok(value.to_string()),
    }
}

/// `ast.literal_eval` on one value, printed back as `str()` would: quoted strings lose their
/// quotes, numbers and `True`/`False` stay, `None` is empty, anything else is kept as is.
fn py_scalar(lit: &str) -> Result<String, String> {
    let t = lit.trim();
    match t {
        "None" => return Ok(String::new()),
        "True" | "False" => return Ok(t.to_string()),
        _ => {}
    }
    if t.starts_with('[') && t.ends_with(']') || t.starts_with('(') && t.ends_with(')') || t.starts_with('{') {
        return Err("a list".into());
    }
    if t.starts_with(['\'', '"']) {
        if let Ok(mut v) = pylist::parse(t) {
            if v.len() == 1 {
                return Ok(v.remove(0));
            }
        }
    }
    let int = t.strip_prefix(['+', '-']).unwrap_or(t);
    if !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && (int == "0" || !int.starts_with('0')) {
        return Ok(t.trim_start_matches('+').to_string());
    }
    Ok(lit.to_string())
}

/// For a plain value that holds several items: the `#PYTHON2BASH:` form to use instead.
pub fn suggest_split(value: &str) -> String {
    let parts: Vec<String> =
        value.split([',', ' ', '\t', ';']).filter(|s| !s.is_empty()).map(|s| format!("'{s}'")).collect();
    format!("{PY}[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_quotes_and_a_missing_hash_are_named_with_the_line_to_write() {
        let v = "KEEPALIVED_UNICAST_PEERS";
        let (m, fixed) = quoting_mistake(v, "\"#PYTHON2BASH:['198.18.0.1', '198.18.0.2']\"", true).unwrap();
        assert_eq!(fixed, "#PYTHON2BASH:['198.18.0.1', '198.18.0.2']");
        assert!(
            m.ends_with("the line should read KEEPALIVED_UNICAST_PEERS=#PYTHON2BASH:['198.18.0.1', '198.18.0.2']"),
            "{m}"
        );
        assert!(m.contains("--env-file"), "{m}");
        let (m, _) = quoting_mistake(v, "PYTHON2BASH:['198.18.0.1']", true).unwrap();
        assert!(m.ends_with("KEEPALIVED_UNICAST_PEERS=#PYTHON2BASH:['198.18.0.1']"), "{m}");
        let (m, _) = quoting_mistake("KEEPALIVED_PRIORITY", "JSON2BASH:200", false).unwrap();
        assert!(m.ends_with("KEEPALIVED_PRIORITY=#JSON2BASH:200"), "{m}");
        assert!(quoting_mistake("KEEPALIVED_VIRTUAL_IPS", "'198.18.0.100'", true).is_some());
        // A password may be quoted on purpose; plain values are fine.
        assert_eq!(quoting_mistake("KEEPALIVED_PASSWORD", "\"pa ss\"", false), None);
        assert_eq!(quoting_mistake(v, "#PYTHON2BASH:['198.18.0.1']", true), None);
        assert_eq!(quoting_mistake(v, "198.18.0.1", true), None);
    }

    /// Expected values are what light-baseimage's `run` exports for each input (its
    /// decode_json_envvars / decode_python_envvars: json.loads or ast.literal_eval, then str()).
    #[test]
    fn scalars_as_osixia_decodes_them() {
        let ok = [
            ("200", "200"),
            ("#PYTHON2BASH:200", "200"),
            ("#PYTHON2BASH:'MASTER'", "MASTER"),
            ("#PYTHON2BASH:\"eth1\"", "eth1"),
            ("#PYTHON2BASH:MASTER", "MASTER"),
            ("#PYTHON2BASH:True", "True"),
            ("#PYTHON2BASH:None", ""),
            ("#PYTHON2BASH:0200", "0200"),
            ("#JSON2BASH:\"eth1\"", "eth1"),
            ("#JSON2BASH:77", "77"),
            ("#JSON2BASH:true", "True"),
            ("#JSON2BASH:null", ""),
            ("#JSON2BASH:\"'x'\"", "x"),
            ("#JSON2BASH:eth1", "eth1"),
        ];
        for (input, want) in ok {
            assert_eq!(scalar(input).as_deref(), Ok(want), "{input}");
        }
        for bad in ["#PYTHON2BASH:['a']", "#JSON2BASH:[\"a\"]", "#JSON2BASH:{}"] {
            assert!(scalar(bad).unwrap_err().starts_with("a "), "{bad}");
        }
    }

    #[test]
    fn table() {
        let ok: &[(&str, &[&str])] = &[
            ("192.168.4.3", &["192.168.4.3"]),
            ("  192.168.4.3 ", &["192.168.4.3"]),
            ("", &[]),
            ("#PYTHON2BASH:['192.168.4.1', '192.168.4.2']", &["192.168.4.1", "192.168.4.2"]),
            ("#PYTHON2BASH:'192.168.4.1'", &["192.168.4.1"]),
            ("#JSON2BASH:[\"a\", \"b\"]", &["a", "b"]),
            ("#JSON2BASH:\"a\"", &["a"]),
        ];
        for (input, want) in ok {
            assert_eq!(items(input).unwrap(), *want, "{input}");
        }
        let bad = [
            ("#PYTHON2BASH:[192.168.4.1]", "write #PYTHON2BASH:['192.168.4.1']"),
            ("#PYTHON2BASH:['a'", "missing closing bracket"),
            ("#JSON2BASH:[1]", "not a string"),
            ("#JSON2BASH:['a']", "invalid JSON"),
            ("#JSON2BASH:{}", "not an array"),
        ];
        for (input, want) in bad {
            let e = items(input).unwrap_err();
            assert!(e.contains(want), "{input}: {e}");
        }
    }

    #[test]
    fn split_suggestion() {
        assert_eq!(suggest_split("1.1.1.1, 2.2.2.2"), "#PYTHON2BASH:['1.1.1.1', '2.2.2.2']");
        assert_eq!(suggest_split("1.1.1.1 2.2.2.2"), "#PYTHON2BASH:['1.1.1.1', '2.2.2.2']");
    }

    proptest::proptest! {
        #[test]
        fn json_never_panics(s in "\\PC{0,40}") { let _ = items(&format!("{JSON}{s}")); }
    }
}
