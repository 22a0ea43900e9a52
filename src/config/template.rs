//! osixia/keepalived 2.3's own template (`KEEPALIVED_CONF_TEMPLATE`): filled as its
//! start-up fills it — list variables one item per line, `KEEPALIVED_NOTIFY` made from
//! `KEEPALIVED_NOTIFY_SCRIPT`, then envsubst (`$NAME` and `${NAME}`, unset ones empty) — and
//! read as keepalived.conf. Pure: text and variables in, text out.

use std::collections::HashMap;

/// osixia 2.3's defaults for what its template uses (its `environment/.env`), where the
/// variables leave them unset. Its example addresses are left out: the file must give them.
const DEFAULTS: &[(&str, &str)] = &[
    ("KEEPALIVED_INTERFACE", "eth0"),
    ("KEEPALIVED_STATE", "BACKUP"),
    ("KEEPALIVED_ROUTER_ID", "51"),
    ("KEEPALIVED_PRIORITY", "150"),
    ("KEEPALIVED_PASSWORD", "d0cker"),
];

/// Where osixia 2.3's image keeps its default template (absent from keepvip's image: the
/// variables alone give the same instance).
pub const OSIXIA_DEFAULT: &str = "/container/services/keepalived-conf/assets/confs/keepalived.conf.template";

/// The template filled from `env` as osixia 2.3 fills it.
pub fn render(template: &str, env: &HashMap<String, String>) -> String {
    let mut vars: HashMap<String, String> = DEFAULTS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    vars.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
    for list in ["KEEPALIVED_UNICAST_PEERS", "KEEPALIVED_VIRTUAL_IPS"] {
        if let Some(v) = vars.get_mut(list) {
            *v = v.split_whitespace().collect::<Vec<_>>().join("\n");
        }
    }
    if let Some(script) = env.get("KEEPALIVED_NOTIFY_SCRIPT").filter(|s| !s.is_empty()) {
        vars.insert("KEEPALIVED_NOTIFY".into(), format!("notify \"{script}\""));
    }
    envsubst(template, &vars)
}

/// `$NAME` and `${NAME}` replaced by their values, unset ones by nothing (GNU envsubst).
fn envsubst(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) if is_name(&inner[..end]) => (&inner[..end], end + 2),
                _ => ("", 0),
            }
        } else {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            if is_name(&after[..end]) {
                (&after[..end], end)
            } else {
                ("", 0)
            }
        };
        if len == 0 {
            out.push('$');
            rest = after;
        } else {
            out.push_str(vars.get(name).map_or("", String::as_str));
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    out
}

fn is_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn lists_one_per_line_notify_from_the_script_and_defaults() {
        let t = "interface ${KEEPALIVED_INTERFACE}\npriority $KEEPALIVED_PRIORITY\npeers {\n${KEEPALIVED_UNICAST_PEERS}\n}\n${KEEPALIVED_NOTIFY}\n${UNSET}$ {x} $1 cost$\n";
        let e = env(&[("KEEPALIVED_UNICAST_PEERS", "198.18.0.1  198.18.0.2"), ("KEEPALIVED_NOTIFY_SCRIPT", "/n.sh")]);
        assert_eq!(
            render(t, &e),
            "interface eth0\npriority 150\npeers {\n198.18.0.1\n198.18.0.2\n}\nnotify \"/n.sh\"\n$ {x} $1 cost$\n"
        );
        // Without a script there is no notify line.
        assert!(!render("${KEEPALIVED_NOTIFY}", &env(&[])).contains("notify"));
    }
}
