//! keepalived.conf in namespaces: several instances in one process sharing the load, a sync
//! group following a member into FAULT, and errors that name file:line.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::netns::{Lab, Proc};
use crate::common::wait_until;
use nix::sys::signal::Signal;

const VIP_A: &str = "198.18.0.100";
const VIP_B: &str = "198.18.0.101";

/// Two instances; `prio` gives each node's priority for VI_A and VI_B.
fn two_instances(prio: (u8, u8), extra_b: &str, group: bool) -> String {
    let group = if group { "vrrp_sync_group G {\n  group {\n    VI_A\n    VI_B\n  }\n}\n" } else { "" };
    format!(
        "! two virtual routers, one master each\n{group}\
         vrrp_instance VI_A {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority {}\n  advert_int 1\n\
           authentication {{\n    auth_type PASS\n    auth_pass a-pass\n  }}\n\
           unicast_peer {{\n    198.18.0.1\n    198.18.0.2\n  }}\n  virtual_ipaddress {{\n    {VIP_A}/32\n  }}\n}}\n\
         vrrp_instance VI_B {{\n  interface eth0\n  virtual_router_id 52\n  priority {}\n\
           unicast_peer {{\n    198.18.0.1\n    198.18.0.2\n  }}\n  virtual_ipaddress {{\n    {VIP_B}/32\n  }}\n{extra_b}}}\n",
        prio.0, prio.1
    )
}

fn write_conf(lab: &Lab, i: usize, text: &str) -> PathBuf {
    let path = lab.host(i).dir().join(format!("{}-keepalived.conf", lab.host(i).ns));
    std::fs::write(&path, text).unwrap();
    path
}

fn start(lab: &Lab, i: usize, conf: &std::path::Path) -> Proc {
    let env = [("KEEPALIVED_NOTIFY".to_string(), String::new())];
    lab.host(i).spawn_keepvip_with(&env, &["--loglevel", "debug", "--use-file", conf.to_str().unwrap()])
}

use crate::common::holds_vip as holds;

/// osixia's issue 8 set-up: one file per node, two instances, each node master of one VIP;
/// one process stopping hands both over; the state file lists both instances.
#[test]
fn two_instances_in_one_process_share_the_load_and_hand_both_over() {
    let lab = Lab::new(3);
    let c0 = write_conf(&lab, 0, &two_instances((200, 100), "", false));
    let c1 = write_conf(&lab, 1, &two_instances((100, 200), "", false));
    let mut a = start(&lab, 0, &c0);
    let b = start(&lab, 1, &c1);
    let split = || holds(&lab, 0, VIP_A) && !holds(&lab, 0, VIP_B) && holds(&lab, 1, VIP_B) && !holds(&lab, 1, VIP_A);
    assert!(wait_until(Duration::from_secs(8), split), "{}\n{}", a.log(), b.log());
    assert!(a.log().contains("2 vrrp_instance(s) from"), "{}", a.log());
    assert!(a.log().contains("(VI_A) BACKUP -> MASTER") && a.log().contains("(VI_B) INIT -> BACKUP"), "{}", a.log());
    // One state file, both instances.
    let names: Vec<_> = lab.host(0).statuses().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["VI_A", "VI_B"]);
    // Stays split for a few adverts: nobody steals the other's VIP.
    assert!(!wait_until(Duration::from_secs(3), || !split()), "{}\n{}", a.log(), b.log());
    let ping = lab.host(2).ping(VIP_A);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(6)).is_some_and(|s| s.success()), "{}", a.log());
    assert!(holds(&lab, 1, VIP_A) && holds(&lab, 1, VIP_B), "{}", b.log());
    assert!(!holds(&lab, 0, VIP_A) && !holds(&lab, 0, VIP_B), "VIPs left behind:\n{}", a.log());
    let (lost, _) = ping.stop();
    assert!(lost <= 2, "{lost} pings lost on a planned handover");
}

/// A sync group: VI_B's tracked interface goes down, VI_B goes FAULT and VI_A follows, so
/// the other node takes both VIPs; when it is back both return (preempt).
#[test]
fn a_sync_group_follows_a_member_into_fault_and_back() {
    let lab = Lab::new(2);
    // A second interface on node 0 for VI_B to track.
    let ns = &lab.host(0).ns;
    lab.host(0).veth("eth1", "eth1p", None);
    let track = "  track_interface {\n    eth1\n  }\n";
    // The group's own scripts: a shell script that writes its arguments down.
    let dir = lab.host(0).dir().to_path_buf();
    let (script, out) = (dir.join(format!("{ns}-group-notify.sh")), dir.join(format!("{ns}-group-notify.log")));
    std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let notify = format!(
        "vrrp_sync_group G {{\n  notify {}\n  notify_fault \"{} fault-only\"\n",
        script.display(),
        script.display()
    );
    let c0 = write_conf(&lab, 0, &two_instances((200, 200), track, true).replacen("vrrp_sync_group G {\n", &notify, 1));
    let c1 = write_conf(&lab, 1, &two_instances((100, 100), "", true));
    let a = start(&lab, 0, &c0);
    let b = start(&lab, 1, &c1);
    let both = |i: usize| holds(&lab, i, VIP_A) && holds(&lab, i, VIP_B);
    assert!(wait_until(Duration::from_secs(8), || both(0) && !holds(&lab, 1, VIP_A)), "{}\n{}", a.log(), b.log());
    lab.host(0).must(&["ip", "link", "set", "eth1p", "down"]);
    assert!(
        wait_until(Duration::from_secs(6), || both(1) && !holds(&lab, 0, VIP_A) && !holds(&lab, 0, VIP_B)),
        "{ns}\n{}\n{}",
        a.log(),
        b.log()
    );
    assert!(a.log().contains("(VI_A) MASTER -> FAULT"), "{}", a.log());
    assert!(a.log().contains("sync group G is in FAULT"), "{}", a.log());
    lab.host(0).must(&["ip", "link", "set", "eth1p", "up"]);
    assert!(
        wait_until(Duration::from_secs(8), || both(0) && !holds(&lab, 1, VIP_A) && !holds(&lab, 1, VIP_B)),
        "{}\n{}",
        a.log(),
        b.log()
    );
    // keepalived's group notify: `GROUP <name> <STATE> 0`, and notify_fault as written.
    let calls = || std::fs::read_to_string(&out).unwrap_or_default();
    // The calls last: a failure's message is read from its tail.
    assert!(
        wait_until(Duration::from_secs(10), || calls().matches("GROUP G MASTER 0").count() == 2),
        "{}\nscript calls:\n{}",
        a.log(),
        calls()
    );
    let lines: Vec<String> = calls().lines().map(str::to_string).collect();
    assert!(lines.contains(&"fault-only".to_string()), "{lines:?}");
    // The two scripts of the FAULT change run side by side: their order is the kernel's.
    let generic: Vec<&str> = lines.iter().map(String::as_str).filter(|l| *l != "fault-only").collect();
    assert_eq!(
        generic,
        ["GROUP G BACKUP 0", "GROUP G MASTER 0", "GROUP G FAULT 0", "GROUP G BACKUP 0", "GROUP G MASTER 0"]
    );
}

/// A broken file: exit 2, each problem with file:line, nothing touched.
#[test]
fn errors_in_the_file_name_file_and_line_and_change_nothing() {
    let lab = Lab::new(1);
    let bad =
        two_instances((200, 100), "  frobnicate 3\n", false).replace("virtual_router_id 51", "virtual_router_id 300");
    let conf = write_conf(&lab, 0, &bad);
    let o = lab.host(0).run_keepvip(&[], &["--check", "--use-file", conf.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let path = conf.display().to_string();
    let line = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let (vrid, frob) = (line("virtual_router_id 300"), line("frobnicate"));
    assert!(err.contains(&format!("{path}:{vrid}: virtual_router_id '300': expected an integer 1..255")), "{err}");
    assert!(err.contains(&format!("{path}:{frob}: unknown keyword 'frobnicate' in vrrp_instance VI_B")), "{err}");
    assert!(err.contains("2 problem(s) in"), "{err}");
    // The same file through KEEPALIVED_COMMAND_LINE_ARGUMENTS (keepalived's -f).
    let env = [("KEEPALIVED_COMMAND_LINE_ARGUMENTS".to_string(), format!("--dump-conf -f {path}"))];
    let o = lab.host(0).run_keepvip(&env, &["--check"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("-f in KEEPALIVED_COMMAND_LINE_ARGUMENTS"));
    // A good one: --check prints every instance and the file.
    let good = write_conf(&lab, 0, &two_instances((200, 100), "", true));
    let o = lab.host(0).run_keepvip(&env, &["--check", "--use-file", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["source"]["file"], good.display().to_string());
    assert_eq!(j["instances"][1]["name"], "VI_B");
    assert_eq!(j["instances"][1]["sync_group"], "G");
    assert_eq!(j["instances"][0]["unicast_peers"], serde_json::json!(["198.18.0.2"]));
    assert!(lab.host(0).addrs().lines().all(|l| !l.contains(VIP_A)));
}

/// SIGHUP re-reads the file as keepalived does: the unchanged instance keeps its VIP and
/// adverts (a client pinging it loses nothing), the removed one resigns to the other node
/// (make-before-break), a new one starts; an invalid file changes nothing.
#[test]
fn sighup_reloads_without_disturbing_unchanged_instances() {
    const VIP_C: &str = "198.18.0.102";
    let lab = Lab::new(3);
    let c0 = write_conf(&lab, 0, &two_instances((200, 200), "", false));
    let c1 = write_conf(&lab, 1, &two_instances((100, 100), "", false));
    let a = start(&lab, 0, &c0);
    let b = start(&lab, 1, &c1);
    let both = |i: usize| holds(&lab, i, VIP_A) && holds(&lab, i, VIP_B);
    assert!(wait_until(Duration::from_secs(8), || both(0)), "{}\n{}", a.log(), b.log());
    let ping_a = lab.host(2).ping(VIP_A);
    let ping_b = lab.host(2).ping(VIP_B);
    assert!(ping_a.wait_replies(20, Duration::from_secs(5)) && ping_b.wait_replies(20, Duration::from_secs(5)));
    // VI_B goes, VI_C comes; VI_A is the same text.
    let text = two_instances((200, 200), "", false);
    let vi_b = text.find("vrrp_instance VI_B").unwrap();
    let vi_c = text[vi_b..]
        .replace("VI_B", "VI_C")
        .replace("virtual_router_id 52", "virtual_router_id 53")
        .replace(VIP_B, VIP_C);
    std::fs::write(&c0, format!("{}{vi_c}", &text[..vi_b])).unwrap();
    a.signal(Signal::SIGHUP);
    assert!(a.wait_log("reload of", Duration::from_secs(2)), "{}", a.log());
    assert!(a.log().contains("1 unchanged, 0 changed in place, 1 resigning (VI_B), 1 starting (VI_C)"), "{}", a.log());
    assert!(
        wait_until(Duration::from_secs(6), || holds(&lab, 1, VIP_B) && !holds(&lab, 0, VIP_B)),
        "{}\n{}",
        a.log(),
        b.log()
    );
    assert!(wait_until(Duration::from_secs(8), || holds(&lab, 0, VIP_C)), "{}", a.log());
    assert!(a.log().contains("(VI_B) stopped and removed"), "{}", a.log());
    assert!(holds(&lab, 0, VIP_A) && !holds(&lab, 1, VIP_A), "{}\n{}", a.log(), b.log());
    assert!(!a.log().contains("(VI_A) MASTER ->"), "the unchanged instance moved:\n{}", a.log());
    // An invalid file: logged, the running configuration stays.
    std::fs::write(&c0, "vrrp_instance X {\n").unwrap();
    a.signal(Signal::SIGHUP);
    assert!(a.wait_log("keeping the running configuration", Duration::from_secs(2)), "{}", a.log());
    assert!(a.log().contains("reload: ") && a.log().contains(":1: the block of 'vrrp_instance X'"), "{}", a.log());
    assert!(!wait_until(Duration::from_secs(2), || !holds(&lab, 0, VIP_A) || !holds(&lab, 0, VIP_C)), "{}", a.log());
    let (lost_a, _) = ping_a.stop();
    let (lost_b, _) = ping_b.stop();
    assert_eq!(lost_a, 0, "pings to the unchanged instance's VIP lost");
    assert!(lost_b <= 2, "{lost_b} pings lost while the removed instance resigned");
}

/// A sync group moves together: node 1 stops hearing node 0's VI_B only (a firewall on
/// VRID 52), so its VI_B becomes master; its VI_A follows to MASTER at once, and when VI_A
/// hears node 0's higher priority and backs up, VI_B follows back. Once the firewall is
/// gone, node 0 holds both VIPs and node 1 none.
#[test]
fn a_sync_group_moves_to_master_and_back_together() {
    let lab = Lab::new(2);
    let c0 = write_conf(&lab, 0, &two_instances((200, 200), "", true));
    let c1 = write_conf(&lab, 1, &two_instances((100, 100), "", true));
    let a = start(&lab, 0, &c0);
    let b = start(&lab, 1, &c1);
    let both = |i: usize| holds(&lab, i, VIP_A) && holds(&lab, i, VIP_B);
    let none = |i: usize| !holds(&lab, i, VIP_A) && !holds(&lab, i, VIP_B);
    assert!(wait_until(Duration::from_secs(8), || both(0) && none(1)), "{}\n{}", a.log(), b.log());
    // VRRP's second byte is the VRID: drop node 0's VI_B adverts at node 1.
    let h = lab.host(1);
    h.must(&["nft", "add table ip kvsg; add chain ip kvsg in { type filter hook input priority 0; }; add rule ip kvsg in ip protocol 112 @th,8,8 52 drop"]);
    assert!(b.wait_log("(VI_A) BACKUP -> MASTER: following its sync group", Duration::from_secs(8)), "{}", b.log());
    assert!(b.log().contains("(VI_B) BACKUP -> MASTER: no advert"), "{}", b.log());
    assert!(b.wait_log("(VI_B) MASTER -> BACKUP: following its sync group", Duration::from_secs(4)), "{}", b.log());
    h.must(&["nft", "delete table ip kvsg"]);
    // Settled: node 0 has both, node 1 none, for a few adverts.
    assert!(wait_until(Duration::from_secs(8), || both(0) && none(1)), "{}\n{}", a.log(), b.log());
    assert!(!wait_until(Duration::from_secs(3), || !(both(0) && none(1))), "{}\n{}", a.log(), b.log());
}

/// A mixed cluster with the same two-instance file: keepvip on node 0, Debian's keepalived
/// on node 1, each master of one VIP; keepvip stopping hands its VIP to keepalived, and on
/// its return (preempt, keepalived's default) takes it back; keepalived never complains.
#[test]
fn keepvip_and_keepalived_share_a_two_instance_file_each_master_of_one() {
    let lab = Lab::new(2);
    let c0 = write_conf(&lab, 0, &two_instances((200, 100), "", false));
    let mut a = start(&lab, 0, &c0);
    let k = crate::common::keepalived::spawn_conf(lab.host(1), &two_instances((100, 200), "", false));
    let split = || holds(&lab, 0, VIP_A) && !holds(&lab, 0, VIP_B) && holds(&lab, 1, VIP_B) && !holds(&lab, 1, VIP_A);
    assert!(wait_until(Duration::from_secs(8), split), "{}\n{}", a.log(), k.log());
    assert!(!wait_until(Duration::from_secs(3), || !split()), "{}\n{}", a.log(), k.log());
    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(6)).is_some_and(|s| s.success()), "{}", a.log());
    assert!(wait_until(Duration::from_secs(2), || holds(&lab, 1, VIP_A) && holds(&lab, 1, VIP_B)), "{}", k.log());
    let a2 = start(&lab, 0, &c0);
    assert!(wait_until(Duration::from_secs(8), split), "{}\n{}", a2.log(), k.log());
    let c = crate::common::keepalived::complaints(&k.log(), "198.18.0.1");
    assert!(c.is_empty(), "keepalived complained about keepvip's packets: {c:#?}");
}

/// What keepalived applies in place on a reload is applied in place: a priority edit, a VIP
/// added (on both nodes, reloaded one after the other) and a check's weight, each with a
/// client pinging the VIP — the master stays master, no ping is lost, nothing restarts.
#[test]
fn sighup_applies_priority_vips_and_weights_in_place() {
    const VIP_NEW: &str = "198.18.0.103";
    let lab = Lab::new(3);
    let conf = |prio: u8, weight: i32, extra_vip: bool| {
        let vips = if extra_vip { format!("    {VIP_A}/32\n    {VIP_NEW}/32\n") } else { format!("    {VIP_A}/32\n") };
        format!(
            "vrrp_instance VI_A {{\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  advert_int 1\n\
             \x20 unicast_peer {{\n    198.18.0.1\n    198.18.0.2\n  }}\n  track_interface {{\n    trk0 weight {weight}\n  }}\n\
             \x20 virtual_ipaddress {{\n{vips}  }}\n}}\n"
        )
    };
    for i in 0..2 {
        lab.host(i).veth("trk0", "trk1", None);
    }
    let c0 = write_conf(&lab, 0, &conf(200, -10, false));
    let c1 = write_conf(&lab, 1, &conf(100, -10, false));
    let a = start(&lab, 0, &c0);
    let b = start(&lab, 1, &c1);
    assert!(wait_until(Duration::from_secs(8), || holds(&lab, 0, VIP_A)), "{}\n{}", a.log(), b.log());
    let ping = lab.host(2).ping(VIP_A);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));

    // Priority 200 -> 150: still above the backup, applied without a move.
    std::fs::write(&c0, conf(150, -10, false)).unwrap();
    a.signal(Signal::SIGHUP);
    assert!(a.wait_log("(VI_A) reload: priority 200 -> 150, in place", Duration::from_secs(2)), "{}", a.log());
    assert!(a.log().contains("0 unchanged, 1 changed in place, 0 resigning"), "{}", a.log());
    assert!(a.wait_log("priority 200 -> 150", Duration::from_secs(2)), "{}", a.log());

    // A VIP added on both nodes, master first: the master adds it and announces it.
    std::fs::write(&c0, conf(150, -10, true)).unwrap();
    std::fs::write(&c1, conf(100, -10, true)).unwrap();
    a.signal(Signal::SIGHUP);
    b.signal(Signal::SIGHUP);
    assert!(wait_until(Duration::from_secs(3), || holds(&lab, 0, VIP_NEW)), "{}", a.log());
    // The VIP is added before the reload's log line is written.
    assert!(a.wait_log("VIPs: 1 added, 0 removed, in place", Duration::from_secs(2)), "{}", a.log());
    assert!(b.wait_log("(VI_A) reload: VIPs: 1 added, 0 removed, in place", Duration::from_secs(2)), "{}", b.log());
    assert!(!holds(&lab, 1, VIP_NEW));

    // A weight -10 -> -60: with trk0 down, 150 - 60 < 100 and the backup preempts.
    std::fs::write(&c0, conf(150, -60, true)).unwrap();
    a.signal(Signal::SIGHUP);
    assert!(a.wait_log("check weights, in place", Duration::from_secs(2)), "{}", a.log());
    // Steady for a few adverts: nothing moved, nothing lost, nothing restarted.
    assert!(!wait_until(Duration::from_secs(3), || !holds(&lab, 0, VIP_A) || holds(&lab, 1, VIP_A)), "{}", b.log());
    let (lost, _) = ping.stop();
    assert_eq!(lost, 0, "pings lost across in-place reloads\n{}\n{}", a.log(), b.log());
    for log in [a.log(), b.log()] {
        assert!(!log.contains("stopped and removed") && !log.contains("MASTER -> BACKUP"), "{log}");
    }
    lab.host(0).must(&["ip", "link", "set", "trk0", "down"]);
    assert!(a.wait_log("priority 150 -> 90", Duration::from_secs(2)), "{}", a.log());
    assert!(wait_until(Duration::from_secs(5), || holds(&lab, 1, VIP_A) && holds(&lab, 1, VIP_NEW)), "{}", b.log());
}

/// An instance without VIPs (keepalived runs VRRPv2 ones): elections and notify scripts
/// only, for set-ups where a script moves a cloud address; no address is added anywhere.
#[test]
fn an_instance_without_vips_elects_and_notifies_only() {
    let lab = Lab::new(2);
    let dir = lab.host(0).dir().to_path_buf();
    let mut procs = vec![];
    for (i, prio) in [(0usize, 200), (1, 100)] {
        let flag = dir.join(format!("{}-master", lab.host(i).ns));
        let text = format!(
            "vrrp_instance EIP {{\n  interface eth0\n  virtual_router_id 60\n  priority {prio}\n  advert_int 1\n\
             \x20 notify_master \"/usr/bin/touch {}\"\n}}\n",
            flag.display()
        );
        let conf = write_conf(&lab, i, &text);
        procs.push(start(&lab, i, &conf));
    }
    let flag = |i: usize| dir.join(format!("{}-master", lab.host(i).ns)).exists();
    assert!(wait_until(Duration::from_secs(8), || flag(0)), "{}", procs[0].log());
    assert!(procs[0].log().contains("no virtual_ipaddress: elections and notify scripts only"), "{}", procs[0].log());
    // Node 1 hears node 0's adverts (no addresses in them) and stays backup.
    assert!(!wait_until(Duration::from_secs(4), || flag(1)), "{}", procs[1].log());
    let before = lab.host(1).addrs();
    procs.remove(0);
    assert!(wait_until(Duration::from_secs(6), || flag(1)), "{}", procs[0].log());
    assert_eq!(lab.host(1).addrs(), before, "an address was added");
}

/// A reload naming an interface the host lacks (a VIP's `dev`): applied, as keepalived
/// applies it, with that instance in FAULT until the interface exists; then it runs. At
/// start the same file is refused, as keepalived refuses it.
#[test]
fn a_reload_naming_a_missing_interface_is_a_fault_until_it_exists() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let text = |dev: &str| {
        format!("vrrp_instance D {{\n  interface eth0\n  virtual_router_id 61\n  priority 200\n  virtual_ipaddress {{\n    {VIP_A}/32\n    198.18.9.1/32{dev}\n  }}\n}}\n")
    };
    let path = write_conf(&lab, 0, &text(""));
    let p = start(&lab, 0, &path);
    assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0, VIP_A)), "{}", p.log());
    std::fs::write(&path, text(" dev kvdev9")).unwrap();
    p.signal(Signal::SIGHUP);
    assert!(p.wait_log("no interface 'kvdev9' yet", Duration::from_secs(3)), "{}", p.log());
    assert!(p.wait_log("-> FAULT", Duration::from_secs(6)), "{}", p.log());
    assert!(wait_until(Duration::from_secs(6), || !holds(&lab, 0, VIP_A)), "{}", p.log());
    // The interface arrives: the instance leaves FAULT and takes both VIPs.
    h.veth("kvdev9", "kvdev9p", None);
    assert!(
        wait_until(Duration::from_secs(8), || holds(&lab, 0, VIP_A) && holds(&lab, 0, "198.18.9.1")),
        "{}",
        p.log()
    );
    let on_dev = h.sh(&["ip", "-o", "addr", "show", "dev", "kvdev9"]);
    assert!(String::from_utf8_lossy(&on_dev.stdout).contains("198.18.9.1/32"), "{}", p.log());
    // The same file at start: refused, naming the line.
    h.must(&["ip", "link", "del", "kvdev9"]);
    let o = h.run_keepvip(&[], &["--check", "--use-file", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no interface 'kvdev9'"));
}

/// `vrrp_startup_delay 3`: the address owner (priority 255), master at once otherwise,
/// takes the VIP only once the delay has passed — keepalived 2.2.7 and keepvip alike.
#[test]
fn vrrp_startup_delay_holds_even_the_owner_as_keepalived_does() {
    use crate::common::keepalived::Impl;
    let lab = Lab::new(1);
    let h = lab.host(0);
    let text = format!(
        "global_defs {{\n  vrrp_startup_delay 3\n}}\nvrrp_instance D {{\n  interface eth0\n  virtual_router_id 71\n  priority 255\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP_A}/32\n  }}\n}}\n"
    );
    for imp in [Impl::Keepalived, Impl::Keepvip] {
        let t = std::time::Instant::now();
        let mut p = imp.spawn_conf(h, &text);
        assert!(wait_until(Duration::from_secs(8), || h.has_addr(VIP_A)), "{}: no VIP\n{}", imp.name(), p.log());
        let took = t.elapsed();
        p.signal(Signal::SIGTERM);
        p.wait_exit(Duration::from_secs(5));
        assert!(wait_until(Duration::from_secs(3), || !h.has_addr(VIP_A)), "{}: VIP left behind", imp.name());
        assert!(took >= Duration::from_millis(2900), "{}: VIP after {took:?}, before the delay", imp.name());
    }
}

/// `notify_master_rx_lower_pri`: after a partition heals, the master hears the lower
/// priority node that took over meanwhile and runs the script (the cloud set-up where it
/// takes back an elastic IP the other moved); the other node's generic path is untouched.
#[test]
fn notify_master_rx_lower_pri_runs_when_a_lower_claim_is_heard() {
    let lab = Lab::new(2);
    let mark = lab.host(0).dir().join(format!("{}-rx-lower", lab.host(0).ns));
    let vi = |prio: u8, extra: &str| {
        format!(
            "global_defs {{\n  enable_script_security\n  script_user root\n}}\nvrrp_instance R {{\n  interface eth0\n  virtual_router_id 72\n  priority {prio}\n  advert_int 1\n\
             unicast_peer {{\n    198.18.0.1\n    198.18.0.2\n  }}\n{extra}  virtual_ipaddress {{\n    {VIP_A}/32\n  }}\n}}\n"
        )
    };
    let a_conf =
        write_conf(&lab, 0, &vi(200, &format!("  notify_master_rx_lower_pri \"/usr/bin/touch {}\"\n", mark.display())));
    let b_conf = write_conf(&lab, 1, &vi(100, ""));
    let a = start(&lab, 0, &a_conf);
    assert!(wait_until(Duration::from_secs(5), || holds(&lab, 0, VIP_A)), "{}", a.log());
    lab.block(0, 1, true);
    lab.block(1, 0, true);
    let b = start(&lab, 1, &b_conf);
    assert!(wait_until(Duration::from_secs(8), || holds(&lab, 1, VIP_A)), "{}", b.log());
    assert!(!mark.exists(), "no lower claim heard yet");
    // B's claim reaches A first (A's answer reaches B once the other direction heals).
    lab.block(1, 0, false);
    assert!(wait_until(Duration::from_secs(5), || mark.exists()), "{}", a.log());
    lab.block(0, 1, false);
    assert!(wait_until(Duration::from_secs(5), || !holds(&lab, 1, VIP_A)), "{}", b.log());
    assert!(holds(&lab, 0, VIP_A));
}
