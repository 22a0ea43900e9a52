//! keepalived's strict mode (`vrrp_strict`) and `no_accept`, beside keepalived 2.2.7 on the
//! same file: the master holds the VIP but drops traffic to it (its own address still
//! answers, ARP and IPv6 neighbour discovery for the VIP still work), the drop leaves with
//! mastership and with the process, and a strict keepvip and a strict keepalived form one
//! cluster.

use std::time::Duration;

use crate::common::keepalived::Impl;
use crate::common::netns::{Host, Lab};
use crate::common::wait_until;
use nix::sys::signal::Signal;

const VIP: &str = "198.18.0.100";
const VIP6: &str = "fd00::100";

fn conf(priority: u8, extra_vip: &str) -> String {
    format!(
        "global_defs {{\n  vrrp_strict\n}}\nvrrp_instance VI_S {{\n  interface eth0\n  virtual_router_id 71\n  \
         priority {priority}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n{extra_vip}"
    )
}

/// An IPv6 instance in strict mode (VRRPv3; keepalived asks for a link-local first VIP
/// and warns without one).
fn conf6(priority: u8) -> String {
    format!(
        "vrrp_instance VI_S6 {{\n  interface eth0\n  virtual_router_id 72\n  priority {priority}\n  advert_int 1\n  \
         virtual_ipaddress {{\n    {VIP6}/64\n  }}\n}}\n"
    )
}

/// Whether one of three pings to `target` is answered.
fn answers(client: &Host, target: &str) -> bool {
    client.sh(&["ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", target]).status.success()
}

fn table(host: &Host, family: &str, name: &str) -> String {
    String::from_utf8_lossy(&host.sh(&["nft", "list", "table", family, name]).stdout).into_owned()
}

#[test]
fn strict_mode_drops_traffic_to_the_vips_as_keepalived_does() {
    let lab = Lab::new(2);
    let (node, client) = (lab.host(0), lab.host(1));
    client.must(&["sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"]);
    client.must(&["ip", "addr", "add", "fd00::2/64", "dev", "eth0"]);
    node.must(&["ip", "addr", "add", "fd00::1/64", "dev", "eth0"]);
    for imp in [Impl::Keepalived, Impl::Keepvip] {
        let who = imp.name();
        let text = conf(150, &conf6(150));
        let mut p = imp.spawn_conf(node, &text);
        assert!(
            wait_until(Duration::from_secs(10), || node.has_addr(VIP) && node.has_addr(VIP6)),
            "{who}: no VIPs\n{}",
            p.log()
        );
        let name = if imp == Impl::Keepvip { "keepvip" } else { "keepalived" };
        assert!(wait_until(Duration::from_secs(3), || table(node, "ip", name).contains(VIP)), "{who}: no ip table");
        assert!(table(node, "ip6", name).contains(VIP6), "{who}: {}", table(node, "ip6", name));
        assert!(answers(client, &node.ip), "{who}: the node's own address must answer");
        assert!(!answers(client, VIP), "{who}: traffic to the VIP must be dropped");
        assert!(!answers(client, VIP6), "{who}: traffic to the IPv6 VIP must be dropped");
        // ARP and neighbour discovery for the VIPs still pass: the client learnt both.
        let neigh = String::from_utf8_lossy(&client.sh(&["ip", "neigh", "show"]).stdout).into_owned();
        for vip in [VIP, VIP6] {
            assert!(
                neigh.lines().any(|l| l.starts_with(&format!("{vip} ")) && l.contains("lladdr")),
                "{who}: {vip} not resolved:\n{neigh}"
            );
        }
        client.must(&["ip", "neigh", "flush", "all"]);
        p.signal(Signal::SIGTERM);
        assert!(p.wait_exit(Duration::from_secs(10)).is_some(), "{who} did not stop");
        assert!(!node.has_addr(VIP));
        if imp == Impl::Keepvip {
            assert_eq!(table(node, "ip", name), "", "the table leaves with keepvip");
            assert_eq!(table(node, "ip6", name), "");
        }
        let _ = node.sh(&["nft", "delete", "table", "ip", name]);
        let _ = node.sh(&["nft", "delete", "table", "ip6", name]);
    }
    // The address owner accepts (strict mode's exception); no table is made for it.
    let mut p = Impl::Keepvip.spawn_conf(node, &conf(255, ""));
    assert!(wait_until(Duration::from_secs(10), || node.has_addr(VIP)), "{}", p.log());
    assert!(answers(client, VIP), "the owner takes traffic to its VIP");
    assert_eq!(table(node, "ip", "keepvip"), "");
    p.signal(Signal::SIGTERM);
    assert!(p.wait_exit(Duration::from_secs(10)).is_some());
}

/// A strict keepvip and a strict keepalived form one cluster; the drop follows the VIP
/// from node to node, and a crash's table is replaced at the next start.
#[test]
fn strict_keepvip_and_keepalived_share_a_cluster_and_the_drop_follows_mastership() {
    let lab = Lab::new(3);
    let (a, b, client) = (lab.host(0), lab.host(1), lab.host(2));
    let mut kv = Impl::Keepvip.spawn_conf(a, &conf(150, ""));
    let _ka = Impl::Keepalived.spawn_conf(b, &conf(100, ""));
    assert!(wait_until(Duration::from_secs(10), || a.has_addr(VIP)), "{}", kv.log());
    assert!(wait_until(Duration::from_secs(3), || table(a, "ip", "keepvip").contains(VIP)));
    assert!(!b.has_addr(VIP), "one holder");
    assert!(!answers(client, VIP));
    // keepvip crashes: keepalived takes over (with its own drop), the crash's table stays
    // behind until keepvip starts again.
    kv.signal(Signal::SIGKILL);
    kv.wait_exit(Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(10), || b.has_addr(VIP)));
    assert!(table(b, "ip", "keepalived").contains(VIP));
    assert!(table(a, "ip", "keepvip").contains(VIP), "left by the crash");
    a.must(&["ip", "addr", "del", &format!("{VIP}/24"), "dev", "eth0"]);
    let mut kv = Impl::Keepvip.spawn_conf(a, &conf(150, ""));
    // Back as master (keepalived's strict instance preempts): the table is rebuilt with
    // the VIP, not added to the stale one.
    assert!(wait_until(Duration::from_secs(10), || a.has_addr(VIP) && !b.has_addr(VIP)), "{}", kv.log());
    let t = table(a, "ip", "keepvip");
    assert_eq!(t.matches("chain in").count(), 1, "{t}");
    assert_eq!(t.matches(VIP).count(), 1, "{t}");
    // Handing over: the drop leaves with the VIP.
    kv.signal(Signal::SIGTERM);
    assert!(kv.wait_exit(Duration::from_secs(10)).is_some());
    assert!(wait_until(Duration::from_secs(5), || b.has_addr(VIP)));
    assert_eq!(table(a, "ip", "keepvip"), "");
    let _ = b.sh(&["nft", "delete", "table", "ip", "keepalived"]);
}
