//! The Docker Engine API, GET only: `DOCKER_HOST` (`unix://PATH`, or `tcp://HOST:PORT` for a
//! socket proxy that allows only GETs), else /var/run/docker.sock. Blocking calls with
//! deadlines, made from the membership thread (`watch.rs`), never from the VRRP loop.
//! Requests are HTTP/1.0: the engine answers each on its own connection without chunking
//! (a proxy that chunks anyway is decoded) and streams events until the connection ends.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// The most of an answer read: a node list of hundreds of nodes is a few hundred kB.
const MAX_BODY: u64 = 16 << 20;
/// Connecting, sending and each read of an ordinary request.
pub const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    /// An address and port, plain HTTP (a socket proxy on the node). No name lookup: it
    /// would link glibc's resolver into the static binary (a quarter of a megabyte).
    Tcp(SocketAddr),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

/// A connection's byte stream, whichever transport.
trait Conn: Read + Write + Send {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
}
impl Conn for UnixStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, t)
    }
}
impl Conn for TcpStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, t)
    }
}

/// An answer that is not a 2xx: the engine's own message is the useful part.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub message: String,
}

impl Endpoint {
    /// From `DOCKER_HOST`, as the docker CLI reads it (TLS is not spoken: use a proxy).
    pub fn from_env(env: &HashMap<String, String>) -> Result<Endpoint, String> {
        let Some(h) = env.get("DOCKER_HOST").map(|h| h.trim()).filter(|h| !h.is_empty()) else {
            return Ok(Endpoint::Unix("/var/run/docker.sock".into()));
        };
        if let Some(p) = h.strip_prefix("unix://") {
            return Ok(Endpoint::Unix(p.into()));
        }
        let bad = || {
            format!("DOCKER_HOST={h:?}: expected unix:///path/docker.sock or tcp://ADDRESS:PORT (a socket proxy, e.g. tcp://127.0.0.1:2375; no host names, no TLS)")
        };
        let a = h.strip_prefix("tcp://").or_else(|| h.strip_prefix("http://")).ok_or_else(bad)?.trim_end_matches('/');
        let a = a.strip_prefix("localhost:").map_or_else(|| a.to_string(), |port| format!("127.0.0.1:{port}"));
        a.parse::<SocketAddr>().map(Endpoint::Tcp).map_err(|_| bad())
    }

    fn connect(&self) -> io::Result<Box<dyn Conn>> {
        Ok(match self {
            Endpoint::Unix(p) => {
                let s = UnixStream::connect(p)?;
                s.set_write_timeout(Some(TIMEOUT))?;
                Box::new(s)
            }
            Endpoint::Tcp(addr) => {
                let s = TcpStream::connect_timeout(addr, TIMEOUT)?;
                s.set_write_timeout(Some(TIMEOUT))?;
                Box::new(s)
            }
        })
    }

    /// Send `GET path` and read the head: a reader positioned at the body, and whether the
    /// body is chunked.
    fn open(&self, path: &str, read_timeout: Option<Duration>) -> Result<(BufReader<Box<dyn Conn>>, bool), Failure> {
        let mut c = self.connect().map_err(Failure::Io)?;
        c.set_read_timeout(Some(TIMEOUT)).map_err(Failure::Io)?;
        let req = format!("GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: keepvip\r\n\r\n");
        c.write_all(req.as_bytes()).map_err(Failure::Io)?;
        let mut r = BufReader::new(c);
        let (status, chunked) = read_head(&mut r).map_err(Failure::Io)?;
        if !(200..300).contains(&status) {
            let body = read_body(&mut r, chunked).unwrap_or_default();
            return Err(Failure::Refused(Refused { status, message: message_of(&body) }));
        }
        r.get_ref().set_read_timeout(read_timeout).map_err(Failure::Io)?;
        Ok((r, chunked))
    }

    /// The body of a successful `GET path`.
    pub fn get(&self, path: &str) -> Result<Vec<u8>, Failure> {
        let (mut r, chunked) = self.open(path, Some(TIMEOUT))?;
        read_body(&mut r, chunked).map_err(Failure::Io)
    }

    /// `GET path` of a stream (`/events`): its lines as they come; a read waits at most
    /// `quiet` (then `Err` of kind `WouldBlock` or `TimedOut`).
    pub fn stream(&self, path: &str, quiet: Duration) -> Result<Lines, Failure> {
        let (r, _) = self.open(path, Some(quiet))?;
        Ok(Lines { r })
    }
}

/// Why a request failed.
#[derive(Debug)]
pub enum Failure {
    Io(io::Error),
    Refused(Refused),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Io(e) => write!(f, "{e}"),
            Failure::Refused(r) => write!(f, "HTTP {}: {}", r.status, r.message),
        }
    }
}

pub struct Lines {
    r: BufReader<Box<dyn Conn>>,
}

impl Lines {
    /// The next line; `Ok(None)` at the end of the stream.
    pub fn next_line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        match self.r.by_ref().take(MAX_BODY).read_line(&mut line)? {
            0 => Ok(None),
            _ => Ok(Some(line)),
        }
    }
}

/// The status line and headers; whether the body is chunked.
fn read_head(r: &mut impl BufRead) -> io::Result<(u16, bool)> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let mut line = String::new();
    r.by_ref().take(8192).read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| line.starts_with("HTTP/1."))
        .ok_or_else(|| bad("not an HTTP answer"))?;
    let mut chunked = false;
    for _ in 0..100 {
        line.clear();
        if r.by_ref().take(8192).read_line(&mut line)? == 0 {
            return Err(bad("the answer ended in its headers"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            return Ok((status, chunked));
        }
        if let Some((k, v)) = l.split_once(':') {
            chunked |= k.trim().eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked");
        }
    }
    Err(bad("too many headers"))
}

fn read_body(r: &mut impl BufRead, chunked: bool) -> io::Result<Vec<u8>> {
    let mut body = vec![];
    if !chunked {
        r.take(MAX_BODY).read_to_end(&mut body)?;
        return Ok(body);
    }
    loop {
        let mut size = String::new();
        r.by_ref().take(64).read_line(&mut size)?;
        let n = u64::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if n == 0 || body.len() as u64 + n > MAX_BODY {
            return Ok(body);
        }
        r.by_ref().take(n).read_to_end(&mut body)?;
        let mut crlf = String::new();
        r.by_ref().take(2).read_line(&mut crlf)?;
    }
}

/// The engine's error bodies are `{"message": "..."}`.
fn message_of(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A one-connection server on a socket in a fresh directory: answers `reply` and
    /// hands back the request it read.
    fn serve(reply: &'static str) -> (Endpoint, std::thread::JoinHandle<String>) {
        let dir = std::env::temp_dir().join(format!(
            "keepvip-engine-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("docker.sock");
        let l = UnixListener::bind(&path).unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = vec![0u8; 4096];
            let n = s.read(&mut req).unwrap();
            s.write_all(reply.as_bytes()).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            String::from_utf8_lossy(&req[..n]).into_owned()
        });
        (Endpoint::Unix(path), t)
    }

    #[test]
    fn get_reads_plain_and_chunked_bodies_and_sends_only_a_get() {
        let (e, t) = serve("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[1,2]");
        assert_eq!(e.get("/nodes").unwrap(), b"[1,2]");
        let req = t.join().unwrap();
        assert!(req.starts_with("GET /nodes HTTP/1.0\r\n"), "{req}");
        let (e, t) = serve("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n");
        assert_eq!(e.get("/info").unwrap(), b"[1,2]");
        t.join().unwrap();
    }

    #[test]
    fn a_refusal_carries_the_engines_message() {
        let (e, t) =
            serve("HTTP/1.0 503 Service Unavailable\r\n\r\n{\"message\":\"This node is not a swarm manager.\"}");
        match e.get("/nodes") {
            Err(Failure::Refused(r)) => {
                assert_eq!((r.status, r.message.as_str()), (503, "This node is not a swarm manager."))
            }
            other => panic!("{other:?}"),
        }
        t.join().unwrap();
        let missing = Endpoint::Unix("/nonexistent/docker.sock".into());
        assert!(matches!(missing.get("/info"), Err(Failure::Io(_))));
    }

    #[test]
    fn docker_host_values() {
        let env = |v: &str| HashMap::from([("DOCKER_HOST".to_string(), v.to_string())]);
        assert_eq!(Endpoint::from_env(&HashMap::new()), Ok(Endpoint::Unix("/var/run/docker.sock".into())));
        assert_eq!(Endpoint::from_env(&env("unix:///run/d.sock")), Ok(Endpoint::Unix("/run/d.sock".into())));
        let proxy = Ok(Endpoint::Tcp("127.0.0.1:2375".parse().unwrap()));
        assert_eq!(Endpoint::from_env(&env("tcp://127.0.0.1:2375")), proxy);
        assert_eq!(Endpoint::from_env(&env("tcp://localhost:2375/")), proxy);
        for bad in ["ssh://x", "tcp://proxy:2375", "tcp://127.0.0.1"] {
            assert!(Endpoint::from_env(&env(bad)).unwrap_err().contains(&format!("DOCKER_HOST={bad:?}")), "{bad}");
        }
    }
}
