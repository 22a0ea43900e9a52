//! One VRRP instance's IO driver: its state machine (private) and the owned parts that do
//! its IO — links, checks, VIPs, announcements, notify scripts, stats. The loop hands it
//! events and lends it the shared parts through [`Io`]; nothing outside reaches its core.

use std::time::Instant;

use anyhow::{Context, Result};

use super::advert::params;
use super::announce::Announcer;
use super::checks::Checks;
use super::conflicts::ConflictWatch;
use super::firewall::Firewall;
use super::handover::{HandOver, ReadyWait};
use super::links::{Iface, LinkWatch};
use super::routes::RouteSet;
use super::shared::Io;
use super::stats::Stats;
use super::vips::{remove_stale, VipSet};
use crate::config::{Config, Garp, HostView, Origin};
use crate::net::netlink::{Addr, AddrChange, Link, Netlink};
use crate::notify::Notifier;
use crate::notify::MASTER_RX_LOWER_PRI;
use crate::vrrp::timers::earliest;
use crate::vrrp::{Action, Event, Fault, Instance, Received, Rejected, State};

pub(super) struct Driver {
    pub cfg: Config,
    core: Instance,
    /// Index of the shared socket of our interface in the loop's list.
    pub sock: usize,
    pub(super) links: LinkWatch,
    pub(super) checks: Checks,
    pub(super) vips: VipSet,
    pub(super) routes: RouteSet,
    pub(super) stats: Stats,
    /// Gratuitous ARP repeats, paced.
    pub(super) announcer: Announcer,
    /// Other hosts answering for our VIPs while we are master.
    pub(super) conflicts: ConflictWatch,
    /// Conflicts to report once the peers' MACs are known: (VIP index, MAC, when).
    pub(super) pending_reports: Vec<(usize, [u8; 6], Instant)>,
    /// Master addresses the core asked to probe (early failover); the loop sends them.
    pub(super) master_probes: Vec<std::net::IpAddr>,
    /// The master we stepped down for, until when its MAC is awaited (`neighbours.rs`).
    pub(super) successor: Option<(std::net::IpAddr, Instant)>,
    /// A planned handover's VIPs, kept until the successor announced them (`handover.rs`).
    pub(super) handover: Option<HandOver>,
    /// A takeover's announcement waiting until the kernel delivers the VIPs (`handover.rs`).
    pub(super) ready_wait: Option<ReadyWait>,
    pub(super) notifier: Notifier,
    /// Our own fault (not a group member's) and its log line, so each cause is logged once.
    own_fault: Option<(Fault, String)>,
    /// A sync group member's fault, which we follow.
    group_fault: bool,
    /// `start` waits for every weight-0 check's first result (keepalived holds the
    /// instance in FAULT meanwhile): a node never takes a VIP before its service was seen.
    deferred: bool,
    /// Our VIPs found on the host at start, where we would add them: resume or remove.
    found_in_place: Vec<AddrChange>,
    /// Something `--status` shows changed since the loop last asked (state file).
    pub(super) changed: bool,
    /// A transition happened since the loop last asked.
    pub(super) transitioned: bool,
    /// This instance's own move to MASTER, or from MASTER to BACKUP, for its sync group
    /// to follow (moves made by following the group are not passed on).
    pub(super) moved: Option<State>,
}

impl Driver {
    /// `link`: our interface as the host has it now; `sock`: its shared socket's index;
    /// `present`: every address on the host, for the stale VIPs of this instance.
    pub fn new(
        cfg: Config,
        host: &HostView,
        link: &Link,
        sock: usize,
        present: &[Addr],
        nl: &mut Netlink,
    ) -> Result<Self> {
        let name =
            |ix: u32| host.interfaces.iter().find(|i| i.index == ix).map_or(format!("#{ix}"), |i| i.name.clone());
        let mut others: Vec<Iface> = vec![];
        let mut vip_ifindex = vec![];
        for v in &cfg.virtual_ips {
            let ix = match &v.dev {
                None => link.index,
                Some(d) => {
                    // Missing (a reload names it before it exists): index 0 until it appears,
                    // the instance in FAULT meanwhile (`links.rs`).
                    let ix = host.iface(d).map_or(0, |i| i.index);
                    if *d != cfg.interface && !others.iter().any(|t| t.name == *d) {
                        others.push(Iface { name: d.clone(), index: ix, mac: None });
                    }
                    ix
                }
            };
            vip_ifindex.push(ix);
        }
        for t in &cfg.track_interfaces {
            if *t != cfg.interface && !others.iter().any(|x| x.name == *t) {
                others.push(Iface { name: t.clone(), index: host.iface(t).map_or(0, |i| i.index), mac: None });
            }
        }
        let vips = VipSet::new(cfg.virtual_ips.clone(), vip_ifindex, &cfg.interface);
        // Stale VIPs exactly where we would add them may be ours from a moment ago: `start`
        // decides. Anything else goes now.
        let found = super::vips::stale(present, &cfg.virtual_ips, cfg.advert_source, name);
        let (found_in_place, elsewhere): (Vec<_>, Vec<_>) = found.into_iter().partition(|a| vips.in_place(a));
        remove_stale(nl, &elsewhere).context("removing stale VIPs")?;
        let now = Instant::now();
        let main = Iface { name: cfg.interface.clone(), index: link.index, mac: link.mac };
        let notify_var = if cfg.origin == Origin::Environment { "KEEPALIVED_NOTIFY" } else { "notify" };
        Ok(Driver {
            core: Instance::new(params(&cfg, host)),
            sock,
            links: LinkWatch::new(main, others, cfg.advert_source, cfg.listed_sources.clone(), cfg.ipv6())
                .ignoring_main_down(cfg.dont_track_primary)
                .source_written(cfg.advert_source_set, cfg.track_src_ip),
            checks: Checks::new(&cfg.checks, now),
            vips,
            routes: RouteSet::new(cfg.virtual_routes.clone(), cfg.virtual_rules.clone()),
            stats: Stats::new(now),
            announcer: Announcer::new(Garp { extra_if: cfg.garp_extra_if(), ..cfg.garp }),
            conflicts: ConflictWatch::new(cfg.virtual_ips.iter().map(|v| v.addr).collect()),
            pending_reports: vec![],
            master_probes: vec![],
            successor: None,
            handover: None,
            ready_wait: None,
            notifier: Notifier::new(&cfg.name, notify_var, cfg.notify.clone(), cfg.notify_state.clone()),
            own_fault: None,
            group_fault: false,
            deferred: false,
            found_in_place,
            changed: false,
            transitioned: false,
            moved: None,
            cfg,
        })
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn state(&self) -> State {
        self.core.state()
    }

    /// Stopped, and the VIPs of a handover gone.
    pub fn is_stopped(&self) -> bool {
        self.core.is_stopped() && self.handover.is_none()
    }

    pub fn is_resuming(&self) -> bool {
        self.core.is_resuming()
    }

    /// The address whose ARP / neighbour answers are wanted now: a late master's (early
    /// failover) or the successor's we stepped down for.
    pub fn listening(&self, now: Instant) -> Option<std::net::IpAddr> {
        self.core.listening(now).or(self.successor.filter(|s| now < s.1).map(|s| s.0))
    }

    pub fn is_deferred(&self) -> bool {
        self.deferred
    }

    pub fn core(&self) -> &Instance {
        &self.core
    }

    /// A reload changed what we advertise (see `reload.rs`).
    pub(super) fn set_advertised(&mut self, advertised: Vec<u8>, garp: &crate::config::Garp) {
        self.core.set_advertised(advertised);
        self.core.set_garp_delay(garp.delay, garp.lower_prio());
    }

    /// Something `--status` shows changed since the last call.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// A transition happened since the last call.
    pub fn take_transitioned(&mut self) -> bool {
        std::mem::take(&mut self.transitioned)
    }

    /// This instance's own move, for its sync group to follow.
    pub fn take_moved(&mut self) -> Option<State> {
        self.moved.take()
    }

    /// The earliest time the loop must wake for this instance: its protocol timer, the
    /// paced announcements or its checks.
    pub fn next_deadline(&self) -> Option<Instant> {
        earliest(&[
            self.core.next_deadline(),
            self.announcer.next_deadline(),
            self.checks.next_deadline(),
            self.conflicts.next_deadline(),
            self.pending_reports.iter().map(|p| p.2).min(),
            self.handover.as_ref().map(HandOver::deadline),
            self.ready_wait.as_ref().map(ReadyWait::deadline),
        ])
    }

    /// Hand the core an event and carry out what it asks.
    pub fn handle(&mut self, ev: Event, now: Instant, io: &mut Io) {
        self.core.handle(ev, now);
        self.execute(io);
    }

    /// Start the state machine (after a first `sync` told it about faults): resume with
    /// VIPs found in place, else start afresh. Returns the VIPs to probe for when resuming.
    pub fn start(&mut self, now: Instant, io: &mut Io) -> Result<Vec<AddrChange>> {
        if self.core.state() == State::Init && self.checks.undecided() {
            if !self.deferred {
                log::info!("({}) waiting for the first result of its checks before starting", self.cfg.name);
            }
            self.deferred = true;
            return Ok(vec![]);
        }
        self.deferred = false;
        let found = std::mem::take(&mut self.found_in_place);
        // With a startup delay nothing is resumed: VIPs held silently through the delay
        // could be a second holder's.
        if !found.is_empty() && self.core.state() == State::Init && self.cfg.startup_delay.is_zero() {
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
            self.routes.mark_held();
            self.drop_unaccepted(io);
            self.handle(Event::Resume, now, io);
            return Ok(found);
        }
        self.routes.remove_stale(io.nl);
        remove_stale(io.nl, &found).context("removing stale VIPs")?;
        self.handle(Event::Start, now, io);
        Ok(vec![])
    }

    /// Whether we may hold VIPs on the host.
    pub fn holds_vips(&self) -> bool {
        self.vips.held()
    }

    pub fn release(&mut self, nl: &mut Netlink, firewall: &mut Firewall) {
        self.routes.remove_all(nl);
        if self.vips.held() {
            self.vips.remove_all(nl);
        }
        firewall.hold(&self.cfg.name, vec![]);
        // Found at start while waiting for the checks, never taken over: stale now.
        let found = std::mem::take(&mut self.found_in_place);
        if let Err(e) = remove_stale(nl, &found) {
            log::warn!("({}) removing the VIPs found at start: {e:#}", self.cfg.name);
        }
    }

    /// One datagram from our interface's socket for our VRID (or for nobody's: counted).
    /// A datagram for this instance; true when it moved more than counters and the core's
    /// timer (an action, or something `--status` shows): the loop then looks at everything.
    pub fn receive(&mut self, rx: Received, now: Instant, io: &mut Io) -> bool {
        let (master, drop_kinds) = (self.core.last_master(), self.core.counters().dropped.len());
        let acted = self.receive_counted(rx, now, io);
        // What `--status` shows beyond counters: written now, not at the next refresh.
        let c = &self.core;
        if c.last_master() != master || c.counters().dropped.len() != drop_kinds {
            self.changed = true;
        }
        acted || self.changed
    }

    fn receive_counted(&mut self, rx: Received, now: Instant, io: &mut Io) -> bool {
        log::trace!(
            "({}) VRRP datagram from {} to {}: TTL {}, {} bytes",
            self.cfg.name,
            rx.src,
            rx.dst,
            rx.ttl,
            rx.payload.len()
        );
        if let Err(d) = self.core.receive(rx, now) {
            if d == Rejected::NotPeer && self.stats.first_stranger(rx.src) {
                // Only masters advertise: a stranger on our VRID holds the VIP too.
                let (list, fix) = match self.cfg.origin {
                    Origin::Environment => ("KEEPALIVED_UNICAST_PEERS", "add it to the list on every node"),
                    Origin::ConfFile => ("its unicast_peer list", "add it to unicast_peer on every node"),
                };
                log::warn!(
                    "({}) {} claims virtual router {} but is not in {list}: its adverts are dropped (counted as not_peer), so it may hold the VIP beside this cluster's master; {fix}",
                    self.cfg.name,
                    rx.src,
                    self.cfg.router_id
                );
            } else if !d.silent() && self.stats.may_log(d.kind(), now) {
                log::warn!(
                    "({}) dropped VRRP packet from {}: {d} (counted; at most one line per reason per second)",
                    self.cfg.name,
                    rx.src
                );
            }
        }
        self.execute(io)
    }

    /// A datagram the socket could not parse as IP, counted here.
    pub fn reject(&mut self, d: Rejected, now: Instant) -> bool {
        self.core.count_rejected(d);
        self.stats.may_log(d.kind(), now)
    }

    /// Our own fault (not a group member's).
    pub fn own_fault(&self) -> bool {
        self.own_fault.is_some()
    }

    pub(super) fn own_fault_line(&self) -> Option<&str> {
        self.own_fault.as_ref().map(|f| f.1.as_str())
    }

    pub(super) fn in_group_fault(&self) -> bool {
        self.group_fault
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
        let ev = match (&self.own_fault, self.group_fault) {
            (Some((cause, _)), _) => Event::Fault(*cause),
            (None, true) => Event::Fault(Fault::SyncGroup),
            (None, false) => Event::Recovered,
        };
        self.handle(ev, now, io);
    }

    /// Link or address changed: follow the links and the advert source, tell the core about
    /// faults (every tracked interface up and an address to send from, or FAULT), and put
    /// back VIPs someone removed while we are master. The loop has re-opened our socket if
    /// our interface was re-created.
    pub fn sync(&mut self, links: &[Link], addrs: &[Addr], now: Instant, io: &mut Io) {
        let present = self.links.present;
        let moved = self.links.sync(&self.cfg.name, links, addrs, &mut self.vips);
        if let Some(source) = moved.new_source {
            self.core.set_advert_source(source);
            self.changed = true;
        }
        self.changed |= present != self.links.present;
        let changes = self.checks.set_links(|n| links.iter().any(|l| l.name == n && l.running));
        self.checks.log(&self.cfg.name, &changes);
        self.refresh_fault(now, io);
        self.refresh_priority(now, io);
        // Announce our source once the link can carry it (an address is often added before
        // the link is up).
        if self.own_fault.is_none() && std::mem::take(&mut self.links.announce_pending) {
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
                // A route with a VIP as its source left with the VIP.
                self.routes.add_all(io.nl);
            }
        }
    }

    /// Our fault is the links' first, else a failing weight-0 check's. Logged when its
    /// cause changes; the core is told.
    fn refresh_fault(&mut self, now: Instant, io: &mut Io) {
        let fault = self.links.fault.clone().or_else(|| self.checks.fault());
        if fault.as_ref().map(|f| &f.1) != self.own_fault.as_ref().map(|f| &f.1) {
            self.changed = true;
            match &fault {
                Some((_, line)) => log::warn!("({}) {line}", self.cfg.name),
                None if self.own_fault.is_some() => {
                    log::info!("({}) {} is usable and every check passes again", self.cfg.name, self.links.main.name)
                }
                None => {}
            }
        }
        self.own_fault = fault;
        self.apply_fault(now, io);
    }

    /// Weighted checks move the priority the core runs with.
    pub(super) fn refresh_priority(&mut self, now: Instant, io: &mut Io) {
        let p = self.checks.tracker.priority(self.cfg.priority);
        if p != self.core.priority() {
            // At the configured priority the checks moved nothing: it is back, or a reload or
            // a swarm label set it.
            let why = if p == self.cfg.priority {
                "the configured priority".to_string()
            } else {
                format!("configured {}, moved by weighted checks", self.cfg.priority)
            };
            log::info!("({}) priority {} -> {p} ({why})", self.cfg.name, self.core.priority());
            self.handle(Event::Priority(p), now, io);
            self.changed = true;
        }
    }

    /// One turn of the loop: the protocol timer if due, the checks, paced announcements.
    pub fn tick(&mut self, now: Instant, io: &mut Io) {
        let changes = self.checks.step(now);
        if !changes.is_empty() {
            self.checks.log(&self.cfg.name, &changes);
            self.changed = true;
            self.refresh_fault(now, io);
            self.refresh_priority(now, io);
        }
        if self.core.next_deadline().is_some_and(|d| d <= now) {
            self.handle(Event::Timeout, now, io);
        }
        self.handover_due(now, io);
        self.ready_due(now, io);
        if let Some(due) = self.announcer.due(now) {
            self.announce(due, io);
        }
        if self.announcer.extra_due(now) {
            self.announce_extra_interfaces(io);
        }
        let outs = self.conflicts.due(now);
        self.on_conflicts(outs, io);
        self.report_pending(now);
    }

    /// The VIPs are leaving: no more announcements, probes or conflicts for them.
    pub(super) fn stop_speaking(&mut self) {
        self.announcer.stop();
        self.ready_wait = None;
        self.conflicts.stop();
        self.changed = true;
    }

    /// Routes, VIPs and the `no_accept` hold off the host.
    pub(super) fn remove_vips(&mut self, io: &mut Io) {
        self.routes.remove_all(io.nl);
        self.vips.remove_all(io.nl);
        io.firewall.hold(&self.cfg.name, vec![]);
    }

    /// `no_accept`: traffic to our VIPs is dropped from before they are added.
    pub(super) fn drop_unaccepted(&mut self, io: &mut Io) {
        if !self.cfg.accept {
            io.firewall.hold(&self.cfg.name, self.cfg.virtual_ips.iter().map(|v| v.addr).collect());
        }
    }

    /// Carry out what the core asks, in order; whether it asked anything.
    fn execute(&mut self, io: &mut Io) -> bool {
        let mut acted = false;
        while let Some(a) = self.core.poll_action() {
            match a {
                // A decision only explains itself to the debug log (a backup's every
                // advert): handled here, with the few stack lines an idle wake touches.
                Action::Decided(d) if !matches!(d, crate::vrrp::Decision::StaleVipsDropped { .. }) => {
                    log::debug!("({}) {d}", self.cfg.name)
                }
                a => {
                    acted = true;
                    self.act(a, io);
                }
            }
        }
        acted
    }

    /// An action that does something: in a frame of its own (the arms' locals together
    /// take 2.5 KiB of stack), which an idle backup's wake does not enter.
    #[inline(never)]
    fn act(&mut self, a: Action, io: &mut Io) {
        match a {
            Action::SendAdvert { priority } => self.send_advert(priority, io),
            Action::AddVips => {
                self.handover = None;
                self.drop_unaccepted(io);
                self.vips.add_all(io.nl);
                self.routes.add_all(io.nl);
                self.conflicts.start(Instant::now());
            }
            Action::RemoveVips => {
                self.stop_speaking();
                self.handover = None;
                self.remove_vips(io);
            }
            Action::HandOverVips { to } => self.hand_over(to, io),
            Action::Gratuitous => self.announce_takeover(io),
            Action::GratuitousLowerPrio => {
                let rounds = self.cfg.garp.lower_prio_rounds();
                let all = self.announcer.start_rounds(self.cfg.virtual_ips.len(), rounds, Instant::now());
                self.announce(all, io);
            }
            Action::Transition { from, to, reason } => self.transition(from, to, reason),
            Action::AddressListMismatch { from, vrid, theirs } => {
                let ours: Vec<String> = self.advertised_addrs().iter().map(ToString::to_string).collect();
                let list: Vec<String> = theirs.iter().map(ToString::to_string).collect();
                let fix = match self.cfg.origin {
                    Origin::Environment => "KEEPALIVED_ROUTER_ID",
                    Origin::ConfFile => "virtual_router_id",
                };
                log::warn!(
                    "({}) {from} advertises virtual router {vrid} with VIPs [{}], ours are [{}]: another cluster uses our virtual router id (its adverts are dropped, counted as address_list); give one of the clusters another {fix}, or this node the same VIPs if it belongs to that cluster",
                    self.cfg.name,
                    list.join(", "),
                    ours.join(", ")
                );
                self.stats.collisions.push((from, theirs));
                self.changed = true;
            }
            Action::Decided(d) => {
                log::debug!("({}) {d}", self.cfg.name);
                if let crate::vrrp::Decision::StaleVipsDropped { from } = d {
                    // Clients may have followed our announcements before the crash.
                    self.await_successor(from);
                }
            }
            Action::ProbeMaster { addr } => self.master_probes.push(addr),
            Action::EarlyTakeoverRefuted { from } => {
                log::warn!(
                    "({}) {from} still advertises after our early takeover (its host answered none of our probes: frames lost?); the election settles it as any split brain (counted as early_refuted; KEEPVIP_EARLY_FAILOVER=false turns early failover off)",
                    self.cfg.name
                );
                self.changed = true;
            }
            Action::ForcedElection { from, priority } => {
                log::info!(
                    "({}) {from} also claims master, with lower priority {priority}: forcing a new election and re-announcing our VIPs",
                    self.cfg.name
                );
                // keepalived's notify_master_rx_lower_pri (the cloud set-up restoring
                // an elastic IP the other claimed); never the generic notify.
                self.notifier.run_own(MASTER_RX_LOWER_PRI);
            }
        }
    }

    /// Notify scripts and killed check scripts that are gone are forgotten (on SIGCHLD).
    pub fn reap(&mut self) {
        self.notifier.reap();
        self.checks.reap();
    }

    /// Our child processes still running (notify and check scripts).
    pub fn children(&self) -> Vec<u32> {
        self.notifier.pids().chain(self.checks.children()).collect()
    }
}
