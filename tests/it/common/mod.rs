//! Test harness: hosts in network namespaces on a private bridge, keepvip processes,
//! polling with deadlines. Everything lives in namespaces this harness creates (the bridge
//! too, in its own "switch" namespace), so the machine's interfaces are never touched.
#![allow(dead_code)]

pub mod docker;
pub mod inject;
pub mod keepalived;
pub mod netns;
pub mod seed;
pub mod swarm;

use std::time::{Duration, Instant};

/// Poll `f` every 10 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// These tests need root (namespaces, raw sockets). They never skip: without root they fail
/// with a message saying how to run them.
pub fn require_root() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "this test needs root for network namespaces and raw sockets: run `sudo scripts/test`"
    );
}

/// The binary under test: cargo's build, or `KEEPVIP_BIN` (the bench uses the static
/// release binary the image ships).
pub fn keepvip_bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| std::env::var("KEEPVIP_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_keepvip").to_string()))
}

/// A node's variables: the seed's with this lab's addresses (no peers: multicast) and
/// `extra` after them.
pub fn env_for(peers: &[&str], vip: &str, priority: u32, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut e = seed_env(peers, vip, priority);
    if peers.is_empty() {
        e.retain(|(k, _)| k != "KEEPALIVED_UNICAST_PEERS");
    }
    e.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    e
}

/// Whether host `i` of the lab has `vip`.
pub fn holds_vip(lab: &netns::Lab, i: usize, vip: &str) -> bool {
    lab.host(i).has_addr(vip)
}

/// The seed's environment for one node, with this lab's addresses.
pub fn seed_env(peers: &[&str], vip: &str, priority: u32) -> Vec<(String, String)> {
    let list: Vec<String> = peers.iter().map(|p| format!("'{p}'")).collect();
    vec![
        ("KEEPALIVED_UNICAST_PEERS".into(), format!("#PYTHON2BASH:[{}]", list.join(", "))),
        ("KEEPALIVED_VIRTUAL_IPS".into(), vip.into()),
        ("KEEPALIVED_PRIORITY".into(), priority.to_string()),
    ]
}
