//! The Ethernet II header in front of the ARP and neighbour-discovery frames.

pub const HEADER_LEN: usize = 14;

mod field {
    use std::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub ethertype: u16,
}

impl Header {
    /// The header of `frame`, or `None` when it is too short.
    pub fn parse(frame: &[u8]) -> Option<Header> {
        let mac = |r| <[u8; 6]>::try_from(frame.get(r)?).ok();
        let t = frame.get(field::ETHERTYPE)?;
        Some(Header { dst: mac(field::DST)?, src: mac(field::SRC)?, ethertype: u16::from_be_bytes([t[0], t[1]]) })
    }

    /// Into the first `HEADER_LEN` bytes of `frame`.
    pub fn emit(&self, frame: &mut [u8]) {
        frame[field::DST].copy_from_slice(&self.dst);
        frame[field::SRC].copy_from_slice(&self.src);
        frame[field::ETHERTYPE].copy_from_slice(&self.ethertype.to_be_bytes());
    }
}

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// After the Ethernet header: where an IPv4 / IPv6 header keeps its protocol and source.
const IPV4_PROTOCOL: usize = HEADER_LEN + 9;
const IPV4_SRC: std::ops::Range<usize> = HEADER_LEN + 12..HEADER_LEN + 16;
const IPV6_NEXT_HEADER: usize = HEADER_LEN + 6;
const IPV6_SRC: std::ops::Range<usize> = HEADER_LEN + 8..HEADER_LEN + 24;

/// A VRRP advert's IP source and the MAC it came from, for a frame carrying one (the raw IP
/// socket delivers the advert without its Ethernet header).
/// `00:00:5e:00:01:33`.
pub fn mac_string(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

pub fn vrrp_sender(frame: &[u8]) -> Option<(std::net::IpAddr, [u8; 6])> {
    let h = Header::parse(frame)?;
    let ip = match h.ethertype {
        ETHERTYPE_IPV4 if *frame.get(IPV4_PROTOCOL)? == super::vrrp::PROTOCOL => {
            std::net::IpAddr::from(<[u8; 4]>::try_from(frame.get(IPV4_SRC)?).ok()?)
        }
        ETHERTYPE_IPV6 if *frame.get(IPV6_NEXT_HEADER)? == super::vrrp::PROTOCOL => {
            std::net::IpAddr::from(<[u8; 16]>::try_from(frame.get(IPV6_SRC)?).ok()?)
        }
        _ => return None,
    };
    Some((ip, h.src))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_of_a_vrrp_frame_and_nothing_else() {
        let mut f = [0u8; 60];
        Header { dst: [1; 6], src: [2; 6], ethertype: ETHERTYPE_IPV4 }.emit(&mut f);
        f[IPV4_PROTOCOL] = 112;
        f[IPV4_SRC].copy_from_slice(&[198, 18, 0, 1]);
        assert_eq!(vrrp_sender(&f), Some(("198.18.0.1".parse().unwrap(), [2; 6])));
        f[IPV4_PROTOCOL] = 1;
        assert_eq!(vrrp_sender(&f), None, "ICMP");
        let mut g = [0u8; 70];
        Header { dst: [1; 6], src: [3; 6], ethertype: ETHERTYPE_IPV6 }.emit(&mut g);
        g[IPV6_NEXT_HEADER] = 112;
        g[IPV6_SRC].copy_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        assert_eq!(vrrp_sender(&g), Some(("fe80::1".parse().unwrap(), [3; 6])));
        assert_eq!(vrrp_sender(&g[..30]), None, "short");
    }

    #[test]
    fn round_trip_and_short_frames() {
        let h = Header { dst: [0xff; 6], src: [2, 0, 0, 0, 0, 1], ethertype: 0x0806 };
        let mut f = [0u8; HEADER_LEN + 2];
        h.emit(&mut f);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(Header::parse(&f), Some(h));
        assert_eq!(Header::parse(&f[..13]), None);
    }
}
