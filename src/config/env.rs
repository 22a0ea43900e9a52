//! Reading the `KEEPALIVED_*` variables with osixia 2.0.20's defaults.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::rules::{centis, host_owns_vip, not_a_peer};
use super::{
    list, rendered, vip, Config, HostIface, HostView, InitialState, Loaded, Problem, ProcessSettings, Version, Vip,
};
use super::{track, Check, Probe, DEFAULT_STATE_FILE, OSIXIA_NOTIFY};

/// One variable keepvip reads: its name and whether it holds a list (in any of osixia's
/// forms) or one value. The README's variable table documents each (a test keeps them equal).
#[derive(Debug, Clone, Copy)]
pub struct Var {
    pub name: &'static str,
    pub list: bool,
}

/// Every variable keepvip reads; any other `KEEPALIVED_*` is probably a typo.
pub const VARIABLES: &[Var] = &[
    Var { name: "KEEPALIVED_INTERFACE", list: false },
    Var { name: "KEEPALIVED_PASSWORD", list: false },
    Var { name: "KEEPALIVED_PRIORITY", list: false },
    Var { name: "KEEPALIVED_ROUTER_ID", list: false },
    Var { name: "KEEPALIVED_STATE", list: false },
    Var { name: "KEEPALIVED_UNICAST_PEERS", list: true },
    Var { name: "KEEPALIVED_VIRTUAL_IPS", list: true },
    Var { name: "KEEPALIVED_NOTIFY", list: false },
    Var { name: "KEEPALIVED_COMMAND_LINE_ARGUMENTS", list: false },
    Var { name: "KEEPALIVED_ADVERT_INT", list: false },
    Var { name: "KEEPALIVED_VRRP_VERSION", list: false },
    Var { name: "KEEPALIVED_PREEMPT", list: false },
    Var { name: "KEEPALIVED_PREEMPT_DELAY", list: false },
    Var { name: "KEEPALIVED_UNICAST_SRC_IP", list: false },
    Var { name: "KEEPALIVED_V3_CHECKSUM_AS_V2", list: false },
    Var { name: "KEEPALIVED_UNICAST_MIN_TTL", list: false },
    Var { name: "KEEPALIVED_CHECK_UNICAST_SRC", list: false },
    Var { name: "KEEPALIVED_TRACK_INTERFACES", list: true },
    Var { name: "KEEPALIVED_TRACK_TCP", list: true },
    Var { name: "KEEPALIVED_TRACK_HTTP", list: true },
    Var { name: "KEEPALIVED_TRACK_DOCKER", list: false },
    Var { name: "KEEPALIVED_TRACK_SCRIPT", list: true },
    Var { name: "KEEPALIVED_TRACK_INTERVAL", list: false },
    Var { name: "KEEPALIVED_TRACK_TIMEOUT", list: false },
    Var { name: "KEEPALIVED_TRACK_FALL", list: false },
    Var { name: "KEEPALIVED_TRACK_RISE", list: false },
    Var { name: "KEEPALIVED_TRACK_WEIGHT", list: false },
    Var { name: "KEEPVIP_METRICS_ADDR", list: false },
    Var { name: "KEEPVIP_STATE_FILE", list: false },
];

/// Whether keepvip reads `name`.
pub fn is_known(name: &str) -> bool {
    VARIABLES.iter().any(|v| v.name == name)
}

fn is_list(name: &str) -> bool {
    VARIABLES.iter().any(|v| v.name == name && v.list)
}

struct Reader<'a> {
    env: &'a HashMap<String, String>,
    problems: Vec<Problem>,
    info: Vec<String>,
    warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    fn raw(&self, var: &str) -> Option<&'a str> {
        self.env.get(var).map(String::as_str)
    }

    fn fail(&mut self, var: &str, value: &str, msg: impl Into<String>) {
        self.problems.push(Problem { var: var.into(), value: value.into(), msg: msg.into() });
    }

    /// Parse `var` with `f`, or use `default` when unset or empty (osixia treats both alike).
    fn get<T>(&mut self, var: &str, default: T, f: impl FnOnce(&str) -> Result<T, String>) -> T
    where
        T: Clone,
    {
        match self.raw(var).map(str::trim) {
            None | Some("") => default,
            Some(v) => f(v).unwrap_or_else(|msg| {
                self.fail(var, v, msg);
                default
            }),
        }
    }

    fn list(&mut self, var: &str) -> Vec<String> {
        let Some(v) = self.raw(var) else { return vec![] };
        list::items(v).unwrap_or_else(|msg| {
            self.fail(var, v, msg);
            vec![]
        })
    }
}

fn int_in(lo: u32, hi: u32) -> impl Fn(&str) -> Result<u32, String> {
    move |v| match v.parse::<u32>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(format!("expected an integer {lo}..{hi}")),
    }
}

fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// `KEEPALIVED_*` variables keepvip does not know, each with the nearest known name: named
/// whether or not the configuration is valid (a typo is often why it is not).
pub fn unknown_variables(env: &HashMap<String, String>) -> Vec<String> {
    let mut unknown: Vec<&String> = env.keys().filter(|k| k.starts_with("KEEPALIVED_") && !is_known(k)).collect();
    unknown.sort();
    unknown
        .into_iter()
        .map(|k| {
            let near = VARIABLES.iter().map(|v| (distance(k, v.name), v.name)).min().filter(|(d, _)| *d <= 3);
            match near {
                Some((_, n)) => format!("{k} is not a variable keepvip knows; ignored (did you mean {n}?)"),
                None => format!("{k} is not a variable keepvip knows; ignored (typo?)"),
            }
        })
        .collect()
}

/// Edit distance (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

pub fn from_env(env: &HashMap<String, String>, host: &HostView) -> Result<Loaded, Vec<Problem>> {
    // osixia decodes `#JSON2BASH:` / `#PYTHON2BASH:` on every variable, not only lists.
    let mut problems = vec![];
    // A variable that fails here is reported once, then treated as unset.
    let decoded: HashMap<String, String> = env
        .iter()
        .filter_map(|(k, v)| {
            let scalar = (k.starts_with("KEEPALIVED_") || k.starts_with("KEEPVIP_")) && !is_list(k);
            match list::scalar(v) {
                Ok(d) if scalar => Some((k.clone(), d)),
                Err(e) if scalar => {
                    let msg = format!("expected one value, found {e}");
                    problems.push(Problem { var: k.clone(), value: v.clone(), msg });
                    None
                }
                _ => Some((k.clone(), v.clone())),
            }
        })
        .collect();
    let env = &decoded;
    let mut r = Reader { env, problems, info: vec![], warnings: vec![] };

    let version = r.get("KEEPALIVED_VRRP_VERSION", Version::V2, |v| match v {
        "2" => Ok(Version::V2),
        "3" => Ok(Version::V3),
        _ => Err("expected 2 or 3".into()),
    });
    let router_id = r.get("KEEPALIVED_ROUTER_ID", 51, int_in(1, 255)) as u8;
    // keepalived knows exactly MASTER and BACKUP; anything else (even `master`) is BACKUP.
    let state = match r.raw("KEEPALIVED_STATE").map(str::trim) {
        None | Some("" | "BACKUP") => InitialState::Backup,
        Some("MASTER") => InitialState::Master,
        Some(other) => {
            r.warnings.push(format!(
                "KEEPALIVED_STATE={other:?}: keepalived knows only MASTER and BACKUP (upper case) and starts as BACKUP; so does keepvip{}",
                if other.eq_ignore_ascii_case("master") { " (write MASTER to start as master)" } else { "" }
            ));
            InitialState::Backup
        }
    };
    let advert_int_cs = r.get("KEEPALIVED_ADVERT_INT", 100u32, |v| {
        let cs = centis(v);
        match version {
            Version::V2 => match cs {
                Some(cs) if cs % 100 == 0 && (100..=25500).contains(&cs) => Ok(cs),
                _ => Err(
                    "expected whole seconds 1..255 for VRRPv2 (set KEEPALIVED_VRRP_VERSION=3 for sub-second adverts)"
                        .into(),
                ),
            },
            Version::V3 => match cs {
                Some(cs) if (1..=4095).contains(&cs) => Ok(cs),
                _ => Err("expected seconds 0.01..40.95 in steps of 0.01 for VRRPv3".into()),
            },
        }
    }) as u16;
    let preempt_set = r.raw("KEEPALIVED_PREEMPT").is_some_and(|v| !v.trim().is_empty());
    let mut preempt = r.get("KEEPALIVED_PREEMPT", false, boolean);
    let preempt_delay = r.get("KEEPALIVED_PREEMPT_DELAY", Duration::ZERO, |v| match centis(v) {
        Some(cs) if cs <= 100_000 => Ok(Duration::from_millis(u64::from(cs) * 10)),
        _ => Err("expected seconds 0..1000 (decimal allowed)".into()),
    });
    if !preempt && !preempt_delay.is_zero() {
        r.warnings.push("KEEPALIVED_PREEMPT_DELAY has no effect without KEEPALIVED_PREEMPT=true".into());
    }

    let mut password = r.raw("KEEPALIVED_PASSWORD").unwrap_or("d0cker").to_string();
    if version == Version::V2 && !password.is_empty() {
        // What an osixia node sends is what keepalived reads back from the file osixia's sed
        // wrote: use that on the wire, so a mixed cluster agrees, and say how to make it plain.
        match rendered::auth_pass(&password) {
            Ok(word) if word != password => {
                r.warnings.push(format!(
                    "KEEPALIVED_PASSWORD={password:?}: an osixia node sends {word:?} (its startup.sh pastes the value into keepalived.conf, which keepalived reads as a word); keepvip sends {word:?} too so both can join: set KEEPALIVED_PASSWORD={word:?} to say so"
                ));
                password = word;
            }
            Ok(_) => {}
            Err(e) => {
                let raw = password.clone();
                r.fail(
                    "KEEPALIVED_PASSWORD",
                    &raw,
                    format!("{e}; use letters, digits and punctuation other than | & \\ # ! \" {{ }}"),
                );
            }
        }
    }
    if version == Version::V2 {
        if password.is_empty() {
            // Deviation: osixia renders `auth_pass` without a value, which keepalived refuses.
            // Set and empty means VRRPv2 without authentication (auth type 0), as keepalived
            // runs without an `authentication` block and as other VRRP stacks often speak.
            r.info.push("KEEPALIVED_PASSWORD is set empty: VRRPv2 without authentication (auth type 0)".into());
        } else if password.len() > 8 {
            r.warnings.push(format!(
                "KEEPALIVED_PASSWORD is {} bytes long; only the first 8 are used, as keepalived does",
                password.len()
            ));
        }
    }

    let v3_checksum_as_v2 = r.get("KEEPALIVED_V3_CHECKSUM_AS_V2", false, boolean);
    let min_ttl_set = r.raw("KEEPALIVED_UNICAST_MIN_TTL").is_some_and(|v| !v.trim().is_empty());
    let unicast_min_ttl = r.get("KEEPALIVED_UNICAST_MIN_TTL", 255, int_in(1, 255)) as u8;
    let check_unicast_src = r.get("KEEPALIVED_CHECK_UNICAST_SRC", true, boolean);
    let state_file = PathBuf::from(r.raw("KEEPVIP_STATE_FILE").unwrap_or(DEFAULT_STATE_FILE));
    let metrics_addr = metrics_addr(&mut r);

    let notify = match r.raw("KEEPALIVED_NOTIFY") {
        None => Some(vec![OSIXIA_NOTIFY.to_string()]),
        Some(v) if v.trim().is_empty() => None,
        Some(v) => Some(vec![v.trim().to_string()]),
    };

    let dump_conf = command_line_args(&mut r);

    // Peers, as given (the seed gives every node the same list, own address included).
    let peers_var = "KEEPALIVED_UNICAST_PEERS";
    let mut peers: Vec<IpAddr> = Vec::new();
    let peer_raw = r.raw(peers_var).unwrap_or("").to_string();
    for item in r.list(peers_var) {
        match item.trim().parse::<IpAddr>() {
            Ok(ip) if peers.contains(&ip) => r.fail(peers_var, &peer_raw, format!("peer {ip} is listed twice")),
            Ok(ip) if not_a_peer(ip, host).is_some() => {
                let why = not_a_peer(ip, host).unwrap_or_default();
                r.fail(peers_var, &peer_raw, format!("{ip} {why}; a unicast peer is another node's own address (leave {peers_var} unset for multicast)"))
            }
            Ok(ip) => peers.push(ip),
            Err(_) if looks_like_several(&item, |s| s.parse::<IpAddr>().is_ok()) => r.fail(
                peers_var,
                &peer_raw,
                format!("a plain value is one address; for a list write {}", list::suggest_split(&item)),
            ),
            Err(_) => r.fail(peers_var, &peer_raw, format!("'{item}' is not an IPv4 or IPv6 address")),
        }
    }

    let vips = read_vips(&mut r, &peers);
    let (priority, auto_rank) = read_priority(&mut r, &peers, host);
    // osixia always renders `nopreempt`; keepalived drops it at priority 255 ("incompatible
    // with priority 255") and with `state MASTER` ("will not work with initial state MASTER").
    if !preempt && (priority == 255 || state == InitialState::Master) {
        preempt = true;
        let why = if priority == 255 { "KEEPALIVED_PRIORITY=255" } else { "KEEPALIVED_STATE=MASTER" };
        let msg =
            format!("{why}: keepalived ignores osixia's nopreempt here, so this node preempts (as keepalived does)");
        if preempt_set {
            r.warnings.push(format!("{msg}; KEEPALIVED_PREEMPT=false has no effect"));
        } else {
            r.info.push(msg);
        }
    }

    // Interface: explicit, else the one holding our peer-list address, else eth0, else the
    // default route's. osixia always takes eth0; with the peer addresses on another card that
    // splits the cluster (each node drops the other's adverts as not from a peer).
    let iface_var = "KEEPALIVED_INTERFACE";
    let peer_iface = host.interfaces.iter().find(|i| peers.iter().any(|p| i.has(*p)));
    let interface = match r.raw(iface_var).map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => {
            if let Err(e) = vip::check_ifname(name) {
                r.fail(iface_var, name, e);
            } else if host.iface(name).is_none() {
                r.fail(iface_var, name, format!("no such interface; this host has: {}", host.names()));
            } else if let Some(other) = peer_iface.filter(|i| i.name != name) {
                let ours = peers.iter().find(|p| other.has(**p)).map_or(String::new(), ToString::to_string);
                r.fail(
                    iface_var,
                    name,
                    format!("this host's address in KEEPALIVED_UNICAST_PEERS ({ours}) is on {}, not on {name}: adverts from {name} would come from another address and the peers would drop them; set KEEPALIVED_INTERFACE={} (or unset it)", other.name, other.name),
                );
            }
            name.to_string()
        }
        None => match choose_interface(host, peer_iface) {
            Some((name, why)) => {
                if name != "eth0" {
                    r.info.push(format!("KEEPALIVED_INTERFACE is unset: using {name} ({why})"));
                }
                name
            }
            None => {
                r.fail(iface_var, "", format!("unset, there is no eth0 and no interface holds a peer address or the default route; set it to one of: {}", host.names()));
                "eth0".into()
            }
        },
    };

    for v in &vips {
        let dev = v.dev.as_deref().unwrap_or(&interface);
        let vips_raw = r.raw("KEEPALIVED_VIRTUAL_IPS").unwrap_or("").to_string();
        if let Some(why) = host_owns_vip(host, v, &interface) {
            r.fail(
                "KEEPALIVED_VIRTUAL_IPS",
                &vips_raw,
                format!("{v}: {why}; a VIP must be an address no node holds permanently (keepalived's address owner: remove it from the interface and give this node KEEPALIVED_PRIORITY=255)"),
            );
        }
        if v.dev.is_some() && host.iface(dev).is_none() {
            r.fail(
                "KEEPALIVED_VIRTUAL_IPS",
                &vips_raw,
                format!("{v}: no interface '{dev}'; this host has: {}", host.names()),
            );
        }
        if let Err(e) = vip::check_label(v, dev) {
            r.fail("KEEPALIVED_VIRTUAL_IPS", &vips_raw, format!("{v}: {e}"));
        }
    }

    // Families: the first VIP's is the instance osixia renders (`VI_1`). VIPs of the other
    // family, which keepalived would ignore in that instance, get a second one (dual stack:
    // VRIDs are per family, so the same one is legal), joined in a sync group so both move
    // together. VRRPv2 is IPv4 only: an IPv6 instance runs VRRPv3, as keepalived sets it.
    let first_v6 = vips.first().is_some_and(|v| v.addr.is_ipv6());
    let families: Vec<bool> =
        [first_v6, !first_v6].into_iter().filter(|f| vips.iter().any(|v| v.addr.is_ipv6() == *f)).collect();
    let version_set = r.raw("KEEPALIVED_VRRP_VERSION").is_some_and(|v| !v.trim().is_empty());
    if families.contains(&true) && version == Version::V2 {
        let how = if families.len() == 2 { "the IPv6 VIPs run as a VRRPv3 instance" } else { "VRRPv3 is used" };
        let msg = format!("KEEPALIVED_VIRTUAL_IPS has IPv6 VIPs and VRRPv2 is IPv4 only: {how}, as keepalived does");
        if version_set {
            r.warnings.push(msg);
        } else {
            r.info.push(msg);
        }
    }
    let stray: Vec<String> = peers
        .iter()
        .filter(|p| !vips.is_empty() && !families.contains(&p.is_ipv6()))
        .map(ToString::to_string)
        .collect();
    if let Some(first) = peers.iter().find(|p| !vips.is_empty() && !families.contains(&p.is_ipv6())) {
        let fam = if first.is_ipv6() { "IPv6" } else { "IPv4" };
        let what = if stray.len() == 1 { format!("peer {}", stray[0]) } else { format!("peers {}", stray.join(", ")) };
        r.fail(peers_var, &peer_raw, format!("{what}: {fam}, but no VIP is"));
    }
    let own: Vec<IpAddr> = peers.iter().copied().filter(|p| host.owns(*p)).collect();
    if !own.is_empty() {
        peers.retain(|p| !own.contains(p));
        let own: Vec<String> = own.iter().map(ToString::to_string).collect();
        r.info.push(format!("{peers_var}: {} is this host's own address; not a peer", own.join(", ")));
    }
    if families.len() == 2 && !peers.is_empty() {
        for fam in &families {
            if !peers.iter().any(|p| p.is_ipv6() == *fam) {
                let name = if *fam { "IPv6" } else { "IPv4" };
                r.info.push(format!("{peers_var} has no {name} peer: the {name} instance uses multicast"));
            }
        }
    }

    let src_var = "KEEPALIVED_UNICAST_SRC_IP";
    let src_set = r.get(src_var, None, |v| match v.parse::<IpAddr>() {
        Ok(ip) if !families.contains(&ip.is_ipv6()) => Err("expected an address of the VIPs' family".into()),
        Ok(ip) => Ok(Some(ip)),
        Err(_) => Err("expected an IPv4 or IPv6 address".into()),
    });
    if let Some(ip) = src_set {
        if !host.owns(ip) {
            r.warnings.push(format!(
                "{src_var}={ip} is not an address of this host; adverts go from {interface}'s own address until it is"
            ));
        }
    }
    let (track_interfaces, checks) = read_checks(&mut r, host, priority, preempt);

    if !r.problems.is_empty() {
        return Err(r.problems);
    }
    let instance = |ipv6: bool, name: &str| {
        let vips: Vec<Vip> = vips.iter().filter(|v| v.addr.is_ipv6() == ipv6).cloned().collect();
        // Unicast over IPv6: from the address the peers list us by (a link-local source,
        // RFC 5798's default, is not in their peer list); multicast: the link-local one.
        let listed = own.iter().copied().find(|a| a.is_ipv6() && ipv6);
        let primary = listed.or_else(|| host.advert_source(&interface, ipv6, |a| vips.iter().any(|v| v.addr == a)));
        let version = if ipv6 { Version::V3 } else { version };
        Config {
            origin: super::Origin::Environment,
            name: name.into(),
            interface: interface.clone(),
            state,
            router_id,
            priority,
            preempt,
            preempt_delay,
            advert_int_cs,
            version,
            password: (version == Version::V2 && !password.is_empty()).then(|| password.clone()),
            unicast_src_ip: src_set.filter(|ip| ip.is_ipv6() == ipv6).or(primary),
            unicast_peers: peers.iter().copied().filter(|p| p.is_ipv6() == ipv6).collect(),
            virtual_ips: vips,
            notify: notify.clone(),
            notify_state: vec![],
            track_interfaces: track_interfaces.clone(),
            checks: checks.clone(),
            sync_group: (families.len() == 2).then(|| "VG_1".to_string()),
            v3_checksum_as_v2,
            unicast_min_ttl: if ipv6 && !min_ttl_set { super::IPV6_UNICAST_MIN_HOPS } else { unicast_min_ttl },
            check_unicast_src,
            dump_conf,
            state_file: state_file.clone(),
            metrics_addr,
            first_hold: auto_rank.map_or(Duration::ZERO, first_hold),
        }
    };
    let config = instance(first_v6, "VI_1");
    let dual = families.get(1).map(|v6| instance(*v6, if *v6 { "VI_1_V6" } else { "VI_1_V4" }));
    Ok(Loaded { config, dual, info: r.info, warnings: r.warnings })
}

/// Seconds with up to two decimals, within `lo..=hi` centiseconds.
fn seconds(lo: u32, hi: u32) -> impl Fn(&str) -> Result<Duration, String> {
    move |v| match centis(v) {
        Some(cs) if (lo..=hi).contains(&cs) => Ok(Duration::from_millis(u64::from(cs) * 10)),
        _ => Err(format!("expected seconds {}..{} (decimal allowed)", f64::from(lo) / 100.0, hi / 100)),
    }
}

/// `KEEPALIVED_TRACK_*`: the interfaces that fault the instance (weight 0) and the checks.
/// One interval, timeout, fall, rise and weight for all of them, as one `vrrp_script` has.
fn read_checks(r: &mut Reader, host: &HostView, priority: u8, preempt: bool) -> (Vec<String>, Vec<Check>) {
    let interval = r.get("KEEPALIVED_TRACK_INTERVAL", Duration::from_secs(2), seconds(1, 360_000));
    // keepalived: a script's timeout is its interval unless set.
    let timeout = r.get("KEEPALIVED_TRACK_TIMEOUT", interval, seconds(1, 360_000));
    let fall = r.get("KEEPALIVED_TRACK_FALL", 1, int_in(1, 1000));
    let rise = r.get("KEEPALIVED_TRACK_RISE", 1, int_in(1, 1000));
    let weight = r.get("KEEPALIVED_TRACK_WEIGHT", 0i32, |v| match v.parse::<i32>() {
        Ok(w) if (-253..=253).contains(&w) => Ok(w),
        _ => Err("expected an integer -253..253 (0: FAULT while a check fails)".into()),
    });
    let check =
        |name: String, probe: Probe| Check { name, probe, interval, timeout, fall, rise, weight, init_fail: false };
    let mut interfaces = vec![];
    let mut checks = vec![];
    let var = "KEEPALIVED_TRACK_INTERFACES";
    for i in r.list(var) {
        if host.iface(&i).is_none() {
            let raw = r.raw(var).unwrap_or("").to_string();
            r.fail(var, &raw, format!("no interface '{i}'; this host has: {}", host.names()));
        } else if weight == 0 {
            interfaces.push(i);
        } else {
            checks.push(check(format!("interface {i}"), Probe::Link(i)));
        }
    }
    type Parse = fn(&str) -> Result<Probe, String>;
    let kinds: [(&str, Parse); 3] = [
        ("KEEPALIVED_TRACK_TCP", |v| track::socket_addr(v).map(Probe::Tcp)),
        ("KEEPALIVED_TRACK_HTTP", track::http),
        ("KEEPALIVED_TRACK_SCRIPT", track::script),
    ];
    for (var, parse) in kinds {
        for item in r.list(var) {
            match parse(&item) {
                Ok(p) => checks.push(check(p.describe(), p)),
                Err(e) => {
                    let raw = r.raw(var).unwrap_or("").to_string();
                    r.fail(var, &raw, e);
                }
            }
        }
    }
    let docker_host = r.env.get("DOCKER_HOST").map(String::as_str);
    let docker = r.get("KEEPALIVED_TRACK_DOCKER", None, |v| track::docker(v, docker_host).map(Some));
    if let Some(p) = docker {
        checks.push(check(p.describe(), p));
    }
    // The same check twice would run twice and count twice: once is meant.
    let mut seen = std::collections::HashSet::new();
    checks.retain(|c| {
        let first = seen.insert(c.name.clone());
        if !first {
            r.warnings.push(format!("check {} is listed twice; it runs once", c.name));
        }
        first
    });
    if weight != 0 && (!checks.is_empty() || !interfaces.is_empty()) {
        if priority == 255 {
            r.warnings.push(format!("KEEPALIVED_TRACK_WEIGHT={weight}: the address owner's priority (255) never moves, as in keepalived; use weight 0 so a failing check is a FAULT"));
        } else if !preempt {
            r.warnings.push(format!("KEEPALIVED_TRACK_WEIGHT={weight} with nopreempt (KEEPALIVED_PREEMPT=false): a lower priority never moves the VIP off a master; set KEEPALIVED_PREEMPT=true, or weight 0 so a failing check is a FAULT"));
        }
    }
    (interfaces, checks)
}

/// A plain value such as `1.1.1.1, 2.2.2.2` that osixia would pass to keepalived as one line.
fn looks_like_several(item: &str, each_ok: impl Fn(&str) -> bool) -> bool {
    let parts: Vec<&str> = item.split([',', ' ', '\t', ';']).filter(|s| !s.is_empty()).collect();
    parts.len() > 1 && parts.iter().all(|p| each_ok(p))
}

fn read_vips(r: &mut Reader, peers: &[IpAddr]) -> Vec<Vip> {
    let var = "KEEPALIVED_VIRTUAL_IPS";
    let Some(raw) = r.raw(var).map(str::to_string).filter(|v| !v.trim().is_empty()) else {
        r.fail(var, "", "required: the virtual IP(s) to manage, e.g. 192.168.4.3 or #PYTHON2BASH:['192.168.4.3', '192.168.4.4/24 dev eth1'] (osixia's example default would take addresses on a real LAN)");
        return vec![];
    };
    let mut vips: Vec<Vip> = Vec::new();
    for item in r.list(var) {
        match vip::parse(&item) {
            Ok(v) if vips.iter().any(|o| o.addr == v.addr) => r.fail(var, &raw, format!("{} is listed twice", v.addr)),
            Ok(v) if peers.contains(&v.addr) => {
                r.fail(var, &raw, format!("{} is also a unicast peer; a VIP must be an address no node owns", v.addr))
            }
            Ok(v) => vips.push(v),
            Err(_) if looks_like_several(&item, |s| vip::parse(s).is_ok()) => {
                r.fail(var, &raw, format!("a plain value is one VIP; for a list write {}", list::suggest_split(&item)))
            }
            // Name the item only when the value holds several.
            Err(e) if item == raw => r.fail(var, &raw, e),
            Err(e) => r.fail(var, &raw, format!("'{item}': {e}")),
        }
    }
    if vips.is_empty() && r.problems.iter().all(|p| p.var != var) {
        // `#PYTHON2BASH:[]` is as empty as unset.
        r.fail(var, &raw, "required: an empty list manages no address; give at least one VIP");
    }
    vips
}

/// `auto` (for one stack file on every node): 200 for the first address of the peer list
/// that belongs to this host, 190 for the second, and so on; with auto, also the rank.
fn read_priority(r: &mut Reader, peers: &[IpAddr], host: &HostView) -> (u8, Option<usize>) {
    let var = "KEEPALIVED_PRIORITY";
    match r.raw(var).map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("auto") => match peers.iter().position(|p| host.owns(*p)) {
            Some(i) => match auto_priority(i, peers.len()) {
                Some(p) => {
                    r.info.push(format!(
                        "{var}=auto: this host is peer #{} of {} in KEEPALIVED_UNICAST_PEERS, priority {p}",
                        i + 1,
                        peers.len()
                    ));
                    return (p, Some(i));
                }
                None => {
                    let msg =
                        format!("auto gives distinct priorities to at most 254 peers; the list has {}", peers.len());
                    r.fail(var, v, msg);
                }
            },
            None => r.fail(var, v, "auto needs one of this host's addresses in KEEPALIVED_UNICAST_PEERS; none is"),
        },
        _ => return (r.get(var, 150, int_in(1, 255)) as u8, None),
    }
    (150, None)
}

/// With `auto`, how much longer the node at `rank` (0 = first of the peer list) waits before
/// its first takeover, until it hears any advert. Swarm tasks of one deploy start up to a few
/// hundred ms apart and osixia's nopreempt keeps whoever becomes master first, so the skew
/// (39 ms per 10 priority points) alone does not elect the top node: 1 s per rank does.
/// Capped, so a node far down the list still starts within seconds when the others are absent.
pub fn first_hold(rank: usize) -> Duration {
    Duration::from_secs(rank.min(10) as u64)
}

/// `KEEPALIVED_PRIORITY=auto` for position `pos` (from 0) in a peer list of `n`: distinct
/// and as widely spaced as the list allows, highest first. Up to 20 peers: 200, 190, … (a
/// 39 ms head start per step); up to 200: from 200 down in equal steps of at least 1; up to
/// 254: 254, 253, … (255 is the address owner's). More cannot be distinct.
pub fn auto_priority(pos: usize, n: usize) -> Option<u8> {
    if pos >= n || n > 254 {
        return None;
    }
    let p = match n {
        0..=20 => 200 - 10 * pos,
        21..=200 => 200 - 199 / (n - 1) * pos,
        _ => 254 - pos,
    };
    u8::try_from(p).ok()
}

fn choose_interface(host: &HostView, peer_iface: Option<&HostIface>) -> Option<(String, &'static str)> {
    if let Some(i) = peer_iface {
        return Some((i.name.clone(), "it holds this host's address from KEEPALIVED_UNICAST_PEERS"));
    }
    if host.iface("eth0").is_some() {
        return Some(("eth0".into(), "default"));
    }
    let idx = host.default_route_ifindex?;
    host.interfaces.iter().find(|i| i.index == idx).map(|i| (i.name.clone(), "it carries the default route"))
}

/// `KEEPALIVED_COMMAND_LINE_ARGUMENTS`: keepalived flags osixia passes. Returns `--dump-conf`.
fn command_line_args(r: &mut Reader) -> bool {
    let var = "KEEPALIVED_COMMAND_LINE_ARGUMENTS";
    let raw = r.raw(var).unwrap_or("--log-detail --dump-conf").to_string();
    let Some(args) = shlex::split(&raw) else {
        r.fail(var, &raw, "unbalanced quotes");
        return false;
    };
    let mut dump = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dump-conf" | "-d" => dump = true,
            "--log-detail" | "-D" | "--dont-fork" | "-n" | "--log-console" | "-l" | "--vrrp" | "-P" => {}
            // The configuration file (read by `conf_file`).
            "-f" | "--use-file" => {
                it.next();
            }
            f if f.starts_with("--use-file=") => {}
            other => r.warnings.push(format!("{var}: keepalived option '{other}' has no keepvip equivalent; ignored")),
        }
    }
    dump
}

/// keepalived's `-f PATH` / `--use-file PATH` in `KEEPALIVED_COMMAND_LINE_ARGUMENTS` (the
/// last one wins, as in keepalived).
pub fn conf_file(env: &HashMap<String, String>) -> Option<String> {
    let raw = list::scalar(env.get("KEEPALIVED_COMMAND_LINE_ARGUMENTS")?).ok()?;
    let args = shlex::split(&raw)?;
    let mut found = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-f" | "--use-file" => found = it.next().cloned().or(found),
            f => {
                if let Some(v) = f.strip_prefix("--use-file=") {
                    found = Some(v.to_string());
                }
            }
        }
    }
    found
}

/// What the process takes from the environment when a keepalived.conf gives the instances.
pub fn process_settings(env: &HashMap<String, String>) -> Result<ProcessSettings, Vec<Problem>> {
    let decoded: HashMap<String, String> =
        env.iter().map(|(k, v)| (k.clone(), list::scalar(v).unwrap_or_else(|_| v.clone()))).collect();
    let mut r = Reader { env: &decoded, problems: vec![], info: vec![], warnings: vec![] };
    let state_file = PathBuf::from(r.raw("KEEPVIP_STATE_FILE").unwrap_or(DEFAULT_STATE_FILE));
    let metrics_addr = metrics_addr(&mut r);
    let dump_conf = command_line_args(&mut r);
    if r.problems.is_empty() {
        Ok(ProcessSettings { state_file, metrics_addr, dump_conf })
    } else {
        Err(r.problems)
    }
}

/// `:9650` is every address (IPv6 and IPv4); `ADDR:PORT` one (`[v6]:PORT`).
fn metrics_addr(r: &mut Reader) -> Option<std::net::SocketAddr> {
    r.get("KEEPVIP_METRICS_ADDR", None, |v| {
        let v = if v.starts_with(':') { format!("[::]{v}") } else { v.to_string() };
        match v.parse::<std::net::SocketAddr>() {
            Ok(a) if a.port() != 0 => Ok(Some(a)),
            _ => Err("expected :PORT (every address) or ADDR:PORT, e.g. :9650 or 198.18.0.1:9650".into()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HostIface;

    fn host() -> HostView {
        HostView {
            interfaces: vec![
                HostIface { index: 1, name: "lo".into(), addrs: vec!["127.0.0.1/8".parse().unwrap()] },
                HostIface { index: 2, name: "eth0".into(), addrs: vec!["192.168.4.1/24".parse().unwrap()] },
                HostIface { index: 3, name: "eth1".into(), addrs: vec!["10.0.0.5/16".parse().unwrap()] },
            ],
            default_route_ifindex: Some(2),
        }
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const SEED: &[(&str, &str)] = &[
        ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['192.168.4.1', '192.168.4.2']"),
        ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3"),
        ("KEEPALIVED_PRIORITY", "200"),
    ];

    #[test]
    fn seed_environment_with_osixia_defaults() {
        let l = from_env(&env(SEED), &host()).unwrap();
        let c = &l.config;
        assert_eq!(c.interface, "eth0");
        assert_eq!(c.priority, 200);
        assert_eq!(c.router_id, 51);
        assert_eq!(c.state, InitialState::Backup);
        assert!(!c.preempt);
        assert_eq!(c.advert_int_cs, 100);
        assert_eq!(c.version, Version::V2);
        assert_eq!(c.password.as_deref(), Some("d0cker"));
        assert_eq!(c.unicast_peers, vec!["192.168.4.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(c.unicast_src_ip, Some("192.168.4.1".parse().unwrap()));
        assert_eq!(c.notify, Some(vec![OSIXIA_NOTIFY.to_string()]));
        assert!(c.dump_conf);
        assert!(l.info.iter().any(|i| i.contains("192.168.4.1 is this host's own address")));
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        assert_eq!(
            c.summary(),
            "(VI_1) VRRPv2 virtual router 51, priority 200, nopreempt, starts as BACKUP; adverts every 1 s on eth0 from 192.168.4.1 to 192.168.4.2, password; VIPs 192.168.4.3/32"
        );
    }

    /// The README's variable table and this one name the same variables.
    #[test]
    fn every_variable_is_documented_in_the_readme_and_no_other() {
        let readme = include_str!("../../README.md");
        // The first cell of each table row, every `NAME` in it.
        let documented: Vec<&str> = readme
            .lines()
            .filter_map(|l| l.strip_prefix("| ")?.split(" |").next())
            .flat_map(|cell| cell.split('`').skip(1).step_by(2))
            .filter(|n| n.starts_with("KEEPALIVED_") || n.starts_with("KEEPVIP_"))
            .collect();
        for v in VARIABLES {
            assert!(documented.contains(&v.name), "{} is read but not in the README's table", v.name);
        }
        for d in &documented {
            assert!(is_known(d), "the README documents {d}, which keepvip does not read");
        }
    }

    #[test]
    fn track_variables_become_checks_with_one_timing() {
        let mut e = env(SEED);
        for (k, v) in [
            ("KEEPALIVED_TRACK_TCP", "#PYTHON2BASH:['127.0.0.1:53', '[::1]:80']"),
            ("KEEPALIVED_TRACK_HTTP", "http://127.0.0.1:8080/healthz 200,204"),
            ("KEEPALIVED_TRACK_DOCKER", "swarm"),
            ("KEEPALIVED_TRACK_SCRIPT", "/usr/bin/test -e /run/ok"),
            ("KEEPALIVED_TRACK_INTERFACES", "eth0"),
            ("KEEPALIVED_TRACK_INTERVAL", "0.5"),
            ("KEEPALIVED_TRACK_FALL", "3"),
            ("KEEPALIVED_TRACK_WEIGHT", "-60"),
            ("DOCKER_HOST", "unix:///run/docker.sock"),
        ] {
            e.insert(k.into(), v.into());
        }
        let l = from_env(&e, &host()).unwrap();
        let c = &l.config;
        let names: Vec<&str> = c.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "interface eth0",
                "tcp 127.0.0.1:53",
                "tcp [::1]:80",
                "http 127.0.0.1:8080/healthz",
                "/usr/bin/test -e /run/ok",
                "docker swarm /run/docker.sock"
            ]
        );
        assert!(c.checks.iter().all(|k| k.interval == Duration::from_millis(500)
            && k.timeout == Duration::from_millis(500)
            && k.fall == 3
            && k.rise == 1
            && k.weight == -60));
        assert!(c.track_interfaces.is_empty(), "a weighted interface is a check");
        // osixia's nopreempt: a weight can never move the VIP; said once.
        assert!(
            l.warnings.iter().any(|w| w.contains("KEEPALIVED_TRACK_WEIGHT=-60 with nopreempt")),
            "{:?}",
            l.warnings
        );
        assert!(c.summary().contains("tracking interface eth0 (weight -60), tcp 127.0.0.1:53 (every 0.5 s, timeout 0.5 s, fall 3, rise 1, weight -60)"), "{}", c.summary());
        // Weight 0 (the default): the interfaces fault the instance as its own does.
        let mut e = env(SEED);
        e.insert("KEEPALIVED_TRACK_INTERFACES".into(), "eth0".into());
        assert_eq!(from_env(&e, &host()).unwrap().config.track_interfaces, ["eth0"]);
    }

    #[test]
    fn both_families_are_two_instances_in_a_sync_group_and_ipv6_runs_vrrpv3() {
        let mut h = host();
        h.interfaces[1].addrs.push("2001:db8::1/64".parse().unwrap());
        h.interfaces[1].addrs.push("fe80::1/64".parse().unwrap());
        let mut e = env(SEED);
        e.insert("KEEPALIVED_VIRTUAL_IPS".into(), "#PYTHON2BASH:['192.168.4.3', '2001:db8::100']".into());
        e.insert(
            "KEEPALIVED_UNICAST_PEERS".into(),
            "#PYTHON2BASH:['192.168.4.1', '192.168.4.2', '2001:db8::1', '2001:db8::2']".into(),
        );
        let l = from_env(&e, &h).unwrap();
        let (v4, v6) = (&l.config, l.dual.as_ref().unwrap());
        assert_eq!((v4.name.as_str(), v6.name.as_str()), ("VI_1", "VI_1_V6"));
        assert_eq!((v4.version, v6.version), (Version::V2, Version::V3));
        assert_eq!((v4.sync_group.as_deref(), v6.sync_group.as_deref()), (Some("VG_1"), Some("VG_1")));
        assert_eq!(v6.unicast_peers, vec!["2001:db8::2".parse::<IpAddr>().unwrap()]);
        assert_eq!(v6.unicast_src_ip, Some("2001:db8::1".parse().unwrap()), "the address the peers list");
        assert_eq!(v6.password, None);
        assert_eq!(v6.virtual_ips.len(), 1);
        assert!(l.info.iter().any(|i| i.contains("the IPv6 VIPs run as a VRRPv3 instance")), "{:?}", l.info);
        // IPv6 only, multicast: VRRPv3 from the link-local address, one instance.
        let mut e = env(SEED);
        e.insert("KEEPALIVED_VIRTUAL_IPS".into(), "2001:db8::100".into());
        e.remove("KEEPALIVED_UNICAST_PEERS");
        let l = from_env(&e, &h).unwrap();
        assert!(l.dual.is_none());
        assert_eq!(l.config.version, Version::V3);
        assert_eq!(l.config.unicast_src_ip, Some("fe80::1".parse().unwrap()));
        // Peers of a family no VIP has: named, with the peer variable.
        let p = problems(&[("KEEPALIVED_VIRTUAL_IPS", "2001:db8::1")]);
        assert!(
            p.iter().any(|l| l.starts_with("KEEPALIVED_UNICAST_PEERS=")
                && l.contains("peers 192.168.4.1, 192.168.4.2: IPv4, but no VIP is")),
            "{p:?}"
        );
    }

    fn problems(pairs: &[(&str, &str)]) -> Vec<String> {
        let mut e = env(SEED);
        for (k, v) in pairs {
            e.insert(k.to_string(), v.to_string());
        }
        match from_env(&e, &host()) {
            Ok(_) => vec![],
            Err(p) => p.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn every_bad_value_is_named() {
        let cases: &[(&str, &str, &str)] = &[
            ("KEEPALIVED_PRIORITY", "300", r#"KEEPALIVED_PRIORITY="300": expected an integer 1..255"#),
            ("KEEPALIVED_PRIORITY", "high", "expected an integer 1..255"),
            ("KEEPALIVED_TRACK_TCP", "db:5432", "'db' is not an IP address"),
            ("KEEPALIVED_TRACK_HTTP", "https://x/", "https is not supported"),
            ("KEEPALIVED_TRACK_DOCKER", "yes", "expected engine"),
            ("KEEPALIVED_TRACK_INTERFACES", "eth7", "no interface 'eth7'"),
            ("KEEPALIVED_TRACK_INTERVAL", "0", "expected seconds 0.01..3600"),
            ("KEEPALIVED_TRACK_FALL", "0", "expected an integer 1..1000"),
            ("KEEPALIVED_TRACK_WEIGHT", "300", "expected an integer -253..253"),
            ("KEEPALIVED_PRIORITY", "0", "expected an integer 1..255"),
            ("KEEPALIVED_ROUTER_ID", "256", r#"KEEPALIVED_ROUTER_ID="256": expected an integer 1..255"#),
            ("KEEPALIVED_VRRP_VERSION", "4", "expected 2 or 3"),
            ("KEEPALIVED_ADVERT_INT", "0.5", "whole seconds 1..255 for VRRPv2"),
            ("KEEPALIVED_ADVERT_INT", "abc", "whole seconds"),
            ("KEEPALIVED_PREEMPT", "maybe", "expected true or false"),
            ("KEEPALIVED_PREEMPT_DELAY", "-1", "expected seconds 0..1000"),
            ("KEEPALIVED_UNICAST_MIN_TTL", "0", "expected an integer 1..255"),
            ("KEEPALIVED_INTERFACE", "eth9", "no such interface; this host has: lo, eth0, eth1"),
            ("KEEPALIVED_INTERFACE", "a/b", "interface name"),
            (
                "KEEPALIVED_UNICAST_PEERS",
                "#PYTHON2BASH:[192.168.4.1, 192.168.4.2]",
                "write #PYTHON2BASH:['192.168.4.1', '192.168.4.2']",
            ),
            (
                "KEEPALIVED_UNICAST_PEERS",
                "192.168.4.1,192.168.4.2",
                "for a list write #PYTHON2BASH:['192.168.4.1', '192.168.4.2']",
            ),
            ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['192.168.4.999']", "'192.168.4.999' is not an IPv4"),
            ("KEEPALIVED_UNICAST_PEERS", "#JSON2BASH:[192.168.4.1]", "invalid JSON"),
            (
                "KEEPALIVED_VIRTUAL_IPS",
                "192.168.4.3 192.168.4.4",
                "for a list write #PYTHON2BASH:['192.168.4.3', '192.168.4.4']",
            ),
            ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3/40", "expected 1..32"),
            ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3 scope link", "unknown keyword 'scope'"),
            ("KEEPALIVED_VIRTUAL_IPS", "#PYTHON2BASH:['192.168.4.3', '192.168.4.3/24']", "192.168.4.3 is listed twice"),
            ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.2", "also a unicast peer"),
            ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3 dev eth7", "no interface 'eth7'"),
            ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3 label 0123456789abcdef", "at most 15 characters"),
            ("KEEPALIVED_PRIORITY", "#PYTHON2BASH:[200]", "expected one value, found a list"),
            ("KEEPALIVED_VIRTUAL_IPS", "", "required"),
            ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['224.0.0.18']", "224.0.0.18 is a multicast address"),
            ("KEEPALIVED_UNICAST_PEERS", "0.0.0.0", "is the unspecified address"),
            ("KEEPALIVED_UNICAST_PEERS", "255.255.255.255", "is the broadcast address"),
            ("KEEPALIVED_UNICAST_PEERS", "192.168.4.255", "broadcast address of 192.168.4.1/24 on eth0"),
            ("KEEPALIVED_UNICAST_PEERS", "127.0.0.2", "is a loopback address"),
            ("KEEPALIVED_VIRTUAL_IPS", "10.0.0.5", "this host has 10.0.0.5/16 on eth1"),
            ("KEEPALIVED_UNICAST_SRC_IP", "nope", "expected an IPv4 or IPv6 address"),
            ("KEEPVIP_METRICS_ADDR", "9650", "expected :PORT (every address) or ADDR:PORT"),
            ("KEEPVIP_METRICS_ADDR", ":0", "expected :PORT"),
            ("KEEPALIVED_COMMAND_LINE_ARGUMENTS", "--log-detail 'x", "unbalanced quotes"),
        ];
        for (var, value, want) in cases {
            let p = problems(&[(var, value)]);
            assert!(
                p.iter().any(|l| l.contains(want) && l.starts_with(var)),
                "{var}={value:?}: wanted {want:?}, got {p:?}"
            );
        }
    }

    #[test]
    fn a_vip_that_is_a_host_address_is_refused_but_a_stale_vip_is_not() {
        let e = |v: &str| env(&[("KEEPALIVED_VIRTUAL_IPS", v)]);
        // The interface's primary address, even with its exact prefix.
        let p = from_env(&e("192.168.4.1/24"), &host()).unwrap_err();
        assert!(p[0].msg.contains("is the primary address of eth0") && p[0].msg.contains("PRIORITY=255"), "{p:?}");
        // Same address and prefix, not first: a VIP a crash left behind (removed at start).
        let mut h = host();
        h.interfaces[1].addrs.push("192.168.4.3/32".parse().unwrap());
        let c = from_env(&e("192.168.4.3"), &h).unwrap().config;
        assert_eq!(c.unicast_src_ip, Some("192.168.4.1".parse().unwrap()));
        // A stale VIP is never chosen as the advert source.
        h.interfaces[1].addrs.swap(0, 1);
        let p = from_env(&e("192.168.4.3"), &h).unwrap_err();
        assert!(p[0].msg.contains("primary address"), "{p:?}");
    }

    #[test]
    fn an_empty_password_is_vrrpv2_without_authentication() {
        let mut e = env(SEED);
        e.insert("KEEPALIVED_PASSWORD".into(), String::new());
        let l = from_env(&e, &host()).unwrap();
        assert_eq!(l.config.password, None);
        assert_eq!(l.config.to_json()["auth_type"], "NONE");
        assert!(l.info.iter().any(|i| i.contains("auth type 0")));
    }

    /// What osixia 2.0.20 + keepalived 2.2.7 do with the same environment (startup.sh's
    /// rendering, run's decoding, keepalived's parser), as keepvip's effective values.
    #[test]
    fn osixia_semantics() {
        let cfg = |pairs: &[(&str, &str)]| {
            let mut e = env(SEED);
            e.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            from_env(&e, &host()).unwrap()
        };
        // Prefixes on single values.
        let l = cfg(&[
            ("KEEPALIVED_PRIORITY", "#PYTHON2BASH:199"),
            ("KEEPALIVED_ROUTER_ID", "#JSON2BASH:77"),
            ("KEEPALIVED_INTERFACE", "#JSON2BASH:\"eth0\""),
        ]);
        assert_eq!((l.config.priority, l.config.router_id, l.config.interface.as_str()), (199, 77, "eth0"));
        assert_eq!(cfg(&[("KEEPALIVED_STATE", "#PYTHON2BASH:'MASTER'")]).config.state, InitialState::Master);
        // State spelling: keepalived takes only upper case; anything else is BACKUP.
        for s in ["master", "Master", "LEADER"] {
            let l = cfg(&[("KEEPALIVED_STATE", s)]);
            assert_eq!(l.config.state, InitialState::Backup, "{s}");
            assert!(l.warnings.iter().any(|w| w.contains("starts as BACKUP")), "{s}: {:?}", l.warnings);
        }
        // nopreempt is dropped by keepalived at priority 255 and with state MASTER.
        assert!(!cfg(&[]).config.preempt);
        assert!(cfg(&[("KEEPALIVED_PRIORITY", "255")]).config.preempt);
        assert!(cfg(&[("KEEPALIVED_STATE", "MASTER")]).config.preempt);
        let l = cfg(&[("KEEPALIVED_STATE", "MASTER"), ("KEEPALIVED_PREEMPT", "false")]);
        assert!(l.config.preempt && l.warnings.iter().any(|w| w.contains("has no effect")));
        // Labels need not start with the interface name.
        let l = cfg(&[("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3 label vip1")]);
        assert_eq!(l.config.virtual_ips[0].label.as_deref(), Some("vip1"));
    }

    #[test]
    fn all_problems_at_once() {
        let p = problems(&[
            ("KEEPALIVED_PRIORITY", "300"),
            ("KEEPALIVED_ROUTER_ID", "x"),
            ("KEEPALIVED_VRRP_VERSION", "9"),
        ]);
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn extensions_and_quirks() {
        let mut e = env(SEED);
        e.insert("KEEPALIVED_VRRP_VERSION".into(), "3".into());
        e.insert("KEEPALIVED_ADVERT_INT".into(), "0.1".into());
        e.insert("KEEPALIVED_PASSWORD".into(), "averylongpassword".into());
        e.insert("KEEPALIVED_PREEMPT".into(), "TRUE".into());
        e.insert("KEEPALIVED_PREEMPT_DELAY".into(), "2.5".into());
        e.insert("KEEPALIVED_PRIORTY".into(), "1".into());
        e.insert("KEEPALIVED_COMMAND_LINE_ARGUMENTS".into(), "--log-detail --snmp".into());
        let l = from_env(&e, &host()).unwrap();
        assert_eq!(l.config.advert_int_cs, 10);
        assert_eq!(l.config.password, None, "VRRPv3 has no authentication");
        assert!(l.config.preempt);
        assert_eq!(l.config.preempt_delay, Duration::from_millis(2500));
        assert!(!l.config.dump_conf);
        let w = l.warnings.join("\n");
        let u = unknown_variables(&e).join("\n");
        assert!(
            u.contains(
                "KEEPALIVED_PRIORTY is not a variable keepvip knows; ignored (did you mean KEEPALIVED_PRIORITY?)"
            ),
            "{u}"
        );
        assert!(w.contains("'--snmp'"), "{w}");
        assert!(!w.contains("first 8"), "v3 has no password: {w}");

        e.insert("KEEPALIVED_VRRP_VERSION".into(), "2".into());
        e.insert("KEEPALIVED_ADVERT_INT".into(), "2".into());
        let l = from_env(&e, &host()).unwrap();
        assert!(l.warnings.join("\n").contains("only the first 8 are used"));
        assert_eq!(l.config.advert_int_cs, 200);
    }

    #[test]
    fn interface_choice_without_eth0() {
        let mut h = host();
        h.interfaces.retain(|i| i.name != "eth0");
        h.interfaces.push(HostIface { index: 7, name: "ens3".into(), addrs: vec!["192.168.4.1/24".parse().unwrap()] });
        let l = from_env(&env(SEED), &h).unwrap();
        assert_eq!(l.config.interface, "ens3");
        assert!(l.info.iter().any(|i| i.contains("using ens3")));

        let mut h = host();
        h.interfaces.retain(|i| i.name != "eth0");
        h.default_route_ifindex = Some(3);
        assert_eq!(from_env(&env(SEED), &h).unwrap().config.interface, "eth1");
        h.default_route_ifindex = None;
        let p = from_env(&env(SEED), &h).unwrap_err();
        assert!(p[0].to_string().contains("KEEPALIVED_INTERFACE"), "{p:?}");
    }

    #[test]
    fn the_interface_holding_our_peer_address_wins_over_eth0_and_a_wrong_one_is_named() {
        // The seed's peers on eth1 of a two-card host (eth0 holds something else).
        let mut h = host();
        h.interfaces[1].addrs = vec!["10.9.0.1/24".parse().unwrap()];
        h.interfaces[2].addrs = vec!["192.168.4.1/24".parse().unwrap()];
        let l = from_env(&env(SEED), &h).unwrap();
        assert_eq!(l.config.interface, "eth1");
        assert!(l.info.iter().any(|i| i.contains("using eth1 (it holds this host's address")), "{:?}", l.info);
        let mut e = env(SEED);
        e.insert("KEEPALIVED_INTERFACE".into(), "eth0".into());
        let p = from_env(&e, &h).unwrap_err();
        assert_eq!(p[0].var, "KEEPALIVED_INTERFACE");
        assert!(
            p[0].msg.contains("(192.168.4.1) is on eth1, not on eth0")
                && p[0].msg.contains("KEEPALIVED_INTERFACE=eth1"),
            "{p:?}"
        );
        // eth0 holding our peer address stays silent, as osixia's default.
        let l = from_env(&env(SEED), &host()).unwrap();
        assert_eq!(l.config.interface, "eth0");
        assert!(!l.info.iter().any(|i| i.contains("KEEPALIVED_INTERFACE")), "{:?}", l.info);
    }

    #[test]
    fn auto_ranks_hold_back_the_first_takeover() {
        let mut e = env(SEED);
        e.insert("KEEPALIVED_PRIORITY".into(), "auto".into());
        assert_eq!(from_env(&e, &host()).unwrap().config.first_hold, Duration::ZERO);
        e.insert("KEEPALIVED_UNICAST_PEERS".into(), "#PYTHON2BASH:['192.168.4.2', '192.168.4.1']".into());
        assert_eq!(from_env(&e, &host()).unwrap().config.first_hold, Duration::from_secs(1));
        assert_eq!(first_hold(50), Duration::from_secs(10));
        e.insert("KEEPALIVED_PRIORITY".into(), "190".into());
        assert_eq!(from_env(&e, &host()).unwrap().config.first_hold, Duration::ZERO, "only auto ranks");
    }

    #[test]
    fn priority_auto_follows_peer_order() {
        let mut e = env(SEED);
        e.insert("KEEPALIVED_PRIORITY".into(), "auto".into());
        assert_eq!(from_env(&e, &host()).unwrap().config.priority, 200);
        e.insert("KEEPALIVED_UNICAST_PEERS".into(), "#JSON2BASH:[\"192.168.4.9\", \"192.168.4.1\"]".into());
        assert_eq!(from_env(&e, &host()).unwrap().config.priority, 190);
        e.insert("KEEPALIVED_UNICAST_PEERS".into(), "192.168.4.9".into());
        assert!(from_env(&e, &host()).unwrap_err()[0].msg.contains("auto needs"));
    }

    #[test]
    fn auto_priorities_are_distinct_for_every_list_up_to_254() {
        for n in 1..=254 {
            let p: Vec<u8> = (0..n).map(|i| auto_priority(i, n).unwrap()).collect();
            assert!(p.windows(2).all(|w| w[0] > w[1]), "n={n}: {p:?}");
            assert!(p[0] <= 254 && p[n - 1] >= 1, "n={n}: {p:?}");
        }
        assert_eq!((0..3).map(|i| auto_priority(i, 3).unwrap()).collect::<Vec<_>>(), [200, 190, 180]);
        assert_eq!(auto_priority(63, 64), Some(200 - 3 * 63));
        assert_eq!(auto_priority(0, 255), None);
    }

    #[test]
    fn no_peers_is_multicast() {
        let e = env(&[("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3")]);
        let c = from_env(&e, &host()).unwrap().config;
        assert!(c.multicast());
        assert_eq!(c.to_json()["mode"], "multicast");
        assert_eq!(c.priority, 150);
    }

    #[test]
    fn centiseconds_are_exact() {
        assert_eq!(centis("1"), Some(100));
        assert_eq!(centis("0.1"), Some(10));
        assert_eq!(centis(".05"), Some(5));
        assert_eq!(centis("40.95"), Some(4095));
        assert_eq!(centis("1.234"), None);
        assert_eq!(centis("."), None);
        assert_eq!(centis("1e3"), None);
    }
}
