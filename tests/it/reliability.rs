//! The defects fault injection found: each test failed before its fix. Never a duplicate
//! VIP, never a lost one, whatever happens to the process, its addresses or interfaces.

use std::time::{Duration, Instant};

use crate::common::netns::{Lab, Proc};
use crate::common::seed::{env_with, holds, pair, MDI_100, VIP};
use crate::common::wait_until;
use nix::sys::signal::Signal;

/// Watch both nodes for `d` (every ~10 ms): how long both held the VIP, and whether
/// someone held it at the end.
fn watch_holders(lab: &Lab, d: Duration) -> (Duration, bool) {
    let end = Instant::now() + d;
    let mut both = Duration::ZERO;
    let mut last = Instant::now();
    let mut someone = false;
    while Instant::now() < end {
        let (a, b) = (holds(lab, 0), holds(lab, 1));
        let now = Instant::now();
        if a && b {
            both += now - last;
        }
        someone = a || b;
        last = now;
        std::thread::sleep(Duration::from_millis(10));
    }
    (both, someone)
}

fn count(p: &Proc, needle: &str) -> usize {
    p.log().lines().filter(|l| l.contains(needle)).count()
}

/// Longest silence between replies received after `from` (Unix seconds).
fn longest_gap_after(times: &[(f64, u32)], from: f64) -> f64 {
    let after: Vec<f64> = times.iter().map(|t| t.0).filter(|t| *t >= from - 0.05).collect();
    after.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Defect 1: A split brain heals (the frozen master resumes): the winner re-announces the VIP at
/// once, so the client leaves the loser's MAC (before: cut off until its ARP entry expired).
#[test]
fn split_brain_heal_reannounces_the_vip_and_the_client_follows_at_once() {
    let lab = Lab::new(3);
    let (a, b) = pair(&lab, &[]);
    let ping = lab.host(2).ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    // Let the master's own 5 s gratuitous ARP repeat pass first: it must not be what rescues
    // the client after the heal.
    std::thread::sleep(Duration::from_secs(6));
    a.signal(Signal::SIGSTOP);
    assert!(wait_until(MDI_100 + Duration::from_secs(1), || b.log().contains("BACKUP -> MASTER")), "{}", b.log());
    // The client follows the backup's gratuitous ARP: replies resume from it.
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 50, Duration::from_secs(5)), "the client never reached the backup");
    let healed = unix_now();
    a.signal(Signal::SIGCONT);
    assert!(wait_until(Duration::from_secs(3), || b.log().contains("MASTER -> BACKUP")), "{}", b.log());
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 100, Duration::from_secs(5)), "the client lost the VIP after the heal");
    let gap = longest_gap_after(&ping.times(), healed);
    eprintln!("longest client gap after the heal: {:.0} ms", gap * 1000.0);
    assert!(gap <= 0.100, "client gap after the heal {:.0} ms > 100 ms:\n{}", gap * 1000.0, a.log());
    assert!(a.log().contains("forcing a new election and re-announcing"), "{}", a.log());
    assert!(holds(&lab, 0) && !holds(&lab, 1));
}

/// Defect 2a: The master's source address is removed but another one remains: adverts follow it,
/// the backup never takes over (before: sends failed, the backup took over, two holders).
#[test]
fn advert_source_follows_the_interface_when_its_address_is_removed() {
    let lab = Lab::new(2);
    let a_host = lab.host(0);
    // A second address in the same subnet, promoted when the primary goes (a new lease).
    a_host.must(&["sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"]);
    a_host.must(&["ip", "addr", "add", "198.18.0.11/24", "dev", "eth0"]);
    let peers = "#PYTHON2BASH:['198.18.0.1', '198.18.0.11', '198.18.0.2']";
    let extra = [("KEEPALIVED_UNICAST_PEERS", peers)];
    let (a, b) = pair(&lab, &extra);
    a_host.must(&["ip", "addr", "del", "198.18.0.1/24", "dev", "eth0"]);
    assert!(a.wait_log("sending from 198.18.0.11", Duration::from_secs(2)), "{}", a.log());
    let (both, _) = watch_holders(&lab, MDI_100 + Duration::from_secs(2));
    eprintln!("two holders for {both:?} after the source address was removed");
    assert_eq!(both, Duration::ZERO, "two holders");
    assert!(holds(&lab, 0) && !holds(&lab, 1), "{}\n{}", a.log(), b.log());
    assert!(!b.log().contains("-> MASTER"), "{}", b.log());
}

/// Defect 2b: No address left to send from: FAULT (VIPs removed), the backup takes over, never two
/// holders; the address returns: BACKUP (nopreempt keeps the VIP where it is).
#[test]
fn master_without_any_address_faults_and_never_duplicates() {
    let lab = Lab::new(2);
    let (a, b) = pair(&lab, &[]);
    lab.host(0).must(&["ip", "addr", "del", "198.18.0.1/24", "dev", "eth0"]);
    let (both, someone) = watch_holders(&lab, MDI_100 + Duration::from_secs(1));
    eprintln!("two holders for {both:?} after the only address was removed");
    assert_eq!(both, Duration::ZERO, "two holders:\n{}\n{}", a.log(), b.log());
    assert!(someone && holds(&lab, 1), "the backup did not take over:\n{}", b.log());
    assert!(a.log().contains("has no IPv4 address to send adverts from"), "{}", a.log());
    assert!(wait_until(Duration::from_secs(2), || lab.host(0).status().state == "FAULT"));
    assert_eq!(count(&a, "has no IPv4 address"), 1, "one line per cause:\n{}", a.log());
    lab.host(0).must(&["ip", "addr", "add", "198.18.0.1/24", "dev", "eth0"]);
    assert!(a.wait_log("FAULT -> BACKUP", Duration::from_secs(2)), "{}", a.log());
    let (both, _) = watch_holders(&lab, Duration::from_secs(3));
    assert_eq!(both, Duration::ZERO);
    assert!(holds(&lab, 1) && !holds(&lab, 0), "nopreempt: the VIP stays on the backup");
}

/// Renumbered to an address the peers do not list (the source moved to a secondary, a new
/// lease): the peers would drop its adverts and take the VIP too. FAULT instead, until a
/// listed address is back; never two holders.
#[test]
fn a_master_renumbered_off_the_peer_list_faults_and_never_duplicates() {
    let lab = Lab::new(2);
    let a_host = lab.host(0);
    a_host.must(&["sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"]);
    a_host.must(&["ip", "addr", "add", "198.18.0.11/24", "dev", "eth0"]);
    let (a, b) = pair(&lab, &[]);
    a_host.must(&["ip", "addr", "del", "198.18.0.1/24", "dev", "eth0"]);
    let (both, someone) = watch_holders(&lab, MDI_100 + Duration::from_secs(1));
    assert_eq!(both, Duration::ZERO, "two holders:\n{}\n{}", a.log(), b.log());
    assert!(someone && holds(&lab, 1), "the backup did not take over:\n{}", b.log());
    assert!(a.log().contains("no address the peers list for this node (198.18.0.1) is on this host"), "{}", a.log());
    assert!(wait_until(Duration::from_secs(2), || lab.host(0).status().state == "FAULT"));
    assert!(!a.log().contains("sending from 198.18.0.11"), "{}", a.log());
    a_host.must(&["ip", "addr", "add", "198.18.0.1/24", "dev", "eth0"]);
    assert!(a.wait_log("FAULT -> BACKUP", Duration::from_secs(2)), "{}", a.log());
    let (both, _) = watch_holders(&lab, Duration::from_secs(3));
    assert_eq!(both, Duration::ZERO);
    assert!(holds(&lab, 1) && !holds(&lab, 0), "nopreempt: the VIP stays on the backup");
}

/// Defect 3: Signals whose default would kill the process (when keepvip is not PID 1) are handled:
/// HUP, USR2, PIPE and the rest are logged and survived; QUIT hands over like TERM.
#[test]
fn no_catchable_signal_kills_keepvip_without_cleanup() {
    let lab = Lab::new(2);
    let (mut a, b) = pair(&lab, &[]);
    let pid = nix::unistd::Pid::from_raw(a.pid());
    for (sig, line) in [
        (Signal::SIGHUP, "SIGHUP: keepalived would reload"),
        (Signal::SIGUSR2, "SIGUSR2: statistics: {"),
        (Signal::SIGALRM, "SIGALRM: ignored"),
        (Signal::SIGPIPE, ""),
    ] {
        nix::sys::signal::kill(pid, sig).unwrap();
        if !line.is_empty() {
            assert!(a.wait_log(line, Duration::from_secs(2)), "{sig}: {}", a.log());
        }
    }
    // A real-time signal (systemd and runtimes use them): default is to terminate.
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { nix::libc::kill(a.pid(), nix::libc::SIGRTMIN() + 3) }, 0);
    assert!(a.wait_log("SIGRTMIN+3: ignored", Duration::from_secs(2)), "{}", a.log());
    assert!(a.child.try_wait().unwrap().is_none(), "keepvip died:\n{}", a.log());
    assert!(holds(&lab, 0) && !holds(&lab, 1));
    // QUIT: the planned handover, as TERM.
    a.signal(Signal::SIGQUIT);
    let st = a.wait_exit(Duration::from_secs(8)).expect("SIGQUIT did not stop keepvip");
    assert!(st.success(), "{st:?}");
    assert!(a.log().contains("SIGQUIT: shutdown requested"), "{}", a.log());
    assert!(!holds(&lab, 0), "VIP left behind");
    assert!(wait_until(Duration::from_secs(2), || holds(&lab, 1)), "{}", b.log());
}

/// Defect 4: A VIP on its own interface (`dev vip0`): that interface going away is a FAULT like the
/// main one, so the backup takes every VIP (before: that VIP was on no node, and an error
/// line per netlink event).
#[test]
fn a_vip_interface_going_away_moves_every_vip_to_the_backup() {
    let lab = Lab::new(2);
    for i in 0..2 {
        lab.host(i).veth("vip0", "vip0p", None);
    }
    let vips = "#PYTHON2BASH:['198.18.0.100', '198.19.4.1/24 dev vip0']";
    let (a, b) = pair(&lab, &[("KEEPALIVED_VIRTUAL_IPS", vips)]);
    assert!(wait_until(Duration::from_secs(2), || lab.host(0).has_addr("198.19.4.1")));
    let t = Instant::now();
    lab.host(0).must(&["ip", "link", "del", "vip0"]);
    assert!(
        wait_until(MDI_100 + Duration::from_secs(1), || holds(&lab, 1) && lab.host(1).has_addr("198.19.4.1")),
        "the backup did not take every VIP:\n{}\n{}",
        a.log(),
        b.log()
    );
    eprintln!("every VIP on the backup {:?} after vip0 was deleted", t.elapsed());
    assert!(!holds(&lab, 0), "the faulted node kept the main VIP");
    assert_eq!(count(&a, "interface vip0 (of VIP 198.19.4.1) is gone"), 1, "{}", a.log());
    assert!(count(&a, "ERROR") <= 1, "error flood:\n{}", a.log());
    // Back: BACKUP, and the VIPs stay where they are (nopreempt).
    lab.host(0).veth("vip0", "vip0p", None);
    assert!(a.wait_log("FAULT -> BACKUP", Duration::from_secs(2)), "{}", a.log());
    let (both, _) = watch_holders(&lab, Duration::from_secs(2));
    assert_eq!(both, Duration::ZERO);
    assert!(holds(&lab, 1) && lab.host(1).has_addr("198.19.4.1"));
}

/// Defect 5: A VIP that is this host's own address is refused, and the address is left alone
/// (before: the start-up cleanup removed 198.18.0.1/24 and its subnet route).
#[test]
fn a_vip_equal_to_a_host_address_is_refused_and_the_address_kept() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let before = h.addrs();
    for vip in ["198.18.0.1", "198.18.0.1/24"] {
        let env = vec![("KEEPALIVED_VIRTUAL_IPS".to_string(), vip.to_string())];
        let mut p = h.spawn_keepvip_with(&env, &[]);
        let code = p.wait_exit(Duration::from_secs(5)).and_then(|s| s.code());
        let err = p.log();
        assert_eq!(code, Some(2), "{vip}: {err}");
        assert!(err.contains(&format!("KEEPALIVED_VIRTUAL_IPS={vip:?}")) && err.contains("PRIORITY=255"), "{err}");
        assert_eq!(h.addrs(), before, "{vip}: the host's address was touched");
    }
}

/// Defect 7: Every way out of the runtime removes the VIPs it added: here a runtime that started
/// (and took the VIP as address owner) is dropped without a shutdown, as an early error
/// return would drop it.
#[test]
fn a_runtime_dropped_after_adding_vips_removes_them() {
    let lab = Lab::new(1);
    let ns = lab.host(0).ns.clone();
    let state = lab.dir.join("dropped.json");
    let held = std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/var/run/netns/{ns}")).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let mut nl = keepvip::net::netlink::Netlink::open().unwrap();
        let host = nl.host_view().unwrap();
        let env = [
            ("KEEPALIVED_VIRTUAL_IPS".to_string(), VIP.to_string()),
            ("KEEPALIVED_PRIORITY".to_string(), "255".to_string()),
            ("KEEPALIVED_NOTIFY".to_string(), String::new()),
            ("KEEPVIP_STATE_FILE".to_string(), state.display().to_string()),
        ]
        .into();
        let cfg = keepvip::config::from_env(&env, &host).unwrap().config;
        let process = keepvip::config::process_settings(&env).unwrap();
        let mut rt = keepvip::runtime::Runtime::new(vec![cfg], &process, &host, nl).unwrap();
        rt.start().unwrap();
        let held = rt.holds_vips();
        let added = std::process::Command::new("ip").args(["-o", "addr"]).output().unwrap();
        drop(rt);
        (held, String::from_utf8_lossy(&added.stdout).contains(VIP))
    })
    .join()
    .unwrap();
    assert_eq!(held, (true, true), "the runtime should hold the VIP as address owner");
    assert!(!lab.host(0).has_addr(VIP), "VIP left behind by a dropped runtime");
}

/// Defect 8: An error in the loop (here: the socket cannot be reopened on a re-created interface
/// because the process is out of descriptors) is logged and retried, not fatal.
#[test]
fn an_error_in_the_loop_is_retried_not_fatal() {
    let lab = Lab::new(2);
    let (mut a, b) = pair(&lab, &[]);
    // The kernel hands out the lowest free descriptor: a limit at that number refuses the next.
    let open: Vec<usize> = std::fs::read_dir(format!("/proc/{}/fd", a.pid()))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    // A master also holds an ARP watch (its newest descriptor), which it closes in FAULT:
    // the limit leaves that one out too, so the reopen still finds no descriptor.
    let fds = (0..).find(|n| !open.contains(n)).unwrap() - 1;
    let pid = a.pid();
    let limit = |n: usize| {
        let out = std::process::Command::new("prlimit")
            .args([format!("--pid={pid}"), format!("--nofile={n}:")])
            .output()
            .unwrap();
        assert!(out.status.success(), "prlimit: {}", String::from_utf8_lossy(&out.stderr));
    };
    limit(fds);
    lab.unplug(0);
    lab.plug(0);
    assert!(a.wait_log("retrying in", Duration::from_secs(5)), "{}", a.log());
    assert!(a.child.try_wait().unwrap().is_none(), "keepvip exited on a loop error:\n{}", a.log());
    limit(1024);
    assert!(a.wait_log("interface state read again", Duration::from_secs(10)), "{}", a.log());
    assert!(a.wait_log("FAULT -> BACKUP", Duration::from_secs(5)), "{}", a.log());
    // Still a working member: the pair settles on exactly one holder.
    assert!(wait_until(MDI_100 + Duration::from_secs(1), || holds(&lab, 0) ^ holds(&lab, 1)));
    a.signal(Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(8)).is_some_and(|s| s.success()), "{}", a.log());
    drop(b);
}

/// Defect 9: A state file keepvip cannot write is a start-up error naming KEEPVIP_STATE_FILE and the
/// fix (before: silent, and the image's HEALTHCHECK failed forever); `--health` says why.
#[test]
fn an_unwritable_state_file_is_an_error_at_start_and_health_says_why() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let before = h.addrs();
    let file = lab.dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let path = file.join("state.json").display().to_string();
    let mut env = env_with(200, &[]);
    env.push(("KEEPVIP_STATE_FILE".into(), path.clone()));
    let mut p = h.spawn_keepvip_with(&env, &[]);
    let code = p.wait_exit(Duration::from_secs(5)).and_then(|s| s.code());
    let err = p.log();
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("KEEPVIP_STATE_FILE={path:?}: cannot write it")) && err.contains("--tmpfs /run"),
        "{err}"
    );
    assert_eq!(h.addrs(), before);
    let out = h.run_keepvip(&[("KEEPVIP_STATE_FILE".into(), path.clone())], &["--health"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("no state file at") && err.contains("refuses to start"), "{err}");
}

/// Defect 10: Counters count what happened: an advert the kernel refused is a send error, not "sent".
#[test]
fn adverts_sent_counts_datagrams_that_left() {
    let lab = Lab::new(2);
    let h = lab.host(0);
    // A firewall in the node's namespace refuses VRRP output: sendmsg fails with EPERM.
    let rules = "add table ip kv; add chain ip kv out { type filter hook output priority 0; }; add rule ip kv out ip protocol 112 drop";
    h.must(&["nft", rules]);
    let a = h.spawn_keepvip(&env_with(255, &[]));
    assert!(a.wait_log("counted as send_errors", Duration::from_secs(3)), "{}", a.log());
    let s = a.status();
    assert_eq!(s.adverts_sent, 0, "{s:?}");
    assert!(s.send_errors >= 1, "{s:?}");
    h.must(&["nft", "delete table ip kv"]);
    assert!(wait_until(Duration::from_secs(4), || lab.host(0).status().adverts_sent >= 1 || {
        a.signal(Signal::SIGUSR1);
        false
    }));
}

/// Defect 11: Two nodes on one VRID with different VIPs: the message names the VRID and both lists.
#[test]
fn different_vips_on_one_vrid_are_named_with_both_lists() {
    let lab = Lab::new(2);
    let a = lab.host(0).spawn_keepvip(&env_with(200, &[]));
    let b = lab.host(1).spawn_keepvip(&env_with(100, &[("KEEPALIVED_VIRTUAL_IPS", "198.18.0.101")]));
    let want = "198.18.0.1 advertises virtual router 51 with VIPs [198.18.0.100], ours are [198.18.0.101]";
    assert!(b.wait_log(want, Duration::from_secs(6)), "{}", b.log());
    drop(a);
}

/// Defect 12: Adverts carry IP precedence "internetwork control" (TOS 0xc0), as keepalived's do.
#[test]
fn adverts_leave_with_tos_internetwork_control() {
    let lab = Lab::new(2);
    let capture = lab.host(1).capture_one(&["-v"], "ip proto 112");
    // Multicast: the other host sees the advert without being a peer.
    let a = lab
        .host(0)
        .spawn_keepvip(&[("KEEPALIVED_VIRTUAL_IPS".into(), VIP.into()), ("KEEPALIVED_PRIORITY".into(), "255".into())]);
    let text = capture.wait(Duration::from_secs(5)).unwrap_or_else(|| panic!("no advert captured:\n{}", a.log()));
    assert!(text.contains("tos 0xc0"), "{text}");
}
