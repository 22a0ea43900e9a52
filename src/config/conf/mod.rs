//! keepalived.conf → one validated [`Config`] per `vrrp_instance`, with keepalived's
//! defaults (not osixia's template: a file replaces the template, as in osixia). The
//! subset is keepalived's VRRP side; what keepalived does beyond it (LVS, static routes…)
//! is refused when it would change behaviour, or named and ignored when it would not.

pub mod lex;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::rules::{centis, host_owns_vip, not_a_peer};
use super::track::{Check, Probe};
use super::vip::{self, Vip};
use super::{Config, HostView, InitialState, ProcessSettings, Version};
use lex::{ConfError, Pos, Stmt};

/// The instances of a file and what start-up should log about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub instances: Vec<Config>,
    /// Sync groups with scripts of their own.
    pub groups: Vec<SyncGroup>,
    pub warnings: Vec<String>,
}

/// A `vrrp_sync_group`'s own notify scripts (its members carry its name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    pub name: String,
    pub notify: Option<Vec<String>>,
    pub notify_state: Vec<(String, Vec<String>)>,
}

/// Top-level blocks keepalived knows that would change what the host does if ignored.
const UNSUPPORTED_TOP: &[(&str, &str)] = &[
    ("virtual_server", "load balancing with IPVS"),
    ("virtual_server_group", "load balancing with IPVS"),
    ("static_ipaddress", "static addresses"),
    ("static_routes", "static routes"),
    ("static_rules", "static routing rules"),
    ("vrrp_track_process", "process tracking"),
    ("vrrp_track_file", "file tracking"),
    ("bfd_instance", "BFD"),
    ("net_namespace", "network namespaces"),
];

/// `global_defs` keywords that only matter to parts keepvip does not have (mail alerts,
/// LVS, SNMP, DBus, process tuning): named and ignored.
const IGNORED_GLOBAL: &[&str] = &[
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_connect_timeout",
    "smtp_helo_name",
    "smtp_alert",
    "smtp_alert_vrrp",
    "router_id",
    "lvs_id",
    "lvs_sync_daemon",
    "lvs_flush",
    "lvs_timeouts",
    "enable_script_security",
    "script_user",
    "vrrp_iptables",
    "vrrp_ipsets",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_priority",
    "checker_priority",
    "vrrp_no_swap",
    "checker_no_swap",
    "vrrp_rt_priority",
    "checker_rt_priority",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_traps",
    "enable_dbus",
    "max_auto_priority",
    "min_auto_priority_delay",
    "dynamic_interfaces",
    "vrrp_notify_fifo",
    "notify_fifo",
    "script_security",
    "vrrp_skip_check_adv_addr",
    "vrrp_mcast_group4",
    "vrrp_startup_delay",
];

/// `vrrp_instance` keywords accepted without effect: their job is done another way here or
/// belongs to parts keepvip does not have.
const IGNORED_INSTANCE: &[&str] = &[
    "smtp_alert",
    "preempt",
    "dont_track_primary",
    "skip_check_adv_addr",
    "accept",
    "no_accept",
    "debug",
    "lvs_sync_daemon_interface",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "lower_prio_no_advert",
    "higher_prio_send_advert",
    "native_ipv6",
    "notify_priority_changes",
    "kernel_rx_buf_size",
];

/// `vrrp_instance` keywords keepalived knows whose effect keepvip cannot provide.
const UNSUPPORTED_INSTANCE: &[(&str, &str)] = &[
    ("use_vmac", "virtual MAC interfaces"),
    ("vmac_xmit_base", "virtual MAC interfaces"),
    ("virtual_routes", "virtual routes"),
    ("virtual_rules", "virtual routing rules"),
    ("track_process", "process tracking"),
    ("track_file", "file tracking"),
    ("track_bfd", "BFD tracking"),
    ("strict_mode", "strict RFC mode"),
    ("mcast_dst_ip", "another multicast group"),
];

#[derive(Default)]
struct Globals {
    version: Option<Version>,
    default_interface: Option<String>,
    check_unicast_src: bool,
    script_security: bool,
}

struct Parser<'a> {
    host: &'a HostView,
    errors: Vec<ConfError>,
    warnings: Vec<String>,
}

impl Parser<'_> {
    fn fail(&mut self, at: &Pos, msg: impl Into<String>) {
        self.errors.push(ConfError { at: at.clone(), msg: msg.into() });
    }

    fn warn(&mut self, at: &Pos, msg: impl Into<String>) {
        self.warnings.push(format!("{at}: {}", msg.into()));
    }

    /// The single argument of `s`, or an error naming what was expected.
    fn one<'s>(&mut self, s: &'s Stmt, what: &str) -> Option<&'s str> {
        match s.args() {
            [a] => Some(a),
            [] => {
                self.fail(&s.at, format!("{} needs a value: {what}", s.keyword()));
                None
            }
            [a, rest @ ..] => {
                self.fail(&s.at, format!("{} takes one value ({what}); '{}' is extra", s.keyword(), rest.join(" ")));
                let _ = a;
                None
            }
        }
    }

    fn int(&mut self, s: &Stmt, lo: u32, hi: u32) -> Option<u32> {
        let v = self.one(s, &format!("an integer {lo}..{hi}"))?;
        match v.parse::<u32>() {
            Ok(n) if (lo..=hi).contains(&n) => Some(n),
            _ => {
                self.fail(&s.at, format!("{} '{v}': expected an integer {lo}..{hi}", s.keyword()));
                None
            }
        }
    }

    fn block<'s>(&mut self, s: &'s Stmt) -> &'s [Stmt] {
        match &s.block {
            Some(b) => b,
            None => {
                self.fail(&s.at, format!("{} needs a {{ }} block", s.keyword()));
                &[]
            }
        }
    }
}

/// Read a keepalived.conf (and its includes) into instances.
pub fn load(path: &Path, host: &HostView, process: &ProcessSettings) -> Result<Loaded, Vec<ConfError>> {
    let stmts = lex::read(path).map_err(|e| vec![e])?;
    from_stmts(path, &stmts, host, process)
}

/// The instances of statements read from `file`.
pub fn from_stmts(
    file: &Path,
    stmts: &[Stmt],
    host: &HostView,
    process: &ProcessSettings,
) -> Result<Loaded, Vec<ConfError>> {
    let mut p = Parser { host, errors: vec![], warnings: vec![] };
    let mut g = Globals { check_unicast_src: false, ..Globals::default() };
    // Globals first: keepalived applies them to every instance wherever they appear.
    for s in stmts.iter().filter(|s| s.keyword() == "global_defs") {
        globals(&mut p, s, &mut g);
    }
    let mut instances: Vec<Config> = vec![];
    let mut places: Vec<Pos> = vec![];
    let mut groups: Vec<(Pos, String, Vec<String>)> = vec![];
    let mut group_scripts: Vec<SyncGroup> = vec![];
    let mut scripts: HashMap<String, Check> = HashMap::new();
    let mut tracks: Vec<Vec<TrackRef>> = vec![];
    for s in stmts {
        match s.keyword() {
            "global_defs" => {}
            "vrrp_instance" => {
                let Some(name) = p.one(s, "the instance's name") else { continue };
                let name = name.to_string();
                if instances.iter().any(|i| i.name == name) {
                    p.fail(&s.at, format!("vrrp_instance {name} is defined twice"));
                    continue;
                }
                if let Some((c, t)) = instance(&mut p, s, &name, &g, process) {
                    instances.push(c);
                    tracks.push(t);
                    places.push(s.at.clone());
                }
            }
            "vrrp_sync_group" => {
                let Some(name) = p.one(s, "the group's name") else { continue };
                let name = name.to_string();
                let mut members = vec![];
                let mut sg = SyncGroup { name: name.clone(), notify: None, notify_state: vec![] };
                for m in p.block(s) {
                    match m.keyword() {
                        "group" => members.extend(p.block(m).iter().flat_map(|x| x.words.iter().cloned())),
                        "notify" => sg.notify = command(&mut p, m),
                        kw @ ("notify_master" | "notify_backup" | "notify_fault" | "notify_stop") => {
                            if let Some(c) = command(&mut p, m) {
                                sg.notify_state.push((kw["notify_".len()..].to_ascii_uppercase(), c));
                            }
                        }
                        "smtp_alert" | "global_tracking" | "sync_group_tracking_weight" => {
                            p.warn(&m.at, format!("{}: accepted without effect", m.keyword()))
                        }
                        "track_interface" | "track_script" | "track_file" | "track_process" | "track_bfd" => p.fail(
                            &m.at,
                            format!("{} in a sync group: not supported; track in each vrrp_instance instead", m.keyword()),
                        ),
                        other => p.fail(&m.at, format!("unknown keyword '{other}' in vrrp_sync_group")),
                    }
                }
                if sg.notify.is_some() || !sg.notify_state.is_empty() {
                    if !g.script_security {
                        p.warn(&s.at, format!("vrrp_sync_group {name}: notify scripts run as root without enable_script_security in global_defs (keepalived warns the same)"));
                    }
                    group_scripts.push(sg);
                }
                groups.push((s.at.clone(), name, members));
            }
            "vrrp_script" => {
                if let Some(name) = p.one(s, "the script's name") {
                    let name = name.to_string();
                    if let Some(c) = vrrp_script(&mut p, s, &name) {
                        if !g.script_security {
                            p.warn(&s.at, format!("vrrp_script {name}: runs as root without enable_script_security in global_defs (keepalived warns the same)"));
                        }
                        scripts.insert(name, c);
                    }
                }
            }
            kw => match UNSUPPORTED_TOP.iter().find(|(k, _)| *k == kw) {
                Some((_, what)) => p.fail(
                    &s.at,
                    format!("{kw}: keepvip does not do {what}; keepalived would, so ignoring it would change what this host does (remove it, or run keepalived)"),
                ),
                None => p.fail(&s.at, format!("unknown keyword '{kw}' at the top level (keepalived rejects it too)")),
            },
        }
    }
    // Sync groups: members must exist, once each.
    let mut grouped: HashSet<String> = HashSet::new();
    for (at, name, members) in &groups {
        if members.len() < 2 {
            p.warn(
                at,
                format!("vrrp_sync_group {name} has {} member(s); a group needs two to mean anything", members.len()),
            );
        }
        for m in members {
            match instances.iter_mut().find(|i| i.name == *m) {
                None => p.fail(at, format!("vrrp_sync_group {name}: no vrrp_instance {m}")),
                Some(_) if !grouped.insert(m.clone()) => {
                    p.fail(at, format!("vrrp_sync_group {name}: {m} is already in another sync group"))
                }
                Some(i) => i.sync_group = Some(name.clone()),
            }
        }
    }
    for (i, refs) in instances.iter_mut().zip(tracks) {
        for t in refs {
            let Some(script) = scripts.get(&t.name) else {
                p.fail(&t.at, format!("vrrp_instance {}: track_script {}: no vrrp_script {}", i.name, t.name, t.name));
                continue;
            };
            if i.checks.iter().any(|c| c.name == t.name) {
                // keepalived: "duplicate track_script … - ignoring".
                p.warn(&t.at, format!("vrrp_instance {}: track_script {} is listed twice; ignored", i.name, t.name));
                continue;
            }
            let mut c = script.clone();
            c.weight = t.weight.unwrap_or(c.weight);
            i.checks.push(c);
        }
        let weighted = i.checks.iter().any(|c| c.weight != 0);
        if weighted && i.priority == 255 {
            p.warnings.push(format!("vrrp_instance {}: priority 255 (address owner) never moves, as in keepalived: its weighted checks have no effect", i.name));
        } else if weighted && !i.preempt {
            p.warnings.push(format!("vrrp_instance {}: nopreempt: a weighted check lowers the priority but never moves the VIP off a master (use weight 0 for a FAULT)", i.name));
        }
    }
    // One virtual router per VRID, family and interface (keepalived refuses the same).
    for (a, x) in instances.iter().enumerate() {
        for (y, at) in instances[a + 1..].iter().zip(&places[a + 1..]) {
            if x.router_id == y.router_id && x.interface == y.interface && x.ipv6() == y.ipv6() {
                p.fail(
                    at,
                    format!(
                        "{} and {} both use virtual_router_id {} on {}: give each its own",
                        x.name, y.name, x.router_id, x.interface
                    ),
                );
            }
        }
    }
    if instances.is_empty() && p.errors.is_empty() {
        let at = stmts.first().map_or(Pos { file: std::rc::Rc::from(file), line: 1 }, |s| s.at.clone());
        p.fail(&at, "no vrrp_instance: nothing to do");
    }
    if p.errors.is_empty() {
        Ok(Loaded { instances, groups: group_scripts, warnings: p.warnings })
    } else {
        Err(p.errors)
    }
}

fn globals(p: &mut Parser, s: &Stmt, g: &mut Globals) {
    for d in p.block(s) {
        match d.keyword() {
            "vrrp_version" => {
                g.version = match p.int(d, 2, 3) {
                    Some(2) => Some(Version::V2),
                    Some(_) => Some(Version::V3),
                    None => None,
                }
            }
            "default_interface" => {
                if let Some(i) = p.one(d, "an interface name") {
                    g.default_interface = Some(i.to_string());
                }
            }
            "vrrp_check_unicast_src" => g.check_unicast_src = true,
            "enable_script_security" => g.script_security = true,
            "vrrp_strict" => p.fail(
                &d.at,
                "vrrp_strict: keepvip does not enforce strict RFC mode (keepalived would refuse unicast and authentication and add firewall rules); remove it",
            ),
            kw if IGNORED_GLOBAL.contains(&kw) => {}
            kw => p.fail(&d.at, format!("unknown keyword '{kw}' in global_defs")),
        }
    }
}

/// A `track_script` entry, resolved once every `vrrp_script` is read.
struct TrackRef {
    at: Pos,
    name: String,
    weight: Option<i32>,
}

/// A `vrrp_script` block, with keepalived's defaults (interval 1 s, timeout = interval,
/// weight 0, rise and fall 1).
fn vrrp_script(p: &mut Parser, s: &Stmt, name: &str) -> Option<Check> {
    let errors_before = p.errors.len();
    let mut argv = None;
    let mut interval = Duration::from_secs(1);
    let mut timeout = None;
    let (mut weight, mut rise, mut fall, mut init_fail) = (0, 1, 1, false);
    for d in p.block(s) {
        let secs = |p: &mut Parser, d: &Stmt| {
            let v = p.one(d, "seconds")?;
            match centis(v) {
                Some(cs) if cs > 0 => Some(Duration::from_millis(u64::from(cs) * 10)),
                _ => {
                    p.fail(&d.at, format!("{} '{v}': expected seconds > 0 (decimal allowed)", d.keyword()));
                    None
                }
            }
        };
        match d.keyword() {
            "script" => argv = command(p, d),
            "interval" => interval = secs(p, d).unwrap_or(interval),
            "timeout" => timeout = secs(p, d),
            "weight" => weight = weight_of(p, d, d.args()).unwrap_or(0),
            "rise" => rise = p.int(d, 1, 1_000_000).unwrap_or(1),
            "fall" => fall = p.int(d, 1, 1_000_000).unwrap_or(1),
            "init_fail" => init_fail = true,
            "user" => p.warn(&d.at, "user: ignored; keepvip runs scripts as its own user (root in the image)"),
            other => p.fail(&d.at, format!("unknown keyword '{other}' in vrrp_script {name}")),
        }
    }
    let Some(argv) = argv else {
        p.fail(&s.at, format!("vrrp_script {name}: no script set (keepalived drops the script and then refuses instances tracking it)"));
        return None;
    };
    (p.errors.len() == errors_before).then(|| Check {
        name: name.to_string(),
        probe: Probe::Script(argv),
        interval,
        timeout: timeout.unwrap_or(interval),
        fall,
        rise,
        weight,
        init_fail,
    })
}

/// `weight W` (keepalived's -253..253); `reverse` is refused rather than ignored.
fn weight_of(p: &mut Parser, d: &Stmt, words: &[String]) -> Option<i32> {
    match words {
        [w] | [_, w] if words.len() == 1 || words[0] == "weight" => match w.parse::<i32>() {
            Ok(n) if (-253..=253).contains(&n) => Some(n),
            _ => {
                p.fail(&d.at, format!("weight '{w}': expected an integer -253..253"));
                None
            }
        },
        [.., r] if r == "reverse" => {
            p.fail(&d.at, "weight ... reverse: not supported; give the opposite weight instead");
            None
        }
        _ => {
            p.fail(&d.at, format!("'{}': expected weight N", words.join(" ")));
            None
        }
    }
}

fn instance(
    p: &mut Parser,
    s: &Stmt,
    name: &str,
    g: &Globals,
    process: &ProcessSettings,
) -> Option<(Config, Vec<TrackRef>)> {
    let errors_before = p.errors.len();
    let mut state = InitialState::Backup;
    let mut interface: Option<(Pos, String)> = None;
    let mut router_id: Option<u8> = None;
    let mut vrid_seen = false;
    let mut priority: u8 = 100;
    let mut advert: Option<(Pos, String)> = None;
    let mut version = g.version.unwrap_or(Version::V2);
    let mut nopreempt = false;
    let mut preempt_delay = Duration::ZERO;
    let mut src: Option<(Pos, IpAddr)> = None;
    let mut peers: Vec<IpAddr> = vec![];
    let mut vips: Vec<(Pos, Vip)> = vec![];
    let mut password: Option<String> = None;
    let mut notify: Option<Vec<String>> = None;
    let mut notify_state: Vec<(String, Vec<String>)> = vec![];
    let mut track_interfaces: Vec<String> = vec![];
    let mut checks: Vec<Check> = vec![];
    let mut tracks: Vec<TrackRef> = vec![];
    let mut check_unicast_src = g.check_unicast_src;
    let mut min_ttl: u8 = 255;
    let mut min_ttl_set = false;
    for d in p.block(s) {
        let kw = d.keyword();
        match kw {
            "state" => {
                if let Some(v) = p.one(d, "MASTER or BACKUP") {
                    state = match v {
                        "MASTER" => InitialState::Master,
                        "BACKUP" => InitialState::Backup,
                        other => {
                            p.fail(
                                &d.at,
                                format!(
                                    "state '{other}': expected MASTER or BACKUP (upper case, as keepalived reads it)"
                                ),
                            );
                            InitialState::Backup
                        }
                    }
                }
            }
            "interface" => {
                if let Some(v) = p.one(d, "an interface name") {
                    interface = Some((d.at.clone(), v.to_string()));
                }
            }
            "virtual_router_id" => {
                router_id = p.int(d, 1, 255).map(|n| n as u8);
                vrid_seen = true;
            }
            "priority" => priority = p.int(d, 1, 255).map_or(priority, |n| n as u8),
            "advert_int" => {
                if let Some(v) = p.one(d, "seconds") {
                    advert = Some((d.at.clone(), v.to_string()));
                }
            }
            "version" => {
                version = match p.int(d, 2, 3) {
                    Some(2) => Version::V2,
                    Some(_) => Version::V3,
                    None => version,
                }
            }
            "nopreempt" => nopreempt = true,
            "preempt_delay" => {
                if let Some(v) = p.one(d, "seconds 0..1000") {
                    match centis(v) {
                        Some(cs) if cs <= 100_000 => preempt_delay = Duration::from_millis(u64::from(cs) * 10),
                        _ => p.fail(&d.at, format!("preempt_delay '{v}': expected seconds 0..1000")),
                    }
                }
            }
            "unicast_src_ip" | "mcast_src_ip" => {
                if let Some(v) = p.one(d, "an address of this host") {
                    match v.parse::<IpAddr>() {
                        Ok(ip) => src = Some((d.at.clone(), ip)),
                        Err(_) => p.fail(&d.at, format!("{kw} '{v}': expected an IPv4 or IPv6 address")),
                    }
                }
            }
            "unicast_peer" => {
                for e in p.block(d) {
                    let Some(first) = e.words.first() else { continue };
                    match first.parse::<IpAddr>() {
                        Ok(ip) if peers.contains(&ip) => p.fail(&e.at, format!("unicast_peer {ip} is listed twice")),
                        Ok(ip) => match not_a_peer(ip, p.host) {
                            Some(why) => p.fail(&e.at, format!("unicast_peer {ip} {why}")),
                            None => peers.push(ip),
                        },
                        Err(_) => p.fail(&e.at, format!("unicast_peer '{first}': expected an IPv4 or IPv6 address")),
                    }
                    let mut rest = e.words[1..].iter();
                    while let Some(k) = rest.next() {
                        match (k.as_str(), rest.next().map(|v| v.parse::<u8>())) {
                            ("min_ttl", Some(Ok(n))) => {
                                min_ttl = min_ttl.min(n);
                                min_ttl_set = true;
                            }
                            ("max_ttl", Some(Ok(_))) => {}
                            _ => p.fail(
                                &e.at,
                                format!("unicast_peer: '{k}': expected min_ttl N or max_ttl N after the address"),
                            ),
                        }
                    }
                }
            }
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                for e in p.block(d) {
                    match vip::parse_conf(&e.words) {
                        Ok((mut v, ignored)) => {
                            v.excluded = kw == "virtual_ipaddress_excluded";
                            for i in ignored {
                                p.warn(&e.at, format!("{v}: '{i}' has no effect in keepvip"));
                            }
                            if vips.iter().any(|(_, o)| o.addr == v.addr) {
                                // keepalived keeps both entries (and advertises both): so
                                // do we, for the same adverts; the kernel has it once.
                                p.warn(&e.at, format!("{} is listed twice (the address is added once)", v.addr));
                            }
                            vips.push((e.at.clone(), v));
                        }
                        Err(msg) => p.fail(&e.at, msg),
                    }
                }
            }
            "authentication" => {
                let mut kind = None;
                for a in p.block(d) {
                    match a.keyword() {
                        "auth_type" => kind = p.one(a, "PASS").map(str::to_string),
                        "auth_pass" => {
                            // keepalived takes the first word; the first 8 bytes count.
                            match a.args().first() {
                                Some(v) => password = Some(v.clone()),
                                None => p.fail(&a.at, "auth_pass needs a value"),
                            }
                        }
                        other => p.fail(&a.at, format!("unknown keyword '{other}' in authentication")),
                    }
                }
                match kind.as_deref() {
                    Some("PASS") | None => {}
                    Some("AH") => p.fail(&d.at, "auth_type AH: not supported (keepalived deprecates it too); use PASS"),
                    Some(other) => p.fail(&d.at, format!("auth_type '{other}': expected PASS")),
                }
            }
            "notify" => notify = command(p, d),
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" => {
                if let Some(c) = command(p, d) {
                    notify_state.push((kw["notify_".len()..].to_ascii_uppercase(), c));
                }
            }
            "track_interface" => {
                for e in p.block(d) {
                    match e.words.as_slice() {
                        [i] => track_interfaces.push(i.clone()),
                        [i, rest @ ..] => match weight_of(p, e, rest) {
                            Some(0) => track_interfaces.push(i.clone()),
                            Some(w) => checks.push(Check {
                                name: format!("interface {i}"),
                                probe: Probe::Link(i.clone()),
                                interval: Duration::from_secs(1),
                                timeout: Duration::from_secs(1),
                                fall: 1,
                                rise: 1,
                                weight: w,
                                init_fail: false,
                            }),
                            None => {}
                        },
                        [] => {}
                    }
                }
            }
            "track_script" => {
                for e in p.block(d) {
                    if let [n, rest @ ..] = e.words.as_slice() {
                        let weight = if rest.is_empty() { None } else { weight_of(p, e, rest) };
                        tracks.push(TrackRef { at: e.at.clone(), name: n.clone(), weight });
                    }
                }
            }
            "check_unicast_src" => check_unicast_src = true,
            "unicast_ttl" => {
                min_ttl = p.int(d, 1, 255).map_or(min_ttl, |n| n as u8);
                min_ttl_set = true;
            }
            kw if IGNORED_INSTANCE.contains(&kw) => {}
            kw => match UNSUPPORTED_INSTANCE.iter().find(|(k, _)| *k == kw) {
                Some((_, what)) => {
                    p.fail(&d.at, format!("{kw}: keepvip does not do {what}; remove it, or run keepalived"))
                }
                None => p.fail(&d.at, format!("unknown keyword '{kw}' in vrrp_instance {name}")),
            },
        }
    }
    let Some(router_id) = router_id else {
        if !vrid_seen {
            p.fail(&s.at, format!("vrrp_instance {name}: virtual_router_id must be set (1..255)"));
        }
        return None;
    };
    let interface = match interface {
        Some((at, i)) => {
            if p.host.iface(&i).is_none() {
                p.fail(&at, format!("interface {i}: no such interface; this host has: {}", p.host.names()));
            }
            i
        }
        None => g.default_interface.clone().unwrap_or_else(|| "eth0".into()),
    };
    let advert_int_cs = match advert {
        None => 100,
        Some((at, v)) => {
            match (centis(&v), version) {
                (Some(cs), Version::V2) if cs % 100 == 0 && (100..=25500).contains(&cs) => cs as u16,
                (Some(cs), Version::V3) if (1..=4095).contains(&cs) => cs as u16,
                (_, Version::V2) => {
                    p.fail(&at, format!("advert_int '{v}': expected whole seconds 1..255 for VRRPv2 (version 3 for sub-second adverts)"));
                    100
                }
                (_, Version::V3) => {
                    p.fail(&at, format!("advert_int '{v}': expected seconds 0.01..40.95 for VRRPv3"));
                    100
                }
            }
        }
    };
    if vips.is_empty() {
        p.fail(&s.at, format!("vrrp_instance {name}: no virtual_ipaddress; give at least one VIP"));
    }
    // The family is the first VIP's; keepalived ignores VIPs of the other one.
    let ipv6 = vips.first().is_some_and(|(_, v)| v.addr.is_ipv6());
    if ipv6 && version == Version::V2 {
        p.fail(&s.at, format!("vrrp_instance {name}: the first VIP is IPv6 but VRRPv2 is IPv4 only; add 'version 3'"));
    }
    let (keep, other): (Vec<_>, Vec<_>) = vips.into_iter().partition(|(_, v)| v.addr.is_ipv6() == ipv6);
    for (at, v) in other {
        p.warn(&at, format!("{v}: not of the first VIP's address family; ignored, as keepalived ignores it"));
    }
    for (at, v) in &keep {
        let dev = v.dev.as_deref().unwrap_or(&interface);
        if let Some(why) = host_owns_vip(p.host, v, &interface) {
            p.fail(at, format!("{v}: {why}; a VIP must be an address no node holds permanently"));
        }
        if v.dev.is_some() && p.host.iface(dev).is_none() {
            p.fail(at, format!("{v}: no interface '{dev}'; this host has: {}", p.host.names()));
        }
        if let Err(e) = vip::check_label(v, dev) {
            p.fail(at, format!("{v}: {e}"));
        }
        if peers.contains(&v.addr) {
            p.fail(at, format!("{} is also a unicast peer", v.addr));
        }
    }
    let linked = checks.iter().filter_map(|c| if let Probe::Link(i) = &c.probe { Some(i) } else { None });
    for t in track_interfaces.iter().chain(linked) {
        if p.host.iface(t).is_none() {
            p.fail(
                &s.at,
                format!(
                    "vrrp_instance {name}: track_interface {t}: no such interface; this host has: {}",
                    p.host.names()
                ),
            );
        }
    }
    if peers.iter().any(|x| x.is_ipv6() != ipv6) && !keep.is_empty() {
        p.fail(&s.at, format!("vrrp_instance {name}: a unicast_peer is not of the VIPs' address family"));
    }
    peers.retain(|x| !p.host.owns(*x));
    // keepalived clears nopreempt at priority 255 and with state MASTER, with a warning.
    let preempt = !nopreempt || priority == 255 || state == InitialState::Master;
    if nopreempt && preempt {
        p.warn(
            &s.at,
            format!(
                "vrrp_instance {name}: nopreempt has no effect with priority 255 or state MASTER (as in keepalived)"
            ),
        );
    }
    let primary = p.host.advert_source(&interface, ipv6, |a| keep.iter().any(|(_, v)| v.addr == a));
    let unicast_src_ip = match src {
        Some((at, ip)) if ip.is_ipv6() != ipv6 => {
            p.fail(&at, format!("unicast_src_ip {ip}: not of the VIPs' address family"));
            None
        }
        Some((at, ip)) => {
            if !p.host.owns(ip) {
                p.warn(&at, format!("unicast_src_ip {ip} is not an address of this host; adverts go from {interface}'s own address until it is"));
            }
            Some(ip)
        }
        None => primary,
    };
    if p.errors.len() > errors_before {
        return None;
    }
    if (notify.is_some() || !notify_state.is_empty()) && !g.script_security {
        // keepalived runs them too, after "SECURITY VIOLATION - scripts are being executed
        // but script_security not enabled" (which fails its config test).
        p.warn(&s.at, format!("vrrp_instance {name}: notify scripts run as root without enable_script_security in global_defs (keepalived warns the same)"));
    }
    if version == Version::V3 && password.is_some() {
        p.warn(&s.at, format!("vrrp_instance {name}: authentication is ignored with VRRPv3, as keepalived ignores it"));
        password = None;
    }
    Some((
        Config {
            origin: super::Origin::ConfFile,
            name: name.to_string(),
            interface,
            state,
            router_id,
            priority,
            preempt,
            preempt_delay,
            advert_int_cs,
            version,
            password: password.filter(|p| !p.is_empty()),
            unicast_src_ip,
            unicast_peers: peers,
            virtual_ips: keep.into_iter().map(|(_, v)| v).collect(),
            notify,
            notify_state,
            track_interfaces,
            checks,
            sync_group: None,
            v3_checksum_as_v2: false,
            unicast_min_ttl: if ipv6 && !min_ttl_set { super::IPV6_UNICAST_MIN_HOPS } else { min_ttl },
            check_unicast_src,
            dump_conf: process.dump_conf,
            state_file: process.state_file.clone(),
            metrics_addr: process.metrics_addr,
            first_hold: Duration::ZERO,
        },
        tracks,
    ))
}

/// A notify command: keepalived splits it into words (quotes group them).
fn command(p: &mut Parser, d: &Stmt) -> Option<Vec<String>> {
    let line = d.args().join(" ");
    match shlex::split(&line) {
        Some(w) if !w.is_empty() => Some(w),
        _ => {
            p.fail(&d.at, format!("{}: expected a script path (and its arguments)", d.keyword()));
            None
        }
    }
}

#[cfg(test)]
mod tests;
