//! `vrrp_track_process`: how many running processes match, read from /proc. keepalived
//! scans /proc once and then follows the kernel's process events; keepvip scans at each
//! check interval instead (the events connector needs the host's PID namespace and is
//! often missing), reading only `stat` per process, and `cmdline` when parameters or the
//! full command are compared.

use std::path::Path;

use crate::config::track::{ParamMatch, ProcessMatch};

/// The processes under `proc` (a /proc mount) that `m` counts; zombies are not running.
pub fn count(proc: &Path, m: &ProcessMatch) -> usize {
    let Ok(dir) = std::fs::read_dir(proc) else { return 0 };
    let by_cmdline = m.full_command || m.args.is_some();
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter(|e| {
            let Some((comm, state)) = stat(&e.path()) else { return false };
            if state == 'Z' {
                return false;
            }
            if by_cmdline {
                std::fs::read(e.path().join("cmdline")).is_ok_and(|c| cmdline_matches(&c, m))
            } else {
                name_matches(&comm, &m.name)
            }
        })
        .count()
}

/// The process name and state from `/proc/PID/stat` (`PID (comm) S ...`; the name may hold
/// spaces and parentheses, so it ends at the last `)`).
fn stat(dir: &Path) -> Option<(String, char)> {
    let text = std::fs::read(dir.join("stat")).ok()?;
    let text = String::from_utf8_lossy(&text);
    let (open, close) = (text.find('(')?, text.rfind(')')?);
    let state = text.get(close + 1..)?.trim_start().chars().next()?;
    Some((text.get(open + 1..close)?.to_string(), state))
}

/// The kernel keeps 15 bytes of a name: a longer configured name matches its first 15.
fn name_matches(comm: &str, name: &str) -> bool {
    let cut = name.char_indices().map(|(i, c)| i + c.len_utf8()).take_while(|end| *end <= 15).last().unwrap_or(0);
    comm == name || (name.len() > 15 && comm == &name[..cut])
}

fn cmdline_matches(cmdline: &[u8], m: &ProcessMatch) -> bool {
    let mut argv: Vec<_> = cmdline.split(|b| *b == 0).map(String::from_utf8_lossy).collect();
    // A trailing NUL ends the last word; it adds no empty one.
    if argv.last().is_some_and(|w| w.is_empty()) {
        argv.pop();
    }
    let Some((first, rest)) = argv.split_first() else { return false };
    if *first != m.name {
        return false;
    }
    let Some(want) = &m.args else { return true };
    match m.param_match {
        ParamMatch::Exact => rest.len() == want.len() && rest.iter().zip(want).all(|(a, b)| a == b),
        ParamMatch::Partial => rest.len() >= want.len() && rest.iter().zip(want).all(|(a, b)| a == b),
        ParamMatch::Initial => {
            let Some((last, head)) = want.split_last() else { return true };
            rest.len() >= want.len()
                && rest.iter().zip(head).all(|(a, b)| a == b)
                && rest[head.len()].starts_with(last.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A /proc of our own: `(pid, comm, state, argv)`.
    fn fake(procs: &[(u32, &str, char, &[&str])]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("keepvip-proc-{}-{}", std::process::id(), procs.len()));
        let _ = std::fs::remove_dir_all(&dir);
        for (pid, comm, state, argv) in procs {
            let d = dir.join(pid.to_string());
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("stat"), format!("{pid} ({comm}) {state} 1 1 1 0 -1")).unwrap();
            let mut cmdline = argv.join("\0");
            cmdline.push('\0');
            std::fs::write(d.join("cmdline"), cmdline).unwrap();
        }
        std::fs::create_dir_all(dir.join("self")).unwrap();
        dir
    }

    fn m(name: &str, args: Option<&[&str]>, param_match: ParamMatch, full_command: bool) -> ProcessMatch {
        let args = args.map(|a| a.iter().map(|s| s.to_string()).collect());
        ProcessMatch { name: name.into(), args, param_match, full_command, quorum: 1, quorum_max: u32::MAX }
    }

    #[test]
    fn names_match_exactly_and_zombies_do_not_count() {
        let proc = fake(&[
            (10, "haproxy", 'S', &["/usr/sbin/haproxy", "-f", "/etc/haproxy.cfg"]),
            (11, "haproxy", 'Z', &[]),
            (12, "haproxy-exporter", 'S', &["haproxy-exporter"]),
            (13, "my (odd) name", 'R', &["odd"]),
            (14, "averyveryverylo", 'S', &["x"]),
        ]);
        assert_eq!(count(&proc, &m("haproxy", None, ParamMatch::Exact, false)), 1);
        assert_eq!(count(&proc, &m("hap", None, ParamMatch::Exact, false)), 0, "not a pattern (pgrep would match)");
        assert_eq!(count(&proc, &m("my (odd) name", None, ParamMatch::Exact, false)), 1);
        assert_eq!(
            count(&proc, &m("averyveryverylongname", None, ParamMatch::Exact, false)),
            1,
            "the kernel's 15 bytes"
        );
    }

    #[test]
    fn parameters_match_exactly_partially_or_initially() {
        let proc = fake(&[
            (20, "nginx", 'S', &["/usr/sbin/nginx", "-g", "daemon off;"]),
            (21, "nginx", 'S', &["/usr/sbin/nginx", "-g", "daemon off;", "-q"]),
            (22, "nginx", 'S', &["/usr/sbin/nginx"]),
        ]);
        let full = |args: Option<&[&str]>, pm| count(&proc, &m("/usr/sbin/nginx", args, pm, true));
        assert_eq!(full(None, ParamMatch::Exact), 3, "full_command alone compares the command");
        assert_eq!(full(Some(&["-g", "daemon off;"]), ParamMatch::Exact), 1);
        assert_eq!(full(Some(&["-g", "daemon off;"]), ParamMatch::Partial), 2);
        assert_eq!(full(Some(&["-g", "daemon"]), ParamMatch::Initial), 2);
        assert_eq!(full(Some(&["-g", "daemon"]), ParamMatch::Partial), 0);
        assert_eq!(full(Some(&[]), ParamMatch::Exact), 1, "param_match without parameters: none allowed");
        assert_eq!(count(&proc, &m("nginx", None, ParamMatch::Exact, true)), 0, "the full command is the path");
    }
}
