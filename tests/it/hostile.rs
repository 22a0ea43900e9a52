//! Forged and hostile VRRP packets from an injector host on the same link, while a client
//! pings the VIP: every packet is dropped for the right reason, counted, logged at most once
//! per reason per second, and nothing moves.

use keepvip::observe::status::InstanceStatus;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::common::inject::{fix_v2_checksum, Advert, Injector};
use crate::common::netns::{Lab, Pinger, Proc};
use crate::common::seed::{pair, VIP};
use crate::common::wait_until;

const MASTER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const BACKUP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const STRANGER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 4);

fn status(p: &Proc) -> InstanceStatus {
    p.status()
}

fn dropped(p: &Proc, kind: &str) -> u64 {
    status(p).dropped.get(kind).copied().unwrap_or(0)
}

/// The anonymous part of the resident set (heap, stack): where a flood's leak would show.
/// (The binary's code pages are dropped after start and come back as the loop runs them.)
fn anon_rss_kib(p: &Proc) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{}/status", p.pid())).unwrap();
    let line = s.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// One forged packet: a name, the drop kind it must be counted under, and how to build it
/// from `(src, dst)`. `ttl` is the IP TTL the injector uses.
struct Case {
    name: &'static str,
    kind: &'static str,
    from_stranger: bool,
    ttl: u8,
    build: fn(Ipv4Addr, Ipv4Addr) -> Vec<u8>,
}

impl Case {
    /// From a peer's address with TTL 255; `stranger` and `ttl` change that.
    fn new(name: &'static str, kind: &'static str, build: fn(Ipv4Addr, Ipv4Addr) -> Vec<u8>) -> Case {
        Case { name, kind, from_stranger: false, ttl: 255, build }
    }

    fn stranger(self) -> Case {
        Case { from_stranger: true, ..self }
    }

    fn ttl(self, ttl: u8) -> Case {
        Case { ttl, ..self }
    }
}

fn v2_255(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    Advert::seed(255, VIP).bytes(src, dst)
}

/// The advert with bits of byte `at` flipped and the checksum left as it was.
fn flipped(mut b: Vec<u8>, at: usize, mask: u8) -> Vec<u8> {
    b[at] ^= mask;
    b
}

/// The advert with byte `at` set to `v` and a valid checksum again.
fn patched(mut b: Vec<u8>, at: usize, v: u8) -> Vec<u8> {
    b[at] = v;
    fix_v2_checksum(&mut b);
    b
}

fn cases_for_v2() -> Vec<Case> {
    vec![
        Case::new("priority 255 from a non-peer", "not_peer", v2_255).stranger(),
        Case::new("priority 255 from a peer with TTL 64", "ttl", v2_255).ttl(64),
        Case::new("bad checksum", "checksum", |s, d| flipped(v2_255(s, d), 6, 0x55)),
        Case::new("wrong password", "password", |s, d| {
            Advert { password: Some("letmein"), ..Advert::seed(255, VIP) }.bytes(s, d)
        }),
        Case::new("auth type none", "auth_type", |s, d| {
            Advert { password: None, ..Advert::seed(255, VIP) }.bytes(s, d)
        }),
        Case::new("auth type AH", "auth_type", |s, d| patched(v2_255(s, d), 4, 2)),
        Case::new("wrong virtual router id", "other_vrid", |s, d| {
            Advert { vrid: 52, ..Advert::seed(255, VIP) }.bytes(s, d)
        }),
        Case::new("VRRPv3 to a v2 instance", "version", v3_255),
        Case::new("wrong interval", "interval", |s, d| {
            Advert { interval_cs: 200, ..Advert::seed(255, VIP) }.bytes(s, d)
        }),
        Case::new("truncated", "malformed", |s, d| v2_255(s, d)[..10].to_vec()),
        Case::new("count larger than the packet", "malformed", |s, d| patched(v2_255(s, d), 3, 40)),
        Case::new("0 bytes", "malformed", |_, _| vec![]),
        // Counted under whichever check its first bytes fail; it must just be dropped.
        Case::new("1480 bytes of garbage", "", |_, _| garbage(1480)),
    ]
}

/// The seed's advert as VRRPv3 (no authentication), priority 255.
fn v3_advert() -> Advert {
    Advert { version: 3, password: None, ..Advert::seed(255, VIP) }
}

fn v3_255(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    v3_advert().bytes(src, dst)
}

/// Against a VRRPv3 instance (1 s adverts): v2 adverts and forged v3 ones.
fn cases_for_v3() -> Vec<Case> {
    vec![
        Case::new("VRRPv2 to a v3 instance", "version", v2_255),
        Case::new("v3 priority 255 from a non-peer", "not_peer", v3_255).stranger(),
        Case::new("v3 from a peer with TTL 64", "ttl", v3_255).ttl(64),
        Case::new("v3 bad checksum", "checksum", |s, d| flipped(v3_255(s, d), 7, 0x0f)),
        Case::new("v3 other virtual router id", "other_vrid", |s, d| Advert { vrid: 52, ..v3_advert() }.bytes(s, d)),
        Case::new("v3 truncated", "malformed", |s, d| v3_255(s, d)[..6].to_vec()),
    ]
}

/// Deterministic junk (xorshift), so a failure can be replayed.
fn garbage(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Where a forged packet goes: to each node, claiming to come from the other (or a stranger).
fn routes(c: &Case) -> [(Ipv4Addr, Ipv4Addr); 2] {
    if c.from_stranger {
        [(STRANGER, MASTER), (STRANGER, BACKUP)]
    } else {
        [(BACKUP, MASTER), (MASTER, BACKUP)]
    }
}

fn transitions(p: &Proc) -> u64 {
    status(p).transitions
}

/// The seed's pair (node 0 master), a client pinging the VIP (node 2), an injector (node 3).
fn under_attack(lab: &Lab, extra: &[(&str, &str)]) -> (Proc, Proc, Pinger, Injector) {
    let (a, b) = pair(lab, extra);
    let ping = lab.host(2).ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    (a, b, ping, Injector::open(&lab.host(3).ns))
}

#[test]
fn every_forged_packet_is_dropped_for_its_reason_and_counted() {
    forged_packets_are_counted(&[], cases_for_v2());
}

#[test]
fn a_vrrpv3_pair_drops_v2_and_forged_v3_adverts() {
    forged_packets_are_counted(&[("KEEPALIVED_VRRP_VERSION", "3")], cases_for_v3());
}

/// Each case 3 times to each node: each node counts exactly 3 under the case's reason,
/// and nothing moves.
fn forged_packets_are_counted(extra: &[(&str, &str)], cases: Vec<Case>) {
    let lab = Lab::new(4);
    let (a, b, ping, inj) = under_attack(&lab, extra);
    let (ta, tb) = (transitions(&a), transitions(&b));
    for c in cases.iter().filter(|c| !c.kind.is_empty()) {
        let before = [dropped(&a, c.kind), dropped(&b, c.kind)];
        for _ in 0..3 {
            for (src, dst) in routes(c) {
                inj.send(src, dst, c.ttl, &(c.build)(src, dst));
            }
        }
        for (i, p) in [&a, &b].into_iter().enumerate() {
            let mut now = 0;
            let ok = wait_until(Duration::from_secs(2), || {
                now = dropped(p, c.kind);
                now >= before[i] + 3
            });
            assert!(ok, "{}: node {i} counted {} {:?} drops, expected {}", c.name, now - before[i], c.kind, 3);
            assert_eq!(now, before[i] + 3, "{}: node {i}", c.name);
        }
    }
    assert_eq!((transitions(&a), transitions(&b)), (ta, tb), "a forged packet changed a state");
    assert!(lab.host(0).has_addr(VIP) && !lab.host(1).has_addr(VIP));
    let (lost, _) = ping.stop();
    assert_eq!(lost, 0, "pings to the VIP were lost");
    let log = a.log();
    // A stranger advertising our VRID is named once, with the fix, then only counted.
    let named = "198.18.0.4 claims virtual router 51 but is not in KEEPALIVED_UNICAST_PEERS";
    assert_eq!(log.matches(named).count(), 1, "{log}");
    assert!(log.contains("add it to the list on every node"), "{log}");
    assert!(!log.contains("virtual router id 52"), "another VRID on the link is normal and not logged");
}

#[test]
fn a_flood_of_10000_packets_per_second_moves_nothing_and_logs_little() {
    let lab = Lab::new(4);
    let (a, b, ping, inj) = under_attack(&lab, &[]);
    let (ta, tb) = (transitions(&a), transitions(&b));
    let rx_before = status(&b).adverts_received;
    let rss_before = anon_rss_kib(&a);
    // Every hostile kind, round robin, 10 000 packets/s for 10 s, paced in 10 ms slices.
    let packets: Vec<(u8, Ipv4Addr, Ipv4Addr, Vec<u8>)> =
        cases_for_v2().iter().flat_map(|c| routes(c).map(|(s, d)| (c.ttl, s, d, (c.build)(s, d)))).collect();
    let start = Instant::now();
    let mut sent = 0usize;
    for slice in 0..1000u32 {
        while sent < (slice as usize + 1) * 100 {
            let (ttl, src, dst, p) = &packets[sent % packets.len()];
            inj.send(*src, *dst, *ttl, p);
            sent += 1;
        }
        let next = start + Duration::from_millis(10) * (slice + 1);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let took = start.elapsed();
    eprintln!("sent {sent} packets in {took:?}");
    assert!(took < Duration::from_secs(12), "the injector could not keep 10 000 packets/s ({took:?})");

    assert_eq!((transitions(&a), transitions(&b)), (ta, tb), "the flood changed a state");
    assert!(lab.host(0).has_addr(VIP) && !lab.host(1).has_addr(VIP));
    // The backup kept hearing the master once a second (it never timed out).
    let rx = status(&b).adverts_received - rx_before;
    assert!(rx >= took.as_secs() - 1, "backup heard only {rx} adverts in {took:?}");
    let (lost, worst) = ping.stop();
    assert_eq!(lost, 0, "pings lost during the flood (longest run {worst})");
    let rss_after = anon_rss_kib(&a);
    assert!(rss_after <= rss_before + 128, "RSS grew from {rss_before} KiB to {rss_after} KiB");
    // Counted: most of the flood reached the master, and every kind shows up.
    let d = &status(&a).dropped;
    let total: u64 = d.values().sum();
    assert!(total as usize >= sent / 4, "master counted only {total} drops of {sent}/2 sent to it: {d:?}");
    for kind in
        ["not_peer", "ttl", "checksum", "password", "auth_type", "other_vrid", "version", "interval", "malformed"]
    {
        assert!(d.get(kind).copied().unwrap_or(0) > 100, "{kind} not counted: {d:?}");
    }
    for (name, p) in [("master", &a), ("backup", &b)] {
        assert_rate_limited(name, &p.log());
    }
}

/// At most one "dropped" line per reason per wall-clock second.
fn assert_rate_limited(name: &str, log: &str) {
    let reasons = [
        "TTL",
        "malformed",
        "VRRP version",
        "bad checksum",
        "authentication type",
        "wrong password",
        "advert interval",
        "not a configured unicast peer",
    ];
    let mut seen: HashMap<(String, &str), u32> = HashMap::new();
    let mut lines = 0;
    for l in log.lines().filter(|l| l.contains("dropped VRRP packet")) {
        lines += 1;
        let second = l.get(1..20).unwrap_or("").to_string();
        let reason = reasons.iter().find(|r| l.contains(*r)).unwrap_or_else(|| panic!("unknown reason in {l}"));
        *seen.entry((second, reason)).or_default() += 1;
    }
    assert!(lines > 0, "{name}: drops must be logged");
    assert!(lines <= 8 * 14, "{name}: {lines} drop lines for a 10 s flood");
    for ((second, reason), n) in seen {
        assert!(n <= 1, "{name}: {n} lines for {reason:?} within {second}");
    }
}
