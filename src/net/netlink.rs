//! rtnetlink through neli: list links and addresses, add and remove VIPs, and a
//! socket of link/address events for the loop to poll. One call, one kernel operation.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};

use anyhow::{anyhow, Context, Result};
use neli::consts::nl::{NlmF, Nlmsg};
use neli::consts::rtnl::{Arphrd, Ifa, IfaF, Iff, Ifla, RtAddrFamily, RtScope, RtTable, Rta, Rtm};
use neli::consts::socket::NlFamily;
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::rtnl::{Ifaddrmsg, IfaddrmsgBuilder, Ifinfomsg, IfinfomsgBuilder, RtattrBuilder, Rtmsg, RtmsgBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, RtBuffer};
use neli::utils::Groups;
use neli::{FromBytesWithInput, Size, ToBytes};

use crate::config::{HostAddr, HostIface, HostView};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// Administratively up and with carrier: where adverts can flow.
    pub running: bool,
    pub mac: Option<[u8; 6]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix: u8,
}

pub struct Netlink {
    sock: NlSocketHandle,
    seq: u32,
}

fn family(ip: IpAddr) -> RtAddrFamily {
    if ip.is_ipv4() {
        RtAddrFamily::Inet
    } else {
        RtAddrFamily::Inet6
    }
}

pub(super) fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn ip_from(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?))),
        _ => None,
    }
}

/// An RTM_GETROUTE request: every header field unspecified but the family and the
/// destination's length.
fn route_query(family: RtAddrFamily, dst_len: u8, attrs: RtBuffer<Rta, Buffer>) -> Result<Rtmsg> {
    RtmsgBuilder::default()
        .rtm_family(family)
        .rtm_dst_len(dst_len)
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(RtTable::Unspec)
        .rtm_protocol(neli::consts::rtnl::Rtprot::Unspec)
        .rtm_scope(RtScope::Universe)
        .rtm_type(neli::consts::rtnl::Rtn::Unspec)
        .rtattrs(attrs)
        .build()
        .map_err(|e| anyhow!("{e}"))
}

fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(b.split(|c| *c == 0).next().unwrap_or_default()).into_owned()
}

impl Netlink {
    pub fn open() -> Result<Self> {
        let sock =
            NlSocketHandle::connect(NlFamily::Route, None, Groups::empty()).context("opening an rtnetlink socket")?;
        Ok(Netlink { sock, seq: 0 })
    }

    /// Send one request and map the payloads of its answer until DONE or the ACK.
    fn request<P, R>(
        &mut self,
        ty: Rtm,
        flags: NlmF,
        payload: P,
        mut f: impl FnMut(&P) -> Option<R>,
    ) -> Result<Vec<R>, io::Error>
    where
        P: Size + ToBytes + FromBytesWithInput<Input = usize> + std::fmt::Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let msg = NlmsghdrBuilder::default()
            .nl_type(ty)
            .nl_flags(flags | NlmF::REQUEST)
            .nl_seq(self.seq)
            .nl_payload(NlPayload::Payload(payload))
            .build()
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.sock.send(&msg).map_err(|e| io::Error::other(e.to_string()))?;
        let mut out = Vec::new();
        loop {
            let (iter, _) = self.sock.recv::<Rtm, P>().map_err(|e| io::Error::other(e.to_string()))?;
            for m in iter {
                let m: Nlmsghdr<Rtm, P> = m.map_err(|e| io::Error::other(e.to_string()))?;
                if *m.nl_seq() != self.seq {
                    continue; // a late answer to an earlier request
                }
                if u16::from(*m.nl_type()) == u16::from(Nlmsg::Done) {
                    return Ok(out);
                }
                match m.nl_payload() {
                    NlPayload::Payload(p) => out.extend(f(p)),
                    NlPayload::Ack(_) | NlPayload::DumpExtAck(_) | NlPayload::Empty => return Ok(out),
                    NlPayload::Err(e) => return Err(io::Error::from_raw_os_error(-*e.error())),
                }
            }
        }
    }

    pub fn links(&mut self) -> Result<Vec<Link>> {
        let req = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_type(Arphrd::from(0))
            .build()
            .map_err(|e| anyhow!("{e}"))?;
        self.request(Rtm::Getlink, NlmF::DUMP, req, |m: &Ifinfomsg| {
            let mut name = String::new();
            let mut mac = None;
            for a in m.rtattrs().iter() {
                match a.rta_type() {
                    Ifla::Ifname => name = cstr(a.rta_payload().as_ref()),
                    Ifla::Address => mac = <[u8; 6]>::try_from(a.rta_payload().as_ref()).ok(),
                    _ => {}
                }
            }
            let f = m.ifi_flags();
            let running = f.contains(Iff::UP) && f.contains(Iff::RUNNING);
            Some(Link { index: *m.ifi_index() as u32, name, running, mac })
        })
        .context("listing links")
    }

    pub fn link(&mut self, name: &str) -> Result<Option<Link>> {
        Ok(self.links()?.into_iter().find(|l| l.name == name))
    }

    pub fn addrs(&mut self) -> Result<Vec<Addr>> {
        let req = IfaddrmsgBuilder::default()
            .ifa_family(RtAddrFamily::Unspecified)
            .ifa_prefixlen(0)
            .ifa_scope(RtScope::Universe)
            .ifa_index(0)
            .build()
            .map_err(|e| anyhow!("{e}"))?;
        self.request(Rtm::Getaddr, NlmF::DUMP, req, |m: &Ifaddrmsg| {
            // IFA_LOCAL is the address on point-to-point links; IFA_ADDRESS otherwise.
            let mut local = None;
            let mut address = None;
            for a in m.rtattrs().iter() {
                match a.rta_type() {
                    Ifa::Local => local = ip_from(a.rta_payload().as_ref()),
                    Ifa::Address => address = ip_from(a.rta_payload().as_ref()),
                    _ => {}
                }
            }
            Some(Addr { ifindex: *m.ifa_index(), addr: local.or(address)?, prefix: *m.ifa_prefixlen() })
        })
        .context("listing addresses")
    }

    fn default_route_ifindex(&mut self) -> Result<Option<u32>> {
        let req = route_query(RtAddrFamily::Inet, 0, RtBuffer::new())?;
        let oifs = self
            .request(Rtm::Getroute, NlmF::DUMP, req, |m: &Rtmsg| {
                if *m.rtm_dst_len() != 0 || *m.rtm_table() != RtTable::Main {
                    return None;
                }
                let oif = m.rtattrs().iter().find(|a| *a.rta_type() == Rta::Oif)?;
                <[u8; 4]>::try_from(oif.rta_payload().as_ref()).ok().map(u32::from_ne_bytes)
            })
            .context("listing routes")?;
        Ok(oifs.first().copied())
    }

    /// Whether the kernel delivers packets to `ip` here now (its route lookup is a local
    /// route). An IPv6 address added with NODAD is listed at once, but its local route goes
    /// in from the kernel's address-configuration work a moment after the ACK (not yet there
    /// in 46 of 200 lookups right after an add, here): until then packets to it are dropped.
    pub fn is_local(&mut self, ip: IpAddr) -> Result<bool> {
        let mut attrs = RtBuffer::<Rta, Buffer>::new();
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Rta::Dst)
                .rta_payload(Buffer::from(ip_bytes(ip)))
                .build()
                .map_err(|e| anyhow!("{e}"))?,
        );
        let req = route_query(family(ip), if ip.is_ipv4() { 32 } else { 128 }, attrs)?;
        let kinds = self
            .request(Rtm::Getroute, NlmF::ACK, req, |m: &Rtmsg| Some(*m.rtm_type()))
            .with_context(|| format!("looking up the route to {ip}"))?;
        Ok(kinds.contains(&neli::consts::rtnl::Rtn::Local))
    }

    /// Interfaces, their addresses in kernel order, and the default route: what config needs.
    pub fn host_view(&mut self) -> Result<HostView> {
        let addrs = self.addrs()?;
        let interfaces = self
            .links()?
            .into_iter()
            .map(|l| HostIface {
                index: l.index,
                addrs: addrs
                    .iter()
                    .filter(|a| a.ifindex == l.index)
                    .map(|a| HostAddr { addr: a.addr, prefix: a.prefix })
                    .collect(),
                name: l.name,
            })
            .collect();
        Ok(HostView { interfaces, default_route_ifindex: self.default_route_ifindex()?, ours: vec![], swarm: None })
    }

    fn addr_msg(ifindex: u32, ip: IpAddr, prefix: u8, label: Option<&str>) -> Result<Ifaddrmsg> {
        let mut attrs = RtBuffer::<Ifa, Buffer>::new();
        let bytes = ip_bytes(ip);
        let attr = |t: Ifa, b: Vec<u8>| RtattrBuilder::default().rta_type(t).rta_payload(Buffer::from(b)).build();
        attrs.push(attr(Ifa::Local, bytes.clone()).map_err(|e| anyhow!("{e}"))?);
        attrs.push(attr(Ifa::Address, bytes).map_err(|e| anyhow!("{e}"))?);
        if let Some(l) = label {
            let mut b = l.as_bytes().to_vec();
            b.push(0);
            attrs.push(attr(Ifa::Label, b).map_err(|e| anyhow!("{e}"))?);
        }
        IfaddrmsgBuilder::default()
            .ifa_family(family(ip))
            .ifa_prefixlen(prefix)
            // No duplicate address detection: a VIP must answer at once after takeover (keepalived does the same).
            .ifa_flags(if ip.is_ipv6() { IfaF::NODAD } else { IfaF::empty() })
            .ifa_scope(RtScope::Universe)
            .ifa_index(ifindex)
            .rtattrs(attrs)
            .build()
            .map_err(|e| anyhow!("{e}"))
    }

    /// Add addresses, one result per item in order; already present is success.
    pub fn add_addrs(&mut self, items: &[AddrChange]) -> Vec<Result<()>> {
        let flags = NlmF::ACK | NlmF::CREATE | NlmF::EXCL;
        self.change(Rtm::Newaddr, flags, items, &[libc_errno::EEXIST], ("adding", "on"))
    }

    /// Remove addresses, one result per item in order; already absent is success.
    pub fn del_addrs(&mut self, items: &[AddrChange]) -> Vec<Result<()>> {
        let gone = [libc_errno::EADDRNOTAVAIL, libc_errno::ENODEV];
        self.change(Rtm::Deladdr, NlmF::ACK, items, &gone, ("removing", "from"))
    }

    /// `batch`, with the errnos that mean "already done" counted as success and the rest
    /// named by address and interface.
    fn change(
        &mut self,
        ty: Rtm,
        flags: NlmF,
        items: &[AddrChange],
        done: &[i32],
        words: (&str, &str),
    ) -> Vec<Result<()>> {
        let (verb, prep) = words;
        self.batch(ty, flags, items)
            .into_iter()
            .zip(items)
            .map(|(r, a)| match r {
                Err(e) if e.raw_os_error().is_some_and(|n| done.contains(&n)) => Ok(()),
                Err(e) => Err(anyhow!("{verb} {}/{} {prep} {}: {e}", a.addr, a.prefix, a.ifname)),
                Ok(()) => Ok(()),
            })
            .collect()
    }

    /// Many address requests in one `sendmsg` per chunk, then their ACKs: the kernel runs
    /// rtnetlink requests inside `sendmsg`, so this saves a system call pair per address
    /// (256 VIPs go on in one go on takeover).
    fn batch(&mut self, ty: Rtm, flags: NlmF, items: &[AddrChange]) -> Vec<io::Result<()>> {
        self.batch_of(ty, flags, items, |a| Self::addr_msg(a.ifindex, a.addr, a.prefix, a.label.as_deref()))
    }

    /// `batch` for any rtnetlink request: one message per item, built by `msg`.
    pub(super) fn batch_of<T, P>(
        &mut self,
        ty: Rtm,
        flags: NlmF,
        items: &[T],
        msg: impl Fn(&T) -> Result<P>,
    ) -> Vec<io::Result<()>>
    where
        P: ToBytes + Size,
    {
        // Stay far below the socket buffers: each ACK echoes its request.
        const CHUNK: usize = 64;
        let mut results = Vec::with_capacity(items.len());
        for chunk in items.chunks(CHUNK) {
            let first = self.seq.wrapping_add(1);
            let mut buf = io::Cursor::new(Vec::new());
            let mut out: Vec<Option<io::Result<()>>> = Vec::with_capacity(chunk.len());
            for a in chunk {
                self.seq = self.seq.wrapping_add(1);
                let built = msg(a)
                    .map_err(|e| io::Error::other(e.to_string()))
                    .and_then(|m| {
                        NlmsghdrBuilder::default()
                            .nl_type(ty)
                            .nl_flags(flags | NlmF::REQUEST)
                            .nl_seq(self.seq)
                            .nl_payload(NlPayload::Payload(m))
                            .build()
                            .map_err(|e| io::Error::other(e.to_string()))
                    })
                    .and_then(|msg| msg.to_bytes(&mut buf).map_err(|e| io::Error::other(e.to_string())));
                // Messages in one datagram start on 4-byte boundaries (NLMSG_ALIGN).
                while buf.get_ref().len() % 4 != 0 {
                    buf.get_mut().push(0);
                }
                buf.set_position(buf.get_ref().len() as u64);
                // A request that could not be built is answered here; the others by the kernel.
                out.push(built.err().map(Err));
            }
            if out.iter().any(Option::is_none) {
                if let Err(e) = self.send_all(buf.get_ref()).and_then(|()| self.acks(first, &mut out)) {
                    for o in out.iter_mut().filter(|o| o.is_none()) {
                        *o = Some(Err(io::Error::new(e.kind(), e.to_string())));
                    }
                }
            }
            results.extend(out.into_iter().map(|o| o.unwrap_or(Ok(()))));
        }
        results
    }

    fn send_all(&self, bytes: &[u8]) -> io::Result<()> {
        let n = nix::sys::socket::send(self.sock.as_raw_fd(), bytes, nix::sys::socket::MsgFlags::empty())?;
        if n != bytes.len() {
            return Err(io::Error::other(format!("netlink sent {n} of {} bytes", bytes.len())));
        }
        Ok(())
    }

    /// Read ACKs for sequence numbers `first..` until every slot of `out` is answered.
    fn acks(&mut self, first: u32, out: &mut [Option<io::Result<()>>]) -> io::Result<()> {
        while out.iter().any(Option::is_none) {
            // The payload as bytes: an error echoes the request (an address's or a route's),
            // and only its code matters; a typed parse would fail on the other kind and
            // leave the rest of the answers unread.
            let (iter, _) = self.sock.recv::<Rtm, Buffer>().map_err(|e| io::Error::other(e.to_string()))?;
            for m in iter {
                let m: Nlmsghdr<Rtm, Buffer> = m.map_err(|e| io::Error::other(e.to_string()))?;
                let slot = m.nl_seq().wrapping_sub(first) as usize;
                let Some(o) = out.get_mut(slot).filter(|o| o.is_none()) else { continue };
                *o = Some(match m.nl_payload() {
                    NlPayload::Err(e) => Err(io::Error::from_raw_os_error(-*e.error())),
                    _ => Ok(()),
                });
            }
        }
        Ok(())
    }
}

/// One address to add or remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrChange {
    pub ifindex: u32,
    /// For messages only.
    pub ifname: String,
    pub addr: IpAddr,
    pub prefix: u8,
    pub label: Option<String>,
}

mod libc_errno {
    pub const EEXIST: i32 = nix::libc::EEXIST;
    pub const EADDRNOTAVAIL: i32 = nix::libc::EADDRNOTAVAIL;
    pub const ENODEV: i32 = nix::libc::ENODEV;
}

/// Link and address change notifications. The loop only needs to know that something
/// changed; it then asks the kernel for the current state (level-triggered, so no event
/// can be misread or missed by parsing).
pub struct Events {
    sock: NlSocketHandle,
}

impl Events {
    pub fn open() -> Result<Self> {
        const RTMGRP_LINK: u32 = 0x1;
        const RTMGRP_IPV4_IFADDR: u32 = 0x10;
        const RTMGRP_IPV6_IFADDR: u32 = 0x100;
        let sock = NlSocketHandle::connect(
            NlFamily::Route,
            None,
            Groups::new_bitmask(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR),
        )
        .context("subscribing to link and address events")?;
        Ok(Events { sock })
    }

    /// Discard every pending notification; true if there was any (or the queue overflowed).
    pub fn drain(&self) -> bool {
        let mut buf = [0u8; 8192];
        let mut any = false;
        loop {
            match nix::sys::socket::recv(self.as_raw_fd(), &mut buf, nix::sys::socket::MsgFlags::MSG_DONTWAIT) {
                Ok(0) | Err(nix::errno::Errno::EAGAIN) => return any,
                Ok(_) | Err(nix::errno::Errno::ENOBUFS) => any = true,
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return true,
            }
        }
    }
}

impl AsRawFd for Events {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl Events {
    pub fn as_fd_borrowed(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: the descriptor lives as long as `self`.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.as_raw_fd()) }
    }
}
