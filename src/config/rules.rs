//! Rules both sources apply (the variables and keepalived.conf): seconds as keepalived
//! reads them, what can be a unicast peer, and when a VIP is really one of the host's own
//! addresses.

use std::net::IpAddr;

use super::{HostView, Vip};

/// Decimal seconds to centiseconds, exactly (no float rounding surprises).
pub fn centis(v: &str) -> Option<u32> {
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 2 {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) || whole.len() > 6 {
        return None;
    }
    let w: u32 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let f: u32 = format!("{frac:0<2}").parse().ok()?;
    Some(w * 100 + f)
}

/// Why `ip` cannot be a unicast peer, if it cannot.
pub fn not_a_peer(ip: IpAddr, host: &HostView) -> Option<String> {
    if ip.is_unspecified() {
        return Some("is the unspecified address".into());
    }
    if ip.is_multicast() {
        return Some("is a multicast address".into());
    }
    if ip.is_loopback() {
        return Some("is a loopback address".into());
    }
    let IpAddr::V4(v4) = ip else { return None };
    if v4.is_broadcast() {
        return Some("is the broadcast address".into());
    }
    // The directed broadcast of a subnet this host is on.
    for (i, a) in host.interfaces.iter().flat_map(|i| i.addrs.iter().map(move |a| (i, a))) {
        if let IpAddr::V4(mine) = a.addr {
            if a.prefix < 31 {
                let mask = u32::MAX << (32 - u32::from(a.prefix));
                if u32::from(mine) & mask == u32::from(v4) & mask && u32::from(v4) | mask == u32::MAX {
                    return Some(format!("is the broadcast address of {}/{} on {}", mine, a.prefix, i.name));
                }
            }
        }
    }
    None
}

/// Why VIP `v` is one of this host's own addresses rather than a VIP left by a crash: the
/// host has the address with another prefix, or it is the advert interface's primary
/// address (keepvip adds VIPs after it, so a stale one is never first). Same address and
/// prefix elsewhere is a stale VIP: removed at start.
pub fn host_owns_vip(host: &HostView, v: &Vip, interface: &str) -> Option<String> {
    for i in &host.interfaces {
        for a in i.addrs.iter().filter(|a| a.addr == v.addr) {
            if a.prefix != v.prefix {
                return Some(format!("this host has {}/{} on {}", a.addr, a.prefix, i.name));
            }
            // IPv6 has no primary address (the kernel lists the newest first): an exact copy
            // there is a VIP left behind, like a secondary IPv4 one.
            let primary = i.addrs.iter().find(|o| o.addr.is_ipv4()).filter(|_| a.addr.is_ipv4());
            if i.name == interface && primary == Some(a) {
                return Some(format!("{}/{} is the primary address of {}", a.addr, a.prefix, i.name));
            }
        }
    }
    None
}
