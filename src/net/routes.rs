//! keepalived.conf's `virtual_routes` in the kernel: one RTM_NEWROUTE / RTM_DELROUTE per
//! route, batched as the VIPs are.

use anyhow::{anyhow, Result};
use neli::consts::nl::NlmF;
use neli::consts::rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, Rtn, Rtprot};
use neli::rtnl::{RtattrBuilder, Rtmsg, RtmsgBuilder};
use neli::types::{Buffer, RtBuffer};

use super::netlink::Netlink;
use crate::config::route::{Route, PROTOCOL};

fn bytes(ip: std::net::IpAddr) -> Vec<u8> {
    match ip {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    }
}

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

impl Netlink {
    /// Add routes, one result per route; an identical route already there is success.
    /// Prepended as keepalived does (`ip route prepend`: no NLM_F_EXCL).
    pub fn add_routes(&mut self, routes: &[Route]) -> Vec<Result<()>> {
        let flags = NlmF::ACK | NlmF::CREATE;
        let results = self.batch_of(Rtm::Newroute, flags, routes, route_msg);
        named(results, routes, "adding", &[nix::libc::EEXIST])
    }

    /// Remove routes (only ours: the kernel matches protocol keepalived); absent is success.
    /// A route whose interface is gone went with it.
    pub fn del_routes(&mut self, routes: &[Route]) -> Vec<Result<()>> {
        let gone = |r: &Route| r.dev.as_ref().is_some_and(|d| nix::net::if_::if_nametoindex(d.as_str()).is_err());
        let live: Vec<Route> = routes.iter().filter(|r| !gone(r)).cloned().collect();
        let results = self.batch_of(Rtm::Delroute, NlmF::ACK, &live, route_msg);
        let mut done =
            named(results, &live, "removing", &[nix::libc::ESRCH, nix::libc::ENOENT, nix::libc::ENODEV]).into_iter();
        routes.iter().map(|r| if gone(r) { Ok(()) } else { done.next().unwrap_or(Ok(())) }).collect()
    }
}

fn named(results: Vec<std::io::Result<()>>, routes: &[Route], verb: &str, done: &[i32]) -> Vec<Result<()>> {
    results
        .into_iter()
        .zip(routes)
        .map(|(r, route)| match r {
            Err(e) if e.raw_os_error().is_some_and(|n| done.contains(&n)) => Ok(()),
            Err(e) => Err(anyhow!("{verb} route {route}: {e}")),
            Ok(()) => Ok(()),
        })
        .collect()
}
