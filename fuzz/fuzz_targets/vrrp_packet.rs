//! The advert codec: any bytes, either family. Never panics; whatever parses re-emits to
//! bytes that parse to the same advert.
#![no_main]

use std::net::IpAddr;

use keepvip::wire::vrrp::{Family, Packet, Pseudo, Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else { return };
    let family = if sel & 1 == 0 { Family::V4 } else { Family::V6 };
    let (src, dst): (IpAddr, IpAddr) = match family {
        Family::V4 => ("198.18.0.1".parse().unwrap(), "198.18.0.2".parse().unwrap()),
        Family::V6 => ("fe80::1".parse().unwrap(), "ff02::12".parse().unwrap()),
    };
    let Ok(p) = Packet::new_checked(bytes, family) else { return };
    let _ = p.checksum_ok(src, dst);
    let Ok(r) = Repr::parse(&p) else { return };
    let mut buf = vec![0u8; r.buffer_len()];
    let n = r.emit(&mut buf, Pseudo::Ip { src, dst });
    let again = Packet::new_checked(&buf[..n], family).expect("an emitted advert is well formed");
    assert!(again.checksum_ok(src, dst), "an emitted advert has a good checksum");
    let r2 = Repr::parse(&again).expect("an emitted advert parses");
    assert_eq!(whole_seconds_in_v2(r), whole_seconds_in_v2(r2));
});

/// v2 carries whole seconds: the interval survives only at that resolution.
fn whole_seconds_in_v2(r: Repr<'_>) -> Repr<'_> {
    if r.version == 2 {
        Repr { interval_cs: r.interval_cs / 100 * 100, ..r }
    } else {
        r
    }
}
