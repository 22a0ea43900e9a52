//! What an instance tells its neighbours and asks them: gratuitous ARPs and unsolicited
//! neighbour advertisements for its VIPs and its advert source, probes for another holder —
//! while it resumes with VIPs found at start, and while it is master (`conflicts.rs`) — and
//! the answers the loop's watches hear.

use crate::wire::ethernet::mac_string;
use std::net::IpAddr;
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

/// How long a conflict's report waits for the peers' answers (their MACs name the holder).
const REPORT_AFTER: Duration = Duration::from_millis(200);
/// How long a master that stepped down waits for its successor's MAC.
pub(super) const SUCCESSOR_WAIT: Duration = Duration::from_secs(3);

use super::conflicts::Out;
use super::driver::Driver;
use super::shared::Io;
use crate::net::ndisc::{self, forwarding};
use crate::net::netlink::AddrChange;
use crate::net::{adverts, arp};
use crate::vrrp::Event;

impl Driver {
    /// We no longer hold the VIPs and `master` does: learn its MAC (a probe; its frames)
    /// to announce them there (`announce_for_successor`).
    pub(super) fn await_successor(&mut self, master: IpAddr) {
        self.successor = Some((master, Instant::now() + SUCCESSOR_WAIT));
        self.master_probes.push(master);
    }

    /// One gratuitous ARP (or unsolicited NA) for each VIP in `which` (indexes, as the
    /// announcer counts them).
    pub(super) fn announce(&mut self, which: Range<usize>, io: &Io) {
        let Some(f) = io.frames else { return };
        let router = self.cfg.ipv6() && forwarding(&self.links.main.name);
        for (v, ifindex) in self.vips.iter().skip(which.start).take(which.len()) {
            // A VIP on another interface (`dev`) is announced with that interface's MAC: the
            // neighbours there must send to it, not to the advert interface's.
            let Some(mac) = self.links.mac_of(ifindex) else { continue };
            let sent = f.announce(ifindex, mac, mac, v.addr, router);
            if let Err(e) = sent {
                log::debug!("announcing {}: {e}", v.addr);
            }
        }
    }

    /// keepalived's `garp_extra_if` (see `Config::garp_extra_if`): one VIP announced on each
    /// interface of the VIPs but the instance's own (and on the VMAC too when adverts leave
    /// from the base interface), so switches keep learning those MACs.
    pub(super) fn announce_extra_interfaces(&mut self, io: &Io) {
        let Some(f) = io.frames else { return };
        if self.cfg.garp_extra_if().is_none() {
            return;
        }
        // The VMAC's name: the runtime placed the VIPs on it (their `dev`).
        let own = self.cfg.own_interface().to_string();
        let xmit_base = self.cfg.vmac.as_ref().is_some_and(|v| v.xmit_base);
        let router = self.cfg.ipv6() && forwarding(&self.links.main.name);
        let mut done: Vec<u32> = vec![];
        for (v, ifindex) in self.vips.iter() {
            let name = v.dev.as_deref().unwrap_or(&self.cfg.interface);
            if done.contains(&ifindex) || (name == own && !xmit_base) {
                continue;
            }
            done.push(ifindex);
            let Some(mac) = self.links.mac_of(ifindex) else { continue };
            if let Err(e) = f.announce(ifindex, mac, mac, v.addr, router) {
                log::debug!("announcing {} on {name}: {e}", v.addr);
            }
        }
    }

    /// We stepped down for `winner` (at `mac`: from its answer to our probe, or from its
    /// adverts seen as frames when our direction is still cut), or dropped VIPs found at
    /// start because `winner` is master or answers for them. Clients that followed our
    /// announcements send to our MAC until their ARP entry expires, tens of seconds, unless
    /// told. The winner re-announces when it heard us claim the VIP (a forced election), but
    /// not when a partition healed only in its direction: it never heard us. So we announce
    /// each VIP on our interface at the winner's MAC, on its behalf (from our MAC, so
    /// switches keep learning each MAC on its own port): the winner holds the VIPs now.
    fn announce_for_successor(&mut self, winner: IpAddr, mac: [u8; 6], io: &Io) {
        let main = &self.links.main;
        let (Some(f), Some(ours)) = (io.frames, main.mac) else { return };
        if mac == ours {
            return;
        }
        let router = self.cfg.ipv6() && forwarding(&main.name);
        let mut told = vec![];
        for (v, ifindex) in self.vips.iter().filter(|(_, ix)| *ix == main.index) {
            let sent = f.announce(ifindex, ours, mac, v.addr, router);
            match sent {
                Ok(()) => told.push(v.addr.to_string()),
                Err(e) => log::debug!("announcing {} for {winner}: {e}", v.addr),
            }
        }
        if !told.is_empty() {
            log::info!(
                "({}) announced {} at {winner}'s MAC {}: clients that still send to us move to it now",
                self.cfg.name,
                told.join(", "),
                mac_string(mac)
            );
        }
    }

    /// A re-created interface has a new MAC, and peers still send our adverts' replies and
    /// their own adverts to the old one until their ARP entry expires (tens of seconds):
    /// long enough to time out and take a duplicate VIP. One gratuitous ARP for our source
    /// address updates their entries at once (what the kernel's `arp_notify=1` would do).
    pub(super) fn announce_source(&mut self, io: &Io) {
        let main = &self.links.main;
        let (Some(f), Some(mac), Some(src)) = (io.frames, main.mac, self.links.advert_source) else {
            return;
        };
        let sent = f.announce(main.index, mac, mac, src, src.is_ipv6() && forwarding(&main.name));
        if let Err(e) = sent {
            log::debug!("announcing {src}: {e}");
        }
    }

    /// Resuming with `found` in place: ask whether another host answers for them (the
    /// loop's ARP and ND watches hear the answers).
    pub fn probe_for_holders(&self, found: &[AddrChange], io: &Io) {
        let main = &self.links.main;
        let (Some(f), Some(mac)) = (io.frames, main.mac) else { return };
        for a in found.iter().filter(|a| a.ifindex == main.index) {
            let sent = f.probe(a.ifindex, mac, a.addr);
            if let Err(e) = sent {
                log::debug!("probe for {}: {e}", a.addr);
            }
        }
    }

    /// An ARP frame or neighbour advertisement: while resuming, another host speaking for
    /// one of our VIPs holds it; while master, it holds it beside us (a conflict). A peer's
    /// own frames tell its MAC, for naming it in a conflict.
    pub fn heard(&mut self, ip: IpAddr, sender_mac: [u8; 6], unsolicited: bool, now: Instant, io: &mut Io) {
        // Early failover: the followed master's host is alive.
        self.handle(Event::NeighbourAnswered(ip), now, io);
        if self.handover.is_some() {
            self.handover_heard(ip, sender_mac, io);
        }
        if let Some((winner, until)) = self.successor.filter(|s| s.0 == ip) {
            self.successor = None;
            if now < until {
                self.announce_for_successor(winner, sender_mac, io);
            }
        }
        if self.cfg.unicast_peers.contains(&ip) {
            self.stats.peer_mac(ip, sender_mac);
        }
        if self.conflicts.watching() {
            let ours = self.links.macs();
            let outs = self.conflicts.heard(ip, sender_mac, unsolicited, &ours, now);
            self.on_conflicts(outs, io);
            return;
        }
        if !self.is_resuming() || Some(sender_mac) == self.links.main.mac {
            return;
        }
        if self.cfg.virtual_ips.iter().any(|v| v.addr == ip) {
            let mac = sender_mac.map(|b| format!("{b:02x}")).join(":");
            let how = if ip.is_ipv4() { "ARP" } else { "neighbour discovery" };
            log::info!(
                "({}) {mac} answers {how} for {ip}: another node holds it, so the copy found at start is stale",
                self.cfg.name
            );
            self.handle(Event::HeldElsewhere(ip), now, io);
            // Clients may have followed our announcements before the crash: to the holder.
            self.announce_for_successor(ip, sender_mac, io);
        }
    }
}

impl Driver {
    /// Carry out what the conflict watch asks: report, probe, announce again.
    pub(super) fn on_conflicts(&mut self, outs: Vec<Out>, io: &mut Io) {
        for o in outs {
            match o {
                Out::Found { vip, mac } => {
                    // A peer not heard yet may be the holder: ask the peers' MACs first
                    // (they answer a probe for their own address) and report a moment later.
                    if self.stats.peer_of(mac).is_none() && !self.cfg.unicast_peers.is_empty() {
                        self.probe_peers(io);
                        self.pending_reports.push((vip, mac, Instant::now() + REPORT_AFTER));
                    } else {
                        self.report_conflict(vip, mac);
                    }
                    self.changed = true;
                }
                Out::Gone { vip, mac } => {
                    log::info!(
                        "({}) {} no longer answers for VIP {}: announcing it again so clients come back",
                        self.cfg.name,
                        mac_string(mac),
                        self.cfg.virtual_ips[vip].addr
                    );
                    self.changed = true;
                }
                Out::Reannounce(vip) => self.announce(vip..vip + 1, io),
                Out::Probe(which) => self.probe(&which, io),
            }
        }
    }

    /// Conflicts whose report waited for the peers' MACs.
    pub(super) fn report_pending(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) = self.pending_reports.drain(..).partition(|(_, _, at)| *at <= now);
        self.pending_reports = later;
        for (vip, mac, _) in due {
            self.report_conflict(vip, mac);
        }
    }

    fn probe_peers(&self, io: &Io) {
        let main = &self.links.main;
        let (Some(f), Some(mac)) = (io.frames, main.mac) else { return };
        for p in &self.cfg.unicast_peers {
            let sent = f.probe(main.index, mac, *p);
            if let Err(e) = sent {
                log::debug!("probe for peer {p}: {e}");
            }
        }
    }

    /// One line per conflict, naming the holder: a configured peer (a split brain) or not.
    fn report_conflict(&self, vip: usize, mac: [u8; 6]) {
        let ip = self.cfg.virtual_ips[vip].addr;
        let who = match self.stats.peer_of(mac) {
            Some(peer) => format!(
                "that is peer {peer}, which holds the VIP without being heard here (VRRP blocked between the nodes? a different password, router id or advert interval?)"
            ),
            None => "another host (a static address, a cloned VM, a node killed with the VIP left on it?)".into(),
        };
        log::warn!(
            "({}) VIP {ip} is also answered by {}: {who}; clients may reach either node until it is gone (counted as conflicts; keepvip --status)",
            self.cfg.name,
            mac_string(mac)
        );
    }

    /// ARP probes (IPv4) or duplicate-address probes (IPv6) for VIPs `which`: a holder answers.
    fn probe(&self, which: &[usize], io: &Io) {
        let Some(f) = io.frames else { return };
        for &i in which {
            let Some((v, ifindex)) = self.vips.iter().nth(i) else { continue };
            let Some(mac) = self.links.mac_of(ifindex) else { continue };
            let sent = f.probe(ifindex, mac, v.addr);
            if let Err(e) = sent {
                log::debug!("probe for {}: {e}", v.addr);
            }
        }
    }

    /// Current conflicts as `--status` shows them.
    pub(super) fn conflict_lines(&self) -> Vec<String> {
        self.conflicts
            .conflicts()
            .iter()
            .map(|c| {
                let peer = self.stats.peer_of(c.mac).map_or(String::new(), |p| format!(" (peer {p})"));
                format!("{} also answered by {}{peer}", self.cfg.virtual_ips[c.vip].addr, mac_string(c.mac))
            })
            .collect()
    }
}

/// ARP frames and neighbour advertisements in, open while an instance resumes or is
/// master: who else answers for its VIPs.
/// An address heard, the MAC that speaks for it, and whether it spoke unprompted.
pub(super) type Heard = (IpAddr, [u8; 6], bool);
/// Another host's ARP probe: the probed address, the prober's MAC, the target hardware
/// address (keepvip's names the backups that ask: `wire::arp::backups_tag`).
pub(super) type Probe = (IpAddr, [u8; 6], [u8; 6]);

#[derive(Default)]
pub(super) struct Watches {
    /// The ARP and ND watches are paused rather than closed (`false`): closing a packet
    /// socket stalls the turn for an RCU grace period (see `frames::set_receiving`).
    arp: Option<(arp::Watch, bool)>,
    nd: Option<(ndisc::Watch, bool)>,
    /// Adverts with their MACs, while a master that stepped down waits for its successor's.
    /// Closed when done: a paused ETH_P_ALL socket would still cost the host a clone of
    /// every frame it sends.
    adverts: Option<adverts::Watch>,
}

impl Watches {
    /// Listen for the families of `found` (before the probes go out, so no answer is missed).
    pub fn open_for(&mut self, found: &[AddrChange]) {
        self.open(found.iter().any(|a| a.addr.is_ipv4()), found.iter().any(|a| a.addr.is_ipv6()));
    }

    pub fn is_open(&self) -> bool {
        self.arp.as_ref().is_some_and(|w| w.1) || self.nd.as_ref().is_some_and(|w| w.1) || self.adverts.is_some()
    }

    /// Hear adverts with their MACs (`on`), or stop.
    pub fn adverts(&mut self, on: bool) {
        match (on, self.adverts.is_some()) {
            (true, false) => match adverts::Watch::open() {
                Ok(w) => self.adverts = Some(w),
                Err(e) => log::debug!("no advert watch (packet socket: {e})"),
            },
            (false, true) => self.adverts = None,
            _ => {}
        }
    }

    pub fn open(&mut self, v4: bool, v6: bool) {
        if v4 {
            hear(&mut self.arp, arp::Watch::open, arp::Watch::set_receiving, "ARP");
        }
        if v6 {
            hear(&mut self.nd, ndisc::Watch::open, ndisc::Watch::set_receiving, "neighbour");
        }
    }

    /// Stop listening: the ARP and ND watches pause, the advert watch closes.
    pub fn close(&mut self) {
        pause(&mut self.arp, arp::Watch::set_receiving);
        pause(&mut self.nd, ndisc::Watch::set_receiving);
        self.adverts = None;
    }

    pub fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        [live(&self.arp), live(&self.nd), self.adverts.as_ref().map(AsFd::as_fd)].into_iter().flatten()
    }

    /// What the watches heard: an address, the MAC that speaks for it, and whether it
    /// spoke unprompted (a gratuitous ARP, an unsolicited NA); and other hosts' ARP probes
    /// (no sender address): the probed address, the prober's MAC and the probe's target
    /// hardware address (bounded per turn).
    pub fn heard(&self) -> (Vec<Heard>, Vec<Probe>) {
        let (mut heard, mut probes) = (vec![], vec![]);
        if let Some((w, true)) = &self.arp {
            for _ in 0..64 {
                match w.recv() {
                    Ok(Some(r)) if r.sender_ip.is_unspecified() => {
                        probes.push((IpAddr::V4(r.target_ip), r.sender_mac, r.target_mac))
                    }
                    Ok(Some(r)) => heard.push((IpAddr::V4(r.sender_ip), r.sender_mac, r.sender_ip == r.target_ip)),
                    Ok(None) => break,
                    Err(e) => {
                        log::debug!("ARP watch: {e}");
                        break;
                    }
                }
            }
        }
        if let Some(w) = &self.adverts {
            for _ in 0..64 {
                match w.recv() {
                    Ok(Some((ip, mac))) => heard.push((ip, mac, false)),
                    Ok(None) => break,
                    Err(e) => {
                        log::debug!("advert watch: {e}");
                        break;
                    }
                }
            }
        }
        if let Some((w, true)) = &self.nd {
            for _ in 0..64 {
                match w.recv() {
                    // A holder's answer carries its MAC in the option; the frame's source is
                    // the same on an Ethernet link.
                    Ok(Some(r)) => {
                        // The Solicited flag (0x40) is off in an unsolicited advertisement.
                        heard.push((IpAddr::V6(r.target), r.target_mac.unwrap_or(r.src_mac), r.flags & 0x40 == 0))
                    }
                    Ok(None) => break,
                    Err(e) => {
                        log::debug!("neighbour watch: {e}");
                        break;
                    }
                }
            }
        }
        (heard, probes)
    }
}

/// Open a watch, or restart a paused one (a watch that cannot restart is closed and opened
/// again).
fn hear<W>(
    w: &mut Option<(W, bool)>,
    open: fn() -> std::io::Result<W>,
    receive: fn(&W, bool) -> std::io::Result<()>,
    what: &str,
) {
    if let Some((watch, on)) = w {
        if *on {
            return;
        }
        match receive(watch, true) {
            Ok(()) => return *on = true,
            Err(e) => log::debug!("{what} watch did not restart ({e}): opening a new one"),
        }
    }
    *w = match open() {
        Ok(watch) => Some((watch, true)),
        Err(e) => {
            log::debug!("no {what} watch (packet socket: {e})");
            None
        }
    };
}

fn live<W: AsFd>(w: &Option<(W, bool)>) -> Option<BorrowedFd<'_>> {
    w.as_ref().filter(|w| w.1).map(|w| w.0.as_fd())
}

fn pause<W>(w: &mut Option<(W, bool)>, receive: fn(&W, bool) -> std::io::Result<()>) {
    if let Some((watch, on @ true)) = w {
        match receive(watch, false) {
            Ok(()) => *on = false,
            Err(_) => *w = None,
        }
    }
}
