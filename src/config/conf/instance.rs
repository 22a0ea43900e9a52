//! One `vrrp_instance` block into a [`Draft`], with keepalived's defaults; the rule book
//! finishes it once the file's scripts and sync groups are known.

use std::net::IpAddr;
use std::time::Duration;

use super::keywords::Block;
use super::lex::{Pos, Stmt};
use super::script::{notify_command, weight_of};
use super::strict::{is_link_local, strict, use_vmac};
use super::{Globals, Parser};
use crate::config::draft::{At, Draft, Sourced, CONF_NAMES};
use crate::config::track::Check;
use crate::config::{route, rule, vip};
use crate::config::{InitialState, Origin, Version};

/// A `track_script` entry, resolved once every `vrrp_script` is read.
pub(super) struct TrackRef {
    pub at: Pos,
    pub name: String,
    pub weight: Option<i32>,
    /// A `track_process` entry (else `track_script`).
    pub process: bool,
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
        routes: vec![],
        rules: vec![],
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
        garp: g.garp,
        dont_track_primary: false,
        mcast_group: None,
        skip_check_adv_addr: g.skip_check_adv_addr,
        early_failover: g.early_failover,
        down_timer_adverts: g.down_timer_adverts,
        track_src_ip: false,
        startup_delay: g.startup_delay,
        accept: true,
        strict: false,
        lower_prio_no_advert: g.lower_prio_no_advert,
        higher_prio_send_advert: g.higher_prio_send_advert,
        vmac: None,
        peers_from_swarm: false,
        missing_dev_is_fault: false,
    };
    let mut tracks = vec![];
    let mut router_id = None;
    let mut vrid_seen = false;
    let mut seen = Seen::default();
    for k in p.block(s) {
        if k.keyword() == "virtual_router_id" {
            router_id = p.int(k, 1, 255).map(|n| n as u8);
            vrid_seen = true;
        } else {
            keyword(p, k, &mut d, &mut tracks, &mut seen, g);
        }
    }
    if !seen.interface {
        // keepalived's `default_interface` applies to static addresses only: an instance
        // without `interface` is refused there ("Unknown interface").
        p.fail(
            &s.at,
            format!(
                "vrrp_instance {name}: no interface; keepalived refuses an instance without one (add 'interface eth0')"
            ),
        );
    }
    // Unset priority and state derive from each other, as keepalived derives them: state
    // MASTER alone is the address owner (255, on the wire); priority 255 alone starts MASTER.
    d.state = seen.state.unwrap_or(if d.priority == 255 && seen.priority {
        InitialState::Master
    } else {
        InitialState::Backup
    });
    if !seen.priority {
        d.priority = if d.state == InitialState::Master { 255 } else { 100 };
        if d.state == InitialState::Master {
            p.warn(&s.at, format!("vrrp_instance {name}: state MASTER without priority is priority 255 (the address owner), as in keepalived"));
        }
    }
    d.strict = seen.strict.unwrap_or(g.strict);
    d.lower_prio_no_advert = seen.lower_prio_no_advert.unwrap_or(d.lower_prio_no_advert);
    d.higher_prio_send_advert = seen.higher_prio_send_advert.unwrap_or(d.higher_prio_send_advert);
    if d.strict {
        strict(p, &s.at, &mut d, &mut seen);
    }
    authenticated(p, &s.at, &mut d, &seen);
    // The instance's own interface is tracked anyway: keepalived ignores it in
    // track_interface, weighted or not.
    let own = d.interface.value.clone();
    for t in d.track_interfaces.iter().filter(|t| t.value == own) {
        if let At::Line(at, _) = &t.at {
            p.warn(
                at,
                format!(
                    "track_interface {own}: ignored since it is the instance's own interface, as keepalived ignores it"
                ),
            );
        }
    }
    d.track_interfaces.retain(|t| t.value != own);
    if d.checks.iter().any(|c| c.probe == crate::config::Probe::Link(own.clone())) {
        p.warn(
            &s.at,
            format!(
                "track_interface {own}: ignored since it is the instance's own interface, as keepalived ignores it"
            ),
        );
        d.checks.retain(|c| c.probe != crate::config::Probe::Link(own.clone()));
    }
    let Some(router_id) = router_id else {
        if !vrid_seen {
            p.fail(&s.at, format!("vrrp_instance {name}: virtual_router_id must be set (1..255)"));
        }
        return None;
    };
    d.router_id = router_id;
    if let Some(at) = seen.fault_no_peer.as_ref().filter(|_| d.peers.is_empty()) {
        p.fail(at, format!("vrrp_instance {name}: unicast_fault_no_peer and no unicast_peer: keepalived would hold this instance in FAULT for good; list the peers, or remove the line to advertise by multicast"));
    }
    // Excluded VIPs are not the virtual router's: they do not count.
    if d.vips.iter().all(|v| v.value.excluded) && d.strict {
        p.fail(&s.at, format!("vrrp_instance {name}: no virtual_ipaddress; strict mode needs at least one VIP (keepalived refuses it too)"));
    } else if d.vips.iter().all(|v| v.value.excluded) {
        // keepalived runs a VRRPv2 instance without VIPs (elections and notify scripts only:
        // the cloud set-up where a script moves an elastic IP); VRRPv3 requires one.
        if d.version == Version::V3 {
            p.fail(&s.at, format!("vrrp_instance {name}: no virtual_ipaddress; VRRPv3 needs at least one VIP (keepalived refuses it too)"));
        } else {
            p.warn(&s.at, format!("vrrp_instance {name}: no virtual_ipaddress: elections and notify scripts only, no address is added (keepalived: at least one is sensible)"));
        }
    }
    // The family is the first VIP's; keepalived ignores VIPs of the other one.
    let ipv6 = d.vips.first().is_some_and(|v| v.value.addr.is_ipv6());
    if ipv6 && !seen.version {
        // keepalived runs an IPv6 instance as VRRPv3 whatever vrrp_version says.
        d.version = Version::V3;
        d.version_set = true;
    } else if ipv6 && d.version == Version::V2 && d.strict {
        p.warn(
            &s.at,
            format!("vrrp_instance {name}: IPv6 needs VRRPv3: running version 3, as keepalived does in strict mode"),
        );
        d.version = Version::V3;
    } else if ipv6 && d.version == Version::V2 {
        p.fail(
            &s.at,
            format!("vrrp_instance {name}: the first VIP is IPv6 but VRRPv2 is IPv4 only; remove 'version 2'"),
        );
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
    if let Some((at, written)) = seen.use_vmac.take() {
        if ipv6 {
            p.fail(&at, format!("vrrp_instance {name}: use_vmac with IPv6 is not implemented (keepvip's VMAC is IPv4 only); remove use_vmac"));
        } else {
            // keepalived's default: vrrp.VRID, else vrrp1.VRID, vrrp2.VRID… while another
            // instance has the name.
            let vrid = d.router_id;
            let vmac = written.unwrap_or_else(|| {
                let candidates =
                    std::iter::once(format!("vrrp.{vrid}")).chain((1..).map(|n| format!("vrrp{n}.{vrid}")));
                candidates.take(100).find(|n| !p.vmac_names.contains(n)).unwrap_or_default()
            });
            p.vmac_names.push(vmac.clone());
            // keepalived: "unicast with use_vmac requires vmac_xmit_base - setting".
            if seen.unicast_written && !seen.vmac_xmit_base {
                p.warn(&at, format!("vrrp_instance {name}: unicast with use_vmac sends adverts from {}, as keepalived sets vmac_xmit_base", d.interface.value));
            }
            let mut xmit_base = seen.vmac_xmit_base || seen.unicast_written;
            if xmit_base && d.strict {
                p.warn(&at, format!("vrrp_instance {name}: vmac_xmit_base is incompatible with strict mode: adverts leave from the VMAC, as keepalived resets it"));
                xmit_base = false;
            }
            d.vmac = Some(crate::config::Vmac { name: vmac, xmit_base });
        }
    }
    if d.mcast_group.is_none() {
        d.mcast_group = if ipv6 { g.mcast_group6 } else { g.mcast_group4 };
    } else if d.mcast_group.is_some_and(|m| m.is_ipv6() != ipv6) {
        p.fail(&s.at, format!("vrrp_instance {name}: mcast_dst_ip is not of the VIPs' address family"));
    }
    // After the version is settled: an IPv6 instance runs VRRPv3 whatever was written.
    d.accept = match seen.accept {
        // keepalived's default: accept, except in strict mode below the address owner.
        None => d.priority == 255 || !d.strict,
        Some(true) if d.strict && d.priority != 255 && d.version == Version::V2 => {
            p.warn(&s.at, format!("vrrp_instance {name}: accept is against RFC 3768 in strict mode below priority 255: traffic to the VIPs is dropped (no_accept), as keepalived resets it"));
            false
        }
        Some(a) => a,
    };
    if d.strict && ipv6 && d.peers.is_empty() && d.vips.first().is_some_and(|v| !is_link_local(v.value.addr)) {
        p.warn(&s.at, format!("vrrp_instance {name}: strict mode: the first IPv6 VIP must be link-local (keepalived says the same and runs)"));
    }
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

/// What keepalived decides once the block is read, from what the block set.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) state: Option<InitialState>,
    pub(super) priority: bool,
    pub(super) version: bool,
    pub(super) interface: bool,
    pub(super) auth_type: Option<(Pos, String)>,
    /// `notify`, `notify_master`…: keepalived keeps the first of each.
    pub(super) notify: Vec<String>,
    /// Where `unicast_fault_no_peer` was written.
    pub(super) fault_no_peer: Option<Pos>,
    pub(super) strict: Option<bool>,
    pub(super) accept: Option<bool>,
    pub(super) lower_prio_no_advert: Option<bool>,
    pub(super) higher_prio_send_advert: Option<bool>,
    /// Where `garp_lower_prio_*` were written in the block.
    pub(super) garp_lower_prio: Vec<Pos>,
    /// `use_vmac [NAME]`: where, and the name written.
    pub(super) use_vmac: Option<(Pos, Option<String>)>,
    pub(super) vmac_xmit_base: bool,
    /// A unicast keyword was written (keepalived's VRRP_FLAG_UNICAST_CONFIGURED), peers
    /// or not: with use_vmac it sets vmac_xmit_base.
    pub(super) unicast_written: bool,
}

/// One keyword of the block.
fn keyword(p: &mut Parser, k: &Stmt, d: &mut Draft, tracks: &mut Vec<TrackRef>, seen: &mut Seen, g: &Globals) {
    let kw = k.keyword();
    let here = |what: String| At::Line(k.at.clone(), what);
    match kw {
        "state" => match (p.one(k, "MASTER or BACKUP"), seen.state) {
            (Some("MASTER"), _) => seen.state = Some(InitialState::Master),
            (Some("BACKUP"), Some(InitialState::Master)) => {
                p.warn(&k.at, "state BACKUP after state MASTER: ignored, as keepalived keeps MASTER; remove one")
            }
            (Some("BACKUP"), _) => seen.state = Some(InitialState::Backup),
            (Some(other), _) => p.fail(
                &k.at,
                format!("state '{other}': expected MASTER or BACKUP (upper case, as keepalived reads it)"),
            ),
            (None, _) => {}
        },
        "interface" => {
            if let Some(v) = p.one(k, "an interface name") {
                seen.interface = true;
                d.interface = Sourced::new(v.to_string(), here(format!("interface {v}")));
            }
        }
        "priority" => {
            if let Some(n) = p.int(k, 1, 255) {
                d.priority = n as u8;
                seen.priority = true;
            }
        }
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
            seen.version = true;
            d.version = match p.int(k, 2, 3) {
                Some(2) => Version::V2,
                Some(_) => Version::V3,
                None => d.version,
            }
        }
        "nopreempt" => d.nopreempt = Some((here(String::new()), true)),
        // keepalived's default; written after nopreempt it clears it.
        "preempt" => d.nopreempt = None,
        "unicast_src_ip" | "mcast_src_ip" => {
            seen.unicast_written |= kw == "unicast_src_ip";
            if let Some(v) = p.one(k, "an address of this host") {
                match without_prefix(p, k, v).parse::<IpAddr>() {
                    Ok(ip) => d.advert_source = Some(Sourced::new(ip, here(kw.to_string()))),
                    Err(_) => p.fail(&k.at, format!("{kw} '{v}': expected an IPv4 or IPv6 address")),
                }
            }
        }
        "unicast_peer" => {
            seen.unicast_written = true;
            unicast_peers(p, k, d)
        }
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
        "virtual_routes" => {
            for e in p.block(k) {
                match route::parse_conf(&e.words) {
                    Ok((r, notes)) => {
                        for n in notes {
                            p.warn(&e.at, format!("virtual_routes: {n}"));
                        }
                        d.routes.push(Sourced::new(r, At::Line(e.at.clone(), String::new())));
                    }
                    Err(msg) => p.fail(&e.at, format!("virtual_routes: {msg}")),
                }
            }
        }
        "virtual_rules" => {
            for e in p.block(k) {
                let mut auto = p.rule_preference;
                match rule::parse_conf(&e.words, &mut auto) {
                    Ok((r, warning)) => {
                        if let Some(w) = warning {
                            p.warn(&e.at, format!("virtual_rules: {w}"));
                        }
                        d.rules.push(r);
                    }
                    Err(msg) => p.fail(&e.at, format!("virtual_rules: {msg}")),
                }
                p.rule_preference = auto;
            }
        }
        "authentication" => authentication(p, k, d, seen),
        "notify"
        | "notify_master"
        | "notify_backup"
        | "notify_fault"
        | "notify_stop"
        | "notify_master_rx_lower_pri" => {
            if seen.notify.iter().any(|n| n == kw) {
                p.warn(&k.at, format!("{kw} is set twice: ignored, as keepalived keeps the first"));
                return;
            }
            seen.notify.push(kw.to_string());
            match (kw, notify_command(p, k, g.scripts_removed.as_deref())) {
                (_, None) => {}
                ("notify", c) => d.notify = c,
                (_, Some(c)) => d.notify_state.push((kw["notify_".len()..].to_ascii_uppercase(), c)),
            }
        }
        "track_interface" => track_interfaces(p, k, d),
        "track_script" | "track_process" => {
            for e in p.block(k) {
                if let [n, rest @ ..] = e.words.as_slice() {
                    let weight = if rest.is_empty() { None } else { weight_of(p, e, rest) };
                    let process = k.keyword() == "track_process";
                    tracks.push(TrackRef { at: e.at.clone(), name: n.clone(), weight, process });
                }
            }
        }
        "check_unicast_src" => {
            seen.unicast_written = true;
            d.check_unicast_src = true
        }
        "track_src_ip" => d.track_src_ip = true,
        // keepalived: no peer then means FAULT for good instead of multicast. An instance
        // that can never run is refused here, naming the line.
        "unicast_fault_no_peer" => {
            seen.unicast_written = true;
            seen.fault_no_peer = Some(k.at.clone())
        }
        "dont_track_primary" => d.dont_track_primary = true,
        "skip_check_adv_addr" => d.skip_check_adv_addr = true,
        "mcast_dst_ip" => d.mcast_group = multicast_group(p, k, None).or(d.mcast_group),
        "garp_master_delay"
        | "garp_master_repeat"
        | "garp_master_refresh"
        | "garp_master_refresh_repeat"
        | "garp_lower_prio_delay"
        | "garp_lower_prio_repeat"
        | "garp_extra_if" => {
            if kw.starts_with("garp_lower_prio") {
                seen.garp_lower_prio.push(k.at.clone());
            }
            garp_keyword(p, k, &mut d.garp)
        }
        // keepalived warns and keeps the default for a value outside 1..100: refused here.
        "down_timer_adverts" => d.down_timer_adverts = p.int(k, 1, 100).map_or(d.down_timer_adverts, |n| n as u8),
        "unicast_ttl" => d.unicast_min_ttl = p.int(k, 1, 255).map(|n| n as u8).or(d.unicast_min_ttl),
        "accept" => seen.accept = Some(true),
        "no_accept" => seen.accept = Some(false),
        "use_vmac" => use_vmac(p, k, seen),
        "vmac_xmit_base" => seen.vmac_xmit_base = true,
        "strict_mode" => seen.strict = p.flag(k).or(seen.strict),
        "lower_prio_no_advert" => seen.lower_prio_no_advert = p.flag(k).or(seen.lower_prio_no_advert),
        "higher_prio_send_advert" => seen.higher_prio_send_advert = p.flag(k).or(seen.higher_prio_send_advert),
        kw => p.not_read(k, Block::Instance, kw, &format!("in vrrp_instance {}", d.name)),
    }
}

/// `unicast_peer { ADDR [min_ttl N] [max_ttl N] … }`.
fn unicast_peers(p: &mut Parser, k: &Stmt, d: &mut Draft) {
    for e in p.block(k) {
        let Some(first) = e.words.first() else { continue };
        match without_prefix(p, e, first).parse::<IpAddr>() {
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

/// One `garp_master_*` keyword (also `vrrp_garp_master_*` in `global_defs`): whole
/// seconds or a count, as keepalived reads them; without a value keepalived exits.
pub(super) fn garp_keyword(p: &mut Parser, k: &Stmt, garp: &mut crate::config::Garp) {
    let kw = k.keyword().trim_start_matches("vrrp_");
    if kw == "garp_extra_if" {
        // `[all] SECONDS`, 0 turning it off.
        let (all, value) = match k.args() {
            [a, v] if a == "all" => (true, Some(v)),
            [v] => (false, Some(v)),
            _ => (false, None),
        };
        match value.and_then(|v| v.parse::<u64>().ok()).filter(|n| *n <= 86_400) {
            Some(n) => {
                garp.extra_if = (n > 0).then(|| Duration::from_secs(n));
                garp.extra_if_all = all;
            }
            None => p.fail(&k.at, format!("{}: expected [all] SECONDS (0..86400)", k.keyword())),
        }
        return;
    }
    let (lo, hi) = match kw {
        "garp_master_repeat" | "garp_master_refresh_repeat" => (1, 1000),
        "garp_lower_prio_repeat" => (0, 1000),
        _ => (0, 86_400),
    };
    let Some(n) = p.int(k, lo, hi) else { return };
    match kw {
        "garp_master_delay" => garp.delay = Duration::from_secs(u64::from(n)),
        "garp_master_repeat" => garp.repeat = n as usize,
        "garp_master_refresh" => garp.refresh = (n > 0).then(|| Duration::from_secs(u64::from(n))),
        "garp_lower_prio_delay" => garp.lower_prio_delay = Some(Duration::from_secs(u64::from(n))),
        "garp_lower_prio_repeat" => garp.lower_prio_repeat = Some(n as usize),
        _ => garp.refresh_repeat = n as usize,
    }
}

/// A multicast group for adverts (of `family` when given: true for IPv6).
pub(super) fn multicast_group(p: &mut Parser, k: &Stmt, family: Option<bool>) -> Option<IpAddr> {
    let v = p.one(k, "a multicast address")?;
    match v.parse::<IpAddr>() {
        Ok(ip) if ip.is_multicast() && family.is_none_or(|v6| ip.is_ipv6() == v6) => Some(ip),
        _ => {
            let fam = match family {
                Some(true) => "an IPv6 ",
                Some(false) => "an IPv4 ",
                None => "a ",
            };
            p.fail(&k.at, format!("{} '{v}': expected {fam}multicast address", k.keyword()));
            None
        }
    }
}

/// keepalived reads `ADDR/LEN` as ADDR: the prefix is dropped, and said.
fn without_prefix<'w>(p: &mut Parser, k: &Stmt, word: &'w str) -> &'w str {
    match word.split_once('/') {
        Some((addr, len)) if len.parse::<u8>().is_ok() => {
            p.warn(&k.at, format!("'{word}': the prefix /{len} is ignored, as keepalived ignores it; write {addr}"));
            addr
        }
        _ => word,
    }
}

fn authentication(p: &mut Parser, k: &Stmt, d: &mut Draft, seen: &mut Seen) {
    for a in p.block(k) {
        match a.keyword() {
            "auth_type" => match p.one(a, "PASS") {
                Some(t @ "PASS") => seen.auth_type = Some((a.at.clone(), t.to_string())),
                Some("AH") => p.fail(&a.at, "auth_type AH: keepvip does not implement IPsec AH authentication (keepalived 2.2.7 does); use PASS on every node, or no authentication"),
                Some(other) => p.fail(&a.at, format!("auth_type '{other}': expected PASS")),
                None => {}
            },
            // keepalived takes the first word; the first 8 bytes count.
            "auth_pass" => match a.args().first() {
                Some(v) => {
                    if v.len() > 8 {
                        p.warn(&a.at, format!("auth_pass is {} bytes: the first 8 are used ('{}'), as keepalived truncates it", v.len(), String::from_utf8_lossy(&v.as_bytes()[..8])));
                    }
                    d.password = Some(v.clone());
                }
                None => p.fail(&a.at, "auth_pass needs a value"),
            },
            other => p.fail(&a.at, format!("unknown keyword '{other}' in authentication")),
        }
    }
}

/// keepalived authenticates only with `auth_type PASS` and a password: either alone is no
/// authentication (a mixed pair would otherwise drop each other's adverts).
fn authenticated(p: &mut Parser, at: &Pos, d: &mut Draft, seen: &Seen) {
    match (&seen.auth_type, &d.password) {
        (Some(_), Some(pw)) if !pw.is_empty() => {}
        (Some((at, _)), _) => {
            p.warn(at, "auth_type PASS without auth_pass: no authentication is sent, as in keepalived; add auth_pass")
        }
        (None, Some(_)) => {
            p.warn(
                at,
                "auth_pass without auth_type PASS: no authentication is sent, as in keepalived; add auth_type PASS",
            );
            d.password = None;
        }
        (None, None) => {}
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
