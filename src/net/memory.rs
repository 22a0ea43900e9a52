//! What of the process stays resident: the C heap's free pages, and the binary's code.

/// After a large transient allocation (the state of many instances): otherwise the heap
/// keeps those pages resident until it grows again.
pub fn trim_heap() {
    // SAFETY: malloc_trim only releases free memory; no pointer is invalidated.
    unsafe { nix::libc::malloc_trim(0) };
}

/// The binary's read-only mappings (its code, and the read-only segment at offset 0:
/// headers, constants, unwind tables), found once in `/proc/self/maps`.
pub struct CodePages(Vec<(usize, usize)>);

impl CodePages {
    pub fn find() -> Self {
        let (Ok(exe), Ok(maps)) = (std::fs::read_link("/proc/self/exe"), std::fs::read_to_string("/proc/self/maps"))
        else {
            return CodePages(vec![]);
        };
        let exe = exe.to_string_lossy();
        CodePages(maps.lines().filter_map(|l| read_only_code(l, &exe)).collect())
    }

    /// Drop their page-table entries, which start-up filled with nearly the whole file (the
    /// kernel maps 64 KiB around each fault). The pages stay in the page cache: whatever the
    /// loop runs comes back on a minor fault, the start-up code (configuration, env files,
    /// YAML) and a transition's code do not until they run again. Called after start and
    /// after each transition's announcements: one madvise per mapping.
    /// Measured as master: 1896 → about 1390 KiB resident in steady state.
    /// Writable mappings and the RELRO segment (written at start) are never touched; so the
    /// file's own content is what comes back, which holds while the binary is not rewritten in
    /// place (images and `cargo` replace files, never edit them).
    pub fn drop(&self) {
        for &(start, end) in &self.0 {
            // SAFETY: an unwritten private mapping of our own file: MADV_DONTNEED only drops
            // its page-table entries, and the next access maps the same file content again.
            unsafe { nix::libc::madvise(start as *mut nix::libc::c_void, end - start, nix::libc::MADV_DONTNEED) };
        }
    }
}

/// The address range of a `/proc/self/maps` line when it maps `exe` executable, or
/// read-only from offset 0.
fn read_only_code(line: &str, exe: &str) -> Option<(usize, usize)> {
    let mut f = line.split_whitespace();
    let (range, perms, offset) = (f.next()?, f.next()?, f.next()?);
    let path = f.nth(2)?;
    let wanted =
        path == exe && !perms.contains('w') && (perms.contains('x') || offset.trim_start_matches('0').is_empty());
    let (a, b) = range.split_once('-')?;
    wanted.then_some((usize::from_str_radix(a, 16).ok()?, usize::from_str_radix(b, 16).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_binarys_unwritten_mappings_are_dropped() {
        let exe = "/keepvip";
        let maps = "\
00400000-0047e000 r--p 00000000 00:2a 123 /keepvip
0047e000-005d4000 r-xp 0007d000 00:2a 123 /keepvip
005d5000-005e2000 r--p 001d3000 00:2a 123 /keepvip
005e2000-005e5000 rw-p 001e0000 00:2a 123 /keepvip
01000000-01022000 rw-p 00000000 00:00 0 [heap]
7ffd0000-7ffd1000 r-xp 00000000 00:00 0 [vdso]";
        let found: Vec<_> = maps.lines().filter_map(|l| read_only_code(l, exe)).collect();
        assert_eq!(found, [(0x400000, 0x47e000), (0x47e000, 0x5d4000)], "not RELRO (r--p at an offset), not rw");
    }
}
