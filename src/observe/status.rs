//! The state file the daemon writes atomically (`/run/keepvip/state.json`), which
//! `keepvip --status` prints and `keepvip --health` judges.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::json::Obj;

/// How often the loop shows it is alive (the file's modification time, one `futimens`);
/// `--health` allows three missed refreshes.
pub const REFRESH: Duration = Duration::from_secs(5);

/// How often the counters are rewritten when nothing `--status` shows changed (SIGUSR1
/// writes them at once). Rendering the file every refresh was a sixth of an idle backup's
/// CPU: each render runs cold code (formatting, JSON) a second after the last wake.
pub const COUNTERS: Duration = Duration::from_secs(30);

/// The signal that makes the daemon write the file now: keepalived's SIGJSON (its JSON
/// state), RTMIN+2.
pub fn write_signal() -> i32 {
    nix::libc::SIGRTMIN() + 2
}

pub fn now_unix() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// One check as the state file has it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckStatus {
    pub name: String,
    pub probe: String,
    /// `init`, `up` or `down`.
    pub status: String,
    pub weight: i64,
    /// `ok`, or why the last run failed; `None` before the first.
    pub last: Option<String>,
    pub runs: u64,
    pub failures: u64,
}

/// One instance as the state file has it: what `--status` prints and `--health` judges.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceStatus {
    pub name: String,
    pub pid: u32,
    pub state: String,
    pub interface: String,
    pub interface_present: bool,
    pub fault: Option<String>,
    pub priority: u8,
    pub base_priority: u8,
    pub checks: Vec<CheckStatus>,
    /// The advert source.
    pub source: Option<String>,
    pub master: Option<String>,
    pub peers: Vec<String>,
    /// Where the peers come from when not written down: `swarm`.
    pub peers_from: Option<String>,
    /// When they last changed, and each one's node: "ADDR HOSTNAME (priority P)".
    pub peers_changed_unix: Option<f64>,
    pub peer_nodes: Vec<String>,
    /// Why the source cannot be asked now (the last peers stay).
    pub peers_problem: Option<String>,
    pub virtual_ips: Vec<String>,
    pub uptime_s: u64,
    pub last_transition: Option<String>,
    pub last_transition_unix: Option<f64>,
    pub updated_unix: f64,
    pub adverts_received: u64,
    pub adverts_sent: u64,
    pub send_errors: u64,
    pub transitions: u64,
    /// Early failover: takeovers before Master_Down_Interval, and those refuted.
    pub early_takeovers: u64,
    pub early_refuted: u64,
    /// Drops by reason.
    pub dropped: std::collections::BTreeMap<String, u64>,
    /// Other virtual routers heard on our VRID: "SOURCE [their VIPs]".
    pub collisions: Vec<String>,
    /// Other hosts answering for our VIPs while we hold them: "VIP also answered by MAC".
    pub conflicts: Vec<String>,
}

/// The whole file: the first instance's fields at the top (what one-instance readers
/// expect), every instance under `instances` when there are several. Its keys are written
/// and read here only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateFile {
    pub instances: Vec<InstanceStatus>,
}

impl CheckStatus {
    fn write(&self, o: &mut Obj<'_>) {
        o.str("name", &self.name);
        o.str("probe", &self.probe);
        o.str("status", &self.status);
        o.int("weight", self.weight);
        o.opt_str("last", self.last.as_deref());
        o.num("runs", self.runs);
        o.num("failures", self.failures);
    }

    fn from_json(v: &Value) -> Self {
        CheckStatus {
            name: text(v, "name"),
            probe: text(v, "probe"),
            status: text(v, "status"),
            weight: v["weight"].as_i64().unwrap_or(0),
            last: opt_text(v, "last"),
            runs: num(v, "runs"),
            failures: num(v, "failures"),
        }
    }
}

impl InstanceStatus {
    /// Its fields, into the object `o` (the only place their keys are written).
    fn write(&self, o: &mut Obj<'_>) {
        o.str("name", &self.name);
        o.num("pid", u64::from(self.pid));
        o.str("state", &self.state);
        o.str("interface", &self.interface);
        o.flag("interface_present", self.interface_present);
        o.opt_str("fault", self.fault.as_deref());
        o.num("priority", u64::from(self.priority));
        o.num("base_priority", u64::from(self.base_priority));
        o.objects("checks", &self.checks, CheckStatus::write);
        o.opt_str("source", self.source.as_deref());
        o.opt_str("master", self.master.as_deref());
        o.strs("peers", &self.peers);
        o.opt_str("peers_from", self.peers_from.as_deref());
        o.float("peers_changed_unix", self.peers_changed_unix);
        o.strs("peer_nodes", &self.peer_nodes);
        o.opt_str("peers_problem", self.peers_problem.as_deref());
        o.strs("virtual_ips", &self.virtual_ips);
        o.num("uptime_s", self.uptime_s);
        o.opt_str("last_transition", self.last_transition.as_deref());
        o.float("last_transition_unix", self.last_transition_unix);
        o.float("updated_unix", Some(self.updated_unix));
        o.num("adverts_received", self.adverts_received);
        o.num("adverts_sent", self.adverts_sent);
        o.num("send_errors", self.send_errors);
        o.num("transitions", self.transitions);
        o.num("early_takeovers", self.early_takeovers);
        o.num("early_refuted", self.early_refuted);
        o.counts("dropped", &self.dropped);
        o.strs("vrid_collisions", &self.collisions);
        o.strs("vip_conflicts", &self.conflicts);
    }

    pub fn to_json(&self) -> Value {
        let mut buf = vec![];
        let mut o = Obj::open(&mut buf);
        self.write(&mut o);
        o.close();
        serde_json::from_slice(&buf).unwrap_or_default()
    }

    pub fn from_json(v: &Value) -> Self {
        let list = |k: &str| -> Vec<String> {
            v[k].as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_string)).collect()
        };
        InstanceStatus {
            name: text(v, "name"),
            pid: num(v, "pid") as u32,
            state: text(v, "state"),
            interface: text(v, "interface"),
            interface_present: v["interface_present"].as_bool().unwrap_or(false),
            fault: opt_text(v, "fault"),
            priority: num(v, "priority") as u8,
            base_priority: num(v, "base_priority") as u8,
            checks: v["checks"].as_array().into_iter().flatten().map(CheckStatus::from_json).collect(),
            source: opt_text(v, "source"),
            master: opt_text(v, "master"),
            peers: list("peers"),
            peers_from: opt_text(v, "peers_from"),
            peers_changed_unix: v["peers_changed_unix"].as_f64(),
            peer_nodes: list("peer_nodes"),
            peers_problem: opt_text(v, "peers_problem"),
            virtual_ips: list("virtual_ips"),
            uptime_s: num(v, "uptime_s"),
            last_transition: opt_text(v, "last_transition"),
            last_transition_unix: v["last_transition_unix"].as_f64(),
            updated_unix: v["updated_unix"].as_f64().unwrap_or(0.0),
            adverts_received: num(v, "adverts_received"),
            adverts_sent: num(v, "adverts_sent"),
            send_errors: num(v, "send_errors"),
            transitions: num(v, "transitions"),
            early_takeovers: num(v, "early_takeovers"),
            early_refuted: num(v, "early_refuted"),
            dropped: v["dropped"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                .collect(),
            collisions: list("vrid_collisions"),
            conflicts: list("vip_conflicts"),
        }
    }
}

impl StateFile {
    /// Before the first instance runs (or between a reload's resignations and its starts).
    pub fn starting(pid: u32) -> Self {
        let init = InstanceStatus {
            pid,
            state: "INIT".into(),
            interface_present: true,
            updated_unix: now_unix(),
            ..InstanceStatus::default()
        };
        StateFile { instances: vec![init] }
    }

    /// The file's text into `out` (cleared first).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.clear();
        let mut o = Obj::open(out);
        if let Some(first) = self.instances.first() {
            first.write(&mut o);
            if self.instances.len() > 1 {
                o.objects("instances", &self.instances, InstanceStatus::write);
            }
        }
        o.close();
    }

    pub fn to_json(&self) -> Value {
        let mut buf = vec![];
        self.write_json(&mut buf);
        serde_json::from_slice(&buf).unwrap_or_default()
    }

    pub fn from_json(v: &Value) -> Self {
        let instances = match v["instances"].as_array() {
            Some(list) if !list.is_empty() => list.iter().map(InstanceStatus::from_json).collect(),
            _ => vec![InstanceStatus::from_json(v)],
        };
        StateFile { instances }
    }

    /// Read the state file; a read that races the daemon's rewrite is retried.
    pub fn read(path: &Path) -> Result<Self> {
        read(path).map(|v| Self::from_json(&v))
    }

    /// The VIPs of the instances that were MASTER when the file was last written: after a
    /// crash, what the run left on the host.
    pub fn held_vips(&self) -> Vec<std::net::IpAddr> {
        let held = self.instances.iter().filter(|i| i.state == "MASTER").flat_map(|i| &i.virtual_ips);
        held.filter_map(|v| v.split('/').next()?.parse().ok()).collect()
    }

    /// The daemon's pid and when it last wrote the file.
    pub fn first(&self) -> Option<&InstanceStatus> {
        self.instances.first()
    }
}

fn text(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

fn opt_text(v: &Value, k: &str) -> Option<String> {
    v[k].as_str().map(str::to_string)
}

fn num(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(0)
}

/// The state file, kept open and rewritten in place: the refresh runs every few seconds
/// and a rename per refresh (path lookups, directory journaling) was a third of keepvip's idle
/// CPU. A reader can catch a half-written file; [`read`] then tries again.
pub struct Writer {
    path: std::path::PathBuf,
    file: Option<std::fs::File>,
    /// Length last written: the file is truncated only when the new text is shorter.
    len: u64,
    /// The text, kept between refreshes (no allocation once it has its size).
    text: Vec<u8>,
    /// The last write failed (logged once per failing spell).
    failing: bool,
}

impl Writer {
    pub fn new(path: &Path) -> Writer {
        Writer { path: path.to_path_buf(), file: None, len: u64::MAX, text: vec![], failing: false }
    }

    pub fn write(&mut self, state: &StateFile) -> std::io::Result<()> {
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
        state.write_json(&mut self.text);
        let text = &self.text;
        let len = text.len() as u64;
        // One pwrite per refresh; ftruncate only when the file holds more: our last text was
        // longer, or another process (the previous daemon's last write as this one starts)
        // left a longer one. fstat says which, for one cheap call.
        let shorter = len < file.metadata().map_or(self.len, |m| m.len());
        let written = file.write_all_at(text, 0).and_then(|()| if shorter { file.set_len(len) } else { Ok(()) });
        match &written {
            Ok(()) => {
                self.len = len;
                if std::mem::take(&mut self.failing) {
                    log::info!("state file {} written again", self.path.display());
                }
            }
            Err(e) => {
                self.file = None; // reopen next time (the file may have been removed)
                self.len = u64::MAX;
                if !std::mem::replace(&mut self.failing, true) {
                    log::error!(
                        "KEEPVIP_STATE_FILE={:?}: cannot write it ({e}); `keepvip --health` fails until it can",
                        self.path.display().to_string()
                    );
                }
            }
        }
        written
    }

    /// The refresh between rewrites: only the modification time, which `--health` reads.
    /// An error (no file open yet, or it failed) asks for a rewrite instead.
    pub fn touch(&mut self) -> std::io::Result<()> {
        let file = self.file.as_ref().ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?;
        file.set_modified(SystemTime::now())
    }
}

/// Read the state file; a read that races the daemon's rewrite is retried.
fn read(path: &Path) -> Result<serde_json::Value> {
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
pub fn check_writable(path: &Path) -> std::result::Result<(), String> {
    Writer::new(path).write(&StateFile::starting(std::process::id())).map_err(|e| {
        format!(
            "KEEPVIP_STATE_FILE={:?}: cannot write it ({e}); with `docker run --read-only` add `--tmpfs /run`, or set KEEPVIP_STATE_FILE to a writable path (the same for `keepvip --health`)",
            path.display().to_string()
        )
    })
}

/// The state file for `--status` and `--health`, or a message that says why there is none.
pub fn load(path: &Path) -> Result<StateFile> {
    if !path.exists() {
        bail!(
            "no state file at {}: keepvip is not running, or runs with another KEEPVIP_STATE_FILE (it refuses to start when it cannot write this file; see its log)",
            path.display()
        );
    }
    StateFile::read(path)
}

/// `--status`: the file with current counters. The daemon is asked to write it (only
/// when its pid runs this very binary: a file read from another PID namespace names some
/// other process) and given a second; a daemon that does not answer leaves the file as it is.
pub fn load_current(path: &Path) -> Result<StateFile> {
    let before = load(path)?;
    let Some(first) = before.first() else { return Ok(before) };
    let ours = |pid: u32| {
        let exe = |p: &str| std::fs::read_link(format!("/proc/{p}/exe")).ok();
        pid != 0 && exe(&pid.to_string()).is_some_and(|e| Some(e) == exe("self"))
    };
    if !ours(first.pid) || crate::net::signal::send(first.pid as i32, write_signal()).is_err() {
        return Ok(before);
    }
    let end = std::time::Instant::now() + Duration::from_secs(1);
    while std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
        match load(path) {
            Ok(s) if s.first().is_some_and(|i| i.updated_unix > first.updated_unix) => return Ok(s),
            _ => {}
        }
    }
    Ok(before)
}

/// When the daemon last touched the file (its refresh between rewrites), in Unix seconds.
fn touched_unix(path: &Path) -> f64 {
    let modified = std::fs::metadata(path).and_then(|m| m.modified());
    modified.ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0.0, |d| d.as_secs_f64())
}

/// Healthy: the daemon is alive, refreshed the file recently and its interface exists.
pub fn health(path: &Path) -> Result<String> {
    let s = load(path)?;
    let first = s.first().cloned().unwrap_or_default();
    let pid = first.pid;
    if pid == 0 || !Path::new(&format!("/proc/{pid}")).exists() {
        bail!("keepvip (pid {pid}) is not running");
    }
    let age = now_unix() - first.updated_unix.max(touched_unix(path));
    if age > 3.0 * REFRESH.as_secs_f64() {
        bail!(
            "the loop has not refreshed {} for {age:.0} s (if writing it fails, keepvip's log says why)",
            path.display()
        );
    }
    if let Some(i) = s.instances.iter().find(|i| !i.interface_present) {
        bail!("interface {:?} does not exist", i.interface);
    }
    // A node that shares its VIP with another host is not healthy: clients may reach either.
    if let Some(c) = s.instances.iter().flat_map(|i| i.conflicts.iter()).next() {
        bail!("{c}: the VIP is held twice");
    }
    let states: Vec<String> = s.instances.iter().map(|i| format!("{} {}", i.state, i.interface)).collect();
    Ok(states.join(", "))
}

/// `--status`: one table per instance (headed by its name when there are several).
pub fn tables(s: &StateFile, now: f64) -> String {
    match s.instances.as_slice() {
        [one] => table(one, now),
        all => all.iter().map(|i| format!("{}\n{}", i.name, table(i, now))).collect::<Vec<_>>().join("\n"),
    }
}

/// `--status`: one instance as a short table for people.
pub fn table(s: &InstanceStatus, now: f64) -> String {
    let or_dash = |v: &str| if v.is_empty() { "-".to_string() } else { v.to_string() };
    let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
    let since = s.last_transition_unix.map_or(String::new(), |t| format!(" for {}", ago(now - t)));
    let master = match (s.state.as_str(), &s.master) {
        ("MASTER", _) => "this node".to_string(),
        (_, Some(m)) => m.clone(),
        _ => "none heard".to_string(),
    };
    let dropped: Vec<String> = s.dropped.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let priority = if s.priority != s.base_priority {
        format!("{} (configured {}, moved by weighted checks)", s.priority, s.base_priority)
    } else {
        s.priority.to_string()
    };
    // One line per check: its verdict and, while failing, why.
    let checks = s.checks.iter().map(|c| {
        let last = c.last.as_deref().filter(|l| *l != "ok").map_or(String::new(), |l| format!(": {l}"));
        let w = if c.weight == 0 { String::new() } else { format!(", weight {:+}", c.weight) };
        format!("{} {}{last}{w}", c.name, c.status)
    });
    let mut rows = vec![
        ("state", format!("{}{since}", or_dash(&s.state))),
        ("last change", or_dash(s.last_transition.as_deref().unwrap_or_default())),
        ("fault", s.fault.clone().unwrap_or_else(|| "none".into())),
        ("priority", priority),
        ("master", master),
        ("VIPs", list(&s.virtual_ips)),
        (
            "interface",
            format!("{} (adverts from {})", or_dash(&s.interface), or_dash(s.source.as_deref().unwrap_or_default())),
        ),
        ("peers", list(&s.peers)),
        ("adverts", format!("sent {}, received {}, send errors {}", s.adverts_sent, s.adverts_received, s.send_errors)),
        ("dropped", if dropped.is_empty() { "none".to_string() } else { dropped.join(", ") }),
        // States are written when they change; counters every `COUNTERS`.
        ("updated", format!("{} ago", ago(now - s.updated_unix))),
    ];
    if let Some(from) = &s.peers_from {
        // Learnt peers: from where, since when, and whose each address is.
        let at = rows.iter().position(|r| r.0 == "peers").unwrap_or(rows.len());
        let changed = s.peers_changed_unix.map_or(String::new(), |t| format!(", changed {} ago", ago(now - t)));
        let problem = s.peers_problem.as_ref().map_or(String::new(), |p| format!("; kept, as {p}"));
        rows[at] = ("peers", format!("from the {from}{changed}{problem}"));
        for (i, n) in s.peer_nodes.iter().enumerate() {
            rows.insert(at + 1 + i, ("", n.clone()));
        }
    }
    for (i, c) in checks.enumerate() {
        rows.insert(4 + i, (if i == 0 { "checks" } else { "" }, c));
    }
    // Another host answering for our VIPs: clients may reach it instead of us.
    for (i, c) in s.conflicts.iter().enumerate() {
        let at = rows.len() - 1;
        rows.insert(at, (if i == 0 { "conflicts" } else { "" }, c.clone()));
    }
    // Another cluster on our virtual router id: a misconfiguration worth its own rows.
    for (i, c) in s.collisions.iter().enumerate() {
        let at = rows.len() - 1;
        rows.insert(at, (if i == 0 { "collisions" } else { "" }, format!("{c} on our virtual router id (dropped)")));
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
#[path = "status_tests.rs"]
mod tests;
