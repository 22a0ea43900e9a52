//! `KEEPALIVED_NOTIFY`: run the script on each transition as keepalived does
//! (`<script> INSTANCE VI_1 <STATE> <priority>`), never blocking the loop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::config::OSIXIA_NOTIFY;

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
    script: Option<PathBuf>,
    children: Vec<Child>,
    warned: bool,
}

impl Notifier {
    pub fn new(script: Option<PathBuf>) -> Self {
        Notifier { script, children: vec![], warned: false }
    }

    pub fn run(&mut self, state: &str, priority: u8) {
        let Some(script) = self.script.clone() else { return };
        match Command::new(&script)
            .args(["INSTANCE", "VI_1", state, &priority.to_string()])
            .stdin(Stdio::null())
            .spawn()
        {
            Ok(child) => self.children.push(child),
            // osixia's default script is not in our image: transitions are logged anyway.
            Err(_) if script == Path::new(OSIXIA_NOTIFY) => {}
            Err(e) if !self.warned => {
                self.warned = true;
                log::warn!("KEEPALIVED_NOTIFY={}: cannot run it ({e}); transitions are only logged", script.display());
            }
            Err(_) => {}
        }
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
