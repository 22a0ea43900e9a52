//! keepalived.conf keywords whose meaning shows on the wire, beside Debian's keepalived:
//! another multicast group, and the gratuitous ARP schedule (second burst, refresh).

use std::time::Duration;

use crate::common::keepalived;
use crate::common::netns::Lab;
use crate::common::{holds_vip, wait_until};

const VIP: &str = "198.18.0.120";

fn instance(priority: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 71\n  priority {priority}\n  advert_int 1\n{extra}  virtual_ipaddress {{\n    {VIP}/32\n  }}\n}}\n"
    )
}

/// `vrrp_mcast_group4`: keepvip advertises to the configured group and hears keepalived
/// there; a node left on 224.0.0.18 is another cluster.
#[test]
fn a_configured_multicast_group_is_used_and_shared_with_keepalived() {
    let lab = Lab::new(3);
    let globals = "global_defs {\n  vrrp_mcast_group4 224.0.0.33\n}\n";
    let ka = keepalived::spawn_conf(lab.host(0), &format!("{globals}{}", instance(200, "")));
    assert!(wait_until(Duration::from_secs(6), || holds_vip(&lab, 0, VIP)), "{}", ka.log());
    let dir = lab.host(1).dir().join(format!("{}-mcast.conf", lab.host(1).ns));
    std::fs::write(&dir, format!("{globals}{}", instance(100, ""))).unwrap();
    let kv = lab.host(1).spawn_keepvip_with(&[], &["--use-file", dir.to_str().unwrap()]);
    // keepvip hears keepalived on 224.0.0.33: it stays backup, for longer than it would
    // take to time out.
    assert!(kv.wait_log("INIT -> BACKUP", Duration::from_secs(5)), "{}", kv.log());
    assert!(!wait_until(Duration::from_secs(5), || holds_vip(&lab, 1, VIP)), "{}", kv.log());
    // Its own adverts go to the group once it is master.
    let cap = lab.host(2).capture_one(&[], "ip proto 112 and src 198.18.0.2");
    drop(ka);
    let pkt = cap.wait(Duration::from_secs(8)).unwrap_or_else(|| panic!("no advert from keepvip\n{}", kv.log()));
    assert!(pkt.contains("> 224.0.0.33"), "{pkt}");
    assert!(wait_until(Duration::from_secs(2), || holds_vip(&lab, 1, VIP)), "{}", kv.log());
}

/// `garp_master_refresh`: while master, the VIP is announced again every N seconds, with
/// `garp_master_refresh_repeat` frames; off by default, as in keepalived. Variables have
/// the same (`KEEPVIP_GARP_MASTER_REFRESH`).
#[test]
fn garp_refresh_reannounces_while_master_and_the_variable_does_the_same() {
    let lab = Lab::new(2);
    let conf = lab.host(0).dir().join(format!("{}-garp.conf", lab.host(0).ns));
    std::fs::write(
        &conf,
        instance(200, "  garp_master_delay 0\n  garp_master_refresh 1\n  garp_master_refresh_repeat 2\n"),
    )
    .unwrap();
    let kv = lab.host(0).spawn_keepvip_with(&[], &["--use-file", conf.to_str().unwrap()]);
    assert!(wait_until(Duration::from_secs(6), || holds_vip(&lab, 0, VIP)), "{}", kv.log());
    // After the takeover's five: two every second.
    let filter = format!("arp and src host {VIP}");
    let cap = lab.host(1).capture(&["-tt"], &filter, 6);
    let text =
        cap.wait(Duration::from_secs(6)).unwrap_or_else(|| panic!("fewer than 6 refreshes in 6 s\n{}", kv.log()));
    let times: Vec<f64> = text.lines().filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect();
    assert_eq!(times.len(), 6, "{text}");
    // Pairs (5 ms apart) about a second apart.
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g < 0.05 || (0.8..1.3).contains(g)), "{gaps:?}\n{text}");
    assert!(gaps.iter().filter(|g| **g < 0.05).count() >= 2, "not in pairs: {gaps:?}");
    drop(kv);

    // The same from the variables; without it there is no refresh.
    let env = crate::common::env_for(&[], VIP, 200, &[("KEEPVIP_GARP_MASTER_REFRESH", "1")]);
    let kv = lab.host(0).spawn_keepvip(&env);
    assert!(wait_until(Duration::from_secs(6), || holds_vip(&lab, 0, VIP)), "{}", kv.log());
    let cap = lab.host(1).capture(&[], &filter, 2);
    assert!(cap.wait(Duration::from_secs(4)).is_some(), "no refresh from the variable\n{}", kv.log());
    drop(kv);
    // keepalived's default schedule, counted from before the takeover: five at once, five
    // more 5 s later, then none.
    let cap = lab.host(1).capture(&[], &filter, 11);
    let env = crate::common::env_for(&[], VIP, 200, &[]);
    let kv = lab.host(0).spawn_keepvip(&env);
    let frames = || cap.so_far().lines().count();
    assert!(wait_until(Duration::from_secs(12), || frames() >= 10), "{}\n{}", cap.so_far(), kv.log());
    assert!(!wait_until(Duration::from_secs(4), || frames() >= 11), "more than ten:\n{}", cap.so_far());
}
