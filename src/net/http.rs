//! A tiny HTTP/1.x responder for `GET /metrics`, driven by the same poll loop as VRRP:
//! non-blocking sockets, a bounded number of connections, a deadline per connection, and
//! nothing that can wait on a client. A slow or hostile client costs one slot until its
//! deadline; VRRP never waits for it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

/// Connections served at once; a new one beyond this closes the oldest.
pub const MAX_CONNS: usize = 16;
/// A client must send its request and take the answer within this.
pub const CONN_DEADLINE: Duration = Duration::from_secs(2);
/// Requests are a line and a few headers; more is not a scrape.
const MAX_REQUEST: usize = 4096;

struct Conn {
    stream: TcpStream,
    request: Vec<u8>,
    /// The answer and how much of it is written.
    answer: Option<(Vec<u8>, usize)>,
    deadline: Instant,
}

pub struct Server {
    listener: TcpListener,
    conns: Vec<Conn>,
    pub served: u64,
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Metrics,
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// The request line of a complete request head.
pub fn route(head: &[u8]) -> Route {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(m), Some(path), Some(v)) if v.starts_with("HTTP/1.") => {
            if m != "GET" && m != "HEAD" {
                Route::MethodNotAllowed
            } else if path == "/metrics" || path.starts_with("/metrics?") {
                Route::Metrics
            } else {
                Route::NotFound
            }
        }
        _ => Route::BadRequest,
    }
}

fn response(status: &str, content_type: &str, body: &str, head_only: bool) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        r.extend_from_slice(body.as_bytes());
    }
    r
}

impl Server {
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Server { listener, conns: vec![], served: 0 })
    }

    #[cfg(test)]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Descriptors to poll, with whether each waits to write.
    pub fn fds(&self) -> Vec<(BorrowedFd<'_>, bool)> {
        let mut v = vec![(self.listener.as_fd(), false)];
        v.extend(self.conns.iter().map(|c| (c.stream.as_fd(), c.answer.is_some())));
        v
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.conns.iter().map(|c| c.deadline).min()
    }

    /// Accept, read, answer and expire, without ever blocking. `metrics` is called only for
    /// a complete `GET /metrics`.
    pub fn service(&mut self, now: Instant, mut metrics: impl FnMut() -> String) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    if self.conns.len() >= MAX_CONNS {
                        // Full: the oldest connection (most likely a stalled one) makes room,
                        // so idle connections cannot lock a scraper out.
                        self.conns.remove(0);
                    }
                    self.conns.push(Conn { stream, request: vec![], answer: None, deadline: now + CONN_DEADLINE });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break, // WouldBlock, or a transient accept error: next turn
            }
        }
        let mut served = 0;
        self.conns.retain_mut(|c| {
            if now >= c.deadline {
                return false;
            }
            if c.answer.is_none() {
                let mut buf = [0u8; 1024];
                loop {
                    match c.stream.read(&mut buf) {
                        Ok(0) => return false,
                        Ok(n) => {
                            c.request.extend_from_slice(&buf[..n]);
                            if c.request.len() > MAX_REQUEST {
                                return false;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return false,
                    }
                }
                let Some(end) = c.request.windows(4).position(|w| w == b"\r\n\r\n") else { return true };
                let head_only = c.request.starts_with(b"HEAD ");
                let answer = match route(&c.request[..end]) {
                    Route::Metrics => {
                        served += 1;
                        response("200 OK", "text/plain; version=0.0.4; charset=utf-8", &metrics(), head_only)
                    }
                    Route::NotFound => {
                        response("404 Not Found", "text/plain", "keepvip serves /metrics only\n", head_only)
                    }
                    Route::MethodNotAllowed => {
                        response("405 Method Not Allowed", "text/plain", "GET /metrics\n", false)
                    }
                    Route::BadRequest => response("400 Bad Request", "text/plain", "GET /metrics\n", false),
                };
                c.answer = Some((answer, 0));
            }
            let Some((answer, written)) = c.answer.as_mut() else { return true };
            loop {
                match c.stream.write(&answer[*written..]) {
                    Ok(0) => return false,
                    Ok(n) => {
                        *written += n;
                        if *written == answer.len() {
                            return false; // done: closing ends the exchange
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
        });
        self.served += served;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: x"), Route::Metrics);
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0"), Route::Metrics);
        assert_eq!(route(b"HEAD /metrics HTTP/1.1"), Route::Metrics);
        assert_eq!(route(b"GET / HTTP/1.1"), Route::NotFound);
        assert_eq!(route(b"POST /metrics HTTP/1.1"), Route::MethodNotAllowed);
        assert_eq!(route(b"\x00\xff garbage"), Route::BadRequest);
        assert_eq!(route(b""), Route::BadRequest);
    }

    #[test]
    fn serves_a_scrape_and_drops_silent_clients_at_their_deadline() {
        let mut s = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = s.local_addr().unwrap();
        let t0 = Instant::now();
        let silent = TcpStream::connect(addr).unwrap();
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        // A few turns of the loop, as poll would wake it.
        for _ in 0..50 {
            s.service(t0, || "up 1\n".into());
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n") && got.ends_with("\r\n\r\nup 1\n"), "{got:?}");
        assert_eq!(s.served, 1);
        assert_eq!(s.conns.len(), 1, "the silent client holds one slot");
        s.service(t0 + CONN_DEADLINE, String::new);
        assert!(s.conns.is_empty(), "and loses it at its deadline");
        drop(silent);
    }
}
