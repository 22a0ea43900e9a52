//! One instance's view of the host's links: its advert interface and the others it depends
//! on (VIP `dev`s, `track_interface`), re-created interfaces, MACs, the advert source, and
//! the fault they make when one is missing.

use std::net::IpAddr;

use super::vips::VipSet;
use crate::config::host::pick_advert_source;
use crate::net::netlink::{Addr, Link};
use crate::vrrp::Fault;

/// An interface by name, with the index it had when last seen (a re-created interface gets
/// a new one) and its MAC, which announcements of VIPs there carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Iface {
    pub name: String,
    pub index: u32,
    pub mac: Option<[u8; 6]>,
}

pub(super) struct LinkWatch {
    /// The advert interface.
    pub main: Iface,
    /// Other interfaces we depend on: down or gone is a FAULT, like the main one.
    pub others: Vec<Iface>,
    /// Whether the advert interface exists (from the last look at the links).
    pub present: bool,
    /// The configured advert source (`unicast_src_ip`, or the one chosen at start).
    configured: Option<IpAddr>,
    /// The addresses the peers know us by, when only those will do (see `Config`).
    listed: Vec<IpAddr>,
    ipv6: bool,
    /// Where adverts come from now: the configured source while the host has it, else the
    /// interface's first address of the family (not a VIP). `None` is a FAULT.
    pub advert_source: Option<IpAddr>,
    /// The fault the links make, and its log line.
    pub fault: Option<(Fault, String)>,
    /// Our source address or MAC changed: one gratuitous ARP for it when the link is usable.
    pub announce_pending: bool,
    /// `dont_track_primary`: the advert interface going down is no FAULT.
    pub ignore_main_down: bool,
    /// The source was written (`unicast_src_ip`): keepalived holds the instance in FAULT
    /// until the host has it, and, with `track_src_ip`, whenever it is gone again.
    written_source: bool,
    track_source: bool,
    source_seen: bool,
}

/// What a look at the links changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Sync {
    /// The advert source moved (to `None`: no address left).
    pub new_source: Option<Option<IpAddr>>,
}

impl LinkWatch {
    pub fn new(main: Iface, others: Vec<Iface>, configured: Option<IpAddr>, listed: Vec<IpAddr>, ipv6: bool) -> Self {
        LinkWatch {
            main,
            others,
            present: true,
            configured,
            listed,
            ipv6,
            advert_source: configured,
            fault: None,
            announce_pending: false,
            ignore_main_down: false,
            written_source: false,
            track_source: false,
            source_seen: false,
        }
    }

    /// A written source (and keepalived's `track_src_ip`): see the fields.
    pub fn source_written(mut self, written: bool, tracked: bool) -> Self {
        self.written_source = written;
        self.track_source = written && tracked;
        self
    }

    pub fn ignoring_main_down(mut self, yes: bool) -> Self {
        self.ignore_main_down = yes;
        self
    }

    /// The MACs of our interfaces: frames from them are our own.
    pub fn macs(&self) -> Vec<[u8; 6]> {
        std::iter::once(&self.main).chain(&self.others).filter_map(|i| i.mac).collect()
    }

    /// The MAC of interface `ifindex`, if it is one of ours.
    pub fn mac_of(&self, ifindex: u32) -> Option<[u8; 6]> {
        std::iter::once(&self.main).chain(&self.others).find(|i| i.index == ifindex).and_then(|i| i.mac)
    }

    /// Follow re-created interfaces (their VIPs move to the new index), new MACs and the
    /// advert source; then judge the fault.
    pub fn sync(&mut self, name: &str, links: &[Link], addrs: &[Addr], vips: &mut VipSet) -> Sync {
        let find = |n: &str| links.iter().find(|l| l.name == n);
        let main = find(&self.main.name).cloned();
        self.present = main.is_some();
        if let Some(l) = &main {
            if l.index != self.main.index {
                log::info!("({name}) interface {} was re-created (index {} → {})", l.name, self.main.index, l.index);
                vips.remap(self.main.index, l.index);
                self.main.index = l.index;
                self.announce_pending = true;
            } else if l.mac != self.main.mac {
                // A new MAC on the same interface (`ip link set address`): peers' caches are stale.
                log::info!("({name}) interface {} has a new MAC", l.name);
                self.announce_pending = true;
            }
            self.main.mac = l.mac;
        }
        for t in &mut self.others {
            let Some(l) = find(&t.name) else { continue };
            if l.index != t.index {
                log::info!("interface {} (tracked) was re-created (index {} → {})", l.name, t.index, l.index);
                vips.remap(t.index, l.index);
                t.index = l.index;
            }
            t.mac = l.mac;
        }
        let is_vip = |a| vips.iter().any(|(v, _)| v.addr == a);
        let has_written = self.configured.is_some_and(|c| addrs.iter().any(|a| a.addr == c));
        self.source_seen |= has_written;
        // keepalived: a written source not yet on the host is a FAULT ("src address not
        // configured"), and with track_src_ip one that left; otherwise it sends from another.
        let missing_written = (self.written_source && !has_written && (self.track_source || !self.source_seen))
            .then_some(self.configured)
            .flatten();
        let wanted = match missing_written {
            Some(_) => None,
            None => advert_source(self.configured, &self.listed, addrs, self.main.index, self.ipv6, is_vip),
        };
        // An address the peers do not list, where only listed ones will do.
        let unlisted = if wanted.is_none() && !self.listed.is_empty() {
            advert_source(None, &[], addrs, self.main.index, self.ipv6, is_vip)
        } else {
            None
        };
        let mut out = Sync::default();
        if wanted != self.advert_source {
            match (self.advert_source, wanted) {
                (Some(old), Some(new)) => {
                    log::warn!("({name}) advert source {old} is gone from {}; sending from {new}", self.main.name)
                }
                (None, Some(new)) => log::info!("({name}) sending adverts from {new}"),
                _ => {}
            }
            self.advert_source = wanted;
            // Peers may hold a stale ARP entry for it (a re-created interface, a moved address).
            self.announce_pending = true;
            out.new_source = Some(wanted);
        }
        self.fault = self.fault_now(main.as_ref(), links, vips, unlisted, missing_written);
        out
    }

    /// What keeps the instance from running, first cause first, with its log line.
    fn fault_now(
        &self,
        main: Option<&Link>,
        links: &[Link],
        vips: &VipSet,
        unlisted: Option<IpAddr>,
        missing_written: Option<IpAddr>,
    ) -> Option<(Fault, String)> {
        let name = &self.main.name;
        match main {
            None => return Some((Fault::LinkDown, format!("interface {name} is gone: FAULT until it is back"))),
            Some(l) if !l.running && !self.ignore_main_down => {
                return Some((Fault::LinkDown, format!("interface {name} is down: FAULT until it is up")))
            }
            Some(_) => {}
        }
        for t in &self.others {
            let state = match links.iter().find(|l| l.name == t.name) {
                None => "gone",
                Some(l) if !l.running => "down",
                Some(_) => continue,
            };
            let of: Vec<String> = vips
                .iter()
                .filter(|(v, _)| v.dev.as_deref() == Some(&t.name))
                .map(|(v, _)| v.addr.to_string())
                .collect();
            let what = if of.is_empty() { "tracked".to_string() } else { format!("of VIP {}", of.join(", ")) };
            return Some((
                Fault::VipInterface,
                format!(
                    "interface {} ({what}) is {state}: FAULT until it is back, so a backup takes every VIP",
                    t.name
                ),
            ));
        }
        if let Some(src) = missing_written {
            let when = if self.track_source && self.source_seen {
                "was removed (track_src_ip)"
            } else {
                "is not on this host"
            };
            return Some((Fault::NoAddress, format!("unicast_src_ip {src} {when}: FAULT until it is back on {name}")));
        }
        if let Some(other) = unlisted.filter(|_| self.advert_source.is_none()) {
            let listed: Vec<String> = self.listed.iter().map(ToString::to_string).collect();
            return Some((
                Fault::NoAddress,
                format!(
                    "no address the peers list for this node ({}) is on this host, only {other}: FAULT until one is back (the peers would drop adverts from any other address, and both would hold the VIP)",
                    listed.join(", ")
                ),
            ));
        }
        if self.advert_source.is_none() {
            let fam = if self.ipv6 { "IPv6" } else { "IPv4" };
            return Some((
                Fault::NoAddress,
                format!("interface {name} has no {fam} address to send adverts from: FAULT until it has one"),
            ));
        }
        None
    }
}

/// The advert source: the configured one while the host has it, else another address the
/// peers list when only those will do, else interface `ifindex`'s (not a VIP), as keepalived
/// does when its source goes away.
fn advert_source(
    configured: Option<IpAddr>,
    listed: &[IpAddr],
    addrs: &[Addr],
    ifindex: u32,
    ipv6: bool,
    is_vip: impl Fn(IpAddr) -> bool,
) -> Option<IpAddr> {
    let present = |ip: &IpAddr| addrs.iter().any(|a| a.addr == *ip);
    if let Some(ip) = configured.filter(present) {
        return Some(ip);
    }
    if !listed.is_empty() {
        return listed.iter().copied().find(present);
    }
    let ours = addrs.iter().filter(|a| a.ifindex == ifindex && !is_vip(a.addr)).map(|a| a.addr);
    pick_advert_source(ours, ipv6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, index: u32, running: bool) -> Link {
        Link { index, name: name.into(), running, mac: Some([2, 0, 0, 0, 0, index as u8]) }
    }

    fn addr(ifindex: u32, a: &str) -> Addr {
        Addr { ifindex, addr: a.parse().unwrap(), prefix: 24 }
    }

    fn iface(name: &str, index: u32) -> Iface {
        Iface { name: name.into(), index, mac: Some([2, 0, 0, 0, 0, index as u8]) }
    }

    fn vips() -> VipSet {
        let vip = |s: &str| crate::config::vip::parse(s).unwrap();
        VipSet::new(vec![vip("198.18.0.10/24"), vip("198.18.1.10/24 dev eth1")], vec![2, 3], "eth0")
    }

    #[test]
    fn the_source_follows_the_addresses_and_none_left_is_a_fault() {
        let src: IpAddr = "198.18.0.1".parse().unwrap();
        let mut w = LinkWatch::new(iface("eth0", 2), vec![iface("eth1", 3)], Some(src), vec![], false);
        let links = [link("eth0", 2, true), link("eth1", 3, true)];
        let mut v = vips();
        let both = [addr(2, "198.18.0.1"), addr(2, "198.18.0.2"), addr(2, "198.18.0.10")];
        assert_eq!(w.sync("VI", &links, &both, &mut v), Sync::default());
        assert_eq!(w.fault, None);
        // The configured source removed: the next address that is not a VIP.
        let moved = w.sync("VI", &links, &both[1..], &mut v);
        assert_eq!(moved.new_source, Some(Some("198.18.0.2".parse().unwrap())));
        assert!(w.announce_pending);
        // Only a VIP left: no source, FAULT.
        w.sync("VI", &links, &both[2..], &mut v);
        assert_eq!(w.fault.as_ref().map(|f| f.0), Some(Fault::NoAddress));
        // Back: the configured one again.
        let back = w.sync("VI", &links, &both, &mut v);
        assert_eq!(back.new_source, Some(Some(src)));
        assert_eq!(w.fault, None);
    }

    /// keepalived: a written `unicast_src_ip` the host does not have yet is a FAULT; once
    /// seen, its removal moves the source (a FAULT with `track_src_ip`).
    #[test]
    fn a_written_source_is_waited_for_and_tracked_when_asked() {
        let src: IpAddr = "198.18.0.1".parse().unwrap();
        let links = [link("eth0", 2, true), link("eth1", 3, true)];
        let with = [addr(2, "198.18.0.1"), addr(2, "198.18.0.2")];
        let without = [addr(2, "198.18.0.2")];
        for track in [false, true] {
            let mut w = LinkWatch::new(iface("eth0", 2), vec![iface("eth1", 3)], Some(src), vec![], false)
                .source_written(true, track);
            let mut v = vips();
            w.sync("VI", &links, &without, &mut v);
            let (fault, line) = w.fault.clone().unwrap();
            assert_eq!(fault, Fault::NoAddress);
            assert!(line.contains("unicast_src_ip 198.18.0.1 is not on this host"), "{line}");
            w.sync("VI", &links, &with, &mut v);
            assert_eq!((w.fault.clone(), w.advert_source), (None, Some(src)));
            w.sync("VI", &links, &without, &mut v);
            if track {
                assert!(w.fault.as_ref().is_some_and(|f| f.1.contains("was removed (track_src_ip)")), "{:?}", w.fault);
            } else {
                assert_eq!((w.fault.clone(), w.advert_source), (None, Some("198.18.0.2".parse().unwrap())));
            }
        }
    }

    #[test]
    fn a_missing_interface_is_a_fault_naming_its_vips() {
        let mut w = LinkWatch::new(iface("eth0", 2), vec![iface("eth1", 3)], None, vec![], false);
        let mut v = vips();
        let addrs = [addr(2, "198.18.0.1")];
        w.sync("VI", &[link("eth0", 2, true)], &addrs, &mut v);
        let (fault, line) = w.fault.clone().unwrap();
        assert_eq!(fault, Fault::VipInterface);
        assert!(line.contains("eth1 (of VIP 198.18.1.10) is gone"), "{line}");
        w.sync("VI", &[link("eth0", 2, false), link("eth1", 3, true)], &addrs, &mut v);
        assert_eq!(w.fault.as_ref().map(|f| f.0), Some(Fault::LinkDown));
        w.sync("VI", &[], &addrs, &mut v);
        assert!(!w.present);
        // dont_track_primary: down is no fault, gone still is.
        w.ignore_main_down = true;
        w.sync("VI", &[link("eth0", 2, false), link("eth1", 3, true)], &addrs, &mut v);
        assert_eq!(w.fault, None);
        w.sync("VI", &[link("eth1", 3, true)], &addrs, &mut v);
        assert_eq!(w.fault.as_ref().map(|f| f.0), Some(Fault::LinkDown));
    }

    #[test]
    fn a_recreated_interface_moves_its_vips_to_the_new_index() {
        let mut w = LinkWatch::new(iface("eth0", 2), vec![iface("eth1", 3)], None, vec![], false);
        let mut v = vips();
        w.sync("VI", &[link("eth0", 2, true), link("eth1", 9, true)], &[addr(2, "198.18.0.1")], &mut v);
        assert_eq!(w.others[0].index, 9);
        assert_eq!(v.iter().map(|(_, ix)| ix).collect::<Vec<_>>(), vec![2, 9]);
        assert_eq!(w.mac_of(9), Some([2, 0, 0, 0, 0, 9]));
        w.sync("VI", &[link("eth0", 7, true), link("eth1", 9, true)], &[addr(7, "198.18.0.1")], &mut v);
        assert_eq!((w.main.index, w.fault.is_none()), (7, true));
        assert_eq!(v.iter().map(|(_, ix)| ix).collect::<Vec<_>>(), vec![7, 9]);
    }

    #[test]
    fn with_a_listed_source_only_a_listed_address_will_do_else_fault() {
        let src: IpAddr = "198.18.0.1".parse().unwrap();
        let listed = vec![src, "198.18.0.11".parse().unwrap()];
        let mut w = LinkWatch::new(iface("eth0", 2), vec![], Some(src), listed, false);
        let links = [link("eth0", 2, true)];
        let mut v = vips();
        // Renumbered to an address the peers do not list: FAULT, not adverts they would drop.
        w.sync("VI", &links, &[addr(2, "198.18.0.7")], &mut v);
        let (fault, line) = w.fault.clone().unwrap();
        assert_eq!(fault, Fault::NoAddress);
        assert!(line.contains("no address the peers list for this node (198.18.0.1, 198.18.0.11)"), "{line}");
        // Another listed address: adverts go from it.
        let moved = w.sync("VI", &links, &[addr(2, "198.18.0.7"), addr(2, "198.18.0.11")], &mut v);
        assert_eq!(moved.new_source, Some(Some("198.18.0.11".parse().unwrap())));
        assert_eq!(w.fault, None);
    }

    #[test]
    fn ipv6_adverts_come_from_the_link_local_address() {
        let addrs = [addr(2, "2001:db8::1"), addr(2, "fe80::1"), addr(3, "fe80::2")];
        assert_eq!(advert_source(None, &[], &addrs, 2, true, |_| false), Some("fe80::1".parse().unwrap()));
        assert_eq!(advert_source(None, &[], &addrs[..1], 2, true, |_| false), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(advert_source(None, &[], &addrs, 2, false, |_| false), None);
    }
}
