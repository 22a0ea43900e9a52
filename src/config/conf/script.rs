//! `vrrp_script` blocks into checks, and the pieces of syntax scripts share: a command
//! line, a weight.

use std::time::Duration;

use super::lex::Stmt;
use super::Parser;
use crate::config::rules::parse_centis;
use crate::config::track::{Check, Probe};

/// A `vrrp_script` block, with keepalived's defaults (interval 1 s, timeout = interval,
/// weight 0, rise and fall 1).
pub(super) fn vrrp_script(p: &mut Parser, s: &Stmt, name: &str) -> Option<Check> {
    let errors_before = p.errors.len();
    let mut argv = None;
    let mut interval = Duration::from_secs(1);
    let mut timeout = None;
    let (mut weight, mut rise, mut fall, mut init_fail) = (0, 1, 1, false);
    for d in p.block(s) {
        let secs = |p: &mut Parser, d: &Stmt| {
            let v = p.one(d, "seconds")?;
            match parse_centis(v) {
                Some(cs) if cs > 0 => Some(Duration::from_millis(u64::from(cs) * 10)),
                _ => {
                    p.fail(&d.at, format!("{} '{v}': expected seconds > 0 (decimal allowed)", d.keyword()));
                    None
                }
            }
        };
        match d.keyword() {
            "script" => argv = command(p, d),
            "interval" => interval = secs(p, d).unwrap_or(interval),
            "timeout" => timeout = secs(p, d),
            "weight" => weight = weight_of(p, d, d.args()).unwrap_or(0),
            "rise" => rise = p.int(d, 1, 1_000_000).unwrap_or(1),
            "fall" => fall = p.int(d, 1, 1_000_000).unwrap_or(1),
            "init_fail" => init_fail = true,
            "user" => p.warn(&d.at, "user: ignored; keepvip runs scripts as its own user (root in the image)"),
            other => p.fail(&d.at, format!("unknown keyword '{other}' in vrrp_script {name}")),
        }
    }
    let Some(argv) = argv else {
        p.fail(&s.at, format!("vrrp_script {name}: no script set (keepalived drops the script and then refuses instances tracking it)"));
        return None;
    };
    (p.errors.len() == errors_before).then(|| Check {
        name: name.to_string(),
        probe: Probe::Script(argv),
        interval,
        timeout: timeout.unwrap_or(interval),
        fall,
        rise,
        weight,
        init_fail,
    })
}

/// `weight W` (keepalived's -253..253); `reverse` is refused rather than ignored.
pub(super) fn weight_of(p: &mut Parser, d: &Stmt, words: &[String]) -> Option<i32> {
    match words {
        [w] | [_, w] if words.len() == 1 || words[0] == "weight" => match w.parse::<i32>() {
            Ok(n) if (-253..=253).contains(&n) => Some(n),
            _ => {
                p.fail(&d.at, format!("weight '{w}': expected an integer -253..253"));
                None
            }
        },
        [.., r] if r == "reverse" => {
            p.fail(&d.at, "weight ... reverse: not supported; give the opposite weight instead");
            None
        }
        _ => {
            p.fail(&d.at, format!("'{}': expected weight N", words.join(" ")));
            None
        }
    }
}

/// A notify command: keepalived splits it into words (quotes group them).
pub(super) fn command(p: &mut Parser, d: &Stmt) -> Option<Vec<String>> {
    let line = d.args().join(" ");
    match shlex::split(&line) {
        Some(w) if !w.is_empty() => Some(w),
        _ => {
            p.fail(&d.at, format!("{}: expected a script path (and its arguments)", d.keyword()));
            None
        }
    }
}
