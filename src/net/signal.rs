//! Signals to another process by number: nix's `Signal` has no real-time signals.

/// Send signal `sig` to `pid`.
pub fn send(pid: i32, sig: i32) -> std::io::Result<()> {
    // SAFETY: kill(2) reads no memory of ours; a bad pid or signal is an error return.
    let r = unsafe { nix::libc::kill(pid, sig) };
    nix::errno::Errno::result(r).map(drop).map_err(std::io::Error::from)
}
