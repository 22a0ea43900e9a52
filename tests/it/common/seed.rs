//! The seed's two-node shape on a lab: same peer list on both, priorities 200 and 100, one VIP.

use std::time::Duration;

use super::netns::{Lab, Proc};
use super::{env_for, holds_vip, wait_until};

pub const VIP: &str = "198.18.0.100";
pub const PEERS: [&str; 2] = ["198.18.0.1", "198.18.0.2"];
/// VRRPv2, 1 s adverts, priority 100: 3 + 156/256 s.
pub const MDI_100: Duration = Duration::from_micros(3_609_375);

pub fn env_with(prio: u32, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    env_for(&PEERS, VIP, prio, extra)
}

pub fn holds(lab: &Lab, i: usize) -> bool {
    holds_vip(lab, i, VIP)
}

/// Two nodes in the seed's shape; returns once node 0 (priority 200) holds the VIP.
pub fn pair(lab: &Lab, extra: &[(&str, &str)]) -> (Proc, Proc) {
    let a = lab.host(0).spawn_keepvip(&env_with(200, extra));
    let sub_second =
        extra.iter().any(|(k, v)| *k == "KEEPALIVED_ADVERT_INT" && v.parse::<f64>().is_ok_and(|s| s < 1.0));
    if sub_second {
        // Below 1 s the two Master_Down_Intervals differ by less than process start-up jitter
        // under load; under nopreempt the first to time out keeps the VIP. Start node 0 first.
        assert!(wait_until(Duration::from_secs(5), || holds(lab, 0)), "the priority-200 node never took the VIP");
    }
    let b = lab.host(1).spawn_keepvip(&env_with(100, extra));
    assert!(wait_until(Duration::from_secs(5), || holds(lab, 0)), "the priority-200 node never took the VIP");
    (a, b)
}
