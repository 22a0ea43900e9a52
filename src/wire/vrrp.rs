//! VRRP advertisement codec, v2 (RFC 3768) and v3 (RFC 5798/9568), in the smoltcp style:
//! a checked [`Packet`] view over bytes and a [`Repr`] that parses and emits it.
//! Parsing never allocates and never reads out of bounds.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum;

pub const PROTOCOL: u8 = 112;
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
const TYPE_ADVERT: u8 = 1;
pub const AUTH_LEN: usize = 8;
pub const HEADER_LEN: usize = 8;

mod field {
    use std::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2: authentication type.
    pub const AUTH_TYPE: usize = 4;
    /// v2: advert interval in seconds.
    pub const ADVER_INT: usize = 5;
    /// v3: 4 reserved bits + 12-bit max advert interval in centiseconds.
    pub const MAX_ADVER_INT: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRS: usize = 8;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    pub fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

/// Why bytes are not a VRRP advert we can read. Each is a drop reason for logs and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// Shorter than the header, or than the header plus its count of addresses (plus auth).
    Truncated,
    Version(u8),
    Type(u8),
    /// VRRPv2 over IPv6 does not exist.
    V2OverIpv6,
    /// The v3 reserved bits are not zero.
    Reserved,
    AuthType(u8),
}

#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T, family: Family) -> Self {
        Packet { buffer, family }
    }

    /// A view whose accessors cannot go out of bounds: the buffer holds the header, every
    /// address its count promises and (v2) the auth data. Trailing bytes (padding) are fine.
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, Error> {
        let p = Packet { buffer, family };
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        match p.version() {
            2 if family == Family::V6 => return Err(Error::V2OverIpv6),
            2 | 3 => {}
            v => return Err(Error::Version(v)),
        }
        if len < p.message_len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn version(&self) -> u8 {
        self.b()[field::VER_TYPE] >> 4
    }

    pub fn msg_type(&self) -> u8 {
        self.b()[field::VER_TYPE] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.b()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.b()[field::PRIORITY]
    }

    pub fn count(&self) -> u8 {
        self.b()[field::COUNT]
    }

    /// v2 only.
    pub fn auth_type(&self) -> u8 {
        self.b()[field::AUTH_TYPE]
    }

    /// The advert interval in centiseconds, whatever the version.
    pub fn interval_cs(&self) -> u16 {
        if self.version() == 2 {
            u16::from(self.b()[field::ADVER_INT]) * 100
        } else {
            u16::from_be_bytes([self.b()[4], self.b()[5]]) & 0x0fff
        }
    }

    /// v3 only: the 4 bits before the interval.
    pub fn reserved(&self) -> u8 {
        self.b()[field::MAX_ADVER_INT.start] >> 4
    }

    pub fn checksum(&self) -> u16 {
        let c = &self.b()[field::CHECKSUM];
        u16::from_be_bytes([c[0], c[1]])
    }

    fn addrs_len(&self) -> usize {
        usize::from(self.count()) * self.family.addr_len()
    }

    /// Length of the VRRP message proper (header, addresses, v2 auth data).
    pub fn message_len(&self) -> usize {
        HEADER_LEN + self.addrs_len() + if self.version() == 2 { AUTH_LEN } else { 0 }
    }

    /// v2 only: the 8 authentication bytes after the addresses.
    pub fn auth_data(&self) -> &[u8] {
        let start = field::ADDRS + self.addrs_len();
        &self.b()[start..start + AUTH_LEN]
    }

    fn sum_with(&self, pseudo: Pseudo) -> u16 {
        let msg = &self.b()[..self.message_len()];
        let base = match pseudo {
            Pseudo::None => 0,
            Pseudo::Ip { src, dst } => checksum::pseudo(src, dst, PROTOCOL, msg.len() as u32),
        };
        checksum::finish(base + checksum::sum(msg))
    }

    /// Checksum as received. v2 and IPv6 have one form; a v3 IPv4 advert is accepted with
    /// keepalived's pseudo-header over the actual destination, with 224.0.0.18 as the
    /// destination (keepalived ≤ 1.3.6 in unicast), or without pseudo-header (RFC 9568's
    /// erratum, `v3_checksum_as_v2`, some routers).
    pub fn checksum_ok(&self, src: IpAddr, dst: IpAddr) -> bool {
        if self.version() == 2 {
            return self.sum_with(Pseudo::None) == 0;
        }
        if self.sum_with(Pseudo::Ip { src, dst }) == 0 {
            return true;
        }
        self.family == Family::V4
            && (self.sum_with(Pseudo::Ip { src, dst: IpAddr::V4(MULTICAST_V4) }) == 0
                || self.sum_with(Pseudo::None) == 0)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    fn set_checksum(&mut self, pseudo: Pseudo) {
        self.bm()[field::CHECKSUM].copy_from_slice(&[0, 0]);
        let c = self.sum_with(pseudo);
        self.bm()[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
}

/// What the checksum covers besides the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pseudo {
    None,
    Ip { src: IpAddr, dst: IpAddr },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// v2 auth type 0, and every v3 advert.
    None,
    /// v2 simple password: 8 bytes, the password truncated and zero padded.
    Pass([u8; AUTH_LEN]),
}

impl Auth {
    /// keepalived's `auth_pass`: the first 8 bytes, zero padded.
    pub fn pass(password: &str) -> Auth {
        let mut b = [0u8; AUTH_LEN];
        let p = password.as_bytes();
        let n = p.len().min(AUTH_LEN);
        b[..n].copy_from_slice(&p[..n]);
        Auth::Pass(b)
    }
}

/// The addresses of an advert, as the bytes they travel in (no allocation to parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrList<'a> {
    family: Family,
    bytes: &'a [u8],
}

impl<'a> AddrList<'a> {
    /// `bytes` must hold whole addresses of `family`.
    pub fn new(family: Family, bytes: &'a [u8]) -> Option<Self> {
        (bytes.len() % family.addr_len() == 0 && bytes.len() / family.addr_len() <= 255)
            .then_some(AddrList { family, bytes })
    }

    pub fn len(&self) -> usize {
        self.bytes.len() / self.family.addr_len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Whether this list holds the addresses encoded in `other` (same family), in any
    /// order, as keepalived compares an advert's list with its own.
    pub fn same_set(&self, other: &[u8]) -> bool {
        let width = self.family.addr_len();
        self.bytes.len() == other.len() && other.chunks(width).all(|a| self.bytes.chunks(width).any(|b| a == b))
    }

    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + 'a {
        let family = self.family;
        self.bytes.chunks_exact(family.addr_len()).map(move |c| match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
            Family::V6 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(c);
                IpAddr::V6(Ipv6Addr::from(o))
            }
        })
    }
}

/// Encode addresses once (at start) for every later advert.
pub fn encode_addrs(addrs: impl IntoIterator<Item = IpAddr>) -> Vec<u8> {
    let mut out = Vec::new();
    for a in addrs {
        match a {
            IpAddr::V4(v) => out.extend_from_slice(&v.octets()),
            IpAddr::V6(v) => out.extend_from_slice(&v.octets()),
        }
    }
    out
}

/// The most addresses one advert may carry: 255 (an 8-bit count) and what fits the MTU
/// after the IP header.
pub fn max_addrs(family: Family, version: u8, mtu: usize) -> usize {
    let ip_header = if family == Family::V4 { 20 } else { 40 };
    let auth = if version == 2 { AUTH_LEN } else { 0 };
    (mtu.saturating_sub(ip_header + HEADER_LEN + auth) / family.addr_len()).min(255)
}

/// A high-level VRRP advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    /// Centiseconds; v2 carries whole seconds.
    pub interval_cs: u16,
    pub auth: Auth,
    pub addrs: AddrList<'a>,
}

impl<'a> Repr<'a> {
    /// Read an advert from a checked packet. Does not check the checksum (that needs the
    /// IP addresses; see [`Packet::checksum_ok`]).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(p: &Packet<&'a T>) -> Result<Self, Error> {
        if p.msg_type() != TYPE_ADVERT {
            return Err(Error::Type(p.msg_type()));
        }
        let auth = if p.version() == 2 {
            match p.auth_type() {
                0 => Auth::None,
                1 => {
                    let mut b = [0u8; AUTH_LEN];
                    b.copy_from_slice(p.auth_data());
                    Auth::Pass(b)
                }
                // 2 is IP AH (RFC 2338), removed by RFC 3768: recognised, refused.
                t => return Err(Error::AuthType(t)),
            }
        } else {
            if p.reserved() != 0 {
                return Err(Error::Reserved);
            }
            Auth::None
        };
        let whole: &'a [u8] = p.buffer.as_ref();
        let addrs = &whole[field::ADDRS..field::ADDRS + usize::from(p.count()) * p.family.addr_len()];
        Ok(Repr {
            version: p.version(),
            vrid: p.vrid(),
            priority: p.priority(),
            interval_cs: p.interval_cs(),
            auth,
            addrs: AddrList { family: p.family, bytes: addrs },
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.addrs.bytes.len() + if self.version == 2 { AUTH_LEN } else { 0 }
    }

    /// Write the advert into `buf` (at least `buffer_len()` bytes) and checksum it.
    /// `pseudo` is used for v3 only; v2's checksum never has a pseudo-header.
    pub fn emit(&self, buf: &mut [u8], pseudo: Pseudo) -> usize {
        let len = self.buffer_len();
        let b = &mut buf[..len];
        b[field::VER_TYPE] = (self.version << 4) | TYPE_ADVERT;
        b[field::VRID] = self.vrid;
        b[field::PRIORITY] = self.priority;
        b[field::COUNT] = self.addrs.len() as u8;
        if self.version == 2 {
            b[field::AUTH_TYPE] = match self.auth {
                Auth::None => 0,
                Auth::Pass(_) => 1,
            };
            b[field::ADVER_INT] = (self.interval_cs / 100).min(255) as u8;
        } else {
            b[field::MAX_ADVER_INT].copy_from_slice(&(self.interval_cs & 0x0fff).to_be_bytes());
        }
        let end = field::ADDRS + self.addrs.bytes.len();
        b[field::ADDRS..end].copy_from_slice(self.addrs.bytes);
        if self.version == 2 {
            b[end..end + AUTH_LEN].copy_from_slice(match &self.auth {
                Auth::Pass(p) => p,
                Auth::None => &[0; AUTH_LEN],
            });
        }
        let mut p = Packet::new_unchecked(b, self.addrs.family);
        p.set_checksum(if self.version == 2 { Pseudo::None } else { pseudo });
        len
    }
}

#[cfg(test)]
#[path = "vrrp_tests.rs"]
mod tests;
