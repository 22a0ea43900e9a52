//! The instance's VIPs in the kernel: add, remove, repair, and stale cleanup at start.
//! `held` records whether we may have addresses on the host, so every way out of the
//! runtime (its `Drop`) can remove them.

use std::net::IpAddr;

use anyhow::Result;

use crate::config::Vip;
use crate::net::netlink::{Addr, AddrChange, Netlink};

pub struct VipSet {
    vips: Vec<Vip>,
    /// Interface index per VIP (its `dev` or the instance's interface).
    ifindex: Vec<u32>,
    /// The instance's interface, for VIPs without `dev`.
    iface: String,
    held: bool,
}

impl VipSet {
    pub fn new(vips: Vec<Vip>, ifindex: Vec<u32>, iface: &str) -> Self {
        VipSet { vips, ifindex, iface: iface.to_string(), held: false }
    }

    pub fn held(&self) -> bool {
        self.held
    }

    /// Resuming with VIPs found at start: they are ours to remove from now on.
    pub fn mark_held(&mut self) {
        self.held = true;
    }

    /// A VIP found on the host exactly where this set would add it (address, prefix and
    /// interface): our own, left by a crash.
    pub fn in_place(&self, a: &AddrChange) -> bool {
        self.iter().any(|(v, ix)| v.addr == a.addr && v.prefix == a.prefix && ix == a.ifindex)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Vip, u32)> {
        self.vips.iter().zip(self.ifindex.iter().copied())
    }

    /// An interface was re-created with a new index.
    pub fn remap(&mut self, old: u32, new: u32) {
        for ix in self.ifindex.iter_mut().filter(|ix| **ix == old) {
            *ix = new;
        }
    }

    fn change(&self, i: usize) -> AddrChange {
        let v = &self.vips[i];
        let ifname = v.dev.clone().unwrap_or_else(|| self.iface.clone());
        AddrChange { ifindex: self.ifindex[i], ifname, addr: v.addr, prefix: v.prefix, label: v.label.clone() }
    }

    pub fn add_all(&mut self, nl: &mut Netlink) {
        let all: Vec<usize> = (0..self.vips.len()).collect();
        self.add(nl, &all);
    }

    /// Add VIPs `which` in one batch, then log (after, so logging never slows a takeover).
    pub fn add(&mut self, nl: &mut Netlink, which: &[usize]) {
        self.held = true;
        let changes: Vec<AddrChange> = which.iter().map(|i| self.change(*i)).collect();
        let results = nl.add_addrs(&changes);
        self.log_changes("added", which, results);
    }

    pub fn remove_all(&mut self, nl: &mut Netlink) {
        let all: Vec<usize> = (0..self.vips.len()).collect();
        let changes: Vec<AddrChange> = all.iter().map(|i| self.change(*i)).collect();
        let results = nl.del_addrs(&changes);
        if results.iter().all(Result::is_ok) {
            self.held = false;
        }
        self.log_changes("removed", &all, results);
    }

    /// VIPs not on their interface (someone removed them while we are master).
    pub fn missing(&self, present: &[Addr]) -> Vec<usize> {
        (0..self.vips.len())
            .filter(|i| !present.iter().any(|a| a.addr == self.vips[*i].addr && a.ifindex == self.ifindex[*i]))
            .collect()
    }

    /// A reload changed the VIPs: while held, the removed ones leave the host and the new
    /// ones are added; those kept are not touched. How many were added and removed.
    pub fn replace(&mut self, vips: Vec<Vip>, ifindex: Vec<u32>, nl: &mut Netlink) -> (usize, usize) {
        let same = |a: &Vip, b: &Vip| a.addr == b.addr && a.prefix == b.prefix && a.dev == b.dev;
        let gone: Vec<usize> = (0..self.vips.len()).filter(|i| !vips.iter().any(|v| same(v, &self.vips[*i]))).collect();
        if self.held && !gone.is_empty() {
            let changes: Vec<AddrChange> = gone.iter().map(|i| self.change(*i)).collect();
            let results = nl.del_addrs(&changes);
            self.log_changes("removed", &gone, results);
        }
        let new: Vec<usize> = (0..vips.len()).filter(|i| !self.vips.iter().any(|v| same(v, &vips[*i]))).collect();
        self.vips = vips;
        self.ifindex = ifindex;
        if self.held && !new.is_empty() {
            self.add(nl, &new);
        }
        (new.len(), gone.len())
    }

    pub fn get(&self, i: usize) -> &Vip {
        &self.vips[i]
    }

    /// One line for the VIPs that changed, one per failure.
    fn log_changes(&self, verb: &str, which: &[usize], results: Vec<Result<()>>) {
        let mut done = vec![];
        for (i, r) in which.iter().zip(results) {
            match r {
                Ok(()) => done.push(self.vips[*i].to_string()),
                Err(e) => log::error!("{e:#}"),
            }
        }
        match done.len() {
            0 => {}
            1 => log::info!("{verb} VIP {}", done[0]),
            n => log::info!("{verb} {n} VIPs: {}", done.join(", ")),
        }
    }
}

/// Addresses a crash or SIGKILL left behind: exactly what keepvip would have added (same
/// address and prefix), never `keep` (the advert source, which config already refused as a
/// VIP). A host address that only shares the VIP's address is not ours to remove.
pub fn stale(present: &[Addr], vips: &[Vip], keep: Option<IpAddr>, name: impl Fn(u32) -> String) -> Vec<AddrChange> {
    present
        .iter()
        .filter(|a| Some(a.addr) != keep && vips.iter().any(|v| v.addr == a.addr && v.prefix == a.prefix))
        .map(|a| AddrChange {
            ifindex: a.ifindex,
            ifname: name(a.ifindex),
            addr: a.addr,
            prefix: a.prefix,
            label: None,
        })
        .collect()
}

/// Remove stale VIPs, with one log line each.
pub fn remove_stale(nl: &mut Netlink, stale: &[AddrChange]) -> Result<()> {
    for a in stale {
        log::info!("removing stale VIP {}/{} from {} before starting", a.addr, a.prefix, a.ifname);
    }
    nl.del_addrs(stale).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ifindex: u32, s: &str) -> Addr {
        let (a, p) = s.split_once('/').unwrap();
        Addr { ifindex, addr: a.parse().unwrap(), prefix: p.parse().unwrap() }
    }

    #[test]
    fn stale_is_only_what_we_would_have_added() {
        let vips =
            vec![crate::config::vip::parse("198.18.0.100").unwrap(), crate::config::vip::parse("198.18.0.1").unwrap()];
        let present = [addr(2, "198.18.0.1/24"), addr(2, "198.18.0.100/32"), addr(3, "198.18.0.100/24")];
        let name = |ix: u32| format!("if{ix}");
        let s = stale(&present, &vips, None, name);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!((s[0].addr.to_string(), s[0].prefix, s[0].ifindex), ("198.18.0.100".into(), 32, 2));
        // Never the advert source, even with the VIP's exact prefix.
        let vips = vec![crate::config::vip::parse("198.18.0.1/24").unwrap()];
        assert!(stale(&present, &vips, Some("198.18.0.1".parse().unwrap()), name).is_empty());
    }
}
