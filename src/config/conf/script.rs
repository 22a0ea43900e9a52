//! `vrrp_script` blocks into checks, and the pieces of syntax scripts share: a command
//! line, a weight.

use std::time::Duration;

use super::lex::Stmt;
use super::Parser;
use crate::config::track::{Check, Probe};

/// A `vrrp_script` block, with keepalived's defaults (interval 1 s, timeout = interval,
/// weight 0, rise and fall 1).
pub(super) fn vrrp_script(p: &mut Parser, s: &Stmt, name: &str) -> Result<Check, Option<String>> {
    let errors_before = p.errors.len();
    let mut argv = None;
    let mut interval = Duration::from_secs(1);
    let mut timeout = None;
    let (mut weight, mut rise, mut fall, mut init_fail) = (0, 1, 1, false);
    for d in p.block(s) {
        // keepalived reads whole seconds, cutting a fraction off (2.7 is 2) and taking 0 as 1;
        // a value that is no number is ignored. Followed, since a mixed pair must agree;
        // said, since it surprises.
        let secs = |p: &mut Parser, d: &Stmt| {
            let v = p.one(d, "whole seconds")?;
            let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
            let n = whole.parse::<u32>().ok().filter(|_| frac.bytes().all(|b| b.is_ascii_digit()));
            match n {
                Some(n) if frac.is_empty() && n > 0 => Some(Duration::from_secs(u64::from(n))),
                Some(n) => {
                    let used = n.max(1);
                    p.warn(&d.at, format!("{} '{v}': keepalived takes whole seconds and uses {used} s, and so does keepvip; write {used}", d.keyword()));
                    Some(Duration::from_secs(u64::from(used)))
                }
                None => {
                    let default = if d.keyword() == "interval" { "1 s" } else { "the interval" };
                    p.warn(
                        &d.at,
                        format!(
                            "{} '{v}': not a number of seconds; ignored, as keepalived ignores it ({default} is used)",
                            d.keyword()
                        ),
                    );
                    None
                }
            }
        };
        match d.keyword() {
            "script" => argv = command(p, d),
            "interval" => interval = secs(p, d).unwrap_or(interval),
            "timeout" => timeout = secs(p, d).or(timeout),
            "weight" => weight = weight_of(p, d, d.args()).unwrap_or(0),
            "rise" => rise = p.int(d, 1, 1_000_000).unwrap_or(1),
            "fall" => fall = p.int(d, 1, 1_000_000).unwrap_or(1),
            "init_fail" => init_fail = true,
            other => p.not_read(d, super::keywords::Block::Script, other, &format!("in vrrp_script {name}")),
        }
    }
    let Some(argv) = argv else {
        p.fail(&s.at, format!("vrrp_script {name}: no script set (keepalived drops the script and then refuses instances tracking it)"));
        return Err(None);
    };
    if let Some(why) = missing(&argv[0]) {
        let why = format!("{} {why}", argv[0]);
        p.warn(&s.at, format!("vrrp_script {name}: {why}: the tracking is disabled, as keepalived disables it (the instances run untracked)"));
        return Err(Some(why));
    }
    if p.errors.len() != errors_before {
        return Err(None);
    }
    Ok(Check {
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

/// A `script` line's command: keepalived splits its first word (quotes keep a whole
/// command line one word) into the program and its arguments, and drops later words.
pub(super) fn command(p: &mut Parser, d: &Stmt) -> Option<Vec<String>> {
    let argv = first_word(p, d)?;
    if let [_, extra @ ..] = d.args() {
        if !extra.is_empty() {
            let msg = format!(
                "'{}' after the command is ignored, as keepalived ignores it; quote the whole command line",
                extra.join(" ")
            );
            p.warn(&d.at, msg);
        }
    }
    Some(argv)
}

/// A notify line: the command (first word, as for `script`), then keepalived's USER
/// [GROUP]. keepvip runs scripts as root: root (or 0) is accepted; a user this host does
/// not have makes keepalived ignore the notify (so do we, with a warning); another user
/// is refused rather than run as root.
pub(super) fn notify_command(p: &mut Parser, d: &Stmt, removed: Option<&str>) -> Option<Vec<String>> {
    let argv = first_word(p, d)?;
    let kw = d.keyword();
    if let (Some(why), None) = (removed, d.args().get(1)) {
        p.warn(&d.at, format!("{kw}: not run, as keepalived would not run it: {why}"));
        return None;
    }
    for (word, db, what) in d
        .args()
        .iter()
        .skip(1)
        .take(2)
        .zip([("/etc/passwd", "user"), ("/etc/group", "group")])
        .map(|(w, (f, k))| (w, f, k))
    {
        if word == "root" || word == "0" {
            continue;
        }
        if !names_in(db).contains(word) {
            p.warn(&d.at, format!("{kw}: no {what} '{word}' on this host: keepalived ignores this notify and so does keepvip (write the command line in quotes: {kw} \"{} {word}\")", argv.join(" ")));
            return None;
        }
        p.fail(&d.at, format!("{kw}: {what} '{word}': keepvip runs scripts as root only; remove '{word}' (or run the script through su/setpriv)"));
        return None;
    }
    if d.args().len() > 3 {
        p.warn(
            &d.at,
            format!("{kw}: '{}' after USER GROUP is ignored, as keepalived ignores it", d.args()[3..].join(" ")),
        );
    }
    Some(argv)
}

fn first_word(p: &mut Parser, d: &Stmt) -> Option<Vec<String>> {
    match d.args().first().and_then(|w| shlex::split(w)) {
        Some(w) if !w.is_empty() => Some(w),
        _ => {
            p.fail(&d.at, format!("{}: expected a script path (and its arguments, in quotes)", d.keyword()));
            None
        }
    }
}

/// The names in an /etc/passwd- or /etc/group-style file (none when it is missing, as
/// in the FROM-scratch image).
pub(super) fn names_in(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(':').next())
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Why `program` cannot be run, if it cannot: keepalived looks it up as execvp would and
/// disables a script it cannot find or execute.
fn missing(program: &str) -> Option<&'static str> {
    use std::os::unix::fs::PermissionsExt;
    let executable =
        |p: &std::path::Path| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if program.contains('/') {
        let path = std::path::Path::new(program);
        return match path.metadata() {
            Err(_) => Some("does not exist"),
            Ok(_) if !executable(path) => Some("is not an executable file"),
            Ok(_) => None,
        };
    }
    let path =
        std::env::var("PATH").unwrap_or_else(|_| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    if path.split(':').any(|dir| executable(&std::path::Path::new(dir).join(program))) {
        None
    } else {
        Some("is not found in PATH")
    }
}
