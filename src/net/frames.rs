//! Ethernet frames on packet sockets: gratuitous ARPs and ARP probes (IPv4), unsolicited
//! neighbour advertisements and duplicate-address probes (IPv6) out; and the receive side
//! the ARP and ND watches share.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::libc;
use nix::sys::socket::{self, LinkAddr};

use crate::wire::ndisc::{self, ETHERTYPE_IPV6};
use crate::wire::{arp, ethernet, ipv4};

pub(super) fn packet_socket(protocol: u16, flags: i32) -> io::Result<OwnedFd> {
    // SAFETY: socket(2).
    let raw =
        unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC | flags, protocol.to_be() as i32) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `<asm-generic/socket.h>` (libc has no Linux binding for them).
const SO_ATTACH_FILTER: libc::c_int = 26;
const SO_DETACH_FILTER: libc::c_int = 27;

/// Stop (`false`) or restart (`true`) a watch's reception without closing its socket.
/// Closing a packet socket waits for an RCU grace period in the kernel (synchronize_net:
/// 10 ms and more), which stalled the loop's turn just when early failover's probes and
/// verdict were due; a filter swap does not wait. Paused, the kernel drops every frame
/// before queueing it; the frames queued before are drained here.
pub(super) fn set_receiving(fd: &OwnedFd, on: bool) -> io::Result<()> {
    let r = if on {
        // The value is ignored, but the kernel wants an int's length (EINVAL without).
        socket_option(fd, SO_DETACH_FILTER, &0 as &libc::c_int)
    } else {
        let mut drop_all = [libc::sock_filter { code: (libc::BPF_RET | libc::BPF_K) as u16, jt: 0, jf: 0, k: 0 }];
        // The kernel copies the program.
        socket_option(fd, SO_ATTACH_FILTER, &libc::sock_fprog { len: 1, filter: drop_all.as_mut_ptr() })
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        // Detaching when nothing is attached (never paused): already receiving.
        if !(on && e.raw_os_error() == Some(libc::ENOENT)) {
            return Err(e);
        }
    }
    if !on {
        let mut buf = [0u8; 64];
        for _ in 0..4096 {
            if recv_frame(fd, &mut buf)?.is_none() {
                break;
            }
        }
    }
    Ok(())
}

/// setsockopt(2) at SOL_SOCKET with `value` as the option's bytes.
fn socket_option<T>(fd: &OwnedFd, name: libc::c_int, value: &T) -> libc::c_int {
    // SAFETY: `value` is a live `T` for the call, and its size is passed with it.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    }
}

/// Sends the frames that tell neighbours where an address is, or ask who holds one.
pub struct FrameSender {
    fd: OwnedFd,
}

impl FrameSender {
    pub fn open() -> io::Result<Self> {
        // Protocol 0: this socket receives nothing, it only sends. Blocking: a burst for
        // 1024 VIPs outgrows the send buffer and must wait, not drop.
        Ok(FrameSender { fd: packet_socket(0, 0)? })
    }

    /// Tell the neighbours `ip` is at `at`, either family: a gratuitous ARP or an
    /// unsolicited neighbour advertisement (`router`: the interface forwards, as keepalived
    /// sets the flag), sent from `ours` (`at` is another host's MAC when we announce on its
    /// behalf; the frame's source stays ours so switches keep each MAC on its own port).
    pub fn announce(&self, ifindex: u32, ours: [u8; 6], at: [u8; 6], ip: IpAddr, router: bool) -> io::Result<()> {
        match ip {
            IpAddr::V4(a) => {
                let r = arp::announcement_for(ours, at, a);
                self.send(ifindex, arp::ETHERTYPE_ARP, |f| r.emit(f))
            }
            IpAddr::V6(a) => {
                let r = ndisc::Repr::unsolicited_for(ours, at, a, router);
                self.send(ifindex, ETHERTYPE_IPV6, |f| r.emit(f))
            }
        }
    }

    /// Ask who holds `ip` without claiming it (RFC 5227): a holder answers to `mac`.
    pub fn arp_probe(&self, ifindex: u32, mac: [u8; 6], ip: Ipv4Addr, tag: [u8; 6]) -> io::Result<()> {
        let r = arp::arp_probe(mac, ip, tag);
        self.send(ifindex, arp::ETHERTYPE_ARP, |f| r.emit(f))
    }

    /// Ask who holds `target` without claiming it: a holder answers to all nodes.
    pub fn dad_probe(&self, ifindex: u32, mac: [u8; 6], target: Ipv6Addr) -> io::Result<()> {
        let r = ndisc::DadProbe { mac, target };
        self.send(ifindex, ETHERTYPE_IPV6, |f| r.emit(f))
    }

    /// Ask who holds `ip`, either family: an ARP probe or a duplicate-address probe.
    pub fn probe(&self, ifindex: u32, mac: [u8; 6], ip: std::net::IpAddr) -> io::Result<()> {
        match ip {
            std::net::IpAddr::V4(a) => self.arp_probe(ifindex, mac, a, [0; 6]),
            std::net::IpAddr::V6(a) => self.dad_probe(ifindex, mac, a),
        }
    }

    /// A multicast VRRP advert (`payload`) from `src` to `group`, out of `ifindex` with
    /// `mac` as the frame's source: a virtual MAC's adverts (keepalived's `use_vmac`).
    pub fn advert(&self, ifindex: u32, mac: [u8; 6], src: Ipv4Addr, group: Ipv4Addr, payload: &[u8]) -> io::Result<()> {
        const ETHERTYPE_IPV4: u16 = 0x0800;
        const ETH: usize = 14;
        let g = group.octets();
        let dst = [0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]];
        let mut frame = vec![0u8; ETH + ipv4::MIN_HEADER_LEN + payload.len()];
        ethernet::Header { dst, src: mac, ethertype: ETHERTYPE_IPV4 }.emit(&mut frame);
        // TTL 255 (RFC 3768 §5.2.3), TOS as keepalived's (internetwork control).
        let ip = ipv4::Repr { src, dst: group, protocol: 112, ttl: 255, tos: 0xc0, payload_len: payload.len() };
        ip.emit(&mut frame[ETH..]);
        frame[ETH + ipv4::MIN_HEADER_LEN..].copy_from_slice(payload);
        self.send_frame(ifindex, &frame, ETHERTYPE_IPV4)
    }

    /// The frame `emit` writes (its length returned) out of `ifindex`.
    fn send(&self, ifindex: u32, ethertype: u16, emit: impl FnOnce(&mut [u8]) -> usize) -> io::Result<()> {
        let mut buf = [0u8; 128];
        let n = emit(&mut buf);
        self.send_frame(ifindex, &buf[..n], ethertype)
    }

    /// One Ethernet frame out of `ifindex` (its destination MAC first).
    fn send_frame(&self, ifindex: u32, frame: &[u8], ethertype: u16) -> io::Result<()> {
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ethertype.to_be();
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: frame and sll outlive the call; lengths are theirs.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// The next frame another host sent us (never one we send), its length; `None` when none
/// is queued. Longer frames are cut to `buf`.
pub(super) fn recv_frame(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        match socket::recvfrom::<LinkAddr>(fd.as_raw_fd(), buf) {
            Ok((n, from)) if from.is_none_or(|a| a.pkttype() != libc::PACKET_OUTGOING) => return Ok(Some(n)),
            Ok(_) => {}
            Err(nix::errno::Errno::EAGAIN) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
}
