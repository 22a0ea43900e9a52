//! Planned handovers (SIGTERM) under a client sending a thousand pings a second: not one is
//! lost, IPv4 and IPv6. The old master keeps the VIP until it hears its successor announce
//! it; at 10 pings a second, removing it at the successor's advert lost one now and then.

use std::time::Duration;

use crate::common::netns::{Lab, Proc};
use crate::common::{env_for, holds_vip, wait_until};
use nix::sys::signal::Signal;

/// Four handovers back and forth between a 200 and a 100 node (nopreempt: a restarted node
/// stays backup); the pings lost between the client's first and last reply.
fn lost_in_handovers(vip: &str, peers: [&str; 2]) -> u32 {
    let lab = Lab::new(3);
    if vip.contains(':') {
        for i in 0..3 {
            let a = format!("2001:db8::{}/64", i + 1);
            lab.host(i).must(&["ip", "-6", "addr", "add", &a, "dev", "eth0", "nodad"]);
        }
    }
    let prio = [200, 100];
    let spawn = |i: usize| lab.host(i).spawn_keepvip(&env_for(&peers, vip, prio[i], &[]));
    let holds = |i: usize| holds_vip(&lab, i, vip);
    let mut nodes: [Option<Proc>; 2] = [Some(spawn(0)), None];
    assert!(wait_until(Duration::from_secs(6), || holds(0)), "{}", nodes[0].as_ref().unwrap().log());
    let b = spawn(1);
    assert!(b.wait_log("-> BACKUP", Duration::from_secs(3)), "{}", b.log());
    nodes[1] = Some(b);
    let ping = lab.host(2).ping_every(vip, "0.001");
    assert!(ping.wait_replies(200, Duration::from_secs(5)), "no replies from {vip}");
    let mut holder = 0;
    for _ in 0..4 {
        let next = 1 - holder;
        let mut old = nodes[holder].take().unwrap();
        old.signal(Signal::SIGTERM);
        assert!(old.wait_exit(Duration::from_secs(10)).is_some(), "did not stop:\n{}", old.log());
        assert!(wait_until(Duration::from_secs(2), || holds(next) && !holds(holder)), "{}", old.log());
        // It waited for the announcement, not for the bound.
        assert!(old.log().contains("took over after our priority-0 advert"), "{}", old.log());
        assert!(!old.log().contains("removing them anyway"), "{}", old.log());
        let back = spawn(holder);
        assert!(back.wait_log("-> BACKUP", Duration::from_secs(3)), "{}", back.log());
        nodes[holder] = Some(back);
        let n = ping.replies().len();
        assert!(ping.wait_replies(n + 300, Duration::from_secs(5)), "pings stopped after a handover");
        holder = next;
    }
    ping.stop().0
}

#[test]
fn planned_handovers_lose_no_ping_at_a_thousand_a_second_ipv4() {
    let lost = lost_in_handovers("198.18.0.100", ["198.18.0.1", "198.18.0.2"]);
    assert_eq!(lost, 0, "pings lost in four IPv4 handovers");
}

#[test]
fn planned_handovers_lose_no_ping_at_a_thousand_a_second_ipv6() {
    let lost = lost_in_handovers("2001:db8::100", ["2001:db8::1", "2001:db8::2"]);
    assert_eq!(lost, 0, "pings lost in four IPv6 handovers");
}
