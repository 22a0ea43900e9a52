//! Following the swarm's membership: a thread subscribes to the engine's node events and
//! reads the node list again after each one (and after a quiet minute, for an event lost
//! between two connections). Events rather than polling: a join, a drain or a label edit
//! is seen within a round trip, and a quiet swarm costs no wake-up at all. A thread,
//! because the engine may take seconds to answer (a manager without Raft quorum) and the
//! VRRP loop must never wait for it; the loop is woken through a socket pair and takes the
//! latest news. When the engine cannot be reached the last members stay in force: said
//! once, retried with backoff.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use super::engine::Endpoint;
use super::nodes::{self, Problem};
use crate::config::swarm::Membership;

/// `/events` for node changes only (`{"type":["node"]}`).
const EVENTS: &str = "/events?filters=%7B%22type%22%3A%5B%22node%22%5D%7D";
/// With no event for this long, read the list anyway.
const QUIET: Duration = Duration::from_secs(60);
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// News for the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    /// The members changed.
    Members(Membership),
    /// The engine cannot be asked (why): the last members stay.
    Lost(String),
    /// The engine answers again.
    Back,
}

/// The loop's end: a descriptor to wait on and the news behind it.
pub struct Feed {
    wake: UnixStream,
    rx: Receiver<News>,
}

impl Feed {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Everything since the last call, oldest first.
    pub fn take(&mut self) -> Vec<News> {
        let mut buf = [0u8; 64];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
        self.rx.try_iter().collect()
    }
}

/// Start following from `known` (what start-up read).
pub fn spawn(endpoint: Endpoint, known: Membership) -> io::Result<Feed> {
    let (wake, ping) = UnixStream::pair()?;
    wake.set_nonblocking(true)?;
    ping.set_nonblocking(true)?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("swarm".into())
        // Blocking reads and a little JSON: far below the default 2 MiB.
        .stack_size(128 << 10)
        .spawn(move || Follower { endpoint, known, tx, ping, lost: None }.run())?;
    Ok(Feed { wake, rx })
}

struct Follower {
    endpoint: Endpoint,
    known: Membership,
    tx: Sender<News>,
    ping: UnixStream,
    /// Why the engine cannot be asked, while it cannot.
    lost: Option<String>,
}

impl Follower {
    fn run(mut self) {
        let mut backoff = BACKOFF_MIN;
        loop {
            match self.follow() {
                Ok(()) => return,
                Err(why) => {
                    if self.lost.is_none() {
                        log::warn!(
                            "swarm: {why}; keeping the last peers ({}), retrying every {}–{} s",
                            self.known.describe(),
                            BACKOFF_MIN.as_secs(),
                            BACKOFF_MAX.as_secs()
                        );
                        if !self.send(News::Lost(why.clone())) {
                            return;
                        }
                    }
                    self.lost = Some(why);
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
            if self.lost.is_none() {
                backoff = BACKOFF_MIN;
            }
        }
    }

    /// Subscribe, then read the list (nothing is missed in between), then again after
    /// each event. `Ok` only when the loop is gone.
    fn follow(&mut self) -> Result<(), String> {
        let mut events = self
            .endpoint
            .stream(EVENTS, QUIET)
            .map_err(|e| format!("the Docker engine at {}: GET /events: {e}", self.endpoint))?;
        loop {
            match nodes::fetch(&self.endpoint) {
                Ok(m) => {
                    if let Some(why) = self.lost.take() {
                        log::info!("swarm: the Docker engine answers again (was: {why})");
                        if !self.send(News::Back) {
                            return Ok(());
                        }
                    }
                    if m != self.known {
                        self.known = m.clone();
                        if !self.send(News::Members(m)) {
                            return Ok(());
                        }
                    }
                }
                // Demoted, or left the swarm: the last members stay, as for an outage.
                Err(Problem::NotManager(why) | Problem::Engine(why)) => return Err(why),
            }
            match events.next_line() {
                Ok(Some(_)) => {}
                Ok(None) => return Err("the engine ended its event stream".into()),
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(format!("reading the engine's events: {e}")),
            }
        }
    }

    /// Hand `news` to the loop; false once the loop is gone.
    fn send(&mut self, news: News) -> bool {
        if self.tx.send(news).is_err() {
            return false;
        }
        // Full means a wake-up is already pending.
        !matches!(self.ping.write(&[1]), Err(e) if e.kind() != io::ErrorKind::WouldBlock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    /// An engine that answers /info, /nodes (the current list) and /events (a line each
    /// time `events` moves), until `stop`.
    struct FakeEngine {
        nodes: Arc<Mutex<serde_json::Value>>,
        events: Arc<AtomicU32>,
        stop: Arc<AtomicBool>,
    }

    impl FakeEngine {
        fn start(path: &std::path::Path, nodes: serde_json::Value) -> FakeEngine {
            let l = UnixListener::bind(path).unwrap();
            l.set_nonblocking(true).unwrap();
            let e = FakeEngine {
                nodes: Arc::new(Mutex::new(nodes)),
                events: Arc::new(AtomicU32::new(0)),
                stop: Arc::new(AtomicBool::new(false)),
            };
            let (nodes, events, stop) = (e.nodes.clone(), e.events.clone(), e.stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok((mut s, _)) = l.accept() else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    let (nodes, events, stop) = (nodes.clone(), events.clone(), stop.clone());
                    std::thread::spawn(move || {
                        s.set_nonblocking(false).unwrap();
                        let mut req = [0u8; 1024];
                        let n = s.read(&mut req).unwrap_or(0);
                        let line = String::from_utf8_lossy(&req[..n]).lines().next().unwrap_or_default().to_string();
                        let body = if line.starts_with("GET /info ") {
                            r#"{"Swarm":{"NodeID":"a","LocalNodeState":"active","ControlAvailable":true}}"#.to_string()
                        } else if line.starts_with("GET /nodes ") {
                            nodes.lock().unwrap().to_string()
                        } else {
                            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
                            let mut seen = events.load(Ordering::SeqCst);
                            while !stop.load(Ordering::SeqCst) {
                                let now = events.load(Ordering::SeqCst);
                                if now != seen && s.write_all(b"{\"Type\":\"node\"}\n").is_err() {
                                    return;
                                }
                                seen = now;
                                std::thread::sleep(Duration::from_millis(10));
                            }
                            return;
                        };
                        let _ = s.write_all(format!("HTTP/1.0 200 OK\r\n\r\n{body}").as_bytes());
                    });
                }
            });
            e
        }
    }

    fn nodes(addrs: &[&str]) -> serde_json::Value {
        let list: Vec<serde_json::Value> = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let id = ["a", "b", "c"][i];
                serde_json::json!({"ID": id, "CreatedAt": format!("2026-12-06T00:00:0{i}Z"),
                    "Spec": {"Role": "manager", "Availability": "active"},
                    "Description": {"Hostname": id}, "Status": {"Addr": a}})
            })
            .collect();
        serde_json::Value::Array(list)
    }

    /// News within `d` (polling the feed as the loop would).
    fn news(feed: &mut Feed, d: Duration) -> Vec<News> {
        let end = Instant::now() + d;
        let mut all = vec![];
        while Instant::now() < end {
            all.extend(feed.take());
            std::thread::sleep(Duration::from_millis(20));
        }
        all
    }

    #[test]
    fn an_outage_keeps_the_last_members_and_is_said_once_then_changes_flow_again() {
        let dir = std::env::temp_dir().join(format!("keepvip-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("docker.sock");
        let two = nodes(&["198.18.0.1", "198.18.0.2"]);
        let known = super::nodes::members("a".into(), &two).unwrap();
        // No engine yet: said once, however many retries.
        let mut feed = spawn(Endpoint::Unix(path.clone()), known.clone()).unwrap();
        let n = news(&mut feed, Duration::from_millis(3500));
        assert!(matches!(n.as_slice(), [News::Lost(why)] if why.contains("GET /events")), "{n:?}");
        // It answers, with the same members: back, and nothing else to apply.
        let engine = FakeEngine::start(&path, two);
        let n = news(&mut feed, Duration::from_secs(5));
        assert_eq!(n, vec![News::Back]);
        // A node joins: the event brings the new list at once.
        *engine.nodes.lock().unwrap() = nodes(&["198.18.0.1", "198.18.0.2", "198.18.0.3"]);
        engine.events.fetch_add(1, Ordering::SeqCst);
        let n = news(&mut feed, Duration::from_millis(500));
        assert!(matches!(n.as_slice(), [News::Members(m)] if m.nodes.len() == 3), "{n:?}");
        // The engine goes away: said once again.
        engine.stop.store(true, Ordering::SeqCst);
        std::fs::remove_file(&path).unwrap();
        let n = news(&mut feed, Duration::from_secs(3));
        assert!(matches!(n.as_slice(), [News::Lost(_)]), "{n:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
