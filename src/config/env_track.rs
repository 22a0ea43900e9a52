//! The `KEEPALIVED_TRACK_*` variables: the interfaces that fault the instance and the checks
//! (TCP, HTTP, script, Docker) with their one shared interval, timeout, fall, rise and weight.

use std::time::Duration;

use super::env::{int_in, Reader};
use super::rules::parse_centis;
use super::{track, Check, Probe};

/// Seconds with up to two decimals, within `lo..=hi` centiseconds.
fn seconds(lo: u32, hi: u32) -> impl Fn(&str) -> Result<Duration, String> {
    move |v| match parse_centis(v) {
        Some(cs) if (lo..=hi).contains(&cs) => Ok(Duration::from_millis(u64::from(cs) * 10)),
        _ => Err(format!("expected seconds {}..{} (decimal allowed)", f64::from(lo) / 100.0, hi / 100)),
    }
}

/// `KEEPALIVED_TRACK_*`: the interfaces that fault the instance (weight 0) and the checks.
/// One interval, timeout, fall, rise and weight for all of them, as one `vrrp_script` has.
pub(super) fn read_checks(r: &mut Reader) -> (Vec<String>, Vec<Check>) {
    let interval = r.get("KEEPALIVED_TRACK_INTERVAL", Duration::from_secs(2), seconds(1, 360_000));
    // keepalived: a script's timeout is its interval unless set.
    let timeout = r.get("KEEPALIVED_TRACK_TIMEOUT", interval, seconds(1, 360_000));
    let fall = r.get("KEEPALIVED_TRACK_FALL", 1, int_in(1, 1000));
    let rise = r.get("KEEPALIVED_TRACK_RISE", 1, int_in(1, 1000));
    let weight = r.get("KEEPALIVED_TRACK_WEIGHT", 0i32, |v| match v.parse::<i32>() {
        Ok(w) if (-253..=253).contains(&w) => Ok(w),
        _ => Err("expected an integer -253..253 (0: FAULT while a check fails)".into()),
    });
    let check =
        |name: String, probe: Probe| Check { name, probe, interval, timeout, fall, rise, weight, init_fail: false };
    let mut interfaces = vec![];
    let mut checks = vec![];
    let var = "KEEPALIVED_TRACK_INTERFACES";
    for i in r.list(var) {
        if weight == 0 {
            interfaces.push(i);
        } else {
            checks.push(check(format!("interface {i}"), Probe::Link(i)));
        }
    }
    type Parse = fn(&str) -> Result<Probe, String>;
    let kinds: [(&str, Parse); 3] = [
        ("KEEPALIVED_TRACK_TCP", |v| track::socket_addr(v).map(Probe::Tcp)),
        ("KEEPALIVED_TRACK_HTTP", track::http),
        ("KEEPALIVED_TRACK_SCRIPT", track::script),
    ];
    for (var, parse) in kinds {
        for item in r.list(var) {
            match parse(&item) {
                Ok(p) => checks.push(check(p.describe(), p)),
                Err(e) => {
                    let raw = r.raw(var).unwrap_or("").to_string();
                    r.fail(var, &raw, e);
                }
            }
        }
    }
    let docker_host = r.env.get("DOCKER_HOST").map(String::as_str);
    let docker = r.get("KEEPALIVED_TRACK_DOCKER", None, |v| track::docker(v, docker_host).map(Some));
    if let Some(p) = docker {
        checks.push(check(p.describe(), p));
    }
    // The same check twice would run twice and count twice: once is meant.
    let mut seen = std::collections::HashSet::new();
    checks.retain(|c| {
        let first = seen.insert(c.name.clone());
        if !first {
            r.warnings.push(format!("check {} is listed twice; it runs once", c.name));
        }
        first
    });
    (interfaces, checks)
}
