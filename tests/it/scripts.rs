//! The scripts a newcomer runs on their own machine: they install what is missing and stop
//! only the services of packages they installed themselves, never one that was there.

use std::process::Command;

/// `install_missing` with `present` commands on PATH and stub apt-get/systemctl; returns what
/// systemctl was asked and the output.
fn install(present: &[&str], pairs: &[&str]) -> (String, String) {
    let dir = std::env::temp_dir().join(format!("kvscripts{}-{}", std::process::id(), present.len()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let calls = dir.join("calls");
    let stub = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        Command::new("chmod").arg("+x").arg(&p).status().unwrap();
    };
    stub("apt-get", &format!("echo apt-get \"$@\" >> {}", calls.display()));
    stub("systemctl", &format!("echo systemctl \"$@\" >> {}", calls.display()));
    for c in present {
        stub(c, "exit 0");
    }
    let script = format!(
        ". {}; install_missing {}",
        crate::common::docker::repo_file("scripts/lib/packages.sh"),
        pairs.join(" ")
    );
    let out = Command::new("/bin/bash").args(["-c", &script]).env_clear().env("PATH", &dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let called = std::fs::read_to_string(&calls).unwrap_or_default();
    std::fs::remove_dir_all(&dir).unwrap();
    (called, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn only_a_service_the_script_installed_is_stopped() {
    // keepalived was already there (an operator's real one): never stopped.
    let (calls, out) = install(&["keepalived"], &["keepalived:keepalived", "promtool:prometheus", "tmux:tmux"]);
    assert!(calls.contains("apt-get install -y -qq --no-install-recommends prometheus tmux"), "{calls}");
    assert!(calls.contains("systemctl disable --now prometheus"), "{calls}");
    assert!(!calls.contains("keepalived"), "touched a keepalived it did not install:\n{calls}");
    assert!(out.contains("stopped the prometheus service Debian started on installing it"), "{out}");
    // Everything present: nothing installed, nothing stopped.
    let (calls, _) =
        install(&["keepalived", "promtool", "tmux"], &["keepalived:keepalived", "promtool:prometheus", "tmux:tmux"]);
    assert_eq!(calls, "");
}

#[test]
fn the_scripts_use_the_shared_installer_and_stop_nothing_else() {
    for s in ["scripts/test", "scripts/bench"] {
        let text = std::fs::read_to_string(crate::common::docker::repo_file(s)).unwrap();
        assert!(text.contains(". scripts/lib/packages.sh") && text.contains("install_missing "), "{s}");
        assert!(!text.contains("systemctl"), "{s} calls systemctl itself");
    }
}
