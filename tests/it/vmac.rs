//! keepalived's `use_vmac` beside keepalived 2.2.7 doing the same: the VIP lives on a
//! macvlan with MAC 00:00:5e:00:01:VRID, adverts leave from that MAC on the wire (tcpdump
//! -e on a client), and a client's ARP entry for the VIP stays the same MAC across a
//! handover from keepvip to keepalived and back while its pings go on. (With keepalived as
//! the first master the entry turns to the base interface's MAC at the first reply: the
//! base's ARP request for the client names the VIP as its sender. keepvip sets the base's
//! arp_announce to 2, so it does not.) The VMAC and the
//! base interface's ARP settings leave with keepvip.

use std::time::Duration;

use crate::common::keepalived::Impl;
use crate::common::netns::{Host, Lab};
use crate::common::wait_until;
use nix::sys::signal::Signal;

const VIP: &str = "198.18.0.100";
const VRID: u8 = 71;
const VMAC: &str = "00:00:5e:00:01:47";

fn conf(priority: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_M {{\n  interface eth0\n  virtual_router_id {VRID}\n  priority {priority}\n  advert_int 1\n  \
         use_vmac\n{extra}  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

/// The source MACs of the next two adverts the client sees.
fn advert_sources(client: &Host) -> String {
    let out = client.sh(&["timeout", "4", "tcpdump", "-l", "-c", "2", "-e", "-n", "-i", "eth0", "ip", "proto", "112"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string() + "\n")
        .collect()
}

/// The client's ARP entry for the VIP (its MAC), after one ping.
fn vip_mac(client: &Host) -> Option<String> {
    let _ = client.sh(&["ping", "-n", "-c", "1", "-W", "1", VIP]);
    let neigh = String::from_utf8_lossy(&client.sh(&["ip", "neigh", "show", VIP]).stdout).into_owned();
    neigh.split_whitespace().skip_while(|w| *w != "lladdr").nth(1).map(str::to_string)
}

fn conf_value(h: &Host, key: &str) -> String {
    let out = h.sh(&["cat", &format!("/proc/sys/net/ipv4/conf/eth0/{key}")]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn use_vmac_keeps_the_clients_arp_entry_across_handovers_beside_keepalived() {
    let lab = Lab::new(3);
    let (a, b, client) = (lab.host(0), lab.host(1), lab.host(2));
    let mut kv = Impl::Keepvip.spawn_conf(a, &conf(150, ""));
    let _ka = Impl::Keepalived.spawn_conf(b, &conf(100, ""));
    assert!(wait_until(Duration::from_secs(10), || a.has_addr(VIP)), "{}", kv.log());
    let link = String::from_utf8_lossy(&a.sh(&["ip", "-d", "-o", "link", "show", "vrrp.71"]).stdout).into_owned();
    assert!(link.contains(VMAC) && link.contains("macvlan mode private"), "{link}");
    assert!(a.addrs().lines().any(|l| l.contains(" vrrp.71 ") && l.contains(VIP)), "{}", a.addrs());
    assert_eq!(["arp_ignore", "arp_filter", "arp_announce"].map(|k| conf_value(a, k)), ["1", "1", "2"]);
    // keepvip's adverts leave from the VMAC, as keepalived's do.
    let seen = advert_sources(client);
    assert!(seen.lines().count() == 2 && seen.lines().all(|m| m == VMAC), "keepvip's adverts from:\n{seen}");
    assert_eq!(vip_mac(client).as_deref(), Some(VMAC));
    let pings = client.ping(VIP);
    // Handover to keepalived: the VIP moves, the client's entry does not change.
    kv.signal(Signal::SIGTERM);
    assert!(kv.wait_exit(Duration::from_secs(10)).is_some());
    assert!(wait_until(Duration::from_secs(5), || b.has_addr(VIP)));
    assert!(!a.addrs().contains("vrrp.71"), "the VMAC leaves with keepvip:\n{}", a.addrs());
    assert!(String::from_utf8_lossy(&a.sh(&["ip", "link", "show", "vrrp.71"]).stdout).is_empty());
    let settings = ["arp_ignore", "arp_filter", "arp_announce"].map(|k| conf_value(a, k));
    assert_eq!(settings, ["0", "0", "0"], "the base's ARP settings restored");
    let seen = advert_sources(client);
    assert!(seen.lines().all(|m| m == VMAC), "keepalived's adverts from:\n{seen}");
    assert_eq!(vip_mac(client).as_deref(), Some(VMAC));
    // And back: keepvip preempts keepalived.
    let kv = Impl::Keepvip.spawn_conf(a, &conf(150, ""));
    assert!(wait_until(Duration::from_secs(10), || a.has_addr(VIP) && !b.has_addr(VIP)), "{}", kv.log());
    assert_eq!(vip_mac(client).as_deref(), Some(VMAC));
    std::thread::sleep(Duration::from_millis(500));
    let answered = pings.replies().len();
    let (lost, worst) = pings.stop();
    assert!(answered > 100, "{answered} replies");
    // Two handovers (keepalived's takeover waits its skew time after our priority 0; the
    // way back is a preemption): each costs a moment, never an ARP entry's timeout.
    assert!(worst < 100, "a gap of {worst} pings (10 ms apart); {lost} lost in all");
}

/// `vmac_xmit_base`: the VIP on the VMAC, the adverts from the interface's own MAC.
#[test]
fn vmac_xmit_base_sends_adverts_from_the_interface() {
    let lab = Lab::new(2);
    let (a, client) = (lab.host(0), lab.host(1));
    let kv = Impl::Keepvip.spawn_conf(a, &conf(150, "  vmac_xmit_base\n"));
    assert!(wait_until(Duration::from_secs(10), || a.has_addr(VIP)), "{}", kv.log());
    let own = String::from_utf8_lossy(&a.sh(&["cat", "/sys/class/net/eth0/address"]).stdout).trim().to_string();
    let seen = advert_sources(client);
    assert!(seen.lines().count() == 2 && seen.lines().all(|m| m == own), "adverts from:\n{seen} (eth0 is {own})");
    assert_eq!(vip_mac(client).as_deref(), Some(VMAC));
}

/// `garp_extra_if all N` beside keepalived: one gratuitous ARP every N seconds while
/// master on an interface of the VIPs that sends no adverts; none without the keyword.
#[test]
fn garp_extra_if_announces_on_the_other_interfaces_as_keepalived_does() {
    let lab = Lab::new(1);
    let a = lab.host(0);
    a.veth("eth1", "eth1p", Some("198.19.5.254/24"));
    let conf = |extra: &str| {
        format!(
            "vrrp_instance VI_X {{\n  interface eth0\n  virtual_router_id 73\n  priority 150\n  advert_int 1\n  \
             garp_master_delay 0\n  garp_master_repeat 1\n{extra}  virtual_ipaddress {{\n    {VIP}/24\n    \
             198.19.5.1/24 dev eth1\n  }}\n}}\n"
        )
    };
    // Gratuitous ARPs for the other interface's VIP seen on its far end in 3.5 s.
    let count = |h: &Host| {
        let out = h.sh(&["timeout", "3.5", "tcpdump", "-l", "-n", "-i", "eth1p", "arp"]);
        // Gratuitous: the VIP asks for itself (keepvip's conflict probes, "tell 0.0.0.0", and
        // their answers are not counted).
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("tell 198.19.5.1,")).count()
    };
    for imp in [Impl::Keepalived, Impl::Keepvip] {
        for (extra, want_some) in [("  garp_extra_if all 1\n", true), ("", false)] {
            let mut p = imp.spawn_conf(a, &conf(extra));
            assert!(wait_until(Duration::from_secs(10), || a.has_addr("198.19.5.1")), "{}", p.log());
            // Past the takeover's own announcement.
            std::thread::sleep(Duration::from_millis(500));
            let n = count(a);
            if want_some {
                assert!((2..=5).contains(&n), "{}: {n} gratuitous ARPs in 3.5 s with garp_extra_if all 1", imp.name());
            } else {
                assert_eq!(n, 0, "{}: none without garp_extra_if", imp.name());
            }
            p.signal(Signal::SIGTERM);
            assert!(p.wait_exit(Duration::from_secs(10)).is_some());
            assert!(wait_until(Duration::from_secs(5), || !a.has_addr("198.19.5.1")));
        }
    }
}
