//! Health tracking against real services in namespaces: a Python HTTP server and TCP
//! listeners on each node, checked by keepvip's built-in probes, and keepalived.conf's
//! `vrrp_script` / `track_script` / weighted `track_interface` running a real program.

use std::time::{Duration, Instant};

use crate::common::netns::{Host, Lab, Proc};
use crate::common::seed::{env_with, holds, pair, MDI_100, VIP};
use crate::common::wait_until;

/// Whether something accepts TCP connections on 127.0.0.1:`port` in `h`.
fn accepting(h: &Host, port: u16) -> bool {
    let code = format!("import socket; socket.create_connection(('127.0.0.1', {port}), 0.5)");
    h.sh(&["python3", "-c", &code]).status.success()
}

/// A real HTTP server on 127.0.0.1:`port`, answering 200 for `/`.
fn http_server(h: &Host, port: u16) -> Proc {
    let p = h.spawn(&["python3", "-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory", "/"]);
    assert!(wait_until(Duration::from_secs(10), || accepting(h, port)), "http.server never listened:\n{}", p.log());
    p
}

/// The first check of the instance's state file.
fn check(h: &Host) -> keepvip::observe::status::CheckStatus {
    h.status().checks.into_iter().next().unwrap_or_default()
}

fn kill(p: &mut Proc) {
    p.signal(nix::sys::signal::Signal::SIGKILL);
    assert!(p.wait_exit(Duration::from_secs(5)).is_some());
}

/// The service behind the VIP dies on the master: its check fails `fall` times, it hands
/// over make-before-break (no lost ping), and goes FAULT; the service back, the check rises
/// and the node is a backup again, and with osixia's nopreempt the VIP stays put.
#[test]
fn a_dead_http_service_moves_the_vip_without_loss_and_nopreempt_keeps_it_after_rise() {
    let lab = Lab::new(3);
    let mut s0 = http_server(lab.host(0), 8080);
    let _s1 = http_server(lab.host(1), 8080);
    let checks = [
        ("KEEPALIVED_TRACK_HTTP", "http://127.0.0.1:8080/"),
        ("KEEPALIVED_TRACK_INTERVAL", "0.5"),
        ("KEEPALIVED_TRACK_FALL", "2"),
        ("KEEPALIVED_TRACK_RISE", "2"),
    ];
    let (a, b) = pair(&lab, &checks);
    assert!(wait_until(Duration::from_secs(3), || check(lab.host(0)).status == "up"), "{:?}", lab.host(0).status());
    let ping = lab.host(2).ping(VIP);
    assert!(ping.wait_replies(50, Duration::from_secs(5)));
    let t = Instant::now();
    kill(&mut s0);
    assert!(wait_until(Duration::from_secs(5), || holds(&lab, 1) && !holds(&lab, 0)), "{}\n{}", a.log(), b.log());
    let moved = t.elapsed();
    eprintln!("service killed -> VIP on the other node only: {moved:?} (fall 2 x 0.5 s)");
    assert!(moved < Duration::from_secs(3), "{moved:?}");
    assert!(a.log().contains("check http 127.0.0.1:8080/: up -> down (connection refused)"), "{}", a.log());
    assert!(a.log().contains("MASTER -> FAULT"), "{}", a.log());
    assert!(a.log().contains("took over after our priority-0 advert"), "make before break:\n{}", a.log());
    assert!(ping.wait_replies(ping.replies().len() + 50, Duration::from_secs(5)));

    // Back: two successes in a row, then BACKUP; nopreempt keeps the VIP on node 1.
    let _s0 = http_server(lab.host(0), 8080);
    assert!(a.wait_log("down -> up", Duration::from_secs(5)), "{}", a.log());
    assert!(a.wait_log("FAULT -> BACKUP", Duration::from_secs(2)), "{}", a.log());
    assert!(!wait_until(Duration::from_secs(5), || holds(&lab, 0)), "nopreempt violated:\n{}", a.log());
    assert!(holds(&lab, 1));
    let (lost, _) = ping.stop();
    assert_eq!(lost, 0, "pings lost across the handover");
    assert!(a.status().checks[0].failures >= 2);
}

/// A service that flaps every 0.5 s, checked every 0.2 s with fall 5: never five failures
/// in a row, so the VIP never moves (the check does see the failures).
#[test]
fn a_flapping_service_does_not_flap_the_vip() {
    let lab = Lab::new(2);
    let mut s0 = http_server(lab.host(0), 9000);
    let _s1 = http_server(lab.host(1), 9000);
    let checks = [
        ("KEEPALIVED_TRACK_TCP", "127.0.0.1:9000"),
        ("KEEPALIVED_TRACK_INTERVAL", "0.2"),
        ("KEEPALIVED_TRACK_FALL", "5"),
    ];
    let (a, _b) = pair(&lab, &checks);
    kill(&mut s0);
    let flapper = "import socket, time\n\
        end = time.time() + 6\n\
        while time.time() < end:\n\
        \x20   s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
        \x20   s.bind(('127.0.0.1', 9000)); s.listen(64); s.settimeout(0.02); up = time.time() + 0.5\n\
        \x20   while time.time() < up:\n\
        \x20       try: s.accept()[0].close()\n\
        \x20       except socket.timeout: pass\n\
        \x20   s.close(); time.sleep(0.5)\n";
    let mut f = lab.host(0).spawn(&["python3", "-c", flapper]);
    let end = Instant::now() + Duration::from_secs(6);
    while Instant::now() < end {
        assert!(holds(&lab, 0) && !holds(&lab, 1), "the VIP moved:\n{}", a.log());
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = f.wait_exit(Duration::from_secs(3));
    let failures = a.status().checks[0].failures;
    assert!(failures >= 4, "the flapping was not seen ({failures} failures):\n{}", a.log());
    assert!(!a.log().contains("-> FAULT") && !a.log().contains("up -> down"), "{}", a.log());
}

/// A target that accepts the connection and never answers: the HTTP check times out. The
/// node waits for that first result before it starts, so even with the higher priority it
/// never takes the VIP, and `--status` says why.
#[test]
fn a_check_that_never_answers_times_out_and_the_node_never_takes_the_vip() {
    let lab = Lab::new(2);
    let code = "import socket, time\ns = socket.socket(); s.bind(('127.0.0.1', 8081)); s.listen(8); time.sleep(600)";
    let _hung = lab.host(0).spawn(&["python3", "-c", code]);
    assert!(wait_until(Duration::from_secs(10), || accepting(lab.host(0), 8081)));
    let extra = [("KEEPALIVED_TRACK_HTTP", "http://127.0.0.1:8081/"), ("KEEPALIVED_TRACK_TIMEOUT", "0.3")];
    let a = lab.host(0).spawn_keepvip(&env_with(200, &extra));
    let b = lab.host(1).spawn_keepvip(&env_with(100, &[]));
    assert!(a.wait_log("waiting for the first result of its checks", Duration::from_secs(3)), "{}", a.log());
    assert!(a.wait_log("init -> down (timed out)", Duration::from_secs(3)), "{}", a.log());
    assert!(wait_until(MDI_100 + Duration::from_secs(2), || holds(&lab, 1)), "{}", b.log());
    assert!(!wait_until(Duration::from_secs(3), || holds(&lab, 0)), "{}", a.log());
    let status = lab
        .host(0)
        .run_keepvip(&[("KEEPVIP_STATE_FILE".into(), lab.host(0).state_file().display().to_string())], &["--status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("FAULT") && text.contains("timed out"), "{text}");
}

/// Weighted: a failing check lowers the priority below the backup's; with preempt the backup
/// takes over, and the service back raises it again, so the first node preempts back.
#[test]
fn a_weighted_check_moves_the_priority_and_preempt_decides() {
    let lab = Lab::new(2);
    let mut s0 = http_server(lab.host(0), 9000);
    let _s1 = http_server(lab.host(1), 9000);
    let checks = [
        ("KEEPALIVED_TRACK_TCP", "127.0.0.1:9000"),
        ("KEEPALIVED_TRACK_INTERVAL", "0.3"),
        ("KEEPALIVED_TRACK_WEIGHT", "-150"),
        ("KEEPALIVED_PREEMPT", "true"),
    ];
    let (a, b) = pair(&lab, &checks);
    kill(&mut s0);
    assert!(a.wait_log("priority 200 -> 50", Duration::from_secs(3)), "{}", a.log());
    assert!(wait_until(MDI_100 + Duration::from_secs(2), || holds(&lab, 1) && !holds(&lab, 0)), "{}", b.log());
    assert!(!a.log().contains("-> FAULT"), "a weighted check is not a fault:\n{}", a.log());
    let _s0 = http_server(lab.host(0), 9000);
    assert!(a.wait_log("priority 50 -> 200", Duration::from_secs(3)), "{}", a.log());
    assert!(wait_until(MDI_100 + Duration::from_secs(2), || holds(&lab, 0) && !holds(&lab, 1)), "{}", a.log());
}

/// keepalived.conf's own words for the same: `vrrp_script` running a real program (no
/// shell), `track_script`, and `track_interface` with a weight. When every node fails, no
/// node holds the VIP (keepalived's choice) and the last master says so.
#[test]
fn keepalived_conf_scripts_and_weighted_interfaces_track_the_same_way() {
    let lab = Lab::new(2);
    let dir = lab.host(0).dir().to_path_buf();
    let mut procs = vec![];
    for (i, prio) in [(0usize, 200), (1, 100)] {
        let h = lab.host(i);
        h.veth("trk0", "trk1", None);
        let flag = dir.join(format!("{}-flag", h.ns));
        std::fs::write(&flag, "").unwrap();
        let conf = dir.join(format!("{}-keepalived.conf", h.ns));
        std::fs::write(
            &conf,
            format!(
                "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
                 vrrp_script svc {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n  fall 2\n}}\n\
                 vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  advert_int 1\n\
                 \x20 track_script {{\n    svc\n  }}\n  track_interface {{\n    trk0 weight -150\n  }}\n\
                 \x20 virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
                flag.display()
            ),
        )
        .unwrap();
        procs.push(h.spawn_keepvip_with(&[], &["--loglevel", "debug", "--use-file", conf.to_str().unwrap()]));
        if i == 0 {
            assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{}", procs[0].log());
        }
    }
    let flag = |i: usize| dir.join(format!("{}-flag", lab.host(i).ns));
    // The script fails on the master: FAULT, handed over.
    std::fs::remove_file(flag(0)).unwrap();
    assert!(wait_until(Duration::from_secs(5), || holds(&lab, 1) && !holds(&lab, 0)), "{}", procs[0].log());
    assert!(procs[0].log().contains("check svc: up -> down (exited with exit status: 1)"), "{}", procs[0].log());
    // Back: keepalived's default preempt brings the VIP home.
    std::fs::write(flag(0), "").unwrap();
    assert!(wait_until(MDI_100 + Duration::from_secs(3), || holds(&lab, 0) && !holds(&lab, 1)), "{}", procs[0].log());
    // The tracked interface down: priority 200 - 150 < 100, so node 1 preempts.
    lab.host(0).must(&["ip", "link", "set", "trk0", "down"]);
    assert!(procs[0].wait_log("priority 200 -> 50", Duration::from_secs(2)), "{}", procs[0].log());
    assert!(wait_until(MDI_100 + Duration::from_secs(3), || holds(&lab, 1) && !holds(&lab, 0)), "{}", procs[1].log());
    // Every node failing: the VIP is on no node, and the last master says so.
    std::fs::remove_file(flag(0)).unwrap();
    assert!(procs[0].wait_log("BACKUP -> FAULT", Duration::from_secs(5)), "{}", procs[0].log());
    std::fs::remove_file(flag(1)).unwrap();
    assert!(wait_until(Duration::from_secs(8), || !holds(&lab, 0) && !holds(&lab, 1)), "{}", procs[1].log());
    assert!(procs[1].wait_log("the VIPs are on no node", Duration::from_secs(5)), "{}", procs[1].log());
    assert!(!wait_until(Duration::from_secs(2), || holds(&lab, 0) || holds(&lab, 1)));
}

/// As PID 1 (a container's entrypoint), keepvip inherits the orphans of its check scripts:
/// a script that leaves a background child behind every run must not fill the process
/// table with zombies.
#[test]
fn as_pid_1_the_orphans_of_check_scripts_are_reaped() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let mut env = env_with(
        200,
        &[("KEEPALIVED_TRACK_SCRIPT", "/bin/sh -c 'sleep 0.05 & exit 0'"), ("KEEPALIVED_TRACK_INTERVAL", "0.1")],
    );
    env.push(("KEEPVIP_STATE_FILE".into(), h.state_file().display().to_string()));
    let log = h.dir().join(format!("{}-pid1.log", h.ns));
    let child = h
        .cmd(&["unshare", "--pid", "--fork", crate::common::keepvip_bin(), "--loglevel", "debug"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let p = Proc { child, log, state: Some(h.state_file()) };
    // (ppid, state) of every process.
    let procs = || -> Vec<(i32, i32, char)> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| {
                let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let rest = stat.rsplit_once(')')?.1;
                let mut f = rest.split_whitespace();
                let state = f.next()?.chars().next()?;
                Some((pid, f.next()?.parse().ok()?, state))
            })
            .collect()
    };
    let mut kv = 0;
    assert!(wait_until(Duration::from_secs(5), || {
        kv = procs().iter().find(|(_, ppid, _)| *ppid == p.pid()).map_or(0, |x| x.0);
        kv != 0
    }));
    // The counters are current once the daemon (under unshare) has written them (USR1).
    let usr1 = || nix::sys::signal::kill(nix::unistd::Pid::from_raw(kv), nix::sys::signal::Signal::SIGUSR1).is_ok();
    assert!(wait_until(Duration::from_secs(5), || usr1() && check(h).runs >= 20), "{}", p.log());
    let zombies = procs().iter().filter(|(_, ppid, s)| *ppid == kv && *s == 'Z').count();
    assert!(zombies <= 2, "{zombies} zombies under keepvip (PID 1):\n{}", p.log());
    assert_eq!(check(h).status, "up", "{}", p.log());
}

/// keepalived.conf's `vrrp_track_process`, the "hold the VIP where haproxy runs" set-up:
/// a weighted process check on the master. The process dies: the master's priority drops
/// below the backup's, which preempts; the process back (two of them, within quorum): the
/// VIP comes home. A third copy breaks `quorum_max` as keepalived counts it.
#[test]
fn a_tracked_process_moves_the_vip_with_its_weight_and_quorum() {
    let lab = Lab::new(2);
    let dir = lab.host(0).dir().to_path_buf();
    // A program of our own name (the kernel's 15 bytes): no other process matches it.
    let name = format!("kvtp{}", std::process::id() % 1_000_000);
    let program = dir.join(&name);
    std::fs::copy("/bin/sleep", &program).unwrap();
    let run = || lab.host(0).spawn(&[program.to_str().unwrap(), "600"]);
    let mut first = run();
    let mut procs = vec![];
    for (i, prio) in [(0usize, 200), (1, 100)] {
        let h = lab.host(i);
        let conf = dir.join(format!("{}-keepalived.conf", h.ns));
        let track = if i == 0 {
            format!("vrrp_track_process svc {{\n  process {name}\n  weight -150\n  quorum 1\n  quorum_max 2\n}}\n")
        } else {
            String::new()
        };
        let tracked = if i == 0 { "  track_process {\n    svc\n  }\n" } else { "" };
        std::fs::write(
            &conf,
            format!(
                "{track}vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  advert_int 1\n\
                 {tracked}  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
            ),
        )
        .unwrap();
        procs.push(h.spawn_keepvip_with(&[], &["--use-file", conf.to_str().unwrap()]));
        if i == 0 {
            assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{}", procs[0].log());
        }
    }
    assert!(wait_until(Duration::from_secs(3), || check(lab.host(0)).status == "up"), "{:?}", lab.host(0).status());
    assert_eq!(check(lab.host(0)).probe, format!("process {name} (1..2)"));
    // The process dies: 200 - 150 = 50 < 100, and the backup (keepalived's default preempt)
    // takes the VIP.
    kill(&mut first);
    assert!(procs[0].wait_log("priority 200 -> 50", Duration::from_secs(3)), "{}", procs[0].log());
    assert!(wait_until(MDI_100 + Duration::from_secs(3), || holds(&lab, 1) && !holds(&lab, 0)), "{}", procs[1].log());
    // Two copies: within quorum; the VIP comes home.
    let mut two = [run(), run()];
    assert!(procs[0].wait_log("priority 50 -> 200", Duration::from_secs(3)), "{}", procs[0].log());
    assert!(wait_until(MDI_100 + Duration::from_secs(3), || holds(&lab, 0) && !holds(&lab, 1)), "{}", procs[0].log());
    // A third: above quorum_max 2, down again.
    let mut third = run();
    assert!(procs[0].wait_log("check svc: up -> down (3 running)", Duration::from_secs(3)), "{}", procs[0].log());
    for p in two.iter_mut().chain([&mut third]) {
        kill(p);
    }
}
