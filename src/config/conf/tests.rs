use std::net::IpAddr;
use std::time::Duration;

use super::*;
use crate::config::{HostIface, InitialState, Probe};

fn host() -> HostView {
    HostView {
        interfaces: vec![
            HostIface { index: 1, name: "lo".into(), addrs: vec!["127.0.0.1/8".parse().unwrap()] },
            HostIface { index: 2, name: "eth0".into(), addrs: vec!["198.18.0.1/24".parse().unwrap()] },
            HostIface { index: 3, name: "eth1".into(), addrs: vec!["198.18.1.1/24".parse().unwrap()] },
        ],
        default_route_ifindex: Some(2),
    }
}

fn load_str(text: &str) -> Result<FromFile, Vec<String>> {
    let stmts = lex::parse_str("k.conf", text).map_err(|e| vec![e.to_string()])?;
    from_stmts(Path::new("k.conf"), &stmts, &host()).map_err(|es| es.iter().map(ToString::to_string).collect())
}

fn errors(text: &str) -> Vec<String> {
    load_str(text).err().unwrap_or_else(|| panic!("accepted:\n{text}"))
}

const TWO: &str = "\
global_defs {
  router_id node1
  notification_email {
    ops@example.org
  }
}
vrrp_instance VI_A {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 2
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  unicast_src_ip 198.18.0.1
  unicast_peer {
    198.18.0.1
    198.18.0.2
  }
  virtual_ipaddress {
    198.18.0.100/24 dev eth0 label eth0:a
    198.18.0.101 brd 198.18.0.255 scope global
  }
  virtual_ipaddress_excluded {
    198.18.0.102
  }
  notify \"/bin/notify arg\"
  notify_master /bin/m
}
vrrp_instance VI_B {
  interface eth1
  virtual_router_id 52
  nopreempt
  virtual_ipaddress {
    198.18.1.100
  }
  track_interface {
    eth0
  }
}
";

#[test]
fn two_instances_with_keepalived_defaults() {
    let l = load_str(TWO).unwrap();
    assert_eq!(l.instances.len(), 2);
    let a = &l.instances[0];
    assert_eq!(a.name, "VI_A");
    assert_eq!((a.router_id, a.priority, a.advert_int_cs, a.state), (51, 150, 200, InitialState::Master));
    assert_eq!(a.password.as_deref(), Some("s3cret"));
    // Our own address is not a peer.
    assert_eq!(a.unicast_peers, ["198.18.0.2".parse::<IpAddr>().unwrap()]);
    assert_eq!(a.virtual_ips.len(), 3);
    assert_eq!(a.virtual_ips[0].label.as_deref(), Some("eth0:a"));
    assert!(a.virtual_ips[2].excluded && !a.virtual_ips[0].excluded);
    assert_eq!(a.notify.as_deref(), Some(&["/bin/notify".to_string(), "arg".to_string()][..]));
    assert_eq!(a.notify_state, [("MASTER".to_string(), vec!["/bin/m".to_string()])]);
    assert!(a.preempt, "keepalived preempts unless nopreempt");
    // `brd` has no effect here: said, with the place.
    assert!(
        l.warnings.iter().any(|w| w.starts_with("k.conf:24:") && w.contains("brd 198.18.0.255")),
        "{:?}",
        l.warnings
    );
    let b = &l.instances[1];
    // keepalived's defaults, not osixia's template: priority 100, 1 s, no authentication.
    assert_eq!((b.priority, b.advert_int_cs, b.password.as_deref(), b.preempt), (100, 100, None, false));
    assert!(b.multicast());
    assert_eq!(b.track_interfaces, ["eth0"]);
    assert_eq!(b.advert_source, Some("198.18.1.1".parse().unwrap()));
}

#[test]
fn every_error_names_file_and_line() {
    let cases: &[(&str, &str)] = &[
        ("vrrp_instance A {\n interface eth0\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n", "k.conf:1: vrrp_instance A: virtual_router_id must be set"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n priority 300\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n", "k.conf:4: priority '300': expected an integer 1..255"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n frobnicate 3\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n", "k.conf:4: unknown keyword 'frobnicate' in vrrp_instance A"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  198.18.0.300\n }\n}\n", "k.conf:5: '198.18.0.300' is not an IPv4 or IPv6 address"),
        ("vrrp_instance A {\n interface eth9\n virtual_router_id 5\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n", "k.conf:2: interface eth9: no such interface"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n}\n", "k.conf:1: vrrp_instance A: no virtual_ipaddress"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n advert_int 0.5\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n", "k.conf:4: advert_int '0.5': expected whole seconds 1..255 for VRRPv2"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n state master\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n", "k.conf:4: state 'master': expected MASTER or BACKUP"),
        ("virtual_server 198.18.0.100 80 {\n}\n", "k.conf:1: virtual_server: keepvip does not do load balancing with IPVS"),
        ("global_defs {\n vrrp_strict\n}\n", "k.conf:2: vrrp_strict"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n use_vmac\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n", "k.conf:4: use_vmac: keepvip does not do virtual MAC interfaces"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  198.18.0.1/24\n }\n}\n", "k.conf:5: 198.18.0.1/24: 198.18.0.1/24 is the primary address of eth0"),
        ("", "k.conf:1: no vrrp_instance: nothing to do"),
    ];
    for (text, want) in cases {
        let e = errors(text);
        assert!(e.iter().any(|m| m.starts_with(want)), "want {want:?}, got {e:?}");
    }
}

#[test]
fn the_same_vrid_twice_on_an_interface_is_refused_with_both_names() {
    let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n\
                vrrp_instance B {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  198.18.0.101\n }\n}\n";
    let e = errors(text);
    assert_eq!(e, ["k.conf:8: A and B both use virtual_router_id 5 on eth0: give each its own"]);
    // On another interface it is another virtual router.
    assert!(
        load_str(&text.replacen("interface eth0", "interface eth1", 1).replace("198.18.0.100", "198.18.1.100")).is_ok()
    );
}

#[test]
fn sync_groups_bind_existing_instances_once() {
    let inst = |n: &str, vrid: u8| {
        format!("vrrp_instance {n} {{\n interface eth0\n virtual_router_id {vrid}\n virtual_ipaddress {{\n  198.18.0.{vrid}\n }}\n}}\n")
    };
    let ok = format!("vrrp_sync_group G {{\n group {{\n  A\n  B\n }}\n}}\n{}{}", inst("A", 10), inst("B", 11));
    let l = load_str(&ok).unwrap();
    assert!(l.instances.iter().all(|i| i.sync_group.as_deref() == Some("G")));
    let missing = format!("vrrp_sync_group G {{\n group {{\n  A\n  C\n }}\n}}\n{}", inst("A", 10));
    assert_eq!(errors(&missing), ["k.conf:1: vrrp_sync_group G: no vrrp_instance C"]);
}

#[test]
fn other_family_vips_are_ignored_as_keepalived_does_and_v3_drops_authentication() {
    let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n version 3\n advert_int 0.1\n authentication {\n  auth_type PASS\n  auth_pass x\n }\n virtual_ipaddress {\n  198.18.0.100\n  fd00::100/64\n }\n}\n";
    let l = load_str(text).unwrap();
    let a = &l.instances[0];
    assert_eq!((a.version, a.advert_int_cs, a.password.as_deref()), (Version::V3, 10, None));
    assert_eq!(a.virtual_ips.len(), 1);
    assert!(l.warnings.iter().any(|w| w.starts_with("k.conf:12:") && w.contains("fd00::100")), "{:?}", l.warnings);
}

#[test]
fn vrrp_scripts_become_checks_with_keepalived_defaults_and_overrides() {
    let text = "\
vrrp_script chk_svc {
  script \"/bin/sh -c 'exit 0'\"
  interval 0.5
  fall 3
  rise 2
  weight -20
  init_fail
}
vrrp_script plain {
  script /usr/bin/true
}
vrrp_instance V {
  interface eth0
  virtual_router_id 5
  track_script {
    chk_svc weight -40
    plain
  }
  track_interface {
    eth1 weight -10
    eth0
  }
  virtual_ipaddress {
    198.18.0.5
  }
}
";
    let l = load_str(text).unwrap();
    let c = &l.instances[0];
    assert_eq!(c.track_interfaces, ["eth0"]);
    let [link, svc, plain] = &c.checks[..] else { panic!("{:?}", c.checks) };
    assert_eq!((link.probe.clone(), link.weight), (Probe::Link("eth1".into()), -10));
    assert_eq!(svc.probe, Probe::Script(vec!["/bin/sh".into(), "-c".into(), "exit 0".into()]));
    assert_eq!(
        (svc.interval, svc.timeout, svc.fall, svc.rise, svc.weight, svc.init_fail),
        (Duration::from_millis(500), Duration::from_millis(500), 3, 2, -40, true)
    );
    assert_eq!(
        (plain.interval, plain.timeout, plain.fall, plain.rise, plain.weight, plain.init_fail),
        (Duration::from_secs(1), Duration::from_secs(1), 1, 1, 0, false)
    );
    // keepalived's preempt default lets weights move the VIP: no warning about that; the
    // scripts run as root without script security, as keepalived warns.
    assert!(l.warnings.iter().all(|w| !w.contains("nopreempt")), "{:?}", l.warnings);
    assert!(l.warnings.iter().any(|w| w.contains("vrrp_script chk_svc: runs as root")), "{:?}", l.warnings);

    let bad =
        errors(&text.replace("weight -20", "weight -20 reverse").replace("chk_svc weight -40", "chk_svc weight 400"));
    assert!(bad.iter().any(|e| e.starts_with("k.conf:6: ") && e.contains("reverse: not supported")), "{bad:?}");
    assert!(bad.iter().any(|e| e.starts_with("k.conf:16: ") && e.contains("weight '400'")), "{bad:?}");
    let bad = errors(&text.replace("script /usr/bin/true", "interval 2"));
    assert!(bad.iter().any(|e| e.contains("vrrp_script plain: no script set")), "{bad:?}");
}
