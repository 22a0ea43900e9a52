//! The project's own `deploy/stack.yml` on a real three-node Docker Swarm (one dockerd per
//! network namespace, all managers), with only the addresses substituted: election, a cut
//! holder, its return, a rolling update, a killed task, removal.

use std::time::{Duration, Instant};

use crate::common::swarm::{Swarm, STACK_SERVICE as SERVICE};
use crate::common::wait_until;

const VIP: &str = "198.18.0.100";
/// auto priorities 200, 190, 180; VRRPv2 at 1 s: the second node's Master_Down_Interval.
const MDI_190: Duration = Duration::from_micros(3_257_812);

/// One swarm at a time: two would share the machine's two cores, and the timings with them.
pub(crate) static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Watch the holders for `d`: the longest time two nodes held the VIP at once is returned,
/// with the holders at the end.
fn watch(sw: &Swarm, d: Duration) -> (Duration, Vec<usize>) {
    let end = Instant::now() + d;
    let (mut both_since, mut worst) = (None::<Instant>, Duration::ZERO);
    loop {
        let h = sw.holders(VIP);
        let now = Instant::now();
        match (h.len() > 1, both_since) {
            (true, None) => both_since = Some(now),
            (false, Some(t)) => {
                worst = worst.max(now - t);
                both_since = None;
            }
            _ => {}
        }
        if now >= end {
            if let Some(t) = both_since {
                worst = worst.max(now - t);
            }
            return (worst, h);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_stack_file_on_a_real_swarm_elects_fails_over_updates_and_survives_a_killed_task() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sw = Swarm::new(3);
    sw.deploy_stack(1, VIP);
    // Fresh deploy: the first node of the peer list gets the VIP, and only it.
    let elected = wait_until(Duration::from_secs(15), || sw.holders(VIP) == [0]);
    assert!(elected, "the top node does not hold the VIP: {:?}\n{}", sw.holders(VIP), sw.logs(SERVICE));
    let client = sw.lab.host(sw.nodes);
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)), "the client cannot reach the VIP");

    // The holder's cable is cut: the next node within the protocol's bound.
    sw.lab.cut(0);
    let t = Instant::now();
    let moved = wait_until(MDI_190 + Duration::from_millis(500), || sw.holders(VIP).contains(&1));
    assert!(moved, "no takeover within the bound: {:?}\n{}", sw.holders(VIP), sw.logs(SERVICE));
    eprintln!("cut: node 1 took over after {:?}", t.elapsed());
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 20, Duration::from_secs(5)), "pings did not resume after the takeover");
    // It comes back: no duplicate, and nopreempt keeps the VIP where it is.
    sw.lab.heal(0);
    let (both, end) = watch(&sw, Duration::from_secs(6));
    assert_eq!(both, Duration::ZERO, "two holders after the heal\n{}", sw.logs(SERVICE));
    assert_eq!(end, [1], "nopreempt: the VIP stays on node 1\n{}", sw.logs(SERVICE));
    drop(ping);

    // A rolling update restarts every task: no ping lost.
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    let t = Instant::now();
    sw.must(1, &["service", "update", "--force", "--detach=false", "--quiet", SERVICE]);
    eprintln!("service update --force took {:?}", t.elapsed());
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 20, Duration::from_secs(5)));
    let (lost, worst) = ping.stop();
    assert_eq!((lost, worst), (0, 0), "pings lost during the rolling update\n{}", sw.logs(SERVICE));
    let one = wait_until(Duration::from_secs(5), || sw.holders(VIP).len() == 1);
    assert!(one, "not one holder after the update: {:?}", sw.holders(VIP));

    // docker kill of the holder's task: the swarm restarts it at once (delay 0s), and it
    // resumes with its VIP: never two holders, no ping lost, the VIP stays there.
    let holder = sw.holders(VIP)[0];
    let task = sw.task_container(holder, SERVICE).unwrap();
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    sw.must(holder, &["kill", &task]);
    let restarted =
        wait_until(Duration::from_secs(5), || sw.task_container(holder, SERVICE).is_some_and(|c| c != task));
    assert!(restarted, "the swarm did not restart the killed task");
    let (both, end) = watch(&sw, MDI_190 + Duration::from_secs(2));
    assert_eq!(both, Duration::ZERO, "two holders after docker kill\n{}", sw.logs(SERVICE));
    assert_eq!(end, [holder], "the VIP moved after a kill and instant restart\n{}", sw.logs(SERVICE));
    let (lost, _) = ping.stop();
    assert_eq!(lost, 0, "pings lost across docker kill and the restart\n{}", sw.logs(SERVICE));
    assert!(sw.logs(SERVICE).contains("resuming with the VIPs kept"), "{}", sw.logs(SERVICE));

    // docker stack rm: nothing left on any node.
    assert!(sw.remove_stack(1, VIP), "left after stack rm: holders {:?}", sw.holders(VIP));
}

/// Fresh deploys (osixia's nopreempt, every task starts as backup): the top node of the peer
/// list is elected each time, whatever the order the tasks start in.
#[test]
fn fresh_deploys_elect_the_top_node() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sw = Swarm::new(3);
    for round in 0..3 {
        sw.deploy_stack(1, VIP);
        let t = Instant::now();
        let one = wait_until(Duration::from_secs(15), || !sw.holders(VIP).is_empty());
        assert!(one, "round {round}: nobody took the VIP\n{}", sw.logs(SERVICE));
        eprintln!("round {round}: {:?} took the VIP {:?} after the last task started", sw.holders(VIP), t.elapsed());
        let (both, end) = watch(&sw, Duration::from_secs(2));
        assert_eq!(both, Duration::ZERO, "round {round}: two holders\n{}", sw.logs(SERVICE));
        assert_eq!(end, [0], "round {round}: not the top node\n{}", sw.logs(SERVICE));
        assert!(sw.remove_stack(0, VIP), "round {round}: left after stack rm");
    }
}
