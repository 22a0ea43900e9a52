//! An epoll instance whose wait takes nanoseconds: the loop's long-lived sources stay
//! registered across waits (`ppoll` set up a wait queue on every descriptor at every wake,
//! most of an idle backup's cost), and the deadline keeps `ppoll`'s precision.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::libc;
use nix::sys::epoll::{Epoll as NixEpoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

/// No `epoll_pwait2`: a kernel before Linux 5.11 (ENOSYS), or a seccomp profile that does
/// not know it (Docker's older default answers EPERM). Waits fall back to milliseconds.
static NO_PWAIT2: AtomicBool = AtomicBool::new(false);

pub struct Epoll {
    ep: NixEpoll,
    events: Vec<EpollEvent>,
}

impl Epoll {
    pub fn new() -> nix::Result<Self> {
        let ep = NixEpoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        Ok(Epoll { ep, events: vec![EpollEvent::empty(); 16] })
    }

    /// Watch `fd` (readable, or writable with `write`) under `key`, level-triggered as poll;
    /// one already watched takes the new key.
    pub fn add(&self, fd: BorrowedFd<'_>, write: bool, key: u64) -> nix::Result<()> {
        let flags = if write { EpollFlags::EPOLLOUT } else { EpollFlags::EPOLLIN };
        match self.ep.add(fd, EpollEvent::new(flags, key)) {
            Err(Errno::EEXIST) => self.ep.modify(fd, &mut EpollEvent::new(flags, key)),
            r => r,
        }
    }

    /// Wait up to `timeout` (0: only look); the keys of the ready descriptors. A signal that
    /// interrupts the wait is no error (the signal pipe is then ready).
    pub fn wait(&mut self, timeout: Duration, ready: &mut Vec<u64>) -> nix::Result<()> {
        let n = match self.pwait2(timeout) {
            // Our arguments are valid: any other refusal is the call itself being refused.
            Err(e) if e != Errno::EINTR && !NO_PWAIT2.load(Ordering::Relaxed) => {
                log::debug!("epoll_pwait2: {e}; waiting with epoll_wait");
                NO_PWAIT2.store(true, Ordering::Relaxed);
                self.wait_ms(timeout)
            }
            r => r,
        };
        let n = match n {
            Ok(n) => n,
            Err(Errno::EINTR) => 0,
            Err(e) => return Err(e),
        };
        ready.extend(self.events[..n].iter().map(EpollEvent::data));
        Ok(())
    }

    fn pwait2(&mut self, timeout: Duration) -> nix::Result<usize> {
        if NO_PWAIT2.load(Ordering::Relaxed) {
            return self.wait_ms(timeout);
        }
        let ts = libc::timespec { tv_sec: timeout.as_secs() as libc::time_t, tv_nsec: timeout.subsec_nanos() as _ };
        // SAFETY: the events buffer outlives the call and its length is passed; a null
        // sigmask leaves the signal mask alone (the size is then unused).
        let r = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                self.ep.0.as_raw_fd(),
                self.events.as_mut_ptr().cast::<libc::epoll_event>(),
                self.events.len() as libc::c_int,
                &ts as *const libc::timespec,
                std::ptr::null::<libc::sigset_t>(),
                0usize,
            )
        };
        Errno::result(r).map(|n| n as usize)
    }

    /// Milliseconds rounded up, never early: an early wake would find nothing due and spin.
    fn wait_ms(&mut self, timeout: Duration) -> nix::Result<usize> {
        let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
        let t = EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::NONE);
        self.ep.wait(&mut self.events, t)
    }
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ep.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    #[test]
    fn ready_descriptors_come_back_by_key_and_stay_registered() {
        let (a, b) = UnixStream::pair().unwrap();
        let (c, _d) = UnixStream::pair().unwrap();
        let mut ep = Epoll::new().unwrap();
        ep.add(a.as_fd(), false, 7).unwrap();
        ep.add(c.as_fd(), false, 9).unwrap();
        (&b).write_all(b"x").unwrap();
        let mut ready = vec![];
        ep.wait(Duration::from_secs(1), &mut ready).unwrap();
        assert_eq!(ready, [7]);
        // Level-triggered as poll: still readable, still reported, without adding it again.
        ready.clear();
        ep.wait(Duration::ZERO, &mut ready).unwrap();
        assert_eq!(ready, [7]);
    }

    #[test]
    fn a_wait_lasts_its_timeout_to_the_sub_millisecond() {
        let (a, _b) = UnixStream::pair().unwrap();
        let mut ep = Epoll::new().unwrap();
        ep.add(a.as_fd(), false, 1).unwrap();
        let t = Instant::now();
        let mut ready = vec![];
        ep.wait(Duration::from_micros(2500), &mut ready).unwrap();
        assert!(ready.is_empty());
        assert!(t.elapsed() >= Duration::from_micros(2500), "{:?}", t.elapsed());
    }
}
