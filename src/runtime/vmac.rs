//! keepalived's `use_vmac`: before an instance runs, its macvlan exists and is up with the
//! virtual router's MAC, and the instance's VIPs written without `dev` are placed on it, so
//! clients' ARP entries name a MAC that moves with mastership and never changes. Adverts
//! are received on the base interface (its IGMP membership, never the shared MAC's, is what
//! switches see); multicast adverts leave from the VMAC as frames (`Driver::send_advert`).
//! The kernel settings are keepalived's: on the VMAC arp_ignore 1, accept_local 1,
//! rp_filter 0, promote_secondaries 1; on the base arp_ignore 1 and arp_filter 1 (it must
//! not answer ARP for the VIPs) and, beyond keepalived, arp_announce 2 (see `ensure`); the
//! base's are restored at stop. The VMACs go at stop; one a crash left
//! is taken over (the VIPs on it may be resumed).

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};

use crate::config::{Config, Vmac};
use crate::net::netlink::Netlink;
use crate::net::vmac::{ACCEPT_LOCAL, ARP_ANNOUNCE, ARP_FILTER, ARP_IGNORE, PROMOTE_SECONDARIES, RP_FILTER};

#[derive(Default)]
pub struct Vmacs {
    /// VMAC name → its index.
    made: BTreeMap<String, u32>,
    /// Base interface index → its name and settings before we changed them.
    bases: BTreeMap<u32, Saved>,
}

/// A base interface's name and the devconf values it had (`None`: unreadable, left).
type Saved = (String, Vec<(u16, Option<u32>)>);

fn read_conf(ifname: &str, key: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{ifname}/{key}")).ok()?.trim().parse().ok()
}

impl Vmacs {
    /// `cfgs` as they run: each `use_vmac` instance's VMAC made (or found), its VIPs
    /// without `dev` on it. Returns whether any VMAC was made (the host's view is stale).
    pub fn prepare(&mut self, cfgs: &mut [Config], nl: &mut Netlink) -> Result<bool> {
        let mut made = false;
        for cfg in cfgs.iter_mut() {
            let Some(v) = cfg.vmac.clone() else { continue };
            made |= self.ensure(cfg, &v, nl).with_context(|| format!("({}) use_vmac {}", cfg.name, v.name))?;
            // A VIP written on the base interface goes there too, as keepalived puts it.
            let base = cfg.interface.clone();
            for vip in cfg.virtual_ips.iter_mut().filter(|vip| vip.dev.as_ref().is_none_or(|d| *d == base)) {
                vip.dev = Some(v.name.clone());
            }
        }
        Ok(made)
    }

    fn ensure(&mut self, cfg: &Config, v: &Vmac, nl: &mut Netlink) -> Result<bool> {
        let mac = Vmac::mac(cfg.router_id);
        let base = nl.link(&cfg.interface)?.with_context(|| format!("no interface {}", cfg.interface))?;
        let mut created = false;
        let index = match nl.link(&v.name)? {
            Some(l) if l.mac == Some(mac) => l.index,
            Some(l) => bail!(
                "interface {} exists with another MAC ({}): not this virtual router's VMAC; name another with use_vmac NAME",
                v.name,
                l.mac.map_or("none".into(), crate::wire::ethernet::mac_string)
            ),
            None => {
                nl.add_macvlan(&v.name, base.index, mac)?;
                created = true;
                nl.link(&v.name)?.with_context(|| format!("{} vanished after it was made", v.name))?.index
            }
        };
        if !self.made.contains_key(&v.name) {
            nl.no_addr_gen(index)?;
            nl.set_ipv4_conf(index, &[(ARP_IGNORE, 1), (ACCEPT_LOCAL, 1), (RP_FILTER, 0), (PROMOTE_SECONDARIES, 1)])?;
            // Best effort: no IPv6 on an IPv4 VMAC (a container's /proc/sys is read-only;
            // without a generated address it stays silent anyway).
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", v.name), "1");
            nl.set_up(index)?;
            if created {
                log::info!(
                    "({}) made VMAC {} ({}) on {}",
                    cfg.name,
                    v.name,
                    crate::wire::ethernet::mac_string(mac),
                    cfg.interface
                );
            } else {
                log::info!("({}) VMAC {} was left on {}: taken over", cfg.name, v.name, cfg.interface);
            }
            self.made.insert(v.name.clone(), index);
        }
        if let std::collections::btree_map::Entry::Vacant(e) = self.bases.entry(base.index) {
            let keys = [(ARP_IGNORE, "arp_ignore"), (ARP_FILTER, "arp_filter"), (ARP_ANNOUNCE, "arp_announce")];
            let saved = keys.iter().map(|(k, name)| (*k, read_conf(&base.name, name))).collect();
            // keepvip's own addition, arp_announce 2: the base's ARP requests (for a
            // client the master answers through it) carry the base's address, not a VIP's,
            // which would point the client's entry for the VIP at the base's MAC. keepalived
            // leaves it, and its clients' entries flip to the base MAC on the first reply.
            nl.set_ipv4_conf(base.index, &[(ARP_IGNORE, 1), (ARP_FILTER, 1), (ARP_ANNOUNCE, 2)])?;
            e.insert((base.name.clone(), saved));
        }
        Ok(created)
    }

    /// At stop: the VMACs deleted (after the VIPs left them), the base settings restored.
    pub fn remove_all(&mut self, nl: &mut Netlink) {
        for (name, index) in std::mem::take(&mut self.made) {
            match nl.del_link(index) {
                Ok(()) => log::info!("removed VMAC {name}"),
                Err(e) => log::warn!("removing VMAC {name}: {e:#}"),
            }
        }
        for (index, (name, saved)) in std::mem::take(&mut self.bases) {
            let back: Vec<(u16, u32)> = saved.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
            if let Err(e) = nl.set_ipv4_conf(index, &back) {
                log::warn!("restoring arp_ignore/arp_filter/arp_announce of {name}: {e:#}");
            }
        }
    }
}
