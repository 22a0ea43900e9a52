//! link/wake.ld lays out the functions of an idle backup's wake together (build.rs hands it
//! to the linker). Its patterns leave out the hash in each name so that they survive
//! rebuilds; the price is that a renamed or removed function would fall out of the layout
//! without an error. The binary's symbols say what the linker placed there.

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

/// The functions the binary under test has in section `section`, by their symbols (the
/// debug build keeps them): `readelf` gives the section's number, then each symbol's.
fn placed(bin: &str, section: &str) -> Vec<String> {
    let readelf = |flag: &str| {
        let o = std::process::Command::new("readelf").args([flag, "-W", bin]).output().expect("readelf (binutils)");
        assert!(o.status.success(), "readelf {flag} {bin}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // "  [16] .text.wake  PROGBITS ..."
    let headers = readelf("-S");
    let Some(number) = headers.lines().find_map(|l| {
        let (nr, rest) = l.trim_start().strip_prefix('[')?.split_once(']')?;
        (rest.split_whitespace().next() == Some(section)).then(|| nr.trim().to_string())
    }) else {
        return vec![];
    };
    // "  266: 00000000001843c0  23 FUNC  LOCAL  DEFAULT  16 _ZN..."
    readelf("-s")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 8 && f[3] == "FUNC" && f[6] == number).then(|| f[7].to_string())
        })
        .collect()
}

#[test]
fn every_pattern_of_our_code_in_the_wake_layout_names_a_function() {
    let script = include_str!("../../link/wake.ld");
    let bin = env!("CARGO_BIN_EXE_keepvip");
    let functions = placed(bin, ".text.wake");
    assert!(!functions.is_empty(), "{bin}: no function in .text.wake: the linker did not get link/wake.ld");
    // Our crate's names and nix's (locked) are ours to keep in step; std's may change with
    // the toolchain, which costs only some layout.
    let ours: Vec<&str> =
        patterns(script).into_iter().filter(|p| p.starts_with("_ZN7keepvip") || p.starts_with("_ZN3nix")).collect();
    assert!(ours.len() >= 15, "{ours:?}");
    let lost: Vec<&&str> = ours.iter().filter(|p| !functions.iter().any(|f| glob(p, f))).collect();
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
