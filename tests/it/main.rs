//! The integration tests, one binary: hosts in network namespaces, keepalived as the
//! interop peer and oracle, Docker, real services. Needs root; never skips (see `common`).

mod common;

mod cli_check;
mod clusters;
mod conf;
mod conf_differential;
mod conf_keepalived;
mod conf_wire;
mod conflicts;
mod demo;
mod docker;
mod early_failover;
mod faults;
mod handover;
mod health;
mod hostile;
mod interop;
mod ipv6;
mod layout;
mod metrics;
mod osixia;
mod osixia23;
mod reliability;
mod routes;
mod runtime_netns;
mod scripts;
mod strict;
mod swarm;
mod swarm_peers;
mod vmac;
