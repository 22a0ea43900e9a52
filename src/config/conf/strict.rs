//! What keepalived's strict mode changes in a `vrrp_instance`, and how it reads `use_vmac`:
//! the instance block's rules that depend on more than one keyword.

use std::net::IpAddr;

use super::instance::Seen;
use super::lex::{Pos, Stmt};
use super::Parser;
use crate::config::draft::Draft;
use crate::config::InitialState;

/// What keepalived's strict mode (`vrrp_strict`, `strict_mode`) changes in an instance, each
/// with its warning as keepalived warns (accept is settled by the caller; unicast peers
/// are kept: keepalived 2.2.7's check against them runs before it knows of them).
pub(super) fn strict(p: &mut Parser, at: &Pos, d: &mut Draft, seen: &mut Seen) {
    let name = d.name.clone();
    if seen.state.is_some() && (d.state == InitialState::Master) != (d.priority == 255) {
        p.warn(at, format!("vrrp_instance {name}: strict mode: state MASTER must match being the address owner (priority 255); the state follows the priority, as in keepalived"));
        d.state = if d.priority == 255 { InitialState::Master } else { InitialState::Backup };
    }
    if seen.auth_type.is_some() || d.password.is_some() {
        p.warn(
            at,
            format!(
                "vrrp_instance {name}: strict mode does not support authentication: none is sent, as in keepalived"
            ),
        );
        seen.auth_type = None;
        d.password = None;
    }
    if d.preempt_delay.take().is_some() {
        p.warn(at, format!("vrrp_instance {name}: preempt_delay is incompatible with strict mode: cleared, as keepalived clears it"));
    }
    if d.down_timer_adverts != 3 {
        p.warn(
            at,
            format!(
                "vrrp_instance {name}: down_timer_adverts is incompatible with strict mode: 3, as keepalived resets it"
            ),
        );
        d.down_timer_adverts = 3;
    }
    let written_lower_garp =
        d.garp.lower_prio_repeat.is_some_and(|n| n > 0) || d.garp.lower_prio_delay.is_some_and(|t| !t.is_zero());
    if let Some(at) = seen.garp_lower_prio.first().filter(|_| written_lower_garp) {
        p.warn(at, "strict mode requires no gratuitous ARP after a lower priority's advert: garp_lower_prio_* reset to 0, as in keepalived");
    }
    d.garp.lower_prio_repeat = Some(0);
    d.garp.lower_prio_delay = Some(std::time::Duration::ZERO);
    if seen.lower_prio_no_advert == Some(false) {
        p.warn(
            at,
            format!("vrrp_instance {name}: strict mode requires lower_prio_no_advert: set, as keepalived sets it"),
        );
    }
    d.lower_prio_no_advert = true;
    if seen.higher_prio_send_advert == Some(true) {
        p.warn(at, format!("vrrp_instance {name}: strict mode requires higher_prio_send_advert to be clear: cleared, as in keepalived"));
    }
    d.higher_prio_send_advert = false;
}

/// `use_vmac [NAME]`, as keepalived reads it: the first name written counts, one another
/// instance took is ignored (the default vrrp.VRID then), a MAC address is refused.
pub(super) fn use_vmac(p: &mut Parser, k: &Stmt, seen: &mut Seen) {
    let mut name = seen.use_vmac.take().and_then(|(_, n)| n);
    for w in k.args().iter().take(2) {
        if w.contains(':') {
            p.fail(&k.at, format!("use_vmac '{w}': a MAC address of one's own is not implemented; keepvip's VMAC is 00:00:5e:00:01:VRID (remove the address)"));
        } else if name.is_some() {
            p.warn(
                &k.at,
                format!("use_vmac '{w}': the VMAC's name is already given; ignored, as keepalived ignores it"),
            );
        } else if w.len() > 15 || w.contains('/') || w.chars().any(char::is_whitespace) {
            p.warn(&k.at, format!("use_vmac '{w}': not an interface name (at most 15 bytes, no '/'); ignored, as keepalived ignores it"));
        } else if p.vmac_names.contains(w) {
            p.warn(
                &k.at,
                format!("use_vmac '{w}': another instance uses this name; ignored, as keepalived ignores it"),
            );
        } else {
            name = Some(w.clone());
        }
    }
    seen.use_vmac = Some((k.at.clone(), name));
}

pub(super) fn is_link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}
