//! The environment parsers: osixia's list forms, VIP items and the whole configuration.
//! Never panics; a VIP item that parses prints back to the same item.
#![no_main]

use std::collections::HashMap;

use keepvip::config::{from_env, list, vip, yaml, HostIface, HostView};
use keepvip::config::swarm::{Membership, SwarmNode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // osixia's environment files: any text is a value list or an error naming a line.
    if let Ok(pairs) = yaml::parse(text) {
        for (_, v) in pairs {
            let _ = v.to_env();
        }
    }
    let _ = list::scalar(text);
    if let Ok(items) = list::items(text) {
        for item in &items {
            if let Ok(v) = vip::parse(item) {
                let again = vip::parse(&v.to_string()).expect("a printed VIP parses");
                assert_eq!(v, again);
            }
        }
    }
    let host = HostView {
        interfaces: vec![HostIface { index: 2, name: "eth0".into(), addrs: vec!["198.18.0.1/24".parse().unwrap()] }],
        default_route_ifindex: None,
        ours: vec![],
        // `swarm` in the peer list reads this membership (a label from the input too).
        swarm: Some(Membership {
            self_id: "a".into(),
            nodes: vec![SwarmNode {
                id: "a".into(),
                hostname: "a".into(),
                addr: "198.18.0.1".parse().unwrap(),
                label: Some(text.into()),
                created: String::new(),
            }],
        }),
    };
    // The same text in each variable that takes a list or free text.
    for var in ["KEEPALIVED_VIRTUAL_IPS", "KEEPALIVED_UNICAST_PEERS", "KEEPALIVED_ADVERT_INT", "KEEPALIVED_PRIORITY", "KEEPALIVED_PASSWORD"] {
        let mut env: HashMap<String, String> = HashMap::new();
        env.insert("KEEPALIVED_VIRTUAL_IPS".into(), "198.18.0.100".into());
        env.insert(var.into(), text.into());
        if let Ok(loaded) = from_env(&env, &host) {
            let _ = loaded.config.to_json();
        }
    }
});
