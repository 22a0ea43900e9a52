//! The rule book both sources share (the variables and keepalived.conf): a front-end reads
//! its syntax into a [`Draft`]; [`finish`] applies every rule once and builds the `Config`.
//! The deliberate differences stay in the front-ends, named there (dual stack from the
//! variables, keepalived's defaults in files).

use std::net::IpAddr;
use std::time::Duration;

use super::draft::{At, Draft, Finding, Sourced};
use super::{Config, HostView, InitialState, Probe, Version, Vip, IPV6_UNICAST_MIN_HOPS};

/// Decimal seconds to centiseconds, exactly (no float rounding surprises).
pub fn parse_centis(v: &str) -> Option<u32> {
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 2 {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) || whole.len() > 6 {
        return None;
    }
    let w: u32 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let f: u32 = format!("{frac:0<2}").parse().ok()?;
    Some(w * 100 + f)
}

/// Why `ip` cannot be a unicast peer, if it cannot.
pub fn not_a_peer(ip: IpAddr, host: &HostView) -> Option<String> {
    if ip.is_unspecified() {
        return Some("is the unspecified address".into());
    }
    if ip.is_multicast() {
        return Some("is a multicast address".into());
    }
    if ip.is_loopback() {
        return Some("is a loopback address".into());
    }
    let IpAddr::V4(v4) = ip else { return None };
    if v4.is_broadcast() {
        return Some("is the broadcast address".into());
    }
    // The directed broadcast of a subnet this host is on.
    for (i, a) in host.interfaces.iter().flat_map(|i| i.addrs.iter().map(move |a| (i, a))) {
        if let IpAddr::V4(mine) = a.addr {
            if a.prefix < 31 {
                let mask = u32::MAX << (32 - u32::from(a.prefix));
                if u32::from(mine) & mask == u32::from(v4) & mask && u32::from(v4) | mask == u32::MAX {
                    return Some(format!("is the broadcast address of {}/{} on {}", mine, a.prefix, i.name));
                }
            }
        }
    }
    None
}

/// Why VIP `v` is one of this host's own addresses rather than a VIP left by a crash: the
/// host has the address with another prefix, or it is the advert interface's primary
/// address (keepvip adds VIPs after it, so a stale one is never first). Same address and
/// prefix elsewhere is a stale VIP: removed at start.
pub fn host_owns_vip(host: &HostView, v: &Vip, interface: &str) -> Option<String> {
    for i in &host.interfaces {
        for a in i.addrs.iter().filter(|a| a.addr == v.addr) {
            if a.prefix != v.prefix {
                return Some(format!("this host has {}/{} on {}", a.addr, a.prefix, i.name));
            }
            // IPv6 has no primary address (the kernel lists the newest first): an exact copy
            // there is a VIP left behind, like a secondary IPv4 one.
            let primary = i.addrs.iter().find(|o| o.addr.is_ipv4()).filter(|_| a.addr.is_ipv4());
            if i.name == interface && primary == Some(a) && !host.ours.contains(&a.addr) {
                return Some(format!("{}/{} is the primary address of {}", a.addr, a.prefix, i.name));
            }
        }
    }
    None
}

/// A draft through the rule book: its [`Config`], or the problems that keep it from being
/// one; the warnings and start-up notes either way.
#[derive(Debug)]
pub struct Finished {
    pub config: Option<Config>,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    pub info: Vec<String>,
}

struct Book {
    errors: Vec<Finding>,
    warnings: Vec<Finding>,
    info: Vec<String>,
}

impl Book {
    fn fail(&mut self, at: &At, msg: impl Into<String>) {
        self.errors.push(Finding::new(at, msg));
    }

    fn warn(&mut self, at: &At, msg: impl Into<String>) {
        self.warnings.push(Finding::new(at, msg));
    }
}

/// Every rule both sources share, applied once: timers per version, preemption as
/// keepalived reads it, peers, VIPs, the advert source, checks' weights.
pub fn finish(d: Draft, host: &HostView) -> Finished {
    let mut b = Book { errors: vec![], warnings: vec![], info: vec![] };
    let ipv6 = d.vips.first().is_some_and(|v| v.value.addr.is_ipv6());
    if host.iface(&d.interface.value).is_none() {
        b.fail(&d.interface.at, format!("no such interface; this host has: {}", host.names()));
    }
    let advert_int_cs = advert_int(&mut b, &d);
    let (preempt, preempt_delay) = preemption(&mut b, &d);
    let peers = peers(&mut b, &d, host, ipv6);
    vips(&mut b, &d, host);
    routes(&mut b, &d, host);
    let weighted = d.checks.iter().filter_map(|c| match &c.probe {
        Probe::Link(i) => Some((i, &d.track_at)),
        _ => None,
    });
    for (t, at) in d.track_interfaces.iter().map(|t| (&t.value, &t.at)).chain(weighted) {
        if host.iface(t).is_none() {
            b.fail(at, format!("no interface '{t}' to track; this host has: {}", host.names()));
        }
    }
    weights(&mut b, &d, preempt);
    let mut d = d;
    if d.priority == 255 {
        // keepalived stops tracking what is weighted for the address owner: its priority
        // never moves (warned in `weights`).
        d.checks.retain(|c| c.weight == 0);
    }
    let advert_source = advert_source(&mut b, &d, host, ipv6);
    let Book { errors, warnings, info } = b;
    if !errors.is_empty() {
        return Finished { config: None, errors, warnings, info };
    }
    let config = Config {
        origin: d.origin,
        name: d.name,
        interface: d.interface.value,
        state: d.state,
        router_id: d.router_id,
        priority: d.priority,
        preempt,
        preempt_delay,
        advert_int_cs,
        version: d.version,
        // VRRPv3 has no authentication: keepalived ignores it there.
        password: d.password.filter(|p| !p.is_empty() && d.version == Version::V2),
        advert_source_set: d.advert_source.is_some(),
        advert_source,
        unicast_peers: peers,
        virtual_ips: d.vips.into_iter().map(|v| v.value).collect(),
        virtual_routes: d.routes.into_iter().map(|r| r.value).collect(),
        virtual_rules: d.rules,
        notify: d.notify,
        notify_state: d.notify_state,
        track_interfaces: d.track_interfaces.into_iter().map(|t| t.value).collect(),
        checks: d.checks,
        sync_group: d.sync_group,
        v3_checksum_as_v2: d.v3_checksum_as_v2,
        unicast_min_ttl: match d.unicast_min_ttl {
            Some(n) => n,
            None if ipv6 => IPV6_UNICAST_MIN_HOPS,
            None => 255,
        },
        check_unicast_src: d.check_unicast_src,
        listed_sources: d.listed_sources.into_iter().filter(|a| a.is_ipv6() == ipv6).collect(),
        first_hold: d.first_hold,
        garp: d.garp,
        dont_track_primary: d.dont_track_primary,
        mcast_group: d.mcast_group,
        skip_check_adv_addr: d.skip_check_adv_addr,
        early_failover: d.early_failover,
        down_timer_adverts: d.down_timer_adverts,
        track_src_ip: d.track_src_ip,
        startup_delay: d.startup_delay,
        accept: d.accept,
        strict: d.strict,
        lower_prio_no_advert: d.lower_prio_no_advert,
        higher_prio_send_advert: d.higher_prio_send_advert,
        vmac: d.vmac,
        swarm_peers: d.peers_from_swarm && d.peers.iter().any(|p| p.value.is_ipv6() == ipv6),
    };
    Finished { config: Some(config), errors, warnings, info }
}

/// VRRPv2 counts whole seconds; VRRPv3 centiseconds up to 40.95 s.
fn advert_int(b: &mut Book, d: &Draft) -> u16 {
    let Some(v) = &d.advert_int else { return 100 };
    let cs = parse_centis(&v.value);
    match (cs, d.version) {
        (Some(cs), Version::V2) if cs % 100 == 0 && (100..=25500).contains(&cs) => cs as u16,
        (Some(cs), Version::V3) if (1..=4095).contains(&cs) => cs as u16,
        (_, Version::V2) => {
            let set = d.names.version;
            b.fail(&v.at, format!("expected whole seconds 1..255 for VRRPv2 (set {set}3 for sub-second adverts)"));
            100
        }
        (_, Version::V3) => {
            b.fail(&v.at, "expected seconds 0.01..40.95 in steps of 0.01 for VRRPv3");
            100
        }
    }
}

/// keepalived drops nopreempt at priority 255 ("incompatible with priority 255") and with
/// `state MASTER` ("will not work with initial state MASTER"); osixia always renders it.
fn preemption(b: &mut Book, d: &Draft) -> (bool, Duration) {
    let delay = match &d.preempt_delay {
        None => Duration::ZERO,
        Some(v) => match parse_centis(&v.value) {
            Some(cs) if cs <= 100_000 => Duration::from_millis(u64::from(cs) * 10),
            _ => {
                b.fail(&v.at, "expected seconds 0..1000 (decimal allowed)");
                Duration::ZERO
            }
        },
    };
    // keepalived: "preempt delay will not work with initial state MASTER - clearing".
    let delay = match &d.preempt_delay {
        Some(v) if !delay.is_zero() && d.state == InitialState::Master => {
            b.warn(&v.at, format!("has no effect with {} (keepalived clears it too)", d.names.master));
            Duration::ZERO
        }
        _ => delay,
    };
    let Some((at, written)) = &d.nopreempt else { return (true, delay) };
    if d.priority == 255 || d.state == InitialState::Master {
        let why = if d.priority == 255 { format!("{}255", d.names.priority) } else { d.names.master.to_string() };
        let msg = format!(
            "nopreempt has no effect with priority 255 or state MASTER ({why} here): keepalived ignores it, so this node preempts"
        );
        if *written {
            b.warn(at, msg);
        } else {
            b.info.push(msg);
        }
        return (true, delay);
    }
    if let Some(v) = d.preempt_delay.as_ref().filter(|_| !delay.is_zero()) {
        b.warn(&v.at, "has no effect with nopreempt (keepalived ignores it too)");
    }
    (false, Duration::ZERO)
}

/// Peers: each once, each a possible host address of the VIPs' family; this host's own
/// addresses in the list (the recipe gives every node the same list) are not peers.
fn peers(b: &mut Book, d: &Draft, host: &HostView, ipv6: bool) -> Vec<IpAddr> {
    let mut peers: Vec<IpAddr> = vec![];
    for p in &d.peers {
        let ip = p.value;
        if peers.contains(&ip) {
            b.fail(&p.at, format!("peer {ip} is listed twice"));
        } else if let Some(why) = not_a_peer(ip, host) {
            let multicast = format!("leave {} out for multicast", d.names.peers);
            b.fail(&p.at, format!("peer {ip} {why}; a unicast peer is another node's own address ({multicast})"));
        } else {
            peers.push(ip);
        }
    }
    let stray: Vec<String> = peers.iter().filter(|p| p.is_ipv6() != ipv6).map(ToString::to_string).collect();
    if let Some(first) = d.peers.iter().find(|p| p.value.is_ipv6() != ipv6).filter(|_| !d.vips.is_empty()) {
        let fam = if first.value.is_ipv6() { "IPv6" } else { "IPv4" };
        let what = if stray.len() == 1 { format!("peer {}", stray[0]) } else { format!("peers {}", stray.join(", ")) };
        b.fail(&first.at, format!("{what}: {fam}, but no VIP is"));
    }
    let own: Vec<String> = peers.iter().filter(|p| host.owns(**p)).map(ToString::to_string).collect();
    if !own.is_empty() && d.peers.iter().all(|p| host.owns(p.value)) && !d.peers_from_swarm {
        // keepalived would advertise to itself only (unicast to nobody else); dropping the
        // list would turn this node to multicast: neither is a cluster.
        let at = &d.peers[0].at;
        b.fail(
            at,
            format!(
                "lists only this host's own address ({}): list the other nodes' addresses (leave {} out for multicast)",
                own.join(", "),
                d.names.peers
            ),
        );
    } else if !own.is_empty() {
        peers.retain(|p| !host.owns(*p));
        b.info.push(format!("{}: {} is this host's own address; not a peer", d.names.peers, own.join(", ")));
    }
    peers
}

/// A route's interface exists when the file is read (keepalived refuses the file otherwise).
fn routes(b: &mut Book, d: &Draft, host: &HostView) {
    for Sourced { value: r, at } in &d.routes {
        if let Some(dev) = r.dev.as_deref().filter(|dev| host.iface(dev).is_none()) {
            b.fail(at, format!("virtual_routes {r}: no interface '{dev}'; this host has: {}", host.names()));
        }
    }
}

/// A VIP is an address no node holds permanently, on an interface this host has, not a peer.
fn vips(b: &mut Book, d: &Draft, host: &HostView) {
    for Sourced { value: v, at } in &d.vips {
        let dev = v.dev.as_deref().unwrap_or(&d.interface.value);
        if let Some(why) = host_owns_vip(host, v, &d.interface.value) {
            let owner = format!("remove it from the interface and give this node {}255", d.names.priority);
            b.fail(at, format!("{v}: {why}; a VIP must be an address no node holds permanently (keepalived's address owner: {owner})"));
        }
        if v.dev.is_some() && host.iface(dev).is_none() {
            if d.missing_dev_is_fault {
                // keepalived reloads such a file and holds the instance in FAULT until the
                // interface exists: so do we (at start it refuses, as keepalived does).
                b.warn(at, format!("{v}: no interface '{dev}' yet: the instance stays in FAULT until it exists"));
            } else {
                b.fail(at, format!("{v}: no interface '{dev}'; this host has: {}", host.names()));
            }
        }
        if let Err(e) = super::vip::check_label(v, dev) {
            b.fail(at, format!("{v}: {e}"));
        }
        if d.peers.iter().any(|p| p.value == v.addr) {
            b.fail(at, format!("{} is also a unicast peer; a VIP must be an address no node owns", v.addr));
        }
    }
}

/// Weighted checks move the priority: the address owner's never moves, and with
/// nopreempt a lower priority never moves the VIP off a master.
fn weights(b: &mut Book, d: &Draft, preempt: bool) {
    if !d.checks.iter().any(|c| c.weight != 0) {
        return;
    }
    let fault = "use weight 0 so a failing check is a FAULT";
    if d.priority == 255 {
        // keepalived keeps a weighted tracked process for the owner (its manual asks for
        // weight 0) with a meaning it does not state: refused rather than guessed.
        let process = d.checks.iter().find(|c| c.weight != 0 && matches!(c.probe, super::Probe::Process(_)));
        if let Some(c) = process {
            b.fail(&d.weight_at, format!("track_process {} weight {}: the address owner (priority 255, also what state MASTER without priority is) needs weight 0 on a tracked process, as keepalived's manual says; {fault}", c.name, c.weight));
        }
        b.warn(&d.weight_at, format!("the address owner's priority (255) never moves, as in keepalived: weighted checks are not run; {fault}"));
    } else if !preempt {
        b.warn(&d.weight_at, format!("with nopreempt a weighted check lowers the priority but never moves the VIP off a master; preempt, or {fault}"));
    }
}

/// The configured source (of the VIPs' family; warned when the host lacks it), else the
/// interface's own address.
fn advert_source(b: &mut Book, d: &Draft, host: &HostView, ipv6: bool) -> Option<IpAddr> {
    match &d.advert_source {
        Some(s) if s.value.is_ipv6() != ipv6 => {
            b.fail(&s.at, format!("{}: not of the VIPs' address family", s.value));
            None
        }
        Some(s) => {
            if !host.owns(s.value) {
                let iface = &d.interface.value;
                b.warn(
                    &s.at,
                    format!(
                        "{} is not an address of this host: the instance stays in FAULT until {iface} has it (keepalived does the same)",
                        s.value
                    ),
                );
            }
            Some(s.value)
        }
        None => host.advert_source(&d.interface.value, ipv6, |a| d.vips.iter().any(|v| v.value.addr == a)),
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
