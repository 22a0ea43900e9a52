//! The VRRP protocol core, sans-IO: events and an `Instant` in, actions and the next
//! deadline out. No sockets, no clock, no logging inside.

#![forbid(unsafe_code)]

pub mod early;
mod event;
mod instance;
mod repeat;
pub mod timers;

pub use event::{Action, Decision, Event, Fault, Reason, Received, Rejected, State};
pub use instance::{Instance, Params};
