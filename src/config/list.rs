//! osixia light-baseimage list variables: `#PYTHON2BASH:`, `#JSON2BASH:` or one plain value.

use super::pylist;

pub const PY: &str = "#PYTHON2BASH:";
pub const JSON: &str = "#JSON2BASH:";

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
