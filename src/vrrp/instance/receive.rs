//! What an instance does with a datagram from the VRRP socket: validation in RFC order
//! (a dropped packet changes nothing but its counter), then what a backup and a master
//! each make of an advert.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::super::early;
use super::super::event::{Action, Decision, Reason, Received, Rejected, State};
use super::super::timers::{self, Timer};
use super::{Instance, REANNOUNCE_MIN_GAP};
use crate::wire::vrrp::{self as wire, Auth, Packet, Repr};

impl Instance {
    /// A packet from the VRRP socket. Validated in RFC order; a dropped packet changes
    /// nothing but its counter.
    pub fn receive(&mut self, rx: Received, now: Instant) -> Result<(), Rejected> {
        let multicast = rx.dst.is_multicast();
        let min_ttl = if multicast { 255 } else { self.params.unicast_min_ttl };
        if rx.ttl < min_ttl {
            return self.reject(Rejected::Ttl(rx.ttl));
        }
        if self.state == State::Backup {
            if let Some(priority) = self.repeat.matches(rx.src, rx.dst, rx.payload) {
                self.counters.received += 1;
                self.master_heard(rx.src, priority, now, None);
                return Ok(());
            }
        }
        self.repeat.forget();
        let pkt = match Packet::new_checked(rx.payload, self.params.family) {
            Ok(p) => p,
            Err(wire::Error::Version(v)) => return self.reject(Rejected::Version(v)),
            Err(e) => return self.reject(Rejected::Malformed(e)),
        };
        if pkt.version() != self.params.version {
            return self.reject(Rejected::Version(pkt.version()));
        }
        if pkt.msg_type() != 1 {
            return self.reject(Rejected::Malformed(wire::Error::Type(pkt.msg_type())));
        }
        if pkt.vrid() != self.params.vrid {
            return self.reject(Rejected::OtherVrid(pkt.vrid()));
        }
        if !pkt.checksum_ok(rx.src, rx.dst) {
            return self.reject(Rejected::Checksum);
        }
        let adv = match Repr::parse(&pkt) {
            Ok(r) => r,
            Err(wire::Error::AuthType(t)) => return self.reject(Rejected::AuthType(t)),
            Err(e) => return self.reject(Rejected::Malformed(e)),
        };
        match (self.params.auth, adv.auth) {
            (Auth::Pass(ours), Auth::Pass(theirs)) if ours != theirs => return self.reject(Rejected::Password),
            (Auth::Pass(_), Auth::None) => return self.reject(Rejected::AuthType(0)),
            (Auth::None, Auth::Pass(_)) => return self.reject(Rejected::AuthType(1)),
            _ => {}
        }
        if self.params.version == 2 && adv.interval_cs != self.params.advert_int_cs {
            return self.reject(Rejected::Interval { got_cs: adv.interval_cs });
        }
        if self.params.own.contains(&rx.src) || Some(rx.src) == self.params.advert_source {
            return self.reject(Rejected::Own);
        }
        let following = self.state == State::Backup && self.last_master == Some(rx.src);
        if !self.params.peers.is_empty()
            && self.params.check_unicast_src
            && !self.params.peers.contains(&rx.src)
            && !following
        {
            // A master that left the peer set (`Event::Peers`) is still heard by those
            // following it, until it resigns: no second master for a membership change.
            return self.reject(Rejected::NotPeer);
        }
        // RFC 3768/5798 §7.1: an advert whose addresses differ is another virtual router
        // on our VRID (two clusters on one LAN): dropped, or it would silence ours. The
        // RFCs keep the address owner's (priority 255); keepalived drops those too, and we
        // interoperate with keepalived.
        let trusted = self.params.skip_check_adv_addr && following;
        if !trusted && !adv.addrs.same_set(&self.params.advertised) {
            if !self.mismatch_from.contains(&rx.src) && self.mismatch_from.len() < 16 {
                self.mismatch_from.push(rx.src);
                let theirs = adv.addrs.iter().collect();
                self.actions.push_back(Action::AddressListMismatch { from: rx.src, vrid: self.params.vrid, theirs });
            }
            return self.reject(Rejected::AddressList);
        }
        self.counters.received += 1;
        match self.state {
            State::Backup => {
                if self.backup_rx(rx.src, &adv, now) {
                    self.repeat.remember(rx.src, rx.dst, rx.payload, adv.priority);
                }
            }
            State::Master => self.master_rx(rx.src, &adv, now),
            State::Init | State::Fault | State::Stopped => {}
        }
        Ok(())
    }

    /// The sources heard advertising our VRID with other addresses.
    pub fn collisions(&self) -> &[IpAddr] {
        &self.mismatch_from
    }

    fn learn_interval(&mut self, adv: &Repr) {
        if self.params.version == 3 && adv.interval_cs > 0 {
            self.master_adv_int_cs = adv.interval_cs;
        }
    }

    /// Returns whether a repeat of this advert may be accepted unparsed (`Repeat`): it was
    /// a master's heard with nothing else to do, and no preempt delay (a function of time).
    fn backup_rx(&mut self, src: IpAddr, adv: &Repr, now: Instant) -> bool {
        let resumed = adv.priority != 0 && self.resuming.is_some();
        if resumed {
            self.drop_stale_vips();
            self.actions.push_back(Action::Decided(Decision::StaleVipsDropped { from: src }));
        }
        if adv.priority == 0 {
            self.timers.clear(Timer::Probe);
            // The master resigns. With nobody else to wait for, taking over at once is
            // what makes a planned handover lossless (keepalived waits Skew_Time).
            if !self.params.peers.is_empty() && self.params.peers.iter().all(|p| *p == src) {
                self.become_master(now, Reason::MasterResigned { from: src });
            } else {
                let wait = timers::skew_time(self.params.version, self.params.priority, self.master_adv_int_cs);
                self.resigned_by = Some(src);
                self.actions.push_back(Action::Decided(Decision::ResignHeard { from: src, wait }));
                self.timers.set(Timer::MasterDown, self.held(now + wait));
            }
            return false;
        }
        let delaying = !self.params.preempt_delay.is_zero() && self.preempt_at.is_none_or(|t| t > now);
        if !self.params.preempt || adv.priority >= self.params.priority || delaying {
            self.learn_interval(adv);
            let preempt_in = if delaying { self.preempt_at.map(|t| t.saturating_duration_since(now)) } else { None };
            self.master_heard(src, adv.priority, now, preempt_in);
            if self.params.preempt && !self.params.preempt_delay.is_zero() {
                if adv.priority >= self.params.priority {
                    self.preempt_at = None;
                } else if self.preempt_at.is_none() {
                    self.preempt_at = Some(now + self.params.preempt_delay);
                }
            }
            !resumed && self.params.preempt_delay.is_zero()
        }
        // Otherwise: preempt and a lower priority master — ignore it, so our timer runs out.
        else {
            let ours = self.params.priority;
            self.actions.push_back(Action::Decided(Decision::Preempting { from: src, priority: adv.priority, ours }));
            false
        }
    }

    /// Backup: an advert from the master we follow (or will) restarts the timer.
    fn master_heard(&mut self, src: IpAddr, priority: u8, now: Instant, preempt_in: Option<Duration>) {
        self.resigned_by = None;
        let master_down = self.master_down_interval();
        self.actions.push_back(Action::Decided(Decision::MasterHeard { from: src, priority, master_down, preempt_in }));
        self.timers.set(Timer::MasterDown, self.held(now + master_down));
        self.last_master = Some(src);
        self.last_heard = Some(now);
        self.follow(src, now, master_down);
    }

    fn master_rx(&mut self, src: IpAddr, adv: &Repr, now: Instant) {
        if self.timers.is_set(Timer::Resign) {
            if adv.priority > 0 {
                self.finish_resign(Reason::SuccessorTookOver { from: src });
            }
            return;
        }
        if let Some((from, at)) = self.early_from.filter(|(from, _)| *from == src) {
            self.early_from = None;
            if adv.priority > 0 && now < at + early::REFUTE_WINDOW {
                self.counters.early_refuted += 1;
                self.actions.push_back(Action::EarlyTakeoverRefuted { from });
            }
        }
        if adv.priority == 0 {
            // A resigning peer: re-assert ourselves at once (RFC 5798 §6.4.3).
            self.send(self.params.priority);
            self.timers.set(Timer::Advert, now + timers::duration_of(self.params.advert_int_cs));
            return;
        }
        let theirs_wins = adv.priority > self.params.priority
            || adv.priority == self.params.priority && self.params.advert_source.is_some_and(|ours| src > ours);
        if theirs_wins {
            if self.params.higher_prio_send_advert {
                self.send(self.params.priority);
            }
            self.learn_interval(adv);
            self.actions.push_back(Action::RemoveVips);
            self.enter(State::Backup, Reason::HigherPriority { from: src, priority: adv.priority });
            self.last_master = Some(src);
            self.last_heard = Some(now);
            let master_down = self.master_down_interval();
            self.timers.set(Timer::MasterDown, self.held(now + master_down));
            self.follow(src, now, master_down);
        } else {
            // Lower priority (or equal, lower address) claims master: answer at once so it
            // steps down (RFC 9568; keepalived without lower_prio_no_advert), and re-announce:
            // clients that followed the other master's gratuitous ARP would otherwise keep
            // sending to it until their ARP entry expires (keepalived: "forcing a new election").
            // With lower_prio_no_advert the next regular advert makes it step down.
            if !self.params.lower_prio_no_advert {
                self.send(self.params.priority);
                self.timers.set(Timer::Advert, now + timers::duration_of(self.params.advert_int_cs));
            }
            if self.reannounced_at.is_none_or(|t| now >= t + REANNOUNCE_MIN_GAP) {
                self.reannounced_at = Some(now);
                self.actions.push_back(Action::ForcedElection { from: src, priority: adv.priority });
                if let Some(again) = self.params.garp_lower_prio {
                    self.actions.push_back(Action::GratuitousLowerPrio);
                    if !again.is_zero() {
                        self.timers.set(Timer::GarpLowerPrio, now + again);
                    }
                }
            }
        }
    }
}
