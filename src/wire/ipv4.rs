//! The IPv4 header an IPv4 raw socket hands over with each datagram: addresses, TTL, and
//! the payload it delimits.

use std::net::{IpAddr, Ipv4Addr};

use super::Received;

pub const MIN_HEADER_LEN: usize = 20;

mod field {
    use std::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// The datagram in `b`, or `None` when its header does not parse (counted by the caller,
/// never guessed at).
pub fn parse(b: &[u8]) -> Option<Received<'_>> {
    if b.len() < MIN_HEADER_LEN || b[field::VER_IHL] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(b[field::VER_IHL] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([b[field::TOTAL_LEN.start], b[field::TOTAL_LEN.start + 1]]));
    if ihl < MIN_HEADER_LEN || total < ihl || total > b.len() {
        return None;
    }
    let addr = |r: std::ops::Range<usize>| {
        IpAddr::V4(Ipv4Addr::new(b[r.start], b[r.start + 1], b[r.start + 2], b[r.start + 3]))
    };
    Some(Received { src: addr(field::SRC), dst: addr(field::DST), ttl: b[field::TTL], payload: &b[ihl..total] })
}

/// What a header to write says: the rest is fixed (no options, don't fragment).
pub struct Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub payload_len: usize,
}

impl Repr {
    /// Into the first `MIN_HEADER_LEN` bytes of `b`, checksum included.
    pub fn emit(&self, b: &mut [u8]) {
        b[..MIN_HEADER_LEN].fill(0);
        b[field::VER_IHL] = 0x45;
        b[field::TOS] = self.tos;
        b[field::TOTAL_LEN].copy_from_slice(&((MIN_HEADER_LEN + self.payload_len) as u16).to_be_bytes());
        b[field::FLAGS_FRAG].copy_from_slice(&0x4000u16.to_be_bytes());
        b[field::TTL] = self.ttl;
        b[field::PROTOCOL] = self.protocol;
        b[field::SRC].copy_from_slice(&self.src.octets());
        b[field::DST].copy_from_slice(&self.dst.octets());
        let c = super::checksum::finish(super::checksum::sum(&b[..MIN_HEADER_LEN]));
        b[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_and_bounds() {
        let mut b = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 255, 112, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1];
        b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 99, 99]); // payload + trailing junk
        let d = parse(&b).unwrap();
        assert_eq!((d.ttl, d.src.to_string(), d.dst.to_string()), (255, "198.18.0.2".into(), "198.18.0.1".into()));
        assert_eq!(d.payload, &[1, 2, 3, 4, 5, 6, 7, 8]);
        b[3] = 200;
        assert!(parse(&b).is_none(), "total length beyond the buffer");
        assert!(parse(&b[..10]).is_none());
        assert!(parse(&[0x44; 30]).is_none());
    }

    #[test]
    fn an_emitted_header_parses_back_and_checks_out() {
        let mut b = [0u8; 28];
        let r = Repr {
            src: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            protocol: 112,
            ttl: 255,
            tos: 0xc0,
            payload_len: 8,
        };
        r.emit(&mut b);
        let d = parse(&b).unwrap();
        assert_eq!((d.ttl, d.src, d.dst, d.payload.len()), (255, IpAddr::V4(r.src), IpAddr::V4(r.dst), 8));
        assert_eq!(super::super::checksum::finish(super::super::checksum::sum(&b[..20])), 0);
    }
}
