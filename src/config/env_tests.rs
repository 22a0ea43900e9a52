use super::*;
use crate::config::rules::parse_centis;
use crate::config::HostIface;
use crate::config::{is_known, process_settings, unknown_variables, VARIABLES};

fn host() -> HostView {
    HostView {
        interfaces: vec![
            HostIface { index: 1, name: "lo".into(), addrs: vec!["127.0.0.1/8".parse().unwrap()] },
            HostIface { index: 2, name: "eth0".into(), addrs: vec!["192.168.4.1/24".parse().unwrap()] },
            HostIface { index: 3, name: "eth1".into(), addrs: vec!["10.0.0.5/16".parse().unwrap()] },
        ],
        default_route_ifindex: Some(2),
        ours: vec![],
        swarm: None,
    }
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const SEED: &[(&str, &str)] = &[
    ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['192.168.4.1', '192.168.4.2']"),
    ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3"),
    ("KEEPALIVED_PRIORITY", "200"),
];

#[test]
fn seed_environment_with_osixia_defaults() {
    let l = from_env(&env(SEED), &host()).unwrap();
    let c = &l.config;
    assert_eq!(c.interface, "eth0");
    assert_eq!(c.priority, 200);
    assert_eq!(c.router_id, 51);
    assert_eq!(c.state, InitialState::Backup);
    assert!(!c.preempt);
    assert_eq!(c.advert_int_cs, 100);
    assert_eq!(c.version, Version::V2);
    assert_eq!(c.password.as_deref(), Some("d0cker"));
    assert_eq!(c.unicast_peers, vec!["192.168.4.2".parse::<IpAddr>().unwrap()]);
    assert_eq!(c.advert_source, Some("192.168.4.1".parse().unwrap()));
    assert_eq!(c.notify, Some(vec![OSIXIA_NOTIFY.to_string()]));
    assert!(process_settings(&env(SEED)).unwrap().dump_conf, "osixia's default arguments");
    assert!(l.info.iter().any(|i| i.contains("192.168.4.1 is this host's own address")));
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(
        c.summary(),
        "(VI_1) VRRPv2 virtual router 51, priority 200, nopreempt, starts as BACKUP; adverts every 1 s on eth0 from 192.168.4.1 to 192.168.4.2, password; VIPs 192.168.4.3/32"
    );
}

/// The README's variable table and this one name the same variables.
#[test]
fn every_variable_is_documented_in_the_readme_and_no_other() {
    let readme = include_str!("../../README.md");
    // The first cell of each table row, every `NAME` in it.
    let documented: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(" |").next())
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .filter(|n| n.starts_with("KEEPALIVED_") || n.starts_with("KEEPVIP_"))
        .collect();
    for v in VARIABLES {
        assert!(documented.contains(&v.name), "{} is read but not in the README's table", v.name);
    }
    for d in &documented {
        assert!(is_known(d), "the README documents {d}, which keepvip does not read");
    }
}

#[test]
fn track_variables_become_checks_with_one_timing() {
    let mut e = env(SEED);
    for (k, v) in [
        ("KEEPALIVED_TRACK_TCP", "#PYTHON2BASH:['127.0.0.1:53', '[::1]:80']"),
        ("KEEPALIVED_TRACK_HTTP", "http://127.0.0.1:8080/healthz 200,204"),
        ("KEEPALIVED_TRACK_DOCKER", "swarm"),
        ("KEEPALIVED_TRACK_SCRIPT", "/usr/bin/test -e /run/ok"),
        ("KEEPALIVED_TRACK_INTERFACES", "eth0"),
        ("KEEPALIVED_TRACK_INTERVAL", "0.5"),
        ("KEEPALIVED_TRACK_FALL", "3"),
        ("KEEPALIVED_TRACK_WEIGHT", "-60"),
        ("DOCKER_HOST", "unix:///run/docker.sock"),
    ] {
        e.insert(k.into(), v.into());
    }
    let l = from_env(&e, &host()).unwrap();
    let c = &l.config;
    let names: Vec<&str> = c.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "interface eth0",
            "tcp 127.0.0.1:53",
            "tcp [::1]:80",
            "http 127.0.0.1:8080/healthz",
            "/usr/bin/test -e /run/ok",
            "docker swarm /run/docker.sock"
        ]
    );
    assert!(c.checks.iter().all(|k| k.interval == Duration::from_millis(500)
        && k.timeout == Duration::from_millis(500)
        && k.fall == 3
        && k.rise == 1
        && k.weight == -60));
    assert!(c.track_interfaces.is_empty(), "a weighted interface is a check");
    // osixia's nopreempt: a weight can never move the VIP; said once.
    assert!(
        l.warnings.iter().any(|w| w.contains("KEEPALIVED_TRACK_WEIGHT=\"-60\": with nopreempt")),
        "{:?}",
        l.warnings
    );
    assert!(c.summary().contains("tracking interface eth0 (weight -60), tcp 127.0.0.1:53 (every 0.5 s, timeout 0.5 s, fall 3, rise 1, weight -60)"), "{}", c.summary());
    // Weight 0 (the default): the interfaces fault the instance as its own does.
    let mut e = env(SEED);
    e.insert("KEEPALIVED_TRACK_INTERFACES".into(), "eth0".into());
    assert_eq!(from_env(&e, &host()).unwrap().config.track_interfaces, ["eth0"]);
}

#[test]
fn both_families_are_two_instances_in_a_sync_group_and_ipv6_runs_vrrpv3() {
    let mut h = host();
    h.interfaces[1].addrs.push("2001:db8::1/64".parse().unwrap());
    h.interfaces[1].addrs.push("fe80::1/64".parse().unwrap());
    let mut e = env(SEED);
    e.insert("KEEPALIVED_VIRTUAL_IPS".into(), "#PYTHON2BASH:['192.168.4.3', '2001:db8::100']".into());
    e.insert(
        "KEEPALIVED_UNICAST_PEERS".into(),
        "#PYTHON2BASH:['192.168.4.1', '192.168.4.2', '2001:db8::1', '2001:db8::2']".into(),
    );
    let l = from_env(&e, &h).unwrap();
    let (v4, v6) = (&l.config, l.dual.as_ref().unwrap());
    assert_eq!((v4.name.as_str(), v6.name.as_str()), ("VI_1", "VI_1_V6"));
    assert_eq!((v4.version, v6.version), (Version::V2, Version::V3));
    assert_eq!((v4.sync_group.as_deref(), v6.sync_group.as_deref()), (Some("VG_1"), Some("VG_1")));
    assert_eq!(v6.unicast_peers, vec!["2001:db8::2".parse::<IpAddr>().unwrap()]);
    assert_eq!(v6.advert_source, Some("2001:db8::1".parse().unwrap()), "the address the peers list");
    assert_eq!(v6.password, None);
    assert_eq!(v6.virtual_ips.len(), 1);
    assert!(l.info.iter().any(|i| i.contains("the IPv6 VIPs run as a VRRPv3 instance")), "{:?}", l.info);
    // IPv6 only, multicast: VRRPv3 from the link-local address, one instance.
    let mut e = env(SEED);
    e.insert("KEEPALIVED_VIRTUAL_IPS".into(), "2001:db8::100".into());
    e.remove("KEEPALIVED_UNICAST_PEERS");
    let l = from_env(&e, &h).unwrap();
    assert!(l.dual.is_none());
    assert_eq!(l.config.version, Version::V3);
    assert_eq!(l.config.advert_source, Some("fe80::1".parse().unwrap()));
    // Peers of a family no VIP has: named, with the peer variable.
    let p = problems(&[("KEEPALIVED_VIRTUAL_IPS", "2001:db8::1")]);
    assert!(
        p.iter().any(|l| l.starts_with("KEEPALIVED_UNICAST_PEERS=")
            && l.contains("peers 192.168.4.1, 192.168.4.2: IPv4, but no VIP is")),
        "{p:?}"
    );
}

fn problems(pairs: &[(&str, &str)]) -> Vec<String> {
    let mut e = env(SEED);
    for (k, v) in pairs {
        e.insert(k.to_string(), v.to_string());
    }
    match from_env(&e, &host()) {
        Ok(_) => vec![],
        Err(p) => p.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn every_bad_value_is_named() {
    let cases: &[(&str, &str, &str)] = &[
        ("KEEPALIVED_PRIORITY", "300", r#"KEEPALIVED_PRIORITY="300": expected an integer 1..255"#),
        ("KEEPALIVED_PRIORITY", "high", "expected an integer 1..255"),
        ("KEEPALIVED_TRACK_TCP", "db:5432", "'db' is not an IP address"),
        ("KEEPALIVED_TRACK_HTTP", "https://x/", "https is not supported"),
        ("KEEPALIVED_TRACK_DOCKER", "yes", "expected engine"),
        ("KEEPALIVED_TRACK_INTERFACES", "eth7", "no interface 'eth7'"),
        ("KEEPALIVED_TRACK_INTERVAL", "0", "expected seconds 0.01..3600"),
        ("KEEPALIVED_TRACK_FALL", "0", "expected an integer 1..1000"),
        ("KEEPALIVED_TRACK_WEIGHT", "300", "expected an integer -253..253"),
        ("KEEPALIVED_PRIORITY", "0", "expected an integer 1..255"),
        ("KEEPALIVED_ROUTER_ID", "256", r#"KEEPALIVED_ROUTER_ID="256": expected an integer 1..255"#),
        ("KEEPALIVED_VRRP_VERSION", "4", "expected 2 or 3"),
        ("KEEPALIVED_ADVERT_INT", "0.5", "whole seconds 1..255 for VRRPv2"),
        ("KEEPALIVED_ADVERT_INT", "abc", "whole seconds"),
        ("KEEPALIVED_PREEMPT", "maybe", "expected true or false"),
        ("KEEPALIVED_PREEMPT_DELAY", "-1", "expected seconds 0..1000"),
        ("KEEPALIVED_UNICAST_MIN_TTL", "0", "expected an integer 1..255"),
        ("KEEPALIVED_INTERFACE", "eth9", "no such interface; this host has: lo, eth0, eth1"),
        ("KEEPALIVED_INTERFACE", "a/b", "interface name"),
        (
            "KEEPALIVED_UNICAST_PEERS",
            "#PYTHON2BASH:[192.168.4.1, 192.168.4.2]",
            "write #PYTHON2BASH:['192.168.4.1', '192.168.4.2']",
        ),
        (
            "KEEPALIVED_UNICAST_PEERS",
            "192.168.4.1,192.168.4.2",
            "for a list write #PYTHON2BASH:['192.168.4.1', '192.168.4.2']",
        ),
        ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['192.168.4.999']", "'192.168.4.999' is not an IPv4"),
        (
            "KEEPALIVED_UNICAST_PEERS",
            "\"#PYTHON2BASH:['192.168.4.1', '192.168.4.2']\"",
            "keeps its quotes (docker run --env-file passes them on; docker-compose and a shell strip them): the line should read KEEPALIVED_UNICAST_PEERS=#PYTHON2BASH:['192.168.4.1', '192.168.4.2']",
        ),
        (
            "KEEPALIVED_UNICAST_PEERS",
            "PYTHON2BASH:['192.168.4.1', '192.168.4.2']",
            "the prefix needs its '#': the line should read KEEPALIVED_UNICAST_PEERS=#PYTHON2BASH:['192.168.4.1', '192.168.4.2']",
        ),
        ("KEEPALIVED_VIRTUAL_IPS", "'192.168.4.3'", "the line should read KEEPALIVED_VIRTUAL_IPS=192.168.4.3"),
        ("KEEPALIVED_UNICAST_PEERS", "#JSON2BASH:[192.168.4.1]", "invalid JSON"),
        (
            "KEEPALIVED_VIRTUAL_IPS",
            "192.168.4.3,192.168.4.4",
            "for a list write #PYTHON2BASH:['192.168.4.3', '192.168.4.4']",
        ),
        ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3/40", "expected 1..32"),
        ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3 scope link", "unknown keyword 'scope'"),
        ("KEEPALIVED_VIRTUAL_IPS", "#PYTHON2BASH:['192.168.4.3', '192.168.4.3/24']", "192.168.4.3 is listed twice"),
        ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.2", "also a unicast peer"),
        ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3 dev eth7", "no interface 'eth7'"),
        ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3 label 0123456789abcdef", "at most 15 characters"),
        ("KEEPALIVED_PRIORITY", "#PYTHON2BASH:[200]", "expected one value, found a list"),
        ("KEEPALIVED_VIRTUAL_IPS", "", "required"),
        ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['224.0.0.18']", "224.0.0.18 is a multicast address"),
        ("KEEPALIVED_UNICAST_PEERS", "0.0.0.0", "is the unspecified address"),
        ("KEEPALIVED_UNICAST_PEERS", "255.255.255.255", "is the broadcast address"),
        ("KEEPALIVED_UNICAST_PEERS", "192.168.4.255", "broadcast address of 192.168.4.1/24 on eth0"),
        ("KEEPALIVED_UNICAST_PEERS", "127.0.0.2", "is a loopback address"),
        ("KEEPALIVED_VIRTUAL_IPS", "10.0.0.5", "this host has 10.0.0.5/16 on eth1"),
        ("KEEPALIVED_UNICAST_SRC_IP", "nope", "expected an IPv4 or IPv6 address"),
        ("KEEPVIP_METRICS_ADDR", "9650", "expected :PORT (every address) or ADDR:PORT"),
        ("KEEPVIP_METRICS_ADDR", ":0", "expected :PORT"),
        ("KEEPALIVED_COMMAND_LINE_ARGUMENTS", "--log-detail 'x", "unbalanced quotes"),
    ];
    for (var, value, want) in cases {
        let p = problems(&[(var, value)]);
        assert!(
            p.iter().any(|l| l.contains(want) && l.starts_with(var)),
            "{var}={value:?}: wanted {want:?}, got {p:?}"
        );
    }
}

#[test]
fn a_vip_that_is_a_host_address_is_refused_but_a_stale_vip_is_not() {
    let e = |v: &str| env(&[("KEEPALIVED_VIRTUAL_IPS", v)]);
    // The interface's primary address, even with its exact prefix.
    let p = from_env(&e("192.168.4.1/24"), &host()).unwrap_err();
    assert!(p[0].msg.contains("is the primary address of eth0") && p[0].msg.contains("PRIORITY=255"), "{p:?}");
    // Same address and prefix, not first: a VIP a crash left behind (removed at start).
    let mut h = host();
    h.interfaces[1].addrs.push("192.168.4.3/32".parse().unwrap());
    let c = from_env(&e("192.168.4.3"), &h).unwrap().config;
    assert_eq!(c.advert_source, Some("192.168.4.1".parse().unwrap()));
    // A stale VIP is never chosen as the advert source.
    h.interfaces[1].addrs.swap(0, 1);
    let p = from_env(&e("192.168.4.3"), &h).unwrap_err();
    assert!(p[0].msg.contains("primary address"), "{p:?}");
    // Listed first after the host renumbered, but the run before held it: ours, and the
    // advert still leaves from the host's address.
    h.ours = vec!["192.168.4.3".parse().unwrap()];
    let c = from_env(&e("192.168.4.3"), &h).unwrap().config;
    assert_eq!(c.advert_source, Some("192.168.4.1".parse().unwrap()));
}

#[test]
fn an_empty_password_is_vrrpv2_without_authentication() {
    let mut e = env(SEED);
    e.insert("KEEPALIVED_PASSWORD".into(), String::new());
    let l = from_env(&e, &host()).unwrap();
    assert_eq!(l.config.password, None);
    assert_eq!(l.config.to_json()["auth_type"], "NONE");
    assert!(l.info.iter().any(|i| i.contains("auth type 0")));
}

/// What osixia 2.0.20 + keepalived 2.2.7 do with the same environment (startup.sh's
/// rendering, run's decoding, keepalived's parser), as keepvip's effective values.
#[test]
fn osixia_semantics() {
    let cfg = |pairs: &[(&str, &str)]| {
        let mut e = env(SEED);
        e.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        from_env(&e, &host()).unwrap()
    };
    // Prefixes on single values.
    let l = cfg(&[
        ("KEEPALIVED_PRIORITY", "#PYTHON2BASH:199"),
        ("KEEPALIVED_ROUTER_ID", "#JSON2BASH:77"),
        ("KEEPALIVED_INTERFACE", "#JSON2BASH:\"eth0\""),
    ]);
    assert_eq!((l.config.priority, l.config.router_id, l.config.interface.as_str()), (199, 77, "eth0"));
    assert_eq!(cfg(&[("KEEPALIVED_STATE", "#PYTHON2BASH:'MASTER'")]).config.state, InitialState::Master);
    // State spelling: keepalived takes only upper case; anything else is BACKUP.
    for s in ["master", "Master", "LEADER"] {
        let l = cfg(&[("KEEPALIVED_STATE", s)]);
        assert_eq!(l.config.state, InitialState::Backup, "{s}");
        assert!(l.warnings.iter().any(|w| w.contains("starts as BACKUP")), "{s}: {:?}", l.warnings);
    }
    // nopreempt is dropped by keepalived at priority 255 and with state MASTER.
    assert!(!cfg(&[]).config.preempt);
    assert!(cfg(&[("KEEPALIVED_PRIORITY", "255")]).config.preempt);
    assert!(cfg(&[("KEEPALIVED_STATE", "MASTER")]).config.preempt);
    let l = cfg(&[("KEEPALIVED_STATE", "MASTER"), ("KEEPALIVED_PREEMPT", "false")]);
    assert!(l.config.preempt && l.warnings.iter().any(|w| w.contains("has no effect")));
    // Labels need not start with the interface name.
    let l = cfg(&[("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3 label vip1")]);
    assert_eq!(l.config.virtual_ips[0].label.as_deref(), Some("vip1"));
}

#[test]
fn a_quoting_mistake_is_named_once() {
    let p = problems(&[("KEEPALIVED_UNICAST_PEERS", "\"#PYTHON2BASH:['192.168.4.1', '192.168.4.2']\"")]);
    assert_eq!(p.len(), 1, "only the quotes, not the list read through them: {p:?}");
}

#[test]
fn all_problems_at_once() {
    let p =
        problems(&[("KEEPALIVED_PRIORITY", "300"), ("KEEPALIVED_ROUTER_ID", "x"), ("KEEPALIVED_VRRP_VERSION", "9")]);
    assert_eq!(p.len(), 3, "{p:?}");
}

#[test]
fn extensions_and_quirks() {
    let mut e = env(SEED);
    e.insert("KEEPALIVED_VRRP_VERSION".into(), "3".into());
    e.insert("KEEPALIVED_ADVERT_INT".into(), "0.1".into());
    e.insert("KEEPALIVED_PASSWORD".into(), "averylongpassword".into());
    e.insert("KEEPALIVED_PREEMPT".into(), "TRUE".into());
    e.insert("KEEPALIVED_PREEMPT_DELAY".into(), "2.5".into());
    e.insert("KEEPALIVED_COMMAND_LINE_ARGUMENTS".into(), "--log-detail --snmp".into());
    e.insert("KEEPALIVED_LOG_FORMAT".into(), "/x".into());
    let l = from_env(&e, &host()).unwrap();
    assert_eq!(l.config.advert_int_cs, 10);
    assert_eq!(l.config.password, None, "VRRPv3 has no authentication");
    assert!(l.config.preempt);
    assert_eq!(l.config.preempt_delay, Duration::from_millis(2500));
    assert!(!process_settings(&e).unwrap().dump_conf);
    let w = l.warnings.join("\n");
    let u = unknown_variables(&e).join("\n");
    assert!(u.contains("KEEPALIVED_LOG_FORMAT is not a variable keepvip reads; ignored"), "{u}");
    // A misspelling is refused, with every other problem, naming the variable meant.
    let mut typo = e.clone();
    typo.insert("KEEPALIVED_PRIORTY".into(), "1".into());
    let p = from_env(&typo, &host()).unwrap_err();
    assert!(
        p.iter().any(|p| p
            .to_string()
            .starts_with("KEEPALIVED_PRIORTY=\"1\": not a variable keepvip reads; did you mean KEEPALIVED_PRIORITY?")),
        "{p:?}"
    );
    assert!(process_settings(&typo).is_err(), "beside a keepalived.conf too");
    assert!(w.contains("'--snmp'"), "{w}");
    assert!(!w.contains("first 8"), "v3 has no password: {w}");

    e.insert("KEEPALIVED_VRRP_VERSION".into(), "2".into());
    e.insert("KEEPALIVED_ADVERT_INT".into(), "2".into());
    let l = from_env(&e, &host()).unwrap();
    assert!(l.warnings.join("\n").contains("only the first 8 are used"));
    assert_eq!(l.config.advert_int_cs, 200);
}

#[test]
fn interface_choice_without_eth0() {
    let mut h = host();
    h.interfaces.retain(|i| i.name != "eth0");
    h.interfaces.push(HostIface { index: 7, name: "ens3".into(), addrs: vec!["192.168.4.1/24".parse().unwrap()] });
    let l = from_env(&env(SEED), &h).unwrap();
    assert_eq!(l.config.interface, "ens3");
    assert!(l.info.iter().any(|i| i.contains("using ens3")));

    // No address of this host in the list: refused (the peers would drop its adverts)…
    let mut h = host();
    h.interfaces.retain(|i| i.name != "eth0");
    h.default_route_ifindex = Some(3);
    let p = from_env(&env(SEED), &h).unwrap_err();
    assert!(p[0].to_string().contains("add 10.0.0.5 to KEEPALIVED_UNICAST_PEERS on every node"), "{p:?}");
    // …unless the source check is off on every node: then the default route's interface.
    let mut e = env(SEED);
    e.insert("KEEPALIVED_CHECK_UNICAST_SRC".into(), "false".into());
    assert_eq!(from_env(&e, &h).unwrap().config.interface, "eth1");
    h.default_route_ifindex = None;
    let p = from_env(&e, &h).unwrap_err();
    assert!(p[0].to_string().contains("KEEPALIVED_INTERFACE"), "{p:?}");
}

#[test]
fn the_interface_holding_our_peer_address_wins_over_eth0_and_a_wrong_one_is_named() {
    // The seed's peers on eth1 of a two-card host (eth0 holds something else).
    let mut h = host();
    h.interfaces[1].addrs = vec!["10.9.0.1/24".parse().unwrap()];
    h.interfaces[2].addrs = vec!["192.168.4.1/24".parse().unwrap()];
    let l = from_env(&env(SEED), &h).unwrap();
    assert_eq!(l.config.interface, "eth1");
    assert!(l.info.iter().any(|i| i.contains("using eth1 (it holds this host's address")), "{:?}", l.info);
    let mut e = env(SEED);
    e.insert("KEEPALIVED_INTERFACE".into(), "eth0".into());
    let p = from_env(&e, &h).unwrap_err();
    assert_eq!(p[0].var, "KEEPALIVED_INTERFACE");
    assert!(
        p[0].msg.contains("(192.168.4.1) is on eth1, not on eth0") && p[0].msg.contains("KEEPALIVED_INTERFACE=eth1"),
        "{p:?}"
    );
    // eth0 holding our peer address stays silent, as osixia's default.
    let l = from_env(&env(SEED), &host()).unwrap();
    assert_eq!(l.config.interface, "eth0");
    assert!(!l.info.iter().any(|i| i.contains("KEEPALIVED_INTERFACE")), "{:?}", l.info);
}

#[test]
fn auto_ranks_hold_back_the_first_takeover() {
    let mut e = env(SEED);
    e.insert("KEEPALIVED_PRIORITY".into(), "auto".into());
    assert_eq!(from_env(&e, &host()).unwrap().config.first_hold, Duration::ZERO);
    e.insert("KEEPALIVED_UNICAST_PEERS".into(), "#PYTHON2BASH:['192.168.4.2', '192.168.4.1']".into());
    assert_eq!(from_env(&e, &host()).unwrap().config.first_hold, Duration::from_secs(1));
    assert_eq!(first_hold(50), Duration::from_secs(10));
    e.insert("KEEPALIVED_PRIORITY".into(), "190".into());
    assert_eq!(from_env(&e, &host()).unwrap().config.first_hold, Duration::ZERO, "only auto ranks");
}

#[test]
fn priority_auto_follows_peer_order() {
    let mut e = env(SEED);
    e.insert("KEEPALIVED_PRIORITY".into(), "auto".into());
    assert_eq!(from_env(&e, &host()).unwrap().config.priority, 200);
    e.insert("KEEPALIVED_UNICAST_PEERS".into(), "#JSON2BASH:[\"192.168.4.9\", \"192.168.4.1\"]".into());
    assert_eq!(from_env(&e, &host()).unwrap().config.priority, 190);
    e.insert("KEEPALIVED_UNICAST_PEERS".into(), "192.168.4.9".into());
    assert!(from_env(&e, &host()).unwrap_err()[0].msg.contains("auto needs"));
}

#[test]
fn auto_priorities_are_distinct_for_every_list_up_to_254() {
    for n in 1..=254 {
        let p: Vec<u8> = (0..n).map(|i| auto_priority(i, n).unwrap()).collect();
        assert!(p.windows(2).all(|w| w[0] > w[1]), "n={n}: {p:?}");
        assert!(p[0] <= 254 && p[n - 1] >= 1, "n={n}: {p:?}");
    }
    assert_eq!((0..3).map(|i| auto_priority(i, 3).unwrap()).collect::<Vec<_>>(), [200, 190, 180]);
    assert_eq!(auto_priority(63, 64), Some(200 - 3 * 63));
    assert_eq!(auto_priority(0, 255), None);
}

#[test]
fn no_peers_is_multicast() {
    let e = env(&[("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3")]);
    let c = from_env(&e, &host()).unwrap().config;
    assert!(c.multicast());
    assert_eq!(c.to_json()["mode"], "multicast");
    assert_eq!(c.priority, 150);
}

#[test]
fn centiseconds_are_exact() {
    assert_eq!(parse_centis("1"), Some(100));
    assert_eq!(parse_centis("0.1"), Some(10));
    assert_eq!(parse_centis(".05"), Some(5));
    assert_eq!(parse_centis("40.95"), Some(4095));
    assert_eq!(parse_centis("1.234"), None);
    assert_eq!(parse_centis("."), None);
    assert_eq!(parse_centis("1e3"), None);
}

#[test]
fn osixia_2_3_lists_and_notify_script_read_as_2_3_reads_them() {
    let old = from_env(&env(SEED), &host()).unwrap();
    let new = from_env(
        &env(&[
            ("KEEPALIVED_UNICAST_PEERS", "192.168.4.1  192.168.4.2"),
            ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3"),
            ("KEEPALIVED_PRIORITY", "200"),
        ]),
        &host(),
    )
    .unwrap();
    assert_eq!(old.config, new.config, "the same cluster in either image's form");
    assert!(
        new.info
            .iter()
            .any(|i| i
                .contains("KEEPALIVED_UNICAST_PEERS: a space-separated list (2 items), osixia/keepalived 2.3's form")),
        "{:?}",
        new.info
    );
    assert!(
        old.info
            .iter()
            .any(|i| i.contains("KEEPALIVED_UNICAST_PEERS: a #PYTHON2BASH list, osixia/keepalived 2.0.20's form")),
        "{:?}",
        old.info
    );
    // Two VIPs space-separated; one VIP with its options stays one VIP.
    let two = from_env(&env(&[("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3 192.168.4.4/24")]), &host()).unwrap();
    assert_eq!(two.config.virtual_ips.len(), 2);
    let one = from_env(&env(&[("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3 dev eth1")]), &host()).unwrap();
    assert_eq!(one.config.virtual_ips.len(), 1);
    // The notify script by 2.3's name; both names must agree.
    let n =
        from_env(&env(&[("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3"), ("KEEPALIVED_NOTIFY_SCRIPT", "/n.sh")]), &host())
            .unwrap();
    assert_eq!(n.config.notify, Some(vec!["/n.sh".to_string()]));
    let off = from_env(&env(&[("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3"), ("KEEPALIVED_NOTIFY_SCRIPT", "")]), &host())
        .unwrap();
    assert_eq!(off.config.notify, None);
    let both =
        [("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3"), ("KEEPALIVED_NOTIFY_SCRIPT", "/a"), ("KEEPALIVED_NOTIFY", "/b")];
    let e = from_env(&env(&both), &host()).unwrap_err();
    assert!(e.iter().any(|p| p.var == "KEEPALIVED_NOTIFY_SCRIPT" && p.msg.contains("set one of them")), "{e:?}");
}

fn swarm_host(nodes: &[(&str, &str, Option<&str>)]) -> HostView {
    use crate::config::swarm::{Membership, SwarmNode};
    let nodes = nodes
        .iter()
        .enumerate()
        .map(|(i, (id, addr, label))| SwarmNode {
            id: id.to_string(),
            hostname: format!("node-{id}"),
            addr: addr.parse().unwrap(),
            label: label.map(Into::into),
            created: format!("2026-12-0{}T00:00:00Z", i + 1),
        })
        .collect();
    HostView { swarm: Some(Membership { self_id: "a".into(), nodes }), ..host() }
}

const SWARM: &[(&str, &str)] = &[
    ("KEEPALIVED_UNICAST_PEERS", "swarm"),
    ("KEEPALIVED_VIRTUAL_IPS", "192.168.4.3"),
    ("KEEPALIVED_PRIORITY", "auto"),
];

#[test]
fn swarm_peers_and_auto_priorities_from_labels_and_join_order() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let h = swarm_host(&[("a", "192.168.4.1", None), ("b", "192.168.4.2", None), ("c", "192.168.4.9", Some("250"))]);
    let l = from_env(&env(SWARM), &h).unwrap();
    let c = &l.config;
    // Peers in address order; c's label ranks it first, and a joined before b.
    assert_eq!(c.unicast_peers, vec![ip("192.168.4.2"), ip("192.168.4.9")]);
    assert_eq!((c.priority, c.first_hold), (200, Duration::from_secs(1)));
    assert_eq!(c.advert_source, Some(ip("192.168.4.1")));
    assert!(c.swarm_peers && !c.multicast());
    assert!(l.info.iter().any(|i| i.contains("swarm node node-a is #2 of 3, priority 200")), "{:?}", l.info);
    // Our own label decides ours; a number is used as is.
    let h = swarm_host(&[("a", "192.168.4.1", Some("77")), ("b", "192.168.4.2", None)]);
    assert_eq!(from_env(&env(SWARM), &h).unwrap().config.priority, 77);
    let mut fixed = env(SWARM);
    fixed.insert("KEEPALIVED_PRIORITY".into(), "120".into());
    assert_eq!(from_env(&fixed, &h).unwrap().config.priority, 120);
}

#[test]
fn a_lone_swarm_node_stays_unicast_with_no_peer() {
    let l = from_env(&env(SWARM), &swarm_host(&[("a", "192.168.4.1", None)])).unwrap();
    assert!(l.config.unicast_peers.is_empty());
    assert!(l.config.swarm_peers && !l.config.multicast() && l.config.multicast_group().is_none());
}

#[test]
fn swarm_mistakes_are_named_with_the_fix() {
    let errs = |h: &HostView| from_env(&env(SWARM), h).unwrap_err();
    let e = errs(&swarm_host(&[("a", "192.168.4.1", Some("300")), ("b", "192.168.4.2", None)]));
    assert!(e[0].to_string().contains("docker node update --label-add keepvip.priority=N node-a"), "{e:?}");
    assert!(e[0].to_string().contains("1 to 254"), "{e:?}");
    let e = errs(&swarm_host(&[("a", "203.0.113.7", None), ("b", "192.168.4.2", None)]));
    assert!(e[0].to_string().contains("joined the swarm as 203.0.113.7"), "{e:?}");
    let e = errs(&swarm_host(&[("b", "192.168.4.2", None)]));
    assert!(e[0].to_string().contains("not among the swarm's managers"), "{e:?}");
    let e = errs(&host());
    assert!(e[0].to_string().starts_with("KEEPALIVED_UNICAST_PEERS"), "{e:?}");
}
