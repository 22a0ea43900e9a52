//! Faults that break keepalived set-ups: crash and instant restart, both nodes restarted
//! together, an interface deleted and re-created, a flapping link, a long partition.
//! The invariant everywhere: never two holders of the VIP once the dust settles; a node
//! restarted at once resumes without a failover.

use std::time::{Duration, Instant};

use crate::common::netns::{Lab, Proc};
use crate::common::seed::{env_with, holds, pair, MDI_100, VIP};
use crate::common::wait_until;
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

/// A crash and an instant restart (Docker's restart policy) costs nothing: the restarted
/// node finds its VIP still on the host, hears no master within one interval and resumes
/// as master with it. No failover, no duplicate, no lost ping.
#[test]
fn master_killed_and_restarted_at_once_resumes_with_its_vip_without_failover_or_loss() {
    let lab = Lab::new(3);
    let (mut a, b) = pair(&lab, &[]);
    let ping = lab.host(2).ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    kill(&mut a);
    assert!(holds(&lab, 0), "SIGKILL leaves the VIP behind");
    let a2 = lab.host(0).spawn_keepvip(&env_with(200, &[]));
    assert!(a2.wait_log("kept while listening for a master", Duration::from_secs(3)), "{}", a2.log());
    assert!(a2.wait_log("BACKUP -> MASTER: no master heard", Duration::from_secs(3)), "{}", a2.log());
    assert!(!a2.log().contains("removing stale VIP"), "{}", a2.log());
    // Past the backup's Master_Down_Interval: never two holders, the backup never moved.
    let end = Instant::now() + MDI_100 + Duration::from_secs(1);
    while Instant::now() < end {
        assert!(holds(&lab, 0) && !holds(&lab, 1), "VIP moved or duplicated\n{}\n{}", a2.log(), b.log());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!b.log().contains("-> MASTER"), "the backup took over:\n{}", b.log());
    let (lost, _) = ping.stop();
    assert_eq!(lost, 0, "pings lost across the crash and restart");
}

/// Restarted after the backup took over: the VIP found at start is stale. An ARP probe at
/// start finds the new master answering for it, so it goes in milliseconds, not at the next
/// advert; and nopreempt holds.
#[test]
fn master_restarted_after_the_takeover_drops_its_stale_vip_when_the_new_master_answers_arp() {
    let lab = Lab::new(2);
    let (mut a, b) = pair(&lab, &[]);
    kill(&mut a);
    lab.cut(0);
    assert!(wait_until(MDI_100 + Duration::from_millis(500), || holds(&lab, 1)), "{}", b.log());
    lab.heal(0);
    let a2 = lab.host(0).spawn_keepvip(&env_with(200, &[]));
    assert!(a2.wait_log("kept while listening", Duration::from_secs(3)), "{}", a2.log());
    let t = Instant::now();
    assert!(wait_until(Duration::from_millis(1500), || !holds(&lab, 0)), "stale VIP kept:\n{}", a2.log());
    eprintln!("two holders for at most {:?} after the restart", t.elapsed());
    // The probe settled it, not the advert a second later.
    assert!(a2.log().contains("answers ARP for 198.18.0.100"), "{}", a2.log());
    assert!(!a2.log().contains("is master: the VIPs found at start are stale"), "{}", a2.log());
    assert!(stays_one_master(&lab, Duration::from_secs(5)), "nopreempt violated:\n{}", a2.log());
    assert!(holds(&lab, 1) && !a2.log().contains("-> MASTER"), "{}", a2.log());
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

/// The chaos harness's find (fast set-up, seed 45534, episode 17): a node took the VIP
/// during a partition (the client followed it), was killed with the VIP left, and restarted
/// after the partition healed. It finds the VIP stale (the other master is heard) and drops
/// it; the master never heard it, so nobody told the client: it kept sending to the dead
/// copy's MAC until its ARP entry expired. Now the restarted node announces the VIP at the
/// master's MAC as it drops it.
#[test]
fn a_node_restarted_with_a_stale_vip_sends_the_client_to_the_master() {
    let lab = Lab::new(3);
    let (_a, b) = pair(&lab, &[]);
    let client = lab.host(2);
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    let mac = |i: usize| {
        let o = lab.host(i).sh(&["cat", "/sys/class/net/eth0/address"]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let entry = || {
        let o = client.sh(&["ip", "neigh", "show", VIP, "dev", "eth0"]);
        let t = String::from_utf8_lossy(&o.stdout).into_owned();
        t.split_whitespace().skip_while(|w| *w != "lladdr").nth(1).unwrap_or_default().to_string()
    };
    // Node 1 cannot hear node 0: it takes the VIP and the client follows it.
    lab.block(0, 1, true);
    lab.block(1, 0, true);
    assert!(wait_until(Duration::from_secs(6), || holds(&lab, 1)), "{}", b.log());
    assert!(wait_until(Duration::from_secs(3), || entry() == mac(1)), "the client never followed node 1");
    // Node 1 dies with the VIP on it; the partition heals; node 1 starts again.
    let mut b = b;
    kill(&mut b);
    lab.block(0, 1, false);
    lab.block(1, 0, false);
    let b2 = lab.host(1).spawn_keepvip(&env_with(100, &[]));
    assert!(wait_until(Duration::from_secs(4), || !holds(&lab, 1)), "stale VIP kept\n{}", b2.log());
    let t = Instant::now();
    assert!(
        wait_until(Duration::from_secs(4), || entry() == mac(0)),
        "client still on {} (master is {})\n{}",
        entry(),
        mac(0),
        b2.log()
    );
    eprintln!("client on the master {:?} after the stale VIP went", t.elapsed());
    assert!(t.elapsed() <= Duration::from_millis(2000), "{:?}", t.elapsed());
    assert!(b2.log().contains("at 198.18.0.1's MAC") || b2.log().contains("at 198.18.0.100's MAC"), "{}", b2.log());
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 20, Duration::from_secs(3)), "the client's pings did not resume");
}

/// Killed with the VIP, then the host's address removed and put back (a DHCP renewal, a
/// renumbering): the kernel now lists the leftover VIP first on eth0, where the host's
/// primary address is. The restart must still know it for its own — the state file says
/// the run before held it — and resume, not refuse it as a host address and leave it there.
#[test]
fn a_stale_vip_listed_first_after_a_renumbering_is_still_ours() {
    let lab = Lab::new(2);
    let (mut a, b) = pair(&lab, &[]);
    // The state file says MASTER once the loop iteration that added the VIP ends.
    assert!(wait_until(Duration::from_secs(2), || lab.host(0).status().state == "MASTER"), "{}", a.log());
    kill(&mut a);
    lab.host(0).must(&["ip", "addr", "del", "198.18.0.1/24", "dev", "eth0"]);
    lab.host(0).must(&["ip", "addr", "add", "198.18.0.1/24", "dev", "eth0"]);
    let first = lab.host(0).sh(&["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    let first = String::from_utf8_lossy(&first.stdout).lines().next().unwrap_or_default().to_string();
    assert!(first.contains(&format!("{VIP}/32")), "the VIP is not first on eth0: {first}");
    let mut a2 = lab.host(0).spawn_keepvip(&env_with(200, &[]));
    assert!(a2.wait_log("MASTER", Duration::from_secs(4)), "{}", a2.log());
    assert!(a2.wait_exit(Duration::from_millis(100)).is_none(), "refused to start:\n{}", a2.log());
    // Settled: one holder, and it stays so past the backup's Master_Down_Interval.
    assert!(wait_until(MDI_100, || one_master(&lab)), "{}\n{}", a2.log(), b.log());
    assert!(stays_one_master(&lab, MDI_100), "two holders or none\n{}\n{}", a2.log(), b.log());
}
