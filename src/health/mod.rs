//! Health checks: when each runs and what its results mean (this file, sans-IO), and the
//! probes that ask without blocking ([`probe`]).
//!
//! A check's verdict follows keepalived's `vrrp_script` rules: until its first result it
//! is undecided (a weight-0 check holds the instance back, as keepalived holds it in
//! FAULT, so a node never takes the VIP before its service was seen); then `fall` failures
//! in a row make it down and `rise` successes up, so a flapping service does not flap the
//! VIP. The first result decides at once (keepalived: "one success is enough").

#![forbid(unsafe_code)]

pub mod probe;
pub mod process;

use std::time::Instant;

use crate::config::{track, Check, Probe};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No result yet.
    Init,
    Up,
    Down,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Init => "init",
            Status::Up => "up",
            Status::Down => "down",
        }
    }
}

/// One check's verdict and its history.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub check: Check,
    pub status: Status,
    /// keepalived's counter: 0..rise-1 down, rise..rise+fall-1 up.
    count: u32,
    /// The last result and why it failed.
    pub last: Option<Result<(), String>>,
    /// Results so far, and failures among them.
    pub runs: u64,
    pub failures: u64,
    next_at: Instant,
    busy: bool,
}

/// A check's verdict changed: worth one log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub index: usize,
    pub from: Status,
    pub to: Status,
}

/// The checks of one instance.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    checks: Vec<Tracked>,
}

impl Tracker {
    /// Every check runs at once, then every `interval`.
    pub fn new(checks: &[Check], now: Instant) -> Self {
        let checks = checks
            .iter()
            .map(|c| Tracked {
                status: if c.init_fail { Status::Down } else { Status::Init },
                count: if c.init_fail { 0 } else { c.rise - 1 },
                last: None,
                runs: 0,
                failures: 0,
                next_at: now,
                busy: false,
                check: c.clone(),
            })
            .collect();
        Tracker { checks }
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// A reload changed the weights of the same checks: their verdicts stay.
    pub fn set_weights(&mut self, weights: impl IntoIterator<Item = i32>) {
        for (t, w) in self.checks.iter_mut().zip(weights) {
            t.check.weight = w;
        }
    }

    pub fn checks(&self) -> &[Tracked] {
        &self.checks
    }

    /// Checks to start now (each is then busy until its result is reported).
    pub fn due(&mut self, now: Instant) -> Vec<usize> {
        let mut out = vec![];
        for (i, t) in self.checks.iter_mut().enumerate() {
            if !t.busy && t.next_at <= now && !matches!(t.check.probe, Probe::Link(_)) {
                t.busy = true;
                // The cadence is kept from the start of a run, as keepalived's timer is.
                let next = t.next_at + t.check.interval;
                t.next_at = if next <= now { now + t.check.interval } else { next };
                out.push(i);
            }
        }
        out
    }

    /// When a check that is not running is next due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.checks.iter().filter(|t| !t.busy && !matches!(t.check.probe, Probe::Link(_))).map(|t| t.next_at).min()
    }

    /// A probe's result; `Some` when the verdict changed.
    pub fn report(&mut self, i: usize, result: Result<(), String>) -> Option<Change> {
        let t = self.checks.get_mut(i)?;
        t.busy = false;
        t.runs += 1;
        let from = t.status;
        let (rise, fall) = (t.check.rise, t.check.fall);
        if result.is_ok() {
            if t.count + 1 < rise {
                t.count += 1;
            } else {
                t.count = rise + fall - 1;
                t.status = Status::Up;
            }
        } else {
            t.failures += 1;
            if t.count > rise {
                t.count -= 1;
            } else {
                // From up with one failure left, or undecided: down now.
                if t.count == rise || t.status == Status::Init {
                    t.status = Status::Down;
                }
                t.count = 0;
            }
        }
        t.last = Some(result);
        (t.status != from).then_some(Change { index: i, from, to: t.status })
    }

    /// An interface's state for a `Link` check (no fall/rise: it is the kernel's word).
    pub fn set_link(&mut self, name: &str, up: bool) -> Vec<Change> {
        let mut out = vec![];
        for (i, t) in self.checks.iter_mut().enumerate() {
            if t.check.probe == Probe::Link(name.to_string()) {
                let to = if up { Status::Up } else { Status::Down };
                if t.status != to {
                    out.push(Change { index: i, from: t.status, to });
                    t.status = to;
                    t.last = Some(if up { Ok(()) } else { Err("down or gone".into()) });
                }
            }
        }
        out
    }

    /// The weight-0 check that keeps the instance in FAULT, first one first, and whether it
    /// is only undecided yet.
    pub fn fault(&self) -> Option<(&Tracked, bool)> {
        self.checks
            .iter()
            .filter(|t| t.check.weight == 0)
            .find(|t| t.status != Status::Up)
            .map(|t| (t, t.status == Status::Init))
    }

    /// The priority the weighted checks give `base`.
    pub fn priority(&self, base: u8) -> u8 {
        let deltas = self.checks.iter().map(|t| match (t.status, t.check.weight) {
            (Status::Up, w) if w > 0 => w,
            (Status::Down, w) if w < 0 => w,
            _ => 0,
        });
        track::effective_priority(base, deltas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn check(fall: u32, rise: u32, weight: i32) -> Check {
        Check {
            name: "c".into(),
            probe: Probe::Tcp("127.0.0.1:1".parse().unwrap()),
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
            fall,
            rise,
            weight,
            init_fail: false,
        }
    }

    fn feed(t: &mut Tracker, results: &[bool]) -> Vec<Status> {
        results
            .iter()
            .map(|ok| {
                t.report(0, if *ok { Ok(()) } else { Err("refused".into()) });
                t.checks()[0].status
            })
            .collect()
    }

    #[test]
    fn the_first_result_decides_then_fall_and_rise_damp() {
        use Status::*;
        let t0 = Instant::now();
        let mut t = Tracker::new(&[check(3, 2, 0)], t0);
        assert_eq!(t.checks()[0].status, Init);
        assert!(t.fault().is_some_and(|(_, init)| init), "undecided holds the instance back");
        assert_eq!(feed(&mut t, &[true]), [Up], "one success is enough at start");
        assert_eq!(feed(&mut t, &[false, false, true, false, false, false]), [Up, Up, Up, Up, Up, Down]);
        assert_eq!(feed(&mut t, &[true, false, true, true]), [Down, Down, Down, Up], "rise 2 in a row");
        let mut t = Tracker::new(&[check(3, 2, 0)], t0);
        assert_eq!(feed(&mut t, &[false]), [Down], "one failure at start is down at once (keepalived)");
        // Flapping every run never moves a fall 2 / rise 2 check that is up.
        let mut t = Tracker::new(&[check(2, 2, 0)], t0);
        feed(&mut t, &[true]);
        assert!(feed(&mut t, &[false, true].repeat(10)).iter().all(|s| *s == Up));
    }

    #[test]
    fn weights_move_the_priority_and_init_fail_starts_down() {
        let t0 = Instant::now();
        let mut c = check(1, 1, -60);
        c.init_fail = true;
        let plus = check(1, 1, 20);
        let mut t = Tracker::new(&[c, plus], t0);
        assert_eq!(t.priority(100), 40, "init_fail counts as down; the undecided +20 counts nothing");
        assert!(t.fault().is_none(), "weighted checks never fault");
        t.report(0, Ok(()));
        t.report(1, Ok(()));
        assert_eq!(t.priority(100), 120);
        t.report(1, Err("x".into()));
        assert_eq!(t.priority(100), 100);
    }

    #[test]
    fn scheduling_keeps_the_cadence_and_never_runs_a_check_twice_at_once() {
        let t0 = Instant::now();
        let mut t = Tracker::new(&[check(1, 1, 0)], t0);
        assert_eq!(t.due(t0), [0]);
        assert!(t.due(t0 + Duration::from_secs(5)).is_empty(), "busy until reported");
        assert_eq!(t.next_deadline(), None);
        t.report(0, Ok(()));
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(2)), "overdue: the next run starts at once");
        assert_eq!(t.due(t0 + Duration::from_secs(5)), [0]);
        t.report(0, Ok(()));
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(7)), "after a late run the cadence starts again");
    }

    #[test]
    fn links_are_set_not_probed() {
        let t0 = Instant::now();
        let mut c = check(1, 1, -50);
        c.probe = Probe::Link("eth1".into());
        let mut t = Tracker::new(&[c], t0);
        assert!(t.due(t0).is_empty());
        assert_eq!(t.set_link("eth1", false).len(), 1);
        assert_eq!(t.priority(100), 50);
        assert!(t.set_link("eth1", false).is_empty(), "no change, no line");
    }
}
