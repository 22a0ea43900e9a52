//! Peers learnt from the swarm (`KEEPALIVED_UNICAST_PEERS=swarm`): the membership thread's
//! news becomes a new configuration of the same variables, applied as a reload applies
//! one — peers and priority in place, so a join, a drain or a label edit never makes the
//! master resign, re-announce or miss an advert.

use std::collections::HashMap;
use std::time::Instant;

use super::Runtime;
use crate::config::swarm::Membership;
use crate::config::{self, Config};
use crate::observe::status::{self, InstanceStatus};
use crate::swarm::watch::{Feed, News};

pub(super) struct SwarmPeers {
    pub feed: Feed,
    /// The variables the instances were read from, read again with each membership.
    env: HashMap<String, String>,
    members: Membership,
    changed_unix: f64,
    /// Why the engine cannot be asked, while it cannot.
    lost: Option<String>,
}

impl SwarmPeers {
    /// The swarm's part of an instance's status.
    pub fn describe(&self, s: &mut InstanceStatus) {
        s.peers_from = Some("swarm".into());
        s.peers_changed_unix = Some(self.changed_unix);
        s.peers_problem = self.lost.clone();
        s.peer_nodes = self.members.lines();
    }
}

impl Runtime {
    /// Follow the swarm's membership from `members` (what start-up read) with `feed`.
    pub fn with_swarm(mut self, feed: Feed, env: HashMap<String, String>, members: Membership) -> Self {
        self.swarm = Some(SwarmPeers { feed, env, members, changed_unix: status::now_unix(), lost: None });
        self
    }

    /// The membership thread woke us: apply the latest members.
    pub(super) fn follow_swarm(&mut self, now: Instant) {
        let Some(sw) = self.swarm.as_mut() else { return };
        let mut latest = None;
        for news in sw.feed.take() {
            match news {
                News::Members(m) => latest = Some(m),
                News::Lost(why) => sw.lost = Some(why),
                News::Back => sw.lost = None,
            }
        }
        if let Some(m) = latest.filter(|_| !self.closing) {
            self.apply_members(m, now);
        }
        self.write_status();
    }

    fn apply_members(&mut self, m: Membership, now: Instant) {
        let mut host = match self.host_view() {
            Ok(h) => h,
            Err(e) => {
                log::error!("swarm: reading the host's interfaces: {e:#}; keeping the running peers");
                return;
            }
        };
        host.swarm = Some(m.clone());
        let Some(sw) = self.swarm.as_mut() else { return };
        log::info!("swarm: members now {}", m.describe());
        match config::from_env(&sw.env, &host) {
            Err(problems) => {
                for p in &problems {
                    log::error!("swarm: {p}");
                }
                log::error!("swarm: {} problem(s) with the new members; keeping the running peers", problems.len());
            }
            Ok(loaded) => {
                sw.members = m;
                sw.changed_unix = status::now_unix();
                let cfgs: Vec<Config> = std::iter::once(loaded.config).chain(loaded.dual).collect();
                self.apply(cfgs, &host, "swarm membership", now);
            }
        }
    }
}
