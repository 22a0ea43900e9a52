//! The instance's `virtual_routes` and `virtual_rules` in the kernel: added after its VIPs
//! (a route may use a VIP as its source), removed before them, and at start removed if a
//! crash left them (a route is only deleted with protocol keepalived, so never one we did
//! not add).

use crate::config::route::Route;
use crate::config::rule::Rule;
use crate::net::netlink::Netlink;

pub struct RouteSet {
    routes: Vec<Route>,
    rules: Vec<Rule>,
    held: bool,
}

impl RouteSet {
    pub fn new(routes: Vec<Route>, rules: Vec<Rule>) -> Self {
        RouteSet { routes, rules, held: false }
    }

    fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.rules.is_empty()
    }

    pub fn add_all(&mut self, nl: &mut Netlink) {
        if self.is_empty() {
            return;
        }
        self.held = true;
        // Rules first: a route is then used as its rule says from the first packet.
        log_changes(&self.rules, "added rule", nl.add_rules(&self.rules));
        log_changes(&self.routes, "added route", nl.add_routes(&self.routes));
    }

    /// Resuming with the VIPs found at start: the routes and rules came with them.
    pub fn mark_held(&mut self) {
        self.held = !self.is_empty();
    }

    pub fn remove_all(&mut self, nl: &mut Netlink) {
        if !self.held {
            return;
        }
        log_changes(&self.routes, "removed route", nl.del_routes(&self.routes));
        log_changes(&self.rules, "removed rule", nl.del_rules(&self.rules));
        self.held = false;
    }

    /// Left by a crash: removed, quietly where there was nothing.
    pub fn remove_stale(&mut self, nl: &mut Netlink) {
        if self.is_empty() {
            return;
        }
        let results = nl.del_routes(&self.routes).into_iter().chain(nl.del_rules(&self.rules));
        for e in results.filter_map(Result::err) {
            log::warn!("{e:#}");
        }
    }

    /// A reload changed them: while held, the gone ones leave and the new ones come.
    pub fn replace(&mut self, routes: Vec<Route>, rules: Vec<Rule>, nl: &mut Netlink) {
        let (gone_routes, new_routes) = diff(&self.routes, &routes);
        let (gone_rules, new_rules) = diff(&self.rules, &rules);
        if self.held {
            log_changes(&gone_routes, "removed route", nl.del_routes(&gone_routes));
            log_changes(&gone_rules, "removed rule", nl.del_rules(&gone_rules));
            log_changes(&new_rules, "added rule", nl.add_rules(&new_rules));
            log_changes(&new_routes, "added route", nl.add_routes(&new_routes));
        }
        self.routes = routes;
        self.rules = rules;
        self.held = self.held && !self.is_empty();
    }
}

/// What is in `old` only, and what is in `new` only.
fn diff<T: Clone + PartialEq>(old: &[T], new: &[T]) -> (Vec<T>, Vec<T>) {
    let gone = old.iter().filter(|o| !new.contains(o)).cloned().collect();
    let added = new.iter().filter(|n| !old.contains(n)).cloned().collect();
    (gone, added)
}

fn log_changes<T: std::fmt::Display>(items: &[T], verb: &str, results: Vec<anyhow::Result<()>>) {
    let mut done = vec![];
    for (item, res) in items.iter().zip(results) {
        match res {
            Ok(()) => done.push(item.to_string()),
            Err(e) => log::error!("{e:#}"),
        }
    }
    if !done.is_empty() {
        log::info!("{verb}{} {}", if done.len() == 1 { "" } else { "s" }, done.join(", "));
    }
}
