//! Adverts: the core's parameters from the configuration, and the advert the core asks
//! for, built and sent to the group or to each peer.

use std::net::IpAddr;
use std::time::Instant;

use super::driver::Driver;
use super::shared::Io;
use crate::config::{Config, HostView, InitialState, Version, Vmac};
use crate::vrrp::Params;
use crate::wire::vrrp::{self as wire, AddrList, Auth, Family, Pseudo, Repr};

const MTU: usize = 1500;

/// The instance's core parameters from the configuration and this host's addresses.
pub fn params(cfg: &Config, host: &HostView) -> Params {
    let family = if cfg.ipv6() { Family::V6 } else { Family::V4 };
    let version = if cfg.version == Version::V2 { 2 } else { 3 };
    // Beyond 255 (or the MTU) VIPs are managed but not advertised, like keepalived's eVIPs;
    // so are `virtual_ipaddress_excluded` ones.
    let advertised = wire::encode_addrs(
        cfg.virtual_ips
            .iter()
            .filter(|v| !v.excluded)
            .map(|v| v.addr)
            .filter(|a| Family::of(*a) == family)
            .take(wire::max_addrs(family, version, MTU)),
    );
    Params {
        version,
        vrid: cfg.router_id,
        priority: cfg.priority,
        advert_int_cs: cfg.advert_int_cs,
        preempt: cfg.preempt,
        preempt_delay: cfg.preempt_delay,
        start_as_master: cfg.state == InitialState::Master,
        auth: cfg.password.as_deref().map(Auth::pass).unwrap_or(Auth::None),
        family,
        advert_source: cfg.advert_source,
        peers: cfg.unicast_peers.clone(),
        check_unicast_src: cfg.check_unicast_src,
        unicast_min_ttl: cfg.unicast_min_ttl,
        own: host.interfaces.iter().flat_map(|i| i.addrs.iter().map(|a| a.addr)).collect(),
        advertised,
        skip_check_adv_addr: cfg.skip_check_adv_addr,
        early_failover: cfg.early_failover,
        down_timer_adverts: cfg.down_timer_adverts,
        startup_delay: cfg.startup_delay,
        lower_prio_no_advert: cfg.lower_prio_no_advert,
        higher_prio_send_advert: cfg.higher_prio_send_advert,
        garp_delay: cfg.garp.delay,
        garp_lower_prio: cfg.garp.lower_prio(),
        first_hold: cfg.first_hold,
    }
}

impl Driver {
    pub(super) fn advertised_addrs(&self) -> Vec<IpAddr> {
        let p = self.core().params();
        AddrList::new(p.family, &p.advertised).map(|l| l.iter().collect()).unwrap_or_default()
    }

    /// keepalived's `use_vmac` without `vmac_xmit_base`: multicast adverts leave from the
    /// VMAC (its index), so switches learn its MAC where the master is every interval.
    /// Unicast adverts leave from the interface (the peers' MACs are the kernel's to find).
    fn vmac_sender(&self) -> Option<u32> {
        let v = self.cfg.vmac.as_ref().filter(|v| !v.xmit_base)?;
        self.links.others.iter().find(|o| o.name == v.name).map(|o| o.index).filter(|ix| *ix > 0)
    }

    pub(super) fn send_advert(&mut self, priority: u8, io: &mut Io) {
        let p = self.core().params();
        let Some(addrs) = AddrList::new(p.family, &p.advertised) else { return };
        let repr =
            Repr { version: p.version, vrid: p.vrid, priority, interval_cs: p.advert_int_cs, auth: p.auth, addrs };
        // No source: we are in FAULT (or going there) and nothing can be sent.
        let Some(src) = self.links.advert_source else { return };
        let group = self.cfg.multicast_group();
        let dsts: &[IpAddr] = match &group {
            Some(g) => std::slice::from_ref(g),
            None => &self.cfg.unicast_peers,
        };
        let mut buf = [0u8; MTU];
        let (mut sent, mut failed) = (0, vec![]);
        let vmac = self.vmac_sender();
        for &dst in dsts {
            let pseudo = if self.cfg.v3_checksum_as_v2 { Pseudo::None } else { Pseudo::Ip { src, dst } };
            let n = repr.emit(&mut buf, pseudo);
            let sending = match (vmac, src, dst, io.frames) {
                (Some(ix), IpAddr::V4(s), IpAddr::V4(g), Some(f)) if group.is_some() => {
                    f.advert(ix, Vmac::mac(self.cfg.router_id), s, g, &buf[..n])
                }
                _ => io.sock.send(&buf[..n], Some(src), dst),
            };
            match sending {
                Ok(()) => {
                    sent += 1;
                    log::trace!("({}) advert sent to {dst}: priority {priority}, {n} bytes", self.cfg.name);
                }
                Err(e) => failed.push((dst, e)),
            }
        }
        self.stats.sent += sent;
        self.stats.send_errors += failed.len() as u64;
        for (dst, e) in failed {
            if self.stats.may_log("send", Instant::now()) {
                log::warn!(
                    "({}) sending advert to {dst}: {e} (counted as send_errors; at most one line per second)",
                    self.cfg.name
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::from_env;

    #[test]
    fn vips_beyond_255_are_managed_but_not_advertised() {
        let host = HostView::single("eth0", 2, "198.18.0.1/24");
        let vips: Vec<String> = (0..300).map(|i| format!("'198.19.{}.{}'", i / 250, i % 250 + 1)).collect();
        let env = [("KEEPALIVED_VIRTUAL_IPS".to_string(), format!("#PYTHON2BASH:[{}]", vips.join(", ")))].into();
        let mut cfg = from_env(&env, &host).unwrap().config;
        assert_eq!(cfg.virtual_ips.len(), 300);
        let p = params(&cfg, &host);
        assert_eq!(p.advertised.len(), 255 * 4);
        assert_eq!(p.own, vec!["198.18.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(p.auth, Auth::pass("d0cker"));
        // Excluded VIPs are not advertised either.
        cfg.virtual_ips.truncate(3);
        cfg.virtual_ips[1].excluded = true;
        assert_eq!(params(&cfg, &host).advertised.len(), 2 * 4);
    }
}
