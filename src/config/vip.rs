//! One `virtual_ipaddress` item in keepalived's syntax:
//! `<ip>[/<prefix>] [dev <ifname>] [label <label>]`.

use std::fmt;
use std::net::IpAddr;

/// A virtual IP as the user wrote it, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix: u8,
    /// Interface from the item's `dev`; `None` means the instance's interface.
    pub dev: Option<String>,
    pub label: Option<String>,
    /// From keepalived's `virtual_ipaddress_excluded`: managed, not advertised.
    pub excluded: bool,
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)?;
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(l) = &self.label {
            write!(f, " label {l}")?;
        }
        Ok(())
    }
}

/// Linux interface names are at most 15 bytes, no '/', ':' is only for labels.
pub fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err("expected an interface name of 1..15 characters".into());
    }
    if name.chars().any(|c| c == '/' || c.is_whitespace() || c == ':' || c.is_control()) {
        return Err("expected an interface name without '/', ':' or spaces".into());
    }
    Ok(())
}

pub fn parse(item: &str) -> Result<Vip, String> {
    let mut words = item.split_whitespace();
    let head = words.next().ok_or("expected an address, found nothing")?;
    let (ip_text, prefix_text) = match head.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (head, None),
    };
    let addr: IpAddr = ip_text.parse().map_err(|_| format!("'{ip_text}' is not an IPv4 or IPv6 address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix_text {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => return Err(format!("prefix '/{p}' of {addr}: expected 1..{max}")),
        },
    };
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
        return Err(format!("{addr} cannot be a virtual IP (unspecified, loopback or multicast)"));
    }
    let mut vip = Vip { addr, prefix, dev: None, label: None, excluded: false };
    while let Some(word) = words.next() {
        let mut value =
            |kw: &str| words.next().map(str::to_string).ok_or_else(|| format!("keyword '{kw}' needs a value"));
        match word {
            "dev" => {
                let d = value("dev")?;
                check_ifname(&d).map_err(|e| format!("dev '{d}': {e}"))?;
                vip.dev = Some(d);
            }
            "label" => vip.label = Some(value("label")?),
            other => {
                return Err(format!(
                    "unknown keyword '{other}' (keepvip supports '<ip>[/<prefix>] [dev <ifname>] [label <label>]')"
                ))
            }
        }
    }
    Ok(vip)
}

/// An item of keepalived.conf's `virtual_ipaddress` block, with every option keepalived
/// takes: `dev` and `label` as in [`parse`]; the rest accepted, and returned so the caller
/// can say they have no effect here.
pub fn parse_conf(words: &[String]) -> Result<(Vip, Vec<String>), String> {
    // Options with a value, and flags, that keepalived knows beyond dev and label.
    const WITH_VALUE: &[&str] = &["brd", "broadcast", "scope", "preferred_lft", "track_group"];
    const FLAGS: &[&str] = &["no_track", "home", "-nodad", "nodad", "noprefixroute", "autojoin"];
    let mut kept = vec![];
    let mut ignored = vec![];
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        if i > 0 && WITH_VALUE.contains(&w) {
            let v = words.get(i + 1).ok_or_else(|| format!("'{w}' needs a value"))?;
            // The default scope is what keepalived and the kernel use anyway.
            if !(w == "scope" && v == "global") {
                ignored.push(format!("{w} {v}"));
            }
            i += 2;
        } else if i > 0 && FLAGS.contains(&w) {
            if w != "no_track" {
                ignored.push(w.to_string());
            }
            i += 1;
        } else {
            kept.push(w);
            i += 1;
        }
    }
    let vip = parse(&kept.join(" ")).map_err(|e| {
        e.replace("(keepvip supports '<ip>[/<prefix>] [dev <ifname>] [label <label>]')", "(keepalived's virtual_ipaddress options: dev, label, brd, scope, preferred_lft, no_track, home, nodad, noprefixroute, autojoin)")
    })?;
    Ok((vip, ignored))
}

/// A label is an IPv4-only alias that the kernel requires to start with the device name.
pub fn check_label(vip: &Vip, dev: &str) -> Result<(), String> {
    let Some(label) = &vip.label else { return Ok(()) };
    if vip.addr.is_ipv6() {
        return Err(format!("label '{label}': labels exist only for IPv4 addresses"));
    }
    // keepalived and current kernels take any label; older kernels wanted the interface
    // name first (e.g. 'eth0:vip'), which is still the safe spelling.
    if label.len() > 15 || label.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("label '{label}': expected at most 15 characters without spaces (e.g. '{dev}:vip')"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let v = parse("192.168.4.3").unwrap();
        assert_eq!((v.addr.to_string(), v.prefix, v.dev, v.label), ("192.168.4.3".into(), 32, None, None));
        let v = parse("198.18.0.10/24 dev eth0 label eth0:vip").unwrap();
        assert_eq!(v.prefix, 24);
        assert_eq!(v.dev.as_deref(), Some("eth0"));
        assert_eq!(v.label.as_deref(), Some("eth0:vip"));
        assert_eq!(v.to_string(), "198.18.0.10/24 dev eth0 label eth0:vip");
        assert_eq!(parse("2001:db8::1").unwrap().prefix, 128);
        assert_eq!(parse("2001:db8::1/64").unwrap().prefix, 64);
    }

    #[test]
    fn rejections_name_the_problem() {
        let cases = [
            ("", "nothing"),
            ("192.168.4.300", "not an IPv4"),
            ("192.168.4.3/33", "expected 1..32"),
            ("192.168.4.3/0", "expected 1..32"),
            ("2001:db8::1/129", "expected 1..128"),
            ("192.168.4.3/x", "prefix"),
            ("192.168.4.3 brd 1.2.3.4", "unknown keyword 'brd'"),
            ("192.168.4.3 dev", "needs a value"),
            ("192.168.4.3 dev a/b", "interface name"),
            ("224.0.0.18", "cannot be a virtual IP"),
        ];
        for (input, want) in cases {
            let err = parse(input).unwrap_err();
            assert!(err.contains(want), "{input:?}: {err}");
        }
    }

    #[test]
    fn labels() {
        let v = parse("1.2.3.4 label eth0:1").unwrap();
        assert!(check_label(&v, "eth0").is_ok());
        // keepalived and current kernels take a label that does not start with the interface.
        assert!(check_label(&v, "eth1").is_ok());
        let long = parse("1.2.3.4 label eth0:0123456789ab").unwrap();
        assert!(check_label(&long, "eth0").unwrap_err().contains("at most 15"));
        let v6 = parse("2001:db8::1 label eth0:1").unwrap();
        assert!(check_label(&v6, "eth0").unwrap_err().contains("IPv4"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") { let _ = parse(&s); }

        #[test]
        fn display_round_trips(a in proptest::prelude::any::<[u8; 4]>(), p in 1u8..=32) {
            let addr = std::net::Ipv4Addr::from(a);
            if let Ok(v) = parse(&format!("{addr}/{p} dev eth0")) {
                proptest::prop_assert_eq!(parse(&v.to_string()).unwrap(), v);
            }
        }
    }
}
