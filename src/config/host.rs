//! What configuration needs to know about the host, gathered by `net` at start and
//! built by hand in tests, so that config stays a pure function.

use std::net::IpAddr;
use std::str::FromStr;

#[derive(Debug, Clone, Default)]
pub struct HostView {
    pub interfaces: Vec<HostIface>,
    /// Interface of the IPv4 default route, if any.
    pub default_route_ifindex: Option<u32>,
    /// Addresses keepvip put there itself: the VIPs held now (a reload) or by the run before
    /// (its state file). Such a VIP can end up first on its interface, where a host address
    /// is — the host renumbered while we held it — and is still ours, not the host's.
    pub ours: Vec<IpAddr>,
    /// The swarm's membership (`KEEPALIVED_UNICAST_PEERS=swarm`), read from the engine.
    pub swarm: Option<super::swarm::Membership>,
}

#[derive(Debug, Clone)]
pub struct HostIface {
    pub index: u32,
    pub name: String,
    /// In kernel order: the first of a family is the primary address.
    pub addrs: Vec<HostAddr>,
}

/// An address on an interface, with its prefix: a VIP is ours only with the same prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostAddr {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// `198.18.0.1/24` (tests build host views by hand).
impl FromStr for HostAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = s.split_once('/').ok_or("expected ADDR/PREFIX")?;
        Ok(HostAddr { addr: a.parse().map_err(|_| "bad address")?, prefix: p.parse().map_err(|_| "bad prefix")? })
    }
}

impl HostIface {
    pub fn has(&self, ip: IpAddr) -> bool {
        self.addrs.iter().any(|a| a.addr == ip)
    }
}

impl HostView {
    /// One interface with one address (unit tests' host).
    #[cfg(test)]
    pub fn single(name: &str, index: u32, addr: &str) -> HostView {
        let iface = HostIface { index, name: name.into(), addrs: vec![addr.parse().unwrap()] };
        HostView { interfaces: vec![iface], default_route_ifindex: None, ours: vec![], swarm: None }
    }

    pub fn iface(&self, name: &str) -> Option<&HostIface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    pub fn owns(&self, ip: IpAddr) -> bool {
        self.interfaces.iter().any(|i| i.has(ip))
    }

    /// Where adverts go from when no source is configured: the interface's first address of
    /// the family that is not a VIP (after a crash a stale VIP may still be there); for IPv6
    /// the link-local one (RFC 5798 §5.1.2.1).
    pub fn advert_source(&self, iface: &str, ipv6: bool, is_vip: impl Fn(IpAddr) -> bool) -> Option<IpAddr> {
        let i = self.iface(iface)?;
        pick_advert_source(i.addrs.iter().map(|a| a.addr).filter(|a| !is_vip(*a)), ipv6)
    }

    pub fn names(&self) -> String {
        let names: Vec<&str> = self.interfaces.iter().map(|i| i.name.as_str()).collect();
        names.join(", ")
    }
}

/// The advert source among an interface's addresses (VIPs already left out): its first of
/// the family; for IPv6 the link-local one first (RFC 5798 §5.1.2.1), as keepalived.
pub fn pick_advert_source(addrs: impl Iterator<Item = IpAddr> + Clone, ipv6: bool) -> Option<IpAddr> {
    let mut fam = addrs.filter(move |a| a.is_ipv6() == ipv6);
    let link_local = |a: &IpAddr| matches!(a, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
    if ipv6 {
        fam.clone().find(link_local).or_else(|| fam.next())
    } else {
        fam.next()
    }
}
