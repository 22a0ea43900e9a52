//! The IO shell's kernel side: each function maps to one kernel operation.

pub mod arp;
pub mod caps;
pub mod http;
pub mod ipvs;
pub mod ndisc;
pub mod netlink;
pub mod socket;
