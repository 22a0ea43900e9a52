//! A real Docker Swarm on one machine: one `dockerd` per lab host (network namespace), each
//! with its own data-root, exec-root, socket, containerd, cgroup parent, hostname and a
//! private mount namespace; vfs storage, no iptables, no default bridge; every address
//! pool inside 198.19.0.0/16. All nodes are managers, so any one can be cut off. Dropping
//! the swarm kills every process in the namespaces and removes files and cgroups.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::netns::Lab;
use super::wait_until;

/// The service `deploy_stack` creates.
pub const STACK_SERVICE: &str = "vip_keepvip";

pub struct Swarm {
    /// Hosts 0..n are swarm nodes, host n is a client outside the swarm.
    pub lab: Lab,
    pub nodes: usize,
    dir: PathBuf,
    daemons: Vec<Child>,
    /// Each node's engine as its tasks see it: a recording proxy (`Recorder`) at
    /// `task_socket()` inside the node's mount namespace.
    recorders: Vec<Recorder>,
}

impl Swarm {
    /// `n` nodes, the image `keepvip:latest` built in each from the static binary.
    pub fn new(n: usize) -> Swarm {
        Swarm::with(n, n)
    }

    /// `n` engines, the first `joined` of them in the swarm (`join` adds the others).
    pub fn with(joined: usize, n: usize) -> Swarm {
        let lab = Lab::new(n + 1);
        let dir = lab.dir.join("swarm");
        fs::create_dir_all(dir.join("task")).unwrap();
        let mut sw = Swarm { lab, nodes: n, dir, daemons: vec![], recorders: vec![] };
        let root = env!("CARGO_MANIFEST_DIR");
        let o = Command::new(format!("{root}/scripts/build-static")).output().unwrap();
        assert!(o.status.success(), "build-static: {}", String::from_utf8_lossy(&o.stderr));
        let ctx = sw.dir.join("ctx");
        fs::create_dir_all(&ctx).unwrap();
        fs::copy(format!("{root}/target/x86_64-unknown-linux-gnu/release/keepvip"), ctx.join("keepvip")).unwrap();
        fs::copy(format!("{root}/Dockerfile.prebuilt"), ctx.join("Dockerfile")).unwrap();
        for i in 0..n {
            let d = sw.start_daemon(i);
            sw.daemons.push(d);
            let r =
                Recorder::start(&sw.node_dir(i).join("task").join("docker.sock"), &sw.node_dir(i).join("docker.sock"));
            sw.recorders.push(r);
        }
        for i in 0..n {
            sw.must(i, &["build", "-q", "-t", "keepvip:latest", ctx.to_str().unwrap()]);
        }
        let ip0 = sw.lab.host(0).ip.clone();
        sw.must(
            0,
            &[
                "swarm",
                "init",
                "--advertise-addr",
                &ip0,
                "--listen-addr",
                &format!("{ip0}:2377"),
                "--default-addr-pool",
                "198.19.240.0/20",
                "--default-addr-pool-mask-length",
                "24",
            ],
        );
        for i in 1..joined {
            sw.join(i);
        }
        sw
    }

    /// Node `i` joins the swarm as a manager; returns once every joined node is ready.
    pub fn join(&self, i: usize) {
        let ip0 = self.lab.host(0).ip.clone();
        let token = self.must(0, &["swarm", "join-token", "-q", "manager"]);
        let ip = self.lab.host(i).ip.clone();
        self.must(i, &["swarm", "join", "--token", &token, "--advertise-addr", &ip, &format!("{ip0}:2377")]);
        let joined = (0..self.nodes)
            .filter(|j| self.text(*j, &["info", "-f", "{{.Swarm.LocalNodeState}}"]).trim() == "active")
            .count();
        let ready = wait_until(Duration::from_secs(30), || {
            let out = self.docker(0, &["node", "ls", "--format", "{{.Status}} {{.ManagerStatus}}"]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.lines().filter(|l| l.starts_with("Ready") && !l.contains("Unreachable")).count() == joined
        });
        assert!(ready, "swarm nodes not ready:\n{}", self.text(0, &["node", "ls"]));
    }

    /// The node's name in the swarm (its hostname).
    pub fn node_name(&self, i: usize) -> String {
        self.tag(i)
    }

    /// The pid of node `i`'s dockerd.
    pub fn engine_pid(&self, i: usize) -> i32 {
        fs::read_to_string(self.node_dir(i).join("docker.pid")).unwrap().trim().parse().unwrap()
    }

    /// deploy/stack-swarm.yml with `vip`, the engine socket as this harness provides it
    /// and, with `preempt`, KEEPALIVED_PREEMPT=true; nothing else changed.
    pub fn swarm_stack_file(&self, vip: &str, preempt: bool) -> String {
        let text = fs::read_to_string(super::docker::repo_file("deploy/stack-swarm.yml")).unwrap();
        let mut out = text.replace("\"192.168.4.3\"", &format!("\"{vip}\""));
        assert_ne!(out, text, "the swarm stack's example VIP changed: update the swarm harness");
        let socket = format!("source: {}", self.task_socket().display());
        let before = out.clone();
        out = out.replace("source: /var/run/docker.sock", &socket);
        assert_ne!(out, before, "the swarm stack's socket mount changed: update the swarm harness");
        if preempt {
            let line = "      KEEPALIVED_PRIORITY: \"auto\"\n";
            assert!(out.contains(line));
            out = out.replace(line, &format!("{line}      KEEPALIVED_PREEMPT: \"true\"\n"));
        }
        out
    }

    /// The state file of the task on node `i`, as `--status --json` prints it.
    pub fn status(&self, i: usize, service: &str) -> Option<serde_json::Value> {
        let c = self.task_container(i, service)?;
        let o = self.docker(i, &["exec", &c, "/keepvip", "--status", "--json"]);
        serde_json::from_slice(&o.stdout).ok()
    }

    /// The engine socket's path as every node's tasks see it (a bind mount source): in each
    /// node's mount namespace, that node's recording proxy.
    pub fn task_socket(&self) -> PathBuf {
        self.dir.join("task").join("docker.sock")
    }

    /// The request lines node `i`'s tasks sent to its engine.
    pub fn engine_requests(&self, i: usize) -> Vec<String> {
        self.recorders[i].requests.lock().unwrap().clone()
    }

    fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("n{i}"))
    }

    fn sock(&self, i: usize) -> String {
        format!("unix://{}", self.node_dir(i).join("docker.sock").display())
    }

    /// Names unique to this lab: cgroup parents and containerd namespaces.
    fn tag(&self, i: usize) -> String {
        format!("{}-n{i}", self.lab.id)
    }

    fn start_daemon(&self, i: usize) -> Child {
        let d = self.node_dir(i);
        fs::create_dir_all(d.join("task")).unwrap();
        let tag = self.tag(i);
        let conf = serde_json::json!({
            "data-root": d.join("data"),
            "exec-root": d.join("exec"),
            "pidfile": d.join("docker.pid"),
            "hosts": [self.sock(i)],
            "storage-driver": "vfs",
            "bridge": "none",
            "iptables": false,
            "ip6tables": false,
            "ip-masq": false,
            "cgroup-parent": tag,
            "containerd-namespace": tag,
            "containerd-plugins-namespace": format!("{tag}p"),
            // docker_gwbridge and other local networks: inside the test range too.
            "default-address-pools": [{"base": "198.19.224.0/20", "size": 24}],
        });
        let file = d.join("daemon.json");
        fs::write(&file, conf.to_string()).unwrap();
        // nsenter, not `ip netns exec`: that remounts /sys and hides the cgroup mounts.
        // The node's own proxy directory where every node's tasks look for the engine.
        let script = format!(
            "hostname {tag}; mount --make-rprivate /; mount --bind {} {}; exec dockerd --config-file {}",
            d.join("task").display(),
            self.dir.join("task").display(),
            file.display()
        );
        let log = fs::File::create(d.join("dockerd.log")).unwrap();
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.lab.host(i).ns))
            .args(["unshare", "--mount", "--uts", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let up = wait_until(Duration::from_secs(30), || self.docker(i, &["info"]).status.success());
        assert!(up, "dockerd {i} did not start:\n{}", fs::read_to_string(d.join("dockerd.log")).unwrap_or_default());
        child
    }

    pub fn docker(&self, i: usize, args: &[&str]) -> Output {
        Command::new("docker").arg("--host").arg(self.sock(i)).args(args).output().expect("docker")
    }

    /// stdout and stderr of a docker command, whatever its status.
    pub fn text(&self, i: usize, args: &[&str]) -> String {
        let o = self.docker(i, args);
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    }

    pub fn must(&self, i: usize, args: &[&str]) -> String {
        let o = self.docker(i, args);
        assert!(o.status.success(), "node {i}: docker {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// `docker stack deploy` of a compose text from node `via`.
    pub fn deploy(&self, via: usize, name: &str, stack: &str) {
        let file = self.dir.join(format!("{name}.yml"));
        fs::write(&file, stack).unwrap();
        self.must(via, &["stack", "deploy", "--resolve-image", "never", "-c", file.to_str().unwrap(), name]);
    }

    /// deploy/stack.yml with this swarm's node addresses as the peer list and `vip` as the
    /// VIP in place of the example's, nothing else changed.
    pub fn stack_file(&self, vip: &str) -> String {
        let text = fs::read_to_string(super::docker::repo_file("deploy/stack.yml")).unwrap();
        let peers: Vec<String> = (0..self.nodes).map(|i| format!("'{}'", self.lab.host(i).ip)).collect();
        let out = text
            .replace("['192.168.4.1', '192.168.4.2']", &format!("[{}]", peers.join(", ")))
            .replace("\"192.168.4.3\"", &format!("\"{vip}\""));
        assert_ne!(out, text, "the stack file's example addresses changed: update the swarm harness");
        out
    }

    /// Deploy the project's stack file as stack `vip` and wait for one running task per node.
    pub fn deploy_stack(&self, via: usize, vip: &str) {
        self.deploy(via, "vip", &self.stack_file(vip));
        let all = wait_until(Duration::from_secs(60), || {
            (0..self.nodes).all(|i| self.task_container(i, STACK_SERVICE).is_some())
        });
        assert!(all, "not one task per node:\n{}", self.text(0, &["service", "ps", STACK_SERVICE]));
    }

    /// `docker stack rm vip`; whether every container is gone within 30 s and nobody holds `vip`.
    pub fn remove_stack(&self, via: usize, vip: &str) -> bool {
        self.must(via, &["stack", "rm", "vip"]);
        wait_until(Duration::from_secs(30), || {
            self.holders(vip).is_empty() && (0..self.nodes).all(|i| self.text(i, &["ps", "-aq"]).trim().is_empty())
        })
    }

    /// When the running task container on node `i` started, as seconds of the day (UTC).
    pub fn task_started(&self, i: usize) -> Option<f64> {
        let c = self.task_container(i, STACK_SERVICE)?;
        let t = self.text(i, &["inspect", "-f", "{{.State.StartedAt}}", &c]);
        // 2026-12-01T15:43:01.123456789Z
        let hms = t.trim().split('T').nth(1)?.trim_end_matches('Z');
        let mut it = hms.split(':');
        let (h, m, s): (f64, f64, f64) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
        Some(h * 3600.0 + m * 60.0 + s)
    }

    /// Nodes (lab host indexes) holding `ip` right now.
    pub fn holders(&self, ip: &str) -> Vec<usize> {
        (0..self.nodes).filter(|i| self.lab.host(*i).has_addr(ip)).collect()
    }

    /// The running keepvip container on node `i` (the task's), if any.
    pub fn task_container(&self, i: usize, service: &str) -> Option<String> {
        let filter = format!("label=com.docker.swarm.service.name={service}");
        let out = self.text(i, &["ps", "-q", "--filter", &filter]);
        out.lines().next().map(str::to_string).filter(|s| !s.is_empty())
    }

    /// Logs of every task container (running or not) of `service` on every node.
    pub fn logs(&self, service: &str) -> String {
        let filter = format!("label=com.docker.swarm.service.name={service}");
        let mut all = String::new();
        for i in 0..self.nodes {
            for c in self.text(i, &["ps", "-aq", "--filter", &filter]).lines() {
                all += &format!("--- node {i} container {c} ---\n{}", self.text(i, &["logs", "-t", c]));
            }
        }
        all
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        for r in &self.recorders {
            r.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        // Processes first (dockerd, containerd, shims, tasks: all in the namespaces), then
        // what they leave on the shared file system and in the cgroup tree.
        for i in 0..self.nodes {
            self.lab.host(i).kill_all();
        }
        for d in &mut self.daemons {
            let _ = d.kill();
            let _ = d.wait();
        }
        let gone = wait_until(Duration::from_secs(10), || (0..self.nodes).all(|i| self.lab.host(i).pids().is_empty()));
        if !gone {
            eprintln!("swarm: processes still alive in the lab namespaces");
        }
        for i in 0..self.nodes {
            remove_cgroups(&self.tag(i));
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `rmdir` the cgroup `name` under every v1 controller (and v2), children first.
fn remove_cgroups(name: &str) {
    let Ok(ctrls) = fs::read_dir("/sys/fs/cgroup") else { return };
    for c in ctrls.flatten() {
        rmdir_tree(&c.path().join(name));
    }
    rmdir_tree(&Path::new("/sys/fs/cgroup").join(name));
}

fn rmdir_tree(p: &Path) {
    if let Ok(entries) = fs::read_dir(p) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                rmdir_tree(&e.path());
            }
        }
    }
    let _ = fs::remove_dir(p);
}

/// A recording proxy in front of an engine socket: each connection's request head is
/// recorded and forwarded, then only the answer flows (a second request on the same
/// connection never reaches the engine), so the record is everything the engine was asked.
struct Recorder {
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Recorder {
    fn start(at: &Path, upstream: &Path) -> Recorder {
        use std::io::{Read, Write};
        use std::os::unix::net::{UnixListener, UnixStream};
        use std::sync::atomic::Ordering;
        let _ = fs::remove_file(at);
        let listener = UnixListener::bind(at).unwrap();
        listener.set_nonblocking(true).unwrap();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (rec, halt, upstream) = (requests.clone(), stop.clone(), upstream.to_path_buf());
        std::thread::spawn(move || {
            while !halt.load(Ordering::SeqCst) {
                let Ok((mut client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let (rec, upstream) = (rec.clone(), upstream.clone());
                std::thread::spawn(move || {
                    client.set_nonblocking(false).unwrap();
                    let mut head = vec![];
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                        match client.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_string();
                    rec.lock().unwrap().push(line);
                    let Ok(mut engine) = UnixStream::connect(&upstream) else { return };
                    if engine.write_all(&head).is_err() {
                        return;
                    }
                    let _ = std::io::copy(&mut engine, &mut client);
                });
            }
        });
        Recorder { requests, stop }
    }
}
