//! A mixed cluster during a rolling migration: keepvip and real keepalived 2.2.7 (rendered
//! from the same environment as osixia does), in every role.

use std::time::Duration;

use crate::common::keepalived::{self, Impl};
use crate::common::netns::{Lab, Proc};
use crate::common::seed::{holds, PEERS, VIP};
use crate::common::{env_for, seed_env, wait_until};
use nix::sys::signal::Signal;

struct Variant {
    extra: &'static [(&'static str, &'static str)],
    multicast: bool,
    /// Master_Down_Interval of the priority-100 node.
    mdi: Duration,
}

const V2: Variant = Variant { extra: &[], multicast: false, mdi: Duration::from_micros(3_609_375) };
const V3_1S: Variant =
    Variant { extra: &[("KEEPALIVED_VRRP_VERSION", "3")], multicast: false, mdi: Duration::from_micros(3_609_375) };
const V3_100MS: Variant = Variant {
    extra: &[("KEEPALIVED_VRRP_VERSION", "3"), ("KEEPALIVED_ADVERT_INT", "0.1")],
    multicast: false,
    mdi: Duration::from_micros(360_937),
};
/// VRRPv2 with auth type 0: keepvip's `KEEPALIVED_PASSWORD=` (set, empty) against keepalived
/// with no `authentication` block.
const V2_NO_AUTH: Variant =
    Variant { extra: &[("KEEPALIVED_PASSWORD", "")], multicast: false, mdi: Duration::from_micros(3_609_375) };
const MULTICAST: Variant = Variant { extra: &[], multicast: true, mdi: Duration::from_micros(3_609_375) };

fn env(v: &Variant, prio: u32) -> Vec<(String, String)> {
    env_for(if v.multicast { &[] } else { &PEERS }, VIP, prio, v.extra)
}

fn start(lab: &Lab, i: usize, which: Impl, v: &Variant, prio: u32) -> Proc {
    which.spawn(lab.host(i), &env(v, prio), &["--loglevel", "debug"])
}

/// Node 0 (priority 200) runs `high`, node 1 (100) runs `low`.
fn start_pair(lab: &Lab, high: Impl, low: Impl, v: &Variant) -> (Proc, Proc) {
    let a = start(lab, 0, high, v, 200);
    if v.mdi < Duration::from_secs(1) {
        // With 0.1 s adverts the two Master_Down_Intervals differ by 39 ms, less than
        // keepalived's start-up jitter; under nopreempt whoever times out first keeps the VIP.
        // Start the 200 node first so the test checks interop, not start-up speed.
        assert!(wait_until(Duration::from_secs(6), || holds(lab, 0)), "{high:?}(200) never took the VIP");
    }
    (a, start(lab, 1, low, v, 100))
}

fn assert_no_complaints(ka: &Proc, keepvip_host: usize) {
    let from = PEERS[keepvip_host];
    let c = keepalived::complaints(&ka.log(), from);
    assert!(c.is_empty(), "keepalived complained about keepvip's packets: {c:#?}");
}

/// Node 0 has priority 200 and runs `high`; node 1 has 100 and runs `low`.
fn election_failover_restart(high: Impl, low: Impl, v: &Variant) {
    let lab = Lab::new(2);
    let (mut a, b) = start_pair(&lab, high, low, v);
    // 1. Election, stable for 5 s.
    assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{high:?}(200) never took the VIP");
    assert!(!wait_until(Duration::from_secs(5), || holds(&lab, 1) || !holds(&lab, 0)), "election not stable");
    let ka_idx = if high == Impl::Keepalived { 0 } else { 1 };
    let ka = if ka_idx == 0 { &a } else { &b };
    assert_no_complaints(ka, 1 - ka_idx);
    // 2. SIGKILL the master and cut its link.
    lab.crash(0, &mut a);
    assert!(wait_until(v.mdi + Duration::from_millis(500), || holds(&lab, 1)), "{low:?} did not take over in time");
    if high == Impl::Keepalived {
        // A killed keepalived leaves its VIP, as keepvip does; osixia's start-up removes it.
        lab.host(0).must(&["ip", "addr", "flush", "dev", "eth0", "to", &format!("{VIP}/32")]);
    }
    // 4. Restart of the old master: stays backup (nopreempt), no duplicate VIP.
    lab.heal(0);
    let a2 = start(&lab, 0, high, v, 200);
    // keepvip removes its stale VIP at start, before it advertises.
    assert!(wait_until(Duration::from_secs(2), || !holds(&lab, 0)), "stale VIP left on the restarted node");
    assert!(!wait_until(Duration::from_secs(6), || holds(&lab, 0)), "restarted node took the VIP despite nopreempt");
    assert!(holds(&lab, 1));
    let ka = match (high, low) {
        (Impl::Keepalived, _) => &a2,
        _ => &b,
    };
    assert_no_complaints(ka, if high == Impl::Keepalived { 1 } else { 0 });
}

/// Pings lost while the priority-200 master gets SIGTERM.
fn planned_handover_loss(high: Impl, low: Impl, v: &Variant) -> u32 {
    let lab = Lab::new(3);
    let (mut a, _b) = start_pair(&lab, high, low, v);
    assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)));
    let ping = lab.host(2).ping(VIP);
    assert!(ping.wait_replies(50, Duration::from_secs(5)));
    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(10)).is_some(), "{high:?} did not stop");
    assert!(wait_until(Duration::from_secs(5), || holds(&lab, 1)), "{low:?} did not take over");
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 50, Duration::from_secs(5)));
    let (lost, _) = ping.stop();
    eprintln!("{high:?} -> {low:?}: {lost} pings lost");
    lost
}

fn handover_no_worse_than_keepalived(v: &Variant) {
    let baseline = planned_handover_loss(Impl::Keepalived, Impl::Keepalived, v);
    for (h, l) in [(Impl::Keepvip, Impl::Keepalived), (Impl::Keepalived, Impl::Keepvip)] {
        let lost = planned_handover_loss(h, l, v);
        assert!(lost <= baseline.max(2), "{h:?} -> {l:?} lost {lost} pings, keepalived -> keepalived {baseline}");
    }
}

#[test]
fn v2_keepvip_master_keepalived_backup() {
    election_failover_restart(Impl::Keepvip, Impl::Keepalived, &V2);
}

#[test]
fn v2_keepalived_master_keepvip_backup() {
    election_failover_restart(Impl::Keepalived, Impl::Keepvip, &V2);
}

#[test]
fn v2_without_authentication_both_directions() {
    election_failover_restart(Impl::Keepvip, Impl::Keepalived, &V2_NO_AUTH);
    election_failover_restart(Impl::Keepalived, Impl::Keepvip, &V2_NO_AUTH);
}

#[test]
fn v2_planned_handover() {
    handover_no_worse_than_keepalived(&V2);
}

#[test]
fn v3_1s_both_directions() {
    election_failover_restart(Impl::Keepvip, Impl::Keepalived, &V3_1S);
    election_failover_restart(Impl::Keepalived, Impl::Keepvip, &V3_1S);
}

#[test]
fn v3_100ms_both_directions() {
    election_failover_restart(Impl::Keepvip, Impl::Keepalived, &V3_100MS);
    election_failover_restart(Impl::Keepalived, Impl::Keepvip, &V3_100MS);
}

#[test]
fn v3_planned_handover() {
    handover_no_worse_than_keepalived(&V3_1S);
    handover_no_worse_than_keepalived(&V3_100MS);
}

#[test]
fn multicast_both_directions() {
    for (h, l) in [(Impl::Keepvip, Impl::Keepalived), (Impl::Keepalived, Impl::Keepvip)] {
        let lab = Lab::new(2);
        let mut a = start(&lab, 0, h, &MULTICAST, 200);
        let _b = start(&lab, 1, l, &MULTICAST, 100);
        assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{h:?} never master");
        assert!(!wait_until(Duration::from_secs(5), || holds(&lab, 1)));
        lab.crash(0, &mut a);
        assert!(wait_until(MULTICAST.mdi + Duration::from_millis(500), || holds(&lab, 1)), "{l:?} no takeover");
    }
}

#[test]
fn osixia_rendering_matches_the_template() {
    let c = keepalived::render(&seed_env(&PEERS, VIP, 200));
    assert!(c.contains("  priority 200\n  nopreempt\n  unicast_peer {\n    198.18.0.1\n    198.18.0.2\n  }\n"), "{c}");
    assert!(c.contains("auth_type PASS\n    auth_pass d0cker"));
    let mut e = seed_env(&PEERS, VIP, 200);
    e.push(("KEEPALIVED_PASSWORD".into(), String::new()));
    assert!(!keepalived::render(&e).contains("authentication"));
}
