//! The blocking loop: one thread polls the VRRP socket, rtnetlink events and a signal
//! pipe, with the core's next deadline as timeout, and carries out the core's actions.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::config::{Config, HostView, InitialState, Version, Vip};
use crate::net::garp::Garp;
use crate::net::netlink::{AddrChange, Events, Netlink};
use crate::net::socket::{self, VrrpSocket};
use crate::notify::Notifier;
use crate::status;
use crate::vrrp::{Action, Event, Instance, Params, Received, State};
use crate::wire::vrrp::{self as wire, AddrList, Auth, Family, Pseudo, Repr};

const GARP_BURST: usize = 5;
const MTU: usize = 1500;

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
        own: host.interfaces.iter().flat_map(|i| i.addrs.iter().copied()).collect(),
        advertised,
    }
}

/// Remove configured VIPs found on any interface (left by a crash or SIGKILL). Exact
/// address match only: nothing else is touched.
pub fn remove_stale(nl: &mut Netlink, vips: &[Vip]) -> Result<usize> {
    let mut stale = vec![];
    for a in nl.addrs()? {
        if vips.iter().any(|v| v.addr == a.addr) {
            log::info!(
                "removing stale VIP {} (prefix /{}) from interface #{} before starting",
                a.addr,
                a.prefix,
                a.ifindex
            );
            stale.push(AddrChange { ifindex: a.ifindex, addr: a.addr, prefix: a.prefix, label: None });
        }
    }
    for r in nl.del_addrs(&stale) {
        r?;
    }
    Ok(stale.len())
}

struct Signals {
    pipe: UnixStream,
    term: Arc<AtomicBool>,
    usr1: Arc<AtomicBool>,
    chld: Arc<AtomicBool>,
}

impl Signals {
    fn install() -> Result<Self> {
        use signal_hook::consts::{SIGCHLD, SIGINT, SIGTERM, SIGUSR1};
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let s = Signals { pipe: read, term: Arc::default(), usr1: Arc::default(), chld: Arc::default() };
        for (sig, flag) in [(SIGTERM, &s.term), (SIGINT, &s.term), (SIGUSR1, &s.usr1), (SIGCHLD, &s.chld)] {
            signal_hook::flag::register(sig, Arc::clone(flag))?;
            signal_hook::low_level::pipe::register(sig, write.try_clone()?)?;
        }
        Ok(s)
    }

    fn drain(&mut self) {
        let mut buf = [0u8; 64];
        while matches!(self.pipe.read(&mut buf), Ok(n) if n > 0) {}
    }
}

struct Iface {
    index: u32,
    mac: Option<[u8; 6]>,
}

pub struct Runtime {
    cfg: Config,
    core: Instance,
    nl: Netlink,
    events: Events,
    sock: VrrpSocket,
    garp: Option<Garp>,
    iface: Iface,
    /// VIP → interface index (the item's `dev` or the instance's interface).
    vip_ifindex: Vec<u32>,
    advertised: Vec<u8>,
    notifier: Notifier,
    last_log: HashMap<&'static str, Instant>,
    next_status: Instant,
    state_file: status::Writer,
    started: Instant,
}

impl Runtime {
    pub fn new(cfg: Config, host: &HostView, mut nl: Netlink) -> Result<Self> {
        socket::check_family(cfg.ipv6())?;
        remove_stale(&mut nl, &cfg.virtual_ips).context("removing stale VIPs")?;
        if let Some(w) = crate::net::ipvs::ensure_loaded() {
            log::warn!("{w}");
        }
        let events = Events::open()?;
        let link = nl.link(&cfg.interface)?.with_context(|| format!("interface {} disappeared", cfg.interface))?;
        let sock = VrrpSocket::open(&cfg.interface, link.index, cfg.multicast())?;
        let garp = Garp::open().map_err(|e| log::warn!("no gratuitous ARP (packet socket: {e})")).ok();
        let vip_ifindex = cfg
            .virtual_ips
            .iter()
            .map(|v| match &v.dev {
                None => Ok(link.index),
                Some(d) => host.iface(d).map(|i| i.index).with_context(|| format!("interface {d} disappeared")),
            })
            .collect::<Result<Vec<_>>>()?;
        let p = params(&cfg, host);
        let advertised = p.advertised.clone();
        let now = Instant::now();
        Ok(Runtime {
            core: Instance::new(p),
            nl,
            events,
            sock,
            garp,
            iface: Iface { index: link.index, mac: link.mac },
            vip_ifindex,
            advertised,
            notifier: Notifier::new(cfg.notify.clone()),
            last_log: HashMap::new(),
            next_status: now,
            state_file: status::Writer::new(&cfg.state_file),
            started: now,
            cfg,
        })
    }

    /// Run until shut down. VIPs are removed on every way out of this function.
    pub fn run(mut self) -> Result<()> {
        let mut signals = Signals::install()?;
        let now = Instant::now();
        self.core.handle(Event::Start, now);
        self.execute()?;
        self.sync_link(now)?;
        let result = self.serve(&mut signals);
        if result.is_err() || self.core.state() == State::Master {
            // Never leave an address behind, whatever failed.
            self.remove_vips();
        }
        self.write_status();
        result
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
            let wait = deadline.saturating_duration_since(Instant::now());
            // Round up so we never wake a hair early and spin.
            let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            let (sock_ready, nl_ready, sig_ready) = {
                let mut fds = [
                    PollFd::new(self.sock.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.events.as_fd_borrowed(), PollFlags::POLLIN),
                    PollFd::new(signals.pipe.as_fd(), PollFlags::POLLIN),
                ];
                match poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e).context("poll"),
                }
                let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                (ready(&fds[0]), ready(&fds[1]), ready(&fds[2]))
            };
            let now = Instant::now();
            if sig_ready {
                signals.drain();
            }
            if signals.term.swap(false, Ordering::SeqCst) {
                terms += 1;
                if terms == 1 {
                    log::info!("shutdown requested: handing over");
                    self.core.handle(Event::Shutdown, now);
                } else {
                    log::info!("second shutdown signal: removing VIPs and exiting now");
                    return Ok(());
                }
            }
            if signals.usr1.swap(false, Ordering::SeqCst) {
                self.log_status();
            }
            if signals.chld.swap(false, Ordering::SeqCst) {
                self.notifier.reap();
            }
            if sock_ready {
                self.receive_all(&mut buf, now);
            }
            if nl_ready && self.events.drain() {
                self.sync_link(now)?;
            }
            if self.core.next_deadline().is_some_and(|d| d <= now) {
                self.core.handle(Event::Timeout, now);
            }
            self.execute()?;
            if now >= self.next_status {
                self.write_status();
            }
        }
        Ok(())
    }

    fn receive_all(&mut self, buf: &mut [u8], now: Instant) {
        // Bounded per turn so a flood cannot starve timers.
        for _ in 0..64 {
            let dgram = match self.sock.recv(buf) {
                Ok(Some(d)) => d,
                Ok(None) => return,
                Err(e) => {
                    log::debug!("VRRP socket: {e}");
                    return;
                }
            };
            let rx = Received { src: dgram.src, dst: dgram.dst, ttl: dgram.ttl, payload: dgram.payload };
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

    /// Link or address changed: bring the core in line with the interface, and put back
    /// VIPs someone removed while we are master.
    fn sync_link(&mut self, now: Instant) -> Result<()> {
        let link = self.nl.link(&self.cfg.interface)?;
        match &link {
            Some(l) if l.running => {
                if l.index != self.iface.index {
                    // Deleted and re-created: a socket bound to the old index hears nothing.
                    log::info!(
                        "interface {} was re-created (index {} → {})",
                        self.cfg.interface,
                        self.iface.index,
                        l.index
                    );
                    self.sock = VrrpSocket::open(&self.cfg.interface, l.index, self.cfg.multicast())?;
                    let old = self.iface.index;
                    for ix in self.vip_ifindex.iter_mut().filter(|ix| **ix == old) {
                        *ix = l.index;
                    }
                    self.iface = Iface { index: l.index, mac: l.mac };
                    self.announce_source();
                }
                self.core.handle(Event::LinkUp, now);
            }
            _ => self.core.handle(Event::LinkDown, now),
        }
        self.execute()?;
        if self.core.state() == State::Master {
            let present: Vec<IpAddr> = self.nl.addrs()?.into_iter().map(|a| a.addr).collect();
            let missing: Vec<usize> =
                (0..self.cfg.virtual_ips.len()).filter(|i| !present.contains(&self.cfg.virtual_ips[*i].addr)).collect();
            for i in &missing {
                log::warn!("VIP {} was removed while we are master; adding it back", self.cfg.virtual_ips[*i]);
            }
            if !missing.is_empty() {
                self.add_vips(&missing);
            }
        }
        Ok(())
    }

    fn execute(&mut self) -> Result<()> {
        while let Some(a) = self.core.poll_action() {
            match a {
                Action::SendAdvert { priority } => self.send_advert(priority),
                Action::AddVips => {
                    let all: Vec<usize> = (0..self.cfg.virtual_ips.len()).collect();
                    self.add_vips(&all);
                }
                Action::RemoveVips => self.remove_vips(),
                Action::Gratuitous => self.gratuitous(),
                Action::Transition { from, to, reason } => {
                    log::info!("(VI_1) {from} -> {to}: {reason}");
                    self.notifier.run(to.name(), self.cfg.priority);
                    self.write_status();
                }
                Action::AddressListMismatch { from } => {
                    log::warn!("(VI_1) advert from {from} lists other virtual addresses than ours; check KEEPALIVED_VIRTUAL_IPS on both nodes")
                }
            }
        }
        Ok(())
    }

    fn send_advert(&mut self, priority: u8) {
        let p = self.core.params();
        let Some(addrs) = AddrList::new(p.family, &self.advertised) else { return };
        let repr =
            Repr { version: p.version, vrid: p.vrid, priority, interval_cs: p.advert_int_cs, auth: p.auth, addrs };
        let src = self.cfg.unicast_src_ip;
        let dsts: Vec<IpAddr> =
            if self.cfg.multicast() { vec![IpAddr::V4(wire::MULTICAST_V4)] } else { self.cfg.unicast_peers.clone() };
        let mut buf = [0u8; 1500];
        let mut failed = vec![];
        for dst in dsts {
            let pseudo = match (src, self.cfg.v3_checksum_as_v2) {
                (Some(src), false) => Pseudo::Ip { src, dst },
                _ => Pseudo::None,
            };
            let n = repr.emit(&mut buf, pseudo);
            if let Err(e) = self.sock.send(&buf[..n], src, dst) {
                failed.push((dst, e));
            }
        }
        for (dst, e) in failed {
            if self.may_log("send", Instant::now()) {
                log::warn!("sending advert to {dst}: {e}");
            }
        }
    }

    fn vip_change(&self, i: usize) -> AddrChange {
        let v = &self.cfg.virtual_ips[i];
        AddrChange { ifindex: self.vip_ifindex[i], addr: v.addr, prefix: v.prefix, label: v.label.clone() }
    }

    /// Add VIPs `which` in one batch, then log (after, so logging never slows a takeover).
    fn add_vips(&mut self, which: &[usize]) {
        let changes: Vec<AddrChange> = which.iter().map(|i| self.vip_change(*i)).collect();
        let results = self.nl.add_addrs(&changes);
        self.log_changes("added", which, results);
    }

    fn remove_vips(&mut self) {
        let all: Vec<usize> = (0..self.cfg.virtual_ips.len()).collect();
        let changes: Vec<AddrChange> = all.iter().map(|i| self.vip_change(*i)).collect();
        let results = self.nl.del_addrs(&changes);
        self.log_changes("removed", &all, results);
    }

    /// One line for the VIPs that changed, one per failure.
    fn log_changes(&self, verb: &str, which: &[usize], results: Vec<Result<()>>) {
        let mut done = vec![];
        for (i, r) in which.iter().zip(results) {
            match r {
                Ok(()) => done.push(self.cfg.virtual_ips[*i].to_string()),
                Err(e) => log::error!("{e:#}"),
            }
        }
        match done.len() {
            0 => {}
            1 => log::info!("{verb} VIP {}", done[0]),
            n => log::info!("{verb} {n} VIPs: {}", done.join(", ")),
        }
    }

    fn gratuitous(&mut self) {
        let (Some(g), Some(mac)) = (&self.garp, self.iface.mac) else { return };
        for _ in 0..GARP_BURST {
            for (i, v) in self.cfg.virtual_ips.iter().enumerate() {
                if let IpAddr::V4(a) = v.addr {
                    if let Err(e) = g.send(self.vip_ifindex[i], mac, a) {
                        log::debug!("gratuitous ARP for {a}: {e}");
                    }
                }
            }
        }
    }

    /// A re-created interface has a new MAC, and peers still send our adverts' replies and
    /// their own adverts to the old one until their ARP entry expires (tens of seconds):
    /// long enough to time out and take a duplicate VIP. One gratuitous ARP for our source
    /// address updates their entries at once (what the kernel's `arp_notify=1` would do).
    fn announce_source(&mut self) {
        let (Some(g), Some(mac), Some(IpAddr::V4(src))) = (&self.garp, self.iface.mac, self.cfg.unicast_src_ip) else {
            return;
        };
        if let Err(e) = g.send(self.iface.index, mac, src) {
            log::debug!("gratuitous ARP for {src}: {e}");
        }
    }

    fn status_json(&self) -> serde_json::Value {
        let c = self.core.counters();
        serde_json::json!({
            "pid": std::process::id(),
            "state": self.core.state().name(),
            "interface": self.cfg.interface,
            "interface_present": self.iface_exists(),
            "priority": self.cfg.priority,
            "master": self.core.last_master().map(|m| m.to_string()),
            "peers": self.cfg.unicast_peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "virtual_ips": self.cfg.virtual_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "adverts_received": c.received,
            "adverts_sent": c.sent,
            "transitions": c.transitions,
            "dropped": c.dropped,
            "uptime_s": self.started.elapsed().as_secs(),
            "updated_unix": status::now_unix(),
        })
    }

    fn iface_exists(&self) -> bool {
        std::path::Path::new("/sys/class/net").join(&self.cfg.interface).exists()
    }

    fn write_status(&mut self) {
        self.next_status = Instant::now() + status::REFRESH;
        let value = self.status_json();
        if let Err(e) = self.state_file.write(&value) {
            if self.may_log("status", Instant::now()) {
                log::debug!("state file {}: {e}", self.cfg.state_file.display());
            }
        }
    }

    fn log_status(&mut self) {
        log::info!("status: {}", self.status_json());
        self.write_status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{from_env, HostIface};

    #[test]
    fn vips_beyond_255_are_managed_but_not_advertised() {
        let host = HostView {
            interfaces: vec![HostIface { index: 2, name: "eth0".into(), addrs: vec!["198.18.0.1".parse().unwrap()] }],
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
