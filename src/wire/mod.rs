//! Packet codecs. No IO, no allocation on parse.

pub mod arp;
pub mod checksum;
pub mod ndisc;
pub mod vrrp;
