//! The fault schedule, drawn from a seed: episodes of one to three faults 0.5–3 s apart,
//! each healed after a drawn delay, then a settle window with no fault. The same seed and
//! set-up always give the same schedule, so a run replays exactly (timing aside) and a
//! prefix of it (`--episodes K`) replays the start.

use std::time::Duration;

/// xorshift64*: small, seedable, good enough to spread faults.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..hi` (hi exclusive; lo when empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next() % (hi - lo)
        }
    }

    pub fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.range(lo, hi))
    }
}

/// One fault: what happens to which node, and how long until it heals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL (the VIP stays on the host), restart after the delay.
    Kill,
    /// SIGSTOP, SIGCONT after the delay.
    Freeze,
    /// SIGTERM (a clean stop: the VIP must go), restart after the delay.
    Term,
    /// The host's cable: link down on the switch side, up after the delay.
    Cut,
    /// The node and another one cannot reach each other (bridge port isolation on both).
    Partition { with: usize },
    /// Frames from the node to another one are dropped (one direction: two of these with
    /// different heals make a partition that heals one direction first).
    Drop { to: usize },
    /// The primary address removed from eth0, added back after the delay.
    Address,
    /// The primary address replaced by another one (renumbered), the first one back after
    /// the delay.
    Renumber,
    /// The second interface (where a VIP lives, keepalived.conf set-ups) deleted, re-created
    /// after the delay.
    Iface,
    /// SIGHUP after editing the file (keepalived.conf set-ups): a priority change.
    Reload,
    /// The tracked file removed (the check fails), put back after the delay.
    Track,
    /// The client floods the VIP with pings for the delay.
    Burst,
}

impl Fault {
    pub fn name(&self) -> String {
        match self {
            Fault::Partition { with } => format!("partition from n{with}"),
            Fault::Drop { to } => format!("drop to n{to}"),
            f => format!("{f:?}").to_lowercase(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    /// From the episode's start.
    pub at: Duration,
    pub node: usize,
    pub fault: Fault,
    pub heal_after: Duration,
}

#[derive(Debug, Clone)]
pub struct Episode {
    pub events: Vec<Event>,
}

/// The faults a set-up can take (a reload needs a keepalived.conf, a tracked file a check).
pub struct Menu {
    pub nodes: usize,
    pub reload: bool,
    pub track: bool,
    /// A VIP on a second interface.
    pub iface: bool,
}

pub fn episode(rng: &mut Rng, menu: &Menu) -> Episode {
    let n = rng.range(1, 4) as usize;
    let mut at = Duration::ZERO;
    let mut events = vec![];
    for i in 0..n {
        if i > 0 {
            at += rng.ms(500, 3000);
        }
        let node = rng.range(0, menu.nodes as u64) as usize;
        let mut kinds =
            vec![Fault::Kill, Fault::Freeze, Fault::Term, Fault::Cut, Fault::Address, Fault::Burst, Fault::Renumber];
        if menu.nodes > 1 {
            let mut with = rng.range(0, menu.nodes as u64 - 1) as usize;
            if with >= node {
                with += 1;
            }
            kinds.push(Fault::Partition { with });
            kinds.push(Fault::Drop { to: with });
        }
        if menu.reload {
            kinds.push(Fault::Reload);
        }
        if menu.track {
            kinds.push(Fault::Track);
        }
        if menu.iface {
            kinds.push(Fault::Iface);
        }
        let fault = kinds[rng.range(0, kinds.len() as u64) as usize];
        let heal_after = match fault {
            Fault::Kill | Fault::Term => rng.ms(0, 3000),
            Fault::Reload => Duration::ZERO,
            _ => rng.ms(500, 3000),
        };
        events.push(Event { at, node, fault, heal_after });
    }
    Episode { events }
}

/// The schedule's own check (run under `cargo test`, before the labs).
pub fn self_check() {
    {
        let menu = Menu { nodes: 3, reload: true, track: true, iface: true };
        let a: Vec<String> = (0..20).map(|_| format!("{:?}", episode(&mut Rng::new(7), &menu).events)).collect();
        let b: Vec<String> = (0..20).map(|_| format!("{:?}", episode(&mut Rng::new(7), &menu).events)).collect();
        assert_eq!(a, b);
        let mut r = Rng::new(7);
        for _ in 0..200 {
            let e = episode(&mut r, &menu);
            assert!((1..=3).contains(&e.events.len()));
            for ev in &e.events {
                assert!(ev.node < 3);
                if let Fault::Partition { with } | Fault::Drop { to: with } = ev.fault {
                    assert!(with != ev.node && with < 3);
                }
            }
        }
    }
}
