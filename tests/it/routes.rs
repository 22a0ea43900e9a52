//! keepalived.conf's `virtual_routes` and `virtual_rules`: the kernel's routing tables and
//! policy rules after keepalived 2.2.7 and after keepvip read the same seeded, generated
//! lines (routes: every kind, to, via/gw, dev, src on the VIP, tables, metrics, scope; rules:
//! not, from, to, fwmark, iif/oif, tos, every action, missing preferences; IPv4 and IPv6)
//! must be the same; both follow mastership, leave with SIGTERM and change in place on a
//! reload, and a crash's leftovers are removed at the next start. Also: a written source the
//! host lacks is a FAULT (routes and VIP off) as keepalived makes it, and `track_src_ip`.

use std::time::Duration;

use crate::common::keepalived::Impl;
use crate::common::netns::{Host, Lab};
use crate::common::wait_until;
use nix::sys::signal::Signal;

const VIP: &str = "198.18.0.100";

/// Deterministic (xorshift), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[(self.next() % of.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// `n` route lines keepalived accepts, each to its own destination.
fn generated_routes(seed: u64, n: usize) -> Vec<String> {
    let mut r = Rng(seed | 1);
    (0..n)
        .map(|i| {
            let v6 = r.chance(25);
            let kind = if r.chance(70) { "" } else { r.pick(&["blackhole ", "unreachable ", "prohibit ", "throw "]) };
            let dest = if v6 {
                format!("2001:db8:{:x}::/{}", 0x100 + i, r.pick(&["48", "64", "128"]))
            } else if r.chance(10) {
                "default".to_string()
            } else {
                let host = 100 + i;
                r.pick(&[&format!("198.18.{host}.0/24"), &format!("198.18.{host}.16/28"), &format!("198.18.{host}.7")])
                    .to_string()
            };
            // keepalived reads `to` only first (after a type it skips the route).
            let to = kind.is_empty() && r.chance(15);
            let mut line = format!("{}{kind}{dest}", if to { "to " } else { "" });
            if kind.is_empty() {
                let via = if v6 { "2001:db8::fe" } else { "198.18.0.254" };
                match r.next() % 3 {
                    0 => line += &format!(" {} {via}", if !v6 && r.chance(20) { "gw" } else { "via" }),
                    1 => line += &format!(" via {via} dev eth0"),
                    _ => {
                        line += " dev eth0";
                        if r.chance(40) {
                            line += &format!(" scope {}", r.pick(&["link", "global"]));
                        }
                    }
                }
                if !v6 && r.chance(30) {
                    line += &format!(" src {VIP}");
                }
            }
            // A default route gets a table of its own (one per table).
            if dest == "default" {
                line += &format!(" table {}", 200 + i);
            } else if r.chance(40) {
                line += &format!(" table {}", r.pick(&["main", "100", "4000", "254"]));
            }
            if r.chance(40) {
                line += &format!(" {} {}", r.pick(&["metric", "priority", "preference"]), r.next() % 2000);
            }
            if r.chance(10) {
                line += " no_track";
            }
            line
        })
        .collect()
}

fn conf(priority: u8, routes: &[String]) -> String {
    conf_with(priority, "virtual_routes", routes)
}

fn conf_with(priority: u8, block: &str, lines: &[String]) -> String {
    format!(
        "vrrp_instance VI_R {{\n  interface eth0\n  virtual_router_id 61\n  priority {priority}\n  advert_int 1\n\
           unicast_peer {{\n    198.18.0.1\n    198.18.0.2\n  }}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n\
           {block} {{\n{}  }}\n}}\n",
        lines.iter().map(|l| format!("    {l}\n")).collect::<String>()
    )
}

/// `n` rule lines keepalived accepts, each with its own preference but a few without
/// (keepalived then counts down from 16384).
fn generated_rules(seed: u64, n: usize) -> Vec<String> {
    let mut r = Rng(seed | 1);
    (0..n)
        .map(|i| {
            let v6 = r.chance(20);
            let mut line = String::new();
            if r.chance(15) {
                line += "not ";
            }
            let net = |r: &mut Rng, k: usize| {
                if v6 {
                    format!("2001:db8:{:x}::/{}", 0x200 + k, r.pick(&["48", "64"]))
                } else {
                    r.pick(&[
                        &format!("198.18.{}.0/24", 150 + k),
                        &format!("198.18.{}.9/24", 150 + k),
                        &format!("198.18.{}.9", 150 + k),
                    ])
                    .to_string()
                }
            };
            if v6 || r.chance(70) {
                line += &format!("from {} ", if !v6 && r.chance(10) { "all".to_string() } else { net(&mut r, i) });
            }
            if r.chance(30) {
                line += &format!("to {} ", net(&mut r, i + 50));
            }
            if r.chance(20) {
                line += &format!("fwmark {} ", r.pick(&["7", "0x8/0xff", "0x10"]));
            }
            if r.chance(15) {
                line += &format!("{} eth0 ", r.pick(&["iif", "oif"]));
            }
            if !v6 && r.chance(10) {
                line += "tos 0x10 ";
            }
            if line.is_empty() {
                line += "from all ";
            }
            let preference = r.chance(85);
            if preference {
                line += &format!("{} {} ", r.pick(&["priority", "preference"]), 100 + i);
            }
            let table = r.chance(60);
            if table {
                line += &format!("{} {} ", r.pick(&["table", "lookup"]), r.pick(&["100", "main", "4000", "7"]));
            } else if preference && r.chance(20) {
                // keepalived takes a goto only with a preference.
                line += "goto 32766 ";
            } else {
                line += r.pick(&["nop ", "blackhole ", "unreachable ", "prohibit "]);
            }
            if table && r.chance(20) {
                line += "suppress_prefixlength 0 ";
            }
            if r.chance(10) {
                line += "no_track";
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// Every policy rule but the kernel's own, both families, sorted.
fn rules_of(h: &Host) -> Vec<String> {
    let mut all = vec![];
    for fam in ["-4", "-6"] {
        let o = h.cmd(&["ip", fam, "-d", "rule", "show"]).output().unwrap();
        all.extend(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| !l.contains("proto kernel"))
                .map(|l| format!("{fam} {}", l.trim())),
        );
    }
    all.sort();
    all
}

/// Every route of protocol keepalived in every table, both families, sorted.
fn routes_of(h: &Host) -> Vec<String> {
    let mut all = vec![];
    for fam in ["-4", "-6"] {
        let o = h.cmd(&["ip", fam, "-d", "route", "show", "table", "all", "proto", "keepalived"]).output().unwrap();
        all.extend(String::from_utf8_lossy(&o.stdout).lines().map(|l| l.trim().to_string()));
    }
    all.sort();
    all
}

fn prepare(h: &Host) {
    h.must(&["ip", "-6", "addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad"]);
}

/// Start `imp` alone (priority 255: master at once) and read the tables once they are still.
fn installed(imp: Impl, h: &Host, text: &str, expected: usize) -> Vec<String> {
    installed_of(imp, h, text, expected, routes_of)
}

fn installed_of(imp: Impl, h: &Host, text: &str, expected: usize, of: fn(&Host) -> Vec<String>) -> Vec<String> {
    let mut p = imp.spawn_conf(h, text);
    let mut last = vec![];
    let settled = wait_until(Duration::from_secs(8), || {
        let now = of(h);
        let still = now.len() >= expected && now == last;
        last = now;
        still
    });
    p.signal(Signal::SIGTERM);
    p.wait_exit(Duration::from_secs(5));
    assert!(settled, "{}: expected {expected}, have {last:#?}\nfile:\n{text}\nlog:\n{}", imp.name(), p.log());
    let left = of(h);
    assert!(left.is_empty(), "{} left these after SIGTERM: {left:#?}", imp.name());
    last
}

#[test]
fn generated_virtual_routes_land_in_the_kernel_as_keepalived_puts_them() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    prepare(h);
    for seed in [1u64, 2, 3, 4, 5] {
        let lines = generated_routes(seed, 14);
        // Duplicate IPv6 destinations cannot happen (one per line); a line is one route.
        let text = conf(255, &lines);
        let keepalived = installed(Impl::Keepalived, h, &text, lines.len());
        let keepvip = installed(Impl::Keepvip, h, &text, lines.len());
        assert_eq!(keepvip, keepalived, "seed {seed}: the file's routes:\n{}", lines.join("\n"));
    }
}

#[test]
fn virtual_routes_and_rules_follow_the_vip_and_a_crash_leaves_none_behind() {
    let lab = Lab::new(2);
    let lines: Vec<String> = [
        "198.18.50.0/24 via 198.18.0.254",
        "198.18.51.0/24 dev eth0 src 198.18.0.100 table 100",
        "blackhole 198.18.52.0/24",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    // And one policy rule: the VIP's traffic looks up table 100.
    let conf = |prio: u8| {
        conf(prio, &lines).replace(
            "virtual_routes {",
            "virtual_rules {\n    from 198.18.0.100 table 100 priority 100\n  }\n  virtual_routes {",
        )
    };
    let master = lab.host(0);
    let backup = lab.host(1);
    let mut a = Impl::Keepvip.spawn_conf(master, &conf(200));
    let mut b = Impl::Keepvip.spawn_conf(backup, &conf(100));
    assert!(
        wait_until(Duration::from_secs(8), || routes_of(master).len() == 3
            && rules_of(master).len() == 1
            && master.has_addr(VIP)),
        "the master's routes: {:?}\n{}",
        routes_of(master),
        a.log()
    );
    assert!(routes_of(backup).is_empty(), "a backup holds no route: {:?}", routes_of(backup));
    assert!(rules_of(backup).is_empty(), "a backup holds no rule: {:?}", rules_of(backup));
    // The master's host crashes: the backup takes the VIP and the routes; the dead daemon's
    // routes stay on its host until it starts again.
    lab.crash(0, &mut a);
    assert!(
        wait_until(Duration::from_secs(8), || routes_of(backup).len() == 3 && rules_of(backup).len() == 1),
        "routes after takeover: {:?}\n{}",
        routes_of(backup),
        b.log()
    );
    assert_eq!(routes_of(master).len(), 3, "SIGKILL leaves the routes (the next start removes them)");
    // Back on the network and restarted lower, it stays backup and removes what its
    // predecessor left.
    lab.heal(0);
    let mut a = Impl::Keepvip.spawn_conf(master, &conf(50));
    assert!(
        wait_until(Duration::from_secs(5), || routes_of(master).is_empty() && rules_of(master).is_empty()),
        "stale routes: {:?}\n{}",
        routes_of(master),
        a.log()
    );
    assert_eq!(routes_of(backup).len(), 3);
    for p in [&a, &b] {
        assert!(!p.log().contains("ERROR"), "{}", p.log());
    }
    b.signal(Signal::SIGTERM);
    b.wait_exit(Duration::from_secs(5));
    assert!(routes_of(backup).is_empty(), "SIGTERM removes the routes: {:?}", routes_of(backup));
    assert!(rules_of(backup).is_empty(), "SIGTERM removes the rules: {:?}", rules_of(backup));
    a.signal(Signal::SIGTERM);
    a.wait_exit(Duration::from_secs(5));
}

#[test]
fn a_reload_changes_the_routes_in_place_and_the_vip_stays() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let path = h.dir().join(format!("{}-routes.conf", h.ns));
    let lines = |l: &[&str]| l.iter().map(ToString::to_string).collect::<Vec<_>>();
    std::fs::write(&path, conf(255, &lines(&["198.18.60.0/24 via 198.18.0.254", "198.18.61.0/24 dev eth0"]))).unwrap();
    let mut p = h.spawn_keepvip_with(&[], &["--use-file", path.to_str().unwrap()]);
    let has = |want: &[&str]| {
        let now = routes_of(h);
        now.len() == want.len() && want.iter().all(|w| now.iter().any(|r| r.contains(w)))
    };
    assert!(wait_until(Duration::from_secs(8), || has(&["198.18.60.0/24", "198.18.61.0/24"])), "{}", p.log());
    std::fs::write(&path, conf(255, &lines(&["198.18.61.0/24 dev eth0", "blackhole 198.18.62.0/24"]))).unwrap();
    p.signal(Signal::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(5), || has(&["198.18.61.0/24", "blackhole 198.18.62.0/24"])),
        "{:?}\n{}",
        routes_of(h),
        p.log()
    );
    assert!(h.has_addr(VIP), "the VIP stays through the reload");
    assert!(!p.log().contains("removed VIP"), "the VIP never left:\n{}", p.log());
    assert!(!p.log().contains("ERROR") && !p.log().contains("WARN  keepvip::runtime::routes"), "{}", p.log());
    p.signal(Signal::SIGTERM);
    p.wait_exit(Duration::from_secs(5));
    assert!(routes_of(h).is_empty(), "{:?}", routes_of(h));
}

#[test]
fn generated_virtual_rules_land_in_the_kernel_as_keepalived_puts_them() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    prepare(h);
    for seed in [1u64, 2, 3, 4, 5] {
        let lines = generated_rules(seed, 12);
        let text = conf_with(255, "virtual_rules", &lines);
        let keepalived = installed_of(Impl::Keepalived, h, &text, lines.len(), rules_of);
        let keepvip = installed_of(Impl::Keepvip, h, &text, lines.len(), rules_of);
        assert_eq!(keepvip, keepalived, "seed {seed}: the file's rules:\n{}", lines.join("\n"));
    }
}

/// A written `unicast_src_ip` the host does not have: keepalived 2.2.7 enters FAULT ("src
/// address not configured") and so does keepvip, until the address is there; with
/// `track_src_ip` its removal is a FAULT again (the VIP leaves).
#[test]
fn a_written_source_not_on_the_host_is_a_fault_as_keepalived_makes_it() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let text = conf_with(255, "virtual_routes", &["198.18.70.0/24 dev eth0".to_string()])
        .replace("  advert_int 1\n", "  advert_int 1\n  unicast_src_ip 198.18.0.9\n  track_src_ip\n");
    let mut k = Impl::Keepalived.spawn_conf(h, &text);
    assert!(k.wait_log("entering FAULT state (src address not configured)", Duration::from_secs(5)), "{}", k.log());
    k.signal(Signal::SIGTERM);
    k.wait_exit(Duration::from_secs(5));
    let mut p = Impl::Keepvip.spawn_conf(h, &text);
    assert!(wait_until(Duration::from_secs(5), || h.status().state == "FAULT"), "{:?}\n{}", h.status(), p.log());
    assert!(p.log().contains("unicast_src_ip 198.18.0.9 is not on this host"), "{}", p.log());
    assert!(!h.has_addr(VIP) && routes_of(h).is_empty());
    h.must(&["ip", "addr", "add", "198.18.0.9/24", "dev", "eth0"]);
    assert!(
        wait_until(Duration::from_secs(5), || h.has_addr(VIP) && routes_of(h).len() == 1),
        "{:?}\n{}",
        h.status(),
        p.log()
    );
    h.must(&["ip", "addr", "del", "198.18.0.9/24", "dev", "eth0"]);
    assert!(
        wait_until(Duration::from_secs(5), || h.status().state == "FAULT" && !h.has_addr(VIP)),
        "{:?}\n{}",
        h.status(),
        p.log()
    );
    assert!(routes_of(h).is_empty(), "{:?}", routes_of(h));
    p.signal(Signal::SIGTERM);
    p.wait_exit(Duration::from_secs(5));
}
