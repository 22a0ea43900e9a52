//! The blocking loop: one thread polls the VRRP socket, rtnetlink events and a signal
//! pipe, with the core's next deadline as timeout, and carries out the core's actions.

mod announce;
mod signals;
mod vips;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::config::{Config, HostView, InitialState, Version};
use crate::metrics;
use crate::net::arp;
use crate::net::http;
use crate::net::netlink::{Addr, AddrChange, Events, Link, Netlink};
use crate::net::socket::{self, Recv, VrrpSocket};
use crate::notify::Notifier;
use crate::status;
use crate::vrrp::{Action, Drop, Event, Fault, Instance, Params, Received, State};
use crate::wire::vrrp::{self as wire, AddrList, Auth, Family, Pseudo, Repr};

use announce::Announcer;
use signals::{Meaning, Signals};
use vips::VipSet;
pub use vips::{remove_stale, stale};

const MTU: usize = 1500;
/// Retrying after an error in the loop: from this, doubling, up to `RETRY_MAX`.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The instance's core parameters from the configuration and this host's addresses.
pub fn params(cfg: &Config, host: &HostView) -> Params {
    let family = if cfg.ipv6() { Family::V6 } else { Family::V4 };
    let version = if cfg.version == Version::V2 { 2 } else { 3 };
    // Beyond 255 (or the MTU) VIPs are managed but not advertised, like keepalived's eVIPs.
    let advertised = wire::encode_addrs(
        cfg.virtual_ips
            .iter()
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
struct Tracked {
    name: String,
    index: u32,
}

pub struct Runtime {
    cfg: Config,
    core: Instance,
    nl: Netlink,
    events: Events,
    sock: VrrpSocket,
    /// Gratuitous ARPs and probes out.
    arp: Option<arp::Sender>,
    /// ARP frames in, only while resuming: who else answers for our VIPs.
    arp_watch: Option<arp::Watch>,
    /// The advert interface and its MAC.
    iface: Tracked,
    mac: Option<[u8; 6]>,
    /// Interfaces of VIPs with their own `dev`: down or gone is a FAULT, like the main one.
    vip_ifaces: Vec<Tracked>,
    vips: VipSet,
    /// Where adverts come from now: the configured source while the host has it, else the
    /// interface's first address of the family (not a VIP). `None` is a FAULT.
    source: Option<IpAddr>,
    /// The current fault and its log line, so each cause is logged once.
    fault: Option<(Fault, String)>,
    /// Our source address or MAC changed: one gratuitous ARP for it when the link is usable.
    announce_pending: bool,
    advertised: Vec<u8>,
    notifier: Notifier,
    last_log: HashMap<&'static str, Instant>,
    next_status: Instant,
    state_file: status::Writer,
    state_file_failing: bool,
    started: Instant,
    /// Adverts that left (datagrams accepted by the kernel), and the ones that failed.
    sent: u64,
    send_errors: u64,
    /// After an error syncing with the kernel: when to try again, and the next backoff.
    resync_at: Option<Instant>,
    backoff: Duration,
    /// `GET /metrics`, when configured.
    metrics: Option<http::Server>,
    pid: u32,
    /// Gratuitous ARP repeats, paced.
    announcer: Announcer,
    /// Whether the advert interface exists (from the last look at the links).
    iface_present: bool,
    transitions: BTreeMap<(&'static str, &'static str), u64>,
    last_transition: Instant,
    /// The last transition's log line and wall-clock time, for `--status`.
    last_change: Option<(String, f64)>,
    /// Our VIPs found on the host at start, where we would add them: resume or remove.
    found_in_place: Vec<AddrChange>,
}

impl Runtime {
    pub fn new(cfg: Config, host: &HostView, mut nl: Netlink) -> Result<Self> {
        socket::check_family(cfg.ipv6())?;
        let name =
            |ix: u32| host.interfaces.iter().find(|i| i.index == ix).map_or(format!("#{ix}"), |i| i.name.clone());
        if let Some(w) = crate::net::ipvs::ensure_loaded() {
            log::warn!("{w}");
        }
        let events = Events::open()?;
        let link = nl.link(&cfg.interface)?.with_context(|| format!("interface {} disappeared", cfg.interface))?;
        let sock = VrrpSocket::open(&cfg.interface, link.index, cfg.multicast())?;
        let arp = arp::Sender::open().map_err(|e| log::warn!("no gratuitous ARP (packet socket: {e})")).ok();
        let mut vip_ifaces: Vec<Tracked> = vec![];
        let mut vip_ifindex = vec![];
        for v in &cfg.virtual_ips {
            let ix = match &v.dev {
                None => link.index,
                Some(d) => {
                    let ix = host.iface(d).map(|i| i.index).with_context(|| format!("interface {d} disappeared"))?;
                    if *d != cfg.interface && !vip_ifaces.iter().any(|t| t.name == *d) {
                        vip_ifaces.push(Tracked { name: d.clone(), index: ix });
                    }
                    ix
                }
            };
            vip_ifindex.push(ix);
        }
        let vips = VipSet::new(cfg.virtual_ips.clone(), vip_ifindex, &cfg.interface);
        // Stale VIPs exactly where we would add them may be ours from a moment ago: `start`
        // decides. Anything else goes now.
        let found = stale(&nl.addrs().context("reading addresses")?, &cfg.virtual_ips, cfg.unicast_src_ip, name);
        let (found_in_place, elsewhere): (Vec<_>, Vec<_>) = found.into_iter().partition(|a| vips.in_place(a));
        remove_stale(&mut nl, &elsewhere).context("removing stale VIPs")?;
        let metrics = match cfg.metrics_addr {
            None => None,
            Some(addr) => Some(listen(addr).with_context(|| format!("KEEPVIP_METRICS_ADDR={addr}: cannot listen"))?),
        };
        let p = params(&cfg, host);
        let advertised = p.advertised.clone();
        let now = Instant::now();
        Ok(Runtime {
            core: Instance::new(p),
            nl,
            events,
            sock,
            arp,
            arp_watch: None,
            iface: Tracked { name: cfg.interface.clone(), index: link.index },
            mac: link.mac,
            vip_ifaces,
            vips,
            found_in_place,
            source: cfg.unicast_src_ip,
            fault: None,
            announce_pending: false,
            advertised,
            notifier: Notifier::new(&cfg.name, cfg.notify.clone(), cfg.notify_state.clone()),
            last_log: HashMap::new(),
            next_status: now,
            state_file: status::Writer::new(&cfg.state_file),
            state_file_failing: false,
            started: now,
            sent: 0,
            send_errors: 0,
            resync_at: None,
            backoff: RETRY_MIN,
            metrics,
            pid: std::process::id(),
            announcer: Announcer::default(),
            iface_present: true,
            transitions: BTreeMap::new(),
            last_transition: now,
            last_change: None,
            cfg,
        })
    }

    /// Bring the instance up: look at the interfaces (a fault at start is a FAULT, not a
    /// takeover), then start the state machine. Errors here are fatal; VIPs are removed on
    /// every way out (see `Drop`).
    pub fn start(&mut self) -> Result<()> {
        let now = Instant::now();
        self.sync_link(now)?;
        let found = std::mem::take(&mut self.found_in_place);
        if !found.is_empty() && self.core.state() == State::Init {
            // A crash and a quick restart (Docker's restart policy): if no master is heard
            // the VIPs never left, so the restart costs no failover and no lost packet.
            for a in &found {
                log::info!("VIP {}/{} is still on {}: kept while listening for a master", a.addr, a.prefix, a.ifname);
            }
            self.vips.mark_held();
            self.core.handle(Event::Resume, now);
            self.probe_found(&found);
        } else {
            remove_stale(&mut self.nl, &found).context("removing stale VIPs")?;
            self.core.handle(Event::Start, now);
        }
        self.execute();
        Ok(())
    }

    /// Run until shut down. VIPs are removed on every way out of this function.
    pub fn run(mut self) -> Result<()> {
        let mut signals = Signals::install()?;
        self.start()?;
        let result = self.serve(&mut signals);
        self.release();
        self.write_status();
        result
    }

    /// Whether we may hold VIPs on the host.
    pub fn holds_vips(&self) -> bool {
        self.vips.held()
    }

    fn release(&mut self) {
        if self.vips.held() {
            self.vips.remove_all(&mut self.nl);
        }
    }

    fn serve(&mut self, signals: &mut Signals) -> Result<()> {
        // An advert is at most one MTU; bigger datagrams are truncated and then fail to parse.
        let mut buf = [0u8; 4096];
        let mut terms = 0;
        while !self.core.is_stopped() {
            // The state file rides on the wake-ups the protocol needs anyway (`--health` allows
            // three refresh periods); it only gets a wake-up of its own when none is due soon.
            let deadline = match self.core.next_deadline() {
                Some(d) if d <= self.next_status + status::REFRESH => d,
                Some(d) => d.min(self.next_status),
                None => self.next_status,
            };
            let others = [
                self.resync_at,
                self.metrics.as_ref().and_then(http::Server::next_deadline),
                self.announcer.next_deadline(),
            ];
            let deadline = others.into_iter().flatten().fold(deadline, Instant::min);
            let wait = deadline.saturating_duration_since(Instant::now());
            // Round up so we never wake a hair early and spin.
            let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            let (sock_ready, nl_ready, sig_ready, arp_ready) = {
                let mut fds = vec![
                    PollFd::new(self.sock.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.events.as_fd_borrowed(), PollFlags::POLLIN),
                    PollFd::new(signals.pipe.as_fd(), PollFlags::POLLIN),
                ];
                if let Some(w) = &self.arp_watch {
                    fds.push(PollFd::new(w.as_fd(), PollFlags::POLLIN));
                }
                // The metrics listener and its connections only wake the loop; `service` below
                // does what can be done without blocking.
                for (fd, write) in self.metrics.iter().flat_map(http::Server::fds) {
                    fds.push(PollFd::new(fd, if write { PollFlags::POLLOUT } else { PollFlags::POLLIN }));
                }
                match poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e).context("poll"),
                }
                let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                (ready(&fds[0]), ready(&fds[1]), ready(&fds[2]), self.arp_watch.is_some() && ready(&fds[3]))
            };
            let now = Instant::now();
            if sig_ready {
                for sig in signals.take() {
                    let name = signals::name(sig);
                    match signals::meaning(sig) {
                        Meaning::Shutdown => {
                            terms += 1;
                            if terms == 1 {
                                log::info!("{name}: shutdown requested: handing over");
                                self.core.handle(Event::Shutdown, now);
                            } else {
                                log::info!("{name}: second shutdown signal: removing VIPs and exiting now");
                                return Ok(());
                            }
                        }
                        Meaning::Reload => log::warn!(
                            "{name}: keepalived would reload its configuration; keepvip reads it once at start, so recreate the container to change it. Carrying on"
                        ),
                        Meaning::Status => self.log_status(),
                        Meaning::Stats => log::info!("{name}: statistics: {}", self.stats_json()),
                        Meaning::Child => self.notifier.reap(),
                        Meaning::Ignore => {}
                        Meaning::Unexpected => log::warn!("{name}: ignored (stop keepvip with SIGTERM)"),
                    }
                }
            }
            if sock_ready {
                self.receive_all(&mut buf, now);
            }
            if arp_ready || (self.arp_watch.is_some() && !self.core.is_resuming()) {
                self.receive_arp(now);
            }
            let changed = nl_ready && self.events.drain();
            if changed || self.resync_at.is_some_and(|t| t <= now) {
                self.resync(now);
            }
            if self.core.next_deadline().is_some_and(|d| d <= now) {
                self.core.handle(Event::Timeout, now);
            }
            self.execute();
            if let Some(due) = self.announcer.due(now) {
                self.announce(due);
            }
            if let Some(mut server) = self.metrics.take() {
                let scrapes = server.served;
                server.service(now, || self.metrics_text(scrapes));
                self.metrics = Some(server);
            }
            if now >= self.next_status {
                self.write_status();
            }
        }
        Ok(())
    }

    fn metrics_text(&self, scrapes: u64) -> String {
        let c = self.core.counters();
        let dropped: BTreeMap<&'static str, u64> = c.dropped.iter().map(|(k, v)| (*k, *v)).collect();
        metrics::render(&metrics::Snapshot {
            instance: "VI_1",
            state: self.core.state(),
            priority: self.cfg.priority,
            master: if self.core.state() == State::Master { self.source } else { self.core.last_master() },
            transitions: &self.transitions,
            adverts_sent: self.sent,
            adverts_received: c.received,
            send_errors: self.send_errors,
            dropped: &dropped,
            vips_held: if self.vips.held() { self.cfg.virtual_ips.len() } else { 0 },
            since_transition: self.last_transition.elapsed(),
            scrapes: scrapes + 1,
        })
    }

    /// `sync_link` in the loop: an error (a failed netlink dump, a socket that cannot be
    /// reopened yet) is logged and retried with backoff; the daemon keeps running.
    fn resync(&mut self, now: Instant) {
        match self.sync_link(now) {
            Ok(()) => {
                if self.resync_at.take().is_some() {
                    log::info!("interface state read again after the error above");
                }
                self.backoff = RETRY_MIN;
            }
            Err(e) => {
                log::warn!("{e:#}; retrying in {} ms", self.backoff.as_millis());
                self.resync_at = Some(now + self.backoff);
                self.backoff = (self.backoff * 2).min(RETRY_MAX);
            }
        }
    }

    fn receive_all(&mut self, buf: &mut [u8], now: Instant) {
        // Bounded per turn so a flood cannot starve timers.
        for _ in 0..64 {
            let dgram = match self.sock.recv(buf) {
                Ok(Recv::Packet(d)) => d,
                Ok(Recv::Empty) => return,
                Ok(Recv::BadHeader { len }) => {
                    self.core.count_drop(Drop::IpHeader);
                    if self.may_log("ip_header", now) {
                        log::warn!("dropped a {len}-byte datagram with a malformed IPv4 header (counted; at most one line per second)");
                    }
                    continue;
                }
                Err(e) => {
                    log::debug!("VRRP socket: {e}");
                    return;
                }
            };
            let rx = Received { src: dgram.src, dst: dgram.dst, ttl: dgram.ttl, payload: dgram.payload };
            log::trace!("VRRP datagram from {} to {}: TTL {}, {} bytes", rx.src, rx.dst, rx.ttl, rx.payload.len());
            if let Err(d) = self.core.receive(rx, now) {
                if !d.silent() && self.may_log(d.kind(), now) {
                    log::warn!(
                        "dropped VRRP packet from {}: {d} (counted; at most one line per reason per second)",
                        rx.src
                    );
                }
            }
        }
    }

    fn may_log(&mut self, kind: &'static str, now: Instant) -> bool {
        match self.last_log.get(kind) {
            Some(t) if now.duration_since(*t) < Duration::from_secs(1) => false,
            _ => {
                self.last_log.insert(kind, now);
                true
            }
        }
    }

    /// Link or address changed: follow re-created interfaces and the advert source, tell the
    /// core about faults (every tracked interface up and an address to send from, or FAULT),
    /// and put back VIPs someone removed while we are master.
    fn sync_link(&mut self, now: Instant) -> Result<()> {
        let links = self.nl.links()?;
        let addrs = self.nl.addrs()?;
        let find = |name: &str| links.iter().find(|l| l.name == name);
        let main = find(&self.iface.name).cloned();
        self.iface_present = main.is_some();
        if let Some(l) = main.as_ref().filter(|l| l.index != self.iface.index) {
            // Deleted and re-created: a socket bound to the old index hears nothing.
            log::info!("interface {} was re-created (index {} → {})", l.name, self.iface.index, l.index);
            self.sock = VrrpSocket::open(&l.name, l.index, self.cfg.multicast())
                .with_context(|| format!("reopening the VRRP socket on the re-created {}", l.name))?;
            self.vips.remap(self.iface.index, l.index);
            self.iface.index = l.index;
            self.mac = l.mac;
            self.announce_pending = true;
        }
        for t in &mut self.vip_ifaces {
            if let Some(l) = find(&t.name).filter(|l| l.index != t.index) {
                log::info!("interface {} (of VIPs) was re-created (index {} → {})", l.name, t.index, l.index);
                self.vips.remap(t.index, l.index);
                t.index = l.index;
            }
        }
        self.follow_source(&addrs);
        let fault = self.fault_now(main.as_ref(), &links);
        if fault.as_ref().map(|f| f.0) != self.fault.as_ref().map(|f| f.0) {
            match &fault {
                Some((_, line)) => log::warn!("{line}"),
                None => log::info!("{} is usable again", self.iface.name),
            }
        }
        match &fault {
            Some((cause, _)) => self.core.handle(Event::Fault(*cause), now),
            None => self.core.handle(Event::Recovered, now),
        }
        self.fault = fault;
        // Announce our source once the link can carry it (an address is often added before
        // the link is up).
        if self.fault.is_none() && std::mem::take(&mut self.announce_pending) {
            self.announce_source();
        }
        self.execute();
        if self.core.state() == State::Master {
            let missing = self.vips.missing(&addrs);
            for i in &missing {
                log::warn!("VIP {} was removed while we are master; adding it back", self.vips.get(*i));
            }
            if !missing.is_empty() {
                self.vips.add(&mut self.nl, &missing);
            }
        }
        Ok(())
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
        for t in &self.vip_ifaces {
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
            return Some((
                Fault::VipInterface,
                format!(
                    "interface {} (of VIP {}) is {state}: FAULT until it is back, so a backup takes every VIP",
                    t.name,
                    of.join(", ")
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
            addrs
                .iter()
                .find(|a| a.ifindex == self.iface.index && a.addr.is_ipv6() == ipv6 && !is_vip(a.addr))
                .map(|a| a.addr)
        });
        if wanted != self.source {
            match (self.source, wanted) {
                (Some(old), Some(new)) => {
                    log::warn!("advert source {old} is gone from {}; sending from {new}", self.iface.name)
                }
                (None, Some(new)) => log::info!("sending adverts from {new}"),
                _ => {}
            }
            self.source = wanted;
            self.core.set_primary(wanted);
            // Peers may hold a stale ARP entry for it (a re-created interface, a moved address).
            self.announce_pending = true;
        }
    }

    fn execute(&mut self) {
        while let Some(a) = self.core.poll_action() {
            match a {
                Action::SendAdvert { priority } => self.send_advert(priority),
                Action::AddVips => self.vips.add_all(&mut self.nl),
                Action::RemoveVips => {
                    self.announcer.stop();
                    self.vips.remove_all(&mut self.nl);
                }
                Action::Gratuitous => {
                    let all = self.announcer.start(self.cfg.virtual_ips.len(), Instant::now());
                    self.announce(all);
                }
                Action::Transition { from, to, reason } => {
                    log::info!("(VI_1) {from} -> {to}: {reason}");
                    *self.transitions.entry((from.name(), to.name())).or_default() += 1;
                    self.last_transition = Instant::now();
                    self.last_change = Some((format!("{from} -> {to}: {reason}"), status::now_unix()));
                    self.notifier.run(to.name(), self.cfg.priority);
                    self.write_status();
                }
                Action::AddressListMismatch { from, vrid, theirs } => {
                    let ours: Vec<String> = self.advertised_addrs().iter().map(ToString::to_string).collect();
                    let theirs: Vec<String> = theirs.iter().map(ToString::to_string).collect();
                    log::warn!(
                        "(VI_1) {from} advertises virtual router {vrid} with VIPs [{}], ours are [{}]; set the same KEEPALIVED_VIRTUAL_IPS on every node of virtual router {vrid}, or give different sets different KEEPALIVED_ROUTER_IDs",
                        theirs.join(", "),
                        ours.join(", ")
                    )
                }
                Action::Decided(d) => log::debug!("(VI_1) {d}"),
                Action::ForcedElection { from, priority } => log::info!(
                    "(VI_1) {from} also claims master, with lower priority {priority}: forcing a new election and re-announcing our VIPs"
                ),
            }
        }
    }

    fn advertised_addrs(&self) -> Vec<IpAddr> {
        let fam = self.core.params().family;
        AddrList::new(fam, &self.advertised).map(|l| l.iter().collect()).unwrap_or_default()
    }

    fn send_advert(&mut self, priority: u8) {
        let p = self.core.params();
        let Some(addrs) = AddrList::new(p.family, &self.advertised) else { return };
        let repr =
            Repr { version: p.version, vrid: p.vrid, priority, interval_cs: p.advert_int_cs, auth: p.auth, addrs };
        // No source: we are in FAULT (or going there) and nothing can be sent.
        let Some(src) = self.source else { return };
        let dsts: Vec<IpAddr> =
            if self.cfg.multicast() { vec![IpAddr::V4(wire::MULTICAST_V4)] } else { self.cfg.unicast_peers.clone() };
        let mut buf = [0u8; 1500];
        let mut failed = vec![];
        for dst in dsts {
            let pseudo = if self.cfg.v3_checksum_as_v2 { Pseudo::None } else { Pseudo::Ip { src, dst } };
            let n = repr.emit(&mut buf, pseudo);
            match self.sock.send(&buf[..n], Some(src), dst) {
                Ok(()) => {
                    self.sent += 1;
                    log::trace!("(VI_1) advert sent to {dst}: priority {priority}, {n} bytes");
                }
                Err(e) => {
                    self.send_errors += 1;
                    failed.push((dst, e));
                }
            }
        }
        for (dst, e) in failed {
            if self.may_log("send", Instant::now()) {
                log::warn!("sending advert to {dst}: {e} (counted as send_errors; at most one line per second)");
            }
        }
    }

    /// Resuming with `found` in place: ask once whether another host answers for them. A
    /// node that took over while we were gone does at once, which ends the overlap in
    /// milliseconds instead of at its next advert (up to one interval of two holders).
    /// Without a packet socket the advert still settles it.
    fn probe_found(&mut self, found: &[AddrChange]) {
        let (Some(g), Some(mac)) = (&self.arp, self.mac) else { return };
        let watch = match arp::Watch::open() {
            Ok(w) => w,
            Err(e) => {
                log::debug!("no ARP probe while resuming (packet socket: {e})");
                return;
            }
        };
        for a in found {
            if let (IpAddr::V4(ip), true) = (a.addr, a.ifindex == self.iface.index) {
                if let Err(e) = g.probe(a.ifindex, mac, ip) {
                    log::debug!("ARP probe for {ip}: {e}");
                }
            }
        }
        self.arp_watch = Some(watch);
    }

    /// ARP frames while resuming: another host speaking for one of our VIPs holds it.
    fn receive_arp(&mut self, now: Instant) {
        let Some(w) = &self.arp_watch else { return };
        for _ in 0..64 {
            let r = match w.recv() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    log::debug!("ARP watch: {e}");
                    break;
                }
            };
            let ours = self.cfg.virtual_ips.iter().any(|v| v.addr == IpAddr::V4(r.sender_ip));
            if ours && Some(r.sender_mac) != self.mac {
                let mac = r.sender_mac.map(|b| format!("{b:02x}")).join(":");
                log::info!(
                    "{mac} answers ARP for {}: another node holds it, so the copy found at start is stale",
                    r.sender_ip
                );
                self.core.handle(Event::HeldElsewhere(IpAddr::V4(r.sender_ip)), now);
                break;
            }
        }
        if !self.core.is_resuming() {
            self.arp_watch = None;
        }
    }

    /// One gratuitous ARP for each VIP in `which` (indexes, as the announcer counts them).
    fn announce(&mut self, which: std::ops::Range<usize>) {
        let (Some(g), Some(mac)) = (&self.arp, self.mac) else { return };
        for (v, ifindex) in self.vips.iter().skip(which.start).take(which.len()) {
            if let IpAddr::V4(a) = v.addr {
                if let Err(e) = g.gratuitous(ifindex, mac, a) {
                    log::debug!("gratuitous ARP for {a}: {e}");
                }
            }
        }
    }

    /// A re-created interface has a new MAC, and peers still send our adverts' replies and
    /// their own adverts to the old one until their ARP entry expires (tens of seconds):
    /// long enough to time out and take a duplicate VIP. One gratuitous ARP for our source
    /// address updates their entries at once (what the kernel's `arp_notify=1` would do).
    fn announce_source(&mut self) {
        let (Some(g), Some(mac), Some(IpAddr::V4(src))) = (&self.arp, self.mac, self.source) else {
            return;
        };
        if let Err(e) = g.gratuitous(self.iface.index, mac, src) {
            log::debug!("gratuitous ARP for {src}: {e}");
        }
    }

    fn stats_json(&self) -> serde_json::Value {
        let c = self.core.counters();
        serde_json::json!({
            "adverts_received": c.received,
            "adverts_sent": self.sent,
            "send_errors": self.send_errors,
            "transitions": c.transitions,
            "dropped": c.dropped,
        })
    }

    fn status_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "pid": self.pid,
            "state": self.core.state().name(),
            "interface": self.cfg.interface,
            "interface_present": self.iface_present,
            "fault": self.fault.as_ref().map(|f| f.1.clone()),
            "priority": self.cfg.priority,
            "source": self.source.map(|s| s.to_string()),
            "master": self.core.last_master().map(|m| m.to_string()),
            "peers": self.cfg.unicast_peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "virtual_ips": self.cfg.virtual_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "uptime_s": self.started.elapsed().as_secs(),
            "last_transition": self.last_change.as_ref().map(|c| c.0.clone()),
            "last_transition_unix": self.last_change.as_ref().map(|c| c.1),
            "updated_unix": status::now_unix(),
        });
        if let (Some(o), serde_json::Value::Object(s)) = (v.as_object_mut(), self.stats_json()) {
            o.extend(s);
        }
        v
    }

    fn write_status(&mut self) {
        self.next_status = Instant::now() + status::REFRESH;
        let value = self.status_json();
        match self.state_file.write(&value) {
            Ok(()) if self.state_file_failing => {
                self.state_file_failing = false;
                log::info!("state file {} written again", self.cfg.state_file.display());
            }
            Ok(()) => {}
            Err(e) if !self.state_file_failing => {
                self.state_file_failing = true;
                log::error!(
                    "KEEPVIP_STATE_FILE={:?}: cannot write it ({e}); `keepvip --health` fails until it can",
                    self.cfg.state_file.display().to_string()
                );
            }
            Err(_) => {}
        }
    }

    fn log_status(&mut self) {
        log::info!("status: {}", self.status_json());
        self.write_status();
    }
}

/// `[::]:PORT` is every address; where IPv6 is off, the IPv4 wildcard is.
fn listen(addr: std::net::SocketAddr) -> std::io::Result<http::Server> {
    match http::Server::bind(addr) {
        Err(e) if addr.ip().is_unspecified() && addr.is_ipv6() => {
            http::Server::bind(std::net::SocketAddr::from(([0, 0, 0, 0], addr.port()))).map_err(|_| e)
        }
        r => r,
    }
}

/// Every way out of the runtime (an error, an early return, the end of `run`) removes
/// the VIPs we may hold. (A panic aborts the process: the next start's stale cleanup
/// removes them.)
impl std::ops::Drop for Runtime {
    fn drop(&mut self) {
        self.release();
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
        let cfg = from_env(&env, &host).unwrap().config;
        assert_eq!(cfg.virtual_ips.len(), 300);
        let p = params(&cfg, &host);
        assert_eq!(p.advertised.len(), 255 * 4);
        assert_eq!(p.own, vec!["198.18.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(p.auth, Auth::pass("d0cker"));
    }
}
