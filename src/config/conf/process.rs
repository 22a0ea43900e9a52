//! `vrrp_track_process` blocks into checks: keepalived's defaults (weight 0, quorum 1, no
//! maximum, no delays), each process scan one check run.

use std::time::Duration;

use super::lex::Stmt;
use super::script::weight_of;
use super::Parser;
use crate::config::track::{Check, ParamMatch, Probe, ProcessMatch};

/// How often the processes are counted: keepalived hears of each fork and exit at once;
/// a scan a second bounds the lag (and the cost: one `stat` read per process).
pub const SCAN_INTERVAL: Duration = Duration::from_secs(1);

pub(super) fn vrrp_track_process(p: &mut Parser, s: &Stmt, name: &str) -> Option<Check> {
    let errors_before = p.errors.len();
    let mut process: Option<(String, Vec<String>)> = None;
    let (mut param_match, mut explicit_match, mut full_command) = (ParamMatch::Exact, false, false);
    let (mut weight, mut quorum, mut quorum_max) = (0, 1, u32::MAX);
    let (mut fork_delay, mut terminate_delay) = (Duration::ZERO, Duration::ZERO);
    for d in p.block(s) {
        match d.keyword() {
            "process" => match d.args() {
                [first, rest @ ..] => process = Some((first.clone(), rest.to_vec())),
                [] => p.fail(&d.at, "process needs the process name (and its parameters)"),
            },
            "param_match" => {
                explicit_match = true;
                match d.args() {
                    [] => {}
                    [m] if m == "partial" => param_match = ParamMatch::Partial,
                    [m] if m == "initial" => param_match = ParamMatch::Initial,
                    _ => p.fail(&d.at, format!("param_match '{}': expected partial or initial", d.args().join(" "))),
                }
            }
            "weight" => weight = weight_of(p, d, d.args()).unwrap_or(0),
            "quorum" => quorum = p.int(d, 1, 65_535).unwrap_or(quorum),
            "quorum_max" => quorum_max = p.int(d, 0, 65_535).unwrap_or(quorum_max),
            "fork_delay" => fork_delay = seconds(p, d).unwrap_or(fork_delay),
            "terminate_delay" => terminate_delay = seconds(p, d).unwrap_or(terminate_delay),
            "delay" => {
                let v = seconds(p, d).unwrap_or(Duration::ZERO);
                (fork_delay, terminate_delay) = (v, v);
            }
            "full_command" => full_command = true,
            other => p.not_read(d, super::keywords::Block::Process, other, &format!("in vrrp_track_process {name}")),
        }
    }
    let Some((process, params)) = process else {
        p.fail(&s.at, format!("vrrp_track_process {name}: no process set"));
        return None;
    };
    if quorum > quorum_max {
        p.fail(&s.at, format!("vrrp_track_process {name}: quorum {quorum} is above quorum_max {quorum_max}"));
    }
    if p.errors.len() != errors_before {
        return None;
    }
    // Parameters given, or param_match alone (then the process must have none).
    let args = (!params.is_empty() || explicit_match).then_some(params);
    // keepalived compares (and shows) the command line when parameters or param_match are given.
    let full_command = full_command || args.is_some();
    // keepalived waits a delay after the count changes; scanning each second, that is
    // one more agreeing scan per started second of it (the first scan decides at once).
    let scans = |d: Duration| 1 + (d.as_secs_f64() / SCAN_INTERVAL.as_secs_f64()).ceil() as u32;
    Some(Check {
        name: name.to_string(),
        probe: Probe::Process(ProcessMatch { name: process, args, param_match, full_command, quorum, quorum_max }),
        interval: SCAN_INTERVAL,
        timeout: SCAN_INTERVAL,
        rise: scans(fork_delay),
        fall: scans(terminate_delay),
        weight,
        init_fail: false,
    })
}

/// Seconds with a fraction, as keepalived reads process delays.
fn seconds(p: &mut Parser, d: &Stmt) -> Option<Duration> {
    let v = p.one(d, "seconds")?;
    match v.parse::<f64>() {
        Ok(s) if (0.0..=86_400.0).contains(&s) => Some(Duration::from_secs_f64(s)),
        _ => {
            p.fail(&d.at, format!("{} '{v}': expected seconds 0..86400 (fractions allowed)", d.keyword()));
            None
        }
    }
}
