//! `--instances N`: one keepalived.conf with N instances (one VIP each) on two nodes, both
//! implementations in turn with the same file: the master's RSS and idle CPU as master of
//! all, how far each instance's adverts stray from their 1 s schedule, and how long the
//! backup takes to hold every VIP after the master dies.

use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, Instant};

use super::common::netns::{Host, Lab};
use super::common::wait_until;
use super::{capture, node_cpu_ns, node_rss_kib, IMPLS};

fn conf(n: usize, prio: u32) -> String {
    let mut s = String::new();
    for i in 0..n {
        s += &format!(
            "vrrp_instance VI_{i} {{\n  interface eth0\n  virtual_router_id {}\n  priority {prio}\n  advert_int 1\n  unicast_peer {{\n    198.18.0.1\n    198.18.0.2\n    198.18.0.3\n  }}\n  virtual_ipaddress {{\n    198.18.{}.{}/32\n  }}\n}}\n",
            i + 1,
            1 + i / 250,
            i % 250 + 1
        );
    }
    s
}

fn vips_held(h: &Host) -> usize {
    h.addrs().lines().filter(|l| l.contains(" inet 198.18.") && l.contains("/32 ")).count()
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    (v[v.len() / 2], v[v.len() - 1])
}

pub fn run(n: usize, cpu_secs: u64) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let mut lines = vec![];
    for imp in IMPLS {
        let name = imp.name();
        let lab = Lab::new(3);
        let (m, b) = (lab.host(0), lab.host(1));
        let _pm = imp.spawn_conf(m, &conf(n, 200));
        assert!(wait_until(Duration::from_secs(20), || vips_held(m) == n), "{name}: master never held {n} VIPs");
        let _pb = imp.spawn_conf(b, &conf(n, 100));
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(vips_held(b), 0, "{name}: the backup holds VIPs");
        let rss = node_rss_kib(m);
        // Adverts as the silent third peer sees them, during the idle-CPU window.
        let adverts = lab.dir.join("adverts.txt");
        let mut dump = capture(lab.host(2), "ip proto 112 and src 198.18.0.1", &adverts);
        let c0 = node_cpu_ns(m);
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs(cpu_secs));
        let cpu = (node_cpu_ns(m) - c0) as f64 / t0.elapsed().as_nanos() as f64 * 100.0;
        let _ = dump.kill();
        let _ = dump.wait();
        // "<time> IP 198.18.0.1 > 198.18.0.3: VRRPv2, Advertisement, vrid 7, prio 200, ..."
        let mut by_vrid: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
        for l in fs::read_to_string(&adverts).unwrap_or_default().lines().filter(|l| l.contains("> 198.18.0.3")) {
            let t: Option<f64> = l.split_whitespace().next().and_then(|t| t.parse().ok());
            let v: Option<u32> = l.split("vrid ").nth(1).and_then(|s| s.split(',').next()?.parse().ok());
            if let (Some(t), Some(v)) = (t, v) {
                by_vrid.entry(v).or_default().push(t);
            }
        }
        assert_eq!(by_vrid.len(), n, "{name}: adverts seen for {} of {n} instances", by_vrid.len());
        let late: Vec<f64> = by_vrid
            .values()
            .flat_map(|ts| ts.windows(2).map(|w| ((w[1] - w[0]) - 1.0).abs() * 1000.0).collect::<Vec<_>>())
            .collect();
        let (late_median, late_worst) = stats(late);
        // Failover of every instance at once.
        let t = Instant::now();
        m.kill_all();
        lab.cut(0);
        assert!(wait_until(Duration::from_secs(15), || vips_held(b) == n), "{name}: the backup never held all {n}");
        let failover = t.elapsed().as_secs_f64() * 1000.0;
        let line = format!(
            "{name}: {n} instances: RSS {rss} KiB, idle CPU as master of all {cpu:.4} % of a core, adverts off schedule median {late_median:.2} ms worst {late_worst:.2} ms, all {n} VIPs on the backup {failover:.0} ms after the master died"
        );
        eprintln!("{line}");
        lines.push(line);
        out.insert(
            name.to_string(),
            serde_json::json!({"rss_kib": rss, "idle_cpu_pct": cpu, "advert_offset_median_ms": late_median,
                "advert_offset_worst_ms": late_worst, "failover_all_ms": failover}),
        );
    }
    for l in &lines {
        println!("{l}");
    }
    out.insert("instances".into(), n.into());
    out.insert("cpu_seconds".into(), cpu_secs.into());
    serde_json::Value::Object(out)
}
