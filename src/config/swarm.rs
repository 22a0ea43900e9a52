//! `KEEPALIVED_UNICAST_PEERS=swarm`: the peers are the swarm's manager nodes, as the
//! Docker engine lists them (`crate::swarm` reads them); `KEEPALIVED_PRIORITY=auto` ranks
//! them by the node label `keepvip.priority`, else by when they joined. Pure: the same
//! membership gives every node the same ranking. The variables read it here (`peers`,
//! `priority`), called from `env.rs`.

use std::net::IpAddr;

use super::env::{int_in, Reader};
use super::HostView;

/// The value of `KEEPALIVED_UNICAST_PEERS` that takes the peers from the swarm.
pub const PEERS_FROM_SWARM: &str = "swarm";
/// Whether a `KEEPALIVED_UNICAST_PEERS` value asks for the swarm's peers.
pub fn names_swarm(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case(PEERS_FROM_SWARM)
}

/// The node label that sets a node's priority with `KEEPALIVED_PRIORITY=auto`.
pub const PRIORITY_LABEL: &str = "keepvip.priority";

/// One node of the swarm that runs (or will run) a task: a manager, not drained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmNode {
    pub id: String,
    pub hostname: String,
    /// The address the node joined the swarm with: its adverts come from it.
    pub addr: IpAddr,
    /// The `keepvip.priority` label as written, if set.
    pub label: Option<String>,
    /// When it joined (the engine's RFC 3339 time): the order without labels.
    pub created: String,
}

/// The swarm's view of who runs VRRP, this node included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub self_id: String,
    pub nodes: Vec<SwarmNode>,
}

/// A node's place in the ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked<'a> {
    pub node: &'a SwarmNode,
    pub priority: u8,
    /// Set by its label (else by its join order).
    pub labelled: bool,
}

/// A label's priority: 1 to 254 (255 is the address owner's).
pub fn label_priority(v: &str) -> Result<u8, String> {
    match v.trim().parse::<u8>() {
        Ok(p @ 1..=254) => Ok(p),
        _ => Err(format!("{PRIORITY_LABEL}={v:?}: expected a priority from 1 to 254")),
    }
}

impl Membership {
    pub fn this_node(&self) -> Option<&SwarmNode> {
        self.nodes.iter().find(|n| n.id == self.self_id)
    }

    /// Every node, highest priority first: a valid label gives its value; the others
    /// get `auto`'s priorities (200, 190, …) in the order they joined. Ties keep the join
    /// order (VRRP then prefers the higher address). A bad label counts as none here: that
    /// node refuses it on its own.
    pub fn ranked(&self) -> Vec<Ranked<'_>> {
        let mut by_join: Vec<&SwarmNode> = self.nodes.iter().collect();
        by_join.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        let valid = |n: &SwarmNode| n.label.as_deref().and_then(|l| label_priority(l).ok());
        let unlabelled = by_join.iter().filter(|n| valid(n).is_none()).count();
        let mut pos = 0;
        let mut out: Vec<Ranked<'_>> = by_join
            .into_iter()
            .map(|node| match valid(node) {
                Some(priority) => Ranked { node, priority, labelled: true },
                None => {
                    let priority = super::auto_priority(pos, unlabelled).unwrap_or(1);
                    pos += 1;
                    Ranked { node, priority, labelled: false }
                }
            })
            .collect();
        // Stable: equal priorities keep the join order.
        out.sort_by_key(|r| std::cmp::Reverse(r.priority));
        out
    }

    /// One line per node, highest priority first: "ADDR HOSTNAME (priority P)".
    pub fn lines(&self) -> Vec<String> {
        self.ranked()
            .iter()
            .map(|r| {
                let me = if r.node.id == self.self_id { ", this node" } else { "" };
                format!("{} {} (priority {}{me})", r.node.addr, r.node.hostname, r.priority)
            })
            .collect()
    }

    /// The lines on one line, for the log.
    pub fn describe(&self) -> String {
        self.lines().join(", ")
    }
}

/// The swarm's nodes, this node included (as a written list would).
pub(super) fn peers(r: &mut Reader, host: &HostView) -> Vec<IpAddr> {
    let var = "KEEPALIVED_UNICAST_PEERS";
    let Some(m) = &host.swarm else {
        let msg = "the swarm's node list could not be read (the runtime reads it from the Docker engine first)";
        r.fail(var, PEERS_FROM_SWARM, msg);
        return vec![];
    };
    match m.this_node() {
        Some(me) if host.owns(me.addr) => {}
        Some(me) => {
            let msg = format!("this node joined the swarm as {} (docker swarm join --advertise-addr), which is not an address of this host; VRRP's peers must reach each other at the addresses the swarm lists; this host has: {}", me.addr, host.names());
            r.fail(var, PEERS_FROM_SWARM, msg);
        }
        None => r.fail(var, PEERS_FROM_SWARM, "this node is not among the swarm's managers that are not drained"),
    }
    // Ranked for `auto` elsewhere; here in address order, so a new rank is no new list.
    let mut peers: Vec<IpAddr> = m.nodes.iter().map(|n| n.addr).collect();
    peers.sort();
    peers
}

/// With swarm peers: `auto` is this node's `keepvip.priority` label, else its place in the
/// join order (200, 190, …, as for a written list); a number is used as is.
pub(super) fn priority(r: &mut Reader, m: &Membership) -> (u8, Option<usize>) {
    let var = "KEEPALIVED_PRIORITY";
    let Some(v) = r.raw(var).map(str::trim).filter(|v| v.eq_ignore_ascii_case("auto")) else {
        return (r.get(var, 150, int_in(1, 255)) as u8, None);
    };
    let ranked = m.ranked();
    let Some(rank) = ranked.iter().position(|n| n.node.id == m.self_id) else { return (150, None) };
    let me = &ranked[rank];
    if let Some(Err(e)) = me.node.label.as_deref().map(label_priority) {
        let fix = format!("docker node update --label-add {}=N {}", PRIORITY_LABEL, me.node.hostname);
        r.fail(var, v, format!("the label on node {}: {e}; {fix} (or --label-rm)", me.node.hostname));
    }
    let how = if me.labelled {
        format!("its label {}", PRIORITY_LABEL)
    } else {
        format!("its place in the join order ({} unlabelled)", ranked.iter().filter(|n| !n.labelled).count())
    };
    r.info.push(format!(
        "{var}=auto: swarm node {} is #{} of {}, priority {} by {how}",
        me.node.hostname,
        rank + 1,
        ranked.len(),
        me.priority
    ));
    (me.priority, Some(rank))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, addr: &str, created: &str, label: Option<&str>) -> SwarmNode {
        SwarmNode {
            id: id.into(),
            hostname: format!("h{id}"),
            addr: addr.parse().unwrap(),
            label: label.map(Into::into),
            created: created.into(),
        }
    }

    #[test]
    fn labels_rank_first_then_join_order() {
        let m = Membership {
            self_id: "b".into(),
            nodes: vec![
                node("c", "198.18.0.3", "2026-01-03T00:00:00Z", None),
                node("a", "198.18.0.1", "2026-01-01T00:00:00Z", None),
                node("b", "198.18.0.2", "2026-01-02T00:00:00Z", Some("250")),
                node("d", "198.18.0.4", "2026-01-04T00:00:00Z", Some("zero")),
            ],
        };
        let r: Vec<(&str, u8, bool)> =
            m.ranked().iter().map(|r| (r.node.id.as_str(), r.priority, r.labelled)).collect();
        // d's label is bad: ranked as unlabelled (it refuses the label on its own node).
        assert_eq!(r, vec![("b", 250, true), ("a", 200, false), ("c", 190, false), ("d", 180, false)]);
        assert_eq!(m.this_node().unwrap().id, "b");
        assert!(m.describe().starts_with("198.18.0.2 hb (priority 250, this node), 198.18.0.1 ha (priority 200)"));
    }

    #[test]
    fn a_joining_node_ranks_last_and_moves_nobody() {
        let two = vec![
            node("x", "198.18.0.9", "2026-01-01T00:00:00Z", None),
            node("y", "198.18.0.1", "2026-01-02T00:00:00Z", None),
        ];
        let m2 = Membership { self_id: "x".into(), nodes: two.clone() };
        let mut three = two;
        three.push(node("z", "198.18.0.0", "2026-01-03T00:00:00Z", None));
        let m3 = Membership { self_id: "x".into(), nodes: three };
        let prios = |m: &Membership| m.ranked().iter().map(|r| (r.node.id.clone(), r.priority)).collect::<Vec<_>>();
        assert_eq!(prios(&m2), vec![("x".to_string(), 200), ("y".to_string(), 190)]);
        assert_eq!(prios(&m3)[..2], prios(&m2)[..]);
    }

    #[test]
    fn label_values() {
        assert_eq!(label_priority(" 120 "), Ok(120));
        for bad in ["0", "255", "-1", "", "high"] {
            assert!(label_priority(bad).unwrap_err().contains("1 to 254"), "{bad}");
        }
    }
}
