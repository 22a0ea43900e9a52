//! keepvip: one highly available virtual IP with VRRP, configured like osixia/keepalived.
//!
//! Data flows one way: environment → [`config`] → [`vrrp`] (sans-IO core) ⇄ [`runtime`] ⇄ [`net`].

pub mod cli;
pub mod config;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod runtime;
pub mod status;
pub mod vrrp;
pub mod wire;
