//! ARP over Ethernet, the two frames keepvip sends and the one thing it reads:
//! - a gratuitous ARP: a broadcast request with sender = target = the VIP, as keepalived
//!   sends after taking over, so switches and neighbours learn the new owner;
//! - an RFC 5227 probe (sender address 0.0.0.0): "does anyone else hold this address?",
//!   which any host holding it answers (Linux does, for DAD);
//! - the sender of a received ARP frame, to see who answers for a VIP.

use std::net::Ipv4Addr;

use super::ethernet;

pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const FRAME_LEN: usize = 42;

/// After the Ethernet header.
mod field {
    use std::ops::Range;
    pub const HTYPE: Range<usize> = 14..16;
    pub const PTYPE: Range<usize> = 16..18;
    pub const HLEN: usize = 18;
    pub const PLEN: usize = 19;
    pub const OPER: Range<usize> = 20..22;
    pub const SHA: Range<usize> = 22..28;
    pub const SPA: Range<usize> = 28..32;
    pub const THA: Range<usize> = 32..38;
    pub const TPA: Range<usize> = 38..42;
}

const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;
pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

/// An Ethernet/IPv4 ARP frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub dst: [u8; 6],
    /// The Ethernet source: the sender's MAC, except in an announcement made on behalf of
    /// another host (`announcement_for`).
    pub src: [u8; 6],
    pub op: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// An Ethernet/IPv4 ARP frame, or `None` for anything else or too short.
    pub fn parse(frame: &[u8]) -> Option<Repr> {
        let u16_at = |r: std::ops::Range<usize>| u16::from_be_bytes([frame[r.start], frame[r.start + 1]]);
        let ip_at = |r: std::ops::Range<usize>| {
            Ipv4Addr::new(frame[r.start], frame[r.start + 1], frame[r.start + 2], frame[r.start + 3])
        };
        let mac_at = |r: std::ops::Range<usize>| -> [u8; 6] { frame[r].try_into().unwrap_or_default() };
        let eth = ethernet::Header::parse(frame)?;
        if frame.len() < FRAME_LEN
            || eth.ethertype != ETHERTYPE_ARP
            || u16_at(field::HTYPE) != HTYPE_ETHERNET
            || u16_at(field::PTYPE) != PTYPE_IPV4
            || frame[field::HLEN] != 6
            || frame[field::PLEN] != 4
        {
            return None;
        }
        Some(Repr {
            dst: eth.dst,
            src: eth.src,
            op: u16_at(field::OPER),
            sender_mac: mac_at(field::SHA),
            sender_ip: ip_at(field::SPA),
            target_mac: mac_at(field::THA),
            target_ip: ip_at(field::TPA),
        })
    }

    pub fn buffer_len(&self) -> usize {
        FRAME_LEN
    }

    /// Into the first `buffer_len()` bytes of `f`; returns that length.
    pub fn emit(&self, f: &mut [u8]) -> usize {
        ethernet::Header { dst: self.dst, src: self.src, ethertype: ETHERTYPE_ARP }.emit(f);
        f[field::HTYPE].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        f[field::PTYPE].copy_from_slice(&PTYPE_IPV4.to_be_bytes());
        f[field::HLEN] = 6;
        f[field::PLEN] = 4;
        f[field::OPER].copy_from_slice(&self.op.to_be_bytes());
        f[field::SHA].copy_from_slice(&self.sender_mac);
        f[field::SPA].copy_from_slice(&self.sender_ip.octets());
        f[field::THA].copy_from_slice(&self.target_mac);
        f[field::TPA].copy_from_slice(&self.target_ip.octets());
        FRAME_LEN
    }
}

pub fn gratuitous(mac: [u8; 6], ip: Ipv4Addr) -> Repr {
    announcement_for(mac, mac, ip)
}

/// A gratuitous ARP saying `ip` is at `theirs`, sent from `ours` (the frame's source, so
/// switches keep learning each MAC on its own port).
pub fn announcement_for(ours: [u8; 6], theirs: [u8; 6], ip: Ipv4Addr) -> Repr {
    // Target hardware address all ones: keepalived's choice.
    Repr {
        dst: [0xff; 6],
        src: ours,
        op: OP_REQUEST,
        sender_mac: theirs,
        sender_ip: ip,
        target_mac: [0xff; 6],
        target_ip: ip,
    }
}

/// An ARP probe (RFC 5227: no sender address) for `ip`; `tag` goes in the target hardware
/// address, which receivers ignore: all zeroes, or the backups that ask (`backups_tag`).
pub fn arp_probe(mac: [u8; 6], ip: Ipv4Addr, tag: [u8; 6]) -> Repr {
    Repr {
        dst: [0xff; 6],
        src: mac,
        op: OP_REQUEST,
        sender_mac: mac,
        sender_ip: Ipv4Addr::UNSPECIFIED,
        target_mac: tag,
        target_ip: ip,
    }
}

/// Who asks in a keepvip early-failover probe: up to three (VRID, priority) pairs of the
/// backups following the probed master, written where RFC 5227 puts a field receivers
/// ignore (their kernels answer as for any probe). Priority 0 ends the list; 255 is no
/// pair (an address owner never probes), so the all-ones other stacks may write there
/// reads as nobody.
pub fn backups_tag(pairs: impl IntoIterator<Item = (u8, u8)>) -> [u8; 6] {
    let mut tag = [0u8; 6];
    for (slot, (vrid, priority)) in tag.chunks_exact_mut(2).zip(pairs.into_iter().filter(|p| (1..255).contains(&p.1))) {
        slot.copy_from_slice(&[vrid, priority]);
    }
    tag
}

/// The pairs `backups_tag` wrote.
pub fn backups_in(tag: [u8; 6]) -> impl Iterator<Item = (u8, u8)> {
    (0..3).map(move |i| (tag[2 * i], tag[2 * i + 1])).take_while(|p| p.1 != 0).filter(|p| p.1 != 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    fn frame(r: &Repr) -> [u8; FRAME_LEN] {
        let mut f = [0u8; FRAME_LEN];
        assert_eq!(r.emit(&mut f), r.buffer_len());
        f
    }
    const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);

    #[test]
    fn gratuitous_layout() {
        let f = frame(&gratuitous(MAC, VIP));
        assert_eq!(&f[..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[8, 6]);
        assert_eq!(&f[20..22], &[0, 1]);
        assert_eq!(&f[22..28], &MAC);
        assert_eq!(&f[28..32], &[198, 18, 0, 100]);
        assert_eq!(&f[32..38], &[0xff; 6]);
        assert_eq!(&f[38..42], &[198, 18, 0, 100]);
    }

    #[test]
    fn an_announcement_for_another_host_comes_from_our_mac_and_names_theirs() {
        let theirs = [2, 0, 0, 0, 0, 9];
        let f = frame(&announcement_for(MAC, theirs, VIP));
        assert_eq!(&f[6..12], &MAC, "Ethernet source: ours, so switches keep each MAC on its port");
        assert_eq!(&f[22..28], &theirs, "sender hardware address: where the VIP is");
        assert_eq!(&f[28..32], &[198, 18, 0, 100]);
        assert_eq!(&f[38..42], &[198, 18, 0, 100]);
    }

    #[test]
    fn probe_layout_has_no_sender_address() {
        let f = frame(&arp_probe(MAC, VIP, [0; 6]));
        assert_eq!(&f[28..32], &[0; 4]);
        assert_eq!(&f[32..38], &[0; 6]);
        assert_eq!(&f[38..42], &[198, 18, 0, 100]);
    }

    #[test]
    fn parse_round_trips_and_refuses_what_is_not_ethernet_ipv4_arp() {
        let r = Repr::parse(&frame(&arp_probe(MAC, VIP, [0; 6]))).unwrap();
        assert_eq!((r.op, r.sender_mac, r.sender_ip, r.target_ip), (OP_REQUEST, MAC, Ipv4Addr::UNSPECIFIED, VIP));
        let reply = Repr {
            dst: MAC,
            src: [2, 0, 0, 0, 0, 2],
            op: OP_REPLY,
            sender_mac: [2, 0, 0, 0, 0, 2],
            sender_ip: VIP,
            target_mac: MAC,
            target_ip: Ipv4Addr::UNSPECIFIED,
        };
        assert_eq!(Repr::parse(&frame(&reply)), Some(reply));
        // Padded to Ethernet's minimum (as received): still parsed.
        let mut padded = frame(&reply).to_vec();
        padded.resize(60, 0);
        assert_eq!(Repr::parse(&padded), Some(reply));
        let f = frame(&gratuitous(MAC, VIP));
        for n in 0..FRAME_LEN {
            assert_eq!(Repr::parse(&f[..n]), None, "{n} bytes");
        }
        for (at, v) in [(12, 0x86), (13, 0x00), (15, 6), (17, 0xdd), (18, 8), (19, 16)] {
            let mut bad = f;
            bad[at] = v;
            assert_eq!(Repr::parse(&bad), None, "byte {at} = {v}");
        }
    }

    #[test]
    fn a_probe_names_up_to_three_backups_and_foreign_tags_name_none() {
        let tag = backups_tag([(51, 190), (52, 0), (53, 255), (54, 100), (55, 90), (56, 80)]);
        assert_eq!(tag, [51, 190, 54, 100, 55, 90], "priority 0 and 255 are no backup's");
        let f = frame(&arp_probe(MAC, VIP, tag));
        assert_eq!(&f[32..38], &tag);
        let r = Repr::parse(&f).unwrap();
        assert_eq!(backups_in(r.target_mac).collect::<Vec<_>>(), [(51, 190), (54, 100), (55, 90)]);
        assert_eq!(backups_in(backups_tag([(51, 190)])).collect::<Vec<_>>(), [(51, 190)]);
        for foreign in [[0; 6], [0xff; 6], [51, 0, 52, 100, 0, 0]] {
            assert_eq!(backups_in(foreign).count(), 0, "{foreign:?}");
        }
    }
}
