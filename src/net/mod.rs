//! The IO shell's kernel side: each function maps to one kernel operation. The only room
//! with `unsafe`, each block behind a safe function.

pub(crate) mod adverts;
pub(crate) mod arp;
pub mod caps;
pub(crate) mod epoll;
pub(crate) mod frames;
pub(crate) mod http;
pub(crate) mod ipvs;
pub(crate) mod memory;
pub(crate) mod ndisc;
pub mod netlink;
pub(crate) mod nftables;
mod nla;
pub(crate) mod routes;
pub(crate) mod signal;
pub(crate) mod socket;
pub(crate) mod vmac;
