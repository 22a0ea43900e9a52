//! RFC timer arithmetic, as keepalived computes it (microsecond precision).

use std::time::{Duration, Instant};

/// The instance's wake-ups. Each belongs to a state: leaving it clears its timers
/// ([`Table::keep_only`]), so none can fire in the wrong state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Backup: the master is declared down (Master_Down_Interval, or a shorter wait).
    MasterDown,
    /// Master: the next advert.
    Advert,
    /// Master: the repeat of the gratuitous ARPs after a takeover.
    Garp,
    /// Master: the repeat of the gratuitous ARPs after a lower priority's advert.
    GarpLowerPrio,
    /// Master shutting down: the VIPs stay until a successor appears or this passes.
    Resign,
    /// Backup: the master's advert is late (early failover): the next probe or verdict.
    Probe,
}

const TIMERS: usize = 6;

/// Every timer of an instance, in one place: set, clear, due, and the next wake-up.
#[derive(Debug, Clone, Default)]
pub struct Table([Option<Instant>; TIMERS]);

impl Table {
    pub fn get(&self, t: Timer) -> Option<Instant> {
        self.0[t as usize]
    }

    pub fn set(&mut self, t: Timer, at: Instant) {
        self.0[t as usize] = Some(at);
    }

    pub fn clear(&mut self, t: Timer) {
        self.0[t as usize] = None;
    }

    pub fn is_set(&self, t: Timer) -> bool {
        self.get(t).is_some()
    }

    pub fn due(&self, t: Timer, now: Instant) -> bool {
        self.get(t).is_some_and(|at| at <= now)
    }

    /// The earliest timer set.
    pub fn next(&self) -> Option<Instant> {
        earliest(&self.0)
    }

    /// Clear every timer but `keep`.
    pub fn keep_only(&mut self, keep: &[Timer]) {
        for t in [Timer::MasterDown, Timer::Advert, Timer::Garp, Timer::Resign, Timer::Probe] {
            if !keep.contains(&t) {
                self.clear(t);
            }
        }
    }
}

/// The earliest of some deadlines, `None` when none is set. One plain loop shared by every
/// "next deadline" (the core's, the runtime's parts'): an idle backup computes them on every
/// wake, and the iterator chains they replaced ran as a dozen scattered small functions in
/// this size-optimised build, each a cold cache line.
pub fn earliest(times: &[Option<Instant>]) -> Option<Instant> {
    let mut first: Option<Instant> = None;
    for t in times {
        match (t, first) {
            (Some(t), Some(f)) if *t < f => first = Some(*t),
            (Some(t), None) => first = Some(*t),
            _ => {}
        }
    }
    first
}

/// Skew_Time. v2 (RFC 3768): (256 - priority) / 256 seconds, whatever the interval.
/// v3 (RFC 5798): ((256 - priority) × Master_Adver_Interval) / 256.
pub fn skew_time(version: u8, priority: u8, master_adv_int_cs: u16) -> Duration {
    skew_for(version, 256 - u64::from(priority), master_adv_int_cs)
}

/// keepalived's smallest skew (priority value 1), used when configured `state MASTER`.
pub fn skew_min(version: u8, master_adv_int_cs: u16) -> Duration {
    skew_for(version, 1, master_adv_int_cs)
}

fn skew_for(version: u8, weight: u64, adv_cs: u16) -> Duration {
    if version == 3 {
        // weight × cs × 10 000 µs / 256, in keepalived's exact integer form.
        Duration::from_micros(weight * u64::from(adv_cs) * 625 / 16)
    } else {
        Duration::from_micros(weight * 1_000_000 / 256)
    }
}

/// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time; keepalived's
/// `down_timer_adverts` replaces the RFC's 3 with `adverts`.
pub fn master_down_interval(version: u8, priority: u8, master_adv_int_cs: u16, adverts: u8) -> Duration {
    u32::from(adverts) * duration_of(master_adv_int_cs) + skew_time(version, priority, master_adv_int_cs)
}

/// A VRRP interval in centiseconds as a `Duration`.
pub fn duration_of(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_ignores_unset_deadlines() {
        let t0 = Instant::now();
        let (a, b) = (t0 + Duration::from_millis(5), t0 + Duration::from_millis(3));
        assert_eq!(earliest(&[]), None);
        assert_eq!(earliest(&[None, None]), None);
        assert_eq!(earliest(&[None, Some(a)]), Some(a));
        assert_eq!(earliest(&[Some(a), None, Some(b), Some(a)]), Some(b));
        assert_eq!(earliest(&[Some(b), Some(a)]), Some(b));
    }

    #[test]
    fn table_sets_clears_and_finds_the_next() {
        let t0 = Instant::now();
        let mut t = Table::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Advert, t0 + Duration::from_secs(1));
        t.set(Timer::Garp, t0 + Duration::from_secs(5));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(1)));
        assert!(!t.due(Timer::Advert, t0) && t.due(Timer::Advert, t0 + Duration::from_secs(1)));
        t.keep_only(&[Timer::Garp]);
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(5)));
        t.clear(Timer::Garp);
        assert!(!t.is_set(Timer::Garp) && t.next().is_none());
    }

    #[test]
    fn rfc_values() {
        // v2, 1 s adverts: priority 200 → 3 + 56/256 s; 100 → 3 + 156/256 s.
        assert_eq!(master_down_interval(2, 200, 100, 3), Duration::from_micros(3_218_750));
        assert_eq!(master_down_interval(2, 100, 100, 3), Duration::from_micros(3_609_375));
        // v2 skew does not scale with the interval.
        assert_eq!(skew_time(2, 100, 500), Duration::from_micros(609_375));
        // v3 skew scales: 0.1 s adverts, priority 100 → 0.3 + 0.0609375 s.
        assert_eq!(master_down_interval(3, 100, 10, 3), Duration::from_micros(360_937));
        assert_eq!(skew_time(3, 255, 100), Duration::from_micros(3_906));
        assert_eq!(skew_min(2, 100), Duration::from_micros(3_906));
    }

    #[test]
    fn down_timer_adverts_replace_the_rfcs_three() {
        let skew = skew_time(2, 100, 100);
        assert_eq!(master_down_interval(2, 100, 100, 1), Duration::from_secs(1) + skew);
        assert_eq!(master_down_interval(2, 100, 100, 5), Duration::from_secs(5) + skew);
        assert_eq!(master_down_interval(3, 100, 10, 100), Duration::from_secs(10) + skew_time(3, 100, 10));
    }
}
