//! Notify scripts on each transition, as keepalived runs them (`notify`: the command with
//! `INSTANCE <name> <STATE> <priority>` appended, or `GROUP <name> <STATE> 0` for a sync
//! group; `notify_master` etc.: as written), never blocking the loop.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::config::OSIXIA_NOTIFY;

/// The event of `notify_master_rx_lower_pri`: a master heard a lower priority claim master.
pub const MASTER_RX_LOWER_PRI: &str = "MASTER_RX_LOWER_PRI";

/// Why a notify script that exists cannot run in this image, said once at start: osixia's
/// `notify.sh` is a bash script, and the image has no shell (see the README).
pub fn unrunnable(script: &Path) -> Option<String> {
    let head = std::fs::read(script).ok()?;
    let first = head.split(|b| *b == b'\n').next()?;
    let interp = std::str::from_utf8(first.strip_prefix(b"#!")?).ok()?.split_whitespace().next()?.to_string();
    (!Path::new(&interp).exists()).then(|| {
        format!(
            "KEEPALIVED_NOTIFY={}: the script needs {interp}, which this image does not have, so it will not run; keepvip logs every transition itself (README: notify scripts)",
            script.display()
        )
    })
}

pub struct Notifier {
    /// `INSTANCE` or `GROUP`, as keepalived passes it.
    kind: &'static str,
    instance: String,
    /// What the user set to get the generic script: named when it cannot run.
    label: &'static str,
    /// `notify`: gets `INSTANCE <name> <STATE> <priority>` appended.
    script: Option<Vec<String>>,
    /// `notify_master` and friends: run as written.
    per_state: Vec<(String, Vec<String>)>,
    children: Vec<Child>,
    warned: bool,
}

impl Notifier {
    /// A reload changed the scripts: from the next transition on.
    pub fn set_scripts(&mut self, script: Option<Vec<String>>, per_state: Vec<(String, Vec<String>)>) {
        self.script = script;
        self.per_state = per_state;
        self.warned = false;
    }

    /// `label`: how the user names the generic script (`KEEPALIVED_NOTIFY`, `notify`).
    pub fn new(
        instance: &str,
        label: &'static str,
        script: Option<Vec<String>>,
        per_state: Vec<(String, Vec<String>)>,
    ) -> Self {
        Notifier {
            kind: "INSTANCE",
            instance: instance.to_string(),
            label,
            script,
            per_state,
            children: vec![],
            warned: false,
        }
    }

    /// A sync group's scripts: `notify` gets `GROUP <name> <STATE> 0` appended (keepalived
    /// passes priority 0 for a group).
    pub fn group(name: &str, script: Option<Vec<String>>, per_state: Vec<(String, Vec<String>)>) -> Self {
        Notifier { kind: "GROUP", ..Notifier::new(name, "notify", script, per_state) }
    }

    /// Only the event's own scripts (`notify_master_rx_lower_pri`): no generic `notify`.
    pub fn run_own(&mut self, event: &str) {
        let own: Vec<Vec<String>> = self.per_state.iter().filter(|(s, _)| s == event).map(|(_, c)| c.clone()).collect();
        for cmd in own {
            self.spawn(&cmd, &[], "notify_*");
        }
    }

    pub fn run(&mut self, state: &str, priority: u8) {
        // keepalived runs the state's own script first, then the generic one.
        let own: Vec<Vec<String>> = self.per_state.iter().filter(|(s, _)| s == state).map(|(_, c)| c.clone()).collect();
        for cmd in own {
            self.spawn(&cmd, &[], "notify_*");
        }
        if let Some(cmd) = self.script.clone() {
            let prio = priority.to_string();
            let instance = self.instance.clone();
            self.spawn(&cmd, &[self.kind, &instance, state, &prio], self.label);
        }
    }

    fn spawn(&mut self, cmd: &[String], extra: &[&str], label: &str) {
        let Some((program, args)) = cmd.split_first() else { return };
        match Command::new(program).args(args).args(extra).stdin(Stdio::null()).spawn() {
            Ok(child) => self.children.push(child),
            // osixia's default script is not in our image: transitions are logged anyway.
            Err(_) if Path::new(program) == Path::new(OSIXIA_NOTIFY) => {}
            Err(e) if !self.warned => {
                self.warned = true;
                let what = if label.starts_with("KEEPALIVED_") {
                    format!("{label}={program}")
                } else {
                    format!("{label} {program}")
                };
                log::warn!("({}) {what}: cannot run it ({e}); transitions are only logged", self.instance);
            }
            Err(_) => {}
        }
    }

    /// The scripts still running.
    pub fn pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.children.iter().map(Child::id)
    }

    /// Collect finished scripts (called on SIGCHLD and each loop turn).
    pub fn reap(&mut self) {
        self.children.retain_mut(|c| match c.try_wait() {
            Ok(Some(status)) => {
                if !status.success() {
                    log::warn!("notify script exited with {status}");
                }
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
    }
}
