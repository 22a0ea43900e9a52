//! keepalived.conf, differentially: Debian's keepalived 2.2.7 and keepvip read the same
//! files in the same namespace (eth0 and eth1). keepalived's config test (`-t`) gives the
//! verdict; for files both accept, keepalived's own `--dump-conf` view of each instance is
//! compared with keepvip's `--check`. The corpus: the sample configs Debian ships with
//! keepalived (read from the package at test time) and files written here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::netns::{Host, Lab};
use crate::common::wait_until;

const SAMPLES: &str = "/usr/share/doc/keepalived/samples";

/// Warnings that fail keepalived's config test although keepalived runs the file as
/// written, and keepvip's warning for the same thing.
const RUNS_ANYWAY: &[(&str, &str)] = &[
    (
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled",
        "notify scripts run as root without enable_script_security",
    ),
    ("nopreempt is incompatible with priority 255", "nopreempt has no effect with priority 255 or state MASTER"),
    ("No VIP specified; at least one is sensible", "no virtual_ipaddress: elections and notify scripts only"),
];

/// Files written here: (name, text). Together with the samples they cover includes,
/// variables, sync groups, unicast, VRRPv3, excluded VIPs, notify and the common mistakes.
fn own_corpus(dir: &Path) -> Vec<(String, String)> {
    let inc = dir.join("inc.d");
    std::fs::create_dir_all(&inc).unwrap();
    std::fs::write(
        inc.join("b.conf"),
        "vrrp_instance B {\n  interface eth1\n  virtual_router_id 9\n  virtual_ipaddress {\n    198.18.1.100\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(inc.join("a.conf"), "vrrp_instance A {\n  interface eth0\n  virtual_router_id 8\n  priority 150\n  virtual_ipaddress {\n    198.18.0.100/24\n  }\n}\n").unwrap();
    let vi = |name: &str, vrid: u32, body: &str| {
        format!("vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n{body}  virtual_ipaddress {{\n    198.18.0.{vrid}\n  }}\n}}\n")
    };
    vec![
        ("minimal".into(), vi("VI_1", 51, "")),
        ("include-glob".into(), format!("global_defs {{\n  router_id x\n}}\ninclude {}/*.conf\n", inc.display())),
        ("variables".into(), "$IF=eth1\n$VRID=77\nvrrp_instance V {\n  interface $IF\n  virtual_router_id ${VRID}\n  priority 120\n  virtual_ipaddress {\n    198.18.1.77\n  }\n}\n".into()),
        (
            "unicast-auth-nopreempt".into(),
            vi("U", 60, "  state BACKUP\n  priority 99\n  advert_int 3\n  nopreempt\n  unicast_src_ip 198.18.0.1\n  unicast_peer {\n    198.18.0.2\n    198.18.0.3\n  }\n  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n"),
        ),
        ("vrrpv3-subsecond".into(), vi("V3", 61, "  version 3\n  advert_int 0.5\n  priority 200\n")),
        ("global-v3".into(), format!("global_defs {{\n  vrrp_version 3\n}}\n{}", vi("G3", 62, "  advert_int 0.25\n"))),
        (
            "sync-group".into(),
            format!("vrrp_sync_group SG {{\n  group {{\n    X\n    Y\n  }}\n}}\n{}{}", vi("X", 70, ""), vi("Y", 71, "  priority 50\n")),
        ),
        ("excluded-and-notify".into(), vi("E", 72, "  notify \"/bin/true arg\"\n  notify_master /bin/true\n  virtual_ipaddress_excluded {\n    198.18.0.250\n  }\n")),
        ("state-master-priority-255".into(), vi("M", 73, "  state MASTER\n  priority 255\n  nopreempt\n")),
        ("preempt-delay".into(), vi("P", 74, "  priority 101\n  preempt_delay 5\n")),
        ("braces-on-one-line".into(), "vrrp_instance O {\n  interface eth0\n  virtual_router_id 75\n  virtual_ipaddress { 198.18.0.75 }\n}\n".into()),
        (
            "vrrp-script-tracked".into(),
            format!(
                "global_defs {{\n  enable_script_security\n  script_user root\n}}\nvrrp_script chk {{\n  script \"/usr/bin/test -e /nonexistent\"\n  interval 2\n  timeout 1\n  fall 3\n  rise 2\n  weight -20\n}}\n{}",
                vi("S", 76, "  priority 150\n  track_script {\n    chk weight -30\n  }\n  track_interface {\n    eth1 weight -10\n  }\n")
            ),
        ),
        (
            "ipv6-and-dual-stack-group".into(),
            format!(
                "vrrp_sync_group DS {{\n  group {{\n    V4\n    V6\n  }}\n}}\n{}vrrp_instance V6 {{\n  interface eth0\n  virtual_router_id 90\n  priority 150\n  version 3\n  advert_int 0.5\n  virtual_ipaddress {{\n    fe80::90/64\n    2001:db8::90\n  }}\n}}\n",
                vi("V4", 90, "  priority 150\n")
            ),
        ),
        ("track-script-missing".into(), vi("TM", 88, "  track_script {\n    nochk\n  }\n")),
        ("vrrp-script-without-script".into(), format!("vrrp_script s {{\n  interval 1\n}}\n{}", vi("SW", 89, "  track_script {\n    s\n  }\n"))),
        // Mistakes keepalived's config test rejects.
        ("no-vrid".into(), "vrrp_instance N {\n  interface eth0\n  virtual_ipaddress {\n    198.18.0.9\n  }\n}\n".into()),
        ("priority-300".into(), vi("P3", 80, "  priority 300\n")),
        ("unknown-keyword".into(), vi("K", 81, "  frobnicate 1\n")),
        ("no-vip".into(), "vrrp_instance NV {\n  interface eth0\n  virtual_router_id 82\n}\n".into()),
        ("bad-vip".into(), "vrrp_instance BV {\n  interface eth0\n  virtual_router_id 83\n  virtual_ipaddress {\n    198.18.0.300\n  }\n}\n".into()),
        ("missing-brace".into(), "vrrp_instance MB {\n  interface eth0\n  virtual_router_id 84\n  virtual_ipaddress {\n    198.18.0.84\n  }\n".into()),
        ("same-vrid-twice".into(), format!("{}{}", vi("D1", 85, ""), vi("D2", 85, "").replace("198.18.0.85", "198.18.0.86"))),
        ("no-such-interface".into(), vi("I", 86, "").replace("interface eth0", "interface eth9")),
        ("unknown-top-level".into(), format!("frobnicate {{\n}}\n{}", vi("T", 87, ""))),
    ]
}

/// keepalived's verdict: `-t` exits 0 when the file is clean.
fn keepalived_accepts(h: &Host, file: &Path) -> (bool, String) {
    let o = h.sh(&["keepalived", "-t", "-f", file.to_str().unwrap()]);
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
}

/// keepalived's own view of each instance, from `--dump-conf` of a real start in the lab.
fn keepalived_view(h: &Host, file: &Path, dir: &Path, want: usize) -> BTreeMap<String, BTreeMap<String, String>> {
    let pid = dir.join("k.pid");
    let vpid = dir.join("v.pid");
    let mut p = h.spawn(&[
        "keepalived",
        "-n",
        "-l",
        "-D",
        "-d",
        "--vrrp",
        "-f",
        file.to_str().unwrap(),
        "-p",
        pid.to_str().unwrap(),
        "-r",
        vpid.to_str().unwrap(),
    ]);
    let done = |log: &str| log.matches("Using smtp notification").count() >= want;
    assert!(wait_until(Duration::from_secs(10), || done(&p.log())), "no dump from keepalived:\n{}", p.log());
    p.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(p.wait_exit(Duration::from_secs(10)).is_some(), "keepalived did not stop");
    let mut view: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut cur: Option<String> = None;
    // Inside an instance's "Tracked interfaces :" / "Tracked scripts :" list.
    let mut listing = false;
    for line in p.log().lines() {
        // "<date>:  VRRP Instance = VI_1" and "<date>:    Priority = 100".
        let Some((_, kv)) = line.split_once(": ") else { continue };
        let Some((k, v)) = kv.trim().split_once(" = ") else {
            let item = kv.trim();
            if let (Some(c), Some(n)) = (&cur, item.strip_prefix("Virtual IP (")) {
                let n = n.trim_end_matches("):").to_string();
                view.get_mut(c).unwrap().insert("vips".into(), n);
            } else if item == "Tracked interfaces :" || item == "Tracked scripts :" {
                listing = true;
            } else if let (Some(c), true) = (&cur, listing && is_tracked_item(item)) {
                let t = view.get_mut(c).unwrap().entry("tracked".into()).or_default();
                let mut all: Vec<&str> = t.split(", ").filter(|x| !x.is_empty()).collect();
                all.push(item);
                all.sort();
                *t = all.join(", ");
            }
            // Other lines (keepalived's parent writes to the same log) do not end a list: a
            // `key = value` line does.
            continue;
        };
        listing = false;
        if k == "VRRP Instance" || k == "VRRP Script" {
            let name = if k == "VRRP Script" { format!("script {v}") } else { v.to_string() };
            cur = Some(name.clone());
            view.insert(name, BTreeMap::new());
        } else if let Some(c) = cur.as_ref().filter(|c| c.starts_with("script ")) {
            let key = match k {
                "Interval" => "interval",
                "Timeout" => "timeout",
                "Rise" => "rise",
                "Fall" => "fall",
                "Init state" => "init",
                _ => continue,
            };
            view.get_mut(c).unwrap().entry(key.into()).or_insert(v.to_string());
        } else if let Some(c) = &cur {
            let key = match k {
                "Interface" => "interface",
                "Virtual Router ID" => "router_id",
                "Priority" => "priority",
                "Advert interval" => "advert_int",
                "Preempt" => "preempt",
                "Sync group" => "sync_group",
                _ => continue,
            };
            view.get_mut(c).unwrap().entry(key.into()).or_insert(v.to_string());
        }
    }
    view
}

/// "NAME weight N", an entry of keepalived's tracked interfaces or scripts.
fn is_tracked_item(item: &str) -> bool {
    matches!(item.split(' ').collect::<Vec<_>>()[..], [_, "weight", w] if w.parse::<i32>().is_ok())
}

/// keepvip's `--check` of the same file, in keepalived's dump terms.
fn keepvip_view(j: &serde_json::Value) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut view = BTreeMap::new();
    for i in j["instances"].as_array().unwrap() {
        let adv = i["advert_int"].as_f64().unwrap();
        let advert =
            if adv.fract() == 0.0 { format!("{adv} sec") } else { format!("{} milli-sec", (adv * 1000.0).round()) };
        let mut m = BTreeMap::new();
        m.insert("interface".to_string(), i["interface"].as_str().unwrap().to_string());
        m.insert("router_id".into(), i["router_id"].to_string());
        m.insert("priority".into(), i["priority"].to_string());
        m.insert("advert_int".into(), advert);
        m.insert("preempt".into(), if i["preempt"] == true { "enabled" } else { "disabled" }.into());
        if let Some(g) = i["sync_group"].as_str() {
            m.insert("sync_group".into(), g.to_string());
        }
        let vips = i["virtual_ips"].as_array().unwrap().iter().filter(|v| v["advertised"] == true).count();
        m.insert("vips".into(), vips.to_string());
        // Tracked interfaces and scripts as keepalived lists them: "NAME weight W".
        let mut tracked: Vec<String> = i["track_interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| format!("{} weight 0", t.as_str().unwrap()))
            .collect();
        let secs = |v: &serde_json::Value| {
            let s = v.as_f64().unwrap();
            if s.fract() == 0.0 {
                format!("{s} sec")
            } else {
                format!("{s:.3} sec")
            }
        };
        for c in i["checks"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            let name = name.strip_prefix("interface ").unwrap_or(name);
            tracked.push(format!("{name} weight {}", c["weight"]));
            if c["probe"].as_str().unwrap().starts_with("interface ") {
                continue;
            }
            let mut sm = BTreeMap::new();
            sm.insert("interval".to_string(), secs(&c["interval"]));
            sm.insert("timeout".to_string(), secs(&c["timeout"]));
            sm.insert("rise".to_string(), c["rise"].to_string());
            sm.insert("fall".to_string(), c["fall"].to_string());
            sm.insert("init".to_string(), if c["init_fail"] == true { "FAILED" } else { "INIT" }.to_string());
            view.insert(format!("script {name}"), sm);
        }
        if !tracked.is_empty() {
            tracked.sort();
            m.insert("tracked".into(), tracked.join(", "));
        }
        view.insert(i["name"].as_str().unwrap().to_string(), m);
    }
    view
}

#[test]
fn keepvip_reads_keepalived_conf_as_keepalived_does() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    h.veth("eth1", "eth1p", Some("198.18.1.1/24"));
    let dir = h.dir().join(format!("{}-corpus", h.ns));
    std::fs::create_dir_all(&dir).unwrap();
    let mut corpus: Vec<(String, PathBuf)> = vec![];
    let mut samples: Vec<PathBuf> = std::fs::read_dir(SAMPLES)
        .unwrap_or_else(|e| panic!("{SAMPLES}: {e} (Debian's keepalived package ships them)"))
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("keepalived.conf"))
        .collect();
    samples.sort();
    assert!(samples.len() >= 20, "expected keepalived's sample configs in {SAMPLES}, found {}", samples.len());
    for s in samples {
        // Their addresses moved into the lab's range: a real start adds them in the namespace.
        let text = std::fs::read_to_string(&s).unwrap().replace("192.168.", "198.18.");
        let name = s.file_name().unwrap().to_string_lossy().into_owned();
        let path = dir.join(&name);
        std::fs::write(&path, text).unwrap();
        corpus.push((name, path));
    }
    for (name, text) in own_corpus(&dir) {
        let path = dir.join(format!("{name}.conf"));
        std::fs::write(&path, text).unwrap();
        corpus.push((name, path));
    }
    let mut table = vec![];
    let mut failures = vec![];
    for (name, path) in &corpus {
        let (k_ok, k_out) = keepalived_accepts(h, path);
        let o = h.run_keepvip(&[], &["--check", "--use-file", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let v_ok = o.status.success();
        let problems: Vec<&str> =
            err.lines().filter(|l| l.starts_with("keepvip: ") && !l.contains("problem(s) in")).collect();
        // keepvip's refusals of what it cannot do (IPVS, static routes…) are the documented
        // difference; every other problem must be one keepalived's test finds as well.
        let refusal = |l: &&str| l.contains("keepvip does not do") || l.contains("not supported");
        let verdict = match (k_ok, v_ok) {
            (true, true) => {
                let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                let ours = keepvip_view(&j);
                let instances = ours.keys().filter(|k| !k.starts_with("script ")).count();
                let theirs = keepalived_view(h, path, &dir, instances);
                if ours != theirs {
                    failures.push(format!("{name}: keepalived {theirs:?}\n  keepvip    {ours:?}"));
                }
                format!("both accept, {} instance(s) agree", ours.len())
            }
            (false, false) => "both reject".to_string(),
            (true, false) if !problems.is_empty() && problems.iter().all(refusal) => {
                "keepvip refuses a feature it lacks".to_string()
            }
            (true, false) => {
                failures.push(format!("{name}: keepalived accepts, keepvip rejects:\n{err}"));
                "DIFFERENT".into()
            }
            // keepalived's test also fails on warnings about files it then runs as
            // written; keepvip accepts those with the same warning.
            (false, true)
                if k_out
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .all(|l| RUNS_ANYWAY.iter().any(|(theirs, ours)| l.contains(theirs) && err.contains(ours))) =>
            {
                "both warn, both run".to_string()
            }
            (false, true) => {
                failures.push(format!("{name}: keepalived rejects, keepvip accepts:\n{k_out}\nkeepvip:\n{err}"));
                "DIFFERENT".into()
            }
        };
        // Every problem keepvip reports names the file and line.
        for p in &problems {
            if !p.contains(&format!("{}:", path.display())) {
                failures.push(format!("{name}: a problem without file:line: {p}"));
            }
        }
        table.push(format!("{name:<40} {verdict}"));
    }
    eprintln!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The corpus exercises each outcome.
    for want in ["both accept", "both reject", "keepvip refuses"] {
        assert!(table.iter().any(|l| l.contains(want)), "no case for {want:?}:\n{}", table.join("\n"));
    }
}

/// keepalived's own manual (Debian's keepalived.conf(5)) names no VRRP keyword that keepvip's
/// keyword table (and so the README's) leaves out.
#[test]
fn every_vrrp_keyword_of_keepalived_s_manual_is_in_the_table() {
    use keepvip::config::conf::keywords::{lookup, Block};
    let o = std::process::Command::new("sh")
        .args(["-c", "zcat /usr/share/man/man5/keepalived.conf.5.gz"])
        .output()
        .unwrap();
    assert!(o.status.success(), "keepalived.conf(5) is missing: Debian's keepalived package ships it");
    let man = String::from_utf8_lossy(&o.stdout);
    // The keywords the manual shows in bold, per section.
    let section = |title: &str| -> Vec<String> {
        let start = man.find(&format!(".SH {title}")).unwrap_or_else(|| panic!("no section {title}"));
        let end = man[start + 4..].find("\n.SH ").map_or(man.len(), |e| start + 4 + e);
        let mut words: Vec<String> = man[start..end]
            .split("\\fB")
            .skip(1)
            .filter_map(|w| {
                let k: String =
                    w.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
                (!k.is_empty()).then_some(k)
            })
            .collect();
        words.sort();
        words.dedup();
        words
    };
    let mut missing = vec![];
    for (title, block) in [
        ("VRRP instance(s)", Block::Instance),
        ("VRRP script(s)", Block::Script),
        ("VRRP synchronization group(s)", Block::SyncGroup),
    ] {
        let words = section(title);
        assert!(words.len() >= 8, "{title}: only {words:?} read from the manual");
        for k in words {
            // The block's own name and the words of its sub-blocks' examples.
            let structural = ["vrrp_instance", "vrrp_script", "vrrp_sync_group"].contains(&k.as_str());
            if !structural && lookup(block, &k).is_none() {
                missing.push(format!("{} {k}", block.name()));
            }
        }
    }
    for k in section("Global definitions").into_iter().filter(|k| k.starts_with("vrrp_")) {
        if lookup(Block::Global, &k).is_none() {
            missing.push(format!("global_defs {k}"));
        }
    }
    assert!(missing.is_empty(), "keepalived documents these, the keyword table does not:\n{}", missing.join("\n"));
}
