//! Every catchable signal that would kill the process by default is caught here, so none
//! can end keepvip without its cleanup (when it is not PID 1 the kernel's defaults apply:
//! `docker run --init`, systemd, shared PID namespaces).

use std::io::Read;
use std::os::fd::IntoRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use nix::libc;

/// What the loop does with a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Meaning {
    /// TERM, INT, QUIT: hand over and stop.
    Shutdown,
    /// HUP: keepalived reloads its configuration.
    Reload,
    /// USR1: keepalived dumps its state; we log the status.
    Status,
    /// USR2: keepalived's statistics.
    Stats,
    /// RTMIN+2: keepalived's SIGJSON writes its state as JSON; we write the state file
    /// (`keepvip --status` asks for current counters so).
    WriteState,
    /// CHLD: a notify script ended.
    Child,
    /// PIPE: a closed pipe is an error return, not a reason to die.
    Ignore,
    /// Anything else whose default is to terminate: logged and ignored.
    Unexpected,
}

pub(super) fn meaning(sig: i32) -> Meaning {
    match sig {
        libc::SIGTERM | libc::SIGINT | libc::SIGQUIT => Meaning::Shutdown,
        libc::SIGHUP => Meaning::Reload,
        libc::SIGUSR1 => Meaning::Status,
        libc::SIGUSR2 => Meaning::Stats,
        libc::SIGCHLD => Meaning::Child,
        libc::SIGPIPE => Meaning::Ignore,
        s if s == crate::observe::status::write_signal() => Meaning::WriteState,
        _ => Meaning::Unexpected,
    }
}

/// Signals whose default action ends the process, plus CHLD. Not the ones the kernel raises
/// for our own faults (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS): catching those would hide a bug.
fn caught() -> Vec<i32> {
    let mut v = vec![
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGCHLD,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGSTKFLT,
        libc::SIGXCPU,
        libc::SIGXFSZ,
    ];
    v.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    v
}

/// Signal name for logs (`SIGHUP`, `SIGRTMIN+3`).
pub fn name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => format!("SIGRTMIN+{}", sig - libc::SIGRTMIN()),
    }
}

/// Handlers only set a flag and write a byte to a pipe the loop polls: one pipe for every
/// signal (a clone of its write end per signal was most of the daemon's descriptors).
pub struct Signals {
    pub pipe: UnixStream,
    flags: Vec<(i32, Arc<AtomicBool>)>,
}

impl Signals {
    pub fn install() -> Result<Self> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        // The handlers stay installed for the life of the process, so their write end does
        // too: never closed, its number is never reused under them.
        let write = write.into_raw_fd();
        let mut flags = vec![];
        for sig in caught() {
            let flag = Arc::new(AtomicBool::new(false));
            let installed = signal_hook::flag::register(sig, Arc::clone(&flag))
                .and_then(|_| signal_hook::low_level::pipe::register_raw(sig, write));
            match installed {
                Ok(_) => flags.push((sig, flag)),
                // A sandbox may keep a real-time signal for itself (valgrind takes the last
                // ones): nobody can then send it to us, and none of those has a meaning.
                Err(e) if meaning(sig) == Meaning::Unexpected => {
                    log::debug!("{}: no handler ({e}); it cannot reach keepvip here", name(sig))
                }
                Err(e) => return Err(e).with_context(|| format!("installing the {} handler", name(sig))),
            }
        }
        Ok(Signals { pipe: read, flags })
    }

    /// Signals that arrived since the last call, in signal-number order.
    pub fn take(&mut self) -> Vec<i32> {
        let mut buf = [0u8; 64];
        while matches!(self.pipe.read(&mut buf), Ok(n) if n > 0) {}
        self.flags.iter().filter(|(_, f)| f.swap(false, Ordering::SeqCst)).map(|(s, _)| *s).collect()
    }
}

/// As PID 1 of a container, keepvip inherits every orphan (a script's background child, a
/// killed script's children): reap the zombies that are not its own children, which their
/// owners (notify, checks) reap themselves. Call after those have.
pub fn reap_orphans(own: &[u32]) {
    use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
    if std::process::id() != 1 {
        return; // orphans go to the real init
    }
    loop {
        let peek = waitid(Id::All, WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT);
        let pid = match peek {
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(st) => match st.pid() {
                Some(p) => p,
                None => return,
            },
        };
        if own.contains(&(pid.as_raw() as u32)) {
            return; // ours, exited just now: its owner reaps it on the next turn
        }
        let _ = waitpid(pid, Some(WaitPidFlag::WNOHANG));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_terminating_signal_has_a_meaning() {
        assert_eq!(meaning(libc::SIGQUIT), Meaning::Shutdown);
        assert_eq!(meaning(libc::SIGHUP), Meaning::Reload);
        assert_eq!(meaning(libc::SIGUSR2), Meaning::Stats);
        assert_eq!(meaning(libc::SIGPIPE), Meaning::Ignore);
        assert_eq!(meaning(libc::SIGRTMIN() + 3), Meaning::Unexpected);
        assert_eq!(meaning(libc::SIGRTMIN() + 2), Meaning::WriteState);
        assert_eq!(name(libc::SIGRTMIN() + 3), "SIGRTMIN+3");
        assert_eq!(name(libc::SIGHUP), "SIGHUP");
        let c = caught();
        for s in [libc::SIGSEGV, libc::SIGKILL, libc::SIGSTOP, libc::SIGABRT] {
            assert!(!c.contains(&s), "{s} must keep its default");
        }
    }
}
