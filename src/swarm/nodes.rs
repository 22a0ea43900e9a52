//! The engine's `/info` and `/nodes` answers → the [`Membership`] configuration reads.
//! Peers are the manager nodes that are not drained: only a manager can list the nodes,
//! so the service runs on managers only (`node.role == manager`), and a global service's
//! tasks then run exactly there. A node that is down stays a peer (adverts to it cost
//! nothing; it is back as soon as it is); a drained or demoted one leaves.

use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

use super::engine::{Endpoint, Failure};
use crate::config::swarm::{Membership, SwarmNode, PRIORITY_LABEL};

/// Why there is no membership to use.
#[derive(Debug)]
pub enum Problem {
    /// The engine cannot be reached or answered an error: try again later.
    Engine(String),
    /// This engine is not a swarm manager: no retry helps.
    NotManager(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Engine(m) | Problem::NotManager(m) => f.write_str(m),
        }
    }
}

/// Ask the engine at `e` who the members are.
pub fn fetch(e: &Endpoint) -> Result<Membership, Problem> {
    let get = |path: &str| -> Result<Value, Problem> {
        let body = e.get(path).map_err(|f| match f {
            Failure::Refused(r) if r.status == 503 && r.message.contains("not a swarm manager") => {
                Problem::NotManager(worker_message())
            }
            f => Problem::Engine(format!("the Docker engine at {e}: GET {path}: {f}")),
        })?;
        serde_json::from_slice(&body)
            .map_err(|err| Problem::Engine(format!("the Docker engine at {e}: GET {path}: not JSON: {err}")))
    };
    let info = get("/info")?;
    let self_id = self_id(&info)?;
    let nodes = get("/nodes")?;
    members(self_id, &nodes).map_err(Problem::Engine)
}

fn worker_message() -> String {
    "this node is a swarm worker, and only managers can list the swarm's nodes: run the service on managers (placement constraint node.role == manager, as in deploy/stack-swarm.yml), or write the peer list in KEEPALIVED_UNICAST_PEERS".into()
}

/// This node's id, if it is an active manager.
pub fn self_id(info: &Value) -> Result<String, Problem> {
    let sw = &info["Swarm"];
    let state = sw["LocalNodeState"].as_str().unwrap_or("");
    if matches!(state, "pending" | "locked") {
        // Joining, or waiting for `docker swarm unlock`: asked again shortly.
        return Err(Problem::Engine(format!("this node's swarm state is {state:?}")));
    }
    if state != "active" {
        return Err(Problem::NotManager(format!(
            "this Docker engine is not in a swarm (LocalNodeState {state:?}): docker swarm init / join first, or write the peer list in KEEPALIVED_UNICAST_PEERS"
        )));
    }
    if sw["ControlAvailable"].as_bool() != Some(true) {
        return Err(Problem::NotManager(worker_message()));
    }
    sw["NodeID"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Problem::Engine("/info has no Swarm.NodeID".into()))
}

/// The members among `/nodes`: managers that are not drained, and this node whatever
/// it is (its own task runs until it is stopped).
pub fn members(self_id: String, nodes: &Value) -> Result<Membership, String> {
    let list = nodes.as_array().ok_or("/nodes is not a list")?;
    let mut out = vec![];
    for n in list {
        let id = n["ID"].as_str().unwrap_or_default().to_string();
        let manager = n["Spec"]["Role"].as_str() == Some("manager");
        let drained = n["Spec"]["Availability"].as_str() == Some("drain");
        if id != self_id && (!manager || drained) {
            continue;
        }
        let Some(addr) = address(n) else {
            // A node still joining has none yet; its next update brings it.
            log::debug!("swarm node {id} lists no usable address yet; left out of the peers");
            continue;
        };
        out.push(SwarmNode {
            hostname: n["Description"]["Hostname"].as_str().unwrap_or(&id).to_string(),
            id,
            addr,
            label: n["Spec"]["Labels"][PRIORITY_LABEL].as_str().map(str::to_string),
            created: n["CreatedAt"].as_str().unwrap_or_default().to_string(),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Membership { self_id, nodes: out })
}

/// The address it joined with: the manager's advertised one (`ManagerStatus.Addr`,
/// `ip:2377`), else `Status.Addr` (some engines list 0.0.0.0 there for the leader).
fn address(n: &Value) -> Option<IpAddr> {
    let managed = n["ManagerStatus"]["Addr"].as_str().and_then(|a| a.parse::<SocketAddr>().ok()).map(|s| s.ip());
    let status = n["Status"]["Addr"].as_str().and_then(|a| a.parse::<IpAddr>().ok());
    managed.into_iter().chain(status).find(|a| !a.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(id: &str, role: &str, avail: &str, mgr: Option<&str>, status: &str) -> Value {
        let mut n = json!({
            "ID": id, "CreatedAt": format!("2026-12-06T10:00:0{}Z", id.len()),
            "Spec": {"Role": role, "Availability": avail, "Labels": {}},
            "Description": {"Hostname": format!("host-{id}")},
            "Status": {"State": "ready", "Addr": status},
        });
        if let Some(a) = mgr {
            n["ManagerStatus"] = json!({"Reachability": "reachable", "Addr": a});
        }
        n
    }

    #[test]
    fn managers_not_drained_are_members_this_node_always() {
        let mut labelled = node("a", "manager", "active", Some("198.18.0.1:2377"), "0.0.0.0");
        labelled["Spec"]["Labels"] = json!({"keepvip.priority": "250", "other": "x"});
        let nodes = json!([
            labelled,
            node("b", "manager", "drain", Some("198.18.0.2:2377"), "198.18.0.2"),
            node("c", "worker", "active", None, "198.18.0.3"),
            node("d", "manager", "active", Some("[2001:db8::4]:2377"), "2001:db8::4"),
            node("me", "manager", "drain", Some("198.18.0.5:2377"), "198.18.0.5"),
        ]);
        let m = members("me".into(), &nodes).unwrap();
        let got: Vec<(&str, String, Option<&str>)> =
            m.nodes.iter().map(|n| (n.id.as_str(), n.addr.to_string(), n.label.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                ("a", "198.18.0.1".into(), Some("250")),
                ("d", "2001:db8::4".into(), None),
                ("me", "198.18.0.5".into(), None)
            ]
        );
        assert_eq!(m.this_node().unwrap().hostname, "host-me");
    }

    #[test]
    fn info_says_whether_this_is_an_active_manager() {
        let info = |state: &str, control: bool| json!({"Swarm": {"NodeID": "n1", "LocalNodeState": state, "ControlAvailable": control}});
        assert_eq!(self_id(&info("active", true)).unwrap(), "n1");
        let worker = self_id(&info("active", false)).unwrap_err().to_string();
        assert!(worker.contains("node.role == manager"), "{worker}");
        let none = self_id(&info("inactive", false)).unwrap_err().to_string();
        assert!(none.contains("not in a swarm"), "{none}");
    }
}
