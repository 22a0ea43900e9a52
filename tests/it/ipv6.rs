//! IPv6 at runtime, in namespaces with IPv6 (DAD off, forwarding off): VRRPv3 over IPv6,
//! unicast and multicast, the client's neighbour cache following the master, the wire
//! checked by tcpdump, dual stack from the variables, and Debian's keepalived as the peer.

use std::time::{Duration, Instant};

use crate::common::keepalived;
use crate::common::netns::{Host, Lab, Proc};
use crate::common::wait_until;
use nix::sys::signal::Signal;

const VIP6: &str = "2001:db8::100";
const PEERS6: [&str; 2] = ["2001:db8::1", "2001:db8::2"];

/// A lab whose hosts also have 2001:db8::N/64 (N = 1, 2, …) on eth0.
fn lab6(n: usize) -> Lab {
    let lab = Lab::new(n);
    for i in 0..n {
        lab.host(i).must(&["ip", "-6", "addr", "add", &format!("2001:db8::{}/64", i + 1), "dev", "eth0", "nodad"]);
    }
    lab
}

fn env6(prio: u32, unicast: bool, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    crate::common::env_for(if unicast { &PEERS6 } else { &[] }, VIP6, prio, extra)
}

fn mac(h: &Host) -> String {
    let o = h.sh(&["cat", "/sys/class/net/eth0/address"]);
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The client's neighbour entry for the VIP: the MAC it sends to.
fn neighbour(h: &Host) -> String {
    let o = h.sh(&["ip", "-6", "neigh", "show", VIP6, "dev", "eth0"]);
    let t = String::from_utf8_lossy(&o.stdout).into_owned();
    t.split("lladdr ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or("").to_string()
}

fn link_local(h: &Host) -> String {
    let o = h.sh(&["ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"]);
    let t = String::from_utf8_lossy(&o.stdout).into_owned();
    let a = t.split("inet6 ").nth(1).and_then(|r| r.split('/').next()).unwrap_or("").to_string();
    assert!(a.starts_with("fe80::"), "no link-local address: {t}");
    a
}

fn holds(lab: &Lab, i: usize) -> bool {
    crate::common::holds_vip(lab, i, VIP6)
}

fn pair6(lab: &Lab, unicast: bool, extra: &[(&str, &str)]) -> (Proc, Proc) {
    let a = lab.host(0).spawn_keepvip(&env6(200, unicast, extra));
    let b = lab.host(1).spawn_keepvip(&env6(100, unicast, extra));
    assert!(wait_until(Duration::from_secs(6), || holds(lab, 0)), "{}\n{}", a.log(), b.log());
    (a, b)
}

/// Election, a planned handover with a client pinging every 10 ms (nothing lost, its
/// neighbour cache moves to the new master's MAC), then an unplanned failover at the
/// protocol's bound: unicast, then multicast (ff02::12).
#[test]
fn ipv6_election_lossless_handover_and_failover_unicast_and_multicast() {
    for unicast in [true, false] {
        let lab = lab6(3);
        let (a, mut b) = pair6(&lab, unicast, &[]);
        assert!(!holds(&lab, 1));
        let ping = lab.host(2).ping(VIP6);
        assert!(ping.wait_replies(50, Duration::from_secs(5)), "no replies from {VIP6}");
        assert_eq!(neighbour(lab.host(2)), mac(lab.host(0)));
        a.signal(Signal::SIGTERM);
        assert!(wait_until(Duration::from_secs(5), || holds(&lab, 1) && !holds(&lab, 0)), "{}", b.log());
        assert!(
            wait_until(Duration::from_secs(2), || neighbour(lab.host(2)) == mac(lab.host(1))),
            "neighbour cache kept the old MAC"
        );
        assert!(ping.wait_replies(ping.replies().len() + 50, Duration::from_secs(5)));
        let (lost, _) = ping.stop();
        assert_eq!(lost, 0, "pings lost in the planned handover (unicast {unicast})");
        // Unplanned: node 0 back as a backup (nopreempt), then node 1 dies.
        let a2 = lab.host(0).spawn_keepvip(&env6(200, unicast, &[]));
        assert!(a2.wait_log("-> BACKUP", Duration::from_secs(3)), "{}", a2.log());
        std::thread::sleep(Duration::from_millis(1500));
        let t = Instant::now();
        b.signal(Signal::SIGKILL);
        let _ = b.wait_exit(Duration::from_secs(2));
        lab.cut(1);
        assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{}", a2.log());
        let took = t.elapsed();
        eprintln!("IPv6 {} failover: {took:?}", if unicast { "unicast" } else { "multicast" });
        assert!(took < Duration::from_millis(4200), "{took:?}");
        assert!(a2.log().contains("no advert from"), "{}", a2.log());
    }
}

/// The advert and the neighbour advertisement as an independent decoder sees them.
#[test]
fn ipv6_advert_and_unsolicited_na_on_the_wire() {
    let lab = lab6(3);
    let client = lab.host(2);
    let advert = client.capture_one(&["-vv"], "ip6 proto 112");
    // The VIP's NA among others (the master also answers the backup's probe of its source).
    let na = client.capture(&["-vv"], "icmp6 and ip6[40] == 136", 100);
    let (_a, _b) = pair6(&lab, false, &[]);
    let advert = advert.wait(Duration::from_secs(5)).expect("no advert captured");
    assert!(advert.contains("VRRPv3, Advertisement, vrid 51, prio 200"), "{advert}");
    assert!(advert.contains("hlim 255") && advert.contains("fe80::") && advert.contains("ff02::12"), "{advert}");
    assert!(advert.contains(&format!("addrs: {VIP6}")), "{advert}");
    let tgt = format!("tgt is {VIP6}");
    assert!(wait_until(Duration::from_secs(5), || na.so_far().contains(&tgt)), "no NA for the VIP: {}", na.so_far());
    let text = na.so_far();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.contains(&tgt)).unwrap();
    let na = lines[at..(at + 2).min(lines.len())].join("\n");
    assert!(na.contains(&format!("{VIP6} > ff02::1")) && na.contains("hlim 255"), "{na}");
    assert!(na.contains(&format!("neighbor advertisement, length 32, tgt is {VIP6}")), "{na}");
    assert!(na.contains("Flags [override]"), "{na}");
    assert!(na.contains(&format!("destination link-address option (2), length 8 (1): {}", mac(lab.host(0)))), "{na}");
}

/// Both families from one VIP list: two instances in a sync group, master together; the
/// IPv6 one losing its addresses takes the IPv4 VIP along to the other node.
#[test]
fn dual_stack_from_the_variables_moves_both_vips_together() {
    let lab = lab6(2);
    let vips = format!("#PYTHON2BASH:['198.18.0.100', '{VIP6}']");
    let peers = format!("#PYTHON2BASH:['198.18.0.1', '198.18.0.2', '{}', '{}']", PEERS6[0], PEERS6[1]);
    let env = |prio: u32| {
        vec![
            ("KEEPALIVED_UNICAST_PEERS".to_string(), peers.clone()),
            ("KEEPALIVED_VIRTUAL_IPS".to_string(), vips.clone()),
            ("KEEPALIVED_PRIORITY".to_string(), prio.to_string()),
        ]
    };
    let check = lab.host(0).run_keepvip(&env(200), &["--check"]);
    let j: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(j["instances"][1]["name"], "VI_1_V6", "{j}");
    assert_eq!(j["instances"][1]["vrrp_version"], 3);
    assert_eq!(j["instances"][1]["unicast_peers"], serde_json::json!(["2001:db8::2"]));
    assert_eq!(j["instances"][0]["sync_group"], "VG_1");
    let a = lab.host(0).spawn_keepvip(&env(200));
    let b = lab.host(1).spawn_keepvip(&env(100));
    let both = |i: usize| lab.host(i).has_addr("198.18.0.100") && lab.host(i).has_addr(VIP6);
    let none = |i: usize| !lab.host(i).has_addr("198.18.0.100") && !lab.host(i).has_addr(VIP6);
    assert!(wait_until(Duration::from_secs(6), || both(0) && none(1)), "{}\n{}", a.log(), b.log());
    lab.host(0).must(&["ip", "-6", "addr", "flush", "dev", "eth0"]);
    assert!(wait_until(Duration::from_secs(6), || both(1) && none(0)), "{}\n{}", a.log(), b.log());
    assert!(a.log().contains("(VI_1) a member of sync group VG_1 is in FAULT"), "{}", a.log());
}

/// keepalived 2.2.7 (IPv6, VRRPv3, as osixia renders it) and keepvip in one cluster, each
/// in both roles, unicast and multicast; keepalived's log stays free of complaints.
#[test]
fn ipv6_interop_with_keepalived_both_roles() {
    for unicast in [true, false] {
        let lab = lab6(2);
        let v3 = [("KEEPALIVED_VRRP_VERSION", "3")];
        let kv = lab.host(0).spawn_keepvip(&env6(200, unicast, &v3));
        assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{}", kv.log());
        // keepalived binds its unicast socket to its source address, link-local unless
        // set: to hear peers that list it by its global address it needs unicast_src_ip.
        let ka_env = if unicast {
            env6(100, unicast, &[v3[0], ("KEEPALIVED_UNICAST_SRC_IP", PEERS6[1])])
        } else {
            env6(100, unicast, &v3)
        };
        let mut ka = keepalived::spawn(lab.host(1), &ka_env);
        // keepalived is a backup of keepvip: it hears the adverts and stays so.
        assert!(ka.wait_log("Entering BACKUP STATE", Duration::from_secs(5)), "{}", ka.log());
        assert!(!wait_until(Duration::from_secs(4), || holds(&lab, 1)), "keepalived took over:\n{}", ka.log());
        // keepvip resigns; keepalived takes over; keepvip back as backup of keepalived.
        kv.signal(Signal::SIGTERM);
        assert!(wait_until(Duration::from_secs(5), || holds(&lab, 1) && !holds(&lab, 0)), "{}", ka.log());
        let kv2 = lab.host(0).spawn_keepvip(&env6(50, unicast, &v3));
        assert!(kv2.wait_log("-> BACKUP", Duration::from_secs(3)), "{}", kv2.log());
        assert!(!wait_until(Duration::from_secs(5), || holds(&lab, 0)), "keepvip took over:\n{}", kv2.log());
        // The counters, current (SIGUSR1 writes the state file).
        assert!(wait_until(Duration::from_secs(8), || kv2.status().adverts_received >= 3), "{:?}", kv2.status());
        let st = kv2.status();
        assert!(st.dropped.is_empty(), "keepvip dropped keepalived's adverts: {st:?}");
        // About keepvip's packets, from its global or its link-local (multicast) source.
        for from in ["2001:db8::1".to_string(), link_local(lab.host(0))] {
            let complaints = keepalived::complaints(&ka.log(), &from);
            assert!(complaints.is_empty(), "{complaints:?}");
        }
        ka.signal(Signal::SIGTERM);
        let _ = ka.wait_exit(Duration::from_secs(5));
    }
}

/// The IPv4 lessons, in IPv6: a copy of the VIP left on a restarted node while another
/// holds it goes as soon as the holder answers a duplicate-address probe; the advert interface deleted and re-created
/// (new index, new link-local address) is followed: the socket is re-opened, so the
/// returning node hears the master and never takes the VIP a second time.
#[test]
fn ipv6_stale_vip_cleanup_and_a_recreated_interface() {
    let lab = lab6(2);
    let b = lab.host(1).spawn_keepvip(&env6(100, false, &[]));
    assert!(wait_until(Duration::from_secs(6), || holds(&lab, 1)), "{}", b.log());
    lab.host(0).must(&["ip", "-6", "addr", "add", &format!("{VIP6}/128"), "dev", "eth0", "nodad"]);
    let a = lab.host(0).spawn_keepvip(&env6(200, false, &[]));
    assert!(a.wait_log("kept while listening for a master", Duration::from_secs(3)), "{}", a.log());
    let t = Instant::now();
    assert!(wait_until(Duration::from_secs(3), || !holds(&lab, 0)), "stale copy kept:\n{}", a.log());
    eprintln!("two holders for at most {:?} after the restart", t.elapsed());
    // The duplicate-address probe settled it (the holder's kernel answered), not the advert.
    assert!(a.log().contains(&format!("answers neighbour discovery for {VIP6}")), "{}", a.log());
    assert!(!a.log().contains("is master: the VIPs found at start are stale"), "{}", a.log());
    lab.unplug(0);
    assert!(a.wait_log("-> FAULT", Duration::from_secs(3)), "{}", a.log());
    lab.plug(0);
    lab.host(0).must(&["ip", "-6", "addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad"]);
    assert!(a.wait_log("was re-created", Duration::from_secs(3)), "{}", a.log());
    assert!(a.wait_log("FAULT -> BACKUP", Duration::from_secs(5)), "{}", a.log());
    // Past a Master_Down_Interval: node 0 hears node 1 and stays a backup.
    assert!(!wait_until(Duration::from_secs(5), || holds(&lab, 0)), "two holders:\n{}", a.log());
    assert!(holds(&lab, 1) && !a.log().contains("-> MASTER"), "{}", a.log());
}
