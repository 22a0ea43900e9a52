use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// Adverts captured with tcpdump from keepalived 2.2.7 (Debian) in a namespace, eth0
// 198.18.0.1/24, state MASTER, virtual_router_id 51, priority 255, VIPs 198.18.0.100 and
// 198.18.0.101/24; the second column is the rest of the instance configuration.
/// `unicast_peer { 198.18.0.2 }`, `auth_type PASS`, `auth_pass d0cker`; sent to 198.18.0.2.
const KA_V2_UNICAST: &str = "2133ff02010124ccc6120064c61200656430636b65720000";
/// `auth_type PASS`, `auth_pass averylongpw` (truncated to 8); multicast 224.0.0.18.
const KA_V2_MULTICAST: &str = "2133ff020101a216c6120064c612006561766572796c6f6e";
/// `version 3`, `advert_int 0.1`, `unicast_peer { 198.18.0.2 }`; sent to 198.18.0.2.
const KA_V3_UNICAST: &str = "3133ff02000ab628c6120064c6120065";
/// `version 3`; multicast 224.0.0.18.
const KA_V3_MULTICAST: &str = "3133ff0200649bd0c6120064c6120065";

fn vips() -> Vec<u8> {
    encode_addrs([ip("198.18.0.100"), ip("198.18.0.101")])
}

fn emit(r: &Repr, pseudo: Pseudo) -> Vec<u8> {
    let mut buf = vec![0u8; r.buffer_len()];
    r.emit(&mut buf, pseudo);
    buf
}

#[test]
fn keepalived_v2_unicast_parses_and_reemits_identically() {
    let bytes = hex(KA_V2_UNICAST);
    let p = Packet::new_checked(&bytes[..], Family::V4).unwrap();
    assert!(p.checksum_ok(ip("198.18.0.1"), ip("198.18.0.2")));
    let r = Repr::parse(&p).unwrap();
    assert_eq!((r.version, r.vrid, r.priority, r.interval_cs), (2, 51, 255, 100));
    assert_eq!(r.auth, Auth::pass("d0cker"));
    assert_eq!(r.addrs.iter().collect::<Vec<_>>(), [ip("198.18.0.100"), ip("198.18.0.101")]);
    let v = vips();
    let ours = Repr { addrs: AddrList::new(Family::V4, &v).unwrap(), ..r };
    assert_eq!(emit(&ours, Pseudo::None), bytes);
}

#[test]
fn keepalived_v2_long_password_is_truncated_to_8() {
    let bytes = hex(KA_V2_MULTICAST);
    let p = Packet::new_checked(&bytes[..], Family::V4).unwrap();
    assert!(p.checksum_ok(ip("198.18.0.1"), IpAddr::V4(MULTICAST_V4)));
    let r = Repr::parse(&p).unwrap();
    assert_eq!(r.auth, Auth::pass("averylongpw"));
    assert_eq!(r.auth, Auth::pass("averylon"));
    assert_eq!(emit(&r, Pseudo::None), bytes);
}

#[test]
fn keepalived_v3_checksum_uses_the_actual_destination() {
    for (vector, dst, interval) in [(KA_V3_UNICAST, "198.18.0.2", 10), (KA_V3_MULTICAST, "224.0.0.18", 100)] {
        let bytes = hex(vector);
        let p = Packet::new_checked(&bytes[..], Family::V4).unwrap();
        assert!(p.checksum_ok(ip("198.18.0.1"), ip(dst)), "{vector}");
        let r = Repr::parse(&p).unwrap();
        assert_eq!((r.version, r.priority, r.interval_cs, r.auth), (3, 255, interval, Auth::None));
        assert_eq!(emit(&r, Pseudo::Ip { src: ip("198.18.0.1"), dst: ip(dst) }), bytes);
    }
    // The same bytes sent to another peer would not verify: the pseudo-header matters.
    let bytes = hex(KA_V3_UNICAST);
    let p = Packet::new_checked(&bytes[..], Family::V4).unwrap();
    assert!(!p.checksum_ok(ip("198.18.0.1"), ip("198.18.0.3")));
}

#[test]
fn v3_ipv4_alternative_checksums_are_accepted() {
    let v = vips();
    let r = Repr {
        version: 3,
        vrid: 7,
        priority: 100,
        interval_cs: 100,
        auth: Auth::None,
        addrs: AddrList::new(Family::V4, &v).unwrap(),
    };
    let (src, peer) = (ip("198.18.0.1"), ip("198.18.0.2"));
    // keepalived <= 1.3.6 in unicast: pseudo-header with the multicast group as destination.
    let old = emit(&r, Pseudo::Ip { src, dst: IpAddr::V4(MULTICAST_V4) });
    assert!(Packet::new_checked(&old[..], Family::V4).unwrap().checksum_ok(src, peer));
    // v3_checksum_as_v2 / RFC 9568 erratum: no pseudo-header.
    let plain = emit(&r, Pseudo::None);
    assert!(Packet::new_checked(&plain[..], Family::V4).unwrap().checksum_ok(src, peer));
    let mut bad = plain.clone();
    bad[2] ^= 1;
    assert!(!Packet::new_checked(&bad[..], Family::V4).unwrap().checksum_ok(src, peer));
}

#[test]
fn ipv6_round_trip_with_pseudo_header() {
    let v = encode_addrs([ip("2001:db8::100")]);
    let r = Repr {
        version: 3,
        vrid: 51,
        priority: 200,
        interval_cs: 4095,
        auth: Auth::None,
        addrs: AddrList::new(Family::V6, &v).unwrap(),
    };
    let (src, dst) = (ip("fe80::1"), IpAddr::V6(MULTICAST_V6));
    let b = emit(&r, Pseudo::Ip { src, dst });
    assert_eq!(b.len(), 8 + 16);
    let p = Packet::new_checked(&b[..], Family::V6).unwrap();
    assert!(p.checksum_ok(src, dst));
    assert!(!p.checksum_ok(src, ip("ff02::1")), "IPv6 has only one checksum form");
    assert_eq!(Repr::parse(&p).unwrap(), r);
}

#[test]
fn rejections_are_typed() {
    let good = hex(KA_V2_UNICAST);
    let check = |b: &[u8], f| Packet::new_checked(b, f).and_then(|p| Repr::parse(&p).map(|_| ()));
    assert_eq!(check(&good[..7], Family::V4), Err(Error::Truncated));
    assert_eq!(check(&good[..good.len() - 1], Family::V4), Err(Error::Truncated));
    let mut b = good.clone();
    b[3] = 200; // count larger than the packet
    assert_eq!(check(&b, Family::V4), Err(Error::Truncated));
    let mut b = good.clone();
    b[0] = 0x41;
    assert_eq!(check(&b, Family::V4), Err(Error::Version(4)));
    let mut b = good.clone();
    b[0] = 0x22;
    assert_eq!(check(&b, Family::V4), Err(Error::Type(2)));
    let mut b = good.clone();
    b[4] = 2;
    assert_eq!(check(&b, Family::V4), Err(Error::AuthType(2)));
    assert_eq!(check(&good, Family::V6), Err(Error::V2OverIpv6));
    let mut b = hex(KA_V3_UNICAST);
    b[4] |= 0x10;
    assert_eq!(check(&b, Family::V4), Err(Error::Reserved));
    // Ethernet padding after the message is fine, and not part of the checksum.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0u8; 22]);
    let p = Packet::new_checked(&padded[..], Family::V4).unwrap();
    assert!(p.checksum_ok(ip("198.18.0.1"), ip("198.18.0.2")));
    assert_eq!(p.message_len(), good.len());
}

#[test]
fn mtu_bounds_the_address_count() {
    assert_eq!(max_addrs(Family::V4, 2, 1500), 255);
    assert_eq!(max_addrs(Family::V6, 3, 1500), (1500 - 48) / 16);
    assert_eq!(max_addrs(Family::V4, 3, 68), 10);
    assert!(AddrList::new(Family::V4, &[0u8; 4 * 256]).is_none());
    assert!(AddrList::new(Family::V4, &[0u8; 5]).is_none());
}

fn arb_repr_bytes() -> impl Strategy<Value = (u8, u8, u8, u16, Option<[u8; 8]>, bool, Vec<u8>)> {
    (2u8..=3, any::<u8>(), any::<u8>(), 1u16..=4095, any::<Option<[u8; 8]>>(), any::<bool>(), 0usize..20).prop_flat_map(
        |(ver, vrid, prio, int, pass, v6, n)| {
            let v6 = v6 && ver == 3;
            let len = n * if v6 { 16 } else { 4 };
            (
                Just(ver),
                Just(vrid),
                Just(prio),
                Just(int),
                Just(pass),
                Just(v6),
                proptest::collection::vec(any::<u8>(), len),
            )
        },
    )
}

proptest! {
    #[test]
    fn parse_emit_round_trip((ver, vrid, prio, int, pass, v6, addrs) in arb_repr_bytes()) {
        let family = if v6 { Family::V6 } else { Family::V4 };
        let r = Repr {
            version: ver,
            vrid,
            priority: prio,
            interval_cs: if ver == 2 { (int % 255 + 1) * 100 } else { int },
            auth: match (ver, pass) { (2, Some(p)) => Auth::Pass(p), _ => Auth::None },
            addrs: AddrList::new(family, &addrs).unwrap(),
        };
        let (src, dst) = if v6 { (ip("fe80::1"), ip("ff02::12")) } else { (ip("198.18.0.1"), ip("198.18.0.2")) };
        let b = emit(&r, Pseudo::Ip { src, dst });
        let p = Packet::new_checked(&b[..], family).unwrap();
        prop_assert!(p.checksum_ok(src, dst));
        prop_assert_eq!(Repr::parse(&p).unwrap(), r);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..1600), v6 in any::<bool>()) {
        let family = if v6 { Family::V6 } else { Family::V4 };
        if let Ok(p) = Packet::new_checked(&b[..], family) {
            let _ = p.checksum_ok(ip("198.18.0.1"), ip("198.18.0.2"));
            if let Ok(r) = Repr::parse(&p) {
                prop_assert!(r.buffer_len() <= b.len());
                let _ = r.addrs.iter().count();
            }
        }
    }
}
