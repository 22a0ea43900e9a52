//! A set-up's lab: VRRP nodes on one bridge and a client, how each node (re)starts, and
//! the faults done to it and undone (with counts, so overlapping faults heal correctly).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::common::keepalived::{self, Impl};
use super::common::netns::{Lab, Proc};
use super::common::{env_for, seed_env};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// osixia's variables, three nodes, unicast to every node, nopreempt.
    Recipe,
    /// The recipe with the third node running Debian's keepalived (as osixia renders it).
    Mixed,
    /// A keepalived.conf: two instances in a sync group, one VIP on a second interface,
    /// a tracked script; reloaded with edits.
    Conf,
    /// VRRPv3 multicast at 0.1 s adverts.
    Fast,
    /// IPv6: VRRPv3 multicast, an IPv6 VIP.
    Ipv6,
}

impl Setup {
    pub const ALL: [Setup; 5] = [Setup::Recipe, Setup::Mixed, Setup::Conf, Setup::Fast, Setup::Ipv6];

    pub fn name(self) -> &'static str {
        match self {
            Setup::Recipe => "recipe",
            Setup::Mixed => "mixed",
            Setup::Conf => "conf",
            Setup::Fast => "fast",
            Setup::Ipv6 => "ipv6",
        }
    }

    pub fn parse(s: &str) -> Option<Setup> {
        Setup::ALL.into_iter().find(|x| x.name() == s)
    }

    /// The longest Master_Down_Interval among the nodes.
    pub fn mdi(self) -> Duration {
        match self {
            Setup::Fast => Duration::from_millis(400),
            _ => Duration::from_millis(3700),
        }
    }
}

enum Start {
    Env(Vec<(String, String)>),
    Conf { path: PathBuf, priority: u32 },
}

pub struct Node {
    pub host: usize,
    pub imp: Impl,
    start: Start,
    pub proc: Option<Proc>,
    /// We sent SIGKILL or SIGTERM: an exit is expected.
    pub told_to_exit: bool,
    /// The last signal to exit was SIGTERM (a clean stop), not SIGKILL.
    pub terminated: bool,
    /// Exited after SIGTERM: must hold no VIP until restarted.
    pub clean_stop: bool,
    frozen: u32,
    cut: u32,
    isolated: u32,
    unaddressed: u32,
    renumbered: u32,
    unplugged: u32,
    untracked: u32,
    reloads: u32,
    /// Process generations started (for the timeline).
    pub starts: u32,
}

pub struct World {
    pub setup: Setup,
    pub lab: Lab,
    pub nodes: Vec<Node>,
    pub client: usize,
    pub vips: Vec<IpAddr>,
    /// The VIP the client pings.
    pub ping_target: String,
    bursts: Vec<std::process::Child>,
    /// One-way drops in force: (from node, to node, count).
    drops: Vec<(usize, usize, u32)>,
}

const N: usize = 3;
const PRIOS: [u32; N] = [200, 150, 100];
const VIP4: &str = "198.18.0.100";
const VIP6: &str = "2001:db8::100";
const VIP_DEV: &str = "198.18.2.100";

fn conf_text(me: &str, peers: &[String], priority: u32, track: &str) -> String {
    let peers: String = peers.iter().map(|p| format!("  {p}\n")).collect();
    let inst = |name: &str, vrid: u32, vip: &str, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n state BACKUP\n interface eth0\n virtual_router_id {vrid}\n priority {priority}\n advert_int 1\n nopreempt\n unicast_src_ip {me}\n unicast_peer {{\n{peers} }}\n virtual_ipaddress {{\n  {vip}\n }}\n{extra}}}\n"
        )
    };
    format!(
        "vrrp_script chk {{\n script \"/usr/bin/test -e {track}\"\n interval 1\n fall 1\n rise 1\n}}\nvrrp_sync_group G {{\n group {{\n  VI_1\n  VI_2\n }}\n}}\n{}{}",
        inst("VI_1", 51, &format!("{VIP4}/24"), " track_script {\n  chk\n }\n"),
        inst("VI_2", 52, &format!("{VIP_DEV}/24 dev eth1"), "")
    )
}

impl World {
    pub fn new(setup: Setup, imp: Impl) -> World {
        let lab = Lab::new(N + 1);
        let ips: Vec<String> = (0..N).map(|i| lab.host(i).ip.clone()).collect();
        let peers: Vec<&str> = ips.iter().map(String::as_str).collect();
        let mut nodes = vec![];
        for (i, prio) in PRIOS.iter().enumerate() {
            let h = lab.host(i);
            let node_imp = if setup == Setup::Mixed && i == N - 1 { Impl::Keepalived } else { imp };
            let start = match setup {
                Setup::Recipe | Setup::Mixed => Start::Env(seed_env(&peers, VIP4, *prio)),
                Setup::Fast => Start::Env(env_for(
                    &[],
                    VIP4,
                    *prio,
                    &[("KEEPALIVED_VRRP_VERSION", "3"), ("KEEPALIVED_ADVERT_INT", "0.1")],
                )),
                Setup::Ipv6 => {
                    h.must(&["ip", "-6", "addr", "add", &format!("2001:db8::{}/64", i + 1), "dev", "eth0", "nodad"]);
                    Start::Env(env_for(&[], VIP6, *prio, &[]))
                }
                Setup::Conf => {
                    // A second interface for VI_2's VIP (no dummy module here: a veth pair).
                    h.veth("eth1", "eth1p", None);
                    let track = lab.dir.join(format!("{}-track", h.ns));
                    std::fs::write(&track, "").unwrap();
                    let others: Vec<String> = ips.iter().filter(|p| **p != h.ip).cloned().collect();
                    let path = lab.dir.join(format!("{}-keepalived.conf", h.ns));
                    std::fs::write(&path, conf_text(&h.ip, &others, *prio, track.to_str().unwrap())).unwrap();
                    Start::Conf { path, priority: *prio }
                }
            };
            nodes.push(Node {
                host: i,
                imp: node_imp,
                start,
                proc: None,
                told_to_exit: false,
                terminated: false,
                clean_stop: false,
                frozen: 0,
                cut: 0,
                isolated: 0,
                unaddressed: 0,
                renumbered: 0,
                unplugged: 0,
                untracked: 0,
                reloads: 0,
                starts: 0,
            });
        }
        let client = N;
        if setup == Setup::Ipv6 {
            lab.host(client).must(&["ip", "-6", "addr", "add", "2001:db8::99/64", "dev", "eth0", "nodad"]);
        }
        let vips: Vec<IpAddr> = match setup {
            Setup::Ipv6 => vec![VIP6.parse().unwrap()],
            Setup::Conf => vec![VIP4.parse().unwrap(), VIP_DEV.parse().unwrap()],
            _ => vec![VIP4.parse().unwrap()],
        };
        let ping_target = if setup == Setup::Ipv6 { VIP6 } else { VIP4 }.to_string();
        World { setup, lab, nodes, client, vips, ping_target, bursts: vec![], drops: vec![] }
    }

    pub fn start(&mut self, k: usize) {
        let n = &mut self.nodes[k];
        let h = self.lab.host(n.host);
        n.proc = Some(match (&n.start, n.imp) {
            (Start::Env(env), Impl::Keepvip) => h.spawn_keepvip_with(env, &[]),
            (Start::Env(env), Impl::Keepalived) => keepalived::spawn(h, env),
            (Start::Conf { path, .. }, Impl::Keepvip) => {
                h.spawn_keepvip_with(&[], &["--use-file", path.to_str().unwrap()])
            }
            (Start::Conf { path, .. }, Impl::Keepalived) => {
                keepalived::spawn_conf(h, &std::fs::read_to_string(path).unwrap())
            }
        });
        n.told_to_exit = false;
        n.terminated = false;
        n.clean_stop = false;
        n.frozen = 0;
        n.starts += 1;
    }

    fn signal_all(&self, k: usize, sig: Signal) {
        for pid in self.lab.host(self.nodes[k].host).pids() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
        }
    }

    pub fn kill(&mut self, k: usize) {
        self.nodes[k].told_to_exit = true;
        self.nodes[k].terminated = false;
        self.signal_all(k, Signal::SIGKILL);
        if let Some(p) = self.nodes[k].proc.as_mut() {
            let _ = p.wait_exit(Duration::from_secs(2));
        }
    }

    /// SIGTERM, unless the daemon is not running (killed and not yet restarted): `false`.
    pub fn term(&mut self, k: usize) -> bool {
        let running = self.nodes[k].proc.as_mut().is_some_and(|p| p.child.try_wait().ok().flatten().is_none());
        if !running {
            return false;
        }
        self.nodes[k].told_to_exit = true;
        self.nodes[k].terminated = true;
        if self.nodes[k].frozen > 0 {
            self.signal_all(k, Signal::SIGCONT);
            self.nodes[k].frozen = 0;
        }
        if let Some(p) = &self.nodes[k].proc {
            p.signal(Signal::SIGTERM);
        }
        true
    }

    /// A node stopped by SIGTERM (or killed) is started again; one still running (a slow
    /// handover) is killed first.
    pub fn restart(&mut self, k: usize) {
        if let Some(p) = self.nodes[k].proc.as_mut() {
            if p.child.try_wait().ok().flatten().is_none() {
                self.kill(k);
            }
        }
        self.start(k);
    }

    pub fn freeze(&mut self, k: usize, on: bool) {
        let n = &mut self.nodes[k];
        if on {
            n.frozen += 1;
            if n.frozen == 1 {
                self.signal_all(k, Signal::SIGSTOP);
            }
        } else if n.frozen > 0 {
            n.frozen -= 1;
            if n.frozen == 0 {
                self.signal_all(k, Signal::SIGCONT);
            }
        }
    }

    pub fn cut(&mut self, k: usize, on: bool) {
        let host = self.nodes[k].host;
        if count(&mut self.nodes[k].cut, on) {
            if on {
                self.lab.cut(host)
            } else {
                self.lab.heal(host)
            }
        }
    }

    pub fn isolate(&mut self, k: usize, on: bool) {
        let host = self.nodes[k].host;
        if count(&mut self.nodes[k].isolated, on) {
            self.lab.isolate(host, on);
        }
    }

    /// Drop frames from node `k` to node `to` (or stop).
    pub fn drop_to(&mut self, k: usize, to: usize, on: bool) {
        let i = match self.drops.iter().position(|d| d.0 == k && d.1 == to) {
            Some(i) => i,
            None => {
                self.drops.push((k, to, 0));
                self.drops.len() - 1
            }
        };
        if count(&mut self.drops[i].2, on) {
            self.lab.block(self.nodes[k].host, self.nodes[to].host, on);
        }
    }

    pub fn address(&mut self, k: usize, on: bool) {
        let h = self.lab.host(self.nodes[k].host);
        if count(&mut self.nodes[k].unaddressed, !on) {
            let verb = if on { "add" } else { "del" };
            // Renumbering may have taken it away (or put it back) meanwhile: no error then.
            let _ = h.sh(&["ip", "addr", verb, &format!("{}/24", h.ip), "dev", "eth0"]);
        }
    }

    /// Replace the primary address by 198.18.1.N (`on`), or put it back.
    pub fn renumber(&mut self, k: usize, on: bool) {
        let h = self.lab.host(self.nodes[k].host);
        if count(&mut self.nodes[k].renumbered, on) {
            let other = format!("198.18.1.{}/24", self.nodes[k].host + 1);
            let primary = format!("{}/24", h.ip);
            let (del, add) = if on { (&primary, &other) } else { (&other, &primary) };
            // The primary may be away already (an address fault): delete what is there.
            let _ = h.sh(&["ip", "addr", "del", del, "dev", "eth0"]);
            if on || self.nodes[k].unaddressed == 0 {
                let _ = h.sh(&["ip", "addr", "add", add, "dev", "eth0"]);
            }
        }
    }

    /// Delete the second interface (`on`: re-create it).
    pub fn iface(&mut self, k: usize, on: bool) {
        let h = self.lab.host(self.nodes[k].host);
        if count(&mut self.nodes[k].unplugged, !on) {
            if on {
                h.veth("eth1", "eth1p", None);
            } else {
                h.must(&["ip", "link", "del", "eth1"]);
            }
        }
    }

    pub fn track(&mut self, k: usize, on: bool) {
        let h = self.lab.host(self.nodes[k].host);
        let file = self.lab.dir.join(format!("{}-track", h.ns));
        if count(&mut self.nodes[k].untracked, !on) {
            if on {
                std::fs::write(&file, "").unwrap();
            } else {
                let _ = std::fs::remove_file(&file);
            }
        }
    }

    /// Edit the node's keepalived.conf (its priority moves by 5, back and forth) and SIGHUP.
    pub fn reload(&mut self, k: usize) -> bool {
        let n = &mut self.nodes[k];
        let Start::Conf { path, priority } = &n.start else { return false };
        if n.frozen > 0 || n.told_to_exit {
            return false;
        }
        n.reloads += 1;
        let (from, to) = if n.reloads % 2 == 1 { (*priority, priority - 5) } else { (priority - 5, *priority) };
        let text = std::fs::read_to_string(path).unwrap();
        std::fs::write(path, text.replace(&format!(" priority {from}\n"), &format!(" priority {to}\n"))).unwrap();
        if let Some(p) = &n.proc {
            p.signal(Signal::SIGHUP);
        }
        true
    }

    pub fn burst(&mut self, d: Duration) {
        let secs = format!("{:.1}", d.as_secs_f64().max(0.5));
        let c = self.lab.host(self.client);
        if let Ok(child) = c
            .cmd(&["timeout", &secs, "ping", "-f", "-q", &self.ping_target])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            self.bursts.push(child);
        }
        self.bursts.retain_mut(|b| b.try_wait().ok().flatten().is_none());
    }

    /// Every fault undone (the episode's heals normally did it already).
    pub fn heal_all(&mut self) {
        for k in 0..self.nodes.len() {
            while self.nodes[k].frozen > 0 {
                self.freeze(k, false);
            }
            while self.nodes[k].cut > 0 {
                self.cut(k, false);
            }
            while self.nodes[k].isolated > 0 {
                self.isolate(k, false);
            }
            while self.nodes[k].unaddressed > 0 {
                self.address(k, true);
            }
            while self.nodes[k].untracked > 0 {
                self.track(k, true);
            }
            while self.nodes[k].renumbered > 0 {
                self.renumber(k, false);
            }
            while self.nodes[k].unplugged > 0 {
                self.iface(k, true);
            }
        }
        for (from, to, _) in self.drops.clone() {
            while self.drops.iter().any(|d| d.0 == from && d.1 == to && d.2 > 0) {
                self.drop_to(from, to, false);
            }
        }
    }
}

/// Count a fault on (or off); whether the state actually changes (first on, last off).
fn count(c: &mut u32, on: bool) -> bool {
    if on {
        *c += 1;
        *c == 1
    } else if *c > 0 {
        *c -= 1;
        *c == 0
    } else {
        false
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for b in &mut self.bursts {
            let _ = b.kill();
            let _ = b.wait();
        }
    }
}
