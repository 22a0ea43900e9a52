//! The loop: one thread waits on the VRRP sockets (one per interface, shared by the
//! instances on it), rtnetlink events, a signal pipe, the metrics listener, the probes in
//! flight and, while an instance resumes, the ARP/ND watches — with the instances' nearest
//! deadline as timeout — then dispatches by token, ticks every instance and keeps house.
//!
//! Rooms: each instance's IO is a [`driver::Driver`] made of owned parts (`links`,
//! `checks`, `vips`, `stats`, `announce`); what they share is [`shared::SharedIo`]; the
//! wait is [`poll`]; sync groups, reloads and the outside's view (`report`) have files of
//! their own.

mod advert;
mod announce;
mod checks;
mod conflicts;
mod driver;
mod firewall;
mod groups;
mod handover;
mod links;
mod master_probe;
mod membership;
mod neighbours;
mod poll;
mod reload;
mod report;
mod routes;
mod shared;
mod signals;
mod stats;
mod vips;
mod vmac;

use std::iter::once;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::config::conf::SyncGroup;
use crate::config::{Config, HostView, ProcessSettings};
use crate::net::http;
use crate::net::netlink::{Events, Netlink};
use crate::net::socket::Recv;
use crate::observe::status;
use crate::vrrp::timers::earliest;
use crate::vrrp::{Event, Rejected};

pub use advert::params;
use driver::Driver;
use groups::NotifiedGroup;
use neighbours::Watches;
use poll::{PollSet, Poller, Ready, Token};
use shared::SharedIo;
use signals::{Meaning, Signals};
pub use vips::{remove_stale, stale};

/// Retrying after an error in the loop: from this, doubling, up to `RETRY_MAX`.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Datagrams of one socket closer than this are a burst, read in turns (`receive_all`).
const BURST: Duration = Duration::from_millis(10);

pub struct Runtime {
    shared: SharedIo,
    events: Events,
    poller: Poller,
    drivers: Vec<Driver>,
    watches: Watches,
    /// Early failover's probes of late masters, one per address at a time.
    recent_probes: master_probe::RecentProbes,
    state_file: status::Writer,
    next_status: Instant,
    /// When the state file's counters are rewritten, if nothing else rewrote it before.
    next_counters: Instant,
    /// The deadline the last wait was given.
    wake_at: Instant,
    started: Instant,
    pid: u32,
    /// After an error syncing with the kernel: when to try again, and the next backoff.
    resync_at: Option<Instant>,
    backoff: Duration,
    /// `GET /metrics`, when configured.
    metrics: Option<http::Server>,
    /// The keepalived.conf SIGHUP re-reads, when the instances came from one.
    reload: Option<PathBuf>,
    /// The file's identity when last read: a change reloads it (see `reload.rs`).
    watched: reload::Watched,
    /// A shutdown was requested: the loop ends once every instance has stopped.
    closing: bool,
    /// Shutdown signals so far (a second one exits at once).
    terms: u32,
    /// A child ended: reap orphans once the checks and notifiers collected theirs.
    orphans: bool,
    /// A transition ran code the steady loop does not: out of the resident set once its
    /// announcements are done (see `net::memory`).
    code_to_drop: bool,
    code_pages: crate::net::memory::CodePages,
    /// Instances of a reloaded file waiting for their old version to resign first.
    pending: Vec<Config>,
    groups: Vec<NotifiedGroup>,
    /// Peers learnt from the swarm, when they are.
    swarm: Option<membership::SwarmPeers>,
}

/// What a signal asks of the loop.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Exit,
}

impl Runtime {
    /// Every instance of `cfgs` (at least one), on this host, with the process-wide
    /// settings. Stale VIPs of any instance that are not exactly where it would add them
    /// are removed here.
    pub fn new(mut cfgs: Vec<Config>, process: &ProcessSettings, host: &HostView, nl: Netlink) -> Result<Self> {
        anyhow::ensure!(!cfgs.is_empty(), "no instance to run");
        if let Some(w) = crate::net::ipvs::ensure_loaded() {
            log::warn!("{w}");
        }
        let events = Events::open()?;
        let no_accept = cfgs.iter().find(|c| !c.accept).map(|c| c.name.clone());
        let mut shared = SharedIo::new(nl, firewall::Firewall::start(no_accept.as_deref())?);
        let mut fresh = None;
        if shared.vmacs.prepare(&mut cfgs, &mut shared.nl)? {
            // The VMACs are interfaces the instances use: in the host's view from now on.
            let mut h = shared.nl.host_view()?;
            (h.ours, h.swarm) = (host.ours.clone(), host.swarm.clone());
            fresh = Some(h);
        }
        let host = fresh.as_ref().unwrap_or(host);
        let present = shared.nl.addrs().context("reading addresses")?;
        let mut drivers = vec![];
        for cfg in cfgs {
            let link =
                shared.nl.link(&cfg.interface)?.with_context(|| format!("interface {} disappeared", cfg.interface))?;
            let sock = shared.open_socket(&link, cfg.multicast_group(), cfg.ipv6())?;
            drivers.push(Driver::new(cfg, host, &link, sock, &present, &mut shared.nl)?);
        }
        let metrics = match process.metrics_addr {
            None => None,
            Some(addr) => Some(listen(addr).with_context(|| format!("KEEPVIP_METRICS_ADDR={addr}: cannot listen"))?),
        };
        let now = Instant::now();
        Ok(Runtime {
            shared,
            events,
            poller: Poller::new().context("creating the loop's epoll set")?,
            drivers,
            watches: Watches::default(),
            recent_probes: master_probe::RecentProbes::default(),
            state_file: status::Writer::new(&process.state_file),
            next_status: now,
            next_counters: now,
            wake_at: now,
            started: now,
            pid: std::process::id(),
            resync_at: None,
            backoff: RETRY_MIN,
            metrics,
            reload: None,
            watched: reload::Watched::default(),
            closing: false,
            terms: 0,
            orphans: false,
            code_to_drop: false,
            code_pages: crate::net::memory::CodePages::find(),
            pending: vec![],
            groups: vec![],
            swarm: None,
        })
    }

    /// Sync groups whose own notify scripts run when the group changes state.
    pub fn with_groups(mut self, groups: Vec<SyncGroup>) -> Self {
        self.set_groups(groups);
        self
    }

    /// SIGHUP re-reads `path` (keepalived's reload) instead of only logging.
    pub fn reload_from(mut self, path: PathBuf) -> Self {
        self.watched = reload::Watched::of(&path);
        self.reload = Some(path);
        self
    }

    /// Bring the instances up: look at the interfaces (a fault at start is a FAULT, not a
    /// takeover), then start the state machines. Errors here are fatal; VIPs are removed on
    /// every way out (see `Drop`).
    pub fn start(&mut self) -> Result<()> {
        let now = Instant::now();
        self.sync_links(now)?;
        for i in 0..self.drivers.len() {
            self.start_driver(i, now)?;
        }
        self.follow_groups(now);
        self.write_status();
        Ok(())
    }

    /// Start instance `i`'s state machine (or let it wait for its checks' first results);
    /// VIPs found where it adds them are probed for, listening first so no answer is missed.
    fn start_driver(&mut self, i: usize, now: Instant) -> Result<()> {
        let d = &mut self.drivers[i];
        let found = d.start(now, &mut self.shared.io(d.sock))?;
        if !found.is_empty() {
            self.watches.open_for(&found);
            d.probe_for_holders(&found, &self.shared.io(d.sock));
        }
        Ok(())
    }

    /// Run until shut down. VIPs are removed on every way out of this function.
    pub fn run(mut self) -> Result<()> {
        let mut signals = Signals::install()?;
        self.start()?;
        // Reading the configuration and starting took most of the binary's code, which the
        // loop never runs again: out of the resident set (see `net::memory`).
        self.code_pages.drop();
        let result = self.serve(&mut signals);
        self.release();
        self.write_status();
        result
    }

    /// Whether any instance may hold VIPs on the host.
    pub fn holds_vips(&self) -> bool {
        self.drivers.iter().any(Driver::holds_vips)
    }

    fn release(&mut self) {
        for d in &mut self.drivers {
            d.release(&mut self.shared.nl, &mut self.shared.firewall);
        }
        self.shared.firewall.clear();
        self.shared.vmacs.remove_all(&mut self.shared.nl);
    }

    /// The loop. Its own frame, not inlined into start-up's: an idle wake touches its
    /// locals only (5.5 KiB with the read buffer, where main's frame was 16 KiB).
    #[inline(never)]
    fn serve(&mut self, signals: &mut Signals) -> Result<()> {
        // An advert is at most one MTU; bigger datagrams are truncated and then fail to parse.
        let mut buf = [0u8; 4096];
        while !(self.closing && self.drivers.iter().all(Driver::is_stopped)) {
            let mut ready = self.wait(signals)?;
            let now = Instant::now();
            if ready.signals && self.on_signals(signals.take(), now) == Flow::Exit {
                return Ok(());
            }
            let mut news = false;
            for &s in &ready.sockets {
                news |= self.receive_all(s, &mut buf, now);
            }
            let quiet = ready.only_sockets() && !news && self.nothing_due(now);
            self.poller.recycle(std::mem::take(&mut ready.sockets));
            if quiet {
                // A backup's every wake: an advert that only restarted the core's timer.
                // Nothing else spoke, changed or came due, so the rest of the turn would
                // find nothing to do; the next wait takes the new deadline.
                self.watch_conf(now);
                continue;
            }
            self.turn(&ready, now);
        }
        Ok(())
    }

    /// The rest of a turn that is not quiet: neighbours, the swarm, the kernel's news,
    /// timers, probes, housekeeping. Out of `serve`, so their locals take a frame of their
    /// own: a quiet wake then touches a few stack pages, not the 16 KiB that all of them
    /// took together (an idle wake's cost is mostly the cold lines and pages it touches).
    #[inline(never)]
    fn turn(&mut self, ready: &Ready, now: Instant) {
        if ready.neighbours {
            self.receive_neighbours(now);
        }
        if ready.swarm {
            self.follow_swarm(now);
        }
        // Listen while an instance resumes, holds VIPs (conflicts, a handover) or probes
        // a late master (early failover), not otherwise.
        let masters = self.drivers.iter().filter(|d| d.conflicts.watching() || d.handover.is_some());
        let (v4, v6) = masters.fold((false, false), |(a, b), d| (a || !d.cfg.ipv6(), b || d.cfg.ipv6()));
        let (p4, p6) = self.listening_for_masters(now);
        let successors = self.drivers.iter().any(|d| d.successor.is_some_and(|s| now < s.1));
        if v4 || v6 || p4 || p6 {
            self.watches.open(v4 || p4, v6 || p6);
            self.watches.adverts(successors);
        } else if !self.drivers.iter().any(Driver::is_resuming) && self.watches.is_open() {
            self.watches.close();
        }
        if (ready.netlink && self.events.drain()) || self.resync_at.is_some_and(|t| t <= now) {
            self.resync(now);
        }
        self.tick(now);
        self.probe_masters(now);
        self.housekeeping(now);
    }

    /// Before the last wait's deadline and the state file's refreshes, with no watch open
    /// (their frames and the probes they serve are looked at every turn) and not closing.
    fn nothing_due(&self, now: Instant) -> bool {
        now < self.wake_at.min(self.next_status).min(self.next_counters) && !self.watches.is_open() && !self.closing
    }

    /// Wait for a source or the nearest deadline.
    fn wait(&mut self, signals: &Signals) -> Result<Ready> {
        // The state file rides on the wake-ups the protocol needs anyway (`--health` allows
        // three refresh periods); it only gets a wake-up of its own when none is due soon.
        let mut due = None;
        for d in &self.drivers {
            due = earliest(&[due, d.next_deadline()]);
        }
        let deadline = match due {
            Some(d) if d <= self.next_status + status::REFRESH => d,
            Some(d) => d.min(self.next_status),
            None => self.next_status,
        };
        let others = earliest(&[self.resync_at, self.metrics.as_ref().and_then(http::Server::next_deadline)]);
        let deadline = others.map_or(deadline, |o| o.min(deadline));
        self.wake_at = deadline;
        let (shared, events, swarm) = (&self.shared, &self.events, &self.swarm);
        let fixed = || {
            let sockets =
                shared.sockets.iter().enumerate().map(|(i, s)| (s.sock.as_fd(), s.sock.id(), Token::Socket(i)));
            sockets
                .chain(once((events.as_fd_borrowed(), 0, Token::Netlink)))
                .chain(once((signals.pipe.as_fd(), 0, Token::Signals)))
                .chain(swarm.as_ref().map(|s| (s.feed.fd(), 0, Token::Swarm)))
        };
        let mut set = PollSet::default();
        for fd in self.watches.fds() {
            set.add(fd, false, Token::Neighbours);
        }
        for (fd, write) in self.metrics.iter().flat_map(http::Server::fds) {
            set.add(fd, write, Token::Wake);
        }
        for w in self.drivers.iter().flat_map(|d| d.checks.waits()) {
            set.add(w.fd, w.write, Token::Wake);
        }
        let wait = deadline.saturating_duration_since(Instant::now()).min(Duration::from_secs(3600));
        self.poller.wait(fixed, set, wait).context("poll")
    }

    // Rare, and out of the loop's frame as `turn` is.
    #[inline(never)]
    fn on_signals(&mut self, sigs: Vec<i32>, now: Instant) -> Flow {
        for sig in sigs {
            let name = signals::name(sig);
            match signals::meaning(sig) {
                Meaning::Shutdown if self.terms > 0 => {
                    log::info!("{name}: second shutdown signal: removing VIPs and exiting now");
                    return Flow::Exit;
                }
                Meaning::Shutdown => {
                    self.terms += 1;
                    log::info!("{name}: shutdown requested: handing over");
                    self.closing = true;
                    self.pending.clear();
                    for d in &mut self.drivers {
                        d.handle(Event::Shutdown, now, &mut self.shared.io(d.sock));
                    }
                }
                Meaning::Reload if self.reload.is_some() && !self.closing => self.reload(now),
                Meaning::Reload => log::warn!(
                    "{name}: keepalived would reload its configuration; the KEEPALIVED_* variables are read once at start, so recreate the container to change them. Carrying on"
                ),
                Meaning::Status => self.log_status(),
                Meaning::WriteState => self.write_status(),
                Meaning::Stats => {
                    for d in &self.drivers {
                        log::info!("{name}: statistics: {}", d.stats_json());
                    }
                }
                Meaning::Child => {
                    self.drivers.iter_mut().for_each(Driver::reap);
                    self.reap_groups();
                    self.orphans = true;
                }
                Meaning::Ignore => {}
                Meaning::Unexpected => log::warn!("{name}: ignored (stop keepvip with SIGTERM)"),
            }
        }
        Flow::Continue
    }

    /// Every instance's turn: checks, protocol timer, paced announcements; an instance that
    /// waited for its checks starts once they have spoken.
    fn tick(&mut self, now: Instant) {
        for i in 0..self.drivers.len() {
            let d = &mut self.drivers[i];
            d.tick(now, &mut self.shared.io(d.sock));
            if d.is_deferred() && !self.closing {
                if let Err(e) = self.start_driver(i, now) {
                    log::error!("({}) {e:#}", self.drivers[i].name());
                }
            }
        }
    }

    /// After the instances' turn: orphans, sync groups, reloads, metrics, the state file.
    fn housekeeping(&mut self, now: Instant) {
        if std::mem::take(&mut self.orphans) {
            let mut own: Vec<u32> = self.drivers.iter().flat_map(Driver::children).collect();
            own.extend(self.group_children());
            signals::reap_orphans(&own);
        }
        self.follow_groups(now);
        self.notify_groups();
        self.retire_stopped(now);
        self.watch_conf(now);
        if let Some(mut server) = self.metrics.take() {
            let scrapes = server.served;
            server.service(now, || self.metrics_text(scrapes));
            self.metrics = Some(server);
        }
        let mut changed = false;
        for d in &mut self.drivers {
            changed |= d.take_changed();
            self.code_to_drop |= d.take_transitioned();
        }
        if self.code_to_drop && self.drivers.iter().all(|d| d.announcer.next_deadline().is_none()) {
            self.code_to_drop = false;
            self.code_pages.drop();
        }
        if changed || now >= self.next_counters {
            self.write_status();
        } else if now >= self.next_status {
            self.touch_status();
        }
    }

    /// `sync_links` in the loop: an error (a failed netlink dump, a socket that cannot be
    /// reopened yet) is logged and retried with backoff; the daemon keeps running.
    fn resync(&mut self, now: Instant) {
        match self.sync_links(now) {
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

    /// Links or addresses changed: reopen the socket of a re-created interface, then let
    /// every instance look (one dump for all of them).
    fn sync_links(&mut self, now: Instant) -> Result<()> {
        let links = self.shared.nl.links()?;
        let addrs = self.shared.nl.addrs()?;
        self.shared.reopen_recreated(&links)?;
        for d in &mut self.drivers {
            d.sync(&links, &addrs, now, &mut self.shared.io(d.sock));
        }
        self.follow_groups(now);
        Ok(())
    }

    /// Datagrams of socket `s`, each to the instance of its VRID there (one with another
    /// VRID is counted by the socket's first instance, as the one virtual router there).
    /// True when an instance had more to do than count and restart its timer.
    fn receive_all(&mut self, s: usize, buf: &mut [u8], now: Instant) -> bool {
        let Some(first) = self.drivers.iter().position(|d| d.sock == s) else { return false };
        let mut news = false;
        // Idle, one advert wakes the loop and one read takes it: the readiness is level-
        // triggered, so a datagram left behind wakes the next wait at once, and a read that
        // could only say "empty" would be a third of an idle backup's system calls. Datagrams
        // closer than a burst apart are read in turns of at most 64 (bounded so a flood
        // cannot starve timers).
        let last = self.shared.sockets[s].last_rx.replace(now);
        let turn = if last.is_some_and(|t| now.saturating_duration_since(t) < BURST) { 64 } else { 1 };
        for _ in 0..turn {
            let rx = match self.shared.sockets[s].sock.recv(buf) {
                Ok(Recv::Packet(rx)) => rx,
                Ok(Recv::Empty) => return news,
                Ok(Recv::BadHeader { len }) => {
                    if self.drivers[first].reject(Rejected::IpHeader, now) {
                        log::warn!("dropped a {len}-byte datagram with a malformed IPv4 header (counted; at most one line per second)");
                    }
                    continue;
                }
                Err(e) => {
                    log::debug!("VRRP socket: {e}");
                    return true;
                }
            };
            let vrid = rx.payload.get(1).copied();
            let to = self.drivers.iter().position(|d| d.sock == s && Some(d.cfg.router_id) == vrid).unwrap_or(first);
            news |= self.drivers[to].receive(rx, now, &mut self.shared.io(s));
        }
        news
    }

    /// ARP frames and neighbour advertisements while an instance resumes.
    fn receive_neighbours(&mut self, now: Instant) {
        let (heard, probes) = self.watches.heard();
        for (ip, mac, unsolicited) in heard {
            for d in &mut self.drivers {
                d.heard(ip, mac, unsolicited, now, &mut self.shared.io(d.sock));
            }
        }
        for (master, mac, tag) in probes {
            self.rival_probe(master, mac, tag, now);
        }
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
impl Drop for Runtime {
    fn drop(&mut self) {
        self.release();
    }
}
