//! `--ipv6 N`: IPv6 (VRRPv3, 1 s, multicast ff02::12, as osixia's template renders it for
//! keepalived), N runs per implementation: the client's longest reply gap when the master
//! dies (SIGKILL and unplugged) and when it is stopped (SIGTERM), pinging every 10 ms.

use std::time::Duration;

use super::common::keepalived::Impl;
use super::common::netns::{Lab, Proc};
use super::common::{seed_env, wait_until};
use super::{gap, unix_now, Stop, IMPLS};

const VIP6: &str = "2001:db8::100";

fn env6(prio: u32) -> Vec<(String, String)> {
    let mut e = seed_env(&[], VIP6, prio);
    e.retain(|(k, _)| k != "KEEPALIVED_UNICAST_PEERS");
    e.push(("KEEPALIVED_VRRP_VERSION".into(), "3".into()));
    e
}

fn one_event(imp: Impl, stop: Stop) -> f64 {
    let lab = Lab::new(3);
    for i in 0..3 {
        lab.host(i).must(&["ip", "-6", "addr", "add", &format!("2001:db8::{}/64", i + 1), "dev", "eth0", "nodad"]);
    }
    let name = imp.name();
    let a: Proc = imp.spawn(lab.host(0), &env6(200), &[]);
    assert!(wait_until(Duration::from_secs(8), || lab.host(0).has_addr(VIP6)), "{name}: no master");
    let _b: Proc = imp.spawn(lab.host(1), &env6(100), &[]);
    std::thread::sleep(Duration::from_secs(2));
    let mut ping = lab.host(2).ping(VIP6);
    assert!(ping.wait_replies(100, Duration::from_secs(5)), "{name}: no replies from {VIP6}");
    let event = unix_now();
    match stop {
        Stop::Crash | Stop::Freeze => {
            lab.host(0).kill_all();
            lab.cut(0);
        }
        Stop::Graceful => a.signal(nix::sys::signal::Signal::SIGTERM),
    }
    assert!(wait_until(Duration::from_secs(8), || lab.host(1).has_addr(VIP6)), "{name}: no takeover");
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 100, Duration::from_secs(5)), "{name}: replies did not resume");
    ping.interrupt();
    gap(&ping.times(), event).0
}

pub fn run(runs: usize) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for imp in IMPLS {
        for (key, stop) in [("failover", Stop::Crash), ("handover", Stop::Graceful)] {
            let gaps: Vec<f64> = (0..runs).map(|_| one_event(imp, stop)).collect();
            let mut s = gaps.clone();
            s.sort_by(f64::total_cmp);
            println!("{}: IPv6 {key} gap median {:.1} ms, worst {:.1} ms", imp.name(), s[s.len() / 2], s[s.len() - 1]);
            out.insert(format!("{}_{key}", imp.name()), gaps.into());
        }
    }
    out.insert("runs".into(), runs.into());
    serde_json::Value::Object(out)
}
