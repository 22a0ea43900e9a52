//! The IPv4 header an IPv4 raw socket hands over with each datagram: addresses, TTL, and
//! the payload it delimits.

use std::net::{IpAddr, Ipv4Addr};

use super::Received;

pub const MIN_HEADER_LEN: usize = 20;

mod field {
    use std::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const TTL: usize = 8;
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
}
