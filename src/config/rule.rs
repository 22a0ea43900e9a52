//! One `virtual_rules` item (a policy routing rule), read as keepalived 2.2.7 reads it:
//! `ip rule add` words in full, added with the VIPs while master and removed with them.
//! keepalived's choices kept here: protocol `keepalived` (18), none with `no_track`; a rule
//! without a preference gets 16384, the next of its family 16383, and so on through the file (with
//! keepalived's warning); addresses as written (the kernel keeps host bits of a rule).

use std::fmt;
use std::net::IpAddr;

pub use super::route::PROTOCOL;

/// What a matching packet does (the kernel's FR_ACT_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Table(u32),
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

impl Action {
    pub fn code(self) -> u8 {
        match self {
            Action::Table(_) => 1,
            Action::Goto(_) => 2,
            Action::Nop => 3,
            Action::Blackhole => 6,
            Action::Unreachable => 7,
            Action::Prohibit => 8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub not: bool,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub action: Action,
    pub priority: u32,
    pub fwmark: Option<(u32, Option<u32>)>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub tos: Option<u8>,
    pub suppress_prefixlength: Option<u32>,
    pub ipv6: bool,
    /// keepalived marks a `no_track` rule with no protocol.
    pub protocol: u8,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.priority)?;
        if self.not {
            write!(f, " not")?;
        }
        match self.from {
            Some((a, p)) => write!(f, " from {a}/{p}")?,
            None => write!(f, " from all")?,
        }
        if let Some((a, p)) = self.to {
            write!(f, " to {a}/{p}")?;
        }
        if let Some((m, mask)) = self.fwmark {
            write!(f, " fwmark {m:#x}")?;
            if let Some(mask) = mask {
                write!(f, "/{mask:#x}")?;
            }
        }
        for (k, v) in [("iif", &self.iif), ("oif", &self.oif)] {
            if let Some(v) = v {
                write!(f, " {k} {v}")?;
            }
        }
        if let Some(t) = self.tos {
            write!(f, " tos {t:#x}")?;
        }
        match self.action {
            Action::Table(t) => write!(f, " lookup {t}")?,
            Action::Goto(g) => write!(f, " goto {g}")?,
            Action::Nop => write!(f, " nop")?,
            Action::Blackhole => write!(f, " blackhole")?,
            Action::Unreachable => write!(f, " unreachable")?,
            Action::Prohibit => write!(f, " prohibit")?,
        }
        if let Some(s) = self.suppress_prefixlength {
            write!(f, " suppress_prefixlength {s}")?;
        }
        Ok(())
    }
}

const SUPPORTED: &str = "keepvip reads '[not] [from PREFIX|all] [to PREFIX|all] [fwmark M[/MASK]] [iif IF] \
     [oif IF] [tos T] [priority|preference N] ACTION [suppress_prefixlength N] [no_track]' with ACTION \
     one of table|lookup N, goto N, nop, blackhole, unreachable, prohibit";

/// One item's words; `auto` holds the preference for the next IPv4 and IPv6 rule without
/// one (keepalived counts each family down from 16384 through the file). `Ok` carries the
/// rule and a warning to give, if any.
pub fn parse_conf(words: &[String], auto: &mut [u32; 2]) -> Result<(Rule, Option<String>), String> {
    let mut r = Rule {
        not: false,
        from: None,
        to: None,
        action: Action::Nop,
        priority: 0,
        fwmark: None,
        iif: None,
        oif: None,
        tos: None,
        suppress_prefixlength: None,
        ipv6: false,
        protocol: PROTOCOL,
    };
    let mut action = None;
    let mut priority = None;
    let mut it = words.iter().map(String::as_str);
    while let Some(w) = it.next() {
        let mut value = |kw: &str| it.next().ok_or_else(|| format!("'{kw}' needs a value ({SUPPORTED})"));
        let number = |kw: &str, v: &str| -> Result<u32, String> {
            let n = match v.strip_prefix("0x") {
                Some(h) => u32::from_str_radix(h, 16),
                None => v.parse(),
            };
            n.map_err(|_| format!("{kw} '{v}': expected a number"))
        };
        match w {
            "not" => r.not = true,
            "from" => r.from = prefix("from", value("from")?)?,
            "to" => r.to = prefix("to", value("to")?)?,
            "table" | "lookup" => {
                let t = value(w)?;
                action = Some(Action::Table(match t {
                    "main" => 254,
                    "local" => 255,
                    "default" => 253,
                    n => number(w, n)?,
                }));
            }
            "goto" => {
                let g = value("goto")?;
                action = Some(Action::Goto(number("goto", g)?));
            }
            "nop" => action = Some(Action::Nop),
            "blackhole" => action = Some(Action::Blackhole),
            "unreachable" => action = Some(Action::Unreachable),
            "prohibit" => action = Some(Action::Prohibit),
            "priority" | "preference" => {
                let v = value(w)?;
                priority = Some(number(w, v)?);
            }
            "fwmark" => {
                let v = value("fwmark")?;
                r.fwmark = Some(match v.split_once('/') {
                    Some((m, mask)) => (number("fwmark", m)?, Some(number("fwmark mask", mask)?)),
                    None => (number("fwmark", v)?, None),
                });
            }
            "iif" | "oif" => {
                let d = value(w)?;
                super::vip::check_ifname(d).map_err(|e| format!("{w} '{d}': {e}"))?;
                *(if w == "iif" { &mut r.iif } else { &mut r.oif }) = Some(d.to_string());
            }
            "tos" | "dsfield" => {
                let v = value(w)?;
                r.tos = Some(u8::try_from(number(w, v)?).map_err(|_| format!("{w} '{v}': expected 0..255"))?);
            }
            "suppress_prefixlength" => {
                let v = value(w)?;
                r.suppress_prefixlength = Some(number(w, v)?);
            }
            "no_track" => r.protocol = 0,
            "inet6" => {
                return Err("'inet6': keepalived 2.2.7 misreads such a line; the addresses give the family".into())
            }
            other => return Err(format!("'{other}' is not supported in virtual_rules ({SUPPORTED})")),
        }
    }
    r.action = action.ok_or(format!("a rule needs an action (keepalived ignores it otherwise; {SUPPORTED})"))?;
    let families: Vec<bool> = [r.from, r.to].iter().flatten().map(|(a, _)| a.is_ipv6()).collect();
    if families.windows(2).any(|w| w[0] != w[1]) {
        return Err("from and to are of different families".into());
    }
    r.ipv6 = families.first().copied().unwrap_or(false);
    if let Action::Goto(target) = r.action {
        match priority {
            None => return Err("a goto rule needs a preference (keepalived skips it without one)".into()),
            Some(p) if target <= p => {
                return Err(format!("goto {target}: the target must come after the rule's preference {p}"))
            }
            _ => {}
        }
    }
    let mut warning = None;
    r.priority = match priority {
        Some(p) => p,
        None => {
            let next = &mut auto[usize::from(r.ipv6)];
            let p = *next;
            *next = next.saturating_sub(1);
            warning = Some(format!("no preference: {p}, as keepalived gives it (write 'priority N')"));
            p
        }
    };
    Ok((r, warning))
}

/// `ADDR[/LEN]` or `all` (no selector), kept as written.
fn prefix(kw: &str, v: &str) -> Result<Option<(IpAddr, u8)>, String> {
    if v == "all" {
        return Ok(None);
    }
    super::route::address_prefix(kw, v, "all").map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, auto: &mut [u32; 2]) -> Result<String, String> {
        parse_conf(&s.split_whitespace().map(String::from).collect::<Vec<_>>(), auto).map(|r| r.0.to_string())
    }

    #[test]
    fn keepalived_forms_read_as_keepalived_adds_them() {
        let mut auto = [16384; 2];
        for (line, want) in [
            ("from 198.18.50.0/24 table 100 priority 100", "100: from 198.18.50.0/24 lookup 100"),
            ("to 198.18.51.0/24 lookup 101 preference 101", "101: from all to 198.18.51.0/24 lookup 101"),
            ("fwmark 0x8/0xff table 105 priority 106", "106: from all fwmark 0x8/0xff lookup 105"),
            ("not from 198.18.54.0/24 table 109 priority 110", "110: not from 198.18.54.0/24 lookup 109"),
            ("from 198.18.58.0/24 goto 120 priority 115", "115: from 198.18.58.0/24 goto 120"),
            ("from 198.18.72.5/24 table 129 priority 132", "132: from 198.18.72.5/24 lookup 129"),
            ("from 198.18.62.0/24 table 121", "16384: from 198.18.62.0/24 lookup 121"),
            ("from 198.18.63.0/24 table 122", "16383: from 198.18.63.0/24 lookup 122"),
            // Each family counts on its own.
            ("from 2001:db8:207::/64 unreachable", "16384: from 2001:db8:207::/64 unreachable"),
        ] {
            assert_eq!(p(line, &mut auto), Ok(want.to_string()), "{line}");
        }
    }

    #[test]
    fn what_keepalived_skips_is_refused_by_name() {
        for (line, says) in [
            ("from 198.18.52.0/24 lookup 103 pref 104", "'pref' is not supported"),
            ("from 198.18.66.0/24 priority 126", "needs an action"),
            ("inet6 fwmark 9 table 120 priority 120", "'inet6'"),
            ("from 198.18.69.0/24 table 126 priority 129 l3mdev", "'l3mdev' is not supported"),
            ("from 198.18.1.0/24 to 2001:db8::/64 table 1", "different families"),
            ("from 198.18.60.0/24 goto 32766", "needs a preference"),
            ("from 198.18.60.0/24 goto 100 priority 200", "must come after"),
        ] {
            let e = p(line, &mut [16384; 2]).unwrap_err();
            assert!(e.contains(says), "{line}: {e}");
        }
    }
}
