//! Faults that break keepalived set-ups: crash and instant restart, both nodes restarted
//! together, an interface deleted and re-created, a flapping link, a long partition.
//! The invariant everywhere: never two holders of the VIP once the dust settles, and no
//! duplicate address while a node restarts.

mod common;

use std::time::{Duration, Instant};

use common::netns::{Lab, Proc};
use common::seed::{env_with, holds, pair, MDI_100};
use common::wait_until;
use nix::sys::signal::Signal;

fn kill(p: &mut Proc) {
    p.signal(Signal::SIGKILL);
    assert!(p.wait_exit(Duration::from_secs(2)).is_some());
}

/// Exactly one holder right now.
fn one_master(lab: &Lab) -> bool {
    holds(lab, 0) ^ holds(lab, 1)
}

/// Exactly one holder, and it stays that way for `d` (checked every 10 ms).
fn stays_one_master(lab: &Lab, d: Duration) -> bool {
    !wait_until(d, || !one_master(lab))
}

fn has_line(p: &Proc, needle: &str) -> Option<usize> {
    p.log().lines().position(|l| l.contains(needle))
}

#[test]
fn master_killed_and_restarted_at_once_removes_its_stale_vip_first_and_never_duplicates() {
    let lab = Lab::new(2);
    let (mut a, b) = pair(&lab, &[]);
    kill(&mut a);
    assert!(holds(&lab, 0), "SIGKILL leaves the VIP behind");
    // Docker's restart=always: the node is back at once, the backup has not timed out yet.
    let a2 = lab.host(0).spawn_keepvip(&env_with(200, &[]));
    assert!(a2.wait_log("INIT -> BACKUP", Duration::from_secs(3)), "{}", a2.log());
    let stale = has_line(&a2, "removing stale VIP 198.18.0.100").expect("stale VIP not removed");
    let start = has_line(&a2, "INIT -> BACKUP").unwrap();
    assert!(stale < start, "the stale VIP must go before the instance starts:\n{}", a2.log());
    // Whoever wins, there is never more than one holder, and then exactly one.
    let end = Instant::now() + MDI_100 + Duration::from_secs(2);
    while Instant::now() < end {
        assert!(!(holds(&lab, 0) && holds(&lab, 1)), "duplicate VIP\n{}\n{}", a2.log(), b.log());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(stays_one_master(&lab, Duration::from_secs(2)), "not exactly one master");
}

#[test]
fn both_nodes_killed_and_restarted_together_elect_one_master_within_mdi_plus_1s() {
    let lab = Lab::new(2);
    let (mut a, mut b) = pair(&lab, &[]);
    kill(&mut a);
    kill(&mut b);
    let t = Instant::now();
    let a2 = lab.host(0).spawn_keepvip(&env_with(200, &[]));
    let b2 = lab.host(1).spawn_keepvip(&env_with(100, &[]));
    let elected = || [&a2, &b2].iter().any(|p| p.log().contains("-> MASTER")) && one_master(&lab);
    assert!(wait_until(MDI_100 + Duration::from_secs(1), elected), "no single master\n{}\n{}", a2.log(), b2.log());
    eprintln!("one master {:?} after the restart", t.elapsed());
    assert!(stays_one_master(&lab, Duration::from_secs(3)));
    assert!(holds(&lab, 0), "the 200 node starts its timer with the shorter skew and wins");
}

#[test]
fn interface_deleted_and_recreated_on_backup_and_master() {
    let lab = Lab::new(2);
    let (a, b) = pair(&lab, &[]);
    // Backup: gone → FAULT; back → BACKUP with a new socket that hears the master again.
    lab.unplug(1);
    assert!(b.wait_log("BACKUP -> FAULT", Duration::from_secs(3)), "{}", b.log());
    lab.plug(1);
    assert!(b.wait_log("was re-created", Duration::from_secs(3)), "{}", b.log());
    assert!(b.wait_log("FAULT -> BACKUP", Duration::from_secs(3)), "{}", b.log());
    // Deaf to adverts, it would time out and take a duplicate VIP after MDI.
    assert!(stays_one_master(&lab, MDI_100 + Duration::from_secs(2)), "backup did not hear the master again");
    assert!(holds(&lab, 0) && !b.log().contains("-> MASTER"), "{}", b.log());

    // Master: its VIP goes with the interface; the backup takes over; it comes back as backup.
    lab.unplug(0);
    assert!(a.wait_log("MASTER -> FAULT", Duration::from_secs(3)), "{}", a.log());
    assert!(wait_until(MDI_100 + Duration::from_secs(1), || holds(&lab, 1)), "backup did not take over");
    lab.plug(0);
    assert!(a.wait_log("FAULT -> BACKUP", Duration::from_secs(3)), "{}", a.log());
    assert!(stays_one_master(&lab, MDI_100 + Duration::from_secs(1)), "two masters after re-creation");
    assert!(holds(&lab, 1), "nopreempt: the node that took over keeps the VIP");
}

#[test]
fn link_flapping_20_times_in_10s_ends_with_exactly_one_master() {
    let lab = Lab::new(2);
    let (a, b) = pair(&lab, &[]);
    for _ in 0..20 {
        // The flap pattern itself (not a wait for a result): 250 ms down, 250 ms up.
        lab.host(0).must(&["ip", "link", "set", "eth0", "down"]);
        std::thread::sleep(Duration::from_millis(250));
        lab.host(0).must(&["ip", "link", "set", "eth0", "up"]);
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        wait_until(MDI_100 + Duration::from_secs(2), || one_master(&lab)),
        "no single master after flapping\n{}\n{}",
        a.log(),
        b.log()
    );
    assert!(stays_one_master(&lab, Duration::from_secs(3)));
    assert!(a.log().matches("-> FAULT").count() >= 10, "the flaps were not seen:\n{}", a.log());
}

#[test]
fn partition_for_30s_then_heal_leaves_one_master_within_2_intervals() {
    let lab = Lab::new(2);
    let (_a, _b) = pair(&lab, &[]);
    lab.isolate(0, true);
    lab.isolate(1, true);
    // Without a quorum both sides must serve: each becomes master.
    assert!(wait_until(MDI_100 + Duration::from_millis(500), || holds(&lab, 1)), "both should be master while split");
    let split_until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < split_until {
        assert!(holds(&lab, 0) && holds(&lab, 1), "a side gave up its VIP during the partition");
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.isolate(0, false);
    lab.isolate(1, false);
    let t = Instant::now();
    assert!(wait_until(Duration::from_secs(2), || one_master(&lab)), "still two masters after heal");
    eprintln!("one master {:?} after heal", t.elapsed());
    assert!(holds(&lab, 0), "the 200 node wins");
    assert!(stays_one_master(&lab, Duration::from_secs(3)));
}
