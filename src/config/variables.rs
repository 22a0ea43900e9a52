//! The variables keepvip reads, in one table, and what a name that is not one of them
//! means: a misspelling of one (an error: the node would run that setting's default, and
//! two nodes can end up holding the VIP) or something else (a warning).

use std::collections::HashMap;

use super::Problem;

/// One variable keepvip reads: its name and whether it holds a list (in any of osixia's
/// forms) or one value. The README's variable table documents each (a test keeps them equal).
#[derive(Debug, Clone, Copy)]
pub struct Var {
    pub name: &'static str,
    pub list: bool,
}

/// Every variable keepvip reads; any other `KEEPALIVED_*` is probably a typo.
pub const VARIABLES: &[Var] = &[
    Var { name: "KEEPALIVED_INTERFACE", list: false },
    Var { name: "KEEPALIVED_PASSWORD", list: false },
    Var { name: "KEEPALIVED_PRIORITY", list: false },
    Var { name: "KEEPALIVED_ROUTER_ID", list: false },
    Var { name: "KEEPALIVED_STATE", list: false },
    Var { name: "KEEPALIVED_UNICAST_PEERS", list: true },
    Var { name: "KEEPALIVED_VIRTUAL_IPS", list: true },
    Var { name: "KEEPALIVED_NOTIFY", list: false },
    Var { name: "KEEPALIVED_NOTIFY_SCRIPT", list: false },
    Var { name: "KEEPALIVED_CONF", list: false },
    Var { name: "KEEPALIVED_CONF_TEMPLATE", list: false },
    Var { name: "KEEPALIVED_CONF_RELOAD_SCRIPT", list: false },
    Var { name: "KEEPALIVED_COMMAND_LINE_ARGUMENTS", list: false },
    Var { name: "KEEPALIVED_ADVERT_INT", list: false },
    Var { name: "KEEPALIVED_VRRP_VERSION", list: false },
    Var { name: "KEEPALIVED_PREEMPT", list: false },
    Var { name: "KEEPALIVED_PREEMPT_DELAY", list: false },
    Var { name: "KEEPALIVED_UNICAST_SRC_IP", list: false },
    Var { name: "KEEPALIVED_V3_CHECKSUM_AS_V2", list: false },
    Var { name: "KEEPALIVED_UNICAST_MIN_TTL", list: false },
    Var { name: "KEEPALIVED_CHECK_UNICAST_SRC", list: false },
    Var { name: "KEEPALIVED_TRACK_INTERFACES", list: true },
    Var { name: "KEEPALIVED_TRACK_TCP", list: true },
    Var { name: "KEEPALIVED_TRACK_HTTP", list: true },
    Var { name: "KEEPALIVED_TRACK_DOCKER", list: false },
    Var { name: "KEEPALIVED_TRACK_SCRIPT", list: true },
    Var { name: "KEEPALIVED_TRACK_INTERVAL", list: false },
    Var { name: "KEEPALIVED_TRACK_TIMEOUT", list: false },
    Var { name: "KEEPALIVED_TRACK_FALL", list: false },
    Var { name: "KEEPALIVED_TRACK_RISE", list: false },
    Var { name: "KEEPALIVED_TRACK_WEIGHT", list: false },
    Var { name: "KEEPVIP_METRICS_ADDR", list: false },
    Var { name: "KEEPVIP_GARP_MASTER_REFRESH", list: false },
    Var { name: "KEEPVIP_SKIP_CHECK_ADV_ADDR", list: false },
    Var { name: "KEEPVIP_EARLY_FAILOVER", list: false },
    Var { name: "KEEPVIP_GARP_MASTER_REFRESH_REPEAT", list: false },
    Var { name: "KEEPVIP_STATE_FILE", list: false },
];

/// Whether keepvip reads `name`.
pub fn is_known(name: &str) -> bool {
    VARIABLES.iter().any(|v| v.name == name)
}

pub(super) fn is_list(name: &str) -> bool {
    VARIABLES.iter().any(|v| v.name == name && v.list)
}

/// Names in the environment within one edit of a variable keepvip reads, in any case
/// (a letter missing, extra, wrong or two swapped: `KEEPALIVED_PRIORTY`, `KEEPALIVE_PRIORITY`,
/// `KEEPALIVED_UNICAST_PEER`, `keepalived_priority`): refused, naming the variable meant.
pub fn misspelt(env: &HashMap<String, String>) -> Vec<Problem> {
    let mut names: Vec<&String> = env.keys().filter(|k| !is_known(k)).collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|k| {
            let meant = meant(k)?;
            let how = if k.eq_ignore_ascii_case(meant) { "variables are case-sensitive; " } else { "" };
            let msg = format!(
                "not a variable keepvip reads; {how}did you mean {meant}? (refused: without it this node would run that setting's default; rename it)"
            );
            Some(Problem { var: k.clone(), value: env[k].clone(), msg })
        })
        .collect()
}

/// The known variable `name` is one edit away from, in any case.
fn meant(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    VARIABLES.iter().map(|v| v.name).find(|v| distance(&upper, v) <= 1)
}

/// Other `KEEPALIVED_*` / `KEEPVIP_*` names keepvip does not read (a variable of a newer
/// image, say): named, whether or not the configuration is valid.
pub fn unknown_variables(env: &HashMap<String, String>) -> Vec<String> {
    let mut unknown: Vec<&String> = env
        .keys()
        .filter(|k| {
            let u = k.to_ascii_uppercase();
            (u.starts_with("KEEPALIVED_") || u.starts_with("KEEPVIP_")) && !is_known(k) && meant(k).is_none()
        })
        .collect();
    unknown.sort();
    unknown.into_iter().map(|k| format!("{k} is not a variable keepvip reads; ignored")).collect()
}

/// Edit distance with swaps of neighbours (optimal string alignment).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_name_one_edit_from_a_variable_is_refused_naming_it() {
        for (typo, meant) in [
            ("KEEPALIVED_UNICAST_PEER", "KEEPALIVED_UNICAST_PEERS"),
            ("KEEPALIVED_PRIORTY", "KEEPALIVED_PRIORITY"),
            ("KEEPALIVE_PRIORITY", "KEEPALIVED_PRIORITY"),
            ("keepalived_priority", "KEEPALIVED_PRIORITY"),
            ("KEEPALIVED_VIRTUAL_IP", "KEEPALIVED_VIRTUAL_IPS"),
            ("KEEPALIVED_PRIOIRTY", "KEEPALIVED_PRIORITY"),
            ("KEEPALIVED_ROUTERID", "KEEPALIVED_ROUTER_ID"),
            ("EEPALIVED_INTERFACE", "KEEPALIVED_INTERFACE"),
            ("KEEPALIVED_TRACK_INTERFACE", "KEEPALIVED_TRACK_INTERFACES"),
            ("Keepvip_State_File", "KEEPVIP_STATE_FILE"),
        ] {
            let p = misspelt(&env(&[(typo, "1")]));
            assert_eq!(p.len(), 1, "{typo}");
            assert_eq!(p[0].var, typo);
            assert!(p[0].msg.contains(&format!("did you mean {meant}?")), "{typo}: {}", p[0].msg);
            assert!(unknown_variables(&env(&[(typo, "1")])).is_empty(), "{typo}: an error, not also a warning");
        }
        assert!(misspelt(&env(&[("keepalived_priority", "1")]))[0].msg.contains("case-sensitive"));
    }

    #[test]
    fn known_names_and_names_far_from_all_are_not_errors() {
        let e = env(&[
            ("KEEPALIVED_PRIORITY", "1"),
            ("KEEPALIVED_TRACK_TCP", "1"),
            ("KEEPALIVED_TRACK_HTTP", "1"),
            ("KEEPALIVED_LOG_FORMAT", "/x"),
            ("KEEPALIVED_TRACK_UDP", "1"),
            ("PATH", "/bin"),
            ("HOSTNAME", "node1"),
        ]);
        assert!(misspelt(&e).is_empty(), "{:?}", misspelt(&e));
        let w = unknown_variables(&e);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("KEEPALIVED_LOG_FORMAT is not a variable keepvip reads"), "{w:?}");
    }

    #[test]
    fn distance_counts_one_edit_each() {
        assert_eq!(distance("ABC", "ABC"), 0);
        assert_eq!(distance("ABC", "ACB"), 1, "a swap");
        assert_eq!(distance("ABC", "AB"), 1);
        assert_eq!(distance("ABC", "XBCD"), 2);
    }
}
