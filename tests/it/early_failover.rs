//! Early failover: a backup whose master's advert is late probes the master's host and
//! takes over at once when the host is gone (cable cut, host frozen), but waits for
//! Master_Down_Interval when the host answers (only the daemon died), and never takes over
//! early while adverts arrive, however many of them are lost.

use std::time::{Duration, Instant};

use crate::common::keepalived::{self, Impl};
use crate::common::netns::{Lab, Proc};
use crate::common::seed::{holds, pair, MDI_100, PEERS, VIP};
use crate::common::{env_for, wait_until};
use nix::sys::signal::Signal;

/// How long after `t` host 1 holds the VIP (at most `within`).
fn takeover_after(lab: &Lab, t: Instant, within: Duration, log: &Proc) -> Duration {
    assert!(wait_until(within, || holds(lab, 1)), "no takeover within {within:?}:\n{}", log.log());
    t.elapsed()
}

/// Wait until the backup has followed the master long enough for the baseline probe.
fn settled(b: &Proc) {
    assert!(b.wait_log("advert from 198.18.0.1", Duration::from_secs(5)), "{}", b.log());
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn a_master_whose_host_is_gone_is_replaced_before_master_down_interval() {
    // Cable cut with every process killed, then with the processes frozen (a hung VM).
    for frozen in [false, true] {
        let lab = Lab::new(3);
        let (a, b) = pair(&lab, &[]);
        settled(&b);
        let ping = lab.host(2).ping(VIP);
        assert!(ping.wait_replies(20, Duration::from_secs(5)), "no replies from the VIP (frozen {frozen})");
        let t = Instant::now();
        if frozen {
            a.signal(Signal::SIGSTOP);
        } else {
            lab.host(0).kill_all();
        }
        lab.cut(0);
        let took = takeover_after(&lab, t, MDI_100, &b);
        eprintln!("host gone (frozen {frozen}): VIP on the backup after {took:?}");
        // 1.2 intervals + the round (0.1 s) + ordering (0.15 s) after the last advert.
        assert!(took < Duration::from_millis(1600), "{took:?} (Master_Down_Interval is {MDI_100:?})\n{}", b.log());
        assert!(b.log().contains("probing its host (early failover)"), "{}", b.log());
        assert!(b.log().contains("taking over before Master_Down_Interval (early failover)"), "{}", b.log());
        let s = b.status();
        assert_eq!((s.early_takeovers, s.early_refuted), (1, 0), "{s:?}");
        assert!(ping.wait_replies(ping.replies().len() + 20, Duration::from_secs(5)), "the client never came back");
        if frozen {
            a.signal(Signal::SIGCONT);
        }
    }
}

#[test]
fn a_dead_daemon_on_a_live_host_is_replaced_at_master_down_interval() {
    let lab = Lab::new(2);
    let (mut a, b) = pair(&lab, &[]);
    settled(&b);
    let t = Instant::now();
    a.signal(Signal::SIGKILL);
    assert!(a.wait_exit(Duration::from_secs(2)).is_some());
    let took = takeover_after(&lab, t, MDI_100 + Duration::from_secs(2), &b);
    eprintln!("daemon killed, host alive: VIP on the backup after {took:?}");
    assert!(took > Duration::from_millis(2800), "took over early although the host answers: {took:?}\n{}", b.log());
    assert!(b.log().contains("198.18.0.1's host answers: waiting for Master_Down_Interval"), "{}", b.log());
    assert!(b.log().contains("-> MASTER: no advert from 198.18.0.1 for"), "{}", b.log());
    assert_eq!(b.status().early_takeovers, 0);
}

/// Every third advert of the master dropped at the backup (nftables in its namespace; never
/// two in a row, so the RFC timer never runs out): adverts are late again and again, every
/// round is answered, nothing moves.
#[test]
fn lost_adverts_with_a_live_master_never_take_over_early() {
    let lab = Lab::new(2);
    let (a, b) = pair(&lab, &[]);
    settled(&b);
    let h = lab.host(1);
    h.must(&["nft", "add", "table", "inet", "lossy"]);
    h.must(&["nft", "add chain inet lossy input { type filter hook input priority 0; }"]);
    h.must(&["nft", "add rule inet lossy input ip protocol vrrp numgen inc mod 3 == 0 drop"]);
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        assert!(holds(&lab, 0) && !holds(&lab, 1), "the VIP moved:\n{}", b.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let rounds = b.log().matches("probing its host (early failover)").count();
    eprintln!("{rounds} probe rounds in 20 s, none taken over");
    assert!(rounds >= 4, "adverts were seldom late: the test tested nothing\n{}", b.log());
    assert_eq!(b.status().early_takeovers, 0);
    assert!(!a.log().contains("MASTER -> BACKUP"), "{}", a.log());
}

#[test]
fn the_off_switch_leaves_failover_to_the_rfc_timer() {
    let lab = Lab::new(2);
    let off = [("KEEPVIP_EARLY_FAILOVER", "false")];
    let (_a, b) = pair(&lab, &off);
    settled(&b);
    let t = Instant::now();
    lab.host(0).kill_all();
    lab.cut(0);
    let took = takeover_after(&lab, t, MDI_100 + Duration::from_secs(1), &b);
    assert!(took > Duration::from_millis(2800), "{took:?}");
    assert!(!b.log().contains("early failover"), "{}", b.log());
}

/// Beside keepalived: keepalived is the master, keepvip the backup; only our timing changes.
/// Multicast, so the probe is for the master's source in the group's adverts.
#[test]
fn a_keepvip_backup_replaces_a_dead_keepalived_master_early_multicast() {
    let lab = Lab::new(2);
    let ka = keepalived::spawn(lab.host(0), &env_for(&[], VIP, 200, &[]));
    assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{}", ka.log());
    let b = lab.host(1).spawn_keepvip(&env_for(&[], VIP, 100, &[]));
    settled(&b);
    let t = Instant::now();
    lab.host(0).kill_all();
    lab.cut(0);
    let took = takeover_after(&lab, t, MDI_100, &b);
    eprintln!("keepalived master gone: keepvip took over after {took:?}");
    assert!(took < Duration::from_millis(1600), "{took:?}\n{}", b.log());
}

/// IPv6: the probe is a neighbour solicitation for the master's link-local source.
#[test]
fn ipv6_a_master_whose_host_is_gone_is_replaced_early() {
    let lab = Lab::new(2);
    let vip6 = "2001:db8::100";
    for i in 0..2 {
        lab.host(i).must(&["ip", "-6", "addr", "add", &format!("2001:db8::{}/64", i + 1), "dev", "eth0", "nodad"]);
    }
    let env = |prio| env_for(&[], vip6, prio, &[]);
    let a = lab.host(0).spawn_keepvip(&env(200));
    assert!(wait_until(Duration::from_secs(6), || lab.host(0).has_addr(vip6)), "{}", a.log());
    let b = lab.host(1).spawn_keepvip(&env(100));
    assert!(b.wait_log("-> BACKUP", Duration::from_secs(3)), "{}", b.log());
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    lab.host(0).kill_all();
    lab.cut(0);
    assert!(wait_until(MDI_100, || lab.host(1).has_addr(vip6)), "{}", b.log());
    let took = t.elapsed();
    eprintln!("IPv6 host gone: {took:?}");
    assert!(took < Duration::from_millis(1600), "{took:?}\n{}", b.log());
    assert!(b.log().contains("(early failover)"), "{}", b.log());
}

/// Three instances follow one master: each round sends one probe per master address, not
/// one per instance, and all three take over early.
#[test]
fn many_instances_share_one_probe_per_master_address() {
    let lab = Lab::new(2);
    let conf = |prio: u32, me: &str, peer: &str| {
        let mut t = String::new();
        for k in 0..3 {
            t += &format!(
                "vrrp_instance V{k} {{\n state BACKUP\n interface eth0\n virtual_router_id {}\n priority {prio}\n advert_int 1\n nopreempt\n unicast_src_ip {me}\n unicast_peer {{\n  {peer}\n }}\n virtual_ipaddress {{\n  198.18.1.{}/32\n }}\n}}\n",
                60 + k,
                10 + k
            );
        }
        t
    };
    let a = Impl::Keepvip.spawn_conf(lab.host(0), &conf(200, PEERS[0], PEERS[1]));
    let all = |i: usize| (0..3).all(|k| lab.host(i).has_addr(&format!("198.18.1.{}", 10 + k)));
    assert!(wait_until(Duration::from_secs(6), || all(0)), "{}", a.log());
    let b = Impl::Keepvip.spawn_conf(lab.host(1), &conf(100, PEERS[1], PEERS[0]));
    assert!(b.wait_log("(V2) INIT -> BACKUP", Duration::from_secs(3)), "{}", b.log());
    std::thread::sleep(Duration::from_millis(1500));
    let arp = lab.host(1).capture(&[], "arp and arp[24:4] = 0xc6120001", 1000);
    let t = Instant::now();
    lab.host(0).kill_all();
    lab.cut(0);
    assert!(wait_until(MDI_100, || all(1)), "{}", b.log());
    let took = t.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    let frames = arp.so_far();
    // Each probe names the three instances in its target hardware address: (VRID 60,
    // priority 100), (61, 100), (62, 100).
    let probes = frames.lines().filter(|l| l.contains("who-has 198.18.0.1 (3c:64:3d:64:3e:64) tell 0.0.0.0")).count();
    eprintln!("3 instances: {probes} probes, all VIPs after {took:?}");
    assert!(took < Duration::from_millis(1600), "{took:?}\n{}", b.log());
    assert!((3..=4).contains(&probes), "one round of 3 probes for the 3 instances, got {probes}:\n{frames}");
    assert_eq!(b.log().matches("taking over before Master_Down_Interval").count(), 3, "{}", b.log());
}

/// Three nodes, as a swarm deploys them (priorities 200, 190, 180, nopreempt, one peer
/// list): the master's cable is cut and only the second node takes over; the third hears
/// it within the ordering delay and never claims the VIP, not even for a millisecond.
#[test]
fn of_two_backups_only_the_higher_takes_over_early() {
    let peers = ["198.18.0.1", "198.18.0.2", "198.18.0.3"];
    for round in 0..3 {
        let lab = Lab::new(3);
        let p: Vec<Proc> =
            (0..3).map(|i| lab.host(i).spawn_keepvip(&env_for(&peers, VIP, 200 - 10 * i as u32, &[]))).collect();
        assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{}", p[0].log());
        assert!(p[2].wait_log("advert from 198.18.0.1", Duration::from_secs(5)), "{}", p[2].log());
        std::thread::sleep(Duration::from_millis(1500));
        let t = Instant::now();
        lab.cut(0);
        let took = takeover_after(&lab, t, MDI_100, &p[1]);
        assert!(took < Duration::from_millis(1600), "round {round}: {took:?}\n{}", p[1].log());
        assert!(p[2].wait_log("advert from 198.18.0.2", Duration::from_secs(2)), "{}", p[2].log());
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !p[2].log().contains("-> MASTER"),
            "round {round}: the third node took over too:\n{}\n{}",
            p[2].log(),
            p[1].log()
        );
        assert_eq!(p[2].status().early_takeovers, 0);
    }
}

/// The same three nodes with multicast adverts, and the 190 node never gets an ARP answer
/// from the master's host (its baseline is unproven, so it waits for Master_Down_Interval):
/// the 180 node hears the 190 node's probes, which name it, and leaves it the takeover —
/// the VIP goes where the RFC timer would put it, not to the lowest node with proof.
#[test]
fn a_backup_outranked_by_a_prober_leaves_it_the_takeover_even_when_it_waits() {
    let lab = Lab::new(3);
    lab.block_arp(0, 1, true);
    let p: Vec<Proc> =
        (0..3).map(|i| lab.host(i).spawn_keepvip(&env_for(&[], VIP, 200 - 10 * i as u32, &[]))).collect();
    assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{}", p[0].log());
    assert!(p[2].wait_log("advert from 198.18.0.1", Duration::from_secs(5)), "{}", p[2].log());
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    lab.cut(0);
    let mdi_190 = Duration::from_micros(3_257_812);
    let took = takeover_after(&lab, t, mdi_190 + Duration::from_secs(1), &p[1]);
    eprintln!("unproven 190 node took over after {took:?}");
    assert!(p[1].log().contains("never answered a probe"), "{}", p[1].log());
    assert!(p[2].wait_log("advert from 198.18.0.2", Duration::from_secs(2)), "{}", p[2].log());
    assert!(p[2].log().contains("probes it too: leaving it the takeover"), "{}", p[2].log());
    assert!(!p[2].log().contains("-> MASTER"), "the 180 node took over:\n{}\n{}", p[2].log(), p[1].log());
    assert!(holds(&lab, 1) && !holds(&lab, 2));
}
