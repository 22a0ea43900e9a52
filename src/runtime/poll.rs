//! One wait for everything the loop listens to. Each descriptor goes in with a [`Token`]
//! saying whose it is (mio's idea over `ppoll`), and readiness comes back by token, never
//! by position in the set.

use std::os::fd::BorrowedFd;
use std::time::Duration;

use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::time::TimeSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
    /// The VRRP socket at this index of the shared list.
    Socket(usize),
    Netlink,
    Signals,
    /// The ARP and ND watches of resuming instances.
    Neighbours,
    /// The metrics listener and its connections, and probes in flight: they only wake the
    /// loop, which then does what can be done without blocking.
    Wake,
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
}

impl<'a> PollSet<'a> {
    /// Wait for `fd` to be readable (or writable).
    pub fn add(&mut self, fd: BorrowedFd<'a>, write: bool, token: Token) {
        self.fds.push(PollFd::new(fd, if write { PollFlags::POLLOUT } else { PollFlags::POLLIN }));
        self.tokens.push(token);
    }

    /// Wait up to `wait` (with ppoll's nanoseconds: poll's milliseconds, rounded up so as
    /// never to wake early and spin, made every advert up to 1 ms late). A signal that
    /// interrupts the wait is not an error: the signal pipe is ready.
    pub fn wait(mut self, wait: Duration) -> nix::Result<Ready> {
        match ppoll(&mut self.fds, Some(TimeSpec::from_duration(wait)), None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        let mut ready = Ready::default();
        for (fd, token) in self.fds.iter().zip(&self.tokens) {
            if fd.revents().is_none_or(|r| r.is_empty()) {
                continue;
            }
            match *token {
                Token::Socket(i) => ready.sockets.push(i),
                Token::Netlink => ready.netlink = true,
                Token::Signals => ready.signals = true,
                Token::Neighbours => ready.neighbours = true,
                Token::Wake => {}
            }
        }
        Ok(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;
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
        assert_eq!(ready, Ready { sockets: vec![7], netlink: false, signals: false, neighbours: true });
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
