//! What a front-end read, before the rules: one instance's values, each remembering where
//! it came from (a variable, or a place in keepalived.conf), so the one rule book
//! ([`super::rules::finish`]) can name it in every message whatever the source.

use std::net::IpAddr;
use std::time::Duration;

use super::conf::lex::Pos;
use super::{Check, InitialState, Origin, Version, Vip};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum At {
    /// A variable: messages print it with its value.
    Var(&'static str),
    /// A line of keepalived.conf, and what it says there (`advert_int '0.5'`, or empty when
    /// the message names it).
    Line(Pos, String),
}

/// A problem (or a warning) about one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub at: At,
    pub msg: String,
}

impl Finding {
    pub fn new(at: &At, msg: impl Into<String>) -> Self {
        Finding { at: at.clone(), msg: msg.into() }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub at: At,
}

impl<T> Sourced<T> {
    pub fn new(value: T, at: At) -> Self {
        Sourced { value, at }
    }
}

/// How each source spells the settings that messages tell the user to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    /// `KEEPALIVED_PRIORITY=` or `priority `: followed by the value.
    pub priority: &'static str,
    pub version: &'static str,
    pub peers: &'static str,
    /// The initial state MASTER.
    pub master: &'static str,
}

pub const ENV_NAMES: Names = Names {
    priority: "KEEPALIVED_PRIORITY=",
    version: "KEEPALIVED_VRRP_VERSION=",
    peers: "KEEPALIVED_UNICAST_PEERS",
    master: "KEEPALIVED_STATE=MASTER",
};
pub const CONF_NAMES: Names =
    Names { priority: "priority ", version: "version ", peers: "unicast_peer", master: "state MASTER" };

/// One instance as a front-end read it.
#[derive(Debug, Clone)]
pub struct Draft {
    pub origin: Origin,
    pub names: Names,
    pub name: String,
    pub interface: Sourced<String>,
    pub state: InitialState,
    pub router_id: u8,
    pub priority: u8,
    /// `nopreempt`, and whether it was written (osixia's template always renders it).
    pub nopreempt: Option<(At, bool)>,
    pub preempt_delay: Option<Sourced<String>>,
    pub advert_int: Option<Sourced<String>>,
    pub version: Version,
    /// Set explicitly (an IPv6 instance runs VRRPv3 either way; said louder when asked for v2).
    pub version_set: bool,
    pub password: Option<String>,
    pub advert_source: Option<Sourced<IpAddr>>,
    pub peers: Vec<Sourced<IpAddr>>,
    pub vips: Vec<Sourced<Vip>>,
    pub routes: Vec<Sourced<crate::config::route::Route>>,
    pub rules: Vec<crate::config::rule::Rule>,
    pub notify: Option<Vec<String>>,
    pub notify_state: Vec<(String, Vec<String>)>,
    pub track_interfaces: Vec<Sourced<String>>,
    pub checks: Vec<Check>,
    /// Where a warning about the checks' weights points.
    pub weight_at: At,
    /// Where a missing interface of a weighted interface check is named.
    pub track_at: At,
    pub sync_group: Option<String>,
    pub v3_checksum_as_v2: bool,
    pub unicast_min_ttl: Option<u8>,
    pub check_unicast_src: bool,
    /// This host's addresses the peers list: adverts must come from one (osixia's recipe
    /// gives every node the same list; empty: no such rule, as in keepalived.conf).
    pub listed_sources: Vec<IpAddr>,
    pub first_hold: Duration,
    pub garp: super::Garp,
    pub dont_track_primary: bool,
    pub mcast_group: Option<IpAddr>,
    pub skip_check_adv_addr: bool,
    pub early_failover: bool,
    pub down_timer_adverts: u8,
    pub track_src_ip: bool,
    pub startup_delay: std::time::Duration,
    pub accept: bool,
    pub strict: bool,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub vmac: Option<super::Vmac>,
    /// `KEEPALIVED_UNICAST_PEERS=swarm`: the peer list is the swarm's (this node included).
    pub peers_from_swarm: bool,
    /// A reload: a VIP's missing `dev` is a FAULT until it exists, not an error.
    pub missing_dev_is_fault: bool,
}
