//! When gratuitous ARPs go out, sans-IO, as keepalived schedules them: each announcement
//! (a takeover, the core's second one `garp_master_delay` later, a re-announcement) sends
//! every VIP at once (clients must move now) and repeats it (`garp_master_repeat` rounds in
//! all); `garp_master_refresh` re-announces while master. Repeats go out in paced chunks,
//! as keepalived spreads them (`vrrp_garp_interval`): with 1024 VIPs 64 frames every 5 ms
//! (12 800 frames/s) instead of 4096 frames in one burst, and an advert due in between is
//! never behind more than one chunk.

use std::ops::Range;
use std::time::{Duration, Instant};

use crate::config::Garp;
use crate::vrrp::timers::earliest;

/// Repeats go out in chunks of this many frames…
pub const CHUNK: usize = 64;
/// …one chunk every this.
pub const CHUNK_GAP: Duration = Duration::from_millis(5);

#[derive(Debug, Default)]
pub struct Announcer {
    garp: Garp,
    vips: usize,
    /// Frames of the current burst still to send, and the burst's size.
    left: usize,
    total: usize,
    next_at: Option<Instant>,
    /// The next refresh.
    refresh_at: Option<Instant>,
    /// The next announcement on the interfaces that send no adverts (`garp_extra_if`).
    extra_at: Option<Instant>,
}

impl Announcer {
    pub fn new(garp: Garp) -> Self {
        Announcer { garp, ..Announcer::default() }
    }

    /// A reload changed the schedule: from the next announcement on.
    pub fn set_garp(&mut self, garp: Garp) {
        self.garp = garp;
    }

    /// A takeover (or a re-announcement): the VIPs to announce now, all of them. Restarts
    /// any repeats still pending.
    pub fn start(&mut self, vips: usize, now: Instant) -> Range<usize> {
        self.start_rounds(vips, self.garp.repeat, now)
    }

    /// The same in `rounds` rounds (a lower priority's advert has its own count).
    pub fn start_rounds(&mut self, vips: usize, rounds: usize, now: Instant) -> Range<usize> {
        self.vips = vips;
        self.burst(rounds, now);
        self.refresh_at = self.garp.refresh.map(|r| now + r);
        self.extra_at = self.garp.extra_if.map(|r| now + r);
        self.take(now).unwrap_or(0..0)
    }

    /// Stop announcing (the VIPs were removed).
    pub fn stop(&mut self) {
        self.left = 0;
        self.next_at = None;
        self.refresh_at = None;
        self.extra_at = None;
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        earliest(&[self.next_at, self.refresh_at, self.extra_at])
    }

    /// Whether the interfaces that send no adverts are due their announcement (then the
    /// next one is scheduled).
    pub fn extra_due(&mut self, now: Instant) -> bool {
        match (self.extra_at, self.garp.extra_if) {
            (Some(t), Some(every)) if t <= now => {
                self.extra_at = Some(now + every);
                true
            }
            _ => false,
        }
    }

    /// The VIP indexes to announce now, if a chunk is due.
    pub fn due(&mut self, now: Instant) -> Option<Range<usize>> {
        if self.vips == 0 {
            return None;
        }
        if self.next_at.is_some_and(|t| t <= now) {
            return self.take(now);
        }
        if let (Some(t), Some(every)) = (self.refresh_at, self.garp.refresh) {
            if t <= now {
                self.refresh_at = Some(now + every);
                self.burst(self.garp.refresh_repeat, now);
                return self.take(now);
            }
        }
        None
    }

    fn burst(&mut self, rounds: usize, now: Instant) {
        self.total = self.vips * rounds;
        self.left = self.total;
        self.next_at = (self.left > 0).then_some(now);
    }

    /// The next chunk of the current burst: a whole round for its first, then at most
    /// [`CHUNK`] frames every [`CHUNK_GAP`].
    fn take(&mut self, now: Instant) -> Option<Range<usize>> {
        if self.left == 0 {
            self.next_at = None;
            return None;
        }
        let done = self.total - self.left;
        let start = done % self.vips;
        let size = if done == 0 { self.vips } else { CHUNK };
        let end = (start + size).min(self.vips);
        self.left -= end - start;
        self.next_at = (self.left > 0).then_some(now + CHUNK_GAP);
        Some(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_DELAY: Garp = Garp::KEEPALIVED;

    fn run(garp: Garp, vips: usize, until: Duration) -> Vec<(Duration, Range<usize>)> {
        let t0 = Instant::now();
        let mut a = Announcer::new(garp);
        let mut out = vec![(Duration::ZERO, a.start(vips, t0))];
        while let Some(t) = a.next_deadline().filter(|t| *t - t0 <= until) {
            out.push((t - t0, a.due(t).unwrap()));
        }
        out
    }

    fn per_vip(sends: &[(Duration, Range<usize>)], vips: usize) -> Vec<usize> {
        let mut count = vec![0; vips];
        for (_, r) in sends {
            for i in r.clone() {
                count[i] += 1;
            }
        }
        count
    }

    /// `garp_extra_if`: due every interval after a takeover, never after `stop`.
    #[test]
    fn extra_interfaces_are_due_every_interval_while_master() {
        let t0 = Instant::now();
        let mut a = Announcer::new(Garp { extra_if: Some(Duration::from_secs(10)), ..NO_DELAY });
        a.start(2, t0);
        let mut due = vec![];
        let mut t = t0;
        while t < t0 + Duration::from_secs(35) {
            t += Duration::from_millis(500);
            let _ = a.due(t);
            if a.extra_due(t) {
                due.push((t - t0).as_secs());
            }
        }
        assert_eq!(due, [10, 20, 30]);
        assert!(a.next_deadline().is_some_and(|d| d <= t0 + Duration::from_secs(40)));
        a.stop();
        assert!(!a.extra_due(t0 + Duration::from_secs(100)));
        assert_eq!(a.next_deadline(), None);
        // Off: never due.
        let mut a = Announcer::new(NO_DELAY);
        a.start(2, t0);
        assert!(!a.extra_due(t0 + Duration::from_secs(1000)));
    }

    #[test]
    fn every_vip_at_once_then_paced_repeats() {
        let sends = run(NO_DELAY, 1024, Duration::from_secs(60));
        assert_eq!(sends[0], (Duration::ZERO, 0..1024), "every VIP in the first few ms");
        let frames: usize = sends.iter().map(|(_, r)| r.len()).sum();
        assert_eq!(frames, 5 * 1024);
        for w in sends[1..].windows(2) {
            assert_eq!(w[1].0 - w[0].0, CHUNK_GAP);
            assert!(w[1].1.len() <= CHUNK);
        }
        assert!(per_vip(&sends, 1024).iter().all(|c| *c == 5), "each VIP exactly five times");
        // One VIP: five frames, the repeats 5 ms apart.
        let one = run(NO_DELAY, 1, Duration::from_secs(60));
        assert_eq!(one.len(), 5);
        assert_eq!(one[4].0, 4 * CHUNK_GAP);
    }

    #[test]
    fn refresh_repeats_while_master_and_stop_ends_it() {
        let garp = Garp { refresh: Some(Duration::from_secs(10)), refresh_repeat: 2, ..NO_DELAY };
        let sends = run(garp, 2, Duration::from_secs(35));
        let refreshes: Vec<_> =
            sends.iter().filter(|(t, _)| *t >= Duration::from_secs(1)).map(|(t, _)| t.as_secs()).collect();
        assert_eq!(refreshes, [10, 10, 20, 20, 30, 30], "two rounds every 10 s");
        let t0 = Instant::now();
        let mut a = Announcer::new(garp);
        a.start(2, t0);
        a.stop();
        assert_eq!(a.next_deadline(), None);
        assert_eq!(a.due(t0 + Duration::from_secs(10)), None);
    }

    #[test]
    fn a_new_start_restarts() {
        let t0 = Instant::now();
        let mut a = Announcer::new(NO_DELAY);
        a.start(10, t0);
        assert_eq!(a.due(t0 + CHUNK_GAP), Some(0..10));
        assert_eq!(a.start(10, t0 + CHUNK_GAP), 0..10);
        assert_eq!(a.due(t0 + CHUNK_GAP * 2), Some(0..10));
    }
}
