//! Another host answering for a VIP while keepvip is master: a static copy (announced or
//! silent), and two masters that cannot hear each other's adverts (a split brain), named by
//! peer address; and the partition that heals one direction first, where the client must
//! be back on the master within a second of the loser stepping down.

use std::time::{Duration, Instant};

use crate::common::netns::{Host, Lab};
use crate::common::{env_for, holds_vip, wait_until};

const VIP: &str = "198.18.0.100";

fn mac(h: &Host) -> String {
    let o = h.sh(&["cat", "/sys/class/net/eth0/address"]);
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The client's ARP entry for the VIP: the MAC it sends to.
fn client_entry(h: &Host) -> String {
    let o = h.sh(&["ip", "neigh", "show", VIP, "dev", "eth0"]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.split_whitespace().skip_while(|w| *w != "lladdr").nth(1).unwrap_or_default().to_string()
}

/// Drop VRRP arriving at `h` (nftables in its namespace).
fn drop_vrrp(h: &Host) {
    h.must(&["nft", "add", "table", "inet", "kvtest"]);
    h.must(&["nft", "add", "chain", "inet", "kvtest", "in", "{ type filter hook input priority 0; }"]);
    h.must(&["nft", "add", "rule", "inet", "kvtest", "in", "ip", "protocol", "112", "drop"]);
}

fn heal(h: &Host) {
    h.must(&["nft", "delete", "table", "inet", "kvtest"]);
}

/// A lab host takes the VIP: silently (found by the periodic probe), then announcing it
/// (found at once; the master announces back, so the client ends on the master's MAC).
/// While the conflict lasts `--health` fails and `--status` names it.
#[test]
fn a_host_holding_the_vip_beside_the_master_is_found_and_answered() {
    let lab = Lab::new(4);
    let (master, rogue, client, loud) = (lab.host(0), lab.host(1), lab.host(2), lab.host(3));
    let kv = master.spawn_keepvip(&env_for(&[], VIP, 200, &[]));
    assert!(wait_until(Duration::from_secs(6), || holds_vip(&lab, 0, VIP)), "{}", kv.log());
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(10, Duration::from_secs(5)));
    assert_eq!(client_entry(client), mac(master));
    // Silent: only the probe finds it (within one round, 10 s, plus the first second).
    rogue.must(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", "eth0"]);
    let line = format!("VIP {VIP} is also answered by {}: another host", mac(rogue));
    assert!(kv.wait_log(&line, Duration::from_secs(12)), "{}", kv.log());
    let state = [("KEEPVIP_STATE_FILE".to_string(), master.state_file().display().to_string())];
    assert!(wait_until(Duration::from_secs(6), || !master.run_keepvip(&state, &["--health"]).status.success()));
    let table = String::from_utf8_lossy(&master.run_keepvip(&state, &["--status"]).stdout).into_owned();
    assert!(table.contains(&format!("conflicts   {VIP} also answered by {}", mac(rogue))), "{table}");
    // Silent no more: gone, and the master says so.
    rogue.must(&["ip", "addr", "del", &format!("{VIP}/32"), "dev", "eth0"]);
    assert!(kv.wait_log("no longer answers for VIP", Duration::from_secs(3)), "{}", kv.log());
    // Another host takes it and announces it: reported within a second, and the master
    // announces back, so the client ends on the master's MAC.
    loud.must(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", "eth0"]);
    let t = Instant::now();
    loud.must(&["arping", "-q", "-U", "-c", "1", "-I", "eth0", "-s", VIP, VIP]);
    let line = format!("VIP {VIP} is also answered by {}", mac(loud));
    assert!(kv.wait_log(&line, Duration::from_secs(1)), "not reported within 1 s\n{}", kv.log());
    assert!(
        wait_until(Duration::from_secs(1), || client_entry(client) == mac(master)
            && t.elapsed() > Duration::from_millis(50)),
        "client on {} after the announcement\n{}",
        client_entry(client),
        kv.log()
    );
    loud.must(&["ip", "addr", "del", &format!("{VIP}/32"), "dev", "eth0"]);
    assert!(wait_until(Duration::from_secs(8), || master.run_keepvip(&state, &["--health"]).status.success()));
}

/// Two nodes that cannot hear each other's adverts both hold the VIP: each names the other
/// by its peer address; their answers to each other's announcements are bounded (no ARP
/// war). When the path heals in one direction first — the lower node hears the higher and
/// steps down without a word — the client is back on the master within a second.
#[test]
fn a_split_brain_is_named_by_peer_and_a_one_way_heal_brings_the_client_back() {
    let lab = Lab::new(3);
    let peers = ["198.18.0.1", "198.18.0.2"];
    let (a, b, client) = (lab.host(0), lab.host(1), lab.host(2));
    drop_vrrp(a);
    drop_vrrp(b);
    let ka = a.spawn_keepvip(&env_for(&peers, VIP, 200, &[("KEEPALIVED_PREEMPT", "true")]));
    let kb = b.spawn_keepvip(&env_for(&peers, VIP, 100, &[("KEEPALIVED_PREEMPT", "true")]));
    assert!(wait_until(Duration::from_secs(8), || holds_vip(&lab, 0, VIP) && holds_vip(&lab, 1, VIP)));
    let both_masters = Instant::now();
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(5, Duration::from_secs(5)));
    let named = |log: &str, peer: &str| {
        log.contains(&format!("that is peer {peer}, which holds the VIP without being heard here"))
    };
    assert!(wait_until(Duration::from_secs(15), || named(&ka.log(), "198.18.0.2")), "{}", ka.log());
    assert!(wait_until(Duration::from_secs(15), || named(&kb.log(), "198.18.0.1")), "{}", kb.log());
    // Bounded answers: once both takeovers' announcements are over (the second burst comes
    // 5 s after each), a master in a lasting conflict is quiet: no ARP war.
    let settled = both_masters + Duration::from_secs(7);
    std::thread::sleep(settled.saturating_duration_since(Instant::now()));
    let cap = client.capture(&[], &format!("arp and src host {VIP} and ether src {}", mac(a)), 1000);
    std::thread::sleep(Duration::from_secs(4));
    let from_a = cap.so_far().lines().count();
    assert!(from_a <= 1, "{from_a} announcements in 4 s from a master in a lasting conflict");
    // The client on b's MAC (b announces until a's answers are used up)…
    let arping = || b.must(&["arping", "-q", "-U", "-c", "1", "-I", "eth0", "-s", VIP, VIP]);
    let on_b = || {
        arping();
        std::thread::sleep(Duration::from_millis(300));
        client_entry(client) == mac(b)
    };
    assert!(wait_until(Duration::from_secs(12), on_b), "the client never stayed on b\n{}", ka.log());
    // …then one direction heals: b hears a (higher) and steps down; a does not hear b.
    heal(b);
    assert!(wait_until(Duration::from_secs(5), || !holds_vip(&lab, 1, VIP)), "{}", kb.log());
    let t = Instant::now();
    assert!(
        wait_until(Duration::from_secs(3), || client_entry(client) == mac(a)),
        "client still on {} (b is {})\n{}",
        client_entry(client),
        mac(b),
        ka.log()
    );
    let took = t.elapsed();
    assert!(took <= Duration::from_millis(1000), "client back on the master {took:?} after the loser let go");
    // The winner saw the loser's answers go (it re-announces), or the loser announced the
    // VIP at the winner's MAC as it stepped down, whichever came first.
    let (la, lb) = (ka.log(), kb.log());
    assert!(la.contains("no longer answers for VIP") || lb.contains("announced 198.18.0.100 at"), "{la}\n{lb}");
}

/// A full partition (nothing passes either way: the winner never hears the loser, not even
/// its ARP) that heals one direction first: the loser hears the higher master and steps
/// down, and announces the VIP at the winner's MAC, so the client moves at once instead of
/// when its ARP entry expires (tens of seconds; keepalived leaves it there).
#[test]
fn a_full_partition_healing_one_way_first_moves_the_client_to_the_winner() {
    let lab = Lab::new(3);
    let peers = ["198.18.0.1", "198.18.0.2"];
    let ka = lab.host(0).spawn_keepvip(&env_for(&peers, VIP, 200, &[]));
    assert!(wait_until(Duration::from_secs(6), || holds_vip(&lab, 0, VIP)), "{}", ka.log());
    let kb = lab.host(1).spawn_keepvip(&env_for(&peers, VIP, 150, &[]));
    assert!(kb.wait_log("-> BACKUP", Duration::from_secs(3)), "{}", kb.log());
    let (a, b, client) = (lab.host(0), lab.host(1), lab.host(2));
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    assert_eq!(client_entry(client), mac(a));
    lab.block(0, 1, true);
    lab.block(1, 0, true);
    assert!(wait_until(Duration::from_secs(6), || holds_vip(&lab, 1, VIP)), "{}", kb.log());
    assert!(wait_until(Duration::from_secs(3), || client_entry(client) == mac(b)), "the client never followed b");
    // a -> b heals: b hears a (priority 200) and steps down; b -> a stays cut.
    lab.block(0, 1, false);
    assert!(wait_until(Duration::from_secs(5), || !holds_vip(&lab, 1, VIP)), "{}", kb.log());
    let t = Instant::now();
    assert!(
        wait_until(Duration::from_secs(5), || client_entry(client) == mac(a)),
        "client still on {} (a is {}, b is {})\n{}",
        client_entry(client),
        mac(a),
        mac(b),
        kb.log()
    );
    let took = t.elapsed();
    eprintln!("client on the winner {took:?} after the loser stepped down");
    assert!(took <= Duration::from_millis(2500), "{took:?}");
    assert!(kb.log().contains("announced 198.18.0.100 at 198.18.0.1's MAC"), "{}", kb.log());
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 20, Duration::from_secs(3)), "the client's pings did not resume");
    lab.block(1, 0, false);
}
