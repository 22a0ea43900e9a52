//! ARP frames in, only while a restarted node decides whether the VIPs it found are stale.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::libc;

use super::frames::{packet_socket, recv_frame};
use crate::wire::arp::{self, Repr};

/// Every ARP frame this host receives, on any interface (never the ones it sends).
pub struct Watch {
    fd: OwnedFd,
}

impl Watch {
    pub fn open() -> io::Result<Self> {
        Ok(Watch { fd: packet_socket(arp::ETHERTYPE_ARP, libc::SOCK_NONBLOCK)? })
    }

    /// Stop (`false`) or restart (`true`) hearing frames, keeping the socket (see
    /// `frames::set_receiving`).
    pub fn set_receiving(&self, on: bool) -> io::Result<()> {
        super::frames::set_receiving(&self.fd, on)
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

impl AsFd for Watch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
