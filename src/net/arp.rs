//! ARP on packet sockets: gratuitous ARPs and probes out, and — only while a restarted
//! node decides whether the VIPs it found are stale — ARP frames in.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::libc;

use crate::wire::arp::{self, Repr};

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

pub struct Sender {
    fd: OwnedFd,
}

impl Sender {
    pub fn open() -> io::Result<Self> {
        // Protocol 0: this socket receives nothing, it only sends. Blocking: a burst for
        // 1024 VIPs outgrows the send buffer and must wait, not drop.
        Ok(Sender { fd: packet_socket(0, 0)? })
    }

    pub fn gratuitous(&self, ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> io::Result<()> {
        self.send(ifindex, &arp::gratuitous(mac, ip))
    }

    /// Ask who holds `ip` without claiming it (RFC 5227): a holder answers to `mac`.
    pub fn probe(&self, ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> io::Result<()> {
        self.send(ifindex, &arp::probe(mac, ip))
    }

    fn send(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        self.send_frame(ifindex, frame, arp::ETHERTYPE_ARP)
    }

    /// One Ethernet frame out of `ifindex` (its destination MAC first).
    pub(super) fn send_frame(&self, ifindex: u32, frame: &[u8], ethertype: u16) -> io::Result<()> {
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

/// Every ARP frame this host receives, on any interface (never the ones it sends).
pub struct Watch {
    fd: OwnedFd,
}

impl Watch {
    pub fn open() -> io::Result<Self> {
        Ok(Watch { fd: packet_socket(arp::ETHERTYPE_ARP, libc::SOCK_NONBLOCK)? })
    }

    /// The next received ARP frame; `Ok(None)` when there is none left for now. Frames
    /// that are not Ethernet/IPv4 ARP are skipped.
    pub fn recv(&self) -> io::Result<Option<Repr>> {
        let mut buf = [0u8; 128];
        loop {
            let Some(n) = recv_frame(&self.fd, &mut buf)? else { return Ok(None) };
            if let Some(r) = Repr::parse(&buf[..n]) {
                return Ok(Some(r));
            }
        }
    }
}

/// The next frame another host sent us (never one we send), its length; `None` when none
/// is queued. Longer frames are cut to `buf`.
pub(super) fn recv_frame(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: buf, sll and len outlive the call; lengths are theirs.
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut sll as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::WouldBlock { Ok(None) } else { Err(e) };
        }
        if sll.sll_pkttype != libc::PACKET_OUTGOING {
            return Ok(Some(n as usize));
        }
    }
}

impl AsFd for Watch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
