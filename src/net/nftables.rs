//! keepalived's `no_accept` in the kernel: nftables tables `ip keepvip` and `ip6 keepvip`
//! whose input and output chains drop traffic to and from a set of VIPs. Each change
//! rebuilds a family's table in one nfnetlink batch (add, delete, add again: atomic, and
//! no error when it was absent), so no moment passes without the rules, and a crash's
//! table is replaced whole. The messages are written as bytes: neli has no nftables types.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use anyhow::{bail, Context, Result};

use super::nla::Attrs;
use nix::sys::socket::{
    bind, recv, send, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};

/// The tables' name in both families.
pub const TABLE: &str = "keepvip";

// linux/netfilter/nfnetlink.h, nf_tables.h, netfilter.h.
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLMSG_ERROR: u16 = 2;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const NF_INET_LOCAL_IN: u32 = 1;
const NF_INET_LOCAL_OUT: u32 = 3;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
/// As keepalived's chains: just before the filter hooks' usual priority 0.
const CHAIN_PRIORITY: i32 = -1;
const SET: &str = "vips";
const SET_ID: u32 = 1;
const ICMPV6: u8 = 58;
const NEIGHBOUR_SOLICITATION: u8 = 135;
const NEIGHBOUR_ADVERTISEMENT: u8 = 136;

/// One expression of a rule: its name and its attributes.
fn expr(name: &str, data: &Attrs) -> Attrs {
    let mut e = Attrs::default();
    e.str(1, name).nest(2, data); // NFTA_EXPR_NAME, NFTA_EXPR_DATA
    e
}

/// Load `len` bytes at `offset` of a header (1: network, 2: transport) into register 1.
fn payload(base: u32, offset: u32, len: u32) -> Attrs {
    let mut d = Attrs::default();
    d.be32(1, 1).be32(2, base).be32(3, offset).be32(4, len); // DREG, BASE, OFFSET, LEN
    expr("payload", &d)
}

/// Register 1 equals `value`.
fn equals(value: &[u8]) -> Attrs {
    let mut data = Attrs::default();
    data.put(1, value); // NFTA_DATA_VALUE
    let mut d = Attrs::default();
    d.be32(1, 1).be32(2, 0).nest(3, &data); // SREG, OP eq, DATA
    expr("cmp", &d)
}

/// Register 1 is in our set.
fn in_set() -> Attrs {
    let mut d = Attrs::default();
    d.str(1, SET).be32(2, 1).be32(4, SET_ID); // SET, SREG, SET_ID
    expr("lookup", &d)
}

/// The layer-4 protocol into register 1.
fn l4proto() -> Attrs {
    let mut d = Attrs::default();
    d.be32(1, 1).be32(2, 16); // DREG, KEY NFT_META_L4PROTO
    expr("meta", &d)
}

fn verdict(code: u32) -> Attrs {
    let mut v = Attrs::default();
    v.be32(1, code); // NFTA_VERDICT_CODE
    let mut data = Attrs::default();
    data.nest(2, &v); // NFTA_DATA_VERDICT
    let mut d = Attrs::default();
    d.be32(1, 0).nest(2, &data); // DREG verdict, DATA
    expr("immediate", &d)
}

/// A family's table as it should be: its chains, set, elements and rules, or nothing.
struct Batch {
    bytes: Vec<u8>,
    seq: u32,
    /// Sequence numbers that ask for an acknowledgement.
    acked: Vec<u32>,
}

impl Batch {
    fn new(seq: u32) -> Self {
        let mut b = Batch { bytes: vec![], seq, acked: vec![] };
        b.msg(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, &Attrs::default());
        b
    }

    fn msg(&mut self, ty: u16, flags: u16, family: u8, attrs: &Attrs) {
        let len = 16 + 4 + attrs.0.len();
        self.bytes.extend_from_slice(&(len as u32).to_ne_bytes());
        self.bytes.extend_from_slice(&ty.to_ne_bytes());
        self.bytes.extend_from_slice(&flags.to_ne_bytes());
        self.bytes.extend_from_slice(&self.seq.to_ne_bytes());
        self.bytes.extend_from_slice(&0u32.to_ne_bytes());
        // struct nfgenmsg: family, version 0, resource id (the subsystem for batches).
        self.bytes.push(family);
        self.bytes.push(0);
        let res = if ty == NFNL_MSG_BATCH_BEGIN || ty == NFNL_MSG_BATCH_END { NFNL_SUBSYS_NFTABLES } else { 0 };
        self.bytes.extend_from_slice(&res.to_be_bytes());
        self.bytes.extend_from_slice(&attrs.0);
        if flags & NLM_F_ACK != 0 {
            self.acked.push(self.seq);
        }
        self.seq += 1;
    }

    fn nft(&mut self, msg: u16, family: u8, attrs: &Attrs) {
        let ty = NFNL_SUBSYS_NFTABLES << 8 | msg;
        let flags = match msg {
            NFT_MSG_DELTABLE => 0,
            // Rules in the order written (without APPEND each goes first).
            NFT_MSG_NEWRULE => NLM_F_CREATE | NLM_F_APPEND,
            _ => NLM_F_CREATE,
        };
        self.msg(ty, NLM_F_REQUEST | NLM_F_ACK | flags, family, attrs);
    }

    fn finish(mut self) -> Self {
        self.msg(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, &Attrs::default());
        self
    }
}

fn table_attrs() -> Attrs {
    let mut a = Attrs::default();
    a.str(1, TABLE); // NFTA_TABLE_NAME
    a
}

/// `family`'s table replaced by one that drops traffic to and from `vips` (all of that
/// family), or removed when there are none.
fn rebuild(b: &mut Batch, ipv6: bool, vips: &[IpAddr]) {
    let family = if ipv6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 };
    b.nft(NFT_MSG_NEWTABLE, family, &table_attrs());
    b.nft(NFT_MSG_DELTABLE, family, &table_attrs());
    if vips.is_empty() {
        return;
    }
    b.nft(NFT_MSG_NEWTABLE, family, &table_attrs());
    for (chain, hook) in [("in", NF_INET_LOCAL_IN), ("out", NF_INET_LOCAL_OUT)] {
        let mut h = Attrs::default();
        h.be32(1, hook).be32(2, CHAIN_PRIORITY as u32); // HOOKNUM, PRIORITY
        let mut a = Attrs::default();
        a.str(1, TABLE).str(3, chain).nest(4, &h).be32(5, NF_ACCEPT).str(7, "filter");
        b.nft(NFT_MSG_NEWCHAIN, family, &a);
    }
    let key_len = if ipv6 { 16 } else { 4 };
    let mut s = Attrs::default();
    // TABLE, NAME, FLAGS, KEY_TYPE (nft's ipv4_addr 7 / ipv6_addr 8), KEY_LEN, ID
    s.str(1, TABLE).str(2, SET).be32(3, 0).be32(4, if ipv6 { 8 } else { 7 }).be32(5, key_len).be32(10, SET_ID);
    b.nft(NFT_MSG_NEWSET, family, &s);
    let mut list = Attrs::default();
    for v in vips {
        let bytes = match v {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        let mut value = Attrs::default();
        value.put(1, &bytes); // NFTA_DATA_VALUE
        let mut elem = Attrs::default();
        elem.nest(1, &value); // NFTA_SET_ELEM_KEY
        list.nest(1, &elem); // NFTA_LIST_ELEM
    }
    let mut e = Attrs::default();
    e.str(1, TABLE).str(2, SET).nest(3, &list).be32(4, SET_ID);
    b.nft(NFT_MSG_NEWSETELEM, family, &e);
    // IPv6 neighbour discovery for the VIPs must pass both ways, or the master could
    // not answer for them (keepalived lets it through the same way).
    let (daddr, saddr) = if ipv6 { (24, 8) } else { (16, 12) };
    for (chain, offset) in [("in", daddr), ("out", saddr)] {
        if ipv6 {
            for nd in [NEIGHBOUR_SOLICITATION, NEIGHBOUR_ADVERTISEMENT] {
                rule(
                    b,
                    family,
                    chain,
                    &[l4proto(), equals(&[ICMPV6]), payload(2, 0, 1), equals(&[nd]), verdict(NF_ACCEPT)],
                );
            }
        }
        rule(b, family, chain, &[payload(1, offset, key_len), in_set(), verdict(NF_DROP)]);
    }
}

fn rule(b: &mut Batch, family: u8, chain: &str, exprs: &[Attrs]) {
    let mut list = Attrs::default();
    for e in exprs {
        list.nest(1, e); // NFTA_LIST_ELEM
    }
    let mut a = Attrs::default();
    a.str(1, TABLE).str(2, chain).nest(4, &list); // TABLE, CHAIN, EXPRESSIONS
    b.nft(NFT_MSG_NEWRULE, family, &a);
}

/// An nfnetlink socket for our tables.
pub struct Nftables {
    sock: OwnedFd,
    seq: u32,
}

impl Nftables {
    pub fn open() -> Result<Self> {
        let sock =
            socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkNetFilter)
                .context("opening an nfnetlink socket")?;
        bind(sock.as_raw_fd(), &NetlinkAddr::new(0, 0)).context("binding the nfnetlink socket")?;
        // Answers come at once; a kernel that never answers must not hang the loop.
        setsockopt(&sock, sockopt::ReceiveTimeout, &nix::sys::time::TimeVal::new(2, 0))?;
        Ok(Nftables { sock, seq: 1 })
    }

    /// Each family's table made to drop exactly `vips` (none: removed).
    pub fn set(&mut self, vips: &[IpAddr]) -> Result<()> {
        let mut b = Batch::new(self.seq);
        for ipv6 in [false, true] {
            let of: Vec<IpAddr> = vips.iter().copied().filter(|v| v.is_ipv6() == ipv6).collect();
            rebuild(&mut b, ipv6, &of);
        }
        let b = b.finish();
        self.seq = b.seq;
        send(self.sock.as_raw_fd(), &b.bytes, MsgFlags::empty()).context("sending to nftables")?;
        self.acks(&b.acked)
    }

    /// Every acknowledgement, or the first error the kernel reports.
    fn acks(&self, want: &[u32]) -> Result<()> {
        let mut left: Vec<u32> = want.to_vec();
        let mut buf = vec![0u8; 16384];
        while !left.is_empty() {
            let n = match recv(self.sock.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) => n,
                Err(e) => bail!("no answer from nftables: {}", io::Error::from(e)),
            };
            let mut at = 0;
            while at + 16 <= n {
                let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap_or_default()) as usize;
                let ty = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
                let seq = u32::from_ne_bytes(buf[at + 8..at + 12].try_into().unwrap_or_default());
                if len < 16 || at + len > n {
                    break;
                }
                // An answer to an earlier batch (left after its error) is not ours.
                if ty == NLMSG_ERROR && len >= 20 && left.contains(&seq) {
                    let code = i32::from_ne_bytes(buf[at + 16..at + 20].try_into().unwrap_or_default());
                    if code != 0 {
                        bail!("nftables refused our table: {}", io::Error::from_raw_os_error(-code));
                    }
                    left.retain(|s| *s != seq);
                }
                at += len.next_multiple_of(4);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message of a batch is whole: lengths add up, each nested attribute fits.
    #[test]
    fn a_batch_is_a_sequence_of_whole_messages() {
        let mut b = Batch::new(7);
        rebuild(&mut b, true, &["2001:db8::1".parse().unwrap(), "fe80::1".parse().unwrap()]);
        rebuild(&mut b, false, &[]);
        let b = b.finish();
        let mut at = 0;
        let mut types = vec![];
        while at < b.bytes.len() {
            let len = u32::from_ne_bytes(b.bytes[at..at + 4].try_into().unwrap()) as usize;
            types.push(u16::from_ne_bytes([b.bytes[at + 4], b.bytes[at + 5]]) & 0xff);
            assert_eq!(len % 4, 0);
            at += len;
        }
        assert_eq!(at, b.bytes.len());
        // begin, v6: new/del/new table, 2 chains, set, elements, 3 rules × 2 chains; v4:
        // new/del table; end.
        assert_eq!(types.len(), 1 + 3 + 2 + 1 + 1 + 6 + 2 + 1);
        assert_eq!(b.acked.len(), types.len() - 2);
        assert_eq!(b.seq, 7 + types.len() as u32);
    }
}
