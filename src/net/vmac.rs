//! keepalived's `use_vmac` in the kernel: a macvlan interface with the virtual router's
//! MAC on top of the instance's interface, and the interface settings it needs (IPv4
//! devconf through rtnetlink, so a container's read-only /proc/sys does not matter).
//! Requests written as bytes: neli has no types for link info or devconf.

use std::io;

use anyhow::{anyhow, Result};
use neli::consts::nl::NlmF;
use neli::consts::rtnl::Rtm;
use neli::types::Buffer;

use super::netlink::Netlink;
use super::nla::Attrs;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_MACVLAN_MODE: u16 = 1;
const MACVLAN_MODE_PRIVATE: u32 = 1;
const IFLA_INET_CONF: u16 = 1;
const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
const IN6_ADDR_GEN_MODE_NONE: u8 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const IFF_UP: u32 = 1;

/// IPv4 devconf entries (linux/ip.h) keepvip sets.
pub const ARP_FILTER: u16 = 13;
pub const RP_FILTER: u16 = 8;
pub const ARP_ANNOUNCE: u16 = 18;
pub const ARP_IGNORE: u16 = 19;
pub const PROMOTE_SECONDARIES: u16 = 20;
pub const ACCEPT_LOCAL: u16 = 23;

/// `struct ifinfomsg` for link `index` (0: a new one), with `flags` in `change`, then `attrs`.
fn link_msg(index: u32, flags: u32, change: u32, attrs: &Attrs) -> Buffer {
    let mut b = vec![0u8, 0, 0, 0];
    b.extend_from_slice(&(index as i32).to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b.extend_from_slice(&attrs.0);
    Buffer::from(b)
}

/// `IFLA_AF_SPEC { family { inner } }`: a family's per-link settings.
fn af_spec(family: u16, inner: &Attrs) -> Attrs {
    let mut spec = Attrs::default();
    spec.nest(family, inner);
    let mut a = Attrs::default();
    a.nest(IFLA_AF_SPEC, &spec);
    a
}

impl Netlink {
    fn link_request(&mut self, ty: Rtm, flags: NlmF, msg: Buffer, what: &str) -> Result<()> {
        let r: Vec<io::Result<()>> = self.batch_of(ty, flags | NlmF::ACK, &[msg], |m| Ok(m.clone()));
        r.into_iter().next().unwrap_or(Ok(())).map_err(|e| anyhow!("{what}: {e}"))
    }

    /// A private-mode macvlan `name` on link `base` with MAC `mac` (down until `set_up`).
    pub fn add_macvlan(&mut self, name: &str, base: u32, mac: [u8; 6]) -> Result<()> {
        let mut data = Attrs::default();
        data.ne32(IFLA_MACVLAN_MODE, MACVLAN_MODE_PRIVATE);
        let mut info = Attrs::default();
        info.str(IFLA_INFO_KIND, "macvlan").nest(IFLA_INFO_DATA, &data);
        let mut a = Attrs::default();
        a.ne32(IFLA_LINK, base).str(IFLA_IFNAME, name).put(IFLA_ADDRESS, &mac).nest(IFLA_LINKINFO, &info);
        let flags = NlmF::CREATE | NlmF::EXCL;
        self.link_request(Rtm::Newlink, flags, link_msg(0, 0, 0, &a), &format!("creating macvlan {name}"))
    }

    /// No IPv6 address generated from the MAC (RFC 5798 §7.4: the virtual MAC's link-local
    /// address would be every router's); set before the link comes up.
    pub fn no_addr_gen(&mut self, index: u32) -> Result<()> {
        let mut v6 = Attrs::default();
        v6.put(IFLA_INET6_ADDR_GEN_MODE, &[IN6_ADDR_GEN_MODE_NONE]);
        let a = af_spec(AF_INET6, &v6);
        self.link_request(Rtm::Newlink, NlmF::empty(), link_msg(index, 0, 0, &a), "setting addrgenmode none")
    }

    pub fn set_up(&mut self, index: u32) -> Result<()> {
        self.link_request(Rtm::Newlink, NlmF::empty(), link_msg(index, IFF_UP, IFF_UP, &Attrs::default()), "link up")
    }

    /// IPv4 settings of link `index` (`net.ipv4.conf.IF.*`), as (devconf entry, value).
    pub fn set_ipv4_conf(&mut self, index: u32, conf: &[(u16, u32)]) -> Result<()> {
        let mut c = Attrs::default();
        for (k, v) in conf {
            c.ne32(*k, *v);
        }
        let mut v4 = Attrs::default();
        v4.nest(IFLA_INET_CONF, &c);
        let a = af_spec(AF_INET, &v4);
        self.link_request(Rtm::Newlink, NlmF::empty(), link_msg(index, 0, 0, &a), "setting IPv4 interface settings")
    }

    pub fn del_link(&mut self, index: u32) -> Result<()> {
        self.link_request(Rtm::Dellink, NlmF::empty(), link_msg(index, 0, 0, &Attrs::default()), "deleting link")
    }
}
