//! Same environment, same cluster: what an osixia 2.0.20 node really does with a value
//! (its startup.sh's sed, then keepalived 2.2.7 reading the file), checked on the wire
//! against real keepalived fed the file osixia would render.

use std::time::Duration;

use crate::common::keepalived::{self, Impl};
use crate::common::netns::{Lab, Proc};
use crate::common::seed::{PEERS, VIP};
use crate::common::{env_for, seed_env, wait_until};

/// The 8 authentication bytes of the first VRRPv2 advert host `observer` sees.
fn first_advert_auth(lab: &Lab, observer: usize, start: impl FnOnce() -> Proc) -> (Option<Vec<u8>>, Proc) {
    let capture = lab.host(observer).capture_one(&["-x"], "ip proto 112");
    let p = start();
    let Some(text) = capture.wait(Duration::from_secs(6)) else { return (None, p) };
    let bytes: Vec<u8> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("0x")?.split_once(':').map(|(_, hex)| hex.to_string()))
        .flat_map(|hex| hex.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .flat_map(|group| (0..group.len() / 2).map(move |i| u8::from_str_radix(&group[2 * i..2 * i + 2], 16).unwrap()))
        .collect();
    let total = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    (Some(bytes[total - 8..total].to_vec()), p)
}

fn env(password: &str) -> Vec<(String, String)> {
    // Multicast (the observer sees the adverts), master at once on both implementations.
    env_for(&[], VIP, 255, &[("KEEPALIVED_STATE", "MASTER"), ("KEEPALIVED_PASSWORD", password)])
}

/// `KEEPALIVED_PASSWORD` as an osixia node sends it: keepvip's advert carries the same 8
/// bytes as keepalived's, fed the file osixia's real sed rendered from the same value.
#[test]
fn the_password_on_the_wire_is_the_one_an_osixia_node_sends() {
    let lab = Lab::new(2);
    for raw in
        ["d0cker", "pa ss", "pa#ss", "pa!ss", "pa\\ss", "a\\&b", "x&", "\"pa ss\"", "pa{ss", "pa\\tss", "longerthan8"]
    {
        let e = env(raw);
        let (theirs, ka) = first_advert_auth(&lab, 1, || keepalived::spawn(lab.host(0), &e));
        drop(ka);
        lab.host(0).kill_all();
        let (ours, kv) = first_advert_auth(&lab, 1, || lab.host(0).spawn_keepvip(&e));
        let log = kv.log();
        drop(kv);
        lab.host(0).kill_all();
        let theirs = theirs.unwrap_or_else(|| panic!("{raw:?}: keepalived sent no advert"));
        let ours = ours.unwrap_or_else(|| panic!("{raw:?}: keepvip sent no advert:\n{log}"));
        eprintln!("{raw:?}: osixia sends {:?}", String::from_utf8_lossy(&theirs));
        assert_eq!(
            ours,
            theirs,
            "{raw:?}: keepvip {:?} vs osixia {:?}",
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
        // The VIP of this round goes with its node; the next round starts clean.
        lab.host(0).must(&["ip", "addr", "flush", "dev", "eth0", "to", &format!("{VIP}/32")]);
    }
}

/// Values an osixia node cannot start with (its sed fails, or keepalived reads no
/// password): keepvip refuses them too, naming the variable, instead of running with a
/// password no osixia node could send.
#[test]
fn passwords_an_osixia_node_cannot_start_with_are_refused() {
    let lab = Lab::new(1);
    let template = "auth_pass {{ KEEPALIVED_PASSWORD }}\n";
    for raw in ["a|b", "a\\1", "#x", "!x"] {
        let sed_ok = keepalived::try_sed_password(template, raw);
        let e = env(raw);
        if let Some(text) = sed_ok {
            // sed passed it on: keepalived must refuse the result.
            assert!(
                text.trim_end() == "auth_pass" || text.contains("auth_pass #") || text.contains("auth_pass !"),
                "{raw:?}: {text}"
            );
            let mut ka = keepalived::spawn(lab.host(0), &e);
            assert!(ka.wait_exit(Duration::from_secs(5)).is_some(), "{raw:?}: keepalived accepted it:\n{}", ka.log());
            assert!(ka.log().contains("auth_pass"), "{}", ka.log());
        }
        let out = lab.host(0).run_keepvip(&e, &["--check"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{raw:?}: {err}");
        assert!(
            err.contains(&format!("KEEPALIVED_PASSWORD={raw:?}")) && err.contains("osixia node would not start"),
            "{err}"
        );
    }
}

/// keepalived drops osixia's `nopreempt` with `state MASTER` (and at priority 255): such a
/// node takes the VIP from a lower-priority master. keepvip does the same, in either role.
#[test]
fn state_master_preempts_as_keepalived_does() {
    for (high, low) in [(Impl::Keepvip, Impl::Keepalived), (Impl::Keepalived, Impl::Keepvip)] {
        let lab = Lab::new(2);
        let holds = |i: usize| lab.host(i).has_addr(VIP);
        let _b = low.spawn(lab.host(1), &seed_env(&PEERS, VIP, 100), &[]);
        assert!(wait_until(Duration::from_secs(6), || holds(1)), "{low:?}(100) never took the VIP");
        let mut e = seed_env(&PEERS, VIP, 200);
        e.push(("KEEPALIVED_STATE".into(), "MASTER".into()));
        let a = high.spawn(lab.host(0), &e, &[]);
        assert!(
            wait_until(Duration::from_secs(8), || holds(0) && !holds(1)),
            "{high:?} with state MASTER did not preempt {low:?}:\n{}",
            a.log()
        );
    }
}
