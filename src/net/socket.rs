//! The VRRP raw socket (protocol 112), one per interface and family: bound to the
//! interface, TTL / hop limit 255, source chosen per packet with IP_PKTINFO / IPV6_PKTINFO;
//! in multicast mode joined to the instances' groups (224.0.0.18 or ff02::12 unless
//! configured otherwise) with loopback off. An IPv4 raw socket
//! hands us the IP header; an IPv6 one does not, so hop limit and destination come as
//! control messages.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use anyhow::{Context, Result};
use nix::libc;
use nix::sys::socket::{self, sockopt, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6};

use crate::wire::vrrp::PROTOCOL;
use crate::wire::{ipv4, Received};

pub const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;

pub struct VrrpSocket {
    fd: OwnedFd,
    /// Unique per socket opened: the loop's poller tells a re-opened socket from the one
    /// whose descriptor number it reuses.
    id: u64,
    ifindex: u32,
    ipv6: bool,
}

/// What one read from the socket gave.
pub enum Recv<'a> {
    /// Nothing queued.
    Empty,
    Packet(Received<'a>),
    /// A datagram whose IPv4 header does not parse; counted as such, never guessed at.
    BadHeader {
        len: usize,
    },
}

fn setsockopt_raw<T>(fd: &OwnedFd, level: i32, name: i32, val: &T) -> io::Result<()> {
    // SAFETY: `val` is a valid, initialised T for the duration of the call.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl VrrpSocket {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The socket of `ifname`, joined to `groups` (none: unicast only).
    pub fn open(ifname: &str, ifindex: u32, groups: &[IpAddr], ipv6: bool) -> Result<Self> {
        let sock = if ipv6 {
            Self::open_v6(ifname, ifindex, !groups.is_empty())?
        } else {
            Self::open_v4(ifname, ifindex, !groups.is_empty())?
        };
        for g in groups {
            sock.join(*g)?;
        }
        Ok(sock)
    }

    /// Receive adverts sent to multicast group `group` on this interface.
    pub fn join(&self, group: IpAddr) -> Result<()> {
        match group {
            IpAddr::V4(g) => {
                let mreq = libc::ip_mreqn {
                    imr_multiaddr: libc::in_addr { s_addr: u32::from(g).to_be() },
                    imr_address: libc::in_addr { s_addr: 0 },
                    imr_ifindex: self.ifindex as i32,
                };
                setsockopt_raw(&self.fd, libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq)
                    .with_context(|| format!("joining {g}"))
            }
            IpAddr::V6(g) => {
                let mreq = libc::ipv6_mreq {
                    ipv6mr_multiaddr: libc::in6_addr { s6_addr: g.octets() },
                    ipv6mr_interface: self.ifindex,
                };
                // nix's Ipv6MembershipRequest has no interface index: the raw request.
                setsockopt_raw(&self.fd, libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, &mreq)
                    .with_context(|| format!("joining {g}"))
            }
        }
    }

    fn open_v4(ifname: &str, ifindex: u32, multicast: bool) -> Result<Self> {
        let fd = raw_socket(libc::AF_INET)?;
        socket::setsockopt(&fd, sockopt::BindToDevice, &std::ffi::OsString::from(ifname))
            .with_context(|| format!("binding the VRRP socket to {ifname}"))?;
        // RFC 3768/5798: adverts leave with TTL 255 so receivers can tell they are on-link.
        socket::setsockopt(&fd, sockopt::Ipv4Ttl, &255).context("IP_TTL")?;
        // IP precedence "internetwork control", as keepalived and router VRRP stacks send it,
        // so QoS networks do not treat adverts as best effort.
        socket::setsockopt(&fd, sockopt::Ipv4Tos, &i32::from(TOS_INTERNETWORK_CONTROL)).context("IP_TOS")?;
        if multicast {
            let mreq = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr { s_addr: 0 },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: ifindex as i32,
            };
            // nix has no typed IP_MULTICAST_IF (and its membership request has no ifindex).
            setsockopt_raw(&fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreq).context("IP_MULTICAST_IF")?;
            socket::setsockopt(&fd, sockopt::IpMulticastTtl, &255u8).context("IP_MULTICAST_TTL")?;
            socket::setsockopt(&fd, sockopt::IpMulticastLoop, &false).context("IP_MULTICAST_LOOP")?;
        }
        Ok(VrrpSocket { fd, id: next_id(), ifindex, ipv6: false })
    }

    fn open_v6(ifname: &str, ifindex: u32, multicast: bool) -> Result<Self> {
        let fd = raw_socket(libc::AF_INET6)?;
        socket::setsockopt(&fd, sockopt::BindToDevice, &std::ffi::OsString::from(ifname))
            .with_context(|| format!("binding the VRRP socket to {ifname}"))?;
        // RFC 5798 §5.1.2.3: hop limit 255, checked on receipt (so we ask for it).
        socket::setsockopt(&fd, sockopt::Ipv6Ttl, &255).context("IPV6_UNICAST_HOPS")?;
        socket::setsockopt(&fd, sockopt::Ipv6MulticastHops, &255).context("IPV6_MULTICAST_HOPS")?;
        socket::setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true).context("IPV6_RECVHOPLIMIT")?;
        socket::setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true).context("IPV6_RECVPKTINFO")?;
        socket::setsockopt(&fd, sockopt::Ipv6TClass, &i32::from(TOS_INTERNETWORK_CONTROL)).context("IPV6_TCLASS")?;
        if multicast {
            setsockopt_raw(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, &(ifindex as i32))
                .context("IPV6_MULTICAST_IF")?;
            setsockopt_raw(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, &0i32).context("IPV6_MULTICAST_LOOP")?;
        }
        Ok(VrrpSocket { fd, id: next_id(), ifindex, ipv6: true })
    }

    /// Send one advert to `dst`, from `src` when given.
    pub fn send(&self, payload: &[u8], src: Option<IpAddr>, dst: IpAddr) -> io::Result<()> {
        let dst = match dst {
            IpAddr::V4(d) if !self.ipv6 => d,
            IpAddr::V6(d) if self.ipv6 => return self.send_v6(payload, src, d),
            _ => return Err(io::Error::other("destination of the other address family")),
        };
        let addr = SockaddrIn::from(std::net::SocketAddrV4::new(dst, 0));
        let info = libc::in_pktinfo {
            ipi_ifindex: self.ifindex as i32,
            ipi_spec_dst: libc::in_addr {
                s_addr: match src {
                    Some(IpAddr::V4(s)) => u32::from(s).to_be(),
                    _ => 0,
                },
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        let cmsg = [ControlMessage::Ipv4PacketInfo(&info)];
        let iov = [io::IoSlice::new(payload)];
        socket::sendmsg(self.fd.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), Some(&addr))
            .map(|_| ())
            .map_err(io::Error::from)
    }

    fn send_v6(&self, payload: &[u8], src: Option<IpAddr>, dst: Ipv6Addr) -> io::Result<()> {
        // Link-local and multicast destinations need the interface as their scope.
        let addr = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, self.ifindex));
        let info = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: match src {
                    Some(IpAddr::V6(s)) => s.octets(),
                    _ => [0; 16],
                },
            },
            ipi6_ifindex: self.ifindex,
        };
        let cmsg = [ControlMessage::Ipv6PacketInfo(&info)];
        let iov = [io::IoSlice::new(payload)];
        socket::sendmsg(self.fd.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), Some(&addr))
            .map(|_| ())
            .map_err(io::Error::from)
    }

    /// The next datagram, if any.
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Recv<'b>> {
        if self.ipv6 {
            return self.recv_v6(buf);
        }
        let n = match socket::recv(self.fd.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT) {
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN) => return Ok(Recv::Empty),
            Err(e) => return Err(e.into()),
        };
        Ok(classify(&buf[..n]))
    }
}

impl VrrpSocket {
    fn recv_v6<'b>(&self, buf: &'b mut [u8]) -> io::Result<Recv<'b>> {
        let mut control = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
        let (n, truncated, src, dst, hops) = {
            let mut iov = [io::IoSliceMut::new(buf)];
            let msg = match socket::recvmsg::<SockaddrIn6>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut control),
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(m) => m,
                Err(nix::errno::Errno::EAGAIN) => return Ok(Recv::Empty),
                Err(e) => return Err(e.into()),
            };
            let (mut dst, mut hops) = (None, None);
            for c in msg.cmsgs().map_err(io::Error::from)? {
                match c {
                    ControlMessageOwned::Ipv6PacketInfo(info) => dst = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr)),
                    ControlMessageOwned::Ipv6HopLimit(h) => hops = u8::try_from(h).ok(),
                    _ => {}
                }
            }
            let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC);
            (msg.bytes, truncated, msg.address.map(|a| a.ip()), dst, hops)
        };
        if truncated || n > buf.len() {
            return Ok(Recv::BadHeader { len: n });
        }
        // Without the kernel's word on source, destination and hop limit there is nothing to check.
        let (Some(src), Some(dst), Some(ttl)) = (src, dst, hops) else { return Ok(Recv::BadHeader { len: n }) };
        Ok(Recv::Packet(Received { src: IpAddr::V6(src), dst: IpAddr::V6(dst), ttl, payload: &buf[..n] }))
    }
}

/// A raw VRRP socket of `family`, non-blocking.
fn raw_socket(family: i32) -> Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned from here on.
    let raw =
        unsafe { libc::socket(family, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, i32::from(PROTOCOL)) };
    if raw < 0 {
        return Err(io::Error::last_os_error()).context("opening the VRRP raw socket (needs CAP_NET_RAW)");
    }
    // SAFETY: `raw` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

impl AsFd for VrrpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn classify(b: &[u8]) -> Recv<'_> {
    match ipv4::parse(b) {
        Some(d) => Recv::Packet(d),
        None => Recv::BadHeader { len: b.len() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_header_is_reported_as_such() {
        // Not as a packet from 0.0.0.0 with TTL 0.
        assert!(matches!(classify(&[0x44; 30]), Recv::BadHeader { len: 30 }));
        assert!(matches!(classify(&[0x45; 10]), Recv::BadHeader { len: 10 }));
    }
}
