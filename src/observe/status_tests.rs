//! The state file: writing, reading, `--health` and the `--status` table.

use super::*;

#[test]
fn table_for_people() {
    let s = InstanceStatus::from_json(&serde_json::json!({
        "state": "BACKUP", "priority": 100, "master": "198.18.0.1", "interface": "eth0",
        "source": "198.18.0.2", "virtual_ips": ["198.18.0.100/32"], "peers": ["198.18.0.1"],
        "adverts_sent": 0, "adverts_received": 42, "send_errors": 0, "dropped": {"ttl": 2},
        "last_transition": "INIT -> BACKUP: start-up", "last_transition_unix": 1000.0, "fault": null, "updated_unix": 1183.0,
    }));
    let t = table(&s, 1185.0);
    for want in [
        "state       BACKUP for 3 min\n",
        "updated     2 s ago\n",
        "master      198.18.0.1\n",
        "VIPs        198.18.0.100/32\n",
        "adverts     sent 0, received 42, send errors 0\n",
        "dropped     ttl 2\n",
        "last change INIT -> BACKUP: start-up\n",
    ] {
        assert!(t.contains(want), "{want:?} in\n{t}");
    }
}

#[test]
fn swarm_peers_in_the_table_and_the_json() {
    let s = InstanceStatus {
        state: "MASTER".into(),
        peers: vec!["198.18.0.2".into()],
        peers_from: Some("swarm".into()),
        peers_changed_unix: Some(1000.0),
        peer_nodes: vec!["198.18.0.1 n1 (priority 200, this node)".into(), "198.18.0.2 n2 (priority 190)".into()],
        peers_problem: Some("the Docker engine at /var/run/docker.sock: GET /events: refused".into()),
        updated_unix: 1090.0,
        ..InstanceStatus::default()
    };
    let t = table(&s, 1090.0);
    let want = "peers       from the swarm, changed 90 s ago; kept, as the Docker engine at /var/run/docker.sock: GET /events: refused\n            198.18.0.1 n1 (priority 200, this node)\n            198.18.0.2 n2 (priority 190)\nadverts";
    assert!(t.contains(want), "{t}");
    assert_eq!(InstanceStatus::from_json(&s.to_json()), s);
}

#[test]
fn rewrites_in_place_and_reads_back() {
    let dir = std::env::temp_dir().join(format!("kvstatus{}", std::process::id()));
    let path = dir.join("sub/state.json");
    let mut w = Writer::new(&path);
    let one = |state: &str, name: &str| StateFile {
        instances: vec![InstanceStatus { state: state.into(), name: name.into(), ..InstanceStatus::default() }],
    };
    w.write(&one("BACKUP", &"x".repeat(100))).unwrap();
    w.write(&one("MASTER", "VI_1")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["state"], "MASTER", "no tail of the longer text: {text}");
    assert_eq!(StateFile::read(&path).unwrap(), one("MASTER", "VI_1"));
    // Another process (the previous daemon's last write as this one starts) leaves a
    // longer text: our next, shorter one is still the whole file.
    Writer::new(&path).write(&one("STOP", &"y".repeat(200))).unwrap();
    w.write(&one("BACKUP", "VI_1")).unwrap();
    assert_eq!(StateFile::read(&path).unwrap(), one("BACKUP", "VI_1"));
    // Several instances: all of them under `instances`, the first also at the top.
    let two =
        StateFile { instances: vec![one("MASTER", "A").instances[0].clone(), one("BACKUP", "B").instances[0].clone()] };
    w.write(&two).unwrap();
    assert_eq!(StateFile::read(&path).unwrap(), two);
    assert_eq!(read(&path).unwrap()["name"], "A");
    // A file that stays torn is an error after the retries, not a panic or a hang.
    std::fs::write(&path, r#"{"state":"MAS"#).unwrap();
    assert!(format!("{:#}", read(&path).unwrap_err()).contains("parsing"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn between_rewrites_a_touch_keeps_it_healthy() {
    let dir = std::env::temp_dir().join(format!("kvtouch{}", std::process::id()));
    let path = dir.join("state.json");
    let mut w = Writer::new(&path);
    assert!(w.touch().is_err(), "nothing written yet: a rewrite is asked for");
    // Counters rewritten long ago, by a process that runs (init: not this binary, so
    // `load_current` must not signal it).
    let old = InstanceStatus {
        pid: 1,
        state: "BACKUP".into(),
        interface_present: true,
        updated_unix: now_unix() - 10.0 * REFRESH.as_secs_f64(),
        ..InstanceStatus::default()
    };
    w.write(&StateFile { instances: vec![old] }).unwrap();
    let stale = SystemTime::now() - 4 * REFRESH;
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(stale).unwrap();
    let e = format!("{:#}", health(&path).unwrap_err());
    assert!(e.contains("has not refreshed"), "{e}");
    w.touch().unwrap();
    assert_eq!(health(&path).unwrap(), "BACKUP ");
    // `--status` of a file whose pid is not this binary's daemon: read as it is.
    assert_eq!(load_current(&path).unwrap(), StateFile::read(&path).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}
