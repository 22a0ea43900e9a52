//! IPv6 neighbour discovery: the unsolicited Neighbor Advertisements a new master sends for
//! its IPv6 VIPs and the duplicate-address probes of a restarted node (IPv4's gratuitous ARP
//! and ARP probe), on the same packet socket as ARP; and — only while a restarted node
//! decides whether the VIPs it found are stale — the advertisements that answer.

use std::io;
use std::net::Ipv6Addr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::arp::{packet_socket, recv_frame, Sender};
use crate::wire::ndisc::{self, Repr, ETHERTYPE_IPV6};

impl Sender {
    /// "`vip` is at `mac`" to all nodes, overriding their cache (`router`: the interface
    /// forwards, as keepalived sets the flag).
    pub fn unsolicited_na(&self, ifindex: u32, mac: [u8; 6], vip: Ipv6Addr, router: bool) -> io::Result<()> {
        self.send_frame(ifindex, &Repr::unsolicited(mac, vip, router).emit(), ETHERTYPE_IPV6)
    }

    /// Ask who holds `target` without claiming it: a holder answers to all nodes.
    pub fn dad_probe(&self, ifindex: u32, mac: [u8; 6], target: Ipv6Addr) -> io::Result<()> {
        self.send_frame(ifindex, &ndisc::dad_probe(mac, target), ETHERTYPE_IPV6)
    }
}

/// Every IPv6 frame this host receives, kept open only while an instance resumes; yields the
/// Neighbor Advertisements among them.
pub struct Watch {
    fd: OwnedFd,
}

impl Watch {
    pub fn open() -> io::Result<Self> {
        Ok(Watch { fd: packet_socket(ETHERTYPE_IPV6, nix::libc::SOCK_NONBLOCK)? })
    }

    /// The next received advertisement; `Ok(None)` when there is none left for now.
    pub fn recv(&self) -> io::Result<Option<Repr>> {
        let mut buf = [0u8; 256];
        loop {
            let Some(n) = recv_frame(&self.fd, &mut buf)? else { return Ok(None) };
            if let Some(r) = Repr::parse(&buf[..n]) {
                return Ok(Some(r));
            }
        }
    }
}

impl AsFd for Watch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Whether `ifname` forwards IPv6 (the Router flag of our advertisements).
pub fn forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding")).is_ok_and(|v| v.trim() == "1")
}
