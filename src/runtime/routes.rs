//! The instance's `virtual_routes` in the kernel: added after its VIPs (a route may use a
//! VIP as its source), removed before them, and at start removed if a crash left them
//! (the kernel only deletes routes of protocol keepalived, so never one we did not add).

use crate::config::route::Route;
use crate::net::netlink::Netlink;

pub struct RouteSet {
    routes: Vec<Route>,
    held: bool,
}

impl RouteSet {
    pub fn new(routes: Vec<Route>) -> Self {
        RouteSet { routes, held: false }
    }

    pub fn add_all(&mut self, nl: &mut Netlink) {
        if self.routes.is_empty() {
            return;
        }
        self.held = true;
        let results = nl.add_routes(&self.routes);
        log_changes(&self.routes, "added", results);
    }

    /// Resuming with the VIPs found at start: the routes came with them.
    pub fn mark_held(&mut self) {
        self.held = !self.routes.is_empty();
    }

    pub fn remove_all(&mut self, nl: &mut Netlink) {
        if !self.held {
            return;
        }
        let results = nl.del_routes(&self.routes);
        log_changes(&self.routes, "removed", results);
        self.held = false;
    }

    /// Left by a crash: removed quietly unless there were any to remove.
    pub fn remove_stale(&mut self, nl: &mut Netlink) {
        if !self.routes.is_empty() {
            for r in nl.del_routes(&self.routes).into_iter().filter_map(Result::err) {
                log::warn!("{r:#}");
            }
        }
    }

    /// A reload changed the routes: while held, the gone ones leave and the new ones come.
    pub fn replace(&mut self, routes: Vec<Route>, nl: &mut Netlink) {
        let gone: Vec<Route> = self.routes.iter().filter(|r| !routes.contains(r)).cloned().collect();
        let new: Vec<Route> = routes.iter().filter(|r| !self.routes.contains(r)).cloned().collect();
        if self.held {
            let removed = nl.del_routes(&gone);
            log_changes(&gone, "removed", removed);
            let added = nl.add_routes(&new);
            log_changes(&new, "added", added);
        }
        self.routes = routes;
    }
}

fn log_changes(routes: &[Route], verb: &str, results: Vec<anyhow::Result<()>>) {
    let mut done = vec![];
    for (r, res) in routes.iter().zip(results) {
        match res {
            Ok(()) => done.push(r.to_string()),
            Err(e) => log::error!("{e:#}"),
        }
    }
    if !done.is_empty() {
        log::info!("{verb} route{} {}", if done.len() == 1 { "" } else { "s" }, done.join(", "));
    }
}
