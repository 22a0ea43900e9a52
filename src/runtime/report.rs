//! What an instance shows the outside: its transitions (log line, notify script), its entry
//! in the state file (`--status`, `--health`), its metrics snapshot, and the statistics
//! SIGUSR2 logs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::driver::Driver;
use super::Runtime;
use crate::observe::metrics;
use crate::observe::status::{self, CheckStatus, InstanceStatus, StateFile};
use crate::vrrp::{Reason, State};

impl Driver {
    /// The master of the virtual router as this node knows it.
    fn master(&self) -> Option<std::net::IpAddr> {
        let core = self.core();
        if core.state() == State::Master {
            self.links.advert_source
        } else {
            core.last_master()
        }
    }

    /// Why the instance is in FAULT, for `--status`.
    fn fault_line(&self) -> Option<String> {
        match (self.own_fault_line(), self.in_group_fault()) {
            (Some(line), _) => Some(line.to_string()),
            (None, true) => {
                Some(format!("a member of sync group {} is in FAULT", self.cfg.sync_group.as_deref().unwrap_or("?")))
            }
            (None, false) => None,
        }
    }

    pub fn status(&self, pid: u32, uptime: Duration) -> InstanceStatus {
        let core = self.core();
        let c = core.counters();
        let checks = self
            .checks
            .tracker
            .checks()
            .iter()
            .map(|t| CheckStatus {
                name: t.check.name.clone(),
                probe: t.check.probe.describe(),
                status: t.status.name().into(),
                weight: i64::from(t.check.weight),
                last: t.last.as_ref().map(|r| r.as_ref().map_or_else(Clone::clone, |()| "ok".to_string())),
                runs: t.runs,
                failures: t.failures,
            })
            .collect();
        InstanceStatus {
            name: self.cfg.name.clone(),
            pid,
            state: core.state().name().into(),
            interface: self.cfg.interface.clone(),
            interface_present: self.links.present,
            fault: self.fault_line(),
            priority: core.priority(),
            base_priority: self.cfg.priority,
            checks,
            source: self.links.advert_source.map(|s| s.to_string()),
            // As the metrics and the table say it: a master is its own.
            master: self.master().map(|m| m.to_string()),
            peers: self.cfg.unicast_peers.iter().map(ToString::to_string).collect(),
            // Filled by the runtime when the peers are the swarm's (`membership.rs`).
            peers_from: None,
            peers_changed_unix: None,
            peer_nodes: vec![],
            peers_problem: None,
            virtual_ips: self.cfg.virtual_ips.iter().map(ToString::to_string).collect(),
            uptime_s: uptime.as_secs(),
            last_transition: self.stats.last_change.as_ref().map(|c| c.0.clone()),
            last_transition_unix: self.stats.last_change.as_ref().map(|c| c.1),
            updated_unix: status::now_unix(),
            adverts_received: c.received,
            adverts_sent: self.stats.sent,
            send_errors: self.stats.send_errors,
            transitions: c.transitions,
            early_takeovers: c.early_takeovers,
            early_refuted: c.early_refuted,
            dropped: c.dropped.iter().map(|(k, v)| ((*k).to_string(), *v)).collect(),
            collisions: self
                .stats
                .collisions
                .iter()
                .map(|(src, vips)| {
                    let vips: Vec<String> = vips.iter().map(ToString::to_string).collect();
                    format!("{src} [{}]", vips.join(", "))
                })
                .collect(),
            conflicts: self.conflict_lines(),
        }
    }

    /// SIGUSR2's statistics, as one JSON object.
    pub fn stats_json(&self) -> serde_json::Value {
        let c = self.core().counters();
        serde_json::json!({
            "instance": self.cfg.name,
            "adverts_received": c.received,
            "adverts_sent": self.stats.sent,
            "send_errors": self.stats.send_errors,
            "transitions": c.transitions,
            "early_takeovers": c.early_takeovers,
            "early_refuted": c.early_refuted,
            "dropped": c.dropped,
        })
    }

    /// Gathered for `GET /metrics`; `dropped` is the caller's buffer for the sorted drops.
    pub fn snapshot<'a>(&'a self, dropped: &'a BTreeMap<&'static str, u64>) -> metrics::Snapshot<'a> {
        let core = self.core();
        let c = core.counters();
        metrics::Snapshot {
            instance: &self.cfg.name,
            state: core.state(),
            priority: core.priority(),
            master: self.master(),
            transitions: &self.stats.transitions,
            adverts_sent: self.stats.sent,
            adverts_received: c.received,
            send_errors: self.stats.send_errors,
            dropped,
            vips_held: if self.vips.held() { self.cfg.virtual_ips.len() } else { 0 },
            collisions: self.stats.collisions.len(),
            conflicts: self.conflicts.conflicts().len(),
            conflicts_total: self.conflicts.found_total,
            early_takeovers: c.early_takeovers,
            early_refuted: c.early_refuted,
            vips: &self.cfg.virtual_ips,
            since_transition: self.stats.last_transition.elapsed(),
            checks: self.checks.tracker.checks(),
        }
    }

    pub fn dropped(&self) -> BTreeMap<&'static str, u64> {
        self.core().counters().dropped.iter().map(|(k, v)| (*k, *v)).collect()
    }
}

impl Driver {
    /// A transition: logged, counted, notified, and marked for the loop (state file, sync
    /// group, code pages).
    pub(super) fn transition(&mut self, from: State, to: State, reason: Reason) {
        let name = &self.cfg.name;
        log::info!("({name}) {from} -> {to}: {reason}");
        self.stats.transition(from, to, format!("{from} -> {to}: {reason}"), Instant::now());
        self.transitioned = true;
        self.notifier.run(to.name(), self.core().priority());
        if to == State::Fault && reason == Reason::NoSuccessor {
            log::error!(
                "({name}) no other node took over after our priority-0 adverts: the VIPs are on no node (every node failing? as keepalived, a node in FAULT never holds them)"
            );
        }
        self.changed = true;
        let own = reason != Reason::SyncGroup;
        if own && (to == State::Master || (from == State::Master && to == State::Backup)) {
            self.moved = Some(to);
        }
        if let Reason::HigherPriority { from: winner, .. } = reason {
            // Clients may still send to our MAC: learn the winner's (`neighbours.rs`).
            self.await_successor(winner);
        }
    }
}

impl Runtime {
    /// Every instance's status; the state file of a runtime between a reload's
    /// resignations and its starts says INIT.
    fn state(&self) -> StateFile {
        let uptime = self.started.elapsed();
        match self.drivers.as_slice() {
            [] => StateFile::starting(self.pid),
            all => {
                let mut s = StateFile { instances: all.iter().map(|d| d.status(self.pid, uptime)).collect() };
                if let Some(sw) = &self.swarm {
                    for (i, _) in s.instances.iter_mut().zip(all).filter(|(_, d)| d.cfg.swarm_peers) {
                        sw.describe(i);
                    }
                }
                s
            }
        }
    }

    pub(super) fn write_status(&mut self) {
        let now = Instant::now();
        self.next_status = now + status::REFRESH;
        self.next_counters = now + status::COUNTERS;
        let state = self.state();
        let written = self.state_file.write(&state);
        drop(state);
        // The status of many instances is a large transient tree: hand its pages back to the
        // kernel now, or the heap keeps them resident between refreshes.
        if self.drivers.len() > 1 {
            crate::net::memory::trim_heap();
        }
        if let Err(e) = written {
            // Logged once per failing spell by the writer; `--health` fails meanwhile.
            log::trace!("state file: {e}");
        }
    }

    /// The refresh between rewrites (`status::COUNTERS`): the file's modification time.
    pub(super) fn touch_status(&mut self) {
        self.next_status = Instant::now() + status::REFRESH;
        if self.state_file.touch().is_err() {
            self.write_status();
        }
    }

    /// SIGUSR1: every instance's status to the log, as `--status` prints it, and to the
    /// state file.
    pub(super) fn log_status(&mut self) {
        // The file first: whoever reads the log line finds the file as current.
        self.write_status();
        for i in &self.state().instances {
            for row in status::table(i, status::now_unix()).lines() {
                log::info!("({}) status: {row}", i.name);
            }
        }
    }

    pub(super) fn metrics_text(&self, scrapes: u64) -> String {
        let dropped: Vec<_> = self.drivers.iter().map(Driver::dropped).collect();
        let snaps: Vec<_> = self.drivers.iter().zip(&dropped).map(|(d, dr)| d.snapshot(dr)).collect();
        metrics::render(&snaps, scrapes + 1)
    }
}
