//! One wait for everything the loop listens to. Each descriptor goes in with a [`Token`]
//! saying whose it is (mio's idea), and readiness comes back by token, never by position.
//! The long-lived sources (VRRP sockets, netlink, the signal pipe) stay registered in an
//! epoll set across waits; the short-lived ones (neighbour watches, metrics connections,
//! checks in flight) are polled beside it only while there are any.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::time::TimeSpec;

use crate::net::epoll::Epoll;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
    /// The VRRP socket at this index of the shared list.
    Socket(usize),
    Netlink,
    Signals,
    /// The swarm membership thread has news (`swarm::watch`).
    Swarm,
    /// The ARP and ND watches of resuming instances.
    Neighbours,
    /// The metrics listener and its connections, and probes in flight: they only wake the
    /// loop, which then does what can be done without blocking.
    Wake,
    /// The epoll set of the long-lived sources, polled beside the short-lived ones.
    Registered,
}

/// A long-lived source: its descriptor, an id that tells a re-opened socket from the one
/// whose number it reuses, and whose it is.
pub(super) type Source<'a> = (BorrowedFd<'a>, u64, Token);

pub(super) struct Poller {
    epoll: Epoll,
    /// The sources registered, by epoll key (their index here). A closed descriptor leaves
    /// epoll by itself and its number can come back for another socket: any difference from
    /// what the loop listens to rebuilds the set.
    registered: Vec<(RawFd, u64, Token)>,
    /// Keys carry the registration's generation: an event under an older one comes from a
    /// descriptor that left the set still open, and the set is then made afresh.
    generation: u64,
    stale: bool,
    keys: Vec<u64>,
    /// The last wait's ready sockets, handed back to be reused: no allocation per wake.
    spare: Vec<usize>,
}

#[derive(Default)]
pub(super) struct PollSet<'a> {
    fds: Vec<PollFd<'a>>,
    tokens: Vec<Token>,
}

/// What became ready.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Ready {
    pub sockets: Vec<usize>,
    pub netlink: bool,
    pub signals: bool,
    pub neighbours: bool,
    pub swarm: bool,
    /// A short-lived source (a metrics connection, a check in flight).
    pub brief: bool,
}

impl Ready {
    /// Only VRRP sockets spoke.
    pub fn only_sockets(&self) -> bool {
        !(self.netlink || self.signals || self.neighbours || self.swarm || self.brief)
    }

    fn mark(&mut self, token: Token) {
        match token {
            Token::Socket(i) => self.sockets.push(i),
            Token::Netlink => self.netlink = true,
            Token::Signals => self.signals = true,
            Token::Neighbours => self.neighbours = true,
            Token::Swarm => self.swarm = true,
            Token::Wake => self.brief = true,
            Token::Registered => {}
        }
    }
}

impl Poller {
    pub fn new() -> nix::Result<Self> {
        Ok(Poller {
            epoll: Epoll::new()?,
            registered: vec![],
            generation: 0,
            stale: false,
            keys: vec![],
            spare: vec![],
        })
    }

    /// Wait up to `wait` for a long-lived source (`fixed()` lists them) or a short-lived
    /// one (`brief`). The list is made twice at most (compared, then registered) rather than
    /// cloned: cloning the chain of iterators cost more than the comparison it served.
    pub fn wait<'a, I: Iterator<Item = Source<'a>>>(
        &mut self,
        fixed: impl Fn() -> I,
        brief: PollSet<'a>,
        wait: Duration,
    ) -> nix::Result<Ready> {
        let mut ready = Ready { sockets: std::mem::take(&mut self.spare), ..Ready::default() };
        if let Err(e) = self.register(&fixed) {
            // Out of descriptors, say: this wait polls everything, and the next tries again
            // (an error here must not end the loop).
            log::debug!("epoll: {e}; polling this once");
            self.registered.clear();
            let mut all = brief;
            for (fd, _, token) in fixed() {
                all.add(fd, false, token);
            }
            all.wait_into(wait, &mut ready)?;
            return Ok(ready);
        }
        let look = if brief.fds.is_empty() {
            wait
        } else {
            let mut brief = brief;
            brief.add(self.epoll.as_fd(), false, Token::Registered);
            let registered = brief.wait_into(wait, &mut ready)?;
            if !registered {
                return Ok(ready);
            }
            Duration::ZERO
        };
        self.keys.clear();
        self.epoll.wait(look, &mut self.keys)?;
        for k in &self.keys {
            match self.registered.get((*k & u64::from(u32::MAX)) as usize) {
                Some((_, _, token)) if *k >> 32 == self.generation => ready.mark(*token),
                _ => self.stale = true,
            }
        }
        Ok(ready)
    }

    /// A ready set whose sockets were served: its list is the next wait's.
    pub fn recycle(&mut self, mut sockets: Vec<usize>) {
        sockets.clear();
        self.spare = sockets;
    }

    /// The set as `fixed` has it: untouched when nothing changed (every idle wake).
    fn register<'a, I: Iterator<Item = Source<'a>>>(&mut self, fixed: &impl Fn() -> I) -> nix::Result<()> {
        let mut known = self.registered.iter();
        let same = fixed().all(|(fd, id, t)| known.next() == Some(&(fd.as_raw_fd(), id, t))) && known.next().is_none();
        if same && !self.stale {
            return Ok(());
        }
        self.registered.clear();
        // A closed descriptor has left the set by itself; the others take their new keys.
        // Only a leftover still open needs a new set (and one more descriptor for a moment).
        if std::mem::take(&mut self.stale) {
            self.epoll = Epoll::new()?;
        }
        self.generation = (self.generation + 1) & u64::from(u32::MAX);
        for (i, (fd, id, token)) in fixed().enumerate() {
            self.epoll.add(fd, false, self.generation << 32 | i as u64)?;
            self.registered.push((fd.as_raw_fd(), id, token));
        }
        Ok(())
    }
}

impl<'a> PollSet<'a> {
    /// Wait for `fd` to be readable (or writable).
    pub fn add(&mut self, fd: BorrowedFd<'a>, write: bool, token: Token) {
        self.fds.push(PollFd::new(fd, if write { PollFlags::POLLOUT } else { PollFlags::POLLIN }));
        self.tokens.push(token);
    }

    #[cfg(test)]
    pub fn wait(mut self, wait: Duration) -> nix::Result<Ready> {
        let mut ready = Ready::default();
        self.wait_into(wait, &mut ready)?;
        Ok(ready)
    }

    /// Wait up to `wait` (ppoll's nanoseconds: poll's milliseconds, rounded up so as never
    /// to wake early and spin, made every advert up to 1 ms late) and mark what is ready;
    /// true if the [`Token::Registered`] set is. A signal that interrupts the wait is not an
    /// error: the signal pipe is ready.
    fn wait_into(&mut self, wait: Duration, ready: &mut Ready) -> nix::Result<bool> {
        match ppoll(&mut self.fds, Some(TimeSpec::from_duration(wait)), None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        let mut registered = false;
        for (fd, token) in self.fds.iter().zip(&self.tokens) {
            if fd.revents().is_none_or(|r| r.is_empty()) {
                continue;
            }
            registered |= *token == Token::Registered;
            ready.mark(*token);
        }
        Ok(registered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn readiness_comes_back_by_token_whatever_the_order() {
        let pairs: Vec<(UnixStream, UnixStream)> = (0..5).map(|_| UnixStream::pair().unwrap()).collect();
        (&pairs[1].1).write_all(b"x").unwrap();
        (&pairs[3].1).write_all(b"x").unwrap();
        (&pairs[4].1).write_all(b"x").unwrap();
        let mut set = PollSet::default();
        set.add(pairs[0].0.as_fd(), false, Token::Socket(0));
        set.add(pairs[1].0.as_fd(), false, Token::Socket(7));
        set.add(pairs[2].0.as_fd(), false, Token::Netlink);
        set.add(pairs[3].0.as_fd(), false, Token::Neighbours);
        set.add(pairs[4].0.as_fd(), false, Token::Wake);
        let ready = set.wait(Duration::from_secs(1)).unwrap();
        assert_eq!(ready, Ready { sockets: vec![7], neighbours: true, brief: true, ..Ready::default() });
        assert!(!ready.only_sockets());
        let ready = Ready { sockets: vec![7], ..Ready::default() };
        assert!(ready.only_sockets());
    }

    #[test]
    fn registered_and_brief_sources_come_back_by_token() {
        let fixed: Vec<(UnixStream, UnixStream)> = (0..2).map(|_| UnixStream::pair().unwrap()).collect();
        let (brief, brief_peer) = UnixStream::pair().unwrap();
        let mut poller = Poller::new().unwrap();
        let sources = || fixed.iter().enumerate().map(|(i, p)| (p.0.as_fd(), i as u64, Token::Socket(i)));
        (&fixed[1].1).write_all(b"x").unwrap();
        let ready = poller.wait(sources, PollSet::default(), Duration::from_secs(1)).unwrap();
        assert_eq!(ready.sockets, [1]);
        // With a short-lived descriptor beside them: both kinds reported.
        (&brief_peer).write_all(b"x").unwrap();
        let mut set = PollSet::default();
        set.add(brief.as_fd(), false, Token::Neighbours);
        let ready = poller.wait(sources, set, Duration::from_secs(1)).unwrap();
        assert_eq!(ready, Ready { sockets: vec![1], neighbours: true, ..Ready::default() });
    }

    #[test]
    fn a_socket_reopened_on_the_same_number_is_registered_again() {
        let mut poller = Poller::new().unwrap();
        let (mut a, a_peer) = UnixStream::pair().unwrap();
        let mut peers = vec![a_peer];
        // Other tests open descriptors in parallel: try until the number comes back.
        for id in 1..50u64 {
            let ready =
                poller.wait(|| [(a.as_fd(), id, Token::Socket(0))].into_iter(), PollSet::default(), Duration::ZERO);
            assert_eq!(ready.unwrap(), Ready::default());
            // Closed: epoll forgets it. The next socket takes the number, with a new id.
            let number = a.as_fd().as_raw_fd();
            drop(a);
            let (b, b_peer) = UnixStream::pair().unwrap();
            if b.as_fd().as_raw_fd() == number {
                (&b_peer).write_all(b"x").unwrap();
                let b_id = || [(b.as_fd(), id + 100, Token::Socket(0))].into_iter();
                let ready = poller.wait(b_id, PollSet::default(), Duration::from_secs(1));
                assert_eq!(ready.unwrap().sockets, [0]);
                return;
            }
            a = b;
            peers.push(b_peer);
        }
        panic!("descriptor numbers never came back");
    }

    #[test]
    fn a_descriptor_that_left_the_set_open_is_never_reported() {
        let (a, _a_peer) = UnixStream::pair().unwrap();
        let (b, b_peer) = UnixStream::pair().unwrap();
        let mut poller = Poller::new().unwrap();
        let both = [(a.as_fd(), 1, Token::Socket(0)), (b.as_fd(), 2, Token::Socket(1))];
        assert_eq!(poller.wait(|| both.into_iter(), PollSet::default(), Duration::ZERO).unwrap(), Ready::default());
        // b leaves the set but stays open, and becomes readable.
        (&b_peer).write_all(b"x").unwrap();
        let only_a = || [(a.as_fd(), 1, Token::Socket(0))].into_iter();
        assert_eq!(poller.wait(only_a, PollSet::default(), Duration::ZERO).unwrap(), Ready::default());
        // The set is made afresh: b no longer wakes the loop.
        let t = std::time::Instant::now();
        assert_eq!(poller.wait(only_a, PollSet::default(), Duration::from_millis(50)).unwrap(), Ready::default());
        assert!(t.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn nothing_ready_returns_at_the_deadline() {
        let (a, _b) = UnixStream::pair().unwrap();
        let mut set = PollSet::default();
        set.add(a.as_fd(), false, Token::Signals);
        let t = std::time::Instant::now();
        assert_eq!(set.wait(Duration::from_millis(20)).unwrap(), Ready::default());
        assert!(t.elapsed() >= Duration::from_millis(20));
    }
}
