//! What configuration needs to know about the host, gathered by `net` at start and
//! built by hand in tests, so that config stays a pure function.

use std::net::IpAddr;
use std::str::FromStr;

#[derive(Debug, Clone, Default)]
pub struct HostView {
    pub interfaces: Vec<HostIface>,
    /// Interface of the IPv4 default route, if any.
    pub default_route_ifindex: Option<u32>,
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
    pub fn iface(&self, name: &str) -> Option<&HostIface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    pub fn owns(&self, ip: IpAddr) -> bool {
        self.interfaces.iter().any(|i| i.has(ip))
    }

    pub fn names(&self) -> String {
        let names: Vec<&str> = self.interfaces.iter().map(|i| i.name.as_str()).collect();
        names.join(", ")
    }
}
