//! Who holds each VIP, every ~50 ms, without spawning a process per look: one netlink
//! socket opened inside each host's namespace (a thread enters it, opens the socket and
//! leaves; the socket stays bound to that namespace) and an address dump per sample.

use std::net::IpAddr;

use keepvip::net::netlink::Netlink;

use super::common::netns::Lab;

pub struct Sampler {
    hosts: Vec<Option<Netlink>>,
}

fn open_in(ns: &str) -> Option<Netlink> {
    let path = format!("/var/run/netns/{ns}");
    std::thread::scope(|s| {
        s.spawn(|| {
            let f = std::fs::File::open(&path).ok()?;
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).ok()?;
            Netlink::open().ok()
        })
        .join()
        .ok()
        .flatten()
    })
}

impl Sampler {
    pub fn open(lab: &Lab) -> Sampler {
        let hosts: Vec<Option<Netlink>> = lab.hosts.iter().map(|h| open_in(&h.ns)).collect();
        assert!(hosts.iter().all(Option::is_some), "netlink in the lab's namespaces");
        Sampler { hosts }
    }

    /// For each VIP, the hosts that have it.
    pub fn holders(&mut self, vips: &[IpAddr]) -> Vec<Vec<usize>> {
        let mut out = vec![vec![]; vips.len()];
        for (h, nl) in self.hosts.iter_mut().enumerate() {
            let Some(nl) = nl else { continue };
            let Ok(addrs) = nl.addrs() else { continue };
            for (k, v) in vips.iter().enumerate() {
                if addrs.iter().any(|a| a.addr == *v) {
                    out[k].push(h);
                }
            }
        }
        out
    }
}
