//! IPv6 neighbour discovery out: the unsolicited Neighbor Advertisements a new master sends
//! for its IPv6 VIPs (IPv4's gratuitous ARP), on the same packet socket as ARP.

use std::io;
use std::net::Ipv6Addr;

use super::arp::Sender;
use crate::wire::ndisc::{Repr, ETHERTYPE_IPV6};

impl Sender {
    /// "`vip` is at `mac`" to all nodes, overriding their cache (`router`: the interface
    /// forwards, as keepalived sets the flag).
    pub fn unsolicited_na(&self, ifindex: u32, mac: [u8; 6], vip: Ipv6Addr, router: bool) -> io::Result<()> {
        self.send_frame(ifindex, &Repr::unsolicited(mac, vip, router).emit(), ETHERTYPE_IPV6)
    }
}

/// Whether `ifname` forwards IPv6 (the Router flag of our advertisements).
pub fn forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding")).is_ok_and(|v| v.trim() == "1")
}
