//! keepvip: highly available virtual IPs with VRRP, configured like osixia/keepalived (its
//! variables, or a keepalived.conf with any number of instances).
//!
//! Data flows one way: environment / keepalived.conf → [`config`] → [`vrrp`] (sans-IO core)
//! ⇄ [`runtime`] ⇄ [`net`].
//! - [`config`]: the sources into one validated `Config` per instance.
//! - [`wire`]: VRRP, ARP and neighbour-advertisement codecs, no IO.
//! - [`vrrp`]: the state machine of one instance, sans-IO.
//! - [`net`]: sockets (IPv4 and IPv6), rtnetlink, ARP and ND frames out, the metrics listener.
//! - [`health`]: health checks: fall/rise and weights (sans-IO) and their non-blocking probes.
//! - [`runtime`]: the poll loop over every instance.
//! - [`observe`]: the state file (`--status`, `--health`) and the Prometheus text.
//! - [`notify`], [`cli`]: notify scripts, arguments.

pub mod cli;
pub mod config;
pub mod health;
pub mod net;
pub mod notify;
pub mod observe;
pub mod runtime;
pub mod vrrp;
pub mod wire;
