//! `--health N`: the service behind the VIP dies on the master, N times per implementation
//! and mode (unicast to the two peers as in the seed, and multicast), with the same
//! keepalived.conf (`vrrp_script` every 0.5 s, fall 2; the "service" is a file `test -e`
//! looks for, removed at the event): how long until the other node holds the VIP, and the
//! client's longest reply gap around it (pinging every 10 ms).

use std::fs;
use std::time::{Duration, Instant};

use super::common::keepalived::Impl;
use super::common::netns::Lab;
use super::common::seed::VIP;
use super::common::wait_until;
use super::{gap, unix_now, IMPLS};

const INTERVAL_S: f64 = 0.5;
const FALL: u32 = 2;

fn conf(flag: &std::path::Path, prio: u32, unicast: bool) -> String {
    let peers = if unicast { "  unicast_peer {\n    198.18.0.1\n    198.18.0.2\n  }\n" } else { "" };
    format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_script service {{\n  script \"/usr/bin/test -e {}\"\n  interval {INTERVAL_S}\n  fall {FALL}\n  rise 1\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  advert_int 1\n{peers}\
         \x20 track_script {{\n    service\n  }}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
        flag.display()
    )
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    (v[v.len() / 2], v[v.len() - 1])
}

pub fn run(runs: usize) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (mode, unicast) in [("unicast", true), ("multicast", false)] {
        for imp in IMPLS {
            let row = measure(imp, runs, unicast);
            out.insert(format!("{}_{mode}", imp.name()), row);
        }
    }
    out.insert("interval_s".into(), INTERVAL_S.into());
    out.insert("fall".into(), FALL.into());
    out.insert("runs".into(), runs.into());
    serde_json::Value::Object(out)
}

fn measure(imp: Impl, runs: usize, unicast: bool) -> serde_json::Value {
    {
        let name = imp.name();
        let (mut moved, mut gaps) = (vec![], vec![]);
        for run in 0..runs {
            let lab = Lab::new(3);
            let flags: Vec<_> = (0..2).map(|i| lab.dir.join(format!("{}-up", lab.host(i).ns))).collect();
            let mut procs = vec![];
            for (i, prio) in [(0, 200), (1, 100)] {
                fs::write(&flags[i], "").unwrap();
                procs.push(imp.spawn_conf(lab.host(i), &conf(&flags[i], prio, unicast)));
                if i == 0 {
                    assert!(wait_until(Duration::from_secs(8), || lab.host(0).has_addr(VIP)), "{name}: no master");
                }
            }
            let mut ping = lab.host(2).ping(VIP);
            assert!(ping.wait_replies(100, Duration::from_secs(5)), "{name}: no replies");
            // Spread the event over the check's period, run by run: where the death falls
            // between two runs decides most of the detection time, and a fixed start-up
            // sequence would otherwise hit the same phase every time.
            std::thread::sleep(Duration::from_secs_f64(INTERVAL_S * run as f64 / runs as f64));
            let event = unix_now();
            let t = Instant::now();
            fs::remove_file(&flags[0]).unwrap();
            let on_other = || lab.host(1).has_addr(VIP) && !lab.host(0).has_addr(VIP);
            assert!(wait_until(Duration::from_secs(8), on_other), "{name}: the VIP never moved");
            moved.push(t.elapsed().as_secs_f64() * 1000.0);
            let n = ping.replies().len();
            assert!(ping.wait_replies(n + 100, Duration::from_secs(5)), "{name}: replies did not resume");
            ping.interrupt();
            gaps.push(gap(&ping.times(), event).0);
            drop(procs);
        }
        let (mm, mw) = stats(moved.clone());
        let (gm, gw) = stats(gaps.clone());
        let mode = if unicast { "unicast" } else { "multicast" };
        println!(
            "{name}, {mode}: check fails -> VIP on the other node {mm:.0} ms (worst {mw:.0}); longest client gap {gm:.1} ms (worst {gw:.1})"
        );
        serde_json::json!({"moved_ms": moved, "gap_ms": gaps})
    }
}
