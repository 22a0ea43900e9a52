//! The loop's side of early failover (`vrrp::early`): the cores ask to probe the master
//! they follow; the loop listens first (ARP / ND watches), sends one probe per master
//! address however many instances follow it, naming them (VRID, priority) in IPv4 probes,
//! and hands every answer to every core, and every other host's probe naming a core's
//! VRID to that core.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::driver::Driver;
use super::Runtime;
use crate::vrrp::Event;
use crate::wire::arp;

/// Instances following one master ask within microseconds of each other; a round's next
/// probe is 25 ms later. One probe per address and interface within this.
const SAME_PROBE: Duration = Duration::from_millis(10);

/// Probes sent lately: (interface index, address, when).
#[derive(Default)]
pub(super) struct RecentProbes(Vec<(u32, IpAddr, Instant)>);

impl RecentProbes {
    /// Whether a probe for `ip` on `ifindex` is due now (none went out within `SAME_PROBE`).
    pub fn first(&mut self, ifindex: u32, ip: IpAddr, now: Instant) -> bool {
        self.0.retain(|(_, _, at)| now.saturating_duration_since(*at) < SAME_PROBE);
        if self.0.iter().any(|(i, a, _)| *i == ifindex && *a == ip) {
            return false;
        }
        self.0.push((ifindex, ip, now));
        true
    }
}

impl Runtime {
    /// The probes the cores asked for this turn, after the watches are open for them.
    pub(super) fn probe_masters(&mut self, now: Instant) {
        if self.drivers.iter().all(|d| d.master_probes.is_empty()) {
            return;
        }
        let (v4, v6) = self.listening_for_masters(now);
        self.watches.open(v4, v6);
        let followers: Vec<Follower> = self
            .drivers
            .iter()
            .filter_map(|d| {
                let core = d.core();
                core.probed_master().map(|m| (d.links.main.index, m, d.cfg.router_id, core.priority()))
            })
            .collect();
        for d in &mut self.drivers {
            d.send_master_probes(&mut self.recent_probes, &followers, &self.shared.io(d.sock), now);
        }
    }

    /// Another host's ARP probe for `master`, from `mac`, naming backups in `tag`: each
    /// instance of a named VRID hears of its rival (the core ignores one that follows
    /// another master or ranks below it).
    pub(super) fn rival_probe(&mut self, master: IpAddr, mac: [u8; 6], tag: [u8; 6], now: Instant) {
        for d in &mut self.drivers {
            if d.links.main.mac == Some(mac) {
                continue; // ours, heard on another interface
            }
            let vrid = d.cfg.router_id;
            for (_, priority) in arp::backups_in(tag).filter(|p| p.0 == vrid) {
                d.handle(Event::RivalProbing { master, priority }, now, &mut self.shared.io(d.sock));
            }
        }
    }

    /// Whether an instance wants answers from a master's host now (per family).
    pub(super) fn listening_for_masters(&self, now: Instant) -> (bool, bool) {
        let wanted = self.drivers.iter().filter_map(|d| d.listening(now));
        wanted.fold((false, false), |(a, b), ip| (a || ip.is_ipv4(), b || ip.is_ipv6()))
    }
}

/// An instance following a master: its interface's index, the master, its VRID and priority.
type Follower = (u32, IpAddr, u8, u8);

impl Driver {
    fn send_master_probes(
        &mut self,
        recent: &mut RecentProbes,
        all: &[Follower],
        io: &super::shared::Io,
        now: Instant,
    ) {
        let main = &self.links.main;
        let addrs = std::mem::take(&mut self.master_probes);
        let (Some(f), Some(mac)) = (io.frames, main.mac) else { return };
        for addr in addrs {
            if recent.first(main.index, addr, now) {
                let sent = match addr {
                    IpAddr::V4(v4) => {
                        let named = all.iter().filter(|f| f.0 == main.index && f.1 == addr).map(|f| (f.2, f.3));
                        f.arp_probe(main.index, mac, v4, arp::backups_tag(named))
                    }
                    // A neighbour solicitation has no field to spare: IPv6 backups keep
                    // the ordering delay alone.
                    IpAddr::V6(_) => f.probe(main.index, mac, addr),
                };
                if let Err(e) = sent {
                    log::debug!("({}) probe for master {addr}: {e}", self.cfg.name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_probe_per_address_and_interface_at_a_time() {
        let t0 = Instant::now();
        let (a, b): (IpAddr, IpAddr) = ("198.18.0.1".parse().unwrap(), "198.18.0.2".parse().unwrap());
        let mut r = RecentProbes::default();
        assert!(r.first(2, a, t0));
        assert!(!r.first(2, a, t0 + Duration::from_millis(1)), "a second instance following the same master");
        assert!(r.first(3, a, t0), "another interface");
        assert!(r.first(2, b, t0), "another master");
        assert!(r.first(2, a, t0 + SAME_PROBE), "the round's next probe");
    }
}
