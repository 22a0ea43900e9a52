//! Every RFC / keepalived rule on a simulated clock, then a simulated network of 2–5 nodes.

use super::*;
use crate::vrrp::{Decision, Fault, Received};
use crate::wire::vrrp::{self as wire, encode_addrs, AddrList, Pseudo, Repr};
use proptest::prelude::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const ME: &str = "198.18.0.1";
const PEER: &str = "198.18.0.2";
const VIP: &str = "198.18.0.100";

fn params(priority: u8) -> Params {
    Params {
        version: 2,
        vrid: 51,
        priority,
        advert_int_cs: 100,
        preempt: false,
        preempt_delay: Duration::ZERO,
        start_as_master: false,
        auth: Auth::pass("d0cker"),
        family: Family::V4,
        advert_source: Some(ip(ME)),
        peers: vec![ip(PEER)],
        check_unicast_src: true,
        unicast_min_ttl: 255,
        own: vec![ip(ME)],
        advertised: encode_addrs([ip(VIP)]),
        skip_check_adv_addr: false,
        early_failover: false,
        down_timer_adverts: 3,
        startup_delay: Duration::ZERO,
        lower_prio_no_advert: false,
        higher_prio_send_advert: false,
        garp_delay: Duration::from_secs(5),
        garp_lower_prio: Some(Duration::from_secs(5)),
        first_hold: Duration::ZERO,
    }
}

/// An advert as `p` would send it with `priority`.
fn advert_from(p: &Params, priority: u8, dst: IpAddr) -> Vec<u8> {
    let r = Repr {
        version: p.version,
        vrid: p.vrid,
        priority,
        interval_cs: p.advert_int_cs,
        auth: p.auth,
        addrs: AddrList::new(p.family, &p.advertised).unwrap(),
    };
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut b, Pseudo::Ip { src: p.advert_source.unwrap(), dst });
    b
}

fn peer_advert(priority: u8) -> Vec<u8> {
    let mut p = params(priority);
    p.advert_source = Some(ip(PEER));
    advert_from(&p, priority, ip(ME))
}

fn rx(i: &mut Instance, bytes: &[u8], src: &str, now: Instant) -> Result<(), Rejected> {
    i.receive(Received { src: ip(src), dst: ip(ME), ttl: 255, payload: bytes }, now)
}

/// The actions that do something (decisions are log lines; `decisions` checks those).
fn drain(i: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| i.poll_action()).filter(|a| !matches!(a, Action::Decided(_))).collect()
}

fn decisions(i: &mut Instance) -> Vec<Decision> {
    std::iter::from_fn(|| i.poll_action())
        .filter_map(|a| if let Action::Decided(d) = a { Some(d) } else { None })
        .collect()
}

fn started(p: Params, t0: Instant) -> Instance {
    let mut i = Instance::new(p);
    i.handle(Event::Start, t0);
    drain(&mut i);
    i
}

/// Fire every deadline up to `until`.
fn run_until(i: &mut Instance, until: Instant) -> Vec<Action> {
    let mut out = vec![];
    while let Some(d) = i.next_deadline().filter(|d| *d <= until) {
        i.handle(Event::Timeout, d);
        out.extend(drain(i));
    }
    out
}

fn master(p: Params, t0: Instant) -> Instance {
    let mut i = started(p, t0);
    let mdi = i.master_down_interval();
    run_until(&mut i, t0 + mdi);
    assert_eq!(i.state(), State::Master);
    i
}

fn sends(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| if let Action::SendAdvert { priority } = a { Some(*priority) } else { None })
        .collect()
}

#[test]
fn priority_255_is_master_at_once_advert_first() {
    let t0 = Instant::now();
    let mut i = Instance::new(params(255));
    i.handle(Event::Start, t0);
    let a = drain(&mut i);
    assert!(matches!(a[0], Action::Transition { from: State::Init, to: State::Master, reason: Reason::Owner }));
    assert_eq!(&a[1..], &[Action::SendAdvert { priority: 255 }, Action::AddVips, Action::Gratuitous]);
    assert_eq!(i.next_deadline(), Some(t0 + Duration::from_secs(1)));
}

#[test]
fn backup_becomes_master_after_master_down_interval() {
    let t0 = Instant::now();
    let mut i = started(params(100), t0);
    assert_eq!(i.state(), State::Backup);
    let mdi = Duration::from_micros(3_609_375);
    assert_eq!(i.next_deadline(), Some(t0 + mdi));
    assert!(run_until(&mut i, t0 + mdi - Duration::from_micros(1)).is_empty());
    let a = run_until(&mut i, t0 + mdi);
    assert!(matches!(a[0], Action::Transition { to: State::Master, reason: Reason::MasterDown { .. }, .. }));
    assert_eq!(&a[1..], &[Action::SendAdvert { priority: 100 }, Action::AddVips, Action::Gratuitous]);
}

/// keepalived's `down_timer_adverts 1`: the master is down after one missed advert + skew.
#[test]
fn down_timer_adverts_set_how_many_adverts_a_backup_misses() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.down_timer_adverts = 1;
    let mut i = started(p, t0);
    let mdi = Duration::from_micros(1_609_375);
    assert_eq!(i.next_deadline(), Some(t0 + mdi));
    assert!(run_until(&mut i, t0 + mdi - Duration::from_micros(1)).is_empty());
    let a = run_until(&mut i, t0 + mdi);
    assert!(matches!(a[0], Action::Transition { to: State::Master, .. }), "{a:?}");
}

#[test]
fn state_master_below_255_waits_one_interval_plus_skew() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.start_as_master = true;
    let i = started(p, t0);
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.next_deadline(), Some(t0 + Duration::from_micros(1_003_906)));
}

#[test]
fn backup_resets_its_timer_on_adverts() {
    let t0 = Instant::now();
    let mut i = started(params(100), t0);
    let t1 = t0 + Duration::from_secs(3);
    rx(&mut i, &peer_advert(200), PEER, t1).unwrap();
    assert_eq!(i.next_deadline(), Some(t1 + Duration::from_micros(3_609_375)));
    assert_eq!(i.last_master(), Some(ip(PEER)));
}

#[test]
fn backup_nopreempt_accepts_a_lower_priority_master() {
    let t0 = Instant::now();
    let mut i = started(params(200), t0);
    let t1 = t0 + Duration::from_secs(3);
    rx(&mut i, &peer_advert(100), PEER, t1).unwrap();
    assert_eq!(i.next_deadline(), Some(t1 + Duration::from_micros(3_218_750)));
    run_until(&mut i, t1 + Duration::from_secs(3));
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn backup_with_preempt_ignores_lower_priority_and_takes_over() {
    let t0 = Instant::now();
    let mut p = params(200);
    p.preempt = true;
    let mut i = started(p, t0);
    let deadline = i.next_deadline();
    rx(&mut i, &peer_advert(100), PEER, t0 + Duration::from_secs(1)).unwrap();
    assert_eq!(i.next_deadline(), deadline, "ignored: the timer keeps running");
    run_until(&mut i, deadline.unwrap());
    assert_eq!(i.state(), State::Master);
}

#[test]
fn preempt_delay_holds_off_preemption() {
    let t0 = Instant::now();
    let mut p = params(200);
    p.preempt = true;
    p.preempt_delay = Duration::from_secs(10);
    let mut i = started(p, t0);
    // Lower-priority adverts every second are accepted for 10 s, then ignored.
    let mut t = t0;
    for _ in 0..9 {
        t += Duration::from_secs(1);
        rx(&mut i, &peer_advert(100), PEER, t).unwrap();
        run_until(&mut i, t);
    }
    assert_eq!(i.state(), State::Backup);
    for _ in 0..6 {
        t += Duration::from_secs(1);
        rx(&mut i, &peer_advert(100), PEER, t).unwrap();
        run_until(&mut i, t);
    }
    assert_eq!(i.state(), State::Master, "preempted once the delay passed");
}

#[test]
fn priority_zero_makes_backup_wait_only_skew_time_with_several_peers() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.peers = vec![ip(PEER), ip("198.18.0.3")];
    let mut i = started(p, t0);
    let t1 = t0 + Duration::from_secs(1);
    rx(&mut i, &peer_advert(0), PEER, t1).unwrap();
    assert_eq!(i.next_deadline(), Some(t1 + Duration::from_micros(609_375)));
}

#[test]
fn priority_zero_from_the_only_peer_means_take_over_now() {
    let t0 = Instant::now();
    let mut i = started(params(100), t0);
    rx(&mut i, &peer_advert(0), PEER, t0 + Duration::from_secs(1)).unwrap();
    assert_eq!(i.state(), State::Master);
    let a = drain(&mut i);
    assert!(matches!(a[0], Action::Transition { reason: Reason::MasterResigned { .. }, .. }));
    assert_eq!(a[1], Action::SendAdvert { priority: 100 });
}

#[test]
fn multicast_priority_zero_waits_skew_time() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.peers.clear();
    let mut i = started(p, t0);
    let t1 = t0 + Duration::from_secs(1);
    rx(&mut i, &peer_advert(0), PEER, t1).unwrap();
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.next_deadline(), Some(t1 + Duration::from_micros(609_375)));
}

#[test]
fn master_sends_adverts_every_interval() {
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    let t1 = i.next_deadline().unwrap();
    let a = run_until(&mut i, t1 + Duration::from_millis(2500));
    assert_eq!(sends(&a), [200, 200, 200]);
}

/// keepalived's master on a lower priority's advert: answers, announces now and again
/// `garp_lower_prio_delay` later (its own schedule, not the takeover's); repeat 0: never.
#[test]
fn a_lower_priority_advert_is_announced_over_now_and_after_the_lower_prio_delay() {
    let t0 = Instant::now();
    let mut p = params(200);
    p.garp_delay = Duration::ZERO;
    p.garp_lower_prio = Some(Duration::from_secs(2));
    let mut i = master(p.clone(), t0);
    drain(&mut i);
    let t1 = t0 + Duration::from_secs(4);
    rx(&mut i, &peer_advert(100), PEER, t1).unwrap();
    let a = drain(&mut i);
    assert_eq!(i.state(), State::Master);
    assert_eq!(a.iter().filter(|a| **a == Action::GratuitousLowerPrio).count(), 1, "{a:?}");
    assert!(!a.contains(&Action::Gratuitous), "{a:?}");
    let a = run_until(&mut i, t1 + Duration::from_millis(1900));
    assert!(!a.contains(&Action::GratuitousLowerPrio), "{a:?}");
    let a = run_until(&mut i, t1 + Duration::from_millis(2100));
    assert_eq!(a.iter().filter(|a| **a == Action::GratuitousLowerPrio).count(), 1, "{a:?}");
    // garp_lower_prio_repeat 0: the advert is answered, nothing announced.
    p.garp_lower_prio = None;
    let mut i = master(p, t0);
    drain(&mut i);
    rx(&mut i, &peer_advert(100), PEER, t1).unwrap();
    let a = run_until(&mut i, t1 + Duration::from_secs(10));
    assert!(!a.iter().any(|a| matches!(a, Action::GratuitousLowerPrio | Action::Gratuitous)), "{a:?}");
    assert!(sends(&a).contains(&200));
}

#[test]
fn master_repeats_gratuitous_arp_after_5_s() {
    let t0 = Instant::now();
    let mut i = started(params(200), t0);
    let a = run_until(&mut i, t0 + Duration::from_secs(4));
    assert_eq!(a.iter().filter(|a| **a == Action::Gratuitous).count(), 1);
    let a = run_until(&mut i, t0 + Duration::from_secs(9));
    assert_eq!(a.iter().filter(|a| **a == Action::Gratuitous).count(), 1);
    let a = run_until(&mut i, t0 + Duration::from_secs(20));
    assert_eq!(a.iter().filter(|a| **a == Action::Gratuitous).count(), 0);
    // garp_master_delay 0: one announcement only.
    let mut p = params(200);
    p.garp_delay = Duration::ZERO;
    let mut i = started(p, t0);
    let a = run_until(&mut i, t0 + Duration::from_secs(20));
    assert_eq!(a.iter().filter(|a| **a == Action::Gratuitous).count(), 1);
}

#[test]
fn master_yields_to_higher_priority_and_removes_vips() {
    let t0 = Instant::now();
    let mut i = master(params(100), t0);
    let t1 = t0 + Duration::from_secs(5);
    rx(&mut i, &peer_advert(200), PEER, t1).unwrap();
    let a = drain(&mut i);
    assert_eq!(a[0], Action::RemoveVips);
    assert!(matches!(a[1], Action::Transition { from: State::Master, to: State::Backup, .. }));
    assert_eq!(i.next_deadline(), Some(t1 + Duration::from_micros(3_609_375)));
}

#[test]
fn equal_priority_higher_address_wins() {
    let t0 = Instant::now();
    // We are .1, the peer .2 is higher: we yield.
    let mut i = master(params(150), t0);
    rx(&mut i, &peer_advert(150), PEER, t0 + Duration::from_secs(5)).unwrap();
    assert_eq!(i.state(), State::Backup);
    // We are .3, the peer .2 is lower: we answer with an advert at once and stay.
    let mut p = params(150);
    p.advert_source = Some(ip("198.18.0.3"));
    p.own = vec![ip("198.18.0.3")];
    let mut i = master(p, t0);
    drain(&mut i);
    rx(&mut i, &peer_advert(150), PEER, t0 + Duration::from_secs(5)).unwrap();
    assert_eq!(i.state(), State::Master);
    assert_eq!(sends(&drain(&mut i)), [150]);
}

/// keepalived's `lower_prio_no_advert` (strict mode's default): a lower priority's claim
/// is not answered at once (priority 0 still is); the regular advert comes on schedule and
/// notify_master_rx_lower_pri still runs.
#[test]
fn lower_prio_no_advert_leaves_the_answer_to_the_next_regular_advert() {
    let t0 = Instant::now();
    let mut p = params(200);
    p.lower_prio_no_advert = true;
    p.garp_lower_prio = None;
    let mut i = master(p, t0);
    drain(&mut i);
    let due = i.next_deadline().unwrap();
    let t1 = due - Duration::from_millis(500);
    rx(&mut i, &peer_advert(100), PEER, t1).unwrap();
    let a = drain(&mut i);
    assert_eq!(sends(&a), [] as [u8; 0], "{a:?}");
    assert!(a.iter().any(|a| matches!(a, Action::ForcedElection { priority: 100, .. })), "{a:?}");
    assert_eq!(i.next_deadline(), Some(due), "the advert timer is not moved");
    rx(&mut i, &peer_advert(0), PEER, t1).unwrap();
    assert_eq!(sends(&drain(&mut i)), [200], "priority 0 is answered at once");
}

/// keepalived's `higher_prio_send_advert`: one advert of ours, then step down.
#[test]
fn higher_prio_send_advert_sends_one_advert_before_stepping_down() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.higher_prio_send_advert = true;
    let mut i = master(p, t0);
    drain(&mut i);
    rx(&mut i, &peer_advert(200), PEER, t0 + Duration::from_secs(5)).unwrap();
    let a = drain(&mut i);
    assert_eq!(sends(&a), [100], "{a:?}");
    assert_eq!(i.state(), State::Backup);
    // Without it, nothing is sent.
    let mut i = master(params(100), t0);
    drain(&mut i);
    rx(&mut i, &peer_advert(200), PEER, t0 + Duration::from_secs(5)).unwrap();
    assert_eq!(sends(&drain(&mut i)), [] as [u8; 0]);
}

#[test]
fn master_answers_lower_priority_and_priority_zero_at_once() {
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    let t1 = t0 + Duration::from_millis(5500);
    for prio in [100, 0] {
        rx(&mut i, &peer_advert(prio), PEER, t1).unwrap();
        assert_eq!(sends(&drain(&mut i)), [200], "priority {prio}");
        assert_eq!(i.state(), State::Master);
        assert_eq!(i.next_deadline().unwrap().max(t1 + Duration::from_secs(1)), t1 + Duration::from_secs(1));
    }
}

#[test]
fn v3_backup_learns_the_masters_interval() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.version = 3;
    p.auth = Auth::None;
    let mut i = started(p.clone(), t0);
    let mut theirs = p.clone();
    theirs.advert_source = Some(ip(PEER));
    theirs.advert_int_cs = 10;
    let b = advert_from(&theirs, 200, ip(ME));
    rx(&mut i, &b, PEER, t0).unwrap();
    assert_eq!(i.master_adv_int(), Duration::from_millis(100));
    assert_eq!(i.next_deadline(), Some(t0 + Duration::from_micros(360_937)));
}

#[test]
fn shutdown_as_master_keeps_vips_until_the_successor_advertises() {
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    drain(&mut i);
    let t1 = t0 + Duration::from_secs(10);
    i.handle(Event::Shutdown, t1);
    assert_eq!(drain(&mut i), [Action::SendAdvert { priority: 0 }]);
    assert_eq!(i.state(), State::Master, "VIPs stay while nobody else has them");
    // Still resigning at the next interval: priority 0 again.
    assert_eq!(sends(&run_until(&mut i, t1 + Duration::from_secs(1))), [0]);
    rx(&mut i, &peer_advert(100), PEER, t1 + Duration::from_millis(1200)).unwrap();
    let a = drain(&mut i);
    assert_eq!(a[0], Action::HandOverVips { to: PEER.parse().unwrap() });
    assert!(matches!(a[1], Action::Transition { to: State::Stopped, reason: Reason::SuccessorTookOver { .. }, .. }));
    assert!(i.is_stopped());
}

#[test]
fn shutdown_without_successor_is_bounded() {
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    let t1 = t0 + Duration::from_secs(10);
    i.handle(Event::Shutdown, t1);
    drain(&mut i);
    let a = run_until(&mut i, t1 + Duration::from_secs(10));
    assert!(a.contains(&Action::RemoveVips));
    assert!(i.is_stopped());
    assert!(a.iter().any(|a| matches!(a, Action::Transition { reason: Reason::NoSuccessor, .. })));

    // A 255 s VRRPv2 interval would give a 12 min bound: capped inside Docker's 10 s.
    let mut p = params(200);
    p.advert_int_cs = 25500;
    let mut i = master(p, t0);
    let t1 = t0 + Duration::from_secs(1000);
    i.handle(Event::Shutdown, t1);
    assert!(i.next_deadline().unwrap() <= t1 + Duration::from_secs(4));
}

#[test]
fn a_failing_check_hands_over_make_before_break_into_fault() {
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    drain(&mut i);
    let t1 = t0 + Duration::from_secs(10);
    i.handle(Event::Fault(Fault::Check), t1);
    assert_eq!(drain(&mut i), [Action::SendAdvert { priority: 0 }], "VIPs kept, nothing else");
    assert_eq!(i.state(), State::Master);
    assert_eq!(sends(&run_until(&mut i, t1 + Duration::from_secs(1))), [0], "still priority 0");
    rx(&mut i, &peer_advert(100), PEER, t1 + Duration::from_millis(1100)).unwrap();
    let a = drain(&mut i);
    assert_eq!(a[0], Action::HandOverVips { to: PEER.parse().unwrap() });
    assert!(matches!(a[1], Action::Transition { to: State::Fault, reason: Reason::SuccessorTookOver { .. }, .. }));
    // Not stopped: healthy again means BACKUP.
    i.handle(Event::Recovered, t1 + Duration::from_secs(5));
    assert!(matches!(drain(&mut i)[..], [Action::Transition { to: State::Backup, .. }]));

    // Nobody takes over (every node failing): bounded, then FAULT with the VIPs gone.
    let mut i = master(params(200), t0);
    i.handle(Event::Fault(Fault::Check), t1);
    drain(&mut i);
    let a = run_until(&mut i, t1 + Duration::from_secs(10));
    assert!(a.contains(&Action::RemoveVips));
    assert_eq!(i.state(), State::Fault);
    assert!(a.iter().any(|a| matches!(a, Action::Transition { reason: Reason::NoSuccessor, .. })));
}

#[test]
fn a_check_that_recovers_before_a_successor_keeps_the_mastership() {
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    let t1 = t0 + Duration::from_secs(10);
    i.handle(Event::Fault(Fault::Check), t1);
    drain(&mut i);
    i.handle(Event::Recovered, t1 + Duration::from_millis(300));
    assert_eq!(drain(&mut i), [Action::SendAdvert { priority: 200 }]);
    assert_eq!(sends(&run_until(&mut i, t1 + Duration::from_secs(20))).iter().filter(|p| **p == 0).count(), 0);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn link_faults_still_drop_at_once_even_while_handing_over() {
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    let t1 = t0 + Duration::from_secs(10);
    i.handle(Event::Fault(Fault::Check), t1);
    drain(&mut i);
    i.handle(Event::Fault(Fault::LinkDown), t1 + Duration::from_millis(10));
    let a = drain(&mut i);
    assert_eq!(a[0], Action::RemoveVips);
    assert_eq!(i.state(), State::Fault);
    // A shutdown during a check handover ends in STOP, never FAULT.
    let mut i = master(params(200), t0);
    i.handle(Event::Fault(Fault::Check), t1);
    i.handle(Event::Shutdown, t1 + Duration::from_millis(10));
    drain(&mut i);
    run_until(&mut i, t1 + Duration::from_secs(10));
    assert!(i.is_stopped());
}

#[test]
fn a_priority_change_is_advertised_at_once_and_lets_a_preempting_backup_win() {
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    drain(&mut i);
    let t1 = t0 + Duration::from_millis(10_500);
    i.handle(Event::Priority(150), t1);
    assert_eq!(drain(&mut i), [Action::SendAdvert { priority: 150 }]);
    assert_eq!(i.priority(), 150);
    // A peer at 180 now wins.
    rx(&mut i, &peer_advert(180), PEER, t1 + Duration::from_millis(1)).unwrap();
    assert_eq!(i.state(), State::Backup);
    // A backup with preempt whose priority rises above the master's stops accepting it.
    let mut p = params(100);
    p.preempt = true;
    let mut b = started(p, t0);
    rx(&mut b, &peer_advert(150), PEER, t0 + Duration::from_millis(500)).unwrap();
    b.handle(Event::Priority(160), t0 + Duration::from_millis(600));
    assert!(drain(&mut b).is_empty(), "a backup sends nothing");
    rx(&mut b, &peer_advert(150), PEER, t0 + Duration::from_millis(1500)).unwrap();
    run_until(&mut b, t0 + Duration::from_secs(6));
    assert_eq!(b.state(), State::Master);
    // The owner's priority never moves; 0 and 255 are never taken.
    let mut o = Instance::new(params(255));
    o.handle(Event::Priority(100), t0);
    assert_eq!(o.priority(), 255);
    let mut x = started(params(100), t0);
    x.handle(Event::Priority(0), t0);
    x.handle(Event::Priority(255), t0);
    assert_eq!(x.priority(), 100);
}

#[test]
fn the_first_takeover_is_held_back_until_an_advert_is_heard() {
    let t0 = Instant::now();
    let mut p = params(190);
    p.first_hold = Duration::from_secs(1);
    let mdi = timers::master_down_interval(2, 190, 100, 3);
    let mut i = started(p.clone(), t0);
    assert_eq!(i.next_deadline(), Some(t0 + mdi + Duration::from_secs(1)));
    // An advert heard: from then on the RFC's interval alone.
    let t1 = t0 + Duration::from_millis(500);
    rx(&mut i, &peer_advert(200), PEER, t1).unwrap();
    assert_eq!(i.next_deadline(), Some(t1 + mdi));
    // After a fault the hold is not applied again (a master was heard since start).
    let mut i = started(p, t0);
    i.handle(Event::Fault(Fault::LinkDown), t0);
    i.handle(Event::Recovered, t1);
    assert_eq!(i.next_deadline(), Some(t1 + mdi));
}

fn resumed(p: Params, t0: Instant) -> (Instance, Vec<Action>) {
    let mut i = Instance::new(p);
    i.handle(Event::Resume, t0);
    let a = drain(&mut i);
    (i, a)
}

#[test]
fn resuming_without_a_master_keeps_the_vips_and_becomes_master_after_one_interval() {
    let t0 = Instant::now();
    let (mut i, a) = resumed(params(200), t0);
    assert!(matches!(a[..], [Action::Transition { to: State::Backup, reason: Reason::StartupHolding { .. }, .. }]));
    let listen = Duration::from_secs(1) + timers::skew_time(2, 200, 100);
    assert_eq!(i.next_deadline(), Some(t0 + listen));
    let a = run_until(&mut i, t0 + listen);
    assert!(!a.contains(&Action::RemoveVips), "{a:?}");
    assert!(matches!(a[0], Action::Transition { to: State::Master, reason: Reason::Resumed { .. }, .. }), "{a:?}");
    assert_eq!(&a[1..], &[Action::SendAdvert { priority: 200 }, Action::AddVips, Action::Gratuitous]);
}

#[test]
fn resuming_and_hearing_a_master_removes_the_stale_vips_once() {
    let t0 = Instant::now();
    let (mut i, _) = resumed(params(200), t0);
    let t1 = t0 + Duration::from_millis(300);
    rx(&mut i, &peer_advert(100), PEER, t1).unwrap();
    let a = drain(&mut i);
    assert_eq!(a, [Action::RemoveVips]);
    assert_eq!(i.state(), State::Backup);
    // An ordinary backup now: the master's next advert removes nothing more.
    rx(&mut i, &peer_advert(100), PEER, t1 + Duration::from_secs(1)).unwrap();
    assert!(drain(&mut i).is_empty());
    assert_eq!(i.next_deadline(), Some(t1 + Duration::from_secs(1) + i.master_down_interval()));
}

#[test]
fn resuming_and_told_another_host_answers_for_a_vip_removes_them_and_waits_for_the_master() {
    let t0 = Instant::now();
    let vip: IpAddr = "198.18.0.100".parse().unwrap();
    let (mut i, _) = resumed(params(200), t0);
    assert!(i.is_resuming());
    let t1 = t0 + Duration::from_millis(3);
    i.handle(Event::HeldElsewhere(vip), t1);
    assert_eq!(drain(&mut i), [Action::RemoveVips]);
    assert!(!i.is_resuming());
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.next_deadline(), Some(t1 + i.master_down_interval()));
    // Once only; and never outside resuming (a master does not drop its VIPs for it).
    i.handle(Event::HeldElsewhere(vip), t1);
    assert!(drain(&mut i).is_empty());
    let mut m = master(params(200), t0);
    drain(&mut m);
    m.handle(Event::HeldElsewhere(vip), t1);
    assert!(drain(&mut m).is_empty());
    assert_eq!(m.state(), State::Master);
    let mut b = started(params(100), t0);
    drain(&mut b);
    b.handle(Event::HeldElsewhere(vip), t1);
    assert!(drain(&mut b).is_empty());
}

#[test]
fn sync_group_events_move_a_backup_to_master_and_a_master_to_backup_only() {
    let t0 = Instant::now();
    let mut b = started(params(100), t0);
    drain(&mut b);
    b.handle(Event::SyncMaster, t0);
    let a = drain(&mut b);
    assert!(matches!(a[0], Action::Transition { to: State::Master, reason: Reason::SyncGroup, .. }), "{a:?}");
    assert!(a.contains(&Action::AddVips) && a.contains(&Action::Gratuitous));
    // A master following its group down removes its VIPs and waits as a backup.
    b.handle(Event::SyncBackup, t0 + Duration::from_secs(1));
    let a = drain(&mut b);
    assert_eq!(a[0], Action::RemoveVips);
    assert_eq!(b.state(), State::Backup);
    assert_eq!(b.next_deadline(), Some(t0 + Duration::from_secs(1) + b.master_down_interval()));
    // Ignored elsewhere: a backup told to back up, a fault, a closing instance.
    b.handle(Event::SyncBackup, t0);
    assert!(drain(&mut b).is_empty());
    b.handle(Event::Fault(Fault::LinkDown), t0);
    drain(&mut b);
    b.handle(Event::SyncMaster, t0);
    assert!(drain(&mut b).is_empty());
    let mut c = started(params(100), t0);
    c.handle(Event::Shutdown, t0);
    drain(&mut c);
    c.handle(Event::SyncMaster, t0);
    assert!(!drain(&mut c).contains(&Action::AddVips));
}

#[test]
fn resuming_then_fault_or_shutdown_removes_the_vips() {
    let t0 = Instant::now();
    let (mut i, _) = resumed(params(200), t0);
    i.handle(Event::Fault(Fault::LinkDown), t0);
    assert_eq!(drain(&mut i)[0], Action::RemoveVips);
    assert_eq!(i.state(), State::Fault);
    let (mut i, _) = resumed(params(200), t0);
    i.handle(Event::Shutdown, t0);
    assert_eq!(drain(&mut i)[0], Action::RemoveVips);
    assert!(i.is_stopped());
    // A resigning peer heard while resuming: the VIPs stay, as for any backup it hands to.
    let (mut i, _) = resumed(params(200), t0);
    rx(&mut i, &peer_advert(0), PEER, t0).unwrap();
    assert!(!drain(&mut i).contains(&Action::RemoveVips));
}

#[test]
fn shutdown_as_backup_stops_at_once() {
    let t0 = Instant::now();
    let mut i = started(params(100), t0);
    i.handle(Event::Shutdown, t0);
    assert!(i.is_stopped());
    assert!(!drain(&mut i).contains(&Action::RemoveVips));
}

#[test]
fn link_down_is_fault_and_up_is_backup() {
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    drain(&mut i);
    i.handle(Event::Fault(Fault::LinkDown), t0 + Duration::from_secs(5));
    let a = drain(&mut i);
    assert_eq!(&a[..2], &[Action::SendAdvert { priority: 0 }, Action::RemoveVips]);
    assert_eq!(i.state(), State::Fault);
    assert_eq!(i.next_deadline(), None);
    // Adverts in fault change nothing.
    rx(&mut i, &peer_advert(100), PEER, t0 + Duration::from_secs(6)).unwrap();
    assert_eq!(i.state(), State::Fault);
    let t2 = t0 + Duration::from_secs(7);
    i.handle(Event::Recovered, t2);
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.next_deadline(), Some(t2 + Duration::from_micros(3_218_750)));
}

#[test]
fn decisions_carry_their_numbers_and_a_resign_takeover_says_so() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.peers = vec![ip(PEER), ip("198.18.0.3")];
    let mut i = Instance::new(p);
    i.handle(Event::Start, t0);
    assert_eq!(decisions(&mut i), [Decision::Waiting { master_down: Duration::from_micros(3_609_375) }]);
    rx(&mut i, &peer_advert(200), PEER, t0).unwrap();
    let d = decisions(&mut i);
    assert!(matches!(d[..], [Decision::MasterHeard { priority: 200, preempt_in: None, .. }]), "{d:?}");
    assert_eq!(d[0].to_string(), "advert from 198.18.0.2 (priority 200): master down in 3609.4 ms");
    rx(&mut i, &peer_advert(0), PEER, t0).unwrap();
    let wait = Duration::from_micros(609_375);
    assert_eq!(decisions(&mut i), [Decision::ResignHeard { from: ip(PEER), wait }]);
    let a = run_until(&mut i, t0 + wait);
    assert!(
        matches!(a[0], Action::Transition { to: State::Master, reason: Reason::ResignedNoSuccessor { .. }, .. }),
        "{a:?}"
    );
}

#[test]
fn shutdown_is_sticky_through_fault_and_recovery() {
    // Resigning master, then the link drops, then it comes back: STOPPED, never BACKUP again.
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    drain(&mut i);
    i.handle(Event::Shutdown, t0 + Duration::from_secs(5));
    assert_eq!(sends(&drain(&mut i)), [0]);
    i.handle(Event::Fault(Fault::LinkDown), t0 + Duration::from_secs(6));
    let a = drain(&mut i);
    assert!(a.contains(&Action::RemoveVips), "{a:?}");
    assert!(i.is_stopped());
    i.handle(Event::Recovered, t0 + Duration::from_secs(7));
    assert!(i.is_stopped());
    assert!(drain(&mut i).is_empty());

    // A backup in FAULT asked to shut down stops; recovery does not restart it.
    let mut i = started(params(100), t0);
    i.handle(Event::Fault(Fault::NoAddress), t0);
    i.handle(Event::Shutdown, t0);
    i.handle(Event::Recovered, t0);
    assert!(i.is_stopped());
}

#[test]
fn a_lower_priority_master_is_answered_and_vips_reannounced() {
    // Split brain healing: we are master at 200, the other side (100) still claims master.
    let t0 = Instant::now();
    let mut i = master(params(200), t0);
    drain(&mut i);
    let t1 = t0 + Duration::from_secs(10);
    rx(&mut i, &peer_advert(100), PEER, t1).unwrap();
    let a = drain(&mut i);
    assert_eq!(
        a,
        [
            Action::SendAdvert { priority: 200 },
            Action::ForcedElection { from: ip(PEER), priority: 100 },
            Action::GratuitousLowerPrio
        ]
    );
    // A flood of them re-announces at most once a second (the advert answer always goes).
    rx(&mut i, &peer_advert(100), PEER, t1 + Duration::from_millis(10)).unwrap();
    assert_eq!(drain(&mut i), [Action::SendAdvert { priority: 200 }]);
    rx(&mut i, &peer_advert(100), PEER, t1 + Duration::from_secs(1)).unwrap();
    assert!(drain(&mut i).contains(&Action::GratuitousLowerPrio));
    assert_eq!(i.state(), State::Master);
}

#[test]
fn a_new_source_is_the_tie_breaker_and_the_old_one_stays_ours() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.own = vec![];
    let mut i = started(p, t0);
    i.set_advert_source(Some(ip("198.18.0.11")));
    assert_eq!(i.params().advert_source, Some(ip("198.18.0.11")));
    // A late advert from the old source is our own, not a peer's.
    assert_eq!(rx(&mut i, &peer_advert(200), ME, t0), Err(Rejected::Own));
}

#[test]
fn validation_order_and_reasons() {
    let t0 = Instant::now();
    let mut i = started(params(100), t0);
    let good = peer_advert(200);
    let at = |i: &mut Instance, b: &[u8], src: &str, dst: &str, ttl: u8| {
        i.receive(Received { src: ip(src), dst: ip(dst), ttl, payload: b }, t0)
    };
    assert_eq!(at(&mut i, &good, PEER, ME, 64), Err(Rejected::Ttl(64)));
    assert_eq!(at(&mut i, &good, PEER, "224.0.0.18", 254), Err(Rejected::Ttl(254)));
    assert_eq!(at(&mut i, &good[..10], PEER, ME, 255), Err(Rejected::Malformed(wire::Error::Truncated)));
    assert_eq!(at(&mut i, &[], PEER, ME, 255), Err(Rejected::Malformed(wire::Error::Truncated)));
    let mut b = good.clone();
    b[0] = 0x31;
    assert_eq!(at(&mut i, &b, PEER, ME, 255), Err(Rejected::Version(3)));
    let mut b = good.clone();
    b[0] = 0x22;
    assert!(matches!(at(&mut i, &b, PEER, ME, 255), Err(Rejected::Malformed(wire::Error::Type(2)))));
    let mut other = params(200);
    other.vrid = 52;
    other.advert_source = Some(ip(PEER));
    assert_eq!(at(&mut i, &advert_from(&other, 200, ip(ME)), PEER, ME, 255), Err(Rejected::OtherVrid(52)));
    let mut b = good.clone();
    b[2] = 201;
    assert_eq!(at(&mut i, &b, PEER, ME, 255), Err(Rejected::Checksum));
    let mut other = params(200);
    other.advert_source = Some(ip(PEER));
    other.auth = Auth::pass("wrong");
    assert_eq!(at(&mut i, &advert_from(&other, 200, ip(ME)), PEER, ME, 255), Err(Rejected::Password));
    other.auth = Auth::None;
    assert_eq!(at(&mut i, &advert_from(&other, 200, ip(ME)), PEER, ME, 255), Err(Rejected::AuthType(0)));
    let mut other = params(200);
    other.advert_source = Some(ip(PEER));
    other.advert_int_cs = 200;
    assert_eq!(at(&mut i, &advert_from(&other, 200, ip(ME)), PEER, ME, 255), Err(Rejected::Interval { got_cs: 200 }));
    assert_eq!(at(&mut i, &good, "198.18.0.9", ME, 255), Err(Rejected::NotPeer));
    assert_eq!(at(&mut i, &good, ME, ME, 255), Err(Rejected::Own));
    // Nothing above moved the timer or the state.
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.next_deadline(), Some(t0 + Duration::from_micros(3_609_375)));
    assert_eq!(i.counters().received, 0);
    assert_eq!(i.counters().dropped["not_peer"], 1);
    assert_eq!(at(&mut i, &good, PEER, ME, 255), Ok(()));
}

#[test]
fn unicast_min_ttl_and_source_check_can_be_relaxed() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.unicast_min_ttl = 60;
    p.check_unicast_src = false;
    let mut i = started(p, t0);
    let good = peer_advert(200);
    assert_eq!(i.receive(Received { src: ip("198.18.0.9"), dst: ip(ME), ttl: 64, payload: &good }, t0), Ok(()));
}

#[test]
fn another_virtual_router_on_our_vrid_is_reported_once_and_dropped() {
    let t0 = Instant::now();
    let mut i = started(params(100), t0);
    let mut other = params(200);
    other.advert_source = Some(ip(PEER));
    other.advertised = encode_addrs([ip("198.18.0.200")]);
    let b = advert_from(&other, 200, ip(ME));
    assert_eq!(rx(&mut i, &b, PEER, t0), Err(Rejected::AddressList));
    assert_eq!(rx(&mut i, &b, PEER, t0), Err(Rejected::AddressList));
    let a = drain(&mut i);
    assert_eq!(a, [Action::AddressListMismatch { from: ip(PEER), vrid: 51, theirs: vec![ip("198.18.0.200")] }]);
    assert_eq!(i.collisions(), [ip(PEER)]);
    assert_eq!(i.counters().dropped.get("address_list"), Some(&2));
    // Dropped, so it does not silence us: we time out and take over our own VIPs.
    let t1 = t0 + Duration::from_secs(4);
    run_until(&mut i, t1);
    assert_eq!(i.state(), State::Master);
    // keepalived drops the address owner's too (the RFCs would keep them).
    let owner = advert_from(&other, 255, ip(ME));
    assert_eq!(rx(&mut i, &owner, PEER, t1), Err(Rejected::AddressList));
    assert_eq!(i.state(), State::Master);
    // The same addresses in another order are ours.
    let mut two = params(100);
    two.advertised = encode_addrs([ip(VIP), ip("198.18.0.201")]);
    let mut j = started(two.clone(), t0);
    let mut swapped = two;
    swapped.advert_source = Some(ip(PEER));
    swapped.advertised = encode_addrs([ip("198.18.0.201"), ip(VIP)]);
    assert_eq!(rx(&mut j, &advert_from(&swapped, 200, ip(ME)), PEER, t0), Ok(()));
}

#[test]
fn skip_check_adv_addr_trusts_the_master_followed_only() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.skip_check_adv_addr = true;
    p.check_unicast_src = false;
    let mut i = started(p, t0);
    let mut master = params(200);
    master.advert_source = Some(ip(PEER));
    let good = advert_from(&master, 200, ip(ME));
    assert_eq!(rx(&mut i, &good, PEER, t0), Ok(()));
    master.advertised = encode_addrs([ip("198.18.0.200")]);
    let other = advert_from(&master, 200, ip(ME));
    assert_eq!(rx(&mut i, &other, PEER, t0), Ok(()), "the followed master is not checked");
    assert_eq!(rx(&mut i, &other, "198.18.0.9", t0), Err(Rejected::AddressList), "another source is");
}

#[test]
fn v3_checksum_uses_the_destination_we_saw() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.version = 3;
    p.auth = Auth::None;
    let mut i = started(p.clone(), t0);
    let mut theirs = p;
    theirs.advert_source = Some(ip(PEER));
    let to_me = advert_from(&theirs, 200, ip(ME));
    assert_eq!(rx(&mut i, &to_me, PEER, t0), Ok(()));
    let to_other = advert_from(&theirs, 200, ip("198.18.0.7"));
    assert_eq!(rx(&mut i, &to_other, PEER, t0), Err(Rejected::Checksum));
}

// ---- early failover ----------------------------------------------------------------

fn early(priority: u8) -> Params {
    let mut p = params(priority);
    p.early_failover = true;
    p
}

/// A backup following PEER (priority 200) whose host answered the baseline probe.
fn following(p: Params, t0: Instant) -> Instance {
    let mut i = started(p, t0);
    rx(&mut i, &peer_advert(200), PEER, t0).unwrap();
    assert_eq!(drain(&mut i), [Action::ProbeMaster { addr: ip(PEER) }], "a new master is probed once");
    assert_eq!(i.listening(t0), Some(ip(PEER)));
    i.handle(Event::NeighbourAnswered(ip(PEER)), t0 + Duration::from_millis(1));
    i
}

fn probes(actions: &[Action]) -> usize {
    actions.iter().filter(|a| matches!(a, Action::ProbeMaster { .. })).count()
}

#[test]
fn a_master_whose_host_is_silent_is_replaced_before_master_down_interval() {
    let t0 = Instant::now();
    let mut i = following(early(100), t0);
    let late = t0 + Duration::from_millis(1200);
    assert_eq!(i.next_deadline(), Some(late));
    let a = run_until(&mut i, late + Duration::from_millis(99));
    assert_eq!(probes(&a), 3, "three probes, 25 ms apart: {a:?}");
    assert_eq!(i.state(), State::Backup);
    // Verdict: 100 ms after the first probe plus (256 - 100) / 1024 of the interval.
    let verdict = late + Duration::from_millis(100) + Duration::from_nanos(152_343_750);
    assert!(run_until(&mut i, verdict - Duration::from_micros(1)).is_empty());
    let a = run_until(&mut i, verdict);
    assert!(matches!(a[0], Action::Transition { to: State::Master, reason: Reason::MasterGone { .. }, .. }), "{a:?}");
    assert_eq!(&a[1..], &[Action::SendAdvert { priority: 100 }, Action::AddVips, Action::Gratuitous]);
    assert_eq!(i.counters().early_takeovers, 1);
    assert!(verdict - t0 < i.master_down_interval() / 2, "well before the RFC timer");
}

#[test]
fn an_answer_leaves_the_rfc_timer_in_charge() {
    let t0 = Instant::now();
    let mut i = following(early(100), t0);
    let late = t0 + Duration::from_millis(1200);
    run_until(&mut i, late);
    i.handle(Event::NeighbourAnswered(ip("198.18.0.99")), late);
    assert_eq!(i.listening(late), Some(ip(PEER)), "listening during the round");
    i.handle(Event::NeighbourAnswered(ip(PEER)), late + Duration::from_millis(1));
    let mdi = i.master_down_interval();
    let a = run_until(&mut i, t0 + mdi - Duration::from_micros(1));
    assert_eq!(probes(&a), 2);
    assert_eq!(i.state(), State::Backup, "the host answered: its daemon may only be late");
    let a = run_until(&mut i, t0 + mdi);
    assert!(matches!(a[0], Action::Transition { reason: Reason::MasterDown { .. }, .. }), "{a:?}");
    assert_eq!(i.counters().early_takeovers, 0);
}

#[test]
fn a_host_that_never_answered_proves_nothing_by_its_silence() {
    let t0 = Instant::now();
    let mut i = started(early(100), t0);
    rx(&mut i, &peer_advert(200), PEER, t0).unwrap();
    drain(&mut i);
    let mdi = i.master_down_interval();
    let a = run_until(&mut i, t0 + mdi - Duration::from_micros(1));
    assert_eq!(probes(&a), 3, "late: probed");
    assert_eq!(i.state(), State::Backup);
    run_until(&mut i, t0 + mdi);
    assert_eq!(i.state(), State::Master);
}

/// Another backup of our VRID probes the same master in the round: one at least as high
/// takes over first, so we keep the RFC timer; a lower one, another master's or another
/// VRID's (the runtime filters those) changes nothing.
#[test]
fn a_higher_rival_probing_the_same_master_leaves_it_the_takeover() {
    let t0 = Instant::now();
    let late = t0 + Duration::from_millis(1200);
    for (rival, master, outranked) in
        [(150, PEER, true), (100, PEER, true), (99, PEER, false), (150, "198.18.0.99", false)]
    {
        let mut i = following(early(100), t0);
        run_until(&mut i, late + Duration::from_millis(20));
        i.handle(Event::RivalProbing { master: ip(master), priority: rival }, late + Duration::from_millis(20));
        let mdi = i.master_down_interval();
        let mut seen = vec![];
        while let Some(d) = i.next_deadline().filter(|d| *d < t0 + mdi) {
            i.handle(Event::Timeout, d);
            seen.extend(decisions(&mut i));
        }
        let case = format!("rival {rival} probing {master}: {seen:?}");
        assert_eq!(i.state() == State::Backup, outranked, "{case}");
        assert_eq!(seen.contains(&Decision::Outranked { from: ip(PEER) }), outranked, "{case}");
        assert_eq!(i.counters().early_takeovers, u64::from(!outranked), "{case}");
        if outranked {
            let a = run_until(&mut i, t0 + mdi);
            assert!(matches!(a[0], Action::Transition { reason: Reason::MasterDown { .. }, .. }), "{a:?}");
        }
    }
}

#[test]
fn an_advert_during_the_round_ends_it() {
    let t0 = Instant::now();
    let mut i = following(early(100), t0);
    let late = t0 + Duration::from_millis(1200);
    run_until(&mut i, late + Duration::from_millis(30));
    rx(&mut i, &peer_advert(200), PEER, late + Duration::from_millis(40)).unwrap();
    assert_eq!(probes(&drain(&mut i)), 0, "the same master is not probed again");
    let next = late + Duration::from_millis(40) + Duration::from_millis(1200);
    assert_eq!(i.next_deadline(), Some(next), "a new round only if the next advert is late");
    let a = run_until(&mut i, next - Duration::from_micros(1));
    assert!(a.is_empty() && i.state() == State::Backup, "{a:?}");
}

#[test]
fn early_failover_off_never_probes() {
    let t0 = Instant::now();
    let mut i = started(params(100), t0);
    rx(&mut i, &peer_advert(200), PEER, t0).unwrap();
    assert_eq!(probes(&drain(&mut i)), 0);
    let mdi = i.master_down_interval();
    let a = run_until(&mut i, t0 + mdi);
    assert_eq!(probes(&a), 0);
    assert!(matches!(a[0], Action::Transition { reason: Reason::MasterDown { .. }, .. }));
}

#[test]
fn ten_ms_adverts_are_left_to_the_rfc_timer() {
    let t0 = Instant::now();
    let v3 = |cs: u16, src: &str| {
        let mut p = early(100);
        p.version = 3;
        p.auth = Auth::None;
        p.advert_int_cs = cs;
        p.advert_source = Some(ip(src));
        p
    };
    for (cs, early_expected) in [(1, false), (5, false), (10, true), (100, true)] {
        let mut i = started(v3(cs, ME), t0);
        let theirs = v3(cs, PEER);
        rx(&mut i, &advert_from(&theirs, 200, ip(ME)), PEER, t0).unwrap();
        drain(&mut i);
        i.handle(Event::NeighbourAnswered(ip(PEER)), t0);
        let mdi = i.master_down_interval();
        let a = run_until(&mut i, t0 + mdi);
        assert_eq!(probes(&a) > 0, early_expected, "{cs} cs: {a:?}");
        let early_taken = matches!(
            a.iter().find(|x| matches!(x, Action::Transition { .. })),
            Some(Action::Transition { reason: Reason::MasterGone { .. }, .. })
        );
        assert_eq!(early_taken, early_expected, "{cs} cs");
    }
}

#[test]
fn a_refuted_early_takeover_is_counted_and_ends_as_a_split_brain() {
    let t0 = Instant::now();
    let mut i = following(early(100), t0);
    run_until(&mut i, t0 + Duration::from_secs(2));
    assert_eq!(i.state(), State::Master);
    // The old master was alive after all (every probe or answer lost).
    let t = t0 + Duration::from_millis(2100);
    rx(&mut i, &peer_advert(200), PEER, t).unwrap();
    let a = drain(&mut i);
    assert_eq!(a[0], Action::EarlyTakeoverRefuted { from: ip(PEER) });
    assert!(a.contains(&Action::RemoveVips), "the higher priority wins: {a:?}");
    assert_eq!(i.state(), State::Backup);
    assert_eq!((i.counters().early_takeovers, i.counters().early_refuted), (1, 1));
    rx(&mut i, &peer_advert(200), PEER, t + Duration::from_secs(1)).unwrap();
    assert_eq!(i.counters().early_refuted, 1, "counted once");
}

#[test]
fn a_resign_is_not_probed() {
    let t0 = Instant::now();
    let mut i = following(early(100), t0);
    rx(&mut i, &peer_advert(0), PEER, t0 + Duration::from_millis(500)).unwrap();
    // The only peer resigned: master at once, no probe round ever.
    let a = drain(&mut i);
    assert!(matches!(a[0], Action::Transition { reason: Reason::MasterResigned { .. }, .. }), "{a:?}");
    assert_eq!(probes(&run_until(&mut i, t0 + Duration::from_secs(5))), 0);
}

// ---- a simulated network ------------------------------------------------------------

struct Node {
    inst: Instance,
    addr: IpAddr,
    holds_vip: bool,
    /// Down nodes neither run nor receive.
    up: bool,
}

struct Net {
    nodes: Vec<Node>,
    t: Instant,
    /// (deliver at, to, from, bytes)
    wire: Vec<(Instant, usize, usize, Vec<u8>)>,
    /// Which side of a partition each node is on (same number = connected).
    side: Vec<u8>,
    loss_per_mille: u32,
    delay: Duration,
    rng: u64,
}

impl Net {
    fn new(prios: &[u8], preempt: bool) -> Net {
        Net::with(prios, preempt, false)
    }

    /// With early failover: probes are answered by the target host while it is up and
    /// reachable (subject to the same loss as adverts); answers are empty datagrams.
    fn with(prios: &[u8], preempt: bool, early: bool) -> Net {
        let addrs: Vec<IpAddr> = (0..prios.len()).map(|i| ip(&format!("198.18.0.{}", i + 1))).collect();
        let nodes = prios
            .iter()
            .enumerate()
            .map(|(k, &prio)| {
                let mut p = params(prio);
                p.preempt = preempt;
                p.early_failover = early;
                p.advert_source = Some(addrs[k]);
                p.own = vec![addrs[k]];
                p.peers = addrs.iter().copied().filter(|a| *a != addrs[k]).collect();
                Node { inst: Instance::new(p), addr: addrs[k], holds_vip: false, up: false }
            })
            .collect();
        Net {
            nodes,
            t: Instant::now(),
            wire: vec![],
            side: vec![0; prios.len()],
            loss_per_mille: 0,
            delay: Duration::from_millis(1),
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }

    fn rand(&mut self) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 1000) as u32
    }

    fn start(&mut self, k: usize) {
        self.nodes[k].up = true;
        self.nodes[k].inst.handle(Event::Start, self.t);
        self.apply(k);
    }

    fn apply(&mut self, k: usize) {
        while let Some(a) = self.nodes[k].inst.poll_action() {
            match a {
                Action::AddVips => self.nodes[k].holds_vip = true,
                // The runtime removes them within a bound (`runtime/handover.rs`).
                Action::RemoveVips | Action::HandOverVips { .. } => self.nodes[k].holds_vip = false,
                Action::SendAdvert { priority } => {
                    let bytes = advert_from(self.nodes[k].inst.params(), priority, self.nodes[k].addr);
                    for to in 0..self.nodes.len() {
                        if to != k && self.side[to] == self.side[k] && self.rand() >= self.loss_per_mille {
                            self.wire.push((self.t + self.delay, to, k, bytes.clone()));
                        }
                    }
                }
                Action::ProbeMaster { addr } => {
                    let Some(to) = self.nodes.iter().position(|n| n.addr == addr) else { continue };
                    // Request and answer each cross the link once.
                    let reachable = self.nodes[to].up && self.side[to] == self.side[k];
                    if reachable && self.rand() >= self.loss_per_mille && self.rand() >= self.loss_per_mille {
                        self.wire.push((self.t + 2 * self.delay, k, to, vec![]));
                    }
                }
                _ => {}
            }
        }
    }

    fn step(&mut self, dt: Duration) {
        let end = self.t + dt;
        loop {
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.up)
                .filter_map(|(k, n)| n.inst.next_deadline().map(|d| (d, k)))
                .min();
            let next_msg = self.wire.iter().enumerate().map(|(j, m)| (m.0, j)).min();
            let next = match (next_timer, next_msg) {
                (Some((a, _)), Some((b, _))) => a.min(b),
                (Some((a, _)), None) => a,
                (None, Some((b, _))) => b,
                (None, None) => break,
            };
            if next > end {
                break;
            }
            self.t = self.t.max(next);
            if let Some((_, j)) = next_msg.filter(|(b, _)| *b == next) {
                let (_, to, from, bytes) = self.wire.swap_remove(j);
                if self.nodes[to].up {
                    let src = self.nodes[from].addr;
                    let dst = self.nodes[to].addr;
                    if bytes.is_empty() {
                        self.nodes[to].inst.handle(Event::NeighbourAnswered(src), self.t);
                    } else {
                        let _ = self.nodes[to].inst.receive(Received { src, dst, ttl: 255, payload: &bytes }, self.t);
                    }
                    self.apply(to);
                }
            } else if let Some((_, k)) = next_timer {
                self.nodes[k].inst.handle(Event::Timeout, self.t);
                self.apply(k);
            }
            self.check_vips_follow_mastership();
        }
        self.t = end;
    }

    fn check_vips_follow_mastership(&self) {
        for n in &self.nodes {
            assert!(!n.holds_vip || n.inst.state() == State::Master, "{} holds the VIP as {}", n.addr, n.inst.state());
        }
    }

    fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|k| self.nodes[*k].up && self.nodes[*k].inst.state() == State::Master).collect()
    }
}

fn distinct_prios() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::btree_set(1u8..=254, 2..=5).prop_map(|s| s.into_iter().collect()).prop_shuffle()
}

proptest! {
    /// Whatever arrives after Shutdown (adverts of any priority, faults, recoveries,
    /// timeouts), the instance never asks for VIPs again and is STOPPED within the resign bound.
    #[test]
    fn shutdown_is_final(
        prio in 1u8..255,
        start_master in any::<bool>(),
        events in proptest::collection::vec((0u8..8, 0u8..=255, 1u16..2000), 0..40),
    ) {
        let t0 = Instant::now();
        let mut i = if start_master { master(params(prio), t0) } else { started(params(prio), t0) };
        drain(&mut i);
        let mut now = t0 + Duration::from_secs(5);
        i.handle(Event::Shutdown, now);
        let deadline = now + MAX_RESIGN_WAIT;
        let mut actions = drain(&mut i);
        for (kind, theirs, ms) in events {
            now += Duration::from_millis(u64::from(ms));
            actions.extend(run_until(&mut i, now));
            match kind {
                0 => i.handle(Event::Fault(Fault::LinkDown), now),
                1 => i.handle(Event::Recovered, now),
                2 => i.handle(Event::Shutdown, now),
                3 => i.handle(Event::Fault(Fault::Check), now),
                4 => i.handle(Event::Priority(theirs), now),
                _ => { let _ = rx(&mut i, &peer_advert(theirs), PEER, now); }
            }
            actions.extend(drain(&mut i));
            prop_assert!(matches!(i.state(), State::Master | State::Stopped), "{:?}", i.state());
        }
        actions.extend(run_until(&mut i, deadline));
        prop_assert!(i.is_stopped(), "not stopped {:?} after the resign bound", i.state());
        prop_assert!(!actions.contains(&Action::AddVips), "{actions:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn one_master_within_master_down_interval_after_heal(
        prios in distinct_prios(), preempt in any::<bool>(), loss in 0u32..300,
        cut in proptest::collection::vec(0u8..2, 5), chaos_s in 1u64..30, early in any::<bool>(),
    ) {
        let mut net = Net::with(&prios, preempt, early);
        for k in 0..prios.len() { net.start(k); }
        net.loss_per_mille = loss;
        net.side = cut[..prios.len()].to_vec();
        net.step(Duration::from_secs(chaos_s));
        // Heal: no loss, one segment.
        net.loss_per_mille = 0;
        net.side = vec![0; prios.len()];
        let worst_mdi = Duration::from_micros(3_000_000 + 255 * 1_000_000 / 256);
        net.step(worst_mdi + Duration::from_millis(10));
        prop_assert_eq!(net.masters().len(), 1, "masters {:?} prios {:?}", net.masters(), prios);
        net.step(Duration::from_secs(10));
        prop_assert_eq!(net.masters().len(), 1);
        if preempt {
            let best = (0..prios.len()).max_by_key(|k| prios[*k]).unwrap();
            prop_assert_eq!(net.masters(), vec![best]);
        }
    }

    #[test]
    fn nopreempt_keeps_the_current_master(prios in distinct_prios()) {
        let mut net = Net::new(&prios, false);
        let first = (0..prios.len()).min_by_key(|k| prios[*k]).unwrap();
        net.start(first);
        net.step(Duration::from_secs(5));
        prop_assert_eq!(net.masters(), vec![first]);
        for k in 0..prios.len() { if k != first { net.start(k); } }
        net.step(Duration::from_secs(20));
        prop_assert_eq!(net.masters(), vec![first], "the lowest priority keeps the VIP without preempt");
    }

    /// With early failover, a master whose host is gone is replaced by the next highest
    /// backup alone (the ordering among backups holds), within ~1.5 intervals; a master
    /// whose daemon died but whose host answers is replaced at Master_Down_Interval.
    #[test]
    fn host_loss_with_early_failover_elects_the_next_highest_sooner(
        prios in distinct_prios(), host_answers in any::<bool>(), phase_ms in 0u64..1000,
    ) {
        let mut net = Net::with(&prios, true, true);
        for k in 0..prios.len() { net.start(k); }
        net.step(Duration::from_secs(10) + Duration::from_millis(phase_ms));
        let mut order: Vec<usize> = (0..prios.len()).collect();
        order.sort_by_key(|k| std::cmp::Reverse(prios[*k]));
        prop_assert_eq!(net.masters(), vec![order[0]]);
        let gone = order[0];
        if host_answers {
            // The daemon is gone, the host answers: keep it "up" for probes but silent.
            net.nodes[gone].inst.handle(Event::Fault(Fault::LinkDown), net.t);
            net.nodes[gone].inst.poll_action();
            while net.nodes[gone].inst.poll_action().is_some() {}
            net.nodes[gone].holds_vip = false;
        } else {
            net.nodes[gone].up = false;
            net.nodes[gone].holds_vip = false;
        }
        let t_gone = net.t;
        let mut took = None;
        while net.t < t_gone + Duration::from_secs(5) {
            net.step(Duration::from_millis(5));
            let m: Vec<usize> = net.masters().into_iter().filter(|k| *k != gone).collect();
            prop_assert!(m.len() <= 1, "two new masters {:?} prios {:?}", m, prios);
            if took.is_none() && m.len() == 1 {
                prop_assert_eq!(m[0], order[1], "the next highest takes over");
                took = Some(net.t - t_gone);
            }
        }
        let took = took.expect("nobody took over");
        let early = net.nodes[order[1]].inst.counters().early_takeovers;
        if host_answers {
            prop_assert_eq!(early, 0);
            prop_assert!(took > Duration::from_secs(2), "{:?}", took);
        } else {
            prop_assert_eq!(early, 1);
            // At most 1.2 intervals after its last advert arrived (sent up to the moment the
            // host went, delivered the network's delay later), plus the round and the
            // ordering, plus a step.
            let bound = Duration::from_millis(1200)
                + net.delay
                + crate::vrrp::early::verdict_at(t_gone, prios[order[1]], Duration::from_secs(1))
                    .duration_since(t_gone)
                + Duration::from_millis(5);
            prop_assert!(took <= bound, "{:?} > {:?}", took, bound);
        }
    }

    #[test]
    fn master_loss_elects_the_next_highest(prios in distinct_prios()) {
        let mut net = Net::new(&prios, true);
        for k in 0..prios.len() { net.start(k); }
        net.step(Duration::from_secs(10));
        let mut order: Vec<usize> = (0..prios.len()).collect();
        order.sort_by_key(|k| std::cmp::Reverse(prios[*k]));
        for w in order.windows(2) {
            prop_assert_eq!(net.masters(), vec![w[0]]);
            net.nodes[w[0]].up = false;
            net.nodes[w[0]].holds_vip = false;
            net.step(Duration::from_secs(5));
            prop_assert_eq!(net.masters(), vec![w[1]]);
        }
    }
}

impl Net {
    /// Node `k` learns a new peer set: every other node in `members`.
    fn set_peers(&mut self, k: usize, members: &[usize]) {
        let peers = members.iter().filter(|m| **m != k).map(|m| self.nodes[*m].addr).collect();
        self.nodes[k].inst.handle(Event::Peers(peers), self.t);
        self.apply(k);
    }

    /// Step `total` in 5 ms slices; at each `(offset, node, members)` that node learns
    /// its new peer set; `check` runs after every slice.
    fn step_with_views(
        &mut self,
        total: Duration,
        mut views: Vec<(Duration, usize, Vec<usize>)>,
        mut check: impl FnMut(&Net) -> Result<(), TestCaseError>,
    ) -> Result<(), TestCaseError> {
        let t0 = self.t;
        views.sort_by_key(|v| v.0);
        let mut views = views.into_iter().peekable();
        while self.t < t0 + total {
            while let Some((_, k, members)) = views.next_if(|v| t0 + v.0 <= self.t) {
                self.set_peers(k, &members);
            }
            self.step(Duration::from_millis(5));
            check(self)?;
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Swarm membership: a node joins (its peers learn of it one by one, at random
    /// moments), a backup leaves, then the master's node leaves the set some time before
    /// its task stops. The master is never disturbed by a change that does not concern it
    /// (no second master, no move), and its own departure hands over to exactly one node.
    #[test]
    fn peer_set_changes_never_disturb_the_master(
        prios in distinct_prios().prop_filter("three or more", |p| p.len() >= 3),
        preempt in any::<bool>(),
        lags in proptest::collection::vec(0u64..3000, 15),
        stop_after_ms in 0u64..3000,
    ) {
        let n = prios.len();
        let newcomer = n - 1;
        let old: Vec<usize> = (0..newcomer).collect();
        let mut net = Net::new(&prios, preempt);
        for &k in &old { net.set_peers(k, &old); net.start(k); }
        net.step(Duration::from_secs(10));
        let masters = net.masters();
        prop_assert_eq!(masters.len(), 1);
        let m = masters[0];
        let mut lag = lags.into_iter().map(Duration::from_millis);
        // A node joins: it knows everyone at once, the others learn of it later.
        let all: Vec<usize> = (0..n).collect();
        net.set_peers(newcomer, &all);
        net.start(newcomer);
        let views = old.iter().map(|&k| (lag.next().unwrap(), k, all.clone())).collect();
        let preempted = preempt && prios[newcomer] > prios[m];
        net.step_with_views(Duration::from_secs(8), views, |net| {
            if !preempted {
                prop_assert_eq!(net.masters(), vec![m], "a joining node disturbed the master");
            }
            Ok(())
        })?;
        let masters = net.masters();
        prop_assert_eq!(masters.len(), 1);
        let m = masters[0];
        // A backup leaves: its task stops, the others learn of it at random moments.
        let gone = (0..n).find(|k| *k != m).unwrap();
        net.nodes[gone].up = false;
        let rest: Vec<usize> = all.iter().copied().filter(|k| *k != gone).collect();
        let views = rest.iter().map(|&k| (lag.next().unwrap(), k, rest.clone())).collect();
        net.step_with_views(Duration::from_secs(8), views, |net| {
            prop_assert_eq!(net.masters(), vec![m], "a leaving backup disturbed the master");
            Ok(())
        })?;
        // The master's node leaves the set (drained, demoted): the others learn it first,
        // its task stops later and resigns.
        let left: Vec<usize> = rest.iter().copied().filter(|k| *k != m).collect();
        let views = left.iter().map(|&k| (lag.next().unwrap(), k, left.clone())).collect();
        net.step_with_views(Duration::from_millis(stop_after_ms), views, |net| {
            prop_assert_eq!(net.masters(), vec![m], "the master was replaced while still running");
            Ok(())
        })?;
        net.nodes[m].inst.handle(Event::Shutdown, net.t);
        net.apply(m);
        let views = left.iter().map(|&k| (Duration::ZERO, k, left.clone())).collect();
        net.step_with_views(Duration::from_secs(10), views, |net| {
            let others: Vec<usize> = net.masters().into_iter().filter(|k| *k != m).collect();
            prop_assert!(others.len() <= 1, "two successors {:?}", others);
            Ok(())
        })?;
        prop_assert!(net.nodes[m].inst.is_stopped());
        prop_assert_eq!(net.masters().len(), 1, "no successor");
    }
}

#[test]
fn address_lists_compare_as_sets_in_both_families() {
    let same = |family, ours: &[u8], theirs: &[u8]| AddrList::new(family, theirs).unwrap().same_set(ours);
    let v6 = |a: &[&str]| encode_addrs(a.iter().map(|x| ip(x)));
    let (a, b) = (v6(&["2001:db8::1", "2001:db8::2"]), v6(&["2001:db8::2", "2001:db8::1"]));
    assert!(same(Family::V6, &a, &b));
    assert!(!same(Family::V6, &a, &v6(&["2001:db8::1", "2001:db8::3"])));
    assert!(!same(Family::V6, &a, &v6(&["2001:db8::1"])));
    // Four IPv4 addresses are as many bytes as one IPv6 address: the family decides.
    let four = encode_addrs(["198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4"].map(ip));
    let shuffled = encode_addrs(["198.18.0.4", "198.18.0.3", "198.18.0.2", "198.18.0.1"].map(ip));
    assert!(same(Family::V4, &four, &shuffled));
    assert!(!same(Family::V6, &four, &shuffled));
}

/// keepalived's `vrrp_startup_delay`: a backup (and even the address owner) takes over no
/// sooner than the delay after start, and a master heard meanwhile is followed as usual.
#[test]
fn startup_delay_holds_the_first_takeover() {
    let t0 = Instant::now();
    let mut p = params(255);
    p.startup_delay = Duration::from_secs(5);
    let mut i = started(p, t0);
    assert_eq!(i.state(), State::Backup, "the owner waits too");
    assert_eq!(i.next_deadline(), Some(t0 + Duration::from_secs(5)));
    assert!(run_until(&mut i, t0 + Duration::from_millis(4999)).is_empty());
    let a = run_until(&mut i, t0 + Duration::from_secs(5));
    assert!(matches!(a[0], Action::Transition { to: State::Master, .. }), "{a:?}");
    // A backup's Master_Down_Interval ending inside the delay moves to its end.
    let mut p = params(100);
    p.startup_delay = Duration::from_secs(8);
    let i = started(p, t0);
    assert_eq!(i.next_deadline(), Some(t0 + Duration::from_secs(8)));
    // Shorter than Master_Down_Interval: no change.
    let mut p = params(100);
    p.startup_delay = Duration::from_secs(1);
    let i = started(p, t0);
    assert_eq!(i.next_deadline(), Some(t0 + Duration::from_micros(3_609_375)));
}

proptest! {
    /// A repeated advert taken by the shortcut (`Repeat`) does exactly what the full path
    /// does: two instances get the same adverts (two masters, few priorities, so repeats
    /// are common; now and then a wrong password or a resignation), events and timeouts;
    /// one always parses. Every action, decision, state, counter and deadline is the same.
    #[test]
    fn a_repeated_advert_is_taken_as_the_full_path_takes_it(
        prio in 1u8..255,
        preempt in any::<bool>(),
        delay in any::<bool>(),
        early_on in any::<bool>(),
        steps in proptest::collection::vec((0u8..12, 0u8..4, 1u16..1500), 1..60),
    ) {
        let mut p = if early_on { early(prio) } else { params(prio) };
        p.preempt = preempt;
        if delay {
            p.preempt_delay = Duration::from_secs(2);
        }
        let t0 = Instant::now();
        let (mut a, mut b) = (started(p.clone(), t0), started(p, t0));
        let mut now = t0;
        let other = "198.18.0.3";
        let bad = {
            let mut q = params(200);
            q.advert_source = Some(ip(PEER));
            q.auth = Auth::Pass(*b"wrong\0\0\0");
            advert_from(&q, 200, ip(ME))
        };
        for (kind, which, ms) in steps {
            now += Duration::from_millis(u64::from(ms));
            let (ra, rb) = (run_all(&mut a, now), run_all(&mut b, now));
            prop_assert_eq!(ra, rb);
            let theirs = [0, 50, 150, 254][usize::from(which)];
            b.forget_repeat();
            let (xa, xb) = match kind {
                0..=5 => (rx(&mut a, &peer_advert(theirs.max(1)), PEER, now), rx(&mut b, &peer_advert(theirs.max(1)), PEER, now)),
                6 => (rx(&mut a, &peer_advert(theirs), PEER, now), rx(&mut b, &peer_advert(theirs), PEER, now)),
                7 | 8 => (rx(&mut a, &peer_advert(theirs.max(1)), other, now), rx(&mut b, &peer_advert(theirs.max(1)), other, now)),
                9 => (rx(&mut a, &bad, PEER, now), rx(&mut b, &bad, PEER, now)),
                10 => {
                    a.handle(Event::NeighbourAnswered(ip(PEER)), now);
                    b.handle(Event::NeighbourAnswered(ip(PEER)), now);
                    (Ok(()), Ok(()))
                }
                _ => {
                    a.handle(Event::Priority(theirs.max(1)), now);
                    b.handle(Event::Priority(theirs.max(1)), now);
                    (Ok(()), Ok(()))
                }
            };
            prop_assert_eq!(xa, xb);
            let (da, db): (Vec<Action>, Vec<Action>) = (std::iter::from_fn(|| a.poll_action()).collect(), std::iter::from_fn(|| b.poll_action()).collect());
            prop_assert_eq!(da, db);
            prop_assert_eq!(a.state(), b.state());
            prop_assert_eq!(a.next_deadline(), b.next_deadline());
            prop_assert_eq!(a.counters().received, b.counters().received);
            prop_assert_eq!(a.last_master(), b.last_master());
        }
    }
}

/// Every action (decisions too) until `until`.
fn run_all(i: &mut Instance, until: Instant) -> Vec<Action> {
    let mut out = vec![];
    while let Some(d) = i.next_deadline().filter(|d| *d <= until) {
        i.handle(Event::Timeout, d);
        out.extend(std::iter::from_fn(|| i.poll_action()));
    }
    out
}
