//! `KEEPALIVED_UNICAST_PEERS=swarm`: the peers come from the swarm's own node list, read
//! from the Docker engine (GET requests only) at start and followed while running.
//! `config::swarm` says what a membership means; this room only asks the engine.

pub mod engine;
pub mod nodes;
pub mod watch;

use std::collections::HashMap;
use std::time::Duration;

use crate::config::swarm::{names_swarm, Membership};
use engine::Endpoint;
use nodes::Problem;

/// Whether the peers come from the swarm.
pub fn wanted(env: &HashMap<String, String>) -> bool {
    env.get("KEEPALIVED_UNICAST_PEERS").is_some_and(|v| names_swarm(v))
}

/// The engine to ask and the members at start. An engine that does not answer is asked
/// again for a few seconds (dockerd restarting with the node); a worker or a node outside
/// a swarm is refused at once. Never a partial list: no members, no start.
pub fn start_up(env: &HashMap<String, String>) -> Result<(Endpoint, Membership), String> {
    let endpoint = Endpoint::from_env(env)?;
    let mut last = String::new();
    for wait in [1, 2, 3, 4, 0] {
        match nodes::fetch(&endpoint) {
            Ok(m) => return Ok((endpoint, m)),
            Err(Problem::NotManager(why)) => return Err(format!("KEEPALIVED_UNICAST_PEERS=swarm: {why}")),
            Err(Problem::Engine(why)) => last = why,
        }
        std::thread::sleep(Duration::from_secs(wait));
    }
    let mount = match &endpoint {
        Endpoint::Unix(p) => format!("mount the engine's socket (-v /var/run/docker.sock:{}:ro)", p.display()),
        Endpoint::Tcp(_) => {
            "check the socket proxy DOCKER_HOST names (it must allow GET /info, /nodes and /events)".into()
        }
    };
    Err(format!("KEEPALIVED_UNICAST_PEERS=swarm reads the swarm's nodes from the Docker engine, which did not answer for 10 s: {last}; {mount}"))
}
