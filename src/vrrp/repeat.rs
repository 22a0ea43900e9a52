//! A backup's shortcut for its master's steady adverts. A master sends the same bytes every
//! interval, and everything `Instance::receive` checks (TTL aside) is a function of those
//! bytes, their source and destination, and the instance's parameters and state: a repeat
//! of the advert last accepted is accepted again without parsing it. The instance forgets
//! the advert on any event, parameter change or transition, so a repeat is only ever taken
//! under the conditions its first copy was checked in. An idle backup's every wake is such
//! a repeat; the shortcut keeps the parser, the checksum and the checks out of its cache.

use std::net::IpAddr;

#[derive(Debug, Default)]
pub struct Repeat {
    /// Source and destination of the advert remembered; `None`: nothing remembered.
    from: Option<(IpAddr, IpAddr)>,
    /// Its VRRP bytes (the buffer is kept across adverts: no allocation per advert).
    bytes: Vec<u8>,
    priority: u8,
}

impl Repeat {
    /// The remembered advert's priority if `payload` from `src` to `dst` is that advert.
    pub fn matches(&self, src: IpAddr, dst: IpAddr, payload: &[u8]) -> Option<u8> {
        (self.from == Some((src, dst)) && self.bytes == payload).then_some(self.priority)
    }

    /// Remember an advert the instance accepted from the master it follows.
    pub fn remember(&mut self, src: IpAddr, dst: IpAddr, payload: &[u8], priority: u8) {
        self.from = Some((src, dst));
        self.bytes.clear();
        self.bytes.extend_from_slice(payload);
        self.priority = priority;
    }

    pub fn forget(&mut self) {
        self.from = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_bytes_between_the_same_ends_repeat() {
        let (a, b, g): (IpAddr, IpAddr, IpAddr) =
            ("198.18.0.1".parse().unwrap(), "198.18.0.2".parse().unwrap(), "224.0.0.18".parse().unwrap());
        let advert = [0x21, 51, 200, 1, 1, 1, 0xaa, 0xbb];
        let mut r = Repeat::default();
        assert_eq!(r.matches(a, g, &advert), None, "nothing remembered");
        r.remember(a, g, &advert, 200);
        assert_eq!(r.matches(a, g, &advert), Some(200));
        assert_eq!(r.matches(b, g, &advert), None, "another source");
        assert_eq!(r.matches(a, b, &advert), None, "another destination");
        assert_eq!(r.matches(a, g, &advert[..7]), None, "shorter");
        let mut other = advert;
        other[2] = 0;
        assert_eq!(r.matches(a, g, &other), None, "one byte differs");
        r.forget();
        assert_eq!(r.matches(a, g, &advert), None, "forgotten");
    }
}
