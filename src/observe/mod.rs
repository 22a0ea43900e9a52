//! What operators see of the running daemon, without changing it: the state file behind
//! `--status` / `--health` ([`status`]) and the Prometheus text ([`metrics`]).

#![forbid(unsafe_code)]

mod json;
pub(crate) mod metrics;
pub mod status;
