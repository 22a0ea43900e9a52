//! Two VRRP clusters on one LAN that share a virtual router id (osixia's default 51 in
//! multicast mode): each keeps its own master, as with keepalived (RFC 3768/5798 §7.1),
//! and the collision is named in the log, `--status` and the metrics.

use std::time::Duration;

use crate::common::netns::Lab;
use crate::common::{env_for, holds_vip, keepalived, wait_until};

const VIP_A: &str = "198.18.0.100";
const VIP_B: &str = "198.18.0.200";

/// Exactly one of `hosts` holds `vip`: which.
fn holder(lab: &Lab, hosts: &[usize], vip: &str) -> Option<usize> {
    let h: Vec<usize> = hosts.iter().copied().filter(|i| holds_vip(lab, *i, vip)).collect();
    (h.len() == 1).then(|| h[0])
}

/// Cluster A: two keepvip nodes (200, 100). Cluster B: keepvip (150) and Debian's
/// keepalived (50), rendered as osixia renders it. All on VRID 51, multicast.
#[test]
fn two_clusters_on_one_vrid_keep_one_holder_each_and_fail_over_apart() {
    let lab = Lab::new(4);
    let metrics = [("KEEPVIP_METRICS_ADDR", "127.0.0.1:9650")];
    let mut a0 = lab.host(0).spawn_keepvip(&env_for(&[], VIP_A, 200, &metrics));
    let _a1 = lab.host(1).spawn_keepvip(&env_for(&[], VIP_A, 100, &[]));
    let mut b0 = lab.host(2).spawn_keepvip(&env_for(&[], VIP_B, 150, &[]));
    let kb = keepalived::spawn(lab.host(3), &env_for(&[], VIP_B, 50, &[]));
    let settled = || holder(&lab, &[0, 1, 2, 3], VIP_A) == Some(0) && holder(&lab, &[0, 1, 2, 3], VIP_B) == Some(2);
    assert!(wait_until(Duration::from_secs(8), settled), "{}\n{}\n{}", a0.log(), b0.log(), kb.log());
    // And it stays so: neither master silences the other cluster.
    assert!(!wait_until(Duration::from_secs(5), || !settled()), "{}\n{}\n{}", a0.log(), b0.log(), kb.log());
    // Named once per foreign source, with the fix.
    let line = "advertises virtual router 51 with VIPs [198.18.0.200], ours are [198.18.0.100]";
    assert!(a0.wait_log(line, Duration::from_secs(2)), "{}", a0.log());
    assert!(a0.log().contains("another KEEPALIVED_ROUTER_ID"), "{}", a0.log());
    assert_eq!(a0.log().matches(&format!("198.18.0.3 {line}")).count(), 1, "{}", a0.log());
    let st = a0.status();
    assert!(st.collisions.iter().any(|c| c.starts_with("198.18.0.3 [198.18.0.200]")), "{:?}", st.collisions);
    assert!(st.dropped.get("address_list").is_some_and(|n| *n > 0), "{:?}", st.dropped);
    let o = lab.host(0).sh(&["curl", "-s", "--max-time", "2", "http://127.0.0.1:9650/metrics"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("keepvip_instance_vrid_collisions{vrrp_instance=\"VI_1\"} 1"), "{text}");
    let state = [("KEEPVIP_STATE_FILE".to_string(), lab.host(0).state_file().display().to_string())];
    let table = lab.host(0).run_keepvip(&state, &["--status"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("collisions  198.18.0.3 [198.18.0.200]"), "{table}");

    // A's master goes: A's backup takes over, B does not move.
    lab.crash(0, &mut a0);
    assert!(wait_until(Duration::from_secs(6), || holder(&lab, &[1, 2, 3], VIP_A) == Some(1)), "A did not fail over");
    assert_eq!(holder(&lab, &[1, 2, 3], VIP_B), Some(2));
    // B's keepvip master stops: keepalived takes B's VIP, A stays on node 1.
    b0.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(b0.wait_exit(Duration::from_secs(5)).is_some(), "{}", b0.log());
    assert!(wait_until(Duration::from_secs(8), || holder(&lab, &[1, 2, 3], VIP_B) == Some(3)), "{}", kb.log());
    assert_eq!(holder(&lab, &[1, 2, 3], VIP_A), Some(1));
}

/// Unicast clusters on one VRID do not hear each other at all; each keeps one holder.
#[test]
fn unicast_clusters_on_one_vrid_are_independent() {
    let lab = Lab::new(4);
    let a = ["198.18.0.1", "198.18.0.2"];
    let b = ["198.18.0.3", "198.18.0.4"];
    let _n: Vec<_> = [(0, &a, VIP_A, 200), (1, &a, VIP_A, 100), (2, &b, VIP_B, 150), (3, &b, VIP_B, 50)]
        .into_iter()
        .map(|(i, peers, vip, prio)| lab.host(i).spawn_keepvip(&env_for(peers, vip, prio, &[])))
        .collect();
    let settled = || holder(&lab, &[0, 1, 2, 3], VIP_A) == Some(0) && holder(&lab, &[0, 1, 2, 3], VIP_B) == Some(2);
    assert!(wait_until(Duration::from_secs(8), settled));
    assert!(!wait_until(Duration::from_secs(4), || !settled()));
}
