//! The state file the daemon writes atomically (`/run/keepvip/state.json`), which
//! `keepvip --status` prints and `keepvip --health` judges.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

/// How often the loop refreshes the file; `--health` allows three missed refreshes.
pub const REFRESH: Duration = Duration::from_secs(5);

pub fn now_unix() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The state file, kept open and rewritten in place: the refresh runs every few seconds
/// and a rename per refresh (path lookups, directory journaling) was a third of keepvip's idle
/// CPU. A reader can catch a half-written file; [`read`] then tries again.
pub struct Writer {
    path: std::path::PathBuf,
    file: Option<std::fs::File>,
    /// Length last written: the file is truncated only when the new text is shorter.
    len: u64,
}

impl Writer {
    pub fn new(path: &Path) -> Writer {
        Writer { path: path.to_path_buf(), file: None, len: u64::MAX }
    }

    pub fn write(&mut self, value: &serde_json::Value) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                if let Some(dir) = self.path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let f = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(&self.path)?;
                self.file.insert(f)
            }
        };
        let text = value.to_string();
        let len = text.len() as u64;
        // One pwrite per refresh; ftruncate only when the text got shorter (it rarely does).
        let shorter = len < self.len;
        let written =
            file.write_all_at(text.as_bytes(), 0).and_then(|()| if shorter { file.set_len(len) } else { Ok(()) });
        match written {
            Ok(()) => self.len = len,
            Err(_) => {
                self.file = None; // reopen next time (the file may have been removed)
                self.len = u64::MAX;
            }
        }
        written
    }
}

/// Read the state file; a read that races the daemon's rewrite is retried.
pub fn read(path: &Path) -> Result<serde_json::Value> {
    let mut tries = 0;
    loop {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        match serde_json::from_str(&text) {
            Ok(v) => return Ok(v),
            Err(_) if tries < 5 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e).with_context(|| format!("parsing {}", path.display())),
        }
    }
}

/// Write a first state before anything is changed on the host: a path keepvip cannot
/// write (`docker run --read-only`) is a configuration error, not a failing healthcheck
/// later (which would make Swarm replace a healthy master again and again).
pub fn probe(path: &Path) -> std::result::Result<(), String> {
    Writer::new(path).write(&serde_json::json!({"state": "INIT", "pid": std::process::id(), "updated_unix": now_unix()})).map_err(
        |e| {
            format!(
                "KEEPVIP_STATE_FILE={:?}: cannot write it ({e}); with `docker run --read-only` add `--tmpfs /run`, or set KEEPVIP_STATE_FILE to a writable path (the same for `keepvip --health`)",
                path.display().to_string()
            )
        },
    )
}

/// Healthy: the daemon is alive, refreshed the file recently and its interface exists.
pub fn health(path: &Path) -> Result<String> {
    if !path.exists() {
        bail!(
            "no state file at {}: keepvip is not running, or runs with another KEEPVIP_STATE_FILE (it refuses to start when it cannot write this file; see its log)",
            path.display()
        );
    }
    let s = read(path)?;
    let pid = s["pid"].as_i64().unwrap_or(0);
    if pid <= 0 || !Path::new(&format!("/proc/{pid}")).exists() {
        bail!("keepvip (pid {pid}) is not running");
    }
    let age = now_unix() - s["updated_unix"].as_f64().unwrap_or(0.0);
    if age > 3.0 * REFRESH.as_secs_f64() {
        bail!(
            "the loop has not refreshed {} for {age:.0} s (if writing it fails, keepvip's log says why)",
            path.display()
        );
    }
    let all = instances(&s);
    for i in &all {
        if i["interface_present"] != true {
            bail!("interface {} does not exist", i["interface"]);
        }
    }
    let states: Vec<String> = all
        .iter()
        .map(|i| format!("{} {}", i["state"].as_str().unwrap_or("?"), i["interface"].as_str().unwrap_or("?")))
        .collect();
    Ok(states.join(", "))
}

/// Each instance's object: the list under `instances` when there are several, else the
/// file itself.
fn instances(s: &serde_json::Value) -> Vec<&serde_json::Value> {
    match s["instances"].as_array() {
        Some(list) if !list.is_empty() => list.iter().collect(),
        _ => vec![s],
    }
}

/// `--status`: one table per instance (headed by its name when there are several).
pub fn tables(s: &serde_json::Value, now: f64) -> String {
    let all = instances(s);
    if all.len() == 1 {
        return table(all[0], now);
    }
    all.iter()
        .map(|i| format!("{}\n{}", i["name"].as_str().unwrap_or("?"), table(i, now)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `--status`: the state file as a short table for people.
pub fn table(s: &serde_json::Value, now: f64) -> String {
    let text = |k: &str| s[k].as_str().unwrap_or("-").to_string();
    let list = |k: &str| {
        let v: Vec<String> =
            s[k].as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_string)).collect();
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    let num = |k: &str| s[k].as_u64().unwrap_or(0);
    let since = s["last_transition_unix"].as_f64().map_or(String::new(), |t| format!(" for {}", ago(now - t)));
    let master = match (s["state"].as_str(), s["master"].as_str()) {
        (Some("MASTER"), _) => "this node".to_string(),
        (_, Some(m)) => m.to_string(),
        _ => "none heard".to_string(),
    };
    let mut dropped: Vec<String> = s["dropped"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k} {}", v.as_u64().unwrap_or(0)))
        .collect();
    dropped.sort();
    let priority = match (s["priority"].as_u64(), s["base_priority"].as_u64()) {
        (Some(p), Some(b)) if p != b => format!("{p} (configured {b}, moved by weighted checks)"),
        _ => s["priority"].to_string(),
    };
    // One line per check: its verdict and, while failing, why.
    let checks: Vec<String> = s["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let last = c["last"].as_str().filter(|l| *l != "ok").map_or(String::new(), |l| format!(": {l}"));
            let w = c["weight"].as_i64().filter(|w| *w != 0).map_or(String::new(), |w| format!(", weight {w:+}"));
            format!("{} {}{last}{w}", c["name"].as_str().unwrap_or("?"), c["status"].as_str().unwrap_or("?"))
        })
        .collect();
    let mut rows = vec![
        ("state", format!("{}{since}", text("state"))),
        ("last change", text("last_transition")),
        ("fault", s["fault"].as_str().unwrap_or("none").to_string()),
        ("priority", priority),
        ("master", master),
        ("VIPs", list("virtual_ips")),
        ("interface", format!("{} (adverts from {})", text("interface"), text("source"))),
        ("peers", list("peers")),
        (
            "adverts",
            format!(
                "sent {}, received {}, send errors {}",
                num("adverts_sent"),
                num("adverts_received"),
                num("send_errors")
            ),
        ),
        ("dropped", if dropped.is_empty() { "none".to_string() } else { dropped.join(", ") }),
    ];
    for (i, c) in checks.into_iter().enumerate() {
        rows.insert(4 + i, (if i == 0 { "checks" } else { "" }, c));
    }
    rows.iter().map(|(k, v)| format!("{k:<12}{v}\n")).collect()
}

fn ago(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_for_people() {
        let s = serde_json::json!({
            "state": "BACKUP", "priority": 100, "master": "198.18.0.1", "interface": "eth0",
            "source": "198.18.0.2", "virtual_ips": ["198.18.0.100/32"], "peers": ["198.18.0.1"],
            "adverts_sent": 0, "adverts_received": 42, "send_errors": 0, "dropped": {"ttl": 2},
            "last_transition": "INIT -> BACKUP: start-up", "last_transition_unix": 1000.0, "fault": null,
        });
        let t = table(&s, 1185.0);
        for want in [
            "state       BACKUP for 3 min\n",
            "master      198.18.0.1\n",
            "VIPs        198.18.0.100/32\n",
            "adverts     sent 0, received 42, send errors 0\n",
            "dropped     ttl 2\n",
            "last change INIT -> BACKUP: start-up\n",
        ] {
            assert!(t.contains(want), "{want:?} in\n{t}");
        }
    }

    #[test]
    fn rewrites_in_place_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("kvstatus{}", std::process::id()));
        let path = dir.join("sub/state.json");
        let mut w = Writer::new(&path);
        w.write(&serde_json::json!({"state": "BACKUP", "padding": "x".repeat(100)})).unwrap();
        w.write(&serde_json::json!({"state": "MASTER"})).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), r#"{"state":"MASTER"}"#);
        assert_eq!(read(&path).unwrap()["state"], "MASTER");
        // A file that stays torn is an error after the retries, not a panic or a hang.
        std::fs::write(&path, r#"{"state":"MAS"#).unwrap();
        assert!(format!("{:#}", read(&path).unwrap_err()).contains("parsing"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
