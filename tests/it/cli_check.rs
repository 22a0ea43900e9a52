//! The built binary with `--check` on the seed's environment and on bad ones, in a namespace
//! whose `eth0` stands in for the node's interface.

use crate::common::netns::Lab;
use crate::common::seed_env;

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--check prints one JSON object")
}

#[test]
fn seed_environment_primary_and_secondary() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    for prio in [200, 100] {
        let mut env = seed_env(&["192.168.4.1", "192.168.4.2"], "192.168.4.3", prio);
        // The seed's addresses are not this namespace's: its peers would never hear it.
        let out = h.run_keepvip(&env, &["--check"]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("add 198.18.0.1 to KEEPALIVED_UNICAST_PEERS on every node"), "{err}");
        // With the source check off (on every node) it runs as the seed says.
        env.push(("KEEPALIVED_CHECK_UNICAST_SRC".into(), "false".into()));
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

/// One bad value per row, on top of the seed's valid environment: (variable, value, what the
/// one error line must say after `VAR="value": `).
const BAD: &[(&str, &str, &str)] = &[
    ("KEEPALIVED_PRIORITY", "0", "expected an integer 1..255"),
    ("KEEPALIVED_PRIORITY", "high", "expected an integer 1..255"),
    ("KEEPALIVED_ROUTER_ID", "256", "expected an integer 1..255"),
    ("KEEPALIVED_PRIORITY", "#PYTHON2BASH:[200]", "expected one value, found a list"),
    ("KEEPALIVED_PASSWORD", "a|b", "an osixia node would not start"),
    ("KEEPALIVED_VIRTUAL_IPS", "#PYTHON2BASH:[]", "required"),
    ("KEEPALIVED_ADVERT_INT", "0.5", "expected whole seconds 1..255 for VRRPv2"),
    ("KEEPALIVED_ADVERT_INT", "1s", "expected whole seconds 1..255 for VRRPv2"),
    ("KEEPALIVED_VRRP_VERSION", "4", "expected 2 or 3"),
    ("KEEPALIVED_PREEMPT", "maybe", "expected true or false"),
    ("KEEPALIVED_PREEMPT_DELAY", "-1", "expected seconds 0..1000"),
    ("KEEPALIVED_V3_CHECKSUM_AS_V2", "2", "expected true or false"),
    ("KEEPALIVED_UNICAST_MIN_TTL", "0", "expected an integer 1..255"),
    ("KEEPALIVED_CHECK_UNICAST_SRC", "yes please", "expected true or false"),
    ("KEEPALIVED_UNICAST_SRC_IP", "198.18.0", "expected an IPv4 or IPv6 address"),
    ("KEEPALIVED_INTERFACE", "eth7", "no such interface; this host has: lo, eth0"),
    ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['198.18.0.300']", "is not an IPv4 or IPv6 address"),
    ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['198.18.0.2'", "not a Python list of strings"),
    ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:[198.18.0.2]", "write #PYTHON2BASH:['198.18.0.2']"),
    ("KEEPALIVED_UNICAST_PEERS", "#JSON2BASH:[\"198.18.0.2\",]", "invalid JSON"),
    ("KEEPALIVED_UNICAST_PEERS", "198.18.0.2, 198.18.0.3", "#PYTHON2BASH:['198.18.0.2', '198.18.0.3']"),
    ("KEEPALIVED_UNICAST_PEERS", "#PYTHON2BASH:['198.18.0.1', '224.0.0.18']", "224.0.0.18 is a multicast address"),
    ("KEEPALIVED_UNICAST_PEERS", "0.0.0.0", "0.0.0.0 is the unspecified address"),
    ("KEEPALIVED_UNICAST_PEERS", "255.255.255.255", "255.255.255.255 is the broadcast address"),
    ("KEEPALIVED_UNICAST_PEERS", "198.18.0.255", "is the broadcast address of 198.18.0.1/24 on eth0"),
    ("KEEPALIVED_VIRTUAL_IPS", "", "required"),
    ("KEEPALIVED_VIRTUAL_IPS", "198.18.0.300", "is not an IPv4 or IPv6 address"),
    ("KEEPALIVED_VIRTUAL_IPS", "198.18.0.100/33", "expected 1..32"),
    ("KEEPALIVED_VIRTUAL_IPS", "198.18.0.100/x", "expected 1..32"),
    ("KEEPALIVED_VIRTUAL_IPS", "198.18.0.100 brd 198.18.0.255", "unknown keyword 'brd'"),
    ("KEEPALIVED_VIRTUAL_IPS", "198.18.0.100 label", "keyword 'label' needs a value"),
    ("KEEPALIVED_VIRTUAL_IPS", "198.18.0.100 dev eth7", "no interface 'eth7'"),
    ("KEEPALIVED_VIRTUAL_IPS", "#PYTHON2BASH:['198.18.0.100', '198.18.0.100']", "198.18.0.100 is listed twice"),
    ("KEEPALIVED_VIRTUAL_IPS", "198.18.0.2", "198.18.0.2 is also a unicast peer"),
    ("KEEPALIVED_VIRTUAL_IPS", "224.0.0.18", "cannot be a virtual IP"),
    ("KEEPALIVED_VIRTUAL_IPS", "#JSON2BASH:{\"a\": 1}", "expected a JSON array of strings"),
    // The first hour's mistakes: each would have run with a default or split the cluster.
    ("KEEPALIVED_UNICAST_PEER", "#PYTHON2BASH:['198.18.0.1', '198.18.0.2']", "did you mean KEEPALIVED_UNICAST_PEERS?"),
    ("KEEPALIVED_PRIORTY", "100", "did you mean KEEPALIVED_PRIORITY?"),
    (
        "KEEPALIVED_UNICAST_PEERS",
        "\"#PYTHON2BASH:['198.18.0.1', '198.18.0.2']\"",
        "the line should read KEEPALIVED_UNICAST_PEERS=#PYTHON2BASH:['198.18.0.1', '198.18.0.2']",
    ),
    ("KEEPALIVED_UNICAST_PEERS", "PYTHON2BASH:['198.18.0.1', '198.18.0.2']", "the prefix needs its '#'"),
    (
        "KEEPALIVED_UNICAST_PEERS",
        "#PYTHON2BASH:['198.18.0.2', '198.18.0.3']",
        "add 198.18.0.1 to KEEPALIVED_UNICAST_PEERS on every node",
    ),
];

/// Misspellings in any case or without a prefix letter are errors naming the variable meant;
/// a name far from every variable is only a warning.
#[test]
fn a_misspelt_variable_is_refused_and_an_unrelated_one_is_named() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    for (typo, meant) in [("KEEPALIVE_PRIORITY", "KEEPALIVED_PRIORITY"), ("keepalived_priority", "KEEPALIVED_PRIORITY")]
    {
        let mut env = seed_env(&["198.18.0.1", "198.18.0.2"], "198.18.0.100", 200);
        env.push((typo.to_string(), "100".to_string()));
        let out = h.run_keepvip(&env, &["--check"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{typo}: {err}");
        let line = format!("keepvip: {typo}=\"100\": not a variable keepvip reads; ");
        assert!(err.contains(&line) && err.contains(&format!("did you mean {meant}?")), "{typo}: {err}");
    }
    let mut env = seed_env(&["198.18.0.1", "198.18.0.2"], "198.18.0.100", 200);
    env.push(("KEEPALIVED_LOG_FORMAT".into(), "/x".into()));
    let out = h.run_keepvip(&env, &["--check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("KEEPALIVED_LOG_FORMAT is not a variable keepvip reads; ignored"), "{err}");
}

/// The recipe's two-address list given to a third node: it would be heard by nobody and hold
/// the VIP beside the master. Refused at start, naming the address to add.
#[test]
fn a_node_missing_from_its_own_peer_list_is_refused() {
    let lab = Lab::new(3);
    let h = lab.host(2);
    let env = seed_env(&["198.18.0.1", "198.18.0.2"], "198.18.0.100", 100);
    let mut p = h.spawn_keepvip(&env);
    let code = p.wait_exit(std::time::Duration::from_secs(5)).and_then(|s| s.code());
    let log = p.log();
    assert_eq!(code, Some(2), "{log}");
    assert!(log.contains("add 198.18.0.3 to KEEPALIVED_UNICAST_PEERS on every node"), "{log}");
    assert!(!h.has_addr("198.18.0.100"));
    // The explicit opt-out runs.
    let mut env = env.clone();
    env.push(("KEEPALIVED_CHECK_UNICAST_SRC".into(), "false".into()));
    assert!(h.run_keepvip(&env, &["--check"]).status.success());
}

#[test]
fn every_bad_value_exits_2_with_one_line_naming_it_and_touches_nothing() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let before = h.addrs();
    for (var, value, want) in BAD {
        let mut env = seed_env(&["198.18.0.1", "198.18.0.2"], "198.18.0.100", 200);
        env.retain(|(k, _)| k != var);
        env.push((var.to_string(), value.to_string()));
        // Both a check and a real start: neither may touch the namespace.
        for args in [&["--check"][..], &[][..]] {
            let out = h.run_keepvip(&env, args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{var}={value:?} {args:?}: {err}");
            let problems: Vec<&str> = err.lines().filter(|l| l.starts_with("keepvip: KEEPALIVED_")).collect();
            assert_eq!(problems.len(), 1, "{var}={value:?}: one line per problem:\n{err}");
            let head = format!("keepvip: {var}={value:?}: ");
            assert!(problems[0].starts_with(&head), "{var}={value:?}: {:?} should start {head:?}", problems[0]);
            assert!(problems[0].contains(want), "{var}={value:?}: {:?} should say {want:?}", problems[0]);
            assert!(err.contains("1 configuration problem(s); nothing was changed"), "{err}");
            assert!(!err.contains("panicked"), "{err}");
            assert!(out.stdout.is_empty());
        }
    }
    assert_eq!(h.addrs(), before, "a bad configuration must not touch addresses");
}

#[test]
fn a_typo_is_named_even_when_the_configuration_fails() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let env = vec![("KEEPALIVED_VIRTUAL_IP".to_string(), "198.18.0.100".to_string())];
    let out = h.run_keepvip(&env, &["--check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "KEEPALIVED_VIRTUAL_IP=\"198.18.0.100\": not a variable keepvip reads; did you mean KEEPALIVED_VIRTUAL_IPS?"
        ),
        "{err}"
    );
    assert!(err.contains("KEEPALIVED_VIRTUAL_IPS=\"\": required"), "{err}");
}

#[test]
fn a_notify_script_this_image_cannot_run_is_named_at_start() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let script = lab.dir.join("notify.sh");
    std::fs::write(&script, "#!/nonexistent/bash\necho $@\n").unwrap();
    let mut env = seed_env(&["198.18.0.1", "198.18.0.2"], "198.18.0.100", 200);
    env.push(("KEEPALIVED_NOTIFY".into(), script.display().to_string()));
    let out = h.run_keepvip(&env, &["--check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("needs /nonexistent/bash, which this image does not have, so it will not run"), "{err}");
}

#[test]
fn container_arguments_and_help() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let env = seed_env(&["198.18.0.1", "198.18.0.2"], "198.18.0.100", 200);
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
