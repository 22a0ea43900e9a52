//! keepalived.conf → one validated [`Config`] per `vrrp_instance`, with keepalived's
//! defaults (not osixia's template: a file replaces the template, as in osixia). The
//! subset is keepalived's VRRP side; what keepalived does beyond it (LVS, static routes…)
//! is refused when it would change behaviour, or named and ignored when it would not.

mod instance;
pub mod keywords;
pub mod lex;
mod process;
mod script;
mod strict;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::draft::{At, Draft, Finding};
use super::rules;
use super::track::Check;
use super::{Config, HostView, InitialState, Version};
use instance::TrackRef;
use keywords::Block;
use lex::{ConfError, Pos, Stmt};

/// The instances of a file and what start-up should log about it.
#[derive(Debug, Clone)]
pub struct FromFile {
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

#[derive(Default)]
pub(super) struct Globals {
    pub version: Option<Version>,
    pub default_interface: Option<String>,
    pub check_unicast_src: bool,
    pub script_security: bool,
    pub script_user: Option<(Pos, String)>,
    /// Why keepalived would remove every script run as the default user (no usable
    /// `script_user`), if it would.
    pub scripts_removed: Option<String>,
    /// `vrrp_garp_master_*`: every instance's default.
    pub garp: super::Garp,
    pub mcast_group4: Option<std::net::IpAddr>,
    pub mcast_group6: Option<std::net::IpAddr>,
    pub skip_check_adv_addr: bool,
    /// `keepvip_early_failover` (keepvip's own; keepalived warns and ignores it).
    pub early_failover: bool,
    /// `vrrp_down_timer_adverts`: every instance's default (3).
    pub down_timer_adverts: u8,
    /// `vrrp_startup_delay`: every instance's first takeover held this long.
    pub startup_delay: std::time::Duration,
    /// `vrrp_min_garp`, and the `vrrp_garp_*` keywords written (which it does not change).
    pub min_garp: bool,
    pub garp_written: Vec<String>,
    /// `vrrp_strict`: every instance's `strict_mode`.
    pub strict: bool,
    /// `vrrp_lower_prio_no_advert`, `vrrp_higher_prio_send_advert`: every instance's default.
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
}

impl Globals {
    /// keepalived's default script user: `script_user`, else `keepalived_script` when it
    /// exists, else root — but with `enable_script_security` a missing user removes the
    /// scripts. keepvip runs scripts as root, so another existing user is refused.
    fn settle_script_user(&mut self, p: &mut Parser, file_at: &Pos) {
        let (at, name, named) = match &self.script_user {
            Some((at, n)) => (Some(at.clone()), n.clone(), true),
            None => (None, "keepalived_script".to_string(), false),
        };
        if name == "root" || name == "0" {
            return;
        }
        let exists = script::names_in("/etc/passwd").contains(&name);
        match (exists, named, self.script_security) {
            (true, _, _) => {
                let msg = format!("script_user {name}: keepvip runs scripts as root only; remove script_user (or run the scripts through su/setpriv)");
                match at {
                    Some(at) => p.fail(&at, msg),
                    // keepalived_script exists but was not asked for: it is only used with
                    // script security.
                    None if self.script_security => p.fail(file_at, "enable_script_security: keepalived would run scripts as user keepalived_script, which exists here; keepvip runs scripts as root only (add 'script_user root' to global_defs)"),
                    None => {}
                }
            }
            (false, true, _) | (false, false, true) => {
                self.scripts_removed = Some(format!(
                    "no user '{name}' on this host for scripts (script_user{})",
                    if named { "" } else { " not set, keepalived_script missing" }
                ));
            }
            (false, false, false) => {}
        }
    }
}

pub(super) struct Parser {
    errors: Vec<ConfError>,
    warnings: Vec<String>,
    /// The preference of the next IPv4 and IPv6 `virtual_rules` item without one
    /// (keepalived counts each family down through the file).
    pub(super) rule_preference: [u32; 2],
    /// `use_vmac` names taken by earlier instances (keepalived ignores a second taker's).
    pub(super) vmac_names: Vec<String>,
}

impl Parser {
    pub(super) fn fail(&mut self, at: &Pos, msg: impl Into<String>) {
        self.errors.push(ConfError { at: at.clone(), msg: msg.into() });
    }

    pub(super) fn warn(&mut self, at: &Pos, msg: impl Into<String>) {
        self.warnings.push(format!("{at}: {}", msg.into()));
    }

    /// The single argument of `s`, or an error naming what was expected.
    pub(super) fn one<'s>(&mut self, s: &'s Stmt, what: &str) -> Option<&'s str> {
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

    pub(super) fn int(&mut self, s: &Stmt, lo: u32, hi: u32) -> Option<u32> {
        let v = self.one(s, &format!("an integer {lo}..{hi}"))?;
        match v.parse::<u32>() {
            Ok(n) if (lo..=hi).contains(&n) => Some(n),
            _ => {
                self.fail(&s.at, format!("{} '{v}': expected an integer {lo}..{hi}", s.keyword()));
                None
            }
        }
    }

    /// A keyword the block's reader does not read: keepalived's table says whether it is
    /// accepted without effect or refused (and why); anything else keepalived rejects too.
    pub(super) fn not_read(&mut self, s: &Stmt, block: Block, kw: &str, place: &str) {
        match keywords::lookup(block, kw) {
            Some(keywords::Meaning::Ignored(_)) => {}
            Some(keywords::Meaning::Refused(why)) => {
                self.fail(&s.at, format!("{kw} is not supported by keepvip: {why} (remove it, or run keepalived)"))
            }
            // A keyword the reader should have read: the table and the reader disagree.
            Some(keywords::Meaning::Same(_) | keywords::Meaning::Extension(_)) => {
                self.fail(&s.at, format!("{kw}: not read {place} (a keepvip bug)"))
            }
            None => self.fail(&s.at, format!("unknown keyword '{kw}' {place} (keepalived rejects it too)")),
        }
    }

    /// An on/off value (bare: on).
    pub(super) fn flag(&mut self, s: &Stmt) -> Option<bool> {
        match s.args() {
            [] => Some(true),
            [v] => match v.to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" | "1" => Some(true),
                "off" | "false" | "no" | "0" => Some(false),
                _ => {
                    self.fail(&s.at, format!("{} '{v}': expected on or off", s.keyword()));
                    None
                }
            },
            [_, rest @ ..] => {
                self.fail(&s.at, format!("{} takes one value (on or off); '{}' is extra", s.keyword(), rest.join(" ")));
                None
            }
        }
    }

    pub(super) fn block<'s>(&mut self, s: &'s Stmt) -> &'s [Stmt] {
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
pub fn load(path: &Path, host: &HostView) -> Result<FromFile, Vec<ConfError>> {
    let stmts = lex::read(path).map_err(|e| vec![e])?;
    from_stmts(path, &stmts, host)
}

/// The same, for a reload: a VIP on an interface the host lacks puts its instance in FAULT
/// until the interface exists, as keepalived's reload does, instead of refusing the file.
pub fn load_for_reload(path: &Path, host: &HostView) -> Result<FromFile, Vec<ConfError>> {
    let stmts = lex::read(path).map_err(|e| vec![e])?;
    read_stmts(path, &stmts, host, true)
}

/// What the top level declared, in order.
#[derive(Default)]
struct File {
    /// Each instance with the scripts defined before it (keepalived resolves names there).
    drafts: Vec<(Pos, Draft, Vec<TrackRef>, HashSet<String>)>,
    /// Scripts keepalived would remove, and why: tracking them is disabled, not refused.
    disabled: HashMap<String, String>,
    groups: Vec<(Pos, String, Vec<String>)>,
    /// Groups with `sync_group_tracking_weight`: their members keep weighted tracking.
    weighted_groups: HashSet<String>,
    group_scripts: Vec<SyncGroup>,
    scripts: HashMap<String, Check>,
    /// `vrrp_track_process` blocks (their own names: a script and a process may share one).
    processes: HashMap<String, Check>,
}

/// The instances of statements read from `file`.
pub fn from_stmts(file: &Path, stmts: &[Stmt], host: &HostView) -> Result<FromFile, Vec<ConfError>> {
    read_stmts(file, stmts, host, false)
}

fn read_stmts(file: &Path, stmts: &[Stmt], host: &HostView, reload: bool) -> Result<FromFile, Vec<ConfError>> {
    let mut p = Parser { errors: vec![], warnings: vec![], rule_preference: [16384; 2], vmac_names: vec![] };
    let mut g = Globals { check_unicast_src: false, early_failover: true, down_timer_adverts: 3, ..Globals::default() };
    // Globals first: keepalived applies them to every instance wherever they appear.
    for s in stmts.iter().filter(|s| s.keyword() == "global_defs") {
        globals(&mut p, s, &mut g);
    }
    if let Some(first) = stmts.first() {
        g.settle_script_user(&mut p, &first.at);
    }
    // vrrp_min_garp: one round, no second burst, wherever it stands among the vrrp_garp_*
    // keywords it leaves what they set (keepalived's --dump-conf shows the same).
    if g.min_garp {
        let written = |k: &str| g.garp_written.iter().any(|w| w == k);
        if !written("vrrp_garp_master_delay") {
            g.garp.delay = std::time::Duration::ZERO;
        }
        if !written("vrrp_garp_master_repeat") {
            g.garp.repeat = 1;
        }
        if !written("vrrp_garp_master_refresh_repeat") {
            g.garp.refresh_repeat = 0;
        }
    }
    // keepalived: the lower-priority schedule defaults to global_defs' own garp_master
    // values, and an instance's to global_defs' (never to the instance's garp_master_*).
    g.garp.lower_prio_delay = Some(g.garp.lower_prio_delay.unwrap_or(g.garp.delay));
    g.garp.lower_prio_repeat = Some(g.garp.lower_prio_repeat.unwrap_or(g.garp.repeat));
    let mut f = File::default();
    for s in stmts {
        top_level(&mut p, s, &g, &mut f);
    }
    bind_groups(&mut p, &mut f);
    masters_in_groups(&mut p, &mut f);
    let mut instances = vec![];
    let mut places = vec![];
    for (at, mut d, refs, known) in f.drafts {
        track_scripts(&mut p, &mut d, refs, (&f.scripts, &f.processes), &known, &f.disabled);
        if d.sync_group.as_ref().is_some_and(|g| !f.weighted_groups.contains(g)) {
            unweighted_in_group(&mut p, &mut d, &at);
        }
        d.missing_dev_is_fault = reload;
        let done = rules::finish(d, host);
        p.errors.extend(done.errors.iter().map(conf_error));
        p.warnings.extend(done.warnings.iter().map(|w| conf_error(w).to_string()));
        if let Some(c) = done.config {
            instances.push(c);
            places.push(at);
        }
    }
    one_router_per_vrid(&mut p, &instances, &places);
    if instances.is_empty() && p.errors.is_empty() {
        let at = stmts.first().map_or(Pos { file: std::rc::Rc::from(file), line: 1 }, |s| s.at.clone());
        p.fail(&at, "no vrrp_instance: nothing to do");
    }
    if p.errors.is_empty() {
        Ok(FromFile { instances, groups: f.group_scripts, warnings: p.warnings })
    } else {
        Err(p.errors)
    }
}

/// A finding of the rule book as keepalived.conf's `file:line: what: message`.
fn conf_error(f: &Finding) -> ConfError {
    match &f.at {
        At::Line(at, what) if what.is_empty() => ConfError { at: at.clone(), msg: f.msg.clone() },
        At::Line(at, what) => ConfError { at: at.clone(), msg: format!("{what}: {}", f.msg) },
        At::Var(var) => ConfError { at: Pos { file: std::rc::Rc::from(Path::new(var)), line: 0 }, msg: f.msg.clone() },
    }
}

fn top_level(p: &mut Parser, s: &Stmt, g: &Globals, f: &mut File) {
    match s.keyword() {
        "global_defs" => {}
        "vrrp_instance" => {
            let Some(name) = p.one(s, "the instance's name") else { return };
            let name = name.to_string();
            if f.drafts.iter().any(|(_, d, ..)| d.name == name) {
                p.fail(&s.at, format!("vrrp_instance {name} is defined twice"));
                return;
            }
            if let Some((d, t)) = instance::instance(p, s, &name, g) {
                let processes = f.processes.keys().map(|n| format!("process {n}"));
                let known = f.scripts.keys().chain(f.disabled.keys()).cloned().chain(processes).collect();
                f.drafts.push((s.at.clone(), d, t, known));
            }
        }
        "vrrp_sync_group" => sync_group(p, s, g, f),
        "vrrp_script" => {
            let Some(name) = p.one(s, "the script's name") else { return };
            let name = name.to_string();
            if let Some(why) = &g.scripts_removed {
                p.warn(
                    &s.at,
                    format!(
                        "vrrp_script {name}: removed, as keepalived removes it: {why}; the instances run untracked"
                    ),
                );
                f.disabled.insert(name, why.clone());
                return;
            }
            let check = script::vrrp_script(p, s, &name);
            if let Err(Some(why)) = &check {
                f.disabled.insert(name.clone(), why.clone());
            }
            if let Ok(c) = check {
                if !g.script_security {
                    p.warn(&s.at, format!("vrrp_script {name}: runs as root without enable_script_security in global_defs (keepalived warns the same)"));
                }
                f.scripts.insert(name, c);
            }
        }
        "vrrp_track_process" => {
            let Some(name) = p.one(s, "the process tracker's name") else { return };
            let name = name.to_string();
            if let Some(c) = process::vrrp_track_process(p, s, &name) {
                f.processes.insert(name, c);
            }
        }
        kw => p.not_read(s, Block::Top, kw, "at the top level"),
    }
}

fn sync_group(p: &mut Parser, s: &Stmt, g: &Globals, f: &mut File) {
    let Some(name) = p.one(s, "the group's name") else { return };
    let name = name.to_string();
    let mut members = vec![];
    let mut sg = SyncGroup { name: name.clone(), notify: None, notify_state: vec![] };
    for m in p.block(s) {
        match m.keyword() {
            "group" => members.extend(p.block(m).iter().flat_map(|x| x.words.iter().cloned())),
            "notify" => sg.notify = script::notify_command(p, m, g.scripts_removed.as_deref()),
            kw @ ("notify_master" | "notify_backup" | "notify_fault" | "notify_stop") => {
                if let Some(c) = script::notify_command(p, m, g.scripts_removed.as_deref()) {
                    sg.notify_state.push((kw["notify_".len()..].to_ascii_uppercase(), c));
                }
            }
            "sync_group_tracking_weight" => {
                f.weighted_groups.insert(name.clone());
            }
            kw => p.not_read(m, Block::SyncGroup, kw, "in vrrp_sync_group"),
        }
    }
    if sg.notify.is_some() || !sg.notify_state.is_empty() {
        if !g.script_security {
            p.warn(&s.at, format!("vrrp_sync_group {name}: notify scripts run as root without enable_script_security in global_defs (keepalived warns the same)"));
        }
        f.group_scripts.push(sg);
    }
    f.groups.push((s.at.clone(), name, members));
}

/// Sync groups: members must exist, once each.
fn bind_groups(p: &mut Parser, f: &mut File) {
    let mut grouped: HashSet<String> = HashSet::new();
    for (at, name, members) in &f.groups {
        if members.len() < 2 {
            let n = members.len();
            p.warn(at, format!("vrrp_sync_group {name} has {n} member(s); a group needs two to mean anything"));
        }
        for m in members {
            match f.drafts.iter_mut().find(|(_, d, ..)| d.name == *m) {
                None => p.fail(at, format!("vrrp_sync_group {name}: no vrrp_instance {m}")),
                Some(_) if !grouped.insert(m.clone()) => {
                    p.fail(at, format!("vrrp_sync_group {name}: {m} is already in another sync group"))
                }
                Some((_, d, ..)) => d.sync_group = Some(name.clone()),
            }
        }
    }
}

/// keepalived starts a sync group's `state MASTER` members as BACKUP when any member is
/// not the address owner (priority 255) or wants BACKUP: the group starts together.
fn masters_in_groups(p: &mut Parser, f: &mut File) {
    for (at, name, members) in &f.groups {
        let of_group = |d: &Draft| members.contains(&d.name);
        let drafts = || f.drafts.iter().map(|(_, d, ..)| d).filter(|d| of_group(d));
        let master = drafts().any(|d| d.state == InitialState::Master);
        let backup = drafts().any(|d| d.state == InitialState::Backup || d.priority != 255);
        if !(master && backup) {
            continue;
        }
        for (_, d, ..) in f.drafts.iter_mut().filter(|(_, d, ..)| of_group(d) && d.state == InitialState::Master) {
            p.warn(at, format!("vrrp_sync_group {name}: {} starts as BACKUP, as keepalived starts every member as BACKUP unless all are address owners (priority 255) wanting MASTER", d.name));
            d.state = InitialState::Backup;
            // keepalived had already read the member as MASTER: nopreempt and
            // preempt_delay were cleared for it, and stay so.
            d.nopreempt = None;
            d.preempt_delay = None;
        }
    }
}

/// `track_script` and `track_process` names resolved against the file's `vrrp_script`s
/// and `vrrp_track_process`es, with their weights. keepalived looks a name up while it
/// reads the instance: one defined further down is not tracked ("… not found, ignoring").
fn track_scripts(
    p: &mut Parser,
    d: &mut Draft,
    refs: Vec<TrackRef>,
    (scripts, processes): (&HashMap<String, Check>, &HashMap<String, Check>),
    known: &HashSet<String>,
    disabled: &HashMap<String, String>,
) {
    let no_disabled = HashMap::new();
    for t in refs {
        // Scripts and process trackers have names of their own; `known` says "process NAME".
        let (kw, block, defined, disabled, key) = if t.process {
            ("track_process", "vrrp_track_process", processes, &no_disabled, format!("process {}", t.name))
        } else {
            ("track_script", "vrrp_script", scripts, disabled, t.name.clone())
        };
        let what = format!("vrrp_instance {}: {kw} {}", d.name, t.name);
        if let Some(why) = disabled.get(&t.name).filter(|_| known.contains(&key)) {
            p.warn(&t.at, format!("{what}: disabled ({why}); the instance runs untracked, as in keepalived"));
            continue;
        }
        let Some(check) = defined.get(&t.name) else {
            p.fail(&t.at, format!("{what}: no {block} {}", t.name));
            continue;
        };
        if !known.contains(&key) {
            // keepalived looks the name up while reading the instance: "track script … not
            // found, ignoring".
            p.warn(&t.at, format!("{what}: {block} {} is defined after this instance, so keepalived ignores the tracking and so does keepvip; move the {block} above the instance", t.name));
            continue;
        }
        let same_kind = |c: &Check| matches!(c.probe, super::track::Probe::Process(_)) == t.process;
        if d.checks.iter().any(|c| c.name == t.name && same_kind(c)) {
            // keepalived: "duplicate track_script … - ignoring".
            p.warn(&t.at, format!("{what} is listed twice; ignored"));
            continue;
        }
        let mut c = check.clone();
        c.weight = t.weight.unwrap_or(c.weight);
        d.checks.push(c);
    }
}

/// keepalived ignores weights in a sync group member unless the group has
/// `sync_group_tracking_weight`: weighted scripts are dropped, weighted interfaces become
/// FAULT-on-down ("ignoring … due to SYNC group").
fn unweighted_in_group(p: &mut Parser, d: &mut Draft, at: &Pos) {
    let group = d.sync_group.clone().unwrap_or_default();
    let why = format!("in vrrp_sync_group {group}, as keepalived ignores weights there (add sync_group_tracking_weight to the group to keep them)");
    let mut kept = vec![];
    for c in std::mem::take(&mut d.checks) {
        match (&c.probe, c.weight) {
            (_, 0) => kept.push(c),
            (super::track::Probe::Link(i), w) => {
                p.warn(
                    at,
                    format!(
                        "vrrp_instance {}: track_interface {i} weight {w}: weight ignored {why}; {i} down is a FAULT",
                        d.name
                    ),
                );
                d.track_interfaces.push(super::draft::Sourced::new(i.clone(), d.track_at.clone()));
            }
            // keepalived keeps these (its manual asks for weight 0 there) with a meaning it
            // does not state: refused rather than guessed.
            (super::track::Probe::Process(_), w) => p.fail(
                at,
                format!("vrrp_instance {}: track_process {} weight {w}: in vrrp_sync_group {group} a tracked process needs weight 0 (keepalived's rule) unless the group has sync_group_tracking_weight", d.name, c.name),
            ),
            (_, w) => {
                p.warn(at, format!("vrrp_instance {}: track_script {} (weight {w}) dropped {why}", d.name, c.name))
            }
        }
    }
    d.checks = kept;
}

/// One virtual router per VRID, family and interface (keepalived refuses the same).
fn one_router_per_vrid(p: &mut Parser, instances: &[Config], places: &[Pos]) {
    for (a, x) in instances.iter().enumerate() {
        for (y, at) in instances[a + 1..].iter().zip(&places[a + 1..]) {
            if x.router_id == y.router_id && x.interface == y.interface && x.ipv6() == y.ipv6() {
                let msg = format!(
                    "{} and {} both use virtual_router_id {} on {}: give each its own",
                    x.name, y.name, x.router_id, x.interface
                );
                p.fail(at, msg);
            }
        }
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
            "vrrp_skip_check_adv_addr" => g.skip_check_adv_addr = true,
            "keepvip_early_failover" => {
                if let Some(on) = p.flag(d) {
                    g.early_failover = on;
                }
            }
            "vrrp_mcast_group4" => g.mcast_group4 = instance::multicast_group(p, d, Some(false)).or(g.mcast_group4),
            "vrrp_mcast_group6" => g.mcast_group6 = instance::multicast_group(p, d, Some(true)).or(g.mcast_group6),
            "vrrp_garp_master_delay"
            | "vrrp_garp_master_repeat"
            | "vrrp_garp_master_refresh"
            | "vrrp_garp_master_refresh_repeat"
            | "vrrp_garp_lower_prio_delay"
            | "vrrp_garp_lower_prio_repeat"
            | "vrrp_garp_extra_if" => {
                g.garp_written.push(d.keyword().to_string());
                instance::garp_keyword(p, d, &mut g.garp);
            }
            "vrrp_startup_delay" => {
                if let Some(v) = p.one(d, "seconds (e.g. 5.5)") {
                    match v.parse::<f64>() {
                        Ok(s) if (0.0..=86_400.0).contains(&s) => {
                            g.startup_delay = std::time::Duration::from_secs_f64(s)
                        }
                        _ => p.fail(&d.at, format!("vrrp_startup_delay '{v}': expected seconds 0..86400, e.g. 5.5")),
                    }
                }
            }
            "vrrp_min_garp" => {
                if let Some(on) = p.flag(d) {
                    g.min_garp = on;
                }
            }
            "vrrp_down_timer_adverts" => {
                g.down_timer_adverts = p.int(d, 1, 100).map_or(g.down_timer_adverts, |n| n as u8);
            }
            "enable_script_security" => g.script_security = true,
            "script_user" => match d.args() {
                [u] | [u, _] => g.script_user = Some((d.at.clone(), u.clone())),
                _ => p.fail(&d.at, "script_user: expected USER [GROUP]"),
            },
            "vrrp_strict" => g.strict = true,
            "vrrp_lower_prio_no_advert" => g.lower_prio_no_advert = p.flag(d).unwrap_or(g.lower_prio_no_advert),
            "vrrp_higher_prio_send_advert" => {
                g.higher_prio_send_advert = p.flag(d).unwrap_or(g.higher_prio_send_advert)
            }
            kw => p.not_read(d, Block::Global, kw, "in global_defs"),
        }
    }
}

#[cfg(test)]
mod tests;
