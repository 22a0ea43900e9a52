//! SIGHUP: read keepalived.conf again. Unchanged instances are not touched (a master keeps
//! its VIPs and its advert cadence). What keepalived applies in place is applied in place:
//! priority, VIPs added or removed (on interfaces the instance already uses), check
//! weights, notify scripts, the gratuitous ARP schedule — the state stays, a master stays
//! master. Other changes resign the instance as on `docker stop` and start its new version
//! once the old one has stopped; removed ones resign; new ones start now. An invalid file
//! changes nothing.

use std::time::Instant;

use anyhow::{Context, Result};

use super::driver::Driver;
use super::shared::Io;
use super::Runtime;
use crate::config::conf;
use crate::config::{Config, HostView};
use crate::net::netlink::{Addr, Link};
use crate::vrrp::Event;

/// The keepalived.conf's identity (modification time, size, inode), looked at once a
/// second at most: osixia/keepalived 2.3 reloads when its file changes, and so do we.
#[derive(Debug, Default)]
pub(super) struct Watched {
    stamp: Option<(std::time::SystemTime, u64, u64)>,
    next: Option<Instant>,
}

impl Watched {
    pub fn of(path: &std::path::Path) -> Self {
        Watched { stamp: stamp(path), next: None }
    }
}

fn stamp(path: &std::path::Path) -> Option<(std::time::SystemTime, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// What a reload does with the running instances and the file's.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    kept: Vec<String>,
    /// Running instances changed only in what applies in place: their new versions.
    updated: Vec<Config>,
    /// Running instances to resign (removed, or changed beyond that).
    resigned: Vec<String>,
    /// The file's instances to start (new, or the new version of a changed one).
    started: Vec<Config>,
}

/// Match the running instances to the file's by name: the same configuration is kept.
fn plan(running: &[&Config], new: Vec<Config>) -> Plan {
    let mut p = Plan::default();
    for r in running {
        match new.iter().find(|c| c.name == r.name) {
            Some(c) if c == *r => p.kept.push(r.name.clone()),
            Some(c) if in_place(r, c) => p.updated.push(c.clone()),
            _ => p.resigned.push(r.name.clone()),
        }
    }
    let done = |c: &Config| p.kept.contains(&c.name) || p.updated.iter().any(|u| u.name == c.name);
    p.started = new.into_iter().filter(|c| !done(c)).collect();
    p
}

/// Whether `new` differs from `old` only in what a running instance can take in place:
/// priority, VIPs on interfaces it already uses, check weights, notify scripts, the
/// gratuitous ARP schedule.
fn in_place(old: &Config, new: &Config) -> bool {
    // Peers learnt from the swarm change with its membership, and with them the rank; a
    // written list is part of the instance's identity.
    let learnt = if old.swarm_peers && new.swarm_peers { new } else { old };
    let rest_same = Config {
        priority: new.priority,
        unicast_peers: learnt.unicast_peers.clone(),
        listed_sources: learnt.listed_sources.clone(),
        first_hold: learnt.first_hold,
        virtual_ips: new.virtual_ips.clone(),
        virtual_routes: new.virtual_routes.clone(),
        virtual_rules: new.virtual_rules.clone(),
        checks: new.checks.clone(),
        notify: new.notify.clone(),
        notify_state: new.notify_state.clone(),
        garp: new.garp,
        ..old.clone()
    } == *new;
    let weights_only = old.checks.len() == new.checks.len()
        && old.checks.iter().zip(&new.checks).all(|(a, b)| Config::same_check_but_weight(a, b));
    let uses = |d: &Option<String>| {
        d.as_ref().is_none_or(|d| *d == old.interface || old.virtual_ips.iter().any(|v| v.dev.as_ref() == Some(d)))
    };
    rest_same && weights_only && new.virtual_ips.iter().all(|v| uses(&v.dev))
}

/// A pending instance may start once no running one has its name or its virtual router.
fn is_free(cfg: &Config, running: &[&Config]) -> bool {
    !running.iter().any(|r| r.name == cfg.name || (r.router_id == cfg.router_id && r.interface == cfg.interface))
}

impl Driver {
    /// Take a new version of our configuration that differs only in what applies in
    /// place (see [`in_place`]); the state stays. What changed, for the log.
    fn update(&mut self, new: Config, host: &HostView, now: Instant, io: &mut Io) -> String {
        let mut what = vec![];
        if new.priority != self.cfg.priority {
            what.push(format!("priority {} -> {}", self.cfg.priority, new.priority));
        }
        if new.first_hold != self.cfg.first_hold {
            what.push(format!("rank hold {} s -> {} s", self.cfg.first_hold.as_secs(), new.first_hold.as_secs()));
        }
        if new.unicast_peers != self.cfg.unicast_peers {
            let list = |p: &[std::net::IpAddr]| p.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            what.push(format!("peers [{}] -> [{}]", list(&self.cfg.unicast_peers), list(&new.unicast_peers)));
            self.handle(Event::Peers(new.unicast_peers.clone()), now, io);
        }
        if new.checks != self.cfg.checks {
            self.checks.tracker.set_weights(new.checks.iter().map(|c| c.weight));
            what.push("check weights".to_string());
        }
        if new.virtual_ips != self.cfg.virtual_ips {
            let ifindex = new
                .virtual_ips
                .iter()
                .map(|v| {
                    let dev = v.dev.as_deref().unwrap_or(&new.interface);
                    if dev == new.interface {
                        self.links.main.index
                    } else {
                        self.links.others.iter().find(|o| o.name == dev).map_or(0, |o| o.index)
                    }
                })
                .collect();
            if self.vips.held() && !new.accept {
                // The new VIPs are dropped before they are added.
                io.firewall.hold(&new.name, new.virtual_ips.iter().map(|v| v.addr).collect());
            }
            let (added, removed) = self.vips.replace(new.virtual_ips.clone(), ifindex, io.nl);
            self.conflicts.set_vips(new.virtual_ips.iter().map(|v| v.addr).collect());
            what.push(format!("VIPs: {added} added, {removed} removed"));
            if self.vips.held() && added > 0 {
                // Clients learn the new addresses now, not at the next takeover.
                let all = self.announcer.start(new.virtual_ips.len(), now);
                self.announce(all, io);
            }
        }
        if (&new.virtual_routes, &new.virtual_rules) != (&self.cfg.virtual_routes, &self.cfg.virtual_rules) {
            self.routes.replace(new.virtual_routes.clone(), new.virtual_rules.clone(), io.nl);
            what.push("routes and rules".to_string());
        }
        if (new.notify.as_ref(), &new.notify_state) != (self.cfg.notify.as_ref(), &self.cfg.notify_state) {
            self.notifier.set_scripts(new.notify.clone(), new.notify_state.clone());
            what.push("notify scripts".to_string());
        }
        if new.garp != self.cfg.garp {
            self.announcer.set_garp(crate::config::Garp { extra_if: new.garp_extra_if(), ..new.garp });
            what.push("gratuitous ARP schedule".to_string());
        }
        self.set_advertised(super::advert::params(&new, host).advertised, &new.garp);
        self.cfg = new;
        self.refresh_priority(now, io);
        self.changed = true;
        what.join(", ")
    }
}

impl Runtime {
    /// The file changed since it was read (an edit, a new file moved in its place): reload
    /// as on SIGHUP. Checked when the loop wakes anyway, once a second at most.
    pub(super) fn watch_conf(&mut self, now: Instant) {
        let Some(path) = self.reload.as_ref() else { return };
        if self.closing || self.watched.next.is_some_and(|t| now < t) {
            return;
        }
        self.watched.next = Some(now + std::time::Duration::from_secs(1));
        let s = stamp(path);
        if s.is_none() || s == self.watched.stamp {
            return;
        }
        log::info!("{} changed: reloading it, as osixia/keepalived 2.3 does", path.display());
        self.reload(now);
    }

    pub(super) fn reload(&mut self, now: Instant) {
        let Some(path) = self.reload.clone() else { return };
        // A SIGHUP after an edit reads the edit: the watch need not read it again.
        self.watched.stamp = stamp(&path);
        let loaded =
            self.host_view().map_err(|e| vec![format!("reading the host's interfaces: {e:#}")]).and_then(|host| {
                conf::load_for_reload(&path, &host)
                    .map(|l| (l, host))
                    .map_err(|es| es.iter().map(ToString::to_string).collect())
            });
        let (loaded, host) = match loaded {
            Ok(pair) => pair,
            Err(errors) => {
                for e in &errors {
                    log::error!("reload: {e}");
                }
                log::error!(
                    "reload: {} problem(s) in {}; keeping the running configuration",
                    errors.len(),
                    path.display()
                );
                return;
            }
        };
        for w in &loaded.warnings {
            log::warn!("reload: {w}");
        }
        self.set_groups(loaded.groups);
        self.apply(loaded.instances, &host, "reload", now);
    }

    /// Run `instances` from now on: unchanged ones kept, changes applied in place where
    /// they can be, the rest resigned and started anew (`what` names the cause in the log).
    pub(super) fn apply(&mut self, mut instances: Vec<Config>, host: &HostView, what: &str, now: Instant) {
        let fresh = match self.shared.vmacs.prepare(&mut instances, &mut self.shared.nl) {
            Ok(false) => None,
            Ok(true) => self.host_view().map_err(|e| log::error!("{what}: reading the host's interfaces: {e:#}")).ok(),
            Err(e) => {
                log::error!("{what}: {e:#}; keeping the running configuration");
                return;
            }
        };
        let host = fresh.as_ref().unwrap_or(host);
        let running: Vec<&Config> = self.drivers.iter().filter(|d| !d.is_stopped()).map(|d| &d.cfg).collect();
        let plan = plan(&running, instances);
        for d in self.drivers.iter_mut().filter(|d| plan.resigned.contains(&d.cfg.name)) {
            d.handle(Event::Shutdown, now, &mut self.shared.io(d.sock));
        }
        for new in &plan.updated {
            if let Some(d) = self.drivers.iter_mut().find(|d| d.cfg.name == new.name) {
                let changed = d.update(new.clone(), host, now, &mut self.shared.io(d.sock));
                log::info!("({}) {what}: {changed}, in place", new.name);
            }
        }
        let started: Vec<&str> = plan.started.iter().map(|c| c.name.as_str()).collect();
        let cause = match &self.reload {
            Some(path) if what == "reload" => format!("reload of {}", path.display()),
            _ => what.to_string(),
        };
        log::info!(
            "{cause}: {} unchanged, {} changed in place, {} resigning ({}), {} starting ({})",
            plan.kept.len(),
            plan.updated.len(),
            plan.resigned.len(),
            plan.resigned.join(", "),
            started.len(),
            started.join(", ")
        );
        self.pending = plan.started;
        self.start_pending(now, host);
    }

    /// Instances that stopped after a reload leave (their VIPs are already released).
    pub(super) fn retire_stopped(&mut self, now: Instant) {
        if self.closing || !self.drivers.iter().any(Driver::is_stopped) {
            return;
        }
        for d in self.drivers.iter_mut().filter(|d| d.is_stopped()) {
            d.release(&mut self.shared.nl, &mut self.shared.firewall);
            log::info!("({}) stopped and removed", d.name());
        }
        self.drivers.retain(|d| !d.is_stopped());
        if !self.pending.is_empty() {
            match self.host_view() {
                Ok(host) => self.start_pending(now, &host),
                Err(e) => log::error!("reload: reading the host's interfaces: {e:#}"),
            }
        }
    }

    /// The host as a reloaded file is checked against: the VIPs we hold are ours, wherever
    /// the kernel lists them.
    pub(super) fn host_view(&mut self) -> anyhow::Result<HostView> {
        let mut host = self.shared.nl.host_view()?;
        let held = self.drivers.iter().filter(|d| d.vips.held());
        host.ours = held.flat_map(|d| d.vips.iter().map(|(v, _)| v.addr)).collect();
        Ok(host)
    }

    /// Start the pending instances whose name and virtual router are free (one look at
    /// the links and addresses for all of them).
    fn start_pending(&mut self, now: Instant, host: &HostView) {
        let nl = &mut self.shared.nl;
        let (links, present) = match nl.links().and_then(|l| Ok((l, nl.addrs()?))) {
            Ok(pair) => pair,
            Err(e) => {
                log::error!("reload: reading interfaces and addresses: {e:#}");
                return;
            }
        };
        for cfg in std::mem::take(&mut self.pending) {
            let running: Vec<&Config> = self.drivers.iter().map(|d| &d.cfg).collect();
            if !is_free(&cfg, &running) {
                self.pending.push(cfg);
                continue;
            }
            if let Err(e) = self.add_driver(cfg, host, &links, &present, now) {
                log::error!("reload: {e:#}");
            }
        }
    }

    fn add_driver(
        &mut self,
        cfg: Config,
        host: &HostView,
        links: &[Link],
        present: &[Addr],
        now: Instant,
    ) -> Result<()> {
        let name = cfg.name.clone();
        let link = links
            .iter()
            .find(|l| l.name == cfg.interface)
            .with_context(|| format!("({name}) interface {} is gone", cfg.interface))?;
        let sock = self.shared.open_socket(link, cfg.multicast_group(), cfg.ipv6())?;
        let mut d = Driver::new(cfg, host, link, sock, present, &mut self.shared.nl)?;
        d.sync(links, present, now, &mut self.shared.io(sock));
        self.drivers.push(d);
        let started = self.start_driver(self.drivers.len() - 1, now);
        if started.is_err() {
            self.drivers.pop();
        }
        started?;
        log::info!("({name}) started");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::from_env;

    fn cfg(name: &str, vrid: u8, priority: u8) -> Config {
        let host = HostView::single("eth0", 2, "198.18.0.1/24");
        let env = [
            ("KEEPALIVED_VIRTUAL_IPS".to_string(), format!("198.19.0.{vrid}")),
            ("KEEPALIVED_ROUTER_ID".to_string(), vrid.to_string()),
            ("KEEPALIVED_PRIORITY".to_string(), priority.to_string()),
        ]
        .into();
        let mut c = from_env(&env, &host).unwrap().config;
        c.name = name.into();
        c
    }

    #[test]
    fn unchanged_instances_are_kept_changed_ones_restart_and_new_ones_start() {
        let (a, b, c) = (cfg("A", 1, 100), cfg("B", 2, 100), cfg("C", 3, 100));
        let mut b2 = cfg("B", 2, 100);
        b2.advert_int_cs = 200;
        let d = cfg("D", 4, 100);
        let p = plan(&[&a, &b, &c], vec![a.clone(), b2.clone(), d.clone()]);
        assert_eq!(p.kept, vec!["A"]);
        assert_eq!(p.resigned, vec!["B", "C"], "changed and removed resign");
        assert_eq!(p.started, vec![b2, d]);
    }

    #[test]
    fn priority_vips_and_weights_change_in_place() {
        let a = cfg("A", 1, 100);
        let mut a2 = cfg("A", 1, 150);
        a2.virtual_ips.push(crate::config::vip::parse("198.19.0.77").unwrap());
        a2.notify = None;
        let p = plan(&[&a], vec![a2.clone()]);
        assert_eq!((p.updated, p.resigned.len(), p.started.len()), (vec![a2], 0, 0));
        // A VIP on an interface the instance does not use yet needs its links: restart.
        let mut a3 = cfg("A", 1, 100);
        a3.virtual_ips.push(crate::config::vip::parse("198.19.0.78 dev eth9").unwrap());
        assert_eq!(plan(&[&a], vec![a3]).resigned, ["A"]);
        // A weight changes in place; a check added does not.
        let check = |w: i32| crate::config::Check::interface("eth1", w);
        let mut w1 = cfg("A", 1, 100);
        w1.checks = vec![check(-10)];
        let mut w2 = w1.clone();
        w2.checks = vec![check(-50)];
        assert_eq!(plan(&[&w1], vec![w2.clone()]).updated, [w2]);
        let mut w3 = w1.clone();
        w3.checks.push(check(-5));
        assert_eq!(plan(&[&w1], vec![w3]).resigned, ["A"]);
    }

    #[test]
    fn the_same_file_again_changes_nothing() {
        let (a, b) = (cfg("A", 1, 100), cfg("B", 2, 100));
        let p = plan(&[&a, &b], vec![a.clone(), b.clone()]);
        assert_eq!((p.kept.len(), p.resigned.len(), p.started.len()), (2, 0, 0));
    }

    #[test]
    fn a_new_version_waits_until_its_name_and_virtual_router_are_free() {
        let (old, renamed) = (cfg("B", 2, 100), cfg("B2", 2, 100));
        assert!(!is_free(&cfg("B", 9, 100), &[&old]), "same name");
        assert!(!is_free(&renamed, &[&old]), "same VRID on the same interface");
        assert!(is_free(&renamed, &[]));
        assert!(is_free(&cfg("E", 5, 100), &[&old]));
    }

    #[test]
    fn swarm_peers_and_rank_change_in_place_a_written_list_does_not() {
        use crate::config::swarm::{Membership, SwarmNode};
        let node = |id: &str, n: u8, label: Option<&str>| SwarmNode {
            id: id.into(),
            hostname: id.into(),
            addr: format!("198.18.0.{n}").parse().unwrap(),
            label: label.map(Into::into),
            created: format!("2026-12-06T00:00:0{n}Z"),
        };
        let swarm = |nodes: Vec<SwarmNode>| {
            let mut host = HostView::single("eth0", 2, "198.18.0.1/24");
            host.swarm = Some(Membership { self_id: "a".into(), nodes });
            let env = [
                ("KEEPALIVED_VIRTUAL_IPS".to_string(), "198.19.0.1".to_string()),
                ("KEEPALIVED_UNICAST_PEERS".to_string(), "swarm".to_string()),
                ("KEEPALIVED_PRIORITY".to_string(), "auto".to_string()),
            ]
            .into();
            from_env(&env, &host).unwrap().config
        };
        let two = swarm(vec![node("a", 1, None), node("b", 2, None)]);
        // A third node joins, then a label puts it first: peers, rank and priority move.
        let three = swarm(vec![node("a", 1, None), node("b", 2, None), node("c", 3, Some("250"))]);
        assert_eq!((three.priority, three.unicast_peers.len()), (200, 2));
        assert_eq!(plan(&[&two], vec![three.clone()]).updated, std::slice::from_ref(&three));
        let alone = swarm(vec![node("a", 1, Some("90"))]);
        assert!(alone.unicast_peers.is_empty() && !alone.multicast());
        assert_eq!(plan(&[&three], vec![alone.clone()]).updated, [alone]);
        // Written lists are the instance's identity.
        let mut written = cfg("VI_1", 1, 100);
        written.unicast_peers = vec!["198.18.0.2".parse().unwrap()];
        let mut other = written.clone();
        other.unicast_peers = vec!["198.18.0.3".parse().unwrap()];
        assert_eq!(plan(&[&written], vec![other]).resigned, ["VI_1"]);
    }
}
