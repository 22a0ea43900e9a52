//! The probes of the health checks, each a small non-blocking state machine the poll loop
//! drives: a TCP connect, an HTTP request over TCP or the Docker socket, a script run as
//! keepalived runs one. None blocks the loop or another check; one that has not answered
//! by its deadline failed (a script is then killed with its process group).

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrStorage, UnixAddr};

use crate::config::Probe;

/// What a finished probe says: up, or down and why.
pub type Outcome = Result<(), String>;

/// The most of a response read (Docker's `/info` is a few kB).
const MAX_RESPONSE: usize = 1 << 20;

/// A probe in flight.
pub struct Running {
    deadline: Instant,
    kind: Kind,
}

enum Kind {
    Conn(Conn),
    Script(Child),
    /// Answered when started (a count of processes).
    Answered(Outcome),
}

/// A stream connection: connect, then (for HTTP) write the request and read the answer.
struct Conn {
    fd: OwnedFd,
    stage: Stage,
    request: Vec<u8>,
    written: usize,
    response: Vec<u8>,
    judge: Judge,
}

#[derive(PartialEq)]
enum Stage {
    Connecting,
    Writing,
    Reading,
}

enum Judge {
    /// Connected is up.
    Connected,
    /// The status line's code in one of these ranges is up.
    Status(Vec<(u16, u16)>),
    /// Docker's `/info` says `"LocalNodeState": "active"`.
    SwarmActive,
}

/// The fd a running probe waits on and whether for writing, for the poll set.
pub struct Wait<'a> {
    pub fd: BorrowedFd<'a>,
    pub write: bool,
}

impl Running {
    /// Start `probe`; an error is an immediate failure (a script that cannot be run, a
    /// socket that cannot be opened).
    pub fn start(probe: &Probe, deadline: Instant) -> Result<Running, String> {
        let kind = match probe {
            Probe::Tcp(addr) => Kind::Conn(Conn::tcp(*addr, vec![], Judge::Connected)?),
            Probe::Http { addr, host, path, ok } => {
                let req =
                    format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: keepvip\r\nConnection: close\r\n\r\n");
                Kind::Conn(Conn::tcp(*addr, req.into_bytes(), Judge::Status(ok.clone()))?)
            }
            Probe::Docker { socket, swarm } => {
                let (path, judge) =
                    if *swarm { ("/info", Judge::SwarmActive) } else { ("/_ping", Judge::Status(vec![(200, 200)])) };
                let req = format!("GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: keepvip\r\n\r\n");
                Kind::Conn(Conn::unix(socket, req.into_bytes(), judge)?)
            }
            Probe::Script(argv) => {
                let (program, args) = argv.split_first().ok_or("empty command")?;
                let child = Command::new(program)
                    .args(args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    // Its own group, so a timeout kills what it started too (as keepalived).
                    .process_group(0)
                    .spawn()
                    .map_err(|e| format!("cannot run {program}: {e}"))?;
                Kind::Script(child)
            }
            Probe::Link(_) => return Err("an interface is not probed".into()),
            Probe::Process(m) => {
                let n = super::process::count(Path::new("/proc"), m);
                let ok = (m.quorum..=m.quorum_max).contains(&(n as u32));
                Kind::Answered(if ok { Ok(()) } else { Err(format!("{n} running")) })
            }
        };
        Ok(Running { deadline, kind })
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    pub fn wait(&self) -> Option<Wait<'_>> {
        match &self.kind {
            Kind::Conn(c) => Some(Wait { fd: c.fd.as_fd(), write: c.stage != Stage::Reading }),
            // SIGCHLD wakes the loop; a count is there at once.
            Kind::Script(_) | Kind::Answered(_) => None,
        }
    }

    /// Do what can be done without blocking; `Some` once the probe has its answer (or
    /// ran out of time).
    pub fn advance(&mut self, now: Instant) -> Option<Outcome> {
        let done = match &mut self.kind {
            Kind::Conn(c) => c.advance(),
            Kind::Script(child) => match child.try_wait() {
                Ok(Some(st)) if st.success() => Some(Ok(())),
                Ok(Some(st)) => Some(Err(format!("exited with {st}"))),
                Ok(None) => None,
                Err(e) => Some(Err(format!("waiting for it: {e}"))),
            },
            Kind::Answered(o) => Some(o.clone()),
        };
        if done.is_some() || now < self.deadline {
            return done;
        }
        if let Kind::Script(child) = &mut self.kind {
            // The group the script leads (`process_group(0)`): its children go too.
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGKILL);
        }
        Some(Err("timed out".into()))
    }

    /// The script's process, if this is a script.
    pub fn pid(&self) -> Option<u32> {
        match &self.kind {
            Kind::Script(c) => Some(c.id()),
            Kind::Conn(_) | Kind::Answered(_) => None,
        }
    }

    /// A script killed at its deadline, to reap later (`None` for anything else).
    pub fn into_child(self) -> Option<Child> {
        match self.kind {
            Kind::Script(c) => Some(c),
            Kind::Conn(_) | Kind::Answered(_) => None,
        }
    }
}

impl Conn {
    fn open(family: AddressFamily) -> Result<OwnedFd, String> {
        socket::socket(family, SockType::Stream, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC, None)
            .map_err(|e| format!("socket: {e}"))
    }

    fn new(fd: OwnedFd, connected: bool, request: Vec<u8>, judge: Judge) -> Conn {
        let stage = match (connected, request.is_empty()) {
            (false, _) => Stage::Connecting,
            (true, false) => Stage::Writing,
            (true, true) => Stage::Reading,
        };
        Conn { fd, stage, request, written: 0, response: vec![], judge }
    }

    fn tcp(addr: SocketAddr, request: Vec<u8>, judge: Judge) -> Result<Conn, String> {
        let fd = Self::open(if addr.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 })?;
        let to = SockaddrStorage::from(addr);
        match socket::connect(fd.as_raw_fd(), &to) {
            Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => Ok(Conn::new(fd, false, request, judge)),
            Err(e) => Err(refused(e)),
        }
    }

    fn unix(path: &Path, request: Vec<u8>, judge: Judge) -> Result<Conn, String> {
        let fd = Self::open(AddressFamily::Unix)?;
        let to = UnixAddr::new(path).map_err(|e| format!("{}: {e}", path.display()))?;
        match socket::connect(fd.as_raw_fd(), &to) {
            Ok(()) => Ok(Conn::new(fd, true, request, judge)),
            Err(nix::errno::Errno::EINPROGRESS | nix::errno::Errno::EAGAIN) => Ok(Conn::new(fd, false, request, judge)),
            Err(e) => Err(format!("{}: {}", path.display(), refused(e))),
        }
    }

    fn advance(&mut self) -> Option<Outcome> {
        if self.stage == Stage::Connecting {
            match socket::getsockopt(&self.fd, socket::sockopt::SocketError) {
                Ok(0) => {}
                Ok(e) => return Some(Err(refused(nix::errno::Errno::from_raw(e)))),
                Err(e) => return Some(Err(format!("connect: {e}"))),
            }
            // Writable means connected; not yet writable means still connecting.
            if !writable(&self.fd) {
                return None;
            }
            if matches!(self.judge, Judge::Connected) {
                return Some(Ok(()));
            }
            self.stage = Stage::Writing;
        }
        let mut stream = std::fs::File::from(self.fd.try_clone().ok()?);
        if self.stage == Stage::Writing {
            while self.written < self.request.len() {
                match stream.write(&self.request[self.written..]) {
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
                    Err(e) => return Some(Err(format!("sending the request: {e}"))),
                }
            }
            self.stage = Stage::Reading;
        }
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Some(self.verdict(true)),
                Ok(n) => {
                    self.response.extend_from_slice(&buf[..n]);
                    if self.response.len() > MAX_RESPONSE {
                        return Some(Err("response too large".into()));
                    }
                    // A status check needs only the status line.
                    if matches!(self.judge, Judge::Status(_)) && self.response.contains(&b'\n') {
                        return Some(self.verdict(false));
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
                Err(e) => return Some(Err(format!("reading the response: {e}"))),
            }
        }
    }

    fn verdict(&self, complete: bool) -> Outcome {
        let text = String::from_utf8_lossy(&self.response);
        let status_line = text.lines().next().unwrap_or("");
        let code = status_line
            .strip_prefix("HTTP/1.")
            .and_then(|r| r.split_whitespace().nth(1))
            .and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else {
            return Err(if self.response.is_empty() {
                "closed without an answer".into()
            } else {
                format!("not an HTTP answer: {:?}", status_line.chars().take(60).collect::<String>())
            });
        };
        match &self.judge {
            Judge::Connected => Ok(()),
            Judge::Status(ok) if ok.iter().any(|(a, b)| (*a..=*b).contains(&code)) => Ok(()),
            Judge::Status(_) => Err(format!("HTTP status {code}")),
            Judge::SwarmActive if code != 200 => Err(format!("HTTP status {code} from /info")),
            Judge::SwarmActive if !complete => Err("incomplete answer from /info".into()),
            Judge::SwarmActive => {
                let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
                let state = serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v["Swarm"]["LocalNodeState"].as_str().map(str::to_string));
                match state.as_deref() {
                    Some("active") => Ok(()),
                    Some(s) => Err(format!("this node's swarm state is {s}, not active")),
                    None => Err("no Swarm.LocalNodeState in /info".into()),
                }
            }
        }
    }
}

fn refused(e: nix::errno::Errno) -> String {
    match e {
        nix::errno::Errno::ECONNREFUSED => "connection refused".into(),
        nix::errno::Errno::ENOENT => "no such socket".into(),
        e => e.desc().to_lowercase(),
    }
}

fn writable(fd: &OwnedFd) -> bool {
    let mut p = [nix::poll::PollFd::new(fd.as_fd(), nix::poll::PollFlags::POLLOUT)];
    matches!(nix::poll::poll(&mut p, nix::poll::PollTimeout::ZERO), Ok(1))
        && p[0].revents().is_some_and(|r| r.contains(nix::poll::PollFlags::POLLOUT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    fn run(p: &Probe, limit: Duration) -> Outcome {
        let deadline = Instant::now() + limit;
        let mut r = Running::start(p, deadline)?;
        loop {
            if let Some(o) = r.advance(Instant::now()) {
                return o;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn serve(answer: &'static [u8]) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut b = [0u8; 1024];
                let _ = s.read(&mut b);
                let _ = s.write_all(answer);
            }
        });
        a
    }

    fn http(addr: SocketAddr) -> Probe {
        Probe::Http { addr, host: addr.to_string(), path: "/".into(), ok: vec![(200, 299)] }
    }

    #[test]
    fn tcp_up_refused_and_hung() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        assert_eq!(run(&Probe::Tcp(a), Duration::from_secs(2)), Ok(()));
        drop(l);
        // A port bound but not listening refuses, and stays ours (a freed port could be
        // taken at once by another test's listener).
        let closed = socket::socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).unwrap();
        socket::bind(closed.as_raw_fd(), &SockaddrStorage::from(SocketAddr::from(([127, 0, 0, 1], 0)))).unwrap();
        let port = socket::getsockname::<SockaddrStorage>(closed.as_raw_fd()).unwrap().as_sockaddr_in().unwrap().port();
        let refused = Probe::Tcp(SocketAddr::from(([127, 0, 0, 1], port)));
        assert_eq!(run(&refused, Duration::from_secs(2)), Err("connection refused".into()));
        // Accepts (the kernel's backlog) but never answers: HTTP times out.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let t = Instant::now();
        assert_eq!(run(&http(l.local_addr().unwrap()), Duration::from_millis(200)), Err("timed out".into()));
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn http_statuses() {
        assert_eq!(run(&http(serve(b"HTTP/1.0 204 No Content\r\n\r\n")), Duration::from_secs(2)), Ok(()));
        assert_eq!(
            run(&http(serve(b"HTTP/1.1 503 Busy\r\n\r\n")), Duration::from_secs(2)),
            Err("HTTP status 503".into())
        );
        assert!(run(&http(serve(b"SSH-2.0-x\r\n")), Duration::from_secs(2))
            .unwrap_err()
            .contains("not an HTTP answer"));
        assert_eq!(run(&http(serve(b"")), Duration::from_secs(2)), Err("closed without an answer".into()));
    }

    #[test]
    fn scripts_exit_codes_missing_and_killed_at_the_deadline() {
        let sh = |c: &str| Probe::Script(vec!["/bin/sh".into(), "-c".into(), c.into()]);
        assert_eq!(run(&sh("exit 0"), Duration::from_secs(5)), Ok(()));
        assert!(run(&sh("exit 3"), Duration::from_secs(5)).unwrap_err().contains("exit status: 3"));
        assert!(run(&Probe::Script(vec!["/nonexistent/check".into()]), Duration::from_secs(1))
            .unwrap_err()
            .contains("cannot run /nonexistent/check"));
        let t = Instant::now();
        let mut r = Running::start(&sh("sleep 30"), Instant::now() + Duration::from_millis(100)).unwrap();
        let out = loop {
            if let Some(o) = r.advance(Instant::now()) {
                break o;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(out, Err("timed out".into()));
        let mut child = r.into_child().unwrap();
        assert!(child.wait().unwrap().code().is_none(), "killed by a signal");
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn docker_swarm_state_from_info() {
        let dir = std::env::temp_dir().join(format!("keepvip-docker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.sock");
        let _ = std::fs::remove_file(&path);
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let answers: [&[u8]; 2] = [
            b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"Swarm\":{\"LocalNodeState\":\"active\"}}",
            b"HTTP/1.0 200 OK\r\n\r\n{\"Swarm\":{\"LocalNodeState\":\"inactive\"}}",
        ];
        std::thread::spawn(move || {
            for a in answers {
                let (mut s, _) = l.accept().unwrap();
                let mut b = [0u8; 1024];
                let _ = s.read(&mut b);
                let _ = s.write_all(a);
            }
        });
        let p = Probe::Docker { socket: path.clone(), swarm: true };
        assert_eq!(run(&p, Duration::from_secs(2)), Ok(()));
        assert_eq!(run(&p, Duration::from_secs(2)), Err("this node's swarm state is inactive, not active".into()));
        let missing = Probe::Docker { socket: dir.join("none.sock"), swarm: false };
        assert!(run(&missing, Duration::from_secs(2)).unwrap_err().contains("no such socket"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
