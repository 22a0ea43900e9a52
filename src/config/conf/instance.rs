//! One `vrrp_instance` block into a [`Draft`], with keepalived's defaults; the rule book
//! finishes it once the file's scripts and sync groups are known.

use std::net::IpAddr;
use std::time::Duration;

use super::keywords::{IGNORED_INSTANCE, UNSUPPORTED_INSTANCE};
use super::lex::{Pos, Stmt};
use super::script::{command, weight_of};
use super::{Globals, Parser};
use crate::config::draft::{At, Draft, Sourced, CONF_NAMES};
use crate::config::track::Check;
use crate::config::vip;
use crate::config::{InitialState, Origin, Version};

/// A `track_script` entry, resolved once every `vrrp_script` is read.
pub(super) struct TrackRef {
    pub at: Pos,
    pub name: String,
    pub weight: Option<i32>,
}

/// The draft of `vrrp_instance NAME` at `s`, and the scripts it tracks; `None` when the
/// block has no usable virtual router id (reported).
pub(super) fn instance(p: &mut Parser, s: &Stmt, name: &str, g: &Globals) -> Option<(Draft, Vec<TrackRef>)> {
    let whole = At::Line(s.at.clone(), format!("vrrp_instance {name}"));
    let mut d = Draft {
        origin: Origin::ConfFile,
        names: CONF_NAMES,
        name: name.to_string(),
        interface: Sourced::new(
            g.default_interface.clone().unwrap_or_else(|| "eth0".into()),
            At::Line(s.at.clone(), format!("vrrp_instance {name}: interface (default)")),
        ),
        state: InitialState::Backup,
        router_id: 0,
        priority: 100,
        nopreempt: None,
        preempt_delay: None,
        advert_int: None,
        version: g.version.unwrap_or(Version::V2),
        version_set: g.version.is_some(),
        password: None,
        advert_source: None,
        peers: vec![],
        vips: vec![],
        notify: None,
        notify_state: vec![],
        track_interfaces: vec![],
        checks: vec![],
        weight_at: whole.clone(),
        track_at: whole,
        sync_group: None,
        v3_checksum_as_v2: false,
        unicast_min_ttl: None,
        check_unicast_src: g.check_unicast_src,
        listed_sources: vec![],
        first_hold: Duration::ZERO,
    };
    let mut tracks = vec![];
    let mut router_id = None;
    let mut vrid_seen = false;
    for k in p.block(s) {
        if k.keyword() == "virtual_router_id" {
            router_id = p.int(k, 1, 255).map(|n| n as u8);
            vrid_seen = true;
        } else {
            keyword(p, k, &mut d, &mut tracks);
        }
    }
    let Some(router_id) = router_id else {
        if !vrid_seen {
            p.fail(&s.at, format!("vrrp_instance {name}: virtual_router_id must be set (1..255)"));
        }
        return None;
    };
    d.router_id = router_id;
    if d.vips.is_empty() {
        p.fail(&s.at, format!("vrrp_instance {name}: no virtual_ipaddress; give at least one VIP"));
    }
    // The family is the first VIP's; keepalived ignores VIPs of the other one.
    let ipv6 = d.vips.first().is_some_and(|v| v.value.addr.is_ipv6());
    if ipv6 && d.version == Version::V2 {
        p.fail(&s.at, format!("vrrp_instance {name}: the first VIP is IPv6 but VRRPv2 is IPv4 only; add 'version 3'"));
    }
    for v in d.vips.iter().filter(|v| v.value.addr.is_ipv6() != ipv6) {
        if let At::Line(at, _) = &v.at {
            p.warn(
                at,
                format!("{}: not of the first VIP's address family; ignored, as keepalived ignores it", v.value),
            );
        }
    }
    d.vips.retain(|v| v.value.addr.is_ipv6() == ipv6);
    if (d.notify.is_some() || !d.notify_state.is_empty()) && !g.script_security {
        // keepalived runs them too, after "SECURITY VIOLATION - scripts are being executed
        // but script_security not enabled" (which fails its config test).
        p.warn(&s.at, format!("vrrp_instance {name}: notify scripts run as root without enable_script_security in global_defs (keepalived warns the same)"));
    }
    if d.version == Version::V3 && d.password.is_some() {
        p.warn(&s.at, format!("vrrp_instance {name}: authentication is ignored with VRRPv3, as keepalived ignores it"));
    }
    Some((d, tracks))
}

/// One keyword of the block.
fn keyword(p: &mut Parser, k: &Stmt, d: &mut Draft, tracks: &mut Vec<TrackRef>) {
    let kw = k.keyword();
    let here = |what: String| At::Line(k.at.clone(), what);
    match kw {
        "state" => {
            if let Some(v) = p.one(k, "MASTER or BACKUP") {
                d.state = match v {
                    "MASTER" => InitialState::Master,
                    "BACKUP" => InitialState::Backup,
                    other => {
                        let msg =
                            format!("state '{other}': expected MASTER or BACKUP (upper case, as keepalived reads it)");
                        p.fail(&k.at, msg);
                        InitialState::Backup
                    }
                }
            }
        }
        "interface" => {
            if let Some(v) = p.one(k, "an interface name") {
                d.interface = Sourced::new(v.to_string(), here(format!("interface {v}")));
            }
        }
        "priority" => d.priority = p.int(k, 1, 255).map_or(d.priority, |n| n as u8),
        "advert_int" | "preempt_delay" => {
            if let Some(v) = p.one(k, "seconds") {
                let value = Some(Sourced::new(v.to_string(), here(format!("{kw} '{v}'"))));
                if kw == "advert_int" {
                    d.advert_int = value;
                } else {
                    d.preempt_delay = value;
                }
            }
        }
        "version" => {
            d.version_set = true;
            d.version = match p.int(k, 2, 3) {
                Some(2) => Version::V2,
                Some(_) => Version::V3,
                None => d.version,
            }
        }
        "nopreempt" => d.nopreempt = Some((here(String::new()), true)),
        "unicast_src_ip" | "mcast_src_ip" => {
            if let Some(v) = p.one(k, "an address of this host") {
                match v.parse::<IpAddr>() {
                    Ok(ip) => d.advert_source = Some(Sourced::new(ip, here(kw.to_string()))),
                    Err(_) => p.fail(&k.at, format!("{kw} '{v}': expected an IPv4 or IPv6 address")),
                }
            }
        }
        "unicast_peer" => unicast_peers(p, k, d),
        "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
            for e in p.block(k) {
                match vip::parse_conf(&e.words) {
                    Ok((mut v, ignored)) => {
                        v.excluded = kw == "virtual_ipaddress_excluded";
                        for i in ignored {
                            p.warn(&e.at, format!("{v}: '{i}' has no effect in keepvip"));
                        }
                        if d.vips.iter().any(|o| o.value.addr == v.addr) {
                            // keepalived keeps both entries (and advertises both): so do
                            // we, for the same adverts; the kernel has it once.
                            p.warn(&e.at, format!("{} is listed twice (the address is added once)", v.addr));
                        }
                        d.vips.push(Sourced::new(v, At::Line(e.at.clone(), String::new())));
                    }
                    Err(msg) => p.fail(&e.at, msg),
                }
            }
        }
        "authentication" => authentication(p, k, d),
        "notify" => d.notify = command(p, k),
        "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" => {
            if let Some(c) = command(p, k) {
                d.notify_state.push((kw["notify_".len()..].to_ascii_uppercase(), c));
            }
        }
        "track_interface" => track_interfaces(p, k, d),
        "track_script" => {
            for e in p.block(k) {
                if let [n, rest @ ..] = e.words.as_slice() {
                    let weight = if rest.is_empty() { None } else { weight_of(p, e, rest) };
                    tracks.push(TrackRef { at: e.at.clone(), name: n.clone(), weight });
                }
            }
        }
        "check_unicast_src" => d.check_unicast_src = true,
        "unicast_ttl" => d.unicast_min_ttl = p.int(k, 1, 255).map(|n| n as u8).or(d.unicast_min_ttl),
        kw if IGNORED_INSTANCE.contains(&kw) => {}
        kw => match UNSUPPORTED_INSTANCE.iter().find(|(u, _)| *u == kw) {
            Some((_, what)) => p.fail(&k.at, format!("{kw}: keepvip does not do {what}; remove it, or run keepalived")),
            None => p.fail(&k.at, format!("unknown keyword '{kw}' in vrrp_instance {}", d.name)),
        },
    }
}

/// `unicast_peer { ADDR [min_ttl N] [max_ttl N] … }`.
fn unicast_peers(p: &mut Parser, k: &Stmt, d: &mut Draft) {
    for e in p.block(k) {
        let Some(first) = e.words.first() else { continue };
        match first.parse::<IpAddr>() {
            Ok(ip) => d.peers.push(Sourced::new(ip, At::Line(e.at.clone(), String::new()))),
            Err(_) => p.fail(&e.at, format!("unicast_peer '{first}': expected an IPv4 or IPv6 address")),
        }
        let mut rest = e.words[1..].iter();
        while let Some(w) = rest.next() {
            match (w.as_str(), rest.next().map(|v| v.parse::<u8>())) {
                ("min_ttl", Some(Ok(n))) => d.unicast_min_ttl = Some(d.unicast_min_ttl.unwrap_or(255).min(n)),
                ("max_ttl", Some(Ok(_))) => {}
                _ => p.fail(&e.at, format!("unicast_peer: '{w}': expected min_ttl N or max_ttl N after the address")),
            }
        }
    }
}

fn authentication(p: &mut Parser, k: &Stmt, d: &mut Draft) {
    let mut kind = None;
    for a in p.block(k) {
        match a.keyword() {
            "auth_type" => kind = p.one(a, "PASS").map(str::to_string),
            // keepalived takes the first word; the first 8 bytes count.
            "auth_pass" => match a.args().first() {
                Some(v) => d.password = Some(v.clone()),
                None => p.fail(&a.at, "auth_pass needs a value"),
            },
            other => p.fail(&a.at, format!("unknown keyword '{other}' in authentication")),
        }
    }
    match kind.as_deref() {
        Some("PASS") | None => {}
        Some("AH") => p.fail(&k.at, "auth_type AH: not supported (keepalived deprecates it too); use PASS"),
        Some(other) => p.fail(&k.at, format!("auth_type '{other}': expected PASS")),
    }
}

/// `track_interface { IF [weight W] … }`: weight 0 (or none) is a FAULT while down, a
/// weight moves the priority.
fn track_interfaces(p: &mut Parser, k: &Stmt, d: &mut Draft) {
    for e in p.block(k) {
        let at = At::Line(e.at.clone(), String::new());
        match e.words.as_slice() {
            [i] => d.track_interfaces.push(Sourced::new(i.clone(), at)),
            [i, rest @ ..] => match weight_of(p, e, rest) {
                Some(0) => d.track_interfaces.push(Sourced::new(i.clone(), at)),
                Some(w) => d.checks.push(Check::interface(i, w)),
                None => {}
            },
            [] => {}
        }
    }
}
