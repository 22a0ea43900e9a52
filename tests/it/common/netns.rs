//! `Lab::new(n)`: n hosts, each a namespace with `eth0` (198.18.0.<i+1>/24) cabled to a
//! bridge in a separate switch namespace. Dropping the lab kills its processes and deletes
//! its namespaces, whatever happened in the test.

use keepvip::observe::status::{InstanceStatus, StateFile};
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::wait_until;

static NEXT: AtomicU32 = AtomicU32::new(0);

fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    out
}

fn must(args: &[&str]) {
    let out = run(args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

pub struct Lab {
    pub id: String,
    switch: String,
    pub hosts: Vec<Host>,
    pub dir: PathBuf,
}

pub struct Host {
    pub ns: String,
    pub ip: String,
    port: String,
    switch: String,
    dir: PathBuf,
}

impl Lab {
    pub fn new(n: usize) -> Lab {
        super::require_root();
        let id = format!("kv{}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let dir = std::env::temp_dir().join(&id);
        fs::create_dir_all(&dir).unwrap();
        let switch = format!("{id}-sw");
        // Build the lab inside `lab` first so Drop cleans up even if set-up fails halfway.
        let mut lab = Lab { id: id.clone(), switch: switch.clone(), hosts: vec![], dir: dir.clone() };
        must(&["ip", "netns", "add", &switch]);
        must(&["ip", "-n", &switch, "link", "add", "br0", "type", "bridge"]);
        // No STP/learning delays: ports forward at once.
        must(&["ip", "-n", &switch, "link", "set", "br0", "type", "bridge", "forward_delay", "0"]);
        must(&["ip", "-n", &switch, "link", "set", "br0", "up"]);
        for i in 0..n {
            let ns = format!("{id}-h{i}");
            let port = format!("p{i}");
            must(&["ip", "netns", "add", &ns]);
            lab.hosts.push(Host {
                ns: ns.clone(),
                ip: format!("198.18.0.{}", i + 1),
                port,
                switch: switch.clone(),
                dir: dir.clone(),
            });
            // New namespaces here inherit ip_forward=1: a losing node that still routes
            // would forward the client's packets to the winner and hide ARP/ND faults.
            must(&[
                "ip",
                "netns",
                "exec",
                &ns,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=0",
                "net.ipv6.conf.all.forwarding=0",
            ]);
            lab.plug(i);
            must(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        }
        lab
    }

    /// Create host `i`'s eth0 and its bridge port, addressed and up.
    pub fn plug(&self, i: usize) {
        let h = &self.hosts[i];
        must(&[
            "ip",
            "-n",
            &self.switch,
            "link",
            "add",
            &h.port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &h.ns,
        ]);
        must(&["ip", "-n", &self.switch, "link", "set", &h.port, "master", "br0", "up"]);
        // No duplicate address detection: IPv6 addresses (link-local too) are usable at once.
        must(&["ip", "netns", "exec", &h.ns, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"]);
        must(&["ip", "-n", &h.ns, "addr", "add", &format!("{}/24", h.ip), "dev", "eth0"]);
        must(&["ip", "-n", &h.ns, "link", "set", "eth0", "up"]);
    }

    /// Delete host `i`'s eth0 (and with it the bridge port): the interface is gone.
    pub fn unplug(&self, i: usize) {
        must(&["ip", "-n", &self.hosts[i].ns, "link", "del", "eth0"]);
    }

    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    /// Unplug a host's cable: its eth0 loses carrier.
    pub fn cut(&self, i: usize) {
        must(&["ip", "-n", &self.switch, "link", "set", &self.hosts[i].port, "down"]);
    }

    pub fn heal(&self, i: usize) {
        must(&["ip", "-n", &self.switch, "link", "set", &self.hosts[i].port, "up"]);
    }

    /// Drop every frame from host `from` to host `to` on the bridge (one direction only;
    /// ARP and IPv6 alike), or stop dropping them.
    pub fn block(&self, from: usize, to: usize, on: bool) {
        // Broadcasts and multicasts are flooded: the rule sees each copy.
        self.bridge_drop(from, to, on, "block", "");
    }

    /// Drop only the ARP frames from host `from` to host `to` on the bridge, or stop.
    pub fn block_arp(&self, from: usize, to: usize, on: bool) {
        self.bridge_drop(from, to, on, "noarp", "ether type arp ");
    }

    /// A bridge table of its own (`name`) dropping what `matching` selects from `from` to `to`.
    fn bridge_drop(&self, from: usize, to: usize, on: bool, name: &str, matching: &str) {
        let (f, t) = (&self.hosts[from].port, &self.hosts[to].port);
        let table = format!("{name}_{f}_{t}");
        let nft = |cmd: String| must(&["ip", "netns", "exec", &self.switch, "nft", &cmd]);
        if on {
            nft(format!("add table bridge {table}"));
            nft(format!("add chain bridge {table} blocked {{ type filter hook forward priority 0; }}"));
            nft(format!("add rule bridge {table} blocked iifname {f} oifname {t} {matching}drop"));
        } else {
            nft(format!("delete table bridge {table}"));
        }
    }

    /// Isolated ports cannot reach each other but still reach the others (a partition
    /// between nodes without any carrier change).
    pub fn isolate(&self, i: usize, on: bool) {
        let v = if on { "on" } else { "off" };
        must(&["ip", "-n", &self.switch, "link", "set", &self.hosts[i].port, "type", "bridge_slave", "isolated", v]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for h in &self.hosts {
            // Kill whatever still runs in the namespace before removing it.
            h.kill_all();
            let _ = run(&["ip", "netns", "del", &h.ns]);
        }
        let _ = run(&["ip", "netns", "del", &self.switch]);
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl Host {
    /// Processes running in this host's namespace.
    pub fn pids(&self) -> Vec<i32> {
        let o = run(&["ip", "netns", "pids", &self.ns]);
        String::from_utf8_lossy(&o.stdout).split_whitespace().filter_map(|p| p.parse().ok()).collect()
    }

    /// SIGKILL everything in the namespace (a node crash, whatever runs there).
    pub fn kill_all(&self) {
        for pid in self.pids() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]).args(args);
        c
    }

    /// A veth pair `name` <-> `peer` inside the host, both up, `addr` (CIDR) on `name`.
    pub fn veth(&self, name: &str, peer: &str, addr: Option<&str>) {
        self.must(&["ip", "link", "add", name, "type", "veth", "peer", "name", peer]);
        if let Some(a) = addr {
            self.must(&["ip", "addr", "add", a, "dev", name]);
        }
        self.must(&["ip", "link", "set", name, "up"]);
        self.must(&["ip", "link", "set", peer, "up"]);
    }

    pub fn sh(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn must(&self, args: &[&str]) {
        let out = self.sh(args);
        assert!(out.status.success(), "{args:?} in {}: {}", self.ns, String::from_utf8_lossy(&out.stderr));
    }

    /// `ip -o addr` as text.
    pub fn addrs(&self) -> String {
        String::from_utf8_lossy(&run(&["ip", "-n", &self.ns, "-o", "addr", "show"]).stdout).into_owned()
    }

    pub fn has_addr(&self, ip: &str) -> bool {
        let want = format!(" {ip}/");
        self.addrs().contains(&want)
    }

    /// Run keepvip with exactly `env` (plus a private state file) and `args`.
    pub fn run_keepvip(&self, env: &[(String, String)], args: &[&str]) -> Output {
        self.keepvip_cmd(env, args, "check").output().unwrap()
    }

    fn keepvip_cmd(&self, env: &[(String, String)], args: &[&str], tag: &str) -> Command {
        let mut c = self.cmd(&[super::keepvip_bin()]);
        c.args(args).env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        c.env("KEEPVIP_STATE_FILE", self.dir.join(format!("{}-{tag}.json", self.ns)));
        c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.join(format!("{}-run.json", self.ns))
    }

    /// The first instance of the daemon's state file, read as `--status` reads it (empty
    /// before the first write).
    pub fn status(&self) -> InstanceStatus {
        self.statuses().into_iter().next().unwrap_or_default()
    }

    /// Every instance of the state file.
    pub fn statuses(&self) -> Vec<InstanceStatus> {
        StateFile::read(&self.state_file()).map(|s| s.instances).unwrap_or_default()
    }

    /// Start keepvip in the background; its stderr goes to a log file.
    pub fn spawn_keepvip(&self, env: &[(String, String)]) -> Proc {
        self.spawn_keepvip_with(env, &["--loglevel", "debug"])
    }

    pub fn spawn_keepvip_with(&self, env: &[(String, String)], args: &[&str]) -> Proc {
        let log = self.dir.join(format!("{}-{}.log", self.ns, NEXT.fetch_add(1, Ordering::SeqCst)));
        let file = fs::File::create(&log).unwrap();
        let child = self.keepvip_cmd(env, args, "run").stdout(Stdio::null()).stderr(file).spawn().unwrap();
        let state =
            env.iter().find(|(k, _)| k == "KEEPVIP_STATE_FILE").map_or_else(|| self.state_file(), |(_, v)| v.into());
        Proc { child, log, state: Some(state) }
    }
}

pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
    /// A keepvip's state file.
    pub state: Option<PathBuf>,
}

impl Proc {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig);
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A keepvip's live status: SIGUSR1 makes it log its status and write its state file,
    /// which is then read as `--status` reads it.
    pub fn status(&self) -> InstanceStatus {
        let lines = || self.log().matches(") status: updated").count();
        let before = lines();
        self.signal(nix::sys::signal::Signal::SIGUSR1);
        assert!(wait_until(Duration::from_secs(2), || lines() > before), "no status in the log:\n{}", self.log());
        let path = self.state.as_ref().expect("a keepvip process");
        StateFile::read(path).map(|s| s.instances.into_iter().next().unwrap_or_default()).unwrap_or_default()
    }

    /// Wait for exit up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(timeout, || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        status
    }

    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.log().contains(needle))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.log.display(), self.log());
        }
    }
}

/// `ping -i 0.01` from a host to an address, for counting lost replies around an event.
pub struct Pinger {
    child: Child,
    out: PathBuf,
}

impl Host {
    pub fn ping(&self, target: &str) -> Pinger {
        self.ping_every(target, "0.01")
    }

    /// Ping `target` every `interval` seconds (as ping's `-i` takes it).
    pub fn ping_every(&self, target: &str, interval: &str) -> Pinger {
        let out = self.dir.join(format!("{}-ping-{}.txt", self.ns, NEXT.fetch_add(1, Ordering::SeqCst)));
        let child = self
            .cmd(&["ping", "-D", "-n", "-i", interval, "-W", "1", target])
            .stdout(fs::File::create(&out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Pinger { child, out }
    }
}

impl Pinger {
    /// Sequence numbers answered so far (not "Destination Host Unreachable" lines).
    pub fn replies(&self) -> Vec<u32> {
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" bytes from "))
            .filter_map(|l| l.split("icmp_seq=").nth(1)?.split_whitespace().next()?.parse().ok())
            .collect()
    }

    /// (receive time as Unix seconds, sequence number) of each reply so far (`ping -D`).
    pub fn times(&self) -> Vec<(f64, u32)> {
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" bytes from "))
            .filter_map(|l| {
                let t = l.strip_prefix('[')?.split(']').next()?.parse().ok()?;
                let seq = l.split("icmp_seq=").nth(1)?.split_whitespace().next()?.parse().ok()?;
                Some((t, seq))
            })
            .collect()
    }

    pub fn wait_replies(&self, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.replies().len() >= n)
    }

    /// Stop and return (lost between the first and last reply, longest run of losses).
    pub fn stop(mut self) -> (u32, u32) {
        self.interrupt();
        let mut seqs = self.replies();
        seqs.sort_unstable();
        seqs.dedup();
        let (mut lost, mut worst) = (0, 0);
        for w in seqs.windows(2) {
            let gap = w[1] - w[0] - 1;
            lost += gap;
            worst = worst.max(gap);
        }
        (lost, worst)
    }
}

impl Pinger {
    /// Stop pinging; the replies stay readable.
    pub fn interrupt(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let _ = self.child.wait();
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A number unique within this test process, for names.
pub fn next_id() -> u32 {
    NEXT.fetch_add(1, Ordering::SeqCst)
}

impl Host {
    /// Start any program in the namespace; stdout and stderr go to a log file.
    pub fn spawn(&self, args: &[&str]) -> Proc {
        let log = self.dir.join(format!("{}-{}.log", self.ns, NEXT.fetch_add(1, Ordering::SeqCst)));
        let file = fs::File::create(&log).unwrap();
        let child = self.cmd(args).stdout(file.try_clone().unwrap()).stderr(file).spawn().unwrap();
        Proc { child, log, state: None }
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

impl Lab {
    /// An unplanned failure: SIGKILL the process and unplug host `i`.
    pub fn crash(&self, i: usize, p: &mut Proc) {
        p.signal(nix::sys::signal::Signal::SIGKILL);
        p.wait_exit(Duration::from_secs(2));
        self.cut(i);
    }
}

/// `tcpdump -c 1` on a host's eth0: started and attached (its packet socket open) before
/// `Host::capture_one` returns, so nothing sent afterwards is missed.
pub struct Capture {
    child: Child,
    out: PathBuf,
}

impl Host {
    /// Capture the first packet matching `filter`; `flags` such as `-v` or `-x` shape the text.
    pub fn capture_one(&self, flags: &[&str], filter: &str) -> Capture {
        self.capture(flags, filter, 1)
    }

    /// Capture the first `count` packets matching `filter`.
    pub fn capture(&self, flags: &[&str], filter: &str, count: usize) -> Capture {
        let out = self.dir.join(format!("{}-capture-{}.txt", self.ns, NEXT.fetch_add(1, Ordering::SeqCst)));
        let count = count.to_string();
        let mut args = vec!["tcpdump", "-l", "-n", "-c", &count, "-i", "eth0"];
        args.extend_from_slice(flags);
        args.push(filter);
        let child = self.cmd(&args).stdout(fs::File::create(&out).unwrap()).stderr(Stdio::null()).spawn().unwrap();
        let pid = child.id();
        assert!(
            wait_until(Duration::from_secs(5), || {
                fs::read_to_string(format!("/proc/{pid}/net/packet")).is_ok_and(|t| t.lines().count() > 1)
            }),
            "tcpdump did not attach"
        );
        Capture { child, out }
    }
}

impl Capture {
    /// What was captured so far.
    pub fn so_far(&self) -> String {
        fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// The captured packets' text, or `None` if they did not all come within `timeout`.
    pub fn wait(mut self, timeout: Duration) -> Option<String> {
        let got = wait_until(timeout, || self.child.try_wait().ok().flatten().is_some());
        got.then(|| fs::read_to_string(&self.out).unwrap_or_default())
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
