//! The built binary with `--check` on the seed's environment and on bad ones, in a namespace
//! whose `eth0` stands in for the node's interface.

mod common;

use common::netns::Lab;
use common::seed_env;

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--check prints one JSON object")
}

#[test]
fn seed_environment_primary_and_secondary() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    for prio in [200, 100] {
        let env = seed_env(&["192.168.4.1", "192.168.4.2"], "192.168.4.3", prio);
        let j = json(&h.run_keepvip(&env, &["--check"]));
        assert_eq!(j["interface"], "eth0");
        assert_eq!(j["priority"], prio);
        assert_eq!(j["router_id"], 51);
        assert_eq!(j["state"], "BACKUP");
        assert_eq!(j["preempt"], false);
        assert_eq!(j["advert_int"], 1.0);
        assert_eq!(j["vrrp_version"], 2);
        assert_eq!(j["auth_type"], "PASS");
        assert_eq!(j["password_set"], true);
        assert_eq!(j["mode"], "unicast");
        // The namespace owns neither seed address, so both stay peers.
        assert_eq!(j["unicast_peers"], serde_json::json!(["192.168.4.1", "192.168.4.2"]));
        assert_eq!(j["unicast_src_ip"], "198.18.0.1");
        assert_eq!(j["virtual_ips"][0]["address"], "192.168.4.3");
        assert_eq!(j["virtual_ips"][0]["prefix"], 32);
        assert_eq!(j["virtual_ips"][0]["dev"], "eth0");
        assert_eq!(j["notify"], "/container/service/keepalived/assets/notify.sh");
        assert!(!String::from_utf8_lossy(&h.run_keepvip(&env, &["--check"]).stdout).contains("d0cker"));
    }
}

#[test]
fn own_address_leaves_the_peer_list() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let env = seed_env(&["198.18.0.1", "198.18.0.2"], "198.18.0.100", 200);
    let out = h.run_keepvip(&env, &["--check"]);
    let j = json(&out);
    assert_eq!(j["unicast_peers"], serde_json::json!(["198.18.0.2"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("198.18.0.1 is this host's own address"));
}

#[test]
fn bad_environment_exits_2_naming_each_variable_and_touches_nothing() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let before = h.addrs();
    let mut env = seed_env(&["198.18.0.1", "198.18.0.2"], "198.18.0.100", 300);
    env.push(("KEEPALIVED_UNICAST_PEERS".into(), "#PYTHON2BASH:[198.18.0.1, 198.18.0.2]".into()));
    env.push(("KEEPALIVED_INTERFACE".into(), "eth9".into()));
    env.push(("KEEPALIVED_VIRTUAL_IPS".into(), "198.18.0.100/33".into()));
    for args in [&["--check"][..], &[][..]] {
        let out = h.run_keepvip(&env, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        for want in [
            r#"KEEPALIVED_PRIORITY="300": expected an integer 1..255"#,
            "write #PYTHON2BASH:['198.18.0.1', '198.18.0.2']",
            r#"KEEPALIVED_INTERFACE="eth9": no such interface; this host has: lo, eth0"#,
            "expected 1..32",
        ] {
            assert!(err.contains(want), "{want:?} missing from:\n{err}");
        }
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(h.addrs(), before, "a bad configuration must not touch addresses");
}

#[test]
fn container_arguments_and_help() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let env = seed_env(&["198.18.0.2"], "198.18.0.100", 200);
    let j = json(&h.run_keepvip(&env, &["--loglevel", "debug", "--copy-service", "--check"]));
    assert_eq!(j["priority"], 200);
    let out = h.run_keepvip(&env, &["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument \"--bogus\""));
    let out = h.run_keepvip(&[], &["--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("KEEPALIVED_"));
    let out = h.run_keepvip(&[], &["--version"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("keepvip "));
}
