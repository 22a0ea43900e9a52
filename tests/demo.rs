//! `scripts/demo --tour`: the newcomer's one-command story must keep working, and must leave
//! nothing behind.

mod common;

use std::process::Command;

#[test]
fn demo_tour_elects_fails_over_hands_over_and_cleans_up() {
    common::require_root();
    let id = format!("kvdemo{}t", std::process::id());
    let out = Command::new(common::docker::repo_file("scripts/demo"))
        .arg("--tour")
        .env("KEEPVIP_BIN", common::keepvip_bin())
        .env("KEEPVIP_DEMO_ID", &id)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{text}\n{err}", out.status);
    let row = |step: &str| -> Vec<String> {
        let line = text.lines().find(|l| l.starts_with(step)).unwrap_or_else(|| panic!("no {step:?} row:\n{text}"));
        line.split('|').map(|c| c.trim().to_string()).collect()
    };
    assert!(row("elect")[1].starts_with("n1 is MASTER"), "{text}");
    assert_eq!(row("kill master")[1], "n2 took over from n1", "{text}");
    let graceful = row("stop master");
    assert_eq!(graceful[1], "n1 took over from n2", "{text}");
    let lost: u32 = graceful[3].parse().unwrap();
    assert!(lost <= 2, "graceful stop lost {lost} pings\n{text}");
    assert_eq!(row("cut nodes apart")[1], "2 masters while split", "{text}");
    assert!(row("heal")[1].starts_with("one master (n1)"), "{text}");
    // Nothing left: no namespaces, no processes, no files.
    let ns = String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).into_owned();
    assert!(!ns.contains(&id), "namespaces left: {ns}");
    let marker = format!("KEEPVIP_DEMO={id}");
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter(|e| {
            std::fs::read(e.path().join("environ")).is_ok_and(|b| String::from_utf8_lossy(&b).contains(&marker))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "processes left: {left:?}");
    let tmp: Vec<_> = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&id))
        .collect();
    assert!(tmp.is_empty(), "files left in /tmp");
}
