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
        ours: vec![],
        swarm: None,
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
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n version 3\n}\n", "k.conf:1: vrrp_instance A: no virtual_ipaddress; VRRPv3"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n advert_int 0.5\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n", "k.conf:4: advert_int '0.5': expected whole seconds 1..255 for VRRPv2"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n state master\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n", "k.conf:4: state 'master': expected MASTER or BACKUP"),
        ("virtual_server 198.18.0.100 80 {\n}\n", "k.conf:1: virtual_server is not supported by keepvip: load balancing with IPVS"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n strict_mode\n}\n", "k.conf:1: vrrp_instance A: no virtual_ipaddress; strict mode"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n use_vmac\n virtual_ipaddress {\n  fd00::100\n }\n}\n", "k.conf:4: vrrp_instance A: use_vmac with IPv6 is not implemented"),
        ("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n use_ipvlan\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n", "k.conf:4: use_ipvlan is not supported by keepvip"),
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
    // The instance's own interface is tracked anyway: keepalived ignores it there.
    assert!(c.track_interfaces.is_empty(), "{:?}", c.track_interfaces);
    assert!(l.warnings.iter().any(|w| w.contains("track_interface eth0: ignored")), "{:?}", l.warnings);
    let [link, svc, plain] = &c.checks[..] else { panic!("{:?}", c.checks) };
    assert_eq!((link.probe.clone(), link.weight), (Probe::Link("eth1".into()), -10));
    assert_eq!(svc.probe, Probe::Script(vec!["/bin/sh".into(), "-c".into(), "exit 0".into()]));
    assert_eq!(
        (svc.interval, svc.timeout, svc.fall, svc.rise, svc.weight, svc.init_fail),
        (Duration::from_secs(1), Duration::from_secs(1), 3, 2, -40, true)
    );
    // keepalived reads whole seconds: 0.5 is 0, taken as 1 s, said at its line.
    assert!(l.warnings.iter().any(|w| w.starts_with("k.conf:3: ") && w.contains("whole seconds")), "{:?}", l.warnings);
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

/// One instance on eth0 with `body` inside, and `before`/`after` around it.
fn one(before: &str, body: &str, after: &str) -> String {
    format!("{before}\nvrrp_instance V {{\n interface eth0\n virtual_router_id 9\n{body}\n virtual_ipaddress {{\n  198.18.0.9\n }}\n}}\n{after}")
}

#[test]
fn state_and_priority_derive_from_each_other_as_keepalived_derives_them() {
    for (body, state, prio) in [
        ("", InitialState::Backup, 100),
        (" state MASTER", InitialState::Master, 255),
        (" priority 255", InitialState::Master, 255),
        (" priority 254", InitialState::Backup, 254),
        (" state BACKUP\n priority 255", InitialState::Backup, 255),
        (" state MASTER\n state BACKUP\n priority 150", InitialState::Master, 150),
        (" state BACKUP\n state MASTER\n priority 150", InitialState::Master, 150),
    ] {
        let l = load_str(&one("", body, "")).unwrap_or_else(|e| panic!("{body}: {e:?}"));
        let c = &l.instances[0];
        assert_eq!((c.state, c.priority), (state, prio), "{body}");
    }
    let l = load_str(&one("", " state MASTER\n state BACKUP", "")).unwrap();
    assert!(l.warnings.iter().any(|w| w.contains("state BACKUP after state MASTER")), "{:?}", l.warnings);
}

#[test]
fn preemption_keywords_read_as_keepalived_reads_them() {
    let c = |body: &str| load_str(&one("", body, "")).unwrap().instances.remove(0);
    assert!(c(" priority 100\n nopreempt\n preempt").preempt, "preempt after nopreempt preempts");
    assert!(!c(" priority 100\n preempt\n nopreempt").preempt);
    let m = c(" state MASTER\n priority 150\n preempt_delay 5");
    assert_eq!(m.preempt_delay, Duration::ZERO, "state MASTER clears preempt_delay");
    assert_eq!(c(" priority 150\n preempt_delay 5").preempt_delay, Duration::from_secs(5));
}

/// keepalived's strict mode: what it resets (each with a warning), what it defaults, and
/// `no_accept` below the address owner; `strict_mode off` in an instance overrides
/// `vrrp_strict`.
#[test]
fn strict_mode_changes_what_keepalived_changes() {
    let g = "global_defs {\n vrrp_strict\n}";
    let body = " state MASTER\n priority 150\n preempt_delay 5\n down_timer_adverts 5\n garp_lower_prio_repeat 2\n higher_prio_send_advert\n lower_prio_no_advert false\n authentication {\n  auth_type PASS\n  auth_pass abc\n }";
    let l = load_str(&one(g, body, "")).unwrap();
    let c = &l.instances[0];
    assert!(c.strict && !c.accept, "below 255: no_accept");
    assert_eq!(c.state, InitialState::Backup, "the state follows the priority");
    assert_eq!((c.password.as_deref(), c.preempt_delay, c.down_timer_adverts), (None, Duration::ZERO, 3));
    assert_eq!(c.garp.lower_prio(), None, "no gratuitous ARP for a lower priority");
    assert!(c.lower_prio_no_advert && !c.higher_prio_send_advert);
    for w in [
        "state MASTER must match",
        "authentication",
        "preempt_delay",
        "down_timer_adverts",
        "garp_lower_prio",
        "lower_prio_no_advert",
        "higher_prio_send_advert",
    ] {
        assert!(l.warnings.iter().any(|x| x.contains(w)), "{w}: {:?}", l.warnings);
    }
    // The address owner accepts; `accept` is honoured with VRRPv3 only; the instance may
    // leave strict mode.
    let c = |g: &str, body: &str| load_str(&one(g, body, "")).unwrap().instances.remove(0);
    assert!(c(g, " priority 255").accept);
    assert!(!c(g, " priority 100\n accept").accept, "v2 strict resets accept");
    assert!(c(g, " priority 100\n version 3\n accept").accept);
    let off = c(g, " priority 100\n strict_mode off\n preempt_delay 5");
    assert!(!off.strict && off.accept && !off.lower_prio_no_advert);
    assert_eq!(off.preempt_delay, Duration::from_secs(5));
    // Outside strict mode: no_accept and the two advert flags as written.
    let n = c("global_defs {\n vrrp_lower_prio_no_advert\n}", " priority 100\n no_accept\n higher_prio_send_advert on");
    assert!(!n.strict && !n.accept && n.lower_prio_no_advert && n.higher_prio_send_advert);
    assert!(c("", " priority 100").accept);
    let e = errors(&one("", " priority 100\n lower_prio_no_advert maybe", ""));
    assert!(e.iter().any(|e| e.contains("lower_prio_no_advert 'maybe': expected on or off")), "{e:?}");
}

/// `garp_extra_if [all] N` (and `vrrp_garp_extra_if` as every instance's default) runs as
/// keepalived runs it: only with `all` and a VIP on an interface not the instance's own.
#[test]
fn garp_extra_if_runs_only_where_keepalived_runs_it() {
    let vips = " virtual_ipaddress {\n  198.18.1.50/24 dev eth1\n }";
    let c = |g: &str, body: &str| load_str(&one(g, body, "")).unwrap().instances.remove(0);
    let ten = Some(Duration::from_secs(10));
    assert_eq!(c("", &format!(" priority 100\n garp_extra_if all 10\n{vips}")).garp_extra_if(), ten);
    assert_eq!(c("", &format!(" priority 100\n garp_extra_if 10\n{vips}")).garp_extra_if(), None, "without all");
    assert_eq!(c("", " priority 100\n garp_extra_if all 10").garp_extra_if(), None, "no other interface");
    assert_eq!(
        c("global_defs {\n vrrp_garp_extra_if all 10\n}", &format!(" priority 100\n{vips}")).garp_extra_if(),
        ten
    );
    assert_eq!(c("", &format!(" priority 100\n garp_extra_if all 0\n{vips}")).garp_extra_if(), None);
    let e = errors(&one("", " priority 100\n garp_extra_if some 10", ""));
    assert!(e.iter().any(|e| e.contains("garp_extra_if: expected [all] SECONDS")), "{e:?}");
}

/// `use_vmac` names vrrp.VRID unless written; `vmac_xmit_base` is read with it.
#[test]
fn use_vmac_names_its_interface_as_keepalived_does() {
    let c = |body: &str| load_str(&one("", body, "")).unwrap().instances.remove(0);
    assert_eq!(
        c(" priority 100\n use_vmac").vmac,
        Some(crate::config::Vmac { name: "vrrp.9".into(), xmit_base: false })
    );
    let v = c(" priority 100\n use_vmac vip0\n vmac_xmit_base").vmac.unwrap();
    assert_eq!((v.name.as_str(), v.xmit_base), ("vip0", true));
    assert_eq!(c(" priority 100").vmac, None);
    let l = load_str(&one("", " priority 100\n use_vmac an-interface-name-too-long", "")).unwrap();
    assert_eq!(l.instances[0].vmac.as_ref().unwrap().name, "vrrp.9");
    assert!(l.warnings.iter().any(|w| w.contains("at most 15 bytes")), "{:?}", l.warnings);
    let e = errors(&one("", " priority 100\n use_vmac 00:00:5e:00:01:09", ""));
    assert!(e.iter().any(|e| e.contains("MAC address of one's own")), "{e:?}");
}

#[test]
fn authentication_needs_both_type_and_password_as_in_keepalived() {
    let auth = |inner: &str| {
        let l = load_str(&one("", &format!(" priority 100\n authentication {{\n{inner}\n }}"), "")).unwrap();
        (l.instances[0].password.clone(), l.warnings)
    };
    assert_eq!(auth("  auth_type PASS\n  auth_pass abc").0.as_deref(), Some("abc"));
    let (pw, w) = auth("  auth_pass abc");
    assert_eq!(pw, None);
    assert!(w.iter().any(|w| w.contains("auth_pass without auth_type PASS")), "{w:?}");
    let (pw, w) = auth("  auth_type PASS\n  auth_pass 123456789");
    assert_eq!(pw.as_deref(), Some("123456789"), "the wire takes the first 8 bytes");
    assert!(w.iter().any(|w| w.starts_with("k.conf:8: ") && w.contains("first 8")), "{w:?}");
    let e = errors(&one("", " authentication {\n  auth_type AH\n  auth_pass x\n }", ""));
    assert!(e.iter().any(|e| e.contains("auth_type AH") && e.contains("IPsec AH")), "{e:?}");
}

#[test]
fn scripts_take_their_first_word_and_notify_lines_a_user() {
    let l = load_str(&one(
        "vrrp_script chk {\n script /bin/echo unquoted words\n}",
        " priority 100\n track_script {\n  chk\n }\n notify_master /bin/echo master\n notify_backup \"/bin/echo backup\" root root\n notify_fault \"/bin/echo f1\"\n notify_fault \"/bin/echo f2\"",
        "",
    ))
    .unwrap();
    let c = &l.instances[0];
    assert_eq!(c.checks[0].probe, Probe::Script(vec!["/bin/echo".into()]));
    assert!(
        l.warnings.iter().any(|w| w.starts_with("k.conf:2: ") && w.contains("'unquoted words'")),
        "{:?}",
        l.warnings
    );
    // "master" is no user here: keepalived ignores that notify; the first notify_fault wins.
    let want: Vec<(String, Vec<String>)> = vec![
        ("BACKUP".into(), vec!["/bin/echo".into(), "backup".into()]),
        ("FAULT".into(), vec!["/bin/echo".into(), "f1".into()]),
    ];
    assert_eq!(c.notify_state, want);
    assert!(l.warnings.iter().any(|w| w.contains("no user 'master'")), "{:?}", l.warnings);
    assert!(l.warnings.iter().any(|w| w.contains("notify_fault is set twice")), "{:?}", l.warnings);
}

#[test]
fn tracking_keepalived_cannot_resolve_is_disabled_with_a_warning() {
    // Defined after the instance: keepalived ignores the tracking.
    let l = load_str(&one("", " priority 100\n track_script {\n  chk\n }", "vrrp_script chk {\n script /bin/false\n}"))
        .unwrap();
    assert!(l.instances[0].checks.is_empty());
    assert!(l.warnings.iter().any(|w| w.contains("defined after this instance")), "{:?}", l.warnings);
    // A program that does not exist: the tracking is disabled.
    let l = load_str(&one(
        "vrrp_script chk {\n script \"/nonexistent/chk.sh arg\"\n}",
        " priority 100\n track_script {\n  chk\n }",
        "",
    ))
    .unwrap();
    assert!(l.instances[0].checks.is_empty());
    assert!(
        l.warnings.iter().any(|w| w.starts_with("k.conf:1: ") && w.contains("/nonexistent/chk.sh does not exist")),
        "{:?}",
        l.warnings
    );
    // A name no vrrp_script has is still refused: a typo would run untracked.
    let e = errors(&one("", " priority 100\n track_script {\n  nope\n }", ""));
    assert!(e.iter().any(|e| e.contains("no vrrp_script nope")), "{e:?}");
    // Script security with no user to run scripts as: keepalived removes them.
    let l = load_str(&one(
        "global_defs {\n enable_script_security\n script_user nobody_here_kv\n}\nvrrp_script chk {\n script /bin/true\n}",
        " priority 100\n track_script {\n  chk\n }\n notify_master /bin/true",
        "",
    ))
    .unwrap();
    let c = &l.instances[0];
    assert!(c.checks.is_empty() && c.notify_state.is_empty(), "{c:?}");
    assert!(l.warnings.iter().any(|w| w.contains("no user 'nobody_here_kv'")), "{:?}", l.warnings);
}

#[test]
fn sync_group_members_ignore_weights_unless_the_group_keeps_them() {
    let text = |extra: &str| {
        format!(
            "vrrp_script chk {{\n script /bin/true\n weight -60\n}}\nvrrp_sync_group G {{\n group {{\n  A\n  B\n }}\n{extra}}}\n\
vrrp_instance A {{\n interface eth0\n virtual_router_id 61\n priority 150\n virtual_ipaddress {{\n  198.18.0.61\n }}\n track_script {{\n  chk\n }}\n track_interface {{\n  eth1 weight -30\n }}\n}}\n\
vrrp_instance B {{\n interface eth1\n virtual_router_id 62\n priority 150\n virtual_ipaddress {{\n  198.18.1.62\n }}\n}}\n"
        )
    };
    let l = load_str(&text("")).unwrap();
    let a = &l.instances[0];
    assert!(a.checks.is_empty(), "{:?}", a.checks);
    assert_eq!(a.track_interfaces, ["eth1"]);
    let l = load_str(&text(" sync_group_tracking_weight\n")).unwrap();
    assert_eq!(l.instances[0].checks.len(), 2);
}

#[test]
fn an_instance_without_interface_is_refused_as_keepalived_refuses_it() {
    let e = errors("vrrp_instance V {\n virtual_router_id 9\n virtual_ipaddress {\n  198.18.0.9\n }\n}\n");
    assert!(e.iter().any(|e| e.starts_with("k.conf:1: ") && e.contains("no interface")), "{e:?}");
}

#[test]
fn multicast_groups_garp_schedule_and_primary_tracking_are_read() {
    let l = load_str(&one(
        "global_defs {\n vrrp_mcast_group4 224.0.0.33\n vrrp_garp_master_refresh 30\n}",
        " priority 100\n dont_track_primary\n garp_master_delay 0\n garp_master_repeat 2",
        "",
    ))
    .unwrap();
    let c = &l.instances[0];
    assert_eq!(c.multicast_group(), Some("224.0.0.33".parse().unwrap()));
    let want = crate::config::Garp {
        delay: Duration::ZERO,
        repeat: 2,
        refresh: Some(Duration::from_secs(30)),
        refresh_repeat: 1,
        // Not the instance's garp_master_*: global_defs' (keepalived's defaults here).
        lower_prio_delay: Some(Duration::from_secs(5)),
        lower_prio_repeat: Some(5),
        extra_if: None,
        extra_if_all: false,
    };
    assert_eq!(c.garp, want);
    assert!(c.dont_track_primary);
    let c = load_str(&one("", " priority 100\n mcast_dst_ip 224.0.0.40", "")).unwrap().instances.remove(0);
    assert_eq!(c.multicast_group(), Some("224.0.0.40".parse().unwrap()));
    // keepalived exits on a missing value; an IPv6 group is no IPv4 group.
    let e = errors(&one("global_defs {\n vrrp_garp_master_refresh\n}", " priority 100", ""));
    assert!(e.iter().any(|e| e.starts_with("k.conf:2: ") && e.contains("needs a value")), "{e:?}");
    let e = errors(&one("global_defs {\n vrrp_mcast_group4 ff02::12\n}", " priority 100", ""));
    assert!(e.iter().any(|e| e.contains("expected an IPv4 multicast address")), "{e:?}");
}

#[test]
fn prefixes_on_sources_and_peers_are_dropped_and_ipv6_runs_vrrpv3() {
    let l =
        load_str(&one("", " priority 100\n unicast_src_ip 198.18.0.1/24\n unicast_peer {\n  198.18.0.2/24\n }", ""))
            .unwrap();
    let c = &l.instances[0];
    assert_eq!(c.advert_source, Some("198.18.0.1".parse().unwrap()));
    assert_eq!(c.unicast_peers, ["198.18.0.2".parse::<IpAddr>().unwrap()]);
    assert_eq!(l.warnings.iter().filter(|w| w.contains("prefix /24 is ignored")).count(), 2, "{:?}", l.warnings);
    let six =
        "vrrp_instance S {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  2001:db8::7/64\n }\n}\n";
    assert_eq!(load_str(six).unwrap().instances[0].version, Version::V3);
    assert!(errors(&six.replace(" interface eth0", " interface eth0\n version 2"))
        .iter()
        .any(|e| e.contains("remove 'version 2'")));
}

#[test]
fn excluded_vips_alone_are_no_vips() {
    let text = "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n version 3\n virtual_ipaddress_excluded {\n  198.18.0.9\n }\n}\n";
    assert!(errors(text).iter().any(|e| e.contains("VRRPv3 needs at least one VIP")));
    let l = load_str(&text.replace(" version 3\n", "")).unwrap();
    assert!(l.warnings.iter().any(|w| w.contains("no virtual_ipaddress")), "{:?}", l.warnings);
}

#[test]
fn a_missing_vip_interface_is_refused_at_start_and_a_fault_on_reload() {
    let text = one("", " priority 100\n virtual_ipaddress {\n  198.18.5.5 dev eth7\n }", "");
    assert!(errors(&text).iter().any(|e| e.contains("no interface 'eth7'")));
    let stmts = lex::parse_str("k.conf", &text).unwrap();
    let l = read_stmts(Path::new("k.conf"), &stmts, &host(), true).unwrap();
    assert!(l.warnings.iter().any(|w| w.contains("no interface 'eth7' yet")), "{:?}", l.warnings);
}

#[test]
fn early_failover_is_on_unless_global_defs_turns_it_off() {
    assert!(load_str(&one("", "", "")).unwrap().instances[0].early_failover);
    for (line, on) in [("keepvip_early_failover off", false), ("keepvip_early_failover", true)] {
        let l = load_str(&one(&format!("global_defs {{\n {line}\n}}"), "", "")).unwrap();
        assert_eq!(l.instances[0].early_failover, on, "{line}");
    }
    let e = errors(&one("global_defs {\n keepvip_early_failover sometimes\n}", "", ""));
    assert!(e[0].contains("k.conf:2") && e[0].contains("expected on or off"), "{e:?}");
}

#[test]
fn track_process_blocks_become_process_checks_with_keepalived_defaults() {
    use crate::config::track::{ParamMatch, ProcessMatch};
    let text = "\
vrrp_track_process proxy {
  process haproxy
}
vrrp_track_process web {
  process \"/usr/sbin/nginx\" -g \"daemon off;\"
  param_match initial
  weight -30
  quorum 2
  quorum_max 4
  delay 1.5
  full_command
}
vrrp_instance V {
  interface eth0
  virtual_router_id 1
  priority 150
  virtual_ipaddress {
    198.18.0.100
  }
  track_process {
    proxy
    web weight -40
    late
  }
}
vrrp_track_process late {
  process late
}
";
    let l = load_str(text).unwrap();
    let checks = &l.instances[0].checks;
    assert_eq!(checks.len(), 2, "{checks:?}");
    let proxy = ProcessMatch {
        name: "haproxy".into(),
        args: None,
        param_match: ParamMatch::Exact,
        full_command: false,
        quorum: 1,
        quorum_max: u32::MAX,
    };
    assert_eq!(checks[0].probe, Probe::Process(proxy));
    assert_eq!((checks[0].weight, checks[0].rise, checks[0].fall), (0, 1, 1), "weight 0: FAULT while down");
    let web = ProcessMatch {
        name: "/usr/sbin/nginx".into(),
        args: Some(vec!["-g".into(), "daemon off;".into()]),
        param_match: ParamMatch::Initial,
        full_command: true,
        quorum: 2,
        quorum_max: 4,
    };
    assert_eq!(checks[1].probe, Probe::Process(web));
    // The instance's weight wins; 1.5 s of delay is two more agreeing scans a second apart.
    assert_eq!((checks[1].weight, checks[1].rise, checks[1].fall), (-40, 3, 3));
    assert!(
        l.warnings.iter().any(|w| w.contains("track_process late") && w.contains("defined after")),
        "{:?}",
        l.warnings
    );
    // Typos and what keepvip does not do are refused, naming the line.
    let bad = errors(&text.replace("    late\n", "    lates\n"));
    assert!(bad.iter().any(|e| e.contains("no vrrp_track_process lates")), "{bad:?}");
    let bad = errors(&text.replace("weight -30", "weight -30 reverse"));
    assert!(bad.iter().any(|e| e.starts_with("k.conf:7: ") && e.contains("reverse")), "{bad:?}");
    let bad = errors(&text.replace("param_match initial", "param_match most"));
    assert!(bad.iter().any(|e| e.starts_with("k.conf:6: ") && e.contains("partial or initial")), "{bad:?}");
    let bad = errors(&text.replace("quorum_max 4", "quorum_max 1"));
    assert!(bad.iter().any(|e| e.contains("quorum 2 is above quorum_max 1")), "{bad:?}");
}

/// `down_timer_adverts` in an instance, `vrrp_down_timer_adverts` as every instance's
/// default; keepalived warns on a value outside 1..100 and keeps 3, keepvip refuses it.
#[test]
fn down_timer_adverts_per_instance_and_from_global_defs() {
    let c = load_str(&one("", " priority 100\n down_timer_adverts 5", "")).unwrap().instances.remove(0);
    assert_eq!(c.down_timer_adverts, 5);
    let c = load_str(&one("global_defs {\n vrrp_down_timer_adverts 7\n}", " priority 100", ""))
        .unwrap()
        .instances
        .remove(0);
    assert_eq!(c.down_timer_adverts, 7);
    let g = "global_defs {\n vrrp_down_timer_adverts 7\n}";
    let c = load_str(&one(g, " priority 100\n down_timer_adverts 2", "")).unwrap().instances.remove(0);
    assert_eq!(c.down_timer_adverts, 2);
    let c = load_str(&one("", " priority 100", "")).unwrap().instances.remove(0);
    assert_eq!(c.down_timer_adverts, 3);
    for bad in ["0", "101", "x"] {
        let e = errors(&one("", &format!(" priority 100\n down_timer_adverts {bad}"), ""));
        assert!(
            e.iter().any(|e| e.contains(&format!("down_timer_adverts '{bad}': expected an integer 1..100"))),
            "{e:?}"
        );
    }
}

/// `vrrp_min_garp`: one round, no second burst, no refresh repeat; what the `vrrp_garp_*`
/// keywords set stays, before or after it (keepalived's --dump-conf shows the same).
#[test]
fn vrrp_min_garp_sends_one_round_and_leaves_what_is_written() {
    let garp = |globals: &str, body: &str| {
        let c = load_str(&one(&format!("global_defs {{\n{globals}\n}}"), &format!(" priority 100\n{body}"), ""));
        let c = c.unwrap().instances.remove(0);
        (c.garp.delay.as_secs(), c.garp.repeat, c.garp.refresh_repeat)
    };
    assert_eq!(garp(" vrrp_min_garp", ""), (0, 1, 0));
    assert_eq!(garp(" vrrp_min_garp false", ""), (5, 5, 1));
    assert_eq!(garp(" vrrp_garp_master_repeat 4\n vrrp_min_garp", ""), (0, 4, 0));
    assert_eq!(garp(" vrrp_min_garp\n vrrp_garp_master_repeat 4", ""), (0, 4, 0));
    assert_eq!(garp(" vrrp_min_garp", " garp_master_repeat 3"), (0, 3, 0));
}

/// `unicast_fault_no_peer`: no effect with peers; without any keepalived holds the instance
/// in FAULT for good ("Cannot use unicast without any peers"), which keepvip refuses by line.
/// `notify_priority_changes` only changes FIFO output: accepted without effect.
#[test]
fn unicast_fault_no_peer_and_notify_priority_changes() {
    let c = load_str(&one("", " priority 100\n unicast_fault_no_peer\n unicast_peer {\n  198.18.0.2\n }", ""));
    assert_eq!(c.unwrap().instances[0].unicast_peers.len(), 1);
    let e = errors(&one("", " priority 100\n unicast_fault_no_peer", ""));
    assert!(
        e.iter().any(|e| e.contains("unicast_fault_no_peer and no unicast_peer") && e.starts_with("k.conf:")),
        "{e:?}"
    );
    assert!(load_str(&one("", " priority 100\n notify_priority_changes", "")).is_ok());
}

/// `vrrp_startup_delay SECONDS` (fractions as keepalived takes them) for every instance.
#[test]
fn vrrp_startup_delay_is_read_for_every_instance() {
    let c = load_str(&one("global_defs {\n vrrp_startup_delay 5.5\n}", " priority 100", "")).unwrap();
    assert_eq!(c.instances[0].startup_delay, Duration::from_millis(5500));
    for bad in ["-1", "x", "1e9"] {
        let e = errors(&one(&format!("global_defs {{\n vrrp_startup_delay {bad}\n}}"), " priority 100", ""));
        assert!(e.iter().any(|e| e.contains(&format!("vrrp_startup_delay '{bad}'"))), "{e:?}");
    }
}
