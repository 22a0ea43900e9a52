//! The Internet checksum (RFC 1071), with the pseudo-headers VRRPv3 uses.

use std::net::IpAddr;

/// One's-complement sum of 16-bit big-endian words, not yet folded.
pub fn sum(data: &[u8]) -> u32 {
    let mut acc: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// Fold and complement a running sum into the checksum field value.
pub fn finish(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Sum of the pseudo-header {src, dst, zero, protocol, length} (IPv4) or
/// {src, dst, length, zero, next header} (IPv6): the same words either way.
pub fn pseudo(src: IpAddr, dst: IpAddr, proto: u8, len: u32) -> u32 {
    let addr = |a: IpAddr| match a {
        IpAddr::V4(v) => sum(&v.octets()),
        IpAddr::V6(v) => sum(&v.octets()),
    };
    addr(src) + addr(dst) + u32::from(proto) + (len >> 16) + (len & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded); checksum 220d.
        assert_eq!(finish(sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12]), 0x1200);
        assert_eq!(finish(sum(&[0xff, 0xff])), 0);
    }
}
