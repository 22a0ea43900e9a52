//! What the process takes from the environment whatever gives the instances: the state
//! file, the metrics address, keepalived's command-line flags (`--dump-conf`, `-f`).

use std::collections::HashMap;
use std::path::PathBuf;

use super::env::Reader;
use super::list;
use super::variables::misspelt;
use super::{Problem, ProcessSettings, DEFAULT_STATE_FILE};

/// `KEEPALIVED_COMMAND_LINE_ARGUMENTS`: keepalived flags osixia passes. Returns `--dump-conf`.
pub(super) fn command_line_args(r: &mut Reader) -> bool {
    let var = "KEEPALIVED_COMMAND_LINE_ARGUMENTS";
    let raw = r.raw(var).unwrap_or("--log-detail --dump-conf").to_string();
    let Some(args) = shlex::split(&raw) else {
        r.fail(var, &raw, "unbalanced quotes");
        return false;
    };
    let mut dump = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dump-conf" | "-d" => dump = true,
            "--log-detail" | "-D" | "--dont-fork" | "-n" | "--log-console" | "-l" | "--vrrp" | "-P" => {}
            // The configuration file (read by `conf_file`).
            "-f" | "--use-file" => {
                it.next();
            }
            f if f.starts_with("--use-file=") => {}
            other => r.warnings.push(format!("{var}: keepalived option '{other}' has no keepvip equivalent; ignored")),
        }
    }
    dump
}

/// keepalived's `-f PATH` / `--use-file PATH` in `KEEPALIVED_COMMAND_LINE_ARGUMENTS` (the
/// last one wins, as in keepalived).
pub fn conf_file(env: &HashMap<String, String>) -> Option<String> {
    let raw = list::scalar(env.get("KEEPALIVED_COMMAND_LINE_ARGUMENTS")?).ok()?;
    let args = shlex::split(&raw)?;
    let mut found = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-f" | "--use-file" => found = it.next().cloned().or(found),
            f => {
                if let Some(v) = f.strip_prefix("--use-file=") {
                    found = Some(v.to_string());
                }
            }
        }
    }
    found
}

/// What the process takes from the environment when a keepalived.conf gives the instances.
pub fn process_settings(env: &HashMap<String, String>) -> Result<ProcessSettings, Vec<Problem>> {
    let decoded: HashMap<String, String> =
        env.iter().map(|(k, v)| (k.clone(), list::scalar(v).unwrap_or_else(|_| v.clone()))).collect();
    let mut r = Reader { env: &decoded, problems: misspelt(env), info: vec![], warnings: vec![] };
    let state_file = PathBuf::from(r.raw("KEEPVIP_STATE_FILE").unwrap_or(DEFAULT_STATE_FILE));
    let metrics_addr = metrics_addr(&mut r);
    let dump_conf = command_line_args(&mut r);
    if r.problems.is_empty() {
        Ok(ProcessSettings { state_file, metrics_addr, dump_conf })
    } else {
        Err(r.problems)
    }
}

/// `:9650` is every address (IPv6 and IPv4); `ADDR:PORT` one (`[v6]:PORT`).
pub(super) fn metrics_addr(r: &mut Reader) -> Option<std::net::SocketAddr> {
    r.get("KEEPVIP_METRICS_ADDR", None, |v| {
        let v = if v.starts_with(':') { format!("[::]{v}") } else { v.to_string() };
        match v.parse::<std::net::SocketAddr>() {
            Ok(a) if a.port() != 0 => Ok(Some(a)),
            _ => Err("expected :PORT (every address) or ADDR:PORT, e.g. :9650 or 198.18.0.1:9650".into()),
        }
    })
}
