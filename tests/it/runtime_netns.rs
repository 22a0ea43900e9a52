//! keepvip on real namespaces, raw sockets and netlink: the seed's promise, end to end.

use std::time::Duration;

use crate::common::netns::{Lab, Proc};
use crate::common::seed::{env_with, holds, pair, MDI_100, PEERS, VIP};
use crate::common::{seed_env, wait_until};
use nix::sys::signal::Signal;

#[test]
fn highest_priority_gets_the_vip_and_keeps_it() {
    let lab = Lab::new(2);
    let (a, b) = pair(&lab, &[]);
    // Stable: only the 200 node, for several advert intervals.
    assert!(!wait_until(Duration::from_secs(3), || holds(&lab, 1) || !holds(&lab, 0)), "VIP moved or duplicated");
    assert!(a.log().contains("BACKUP -> MASTER"));
    assert!(b.log().contains("INIT -> BACKUP"));
    assert!(!b.log().contains("-> MASTER"));
    for p in [&a, &b] {
        let log = p.log();
        assert!(log.contains("is this host's own address; not a peer"), "{log}");
        // The one expected warning: this kernel has no ip_vs (the program must warn and go on).
        assert!(log.contains("ip_vs is not loaded") || std::path::Path::new("/sys/module/ip_vs").exists());
        let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN") && !l.contains("ip_vs")).collect();
        assert!(warnings.is_empty(), "no warnings in the seed's set-up: {warnings:?}");
    }
}

#[test]
fn sigkill_and_cut_master_backup_takes_over_within_bound_and_pings_resume() {
    let lab = Lab::new(3);
    let (mut a, _b) = pair(&lab, &[]);
    let ping = lab.host(2).ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    lab.crash(0, &mut a);
    let t = std::time::Instant::now();
    assert!(wait_until(MDI_100 + Duration::from_millis(500), || holds(&lab, 1)), "backup did not take over in time");
    let took = t.elapsed();
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 20, Duration::from_secs(5)), "pings to the VIP did not resume");
    eprintln!("takeover after {took:?}");
}

#[test]
fn restarted_node_removes_stale_vip_and_stays_backup_without_preempt() {
    let lab = Lab::new(2);
    let (mut a, _b) = pair(&lab, &[]);
    a.signal(Signal::SIGKILL);
    a.wait_exit(Duration::from_secs(2));
    assert!(holds(&lab, 0), "SIGKILL leaves the VIP behind (what start-up must clean)");
    lab.cut(0);
    assert!(wait_until(MDI_100 + Duration::from_millis(500), || holds(&lab, 1)));
    lab.heal(0);
    let a2 = lab.host(0).spawn_keepvip(&env_with(200, &[]));
    // Found where we would add it: kept until the master (node 1) is heard, then removed.
    assert!(a2.wait_log("198.18.0.100/32 is still on eth0", Duration::from_secs(5)), "{}", a2.log());
    assert!(wait_until(Duration::from_secs(2), || !holds(&lab, 0)));
    // nopreempt (osixia's default): the 200 node stays backup.
    assert!(!wait_until(Duration::from_secs(6), || holds(&lab, 0)), "nopreempt violated:\n{}", a2.log());
    assert!(holds(&lab, 1));
}

#[test]
fn with_preempt_the_restarted_higher_node_takes_the_vip_back() {
    let lab = Lab::new(2);
    let pre = [("KEEPALIVED_PREEMPT", "true")];
    let (mut a, _b) = pair(&lab, &pre);
    lab.crash(0, &mut a);
    assert!(wait_until(MDI_100 + Duration::from_millis(500), || holds(&lab, 1)));
    lab.heal(0);
    let _a2 = lab.host(0).spawn_keepvip(&env_with(200, &pre));
    assert!(
        wait_until(Duration::from_secs(6), || holds(&lab, 0) && !holds(&lab, 1)),
        "preempt did not move the VIP back"
    );
}

#[test]
fn sigterm_hands_over_losing_at_most_2_pings() {
    let lab = Lab::new(3);
    let (mut a, b) = pair(&lab, &[]);
    let ping = lab.host(2).ping(VIP);
    assert!(ping.wait_replies(50, Duration::from_secs(5)));
    a.signal(Signal::SIGTERM);
    let status = a.wait_exit(Duration::from_secs(10)).expect("did not exit within Docker's 10 s");
    assert!(status.success(), "exit status {status:?}\n{}", a.log());
    assert!(!holds(&lab, 0), "the stopped node left its VIP");
    assert!(holds(&lab, 1));
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 50, Duration::from_secs(5)));
    let (lost, worst) = ping.stop();
    assert!(lost <= 2, "lost {lost} pings (longest run {worst}) during a planned handover");
    assert!(b.log().contains("resigned (priority 0)"), "{}", b.log());
}

#[test]
fn interface_down_is_fault_and_up_is_backup() {
    let lab = Lab::new(2);
    let (a, _b) = pair(&lab, &[]);
    lab.host(0).must(&["ip", "link", "set", "eth0", "down"]);
    assert!(a.wait_log("MASTER -> FAULT", Duration::from_secs(3)), "{}", a.log());
    assert!(!holds(&lab, 0));
    assert!(wait_until(MDI_100 + Duration::from_millis(500), || holds(&lab, 1)));
    lab.host(0).must(&["ip", "link", "set", "eth0", "up"]);
    assert!(a.wait_log("FAULT -> BACKUP", Duration::from_secs(3)), "{}", a.log());
    // nopreempt: it stays backup.
    assert!(!wait_until(Duration::from_secs(5), || holds(&lab, 0)));
}

#[test]
fn three_nodes_with_preempt_fail_over_in_priority_order() {
    let lab = Lab::new(4);
    let peers = ["198.18.0.1", "198.18.0.2", "198.18.0.3"];
    let mut procs: Vec<Proc> = [150, 100, 50]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut e = seed_env(&peers, VIP, *p);
            e.push(("KEEPALIVED_PREEMPT".into(), "true".into()));
            lab.host(i).spawn_keepvip(&e)
        })
        .collect();
    assert!(wait_until(Duration::from_secs(5), || holds(&lab, 0)));
    for (dead, next) in [(0, 1), (1, 2)] {
        lab.crash(dead, &mut procs[dead]);
        assert!(wait_until(Duration::from_secs(5), || holds(&lab, next)), "node {next} did not take over");
        assert_eq!((dead + 1..3).filter(|i| holds(&lab, *i)).count(), 1, "one live master");
    }
}

#[test]
fn multicast_without_peers_elects_one_master_among_three() {
    let lab = Lab::new(3);
    let procs: Vec<Proc> = [100, 200, 150]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            lab.host(i).spawn_keepvip(&[
                ("KEEPALIVED_VIRTUAL_IPS".into(), VIP.into()),
                ("KEEPALIVED_PRIORITY".into(), p.to_string()),
            ])
        })
        .collect();
    assert!(wait_until(Duration::from_secs(5), || holds(&lab, 1)));
    assert!(!wait_until(Duration::from_secs(3), || holds(&lab, 0) || holds(&lab, 2) || !holds(&lab, 1)));
    assert!(procs[0].log().contains("to multicast 224.0.0.18"), "{}", procs[0].log());
}

#[test]
fn vrrpv3_at_100ms_fails_over_within_half_a_second() {
    let lab = Lab::new(2);
    let v3 = [("KEEPALIVED_VRRP_VERSION", "3"), ("KEEPALIVED_ADVERT_INT", "0.1")];
    let (mut a, _b) = pair(&lab, &v3);
    lab.crash(0, &mut a);
    let t = std::time::Instant::now();
    assert!(wait_until(Duration::from_millis(500), || holds(&lab, 1)), "no takeover within 0.5 s");
    eprintln!("v3 takeover after {:?}", t.elapsed());
}

#[test]
fn two_vips_added_exactly_as_written_and_removed() {
    let lab = Lab::new(2);
    let vips = "#PYTHON2BASH:['198.18.0.100', '198.18.0.101/24 dev eth0 label eth0:vip']";
    let mut e = seed_env(&PEERS, vips, 200);
    e.push(("KEEPALIVED_PRIORITY".into(), "255".into()));
    let mut a = lab.host(0).spawn_keepvip(&e);
    let h = lab.host(0);
    assert!(wait_until(Duration::from_secs(3), || h.has_addr("198.18.0.101")));
    let addrs = h.addrs();
    assert!(addrs.contains("inet 198.18.0.100/32 scope global eth0"), "{addrs}");
    assert!(addrs.contains("inet 198.18.0.101/24 scope global secondary eth0:vip"), "{addrs}");
    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(10)).is_some_and(|s| s.success()));
    let addrs = h.addrs();
    assert!(!addrs.contains("198.18.0.100") && !addrs.contains("198.18.0.101"), "{addrs}");
}

#[test]
fn vip_removed_by_hand_while_master_is_put_back() {
    let lab = Lab::new(2);
    let (a, _b) = pair(&lab, &[]);
    lab.host(0).must(&["ip", "addr", "del", &format!("{VIP}/32"), "dev", "eth0"]);
    assert!(wait_until(Duration::from_secs(1), || holds(&lab, 0)), "not re-added within one advert interval");
    assert!(a.log().contains("was removed while we are master; adding it back"));
}

#[test]
fn notify_script_gets_osixia_arguments_and_sigusr1_logs_counters() {
    let lab = Lab::new(2);
    let script = lab.dir.join("notify.sh");
    let out = lab.dir.join("notify.out");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let notify = script.display().to_string();
    let (a, _b) = pair(&lab, &[("KEEPALIVED_NOTIFY", &notify)]);
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    assert!(wait_until(Duration::from_secs(2), || read().contains("INSTANCE VI_1 MASTER 200")), "{}", read());
    // Both nodes share the script; the 200 node's lines are BACKUP then MASTER.
    let text = read();
    let mine: Vec<&str> = text.lines().filter(|l| l.ends_with(" 200")).collect();
    assert_eq!(mine, ["INSTANCE VI_1 BACKUP 200", "INSTANCE VI_1 MASTER 200"], "{text}");
    // SIGUSR1 logs the table `--status` prints.
    assert_eq!(a.status().state, "MASTER");
    for row in [
        "(VI_1) status: state       MASTER",
        "(VI_1) status: master      this node",
        "(VI_1) status: adverts     sent ",
    ] {
        assert!(a.log().contains(row), "{row:?} in\n{}", a.log());
    }
}

#[test]
fn missing_notify_script_warns_once_and_osixia_default_is_silent() {
    let lab = Lab::new(2);
    let (a, b) = pair(&lab, &[]);
    assert!(!a.log().contains("KEEPALIVED_NOTIFY"), "osixia's default path is absent and that is normal");
    drop((a, b));
    let lab = Lab::new(2);
    let (a, _b) = pair(&lab, &[("KEEPALIVED_NOTIFY", "/nonexistent/notify.sh")]);
    assert!(a.wait_log("KEEPALIVED_NOTIFY=/nonexistent/notify.sh: cannot run it", Duration::from_secs(2)));
    assert_eq!(a.log().matches("cannot run it").count(), 1);
}

#[test]
fn status_and_health_read_the_state_file() {
    let lab = Lab::new(2);
    let (mut a, _b) = pair(&lab, &[]);
    let state = lab.host(0).state_file();
    let env = vec![("KEEPVIP_STATE_FILE".to_string(), state.display().to_string())];
    let run = |args: &[&str]| {
        std::process::Command::new(crate::common::keepvip_bin())
            .args(args)
            .env_clear()
            .envs(env.clone())
            .output()
            .unwrap()
    };
    assert!(wait_until(Duration::from_secs(2), || String::from_utf8_lossy(&run(&["--status", "--json"]).stdout)
        .contains("\"state\": \"MASTER\"")));
    // For people: a table.
    let t = String::from_utf8_lossy(&run(&["--status"]).stdout).into_owned();
    for want in [
        "state       MASTER for ",
        "master      this node",
        "VIPs        198.18.0.100/32",
        "last change BACKUP -> MASTER: ",
    ] {
        assert!(t.contains(want), "{want:?} in\n{t}");
    }
    assert!(t.contains("updated     0 s ago") || t.contains("updated     1 s ago"), "{t}");
    let h = run(&["--health"]);
    assert!(h.status.success(), "{}", String::from_utf8_lossy(&h.stderr));
    // The JSON agrees with the table: a master names itself.
    let j: serde_json::Value = serde_json::from_slice(&run(&["--status", "--json"]).stdout).unwrap();
    assert_eq!(j["master"], "198.18.0.1", "{j}");
    // Counters are current, not from the last 30 s rewrite: `--status` has the daemon write
    // the file first (keepalived's SIGJSON, RTMIN+2), which it does without a log line.
    let sent = || {
        let j: serde_json::Value = serde_json::from_slice(&run(&["--status", "--json"]).stdout).unwrap();
        j["adverts_sent"].as_u64().unwrap_or(0)
    };
    let first = sent();
    assert!(wait_until(Duration::from_secs(5), || sent() >= first + 2), "{}", a.log());
    assert!(!a.log().contains("SIGRTMIN") && !a.log().contains(") status: "), "{}", a.log());
    a.signal(Signal::SIGKILL);
    a.wait_exit(Duration::from_secs(2));
    let h = run(&["--health"]);
    assert_eq!(h.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&h.stderr).contains("is not running"));
    // No daemon at all: the same plain words for --status, not an OS error.
    std::fs::remove_file(&state).unwrap();
    let s = run(&["--status"]);
    assert_eq!(s.status.code(), Some(1));
    let err = String::from_utf8_lossy(&s.stderr);
    assert!(err.contains("no state file at") && err.contains("keepvip is not running"), "{err}");
}

/// What `--status` shows is written when it changes, not at the next refresh: a backup that
/// starts hearing the master says so at once.
#[test]
fn status_is_current_without_waiting_for_the_refresh() {
    let lab = Lab::new(2);
    let (_a, b) = pair(&lab, &[]);
    drop(b);
    // A backup started again: it hears the master within one advert (1 s); the counters'
    // refresh would only write that 5 s after its start.
    let b = lab.host(1).spawn_keepvip(&env_with(100, &[]));
    let pid = b.pid() as u32;
    assert!(wait_until(Duration::from_secs(2), || lab.host(1).status().pid == pid), "{}", b.log());
    let started = std::time::Instant::now();
    let heard = || lab.host(1).status().master.as_deref() == Some("198.18.0.1");
    assert!(wait_until(Duration::from_secs(3), heard), "{:?}\n{}", lab.host(1).status(), b.log());
    assert!(started.elapsed() < Duration::from_millis(2500), "{:?}", started.elapsed());
}

#[test]
fn three_hundred_vips_go_on_and_off_in_batches() {
    let lab = Lab::new(2);
    // 300 VIPs: several netlink batches, and more than an advert can carry (255).
    let vips: Vec<String> = (0..300).map(|i| format!("'198.19.{}.{}'", i / 200, i % 200 + 1)).collect();
    let mut e = seed_env(&PEERS, VIP, 255);
    e.retain(|(k, _)| k != "KEEPALIVED_VIRTUAL_IPS");
    e.push(("KEEPALIVED_VIRTUAL_IPS".into(), format!("#PYTHON2BASH:[{}]", vips.join(", "))));
    let mut a = lab.host(0).spawn_keepvip(&e);
    let count = || lab.host(0).addrs().matches(" inet 198.19.").count();
    assert!(wait_until(Duration::from_secs(3), || count() == 300), "{} of 300 VIPs\n{}", count(), a.log());
    // Logged after the whole batch, so possibly a moment after the kernel shows the last one.
    assert!(a.wait_log("added 300 VIPs: 198.19.0.1/32, ", Duration::from_secs(2)), "{}", a.log());
    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(10)).is_some_and(|s| s.success()));
    assert_eq!(count(), 0, "VIPs left after stop");
}

/// A takeover of many VIPs announces each one at once, then paces the four repeats (64
/// frames every 5 ms) instead of one burst of 5 × N frames.
#[test]
fn gratuitous_arp_repeats_are_paced() {
    let lab = Lab::new(2);
    let vips: Vec<String> = (0..300).map(|i| format!("'198.19.{}.{}'", i / 200, i % 200 + 1)).collect();
    let mut e = seed_env(&PEERS, VIP, 255);
    e.retain(|(k, _)| k != "KEEPALIVED_VIRTUAL_IPS");
    e.push(("KEEPALIVED_VIRTUAL_IPS".into(), format!("#PYTHON2BASH:[{}]", vips.join(", "))));
    let out = lab.dir.join("garp.txt");
    let mut dump = lab
        .host(1)
        .cmd(&["tcpdump", "-l", "-n", "-tt", "-i", "eth0", "arp"])
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = dump.id();
    assert!(wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{pid}/net/packet")).is_ok_and(|t| t.lines().count() > 1)
    }));
    let a = lab.host(0).spawn_keepvip(&e);
    // 300 announcements, then 4 × 300 repeats: 1500 frames in all.
    let frames =
        || std::fs::read_to_string(&out).unwrap_or_default().lines().filter(|l| l.contains("tell 198.19.")).count();
    // A margin over the event: the five rounds take ~0.1 s after the takeover, but a loaded
    // machine can delay the start by seconds.
    assert!(wait_until(Duration::from_secs(15), || frames() >= 1500), "{} frames\n{}", frames(), a.log());
    let _ = dump.kill();
    let _ = dump.wait();
    let times: Vec<f64> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .filter(|l| l.contains("tell 198.19."))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    let t0 = times[0];
    // Every VIP within the first 50 ms (the first round), and the repeats spread: never more
    // than the first round plus one chunk in any 5 ms after it.
    let first: usize = times.iter().filter(|t| **t - t0 < 0.05).count();
    assert!(first >= 300, "only {first} frames in the first 50 ms");
    let after: Vec<f64> = times.iter().copied().filter(|t| *t - t0 >= 0.05).collect();
    let busiest =
        after.iter().map(|s| after.iter().filter(|t| **t >= *s && **t < s + 0.005).count()).max().unwrap_or(0);
    assert!(busiest <= 2 * 64, "{busiest} frames in 5 ms after the first round");
    let span = times[times.len() - 1] - t0;
    assert!(span > 0.05, "the repeats came in one burst ({:.1} ms)", span * 1000.0);
    drop(a);
}

/// Two cards per node, the peer addresses on eth1 and an unrelated eth0 (osixia's default):
/// with KEEPALIVED_INTERFACE unset each node adverts from eth1 and one master is elected
/// (before: both bound eth0, dropped each other's adverts and both held the VIP); set to eth0
/// it is an error that names eth1.
#[test]
fn peers_on_a_second_card_are_found_and_a_wrong_interface_is_named() {
    let lab = Lab::new(2);
    for (i, h) in lab.hosts.iter().enumerate() {
        h.must(&["ip", "link", "set", "eth0", "down"]);
        h.must(&["ip", "link", "set", "eth0", "name", "eth1"]);
        h.must(&["ip", "link", "set", "eth1", "up"]);
        h.veth("eth0", "eth9", Some(&format!("198.19.9.{}/24", i + 1)));
    }
    let mut wrong = env_with(200, &[]);
    wrong.push(("KEEPALIVED_INTERFACE".into(), "eth0".into()));
    let out = lab.host(0).run_keepvip(&wrong, &["--check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("KEEPALIVED_INTERFACE=\"eth0\"") && err.contains("set KEEPALIVED_INTERFACE=eth1"), "{err}");

    let a = lab.host(0).spawn_keepvip(&env_with(200, &[]));
    let b = lab.host(1).spawn_keepvip(&env_with(100, &[]));
    assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{}", a.log());
    assert!(a.log().contains("KEEPALIVED_INTERFACE is unset: using eth1"), "{}", a.log());
    assert!(b.wait_log("advert from 198.18.0.1", Duration::from_secs(3)), "the backup hears the master:\n{}", b.log());
    assert!(!wait_until(Duration::from_secs(3), || holds(&lab, 1)), "two masters:\n{}", b.log());
    let on_eth1 = lab.host(0).addrs().lines().any(|l| l.contains(" eth1 ") && l.contains(&format!(" {VIP}/")));
    assert!(on_eth1, "the VIP is not on eth1:\n{}", lab.host(0).addrs());
}

/// A VIP on another interface (`dev eth1`) is announced with that interface's MAC: the
/// neighbours on eth1 must send to eth1, not to the advert interface's address.
#[test]
fn a_vip_on_another_interface_is_announced_with_that_interfaces_mac() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    h.veth("eth1", "eth1p", Some("198.18.1.1/24"));
    let mac = |i: &str| {
        String::from_utf8_lossy(&h.sh(&["cat", &format!("/sys/class/net/{i}/address")]).stdout).trim().to_string()
    };
    let out = h.dir().join(format!("{}-eth1p.txt", h.ns));
    let mut dump = h
        .cmd(&["tcpdump", "-l", "-e", "-n", "-c", "1", "-i", "eth1p", "arp and arp[24:4] == 0xc6120164"])
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = dump.id();
    assert!(wait_until(Duration::from_secs(5), || std::fs::read_to_string(format!("/proc/{pid}/net/packet"))
        .is_ok_and(|t| t.lines().count() > 1)));
    let env = seed_env(&["198.18.0.1", "198.18.0.2"], "198.18.1.100/24 dev eth1", 255);
    let a = h.spawn_keepvip(&env);
    assert!(
        wait_until(Duration::from_secs(5), || dump.try_wait().ok().flatten().is_some()),
        "no gratuitous ARP on eth1:\n{}",
        a.log()
    );
    let line = std::fs::read_to_string(&out).unwrap();
    assert!(
        line.contains(&format!("{} > ff:ff:ff:ff:ff:ff", mac("eth1"))),
        "eth1 is {}, eth0 {}: {line}",
        mac("eth1"),
        mac("eth0")
    );
    assert!(line.contains("Request who-has 198.18.1.100") && line.contains("tell 198.18.1.100"), "{line}");
}
