//! IPv6 neighbour advertisements in, only while a restarted node decides whether the VIPs it
//! found are stale (the frames out are in `frames`).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::frames::{packet_socket, recv_frame};
use crate::wire::ndisc::{Repr, ETHERTYPE_IPV6};

/// Every IPv6 frame this host receives, kept open only while an instance resumes; yields the
/// Neighbor Advertisements among them.
pub struct Watch {
    fd: OwnedFd,
}

impl Watch {
    pub fn open() -> io::Result<Self> {
        Ok(Watch { fd: packet_socket(ETHERTYPE_IPV6, nix::libc::SOCK_NONBLOCK)? })
    }

    /// Stop (`false`) or restart (`true`) hearing frames, keeping the socket (see
    /// `frames::set_receiving`).
    pub fn set_receiving(&self, on: bool) -> io::Result<()> {
        super::frames::set_receiving(&self.fd, on)
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
