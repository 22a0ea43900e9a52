//! Gratuitous ARP: an Ethernet broadcast ARP request with sender = target = the VIP, as
//! keepalived sends after taking over, so switches and neighbours learn the new owner.

use std::net::Ipv4Addr;

pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const FRAME_LEN: usize = 42;

pub fn gratuitous(mac: [u8; 6], ip: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]); // destination: broadcast
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    f[32..38].copy_from_slice(&[0xff; 6]); // keepalived's target hardware address
    f[38..42].copy_from_slice(&ip.octets());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout() {
        let f = gratuitous([2, 0, 0, 0, 0, 1], Ipv4Addr::new(198, 18, 0, 100));
        assert_eq!(&f[..6], &[0xff; 6]);
        assert_eq!(&f[12..14], &[8, 6]);
        assert_eq!(&f[20..22], &[0, 1]);
        assert_eq!(&f[22..28], &[2, 0, 0, 0, 0, 1]);
        assert_eq!(&f[28..32], &[198, 18, 0, 100]);
        assert_eq!(&f[38..42], &[198, 18, 0, 100]);
    }
}
