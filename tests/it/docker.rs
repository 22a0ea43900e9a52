//! The product is an image: build it with no base image, check its size, and run the seed's
//! cluster as containers on a private Docker network.

use std::time::Duration;

use crate::common::docker::{docker, must, repo_file, DockerLab};
use crate::common::wait_until;

const CAPS: [&str; 3] = ["--cap-add=NET_ADMIN", "--cap-add=NET_BROADCAST", "--cap-add=NET_RAW"];

fn seed_args(peers: &[String], vip: &str, prio: u32) -> Vec<String> {
    let list: Vec<String> = peers.iter().map(|p| format!("'{p}'")).collect();
    vec![
        "-e".into(),
        format!("KEEPALIVED_UNICAST_PEERS=#PYTHON2BASH:[{}]", list.join(", ")),
        "-e".into(),
        format!("KEEPALIVED_VIRTUAL_IPS={vip}"),
        "-e".into(),
        format!("KEEPALIVED_PRIORITY={prio}"),
    ]
}

#[test]
fn image_is_small_and_check_prints_the_seed_configuration() {
    let lab = DockerLab::new();
    let size: u64 = must(&["image", "inspect", "-f", "{{.Size}}", &lab.image]).parse().unwrap();
    eprintln!("image size {size} bytes");
    assert!(size <= 3 * 1024 * 1024, "image is {size} bytes, over 3 MiB");
    // The seed's exact -e values, on a container that is neither of the seed's addresses:
    // refused, naming the address to add (its peers would never hear it).
    let ip = lab.ip(11);
    let check = |peers: &str| {
        let peers = format!("KEEPALIVED_UNICAST_PEERS={peers}");
        let mut args = vec!["run", "--rm", "--network", &lab.network, "--ip", &ip];
        for e in [peers.as_str(), "KEEPALIVED_VIRTUAL_IPS=192.168.4.3", "KEEPALIVED_PRIORITY=200"] {
            args.extend(["-e", e]);
        }
        args.extend([lab.image.as_str(), "--loglevel", "debug", "--check"]);
        docker(&args)
    };
    let o = check("#PYTHON2BASH:['192.168.4.1', '192.168.4.2']");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("add {ip} to KEEPALIVED_UNICAST_PEERS on every node")), "{err}");
    // The seed's shape with this host's address in the list.
    let o = check(&format!("#PYTHON2BASH:['{ip}', '192.168.4.2']"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["priority"], 200);
    assert_eq!(j["interface"], "eth0");
    assert_eq!(j["virtual_ips"][0]["address"], "192.168.4.3");
    assert_eq!(j["unicast_peers"], serde_json::json!(["192.168.4.2"]));
    assert_eq!(j["unicast_src_ip"], ip.as_str());
    let labels =
        must(&["image", "inspect", "-f", "{{json .Config.Labels}} {{json .Config.Healthcheck.Test}}", &lab.image]);
    assert!(labels.contains("org.opencontainers.image.title") && labels.contains("--health"), "{labels}");
}

#[test]
fn seed_cluster_in_containers_fails_over_restarts_clean_and_hands_over() {
    let mut lab = DockerLab::new();
    let (ip_a, ip_b, vip) = (lab.ip(11), lab.ip(12), lab.ip(100));
    let peers = [ip_a.clone(), ip_b.clone()];
    let node_a = lab.holder("node-a", &ip_a);
    let node_b = lab.holder("node-b", &ip_b);
    let client = lab.holder("client", &lab.ip(50));
    let image = lab.image.clone();
    let start = |lab: &mut DockerLab, what: &str, node: &str, prio: u32| {
        let net = format!("container:{node}");
        let mut args: Vec<String> = vec!["--restart=always".into()];
        args.extend(CAPS.iter().map(|s| s.to_string()));
        args.extend(["--network".into(), net]);
        args.extend(seed_args(&peers, &vip, prio));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        lab.run(what, &a, &image, &[])
    };
    let kv_a = start(&mut lab, "kv-a", &node_a, 200);
    let _kv_b = start(&mut lab, "kv-b", &node_b, 100);
    assert!(wait_until(Duration::from_secs(6), || lab.has_addr(&node_a, &vip)), "VIP never on the 200 node");
    assert!(!lab.has_addr(&node_b, &vip));

    // docker kill → the backup takes over within Master_Down_Interval (+ slack).
    must(&["update", "--restart=no", &kv_a]);
    must(&["kill", &kv_a]);
    assert!(wait_until(Duration::from_millis(4100), || lab.has_addr(&node_b, &vip)), "no takeover after docker kill");
    // docker start → the stale VIP goes, no duplicate; nopreempt keeps B master.
    must(&["start", &kv_a]);
    assert!(wait_until(Duration::from_secs(5), || !lab.has_addr(&node_a, &vip)), "stale VIP not removed");
    assert!(!wait_until(Duration::from_secs(4), || lab.has_addr(&node_a, &vip)));
    assert!(lab.logs(&kv_a).contains("is still on"), "the VIP found at start was not looked at");

    // docker stop the master (B) while the client pings every 10 ms.
    let kv_b = lab.name("kv-b");
    let ping = lab.run(
        "ping",
        &["--network", &format!("container:{client}")],
        &lab.client_image.clone(),
        &["ping", "-i", "0.01", &vip],
    );
    let replies = |lab: &DockerLab| -> Vec<u32> {
        lab.logs(&ping)
            .lines()
            .filter_map(|l| l.split("seq=").nth(1)?.split_whitespace().next()?.parse().ok())
            .collect()
    };
    assert!(wait_until(Duration::from_secs(5), || replies(&lab).len() >= 50));
    must(&["stop", &kv_b]);
    assert_eq!(lab.exit_code(&kv_b), "0", "{}", lab.logs(&kv_b));
    assert!(lab.has_addr(&node_a, &vip) && !lab.has_addr(&node_b, &vip));
    let n = replies(&lab).len();
    assert!(wait_until(Duration::from_secs(5), || replies(&lab).len() >= n + 50));
    let mut seqs = replies(&lab);
    seqs.sort_unstable();
    seqs.dedup();
    let lost: u32 = seqs.windows(2).map(|w| w[1] - w[0] - 1).sum();
    assert!(lost <= 2, "lost {lost} pings during docker stop");
}

#[test]
fn deployment_files_validate() {
    // The compose file as a user runs it: beside their .env (the example plus any variable).
    let dir = std::env::temp_dir().join(format!("kvcompose{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(repo_file("docker-compose.yml"), dir.join("docker-compose.yml")).unwrap();
    let example = std::fs::read_to_string(repo_file(".env.example")).unwrap();
    std::fs::write(dir.join(".env"), example + "KEEPALIVED_ROUTER_ID=77\nKEEPALIVED_VRRP_VERSION=3\n").unwrap();
    // Compose v2 (`docker compose`) where the plugin is installed, else v1 (`docker-compose`):
    // the README gives both spellings.
    let v2 = docker(&["compose", "version"]).status.success();
    let (cmd, first): (&str, &[&str]) = if v2 { ("docker", &["compose"]) } else { ("docker-compose", &[]) };
    eprintln!("compose: using {}", if v2 { "docker compose (v2)" } else { "docker-compose (v1)" });
    let o = std::process::Command::new(cmd)
        .args(first)
        .args(["-f", dir.join("docker-compose.yml").to_str().unwrap(), "config"])
        .output()
        .expect("docker compose or docker-compose");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // v2 quotes values with ", v1 with '.
    let out = String::from_utf8_lossy(&o.stdout).replace('"', "'");
    assert!(out.contains("network_mode: host") && out.contains("NET_RAW") && out.contains("192.168.4.3"), "{out}");
    // Every variable of .env reaches the container, not only the ones the file names.
    for want in ["KEEPALIVED_ROUTER_ID: '77'", "KEEPALIVED_VRRP_VERSION: '3'", "KEEPALIVED_PRIORITY: '200'"] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    let o = docker(&["stack", "config", "-c", &repo_file("deploy/stack.yml")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("mode: global"));
    // Kubernetes: a schema-free syntax check of the YAML.
    let o = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert d['kind'] == 'DaemonSet'; assert d['spec']['template']['spec']['hostNetwork'] is True", &repo_file("deploy/daemonset.yaml")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn net_admin_and_net_raw_suffice_and_a_missing_capability_is_named() {
    let mut lab = DockerLab::new();
    let (ip_a, vip) = (lab.ip(11), lab.ip(100));
    let node = lab.holder("node", &ip_a);
    let client = lab.holder("client", &lab.ip(50));
    let env: Vec<String> = seed_args(&[ip_a.clone(), lab.ip(12)], &vip, 255);
    let image = lab.image.clone();
    let net = format!("container:{node}");
    let with_caps = |caps: &[&str]| {
        let mut a: Vec<String> = vec!["--cap-drop=ALL".into()];
        a.extend(caps.iter().map(|c| format!("--cap-add={c}")));
        a.extend(["--network".into(), net.clone()]);
        a.extend(env.iter().cloned());
        a
    };
    // Without one of the two: exit 1 at once, naming it and the flag, nothing changed.
    for (caps, missing) in [(&["NET_ADMIN"][..], "NET_RAW"), (&["NET_RAW", "NET_BROADCAST"][..], "NET_ADMIN")] {
        let mut a: Vec<String> = vec!["run".into(), "--rm".into()];
        a.extend(with_caps(caps));
        a.push(image.clone());
        let o = docker(&a.iter().map(String::as_str).collect::<Vec<_>>());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{caps:?}: {err}");
        assert!(err.contains("missing capabilities: ") && err.contains(&format!("--cap-add={missing}")), "{err}");
        assert!(!lab.has_addr(&node, &vip));
    }
    // With exactly NET_ADMIN and NET_RAW (no NET_BROADCAST): master, VIP, gratuitous ARP.
    let pid = lab.pid(&client);
    let arp_out = std::env::temp_dir().join(format!("{}-arp.txt", lab.id));
    let mut tcpdump = std::process::Command::new("nsenter")
        .args(["-t", &pid, "-n", "tcpdump", "-l", "-n", "-c", "1", "-i", "eth0", &format!("arp and host {vip}")])
        .stdout(std::fs::File::create(&arp_out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // tcpdump needs a moment to attach; its own "listening" banner is on stderr, so wait
    // for the capture socket instead: poll until the process has opened a packet socket.
    assert!(wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{}/net/packet", tcpdump.id())).is_ok_and(|t| t.lines().count() > 1)
    }));
    let a: Vec<String> = with_caps(&["NET_ADMIN", "NET_RAW"]);
    let kv = lab.run("kv", &a.iter().map(String::as_str).collect::<Vec<_>>(), &image, &[]);
    assert!(wait_until(Duration::from_secs(3), || lab.has_addr(&node, &vip)), "{}", lab.logs(&kv));
    let got = wait_until(Duration::from_secs(3), || tcpdump.try_wait().ok().flatten().is_some());
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    let text = std::fs::read_to_string(&arp_out).unwrap_or_default();
    let _ = std::fs::remove_file(&arp_out);
    assert!(got, "no gratuitous ARP for {vip} seen by the client");
    assert!(text.contains(&format!("who-has {vip}")) && text.contains(&format!("tell {vip}")), "{text}");
    let logs = lab.logs(&kv);
    assert!(logs.lines().all(|l| !l.contains("WARN") || l.contains("ip_vs")), "{logs}");
}

/// `docker run --read-only`: keepvip cannot write its state file, so it refuses to start and
/// says how to fix it (before: it ran, and the HEALTHCHECK failed forever); with
/// `--tmpfs /run` it runs and `--health` passes.
#[test]
fn read_only_root_needs_tmpfs_run_and_says_so() {
    let mut lab = DockerLab::new();
    let (ip_a, vip) = (lab.ip(11), lab.ip(100));
    let node = lab.holder("node", &ip_a);
    let image = lab.image.clone();
    let net = format!("container:{node}");
    let env: Vec<String> = seed_args(&[ip_a.clone(), lab.ip(12)], &vip, 255);
    let mut a: Vec<String> = ["run", "--rm", "--read-only", "--network", &net].iter().map(|s| s.to_string()).collect();
    a.extend(CAPS.iter().map(|s| s.to_string()));
    a.extend(env.iter().cloned());
    a.push(image.clone());
    let o = docker(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("KEEPVIP_STATE_FILE=\"/run/keepvip/state.json\": cannot write it"), "{err}");
    assert!(err.contains("--tmpfs /run"), "{err}");
    assert!(!lab.has_addr(&node, &vip), "nothing may change before the error");
    let mut args: Vec<String> = vec!["--read-only".into(), "--tmpfs".into(), "/run".into(), "--network".into(), net];
    args.extend(CAPS.iter().map(|s| s.to_string()));
    args.extend(env);
    let kv = lab.run("ro", &args.iter().map(String::as_str).collect::<Vec<_>>(), &image, &[]);
    assert!(wait_until(Duration::from_secs(5), || lab.has_addr(&node, &vip)), "{}", lab.logs(&kv));
    assert!(
        wait_until(Duration::from_secs(5), || docker(&["exec", &kv, "/keepvip", "--health"]).status.success()),
        "{}",
        lab.logs(&kv)
    );
}

/// osixia's environment files: an env.yaml mounted at the README's path configures keepvip
/// (`-e` still wins), and `--check` names each value's source.
#[test]
fn env_yaml_at_osixias_path_configures_the_node() {
    let mut lab = DockerLab::new();
    let (ip_a, vip) = (lab.ip(11), lab.ip(100));
    let node = lab.holder("node", &ip_a);
    let dir = std::env::temp_dir().join(format!("{}-envfiles", lab.id));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = dir.join("env.yaml");
    std::fs::write(
        &yaml,
        format!("KEEPALIVED_ROUTER_ID: 77\nKEEPALIVED_PRIORITY: 100\nKEEPALIVED_VIRTUAL_IPS:\n  - {vip}\nKEEPALIVED_UNICAST_PEERS:\n  - {ip_a}\n  - {}\n", lab.ip(12)),
    )
    .unwrap();
    let mount = format!("{}:/container/environment/01-custom/env.yaml:ro", yaml.display());
    let net = format!("container:{node}");
    let image = lab.image.clone();
    let check = |extra: &[&str]| {
        let mut a = vec!["run", "--rm", "--network", &net, "-v", &mount];
        a.extend_from_slice(extra);
        a.push(&image);
        a.push("--check");
        docker(&a)
    };
    let o = check(&["-e", "KEEPALIVED_PRIORITY=200"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["router_id"], 77);
    assert_eq!(j["priority"], 200, "-e wins over the file");
    assert_eq!(j["virtual_ips"][0]["address"], vip.as_str());
    assert_eq!(j["sources"]["KEEPALIVED_ROUTER_ID"], "/container/environment/01-custom/env.yaml");
    assert_eq!(j["sources"]["KEEPALIVED_PRIORITY"], "environment");
    assert_eq!(j["sources"]["KEEPALIVED_PASSWORD"], "default");
    // A real start from the file: the node takes the file's VIP.
    let mut args: Vec<String> = vec!["--network".into(), net.clone(), "-v".into(), mount.clone()];
    args.extend(CAPS.iter().map(|s| s.to_string()));
    args.extend(["-e".into(), "KEEPALIVED_PRIORITY=255".into()]);
    let kv = lab.run("kv", &args.iter().map(String::as_str).collect::<Vec<_>>(), &image, &[]);
    assert!(wait_until(Duration::from_secs(5), || lab.has_addr(&node, &vip)), "{}", lab.logs(&kv));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README's first commands, run as written where a test can: `scripts/build-image` builds
/// the image (with this test's own tag, not the user's keepvip:latest), and the example .env
/// configures it. (`sudo scripts/demo` runs in tests/demo.rs; `docker compose up -d` would
/// take a VIP on this machine's own network, which no test does: its file is checked in
/// `deployment_files_validate`.)
#[test]
fn readme_walkthrough_commands_work_as_written() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let block = readme.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    let cmds: Vec<&str> =
        block.lines().map(|l| l.split('#').next().unwrap().trim()).filter(|l| !l.is_empty()).collect();
    assert_eq!(cmds, ["sudo scripts/demo", "scripts/build-image", "cp .env.example .env", "docker compose up -d"]);
    let lab = DockerLab::new();
    let tag = format!("keepvip-readme:{}", lab.id);
    let o = std::process::Command::new(repo_file("scripts/build-image")).arg(&tag).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let size: u64 = must(&["image", "inspect", "-f", "{{.Size}}", &tag]).parse().unwrap();
    assert!(size <= 3 * 1024 * 1024, "{size}");
    let env = repo_file(".env.example");
    let ip = lab.ip(11);
    let check = |extra: &[&str]| {
        let mut a = vec!["run", "--rm", "--network", &lab.network, "--ip", &ip, "--env-file", &env];
        a.extend(extra);
        a.extend([tag.as_str(), "--check"]);
        docker(&a)
    };
    // As copied, on a host the example's peer list does not name: refused, saying what to add.
    let o = check(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("add {ip} to KEEPALIVED_UNICAST_PEERS on every node")), "{err}");
    // Edited for this host (here with -e, which wins over the file).
    let peers = format!("KEEPALIVED_UNICAST_PEERS=#PYTHON2BASH:['{ip}', '{}']", lab.ip(12));
    let o = check(&["-e", &peers]);
    let _ = docker(&["rmi", "-f", &tag]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((j["priority"].as_u64(), j["virtual_ips"][0]["address"].as_str()), (Some(200), Some("192.168.4.3")));
    assert_eq!(j["sources"]["KEEPALIVED_PRIORITY"], "environment");
}

/// osixia's custom-config path (osixia/docker-keepalived issue 8, load sharing): each node
/// mounts its own keepalived.conf with two instances at osixia's path and keeps its
/// `docker run` flags; each node is master of one VIP, `--health` covers both instances,
/// and `docker stop` of one node hands its VIP to the other without a lost ping.
#[test]
fn keepalived_conf_at_osixias_path_shares_two_vips_between_two_nodes() {
    let mut lab = DockerLab::new();
    let (ip_a, ip_b, vip1, vip2) = (lab.ip(11), lab.ip(12), lab.ip(100), lab.ip(101));
    let nodes = [lab.holder("a", &ip_a), lab.holder("b", &ip_b)];
    let dir = std::env::temp_dir().join(format!("{}-conf", lab.id));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = |first: u8, second: u8| {
        let inst = |name: &str, vrid: u8, prio: u8, vip: &str| {
            format!(
                "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    priority {prio}\n    authentication {{\n        auth_type PASS\n        auth_pass {name}pw\n    }}\n    unicast_peer {{\n        {ip_a}\n        {ip_b}\n    }}\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
            )
        };
        format!(
            "global_defs {{\n    router_id node\n}}\n{}{}",
            inst("VI_1", 61, first, &vip1),
            inst("VI_2", 62, second, &vip2)
        )
    };
    let mut kvs = vec![];
    // keepalived's default preempt: the containers start a few hundred ms apart, about the
    // gap between the two priorities' Master_Down_Intervals, so under nopreempt whichever
    // timed out first would keep both.
    for (i, prios) in [(150, 100), (100, 150)].into_iter().enumerate() {
        let path = dir.join(format!("node{i}.conf"));
        std::fs::write(&path, conf(prios.0, prios.1)).unwrap();
        let mount = format!("{}:/container/service/keepalived/assets/keepalived.conf:ro", path.display());
        let mut args: Vec<String> = vec!["--network".into(), format!("container:{}", nodes[i]), "-v".into(), mount];
        args.extend(CAPS.iter().map(|s| s.to_string()));
        // A variable beside the file is ignored, as osixia ignores it, and said so.
        args.extend(["-e".into(), "KEEPALIVED_PRIORITY=7".into()]);
        kvs.push(lab.run(
            &format!("kv{i}"),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            &lab.image.clone(),
            &[],
        ));
    }
    let split = || {
        lab.has_addr(&nodes[0], &vip1)
            && !lab.has_addr(&nodes[0], &vip2)
            && lab.has_addr(&nodes[1], &vip2)
            && !lab.has_addr(&nodes[1], &vip1)
    };
    assert!(wait_until(Duration::from_secs(10), split), "{}\n{}", lab.logs(&kvs[0]), lab.logs(&kvs[1]));
    let logs = lab.logs(&kvs[0]);
    assert!(logs.contains("2 vrrp_instance(s) from /container/service/keepalived/assets/keepalived.conf"), "{logs}");
    assert!(logs.contains("KEEPALIVED_PRIORITY set, but"), "{logs}");
    let health = docker(&["exec", &kvs[0], "/keepvip", "--health"]);
    assert!(health.status.success(), "{}", String::from_utf8_lossy(&health.stderr));
    assert_eq!(String::from_utf8_lossy(&health.stdout).trim(), "MASTER eth0, BACKUP eth0");
    // A client pings node a's VIP across `docker stop a`.
    let client = lab.run(
        "client",
        &["--network", &lab.network.clone()],
        &lab.client_image.clone(),
        &["ping", "-i", "0.05", &vip1],
    );
    let replies = |l: &DockerLab| l.logs(&client).matches("bytes from").count();
    assert!(wait_until(Duration::from_secs(5), || replies(&lab) >= 20));
    must(&["stop", &kvs[0]]);
    assert!(lab.has_addr(&nodes[1], &vip1) && lab.has_addr(&nodes[1], &vip2), "{}", lab.logs(&kvs[1]));
    assert!(!lab.has_addr(&nodes[0], &vip1), "a VIP left behind:\n{}", lab.logs(&kvs[0]));
    let before = replies(&lab);
    assert!(wait_until(Duration::from_secs(5), || replies(&lab) >= before + 20));
    let seqs: Vec<u32> = lab
        .logs(&client)
        .lines()
        .filter_map(|l| l.split("seq=").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect();
    let lost: u32 = seqs.windows(2).map(|w| w[1].saturating_sub(w[0] + 1)).sum();
    assert!(lost <= 2, "{lost} pings lost over docker stop");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `KEEPALIVED_TRACK_DOCKER` against the real Docker Engine: with the socket mounted
/// read-only the `engine` check passes and the node takes the VIP; `swarm` on this engine
/// (not a swarm member) fails, and so does `engine` without the socket: both nodes sit in
/// FAULT and `--status` says why.
#[test]
fn docker_check_asks_the_real_engine_and_a_missing_socket_or_inactive_swarm_is_a_fault() {
    let mut lab = DockerLab::new();
    let swarm = must(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
    assert_eq!(swarm, "inactive", "this test needs an engine outside any swarm");
    let ips = [lab.ip(11), lab.ip(12), lab.ip(13)];
    let vip = lab.ip(100);
    let nodes: Vec<String> = ips.iter().enumerate().map(|(i, ip)| lab.holder(&format!("n{i}"), ip)).collect();
    let image = lab.image.clone();
    let mut kvs = vec![];
    for (i, (prio, check, mount)) in
        [(100, "engine", true), (200, "swarm", true), (150, "engine", false)].into_iter().enumerate()
    {
        let mut args: Vec<String> = vec!["--network".into(), format!("container:{}", nodes[i])];
        args.extend(CAPS.iter().map(|s| s.to_string()));
        if mount {
            args.extend(["-v".into(), "/var/run/docker.sock:/var/run/docker.sock:ro".into()]);
        }
        args.extend(seed_args(&ips, &vip, prio));
        args.extend(["-e".into(), format!("KEEPALIVED_TRACK_DOCKER={check}")]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        kvs.push(lab.run(&format!("kv{i}"), &a, &image, &[]));
    }
    // Only the node whose check passes takes the VIP, although the others rank higher.
    assert!(wait_until(Duration::from_secs(8), || lab.has_addr(&nodes[0], &vip)), "{}", lab.logs(&kvs[0]));
    assert!(!wait_until(Duration::from_secs(2), || lab.has_addr(&nodes[1], &vip) || lab.has_addr(&nodes[2], &vip)));
    let status = |c: &str| String::from_utf8_lossy(&docker(&["exec", c, "/keepvip", "--status"]).stdout).into_owned();
    let s0 = status(&kvs[0]);
    assert!(s0.contains("docker engine /var/run/docker.sock up"), "{s0}");
    let s1 = status(&kvs[1]);
    assert!(s1.contains("FAULT") && s1.contains("swarm state is inactive"), "{s1}");
    let s2 = status(&kvs[2]);
    assert!(s2.contains("FAULT") && s2.contains("no such socket"), "{s2}");
}
