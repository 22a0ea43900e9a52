//! When gratuitous ARPs go out, sans-IO. A takeover announces every VIP at once (clients
//! must move now), then repeats the announcement four times in paced chunks, as keepalived
//! spreads its repeats (`vrrp_garp_interval`): with 1024 VIPs the repeats are 64 frames
//! every 5 ms (12 800 frames/s) instead of 4096 frames in one burst, and an advert due in
//! between is never behind more than one chunk.

use std::ops::Range;
use std::time::{Duration, Instant};

/// Announcements per VIP and takeover (keepalived's `garp_master_repeat`).
pub const ROUNDS: usize = 5;
/// Repeats go out in chunks of this many frames…
pub const CHUNK: usize = 64;
/// …one chunk every this.
pub const CHUNK_GAP: Duration = Duration::from_millis(5);

#[derive(Debug, Default)]
pub struct Announcer {
    vips: usize,
    /// Frames of the repeats still to send, counted over all rounds.
    left: usize,
    next_at: Option<Instant>,
}

impl Announcer {
    /// A takeover (or a re-announcement): the VIPs to announce now, all of them. Restarts
    /// any repeats still pending.
    pub fn start(&mut self, vips: usize, now: Instant) -> Range<usize> {
        self.vips = vips;
        self.left = vips * (ROUNDS - 1);
        self.next_at = (self.left > 0).then_some(now + CHUNK_GAP);
        0..vips
    }

    /// Stop repeating (the VIPs were removed).
    pub fn stop(&mut self) {
        self.left = 0;
        self.next_at = None;
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_at
    }

    /// The VIP indexes to announce now, if a chunk is due.
    pub fn due(&mut self, now: Instant) -> Option<Range<usize>> {
        if self.next_at.is_none_or(|t| t > now) || self.vips == 0 {
            return None;
        }
        let done = self.vips * (ROUNDS - 1) - self.left;
        let start = done % self.vips;
        let end = (start + CHUNK).min(self.vips);
        self.left -= end - start;
        self.next_at = (self.left > 0).then_some(now + CHUNK_GAP);
        Some(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vips: usize) -> Vec<(Duration, Range<usize>)> {
        let t0 = Instant::now();
        let mut a = Announcer::default();
        let mut out = vec![(Duration::ZERO, a.start(vips, t0))];
        while let Some(t) = a.next_deadline() {
            out.push((t - t0, a.due(t).unwrap()));
        }
        out
    }

    #[test]
    fn every_vip_at_once_then_paced_repeats() {
        let sends = run(1024);
        assert_eq!(sends[0], (Duration::ZERO, 0..1024), "every VIP in the first few ms");
        let frames: usize = sends.iter().map(|(_, r)| r.len()).sum();
        assert_eq!(frames, 5 * 1024);
        for w in sends[1..].windows(2) {
            assert_eq!(w[1].0 - w[0].0, CHUNK_GAP);
            assert!(w[1].1.len() <= CHUNK);
        }
        // Each VIP is announced exactly five times.
        let mut count = vec![0; 1024];
        for (_, r) in &sends {
            for i in r.clone() {
                count[i] += 1;
            }
        }
        assert!(count.iter().all(|c| *c == 5));
        // One VIP: five frames, the repeats 5 ms apart.
        let one = run(1);
        assert_eq!(one.len(), 5);
        assert_eq!(one[4].0, 4 * CHUNK_GAP);
    }

    #[test]
    fn a_new_start_restarts_and_stop_ends() {
        let t0 = Instant::now();
        let mut a = Announcer::default();
        a.start(10, t0);
        assert_eq!(a.due(t0 + CHUNK_GAP), Some(0..10));
        assert_eq!(a.start(10, t0 + CHUNK_GAP), 0..10);
        a.stop();
        assert_eq!(a.next_deadline(), None);
        assert_eq!(a.due(t0 + CHUNK_GAP * 10), None);
    }
}
