//! The capabilities keepvip needs, checked up front so a container started without them
//! says which `--cap-add` is missing instead of failing later on a socket call.
//! NET_BROADCAST is not among them: nothing keepvip does checks it (the osixia recipe adds
//! it; keeping it is harmless).

/// (capability bit, name, what needs it)
const NEEDED: [(u32, &str, &str); 2] =
    [(12, "NET_ADMIN", "add and remove VIPs (netlink)"), (13, "NET_RAW", "VRRP and gratuitous ARP sockets")];

/// Missing capabilities as `(name, why)`, from `/proc/self/status`'s `CapEff` line.
pub fn missing_from(status: &str) -> Vec<(&'static str, &'static str)> {
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        // Unreadable: assume all present and let the socket calls report.
        .unwrap_or(u64::MAX);
    NEEDED.iter().filter(|(bit, _, _)| eff & (1 << bit) == 0).map(|(_, n, why)| (*n, *why)).collect()
}

/// An error naming every missing capability and the flag that adds it, or `None`.
pub fn check() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let missing = missing_from(&status);
    if missing.is_empty() {
        return None;
    }
    let what: Vec<String> = missing.iter().map(|(n, why)| format!("{n} (to {why})")).collect();
    let flags: Vec<String> = missing.iter().map(|(n, _)| format!("--cap-add={n}")).collect();
    Some(format!("missing capabilities: {}; run the container with {}", what.join(", "), flags.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cap_eff() {
        // docker's default set: no NET_ADMIN, has NET_RAW.
        assert_eq!(
            missing_from("CapInh:\t0\nCapEff:\t00000000a80425fb\n"),
            [("NET_ADMIN", "add and remove VIPs (netlink)")]
        );
        assert!(missing_from("CapEff:\t000001ffffffffff\n").is_empty());
        assert_eq!(missing_from("CapEff:\t0000000000000000\n").len(), 2);
        assert!(missing_from("garbage").is_empty());
    }
}
