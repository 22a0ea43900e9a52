//! Another host answering for our VIPs while we are master (RFC 5227's ongoing conflict
//! detection is the model), sans-IO: a static copy, a cloned VM, a master killed with its
//! address left behind, a split-brain peer that cannot hear us. The loop's ARP and ND
//! watches feed what they hear; this says what to report, what to probe and when to
//! announce again.
//!
//! The rule against ARP wars: we re-announce a VIP (a) when a foreign *unsolicited* claim
//! arrives (a gratuitous ARP or unsolicited NA: someone just told the clients to move), at
//! most once a second and three times per conflict, and (b) once, when a conflicting holder
//! goes quiet (it no longer answers our probe). Answers to our own probes never trigger (a):
//! two masters that cannot hear each other's adverts exchange at most three announcements
//! each, then both report and stop; when one steps down, the other is the only one left and
//! takes the clients back within one probe interval.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::vrrp::timers::earliest;

/// How often each VIP is probed while no conflict is known (one chunk of VIPs per round).
pub const PROBE_EVERY: Duration = Duration::from_secs(10);
/// Probes per round: with 1024 VIPs each is probed every 16 rounds.
pub const PROBE_CHUNK: usize = 64;
/// How often a VIP in conflict is probed: a silent holder is gone within this.
pub const CONFLICT_PROBE_EVERY: Duration = Duration::from_millis(500);
/// Re-announcements a conflict's unsolicited claims may trigger.
const REANNOUNCE_BUDGET: u8 = 3;
const REANNOUNCE_MIN_GAP: Duration = Duration::from_secs(1);
/// MACs remembered per VIP (a flood of forged claims is counted, not remembered).
const MAX_CONFLICTS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub vip: usize,
    pub mac: [u8; 6],
    /// When its last claim or answer was heard.
    last_heard: Instant,
    reannounced: u8,
}

/// What the driver does about what was heard or what is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// A new holder of VIP `vip` (index), answering from `mac`.
    Found { vip: usize, mac: [u8; 6] },
    /// Announce VIP `vip` again.
    Reannounce(usize),
    /// The holder of `vip` at `mac` no longer answers.
    Gone { vip: usize, mac: [u8; 6] },
    /// Probe these VIPs (indexes).
    Probe(Vec<usize>),
}

#[derive(Debug, Default)]
pub struct ConflictWatch {
    vips: Vec<IpAddr>,
    /// While master: the next probe round, and where it starts.
    next_round: Option<Instant>,
    cursor: usize,
    /// The next probe of the VIPs in conflict, and when the last one went out.
    next_conflict_probe: Option<Instant>,
    last_conflict_probe: Option<Instant>,
    conflicts: Vec<Conflict>,
    last_reannounce: Vec<(usize, Instant)>,
    /// Conflicts found since start (each VIP and MAC once).
    pub found_total: u64,
}

impl ConflictWatch {
    pub fn new(vips: Vec<IpAddr>) -> Self {
        ConflictWatch { vips, ..ConflictWatch::default() }
    }

    /// We hold the VIPs from now: the first probe round follows the takeover's
    /// announcements (a holder that answers them too is found then).
    pub fn start(&mut self, now: Instant) {
        self.next_round = Some(now + Duration::from_secs(1));
    }

    /// We no longer hold them: nothing to watch.
    pub fn stop(&mut self) {
        self.next_round = None;
        self.next_conflict_probe = None;
        self.conflicts.clear();
        self.last_reannounce.clear();
    }

    pub fn set_vips(&mut self, vips: Vec<IpAddr>) {
        self.conflicts.retain(|c| c.vip < vips.len() && vips[c.vip] == self.vips[c.vip]);
        self.vips = vips;
        self.cursor = 0;
    }

    pub fn watching(&self) -> bool {
        self.next_round.is_some()
    }

    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        earliest(&[self.next_round, self.next_conflict_probe])
    }

    /// `mac` speaks for `ip` (`unsolicited`: a gratuitous ARP or unsolicited NA, not an
    /// answer to a probe); `ours` are the MACs our VIPs live on.
    pub fn heard(&mut self, ip: IpAddr, mac: [u8; 6], unsolicited: bool, ours: &[[u8; 6]], now: Instant) -> Vec<Out> {
        let mut out = vec![];
        if !self.watching() || ours.contains(&mac) {
            return out;
        }
        let Some(vip) = self.vips.iter().position(|v| *v == ip) else { return out };
        let known = self.conflicts.iter().position(|c| c.vip == vip && c.mac == mac);
        let i = match known {
            Some(i) => i,
            None if self.conflicts.iter().filter(|c| c.vip == vip).count() >= MAX_CONFLICTS => return out,
            None => {
                self.conflicts.push(Conflict { vip, mac, last_heard: now, reannounced: 0 });
                self.found_total += 1;
                out.push(Out::Found { vip, mac });
                self.next_conflict_probe.get_or_insert(now + CONFLICT_PROBE_EVERY);
                self.conflicts.len() - 1
            }
        };
        self.conflicts[i].last_heard = now;
        let recent = self.last_reannounce.iter().any(|(v, t)| *v == vip && now.duration_since(*t) < REANNOUNCE_MIN_GAP);
        if unsolicited && !recent && self.conflicts[i].reannounced < REANNOUNCE_BUDGET {
            self.conflicts[i].reannounced += 1;
            self.last_reannounce.retain(|(v, _)| *v != vip);
            self.last_reannounce.push((vip, now));
            out.push(Out::Reannounce(vip));
        }
        out
    }

    /// What is due now: probes, and holders that stopped answering.
    pub fn due(&mut self, now: Instant) -> Vec<Out> {
        let mut out = vec![];
        if self.next_conflict_probe.is_some_and(|t| t <= now) {
            // A holder silent since the previous probe went out is gone: the clients are
            // ours again once we announce.
            if let Some(sent) = self.last_conflict_probe {
                let (gone, kept): (Vec<Conflict>, Vec<Conflict>) =
                    self.conflicts.drain(..).partition(|c| c.last_heard < sent);
                self.conflicts = kept;
                for c in gone {
                    out.push(Out::Gone { vip: c.vip, mac: c.mac });
                    if !self.conflicts.iter().any(|k| k.vip == c.vip) && !out.contains(&Out::Reannounce(c.vip)) {
                        out.push(Out::Reannounce(c.vip));
                    }
                }
            }
            let mut vips: Vec<usize> = self.conflicts.iter().map(|c| c.vip).collect();
            vips.dedup();
            if vips.is_empty() {
                self.next_conflict_probe = None;
                self.last_conflict_probe = None;
            } else {
                out.push(Out::Probe(vips));
                self.last_conflict_probe = Some(now);
                self.next_conflict_probe = Some(now + CONFLICT_PROBE_EVERY);
            }
        }
        if self.next_round.is_some_and(|t| t <= now) && !self.vips.is_empty() {
            let n = self.vips.len().min(PROBE_CHUNK);
            let chunk: Vec<usize> = (0..n).map(|k| (self.cursor + k) % self.vips.len()).collect();
            self.cursor = (self.cursor + n) % self.vips.len();
            out.push(Out::Probe(chunk));
            self.next_round = Some(now + PROBE_EVERY);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const OTHER: [u8; 6] = [2, 0, 0, 0, 0, 9];

    fn vip() -> IpAddr {
        "198.18.0.100".parse().unwrap()
    }

    #[test]
    fn nothing_is_watched_unless_master_and_our_own_mac_is_no_conflict() {
        let t0 = Instant::now();
        let mut w = ConflictWatch::new(vec![vip()]);
        assert!(w.heard(vip(), OTHER, true, &[OURS], t0).is_empty(), "not master");
        w.start(t0);
        assert!(w.heard(vip(), OURS, true, &[OURS], t0).is_empty());
        assert!(w.heard("198.18.0.7".parse().unwrap(), OTHER, true, &[OURS], t0).is_empty(), "not our VIP");
        assert_eq!(w.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(w.due(t0 + Duration::from_secs(1)), [Out::Probe(vec![0])]);
        assert_eq!(w.next_deadline(), Some(t0 + Duration::from_secs(11)));
    }

    #[test]
    fn an_unsolicited_claim_is_answered_a_bounded_number_of_times() {
        let t0 = Instant::now();
        let mut w = ConflictWatch::new(vec![vip()]);
        w.start(t0);
        assert_eq!(w.heard(vip(), OTHER, true, &[OURS], t0), [Out::Found { vip: 0, mac: OTHER }, Out::Reannounce(0)]);
        // Within the second: nothing more; an answer to a probe never triggers.
        assert!(w.heard(vip(), OTHER, true, &[OURS], t0 + Duration::from_millis(500)).is_empty());
        assert!(w.heard(vip(), OTHER, false, &[OURS], t0 + Duration::from_secs(2)).is_empty());
        let mut answers = 1;
        for s in 3..20 {
            answers += w.heard(vip(), OTHER, true, &[OURS], t0 + Duration::from_secs(s)).len();
        }
        assert_eq!(answers, 3, "three re-announcements per conflict, then only reports");
        assert_eq!(w.found_total, 1);
    }

    #[test]
    fn a_holder_that_stops_answering_is_gone_and_we_announce_once() {
        let start = Instant::now();
        let mut w = ConflictWatch::new(vec![vip()]);
        w.start(start);
        assert_eq!(w.due(start + Duration::from_secs(1)), [Out::Probe(vec![0])], "the first round");
        let t0 = start + Duration::from_secs(2);
        w.heard(vip(), OTHER, false, &[OURS], t0);
        // The first conflict probe: still there (it answers).
        let p1 = t0 + CONFLICT_PROBE_EVERY;
        assert_eq!(w.due(p1), [Out::Probe(vec![0])]);
        w.heard(vip(), OTHER, false, &[OURS], p1 + Duration::from_millis(1));
        let p2 = p1 + CONFLICT_PROBE_EVERY;
        assert_eq!(w.due(p2), [Out::Probe(vec![0])]);
        // No answer to that probe: gone, announce, stop probing fast.
        let p3 = p2 + CONFLICT_PROBE_EVERY;
        assert_eq!(w.due(p3), [Out::Gone { vip: 0, mac: OTHER }, Out::Reannounce(0)]);
        assert!(w.conflicts().is_empty());
        assert_eq!(w.next_deadline(), Some(start + Duration::from_secs(11)), "back to the slow rounds");
        // Back again later: a new conflict, reported again.
        assert_eq!(w.heard(vip(), OTHER, false, &[OURS], p3)[0], Out::Found { vip: 0, mac: OTHER });
        assert_eq!(w.found_total, 2);
    }

    #[test]
    fn many_vips_are_probed_in_paced_chunks_and_stop_forgets() {
        let t0 = Instant::now();
        let vips: Vec<IpAddr> = (0..150u32).map(|i| IpAddr::V4(std::net::Ipv4Addr::from(0xC612_0000 + i))).collect();
        let mut w = ConflictWatch::new(vips);
        w.start(t0);
        let mut probed = vec![];
        let mut t = t0;
        for _ in 0..3 {
            t = w.next_deadline().unwrap();
            for o in w.due(t) {
                if let Out::Probe(v) = o {
                    assert!(v.len() <= PROBE_CHUNK);
                    probed.extend(v);
                }
            }
        }
        probed.sort_unstable();
        probed.dedup();
        assert_eq!(probed.len(), 150, "every VIP within three rounds");
        assert_eq!(t - t0, Duration::from_secs(21));
        w.stop();
        assert_eq!(w.next_deadline(), None);
    }
}
