//! Netlink attributes written as bytes, for the requests neli has no types for (nftables,
//! macvlan links, interface settings).

const NLA_F_NESTED: u16 = 0x8000;

/// An attribute list being written.
#[derive(Default)]
pub(super) struct Attrs(pub Vec<u8>);

impl Attrs {
    pub fn put(&mut self, ty: u16, payload: &[u8]) -> &mut Self {
        let len = 4 + payload.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(payload);
        self.0.resize(self.0.len().next_multiple_of(4), 0);
        self
    }
    /// A NUL-terminated string.
    pub fn str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.put(ty, &b)
    }
    /// nftables numbers are big-endian.
    pub fn be32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.put(ty, &v.to_be_bytes())
    }
    /// rtnetlink numbers are the host's.
    pub fn ne32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.put(ty, &v.to_ne_bytes())
    }
    pub fn nest(&mut self, ty: u16, inner: &Attrs) -> &mut Self {
        self.put(ty | NLA_F_NESTED, &inner.0)
    }
}
