//! keepalived's `no_accept`: while an instance that does not accept holds its VIPs,
//! traffic to and from them is dropped (`net::nftables`). One table per family serves
//! every instance; it is rebuilt whole when the set of dropped VIPs changes, set before
//! the VIPs are added and cleared after they are removed, as keepalived orders it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::{Context, Result};

use crate::net::nftables::{Nftables, TABLE};

#[derive(Default)]
pub struct Firewall {
    nft: Option<Nftables>,
    /// The VIPs dropped for each instance that holds them.
    dropped: BTreeMap<String, Vec<IpAddr>>,
    applied: Vec<IpAddr>,
}

impl Firewall {
    /// At start: tables a crash left are removed. When an instance needs the firewall
    /// (`needed` names it), no nftables is an error; else only a debug line.
    pub fn start(needed: Option<&str>) -> Result<Self> {
        let mut f = Firewall::default();
        // With nf_tables a module not loaded there is no table to remove, and asking would
        // load the module on a host that never needed it (no /proc/modules: all built in).
        let unloaded =
            std::fs::read_to_string("/proc/modules").is_ok_and(|m| !m.lines().any(|l| l.starts_with("nf_tables ")));
        if needed.is_none() && unloaded {
            return Ok(f);
        }
        let opened = Nftables::open().and_then(|mut n| n.set(&[]).map(|()| n));
        match (opened, needed) {
            (Ok(n), _) => f.nft = Some(n),
            (Err(e), Some(name)) => {
                return Err(e).with_context(|| {
                    format!("vrrp_instance {name}: no_accept (strict mode's default below priority 255) drops traffic to the VIPs with nftables, which is not usable here; write 'accept' in the instance to take that traffic instead")
                })
            }
            (Err(e), None) => log::debug!("no stale nftables table {TABLE} removed: {e:#}"),
        }
        Ok(f)
    }

    /// `instance` holds `vips` and drops their traffic (empty: holds none).
    pub fn hold(&mut self, instance: &str, vips: Vec<IpAddr>) {
        if vips.is_empty() {
            self.dropped.remove(instance);
        } else {
            self.dropped.insert(instance.to_string(), vips);
        }
        self.apply();
    }

    /// At stop: nothing dropped, the tables gone.
    pub fn clear(&mut self) {
        self.dropped.clear();
        self.apply();
    }

    fn apply(&mut self) {
        let mut want: Vec<IpAddr> = self.dropped.values().flatten().copied().collect();
        want.sort();
        want.dedup();
        if want == self.applied {
            return;
        }
        let Some(nft) = self.nft.as_mut() else {
            log::error!("no nftables: traffic to {want:?} cannot be dropped (no_accept)");
            return;
        };
        match nft.set(&want) {
            Ok(()) => {
                log::info!("nftables table {TABLE}: dropping traffic to {}", list(&want));
                self.applied = want;
            }
            Err(e) => log::error!("nftables table {TABLE}: {e:#}"),
        }
    }
}

fn list(v: &[IpAddr]) -> String {
    if v.is_empty() {
        return "no VIP".into();
    }
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
