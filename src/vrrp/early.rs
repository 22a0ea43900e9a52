//! Early failover, a keepvip extension (off with `KEEPVIP_EARLY_FAILOVER=false` or
//! `keepvip_early_failover off`): a backup whose master's advert is late asks the master's
//! host whether it is still there — ARP (IPv4) or a neighbour solicitation (IPv6) for the
//! advert source, which the host's kernel answers whatever its processes do — and takes
//! over at once when a host that answered before stays silent. A dead host, a cut cable or
//! a frozen VM is found in ~1.3 advert intervals instead of Master_Down_Interval's 3 + skew.
//!
//! Why it is safe: it only acts on silence of the master's *host*; an answer (the host is
//! alive and only its daemon is late or dead) leaves the RFC timer in charge. An advert
//! accepted at any point ends the round, so it never takes over while adverts arrive. The
//! verdict waits `order_delay` (Skew_Time's ordering, scaled to the interval) so the
//! highest-priority backup goes first and the others hear it. That order is timing only, so
//! the probes also say who asks (`wire::arp::backups_tag`): a backup that hears a backup
//! of its virtual router with a priority at least its own probe the same master leaves the
//! takeover to it and keeps the RFC timer — whatever the load on either node, and even when
//! the higher one never had its baseline answer and waits for Master_Down_Interval. A
//! wrong verdict (every probe and answer lost) ends as any split brain ends: the master's
//! advert wins the election and re-announces, and the core counts it as refuted.
//!
//! This is the core's bookkeeping only (sans-IO): the runtime sends the probes and feeds
//! the answers (`Event::NeighbourAnswered`).

use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Probes in a round, this far apart: one lost frame is not a verdict.
pub const PROBES: u8 = 3;
pub const PROBE_GAP: Duration = Duration::from_millis(25);
/// How long after a round's first probe an answer counts: a live kernel answers within a
/// millisecond on a LAN, a busy one within tens.
pub const ANSWER_WAIT: Duration = Duration::from_millis(100);
/// Baseline probes for a master whose host has not answered yet, one per advert: an
/// answer lost once (or read late on a loaded node) must not cost the node its early
/// failover, and a host that never answers is not probed forever.
pub const BASELINES: u8 = 3;
/// A rival's probe counts this long before our round's first probe (rounds start when each
/// backup finds the advert late: the same moment to a few ms).
pub const RIVAL_BEFORE: Duration = ANSWER_WAIT;
/// An advert from the master we replaced within this is a refuted early takeover.
pub const REFUTE_WINDOW: Duration = Duration::from_secs(10);

/// When a round starts: the master's advert is 20 % late (adverts are sent on time to a
/// few ms; a round costs three frames, so a late advert now and then is cheap).
pub fn late_after(master_adv_int: Duration) -> Duration {
    master_adv_int * 6 / 5
}

/// Skew_Time's ordering among backups, scaled to the interval: (256 − priority) / 1024 of
/// it. The highest priority decides first; the next is tens of ms behind at 1 s adverts,
/// ms at 0.1 s — far more than an advert takes to cross a LAN.
pub fn order_delay(priority: u8, master_adv_int: Duration) -> Duration {
    master_adv_int * (256 - u32::from(priority)) / 1024
}

/// When the verdict of a round started at `late` falls, and whether early failover is worth
/// it at all: only when it decides at least one advert interval before Master_Down_Interval
/// (never at 10 ms adverts, where the RFC timer is faster than any probe round).
pub fn verdict_at(late: Instant, priority: u8, master_adv_int: Duration) -> Instant {
    late + ANSWER_WAIT + order_delay(priority, master_adv_int)
}

/// What the core knows about the followed master's host.
#[derive(Debug, Default, Clone)]
pub struct MasterProbe {
    master: Option<IpAddr>,
    /// Its host answered a probe (or spoke) since we followed it: only then is its silence
    /// evidence (a host that never answers ARP proves nothing by not answering now).
    answered_before: bool,
    round: Option<Round>,
    /// When a backup with a priority at least ours was last heard probing this master.
    outranked_at: Option<Instant>,
    /// Baseline probes sent (`BASELINES`).
    baselines: u8,
    /// Answers are wanted until then (the runtime listens meanwhile).
    listen_until: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Round {
    started: Instant,
    sent: u8,
    answered: bool,
}

/// What the next step of a round is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send a probe for the master, and come back at `next` (`first` of the round).
    Probe { master: IpAddr, next: Instant, first: bool },
    /// The round is over: `gone` if the host stayed silent and answered before; `proven`
    /// if it answered before; `outranked` if a backup at least as high probed it too.
    Verdict { master: IpAddr, gone: bool, proven: bool, outranked: bool },
}

impl MasterProbe {
    /// An advert from `master` was accepted: any round ends. A new master is probed (the
    /// baseline), and again on its next adverts until its host answers, `BASELINES` in
    /// all; returns it then.
    pub fn follow(&mut self, master: IpAddr, now: Instant) -> Option<IpAddr> {
        self.round = None;
        if self.master != Some(master) {
            *self = MasterProbe { master: Some(master), ..Default::default() };
        } else if self.answered_before || self.baselines >= BASELINES {
            return None;
        }
        self.baselines += 1;
        self.listen_until = Some(now + ANSWER_WAIT);
        Some(master)
    }

    /// The master's host answered (or spoke): alive.
    pub fn answered(&mut self, ip: IpAddr) {
        if self.master == Some(ip) {
            self.answered_before = true;
            if let Some(r) = &mut self.round {
                r.answered = true;
            }
        }
    }

    /// A backup of the same virtual router with a priority at least ours probes `ip`.
    pub fn outranked(&mut self, ip: IpAddr, now: Instant) {
        if self.master == Some(ip) {
            self.outranked_at = Some(now);
        }
    }

    /// The round's timer fired: the next probe, or the verdict (`verdict` is when it falls,
    /// given the round's start).
    pub fn step(&mut self, now: Instant, verdict: impl Fn(Instant) -> Instant) -> Option<Step> {
        let master = self.master?;
        let r = self.round.get_or_insert(Round { started: now, sent: 0, answered: false });
        if r.sent < PROBES {
            r.sent += 1;
            let first = r.sent == 1;
            let next = if r.sent < PROBES { now + PROBE_GAP } else { verdict(r.started) };
            self.listen_until = Some(next);
            return Some(Step::Probe { master, next, first });
        }
        let gone = !r.answered && self.answered_before;
        let outranked = self.outranked_at.is_some_and(|t| t + RIVAL_BEFORE >= r.started);
        self.round = None;
        Some(Step::Verdict { master, gone, proven: self.answered_before, outranked })
    }

    /// The address whose answers are wanted now, if any. (No grace after a step is due:
    /// an ARP watch left receiving through a takeover made adding 1024 VIPs about 10 ms
    /// slower, 42 against 32 ms median over 8-10 interleaved runs; the cause is not known.)
    pub fn listening(&self, now: Instant) -> Option<IpAddr> {
        self.master.filter(|_| self.listen_until.is_some_and(|t| now <= t))
    }

    /// The master followed (for the runtime: answers for it are fed in).
    pub fn master(&self) -> Option<IpAddr> {
        self.master
    }

    /// We stopped following (master ourselves, fault, stop): start afresh next time.
    pub fn reset(&mut self) {
        *self = MasterProbe::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn timing_rule() {
        let s = Duration::from_secs(1);
        assert_eq!(late_after(s), Duration::from_millis(1200));
        // Priority 100 at 1 s: 152 ms behind a priority-254 backup's 2 ms.
        assert_eq!(order_delay(100, s), Duration::from_nanos(152_343_750));
        assert_eq!(order_delay(254, s), Duration::from_nanos(1_953_125));
        let t = Instant::now();
        assert_eq!(verdict_at(t, 100, s), t + Duration::from_nanos(252_343_750));
    }

    #[test]
    fn a_silent_host_that_answered_before_is_gone() {
        let t0 = Instant::now();
        let m = ip("198.18.0.1");
        let mut p = MasterProbe::default();
        assert_eq!(p.follow(m, t0), Some(m), "a new master is probed");
        assert_eq!(p.follow(m, t0 + Duration::from_millis(500)), Some(m), "until its host answers");
        assert_eq!(p.listening(t0), Some(m));
        p.answered(m);
        assert_eq!(p.follow(m, t0 + Duration::from_secs(1)), None, "the same master is not");
        let late = t0 + Duration::from_millis(2200);
        let v = |s: Instant| s + ANSWER_WAIT;
        assert_eq!(p.step(late, v), Some(Step::Probe { master: m, next: late + PROBE_GAP, first: true }));
        assert_eq!(
            p.step(late + PROBE_GAP, v),
            Some(Step::Probe { master: m, next: late + 2 * PROBE_GAP, first: false })
        );
        let last = p.step(late + 2 * PROBE_GAP, v);
        assert_eq!(last, Some(Step::Probe { master: m, next: late + ANSWER_WAIT, first: false }));
        assert_eq!(p.listening(late + ANSWER_WAIT), Some(m));
        assert_eq!(
            p.step(late + ANSWER_WAIT, v),
            Some(Step::Verdict { master: m, gone: true, proven: true, outranked: false })
        );
    }

    #[test]
    fn an_answer_or_an_unproven_host_is_not_gone() {
        let t0 = Instant::now();
        let m = ip("198.18.0.1");
        let v = |s: Instant| s + ANSWER_WAIT;
        let round = |p: &mut MasterProbe, answer: bool| {
            for k in 0..PROBES {
                p.step(t0 + PROBE_GAP * u32::from(k), v);
            }
            if answer {
                p.answered(m);
            }
            p.step(t0 + ANSWER_WAIT, v)
        };
        let mut p = MasterProbe::default();
        p.follow(m, t0);
        assert_eq!(
            round(&mut p, false),
            Some(Step::Verdict { master: m, gone: false, proven: false, outranked: false }),
            "never answered"
        );
        assert_eq!(
            round(&mut p, true),
            Some(Step::Verdict { master: m, gone: false, proven: true, outranked: false }),
            "answered now"
        );
        p.answered(ip("198.18.0.9"));
        assert_eq!(
            round(&mut p, false),
            Some(Step::Verdict { master: m, gone: true, proven: true, outranked: false }),
            "answered before"
        );
        // An advert in the middle of a round ends it.
        p.step(t0, v);
        p.follow(m, t0 + PROBE_GAP);
        assert_eq!(
            p.step(t0 + ANSWER_WAIT, v),
            Some(Step::Probe { master: m, next: t0 + ANSWER_WAIT + PROBE_GAP, first: true })
        );
        p.reset();
        assert_eq!(p.step(t0, v), None);
        assert_eq!(p.listening(t0), None);
    }

    #[test]
    fn a_rival_probing_the_same_master_in_the_round_outranks_us() {
        let t0 = Instant::now();
        let (m, other) = (ip("198.18.0.1"), ip("198.18.0.9"));
        let v = |s: Instant| s + ANSWER_WAIT;
        let verdict = |p: &mut MasterProbe, start: Instant| {
            for k in 0..PROBES {
                p.step(start + PROBE_GAP * u32::from(k), v);
            }
            p.step(start + ANSWER_WAIT, v)
        };
        let mut p = MasterProbe::default();
        p.follow(m, t0);
        p.answered(m);
        // Heard just before our round (its advert came a few ms earlier there).
        let start = t0 + Duration::from_secs(2);
        p.outranked(m, start - Duration::from_millis(5));
        p.outranked(other, start);
        let outranked = Some(Step::Verdict { master: m, gone: true, proven: true, outranked: true });
        assert_eq!(verdict(&mut p, start), outranked);
        // A rival heard in an old round (lost adverts, answered) is no rival now.
        let later = start + Duration::from_secs(5);
        let free = Some(Step::Verdict { master: m, gone: true, proven: true, outranked: false });
        assert_eq!(verdict(&mut p, later), free);
        // Another master's rival is not ours; a new master starts without one.
        p.outranked(other, later + Duration::from_secs(1));
        assert_eq!(verdict(&mut p, later + Duration::from_secs(1)), free);
        p.outranked(m, later + Duration::from_secs(2));
        p.follow(other, later + Duration::from_secs(2));
        p.answered(other);
        let s = later + Duration::from_secs(3);
        assert_eq!(
            verdict(&mut p, s),
            Some(Step::Verdict { master: other, gone: true, proven: true, outranked: false })
        );
    }

    #[test]
    fn an_unanswered_baseline_is_tried_again_on_the_next_adverts_then_given_up() {
        let t0 = Instant::now();
        let m = ip("198.18.0.1");
        let mut p = MasterProbe::default();
        let sent: Vec<bool> = (0..6).map(|k| p.follow(m, t0 + Duration::from_secs(k)).is_some()).collect();
        assert_eq!(sent, [true, true, true, false, false, false]);
        // A new master starts over.
        assert_eq!(p.follow(ip("198.18.0.2"), t0), Some(ip("198.18.0.2")));
    }
}
