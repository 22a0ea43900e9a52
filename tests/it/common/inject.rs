//! A hostile host: a raw IPv4 socket opened inside a lab namespace that writes whole IP
//! packets, so it can spoof a peer's source address and pick any TTL. Only the lab's
//! 198.18.0.0/24 addresses are ever used as destinations.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::os::fd::{FromRawFd, OwnedFd};

use keepvip::wire::checksum;
use keepvip::wire::vrrp::{encode_addrs, AddrList, Auth, Family, Pseudo, Repr, PROTOCOL};
use nix::libc;
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{sendto, MsgFlags, SockaddrIn};

pub struct Injector {
    fd: OwnedFd,
}

impl Injector {
    /// A socket lives in the namespace it was created in, so create it from a thread that
    /// joined the namespace; the test thread keeps its own.
    pub fn open(ns: &str) -> Injector {
        // IPPROTO_RAW implies IP_HDRINCL: we write the IP header ourselves.
        Injector { fd: raw_socket_in(ns, libc::IPPROTO_RAW) }
    }

    /// Send `payload` as IP protocol 112 from `src` (spoofed at will) to `dst` with `ttl`.
    pub fn send(&self, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, payload: &[u8]) {
        assert!(dst.octets()[..3] == [198, 18, 0], "the injector only sends inside the lab");
        let mut pkt = Vec::with_capacity(20 + payload.len());
        let total = (20 + payload.len()) as u16;
        pkt.extend_from_slice(&[0x45, 0]);
        pkt.extend_from_slice(&total.to_be_bytes());
        pkt.extend_from_slice(&[0, 0, 0x40, 0, ttl, PROTOCOL, 0, 0]);
        pkt.extend_from_slice(&src.octets());
        pkt.extend_from_slice(&dst.octets());
        pkt.extend_from_slice(payload);
        let to = SockaddrIn::from(SocketAddrV4::new(dst, 0));
        // A full socket buffer under the flood is fine: the flood is best effort.
        let _ = sendto(std::os::fd::AsRawFd::as_raw_fd(&self.fd), &pkt, &to, MsgFlags::empty());
    }
}

/// A raw IPv4 socket created inside namespace `ns` (by a thread that joined it; the socket
/// stays in that namespace whoever uses it).
pub fn raw_socket_in(ns: &str, proto: i32) -> OwnedFd {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let nsfd = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        setns(&nsfd, CloneFlags::CLONE_NEWNET).expect("setns");
        // SAFETY: socket(2); the descriptor is owned from here on.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
        assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
        unsafe { OwnedFd::from_raw_fd(fd) }
    })
    .join()
    .unwrap()
}

/// An advert as keepalived/keepvip would build it; callers then corrupt what they test.
pub struct Advert {
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    pub interval_cs: u16,
    pub password: Option<&'static str>,
    pub vips: Vec<IpAddr>,
}

impl Advert {
    /// The seed's advert: VRRPv2, router 51, password d0cker, 1 s.
    pub fn seed(priority: u8, vip: &str) -> Advert {
        Advert {
            version: 2,
            vrid: 51,
            priority,
            interval_cs: 100,
            password: Some("d0cker"),
            vips: vec![vip.parse().unwrap()],
        }
    }

    pub fn bytes(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let addrs = encode_addrs(self.vips.iter().copied());
        let repr = Repr {
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            interval_cs: self.interval_cs,
            auth: self.password.map(Auth::pass).unwrap_or(Auth::None),
            addrs: AddrList::new(Family::V4, &addrs).unwrap(),
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf, Pseudo::Ip { src: src.into(), dst: dst.into() });
        buf
    }
}

/// Recompute a VRRPv2 checksum after a test edited the message (v2 has no pseudo-header).
pub fn fix_v2_checksum(msg: &mut [u8]) {
    msg[6..8].copy_from_slice(&[0, 0]);
    let c = checksum::finish(checksum::sum(msg));
    msg[6..8].copy_from_slice(&c.to_be_bytes());
}
