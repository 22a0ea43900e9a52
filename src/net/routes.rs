//! keepalived.conf's `virtual_routes` and `virtual_rules` in the kernel: one RTM_NEWROUTE /
//! RTM_DELROUTE per route and RTM_NEWRULE / RTM_DELRULE per rule, batched as the VIPs are.

use anyhow::{anyhow, Result};
use neli::consts::nl::NlmF;
use neli::consts::rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, Rtn, Rtprot};
use neli::rtnl::{RtattrBuilder, Rtmsg, RtmsgBuilder};
use neli::types::{Buffer, RtBuffer};

use super::netlink::{ip_bytes as bytes, Netlink};
use crate::config::route::{Route, PROTOCOL};
use crate::config::rule::{Action, Rule};

/// The request for `r`, its interface resolved now (an interface re-created since the file
/// was read has a new index).
fn route_msg(r: &Route) -> Result<Rtmsg> {
    let mut attrs = RtBuffer::<Rta, Buffer>::new();
    let mut add = |t: Rta, b: Vec<u8>| -> Result<()> {
        attrs.push(
            RtattrBuilder::default().rta_type(t).rta_payload(Buffer::from(b)).build().map_err(|e| anyhow!("{e}"))?,
        );
        Ok(())
    };
    if r.prefix > 0 {
        add(Rta::Dst, bytes(r.dest))?;
    }
    if let Some(v) = r.via {
        add(Rta::Gateway, bytes(v))?;
    }
    if let Some(d) = &r.dev {
        let ix = nix::net::if_::if_nametoindex(d.as_str()).map_err(|e| anyhow!("interface {d}: {e}"))?;
        add(Rta::Oif, ix.to_ne_bytes().to_vec())?;
    }
    if let Some(s) = r.src {
        add(Rta::Prefsrc, bytes(s))?;
    }
    if let Some(m) = r.metric {
        add(Rta::Priority, m.to_ne_bytes().to_vec())?;
    }
    // The table always as an attribute: the header's byte cannot hold tables above 255.
    add(Rta::Table, r.table.to_ne_bytes().to_vec())?;
    RtmsgBuilder::default()
        .rtm_family(if r.ipv6() { RtAddrFamily::Inet6 } else { RtAddrFamily::Inet })
        .rtm_dst_len(r.prefix)
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(RtTable::from(u8::try_from(r.table).unwrap_or(0)))
        .rtm_protocol(Rtprot::from(PROTOCOL))
        .rtm_scope(RtScope::from(r.scope))
        .rtm_type(Rtn::from(r.kind.rtn()))
        .rtattrs(attrs)
        .build()
        .map_err(|e| anyhow!("{e}"))
}

/// A rule's request: `struct fib_rule_hdr` (the layout of `rtmsg`, with the action where
/// the route type is and FIB_RULE_INVERT in the flags) and its FRA_* attributes, written
/// here as bytes: neli has no type for it.
fn rule_msg(r: &Rule) -> Result<Buffer> {
    const FRA_DST: u16 = 1;
    const FRA_SRC: u16 = 2;
    const FRA_IIFNAME: u16 = 3;
    const FRA_GOTO: u16 = 4;
    const FRA_PRIORITY: u16 = 6;
    const FRA_FWMARK: u16 = 10;
    const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
    const FRA_TABLE: u16 = 15;
    const FRA_FWMASK: u16 = 16;
    const FRA_OIFNAME: u16 = 17;
    const FRA_PROTOCOL: u16 = 21;
    const FIB_RULE_INVERT: u32 = 2;
    let family: u8 = if r.ipv6 { 10 } else { 2 };
    let table = match r.action {
        Action::Table(t) => t,
        _ => 0,
    };
    let mut b = vec![
        family,
        r.to.map_or(0, |t| t.1),
        r.from.map_or(0, |f| f.1),
        r.tos.unwrap_or(0),
        u8::try_from(table).unwrap_or(0),
        0,
        0,
        r.action.code(),
    ];
    b.extend_from_slice(&(if r.not { FIB_RULE_INVERT } else { 0 }).to_ne_bytes());
    let mut attr = |t: u16, payload: &[u8]| {
        let len = 4 + payload.len();
        b.extend_from_slice(&(len as u16).to_ne_bytes());
        b.extend_from_slice(&t.to_ne_bytes());
        b.extend_from_slice(payload);
        while b.len() % 4 != 0 {
            b.push(0);
        }
    };
    let name = |n: &str| [n.as_bytes(), &[0]].concat();
    if let Some((a, _)) = r.from {
        attr(FRA_SRC, &bytes(a));
    }
    if let Some((a, _)) = r.to {
        attr(FRA_DST, &bytes(a));
    }
    if let Some(i) = &r.iif {
        attr(FRA_IIFNAME, &name(i));
    }
    if let Some(o) = &r.oif {
        attr(FRA_OIFNAME, &name(o));
    }
    if let Action::Goto(g) = r.action {
        attr(FRA_GOTO, &g.to_ne_bytes());
    }
    attr(FRA_PRIORITY, &r.priority.to_ne_bytes());
    if let Some((m, mask)) = r.fwmark {
        attr(FRA_FWMARK, &m.to_ne_bytes());
        if let Some(mask) = mask {
            attr(FRA_FWMASK, &mask.to_ne_bytes());
        }
    }
    if let Some(s) = r.suppress_prefixlength {
        attr(FRA_SUPPRESS_PREFIXLEN, &s.to_ne_bytes());
    }
    if table > 0 {
        attr(FRA_TABLE, &table.to_ne_bytes());
    }
    if r.protocol != 0 {
        attr(FRA_PROTOCOL, &[r.protocol]);
    }
    Ok(Buffer::from(b))
}

impl Netlink {
    /// Add rules, one result per rule; the same rule already there is success (NLM_F_EXCL:
    /// never a second copy of a rule a crash left).
    pub fn add_rules(&mut self, rules: &[Rule]) -> Vec<Result<()>> {
        let flags = NlmF::ACK | NlmF::CREATE | NlmF::EXCL;
        let results = self.batch_of(Rtm::Newrule, flags, rules, rule_msg);
        named(results, rules, "adding rule", &[nix::libc::EEXIST])
    }

    /// Remove rules; absent is success.
    pub fn del_rules(&mut self, rules: &[Rule]) -> Vec<Result<()>> {
        let results = self.batch_of(Rtm::Delrule, NlmF::ACK, rules, rule_msg);
        named(results, rules, "removing rule", &[nix::libc::ENOENT, nix::libc::ESRCH])
    }

    /// Add routes, one result per route; an identical route already there is success.
    /// Prepended as keepalived does (`ip route prepend`: no NLM_F_EXCL).
    pub fn add_routes(&mut self, routes: &[Route]) -> Vec<Result<()>> {
        let flags = NlmF::ACK | NlmF::CREATE;
        let results = self.batch_of(Rtm::Newroute, flags, routes, route_msg);
        named(results, routes, "adding route", &[nix::libc::EEXIST])
    }

    /// Remove routes (only ours: the kernel matches protocol keepalived); absent is success.
    /// A route whose interface is gone went with it.
    pub fn del_routes(&mut self, routes: &[Route]) -> Vec<Result<()>> {
        let gone = |r: &Route| r.dev.as_ref().is_some_and(|d| nix::net::if_::if_nametoindex(d.as_str()).is_err());
        let live: Vec<Route> = routes.iter().filter(|r| !gone(r)).cloned().collect();
        let results = self.batch_of(Rtm::Delroute, NlmF::ACK, &live, route_msg);
        let mut done =
            named(results, &live, "removing route", &[nix::libc::ESRCH, nix::libc::ENOENT, nix::libc::ENODEV])
                .into_iter();
        routes.iter().map(|r| if gone(r) { Ok(()) } else { done.next().unwrap_or(Ok(())) }).collect()
    }
}

fn named<T: std::fmt::Display>(
    results: Vec<std::io::Result<()>>,
    items: &[T],
    verb: &str,
    done: &[i32],
) -> Vec<Result<()>> {
    results
        .into_iter()
        .zip(items)
        .map(|(r, item)| match r {
            Err(e) if e.raw_os_error().is_some_and(|n| done.contains(&n)) => Ok(()),
            Err(e) => Err(anyhow!("{verb} {item}: {e}")),
            Ok(()) => Ok(()),
        })
        .collect()
}
