//! Reading the `KEEPALIVED_*` variables with osixia 2.0.20's defaults.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use super::draft::{At, Draft, Finding, Sourced, ENV_NAMES};
use super::process::{command_line_args, metrics_addr};
use super::rules;
use super::variables::{is_known, is_list, misspelt};
use super::{env_track, swarm, Garp, OSIXIA_NOTIFY};
use super::{list, rendered, vip, FromEnv, HostIface, HostView, InitialState, Origin, Problem, Version, Vip};

pub(super) struct Reader<'a> {
    pub env: &'a HashMap<String, String>,
    pub problems: Vec<Problem>,
    pub info: Vec<String>,
    pub warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    pub(super) fn raw(&self, var: &str) -> Option<&'a str> {
        self.env.get(var).map(String::as_str)
    }

    pub(super) fn fail(&mut self, var: &str, value: &str, msg: impl Into<String>) {
        self.problems.push(Problem { var: var.into(), value: value.into(), msg: msg.into() });
    }

    /// Parse `var` with `f`, or use `default` when unset or empty (osixia treats both alike).
    pub(super) fn get<T>(&mut self, var: &str, default: T, f: impl FnOnce(&str) -> Result<T, String>) -> T
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

    /// A finding of the rule book about a variable, with the variable's value.
    fn problem(&mut self, f: Finding) {
        match f.at {
            At::Var(var) => {
                let value = self.raw(var).unwrap_or("").to_string();
                self.fail(var, &value, f.msg);
            }
            At::Line(..) => self.problems.push(Problem { var: String::new(), value: String::new(), msg: f.msg }),
        }
    }

    fn render(&self, f: &Finding) -> String {
        match &f.at {
            At::Var(var) => format!("{var}={:?}: {}", self.raw(var).unwrap_or(""), f.msg),
            At::Line(..) => f.msg.clone(),
        }
    }

    pub(super) fn list(&mut self, var: &str) -> Vec<String> {
        let Some(v) = self.raw(var) else { return vec![] };
        list::items(v).unwrap_or_else(|msg| {
            self.fail(var, v, msg);
            vec![]
        })
    }
}

pub(super) fn int_in(lo: u32, hi: u32) -> impl Fn(&str) -> Result<u32, String> {
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

pub fn from_env(env: &HashMap<String, String>, host: &HostView) -> Result<FromEnv, Vec<Problem>> {
    let (decoded, mut problems) = decode(env);
    problems.extend(misspelt(env));
    let mut r = Reader { env: &decoded, problems, info: vec![], warnings: vec![] };
    let draft = read(&mut r, host);
    let drafts = dual_stack(&mut r, draft, host);
    // The rules run whatever the front-end found: every problem is named at once.
    let mut configs = vec![];
    for d in drafts {
        let f = rules::finish(d, host);
        for e in f.errors {
            r.problem(e);
        }
        for w in f.warnings {
            let line = r.render(&w);
            r.warnings.push(line);
        }
        r.info.extend(f.info);
        configs.extend(f.config);
    }
    if !r.problems.is_empty() {
        return Err(r.problems);
    }
    let mut configs = configs.into_iter();
    let config = configs.next().ok_or_else(|| r.problems.clone())?;
    Ok(FromEnv { config, dual: configs.next(), info: r.info, warnings: r.warnings })
}

/// osixia decodes `#JSON2BASH:` / `#PYTHON2BASH:` on every variable, not only lists. A
/// variable that fails here is reported once, then treated as unset.
fn decode(env: &HashMap<String, String>) -> (HashMap<String, String>, Vec<Problem>) {
    let mut problems = vec![];
    let decoded = env
        .iter()
        .filter_map(|(k, v)| {
            // Only variables keepvip reads: another name is misspelt or foreign (named apart).
            let ours = is_known(k);
            // Reported once; the rest is read as the line should read, so nothing else is
            // named for the same mistake.
            let fixed = list::quoting_mistake(k, v, is_list(k)).filter(|_| ours).map(|(msg, line)| {
                problems.push(Problem { var: k.clone(), value: v.clone(), msg });
                line
            });
            let v = fixed.as_ref().unwrap_or(v);
            let scalar = ours && !is_list(k);
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
    (decoded, problems)
}

/// The one instance osixia renders, with VIPs and peers of both families (see `dual_stack`).
fn read(r: &mut Reader, host: &HostView) -> Draft {
    let version_set = r.raw("KEEPALIVED_VRRP_VERSION").is_some_and(|v| !v.trim().is_empty());
    let version = r.get("KEEPALIVED_VRRP_VERSION", Version::V2, |v| match v {
        "2" => Ok(Version::V2),
        "3" => Ok(Version::V3),
        _ => Err("expected 2 or 3".into()),
    });
    let router_id = r.get("KEEPALIVED_ROUTER_ID", 51, int_in(1, 255)) as u8;
    let state = read_state(r);
    let sourced = |r: &Reader, var: &'static str| {
        r.raw(var).map(str::trim).filter(|v| !v.is_empty()).map(|v| Sourced::new(v.to_string(), At::Var(var)))
    };
    let advert_int = sourced(r, "KEEPALIVED_ADVERT_INT");
    let preempt_delay = sourced(r, "KEEPALIVED_PREEMPT_DELAY");
    let preempt_set = r.raw("KEEPALIVED_PREEMPT").is_some_and(|v| !v.trim().is_empty());
    let preempt = r.get("KEEPALIVED_PREEMPT", false, boolean);
    let password = read_password(r, version);
    let v3_checksum_as_v2 = r.get("KEEPALIVED_V3_CHECKSUM_AS_V2", false, boolean);
    let min_ttl_set = r.raw("KEEPALIVED_UNICAST_MIN_TTL").is_some_and(|v| !v.trim().is_empty());
    let unicast_min_ttl = r.get("KEEPALIVED_UNICAST_MIN_TTL", 255, int_in(1, 255)) as u8;
    let check_unicast_src = r.get("KEEPALIVED_CHECK_UNICAST_SRC", true, boolean);
    let skip_check_adv_addr = r.get("KEEPVIP_SKIP_CHECK_ADV_ADDR", false, boolean);
    let early_failover = r.get("KEEPVIP_EARLY_FAILOVER", true, boolean);
    // Read here so a bad value is named with the others; the process takes them.
    let _ = metrics_addr(r);
    let _ = command_line_args(r);
    let notify = read_notify(r);
    // Peers, as given (the seed gives every node the same list, own address included).
    let (peers, peers_from_swarm) = match r.raw("KEEPALIVED_UNICAST_PEERS").map(str::trim) {
        Some(v) if swarm::names_swarm(v) => (swarm::peers(r, host), true),
        _ => (read_peers(r), false),
    };
    let vips = read_vips(r);
    let (priority, auto_rank) = match host.swarm.as_ref().filter(|_| peers_from_swarm) {
        Some(m) => swarm::priority(r, m),
        None => read_priority(r, &peers, host),
    };
    let interface = read_interface(r, &peers, host);
    let advert_source = r.get("KEEPALIVED_UNICAST_SRC_IP", None, |v| match v.parse::<IpAddr>() {
        Ok(ip) => Ok(Some(Sourced::new(ip, At::Var("KEEPALIVED_UNICAST_SRC_IP")))),
        Err(_) => Err("expected an IPv4 or IPv6 address".into()),
    });
    let (track_interfaces, checks) = env_track::read_checks(r);
    // keepvip's names for keepalived's keywords (osixia's template sets none of them).
    let refresh = r.get("KEEPVIP_GARP_MASTER_REFRESH", 0, int_in(0, 86_400));
    let refresh_repeat = r.get("KEEPVIP_GARP_MASTER_REFRESH_REPEAT", 1, int_in(1, 100)) as usize;
    let garp = Garp {
        refresh: (refresh > 0).then(|| Duration::from_secs(u64::from(refresh))),
        refresh_repeat,
        lower_prio_delay: Some(Garp::KEEPALIVED.delay),
        lower_prio_repeat: Some(Garp::KEEPALIVED.repeat),
        ..Garp::KEEPALIVED
    };
    Draft {
        origin: Origin::Environment,
        names: ENV_NAMES,
        name: "VI_1".into(),
        interface,
        state,
        router_id,
        priority,
        nopreempt: (!preempt).then_some((At::Var("KEEPALIVED_PREEMPT"), preempt_set)),
        preempt_delay,
        advert_int,
        version,
        version_set,
        password: (!password.is_empty()).then_some(password),
        advert_source,
        peers: peers.into_iter().map(|p| Sourced::new(p, At::Var("KEEPALIVED_UNICAST_PEERS"))).collect(),
        vips: vips.into_iter().map(|v| Sourced::new(v, At::Var("KEEPALIVED_VIRTUAL_IPS"))).collect(),
        routes: vec![],
        rules: vec![],
        notify,
        notify_state: vec![],
        track_interfaces: track_interfaces
            .into_iter()
            .map(|t| Sourced::new(t, At::Var("KEEPALIVED_TRACK_INTERFACES")))
            .collect(),
        checks,
        weight_at: At::Var("KEEPALIVED_TRACK_WEIGHT"),
        track_at: At::Var("KEEPALIVED_TRACK_INTERFACES"),
        sync_group: None,
        v3_checksum_as_v2,
        unicast_min_ttl: min_ttl_set.then_some(unicast_min_ttl),
        check_unicast_src,
        listed_sources: vec![],
        first_hold: auto_rank.map_or(Duration::ZERO, first_hold),
        garp,
        dont_track_primary: false,
        mcast_group: None,
        skip_check_adv_addr,
        early_failover,
        down_timer_adverts: 3,
        track_src_ip: false,
        startup_delay: Duration::ZERO,
        accept: true,
        strict: false,
        lower_prio_no_advert: false,
        higher_prio_send_advert: false,
        vmac: None,
        peers_from_swarm,
        missing_dev_is_fault: false,
    }
}

/// The notify script: 2.0.20's `KEEPALIVED_NOTIFY`, or 2.3's `KEEPALIVED_NOTIFY_SCRIPT`
/// (set empty: none); unset, osixia's default path (absent from the image: skipped).
fn read_notify(r: &mut Reader) -> Option<Vec<String>> {
    let old = r.raw("KEEPALIVED_NOTIFY").map(|v| v.trim().to_string());
    let new = r.raw("KEEPALIVED_NOTIFY_SCRIPT").map(|v| v.trim().to_string());
    let value = match (old, new) {
        (Some(a), Some(b)) if a != b => {
            let msg = format!("KEEPALIVED_NOTIFY (osixia 2.0.20's name) is also set, to {a:?}: set one of them");
            r.fail("KEEPALIVED_NOTIFY_SCRIPT", &b, msg);
            return None;
        }
        (Some(v), _) => v,
        (None, Some(v)) => {
            r.info.push("KEEPALIVED_NOTIFY_SCRIPT: the notify script, osixia/keepalived 2.3's name".into());
            v
        }
        (None, None) => return Some(vec![OSIXIA_NOTIFY.to_string()]),
    };
    (!value.is_empty()).then(|| vec![value])
}

/// osixia's recipe gives every node the same peer list, itself included, and with the
/// source check on (keepvip's default) a node only hears listed sources: a node none of
/// whose addresses is listed (a third node given a two-address list) is heard by nobody and
/// takes the VIP beside the master. Refused; returns the listed addresses of this host,
/// which adverts must come from.
fn listed_sources(r: &mut Reader, d: &Draft, host: &HostView) -> Vec<IpAddr> {
    let var = "KEEPALIVED_UNICAST_PEERS";
    if !d.check_unicast_src {
        return vec![];
    }
    let mut listed = vec![];
    for v6 in [false, true] {
        // Among the peers that can be peers (the others are refused on their own).
        let fam: Vec<IpAddr> = d
            .peers
            .iter()
            .map(|p| p.value)
            .filter(|p| p.is_ipv6() == v6 && rules::not_a_peer(*p, host).is_none())
            .collect();
        if fam.is_empty() || !d.vips.iter().any(|v| v.value.addr.is_ipv6() == v6) {
            continue;
        }
        let own: Vec<IpAddr> = fam.iter().copied().filter(|p| host.owns(*p)).collect();
        let configured = d.advert_source.as_ref().map(|s| s.value).filter(|s| s.is_ipv6() == v6);
        if own.is_empty() {
            let is_vip = |a: IpAddr| d.vips.iter().any(|v| v.value.addr == a);
            let mine = configured.or_else(|| host.advert_source(&d.interface.value, v6, is_vip));
            let add = mine.map_or_else(|| "this node's address".to_string(), |a| a.to_string());
            let raw = r.raw(var).unwrap_or("").to_string();
            r.fail(var, &raw, format!("none of this host's addresses is in the list, so its peers would drop its adverts (they accept listed sources only) and both would hold the VIP; add {add} to {var} on every node (the same list everywhere), or set KEEPALIVED_CHECK_UNICAST_SRC=false on every node"));
        } else if let Some(src) = configured.filter(|s| !own.contains(s)) {
            let ours: Vec<String> = own.iter().map(ToString::to_string).collect();
            r.fail(
                "KEEPALIVED_UNICAST_SRC_IP",
                &src.to_string(),
                format!("not in {var}, so the peers would drop adverts from it; use {} or add {src} to the list on every node", ours.join(" or ")),
            );
        }
        listed.extend(own);
    }
    listed
}

/// keepalived knows exactly MASTER and BACKUP; anything else (even `master`) is BACKUP.
fn read_state(r: &mut Reader) -> InitialState {
    match r.raw("KEEPALIVED_STATE").map(str::trim) {
        None | Some("" | "BACKUP") => InitialState::Backup,
        Some("MASTER") => InitialState::Master,
        Some(other) => {
            r.warnings.push(format!(
                "KEEPALIVED_STATE={other:?}: keepalived knows only MASTER and BACKUP (upper case) and starts as BACKUP; so does keepvip{}",
                if other.eq_ignore_ascii_case("master") { " (write MASTER to start as master)" } else { "" }
            ));
            InitialState::Backup
        }
    }
}

/// What an osixia node sends is what keepalived reads back from the file osixia's sed
/// wrote: use that on the wire, so a mixed cluster agrees, and say how to make it plain.
fn read_password(r: &mut Reader, version: Version) -> String {
    let mut password = r.raw("KEEPALIVED_PASSWORD").unwrap_or("d0cker").to_string();
    if version != Version::V2 {
        return password;
    }
    if password.is_empty() {
        // Deviation: osixia renders `auth_pass` without a value, which keepalived refuses.
        // Set and empty means VRRPv2 without authentication (auth type 0), as keepalived
        // runs without an `authentication` block and as other VRRP stacks often speak.
        r.info.push("KEEPALIVED_PASSWORD is set empty: VRRPv2 without authentication (auth type 0)".into());
        return password;
    }
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
            let fix = "use letters, digits and punctuation other than | & \\ # ! \" { }";
            r.fail("KEEPALIVED_PASSWORD", &raw, format!("{e}; {fix}"));
        }
    }
    if password.len() > 8 {
        r.warnings.push(format!(
            "KEEPALIVED_PASSWORD is {} bytes long; only the first 8 are used, as keepalived does",
            password.len()
        ));
    }
    password
}

fn read_peers(r: &mut Reader) -> Vec<IpAddr> {
    let var = "KEEPALIVED_UNICAST_PEERS";
    let raw = r.raw(var).unwrap_or("").to_string();
    let mut peers = vec![];
    for item in list_items(r, var, &raw, |w| w.parse::<IpAddr>().is_ok()) {
        match item.trim().parse::<IpAddr>() {
            Ok(ip) => peers.push(ip),
            Err(_) if looks_like_several(&item, |s| s.parse::<IpAddr>().is_ok()) => r.fail(
                var,
                &raw,
                format!("a plain value is one address; for a list write {}", list::suggest_split(&item)),
            ),
            Err(_) => r.fail(var, &raw, format!("'{item}' is not an IPv4 or IPv6 address")),
        }
    }
    peers
}

/// Explicit, else the one holding our peer-list address, else eth0, else the default
/// route's. osixia always takes eth0; with the peer addresses on another card that splits
/// the cluster (each node drops the other's adverts as not from a peer).
fn read_interface(r: &mut Reader, peers: &[IpAddr], host: &HostView) -> Sourced<String> {
    let var = "KEEPALIVED_INTERFACE";
    let at = At::Var(var);
    let peer_iface = host.interfaces.iter().find(|i| peers.iter().any(|p| i.has(*p)));
    let Some(name) = r.raw(var).map(str::trim).filter(|s| !s.is_empty()) else {
        return match choose_interface(host, peer_iface) {
            Some((name, why)) => {
                if name != "eth0" {
                    r.info.push(format!("{var} is unset: using {name} ({why})"));
                }
                Sourced::new(name, at)
            }
            None => {
                r.fail(var, "", format!("unset, there is no eth0 and no interface holds a peer address or the default route; set it to one of: {}", host.names()));
                Sourced::new("eth0".into(), at)
            }
        };
    };
    if let Err(e) = vip::check_ifname(name) {
        r.fail(var, name, e);
    } else if let Some(other) = peer_iface.filter(|i| i.name != name && host.iface(name).is_some()) {
        let ours = peers.iter().find(|p| other.has(**p)).map_or(String::new(), ToString::to_string);
        r.fail(
            var,
            name,
            format!("this host's address in KEEPALIVED_UNICAST_PEERS ({ours}) is on {}, not on {name}: adverts from {name} would come from another address and the peers would drop them; set KEEPALIVED_INTERFACE={} (or unset it)", other.name, other.name),
        );
    }
    Sourced::new(name.to_string(), at)
}

/// Families: the first VIP's is the instance osixia renders (`VI_1`). VIPs of the other
/// family, which keepalived would ignore in that instance, get a second one (dual stack:
/// VRIDs are per family, so the same one is legal), joined in a sync group so both move
/// together. VRRPv2 is IPv4 only: an IPv6 instance runs VRRPv3, as keepalived sets it.
/// Peers and a source of a family without VIPs stay in the first, whose rules refuse them.
fn dual_stack(r: &mut Reader, mut d: Draft, host: &HostView) -> Vec<Draft> {
    d.listed_sources = listed_sources(r, &d, host);
    let first_v6 = d.vips.first().is_some_and(|v| v.value.addr.is_ipv6());
    let families: Vec<bool> =
        [first_v6, !first_v6].into_iter().filter(|f| d.vips.iter().any(|v| v.value.addr.is_ipv6() == *f)).collect();
    if families.contains(&true) && d.version == Version::V2 {
        let how = if families.len() == 2 { "the IPv6 VIPs run as a VRRPv3 instance" } else { "VRRPv3 is used" };
        let msg = format!("KEEPALIVED_VIRTUAL_IPS has IPv6 VIPs and VRRPv2 is IPv4 only: {how}, as keepalived does");
        if d.version_set {
            r.warnings.push(msg);
        } else {
            r.info.push(msg);
        }
    }
    if families.len() == 2 && !d.peers.is_empty() {
        for fam in &families {
            if !d.peers.iter().any(|p| p.value.is_ipv6() == *fam) {
                let name = if *fam { "IPv6" } else { "IPv4" };
                r.info.push(format!("KEEPALIVED_UNICAST_PEERS has no {name} peer: the {name} instance uses multicast"));
            }
        }
    }
    let first = |ip: IpAddr| !families.contains(&ip.is_ipv6()) && families.first() == Some(&first_v6);
    let split = |ipv6: bool, name: &str| {
        let mine = |ip: IpAddr| ip.is_ipv6() == ipv6 || (ipv6 == first_v6 && first(ip));
        let mut f = d.clone();
        f.name = name.into();
        f.vips.retain(|v| v.value.addr.is_ipv6() == ipv6);
        f.peers.retain(|p| mine(p.value));
        f.advert_source = d.advert_source.clone().filter(|s| mine(s.value));
        // Unicast: from the address the peers list us by (over IPv6 a link-local source,
        // RFC 5798's default, is not in their list; over IPv4 the interface's first address
        // may not be); multicast: the interface's own (link-local for IPv6).
        let listed = d.peers.iter().find(|p| p.value.is_ipv6() == ipv6 && host.owns(p.value));
        f.advert_source = f.advert_source.or_else(|| listed.cloned());
        if ipv6 {
            f.version = Version::V3;
        }
        f.sync_group = (families.len() == 2).then(|| "VG_1".to_string());
        f
    };
    match families.as_slice() {
        [one] => vec![split(*one, "VI_1")],
        [a, b] => vec![split(*a, "VI_1"), split(*b, if *b { "VI_1_V6" } else { "VI_1_V4" })],
        _ => vec![d],
    }
}

/// A plain value such as `1.1.1.1, 2.2.2.2` that osixia would pass to keepalived as one line.
/// A list variable's items, in either image's form: osixia/keepalived 2.0.20's
/// `#PYTHON2BASH:`/`#JSON2BASH:` lists (and one plain value), or 2.3's space-separated plain
/// values. The forms do not overlap: 2.0.20 renders a space-separated value as one broken
/// line keepalived rejects, and 2.3 splits a prefixed one into garbage. One plain value
/// that reads as one item (a VIP with `dev`) is one item. Which form was read is noted.
fn list_items(r: &mut Reader, var: &'static str, raw: &str, each_ok: impl Fn(&str) -> bool) -> Vec<String> {
    let v = raw.trim();
    let words: Vec<&str> = v.split_whitespace().collect();
    let prefixed = v.starts_with(list::PY) || v.starts_with(list::JSON);
    if !prefixed && words.len() > 1 && !each_ok(v) && words.iter().all(|w| each_ok(w)) {
        r.info.push(format!("{var}: a space-separated list ({} items), osixia/keepalived 2.3's form", words.len()));
        return words.into_iter().map(str::to_string).collect();
    }
    if prefixed {
        r.info.push(format!("{var}: a {} list, osixia/keepalived 2.0.20's form", &v[..v.find(':').unwrap_or(1)]));
    }
    r.list(var)
}

fn looks_like_several(item: &str, each_ok: impl Fn(&str) -> bool) -> bool {
    let parts: Vec<&str> = item.split([',', ' ', '\t', ';']).filter(|s| !s.is_empty()).collect();
    parts.len() > 1 && parts.iter().all(|p| each_ok(p))
}

fn read_vips(r: &mut Reader) -> Vec<Vip> {
    let var = "KEEPALIVED_VIRTUAL_IPS";
    let Some(raw) = r.raw(var).map(str::to_string).filter(|v| !v.trim().is_empty()) else {
        r.fail(var, "", "required: the virtual IP(s) to manage, e.g. 192.168.4.3 or #PYTHON2BASH:['192.168.4.3', '192.168.4.4/24 dev eth1'] (osixia's example default would take addresses on a real LAN)");
        return vec![];
    };
    let mut vips: Vec<Vip> = Vec::new();
    for item in list_items(r, var, &raw, |w| vip::parse(w).is_ok()) {
        match vip::parse(&item) {
            Ok(v) if vips.iter().any(|o| o.addr == v.addr) => r.fail(var, &raw, format!("{} is listed twice", v.addr)),
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

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
