//! One instance's health checks at run time: the sans-IO tracker's verdicts, the probes in
//! flight (one slot per check) and the scripts killed at their deadline.

use std::process::Child;
use std::time::Instant;

use crate::config::Check;
use crate::health::probe::{Running, Wait};
use crate::health::{Change, Status, Tracker};
use crate::vrrp::timers::earliest;
use crate::vrrp::Fault;

pub(super) struct Checks {
    pub tracker: Tracker,
    probes: Vec<Option<Running>>,
    /// Scripts killed at their deadline, reaped when they are gone.
    killed: Vec<Child>,
}

impl Checks {
    pub fn new(checks: &[Check], now: Instant) -> Self {
        Checks { tracker: Tracker::new(checks, now), probes: checks.iter().map(|_| None).collect(), killed: vec![] }
    }

    /// Whether a weight-0 check has not given its first result yet (the instance waits).
    pub fn undecided(&self) -> bool {
        self.tracker.fault().is_some_and(|(_, undecided)| undecided)
    }

    /// A failing weight-0 check's fault and its log line (an undecided one only delays the
    /// start).
    pub fn fault(&self) -> Option<(Fault, String)> {
        let (t, false) = self.tracker.fault()? else { return None };
        let why = match &t.last {
            Some(Err(e)) => e.as_str(),
            _ => "init_fail",
        };
        Some((
            Fault::Check,
            format!("check {} fails ({why}): FAULT until it passes, handing the VIPs over first", t.check.name),
        ))
    }

    /// Interface checks follow the links: `up` for each tracked interface's name.
    pub fn set_links(&mut self, up: impl Fn(&str) -> bool) -> Vec<Change> {
        let names: Vec<String> = self
            .tracker
            .checks()
            .iter()
            .filter_map(|t| match &t.check.probe {
                crate::config::Probe::Link(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        names.iter().flat_map(|n| self.tracker.set_link(n, up(n))).collect()
    }

    /// The fds of the probes in flight, for the poll set.
    pub fn waits(&self) -> impl Iterator<Item = Wait<'_>> {
        self.probes.iter().flatten().filter_map(Running::wait)
    }

    /// When the checks next need the loop: a probe's deadline or the next run.
    pub fn next_deadline(&self) -> Option<Instant> {
        let running = self.probes.iter().flatten().map(Running::deadline).min();
        earliest(&[running, self.tracker.next_deadline()])
    }

    /// Collect answers (and timeouts) and start the checks that are due; never blocks.
    /// The verdicts that changed.
    pub fn step(&mut self, now: Instant) -> Vec<Change> {
        let mut changes = vec![];
        if self.tracker.is_empty() {
            return changes;
        }
        for i in 0..self.probes.len() {
            let Some(out) = self.probes[i].as_mut().and_then(|r| r.advance(now)) else { continue };
            // A script killed at its deadline is reaped once it is gone.
            if let Some(mut child) = self.probes[i].take().and_then(Running::into_child) {
                if matches!(child.try_wait(), Ok(None)) {
                    self.killed.push(child);
                }
            }
            changes.extend(self.tracker.report(i, out));
        }
        for i in self.tracker.due(now) {
            let c = &self.tracker.checks()[i].check;
            match Running::start(&c.probe, now + c.timeout) {
                Ok(r) => self.probes[i] = Some(r),
                Err(e) => changes.extend(self.tracker.report(i, Err(e))),
            }
        }
        changes
    }

    /// The log line of each changed verdict (a check going down is a warning).
    pub fn log(&self, instance: &str, changes: &[Change]) {
        for c in changes {
            let t = &self.tracker.checks()[c.index];
            let why = match &t.last {
                Some(Err(e)) => format!(" ({e})"),
                _ => String::new(),
            };
            let effect = match t.check.weight {
                0 => String::new(),
                w => format!(", weight {w:+}"),
            };
            let line =
                format!("({instance}) check {}: {} -> {}{why}{effect}", t.check.name, c.from.name(), c.to.name());
            if c.to == Status::Down {
                log::warn!("{line}");
            } else {
                log::info!("{line}");
            }
        }
    }

    /// Killed scripts that are gone are forgotten (on SIGCHLD).
    pub fn reap(&mut self) {
        self.killed.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    }

    /// Scripts still running, probes and killed ones.
    pub fn children(&self) -> impl Iterator<Item = u32> + '_ {
        self.probes.iter().flatten().filter_map(Running::pid).chain(self.killed.iter().map(Child::id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link_check(name: &str, weight: i32) -> Check {
        Check::interface(name, weight)
    }

    #[test]
    fn interface_checks_follow_the_links_and_a_weight_0_one_is_a_fault() {
        let now = Instant::now();
        let mut c = Checks::new(&[link_check("eth1", 0), link_check("eth2", -20)], now);
        let changes = c.set_links(|n| n != "eth1");
        assert_eq!(changes.len(), 2, "both decided by the first look");
        let (fault, line) = c.fault().expect("eth1 is down");
        assert_eq!(fault, Fault::Check);
        assert!(line.contains("interface eth1"), "{line}");
        assert!(c.set_links(|_| true).iter().any(|ch| ch.to == Status::Up));
        assert!(c.fault().is_none());
        assert!(c.children().next().is_none() && c.waits().next().is_none());
    }

    #[test]
    fn no_checks_never_need_the_loop() {
        let mut c = Checks::new(&[], Instant::now());
        assert!(c.step(Instant::now()).is_empty());
        assert_eq!(c.next_deadline(), None);
        assert!(!c.undecided());
    }
}
