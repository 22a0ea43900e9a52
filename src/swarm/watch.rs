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
