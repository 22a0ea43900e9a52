//! Idle CPU of a backup, each backup woken alone. One 2-node lab per backup: host 0 is the
//! master's address, host 1 runs the backup. No master process runs: this process sends the
//! seed's advert (priority 200, 1 s, PASS d0cker) from host 0's address to each backup, the
//! labs a 1/N s apart, so no two backups wake together and no backup shares a wake with a
//! master. Behind one real master sending to several backups, the order of its sends moved a
//! backup's figure by up to 60 %, more than the difference being judged.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::common::inject::{Advert, Injector};
use super::common::keepalived::Impl;
use super::common::netns::{Lab, Proc};
use super::common::seed::VIP;
use super::common::seed_env;
use super::{node_cpu_ns, Series};

/// Backups per implementation; they alternate keepvip, keepalived, keepvip, ...
const EACH: usize = 2;

/// Per implementation: % of one core per backup (one value per 10 s window), and µs of CPU
/// per advert received over the whole run.
pub struct Figures {
    pub cpu: Series,
    pub us_per_advert: f64,
}

pub fn run(seconds: u64) -> Vec<(Impl, Figures)> {
    let impls: Vec<Impl> = (0..2 * EACH).map(|i| if i % 2 == 0 { Impl::Keepvip } else { Impl::Keepalived }).collect();
    let labs: Vec<Lab> = impls.iter().map(|_| Lab::new(2)).collect();
    let peers: Vec<[String; 2]> = labs.iter().map(|l| [l.host(0).ip.clone(), l.host(1).ip.clone()]).collect();
    let injectors: Vec<Injector> = labs.iter().map(|l| Injector::open(&l.host(0).ns)).collect();
    let adverts: Vec<Vec<u8>> =
        peers.iter().map(|[m, b]| Advert::seed(200, VIP).bytes(m.parse().unwrap(), b.parse().unwrap())).collect();
    let sent = Arc::new(std::sync::Mutex::new(vec![0u64; labs.len()]));
    let stop = Arc::new(AtomicBool::new(false));
    // Adverts before the backups start, so none of them ever sees Master_Down_Interval pass.
    let sender = {
        let (sent, stop) = (sent.clone(), stop.clone());
        let n = labs.len();
        let to: Vec<(Ipv4Addr, Ipv4Addr)> =
            peers.iter().map(|[m, b]| (m.parse().unwrap(), b.parse().unwrap())).collect();
        std::thread::spawn(move || {
            let t0 = Instant::now();
            for tick in 0u32.. {
                for (i, inj) in injectors.iter().enumerate() {
                    let at = t0 + Duration::from_secs(tick.into()) + Duration::from_secs(1) * i as u32 / n as u32;
                    std::thread::sleep(at.saturating_duration_since(Instant::now()));
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    inj.send(to[i].0, to[i].1, 255, &adverts[i]);
                    sent.lock().unwrap()[i] += 1;
                }
            }
        })
    };
    let _procs: Vec<Proc> = impls
        .iter()
        .zip(&labs)
        .zip(&peers)
        .map(|((imp, lab), [m, b])| imp.spawn(lab.host(1), &seed_env(&[m, b], VIP, 100), &[]))
        .collect();
    // Settled: every backup has been up a few adverts and none took the VIP.
    std::thread::sleep(Duration::from_secs(5));
    for (imp, lab) in impls.iter().zip(&labs) {
        assert!(!lab.host(1).has_addr(VIP), "{}: a backup took the VIP while adverts arrived", imp.name());
        assert!(!lab.host(1).pids().is_empty(), "{}: the backup is not running", imp.name());
    }
    let cpu = |i: usize| node_cpu_ns(labs[i].host(1));
    let count = |i: usize| sent.lock().unwrap()[i];
    let first: Vec<(u64, u64)> = (0..labs.len()).map(|i| (cpu(i), count(i))).collect();
    let mut windows: Vec<Vec<f64>> = vec![vec![]; labs.len()];
    for _ in 0..(seconds / 10).max(1) {
        let start: Vec<u64> = (0..labs.len()).map(cpu).collect();
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs(10));
        let el = t.elapsed().as_nanos() as f64;
        for (i, w) in windows.iter_mut().enumerate() {
            w.push((cpu(i) - start[i]) as f64 / el * 100.0);
        }
    }
    let last: Vec<(u64, u64)> = (0..labs.len()).map(|i| (cpu(i), count(i))).collect();
    stop.store(true, Ordering::Relaxed);
    let _ = sender.join();
    for (imp, lab) in impls.iter().zip(&labs) {
        assert!(!lab.host(1).has_addr(VIP), "{}: a backup took the VIP while adverts arrived", imp.name());
    }
    [Impl::Keepvip, Impl::Keepalived]
        .into_iter()
        .map(|which| {
            let mine: Vec<usize> = (0..labs.len()).filter(|&i| impls[i] == which).collect();
            // A window's value: the mean of this implementation's backups in that window.
            let values = (0..windows[0].len())
                .map(|w| mine.iter().map(|&i| windows[i][w]).sum::<f64>() / mine.len() as f64)
                .collect();
            let (ns, n) =
                mine.iter().fold((0u64, 0u64), |(ns, n), &i| (ns + last[i].0 - first[i].0, n + last[i].1 - first[i].1));
            let us = ns as f64 / 1000.0 / n.max(1) as f64;
            (which, Figures { cpu: Series { values, timeline: vec![] }, us_per_advert: us })
        })
        .collect()
}
