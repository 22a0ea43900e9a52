//! VRRP adverts as Ethernet frames, only for a moment after a master stepped down: the raw
//! IP socket gives the advert without the MAC it came from, and that MAC is what the old
//! master announces the VIPs at (`runtime/neighbours.rs`).

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::libc;

use super::frames::{packet_socket, recv_frame};
use crate::wire::ethernet;

/// Every frame this host receives (the sender of each VRRP advert among them).
pub struct Watch {
    fd: OwnedFd,
}

impl Watch {
    pub fn open() -> io::Result<Self> {
        Ok(Watch { fd: packet_socket(libc::ETH_P_ALL as u16, libc::SOCK_NONBLOCK)? })
    }

    /// The next received advert's IP source and MAC; `Ok(None)` when none is left for now
    /// (other frames are skipped, at most 256 a call).
    pub fn recv(&self) -> io::Result<Option<(IpAddr, [u8; 6])>> {
        let mut buf = [0u8; 128];
        for _ in 0..256 {
            let Some(n) = recv_frame(&self.fd, &mut buf)? else { return Ok(None) };
            if let Some(s) = ethernet::vrrp_sender(&buf[..n]) {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }
}

impl AsFd for Watch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
