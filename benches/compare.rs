//! keepvip beside keepalived 2.2.7, same namespaces, same environment, same run.
//! `cargo bench --bench compare -- [--runs N] [--out DIR]` (root; scripts/bench wraps it).
//! Unplanned failovers cut the master's cable after killing its processes (the host is
//! gone): keepvip's early failover applies (`--early` measures it beside the other cases).
//! Under `cargo test` it runs one quick scenario per implementation so the harness itself is
//! tested in CI.

#[path = "compare/backup.rs"]
mod backup;
#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "compare/early.rs"]
mod early;
#[path = "compare/health.rs"]
mod health;
#[path = "compare/instances.rs"]
mod instances;
#[path = "compare/ipv6.rs"]
mod ipv6;
#[path = "compare/scale.rs"]
mod scale;
#[path = "compare/swarm.rs"]
mod swarm;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::keepalived::Impl;
use common::netns::{Host, Lab, Proc};
use common::seed::{PEERS, VIP};
use common::{seed_env, wait_until};
use nix::sys::signal::Signal;

const IMPLS: [Impl; 2] = [Impl::Keepvip, Impl::Keepalived];

fn env(prio: u32, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut e = seed_env(&PEERS, VIP, prio);
    e.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    e
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// One measurement series: values, and the client's replies around the event of the first run.
#[derive(Default)]
struct Series {
    values: Vec<f64>,
    timeline: Vec<f64>,
}

impl Series {
    fn stats(&self) -> (f64, f64) {
        let mut v = self.values.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        if n == 0 {
            return (f64::NAN, f64::NAN);
        }
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        (median, v[n - 1])
    }
}

/// Two nodes in the seed's shape plus a client; returns the processes once exactly one
/// node holds the VIP, and which one.
fn cluster(lab: &Lab, imp: Impl, prios: [u32; 2], extra: &[(&str, &str)]) -> (Vec<Proc>, usize) {
    let procs: Vec<Proc> = (0..2).map(|i| imp.spawn(lab.host(i), &env(prios[i], extra), &[])).collect();
    let one = || lab.host(0).has_addr(VIP) ^ lab.host(1).has_addr(VIP);
    assert!(wait_until(Duration::from_secs(8), one), "{}: no master", imp.name());
    let master = if lab.host(0).has_addr(VIP) { 0 } else { 1 };
    (procs, master)
}

/// Longest gap between two replies (ms), and reply times relative to `event`.
fn gap(times: &[(f64, u32)], event: f64) -> (f64, Vec<f64>) {
    let t: Vec<f64> = times.iter().map(|(t, _)| *t).collect();
    let worst = t.windows(2).filter(|w| w[1] >= event - 0.05).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    (worst * 1000.0, t.iter().map(|x| x - event).filter(|x| (-0.5..5.0).contains(x)).collect())
}

#[derive(Clone, Copy)]
enum Stop {
    /// SIGKILL everything on the node and unplug it.
    Crash,
    /// SIGTERM (docker stop).
    Graceful,
    /// SIGSTOP everything on the node and unplug it (a hung host).
    Freeze,
}

/// The client's longest reply gap when the master goes away.
fn failover(
    imp: Impl,
    prios: [u32; 2],
    extra: &[(&str, &str)],
    stop: Stop,
    rss: Option<&mut Vec<f64>>,
) -> (f64, Vec<f64>) {
    let lab = Lab::new(3);
    let (procs, m) = cluster(&lab, imp, prios, extra);
    let mut ping = lab.host(2).ping(VIP);
    assert!(ping.wait_replies(50, Duration::from_secs(5)), "{}: no replies from the VIP", imp.name());
    // As master serving the client (half a second of pings after the election).
    if let Some(r) = rss {
        r.push(node_rss_kib(lab.host(m)) as f64);
    }
    if !matches!(stop, Stop::Graceful) {
        // A host dies at any point of its advert cycle: draw the phase.
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        std::thread::sleep(Duration::from_millis(u64::from(nanos % 1000)));
    }
    let event = unix_now();
    match stop {
        Stop::Crash => {
            lab.host(m).kill_all();
            lab.cut(m);
        }
        Stop::Graceful => procs[m].signal(Signal::SIGTERM),
        Stop::Freeze => {
            for pid in lab.host(m).pids() {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGSTOP);
            }
            lab.cut(m);
        }
    }
    let other = 1 - m;
    assert!(wait_until(Duration::from_secs(8), || lab.host(other).has_addr(VIP)), "{}: no takeover", imp.name());
    let n = ping.replies().len();
    assert!(ping.wait_replies(n + 50, Duration::from_secs(5)), "{}: replies did not resume", imp.name());
    ping.interrupt();
    gap(&ping.times(), event)
}

fn node_rss_kib(h: &Host) -> u64 {
    h.pids().iter().filter_map(|p| status_field(*p, "VmRSS:")).sum()
}

fn status_field(pid: i32, field: &str) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (ns) of every process on the node: /proc/PID/schedstat's first field.
fn node_cpu_ns(h: &Host) -> u64 {
    h.pids()
        .iter()
        .filter_map(|p| {
            fs::read_to_string(format!("/proc/{p}/schedstat")).ok()?.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// From exec to the first advert seen by the peer (ms), priority 255 so it starts as master.
fn first_advert(imp: Impl) -> f64 {
    let lab = Lab::new(2);
    let sock = common::inject::raw_socket_in(&lab.host(1).ns, 112);
    let tv = nix::sys::time::TimeVal::new(5, 0);
    nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::ReceiveTimeout, &tv).unwrap();
    let t0 = Instant::now();
    let _p = imp.spawn(lab.host(0), &env(255, &[]), &[]);
    let mut buf = [0u8; 2048];
    loop {
        let n = nix::sys::socket::recv(sock.as_raw_fd(), &mut buf, nix::sys::socket::MsgFlags::empty())
            .unwrap_or_else(|e| panic!("{}: no advert within 5 s: {e}", imp.name()));
        // The IPv4 header then a VRRP advert from node 0.
        if n >= 28 && buf[12..16] == [198, 18, 0, 1] {
            return t0.elapsed().as_secs_f64() * 1000.0;
        }
    }
}

/// 256 VIPs: on takeover, from the first VIP added to the last (ms), from `ip -ts monitor`.
fn vip_scale(imp: Impl) -> f64 {
    // `ip monitor` loses events when its socket buffer overflows in the burst (seen with
    // keepalived's 256 one-by-one additions): such a run measures nothing, so run it again.
    for _ in 0..3 {
        if let Some(ms) = vip_scale_once(imp) {
            return ms;
        }
        eprintln!("{}: ip monitor missed additions; measuring again", imp.name());
    }
    panic!("{}: ip monitor missed VIP additions three times", imp.name());
}

fn vip_scale_once(imp: Impl) -> Option<f64> {
    let vips: Vec<String> = (1..=256).map(|i| format!("'198.19.{}.{}'", i / 256, i % 256)).collect();
    let list = format!("#PYTHON2BASH:[{}]", vips.join(", "));
    let lab = Lab::new(2);
    let mk = |prio: u32| {
        let mut e = seed_env(&PEERS, "x", prio);
        e.retain(|(k, _)| k != "KEEPALIVED_VIRTUAL_IPS");
        e.push(("KEEPALIVED_VIRTUAL_IPS".into(), list.clone()));
        e
    };
    let _a = imp.spawn(lab.host(0), &mk(200), &[]);
    let _b = imp.spawn(lab.host(1), &mk(100), &[]);
    let count = |h: &Host| h.addrs().matches(" inet 198.19.").count();
    assert!(wait_until(Duration::from_secs(8), || count(lab.host(0)) == 256), "{}: 256 VIPs never up", imp.name());
    let h1 = lab.host(1);
    let mon = AddressMonitor::start(h1, &lab.dir.join("monitor.txt"));
    lab.host(0).kill_all();
    lab.cut(0);
    assert!(wait_until(Duration::from_secs(8), || count(h1) == 256), "{}: no takeover of 256 VIPs", imp.name());
    let stamps = mon.additions(" inet 198.19.");
    (stamps.len() == 256).then(|| (stamps[255] - stamps[0]) * 1000.0)
}

/// `tcpdump -tt` of `filter` on a host's eth0 into `out`, attached before it returns.
pub fn capture(h: &Host, filter: &str, out: &std::path::Path) -> std::process::Child {
    let dump = h
        .cmd(&["tcpdump", "-l", "-n", "-tt", "-i", "eth0", filter])
        .stdout(fs::File::create(out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = dump.id();
    assert!(wait_until(Duration::from_secs(5), || {
        fs::read_to_string(format!("/proc/{pid}/net/packet")).is_ok_and(|t| t.lines().count() > 1)
    }));
    dump
}

/// `ip -ts monitor address` on a host, attached before `start` returns.
pub struct AddressMonitor {
    child: std::process::Child,
    out: PathBuf,
}

impl AddressMonitor {
    pub fn start(h: &Host, out: &std::path::Path) -> AddressMonitor {
        let child = h.cmd(&["ip", "-ts", "monitor", "address"]).stdout(fs::File::create(out).unwrap()).spawn().unwrap();
        // Ready when it reports a marker address we add and remove on the node's loopback.
        let marked = wait_until(Duration::from_secs(5), || {
            h.sh(&["ip", "addr", "add", "198.18.255.1/32", "dev", "lo"]);
            h.sh(&["ip", "addr", "del", "198.18.255.1/32", "dev", "lo"]);
            fs::read_to_string(out).unwrap_or_default().contains("198.18.255.1")
        });
        assert!(marked, "ip monitor did not start");
        AddressMonitor { child, out: out.to_path_buf() }
    }

    /// Seconds of the day at which addresses containing `needle` were added (a span needs
    /// no more), then stop.
    pub fn additions(mut self, needle: &str) -> Vec<f64> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle) && !l.contains("Deleted"))
            // [2026-11-25T12:00:00.123456] ...
            .filter_map(|l| seconds_of_day(l.strip_prefix('[')?.split(']').next()?.split('T').nth(1)?))
            .collect()
    }
}

/// `HH:MM:SS.ffffff` as seconds of the day.
fn seconds_of_day(hms: &str) -> Option<f64> {
    let mut it = hms.split(':');
    let (h, m, s): (f64, f64, f64) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    Some(h * 3600.0 + m * 60.0 + s)
}

/// Idle CPU as master, both implementations at once and keepvip with its metrics scraped
/// every second (key "metrics"): % of one core per 10 s window, and that node's RSS. Backups
/// are measured apart, each woken alone (backup.rs).
fn idle_cpu(seconds: u64) -> (BTreeMap<&'static str, Series>, Series) {
    let mut labs: Vec<(&'static str, Impl, Lab)> = IMPLS.iter().map(|i| (i.name(), *i, Lab::new(2))).collect();
    labs.push(("metrics", Impl::Keepvip, Lab::new(3)));
    let clusters: Vec<(Vec<Proc>, usize)> = labs
        .iter()
        .map(|(key, i, l)| {
            let extra: &[(&str, &str)] = if *key == "metrics" { &[("KEEPVIP_METRICS_ADDR", ":9650")] } else { &[] };
            cluster(l, *i, [200, 100], extra)
        })
        .collect();
    // A scraper on the third host of the metrics lab, as Prometheus would, every second.
    let (_, _, ml) = &labs[2];
    let master_ip = ml.host(clusters[2].1).ip.clone();
    let _scraper = ml.host(2).spawn(&[
        "bash",
        "-c",
        &format!("while true; do curl -s -o /dev/null http://{master_ip}:9650/metrics; sleep 1; done"),
    ]);
    let mut out: BTreeMap<&'static str, Series> = BTreeMap::new();
    let windows = (seconds / 10).max(1);
    for _ in 0..windows {
        let start: Vec<u64> = labs.iter().zip(&clusters).map(|((_, _, l), (_, m))| node_cpu_ns(l.host(*m))).collect();
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs(10));
        let el = t.elapsed().as_nanos() as f64;
        for (k, ((key, _, l), (_, m))) in labs.iter().zip(&clusters).enumerate() {
            let used = node_cpu_ns(l.host(*m)) - start[k];
            out.entry(*key).or_default().values.push(used as f64 / el * 100.0);
        }
    }
    let rss = Series { values: vec![node_rss_kib(ml.host(clusters[2].1)) as f64], timeline: vec![] };
    (out, rss)
}

fn image_size() -> Option<u64> {
    let o = std::process::Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Size}}", "keepvip:bench"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&o.stdout).trim().parse().ok()
}

struct Row {
    key: &'static str,
    figure: &'static str,
    unit: &'static str,
    goal: &'static str,
}

const ROWS: &[Row] = &[
    Row {
        key: "failover_v2",
        figure: "unplanned failover gap, VRRPv2 1 s",
        unit: "ms",
        goal: "≤ 1500 (host gone: early failover)",
    },
    Row {
        key: "failover_v3",
        figure: "unplanned failover gap, VRRPv3 0.1 s",
        unit: "ms",
        goal: "≤ keepalived, bound 361",
    },
    Row { key: "handover_100", figure: "planned handover gap (backup 100)", unit: "ms", goal: "≤ 20" },
    Row { key: "handover_200", figure: "planned handover gap (backup 200)", unit: "ms", goal: "≤ 20" },
    Row { key: "rss", figure: "memory: RSS of one node as master", unit: "KiB", goal: "≤ 1536" },
    Row { key: "idle_cpu", figure: "idle CPU as master, 1 s adverts", unit: "% core", goal: "≤ 0.02" },
    Row {
        key: "idle_cpu_metrics",
        figure: "idle CPU as master, metrics scraped every 1 s",
        unit: "% core",
        goal: "≤ 0.02",
    },
    Row { key: "rss_metrics", figure: "RSS as master, metrics scraped every 1 s", unit: "KiB", goal: "≤ 1536" },
    Row { key: "first_advert", figure: "exec to first advert on the wire", unit: "ms", goal: "report" },
    Row { key: "vip_scale", figure: "256 VIPs: first → last added on takeover", unit: "ms", goal: "≤ 5" },
    Row {
        key: "idle_cpu_backup",
        figure: "idle CPU per backup, 1 s adverts, each woken alone",
        unit: "% core",
        goal: "≤ keepalived",
    },
    Row {
        key: "backup_us_per_advert",
        figure: "CPU per advert received by a backup",
        unit: "µs",
        goal: "≤ keepalived",
    },
    Row { key: "start_8", figure: "8 nodes: start → one master", unit: "ms", goal: "≤ 3369 (MDI + 150)" },
    Row { key: "rank_8", figure: "8 nodes: rank elected at start (0 = top)", unit: "", goal: "0" },
    Row { key: "failover_8", figure: "8 nodes: failover gap", unit: "ms", goal: "≤ 3369" },
    Row { key: "start_64", figure: "64 nodes: start → one master", unit: "ms", goal: "≤ 3369 (MDI + 150)" },
    Row { key: "rank_64", figure: "64 nodes: rank elected at start (0 = top)", unit: "", goal: "0" },
    Row { key: "failover_64", figure: "64 nodes: failover gap", unit: "ms", goal: "≤ 3369" },
    Row { key: "start_248", figure: "248 nodes: start → one master", unit: "ms", goal: "≤ 3369 (MDI + 150)" },
    Row { key: "rank_248", figure: "248 nodes: rank elected at start (0 = top)", unit: "", goal: "0" },
    Row { key: "failover_248", figure: "248 nodes: failover gap", unit: "ms", goal: "≤ 3369" },
    Row { key: "vips_1024", figure: "1024 VIPs: first → last added on takeover", unit: "ms", goal: "≤ 40" },
    Row { key: "silence_1024", figure: "1024 VIPs: new master's longest advert gap", unit: "ms", goal: "≤ 1100" },
    Row { key: "failover_10ms", figure: "VRRPv3 10 ms adverts: failover gap", unit: "ms", goal: "≤ keepalived" },
    Row {
        key: "cpu_10ms",
        figure: "VRRPv3 10 ms adverts: master CPU, cores saturated",
        unit: "% core",
        goal: "report",
    },
    Row { key: "false_10ms", figure: "VRRPv3 10 ms adverts: false takeovers, cores saturated", unit: "", goal: "0" },
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        // cargo test: one quick measurement per implementation proves the harness works.
        for imp in IMPLS {
            let ms = first_advert(imp);
            assert!(ms > 0.0 && ms < 5000.0, "{}: {ms} ms", imp.name());
            eprintln!("harness check: {} first advert after {ms:.1} ms", imp.name());
        }
        // The backups' instrument: adverts reach every backup, none takes the VIP, CPU is read.
        for (imp, f) in backup::run(10) {
            assert!(f.us_per_advert > 0.0 && f.us_per_advert < 10_000.0, "{}: {} µs", imp.name(), f.us_per_advert);
            eprintln!("harness check: {} backup, {:.1} µs of CPU per advert", imp.name(), f.us_per_advert);
        }
        return;
    }
    let opt = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    if let Some(n) = opt("--swarm-deploys").and_then(|v| v.parse().ok()) {
        // A separate run: it needs Docker and takes about 15 s per deploy.
        let out = PathBuf::from(opt("--out").unwrap_or_else(|| "bench".into()));
        let json = swarm::fresh_deploys(n);
        fs::write(out.join("swarm.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
        return;
    }
    if let Some(n) = opt("--health").and_then(|v| v.parse().ok()) {
        // A separate run: a tracked service dies on the master, n times per implementation.
        let out = PathBuf::from(opt("--out").unwrap_or_else(|| "bench".into()));
        let json = health::run(n);
        fs::write(out.join("health.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
        return;
    }
    if let Some(n) = opt("--early").and_then(|v| v.parse().ok()) {
        // A separate run: early failover's cases and false takeovers under load and loss.
        let out = PathBuf::from(opt("--out").unwrap_or_else(|| "bench".into()));
        let secs = opt("--load-seconds").and_then(|v| v.parse().ok()).unwrap_or(600);
        let json = early::run(n, secs);
        fs::write(out.join("early.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
        return;
    }
    if let Some(n) = opt("--ipv6").and_then(|v| v.parse().ok()) {
        // A separate run: IPv6 failover and handover, n times per implementation.
        let out = PathBuf::from(opt("--out").unwrap_or_else(|| "bench".into()));
        let json = ipv6::run(n);
        fs::write(out.join("ipv6.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
        return;
    }
    if let Some(n) = opt("--instances").and_then(|v| v.parse().ok()) {
        // A separate run: one keepalived.conf with n instances, both implementations.
        let out = PathBuf::from(opt("--out").unwrap_or_else(|| "bench".into()));
        let secs = opt("--cpu-seconds").and_then(|v| v.parse().ok()).unwrap_or(60);
        let json = instances::run(n, secs);
        fs::write(out.join("instances.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
        return;
    }
    if let Some(secs) = opt("--backup").and_then(|v| v.parse().ok()) {
        // Only the idle backups, each woken alone: a quick before/after of a backup's wake.
        for (imp, f) in backup::run(secs) {
            let (median, worst) = f.cpu.stats();
            println!(
                "idle backup {}: median {median:.4} % of a core per 10 s window, worst {worst:.4}; {:.1} µs per advert",
                imp.name(),
                f.us_per_advert
            );
        }
        return;
    }
    if let Some(secs) = opt("--idle").and_then(|v| v.parse().ok()) {
        // Only the idle figures: a quick before/after of a change to the steady loop.
        let (cpu, rss) = idle_cpu(secs);
        for (k, series) in &cpu {
            let (median, worst) = series.stats();
            println!("idle {k}: median {median:.4} % of a core per 10 s window, worst {worst:.4}");
        }
        println!("idle master RSS (metrics scraped): {:.0} KiB", rss.values[0]);
        return;
    }
    let runs: usize = opt("--runs").and_then(|v| v.parse().ok()).unwrap_or(5);
    let cpu_secs: u64 = opt("--cpu-seconds").and_then(|v| v.parse().ok()).unwrap_or(60);
    // --long: a 248-node cluster too (each lab host is one of 198.18.0.1..254).
    let sizes: &[usize] = if args.iter().any(|a| a == "--long") { &[8, 64, 248] } else { &[8, 64] };
    let load_secs: u64 = opt("--load-seconds").and_then(|v| v.parse().ok()).unwrap_or(120);
    let out = PathBuf::from(opt("--out").unwrap_or_else(|| "bench".into()));
    fs::create_dir_all(&out).unwrap();
    let started = Instant::now();

    let mut res: BTreeMap<(&str, &str), Series> = BTreeMap::new();
    let v3: &[(&str, &str)] = &[("KEEPALIVED_VRRP_VERSION", "3"), ("KEEPALIVED_ADVERT_INT", "0.1")];
    for run in 0..runs {
        for imp in IMPLS {
            let n = imp.name();
            eprintln!("run {}/{runs}: {n}", run + 1);
            let mut rss = vec![];
            let (g, tl) = failover(imp, [200, 100], &[], Stop::Crash, Some(&mut rss));
            push(&mut res, n, "failover_v2", g, tl);
            res.entry((n, "rss")).or_default().values.extend(rss);
            let (g, tl) = failover(imp, [200, 100], v3, Stop::Crash, None);
            push(&mut res, n, "failover_v3", g, tl);
            let (g, tl) = failover(imp, [200, 100], &[], Stop::Graceful, None);
            push(&mut res, n, "handover_100", g, tl);
            let (g, tl) = failover(imp, [200, 200], &[], Stop::Graceful, None);
            push(&mut res, n, "handover_200", g, tl);
            push(&mut res, n, "first_advert", first_advert(imp), vec![]);
            push(&mut res, n, "vip_scale", vip_scale(imp), vec![]);
        }
    }
    eprintln!("idle CPU: {cpu_secs} s");
    let (cpu, rss_metrics) = idle_cpu(cpu_secs);
    for (n, s) in cpu {
        match n {
            "metrics" => res.insert(("keepvip", "idle_cpu_metrics"), s),
            n => res.insert((n, "idle_cpu"), s),
        };
    }
    res.insert(("keepvip", "rss_metrics"), rss_metrics);
    eprintln!("idle CPU per backup, each woken alone: {cpu_secs} s");
    for (imp, f) in backup::run(cpu_secs) {
        res.insert((imp.name(), "idle_cpu_backup"), f.cpu);
        push(&mut res, imp.name(), "backup_us_per_advert", f.us_per_advert, vec![]);
    }
    for imp in IMPLS {
        let n = imp.name();
        for &size in sizes {
            eprintln!("{size} nodes: {n}");
            let (start, rank, fail, _) = scale::cluster(imp, size);
            let key = |what: &str| ROWS.iter().map(|r| r.key).find(|k| *k == format!("{what}_{size}")).unwrap();
            push(&mut res, n, key("start"), start, vec![]);
            push(&mut res, n, key("rank"), rank as f64, vec![]);
            push(&mut res, n, key("failover"), fail, vec![]);
        }
        eprintln!("1024 VIPs: {n}");
        let (span, silence) = scale::vips_1024(imp);
        push(&mut res, n, "vips_1024", span, vec![]);
        push(&mut res, n, "silence_1024", silence, vec![]);
        push(&mut res, n, "failover_10ms", scale::v3_10ms_failover(imp), vec![]);
    }
    eprintln!("VRRPv3 10 ms adverts under load: {load_secs} s");
    for (imp, cpu, false_takeovers) in scale::v3_10ms_under_load(load_secs) {
        push(&mut res, imp.name(), "cpu_10ms", cpu, vec![]);
        push(&mut res, imp.name(), "false_10ms", false_takeovers as f64, vec![]);
    }
    let image = image_size();

    // Table, JSON, timelines.
    let mut table = String::from(
        "| figure | keepvip median (worst) | keepalived median (worst) | ratio | goal |\n|---|---|---|---|---|\n",
    );
    let mut json_rows = serde_json::Map::new();
    for r in ROWS {
        let (kvm, kvw) = res.get(&("keepvip", r.key)).map(Series::stats).unwrap_or((f64::NAN, f64::NAN));
        let (kam, kaw) = res.get(&("keepalived", r.key)).map(Series::stats).unwrap_or((f64::NAN, f64::NAN));
        let prec = match r.key {
            k if k.starts_with("idle_cpu") => 4,
            k if k.starts_with("rank") || k.starts_with("false") => 0,
            k if k.starts_with("cpu") => 2,
            _ => 1,
        };
        if !res.contains_key(&("keepvip", r.key)) {
            continue; // not measured in this run (e.g. 248 nodes without --long)
        }
        // keepalived has no metrics endpoint: those rows are keepvip's alone.
        let theirs = if kam.is_finite() { format!("{kam:.prec$} ({kaw:.prec$}) {}", r.unit) } else { "—".into() };
        let _ = writeln!(
            table,
            "| {} | {kvm:.prec$} ({kvw:.prec$}) {} | {theirs} | {} | {} |",
            r.figure,
            r.unit,
            ratio(kvm, kam),
            r.goal
        );
        let mut o = serde_json::Map::new();
        for imp in IMPLS {
            let s = res.get(&(imp.name(), r.key));
            let (m, w) = s.map(Series::stats).unwrap_or((f64::NAN, f64::NAN));
            o.insert(
                imp.name().into(),
                serde_json::json!({"median": m, "worst": w, "values": s.map(|s| s.values.clone()).unwrap_or_default()}),
            );
        }
        o.insert("unit".into(), r.unit.into());
        o.insert("goal".into(), r.goal.into());
        json_rows.insert(r.key.into(), o.into());
    }
    let img = image.map_or("not built".to_string(), |b| format!("{:.2} MB", b as f64 / 1e6));
    let _ = writeln!(
        table,
        "| image size | {img} | osixia/keepalived:2.0.20: tens of MB (no registry here to measure) | | ≤ 3 MB |"
    );
    let date = String::from_utf8_lossy(
        &std::process::Command::new("date").arg("-u").arg("+%Y-%m-%d").output().unwrap().stdout,
    )
    .trim()
    .to_string();
    let json = serde_json::json!({
        "date": date,
        "runs": runs,
        "cpu_seconds": cpu_secs,
        "machine": machine(),
        "versions": {"keepvip": env!("CARGO_PKG_VERSION"), "keepalived": keepalived_version()},
        "image_bytes": image,
        "figures": json_rows,
        "took_s": started.elapsed().as_secs(),
    });
    fs::write(out.join("results.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
    for ((imp, key), s) in &res {
        if !s.timeline.is_empty() {
            let text: String = s.timeline.iter().map(|t| format!("{t:.4}\n")).collect();
            fs::write(out.join(format!("timeline-{key}-{imp}.dat")), text).unwrap();
        }
    }
    let header =
        format!("Measured {date} on {} ({runs} runs; median and worst):\n\n", machine()["cpu"].as_str().unwrap_or("?"));
    fs::write(out.join("table.md"), format!("{header}{table}")).unwrap();
    println!("{header}{table}");
    println!("took {} s", started.elapsed().as_secs());
}

fn push(
    res: &mut BTreeMap<(&'static str, &'static str), Series>,
    imp: &'static str,
    key: &'static str,
    v: f64,
    tl: Vec<f64>,
) {
    let s = res.entry((imp, key)).or_default();
    s.values.push(v);
    if s.timeline.is_empty() {
        s.timeline = tl;
    }
}

fn ratio(kv: f64, ka: f64) -> String {
    if kv.is_finite() && ka.is_finite() && kv > 0.0 {
        if (kv / ka - 1.0).abs() < 0.03 {
            "same (±3 %)".to_string()
        } else if ka >= kv {
            format!("{:.1}× better", ka / kv)
        } else {
            format!("{:.2}× keepalived's", kv / ka)
        }
    } else {
        String::new()
    }
}

fn machine() -> serde_json::Value {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    serde_json::json!({"cpu": format!("{cores} × {cpu}"), "kernel": kernel})
}

fn keepalived_version() -> String {
    let o = std::process::Command::new("keepalived").arg("--version").output();
    o.map(|o| {
        let t = String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
        t.lines().next().unwrap_or("").to_string()
    })
    .unwrap_or_default()
}
