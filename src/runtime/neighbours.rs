//! What an instance tells its neighbours and asks them: gratuitous ARPs and unsolicited
//! neighbour advertisements for its VIPs and its advert source, and — while it resumes with
//! VIPs found at start — probes for another holder and the answers the loop's watches hear.

use std::net::IpAddr;
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Instant;

use super::driver::Driver;
use super::shared::Io;
use crate::net::arp;
use crate::net::ndisc::{self, forwarding};
use crate::net::netlink::AddrChange;
use crate::vrrp::Event;

impl Driver {
    /// One gratuitous ARP (or unsolicited NA) for each VIP in `which` (indexes, as the
    /// announcer counts them).
    pub(super) fn announce(&mut self, which: Range<usize>, io: &Io) {
        let Some(f) = io.frames else { return };
        let router = self.cfg.ipv6() && forwarding(&self.links.main.name);
        for (v, ifindex) in self.vips.iter().skip(which.start).take(which.len()) {
            // A VIP on another interface (`dev`) is announced with that interface's MAC: the
            // neighbours there must send to it, not to the advert interface's.
            let Some(mac) = self.links.mac_of(ifindex) else { continue };
            let sent = match v.addr {
                IpAddr::V4(a) => f.gratuitous(ifindex, mac, a),
                IpAddr::V6(a) => f.unsolicited_na(ifindex, mac, a, router),
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
    pub(super) fn announce_source(&mut self, io: &Io) {
        let main = &self.links.main;
        let (Some(f), Some(mac), Some(src)) = (io.frames, main.mac, self.links.advert_source) else {
            return;
        };
        let sent = match src {
            IpAddr::V4(a) => f.gratuitous(main.index, mac, a),
            IpAddr::V6(a) => f.unsolicited_na(main.index, mac, a, forwarding(&main.name)),
        };
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
            let sent = match a.addr {
                IpAddr::V4(ip) => f.arp_probe(a.ifindex, mac, ip),
                IpAddr::V6(ip) => f.dad_probe(a.ifindex, mac, ip),
            };
            if let Err(e) = sent {
                log::debug!("probe for {}: {e}", a.addr);
            }
        }
    }

    /// An ARP frame or neighbour advertisement while resuming: another host speaking for
    /// one of our VIPs holds it.
    pub fn heard(&mut self, ip: IpAddr, sender_mac: [u8; 6], now: Instant, io: &mut Io) {
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
        }
    }
}

/// ARP frames and neighbour advertisements in, open only while an instance resumes: who
/// else answers for its VIPs.
#[derive(Default)]
pub(super) struct Watches {
    arp: Option<arp::Watch>,
    nd: Option<ndisc::Watch>,
}

impl Watches {
    /// Listen for the families of `found` (before the probes go out, so no answer is missed).
    pub fn open_for(&mut self, found: &[AddrChange]) {
        if found.iter().any(|a| a.addr.is_ipv4()) && self.arp.is_none() {
            match arp::Watch::open() {
                Ok(w) => self.arp = Some(w),
                Err(e) => log::debug!("no ARP probe while resuming (packet socket: {e})"),
            }
        }
        if found.iter().any(|a| a.addr.is_ipv6()) && self.nd.is_none() {
            match ndisc::Watch::open() {
                Ok(w) => self.nd = Some(w),
                Err(e) => log::debug!("no neighbour probe while resuming (packet socket: {e})"),
            }
        }
    }

    pub fn close(&mut self) {
        *self = Watches::default();
    }

    pub fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        [self.arp.as_ref().map(AsFd::as_fd), self.nd.as_ref().map(AsFd::as_fd)].into_iter().flatten()
    }

    /// What the watches heard: an address and the MAC that speaks for it (bounded per turn).
    pub fn heard(&self) -> Vec<(IpAddr, [u8; 6])> {
        let mut heard = vec![];
        if let Some(w) = &self.arp {
            for _ in 0..64 {
                match w.recv() {
                    Ok(Some(r)) => heard.push((IpAddr::V4(r.sender_ip), r.sender_mac)),
                    Ok(None) => break,
                    Err(e) => {
                        log::debug!("ARP watch: {e}");
                        break;
                    }
                }
            }
        }
        if let Some(w) = &self.nd {
            for _ in 0..64 {
                match w.recv() {
                    // A holder's answer carries its MAC in the option; the frame's source is
                    // the same on an Ethernet link.
                    Ok(Some(r)) => heard.push((IpAddr::V6(r.target), r.target_mac.unwrap_or(r.src_mac))),
                    Ok(None) => break,
                    Err(e) => {
                        log::debug!("neighbour watch: {e}");
                        break;
                    }
                }
            }
        }
        heard
    }
}
