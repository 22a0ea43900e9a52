//! Real Docker: images built from the static binary, a private network in 198.19.0.0/16,
//! containers as nodes. Everything a `DockerLab` makes is removed when it drops.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

static BINARY: OnceLock<()> = OnceLock::new();

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker")
}

pub fn must(args: &[&str]) -> String {
    let o = docker(args);
    assert!(o.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

pub struct DockerLab {
    pub id: String,
    pub image: String,
    pub client_image: String,
    pub network: String,
    pub subnet: String,
    containers: Vec<String>,
}

impl DockerLab {
    pub fn new() -> DockerLab {
        super::require_root();
        let root = env!("CARGO_MANIFEST_DIR");
        BINARY.get_or_init(|| {
            let o = Command::new(format!("{root}/scripts/build-static")).output().unwrap();
            assert!(o.status.success(), "build-static: {}", String::from_utf8_lossy(&o.stderr));
        });
        let id = format!("kvt{}x{}", std::process::id(), super::netns::next_id());
        let mut lab = DockerLab {
            image: format!("keepvip-test:{id}"),
            client_image: format!("keepvip-client:{id}"),
            network: format!("{id}-net"),
            subnet: String::new(),
            containers: vec![],
            id: id.clone(),
        };
        let ctx = std::env::temp_dir().join(format!("{id}-ctx"));
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::copy(format!("{root}/target/x86_64-unknown-linux-gnu/release/keepvip"), ctx.join("keepvip")).unwrap();
        // A label of this lab's own right after FROM: no layer of one lab is a cached parent of
        // another's, so one lab's `rmi` (which prunes untagged parents) cannot delete a layer a
        // concurrent build is stepping from ("failed to get digest", seen in CI).
        let prebuilt = std::fs::read_to_string(format!("{root}/Dockerfile.prebuilt")).unwrap();
        let own = format!("FROM scratch\nLABEL keepvip.test.lab={id}\n");
        assert!(prebuilt.contains("FROM scratch\n"), "Dockerfile.prebuilt starts FROM scratch");
        std::fs::write(ctx.join("Dockerfile"), prebuilt.replacen("FROM scratch\n", &own, 1)).unwrap();
        must(&["build", "-q", "-t", &lab.image, ctx.to_str().unwrap()]);
        // The client: a scratch image with Debian's static busybox, for ping.
        let cctx = std::env::temp_dir().join(format!("{id}-client"));
        std::fs::create_dir_all(&cctx).unwrap();
        std::fs::copy("/bin/busybox", cctx.join("busybox")).unwrap();
        std::fs::write(
            cctx.join("Dockerfile"),
            format!(
                "FROM scratch\nLABEL keepvip.test.lab={id}\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\"]\n"
            ),
        )
        .unwrap();
        must(&["build", "-q", "-t", &lab.client_image, cctx.to_str().unwrap()]);
        let _ = std::fs::remove_dir_all(&ctx);
        let _ = std::fs::remove_dir_all(&cctx);
        // A free /24 in 198.19.0.0/16 (TEST-NET-2 benchmark space); skip ones in use.
        let seed = std::process::id() as usize;
        for k in 0..250 {
            let subnet = format!("198.19.{}.0/24", (seed + k) % 250 + 1);
            if docker(&["network", "create", "--subnet", &subnet, &lab.network]).status.success() {
                lab.subnet = subnet;
                break;
            }
        }
        assert!(!lab.subnet.is_empty(), "no free subnet for the test network");
        lab
    }

    /// Address `host` (e.g. 10) in this lab's subnet.
    pub fn ip(&self, host: u8) -> String {
        let base = self.subnet.trim_end_matches(".0/24");
        format!("{base}.{host}")
    }

    pub fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.id)
    }

    /// A container that only holds a network namespace with a fixed address (a "node").
    pub fn holder(&mut self, what: &str, ip: &str) -> String {
        let name = self.name(what);
        must(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &self.network,
            "--ip",
            ip,
            // No routing on nodes: a forwarding loser would hide ARP faults.
            "--sysctl",
            "net.ipv4.ip_forward=0",
            &self.client_image,
            "sleep",
            "3600",
        ]);
        self.containers.push(name.clone());
        name
    }

    /// Run and register a container (removed on drop): `args` go before the image.
    pub fn run(&mut self, what: &str, args: &[&str], image: &str, cmd: &[&str]) -> String {
        let name = self.name(what);
        let mut a = vec!["run", "-d", "--name", &name];
        a.extend_from_slice(args);
        a.push(image);
        a.extend_from_slice(cmd);
        must(&a);
        self.containers.push(name.clone());
        name
    }

    pub fn pid(&self, container: &str) -> String {
        must(&["inspect", "-f", "{{.State.Pid}}", container])
    }

    /// `ip -o addr` inside a container's network namespace (host tools via nsenter).
    pub fn addrs(&self, container: &str) -> String {
        let pid = self.pid(container);
        let o = Command::new("nsenter").args(["-t", &pid, "-n", "ip", "-o", "addr"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn has_addr(&self, container: &str, ip: &str) -> bool {
        self.addrs(container).contains(&format!(" {ip}/"))
    }

    pub fn logs(&self, container: &str) -> String {
        let o = docker(&["logs", container]);
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    }

    pub fn exit_code(&self, container: &str) -> String {
        must(&["inspect", "-f", "{{.State.ExitCode}}", container])
    }
}

impl Drop for DockerLab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for c in &self.containers {
                eprintln!("--- docker logs {c} ---\n{}", self.logs(c));
            }
        }
        for c in self.containers.iter().rev() {
            let _ = docker(&["rm", "-f", c]);
        }
        let _ = docker(&["network", "rm", &self.network]);
        let _ = docker(&["rmi", "-f", &self.image, &self.client_image]);
    }
}

pub fn repo_file(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel).display().to_string()
}
