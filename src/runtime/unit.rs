//! One VRRP instance's side of the IO shell: its state machine, VIPs, announcements,
//! interface tracking, notify scripts and counters. The loop (`runtime/mod.rs`) owns the
//! shared parts (netlink, the sockets per interface, ARP) and lends them through [`Io`].

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::announce::Announcer;
use super::vips::{remove_stale, VipSet};
use crate::config::{Config, HostView, InitialState, Origin, Probe, Version};
use crate::health::probe::{Running, Wait};
use crate::health::{Status, Tracker};
use crate::net::arp;
use crate::net::netlink::{Addr, AddrChange, Link, Netlink};
use crate::net::socket::VrrpSocket;
use crate::notify::Notifier;
use crate::observe::metrics;
use crate::observe::status;
use crate::vrrp::{Action, Event, Fault, Instance, Params, Received, Rejected, State};
use crate::wire::vrrp::{self as wire, AddrList, Auth, Family, Pseudo, Repr};

const MTU: usize = 1500;

/// What a unit borrows from the loop to act.
pub struct Io<'a> {
    pub nl: &'a mut Netlink,
    pub sock: &'a VrrpSocket,
    pub arp: Option<&'a arp::Sender>,
}

/// The instance's core parameters from the configuration and this host's addresses.
pub fn params(cfg: &Config, host: &HostView) -> Params {
    let family = if cfg.ipv6() { Family::V6 } else { Family::V4 };
    let version = if cfg.version == Version::V2 { 2 } else { 3 };
    // Beyond 255 (or the MTU) VIPs are managed but not advertised, like keepalived's eVIPs;
    // so are `virtual_ipaddress_excluded` ones.
    let advertised = wire::encode_addrs(
        cfg.virtual_ips
            .iter()
            .filter(|v| !v.excluded)
            .map(|v| v.addr)
            .filter(|a| Family::of(*a) == family)
            .take(wire::max_addrs(family, version, MTU)),
    );
    Params {
        version,
        vrid: cfg.router_id,
        priority: cfg.priority,
        advert_int_cs: cfg.advert_int_cs,
        preempt: cfg.preempt,
        preempt_delay: cfg.preempt_delay,
        start_as_master: cfg.state == InitialState::Master,
        auth: cfg.password.as_deref().map(Auth::pass).unwrap_or(Auth::None),
        family,
        primary: cfg.unicast_src_ip,
        peers: cfg.unicast_peers.clone(),
        check_unicast_src: cfg.check_unicast_src,
        unicast_min_ttl: cfg.unicast_min_ttl,
        own: host.interfaces.iter().flat_map(|i| i.addrs.iter().map(|a| a.addr)).collect(),
        advertised,
        first_hold: cfg.first_hold,
    }
}

/// An interface the instance depends on, by name, with the index it had when last seen
/// (a re-created interface gets a new one).
pub struct Tracked {
    pub name: String,
    pub index: u32,
    /// Its MAC, from the last look at the links: what announcements of VIPs there carry.
    pub mac: Option<[u8; 6]>,
}

pub struct Unit {
    pub cfg: Config,
    pub core: Instance,
    /// Index of the shared socket of our interface in the loop's list.
    pub sock: usize,
    /// The advert interface (and its MAC).
    pub iface: Tracked,
    /// Other interfaces we depend on (VIP `dev`s, `track_interface`): down or gone is a
    /// FAULT, like the main one.
    tracked: Vec<Tracked>,
    vips: VipSet,
    /// Where adverts come from now: the configured source while the host has it, else the
    /// interface's first address of the family (not a VIP). `None` is a FAULT.
    source: Option<IpAddr>,
    /// Our own fault and its log line, so each cause is logged once: the links' (from the
    /// last look at them) or else a failing check's.
    own_fault: Option<(Fault, String)>,
    link_fault: Option<(Fault, String)>,
    /// Health checks: verdicts, and the probes in flight (one slot per check).
    health: Tracker,
    probes: Vec<Option<Running>>,
    /// Scripts killed at their deadline, reaped when they are gone.
    killed: Vec<std::process::Child>,
    /// `start` waits for every weight-0 check's first result (keepalived holds the
    /// instance in FAULT meanwhile): a node never takes a VIP before its service was seen.
    pub deferred: bool,
    /// A sync group member's fault, which we follow.
    group_fault: bool,
    /// Our source address or MAC changed: one gratuitous ARP for it when the link is usable.
    announce_pending: bool,
    advertised: Vec<u8>,
    notifier: Notifier,
    last_log: HashMap<&'static str, Instant>,
    /// Adverts that left (datagrams accepted by the kernel), and the ones that failed.
    sent: u64,
    send_errors: u64,
    /// Gratuitous ARP repeats, paced.
    pub announcer: Announcer,
    /// Whether the advert interface exists (from the last look at the links).
    iface_present: bool,
    transitions: BTreeMap<(&'static str, &'static str), u64>,
    last_transition: Instant,
    /// The last transition's log line and wall-clock time, for `--status`.
    last_change: Option<(String, f64)>,
    /// Our VIPs found on the host at start, where we would add them: resume or remove.
    found_in_place: Vec<AddrChange>,
    /// A transition happened since the loop last asked (state file).
    pub changed: bool,
    /// This instance's own move to MASTER, or from MASTER to BACKUP, for its sync group
    /// to follow (moves made by following the group are not passed on).
    pub moved: Option<State>,
}

impl Unit {
    /// `iface`: our interface as the host has it now; `sock`: its shared socket's index.
    /// `present`: every address on the host, for the stale VIPs of this instance.
    pub fn new(
        cfg: Config,
        host: &HostView,
        link: &Link,
        sock: usize,
        present: &[Addr],
        nl: &mut Netlink,
    ) -> Result<Unit> {
        let name =
            |ix: u32| host.interfaces.iter().find(|i| i.index == ix).map_or(format!("#{ix}"), |i| i.name.clone());
        let mut tracked: Vec<Tracked> = vec![];
        let mut vip_ifindex = vec![];
        for v in &cfg.virtual_ips {
            let ix = match &v.dev {
                None => link.index,
                Some(d) => {
                    let ix = host.iface(d).map(|i| i.index).with_context(|| format!("interface {d} disappeared"))?;
                    if *d != cfg.interface && !tracked.iter().any(|t| t.name == *d) {
                        tracked.push(Tracked { name: d.clone(), index: ix, mac: None });
                    }
                    ix
                }
            };
            vip_ifindex.push(ix);
        }
        for t in &cfg.track_interfaces {
            if *t != cfg.interface && !tracked.iter().any(|x| x.name == *t) {
                let ix = host.iface(t).map_or(0, |i| i.index);
                tracked.push(Tracked { name: t.clone(), index: ix, mac: None });
            }
        }
        let vips = VipSet::new(cfg.virtual_ips.clone(), vip_ifindex, &cfg.interface);
        // Stale VIPs exactly where we would add them may be ours from a moment ago: `start`
        // decides. Anything else goes now.
        let found = super::vips::stale(present, &cfg.virtual_ips, cfg.unicast_src_ip, name);
        let (found_in_place, elsewhere): (Vec<_>, Vec<_>) = found.into_iter().partition(|a| vips.in_place(a));
        remove_stale(nl, &elsewhere).context("removing stale VIPs")?;
        let p = params(&cfg, host);
        let advertised = p.advertised.clone();
        let now = Instant::now();
        Ok(Unit {
            core: Instance::new(p),
            sock,
            iface: Tracked { name: cfg.interface.clone(), index: link.index, mac: link.mac },
            tracked,
            vips,
            found_in_place,
            source: cfg.unicast_src_ip,
            own_fault: None,
            link_fault: None,
            health: Tracker::new(&cfg.checks, now),
            probes: cfg.checks.iter().map(|_| None).collect(),
            killed: vec![],
            deferred: false,
            group_fault: false,
            announce_pending: false,
            advertised,
            notifier: Notifier::new(
                &cfg.name,
                if cfg.origin == Origin::Environment { "KEEPALIVED_NOTIFY" } else { "notify" },
                cfg.notify.clone(),
                cfg.notify_state.clone(),
            ),
            last_log: HashMap::new(),
            sent: 0,
            send_errors: 0,
            announcer: Announcer::default(),
            iface_present: true,
            transitions: BTreeMap::new(),
            last_transition: now,
            last_change: None,
            changed: false,
            moved: None,
            cfg,
        })
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// Start the state machine (after a first `sync` told it about faults): resume with
    /// VIPs found in place, else start afresh. Returns the VIPs to probe for when resuming.
    pub fn start(&mut self, now: Instant, io: &mut Io) -> Result<Vec<AddrChange>> {
        if self.core.state() == State::Init && self.health.fault().is_some_and(|(_, undecided)| undecided) {
            if !self.deferred {
                log::info!("({}) waiting for the first result of its checks before starting", self.cfg.name);
            }
            self.deferred = true;
            return Ok(vec![]);
        }
        self.deferred = false;
        let found = std::mem::take(&mut self.found_in_place);
        let resumed = if !found.is_empty() && self.core.state() == State::Init {
            // A crash and a quick restart (Docker's restart policy): if no master is heard
            // the VIPs never left, so the restart costs no failover and no lost packet.
            for a in &found {
                log::info!(
                    "({}) VIP {}/{} is still on {}: kept while listening for a master",
                    self.cfg.name,
                    a.addr,
                    a.prefix,
                    a.ifname
                );
            }
            self.vips.mark_held();
            self.core.handle(Event::Resume, now);
            found
        } else {
            remove_stale(io.nl, &found).context("removing stale VIPs")?;
            self.core.handle(Event::Start, now);
            vec![]
        };
        self.execute(io);
        Ok(resumed)
    }

    /// Whether we may hold VIPs on the host.
    pub fn holds_vips(&self) -> bool {
        self.vips.held()
    }

    pub fn release(&mut self, nl: &mut Netlink) {
        if self.vips.held() {
            self.vips.remove_all(nl);
        }
        // Found at start while waiting for the checks, never taken over: stale now.
        let found = std::mem::take(&mut self.found_in_place);
        if let Err(e) = remove_stale(nl, &found) {
            log::warn!("({}) removing the VIPs found at start: {e:#}", self.cfg.name);
        }
    }

    /// One datagram from our interface's socket for our VRID (or for nobody's: counted).
    pub fn receive(&mut self, rx: Received, now: Instant) {
        log::trace!(
            "({}) VRRP datagram from {} to {}: TTL {}, {} bytes",
            self.cfg.name,
            rx.src,
            rx.dst,
            rx.ttl,
            rx.payload.len()
        );
        if let Err(d) = self.core.receive(rx, now) {
            if !d.silent() && self.may_log(d.kind(), now) {
                log::warn!(
                    "({}) dropped VRRP packet from {}: {d} (counted; at most one line per reason per second)",
                    self.cfg.name,
                    rx.src
                );
            }
        }
    }

    pub fn count_drop(&mut self, d: Rejected) {
        self.core.count_drop(d);
    }

    pub fn may_log(&mut self, kind: &'static str, now: Instant) -> bool {
        match self.last_log.get(kind) {
            Some(t) if now.duration_since(*t) < Duration::from_secs(1) => false,
            _ => {
                self.last_log.insert(kind, now);
                true
            }
        }
    }

    /// Our own fault (not a group member's).
    pub fn own_fault(&self) -> bool {
        self.own_fault.is_some()
    }

    /// A sync group member is (or no longer is) in FAULT: follow it.
    pub fn set_group_fault(&mut self, on: bool, now: Instant, io: &mut Io) {
        if self.group_fault == on {
            return;
        }
        self.group_fault = on;
        if on {
            log::warn!(
                "({}) a member of sync group {} is in FAULT: FAULT too",
                self.cfg.name,
                self.cfg.sync_group.as_deref().unwrap_or("?")
            );
        }
        self.apply_fault(now, io);
    }

    fn apply_fault(&mut self, now: Instant, io: &mut Io) {
        match (&self.own_fault, self.group_fault) {
            (Some((cause, _)), _) => self.core.handle(Event::Fault(*cause), now),
            (None, true) => self.core.handle(Event::Fault(Fault::SyncGroup), now),
            (None, false) => self.core.handle(Event::Recovered, now),
        }
        self.execute(io);
    }

    /// Link or address changed: follow re-created interfaces and the advert source, tell the
    /// core about faults (every tracked interface up and an address to send from, or FAULT),
    /// and put back VIPs someone removed while we are master. The loop has re-opened our
    /// socket if our interface was re-created.
    pub fn sync(&mut self, links: &[Link], addrs: &[Addr], now: Instant, io: &mut Io) {
        let find = |name: &str| links.iter().find(|l| l.name == name);
        let main = find(&self.iface.name).cloned();
        self.iface_present = main.is_some();
        if let Some(l) = main.as_ref().filter(|l| l.index != self.iface.index) {
            log::info!(
                "({}) interface {} was re-created (index {} → {})",
                self.cfg.name,
                l.name,
                self.iface.index,
                l.index
            );
            self.vips.remap(self.iface.index, l.index);
            self.iface.index = l.index;
            self.iface.mac = l.mac;
            self.announce_pending = true;
        }
        if let Some(l) = main.as_ref().filter(|l| l.index == self.iface.index && l.mac != self.iface.mac) {
            // A new MAC on the same interface (`ip link set address`): peers' caches are stale.
            log::info!("({}) interface {} has a new MAC", self.cfg.name, l.name);
            self.iface.mac = l.mac;
            self.announce_pending = true;
        }
        for t in &mut self.tracked {
            if let Some(l) = find(&t.name).filter(|l| l.index != t.index) {
                log::info!("interface {} (tracked) was re-created (index {} → {})", l.name, t.index, l.index);
                self.vips.remap(t.index, l.index);
                t.index = l.index;
            }
            if let Some(l) = find(&t.name) {
                t.mac = l.mac;
            }
        }
        self.follow_source(addrs);
        self.link_fault = self.fault_now(main.as_ref(), links);
        let mut changes = vec![];
        for c in &self.cfg.checks {
            if let Probe::Link(name) = &c.probe {
                let up = links.iter().any(|l| l.name == *name && l.running);
                changes.extend(self.health.set_link(name, up));
            }
        }
        self.log_checks(&changes);
        self.refresh_fault(now, io);
        self.refresh_priority(now, io);
        // Announce our source once the link can carry it (an address is often added before
        // the link is up).
        if self.own_fault.is_none() && std::mem::take(&mut self.announce_pending) {
            self.announce_source(io);
        }
        if self.core.state() == State::Master {
            let missing = self.vips.missing(addrs);
            for i in &missing {
                log::warn!(
                    "({}) VIP {} was removed while we are master; adding it back",
                    self.cfg.name,
                    self.vips.get(*i)
                );
            }
            if !missing.is_empty() {
                self.vips.add(io.nl, &missing);
            }
        }
    }

    /// Our fault is the links' first, else a failing weight-0 check's (an undecided one
    /// only delays the start). Logged when its cause changes; the core is told.
    fn refresh_fault(&mut self, now: Instant, io: &mut Io) {
        let check = match self.health.fault() {
            Some((t, false)) => Some((
                Fault::Check,
                format!(
                    "check {} fails ({}): FAULT until it passes, handing the VIPs over first",
                    t.check.name,
                    match &t.last {
                        Some(Err(e)) => e.as_str(),
                        _ => "init_fail",
                    }
                ),
            )),
            _ => None,
        };
        let fault = self.link_fault.clone().or(check);
        if fault.as_ref().map(|f| &f.1) != self.own_fault.as_ref().map(|f| &f.1) {
            match &fault {
                Some((_, line)) => log::warn!("({}) {line}", self.cfg.name),
                None if self.own_fault.is_some() => {
                    log::info!("({}) {} is usable and every check passes again", self.cfg.name, self.iface.name)
                }
                None => {}
            }
        }
        self.own_fault = fault;
        self.apply_fault(now, io);
    }

    /// Weighted checks move the priority the core runs with.
    fn refresh_priority(&mut self, now: Instant, io: &mut Io) {
        let p = self.health.priority(self.cfg.priority);
        if p != self.core.priority() {
            log::info!(
                "({}) priority {} -> {p} (configured {}, moved by weighted checks)",
                self.cfg.name,
                self.core.priority(),
                self.cfg.priority
            );
            self.core.handle(Event::Priority(p), now);
            self.execute(io);
        }
    }

    fn log_checks(&self, changes: &[crate::health::Change]) {
        for c in changes {
            let t = &self.health.checks()[c.index];
            let why = match &t.last {
                Some(Err(e)) => format!(" ({e})"),
                _ => String::new(),
            };
            let effect = match t.check.weight {
                0 => String::new(),
                w => format!(", weight {w:+}"),
            };
            let line = format!(
                "({}) check {}: {} -> {}{why}{effect}",
                self.cfg.name,
                t.check.name,
                c.from.name(),
                c.to.name()
            );
            if c.to == Status::Down {
                log::warn!("{line}");
            } else {
                log::info!("{line}");
            }
        }
    }

    /// The fds of the probes in flight, for the poll set.
    pub fn probe_waits(&self) -> impl Iterator<Item = Wait<'_>> {
        self.probes.iter().flatten().filter_map(Running::wait)
    }

    /// When the checks next need the loop: a probe's deadline or the next run.
    pub fn health_deadline(&self) -> Option<Instant> {
        let running = self.probes.iter().flatten().map(Running::deadline).min();
        [running, self.health.next_deadline()].into_iter().flatten().min()
    }

    /// Drive the probes: collect answers (and timeouts), start the checks that are due, and
    /// act on changed verdicts. Never blocks.
    pub fn health_step(&mut self, now: Instant, io: &mut Io) {
        if self.health.is_empty() {
            return;
        }
        let mut changes = vec![];
        for i in 0..self.probes.len() {
            let Some(out) = self.probes[i].as_mut().and_then(|r| r.advance(now)) else { continue };
            // A script killed at its deadline is reaped once it is gone.
            if let Some(mut child) = self.probes[i].take().and_then(Running::into_child) {
                if matches!(child.try_wait(), Ok(None)) {
                    self.killed.push(child);
                }
            }
            changes.extend(self.health.report(i, out));
        }
        for i in self.health.due(now) {
            let c = &self.health.checks()[i].check;
            match Running::start(&c.probe, now + c.timeout) {
                Ok(r) => self.probes[i] = Some(r),
                Err(e) => changes.extend(self.health.report(i, Err(e))),
            }
        }
        if changes.is_empty() {
            return;
        }
        self.log_checks(&changes);
        self.changed = true;
        self.refresh_fault(now, io);
        self.refresh_priority(now, io);
    }

    /// What keeps the instance from running, first cause first, with its log line.
    fn fault_now(&self, main: Option<&Link>, links: &[Link]) -> Option<(Fault, String)> {
        let name = &self.iface.name;
        match main {
            None => return Some((Fault::LinkDown, format!("interface {name} is gone: FAULT until it is back"))),
            Some(l) if !l.running => {
                return Some((Fault::LinkDown, format!("interface {name} is down: FAULT until it is up")))
            }
            Some(_) => {}
        }
        for t in &self.tracked {
            let state = match links.iter().find(|l| l.name == t.name) {
                None => "gone",
                Some(l) if !l.running => "down",
                Some(_) => continue,
            };
            let of: Vec<String> = self
                .vips
                .iter()
                .filter(|(v, _)| v.dev.as_deref() == Some(&t.name))
                .map(|(v, _)| v.addr.to_string())
                .collect();
            let what = if of.is_empty() { "tracked".to_string() } else { format!("of VIP {}", of.join(", ")) };
            return Some((
                Fault::VipInterface,
                format!(
                    "interface {} ({what}) is {state}: FAULT until it is back, so a backup takes every VIP",
                    t.name
                ),
            ));
        }
        if self.source.is_none() {
            let fam = if self.cfg.ipv6() { "IPv6" } else { "IPv4" };
            return Some((
                Fault::NoAddress,
                format!("interface {name} has no {fam} address to send adverts from: FAULT until it has one"),
            ));
        }
        None
    }

    /// The advert source: the configured one while the host has it, else the interface's
    /// first address of the family that is not a VIP (keepalived does the same when its
    /// source goes away).
    fn follow_source(&mut self, addrs: &[Addr]) {
        let ipv6 = self.cfg.ipv6();
        let is_vip = |a: IpAddr| self.vips.iter().any(|(v, _)| v.addr == a);
        let wanted = self.cfg.unicast_src_ip.filter(|ip| addrs.iter().any(|a| a.addr == *ip)).or_else(|| {
            let mut ours = addrs
                .iter()
                .filter(|a| a.ifindex == self.iface.index && a.addr.is_ipv6() == ipv6 && !is_vip(a.addr))
                .map(|a| a.addr);
            // IPv6 adverts come from the link-local address (RFC 5798 §5.1.2.1), as keepalived's.
            let link_local = |a: &IpAddr| matches!(a, IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80);
            if ipv6 {
                ours.clone().find(link_local).or_else(|| ours.next())
            } else {
                ours.next()
            }
        });
        if wanted != self.source {
            match (self.source, wanted) {
                (Some(old), Some(new)) => {
                    log::warn!(
                        "({}) advert source {old} is gone from {}; sending from {new}",
                        self.cfg.name,
                        self.iface.name
                    )
                }
                (None, Some(new)) => log::info!("({}) sending adverts from {new}", self.cfg.name),
                _ => {}
            }
            self.source = wanted;
            self.core.set_primary(wanted);
            // Peers may hold a stale ARP entry for it (a re-created interface, a moved address).
            self.announce_pending = true;
        }
    }

    /// Carry out what the core asks, in order.
    pub fn execute(&mut self, io: &mut Io) {
        while let Some(a) = self.core.poll_action() {
            let name = &self.cfg.name;
            match a {
                Action::SendAdvert { priority } => self.send_advert(priority, io),
                Action::AddVips => self.vips.add_all(io.nl),
                Action::RemoveVips => {
                    self.announcer.stop();
                    self.vips.remove_all(io.nl);
                }
                Action::Gratuitous => {
                    let all = self.announcer.start(self.cfg.virtual_ips.len(), Instant::now());
                    self.announce(all, io);
                }
                Action::Transition { from, to, reason } => {
                    log::info!("({name}) {from} -> {to}: {reason}");
                    *self.transitions.entry((from.name(), to.name())).or_default() += 1;
                    self.last_transition = Instant::now();
                    self.last_change = Some((format!("{from} -> {to}: {reason}"), status::now_unix()));
                    self.notifier.run(to.name(), self.core.priority());
                    if to == State::Fault && reason == crate::vrrp::Reason::NoSuccessor {
                        log::error!(
                            "({name}) no other node took over after our priority-0 adverts: the VIPs are on no node (every node failing? as keepalived, a node in FAULT never holds them)"
                        );
                    }
                    self.changed = true;
                    let own = reason != crate::vrrp::Reason::SyncGroup;
                    if own && (to == State::Master || (from == State::Master && to == State::Backup)) {
                        self.moved = Some(to);
                    }
                }
                Action::AddressListMismatch { from, vrid, theirs } => {
                    let ours: Vec<String> = self.advertised_addrs().iter().map(ToString::to_string).collect();
                    let theirs: Vec<String> = theirs.iter().map(ToString::to_string).collect();
                    log::warn!(
                        "({name}) {from} advertises virtual router {vrid} with VIPs [{}], ours are [{}]; give every node of virtual router {vrid} the same VIPs, or different sets different virtual router ids",
                        theirs.join(", "),
                        ours.join(", ")
                    )
                }
                Action::Decided(d) => log::debug!("({name}) {d}"),
                Action::ForcedElection { from, priority } => log::info!(
                    "({name}) {from} also claims master, with lower priority {priority}: forcing a new election and re-announcing our VIPs"
                ),
            }
        }
    }

    fn advertised_addrs(&self) -> Vec<IpAddr> {
        let fam = self.core.params().family;
        AddrList::new(fam, &self.advertised).map(|l| l.iter().collect()).unwrap_or_default()
    }

    fn send_advert(&mut self, priority: u8, io: &mut Io) {
        let p = self.core.params();
        let Some(addrs) = AddrList::new(p.family, &self.advertised) else { return };
        let repr =
            Repr { version: p.version, vrid: p.vrid, priority, interval_cs: p.advert_int_cs, auth: p.auth, addrs };
        // No source: we are in FAULT (or going there) and nothing can be sent.
        let Some(src) = self.source else { return };
        let group = if self.cfg.ipv6() { IpAddr::V6(wire::MULTICAST_V6) } else { IpAddr::V4(wire::MULTICAST_V4) };
        let dsts: Vec<IpAddr> = if self.cfg.multicast() { vec![group] } else { self.cfg.unicast_peers.clone() };
        let mut buf = [0u8; MTU];
        let mut failed = vec![];
        for dst in dsts {
            let pseudo = if self.cfg.v3_checksum_as_v2 { Pseudo::None } else { Pseudo::Ip { src, dst } };
            let n = repr.emit(&mut buf, pseudo);
            match io.sock.send(&buf[..n], Some(src), dst) {
                Ok(()) => {
                    self.sent += 1;
                    log::trace!("({}) advert sent to {dst}: priority {priority}, {n} bytes", self.cfg.name);
                }
                Err(e) => {
                    self.send_errors += 1;
                    failed.push((dst, e));
                }
            }
        }
        for (dst, e) in failed {
            if self.may_log("send", Instant::now()) {
                log::warn!(
                    "({}) sending advert to {dst}: {e} (counted as send_errors; at most one line per second)",
                    self.cfg.name
                );
            }
        }
    }

    /// Resuming with `found` in place: ask whether another host answers for them (see
    /// the loop's ARP watch).
    pub fn probe(&self, found: &[AddrChange], io: &Io) {
        let (Some(g), Some(mac)) = (io.arp, self.iface.mac) else { return };
        for a in found.iter().filter(|a| a.ifindex == self.iface.index) {
            let sent = match a.addr {
                IpAddr::V4(ip) => g.probe(a.ifindex, mac, ip),
                IpAddr::V6(ip) => g.dad_probe(a.ifindex, mac, ip),
            };
            if let Err(e) = sent {
                log::debug!("probe for {}: {e}", a.addr);
            }
        }
    }

    /// An ARP frame or neighbour advertisement while resuming: another host speaking for
    /// one of our VIPs holds it.
    pub fn heard(&mut self, ip: IpAddr, sender_mac: [u8; 6], now: Instant, io: &mut Io) {
        if !self.core.is_resuming() || Some(sender_mac) == self.iface.mac {
            return;
        }
        if self.cfg.virtual_ips.iter().any(|v| v.addr == ip) {
            let mac = sender_mac.map(|b| format!("{b:02x}")).join(":");
            let how = if ip.is_ipv4() { "ARP" } else { "neighbour discovery" };
            log::info!(
                "({}) {mac} answers {how} for {ip}: another node holds it, so the copy found at start is stale",
                self.cfg.name
            );
            self.core.handle(Event::HeldElsewhere(ip), now);
            self.execute(io);
        }
    }

    /// One gratuitous ARP for each VIP in `which` (indexes, as the announcer counts them).
    pub fn announce(&mut self, which: std::ops::Range<usize>, io: &Io) {
        let Some(g) = io.arp else { return };
        let router = self.cfg.ipv6() && crate::net::ndisc::forwarding(&self.iface.name);
        for (v, ifindex) in self.vips.iter().skip(which.start).take(which.len()) {
            // A VIP on another interface (`dev`) is announced with that interface's MAC: the
            // neighbours there must send to it, not to the advert interface's.
            let mac = if ifindex == self.iface.index {
                self.iface.mac
            } else {
                self.tracked.iter().find(|t| t.index == ifindex).and_then(|t| t.mac)
            };
            let Some(mac) = mac else { continue };
            let sent = match v.addr {
                IpAddr::V4(a) => g.gratuitous(ifindex, mac, a),
                IpAddr::V6(a) => g.unsolicited_na(ifindex, mac, a, router),
            };
            if let Err(e) = sent {
                log::debug!("announcing {}: {e}", v.addr);
            }
        }
    }

    /// A re-created interface has a new MAC, and peers still send our adverts' replies and
    /// their own adverts to the old one until their ARP entry expires (tens of seconds):
    /// long enough to time out and take a duplicate VIP. One gratuitous ARP for our source
    /// address updates their entries at once (what the kernel's `arp_notify=1` would do).
    fn announce_source(&mut self, io: &Io) {
        let (Some(g), Some(mac), Some(src)) = (io.arp, self.iface.mac, self.source) else {
            return;
        };
        let sent = match src {
            IpAddr::V4(a) => g.gratuitous(self.iface.index, mac, a),
            IpAddr::V6(a) => {
                g.unsolicited_na(self.iface.index, mac, a, crate::net::ndisc::forwarding(&self.iface.name))
            }
        };
        if let Err(e) = sent {
            log::debug!("announcing {src}: {e}");
        }
    }

    pub fn reap(&mut self) {
        self.notifier.reap();
        self.killed.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    }

    /// Our child processes still running (notify and check scripts).
    pub fn children(&self) -> Vec<u32> {
        let probes = self.probes.iter().flatten().filter_map(Running::pid);
        self.notifier.pids().chain(probes).chain(self.killed.iter().map(std::process::Child::id)).collect()
    }

    pub fn stats_json(&self) -> serde_json::Value {
        let c = self.core.counters();
        serde_json::json!({
            "adverts_received": c.received,
            "adverts_sent": self.sent,
            "send_errors": self.send_errors,
            "transitions": c.transitions,
            "dropped": c.dropped,
        })
    }

    pub fn status_json(&self, pid: u32, uptime: Duration) -> serde_json::Value {
        let fault = match (&self.own_fault, self.group_fault) {
            (Some(f), _) => Some(f.1.clone()),
            (None, true) => {
                Some(format!("a member of sync group {} is in FAULT", self.cfg.sync_group.as_deref().unwrap_or("?")))
            }
            (None, false) => None,
        };
        let mut v = serde_json::json!({
            "name": self.cfg.name,
            "pid": pid,
            "state": self.core.state().name(),
            "interface": self.cfg.interface,
            "interface_present": self.iface_present,
            "fault": fault,
            "priority": self.core.priority(),
            "base_priority": self.cfg.priority,
            "checks": self.health.status_json(),
            "source": self.source.map(|s| s.to_string()),
            "master": self.core.last_master().map(|m| m.to_string()),
            "peers": self.cfg.unicast_peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "virtual_ips": self.cfg.virtual_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "uptime_s": uptime.as_secs(),
            "last_transition": self.last_change.as_ref().map(|c| c.0.clone()),
            "last_transition_unix": self.last_change.as_ref().map(|c| c.1),
            "updated_unix": status::now_unix(),
        });
        if let (Some(o), serde_json::Value::Object(s)) = (v.as_object_mut(), self.stats_json()) {
            o.extend(s);
        }
        v
    }

    /// Gathered for `GET /metrics`; `dropped` is the caller's buffer for the sorted drops.
    pub fn snapshot<'a>(&'a self, dropped: &'a BTreeMap<&'static str, u64>) -> metrics::Snapshot<'a> {
        let c = self.core.counters();
        metrics::Snapshot {
            instance: &self.cfg.name,
            state: self.core.state(),
            priority: self.core.priority(),
            master: if self.core.state() == State::Master { self.source } else { self.core.last_master() },
            transitions: &self.transitions,
            adverts_sent: self.sent,
            adverts_received: c.received,
            send_errors: self.send_errors,
            dropped,
            vips_held: if self.vips.held() { self.cfg.virtual_ips.len() } else { 0 },
            since_transition: self.last_transition.elapsed(),
            checks: self.health.checks(),
        }
    }

    pub fn dropped(&self) -> BTreeMap<&'static str, u64> {
        self.core.counters().dropped.iter().map(|(k, v)| (*k, *v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{from_env, HostIface};

    #[test]
    fn vips_beyond_255_are_managed_but_not_advertised() {
        let host = HostView {
            interfaces: vec![HostIface {
                index: 2,
                name: "eth0".into(),
                addrs: vec!["198.18.0.1/24".parse().unwrap()],
            }],
            default_route_ifindex: None,
        };
        let vips: Vec<String> = (0..300).map(|i| format!("'198.19.{}.{}'", i / 250, i % 250 + 1)).collect();
        let env = [("KEEPALIVED_VIRTUAL_IPS".to_string(), format!("#PYTHON2BASH:[{}]", vips.join(", ")))].into();
        let mut cfg = from_env(&env, &host).unwrap().config;
        assert_eq!(cfg.virtual_ips.len(), 300);
        let p = params(&cfg, &host);
        assert_eq!(p.advertised.len(), 255 * 4);
        assert_eq!(p.own, vec!["198.18.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(p.auth, Auth::pass("d0cker"));
        // Excluded VIPs are not advertised either.
        cfg.virtual_ips.truncate(3);
        cfg.virtual_ips[1].excluded = true;
        assert_eq!(params(&cfg, &host).advertised.len(), 2 * 4);
    }
}
