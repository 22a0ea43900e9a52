//! One rule book: the same instance written as variables and as a keepalived.conf (with
//! the settings osixia's template renders) gives the same `Config`.

use std::collections::HashMap;
use std::path::Path;

use super::*;
use crate::config::conf::{from_stmts, lex};
use crate::config::{from_env, HostIface, Origin};

fn host() -> HostView {
    HostView {
        interfaces: vec![
            HostIface { index: 1, name: "lo".into(), addrs: vec!["127.0.0.1/8".parse().unwrap()] },
            HostIface {
                index: 2,
                name: "eth0".into(),
                addrs: vec!["198.18.0.1/24".parse().unwrap(), "fe80::1/64".parse().unwrap()],
            },
            HostIface { index: 3, name: "eth1".into(), addrs: vec!["198.18.1.1/24".parse().unwrap()] },
        ],
        default_route_ifindex: Some(2),
        ours: vec![],
        swarm: None,
    }
}

const NOTIFY: &str = "  notify /container/service/keepalived/assets/notify.sh\n";

/// (variables, the vrrp_instance body of the equivalent file).
fn cases() -> Vec<(Vec<(&'static str, &'static str)>, String)> {
    let v2 = "  authentication {\n    auth_type PASS\n    auth_pass d0cker\n  }\n  check_unicast_src\n";
    vec![
        // The seed: unicast, osixia's nopreempt, the host's own address in the list.
        (
            vec![
                ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['198.18.0.1', '198.18.0.2']"),
                ("KEEPALIVED_VIRTUAL_IPS", "198.18.0.100"),
                ("KEEPALIVED_PRIORITY", "200"),
            ],
            format!("  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 200\n  nopreempt\n  advert_int 1\n{v2}  unicast_peer {{\n    198.18.0.1\n    198.18.0.2\n  }}\n  virtual_ipaddress {{\n    198.18.0.100\n  }}\n{NOTIFY}"),
        ),
        // Multicast VRRPv3 with sub-second adverts and preemption after a delay.
        (
            vec![
                ("KEEPALIVED_VIRTUAL_IPS", "#PYTHON2BASH:['198.18.0.100/24 dev eth0 label eth0:vip', '198.18.1.100']"),
                ("KEEPALIVED_VRRP_VERSION", "3"),
                ("KEEPALIVED_ADVERT_INT", "0.5"),
                ("KEEPALIVED_PREEMPT", "true"),
                ("KEEPALIVED_PREEMPT_DELAY", "2.5"),
                ("KEEPALIVED_ROUTER_ID", "7"),
                ("KEEPALIVED_PRIORITY", "100"),
                ("KEEPALIVED_CHECK_UNICAST_SRC", "false"),
                ("KEEPALIVED_NOTIFY", ""),
            ],
            "  interface eth0\n  virtual_router_id 7\n  priority 100\n  version 3\n  advert_int 0.5\n  preempt_delay 2.5\n  virtual_ipaddress {\n    198.18.0.100/24 dev eth0 label eth0:vip\n    198.18.1.100\n  }\n".into(),
        ),
        // nopreempt cleared by state MASTER (both say so), a tracked interface, a source.
        (
            vec![
                ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['198.18.0.1', '198.18.0.2']"),
                ("KEEPALIVED_VIRTUAL_IPS", "198.18.0.100"),
                ("KEEPALIVED_STATE", "MASTER"),
                ("KEEPALIVED_UNICAST_SRC_IP", "198.18.0.1"),
                ("KEEPALIVED_TRACK_INTERFACES", "eth1"),
                ("KEEPALIVED_UNICAST_MIN_TTL", "64"),
            ],
            format!("  state MASTER\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  nopreempt\n{v2}  unicast_src_ip 198.18.0.1\n  unicast_peer {{\n    198.18.0.1\n    198.18.0.2 min_ttl 64\n  }}\n  track_interface {{\n    eth1\n  }}\n  virtual_ipaddress {{\n    198.18.0.100\n  }}\n{NOTIFY}"),
        ),
        // IPv6: VRRPv3 from the link-local address, unicast hop limit 64 by default.
        (
            vec![("KEEPALIVED_VIRTUAL_IPS", "2001:db8::100"), ("KEEPALIVED_NOTIFY", ""), ("KEEPALIVED_CHECK_UNICAST_SRC", "0")],
            "  interface eth0\n  virtual_router_id 51\n  priority 150\n  nopreempt\n  version 3\n  virtual_ipaddress {\n    2001:db8::100\n  }\n".into(),
        ),
    ]
}

#[test]
fn the_same_instance_from_variables_and_from_a_file_is_the_same_config() {
    for (vars, body) in cases() {
        let env: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let from_vars = from_env(&env, &host()).unwrap_or_else(|e| panic!("{vars:?}: {e:?}")).config;
        let text = format!("vrrp_instance VI_1 {{\n{body}}}\n");
        let stmts = lex::parse_str("k.conf", &text).unwrap();
        let loaded = from_stmts(Path::new("k.conf"), &stmts, &host()).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        // The variables' one rule of their own: the same peer list on every node, so adverts
        // must come from this host's address in it.
        let listed: Vec<std::net::IpAddr> =
            if from_vars.unicast_peers.is_empty() { vec![] } else { vec!["198.18.0.1".parse().unwrap()] };
        assert_eq!(from_vars.listed_sources, listed, "{vars:?}");
        // The variables take the source from the peer list; a file from the interface.
        let from_file = Config {
            origin: Origin::Environment,
            listed_sources: listed,
            advert_source_set: from_vars.advert_source_set,
            ..loaded.instances[0].clone()
        };
        assert_eq!(from_vars, from_file, "\n{vars:?}\n{text}");
    }
}

#[test]
fn a_shared_rule_names_the_variable_or_the_line() {
    let env: HashMap<String, String> = [("KEEPALIVED_VIRTUAL_IPS", "198.18.0.100"), ("KEEPALIVED_ADVERT_INT", "0.5")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let e = from_env(&env, &host()).unwrap_err();
    assert_eq!(e[0].to_string(), "KEEPALIVED_ADVERT_INT=\"0.5\": expected whole seconds 1..255 for VRRPv2 (set KEEPALIVED_VRRP_VERSION=3 for sub-second adverts)");
    let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n advert_int 0.5\n virtual_ipaddress {\n  198.18.0.100\n }\n}\n";
    let e = from_stmts(Path::new("k.conf"), &lex::parse_str("k.conf", text).unwrap(), &host()).unwrap_err();
    assert_eq!(
        e[0].to_string(),
        "k.conf:4: advert_int '0.5': expected whole seconds 1..255 for VRRPv2 (set version 3 for sub-second adverts)"
    );
}
