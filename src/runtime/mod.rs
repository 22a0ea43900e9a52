//! The blocking loop: one thread polls the VRRP sockets (one per interface, shared by the
//! instances on it), rtnetlink events, a signal pipe, the metrics listener and, while an
//! instance resumes, an ARP socket; with the instances' nearest deadline as timeout. Each
//! instance's IO is a [`unit::Unit`]; this file owns what they share.

mod announce;
mod signals;
mod unit;
mod vips;

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::poll::{ppoll, PollFd, PollFlags};

use std::path::PathBuf;

use crate::config::conf::{self, SyncGroup};
use crate::config::ProcessSettings;
use crate::config::{Config, HostView};
use crate::net::arp;
use crate::net::http;
use crate::net::ndisc;
use crate::net::netlink::{Events, Link, Netlink};
use crate::net::socket::{Recv, VrrpSocket};
use crate::observe::metrics;
use crate::observe::status;
use crate::vrrp::{Event, Received, Rejected, State};

use signals::{Meaning, Signals};
pub use unit::params;
use unit::{Io, Unit};
pub use vips::{remove_stale, stale};

/// Retrying after an error in the loop: from this, doubling, up to `RETRY_MAX`.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The VRRP socket of one interface, shared by every instance advertising on it: the
/// kernel hands each raw socket every VRRP packet of the interface, so one socket per
/// instance would wake every instance for every advert.
struct Shared {
    ifname: String,
    index: u32,
    ipv6: bool,
    multicast: bool,
    sock: VrrpSocket,
}

pub struct Runtime {
    nl: Netlink,
    events: Events,
    sockets: Vec<Shared>,
    units: Vec<Unit>,
    /// Gratuitous ARPs and probes out.
    arp: Option<arp::Sender>,
    /// ARP frames and neighbour advertisements in, only while an instance resumes: who else
    /// answers for its VIPs.
    arp_watch: Option<arp::Watch>,
    nd_watch: Option<ndisc::Watch>,
    next_status: Instant,
    state_file: status::Writer,
    state_file_path: std::path::PathBuf,
    state_file_failing: bool,
    started: Instant,
    /// After an error syncing with the kernel: when to try again, and the next backoff.
    resync_at: Option<Instant>,
    backoff: Duration,
    /// `GET /metrics`, when configured.
    metrics: Option<http::Server>,
    pid: u32,
    /// The keepalived.conf SIGHUP re-reads, when the instances came from one.
    reload: Option<(PathBuf, ProcessSettings)>,
    /// A shutdown was requested: the loop ends once every instance has stopped.
    closing: bool,
    /// Instances of a reloaded file waiting for their old version to resign first.
    pending: Vec<Config>,
    /// Sync groups with notify scripts of their own, and the state last notified.
    groups: Vec<(SyncGroup, crate::notify::Notifier, Option<State>)>,
}

impl Runtime {
    /// Every instance of `cfgs` (at least one), on this host. Stale VIPs of any instance
    /// that are not exactly where it would add them are removed here.
    pub fn new(cfgs: Vec<Config>, host: &HostView, mut nl: Netlink) -> Result<Self> {
        let first = cfgs.first().context("no instance to run")?.clone();
        if let Some(w) = crate::net::ipvs::ensure_loaded() {
            log::warn!("{w}");
        }
        let events = Events::open()?;
        let present = nl.addrs().context("reading addresses")?;
        let mut sockets: Vec<Shared> = vec![];
        let mut units = vec![];
        for cfg in cfgs {
            let link = nl.link(&cfg.interface)?.with_context(|| format!("interface {} disappeared", cfg.interface))?;
            let sock = open_shared(&mut sockets, &link, cfg.multicast(), cfg.ipv6())?;
            units.push(Unit::new(cfg, host, &link, sock, &present, &mut nl)?);
        }
        let arp = arp::Sender::open().map_err(|e| log::warn!("no gratuitous ARP (packet socket: {e})")).ok();
        let metrics = match first.metrics_addr {
            None => None,
            Some(addr) => Some(listen(addr).with_context(|| format!("KEEPVIP_METRICS_ADDR={addr}: cannot listen"))?),
        };
        let now = Instant::now();
        Ok(Runtime {
            nl,
            events,
            sockets,
            units,
            arp,
            arp_watch: None,
            nd_watch: None,
            next_status: now,
            state_file: status::Writer::new(&first.state_file),
            state_file_path: first.state_file.clone(),
            state_file_failing: false,
            started: now,
            resync_at: None,
            backoff: RETRY_MIN,
            metrics,
            pid: std::process::id(),
            reload: None,
            closing: false,
            pending: vec![],
            groups: vec![],
        })
    }

    /// Sync groups whose own notify scripts run when the group changes state.
    pub fn with_groups(mut self, groups: Vec<SyncGroup>) -> Self {
        self.set_groups(groups);
        self
    }

    fn set_groups(&mut self, groups: Vec<SyncGroup>) {
        let old = std::mem::take(&mut self.groups);
        self.groups = groups
            .into_iter()
            .map(|g| {
                let known = old.iter().find(|(o, _, _)| *o == g).and_then(|(_, _, s)| *s);
                let n = crate::notify::Notifier::group(&g.name, g.notify.clone(), g.notify_state.clone());
                (g, n, known)
            })
            .collect();
    }

    /// keepalived's group state: FAULT when a member is, MASTER or BACKUP when all members
    /// are; the group's scripts run when it changes.
    fn notify_groups(&mut self) {
        for (g, notifier, last) in &mut self.groups {
            let states: Vec<State> = self
                .units
                .iter()
                .filter(|u| u.cfg.sync_group.as_deref() == Some(g.name.as_str()))
                .map(|u| u.core.state())
                .collect();
            let now = if states.contains(&State::Fault) {
                Some(State::Fault)
            } else {
                [State::Master, State::Backup, State::Stopped]
                    .into_iter()
                    .find(|s| !states.is_empty() && states.iter().all(|x| x == s))
            };
            if let Some(st) = now.filter(|st| Some(*st) != *last) {
                *last = Some(st);
                log::info!("sync group {} is {}", g.name, st.name());
                notifier.run(st.name(), 0);
            }
        }
    }

    /// SIGHUP re-reads `path` (keepalived's reload) instead of only logging.
    pub fn reload_from(mut self, path: PathBuf, process: ProcessSettings) -> Self {
        self.reload = Some((path, process));
        self
    }

    /// Bring the instances up: look at the interfaces (a fault at start is a FAULT, not a
    /// takeover), then start the state machines. Errors here are fatal; VIPs are removed on
    /// every way out (see `Drop`).
    pub fn start(&mut self) -> Result<()> {
        let now = Instant::now();
        self.sync_link(now)?;
        for i in 0..self.units.len() {
            self.start_unit(i, now)?;
        }
        self.follow_groups(now);
        self.write_status();
        Ok(())
    }

    /// Start unit `i`'s state machine (or let it wait for its checks' first results); VIPs
    /// found where it adds them are probed for, listening first so no answer is missed.
    fn start_unit(&mut self, i: usize, now: Instant) -> Result<()> {
        let u = &mut self.units[i];
        let found = u.start(now, &mut io(&mut self.nl, &self.sockets, &self.arp, u.sock))?;
        if found.is_empty() {
            return Ok(());
        }
        if found.iter().any(|a| a.addr.is_ipv4()) && self.arp_watch.is_none() {
            match arp::Watch::open() {
                Ok(w) => self.arp_watch = Some(w),
                Err(e) => log::debug!("no ARP probe while resuming (packet socket: {e})"),
            }
        }
        if found.iter().any(|a| a.addr.is_ipv6()) && self.nd_watch.is_none() {
            match ndisc::Watch::open() {
                Ok(w) => self.nd_watch = Some(w),
                Err(e) => log::debug!("no neighbour probe while resuming (packet socket: {e})"),
            }
        }
        let u = &self.units[i];
        u.probe(&found, &io(&mut self.nl, &self.sockets, &self.arp, u.sock));
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

    /// Whether any instance may hold VIPs on the host.
    pub fn holds_vips(&self) -> bool {
        self.units.iter().any(Unit::holds_vips)
    }

    fn release(&mut self) {
        for u in &mut self.units {
            u.release(&mut self.nl);
        }
    }

    fn serve(&mut self, signals: &mut Signals) -> Result<()> {
        // An advert is at most one MTU; bigger datagrams are truncated and then fail to parse.
        let mut buf = [0u8; 4096];
        let mut terms = 0;
        let mut orphans = false;
        while !(self.closing && self.units.iter().all(|u| u.core.is_stopped())) {
            // The state file rides on the wake-ups the protocol needs anyway (`--health` allows
            // three refresh periods); it only gets a wake-up of its own when none is due soon.
            let core = self.units.iter().filter_map(|u| u.core.next_deadline()).min();
            let deadline = match core {
                Some(d) if d <= self.next_status + status::REFRESH => d,
                Some(d) => d.min(self.next_status),
                None => self.next_status,
            };
            let others = self
                .units
                .iter()
                .flat_map(|u| [u.announcer.next_deadline(), u.health_deadline()])
                .chain([self.resync_at, self.metrics.as_ref().and_then(http::Server::next_deadline)]);
            let deadline = others.flatten().fold(deadline, Instant::min);
            // ppoll's nanosecond timeout: poll's milliseconds, rounded up so as never to wake
            // early and spin, made every advert up to 1 ms late (measured with 100 instances).
            let wait = deadline.saturating_duration_since(Instant::now()).min(Duration::from_secs(3600));
            let timeout = nix::sys::time::TimeSpec::from_duration(wait);
            let n = self.sockets.len();
            let (socks_ready, nl_ready, sig_ready, arp_ready, nd_ready) = {
                let mut fds: Vec<PollFd> =
                    self.sockets.iter().map(|s| PollFd::new(s.sock.as_fd(), PollFlags::POLLIN)).collect();
                fds.push(PollFd::new(self.events.as_fd_borrowed(), PollFlags::POLLIN));
                fds.push(PollFd::new(signals.pipe.as_fd(), PollFlags::POLLIN));
                // The watches, when open, right after the signal pipe.
                for w in [self.arp_watch.as_ref().map(AsFd::as_fd), self.nd_watch.as_ref().map(AsFd::as_fd)]
                    .into_iter()
                    .flatten()
                {
                    fds.push(PollFd::new(w, PollFlags::POLLIN));
                }
                // The metrics listener and its connections only wake the loop; `service` below
                // does what can be done without blocking.
                for (fd, write) in self.metrics.iter().flat_map(http::Server::fds) {
                    fds.push(PollFd::new(fd, if write { PollFlags::POLLOUT } else { PollFlags::POLLIN }));
                }
                // Probes in flight only wake the loop too: each advances below.
                for w in self.units.iter().flat_map(Unit::probe_waits) {
                    fds.push(PollFd::new(w.fd, if w.write { PollFlags::POLLOUT } else { PollFlags::POLLIN }));
                }
                match ppoll(&mut fds, Some(timeout), None) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e).context("poll"),
                }
                let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                let socks: Vec<bool> = fds[..n].iter().map(ready).collect();
                let arp = self.arp_watch.is_some() && ready(&fds[n + 2]);
                let nd_at = n + 2 + usize::from(self.arp_watch.is_some());
                let nd = self.nd_watch.is_some() && ready(&fds[nd_at]);
                (socks, ready(&fds[n]), ready(&fds[n + 1]), arp, nd)
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
                                self.closing = true;
                                self.pending.clear();
                                for u in &mut self.units {
                                    u.core.handle(Event::Shutdown, now);
                                }
                            } else {
                                log::info!("{name}: second shutdown signal: removing VIPs and exiting now");
                                return Ok(());
                            }
                        }
                        Meaning::Reload if self.reload.is_some() && !self.closing => self.reload(now),
                        Meaning::Reload => log::warn!(
                            "{name}: keepalived would reload its configuration; the KEEPALIVED_* variables are read once at start, so recreate the container to change them. Carrying on"
                        ),
                        Meaning::Status => self.log_status(),
                        Meaning::Stats => {
                            for u in &self.units {
                                let mut j = u.stats_json();
                                j["instance"] = u.name().into();
                                log::info!("{name}: statistics: {j}");
                            }
                        }
                        Meaning::Child => {
                            self.units.iter_mut().for_each(Unit::reap);
                            self.groups.iter_mut().for_each(|(_, n, _)| n.reap());
                            // After the checks have collected their scripts below.
                            orphans = true;
                        }
                        Meaning::Ignore => {}
                        Meaning::Unexpected => log::warn!("{name}: ignored (stop keepvip with SIGTERM)"),
                    }
                }
            }
            for (i, ready) in socks_ready.into_iter().enumerate() {
                if ready {
                    self.receive_all(i, &mut buf, now);
                }
            }
            if arp_ready || nd_ready {
                self.receive_neighbours(now);
            }
            if !self.units.iter().any(|u| u.core.is_resuming()) {
                self.arp_watch = None;
                self.nd_watch = None;
            }
            let changed = nl_ready && self.events.drain();
            if changed || self.resync_at.is_some_and(|t| t <= now) {
                self.resync(now);
            }
            for i in 0..self.units.len() {
                let u = &mut self.units[i];
                u.health_step(now, &mut io(&mut self.nl, &self.sockets, &self.arp, u.sock));
                if u.deferred && !self.closing {
                    if let Err(e) = self.start_unit(i, now) {
                        log::error!("({}) {e:#}", self.units[i].name());
                    }
                }
            }
            if std::mem::take(&mut orphans) {
                let mut own: Vec<u32> = self.units.iter().flat_map(Unit::children).collect();
                own.extend(self.groups.iter().flat_map(|(_, n, _)| n.pids()));
                signals::reap_orphans(&own);
            }
            for u in &mut self.units {
                let mut io = io(&mut self.nl, &self.sockets, &self.arp, u.sock);
                if u.core.next_deadline().is_some_and(|d| d <= now) {
                    u.core.handle(Event::Timeout, now);
                }
                u.execute(&mut io);
                if let Some(due) = u.announcer.due(now) {
                    u.announce(due, &io);
                }
            }
            self.follow_groups(now);
            self.notify_groups();
            self.retire_stopped(now);
            if let Some(mut server) = self.metrics.take() {
                let scrapes = server.served;
                server.service(now, || self.metrics_text(scrapes));
                self.metrics = Some(server);
            }
            if now >= self.next_status || self.units.iter().any(|u| u.changed) {
                self.write_status();
            }
        }
        Ok(())
    }

    /// SIGHUP: read the file again. Unchanged instances are not touched (a master keeps its
    /// VIPs and its advert cadence); removed and changed ones resign as on `docker stop`; a
    /// changed one starts again once its old version has stopped; new ones start now. An
    /// invalid file changes nothing.
    fn reload(&mut self, now: Instant) {
        let Some((path, process)) = self.reload.clone() else { return };
        let loaded =
            self.nl.host_view().map_err(|e| vec![format!("reading the host's interfaces: {e:#}")]).and_then(|host| {
                conf::load(&path, &host, &process)
                    .map(|l| (l, host))
                    .map_err(|es| es.iter().map(ToString::to_string).collect())
            });
        let (loaded, host) = match loaded {
            Ok(pair) => pair,
            Err(errors) => {
                for e in &errors {
                    log::error!("reload: {e}");
                }
                log::error!(
                    "reload: {} problem(s) in {}; keeping the running configuration",
                    errors.len(),
                    path.display()
                );
                return;
            }
        };
        for w in &loaded.warnings {
            log::warn!("reload: {w}");
        }
        self.set_groups(loaded.groups);
        let new = loaded.instances;
        let (mut kept, mut resigned, mut started) = (vec![], vec![], vec![]);
        for u in &mut self.units {
            if u.core.is_stopped() {
                continue;
            }
            match new.iter().find(|c| c.name == u.cfg.name) {
                Some(c) if *c == u.cfg => kept.push(u.cfg.name.clone()),
                _ => {
                    resigned.push(u.cfg.name.clone());
                    u.core.handle(Event::Shutdown, now);
                }
            }
        }
        self.pending.clear();
        for c in new {
            if kept.contains(&c.name) {
                continue;
            }
            started.push(c.name.clone());
            self.pending.push(c);
        }
        log::info!(
            "reload of {}: {} unchanged, {} resigning ({}), {} starting ({})",
            path.display(),
            kept.len(),
            resigned.len(),
            resigned.join(", "),
            started.len(),
            started.join(", ")
        );
        self.start_pending(now, &host);
    }

    /// Instances that stopped after a reload leave (their VIPs are already released).
    fn retire_stopped(&mut self, now: Instant) {
        if self.closing || !self.units.iter().any(|u| u.core.is_stopped()) {
            return;
        }
        for u in self.units.iter_mut().filter(|u| u.core.is_stopped()) {
            u.release(&mut self.nl);
            log::info!("({}) stopped and removed", u.name());
        }
        self.units.retain(|u| !u.core.is_stopped());
        if !self.pending.is_empty() {
            match self.nl.host_view() {
                Ok(host) => self.start_pending(now, &host),
                Err(e) => log::error!("reload: reading the host's interfaces: {e:#}"),
            }
        }
    }

    /// Start the pending instances whose name and virtual router are free (one look at
    /// the links and addresses for all of them).
    fn start_pending(&mut self, now: Instant, host: &HostView) {
        let (links, present) = match self.nl.links().and_then(|l| Ok((l, self.nl.addrs()?))) {
            Ok(pair) => pair,
            Err(e) => {
                log::error!("reload: reading interfaces and addresses: {e:#}");
                return;
            }
        };
        let pending = std::mem::take(&mut self.pending);
        for cfg in pending {
            let busy = self.units.iter().any(|u| {
                u.cfg.name == cfg.name || (u.cfg.router_id == cfg.router_id && u.cfg.interface == cfg.interface)
            });
            if busy {
                self.pending.push(cfg);
                continue;
            }
            if let Err(e) = self.add_unit(cfg, host, &links, &present, now) {
                log::error!("reload: {e:#}");
            }
        }
    }

    fn add_unit(
        &mut self,
        cfg: Config,
        host: &HostView,
        links: &[Link],
        present: &[crate::net::netlink::Addr],
        now: Instant,
    ) -> Result<()> {
        let name = cfg.name.clone();
        let link = links
            .iter()
            .find(|l| l.name == cfg.interface)
            .with_context(|| format!("({name}) interface {} is gone", cfg.interface))?;
        let sock = open_shared(&mut self.sockets, link, cfg.multicast(), cfg.ipv6())?;
        let mut u = Unit::new(cfg, host, link, sock, present, &mut self.nl)?;
        u.sync(links, present, now, &mut io(&mut self.nl, &self.sockets, &self.arp, sock));
        self.units.push(u);
        let started = self.start_unit(self.units.len() - 1, now);
        if started.is_err() {
            self.units.pop();
        }
        started?;
        log::info!("({name}) started");
        Ok(())
    }

    /// Sync groups, as keepalived's: a member's own FAULT puts every member in FAULT until it
    /// clears; a member's own move to MASTER takes the others there, and its move from
    /// MASTER to BACKUP takes them back (their VIPs go together).
    fn follow_groups(&mut self, now: Instant) {
        let moves: Vec<(String, State, usize)> = self
            .units
            .iter_mut()
            .enumerate()
            .filter_map(|(i, u)| Some((u.cfg.sync_group.clone()?, u.moved.take()?, i)))
            .collect();
        for (group, to, from) in moves {
            for (i, u) in self.units.iter_mut().enumerate() {
                if i == from || u.cfg.sync_group.as_deref() != Some(group.as_str()) {
                    continue;
                }
                let ev = if to == State::Master { Event::SyncMaster } else { Event::SyncBackup };
                u.core.handle(ev, now);
                let mut io = io(&mut self.nl, &self.sockets, &self.arp, u.sock);
                u.execute(&mut io);
                u.moved = None;
            }
        }
        let faulty: Vec<String> =
            self.units.iter().filter(|u| u.own_fault()).filter_map(|u| u.cfg.sync_group.clone()).collect();
        for u in &mut self.units {
            let on = u.cfg.sync_group.as_ref().is_some_and(|g| faulty.contains(g)) && !u.own_fault();
            let mut io = io(&mut self.nl, &self.sockets, &self.arp, u.sock);
            u.set_group_fault(on, now, &mut io);
        }
    }

    fn metrics_text(&self, scrapes: u64) -> String {
        let dropped: Vec<_> = self.units.iter().map(Unit::dropped).collect();
        let snaps: Vec<_> = self.units.iter().zip(&dropped).map(|(u, d)| u.snapshot(d)).collect();
        metrics::render(&snaps, scrapes + 1)
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

    /// Links or addresses changed: reopen the socket of a re-created interface, then let
    /// every instance look (one dump for all of them).
    fn sync_link(&mut self, now: Instant) -> Result<()> {
        let links = self.nl.links()?;
        let addrs = self.nl.addrs()?;
        for s in &mut self.sockets {
            if let Some(l) = links.iter().find(|l: &&Link| l.name == s.ifname && l.index != s.index) {
                // Deleted and re-created: a socket bound to the old index hears nothing.
                s.sock = VrrpSocket::open(&l.name, l.index, s.multicast, s.ipv6)
                    .with_context(|| format!("reopening the VRRP socket on the re-created {}", l.name))?;
                s.index = l.index;
            }
        }
        for u in &mut self.units {
            let mut io = io(&mut self.nl, &self.sockets, &self.arp, u.sock);
            u.sync(&links, &addrs, now, &mut io);
        }
        self.follow_groups(now);
        Ok(())
    }

    /// Datagrams of socket `s`, each to the instance of its VRID there (one with another
    /// VRID is counted by the socket's first instance, as the one virtual router there).
    fn receive_all(&mut self, s: usize, buf: &mut [u8], now: Instant) {
        let Some(first) = self.units.iter().position(|u| u.sock == s) else { return };
        // Bounded per turn so a flood cannot starve timers.
        for _ in 0..64 {
            let dgram = match self.sockets[s].sock.recv(buf) {
                Ok(Recv::Packet(d)) => d,
                Ok(Recv::Empty) => return,
                Ok(Recv::BadHeader { len }) => {
                    let u = &mut self.units[first];
                    u.count_drop(Rejected::IpHeader);
                    if u.may_log("ip_header", now) {
                        log::warn!("dropped a {len}-byte datagram with a malformed IPv4 header (counted; at most one line per second)");
                    }
                    continue;
                }
                Err(e) => {
                    log::debug!("VRRP socket: {e}");
                    return;
                }
            };
            let vrid = dgram.payload.get(1).copied();
            let to = self.units.iter().position(|u| u.sock == s && Some(u.cfg.router_id) == vrid).unwrap_or(first);
            let rx = Received { src: dgram.src, dst: dgram.dst, ttl: dgram.ttl, payload: dgram.payload };
            let u = &mut self.units[to];
            u.receive(rx, now);
            let mut io = io(&mut self.nl, &self.sockets, &self.arp, s);
            u.execute(&mut io);
        }
    }

    /// ARP frames and neighbour advertisements while an instance resumes.
    fn receive_neighbours(&mut self, now: Instant) {
        let mut heard = vec![];
        for _ in 0..64 {
            let Some(w) = &self.arp_watch else { break };
            match w.recv() {
                Ok(Some(r)) => heard.push((std::net::IpAddr::V4(r.sender_ip), r.sender_mac)),
                Ok(None) => break,
                Err(e) => {
                    log::debug!("ARP watch: {e}");
                    break;
                }
            }
        }
        for _ in 0..64 {
            let Some(w) = &self.nd_watch else { break };
            match w.recv() {
                // A holder's answer carries its MAC in the option; the frame's source is the
                // same on an Ethernet link.
                Ok(Some(r)) => heard.push((std::net::IpAddr::V6(r.target), r.target_mac.unwrap_or(r.src_mac))),
                Ok(None) => break,
                Err(e) => {
                    log::debug!("neighbour watch: {e}");
                    break;
                }
            }
        }
        for (ip, mac) in heard {
            for u in &mut self.units {
                let mut io = io(&mut self.nl, &self.sockets, &self.arp, u.sock);
                u.heard(ip, mac, now, &mut io);
            }
        }
    }

    /// The first instance's status at the top level (what `--health` and `--status` read for
    /// one instance), and every instance's under `instances` when there are several.
    fn status_json(&self) -> serde_json::Value {
        let uptime = self.started.elapsed();
        let Some(first) = self.units.first() else {
            // Between a reload's resignations and its starts.
            return serde_json::json!({"pid": self.pid, "state": "INIT", "interface_present": true, "updated_unix": status::now_unix()});
        };
        let mut v = first.status_json(self.pid, uptime);
        if self.units.len() > 1 {
            let all: Vec<_> = self.units.iter().map(|u| u.status_json(self.pid, uptime)).collect();
            v["instances"] = serde_json::Value::Array(all);
        }
        v
    }

    fn write_status(&mut self) {
        self.next_status = Instant::now() + status::REFRESH;
        for u in &mut self.units {
            u.changed = false;
        }
        let value = self.status_json();
        let written = self.state_file.write(&value);
        drop(value);
        // The status of many instances is a large transient tree: hand its pages back to the
        // kernel now, or the heap keeps them resident between refreshes.
        if self.units.len() > 1 {
            // SAFETY: malloc_trim only releases free memory; no pointer is invalidated.
            unsafe { nix::libc::malloc_trim(0) };
        }
        match written {
            Ok(()) if self.state_file_failing => {
                self.state_file_failing = false;
                log::info!("state file {} written again", self.state_file_path.display());
            }
            Ok(()) => {}
            Err(e) if !self.state_file_failing => {
                self.state_file_failing = true;
                log::error!(
                    "KEEPVIP_STATE_FILE={:?}: cannot write it ({e}); `keepvip --health` fails until it can",
                    self.state_file_path.display().to_string()
                );
            }
            Err(_) => {}
        }
    }

    fn log_status(&mut self) {
        let uptime = self.started.elapsed();
        for u in &self.units {
            log::info!("status: {}", u.status_json(self.pid, uptime));
        }
        self.write_status();
    }
}

/// What a unit on socket `s` borrows to act (fields of the loop, lent apart from the units).
fn io<'a>(nl: &'a mut Netlink, sockets: &'a [Shared], arp: &'a Option<arp::Sender>, s: usize) -> Io<'a> {
    Io { nl, sock: &sockets[s].sock, arp: arp.as_ref() }
}

/// The shared socket of `link` for the family, opened (or re-opened to join the multicast
/// group) as needed.
fn open_shared(sockets: &mut Vec<Shared>, link: &Link, multicast: bool, ipv6: bool) -> Result<usize> {
    match sockets.iter().position(|s| s.index == link.index && s.ipv6 == ipv6) {
        Some(i) => {
            // Multicast joins once per interface, for any instance that needs it.
            if multicast && !sockets[i].multicast {
                sockets[i].sock = VrrpSocket::open(&link.name, link.index, true, ipv6)?;
                sockets[i].multicast = true;
            }
            Ok(i)
        }
        None => {
            let sock = VrrpSocket::open(&link.name, link.index, multicast, ipv6)?;
            sockets.push(Shared { ifname: link.name.clone(), index: link.index, ipv6, multicast, sock });
            Ok(sockets.len() - 1)
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
