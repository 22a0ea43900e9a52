//! IPv6 neighbour discovery over Ethernet: the unsolicited Neighbor Advertisement
//! (RFC 4861 §7.2.6) a new master sends for each IPv6 VIP, as keepalived builds it: to the
//! all-nodes group (33:33:00:00:00:01, ff02::1) from the VIP itself, hop limit 255, the
//! Override flag set (Router when the interface forwards) and the target link-layer address
//! option with our MAC, so neighbours replace a cached entry at once; and the duplicate
//! address detection probe (RFC 4862 §5.4.2: a Neighbor Solicitation from `::`), which any
//! host holding the address answers with an advertisement to all nodes (IPv4's ARP probe).

use std::net::{IpAddr, Ipv6Addr};

use super::{checksum, ethernet};

pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const NEXT_HEADER_ICMPV6: u8 = 58;
const TYPE_NEIGHBOR_ADVERT: u8 = 136;
const OPTION_TARGET_LLADDR: u8 = 2;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ICMP_LEN: usize = 32;
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + 40 + ICMP_LEN;

/// From the frame's start (the Ethernet header is `ethernet`'s).
mod field {
    use std::ops::Range;
    // IPv6 (from 14)
    pub const VERSION: usize = 14;
    pub const PAYLOAD_LEN: Range<usize> = 18..20;
    pub const NEXT_HEADER: usize = 20;
    pub const HOP_LIMIT: usize = 21;
    pub const IP_SRC: Range<usize> = 22..38;
    pub const IP_DST: Range<usize> = 38..54;
    // ICMPv6 (from 54)
    pub const ICMP: usize = 54;
    pub const TYPE: usize = 54;
    pub const CODE: usize = 55;
    pub const CHECKSUM: Range<usize> = 56..58;
    pub const FLAGS: usize = 58;
    pub const TARGET: Range<usize> = 62..78;
    pub const OPT_TYPE: usize = 78;
    pub const OPT_LEN: usize = 79;
    pub const OPT_MAC: Range<usize> = 80..86;
}

pub const FLAG_ROUTER: u8 = 0x80;
pub const FLAG_SOLICITED: u8 = 0x40;
pub const FLAG_OVERRIDE: u8 = 0x20;

/// A Neighbor Advertisement in an Ethernet frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    /// Router / Solicited / Override bits, as in the first byte after the checksum.
    pub flags: u8,
    pub target: Ipv6Addr,
    /// The target link-layer address option, when present.
    pub target_mac: Option<[u8; 6]>,
}

impl Repr {
    /// The unsolicited advertisement for `vip` from `mac`.
    pub fn unsolicited(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> Repr {
        Repr {
            dst_mac: [0x33, 0x33, 0, 0, 0, 1],
            src_mac: mac,
            src: vip,
            dst: ALL_NODES,
            hop_limit: 255,
            flags: FLAG_OVERRIDE | if router { FLAG_ROUTER } else { 0 },
            target: vip,
            target_mac: Some(mac),
        }
    }

    /// The unsolicited advertisement that `vip` is at `theirs`, sent from `ours`.
    pub fn unsolicited_for(ours: [u8; 6], theirs: [u8; 6], vip: Ipv6Addr, router: bool) -> Repr {
        Repr { src_mac: ours, target_mac: Some(theirs), ..Repr::unsolicited(theirs, vip, router) }
    }

    /// A Neighbor Advertisement with a valid checksum, or `None`.
    pub fn parse(f: &[u8]) -> Option<Repr> {
        let eth = ethernet::Header::parse(f)?;
        if f.len() < field::OPT_TYPE
            || eth.ethertype != ETHERTYPE_IPV6
            || f[field::VERSION] >> 4 != 6
            || f[field::NEXT_HEADER] != NEXT_HEADER_ICMPV6
            || f[field::TYPE] != TYPE_NEIGHBOR_ADVERT
            || f[field::CODE] != 0
        {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([f[field::PAYLOAD_LEN][0], f[field::PAYLOAD_LEN][1]]));
        let icmp = f.get(field::ICMP..field::ICMP + len)?;
        let addr = |r: std::ops::Range<usize>| Some(Ipv6Addr::from(<[u8; 16]>::try_from(&f[r]).ok()?));
        let (src, dst) = (addr(field::IP_SRC)?, addr(field::IP_DST)?);
        if checksum::finish(
            checksum::pseudo(IpAddr::V6(src), IpAddr::V6(dst), NEXT_HEADER_ICMPV6, len as u32) + checksum::sum(icmp),
        ) != 0
        {
            return None;
        }
        let mac = |r: std::ops::Range<usize>| <[u8; 6]>::try_from(&f[r]).ok();
        let target_mac = (len >= ICMP_LEN && f[field::OPT_TYPE] == OPTION_TARGET_LLADDR && f[field::OPT_LEN] == 1)
            .then(|| mac(field::OPT_MAC))
            .flatten();
        Some(Repr {
            dst_mac: eth.dst,
            src_mac: eth.src,
            src,
            dst,
            hop_limit: f[field::HOP_LIMIT],
            flags: f[field::FLAGS],
            target: addr(field::TARGET)?,
            target_mac,
        })
    }

    pub fn buffer_len(&self) -> usize {
        FRAME_LEN
    }

    /// Into the first `buffer_len()` bytes of `f`; returns that length.
    pub fn emit(&self, f: &mut [u8]) -> usize {
        let f = &mut f[..FRAME_LEN];
        headers(f, self.dst_mac, self.src_mac, self.src, self.dst, self.hop_limit);
        f[field::TYPE] = TYPE_NEIGHBOR_ADVERT;
        f[field::FLAGS] = self.flags;
        f[field::TARGET].copy_from_slice(&self.target.octets());
        if let Some(mac) = self.target_mac {
            f[field::OPT_TYPE] = OPTION_TARGET_LLADDR;
            f[field::OPT_LEN] = 1;
            f[field::OPT_MAC].copy_from_slice(&mac);
        }
        seal(f, self.src, self.dst);
        FRAME_LEN
    }
}

const TYPE_NEIGHBOR_SOLICIT: u8 = 135;
const NS_ICMP_LEN: usize = 24;
pub const NS_FRAME_LEN: usize = ethernet::HEADER_LEN + 40 + NS_ICMP_LEN;

/// "Does anyone hold `target`?" as duplicate address detection asks it: from `::` to the
/// target's solicited-node group, no link-layer option (RFC 4861 §4.3 forbids it from `::`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DadProbe {
    pub mac: [u8; 6],
    pub target: Ipv6Addr,
}

impl DadProbe {
    pub fn buffer_len(&self) -> usize {
        NS_FRAME_LEN
    }

    /// Into the first `buffer_len()` bytes of `f`; returns that length.
    pub fn emit(&self, f: &mut [u8]) -> usize {
        let f = &mut f[..NS_FRAME_LEN];
        let t = self.target.octets();
        let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | u16::from(t[13]), u16::from_be_bytes([t[14], t[15]]));
        headers(f, [0x33, 0x33, 0xff, t[13], t[14], t[15]], self.mac, Ipv6Addr::UNSPECIFIED, group, 255);
        f[field::TYPE] = TYPE_NEIGHBOR_SOLICIT;
        f[field::TARGET].copy_from_slice(&t);
        seal(f, Ipv6Addr::UNSPECIFIED, group);
        NS_FRAME_LEN
    }
}

/// The Ethernet and IPv6 headers of an ICMPv6 frame whose message fills the rest of `f`.
fn headers(f: &mut [u8], dst_mac: [u8; 6], src_mac: [u8; 6], src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8) {
    ethernet::Header { dst: dst_mac, src: src_mac, ethertype: ETHERTYPE_IPV6 }.emit(f);
    f[field::VERSION] = 0x60;
    let len = (f.len() - field::ICMP) as u16;
    f[field::PAYLOAD_LEN].copy_from_slice(&len.to_be_bytes());
    f[field::NEXT_HEADER] = NEXT_HEADER_ICMPV6;
    f[field::HOP_LIMIT] = hop_limit;
    f[field::IP_SRC].copy_from_slice(&src.octets());
    f[field::IP_DST].copy_from_slice(&dst.octets());
}

/// The ICMPv6 checksum over the pseudo-header and the message, once everything else is written.
fn seal(f: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) {
    let icmp = &f[field::ICMP..];
    let sum =
        checksum::pseudo(IpAddr::V6(src), IpAddr::V6(dst), NEXT_HEADER_ICMPV6, icmp.len() as u32) + checksum::sum(icmp);
    f[field::CHECKSUM].copy_from_slice(&checksum::finish(sum).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsolicited_na_round_trips_with_a_valid_checksum() {
        let mac = [0x02, 0, 0, 0, 0, 1];
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let r = Repr::unsolicited(mac, vip, false);
        let mut f = [0u8; FRAME_LEN];
        assert_eq!(r.emit(&mut f), r.buffer_len());
        assert_eq!(f.len(), 86);
        assert_eq!(&f[..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(Repr::parse(&f), Some(r));
        assert_eq!(r.flags, FLAG_OVERRIDE);
        assert_eq!(Repr::unsolicited(mac, vip, true).flags, FLAG_OVERRIDE | FLAG_ROUTER);
        // Any flipped bit in the ICMPv6 part fails the checksum.
        let mut bad = f;
        bad[70] ^= 1;
        assert_eq!(Repr::parse(&bad), None);
        assert_eq!(Repr::parse(&f[..60]), None);
    }

    #[test]
    fn dad_probe_goes_to_the_solicited_node_group_from_the_unspecified_address() {
        let mut f = [0u8; NS_FRAME_LEN];
        DadProbe { mac: [2, 0, 0, 0, 0, 1], target: "2001:db8::1:2:100".parse().unwrap() }.emit(&mut f);
        assert_eq!(&f[..6], &[0x33, 0x33, 0xff, 0x02, 0x01, 0x00]);
        assert_eq!(&f[22..38], &[0u8; 16], "source ::");
        assert_eq!(
            Ipv6Addr::from(<[u8; 16]>::try_from(&f[38..54]).unwrap()),
            "ff02::1:ff02:100".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(f[54], 135);
        let sum = checksum::pseudo(IpAddr::V6(Ipv6Addr::UNSPECIFIED), "ff02::1:ff02:100".parse().unwrap(), 58, 24)
            + checksum::sum(&f[54..]);
        assert_eq!(checksum::finish(sum), 0, "the checksum verifies");
        assert_eq!(Repr::parse(&f), None, "not an advertisement");
    }
}
