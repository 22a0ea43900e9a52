//! `scripts/demo --tour`: the newcomer's one-command story must keep working, and must leave
//! nothing behind.

use std::process::Command;

/// `scripts/demo --tour` with `bin` as keepvip; returns the lab id and the output.
fn tour(suffix: &str, bin: &str) -> (String, std::process::Output) {
    tour_with(suffix, bin, &[])
}

fn tour_with(suffix: &str, bin: &str, args: &[&str]) -> (String, std::process::Output) {
    crate::common::require_root();
    let id = format!("kvdemo{}{suffix}", std::process::id());
    let out = Command::new(crate::common::docker::repo_file("scripts/demo"))
        .arg("--tour")
        .args(args)
        .env("KEEPVIP_BIN", bin)
        .env("KEEPVIP_DEMO_ID", &id)
        .output()
        .unwrap();
    (id, out)
}

#[test]
fn demo_tour_elects_fails_over_hands_over_and_cleans_up() {
    let (id, out) = tour("t", crate::common::keepvip_bin());
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{text}\n{err}", out.status);
    let row = |step: &str| -> Vec<String> {
        let line = text.lines().find(|l| l.starts_with(step)).unwrap_or_else(|| panic!("no {step:?} row:\n{text}"));
        line.split('|').map(|c| c.trim().to_string()).collect()
    };
    assert!(row("elect")[1].starts_with("n1 is MASTER"), "{text}");
    assert_eq!(row("kill master")[1], "n2 took over from n1", "{text}");
    // The killed node's stale copy is gone once it is back: never two holders for long.
    assert_eq!(row("restart n1")[1], "n1 back as BACKUP, VIP on n2", "{text}");
    let graceful = row("stop master");
    assert_eq!(graceful[1], "n1 took over from n2", "{text}");
    let lost: u32 = graceful[3].parse().unwrap();
    assert!(lost <= 2, "graceful stop lost {lost} pings\n{text}");
    assert_eq!(row("cut nodes apart")[1], "2 masters while split", "{text}");
    assert!(row("heal")[1].starts_with("one master (n1)"), "{text}");
    // Nothing left: no namespaces, no processes, no files.
    assert_eq!(leftovers(&id), (String::new(), 0), "namespaces or processes left");
    let tmp: Vec<_> = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&id))
        .collect();
    assert!(tmp.is_empty(), "files left in /tmp");
}

/// `--prometheus`: a real Prometheus with the project's alert rules watches the tour, and
/// the split brain fires the two-holders alert; nothing is left behind either.
#[test]
fn demo_tour_with_prometheus_fires_the_split_brain_alert() {
    let (id, out) = tour_with("p", crate::common::keepvip_bin(), &["--prometheus"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}\n{text}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let alert = text.lines().find(|l| l.starts_with("alert ")).unwrap_or_else(|| panic!("no alert row:\n{text}"));
    assert!(alert.contains("KeepvipVipOnSeveralNodes after"), "{text}");
    assert_eq!(leftovers(&id), (String::new(), 0), "namespaces or processes left");
}

/// Run a command in a detached tmux session (the demo's live view needs a terminal).
struct Tmux {
    session: String,
}

impl Tmux {
    fn start(session: &str, cmd: &str) -> Tmux {
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", session, "-x", "120", "-y", "30", cmd])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        Tmux { session: session.to_string() }
    }

    fn screen(&self) -> String {
        let o = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.session]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        assert!(Command::new("tmux").args(["send-keys", "-t", &self.session, keys]).status().unwrap().success());
    }

    fn alive(&self) -> bool {
        let o = Command::new("tmux").args(["has-session", "-t", &self.session]).output().unwrap();
        o.status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.session]).status();
    }
}

fn leftovers(id: &str) -> (String, usize) {
    let ns = String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).into_owned();
    let marker = format!("KEEPVIP_DEMO={id}");
    let procs = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read(e.path().join("environ")).is_ok_and(|b| String::from_utf8_lossy(&b).contains(&marker))
        })
        .count();
    (ns.lines().filter(|l| l.contains(id)).collect::<Vec<_>>().join(","), procs)
}

/// `scripts/demo` in its live mode inside tmux; `suffix` keeps the lab's names unique.
fn live_demo(suffix: &str) -> (String, Tmux) {
    crate::common::require_root();
    let id = format!("kvdemo{}{suffix}", std::process::id());
    let cmd = format!(
        "KEEPVIP_BIN={} KEEPVIP_DEMO_ID={id} {}",
        crate::common::keepvip_bin(),
        crate::common::docker::repo_file("scripts/demo")
    );
    let t = Tmux::start(&id, &cmd);
    (id, t)
}

/// Press `key`: the demo must end and leave no namespace or process behind.
fn quits_cleanly(t: &Tmux, id: &str, key: &str) {
    t.keys(key);
    assert!(crate::common::wait_until(std::time::Duration::from_secs(10), || !t.alive()), "{key} did not quit");
    assert_eq!(leftovers(id), (String::new(), 0), "namespaces or processes left after {key}");
}

#[test]
fn live_view_shows_state_reacts_to_keys_and_q_tears_down() {
    let (id, t) = live_demo("l");
    // The view redraws twice a second: wait for a whole screen that shows all of it.
    let screen_has = |want: &[&str]| {
        crate::common::wait_until(std::time::Duration::from_secs(10), || {
            let screen = t.screen();
            want.iter().all(|w| screen.contains(w))
        })
    };
    assert!(screen_has(&["n1       MASTER", "n2       BACKUP"]), "{}", t.screen());
    t.keys("k");
    assert!(
        screen_has(&["kill master: n2 took over from n1 (VIP unreachable", "n1       stopped", "n2       MASTER"]),
        "{}",
        t.screen()
    );
    quits_cleanly(&t, &id, "q");
}

/// k→s, k→k and c→h in the live view: every step line tells what happened, and none claims
/// a takeover that did not happen (a killed node keeps a stale VIP until it restarts).
#[test]
fn live_view_never_claims_a_takeover_that_did_not_happen() {
    let (id, t) = live_demo("x");
    let wait_screen = |want: &[&str]| {
        let ok = crate::common::wait_until(std::time::Duration::from_secs(15), || {
            let screen = t.screen();
            want.iter().all(|w| screen.contains(w))
        });
        assert!(ok, "wanted {want:?}:\n{}", t.screen());
    };
    let one_master = || {
        let ok = crate::common::wait_until(std::time::Duration::from_secs(15), || {
            let s = t.screen();
            s.matches("MASTER").count() == 1 && s.contains("BACKUP")
        });
        assert!(ok, "{}", t.screen());
    };
    wait_screen(&["n1       MASTER", "n2       BACKUP"]);
    // Every line of the view fits 80 columns.
    assert!(t.screen().lines().all(|l| l.trim_end().chars().count() <= 80), "{}", t.screen());
    // k then s: n2 takes over, then n2 stops with nobody left to take over.
    t.keys("k");
    wait_screen(&["kill master: n2 took over from n1 (VIP unreachable"]);
    wait_screen(&["n1       stopped    200       stale copy (killed; removed at restart)"]);
    t.keys("s");
    wait_screen(&["stop master: n2 stopped; no other node runs: VIP down until r"]);
    assert!(!t.screen().contains("took over from n2"), "{}", t.screen());
    t.keys("r");
    one_master();
    // k then k: the second kill leaves nobody; it must not claim a takeover by the dead node.
    t.keys("k");
    wait_screen(&["kill master: n"]);
    assert!(t.screen().contains("took over from"), "{}", t.screen());
    t.keys("k");
    wait_screen(&["stopped; no other node runs: VIP down until r"]);
    t.keys("r");
    one_master();
    // c then h: two masters while cut, one after the heal, and the heal line has no gap.
    t.keys("c");
    wait_screen(&["nodes cut apart"]);
    assert!(crate::common::wait_until(std::time::Duration::from_secs(10), || t.screen().matches("MASTER").count() == 2));
    t.keys("h");
    wait_screen(&["heal: one master ("]);
    assert!(!t.screen().contains("unreachable - ms"), "{}", t.screen());
    quits_cleanly(&t, &id, "q");
}

#[test]
fn ctrl_c_tears_down_too() {
    let (id, t) = live_demo("c");
    assert!(crate::common::wait_until(std::time::Duration::from_secs(10), || t.screen().contains("keepvip demo")));
    let running = crate::common::wait_until(std::time::Duration::from_secs(10), || leftovers(&id).1 != 0);
    assert!(running, "the demo's processes should be running:\n{}", t.screen());
    quits_cleanly(&t, &id, "C-c");
}

#[test]
fn a_failing_tour_exits_non_zero_and_still_cleans_up() {
    // A "keepvip" that exits at once: no master is ever elected.
    let (id, out) = tour("f", "/bin/false");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAILED: no single master"), "{text}");
    assert_eq!(leftovers(&id), (String::new(), 0), "namespaces or processes left after a failure");
}

#[test]
fn the_live_view_without_a_terminal_says_to_use_the_tour() {
    crate::common::require_root();
    let id = format!("kvdemo{}n", std::process::id());
    let out = Command::new(crate::common::docker::repo_file("scripts/demo"))
        .env("KEEPVIP_BIN", crate::common::keepvip_bin())
        .env("KEEPVIP_DEMO_ID", &id)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no terminal for the live view: run scripts/demo --tour"), "{err}");
    assert!(out.stdout.len() < 200, "it drew screens: {} bytes", out.stdout.len());
    assert_eq!(leftovers(&id), (String::new(), 0));
}
