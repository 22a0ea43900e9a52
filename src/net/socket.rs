//! The VRRP raw socket (IPv4, protocol 112): bound to the interface, TTL 255, source chosen
//! per packet with IP_PKTINFO; in multicast mode joined to 224.0.0.18 with loopback off.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use nix::libc;
use nix::sys::socket::{self, sockopt, ControlMessage, MsgFlags, SockaddrIn};

use crate::wire::vrrp::{MULTICAST_V4, PROTOCOL};

pub const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;

pub struct VrrpSocket {
    fd: OwnedFd,
    ifindex: u32,
}

/// What one read from the socket gave.
pub enum Recv<'a> {
    /// Nothing queued.
    Empty,
    Packet(Datagram<'a>),
    /// A datagram whose IPv4 header does not parse; counted as such, never guessed at.
    BadHeader {
        len: usize,
    },
}

/// A packet as received, with the IP header fields the core checks.
pub struct Datagram<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub payload: &'a [u8],
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

impl VrrpSocket {
    pub fn open(ifname: &str, ifindex: u32, multicast: bool) -> Result<Self> {
        // SAFETY: plain socket(2); the fd is owned from here on.
        let raw = unsafe {
            libc::socket(libc::AF_INET, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, i32::from(PROTOCOL))
        };
        if raw < 0 {
            return Err(io::Error::last_os_error()).context("opening the VRRP raw socket (needs CAP_NET_RAW)");
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        socket::setsockopt(&fd, sockopt::BindToDevice, &std::ffi::OsString::from(ifname))
            .with_context(|| format!("binding the VRRP socket to {ifname}"))?;
        // RFC 3768/5798: adverts leave with TTL 255 so receivers can tell they are on-link.
        socket::setsockopt(&fd, sockopt::Ipv4Ttl, &255).context("IP_TTL")?;
        // IP precedence "internetwork control", as keepalived and router VRRP stacks send it,
        // so QoS networks do not treat adverts as best effort.
        setsockopt_raw(&fd, libc::IPPROTO_IP, libc::IP_TOS, &i32::from(TOS_INTERNETWORK_CONTROL)).context("IP_TOS")?;
        if multicast {
            let mreq = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr { s_addr: u32::from(MULTICAST_V4).to_be() },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: ifindex as i32,
            };
            setsockopt_raw(&fd, libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq).context("joining 224.0.0.18")?;
            setsockopt_raw(&fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreq).context("IP_MULTICAST_IF")?;
            setsockopt_raw(&fd, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, &255i32).context("IP_MULTICAST_TTL")?;
            setsockopt_raw(&fd, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, &0i32).context("IP_MULTICAST_LOOP")?;
        }
        Ok(VrrpSocket { fd, ifindex })
    }

    /// Send one advert to `dst`, from `src` when given.
    pub fn send(&self, payload: &[u8], src: Option<IpAddr>, dst: IpAddr) -> io::Result<()> {
        let IpAddr::V4(dst) = dst else { return Err(io::Error::other("IPv6 destination on an IPv4 socket")) };
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

    /// The next datagram, if any.
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Recv<'b>> {
        let n = match socket::recv(self.fd.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT) {
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN) => return Ok(Recv::Empty),
            Err(e) => return Err(e.into()),
        };
        Ok(classify(&buf[..n]))
    }
}

impl AsFd for VrrpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn classify(b: &[u8]) -> Recv<'_> {
    match parse_ipv4(b) {
        Some(d) => Recv::Packet(d),
        None => Recv::BadHeader { len: b.len() },
    }
}

/// The IPv4 header a raw socket hands us: TTL, addresses, and the payload it delimits.
pub fn parse_ipv4(b: &[u8]) -> Option<Datagram<'_>> {
    if b.len() < 20 || b[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if ihl < 20 || total < ihl || total > b.len() {
        return None;
    }
    Some(Datagram {
        src: IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15])),
        dst: IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19])),
        ttl: b[8],
        payload: &b[ihl..total],
    })
}

/// Refuse IPv6 here rather than half-work: the runtime speaks IPv4 VRRP.
pub fn check_family(ipv6: bool) -> Result<()> {
    if ipv6 {
        bail!("IPv6 VRRP instances are recognised but not yet run by keepvip; use IPv4 VIPs");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header() {
        let mut b = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 255, 112, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1];
        b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 99, 99]); // payload + trailing junk
        let d = parse_ipv4(&b).unwrap();
        assert_eq!((d.ttl, d.src.to_string(), d.dst.to_string()), (255, "198.18.0.2".into(), "198.18.0.1".into()));
        assert_eq!(d.payload, &[1, 2, 3, 4, 5, 6, 7, 8]);
        b[3] = 200;
        assert!(parse_ipv4(&b).is_none(), "total length beyond the buffer");
        assert!(parse_ipv4(&b[..10]).is_none());
        assert!(parse_ipv4(&[0x44; 30]).is_none());
        // A bad header is reported as such, not as a packet from 0.0.0.0 with TTL 0.
        assert!(matches!(classify(&[0x44; 30]), Recv::BadHeader { len: 30 }));
        assert!(matches!(classify(&b[..10]), Recv::BadHeader { len: 10 }));
    }
}
