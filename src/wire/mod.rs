//! Packet codecs. No IO, no allocation on parse.
#![forbid(unsafe_code)]

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod ipv4;
pub mod ndisc;
pub mod vrrp;

use std::net::IpAddr;

/// A datagram as the IP layer delivered it: what its header said, and its payload (a VRRP
/// packet from the raw socket of either family).
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub payload: &'a [u8],
}
