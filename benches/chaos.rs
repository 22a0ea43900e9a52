//! Seeded fault injection with invariants: `scripts/chaos` (root) wraps
//! `cargo bench --bench chaos -- [--setup NAME] [--seed N] [--duration S] [--episodes K]
//! [--only I,J] [--impl keepalived] [--shrink] [--scenario half-heal] [--out DIR]`, and
//! `--soak` (`soak.rs`: keepvip beside keepalived on one schedule, metered each minute).
//!
//! A lab of three VRRP nodes and a client on one bridge (a set-up from `world.rs`); episodes
//! of one to three faults drawn from the seed (`schedule.rs`), each healed after a drawn
//! delay, then a settle window of 2 × Master_Down_Interval with no fault. Sampled every
//! ~50 ms (`observe.rs`, netlink in each namespace) and judged:
//! - in the settled part of each window (from Master_Down_Interval + 2 s after the last
//!   heal): exactly one holder per VIP;
//! - at all times: no VIP on a node whose daemon stopped after SIGTERM; no daemon exits
//!   unless told to; no panic in a log;
//! - at each window's end: `--status` (the state file) agrees with who holds the VIP; the
//!   client got a reply from the VIP in the last second;
//! - over the run: each daemon's file descriptors flat, RSS growth < 10 %, log lines a
//!   minute bounded.
//!
//! Output: a timeline (faults, heals, holder changes) in `--out` (default target/chaos),
//! and for each violation the seed, the episode, its events and the command that replays
//! it; `--shrink` replays subsets of the episodes up to it to find a smaller one. Last line:
//! `chaos: N faults, M windows, K violations`; exit 1 if K > 0. Under `cargo test`, every
//! set-up runs for a fixed seed (CI).

#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "chaos/observe.rs"]
mod observe;
#[path = "chaos/schedule.rs"]
mod schedule;
#[path = "chaos/soak.rs"]
mod soak;
#[path = "chaos/world.rs"]
mod world;

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::keepalived::Impl;
use schedule::{Episode, Fault, Menu, Rng};
use world::{Setup, World};

const SAMPLE: Duration = Duration::from_millis(50);

struct Options {
    setup: Setup,
    seed: u64,
    duration: Duration,
    /// Replay only these episodes of the seed's sequence (their indexes).
    only: Option<Vec<usize>>,
    /// Stop after this many episodes.
    episodes: Option<usize>,
    imp: Impl,
    /// A written scenario instead of the seed's episodes.
    scenario: Option<&'static str>,
    /// Meter the nodes each minute (`--soak`).
    soak: bool,
}

#[derive(Default)]
struct Report {
    faults: usize,
    windows: usize,
    violations: Vec<Violation>,
    timeline: String,
    /// The soak's minutes and its longest-lived process.
    minutes: Vec<soak::Minute>,
    longest: soak::Longest,
}

#[derive(Clone)]
struct Violation {
    episode: usize,
    what: String,
    events: String,
}

impl Violation {
    fn line(&self) -> String {
        format!("  VIOLATION in episode {}: {}\n    its events: {}", self.episode, self.what, self.events)
    }
}

impl Report {
    /// `N faults, M windows, K violations; timeline FILE`.
    fn summary(&self, timeline: &std::path::Path) -> String {
        format!(
            "{} faults, {} windows, {} violations; timeline {}",
            self.faults,
            self.windows,
            self.violations.len(),
            timeline.display()
        )
    }
}

/// One run's bookkeeping of time and of what it saw.
struct Run {
    w: World,
    t0: Instant,
    sampler: observe::Sampler,
    holders: Vec<Vec<usize>>,
    report: Report,
    episode: usize,
    episode_text: String,
    /// (pid, fds, rss KiB) per keepvip daemon, at each window's end.
    resources: Vec<(i32, usize, u64)>,
    lines_flagged: Vec<i32>,
    /// When the current episode began (Unix seconds), for the client's longest gap.
    episode_unix: f64,
    meter: Option<soak::Meter>,
}

impl Run {
    fn t(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    fn note(&mut self, line: &str) {
        let t = self.t();
        let _ = writeln!(self.report.timeline, "{t:9.3} {line}");
    }

    fn violate(&mut self, what: String) {
        // One line per kind and episode is enough to replay it.
        let head: String = what.chars().take(40).collect();
        if self.report.violations.iter().any(|v| v.episode == self.episode && v.what.starts_with(&head)) {
            return;
        }
        self.note(&format!("VIOLATION {what}"));
        let (episode, events) = (self.episode, self.episode_text.clone());
        self.report.violations.push(Violation { episode, what, events });
    }

    /// One sample: holder changes to the timeline, and the invariants that hold at all times.
    fn sample(&mut self, settled: bool) {
        if let Some(m) = self.meter.as_mut().filter(|m| m.due(Instant::now())) {
            m.take(&self.w, Instant::now());
        }
        let now = self.sampler.holders(&self.w.vips);
        if now != self.holders {
            let text: Vec<String> = self
                .w
                .vips
                .iter()
                .zip(&now)
                .map(|(v, h)| format!("{v}: {:?}", h.iter().map(|i| format!("n{i}")).collect::<Vec<_>>()))
                .collect();
            self.note(&format!("holders {}", text.join("; ")));
            self.holders = now.clone();
        }
        for k in 0..self.w.nodes.len() {
            let exited = self.w.nodes[k].proc.as_mut().and_then(|p| p.child.try_wait().ok().flatten());
            let n = &self.w.nodes[k];
            match exited {
                Some(st) if !n.told_to_exit => {
                    let log = n.proc.as_ref().map(|p| p.log()).unwrap_or_default();
                    let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
                    self.violate(format!("n{k} exited unasked ({st}): {tail}"));
                    // Start it again so the run goes on.
                    self.w.start(k);
                }
                Some(_) if n.terminated && !n.clean_stop => {
                    self.w.nodes[k].clean_stop = true;
                }
                _ => {}
            }
            if self.w.nodes[k].clean_stop {
                let held: Vec<String> =
                    self.w.vips.iter().zip(&now).filter(|(_, h)| h.contains(&k)).map(|(v, _)| v.to_string()).collect();
                if !held.is_empty() {
                    self.violate(format!("n{k} stopped cleanly but still holds {}", held.join(", ")));
                }
            }
        }
        if settled {
            for (v, h) in self.w.vips.clone().iter().zip(&now) {
                if h.len() != 1 {
                    self.violate(format!("{v} held by {} nodes {:?} in a settled window", h.len(), h));
                }
            }
        }
    }

    /// Sample until `until`.
    fn idle(&mut self, until: Instant, settled_from: Option<Instant>) {
        loop {
            let now = Instant::now();
            if now >= until {
                return;
            }
            self.sample(settled_from.is_some_and(|s| now >= s));
            std::thread::sleep(SAMPLE.min(until - now));
        }
    }

    fn apply(&mut self, k: usize, f: Fault, heal_after: Duration) {
        match f {
            Fault::Kill => self.w.kill(k),
            Fault::Freeze => self.w.freeze(k, true),
            Fault::Term => {
                if !self.w.term(k) {
                    self.note(&format!("n{k}: term skipped (not running)"));
                }
            }
            Fault::Cut => self.w.cut(k, true),
            Fault::Partition { with } => {
                self.w.isolate(k, true);
                self.w.isolate(with, true);
            }
            Fault::Drop { to } => self.w.drop_to(k, to, true),
            Fault::Address => self.w.address(k, false),
            Fault::Renumber => self.w.renumber(k, true),
            Fault::Iface => self.w.iface(k, false),
            Fault::Reload => {
                if !self.w.reload(k) {
                    self.note(&format!("n{k}: reload skipped (not running)"));
                }
            }
            Fault::Track => self.w.track(k, false),
            Fault::Burst => self.w.burst(heal_after),
        }
    }

    fn heal(&mut self, k: usize, f: Fault) {
        match f {
            Fault::Kill | Fault::Term => self.w.restart(k),
            Fault::Freeze => self.w.freeze(k, false),
            Fault::Cut => self.w.cut(k, false),
            Fault::Partition { with } => {
                self.w.isolate(k, false);
                self.w.isolate(with, false);
            }
            Fault::Drop { to } => self.w.drop_to(k, to, false),
            Fault::Address => self.w.address(k, true),
            Fault::Renumber => self.w.renumber(k, false),
            Fault::Iface => self.w.iface(k, true),
            Fault::Track => self.w.track(k, true),
            Fault::Reload | Fault::Burst => {}
        }
    }

    fn episode(&mut self, e: &Episode) {
        let start = Instant::now();
        let mut steps: Vec<(Duration, bool, usize)> = vec![];
        for (i, ev) in e.events.iter().enumerate() {
            steps.push((ev.at, true, i));
            steps.push((ev.at + ev.heal_after, false, i));
        }
        steps.sort_by_key(|s| (s.0, !s.1));
        for (at, fault, i) in steps {
            self.idle(start + at, None);
            let ev = &e.events[i];
            if fault {
                self.report.faults += 1;
                self.note(&format!(
                    "fault n{} {} (heals after {:.2} s)",
                    ev.node,
                    ev.fault.name(),
                    ev.heal_after.as_secs_f64()
                ));
                self.apply(ev.node, ev.fault, ev.heal_after);
            } else if !matches!(ev.fault, Fault::Reload | Fault::Burst) {
                self.note(&format!("heal n{} {}", ev.node, ev.fault.name()));
                self.heal(ev.node, ev.fault);
            }
        }
        self.w.heal_all();
    }

    /// 2 × Master_Down_Interval with no fault, judged from Master_Down_Interval + 2 s.
    fn window(&mut self, pinger: &common::netns::Pinger) {
        let mdi = self.w.setup.mdi();
        let start = Instant::now();
        let settled = start + mdi + Duration::from_secs(2);
        let end = start + 2 * mdi + Duration::from_secs(3);
        self.note("window");
        let started = unix_now();
        self.idle(end, Some(settled));
        self.report.windows += 1;
        // The client reaches the VIP within Master_Down_Interval + 1 s of the window's start.
        let bound = (mdi + Duration::from_secs(1)).as_secs_f64();
        if !pinger.times().iter().any(|(t, _)| *t >= started && *t <= started + bound) {
            let first = pinger.times().iter().map(|(t, _)| *t).find(|t| *t >= started);
            let after = first.map_or("not in the window".to_string(), |t| format!("{:.1} s", t - started));
            self.violate(format!(
                "the client had no reply from {} within {bound:.1} s of the window's start (first after {after})",
                self.w.ping_target
            ));
        }
        self.judge_window_end(pinger);
    }

    fn judge_window_end(&mut self, pinger: &common::netns::Pinger) {
        // For the timeline: the client's longest wait for a reply since the episode began.
        let times: Vec<f64> = pinger.times().iter().map(|t| t.0).filter(|t| *t >= self.episode_unix).collect();
        let gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        self.note(&format!("client's longest gap since the episode began: {:.2} s", gap));
        // The client reaches the VIP.
        let now = unix_now();
        let last = pinger.times().last().map(|t| t.0).unwrap_or(0.0);
        if now - last > 1.0 {
            self.violate(format!(
                "the client got no reply from {} for {:.1} s at a window's end",
                self.w.ping_target,
                now - last
            ));
        }
        // The state file says what the host shows.
        let mut found = vec![];
        let minutes = self.t0.elapsed().as_secs_f64() / 60.0;
        for k in 0..self.w.nodes.len() {
            let n = &self.w.nodes[k];
            let (Some(p), Impl::Keepvip) = (&n.proc, n.imp) else { continue };
            if p.child.id() == 0 {
                continue;
            }
            if let Some(Ok(state)) = p.state.as_ref().map(|f| keepvip::observe::status::StateFile::read(f)) {
                for (inst, (vip, holders)) in state.instances.iter().zip(self.w.vips.iter().zip(&self.holders)) {
                    let holds = holders.contains(&k);
                    if (inst.state == "MASTER") != holds {
                        found.push(format!(
                            "n{k}'s state file says {} for {} but the host {} {vip}",
                            inst.state,
                            inst.name,
                            if holds { "holds" } else { "does not hold" }
                        ));
                    }
                }
            }
            // Resources and logs.
            let pid = p.pid();
            let fds = fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
            let rss = fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok())
                .unwrap_or(0);
            if fds > 0 {
                self.resources.push((pid, fds, rss));
            }
            let log = p.log();
            if log.contains("panicked") {
                found.push(format!("n{k} logged a panic"));
            }
            let lines = log.lines().count() as f64;
            if minutes > 0.5 && lines / minutes > 300.0 && !self.lines_flagged.contains(&pid) {
                self.lines_flagged.push(pid);
                found.push(format!("n{k} logged {lines} lines in {minutes:.1} min"));
            }
        }
        for f in found {
            self.violate(f);
        }
    }

    /// Over the run: each daemon's fds flat and RSS growth under 10 % (from its second
    /// window on, so start-up is not counted).
    fn judge_resources(&mut self) {
        let mut pids: Vec<i32> = self.resources.iter().map(|r| r.0).collect();
        pids.dedup();
        for pid in pids {
            let rs: Vec<(usize, u64)> =
                self.resources.iter().filter(|r| r.0 == pid).map(|r| (r.1, r.2)).skip(1).collect();
            if rs.len() < 3 {
                continue;
            }
            let (fmin, fmax) = (rs.iter().map(|r| r.0).min().unwrap(), rs.iter().map(|r| r.0).max().unwrap());
            if fmax > fmin + 2 {
                self.violate(format!("pid {pid}: file descriptors {fmin} .. {fmax} over the run"));
            }
            let (first, last) = (rs[0].1 as f64, rs[rs.len() - 1].1 as f64);
            if first > 0.0 && last > first * 1.10 {
                self.violate(format!("pid {pid}: RSS {first} -> {last} KiB over the run"));
            }
        }
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Written scenarios, replayed with `--scenario NAME` (the recipe's nodes: n0 200, n1 150).
/// `half-heal`: n0 and n1 cannot hear each other for 6 s (both become master: n1 takes the
/// client), then n0 -> n1 heals first: n1 hears n0 and steps down, n0 never heard n1 and so
/// never re-announces; 3 s later the other direction heals.
fn scenario(name: &str) -> Episode {
    use schedule::Event;
    let s = Duration::from_secs;
    match name {
        "half-heal" => Episode {
            events: vec![
                Event { at: s(0), node: 0, fault: Fault::Drop { to: 1 }, heal_after: s(6) },
                Event { at: s(0), node: 1, fault: Fault::Drop { to: 0 }, heal_after: s(9) },
            ],
        },
        _ => panic!("--scenario {name}: the only one is half-heal"),
    }
}

/// The seed's episodes, in order.
fn episodes(o: &Options, menu: &Menu, n: usize) -> Vec<Episode> {
    let mut rng = Rng::new(o.seed ^ (o.setup as u64) << 32);
    (0..n).map(|_| schedule::episode(&mut rng, menu)).collect()
}

fn run(o: &Options) -> Report {
    let mut w = World::new(o.setup, o.imp);
    let conf = o.setup == Setup::Conf;
    let menu = Menu { nodes: w.nodes.len(), reload: conf, track: conf, iface: conf };
    let all = match o.scenario {
        Some(name) => vec![scenario(name)],
        None => episodes(o, &menu, 10_000),
    };
    for k in 0..w.nodes.len() {
        w.start(k);
    }
    let pinger = w.lab.host(w.client).ping(&w.ping_target);
    let sampler = observe::Sampler::open(&w.lab);
    let mut r = Run {
        w,
        t0: Instant::now(),
        sampler,
        holders: vec![],
        report: Report::default(),
        episode: 0,
        episode_text: String::new(),
        resources: vec![],
        lines_flagged: vec![],
        episode_unix: unix_now(),
        meter: o.soak.then(|| soak::Meter::new(Instant::now())),
    };
    r.note(&format!("set-up {} ({}), seed {}", o.setup.name(), o.imp.name(), o.seed));
    // The first election: the settled rule from the start's Master_Down_Interval on.
    r.window(&pinger);
    let order: Vec<usize> = match &o.only {
        Some(list) => list.clone(),
        None => (0..all.len()).collect(),
    };
    let end = r.t0 + o.duration;
    for (done, &i) in order.iter().enumerate() {
        if Instant::now() >= end || o.episodes.is_some_and(|k| done >= k) {
            break;
        }
        r.episode = i;
        r.episode_text = all[i]
            .events
            .iter()
            .map(|e| {
                format!(
                    "+{:.2}s n{} {} (heal {:.2}s)",
                    e.at.as_secs_f64(),
                    e.node,
                    e.fault.name(),
                    e.heal_after.as_secs_f64()
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        r.note(&format!("episode {i}: {}", r.episode_text));
        r.episode_unix = unix_now();
        r.episode(&all[i]);
        r.window(&pinger);
    }
    r.judge_resources();
    if let Some(m) = r.meter.take() {
        r.report.longest = m.longest();
        r.report.minutes = m.rows;
    }
    r.report
}

fn options(args: &[String]) -> Vec<Options> {
    let opt = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let setups: Vec<Setup> = match opt("--setup") {
        Some(s) => {
            vec![Setup::parse(&s).unwrap_or_else(|| panic!("--setup {s}: one of recipe, mixed, conf, fast, ipv6"))]
        }
        None => Setup::ALL.to_vec(),
    };
    let seed = opt("--seed").and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        (t.as_nanos() as u64) % 1_000_000
    });
    let only: Option<Vec<usize>> = opt("--only").map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    // A replay (--only, --scenario) runs its episodes whatever their time.
    let whole = only.is_some() || opt("--scenario").is_some();
    let duration =
        Duration::from_secs(opt("--duration").and_then(|s| s.parse().ok()).unwrap_or(if whole { 86_400 } else { 60 }));
    let episodes = opt("--episodes").and_then(|s| s.parse().ok());
    let imp = if opt("--impl").as_deref() == Some("keepalived") { Impl::Keepalived } else { Impl::Keepvip };
    let scenario: Option<&'static str> = opt("--scenario").map(|s| {
        if s == "half-heal" {
            "half-heal"
        } else {
            panic!("--scenario {s}: the only one is half-heal")
        }
    });
    setups
        .into_iter()
        .map(|setup| Options { setup, seed, duration, only: only.clone(), episodes, imp, scenario, soak: false })
        .collect()
}

fn replay_command(o: &Options, only: &[usize]) -> String {
    let list: Vec<String> = only.iter().map(ToString::to_string).collect();
    let imp = if o.imp == Impl::Keepalived { " --impl keepalived" } else { "" };
    format!("sudo scripts/chaos --setup {} --seed {} --only {}{imp}", o.setup.name(), o.seed, list.join(","))
}

/// Greedy: drop each episode before the failing one while the violation still shows.
fn shrink(o: &Options, failing: usize) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..=failing).collect();
    let mut i = 0;
    while i + 1 < keep.len() {
        let mut trial = keep.clone();
        trial.remove(i);
        let t = Options { only: Some(trial.clone()), episodes: None, duration: Duration::from_secs(86_400), ..*o };
        eprintln!("shrink: trying episodes {trial:?}");
        if !run(&t).violations.is_empty() {
            keep = trial;
        } else {
            i += 1;
        }
    }
    keep
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        // cargo test (CI): every set-up, a fixed seed, 60 s each.
        schedule::self_check();
        let mut bad = 0;
        for setup in Setup::ALL {
            let o = Options {
                setup,
                seed: 1,
                duration: Duration::from_secs(60),
                only: None,
                episodes: None,
                imp: Impl::Keepvip,
                scenario: None,
                soak: false,
            };
            let r = run(&o);
            eprintln!(
                "chaos {}: {} faults, {} windows, {} violations",
                setup.name(),
                r.faults,
                r.windows,
                r.violations.len()
            );
            for v in &r.violations {
                eprintln!(
                    "  episode {}: {}\n    events: {}\n    replay: {}",
                    v.episode,
                    v.what,
                    v.events,
                    replay_command(&o, &[v.episode])
                );
            }
            if !r.violations.is_empty() {
                eprintln!("{}", r.timeline);
            }
            bad += r.violations.len();
        }
        assert_eq!(bad, 0, "chaos found violations (above)");
        return;
    }
    let opt = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let out = PathBuf::from(opt("--out").unwrap_or_else(|| "target/chaos".into()));
    fs::create_dir_all(&out).unwrap();
    if args.iter().any(|a| a == "--soak") {
        std::process::exit(soak::main(&args, &out));
    }
    let (mut faults, mut windows, mut violations) = (0, 0, 0);
    for o in options(&args) {
        println!("chaos: set-up {} ({}), seed {}, {} s", o.setup.name(), o.imp.name(), o.seed, o.duration.as_secs());
        let r = run(&o);
        let file = out.join(format!("chaos-{}-{}-{}.txt", o.setup.name(), o.imp.name(), o.seed));
        fs::write(&file, &r.timeline).unwrap();
        println!("  {}", r.summary(&file));
        for v in &r.violations {
            println!("{}", v.line());
            let upto: Vec<usize> = (0..=v.episode).collect();
            println!("    replay: {}", replay_command(&o, &upto));
            if args.iter().any(|a| a == "--shrink") {
                let kept = shrink(&o, v.episode);
                println!("    shrunk: {}", replay_command(&o, &kept));
            }
        }
        faults += r.faults;
        windows += r.windows;
        violations += r.violations.len();
    }
    println!("chaos: {faults} faults, {windows} windows, {violations} violations");
    if violations > 0 {
        std::process::exit(1);
    }
}
