//! The state machine fed by whatever a raw socket could deliver: a sequence of IPv4
//! datagrams (or, for inputs whose length is 1 mod 3, IPv6 ones: VRRPv3 payloads with the
//! source, destination and hop limit the socket reports) at increasing times, each then timers. Never panics, and VIPs are only ever
//! held by a master, or by a backup that resumed with them and has not moved since.
#![no_main]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use keepvip::wire::ipv4;
use keepvip::vrrp::{Action, Event, Fault, Instance, Params, Received, State};
use keepvip::wire::vrrp::{encode_addrs, Auth, Family};
use libfuzzer_sys::fuzz_target;

fn params(sel: u8, ipv6: bool) -> Params {
    let v3 = sel & 1 == 1 || ipv6;
    Params {
        version: if v3 { 3 } else { 2 },
        vrid: 51,
        priority: [100, 200, 255][usize::from(sel >> 1) % 3],
        advert_int_cs: if v3 { 10 } else { 100 },
        preempt: sel & 8 != 0,
        preempt_delay: Duration::from_millis(u64::from(sel & 16) * 10),
        start_as_master: sel & 32 != 0,
        auth: if v3 { Auth::None } else { Auth::pass("d0cker") },
        family: if ipv6 { Family::V6 } else { Family::V4 },
        advert_source: Some(if ipv6 { V6[0] } else { "198.18.0.1".parse().unwrap() }),
        // Unicast peers or multicast, and the source check on or off, so forged packets
        // from anywhere reach the election code.
        peers: match (sel & 64 != 0, ipv6) {
            (false, _) => vec![],
            (true, false) => vec!["198.18.0.2".parse().unwrap()],
            (true, true) => vec![V6[1]],
        },
        check_unicast_src: sel & 128 != 0,
        unicast_min_ttl: 1,
        own: vec![if ipv6 { V6[0] } else { "198.18.0.1".parse().unwrap() }],
        advertised: encode_addrs([if ipv6 { V6[3] } else { "198.18.0.100".parse().unwrap() }]),
        skip_check_adv_addr: sel & 64 != 0,
        early_failover: sel & 2 != 0,
        // The RFC's 3, or keepalived's extremes.
        down_timer_adverts: [3, 1, 100][usize::from(sel >> 5 & 3) % 3],
        startup_delay: Duration::from_millis(u64::from(sel & 32) * 50),
        lower_prio_no_advert: sel & 8 != 0,
        higher_prio_send_advert: sel & 16 != 0,
        garp_delay: Duration::from_secs(5),
        garp_lower_prio: Some(Duration::from_secs(5)),
        first_hold: Duration::from_millis(u64::from(sel & 4) * 100),
    }
}

/// Our link-local, the peer's, another host's, the VIP, and the VRRP group.
const V6: [IpAddr; 5] = [
    IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
    IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2)),
    IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9)),
    IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100)),
    IpAddr::V6(std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
];

/// An IPv6 datagram as the socket reports it: a byte picks source and destination, one is
/// the hop limit, the rest the VRRP payload.
fn ipv6_datagram(d: &[u8]) -> Option<Received<'_>> {
    let (&pick, rest) = d.split_first()?;
    let (&ttl, payload) = rest.split_first()?;
    let src = V6[usize::from(pick & 3) % 3];
    let dst = if pick & 4 != 0 { V6[4] } else { V6[0] };
    Some(Received { src, dst, ttl, payload })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else { return };
    let ipv6 = data.len() % 3 == 1;
    let mut inst = Instance::new(params(sel, ipv6));
    let mut now = Instant::now();
    // An even length starts as if our VIPs were left on the host: resuming.
    let resume = data.len() % 2 == 0;
    let mut holding = resume;
    let mut closing = false;
    let step = |inst: &mut Instance, holding: &mut bool, closing: bool| {
        while let Some(a) = inst.poll_action() {
            match a {
                Action::AddVips => {
                    assert!(!closing, "AddVips after Shutdown");
                    *holding = true
                }
                // The runtime removes them within a bound once the successor announces them.
                Action::RemoveVips | Action::HandOverVips { .. } => *holding = false,
                _ => {}
            }
        }
        if *holding && inst.state() != State::Master {
            let resuming = inst.state() == State::Backup && inst.counters().transitions == 1;
            assert!(resuming, "VIPs held in {}", inst.state());
        }
        if closing {
            assert!(matches!(inst.state(), State::Master | State::Stopped), "back to {} after Shutdown", inst.state());
        }
    };
    inst.handle(if resume { Event::Resume } else { Event::Start }, now);
    step(&mut inst, &mut holding, closing);
    // Each record: 2 bytes of milliseconds to advance, 2 bytes of length, the datagram.
    while rest.len() >= 4 {
        let ms = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]])).min(rest.len() - 4);
        let (dgram, tail) = rest[4..].split_at(len);
        rest = tail;
        now += Duration::from_millis(u64::from(ms));
        while let Some(d) = inst.next_deadline().filter(|d| *d <= now) {
            inst.handle(Event::Timeout, d);
            step(&mut inst, &mut holding, closing);
        }
        match ms % 97 {
            0 => inst.handle(Event::Fault(Fault::LinkDown), now),
            1 => inst.handle(Event::Recovered, now),
            2 => {
                closing = true;
                inst.handle(Event::Shutdown, now)
            }
            3 => inst.handle(Event::Fault(Fault::NoAddress), now),
            4 => inst.handle(Event::HeldElsewhere(IpAddr::from([198, 18, 0, 100])), now),
            5 => inst.handle(Event::SyncMaster, now),
            6 => inst.handle(Event::SyncBackup, now),
            7 => inst.handle(Event::Fault(Fault::Check), now),
            8 => inst.handle(Event::Priority(rest.first().copied().unwrap_or(1)), now),
            9 => inst.handle(Event::Fault(Fault::SyncGroup), now),
            // The followed master's host (or another) answers a probe.
            10 | 11 => inst.handle(
                Event::NeighbourAnswered(if ipv6 { V6[usize::from(ms % 2)] } else { IpAddr::from([198, 18, 0, 2]) }),
                now,
            ),
            // Swarm membership: the peer alone, another host alone, both, or none.
            12 => {
                let (peer, other) = if ipv6 { (V6[1], V6[2]) } else { ([198, 18, 0, 2].into(), [198, 18, 0, 9].into()) };
                let set = [vec![peer], vec![other], vec![peer, other], vec![]];
                inst.handle(Event::Peers(set[usize::from(ms / 97 % 4)].clone()), now)
            }
            _ => {}
        }
        step(&mut inst, &mut holding, closing);
        let rx = if ipv6 {
            ipv6_datagram(dgram)
        } else {
            ipv4::parse(dgram)
        };
        if let Some(rx) = rx {
            let _ = inst.receive(rx, now);
            step(&mut inst, &mut holding, closing);
        }
    }
});
