//! link/wake.ld lays out the functions of an idle backup's wake together (build.rs hands it
//! to the linker). Its patterns leave out the hash in each name so that they survive
//! rebuilds; the price is that a renamed or removed function would fall out of the layout
//! without an error. The map of the binary's link says what the linker placed there.

use std::fs;

/// The section-name patterns of the script's `.text.wake`, without the `.text.` prefix.
fn patterns(script: &str) -> Vec<&str> {
    script.lines().filter_map(|l| l.trim().strip_prefix("*(.text.")?.strip_suffix(')')).collect()
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// The input sections the linker put in the output section `out` (the map of rust-lld, the
/// x86_64 linker: columns VMA, LMA, size, alignment, then the output section, indented
/// further its input sections).
fn placed<'a>(map: &'a str, out: &str) -> Vec<&'a str> {
    let name_at = |l: &str| l.split_whitespace().nth(4).and_then(|n| l.find(n));
    let mut lines = map.lines().skip_while(|l| l.split_whitespace().nth(4) != Some(out));
    let Some(head) = lines.next() else { return vec![] };
    let level = name_at(head);
    lines.take_while(|l| name_at(l) != level).filter_map(|l| l.split(":(.text.").nth(1)?.strip_suffix(')')).collect()
}

#[test]
fn every_pattern_of_our_code_in_the_wake_layout_names_a_function() {
    let script = include_str!("../../link/wake.ld");
    let path = concat!(env!("OUT_DIR"), "/keepvip.map");
    let map = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e} (build.rs asks the linker for it)"));
    let sections = placed(&map, ".text.wake");
    assert!(!sections.is_empty(), "{path}: no .text.wake: the linker did not get link/wake.ld");
    // Our crate's names and nix's (locked) are ours to keep in step; std's may change with
    // the toolchain, which costs only some layout.
    let ours: Vec<&str> =
        patterns(script).into_iter().filter(|p| p.starts_with("_ZN7keepvip") || p.starts_with("_ZN3nix")).collect();
    assert!(ours.len() >= 15, "{ours:?}");
    let lost: Vec<&&str> = ours.iter().filter(|p| !sections.iter().any(|s| glob(p, s))).collect();
    assert!(lost.is_empty(), "link/wake.ld names functions the binary no longer has (renamed?): {lost:?}");
}

#[test]
fn the_glob_of_the_layout_check() {
    assert!(glob("_ZN7keepvip4vrrp6timers*", "_ZN7keepvip4vrrp6timers8earliest17h0123E"));
    assert!(glob("_ZN3a17h*", "_ZN3a17habcE"));
    assert!(glob("_RNv*_3std4time*7Instant*", "_RNvMNtCsjrH_3std4timeNtB2_7Instant3now"));
    assert!(!glob("_ZN3a17h*", "_ZN3b17habcE"));
    assert!(!glob("_RNv*x*y", "_RNvyx"));
    assert!(glob("exact", "exact") && !glob("exact", "exactly"));
}
