//! Sync groups, as keepalived's: a member's own FAULT puts every member in FAULT until it
//! clears; a member's own move to MASTER takes the others there, and its move from MASTER
//! to BACKUP takes them back (their VIPs go together). A group with notify scripts runs
//! them when the group as a whole changes state. The rules are pure functions over the
//! members' states; `Runtime` applies them.

use std::time::Instant;

use super::driver::Driver;
use super::Runtime;
use crate::config::conf::SyncGroup;
use crate::notify::Notifier;
use crate::vrrp::{Event, State};

/// A sync group with notify scripts of its own, and the state last notified.
pub(super) struct NotifiedGroup {
    group: SyncGroup,
    notifier: Notifier,
    last: Option<State>,
}

/// The group's state: FAULT when a member is, MASTER, BACKUP or STOP when all members
/// are, else none (in between).
fn group_state(states: &[State]) -> Option<State> {
    if states.contains(&State::Fault) {
        return Some(State::Fault);
    }
    [State::Master, State::Backup, State::Stopped]
        .into_iter()
        .find(|s| !states.is_empty() && states.iter().all(|x| x == s))
}

/// The events the other members get for each member's own move: `(group, own move)` per
/// member in, `(member, event)` out.
fn followers(members: &[(Option<&str>, Option<State>)]) -> Vec<(usize, Event)> {
    let mut out = vec![];
    for (from, (group, moved)) in members.iter().enumerate() {
        let (Some(group), Some(to)) = (group, moved) else { continue };
        let ev = if *to == State::Master { Event::SyncMaster } else { Event::SyncBackup };
        for (i, (g, _)) in members.iter().enumerate() {
            if i != from && g == &Some(*group) {
                out.push((i, ev.clone()));
            }
        }
    }
    out
}

/// Whether each member follows a fault of its group: `(group, own fault)` per member in.
fn in_group_fault(members: &[(Option<&str>, bool)]) -> Vec<bool> {
    let faulty: Vec<&str> = members.iter().filter(|(_, own)| *own).filter_map(|(g, _)| *g).collect();
    members.iter().map(|(g, own)| !own && g.is_some_and(|g| faulty.contains(&g))).collect()
}

impl Runtime {
    /// Sync groups whose own notify scripts run when the group changes state; a group kept
    /// across a reload keeps its last state (no repeated notify).
    pub(super) fn set_groups(&mut self, groups: Vec<SyncGroup>) {
        let old = std::mem::take(&mut self.groups);
        self.groups = groups
            .into_iter()
            .map(|g| {
                let last = old.iter().find(|o| o.group == g).and_then(|o| o.last);
                let notifier = Notifier::group(&g.name, g.notify.clone(), g.notify_state.clone());
                NotifiedGroup { group: g, notifier, last }
            })
            .collect();
    }

    /// Members follow each other's own moves and faults.
    pub(super) fn follow_groups(&mut self, now: Instant) {
        // Without groups (most set-ups) nobody follows: no lists built on every wake.
        if self.drivers.iter().all(|d| d.cfg.sync_group.is_none()) {
            for d in &mut self.drivers {
                d.take_moved();
            }
            return;
        }
        let moved: Vec<Option<State>> = self.drivers.iter_mut().map(Driver::take_moved).collect();
        let moves: Vec<(Option<&str>, Option<State>)> =
            self.drivers.iter().zip(moved).map(|(d, m)| (d.cfg.sync_group.as_deref(), m)).collect();
        let follow = followers(&moves);
        for (i, ev) in follow {
            let d = &mut self.drivers[i];
            d.handle(ev, now, &mut self.shared.io(d.sock));
            // A move made by following is not passed on.
            d.take_moved();
        }
        let faults: Vec<(Option<&str>, bool)> =
            self.drivers.iter().map(|d| (d.cfg.sync_group.as_deref(), d.own_fault())).collect();
        let follow_fault = in_group_fault(&faults);
        for (d, on) in self.drivers.iter_mut().zip(follow_fault) {
            d.set_group_fault(on, now, &mut self.shared.io(d.sock));
        }
    }

    /// Run a group's scripts when its state changes.
    pub(super) fn notify_groups(&mut self) {
        for g in &mut self.groups {
            let states: Vec<State> = self
                .drivers
                .iter()
                .filter(|d| d.cfg.sync_group.as_deref() == Some(g.group.name.as_str()))
                .map(|d| d.state())
                .collect();
            if let Some(st) = group_state(&states).filter(|st| Some(*st) != g.last) {
                g.last = Some(st);
                log::info!("sync group {} is {}", g.group.name, st.name());
                g.notifier.run(st.name(), 0);
            }
        }
    }

    /// The groups' notify scripts that are gone are forgotten (on SIGCHLD).
    pub(super) fn reap_groups(&mut self) {
        self.groups.iter_mut().for_each(|g| g.notifier.reap());
    }

    pub(super) fn group_children(&self) -> impl Iterator<Item = u32> + '_ {
        self.groups.iter().flat_map(|g| g.notifier.pids())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_fault_when_one_member_is_and_else_what_all_agree_on() {
        use State::*;
        assert_eq!(group_state(&[Master, Fault]), Some(Fault));
        assert_eq!(group_state(&[Master, Master]), Some(Master));
        assert_eq!(group_state(&[Backup, Backup]), Some(Backup));
        assert_eq!(group_state(&[Stopped, Stopped]), Some(Stopped));
        assert_eq!(group_state(&[Master, Backup]), None, "in between");
        assert_eq!(group_state(&[]), None);
    }

    #[test]
    fn an_own_move_takes_the_other_members_of_its_group_only() {
        let members =
            [(Some("G"), Some(State::Master)), (Some("G"), None), (Some("H"), None), (None, None), (Some("G"), None)];
        assert_eq!(followers(&members), vec![(1, Event::SyncMaster), (4, Event::SyncMaster)]);
        let back = [(Some("G"), None), (Some("G"), Some(State::Backup))];
        assert_eq!(followers(&back), vec![(0, Event::SyncBackup)]);
        // A move outside any group is nobody's business.
        assert!(followers(&[(None, Some(State::Master)), (None, None)]).is_empty());
    }

    #[test]
    fn a_members_fault_is_followed_by_its_group_and_not_by_itself() {
        let members = [(Some("G"), true), (Some("G"), false), (Some("H"), false), (None, false)];
        assert_eq!(in_group_fault(&members), vec![false, true, false, false]);
        assert_eq!(in_group_fault(&[(Some("G"), false), (Some("G"), false)]), vec![false, false]);
    }
}
