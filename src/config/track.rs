//! Health checks an instance tracks (`KEEPALIVED_TRACK_*`, or keepalived.conf's
//! `vrrp_script` / `track_script` / weighted `track_interface`), with keepalived's timing:
//! interval, timeout, fall, rise and weight.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// What a check asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A TCP connection is accepted.
    Tcp(SocketAddr),
    /// `GET path` answers with a status in `ok` (ranges, inclusive).
    Http { addr: SocketAddr, host: String, path: String, ok: Vec<(u16, u16)> },
    /// The Docker Engine answers `/_ping` on its socket; with `swarm`, `/info` says this
    /// node is an active swarm member.
    Docker { socket: PathBuf, swarm: bool },
    /// A command run without a shell, as keepalived runs `vrrp_script`: exit 0 is up.
    Script(Vec<String>),
    /// An interface is up (a weighted `track_interface`; unweighted ones are faults of
    /// their own, as for the advert interface).
    Link(String),
    /// Enough processes match (keepalived's `vrrp_track_process`).
    Process(ProcessMatch),
}

/// Which processes a `vrrp_track_process` counts, and how many make it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessMatch {
    /// The process name (`/proc/PID/comm`), or with `args` or `full_command` the command's
    /// first word (`/proc/PID/cmdline`), compared exactly, as keepalived does (not as a pattern).
    pub name: String,
    /// The parameters to compare, when given (or `param_match` without any: none allowed).
    pub args: Option<Vec<String>>,
    pub param_match: ParamMatch,
    pub full_command: bool,
    /// Up while `quorum <= matching <= quorum_max`.
    pub quorum: u32,
    pub quorum_max: u32,
}

/// keepalived's `param_match`: all parameters as given; or the given ones first (more may
/// follow); or the same with the last given one a prefix of the process's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamMatch {
    Exact,
    Partial,
    Initial,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// How logs and `--status` name it: the `vrrp_script` name, or the probe.
    pub name: String,
    pub probe: Probe,
    pub interval: Duration,
    /// A probe that has not answered by then failed.
    pub timeout: Duration,
    /// Failures in a row that make an up check down, successes that make a down one up.
    pub fall: u32,
    pub rise: u32,
    /// 0: FAULT while down. Positive: added to the priority while up; negative: added
    /// while down (keepalived's -253..253).
    pub weight: i32,
    /// Down until the first success (keepalived's `init_fail`); otherwise one result decides.
    pub init_fail: bool,
}

impl Check {
    /// A weighted `track_interface`, as keepalived follows it: every link change counts at
    /// once (no interval, fall or rise of its own).
    pub fn interface(name: &str, weight: i32) -> Check {
        Check {
            name: format!("interface {name}"),
            probe: Probe::Link(name.to_string()),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            fall: 1,
            rise: 1,
            weight,
            init_fail: false,
        }
    }
}

impl Probe {
    pub fn describe(&self) -> String {
        match self {
            Probe::Tcp(a) => format!("tcp {a}"),
            Probe::Http { addr, host, path, .. } => {
                if host == &addr.to_string() || host == &addr.ip().to_string() {
                    format!("http {addr}{path}")
                } else {
                    format!("http {host} ({addr}){path}")
                }
            }
            Probe::Docker { swarm: false, socket } => format!("docker engine {}", socket.display()),
            Probe::Docker { swarm: true, socket } => format!("docker swarm {}", socket.display()),
            Probe::Script(argv) => argv.join(" "),
            Probe::Link(i) => format!("interface {i}"),
            Probe::Process(m) => {
                let words = std::iter::once(m.name.as_str()).chain(m.args.iter().flatten().map(String::as_str));
                let cmd = words.collect::<Vec<_>>().join(" ");
                match m.quorum_max {
                    u32::MAX => format!("process {cmd} (at least {})", m.quorum),
                    max => format!("process {cmd} ({}..{max})", m.quorum),
                }
            }
        }
    }
}

/// `host:port` with an IP literal (`[v6]:port` for IPv6) or `localhost`: the image has no
/// resolver, and a check must not wait on DNS.
pub fn socket_addr(v: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = v.parse::<SocketAddr>() {
        return Ok(a);
    }
    match v.rsplit_once(':') {
        Some(("localhost", port)) => match port.parse::<u16>() {
            Ok(p) if p > 0 => Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p)),
            _ => Err(format!("'{v}': port '{port}' is not 1..65535")),
        },
        Some((host, port)) if port.parse::<u16>().is_ok_and(|p| p > 0) => Err(format!(
            "'{v}': '{host}' is not an IP address (names are not resolved: write the address, or localhost)"
        )),
        _ => Err(format!("'{v}': expected HOST:PORT with an IP address, e.g. 127.0.0.1:80 or [::1]:80")),
    }
}

/// `http://HOST[:PORT][/PATH] [STATUS,...]`: statuses are codes or ranges (`200-399`);
/// 200-299 when none are given.
pub fn http(v: &str) -> Result<Probe, String> {
    let mut words = v.split_whitespace();
    let url = words.next().ok_or("expected a URL, e.g. http://127.0.0.1:8080/healthz")?;
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        if url.starts_with("https://") {
            format!("'{url}': https is not supported (the image has no TLS); check the service's plain HTTP port or use a TCP check")
        } else {
            format!("'{url}': expected a URL starting with http://")
        }
    })?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if hostport.ends_with(']') || !hostport.contains(':') || hostport.matches(':').count() > 1 {
        if hostport.starts_with('[') || !hostport.contains(':') {
            format!("{hostport}:80")
        } else {
            return Err(format!("'{url}': write an IPv6 address in brackets, e.g. http://[::1]:80/"));
        }
    } else {
        hostport.to_string()
    };
    let addr = socket_addr(&with_port).map_err(|e| format!("'{url}': {e}"))?;
    let mut ok = vec![];
    for w in words {
        for part in w.split(',').filter(|p| !p.is_empty()) {
            let range = match part.split_once('-') {
                Some((a, b)) => a.parse::<u16>().ok().zip(b.parse::<u16>().ok()),
                None => part.parse::<u16>().ok().map(|a| (a, a)),
            };
            match range {
                Some((a, b)) if (100..=599).contains(&a) && (a..=599).contains(&b) => ok.push((a, b)),
                _ => {
                    return Err(format!(
                        "'{part}': expected HTTP status codes or ranges 100..599, e.g. 200,204 or 200-399"
                    ))
                }
            }
        }
    }
    if ok.is_empty() {
        ok.push((200, 299));
    }
    let host = hostport.to_string();
    Ok(Probe::Http { addr, host, path: path.to_string(), ok })
}

/// `engine` or `swarm`, on `DOCKER_HOST`'s `unix://` socket or /var/run/docker.sock.
pub fn docker(v: &str, docker_host: Option<&str>) -> Result<Probe, String> {
    let socket = match docker_host.filter(|h| !h.is_empty()) {
        None => PathBuf::from("/var/run/docker.sock"),
        Some(h) => match h.strip_prefix("unix://") {
            Some(p) => PathBuf::from(p),
            None => {
                return Err(format!(
                    "DOCKER_HOST={h}: the check talks to a unix:// socket only (mount /var/run/docker.sock read-only)"
                ))
            }
        },
    };
    match v {
        "engine" | "true" => Ok(Probe::Docker { socket, swarm: false }),
        "swarm" => Ok(Probe::Docker { socket, swarm: true }),
        _ => {
            Err("expected engine (the Docker Engine answers) or swarm (and this node is an active swarm member)".into())
        }
    }
}

/// A script command line, split as keepalived splits it (quotes group words).
pub fn script(v: &str) -> Result<Probe, String> {
    match shlex::split(v) {
        Some(w) if !w.is_empty() => Ok(Probe::Script(w)),
        _ => Err("expected a command (a program path and its arguments)".into()),
    }
}

/// The priority a weighted set of checks gives `base` (keepalived: the owner's 255 never
/// moves; the rest stays within 1..254).
pub fn effective_priority(base: u8, deltas: impl IntoIterator<Item = i32>) -> u8 {
    if base == 255 {
        return 255;
    }
    let p = i32::from(base) + deltas.into_iter().sum::<i32>();
    p.clamp(1, 254) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_urls_and_statuses() {
        assert_eq!(socket_addr("127.0.0.1:53").unwrap(), "127.0.0.1:53".parse().unwrap());
        assert_eq!(socket_addr("localhost:80").unwrap(), "127.0.0.1:80".parse().unwrap());
        assert_eq!(socket_addr("[::1]:80").unwrap(), "[::1]:80".parse().unwrap());
        assert!(socket_addr("db:5432").unwrap_err().contains("not an IP address"));
        assert!(socket_addr("127.0.0.1").unwrap_err().contains("expected HOST:PORT"));
        match http("http://198.18.0.1:8080/healthz 200,204 300-399").unwrap() {
            Probe::Http { addr, path, ok, .. } => {
                assert_eq!(addr, "198.18.0.1:8080".parse().unwrap());
                assert_eq!(path, "/healthz");
                assert_eq!(ok, vec![(200, 200), (204, 204), (300, 399)]);
            }
            p => panic!("{p:?}"),
        }
        match http("http://localhost").unwrap() {
            Probe::Http { addr, path, ok, host } => {
                assert_eq!(
                    (addr, path.as_str(), ok, host.as_str()),
                    ("127.0.0.1:80".parse().unwrap(), "/", vec![(200, 299)], "localhost")
                );
            }
            p => panic!("{p:?}"),
        }
        assert!(matches!(http("http://[::1]/x").unwrap(), Probe::Http { addr, .. } if addr.port() == 80));
        assert!(http("https://x/").unwrap_err().contains("no TLS"));
        assert!(http("http://1.2.3.4/ 700").unwrap_err().contains("100..599"));
        assert!(http("http://::1/").unwrap_err().contains("brackets"));
    }

    #[test]
    fn docker_socket_and_priorities() {
        assert_eq!(
            docker("swarm", None).unwrap(),
            Probe::Docker { socket: "/var/run/docker.sock".into(), swarm: true }
        );
        assert_eq!(
            docker("engine", Some("unix:///run/d.sock")).unwrap(),
            Probe::Docker { socket: "/run/d.sock".into(), swarm: false }
        );
        assert!(docker("engine", Some("tcp://1.2.3.4:2375")).is_err());
        assert!(docker("yes please", None).is_err());
        assert_eq!(effective_priority(100, [-60, 20]), 60);
        assert_eq!(effective_priority(100, [-200]), 1);
        assert_eq!(effective_priority(250, [50]), 254);
        assert_eq!(effective_priority(255, [-50]), 255);
        assert_eq!(
            script("/bin/sh -c 'nc -z 127.0.0.1 53'").unwrap(),
            Probe::Script(vec!["/bin/sh".into(), "-c".into(), "nc -z 127.0.0.1 53".into()])
        );
    }
}
