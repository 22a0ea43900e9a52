//! What configuration needs to know about the host, gathered by `net` at start and
//! built by hand in tests, so that config stays a pure function.

use std::net::IpAddr;

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
    pub addrs: Vec<IpAddr>,
}

impl HostView {
    pub fn iface(&self, name: &str) -> Option<&HostIface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    pub fn owns(&self, ip: IpAddr) -> bool {
        self.interfaces.iter().any(|i| i.addrs.contains(&ip))
    }

    pub fn names(&self) -> String {
        let names: Vec<&str> = self.interfaces.iter().map(|i| i.name.as_str()).collect();
        names.join(", ")
    }
}
