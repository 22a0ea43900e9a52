//! Scale figures beside keepalived: N-node clusters (a swarm global service), 1024 VIPs,
//! and VRRPv3 at 10 ms adverts with both cores saturated.

use std::fs;
use std::time::{Duration, Instant};

use super::common::keepalived::Impl;
use super::common::netns::{Host, Lab, Proc};
use super::common::{seed_env, wait_until};
use super::{capture, gap, unix_now, AddressMonitor, Stop};

const VIP: &str = "198.18.0.250";

fn env(peers: &[String], prio: u32, vips: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let refs: Vec<&str> = peers.iter().map(String::as_str).collect();
    let mut e = seed_env(&refs, vips, prio);
    e.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    e
}

fn holders(lab: &Lab, n: usize) -> Vec<usize> {
    (0..n).filter(|i| lab.host(*i).has_addr(VIP)).collect()
}

/// One N-node cluster with `KEEPALIVED_PRIORITY=auto`'s priorities (given explicitly, so
/// keepalived gets the same): (start → one master ms, its rank, failover gap ms, new rank).
/// Ranks count from 0 (the top priority). A client pings the VIP every 10 ms.
pub fn cluster(imp: Impl, n: usize) -> (f64, usize, f64, usize) {
    let lab = Lab::new(n + 1);
    let peers: Vec<String> = (0..n).map(|i| lab.host(i).ip.clone()).collect();
    let t0 = unix_now();
    let _procs: Vec<Proc> = (0..n)
        .map(|i| {
            let prio = u32::from(keepvip::config::auto_priority(i, n).unwrap());
            imp.spawn(lab.host(i), &env(&peers, prio, VIP, &[]), &[])
        })
        .collect();
    let mut ping = lab.host(n).ping(VIP);
    assert!(ping.wait_replies(1, Duration::from_secs(15)), "{} N={n}: no master", imp.name());
    let start_ms = (ping.times()[0].0 - t0) * 1000.0;
    let h = holders(&lab, n);
    assert_eq!(h.len(), 1, "{} N={n}: holders {h:?}", imp.name());
    let first = h[0];
    // A master that resigns right after the election (seen from keepalived at 8 nodes) makes
    // the client wait for the next one: allow for it before the failover is timed.
    let replies = ping.replies().len();
    assert!(ping.wait_replies(replies + 20, Duration::from_secs(15)), "{} N={n}: the client lost the VIP", imp.name());
    let event = unix_now();
    lab.host(first).kill_all();
    lab.cut(first);
    let replies = ping.replies().len();
    assert!(ping.wait_replies(replies + 20, Duration::from_secs(15)), "{} N={n}: no failover", imp.name());
    ping.interrupt();
    let (failover_ms, _) = gap(&ping.times(), event);
    let h: Vec<usize> = holders(&lab, n).into_iter().filter(|i| *i != first).collect();
    assert_eq!(h.len(), 1, "{} N={n}: holders after failover {h:?}", imp.name());
    (start_ms, first, failover_ms, h[0])
}

/// 1024 VIPs on takeover: (first → last VIP added, ms; the new master's longest silence
/// between adverts in the 5 s after it took over, ms).
pub fn vips_1024(imp: Impl) -> (f64, f64) {
    const N: usize = 1024;
    let vips: Vec<String> = (0..N).map(|i| format!("'198.19.{}.{}'", i / 250 + 10, i % 250 + 1)).collect();
    let list = format!("#PYTHON2BASH:[{}]", vips.join(", "));
    let lab = Lab::new(3);
    // Host 2 is a peer that runs nothing: both nodes send it their adverts, so it can time
    // the new master's (a dead peer's address stops resolving and its adverts stop leaving).
    let peers: Vec<String> = (0..3).map(|i| lab.host(i).ip.clone()).collect();
    let _a = imp.spawn(lab.host(0), &env(&peers, 200, &list, &[]), &[]);
    let count = |h: &Host| h.addrs().matches(" inet 198.19.").count();
    assert!(wait_until(Duration::from_secs(20), || count(lab.host(0)) == N), "{}: VIPs never up", imp.name());
    let b = imp.spawn(lab.host(1), &env(&peers, 100, &list, &[]), &[]);
    let backup = if imp == Impl::Keepvip { "-> BACKUP" } else { "Entering BACKUP STATE" };
    assert!(b.wait_log(backup, Duration::from_secs(10)), "{}: the backup did not start", imp.name());
    let h1 = lab.host(1);
    let mon = AddressMonitor::start(h1, &lab.dir.join("monitor.txt"));
    let adverts = lab.dir.join("adverts.txt");
    let mut dump = capture(lab.host(2), "ip proto 112 and src 198.18.0.2", &adverts);
    lab.host(0).kill_all();
    lab.cut(0);
    assert!(wait_until(Duration::from_secs(30), || count(h1) == N), "{}: no takeover of {N} VIPs", imp.name());
    std::thread::sleep(Duration::from_secs(5));
    let end = unix_now();
    let stamps = mon.additions(" inet 198.19.");
    let _ = dump.kill();
    let _ = dump.wait();
    assert_eq!(stamps.len(), N, "{}: monitor saw {} VIP additions", imp.name(), stamps.len());
    let times: Vec<f64> = fs::read_to_string(&adverts)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    // From the new master's first advert (before it, it was a silent backup) to the end of
    // the window: a master that stops advertising shows as one long silence. One that sent
    // nothing in the window (keepalived, busy announcing 1024 VIPs) was silent from its
    // first VIP to the end.
    if times.is_empty() {
        eprintln!("{}: the new master sent no advert in the 5 s window", imp.name());
        return ((stamps[N - 1] - stamps[0]) * 1000.0, (end - stamps[0]) * 1000.0);
    }
    let mut edges = times.clone();
    edges.push(end);
    let silence = edges.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    ((stamps[N - 1] - stamps[0]) * 1000.0, silence * 1000.0)
}

/// VRRPv3 at 10 ms adverts: the failover gap.
pub fn v3_10ms_failover(imp: Impl) -> f64 {
    super::failover(imp, [200, 100], V3_10MS, Stop::Crash, None).0
}

const V3_10MS: &[(&str, &str)] = &[("KEEPALIVED_VRRP_VERSION", "3"), ("KEEPALIVED_ADVERT_INT", "0.01")];

/// VRRPv3 at 10 ms adverts, both implementations at once, for `seconds` with both cores
/// saturated by stress-ng: (master CPU % of a core, false takeovers by the backup) each.
pub fn v3_10ms_under_load(seconds: u64) -> Vec<(Impl, f64, usize)> {
    let labs: Vec<(Impl, Lab)> = super::IMPLS.iter().map(|i| (*i, Lab::new(2))).collect();
    let clusters: Vec<(Vec<Proc>, usize)> =
        labs.iter().map(|(i, l)| super::cluster(l, *i, [200, 100], V3_10MS)).collect();
    let takeovers = |imp: Impl, p: &Proc| {
        let needle = if imp == Impl::Keepvip { "-> MASTER" } else { "Entering MASTER STATE" };
        p.log().matches(needle).count()
    };
    let before: Vec<usize> = labs.iter().zip(&clusters).map(|((i, _), (p, m))| takeovers(*i, &p[1 - m])).collect();
    let cpu0: Vec<u64> = labs.iter().zip(&clusters).map(|((_, l), (_, m))| super::node_cpu_ns(l.host(*m))).collect();
    let t = Instant::now();
    let mut stress = std::process::Command::new("stress-ng")
        .args(["--cpu", "2", "--timeout", &format!("{seconds}s"), "--quiet"])
        .spawn()
        .expect("stress-ng (scripts/bench installs it)");
    let _ = stress.wait();
    let el = t.elapsed().as_nanos() as f64;
    labs.iter()
        .zip(&clusters)
        .enumerate()
        .map(|(k, ((imp, l), (p, m)))| {
            let cpu = (super::node_cpu_ns(l.host(*m)) - cpu0[k]) as f64 / el * 100.0;
            (*imp, cpu, takeovers(*imp, &p[1 - m]) - before[k])
        })
        .collect()
}
