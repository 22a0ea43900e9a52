//! keepvip: highly available virtual IPs with VRRP, configured like osixia/keepalived (its
//! variables, or a keepalived.conf with any number of instances).
//!
//! Data flows one way: environment / keepalived.conf → [`config`] → [`runtime`] ⇄
//! [`vrrp`] (sans-IO core) and [`net`] (kernel) → [`observe`].
//! - [`config`]: front-ends read syntax into drafts; one rule book finishes them into a
//!   validated `Config` per instance (messages name the variable or file:line).
//! - [`wire`]: VRRP, IPv4, Ethernet, ARP and neighbour-discovery codecs, no IO.
//! - [`vrrp`]: the state machine of one instance, sans-IO.
//! - [`net`]: sockets (IPv4 and IPv6), rtnetlink, frames on packet sockets, the metrics
//!   listener; the only room with `unsafe`.
//! - `health`: health checks: fall/rise and weights (sans-IO) and their non-blocking probes.
//! - [`runtime`]: the poll loop; each instance's IO is a driver made of owned parts (links,
//!   checks, VIPs, stats); sync groups, reload and reports in rooms of their own.
//! - [`swarm`]: `KEEPALIVED_UNICAST_PEERS=swarm`: the members from the Docker engine (GET only),
//!   followed by a thread that wakes the loop.
//! - [`observe`]: the typed state file (`--status`, `--health`) and the Prometheus text.
//! - [`notify`], [`cli`]: notify scripts, arguments.

// `pub` is what the binary, the tests, the benches and the fuzz targets use; the rest is
// the crate's own, so the compiler reports what nobody uses. `unsafe` lives in `net` only.
#![deny(unsafe_code)]

pub mod cli;
pub mod config;
pub(crate) mod health;
#[allow(unsafe_code)]
pub mod net;
pub mod notify;
pub mod observe;
pub mod runtime;
pub mod swarm;
pub mod vrrp;
pub mod wire;
