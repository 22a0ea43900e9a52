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

#[cfg(test)]
mod tests {
    use super::*;

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
