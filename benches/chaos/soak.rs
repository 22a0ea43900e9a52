//! The soak's meter (`scripts/chaos --soak`): once a minute, what the VRRP nodes of one world
//! use — CPU, resident memory, file descriptors, log lines — summed over the nodes, so a
//! leak or a chatty loop shows as a trend beside the other implementation's.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::common::keepalived::Impl;
use super::world::{Setup, World};
use super::{Options, Report};

pub const MINUTE: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, Default)]
pub struct Minute {
    pub minute: u32,
    /// % of one core, all nodes' processes together.
    pub cpu_pct: f64,
    pub rss_kib: u64,
    pub fds: usize,
    pub log_lines: usize,
    pub processes: usize,
}

pub struct Meter {
    next: Instant,
    last: Instant,
    /// CPU time (ns) of each process at the last look: a process that started since counts
    /// from zero; one that ended loses at most its last minute.
    cpu: HashMap<i32, u64>,
    /// Lines of each log file at the last look (a restart writes a new file).
    lines: HashMap<PathBuf, usize>,
    /// Each process's resident memory when first seen and now, and when it was first seen.
    lives: HashMap<i32, (u32, u64, u64)>,
    pub rows: Vec<Minute>,
}

/// The longest-lived process seen: (minutes lived, RSS KiB first, RSS KiB last).
pub type Longest = (u32, u64, u64);

fn proc_field(pid: i32, file: &str) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/{file}")).ok()
}

impl Meter {
    pub fn new(now: Instant) -> Meter {
        Meter {
            next: now + MINUTE,
            last: now,
            cpu: HashMap::new(),
            lines: HashMap::new(),
            lives: HashMap::new(),
            rows: vec![],
        }
    }

    pub fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    pub fn take(&mut self, w: &World, now: Instant) {
        let minute = self.rows.len() as u32 + 1;
        let mut row = Minute { minute, ..Minute::default() };
        let mut cpu = HashMap::new();
        for n in &w.nodes {
            for pid in w.lab.host(n.host).pids() {
                let Some(ns) =
                    proc_field(pid, "schedstat").and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                else {
                    continue;
                };
                let rss: u64 = proc_field(pid, "status")
                    .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok())
                    .unwrap_or(0);
                let fds = fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
                row.cpu_pct += ns.saturating_sub(self.cpu.get(&pid).copied().unwrap_or(0)) as f64;
                row.rss_kib += rss;
                row.fds += fds;
                row.processes += 1;
                cpu.insert(pid, ns);
                self.lives.entry(pid).or_insert((minute, rss, rss)).2 = rss;
            }
            if let Some(p) = &n.proc {
                let count = fs::read_to_string(&p.log).map(|s| s.lines().count()).unwrap_or(0);
                let before = self.lines.insert(p.log.clone(), count).unwrap_or(0);
                row.log_lines += count.saturating_sub(before);
            }
        }
        let elapsed = now.duration_since(self.last).as_nanos().max(1) as f64;
        row.cpu_pct = row.cpu_pct / elapsed * 100.0;
        self.cpu = cpu;
        self.last = now;
        self.next = now + MINUTE;
        self.rows.push(row);
    }

    /// The process seen longest (its memory at its first and last look): a leak shows
    /// there, where restarts cannot hide it.
    pub fn longest(&self) -> Longest {
        let last = self.rows.len() as u32;
        let alive = |pid: &i32| self.cpu.contains_key(pid);
        self.lives
            .iter()
            .filter(|(pid, _)| alive(pid))
            .map(|(_, (from, first, now))| (last + 1 - from, *first, *now))
            .max_by_key(|l| (l.0, l.1))
            .unwrap_or_default()
    }
}

/// `--soak`: keepvip and keepalived in two worlds at once, on one set-up (default: the
/// recipe's) and one seed, so the same faults come at the same moments; each world's nodes
/// metered every minute. Writes bench/soak.json and bench/soak.md and the README's soak
/// table; 1 if keepvip broke an invariant (keepalived's violations are the reference).
pub fn main(args: &[String], out: &Path) -> i32 {
    let first = super::options(args).remove(0);
    let setup = if args.iter().any(|a| a == "--setup") { first.setup } else { Setup::ALL[0] };
    let duration = if args.iter().any(|a| a == "--duration") { first.duration } else { Duration::from_secs(3600) };
    let seed = first.seed;
    println!("chaos --soak: set-up {}, seed {seed}, {} s, keepvip beside keepalived", setup.name(), duration.as_secs());
    let reports: Vec<(Impl, Report)> = std::thread::scope(|s| {
        let runs: Vec<_> = [Impl::Keepvip, Impl::Keepalived]
            .into_iter()
            .map(|imp| {
                let o = Options { setup, seed, duration, only: None, episodes: None, imp, scenario: None, soak: true };
                s.spawn(move || (imp, super::run(&o)))
            })
            .collect();
        runs.into_iter().map(|h| h.join().expect("a soak world panicked")).collect()
    });
    let mut json = serde_json::json!({ "setup": setup.name(), "seed": seed, "seconds": duration.as_secs() });
    for (imp, r) in &reports {
        let file = out.join(format!("soak-{}-{}-{seed}.txt", setup.name(), imp.name()));
        fs::write(&file, &r.timeline).unwrap();
        println!("{}: {}", imp.name(), r.summary(&file));
        for v in &r.violations {
            println!("{}", v.line());
        }
        let minutes: Vec<serde_json::Value> = r
            .minutes
            .iter()
            .map(|m| {
                serde_json::json!({"minute": m.minute, "cpu_pct": m.cpu_pct, "rss_kib": m.rss_kib, "fds": m.fds,
                    "log_lines": m.log_lines, "processes": m.processes})
            })
            .collect();
        json[imp.name()] = serde_json::json!({
            "faults": r.faults, "windows": r.windows, "violations": r.violations.len(),
            "longest_lived": {"minutes": r.longest.0, "rss_kib_first": r.longest.1, "rss_kib_last": r.longest.2},
            "minutes": minutes,
        });
    }
    println!("minute | keepvip: cpu% rss-KiB fds lines | keepalived: cpu% rss-KiB fds lines");
    for (x, y) in reports[0].1.minutes.iter().zip(&reports[1].1.minutes) {
        println!(
            "{:6} | {:8.4} {:7} {:3} {:5} | {:8.4} {:7} {:3} {:5}",
            x.minute, x.cpu_pct, x.rss_kib, x.fds, x.log_lines, y.cpu_pct, y.rss_kib, y.fds, y.log_lines
        );
    }
    let table = table(setup, seed, duration, &reports);
    fs::create_dir_all("bench").unwrap();
    fs::write("bench/soak.json", serde_json::to_string_pretty(&json).unwrap()).unwrap();
    fs::write("bench/soak.md", &table).unwrap();
    if let Ok(readme) = fs::read_to_string("README.md") {
        let (start, end) = ("<!-- soak:start -->\n", "<!-- soak:end -->");
        if let (Some(i), Some(j)) = (readme.find(start), readme.find(end)) {
            fs::write("README.md", format!("{}{table}{}", &readme[..i + start.len()], &readme[j..])).unwrap();
        }
    }
    print!("{table}");
    println!("bench/soak.json, bench/soak.md and README.md updated");
    i32::from(!reports[0].1.violations.is_empty())
}

/// A run's minutes reduced to the README's figures, minute 1 (start-up) left out.
struct Summary {
    cpu_mean: f64,
    cpu_max: f64,
    rss_mib: Option<(f64, f64)>,
    fds: (usize, usize),
    lines_mean: f64,
    lines_max: usize,
}

impl Summary {
    fn of(minutes: &[Minute]) -> Summary {
        let m = &minutes[minutes.len().min(1)..];
        let n = m.len().max(1) as f64;
        let mib = |x: &Minute| x.rss_kib as f64 / 1024.0;
        Summary {
            cpu_mean: m.iter().map(|x| x.cpu_pct).sum::<f64>() / n,
            cpu_max: m.iter().map(|x| x.cpu_pct).fold(0.0, f64::max),
            rss_mib: m.first().zip(m.last()).map(|(a, b)| (mib(a), mib(b))),
            fds: (m.iter().map(|x| x.fds).min().unwrap_or(0), m.iter().map(|x| x.fds).max().unwrap_or(0)),
            lines_mean: m.iter().map(|x| x.log_lines).sum::<usize>() as f64 / n,
            lines_max: m.iter().map(|x| x.log_lines).max().unwrap_or(0),
        }
    }
}

/// One figure of the table, from a run and its summary.
type Cell<'a> = &'a dyn Fn(&Report, &Summary) -> String;

fn table(setup: Setup, seed: u64, duration: Duration, reports: &[(Impl, Report)]) -> String {
    let names: Vec<&str> = reports.iter().map(|(i, _)| i.name()).collect();
    let mut t = format!(
        "Soak: set-up `{}`, seed {seed}, {} min, both implementations at once on the same faults (3 nodes \
         each; figures are sums over a set-up's node processes, minute 1 left out as start-up).\n\n\
         | figure | {} |\n|---|{}\n",
        setup.name(),
        duration.as_secs() / 60,
        names.join(" | "),
        "---|".repeat(names.len())
    );
    let cells = |f: Cell| -> String {
        reports.iter().map(|(_, r)| f(r, &Summary::of(&r.minutes))).collect::<Vec<_>>().join(" | ")
    };
    let rows: [(&str, Cell); 6] = [
        ("faults / settle windows / violations", &|r, _| {
            format!("{} / {} / {}", r.faults, r.windows, r.violations.len())
        }),
        ("CPU, % of one core (mean; worst minute)", &|_, s| format!("{:.3}; {:.3}", s.cpu_mean, s.cpu_max)),
        ("resident memory, MiB (minute 2 → last)", &|_, s| match s.rss_mib {
            Some((a, b)) => format!("{a:.1} → {b:.1}"),
            None => "-".into(),
        }),
        ("longest-lived process: minutes, RSS KiB first → last", &|r, _| {
            format!("{}, {} → {}", r.longest.0, r.longest.1, r.longest.2)
        }),
        ("file descriptors (fewest; most)", &|_, s| format!("{}; {}", s.fds.0, s.fds.1)),
        ("log lines a minute (mean; most)", &|_, s| format!("{:.0}; {}", s.lines_mean, s.lines_max)),
    ];
    for (name, f) in rows {
        t += &format!("| {name} | {} |\n", cells(f));
    }
    t
}
