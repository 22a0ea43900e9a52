//! `deploy/stack-swarm.yml` on a real swarm (one dockerd per network namespace): no peer
//! list anywhere. The peers come from the swarm's node list and follow it — a node joins,
//! labels set priorities, an engine freezes during a failover, a node is drained — without
//! disturbing the master; the engine is only ever sent GET requests.

use std::time::{Duration, Instant};

use crate::common::swarm::Swarm;
use crate::common::wait_until;
use crate::swarm::ONE_AT_A_TIME;

const VIP: &str = "198.18.0.101";
const SERVICE: &str = "vip_keepvip";

/// The peers and the priority node `i`'s task runs with.
fn view(sw: &Swarm, i: usize) -> Option<(Vec<String>, u64)> {
    let s = sw.status(i, SERVICE)?;
    let mut peers: Vec<String> = s["peers"].as_array()?.iter().filter_map(|p| p.as_str().map(str::to_string)).collect();
    peers.sort();
    Some((peers, s["priority"].as_u64()?))
}

/// Whether every node in `on` runs with exactly the others of `on` as its peers.
fn peers_are(sw: &Swarm, on: &[usize]) -> bool {
    on.iter().all(|&i| {
        let mut want: Vec<String> = on.iter().filter(|j| **j != i).map(|j| sw.lab.host(*j).ip.clone()).collect();
        want.sort();
        view(sw, i).is_some_and(|(p, _)| p == want)
    })
}

fn priority(sw: &Swarm, i: usize) -> Option<u64> {
    view(sw, i).map(|v| v.1)
}

#[test]
fn a_stack_without_a_peer_list_follows_joins_labels_an_engine_outage_and_a_drain() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sw = Swarm::with(2, 3);
    let client = sw.lab.host(sw.nodes);
    sw.deploy(0, "vip", &sw.swarm_stack_file(VIP, true));
    let up = wait_until(Duration::from_secs(60), || (0..2).all(|i| sw.task_container(i, SERVICE).is_some()));
    assert!(up, "no task on each node:\n{}", sw.text(0, &["service", "ps", SERVICE]));

    // Fresh deploy: the first node to have joined is the top one.
    let elected = wait_until(Duration::from_secs(20), || sw.holders(VIP) == [0]);
    assert!(elected, "node 0 does not hold the VIP: {:?}\n{}", sw.holders(VIP), sw.logs(SERVICE));
    assert!(wait_until(Duration::from_secs(5), || peers_are(&sw, &[0, 1])), "{:?}", view(&sw, 0));
    assert_eq!((priority(&sw, 0), priority(&sw, 1)), (Some(200), Some(190)));
    let s = sw.status(0, SERVICE).unwrap();
    assert_eq!(s["peers_from"], "swarm", "{s}");
    let nodes = s["peer_nodes"].to_string();
    assert!(nodes.contains(&sw.node_name(1)) && nodes.contains("this node"), "{nodes}");

    // A third manager joins: its task starts as a backup, every node's peers include it
    // within seconds, and the master never notices (no move, no ping lost).
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)), "the client cannot reach the VIP");
    let t = Instant::now();
    sw.join(2);
    let all = wait_until(Duration::from_secs(30), || peers_are(&sw, &[0, 1, 2]));
    assert!(all, "peers not updated: {:?} {:?} {:?}\n{}", view(&sw, 0), view(&sw, 1), view(&sw, 2), sw.logs(SERVICE));
    eprintln!("join: every node's peers include node 2 {:?} after docker swarm join", t.elapsed());
    assert_eq!(priority(&sw, 2), Some(180));
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 50, Duration::from_secs(5)));
    let (lost, _) = ping.stop();
    assert_eq!((lost, sw.holders(VIP)), (0, vec![0]), "the join disturbed the master\n{}", sw.logs(SERVICE));
    let log0 = sw.logs(SERVICE);
    assert!(log0.contains("swarm membership: peers ["), "{log0}");
    assert!(!log0.contains("MASTER -> "), "{log0}");

    // A label on a backup: its priority follows; with preempt the VIP moves to it,
    // make before break: no ping lost.
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    sw.must(0, &["node", "update", "--label-add", "keepvip.priority=250", &sw.node_name(1)]);
    let moved = wait_until(Duration::from_secs(10), || sw.holders(VIP) == [1]);
    assert!(moved, "the VIP did not follow the label: {:?} {:?}\n{}", sw.holders(VIP), view(&sw, 1), sw.logs(SERVICE));
    assert_eq!(priority(&sw, 1), Some(250));
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 50, Duration::from_secs(5)));
    let (lost, _) = ping.stop();
    assert_eq!(lost, 0, "pings lost moving the VIP to the labelled node\n{}", sw.logs(SERVICE));

    // The joiner can take over: labelled second, it wins when the master's cable is cut,
    // even with its own engine frozen (the last peers serve); all heal cleanly.
    sw.must(0, &["node", "update", "--label-add", "keepvip.priority=240", &sw.node_name(2)]);
    assert!(wait_until(Duration::from_secs(10), || priority(&sw, 2) == Some(240)), "{:?}", view(&sw, 2));
    let engine = nix::unistd::Pid::from_raw(sw.engine_pid(2));
    nix::sys::signal::kill(engine, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let frozen = Instant::now();
    sw.lab.cut(1);
    let took = wait_until(Duration::from_secs(6), || sw.holders(VIP).contains(&2));
    let holders = sw.holders(VIP);
    sw.lab.heal(1);
    assert!(took, "node 2 did not take over with its engine frozen: {holders:?}\n{}", sw.logs(SERVICE));
    let back = wait_until(Duration::from_secs(10), || sw.holders(VIP) == [1]);
    assert!(back, "node 1 did not take the VIP back: {:?}\n{}", sw.holders(VIP), sw.logs(SERVICE));
    std::thread::sleep(Duration::from_secs(30).saturating_sub(frozen.elapsed()));
    nix::sys::signal::kill(engine, nix::sys::signal::Signal::SIGCONT).unwrap();
    assert!(wait_until(Duration::from_secs(30), || peers_are(&sw, &[0, 1, 2])), "{:?}", view(&sw, 2));

    // Node 0 drained: its task stops, the others' peers shrink, the master stays.
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    sw.must(1, &["node", "update", "--availability", "drain", &sw.node_name(0)]);
    let shrunk = wait_until(Duration::from_secs(30), || peers_are(&sw, &[1, 2]));
    assert!(shrunk, "peers did not shrink: {:?} {:?}\n{}", view(&sw, 1), view(&sw, 2), sw.logs(SERVICE));
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 50, Duration::from_secs(5)));
    let (lost, _) = ping.stop();
    assert_eq!((lost, sw.holders(VIP)), (0, vec![1]), "the drain disturbed the master\n{}", sw.logs(SERVICE));

    // The engine was only read: GET /info, /nodes and /events, nothing else, from every task.
    for i in 0..sw.nodes {
        let asked = sw.engine_requests(i);
        assert!(!asked.is_empty(), "node {i}: no request recorded");
        let reads = ["GET /info HTTP/1.0", "GET /nodes HTTP/1.0", "GET /events?"];
        let other: Vec<&String> = asked.iter().filter(|r| !reads.iter().any(|g| r.starts_with(g))).collect();
        assert!(other.is_empty(), "node {i} asked the engine for more than reads: {other:?}");
    }
    assert!(sw.remove_stack(1, VIP), "left after stack rm: holders {:?}", sw.holders(VIP));
}
