//! A takeover's two ends, so a client's packets always find the VIP where it sends them.
//!
//! The new master announces a VIP only once the kernel delivers packets to it: an IPv6
//! address added with NODAD gets its local route from the kernel's address-configuration
//! work, a moment after the netlink ACK (`Netlink::is_local`); a client told earlier sends
//! into nothing. It asks every `READY_RETRY` (and on the next netlink event), at most
//! `READY_WAIT`.
//!
//! The old master, at the end of a planned handover (shutdown, or a fault that leaves the
//! link usable), keeps its copies until it hears the successor announce each VIP (the
//! loop's ARP and ND watches), or `HOLD` passes: clients send to its MAC until then. Both
//! nodes hold a VIP for the successor's add-and-announce (well under a millisecond for a
//! few VIPs), which no client can see; removing at the successor's advert lost what a
//! client sent meanwhile.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::driver::Driver;
use super::shared::Io;

/// Most the VIPs wait for the successor's announcements: a successor adding 1024 VIPs
/// announces them about 40 ms after its advert; one that never announces (or on a link we
/// cannot hear) costs this much overlap.
pub const HOLD: Duration = Duration::from_millis(200);
/// How often, and how long at most, a new master asks whether its IPv6 VIPs are delivered.
const READY_RETRY: Duration = Duration::from_millis(1);
const READY_WAIT: Duration = Duration::from_millis(100);

/// A takeover's announcement waiting for the kernel: the next question, and the last.
#[derive(Debug, Clone, Copy)]
pub struct ReadyWait {
    next: Instant,
    until: Instant,
}

impl ReadyWait {
    pub fn deadline(&self) -> Instant {
        self.next
    }
}

/// The VIPs not yet announced by the successor, and until when they wait.
#[derive(Debug)]
pub struct HandOver {
    to: IpAddr,
    waiting: Vec<IpAddr>,
    until: Instant,
}

impl HandOver {
    pub fn new(to: IpAddr, vips: Vec<IpAddr>, now: Instant) -> Self {
        HandOver { to, waiting: vips, until: now + HOLD }
    }

    /// `ip` spoken for from `mac`: a VIP announced by another node is handed over. Whether
    /// every VIP is.
    pub fn heard(&mut self, ip: IpAddr, mac: [u8; 6], ours: &[[u8; 6]]) -> bool {
        if !ours.contains(&mac) {
            self.waiting.retain(|v| *v != ip);
        }
        self.waiting.is_empty()
    }

    pub fn deadline(&self) -> Instant {
        self.until
    }
}

impl Driver {
    /// `Action::Gratuitous`: announce every VIP now, or once the kernel delivers them.
    pub(super) fn announce_takeover(&mut self, io: &mut Io) {
        let now = Instant::now();
        if let Some(ip) = self.undelivered(io) {
            log::debug!("({}) {ip} is not delivered here yet: announcing once it is", self.cfg.name);
            self.ready_wait = Some(ReadyWait { next: now + READY_RETRY, until: now + READY_WAIT });
            return;
        }
        self.announce_all(now, io);
    }

    fn announce_all(&mut self, now: Instant, io: &mut Io) {
        self.ready_wait = None;
        let all = self.announcer.start(self.cfg.virtual_ips.len(), now);
        self.announce(all, io);
    }

    /// A waiting announcement's turn: ask again, announce when every VIP is delivered or
    /// the wait is over.
    pub(super) fn ready_due(&mut self, now: Instant, io: &mut Io) {
        let Some(w) = self.ready_wait.filter(|w| w.next <= now) else { return };
        match self.undelivered(io) {
            Some(_) if now < w.until => self.ready_wait = Some(ReadyWait { next: now + READY_RETRY, ..w }),
            left => {
                if let Some(ip) = left {
                    log::warn!(
                        "({}) the kernel does not deliver {ip} here {} ms after adding it: announcing anyway",
                        self.cfg.name,
                        READY_WAIT.as_millis()
                    );
                }
                self.announce_all(now, io);
            }
        }
    }

    /// The first IPv6 VIP the kernel does not deliver yet (IPv4 ones are at the ACK).
    fn undelivered(&self, io: &mut Io) -> Option<IpAddr> {
        let v6 = self.vips.iter().map(|(v, _)| v.addr).filter(IpAddr::is_ipv6);
        for ip in v6 {
            match io.nl.is_local(ip) {
                Ok(true) => {}
                Ok(false) => return Some(ip),
                Err(e) => {
                    log::debug!("({}) {e:#}", self.cfg.name);
                    return None;
                }
            }
        }
        None
    }

    /// `Action::HandOverVips`: nothing more is announced or probed; the VIPs stay until the
    /// successor has announced them.
    pub(super) fn hand_over(&mut self, to: IpAddr, io: &mut Io) {
        self.stop_speaking();
        // With `use_vmac` both nodes answer from the same virtual MAC: clients have nothing
        // to learn (and the successor's frames would look like our own).
        let held: Vec<IpAddr> = self.vips.iter().map(|(v, _)| v.addr).collect();
        if !self.vips.held() || io.frames.is_none() || held.is_empty() || self.cfg.vmac.is_some() {
            return self.remove_vips(io);
        }
        self.handover = Some(HandOver::new(to, held, Instant::now()));
    }

    /// The watches heard `ip` spoken for from `mac`.
    pub(super) fn handover_heard(&mut self, ip: IpAddr, mac: [u8; 6], io: &mut Io) {
        let ours = self.links.macs();
        if let Some(h) = self.handover.take_if(|h| h.heard(ip, mac, &ours)) {
            log::debug!("({}) {} announced every VIP: removing ours", self.cfg.name, h.to);
            self.remove_vips(io);
        }
    }

    /// `HOLD` passed without every announcement.
    pub(super) fn handover_due(&mut self, now: Instant, io: &mut Io) {
        if let Some(h) = self.handover.take_if(|h| h.until <= now) {
            let left: Vec<String> = h.waiting.iter().map(ToString::to_string).collect();
            log::info!(
                "({}) {} did not announce {} within {} ms of its advert: removing them anyway",
                self.cfg.name,
                h.to,
                left.join(", "),
                HOLD.as_millis()
            );
            self.remove_vips(io);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vip_announced_from_another_mac_ends_it() {
        let now = Instant::now();
        let (a, b): (IpAddr, IpAddr) = ("198.18.0.100".parse().unwrap(), "198.18.0.101".parse().unwrap());
        let mut h = HandOver::new("198.18.0.2".parse().unwrap(), vec![a, b], now);
        let ours = [[2, 0, 0, 0, 0, 1]];
        assert!(!h.heard(a, ours[0], &ours), "our own frame is no successor's announcement");
        assert!(!h.heard(a, [2, 0, 0, 0, 0, 2], &ours));
        assert!(!h.heard("198.18.0.7".parse().unwrap(), [2, 0, 0, 0, 0, 2], &ours), "not a VIP");
        assert!(h.heard(b, [2, 0, 0, 0, 0, 2], &ours));
        assert_eq!(h.deadline(), now + HOLD);
    }
}
