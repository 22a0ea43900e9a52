//! `--swarm-deploys N`: fresh deploys of deploy/stack.yml (a written peer list) and of
//! deploy/stack-swarm.yml (peers from the swarm) on a real three-node swarm. Which node is
//! elected each time, and how far apart the tasks started: the spread the auto ranks'
//! first-takeover hold must cover (the skew alone is 39 ms per rank).

use std::time::Duration;

use super::common::swarm::Swarm;
use super::common::wait_until;

const VIP: &str = "198.18.0.100";
/// Skew_Time difference between auto priorities 200 and 190 (VRRPv2): 10/256 s.
const SKEW_STEP_MS: f64 = 39.0625;

/// Both stack files, `n` deploys each, on one swarm.
pub fn fresh_deploys(n: usize) -> serde_json::Value {
    let sw = Swarm::new(3);
    let written = deploys(&sw, n, false);
    let swarm = deploys(&sw, n, true);
    serde_json::json!({"written_list": written, "swarm_peers": swarm})
}

fn deploys(sw: &Swarm, n: usize, swarm_peers: bool) -> serde_json::Value {
    let mut rounds = vec![];
    for round in 0..n {
        if swarm_peers {
            // The first node to have joined is the top one, as the list's first address is.
            sw.deploy(round % 3, "vip", &sw.swarm_stack_file(VIP, false));
            let all = wait_until(Duration::from_secs(60), || (0..3).all(|i| sw.task_started(i).is_some()));
            assert!(all, "round {round}: not one task per node");
        } else {
            sw.deploy_stack(round % 3, VIP);
        }
        let starts: Vec<f64> = (0..3).map(|i| sw.task_started(i).unwrap_or(f64::NAN)).collect();
        let first = starts.iter().copied().fold(f64::INFINITY, f64::min);
        let offsets: Vec<f64> = starts.iter().map(|s| (s - first) * 1000.0).collect();
        assert!(wait_until(Duration::from_secs(20), || !sw.holders(VIP).is_empty()), "round {round}: no holder");
        // Settled: the holder after one more advert interval.
        std::thread::sleep(Duration::from_millis(1500));
        let holders = sw.holders(VIP);
        // Without the hold, rank 0 loses to a lower rank k that started more than k skew
        // steps earlier (nopreempt keeps whoever times out first).
        let skew_only_loses = (1..3).any(|k| offsets[0] - offsets[k] > k as f64 * SKEW_STEP_MS);
        eprintln!("deploy {round}: start offsets {offsets:.0?} ms, elected {holders:?}, skew alone would lose: {skew_only_loses}");
        rounds.push(
            serde_json::json!({"start_offsets_ms": offsets, "holders": holders, "skew_only_loses": skew_only_loses}),
        );
        assert!(sw.remove_stack(round % 3, VIP), "round {round}: stack rm left something");
    }
    let top = rounds.iter().filter(|r| r["holders"] == serde_json::json!([0])).count();
    let would_lose = rounds.iter().filter(|r| r["skew_only_loses"] == true).count();
    let mut spread: Vec<f64> = rounds
        .iter()
        .map(|r| r["start_offsets_ms"].as_array().unwrap().iter().filter_map(|v| v.as_f64()).fold(0.0, f64::max))
        .collect();
    spread.sort_by(f64::total_cmp);
    let kind = if swarm_peers { "stack-swarm.yml (peers from the swarm)" } else { "stack.yml (written peer list)" };
    let summary = format!(
        "{kind}: {n} fresh deploys: top node elected {top}/{n}; task start spread median {:.0} ms, worst {:.0} ms; the skew alone (no hold) would have elected another node in {would_lose}/{n}",
        spread[spread.len() / 2],
        spread[spread.len() - 1]
    );
    println!("{summary}");
    serde_json::json!({"summary": summary, "deploys": rounds})
}
