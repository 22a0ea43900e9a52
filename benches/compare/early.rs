//! `--early N [--load-seconds S]`: early failover's figures beside keepalived (and keepvip
//! with `KEEPVIP_EARLY_FAILOVER=false`), VRRPv2 1 s in the seed's shape unless noted:
//! - the client's gap when the master's host dies (processes killed, cable cut) and when it
//!   freezes (SIGSTOP) and loses its cable, N runs each, at a random point of the advert cycle;
//! - the takeover time when only the daemon is killed (the host answers ARP), N runs;
//! - false takeovers over S seconds with both cores saturated and 2 % of every frame lost
//!   at each node (nftables, IP and ARP), at 1 s and at VRRPv3 0.1 s adverts.

use std::time::{Duration, Instant};

use super::common::keepalived::Impl;
use super::common::netns::{Lab, Proc};
use super::common::wait_until;
use super::{cluster, failover, Series, Stop};

/// An implementation as run here: keepvip with early failover on (default) or off, keepalived.
#[derive(Clone, Copy)]
struct Variant {
    key: &'static str,
    imp: Impl,
    extra: &'static [(&'static str, &'static str)],
}

const VARIANTS: [Variant; 3] = [
    Variant { key: "keepvip", imp: Impl::Keepvip, extra: &[] },
    Variant { key: "keepvip_early_off", imp: Impl::Keepvip, extra: &[("KEEPVIP_EARLY_FAILOVER", "false")] },
    Variant { key: "keepalived", imp: Impl::Keepalived, extra: &[] },
];

const V3_100MS: &[(&str, &str)] = &[("KEEPALIVED_VRRP_VERSION", "3"), ("KEEPALIVED_ADVERT_INT", "0.1")];

fn with(a: &[(&'static str, &'static str)], b: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    a.iter().chain(b).copied().collect()
}

/// SIGKILL every process on the master's node (keepalived's children too: killing its
/// parent alone makes them resign cleanly), the host itself staying up: ms until the backup
/// holds the VIP.
fn daemon_killed(v: Variant) -> f64 {
    let lab = Lab::new(2);
    let (_procs, m) = cluster(&lab, v.imp, [200, 100], v.extra);
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    lab.host(m).kill_all();
    let other = 1 - m;
    assert!(
        wait_until(Duration::from_secs(8), || lab.host(other).has_addr(super::VIP)),
        "{}: no takeover after the daemon was killed",
        v.key
    );
    t.elapsed().as_secs_f64() * 1000.0
}

/// Drop 2 % of every frame a node receives (IP and ARP alike).
fn lossy(lab: &Lab, i: usize) {
    let h = lab.host(i);
    for family in ["inet", "arp"] {
        h.must(&["nft", "add", "table", family, "lossy"]);
        h.must(&["nft", &format!("add chain {family} lossy input {{ type filter hook input priority 0; }}")]);
        h.must(&["nft", &format!("add rule {family} lossy input numgen random mod 100 < 2 drop")]);
    }
}

fn takeovers(imp: Impl, p: &Proc) -> usize {
    let needle = if imp == Impl::Keepvip { "-> MASTER" } else { "Entering MASTER STATE" };
    p.log().matches(needle).count()
}

/// False takeovers by the backup in `seconds` under load and loss, per variant and interval.
fn false_takeovers(seconds: u64) -> Vec<(String, usize)> {
    let mut set = vec![];
    for (interval, extra) in [("1s", &[][..]), ("100ms", V3_100MS)] {
        for v in VARIANTS {
            let lab = Lab::new(2);
            let (procs, m) = cluster(&lab, v.imp, [200, 100], &with(v.extra, extra));
            lossy(&lab, 0);
            lossy(&lab, 1);
            set.push((format!("{}_{interval}", v.key), v.imp, lab, procs, m));
        }
    }
    let before: Vec<usize> = set.iter().map(|(_, imp, _, p, m)| takeovers(*imp, &p[1 - m])).collect();
    let mut stress = std::process::Command::new("stress-ng")
        .args(["--cpu", "2", "--timeout", &format!("{seconds}s"), "--quiet"])
        .spawn()
        .expect("stress-ng (scripts/bench installs it)");
    let _ = stress.wait();
    set.iter().zip(before).map(|((key, imp, _, p, m), b)| (key.clone(), takeovers(*imp, &p[1 - m]) - b)).collect()
}

pub fn run(runs: usize, load_secs: u64) -> serde_json::Value {
    let mut crashed: Vec<(&str, Series)> = VARIANTS.iter().map(|v| (v.key, Series::default())).collect();
    let mut frozen: Vec<(&str, Series)> = VARIANTS.iter().map(|v| (v.key, Series::default())).collect();
    let mut killed: Vec<(&str, Series)> = VARIANTS.iter().map(|v| (v.key, Series::default())).collect();
    for run in 0..runs {
        for (k, v) in VARIANTS.iter().enumerate() {
            eprintln!("early failover run {}/{runs}: {}", run + 1, v.key);
            crashed[k].1.values.push(failover(v.imp, [200, 100], v.extra, Stop::Crash, None).0);
            frozen[k].1.values.push(failover(v.imp, [200, 100], v.extra, Stop::Freeze, None).0);
            killed[k].1.values.push(daemon_killed(*v));
        }
    }
    // --load-seconds 0 keeps the false-takeover figures of the last run's bench/early.json.
    let previous: serde_json::Value = std::fs::read_to_string("bench/early.json")
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let (load_secs, wrong) = if load_secs == 0 {
        let kept = previous["false_takeovers"].as_object().cloned().unwrap_or_default();
        let secs = previous["load_seconds"].as_u64().unwrap_or(0);
        (secs, kept.into_iter().map(|(k, v)| (k, v.as_u64().unwrap_or(0) as usize)).collect())
    } else {
        eprintln!("false takeovers: {load_secs} s under load, 2 % loss");
        (load_secs, false_takeovers(load_secs))
    };
    let stats = |s: &[(&str, Series)]| -> serde_json::Value {
        s.iter()
            .map(|(k, s)| {
                let (median, worst) = s.stats();
                ((*k).to_string(), serde_json::json!({"median_ms": median, "worst_ms": worst, "values": s.values}))
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let json = serde_json::json!({
        "runs": runs,
        "host_killed_and_cut_gap": stats(&crashed),
        "host_frozen_and_cut_gap": stats(&frozen),
        "daemon_killed_takeover": stats(&killed),
        "load_seconds": load_secs,
        "false_takeovers": wrong.iter().map(|(k, n)| (k.clone(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
    });
    println!("{}", serde_json::to_string_pretty(&json).unwrap());
    json
}
