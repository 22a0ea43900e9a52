//! What the instances share and borrow to act: netlink, one VRRP socket per interface and
//! family, and the packet socket for ARP and ND frames. The loop lends it to one instance
//! at a time as an [`Io`].

use std::net::IpAddr;

use anyhow::{Context, Result};

use super::firewall::Firewall;
use super::vmac::Vmacs;
use crate::net::frames::FrameSender;
use crate::net::netlink::{Link, Netlink};
use crate::net::socket::VrrpSocket;

/// The VRRP socket of one interface, shared by every instance advertising on it: the
/// kernel hands each raw socket every VRRP packet of the interface, so one socket per
/// instance would wake every instance for every advert.
pub(super) struct InterfaceSocket {
    pub ifname: String,
    pub index: u32,
    pub ipv6: bool,
    /// The multicast groups joined (none: unicast only).
    pub groups: Vec<IpAddr>,
    pub sock: VrrpSocket,
    /// When a datagram was last read: see `Runtime::receive_all`.
    pub last_rx: Option<std::time::Instant>,
}

pub(super) struct SharedIo {
    pub nl: Netlink,
    pub sockets: Vec<InterfaceSocket>,
    /// Gratuitous ARPs, neighbour advertisements and resume probes out.
    pub frames: Option<FrameSender>,
    /// Drops traffic to the VIPs of instances that do not accept it (`no_accept`).
    pub firewall: Firewall,
    /// The `use_vmac` interfaces made, removed at stop.
    pub vmacs: Vmacs,
}

/// What an instance on one socket borrows to act.
pub(super) struct Io<'a> {
    pub nl: &'a mut Netlink,
    pub sock: &'a VrrpSocket,
    pub frames: Option<&'a FrameSender>,
    pub firewall: &'a mut Firewall,
}

impl SharedIo {
    pub fn new(nl: Netlink, firewall: Firewall) -> Self {
        let frames = FrameSender::open().map_err(|e| log::warn!("no gratuitous ARP (packet socket: {e})")).ok();
        SharedIo { nl, sockets: vec![], frames, firewall, vmacs: Vmacs::default() }
    }

    /// Lent to an instance whose socket is `s`.
    pub fn io(&mut self, s: usize) -> Io<'_> {
        Io { nl: &mut self.nl, sock: &self.sockets[s].sock, frames: self.frames.as_ref(), firewall: &mut self.firewall }
    }

    /// The shared socket of `link` for the family, opened (or re-opened to send multicast,
    /// or joined to one more group) as needed; its index.
    pub fn open_socket(&mut self, link: &Link, group: Option<IpAddr>, ipv6: bool) -> Result<usize> {
        match self.sockets.iter().position(|s| s.index == link.index && s.ipv6 == ipv6) {
            Some(i) => {
                let s = &mut self.sockets[i];
                // Each group joins once per interface, for any instance that needs it.
                match group {
                    Some(g) if s.groups.is_empty() => {
                        s.sock = VrrpSocket::open(&link.name, link.index, &[g], ipv6)?;
                        s.groups.push(g);
                    }
                    Some(g) if !s.groups.contains(&g) => {
                        s.sock.join(g)?;
                        s.groups.push(g);
                    }
                    _ => {}
                }
                Ok(i)
            }
            None => {
                let groups: Vec<IpAddr> = group.into_iter().collect();
                let sock = VrrpSocket::open(&link.name, link.index, &groups, ipv6)?;
                self.sockets.push(InterfaceSocket {
                    ifname: link.name.clone(),
                    index: link.index,
                    ipv6,
                    groups,
                    sock,
                    last_rx: None,
                });
                Ok(self.sockets.len() - 1)
            }
        }
    }

    /// Sockets bound to an interface that was deleted and re-created hear nothing: reopen
    /// them on the new index.
    pub fn reopen_recreated(&mut self, links: &[Link]) -> Result<()> {
        for s in &mut self.sockets {
            if let Some(l) = links.iter().find(|l| l.name == s.ifname && l.index != s.index) {
                s.sock = VrrpSocket::open(&l.name, l.index, &s.groups, s.ipv6)
                    .with_context(|| format!("reopening the VRRP socket on the re-created {}", l.name))?;
                s.index = l.index;
            }
        }
        Ok(())
    }
}
