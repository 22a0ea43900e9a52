//! One `virtual_routes` item, read as keepalived 2.2.7 reads it: `ip route add` words in
//! full (no abbreviations), added with the VIPs while master and removed with them.
//! keepalived's choices kept here: protocol `keepalived` (18) on every route, scope
//! `global` unless written (where `ip route` would pick `link`), a destination without a
//! prefix is one host, `default` only for IPv4, `gw` taken for `via`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// keepalived's routing protocol number (`proto keepalived` in `ip route`).
pub const PROTOCOL: u8 = 18;
/// The main table.
pub const MAIN: u32 = 254;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
}

impl Kind {
    /// The kernel's route type (RTN_*).
    pub fn rtn(self) -> u8 {
        match self {
            Kind::Unicast => 1,
            Kind::Blackhole => 6,
            Kind::Unreachable => 7,
            Kind::Prohibit => 8,
            Kind::Throw => 9,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Unicast => "unicast",
            Kind::Blackhole => "blackhole",
            Kind::Unreachable => "unreachable",
            Kind::Prohibit => "prohibit",
            Kind::Throw => "throw",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub kind: Kind,
    pub dest: IpAddr,
    pub prefix: u8,
    pub via: Option<IpAddr>,
    /// Interface by name; `None`: the kernel's choice from `via` (none for the other kinds).
    pub dev: Option<String>,
    pub src: Option<IpAddr>,
    pub table: u32,
    pub metric: Option<u32>,
    /// RT_SCOPE_*: 0 global (keepalived's default), 253 link, 254 host, 200 site, 255 nowhere.
    pub scope: u8,
}

impl Route {
    pub fn ipv6(&self) -> bool {
        self.dest.is_ipv6()
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != Kind::Unicast {
            write!(f, "{} ", self.kind.name())?;
        }
        write!(f, "{}/{}", self.dest, self.prefix)?;
        if let Some(s) = self.src {
            write!(f, " src {s}")?;
        }
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if self.table != MAIN {
            write!(f, " table {}", self.table)?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if self.scope != 0 {
            write!(f, " scope {}", scope_name(self.scope))?;
        }
        Ok(())
    }
}

fn scope_name(s: u8) -> String {
    match s {
        0 => "global".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        n => n.to_string(),
    }
}

const SUPPORTED: &str = "keepvip reads '[TYPE] [to] DEST[/LEN] [src IP] [via IP] [dev IFNAME] [table N] \
     [metric N] [scope SCOPE] [protocol P] [no_track]' with TYPE one of unicast, blackhole, \
     unreachable, prohibit, throw";

/// One item's words. `Ok` carries the route and what keepalived also ignores or resets,
/// for a warning each.
pub fn parse_conf(words: &[String]) -> Result<(Route, Vec<String>), String> {
    let mut kind = Kind::Unicast;
    let mut dest: Option<(IpAddr, u8)> = None;
    let mut default = false;
    let mut r = Route {
        kind,
        dest: Ipv4Addr::UNSPECIFIED.into(),
        prefix: 0,
        via: None,
        dev: None,
        src: None,
        table: MAIN,
        metric: None,
        scope: 0,
    };
    let mut notes = vec![];
    let mut it = words.iter().map(String::as_str);
    let mut first = true;
    while let Some(w) = it.next() {
        // keepalived 2.2.7 reads `to` only as a line's first word, and adds no route for a
        // line with `inet6` (the family comes from the addresses): refused, not skipped.
        if w == "to" && !std::mem::take(&mut first) {
            return Err("'to' only as the line's first word (keepalived 2.2.7 skips the route otherwise)".into());
        }
        first = false;
        let mut value = |kw: &str| it.next().ok_or_else(|| format!("'{kw}' needs a value ({SUPPORTED})"));
        match w {
            "unicast" | "blackhole" | "unreachable" | "prohibit" | "throw" if dest.is_none() && !default => {
                kind = match w {
                    "blackhole" => Kind::Blackhole,
                    "unreachable" => Kind::Unreachable,
                    "prohibit" => Kind::Prohibit,
                    "throw" => Kind::Throw,
                    _ => Kind::Unicast,
                };
            }
            "to" => dest = Some(prefix(value("to")?)?),
            "inet6" => {
                return Err(
                    "'inet6': keepalived 2.2.7 adds no route for such a line; the addresses give the family".into()
                )
            }
            "src" => r.src = Some(address("src", value("src")?)?),
            "via" => r.via = Some(address("via", value("via")?)?),
            "gw" => {
                r.via = Some(address("gw", value("gw")?)?);
                notes.push("'gw' is deprecated (keepalived says so too): write 'via'".into());
            }
            "dev" | "oif" => {
                let d = value(w)?;
                super::vip::check_ifname(d).map_err(|e| format!("dev '{d}': {e}"))?;
                r.dev = Some(d.to_string());
            }
            "table" => {
                let t = value("table")?;
                r.table = match t {
                    "main" => MAIN,
                    "local" => 255,
                    "default" => 253,
                    n => n
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or(format!("table '{t}': expected main, local, default or 1..4294967295"))?,
                };
            }
            "metric" | "priority" | "preference" => {
                let m = value(w)?;
                r.metric = Some(m.parse().map_err(|_| format!("{w} '{m}': expected 0..4294967295"))?);
            }
            "scope" => {
                let s = value("scope")?;
                r.scope = match s {
                    "global" | "universe" => 0,
                    "site" => 200,
                    "link" => 253,
                    "host" => 254,
                    "nowhere" => 255,
                    n => n
                        .parse()
                        .map_err(|_| format!("scope '{s}': expected global, site, link, host, nowhere or 0..255"))?,
                };
            }
            "protocol" => {
                let p = value("protocol")?;
                notes.push(format!("protocol '{p}' is reset to keepalived (18), as keepalived resets it"));
            }
            "no_track" => {}
            "default" if dest.is_none() => default = true,
            other
                if dest.is_none()
                    && !default
                    && !other.is_empty()
                    && (other.as_bytes()[0].is_ascii_hexdigit() || other.contains(':')) =>
            {
                dest = Some(prefix(other)?);
            }
            other => return Err(format!("'{other}' is not supported in virtual_routes ({SUPPORTED})")),
        }
    }
    r.kind = kind;
    match (dest, default) {
        (Some((a, p)), _) => (r.dest, r.prefix) = (a, p),
        // keepalived takes `default` for IPv4 only ("Route must have a destination" with inet6).
        (None, true) => (r.dest, r.prefix) = (Ipv4Addr::UNSPECIFIED.into(), 0),
        _ => return Err(format!("a route needs a destination ({SUPPORTED})")),
    }
    for (what, a) in [("via", r.via), ("src", r.src)] {
        if a.is_some_and(|a| a.is_ipv6() != r.dest.is_ipv6()) {
            return Err(format!("{what} {} is not of the destination's family ({})", a.unwrap(), r.dest));
        }
    }
    if r.kind != Kind::Unicast && (r.via.is_some() || r.dev.is_some()) {
        return Err(format!("a {} route has no 'via' or 'dev'", r.kind.name()));
    }
    if r.kind == Kind::Unicast && r.via.is_none() && r.dev.is_none() {
        return Err("a unicast route needs 'via' or 'dev'".into());
    }
    Ok((r, notes))
}

fn address(kw: &str, v: &str) -> Result<IpAddr, String> {
    v.parse().map_err(|_| format!("{kw} '{v}': expected an IPv4 or IPv6 address"))
}

/// `ADDR[/LEN]` as written (no length: one host); `what` and `or` name the word and its
/// other accepted form in the error. Shared with `virtual_rules`.
pub(super) fn address_prefix(what: &str, v: &str, or: &str) -> Result<(IpAddr, u8), String> {
    let (a, p) = v.split_once('/').map_or((v, None), |(a, p)| (a, Some(p)));
    let addr: IpAddr = a.parse().map_err(|_| format!("{what} '{v}': expected ADDRESS[/PREFIX] or {or}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match p {
        None => max,
        Some(p) => p.parse::<u8>().ok().filter(|n| *n <= max).ok_or(format!("{what} '{v}': prefix 0..{max}"))?,
    };
    Ok((addr, len))
}

/// A route's destination: the network's address with host bits cleared, as the kernel keeps it.
fn prefix(v: &str) -> Result<(IpAddr, u8), String> {
    let (addr, len) = address_prefix("destination", v, "default")?;
    let masked = match addr {
        IpAddr::V4(a) => {
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)))
        }
        IpAddr::V6(a) => {
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)))
        }
    };
    Ok((masked, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Route, String> {
        parse_conf(&s.split_whitespace().map(String::from).collect::<Vec<_>>()).map(|r| r.0)
    }

    #[test]
    fn keepalived_forms_read_as_keepalived_adds_them() {
        // What keepalived 2.2.7 put in the kernel for each line (ip -d route), as text here.
        let cases = [
            ("198.18.90.0/24 gw 198.18.77.254", "198.18.90.0/24 via 198.18.77.254"),
            ("to 198.18.92.0/24 via 198.18.77.254", "198.18.92.0/24 via 198.18.77.254"),
            ("198.18.93.0/24 via 198.18.77.254 priority 7", "198.18.93.0/24 via 198.18.77.254 metric 7"),
            ("198.18.95.0/24 dev eth0 scope link", "198.18.95.0/24 dev eth0 scope link"),
            ("198.18.96.0/24 via 198.18.77.254 table main", "198.18.96.0/24 via 198.18.77.254"),
            ("default via 198.18.77.254 table 200", "0.0.0.0/0 via 198.18.77.254 table 200"),
            ("unreachable 198.18.98.0/24", "unreachable 198.18.98.0/24"),
            ("throw 198.18.100.0/24 table 201", "throw 198.18.100.0/24 table 201"),
            ("198.18.101.0/24 via 198.18.77.254 metric 9 no_track", "198.18.101.0/24 via 198.18.77.254 metric 9"),
            ("198.18.106.0 via 198.18.77.254", "198.18.106.0/32 via 198.18.77.254"),
            ("198.18.107.9/24 dev eth0", "198.18.107.0/24 dev eth0"),
            (
                "src 198.18.77.100 198.18.93.0/24 via 198.18.77.254",
                "198.18.93.0/24 src 198.18.77.100 via 198.18.77.254",
            ),
            ("2001:db8:1::/64 via 2001:db8::fe", "2001:db8:1::/64 via 2001:db8::fe"),
        ];
        for (line, want) in cases {
            assert_eq!(p(line).map(|r| r.to_string()), Ok(want.to_string()), "{line}");
        }
    }

    #[test]
    fn what_keepalived_skips_or_keepvip_does_not_do_is_refused_by_name() {
        for (line, says) in [
            ("198.18.91.0/24 gateway 198.18.77.254", "'gateway' is not supported"),
            ("inet6 default via 2001:db8::fe", "'inet6': keepalived 2.2.7 adds no route"),
            ("inet6 2001:db8:5::/64 via 2001:db8::fe", "'inet6'"),
            ("throw to 198.18.107.0/24", "'to' only as the line's first word"),
            ("198.18.103.0/24 via 198.18.77.254 onlink", "'onlink' is not supported"),
            ("198.18.104.0/24 via 198.18.77.254 mtu 1400", "'mtu' is not supported"),
            ("198.18.1.0/24", "needs 'via' or 'dev'"),
            ("blackhole 198.18.1.0/24 dev eth0", "no 'via' or 'dev'"),
            ("198.18.1.0/24 via 2001:db8::1", "not of the destination's family"),
            ("198.18.1.0/33 dev eth0", "prefix 0..32"),
            ("198.18.1.0/24 dev eth0 table", "'table' needs a value"),
        ] {
            let e = p(line).unwrap_err();
            assert!(e.contains(says), "{line}: {e}");
        }
    }
}
