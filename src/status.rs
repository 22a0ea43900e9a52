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

/// Write via a temporary file and rename, so readers never see half a file.
pub fn write(path: &Path, value: &serde_json::Value) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, value.to_string())?;
    std::fs::rename(&tmp, path)
}

pub fn read(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Healthy: the daemon is alive, refreshed the file recently and its interface exists.
pub fn health(path: &Path) -> Result<String> {
    let s = read(path)?;
    let pid = s["pid"].as_i64().unwrap_or(0);
    if pid <= 0 || !Path::new(&format!("/proc/{pid}")).exists() {
        bail!("keepvip (pid {pid}) is not running");
    }
    let age = now_unix() - s["updated_unix"].as_f64().unwrap_or(0.0);
    if age > 3.0 * REFRESH.as_secs_f64() {
        bail!("the loop has not refreshed its state for {age:.0} s");
    }
    if s["interface_present"] != true {
        bail!("interface {} does not exist", s["interface"]);
    }
    Ok(format!("{} {}", s["state"].as_str().unwrap_or("?"), s["interface"].as_str().unwrap_or("?")))
}
