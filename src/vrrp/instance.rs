//! One VRRP instance (keepalived's `VI_1`): the RFC 3768 / 5798 state machine.
//!
//! Call contract (the runtime's side of it):
//! 1. Feed it: [`Instance::handle`] for events, [`Instance::receive`] for each datagram from
//!    the VRRP socket, with the current `Instant`. Feed `Event::Timeout` once
//!    [`Instance::next_deadline`] has passed (early calls are harmless no-ops).
//! 2. After every call, drain [`Instance::poll_action`] until `None` and carry the actions out
//!    in order (advert before VIPs before announcements is deliberate).
//! 3. Sleep until `next_deadline()` or the next datagram or event.
//! 4. After `Event::Shutdown` the instance reaches `State::Stopped` within
//!    `MAX_RESIGN_WAIT` of timeouts, whatever else is fed in; it never asks for VIPs again.
//!    Once `is_stopped()`, carry out the last actions and exit (after a `HandOverVips`, once
//!    the VIPs are gone).
//! 5. Start with `Event::Start`, or `Event::Resume` when the VIPs are already on the host
//!    (left by a crash moments ago). Resuming, the instance is a backup that holds the VIPs
//!    for one advert interval plus Skew_Time: a master heard meanwhile means they are stale
//!    (`RemoveVips`, then an ordinary backup); silence means we were the master, so it
//!    resumes as master without a failover (`AddVips` then finds them present). Feed
//!    `Event::HeldElsewhere` when another host answers for a VIP meanwhile: it drops them
//!    at once instead of after the next advert.
//! 7. Early failover (`Params::early_failover`): a backup whose master's advert is late
//!    asks for `Action::ProbeMaster`; feed `Event::NeighbourAnswered` for every ARP frame
//!    or neighbour advertisement heard from that address until `listening` returns `None`,
//!    and `Event::RivalProbing` for every other host's probe of it that names this VRID.
//! 6. `Event::Fault` with a cause that leaves the link usable ([`Fault::hands_over`]) makes
//!    a master resign as on shutdown, but into FAULT; `Event::Recovered` before a successor
//!    advertised keeps it master. `Event::Priority` changes the priority it runs with, `Event::Peers` the unicast peers.
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::early::{self, MasterProbe, Step};
use super::event::{Action, Decision, Event, Fault, Reason, Rejected, State};
use super::repeat::Repeat;
use super::timers::{self, Table, Timer};
use crate::wire::vrrp::{Auth, Family};

mod receive;

/// Most a planned handover waits for a successor's advert: well inside Docker's 10 s stop.
pub const MAX_RESIGN_WAIT: Duration = Duration::from_secs(4);

/// The instance's fixed parameters, derived once from the configuration.
#[derive(Debug, Clone)]
pub struct Params {
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    pub advert_int_cs: u16,
    pub preempt: bool,
    pub preempt_delay: Duration,
    /// Configured `state MASTER`.
    pub start_as_master: bool,
    pub auth: Auth,
    pub family: Family,
    /// Our advert source: the tie-breaker between equal priorities.
    pub advert_source: Option<IpAddr>,
    /// Unicast peers (without us); empty means multicast.
    pub peers: Vec<IpAddr>,
    pub check_unicast_src: bool,
    pub unicast_min_ttl: u8,
    /// Addresses of this host: adverts from them are ours.
    pub own: Vec<IpAddr>,
    /// Until the first advert is heard after start, a backup's first takeover waits this
    /// much longer: `KEEPALIVED_PRIORITY=auto` ranks nodes by it, so the top node wins a
    /// fresh deploy whose nodes start a few hundred ms apart (osixia's nopreempt would
    /// otherwise keep whoever started first).
    pub first_hold: Duration,
    /// The addresses we advertise, encoded as on the wire (for the mismatch check).
    pub advertised: Vec<u8>,
    /// A takeover announces the VIPs (`Action::Gratuitous`) and again this much later
    /// (keepalived's `garp_master_delay`, 5 s by default); zero: once.
    pub garp_delay: Duration,
    /// A lower priority's advert heard as master: announce (`Action::GratuitousLowerPrio`)
    /// and again this much later (keepalived's `garp_lower_prio_delay`; zero: once);
    /// `None`: not at all (`garp_lower_prio_repeat 0`).
    pub garp_lower_prio: Option<Duration>,
    /// keepalived's `skip_check_adv_addr`: a backup does not check the address list of
    /// adverts from the master it already follows.
    pub skip_check_adv_addr: bool,
    /// Take over before Master_Down_Interval when the master's host is gone (`early.rs`).
    pub early_failover: bool,
    /// Adverts a backup misses before the master is down: the RFC's 3 (keepalived's
    /// `down_timer_adverts`, 1..=100).
    pub down_timer_adverts: u8,
    /// keepalived's `vrrp_startup_delay`: no takeover (not even the address owner's) until
    /// this long after `Event::Start`, for interfaces that pass traffic late after boot.
    pub startup_delay: Duration,
    /// keepalived's `lower_prio_no_advert` (on in strict mode): a master that hears a lower
    /// priority claim master does not answer it at once; its next regular advert does.
    pub lower_prio_no_advert: bool,
    /// keepalived's `higher_prio_send_advert`: a master that hears a higher priority sends
    /// one advert of its own before it steps down.
    pub higher_prio_send_advert: bool,
}

/// Drop counters by kind, adverts accepted and transitions. Adverts sent are counted by
/// the runtime, which knows whether the datagram left.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub received: u64,
    pub dropped: HashMap<&'static str, u64>,
    pub transitions: u64,
    /// Early takeovers (the master's host was silent), and those its adverts refuted.
    pub early_takeovers: u64,
    pub early_refuted: u64,
}

/// A split brain heals by adverts alone, but clients keep the loser's MAC until their ARP
/// entry expires unless the winner re-announces: at most once per this, against floods.
const REANNOUNCE_MIN_GAP: Duration = Duration::from_secs(1);

pub struct Instance {
    params: Params,
    state: State,
    /// Learned from the master's adverts (v3); ours otherwise.
    master_adv_int_cs: u16,
    /// Every wake-up (see [`Timer`]).
    timers: Table,
    last_master: Option<IpAddr>,
    last_heard: Option<Instant>,
    /// No takeover before then (`Params::startup_delay`).
    hold_until: Option<Instant>,
    /// keepalived's preempt_time: lower-priority adverts are accepted until then.
    preempt_at: Option<Instant>,
    /// Sources already reported for advertising our VRID with other addresses (bounded).
    mismatch_from: Vec<IpAddr>,
    /// Shutdown was requested: sticky, never back to BACKUP or MASTER.
    closing: bool,
    /// Master handing over because of this fault (not a shutdown): FAULT once it is done.
    resign_fault: Option<Fault>,
    /// Backup: the master resigned (priority 0) and we wait Skew_Time for another node.
    resigned_by: Option<IpAddr>,
    /// Last re-announcement after a forced election.
    reannounced_at: Option<Instant>,
    /// Started with the VIPs on the host and listening for a master: how long.
    resuming: Option<Duration>,
    /// Early failover: the followed master's host, probed when its advert is late.
    probe: MasterProbe,
    /// The master we replaced early, and when: its advert then refutes the verdict.
    early_from: Option<(IpAddr, Instant)>,
    /// Backup: the followed master's last advert, accepted again unparsed when repeated.
    repeat: Repeat,
    actions: VecDeque<Action>,
    counters: Counters,
}

impl Instance {
    pub fn new(p: Params) -> Self {
        Instance {
            master_adv_int_cs: p.advert_int_cs,
            params: p,
            state: State::Init,
            timers: Table::default(),
            last_master: None,
            last_heard: None,
            hold_until: None,
            preempt_at: None,
            mismatch_from: vec![],
            closing: false,
            resign_fault: None,
            resigned_by: None,
            reannounced_at: None,
            resuming: None,
            probe: MasterProbe::default(),
            early_from: None,
            repeat: Repeat::default(),
            actions: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// A reload changed the VIPs (encoded as on the wire): the next advert carries them,
    /// and adverts are checked against them.
    pub fn set_advertised(&mut self, advertised: Vec<u8>) {
        self.repeat.forget();
        self.params.advertised = advertised;
        self.mismatch_from.clear();
    }

    /// A reload changed the takeover announcements' second burst.
    pub fn set_garp_delay(&mut self, delay: Duration, lower_prio: Option<Duration>) {
        self.params.garp_lower_prio = lower_prio;
        self.params.garp_delay = delay;
    }

    /// The priority we run with now (the configured one, moved by weighted checks).
    pub fn priority(&self) -> u8 {
        self.params.priority
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The master we last accepted an advert from.
    pub fn last_master(&self) -> Option<IpAddr> {
        self.last_master
    }

    pub fn master_adv_int(&self) -> Duration {
        timers::duration_of(self.master_adv_int_cs)
    }

    pub fn master_down_interval(&self) -> Duration {
        timers::master_down_interval(
            self.params.version,
            self.params.priority,
            self.master_adv_int_cs,
            self.params.down_timer_adverts,
        )
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub fn is_stopped(&self) -> bool {
        self.state == State::Stopped
    }

    /// The advert source changed (the old one was removed from the interface): it is the
    /// tie-breaker between equal priorities and marks our own looped-back adverts.
    pub fn set_advert_source(&mut self, source: Option<IpAddr>) {
        self.repeat.forget();
        if let Some(ip) = self.params.advert_source.filter(|ip| !self.params.own.contains(ip)) {
            self.params.own.push(ip); // a late advert from the old source is still ours
        }
        self.params.advert_source = source;
    }

    /// Still deciding whether the VIPs found at start are ours (see `Event::Resume`).
    pub fn is_resuming(&self) -> bool {
        self.resuming.is_some()
    }

    /// Early failover: the address whose ARP / neighbour answers are wanted now.
    pub fn listening(&self, now: Instant) -> Option<IpAddr> {
        self.probe.listening(now)
    }

    /// Early failover: the master this backup follows and would probe (its probes name
    /// this instance's VRID and priority).
    pub fn probed_master(&self) -> Option<IpAddr> {
        self.probe.master().filter(|_| self.state == State::Backup && self.params.early_failover)
    }

    /// Tests: the next advert takes the full path (`Repeat`'s differential).
    #[cfg(test)]
    pub(crate) fn forget_repeat(&mut self) {
        self.repeat.forget();
    }

    /// Count a datagram the runtime dropped before it reached [`Instance::receive`].
    pub fn count_rejected(&mut self, d: Rejected) {
        *self.counters.dropped.entry(d.kind()).or_default() += 1;
    }

    pub fn handle(&mut self, ev: Event, now: Instant) {
        if ev != Event::Timeout {
            self.repeat.forget();
        }
        match ev {
            Event::Start => self.start(now),
            Event::Resume => self.resume(now),
            Event::SyncMaster => {
                if self.state == State::Backup && !self.closing {
                    self.become_master(now, Reason::SyncGroup);
                }
            }
            Event::SyncBackup => {
                if self.state == State::Master && !self.closing && !self.timers.is_set(Timer::Resign) {
                    self.actions.push_back(Action::RemoveVips);
                    self.enter(State::Backup, Reason::SyncGroup);
                    self.timers.set(Timer::MasterDown, self.held(now + self.master_down_interval()));
                    self.last_heard = Some(now);
                }
            }
            Event::HeldElsewhere(vip) => {
                if self.state == State::Backup && self.resuming.is_some() {
                    self.drop_stale_vips();
                    self.actions.push_back(Action::Decided(Decision::StaleVipsAnswered { vip }));
                    // Someone is master: wait for its adverts the ordinary way.
                    self.timers.set(Timer::MasterDown, self.held(now + self.master_down_interval()));
                    self.last_heard = Some(now);
                }
            }
            Event::Timeout => self.timeout(now),
            Event::NeighbourAnswered(ip) => self.probe.answered(ip),
            Event::RivalProbing { master, priority } => {
                // Equal priorities: the RFC's tie-break is the address, which a probe does
                // not carry; both keep the RFC timer, which breaks the tie.
                if self.state == State::Backup && priority >= self.params.priority {
                    self.probe.outranked(master, now);
                }
            }
            Event::Fault(cause) => match self.state {
                State::Master if self.timers.is_set(Timer::Resign) => {
                    if !cause.hands_over() {
                        // The link is gone: nothing to hand over with.
                        self.finish_resign(Reason::Fault(cause));
                    }
                }
                State::Master if cause.hands_over() && !self.closing => {
                    // Make before break, as on shutdown: the VIPs stay until a successor
                    // advertises, so clients never find the VIP on no node.
                    self.resign_fault = Some(cause);
                    self.send(0);
                    self.timers.clear(Timer::Garp);
                    self.timers.set(Timer::Advert, now + timers::duration_of(self.params.advert_int_cs));
                    self.timers.set(Timer::Resign, now + self.master_down_interval().min(MAX_RESIGN_WAIT));
                    self.actions.push_back(Action::Decided(Decision::HandingOver { cause }));
                }
                State::Master => {
                    self.send(0);
                    self.actions.push_back(Action::RemoveVips);
                    self.enter(if self.closing { State::Stopped } else { State::Fault }, Reason::Fault(cause));
                }
                State::Backup | State::Init => {
                    self.drop_stale_vips();
                    let to = if self.closing { State::Stopped } else { State::Fault };
                    self.enter(to, if self.closing { Reason::Shutdown } else { Reason::Fault(cause) });
                }
                State::Fault | State::Stopped => {}
            },
            Event::Recovered => {
                if self.state == State::Master && self.resign_fault.take().is_some() && !self.closing {
                    // Healthy again before anyone took over: stay, and say so at once.
                    self.timers.clear(Timer::Resign);
                    self.send(self.params.priority);
                    self.timers.set(Timer::Advert, now + timers::duration_of(self.params.advert_int_cs));
                    self.actions.push_back(Action::Decided(Decision::HandoverCancelled));
                }
                if self.state == State::Fault && !self.closing {
                    self.enter(State::Backup, Reason::Recovered);
                    self.timers.set(Timer::MasterDown, self.held(now + self.master_down_interval()));
                    self.last_heard = Some(now);
                }
            }
            Event::Priority(p) => {
                if p == self.params.priority || self.params.priority == 255 || p == 0 || p == 255 {
                    return;
                }
                self.params.priority = p;
                if self.state == State::Master && !self.timers.is_set(Timer::Resign) {
                    self.send(p);
                    self.timers.set(Timer::Advert, now + timers::duration_of(self.params.advert_int_cs));
                }
            }
            Event::Peers(peers) => {
                if !peers.is_empty() {
                    self.params.peers = peers;
                }
            }
            Event::Shutdown => {
                self.closing = true;
                // A handover for a fault becomes the shutdown's: it ends in STOP.
                self.resign_fault = None;
                match self.state {
                    State::Master if !self.timers.is_set(Timer::Resign) => {
                        // Make before break: say we are leaving, keep the VIPs until the
                        // successor advertises (then traffic has somewhere to go).
                        self.send(0);
                        self.timers.clear(Timer::Garp);
                        self.timers.set(Timer::Advert, now + timers::duration_of(self.params.advert_int_cs));
                        self.timers.set(Timer::Resign, now + self.master_down_interval().min(MAX_RESIGN_WAIT));
                    }
                    State::Master | State::Stopped => {}
                    _ => {
                        self.drop_stale_vips();
                        self.enter(State::Stopped, Reason::Shutdown);
                    }
                }
            }
        }
    }

    /// A master-down deadline, never before the startup hold ends.
    fn held(&self, at: Instant) -> Instant {
        self.hold_until.map_or(at, |h| at.max(h))
    }

    fn start(&mut self, now: Instant) {
        if self.state != State::Init {
            return;
        }
        if !self.params.startup_delay.is_zero() {
            self.hold_until = Some(now + self.params.startup_delay);
        }
        if self.params.priority == 255 && self.hold_until.is_none() {
            self.become_master(now, Reason::Owner);
            return;
        }
        self.enter(State::Backup, Reason::Startup);
        // keepalived: with `state MASTER`, wait one advert interval for an existing master;
        // the address owner held by the startup delay takes over when it ends.
        let wait = if self.params.priority == 255 {
            Duration::ZERO
        } else if self.params.start_as_master {
            timers::duration_of(self.params.advert_int_cs)
                + timers::skew_min(self.params.version, self.params.advert_int_cs)
        } else {
            self.master_down_interval() + self.params.first_hold
        };
        let at = self.held(now + wait);
        self.actions.push_back(Action::Decided(Decision::Waiting { master_down: at - now }));
        self.timers.set(Timer::MasterDown, at);
        self.last_heard = Some(now);
    }

    /// Start with the VIPs already on the host. An existing master advertises within one
    /// interval; the Skew_Time on top is for its jitter. A backup that lost our adverts
    /// times out only after three intervals, so resuming after one is in time.
    fn resume(&mut self, now: Instant) {
        if self.state != State::Init {
            return;
        }
        if self.params.priority == 255 {
            self.become_master(now, Reason::Owner);
            return;
        }
        let listen = timers::duration_of(self.params.advert_int_cs)
            + timers::skew_time(self.params.version, self.params.priority, self.params.advert_int_cs);
        self.enter(State::Backup, Reason::StartupHolding { listen });
        self.resuming = Some(listen);
        self.timers.set(Timer::MasterDown, self.held(now + listen));
        self.last_heard = Some(now);
    }

    /// Resuming and told otherwise (a master, a fault, a shutdown): the VIPs found at start go.
    fn drop_stale_vips(&mut self) {
        if self.resuming.take().is_some() {
            self.actions.push_back(Action::RemoveVips);
        }
    }

    fn timeout(&mut self, now: Instant) {
        if self.timers.due(Timer::Garp, now) {
            self.timers.clear(Timer::Garp);
            self.actions.push_back(Action::Gratuitous);
        }
        if self.timers.due(Timer::GarpLowerPrio, now) {
            self.timers.clear(Timer::GarpLowerPrio);
            self.actions.push_back(Action::GratuitousLowerPrio);
        }
        if self.timers.due(Timer::Resign, now) {
            self.finish_resign(Reason::NoSuccessor);
            return;
        }
        if let Some(t) = self.timers.get(Timer::Advert).filter(|t| *t <= now) {
            let prio = if self.timers.is_set(Timer::Resign) { 0 } else { self.params.priority };
            self.send(prio);
            // Keep the cadence; after a long stall start again from now.
            let next = t + timers::duration_of(self.params.advert_int_cs);
            self.timers.set(
                Timer::Advert,
                if next <= now { now + timers::duration_of(self.params.advert_int_cs) } else { next },
            );
        }
        if self.state == State::Backup && self.timers.due(Timer::MasterDown, now) {
            let silent = now - self.last_heard.unwrap_or(now);
            let reason = match (self.resigned_by.take(), self.resuming.take()) {
                (Some(from), _) => Reason::ResignedNoSuccessor { from },
                (None, Some(listened)) => Reason::Resumed { listened },
                (None, None) => Reason::MasterDown { last_master: self.last_master, silent },
            };
            self.become_master(now, reason);
        }
        if self.state == State::Backup && self.timers.due(Timer::Probe, now) {
            self.probe_step(now);
        }
    }

    /// Early failover: the next probe of a late master, or the verdict.
    fn probe_step(&mut self, now: Instant) {
        self.timers.clear(Timer::Probe);
        let (prio, adv) = (self.params.priority, self.master_adv_int());
        match self.probe.step(now, |late| early::verdict_at(late, prio, adv)) {
            Some(Step::Probe { master, next, first }) => {
                if first {
                    let late = now - self.last_heard.unwrap_or(now);
                    self.actions.push_back(Action::Decided(Decision::MasterLate { from: master, late }));
                }
                self.actions.push_back(Action::ProbeMaster { addr: master });
                self.timers.set(Timer::Probe, next);
            }
            // Early failover waits for the startup hold as the RFC timer does.
            Some(Step::Verdict { master, gone: true, outranked: true, .. }) => {
                self.actions.push_back(Action::Decided(Decision::Outranked { from: master }));
            }
            Some(Step::Verdict { master, gone: true, .. }) if self.hold_until.is_some_and(|h| now < h) => {
                self.actions.push_back(Action::Decided(Decision::MasterHostAlive { from: master, proven: false }));
            }
            Some(Step::Verdict { master, gone: true, .. }) => {
                let silent = now - self.last_heard.unwrap_or(now);
                self.counters.early_takeovers += 1;
                self.early_from = Some((master, now));
                self.resigned_by = None;
                self.become_master(now, Reason::MasterGone { from: master, silent });
            }
            Some(Step::Verdict { master, gone: false, proven, .. }) => {
                self.actions.push_back(Action::Decided(Decision::MasterHostAlive { from: master, proven }));
            }
            None => {}
        }
    }

    /// An advert from the master was accepted (`master_down`: the interval its timer got):
    /// the late-advert round starts over, and a new master is probed once (its answer makes
    /// its later silence evidence).
    fn follow(&mut self, master: IpAddr, now: Instant, master_down: Duration) {
        if !self.params.early_failover {
            return;
        }
        if let Some(addr) = self.probe.follow(master, now) {
            self.actions.push_back(Action::ProbeMaster { addr });
        }
        let adv = self.master_adv_int();
        let late = now + early::late_after(adv);
        // Worth it only when the verdict comes an interval before the RFC timer would.
        if early::verdict_at(late, self.params.priority, adv) + adv <= now + master_down {
            self.timers.set(Timer::Probe, late);
        } else {
            self.timers.clear(Timer::Probe);
        }
    }

    fn enter(&mut self, to: State, reason: Reason) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.repeat.forget();
        self.counters.transitions += 1;
        if from == State::Backup {
            self.probe.reset();
        }
        match to {
            State::Backup => self.timers.keep_only(&[Timer::MasterDown, Timer::Probe]),
            State::Master => self.timers.keep_only(&[Timer::Advert, Timer::Garp, Timer::GarpLowerPrio, Timer::Resign]),
            _ => self.timers.keep_only(&[]),
        }
        self.actions.push_back(Action::Transition { from, to, reason });
    }

    fn become_master(&mut self, now: Instant, reason: Reason) {
        if self.closing {
            return; // unreachable by the transitions above; the invariant is checked by tests
        }
        self.resuming = None;
        self.enter(State::Master, reason);
        // Advert first so backups hold off, then the addresses, then tell the neighbours.
        self.send(self.params.priority);
        self.actions.push_back(Action::AddVips);
        self.actions.push_back(Action::Gratuitous);
        self.timers.set(Timer::Advert, now + timers::duration_of(self.params.advert_int_cs));
        if !self.params.garp_delay.is_zero() {
            self.timers.set(Timer::Garp, now + self.params.garp_delay);
        }
        self.master_adv_int_cs = self.params.advert_int_cs;
    }

    fn finish_resign(&mut self, reason: Reason) {
        self.actions.push_back(match reason {
            Reason::SuccessorTookOver { from } => Action::HandOverVips { to: from },
            _ => Action::RemoveVips,
        });
        let to = match self.resign_fault.take() {
            Some(_) if !self.closing => State::Fault,
            _ => State::Stopped,
        };
        self.enter(to, reason);
    }

    fn send(&mut self, priority: u8) {
        self.actions.push_back(Action::SendAdvert { priority });
    }

    fn reject(&mut self, d: Rejected) -> Result<(), Rejected> {
        self.count_rejected(d);
        Err(d)
    }
}

#[cfg(test)]
#[path = "instance_tests.rs"]
mod tests;
