//! A generative differential of keepalived.conf: a seeded generator writes files from the
//! grammar keepvip reads — every keyword, repeated and contradicting keywords, definition
//! orders, missing and malformed values, defaults that interact — and each file goes to
//! Debian's keepalived 2.2.7, started for real in a namespace of its own (its `--dump-conf`
//! view of every instance it runs), and to `keepvip --check`. A file keepalived runs must
//! run the same under keepvip (the same fields) or be refused naming file:line; a file or an
//! instance keepalived refuses must be refused. A difference is shrunk (entries removed one
//! at a time while it stays) and printed with its seed.
//!
//! `KEEPVIP_DIFF_SEED` (default 1) and `KEEPVIP_DIFF_FILES` (default: as many as fit in
//! `KEEPVIP_DIFF_SECS`, 150 s) choose the run; `scripts/conf-differential N` runs N files.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::netns::{Host, Lab};
use crate::common::wait_until;

/// splitmix64: small, seedable, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One entry of a block: a line, or a keyword with a block of lines.
#[derive(Clone, Debug)]
enum Entry {
    Line(String),
    Block(String, Vec<String>),
}

/// A top-level block (`global_defs`, `vrrp_script x`, `vrrp_instance y`, `vrrp_sync_group g`).
#[derive(Clone, Debug)]
struct Top {
    head: String,
    entries: Vec<Entry>,
}

fn render(file: &[Top]) -> String {
    let mut out = String::new();
    for t in file {
        out += &format!("{} {{\n", t.head);
        for e in &t.entries {
            match e {
                Entry::Line(l) => out += &format!("    {l}\n"),
                Entry::Block(k, lines) => {
                    out += &format!("    {k} {{\n");
                    for l in lines {
                        out += &format!("        {l}\n");
                    }
                    out += "    }\n";
                }
            }
        }
        out += "}\n";
    }
    out
}

/// A file from the grammar keepvip reads, damaged now and then.
fn generate(r: &mut Rng) -> Vec<Top> {
    let mut file = vec![];
    if r.chance(0.5) {
        let mut g = vec![];
        if r.chance(0.2) {
            g.push(Entry::Line(format!("vrrp_version {}", r.pick(&["2", "3"]))));
        }
        if r.chance(0.1) {
            g.push(Entry::Line("vrrp_mcast_group4 224.0.0.33".into()));
        }
        if r.chance(0.1) {
            g.push(Entry::Line(format!("vrrp_garp_master_refresh {}", r.pick(&["10", "0", ""])).trim().to_string()));
        }
        if r.chance(0.1) {
            g.push(Entry::Line(format!("vrrp_garp_master_delay {}", r.pick(&["1", "0"]))));
        }
        if r.chance(0.08) {
            g.push(Entry::Line(format!("vrrp_down_timer_adverts {}", r.pick(&["2", "7"]))));
        }
        if r.chance(0.1) {
            g.push(Entry::Line(r.pick(&["vrrp_min_garp", "vrrp_min_garp true", "vrrp_min_garp false"]).to_string()));
        }
        if r.chance(0.1) {
            g.push(Entry::Line(format!("vrrp_garp_master_repeat {}", r.pick(&["1", "3"]))));
        }
        if r.chance(0.1) {
            let kw = r.pick(&["vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat"]);
            g.push(Entry::Line(format!("{kw} {}", r.pick(&["0", "3"]))));
        }
        if r.chance(0.05) {
            g.push(Entry::Line("vrrp_check_unicast_src".into()));
        }
        if r.chance(0.15) {
            g.push(Entry::Line("vrrp_strict".into()));
        }
        if r.chance(0.06) {
            g.push(Entry::Line(format!("vrrp_garp_extra_if {}", r.pick(&["all 20", "20"]))));
        }
        if r.chance(0.06) {
            let kw = r.pick(&["vrrp_lower_prio_no_advert", "vrrp_higher_prio_send_advert"]);
            g.push(Entry::Line(format!("{kw} {}", r.pick(&["", "true", "false"])).trim().to_string()));
        }
        if r.chance(0.1) {
            g.push(Entry::Line("enable_script_security".into()));
            if r.chance(0.6) {
                g.push(Entry::Line("script_user root".into()));
            }
        }
        if r.chance(0.1) {
            g.push(Entry::Line("router_id lab".into()));
        }
        file.push(Top { head: "global_defs".into(), entries: g });
    }
    let scripts: Vec<String> = (0..r.below(3)).map(|i| format!("chk{i}")).collect();
    let mut after = vec![];
    for s in &scripts {
        let mut e = vec![Entry::Line(format!(
            "script {}",
            r.pick(&[
                "\"/bin/true\"",
                "/bin/true",
                "\"/bin/echo ok\"",
                "/bin/echo extra words",
                "\"/nonexistent/chk\""
            ])
        ))];
        if r.chance(0.5) {
            e.push(Entry::Line(format!("interval {}", r.pick(&["1", "2", "0.5", "0"]))));
        }
        if r.chance(0.3) {
            e.push(Entry::Line(format!("timeout {}", r.pick(&["1", "3", "0.5"]))));
        }
        if r.chance(0.4) {
            e.push(Entry::Line(format!("weight {}", r.pick(&["-20", "10", "0", "-253"]))));
        }
        if r.chance(0.2) {
            e.push(Entry::Line(format!("rise {}", r.pick(&["1", "3"]))));
        }
        if r.chance(0.2) {
            e.push(Entry::Line(format!("fall {}", r.pick(&["1", "2"]))));
        }
        if r.chance(0.1) {
            e.push(Entry::Line("init_fail".into()));
        }
        let t = Top { head: format!("vrrp_script {s}"), entries: e };
        if r.chance(0.85) {
            file.push(t);
        } else {
            after.push(t);
        }
    }
    let processes: Vec<String> = (0..r.below(3)).map(|i| format!("proc{i}")).collect();
    for p in &processes {
        let mut e = vec![Entry::Line(format!(
            "process {}",
            r.pick(&[
                "haproxy",
                "\"/usr/sbin/nginx\" -g \"daemon off;\"",
                "sshd",
                "/bin/sleep 600",
                "a-very-long-process-name"
            ])
        ))];
        if r.chance(0.3) {
            e.push(Entry::Line(format!("param_match {}", r.pick(&["", "partial", "initial"])).trim().to_string()));
        }
        if r.chance(0.4) {
            e.push(Entry::Line(format!("weight {}", r.pick(&["-20", "10", "0"]))));
        }
        if r.chance(0.3) {
            e.push(Entry::Line(format!("quorum {}", r.pick(&["1", "2"]))));
        }
        if r.chance(0.3) {
            e.push(Entry::Line(format!("quorum_max {}", r.pick(&["1", "3"]))));
        }
        for kw in ["delay", "fork_delay", "terminate_delay"] {
            if r.chance(0.15) {
                e.push(Entry::Line(format!("{kw} {}", r.pick(&["0.5", "2", "1.5"]))));
            }
        }
        if r.chance(0.2) {
            e.push(Entry::Line("full_command".into()));
        }
        let t = Top { head: format!("vrrp_track_process {p}"), entries: e };
        if r.chance(0.85) {
            file.push(t);
        } else {
            after.push(t);
        }
    }
    let n = 1 + usize::from(r.chance(0.35));
    let names: Vec<String> = (0..n).map(|i| format!("VI_{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        file.push(Top { head: format!("vrrp_instance {name}"), entries: instance(r, i, &scripts, &processes) });
    }
    if n == 2 && r.chance(0.3) {
        let mut e = vec![Entry::Block("group".into(), names.clone())];
        if r.chance(0.3) {
            e.push(Entry::Line("sync_group_tracking_weight".into()));
        }
        file.push(Top { head: "vrrp_sync_group G".into(), entries: e });
    }
    file.extend(after);
    file
}

fn instance(r: &mut Rng, i: usize, scripts: &[String], processes: &[String]) -> Vec<Entry> {
    let mut e = vec![];
    let line = |s: String| Entry::Line(s);
    let second = i == 1 && r.chance(0.5);
    let ifname = if second { "eth1" } else { "eth0" };
    let net = if second { 1 } else { 0 };
    if !r.chance(0.03) {
        e.push(line(format!("interface {ifname}")));
    }
    let vrid = if r.chance(0.03) { r.pick(&["0", "256", "x"]).to_string() } else { format!("{}", 10 + i) };
    if !r.chance(0.02) {
        e.push(line(format!("virtual_router_id {vrid}")));
    }
    // Values keepvip refuses on purpose (keepalived replaces them with a default) come
    // rarely, so most files compare field by field.
    let damage = |r: &mut Rng, good: &[&str], bad: &[&str]| {
        if r.chance(0.03) {
            r.pick(bad).to_string()
        } else {
            r.pick(good).to_string()
        }
    };
    if r.chance(0.5) {
        let s = damage(r, &["MASTER", "BACKUP"], &["master", "EQUAL"]);
        e.push(line(format!("state {s}")));
    }
    if r.chance(0.7) {
        let p = damage(r, &["1", "50", "100", "150", "200", "254", "255"], &["0", "256", "-1"]);
        e.push(line(format!("priority {p}")));
    }
    let v3 = r.chance(0.3);
    let v6 = r.chance(0.1);
    if v3 {
        e.push(line("version 3".into()));
    } else if !v6 && r.chance(0.1) {
        e.push(line("version 2".into()));
    }
    if r.chance(0.4) {
        let a = if v3 || v6 {
            r.pick(&["1", "2", "0.5", "0.25", "1.5"]).to_string()
        } else {
            damage(r, &["1", "2", "3"], &["0.5", "1.5", "0"])
        };
        e.push(line(format!("advert_int {a}")));
    }
    if r.chance(0.25) {
        e.push(line("nopreempt".into()));
    }
    if r.chance(0.1) {
        e.push(line("preempt".into()));
    }
    if r.chance(0.2) {
        e.push(line(format!("preempt_delay {}", r.pick(&["0", "5", "2.5", "300"]))));
    }
    if r.chance(0.35) {
        let mut a = vec![];
        if r.chance(0.8) {
            a.push("auth_type PASS".to_string());
        }
        if r.chance(0.85) {
            a.push(format!("auth_pass {}", r.pick(&["secret", "1234567890", "x"])));
        }
        e.push(Entry::Block("authentication".into(), a));
    }
    if !v6 && r.chance(0.4) {
        if r.chance(0.7) {
            let own = format!("198.18.{net}.1");
            let src = r.pick(&["own", "own/24", "198.18.0.9"]).replace("own", &own);
            e.push(line(format!("unicast_src_ip {src}")));
        }
        let peers: Vec<String> = (0..1 + r.below(3))
            .map(|_| {
                r.pick(&["198.18.N.2", "198.18.N.3", "198.18.N.1", "198.18.N.4/24"]).replace('N', &net.to_string())
            })
            .collect();
        let mut uniq: Vec<String> = vec![];
        for p in peers {
            if !uniq.contains(&p) {
                uniq.push(p);
            }
        }
        e.push(Entry::Block("unicast_peer".into(), uniq));
    } else if r.chance(0.05) {
        e.push(line("mcast_dst_ip 224.0.0.40".into()));
    }
    if !r.chance(0.03) {
        let vips: Vec<String> = (0..1 + r.below(3))
            .map(|k| {
                if v6 {
                    return format!("2001:db8:{net}::{}/64", 10 * (i + 1) + k);
                }
                let host = 100 + 10 * i + k;
                match r.below(6) {
                    0 => format!("198.18.{net}.{host}/24"),
                    1 => format!("198.18.{net}.{host}/32"),
                    2 if net == 0 => format!("198.18.1.{host} dev eth1"),
                    3 => format!("198.18.{net}.{host}/24 dev {ifname} label {ifname}:{k}"),
                    _ => format!("198.18.{net}.{host}"),
                }
            })
            .collect();
        e.push(Entry::Block("virtual_ipaddress".into(), vips));
    }
    if !v6 && r.chance(0.1) {
        e.push(Entry::Block("virtual_ipaddress_excluded".into(), vec![format!("198.18.{net}.{}", 200 + i)]));
    }
    if r.chance(0.2) {
        e.push(Entry::Block(
            "track_interface".into(),
            vec![r.pick(&["eth1", "eth1 weight -30", "eth1 weight 0", "eth0 weight 20"]).into()],
        ));
    }
    if !scripts.is_empty() && r.chance(0.5) {
        let mut t: Vec<String> = scripts.iter().filter(|_| r.chance(0.7)).cloned().collect();
        if t.is_empty() {
            t.push(scripts[0].clone());
        }
        if r.chance(0.3) {
            t[0] += &format!(" weight {}", r.pick(&["-30", "15", "0"]));
        }
        e.push(Entry::Block("track_script".into(), t));
    }
    if !processes.is_empty() && r.chance(0.6) {
        let mut t: Vec<String> = processes.iter().filter(|_| r.chance(0.7)).cloned().collect();
        if t.is_empty() {
            t.push(processes[0].clone());
        }
        if r.chance(0.3) {
            t[0] += &format!(" weight {}", r.pick(&["-30", "15", "0"]));
        }
        e.push(Entry::Block("track_process".into(), t));
    }
    for kind in ["notify", "notify_master", "notify_backup", "notify_fault"] {
        if r.chance(0.12) {
            let cmd = r.pick(&[
                "/bin/true",
                "\"/bin/echo a b\"",
                "/bin/echo master",
                "\"/bin/echo x\" root",
                "\"/bin/true\" root root",
            ]);
            e.push(line(format!("{kind} {cmd}")));
        }
    }
    for (kw, values) in [
        ("garp_master_delay", &["0", "3", ""][..]),
        ("garp_master_repeat", &["1", "3"][..]),
        ("garp_master_refresh", &["0", "20"][..]),
        ("garp_master_refresh_repeat", &["2"][..]),
        ("garp_lower_prio_delay", &["0", "2"][..]),
        ("garp_lower_prio_repeat", &["0", "2"][..]),
        ("down_timer_adverts", &["1", "5", "100"][..]),
        ("strict_mode", &["", "on", "off"][..]),
        ("garp_extra_if", &["all 10", "10", "0", "all 0"][..]),
        ("lower_prio_no_advert", &["", "true", "false"][..]),
        ("higher_prio_send_advert", &["", "true", "false"][..]),
    ] {
        if r.chance(0.07) {
            e.push(line(format!("{kw} {}", r.pick(values)).trim().to_string()));
        }
    }
    if r.chance(0.05) {
        e.push(line("dont_track_primary".into()));
    }
    if r.chance(0.08) {
        e.push(line(r.pick(&["accept", "no_accept"]).into()));
    }
    if r.chance(0.06) {
        e.push(line(r.pick(&["use_vmac", "use_vmac vip9"]).into()));
        if r.chance(0.4) {
            e.push(line("vmac_xmit_base".into()));
        }
    }
    if r.chance(0.05) {
        e.push(line("check_unicast_src".into()));
    }
    // Order matters to keepalived in places (a repeated state, preempt after nopreempt):
    // shuffle some, and repeat a line now and then.
    for _ in 0..r.below(3) {
        let (a, b) = (r.below(e.len()), r.below(e.len()));
        e.swap(a, b);
    }
    if r.chance(0.1) {
        let lines: Vec<Entry> = e.iter().filter(|x| matches!(x, Entry::Line(_))).cloned().collect();
        if !lines.is_empty() {
            let dup = lines[r.below(lines.len())].clone();
            e.push(dup);
        }
    }
    e
}

/// What an implementation does with a file.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Each instance's (and script's) fields.
    Runs(BTreeMap<String, BTreeMap<String, String>>),
    /// Refused, with the reason (keepalived's log or keepvip's errors).
    Refuses(String),
}

/// keepalived's view: started for real in `h` with `--dump-conf`.
fn keepalived(h: &Host, file: &Path) -> Outcome {
    let p = |s: &str| file.with_extension(s).display().to_string();
    let mut proc = h.spawn(&[
        "keepalived",
        "-n",
        "-l",
        "-D",
        "-d",
        "--vrrp",
        "-f",
        file.to_str().unwrap(),
        "-p",
        &p("pid"),
        "-r",
        &p("vpid"),
        "-c",
        &p("cpid"),
    ]);
    // The dump ends with the interfaces; then the log goes quiet until the first timer.
    let mut last = (0, Instant::now());
    let done = wait_until(Duration::from_secs(5), || {
        let log = proc.log();
        if proc.child.try_wait().ok().flatten().is_some() || log.contains("keepalived has no configuration to run") {
            return true;
        }
        if !log.contains("------< Interfaces >------") {
            return false;
        }
        if log.len() != last.0 {
            last = (log.len(), Instant::now());
            return false;
        }
        last.1.elapsed() > Duration::from_millis(60)
    });
    h.kill_all();
    proc.wait_exit(Duration::from_secs(2));
    let log = proc.log();
    assert!(done, "keepalived neither dumped nor exited:\n{log}");
    // Whatever a master added: gone before the next file; VMACs too (keepalived takes a
    // VMAC it finds over, name and all: a file's meaning would depend on the one before).
    for (dev, addr) in [("eth0", "198.18.0.1/24"), ("eth1", "198.18.1.1/24")] {
        h.must(&["ip", "addr", "flush", "dev", dev, "scope", "global"]);
        h.must(&["ip", "addr", "add", addr, "dev", dev]);
    }
    let links = String::from_utf8_lossy(&h.sh(&["ip", "-o", "link", "show", "type", "macvlan"]).stdout).into_owned();
    for name in links.lines().filter_map(|l| l.split(": ").nth(1)?.split('@').next()) {
        h.must(&["ip", "link", "del", name]);
    }
    if !log.contains("------< VRRP Topology >------") {
        let lines: Vec<&str> = log.lines().filter(|l| !l.contains("Starting") && !l.contains("Running on")).collect();
        let why = &lines[lines.len().saturating_sub(12)..];
        return Outcome::Refuses(why.join("\n"));
    }
    Outcome::Runs(parse_dump(&log))
}

/// Each instance's and script's fields from keepalived's dump, in the comparator's terms.
fn parse_dump(log: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut view: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut cur: Option<String> = None;
    let mut list: Option<String> = None;
    let mut in_topology = false;
    for raw in log.lines() {
        let Some((_, text)) = raw.split_once(": ") else { continue };
        let indent = text.len() - text.trim_start().len();
        let t = text.trim();
        if t.starts_with("------<") {
            in_topology =
                t.contains("VRRP Topology") || t.contains("VRRP Scripts") || t.contains("VRRP Track processes");
            cur = None;
            continue;
        }
        if !in_topology || indent == 0 {
            continue;
        }
        if let Some(n) = t.strip_prefix("VRRP Instance = ") {
            cur = Some(n.to_string());
            view.insert(n.to_string(), BTreeMap::new());
            list = None;
            continue;
        }
        if let Some(n) = t.strip_prefix("VRRP Track process = ") {
            cur = Some(format!("process {n}"));
            view.insert(format!("process {n}"), BTreeMap::new());
            list = None;
            continue;
        }
        if let Some(n) = t.strip_prefix("VRRP Script = ") {
            cur = Some(format!("script {n}"));
            view.insert(format!("script {n}"), BTreeMap::new());
            list = None;
            continue;
        }
        let Some(c) = cur.clone() else { continue };
        let m = view.get_mut(&c).unwrap();
        // Items of a list are indented deeper than its heading (5 spaces vs 3).
        if indent >= 5 {
            if let Some(l) = &list {
                let v = m.entry(l.clone()).or_default();
                if !v.is_empty() {
                    v.push_str(" | ");
                }
                v.push_str(&normalise_item(l, t));
            }
            continue;
        }
        list = None;
        let heading = |h: &str| t.starts_with(h);
        if heading("Virtual IP (") {
            list = Some("vips".into());
        } else if heading("Virtual IP Excluded") {
            list = Some("excluded".into());
        } else if heading("Unicast Peer") {
            list = Some("peers".into());
        } else if heading("Tracked interfaces") || heading("Tracked scripts") || heading("Tracked processes") {
            list = Some("tracked".into());
        } else if let Some(g) = t.strip_prefix("Multicast address ") {
            m.insert("mcast".into(), g.split(", ifindex").next().unwrap_or(g).to_string());
        } else if t == "Param match" {
            m.insert("param_match".into(), "exact".into());
        } else if let Some(v) = t.strip_prefix("Use VMAC, i/f name ") {
            let name = v.split(',').next().unwrap_or(v);
            let base = v.split("xmit_base = ").nth(1).unwrap_or("?");
            m.insert("vmac".into(), format!("{name} xmit_base={base}"));
        } else if t == "Enforcing strict VRRP compliance" {
            m.insert("strict".into(), "yes".into());
        } else if t == "VRRP interface tracking disabled" {
            m.insert("dont_track_primary".into(), "yes".into());
        } else if let Some((k, v)) = t.split_once(" = ") {
            let key = match k {
                "VRRP Version" => "version",
                "Wantstate" => "state",
                "Interface" => "interface",
                "Using src_ip" if v.ends_with("(from configuration)") => "src",
                "Gratuitous ARP delay" => "garp_delay",
                "Down timer adverts" => "down_timer_adverts",
                "Accept" => "accept",
                "Gratuitous ARP for each secondary i/f" | "Gratuitous ARP for each secondary VMAC" => "garp_extra_if",
                "Send advert after receive lower priority advert" => "lower_prio_advert",
                "Send advert after receive higher priority advert" => "higher_prio_advert",
                "Gratuitous ARP repeat" => "garp_repeat",
                "Gratuitous ARP refresh" => "garp_refresh",
                "Gratuitous ARP refresh repeat" => "garp_refresh_repeat",
                "Gratuitous ARP lower priority delay" => "garp_lower_delay",
                "Gratuitous ARP lower priority repeat" => "garp_lower_repeat",
                "Virtual Router ID" => "router_id",
                "Priority" => "priority",
                "Advert interval" => "advert_int",
                "Preempt" => "preempt",
                "Preempt delay" => "preempt_delay",
                "Authentication type" => "auth",
                "Sync group" => "sync_group",
                "Master state transition script" => "notify_master",
                "Backup state transition script" => "notify_backup",
                "Fault state transition script" => "notify_fault",
                "Stop state transition script" => "notify_stop",
                "Generic state transition script" => "notify",
                // Scripts.
                "Command" => "command",
                "Interval" => "interval",
                "Timeout" => "timeout",
                "Rise" => "rise",
                "Fall" => "fall",
                // Track processes.
                "Process" => "process",
                "Parameters" => "params",
                "Param match" => "param_match",
                "Min processes" => "quorum",
                "Max processes" => "quorum_max",
                "Fork delay" => "fork_delay",
                "Terminate delay" => "terminate_delay",
                "Full command" => "full_command",
                _ => continue,
            };
            let v = v.trim_end_matches(" (from configuration)");
            let v = match key {
                // "vrrp.51, vmac on eth0": the interface written.
                "interface" => {
                    v.split(", vmac on ").nth(1).unwrap_or(v).trim_end_matches(", xmit base i/f").to_string()
                }
                "auth" => if v == "SIMPLE_PASSWORD" { "PASS" } else { "none" }.to_string(),
                k if k.starts_with("notify") => command_of(v.split(", uid:gid").next().unwrap_or(v)),
                "command" => command_of(v),
                "preempt_delay" => v.trim_end_matches(" secs").to_string(),
                _ => v.to_string(),
            };
            m.entry(key.to_string()).or_insert(v);
        }
    }
    // keepalived's script timeout 0 means "the interval".
    for m in view.values_mut() {
        if let Some(p) = m.get_mut("peers") {
            *p = p.split(" | ").filter(|a| !a.starts_with("(own")).collect::<Vec<_>>().join(" | ");
            if p.is_empty() {
                m.remove("peers");
            }
        }
    }
    // Process delays as keepvip applies them: one more agreeing scan a second apart per
    // started second (rise/fall); a tracker no instance tracks is not compared.
    let tracked: String = view.values().filter_map(|m| m.get("tracked")).cloned().collect::<Vec<_>>().join(" | ");
    view.retain(|k, _| {
        k.strip_prefix("process ").is_none_or(|n| tracked.split(" | ").any(|t| t.split(' ').next() == Some(n)))
    });
    for m in view.iter_mut().filter(|(k, _)| k.starts_with("process ")).map(|(_, m)| m) {
        for (delay, scans) in [("fork_delay", "rise"), ("terminate_delay", "fall")] {
            let secs: f64 = m.remove(delay).unwrap_or_default().trim_end_matches('s').parse().unwrap_or(0.0);
            m.insert(scans.into(), (1 + secs.ceil() as u32).to_string());
        }
    }
    for (k, m) in view.iter_mut().filter(|(k, _)| k.starts_with("script ")) {
        if m.get("timeout").map(String::as_str) == Some("0 sec") {
            let i = m.get("interval").cloned().unwrap_or_default();
            m.insert("timeout".into(), i);
        }
        let _ = k;
    }
    view
}

/// `'/usr/bin/echo' 'a' 'b'` → `/usr/bin/echo a b`.
fn command_of(v: &str) -> String {
    v.split("' '").map(|w| w.trim_matches('\'')).collect::<Vec<_>>().join(" ")
}

fn normalise_item(list: &str, t: &str) -> String {
    match list {
        // "198.18.0.2 min_ttl 0 max_ttl 255" → the address. keepalived keeps the host's own
        // address in the list (and sends itself adverts it then ignores); keepvip drops it,
        // as osixia's recipe lists every node on every node: the same cluster either way.
        "peers" => match t.split_whitespace().next().unwrap_or_default() {
            own @ ("198.18.0.1" | "198.18.1.1") => format!("(own {own})"),
            a => a.to_string(),
        },
        // A tracked process: "proc0, weight 0".
        "tracked" => t.replacen(", weight", " weight", 1),
        // "198.18.0.100/24 dev eth0 scope global label eth0:1" → without the scope.
        "vips" | "excluded" => {
            let t = t.replace(" scope global", "").replace(" preferred_lft forever", "");
            // A VMAC shows as "vrrp.10@eth0".
            t.split(' ').map(|w| w.split('@').next().unwrap_or(w)).collect::<Vec<_>>().join(" ")
        }
        _ => t.to_string(),
    }
}

/// A program as keepalived shows it: resolved through PATH and symlinks.
fn resolved(argv0: &str) -> String {
    let path = if argv0.contains('/') {
        std::path::PathBuf::from(argv0)
    } else {
        match std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .map(|d| Path::new(d).join(argv0))
            .find(|p| p.exists())
        {
            Some(p) => p,
            None => return argv0.to_string(),
        }
    };
    std::fs::canonicalize(&path).map_or(argv0.to_string(), |p| p.display().to_string())
}

/// keepvip's `--check` of the same file, in the same terms.
fn keepvip(h: &Host, file: &Path) -> Outcome {
    keepvip_with(h, &[], &["--check", "--json", "--use-file", file.to_str().unwrap()])
}

/// keepvip's `--check` with `env` and `args`, in the comparator's terms.
fn keepvip_with(h: &Host, env: &[(String, String)], args: &[&str]) -> Outcome {
    let o = h.run_keepvip(env, args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    if !o.status.success() {
        return Outcome::Refuses(err);
    }
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut view = BTreeMap::new();
    // From a file, every instance under `instances`; from the variables, the one instance
    // itself (with `instances` only for dual stack).
    let one = [j.clone()];
    let instances = j["instances"].as_array().map_or(&one[..], Vec::as_slice);
    for i in instances {
        let mut m = BTreeMap::new();
        let s = |v: &serde_json::Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        let version = i["vrrp_version"].as_u64().unwrap();
        m.insert("version".into(), version.to_string());
        m.insert("state".into(), s(&i["state"]));
        m.insert("interface".into(), s(&i["interface"]));
        if let Some(src) = i["unicast_src_ip"].as_str().filter(|_| i["unicast_src_ip_from"] == "configuration") {
            m.insert("src".into(), src.to_string());
        }
        for (k, j) in [
            ("garp_delay", "garp_master_delay"),
            ("garp_repeat", "garp_master_repeat"),
            ("garp_refresh", "garp_master_refresh"),
            ("garp_refresh_repeat", "garp_master_refresh_repeat"),
            ("garp_lower_delay", "garp_lower_prio_delay"),
            ("garp_lower_repeat", "garp_lower_prio_repeat"),
            ("router_id", "router_id"),
            ("priority", "priority"),
            ("down_timer_adverts", "down_timer_adverts"),
        ] {
            m.insert(k.into(), i[j].to_string());
        }
        let adv = i["advert_int"].as_f64().unwrap();
        // keepalived shows VRRPv3's centiseconds in milliseconds, VRRPv2's seconds as such.
        let advert = if version == 2 { format!("{adv} sec") } else { format!("{} milli-sec", (adv * 1000.0).round()) };
        m.insert("advert_int".into(), advert);
        m.insert("preempt".into(), if i["preempt"] == true { "enabled" } else { "disabled" }.into());
        let delay = i["preempt_delay"].as_f64().unwrap();
        if delay > 0.0 {
            m.insert("preempt_delay".into(), format!("{delay}"));
        }
        if version == 2 {
            m.insert("auth".into(), s(&i["auth_type"]).replace("NONE", "none"));
        }
        if let Some(g) = i["sync_group"].as_str() {
            m.insert("sync_group".into(), g.to_string());
        }
        if let Some(g) = i["mcast_group"].as_str() {
            m.insert("mcast".into(), g.to_string());
        }
        if i["dont_track_primary"] == true {
            m.insert("dont_track_primary".into(), "yes".into());
        }
        if let Some(n) = i["garp_extra_if"].as_u64() {
            m.insert("garp_extra_if".into(), n.to_string());
        }
        if let Some(v) = i["use_vmac"].as_str() {
            m.insert("vmac".into(), format!("{v} xmit_base={}", i["vmac_xmit_base"] == true));
        }
        if i["strict"] == true {
            m.insert("strict".into(), "yes".into());
        }
        m.insert("accept".into(), if i["accept"] == true { "enabled" } else { "disabled" }.into());
        m.insert("lower_prio_advert".into(), (i["lower_prio_no_advert"] != true).to_string());
        m.insert("higher_prio_advert".into(), (i["higher_prio_send_advert"] == true).to_string());
        let vip = |v: &serde_json::Value| {
            let addr = v["address"].as_str().unwrap();
            let p = v["prefix"].as_u64().unwrap();
            let full = if addr.contains(':') { 128 } else { 32 };
            let prefix = if p == full { String::new() } else { format!("/{p}") };
            let label = v["label"].as_str().map(|l| format!(" label {l}")).unwrap_or_default();
            format!("{addr}{prefix} dev {}{label}", v["dev"].as_str().unwrap())
        };
        let vips = i["virtual_ips"].as_array().unwrap();
        for (key, advertised) in [("vips", true), ("excluded", false)] {
            let l: Vec<String> = vips.iter().filter(|v| v["advertised"] == advertised).map(vip).collect();
            if !l.is_empty() {
                m.insert(key.into(), l.join(" | "));
            }
        }
        let peers: Vec<String> = i["unicast_peers"].as_array().unwrap().iter().map(s).collect();
        if !peers.is_empty() {
            m.insert("peers".into(), peers.join(" | "));
        }
        let mut tracked: Vec<String> =
            i["track_interfaces"].as_array().unwrap().iter().map(|t| format!("{} weight 0", s(t))).collect();
        for c in i["checks"].as_array().unwrap() {
            let name = s(&c["name"]);
            let name = name.strip_prefix("interface ").unwrap_or(&name).to_string();
            tracked.push(format!("{name} weight {}", c["weight"]));
            let probe = s(&c["probe"]);
            if probe.starts_with("interface ") {
                continue;
            }
            if let Some(pm) = c["process"].as_object() {
                let mut m = BTreeMap::new();
                m.insert("process".into(), s(&pm["name"]));
                if let Some(args) = pm["args"].as_array() {
                    if !args.is_empty() {
                        m.insert("params".into(), args.iter().map(s).collect::<Vec<_>>().join(" "));
                    }
                    m.insert("param_match".into(), s(&pm["param_match"]));
                }
                m.insert("quorum".into(), pm["quorum"].to_string());
                if let Some(max) = pm["quorum_max"].as_u64() {
                    m.insert("quorum_max".into(), max.to_string());
                }
                m.insert("full_command".into(), pm["full_command"].to_string());
                m.insert("rise".into(), c["rise"].to_string());
                m.insert("fall".into(), c["fall"].to_string());
                view.insert(format!("process {name}"), m);
                continue;
            }
            let secs = |v: &serde_json::Value| format!("{} sec", v.as_f64().unwrap());
            let mut sm = BTreeMap::new();
            let cmd = probe.strip_prefix("script ").unwrap_or(&probe);
            let (argv0, rest) = cmd.split_once(' ').map_or((cmd, ""), |(a, r)| (a, r));
            sm.insert("command".into(), format!("{} {rest}", resolved(argv0)).trim().to_string());
            sm.insert("interval".into(), secs(&c["interval"]));
            sm.insert("timeout".into(), secs(&c["timeout"]));
            sm.insert("rise".into(), c["rise"].to_string());
            sm.insert("fall".into(), c["fall"].to_string());
            // Not "init": Debian's 2.2.7 dumps `init_fail` scripts as INIT (its parser sets
            // FAILED); keepvip follows the parser.
            view.insert(format!("script {name}"), sm);
        }
        if !tracked.is_empty() {
            m.insert("tracked".into(), tracked.join(" | "));
        }
        let notify = |c: &str| {
            let (argv0, rest) = c.split_once(' ').map_or((c, ""), |(a, r)| (a, r));
            format!("{} {rest}", resolved(argv0)).trim().to_string()
        };
        if let Some(n) = i["notify"].as_str() {
            m.insert("notify".into(), notify(n));
        }
        for (state, c) in i["notify_state"].as_object().unwrap() {
            m.insert(format!("notify_{}", state.to_ascii_lowercase()), notify(c.as_str().unwrap()));
        }
        view.insert(s(&i["name"]), m);
    }
    Outcome::Runs(view)
}

/// Lists in one order on both sides (keepalived sorts none; keepvip keeps the file's).
fn sorted_lists(mut v: BTreeMap<String, BTreeMap<String, String>>) -> BTreeMap<String, BTreeMap<String, String>> {
    for m in v.values_mut() {
        if let Some(t) = m.get_mut("tracked") {
            let mut items: Vec<&str> = t.split(" | ").collect();
            items.sort();
            *t = items.join(" | ");
        }
    }
    v
}

/// The difference between the two, if any: `None` when keepvip runs the file as keepalived
/// does, refuses it naming file:line, or both refuse.
fn difference(k: &Outcome, v: &Outcome, file: &Path) -> Option<String> {
    match (k, v) {
        (Outcome::Runs(k), Outcome::Runs(v)) => {
            let (k, v) = (sorted_lists(k.clone()), sorted_lists(v.clone()));
            let mut diffs = vec![];
            for name in k.keys().chain(v.keys()).collect::<std::collections::BTreeSet<_>>() {
                match (k.get(name), v.get(name)) {
                    (Some(a), Some(b)) => {
                        for f in a.keys().chain(b.keys()).collect::<std::collections::BTreeSet<_>>() {
                            if a.get(f) != b.get(f) {
                                diffs.push(format!("{name}.{f}: keepalived {:?}, keepvip {:?}", a.get(f), b.get(f)));
                            }
                        }
                    }
                    (Some(_), None) => diffs.push(format!("{name}: keepalived runs it, keepvip does not")),
                    (None, Some(_)) => diffs.push(format!("{name}: keepvip runs it, keepalived does not")),
                    (None, None) => {}
                }
            }
            (!diffs.is_empty()).then(|| diffs.join("\n"))
        }
        (Outcome::Runs(_), Outcome::Refuses(err)) => {
            // A refusal must name the file and line of each problem.
            let bad: Vec<&str> = err
                .lines()
                .filter(|l| l.starts_with("keepvip: ") && !l.contains("problem(s) in"))
                .filter(|l| !l.contains(&format!("{}:", file.display())))
                .collect();
            (!bad.is_empty()).then(|| format!("keepvip refuses without file:line: {bad:?}"))
        }
        (Outcome::Refuses(why), Outcome::Runs(_)) => Some(format!("keepalived refuses, keepvip runs:\n{why}")),
        (Outcome::Refuses(_), Outcome::Refuses(_)) => None,
    }
}

/// The first line of each difference: what a shrink must keep.
fn signature(d: &str) -> Vec<String> {
    d.lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split(": keepalived").next().unwrap_or(l).to_string())
        .take(1)
        .collect()
}

/// Every removable entry, as (top, entry, line within a block).
fn units(file: &[Top]) -> Vec<(usize, Option<usize>, Option<usize>)> {
    let mut u = vec![];
    for (t, top) in file.iter().enumerate() {
        u.push((t, None, None));
        for (e, entry) in top.entries.iter().enumerate() {
            u.push((t, Some(e), None));
            if let Entry::Block(_, lines) = entry {
                u.extend((0..lines.len()).map(|l| (t, Some(e), Some(l))));
            }
        }
    }
    u
}

fn without(file: &[Top], unit: (usize, Option<usize>, Option<usize>)) -> Vec<Top> {
    let mut f = file.to_vec();
    match unit {
        (t, None, _) => {
            f.remove(t);
        }
        (t, Some(e), None) => {
            f[t].entries.remove(e);
        }
        (t, Some(e), Some(l)) => {
            if let Entry::Block(_, lines) = &mut f[t].entries[e] {
                lines.remove(l);
            }
        }
    }
    f
}

struct Judge<'a> {
    h: &'a Host,
    dir: std::path::PathBuf,
    n: usize,
}

impl Judge<'_> {
    fn judge(&mut self, file: &[Top]) -> (Outcome, Outcome, Option<String>) {
        self.n += 1;
        let path = self.dir.join(format!("f{}.conf", self.n));
        std::fs::write(&path, render(file)).unwrap();
        // keepvip first: keepalived's masters add addresses keepvip would then find.
        let v = keepvip(self.h, &path);
        let k = keepalived(self.h, &path);
        let d = difference(&k, &v, &path);
        (k, v, d)
    }

    /// The smallest file found that still shows the same difference.
    fn shrink(&mut self, mut file: Vec<Top>, sig: &[String]) -> Vec<Top> {
        let mut i = 0;
        while i < units(&file).len() {
            let smaller = without(&file, units(&file)[i]);
            match self.judge(&smaller).2 {
                Some(d) if signature(&d) == sig => file = smaller,
                _ => i += 1,
            }
        }
        file
    }
}

#[test]
fn generated_keepalived_confs_run_as_keepalived_runs_them() {
    let seed: u64 = std::env::var("KEEPVIP_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let files: Option<usize> = std::env::var("KEEPVIP_DIFF_FILES").ok().and_then(|s| s.parse().ok());
    let budget =
        Duration::from_secs(std::env::var("KEEPVIP_DIFF_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(150));
    eprintln!("conf differential: seed {seed}");
    let lab = Lab::new(1);
    let h = lab.host(0);
    h.veth("eth1", "eth1p", Some("198.18.1.1/24"));
    let dir = h.dir().join(format!("{}-differential", h.ns));
    std::fs::create_dir_all(&dir).unwrap();
    let mut judge = Judge { h, dir, n: 0 };
    let start = Instant::now();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    // Why keepvip refuses what keepalived runs, by message: the next things to build.
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut found = vec![];
    let mut index = 0u64;
    while files.map_or(start.elapsed() < budget, |n| (index as usize) < n) {
        let mut r = Rng(seed.wrapping_mul(1_000_003).wrapping_add(index));
        index += 1;
        let file = generate(&mut r);
        let (k, v, d) = judge.judge(&file);
        let class = match (&k, &v, &d) {
            (_, _, Some(_)) => "DIFFERENT",
            (Outcome::Runs(_), Outcome::Runs(_), None) => "both run, same fields",
            (Outcome::Runs(_), Outcome::Refuses(_), None) => "keepvip refuses (file:line)",
            _ => "both refuse",
        };
        *counts.entry(class).or_default() += 1;
        if let (Outcome::Runs(_), Outcome::Refuses(err)) = (&k, &v) {
            for l in err.lines().filter(|l| l.starts_with("keepvip: ") && !l.contains("problem(s) in")) {
                // "keepvip: FILE:LINE: message" → the message's words, without numbers.
                let msg = l.splitn(4, ':').nth(3).unwrap_or(l);
                let key: String = msg.chars().filter(|c| !c.is_ascii_digit()).take(70).collect();
                *refusals.entry(key).or_default() += 1;
            }
        }
        if let Some(d) = d {
            let sig = signature(&d);
            if found.iter().any(|(s, _, _)| *s == sig) {
                continue;
            }
            let small = judge.shrink(file, &sig);
            let (_, _, d2) = judge.judge(&small);
            found.push((sig, index - 1, format!("{}\n--- file (shrunk) ---\n{}", d2.unwrap_or(d), render(&small))));
            if found.len() >= 5 {
                break;
            }
        }
    }
    let mut top: Vec<(&String, &usize)> = refusals.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1));
    for (msg, n) in top.iter().take(12) {
        eprintln!("conf differential: keepvip refuses what keepalived runs ({n}×):{msg}");
    }
    eprintln!("conf differential: {index} files in {:.0} s: {counts:?}", start.elapsed().as_secs_f64());
    let report: Vec<String> = found
        .iter()
        .map(|(_, i, text)| format!("=== seed {seed}, file {i} (KEEPVIP_DIFF_SEED={seed}) ===\n{text}"))
        .collect();
    assert!(found.is_empty(), "{} difference(s):\n{}", found.len(), report.join("\n"));
    assert!(
        counts.get("both run, same fields").copied().unwrap_or(0) * 3 >= index as usize,
        "too few files both run: {counts:?}"
    );
}

/// The variables both osixia images document, seeded; in 2.0.20's list form and 2.3's.
type Env = Vec<(String, String)>;

fn generate_env(r: &mut Rng) -> (Env, Env) {
    let mut common: Vec<(&str, String)> = vec![];
    if r.chance(0.8) {
        common.push(("KEEPALIVED_PRIORITY", r.pick(&["1", "100", "150", "200", "254", "255"]).into()));
    }
    if r.chance(0.4) {
        common.push(("KEEPALIVED_STATE", r.pick(&["MASTER", "BACKUP"]).into()));
    }
    if r.chance(0.4) {
        common.push(("KEEPALIVED_ROUTER_ID", r.pick(&["1", "51", "200"]).into()));
    }
    if r.chance(0.3) {
        common.push(("KEEPALIVED_PASSWORD", r.pick(&["secret", "12345678901", "x"]).into()));
    }
    if r.chance(0.2) {
        common.push(("KEEPALIVED_INTERFACE", "eth0".into()));
    }
    // The recipe lists every node on every node, this one included (mostly: a list without
    // it is a mistake keepvip refuses, on purpose).
    let own = r.chance(0.9);
    let mut peers: Vec<&str> =
        ["198.18.0.2", "198.18.0.3", "198.18.0.4"].into_iter().filter(|_| r.chance(0.5)).collect();
    if peers.is_empty() {
        peers.push("198.18.0.2");
    }
    if own {
        peers.insert(r.below(peers.len() + 1), "198.18.0.1");
    }
    let vips: Vec<String> = (0..1 + r.below(3))
        .map(|k| format!("198.18.0.{}{}", 100 + k, if r.chance(0.3) { "/24" } else { "" }))
        .collect();
    let py = |items: &[String]| {
        format!("#PYTHON2BASH:[{}]", items.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", "))
    };
    let peers: Vec<String> = peers.iter().map(|p| p.to_string()).collect();
    let owned = |extra: Vec<(&str, String)>| -> Vec<(String, String)> {
        common.iter().cloned().chain(extra).map(|(k, v)| (k.to_string(), v)).collect()
    };
    let old = owned(vec![
        ("KEEPALIVED_UNICAST_PEERS", py(&peers)),
        ("KEEPALIVED_VIRTUAL_IPS", py(&vips)),
        ("KEEPALIVED_NOTIFY", String::new()),
    ]);
    let new = owned(vec![
        ("KEEPALIVED_UNICAST_PEERS", peers.join(" ")),
        ("KEEPALIVED_VIRTUAL_IPS", vips.join(" ")),
        ("KEEPALIVED_NOTIFY_SCRIPT", String::new()),
    ]);
    (old, new)
}

/// The same variables through both osixia images: each image's rendering run by Debian's
/// keepalived (its --dump-conf view), and keepvip given the variables in that image's form.
/// The cluster must be the same, or keepvip must refuse naming the variable.
#[test]
fn generated_environments_run_as_both_osixia_images_render_them() {
    let seed: u64 = std::env::var("KEEPVIP_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let n: usize = std::env::var("KEEPVIP_ENV_DIFF_FILES").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let lab = Lab::new(1);
    let h = lab.host(0);
    h.veth("eth1", "eth1p", Some("198.18.1.1/24"));
    let dir = h.dir().join(format!("{}-env-differential", h.ns));
    std::fs::create_dir_all(&dir).unwrap();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut found = vec![];
    for index in 0..n as u64 {
        let mut r = Rng(seed.wrapping_mul(7_000_003).wrapping_add(index));
        let (old, new) = generate_env(&mut r);
        let as_refs = |e: &[(String, String)]| -> Vec<(String, String)> { e.to_vec() };
        for (image, env, text) in [
            ("2.0.20", &old, crate::common::keepalived::render(&old)),
            (
                "2.3",
                &new,
                crate::osixia23::render_2_3(&new.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>()),
            ),
        ] {
            let path = dir.join(format!("e{index}-{image}.conf"));
            std::fs::write(&path, &text).unwrap();
            let v = keepvip_with(h, &as_refs(env), &["--check", "--json"]);
            let k = keepalived(h, &path);
            // keepvip takes the source from the peer list: compared only when configured.
            let v = match v {
                Outcome::Runs(mut m) => {
                    m.values_mut().for_each(|i| {
                        i.remove("src");
                    });
                    Outcome::Runs(m)
                }
                other => other,
            };
            let d = match (&k, &v) {
                // A refusal names the variable.
                (Outcome::Runs(_), Outcome::Refuses(err)) => {
                    (!err.lines().any(|l| l.starts_with("keepvip: KEEPALIVED_")))
                        .then(|| format!("refused without naming a variable:\n{err}"))
                }
                _ => difference(&k, &v, &path),
            };
            let class = match (&k, &v, &d) {
                (_, _, Some(_)) => "DIFFERENT",
                (Outcome::Runs(_), Outcome::Runs(_), None) => "both run, same fields",
                (Outcome::Runs(_), Outcome::Refuses(_), None) => "keepvip refuses (variable named)",
                _ => "both refuse",
            };
            *counts.entry(class).or_default() += 1;
            if let (Outcome::Runs(_), Outcome::Refuses(err)) = (&k, &v) {
                if let Some(l) = err.lines().find(|l| l.starts_with("keepvip: KEEPALIVED_")) {
                    eprintln!("env differential: keepvip refuses ({image}): {l}");
                }
            }
            if let Some(d) = d {
                found.push(format!(
                    "=== osixia {image}, seed {seed}, environment {index} ===\n{d}\n{env:?}\n--- rendered ---\n{text}"
                ));
            }
        }
        if found.len() >= 3 {
            break;
        }
    }
    eprintln!("env differential: {counts:?}");
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert!(counts.get("both run, same fields").copied().unwrap_or(0) * 2 >= n, "too few both run: {counts:?}");
}
