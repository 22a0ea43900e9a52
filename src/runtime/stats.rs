//! One instance's counters beside the core's (adverts out, transitions by pair, the last
//! change) and the rate limit of its repeated log lines.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::observe::status;
use crate::vrrp::State;

pub(super) struct Stats {
    /// Adverts that left (datagrams accepted by the kernel), and the ones that failed.
    pub sent: u64,
    pub send_errors: u64,
    pub transitions: BTreeMap<(&'static str, &'static str), u64>,
    pub last_transition: Instant,
    /// The last transition's log line and wall-clock time, for `--status`.
    pub last_change: Option<(String, f64)>,
    last_log: HashMap<&'static str, Instant>,
    /// Sources not in the peer list already named in the log (bounded: a flood of spoofed
    /// sources is counted, not remembered).
    strangers: Vec<std::net::IpAddr>,
    /// Other virtual routers heard on our VRID, with their addresses (the core bounds them).
    pub collisions: Vec<(std::net::IpAddr, Vec<std::net::IpAddr>)>,
    /// The MACs our unicast peers' frames come from (one per configured peer at most).
    peer_macs: Vec<(std::net::IpAddr, [u8; 6])>,
}

impl Stats {
    pub fn new(now: Instant) -> Self {
        Stats {
            sent: 0,
            send_errors: 0,
            transitions: BTreeMap::new(),
            last_transition: now,
            last_change: None,
            last_log: HashMap::new(),
            strangers: vec![],
            collisions: vec![],
            peer_macs: vec![],
        }
    }

    /// A configured peer's frame: its MAC.
    pub fn peer_mac(&mut self, peer: std::net::IpAddr, mac: [u8; 6]) {
        self.peer_macs.retain(|(p, _)| *p != peer);
        self.peer_macs.push((peer, mac));
    }

    /// The configured peer a MAC belongs to, if one was heard from it.
    pub fn peer_of(&self, mac: [u8; 6]) -> Option<std::net::IpAddr> {
        self.peer_macs.iter().find(|(_, m)| *m == mac).map(|(p, _)| *p)
    }

    /// Whether `src`, not a configured peer, is heard for the first time.
    pub fn first_stranger(&mut self, src: std::net::IpAddr) -> bool {
        if self.strangers.contains(&src) || self.strangers.len() >= 16 {
            return false;
        }
        self.strangers.push(src);
        true
    }

    pub fn transition(&mut self, from: State, to: State, line: String, now: Instant) {
        *self.transitions.entry((from.name(), to.name())).or_default() += 1;
        self.last_transition = now;
        self.last_change = Some((line, status::now_unix()));
    }

    /// Whether a line of this kind may be logged now: at most one a second.
    pub fn may_log(&mut self, kind: &'static str, now: Instant) -> bool {
        match self.last_log.get(kind) {
            Some(t) if now.duration_since(*t) < Duration::from_secs(1) => false,
            _ => {
                self.last_log.insert(kind, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_of_line_is_logged_at_most_once_a_second() {
        let t = Instant::now();
        let mut s = Stats::new(t);
        assert!(s.may_log("send", t));
        assert!(!s.may_log("send", t + Duration::from_millis(999)));
        assert!(s.may_log("ip_header", t + Duration::from_millis(10)), "kinds are limited apart");
        assert!(s.may_log("send", t + Duration::from_secs(1)));
    }

    #[test]
    fn a_stranger_is_named_once_and_only_a_few_are_remembered() {
        let mut s = Stats::new(Instant::now());
        let ip = |n: u8| std::net::IpAddr::from([198, 18, 0, n]);
        assert!(s.first_stranger(ip(14)));
        assert!(!s.first_stranger(ip(14)));
        for n in 0..15 {
            assert!(s.first_stranger(ip(100 + n)));
        }
        assert!(!s.first_stranger(ip(200)), "bounded");
    }

    #[test]
    fn transitions_are_counted_by_pair() {
        let t = Instant::now();
        let mut s = Stats::new(t);
        s.transition(State::Backup, State::Master, "BACKUP -> MASTER".into(), t);
        s.transition(State::Master, State::Backup, "MASTER -> BACKUP".into(), t);
        s.transition(State::Backup, State::Master, "BACKUP -> MASTER".into(), t + Duration::from_secs(1));
        assert_eq!(s.transitions[&("BACKUP", "MASTER")], 2);
        assert_eq!(s.transitions[&("MASTER", "BACKUP")], 1);
        assert_eq!(s.last_change.as_ref().map(|c| c.0.as_str()), Some("BACKUP -> MASTER"));
        assert_eq!(s.last_transition, t + Duration::from_secs(1));
    }
}
