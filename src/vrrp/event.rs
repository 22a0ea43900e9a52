//! What goes into and comes out of the core.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::wire::vrrp as wire;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
    /// Shut down: the runtime exits.
    Stopped,
}

impl State {
    /// keepalived's names, used for notify scripts and logs.
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stopped => "STOP",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A VRRP packet as the socket delivered it, with what the IP header said.
pub use crate::wire::Received;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Start,
    /// Start, finding our VIPs still on the host (a crash and a quick restart): listen for
    /// a master before resuming as master with them (see [`crate::vrrp::Instance`]).
    Resume,
    /// Another host answers ARP for this VIP of ours (the runtime asks while resuming): the
    /// VIPs found at start are stale. Ignored at any other time (adverts settle the rest).
    HeldElsewhere(IpAddr),
    /// A member of the instance's sync group became master: a backup follows at once.
    /// Ignored in any other state.
    SyncMaster,
    /// A member of the sync group went from master to backup: a master follows (its VIPs
    /// go, the backup timer runs). Ignored in any other state.
    SyncBackup,
    /// The timer returned by `next_deadline` has passed.
    Timeout,
    /// Something the instance needs is missing: FAULT (a master removes its VIPs).
    Fault(Fault),
    /// Every fault cleared: FAULT → BACKUP (a master still handing over for a failed
    /// check keeps the mastership instead).
    Recovered,
    /// The effective priority changed (weighted health checks): it goes into our adverts
    /// and elections from now on. A master advertises it at once, so a backup with a
    /// higher priority and preempt can take over. Ignored for the address owner (255).
    Priority(u8),
    /// The host at this address answered a probe or spoke (an ARP frame or neighbour
    /// advertisement from it): the followed master's host is alive (early failover).
    /// Ignored for any other address.
    NeighbourAnswered(IpAddr),
    /// Early failover: another host's probe for `master` (the address it follows) names a
    /// backup of this virtual router with `priority` (keepvip's probes carry it). One at
    /// least as high as ours takes over first, so our verdict leaves it the takeover.
    RivalProbing {
        master: IpAddr,
        priority: u8,
    },
    /// The unicast peer set changed (swarm membership): adverts go to these from now on
    /// and only these are heard, but for the master a backup follows now — a node leaving
    /// the set while master is heard until it resigns or falls silent, so a membership
    /// change never makes a second master. Not a switch between unicast and multicast
    /// (an empty set is ignored: the runtime restarts the instance for that).
    Peers(Vec<IpAddr>),
    /// SIGTERM/SIGINT/SIGQUIT: hand over and stop. Sticky: nothing after it brings the
    /// instance back to MASTER or BACKUP.
    Shutdown,
}

/// Why an instance cannot run (keepalived's FAULT causes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The advert interface is down, has no carrier or is gone.
    LinkDown,
    /// The advert interface has no address of the instance's family to send from.
    NoAddress,
    /// An interface a VIP lives on (`dev`), or a tracked one, is down or gone.
    VipInterface,
    /// Another member of the instance's sync group is in FAULT.
    SyncGroup,
    /// A tracked health check (weight 0) fails, or has not answered yet at start.
    Check,
}

impl Fault {
    /// Faults that leave the link usable: a master hands over make-before-break (priority
    /// 0 advert, VIPs kept until the successor advertises) instead of dropping its VIPs.
    pub fn hands_over(self) -> bool {
        matches!(self, Fault::Check | Fault::SyncGroup)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::LinkDown => "interface down",
            Fault::NoAddress => "no address to send adverts from",
            Fault::VipInterface => "an interface of the VIPs is down or gone",
            Fault::SyncGroup => "a member of the sync group is in FAULT",
            Fault::Check => "a tracked check fails",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send one advert (to every peer, or to the group) with this priority.
    SendAdvert {
        priority: u8,
    },
    AddVips,
    RemoveVips,
    /// A planned handover's end: `to` advertised after our priority 0 and adds the VIPs
    /// now. Remove ours once it has announced them (its gratuitous ARP or unsolicited NA
    /// for each), within a short bound: a client moves when it hears that announcement,
    /// and whatever it sends to us before then would find no VIP here.
    HandOverVips {
        to: IpAddr,
    },
    /// Gratuitous ARP / unsolicited NA for every VIP.
    Gratuitous,
    /// The same after a lower priority's advert (keepalived's `garp_lower_prio_repeat`
    /// rounds instead of `garp_master_repeat`).
    GratuitousLowerPrio,
    Transition {
        from: State,
        to: State,
        reason: Reason,
    },
    /// Something worth one log line that changes nothing (keepalived logs it too).
    AddressListMismatch {
        from: IpAddr,
        vrid: u8,
        theirs: Vec<IpAddr>,
    },
    /// A decision worth a debug line, with its numbers; changes nothing.
    Decided(Decision),
    /// Early failover: ask the host at `addr` (the followed master's advert source) whether
    /// it is there (ARP or neighbour solicitation); feed the answer as `NeighbourAnswered`.
    ProbeMaster {
        addr: IpAddr,
    },
    /// We took over early because `from`'s host stayed silent, and then heard `from`
    /// advertise: the verdict was wrong (probes or answers lost). The election settles it
    /// as any split brain; counted.
    EarlyTakeoverRefuted {
        from: IpAddr,
    },
    /// A lower-priority master appeared (a split brain healed): we stay master, answer it,
    /// and re-announce our VIPs (the `GratuitousLowerPrio` that follows) so clients leave its MAC.
    ForcedElection {
        from: IpAddr,
        priority: u8,
    },
}

/// What the core decided and why, for debug logs (no effect of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Started as backup: master down after this unless a master is heard.
    Waiting { master_down: Duration },
    /// Backup: an advert from the master restarted the timer; with a preempt delay running,
    /// the time left before a lower priority is ignored.
    MasterHeard { from: IpAddr, priority: u8, master_down: Duration, preempt_in: Option<Duration> },
    /// Backup with preempt: a lower-priority master is ignored, so our timer runs out.
    Preempting { from: IpAddr, priority: u8, ours: u8 },
    /// Backup: the master resigned; another node has Skew_Time to take over first.
    ResignHeard { from: IpAddr, wait: Duration },
    /// Started with our VIPs on the host and heard a master: they are stale, remove them.
    StaleVipsDropped { from: IpAddr },
    /// Started with our VIPs on the host and another host answered ARP for one of them.
    StaleVipsAnswered { vip: IpAddr },
    /// Master with a fault that leaves the link usable: priority 0 sent, VIPs kept until a
    /// successor advertises.
    HandingOver { cause: Fault },
    /// The fault cleared before a successor advertised: still master.
    HandoverCancelled,
    /// Early failover: the master's advert is late by `late`; its host is probed.
    MasterLate { from: IpAddr, late: Duration },
    /// Early failover: the late master's host answered (or never answered a probe, so
    /// its silence proves nothing): the RFC timer decides.
    MasterHostAlive { from: IpAddr, proven: bool },
    /// Early failover: the late master's host is gone, but a backup at least as high
    /// probed it in the same round: it takes over first; the RFC timer is ours.
    Outranked { from: IpAddr },
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
        match self {
            Decision::Waiting { master_down } => {
                write!(f, "backup: master down in {:.1} ms unless a master advertises", ms(master_down))
            }
            Decision::MasterHeard { from, priority, master_down, preempt_in } => {
                write!(f, "advert from {from} (priority {priority}): master down in {:.1} ms", ms(master_down))?;
                match preempt_in {
                    Some(p) => write!(f, "; preempt delay {:.1} ms left", ms(p)),
                    None => Ok(()),
                }
            }
            Decision::Preempting { from, priority, ours } => {
                write!(f, "advert from {from} with priority {priority} < ours {ours}: ignored (preempt)")
            }
            Decision::ResignHeard { from, wait } => write!(
                f,
                "{from} resigned (priority 0): taking over in {:.1} ms (Skew_Time) unless another node does",
                ms(wait)
            ),
            Decision::StaleVipsDropped { from } => {
                write!(f, "{from} is master: the VIPs found at start are stale and removed")
            }
            Decision::HandingOver { cause } => write!(
                f,
                "{cause}: priority-0 advert sent; the VIPs stay until a successor advertises (make before break)"
            ),
            Decision::HandoverCancelled => write!(f, "the fault cleared before a successor advertised: staying master"),
            Decision::MasterLate { from, late } => {
                write!(f, "no advert from {from} for {:.1} ms: probing its host (early failover)", ms(late))
            }
            Decision::MasterHostAlive { from, proven: true } => {
                write!(f, "{from}'s host answers: waiting for Master_Down_Interval")
            }
            Decision::MasterHostAlive { from, proven: false } => write!(
                f,
                "{from}'s host never answered a probe, so its silence proves nothing: waiting for Master_Down_Interval"
            ),
            Decision::Outranked { from } => write!(
                f,
                "{from}'s host is gone, but a backup with a priority at least ours probes it too: leaving it the takeover (Master_Down_Interval if it does not advertise)"
            ),
            Decision::StaleVipsAnswered { vip } => {
                write!(f, "another host answers ARP for {vip}: the VIPs found at start are stale and removed")
            }
        }
    }
}

/// Why a transition happened, for the log line and the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Startup,
    /// Started with our VIPs still on the host: listening this long for a master.
    StartupHolding {
        listen: Duration,
    },
    /// No master heard after a start with our VIPs on the host: they are kept.
    Resumed {
        listened: Duration,
    },
    /// Priority 255: the address owner is master at once.
    Owner,
    /// No advert for the Master_Down_Interval; `silent` since the last one (or since start).
    MasterDown {
        last_master: Option<IpAddr>,
        silent: Duration,
    },
    /// Early failover: the master's advert was late and its host answered none of our
    /// probes (`silent` since its last advert).
    MasterGone {
        from: IpAddr,
        silent: Duration,
    },
    /// The master resigned with priority 0 and nobody else can take over.
    MasterResigned {
        from: IpAddr,
    },
    HigherPriority {
        from: IpAddr,
        priority: u8,
    },
    Fault(Fault),
    Recovered,
    Shutdown,
    /// The master resigned and no other node took over within Skew_Time.
    ResignedNoSuccessor {
        from: IpAddr,
    },
    /// While resigning: the successor's advert arrived.
    SuccessorTookOver {
        from: IpAddr,
    },
    /// While resigning: no successor within the bound.
    NoSuccessor,
    /// Another member of the sync group became master, or stopped being master.
    SyncGroup,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Startup => write!(f, "start-up"),
            Reason::StartupHolding { listen } => write!(
                f,
                "start-up with our VIPs still on the host (a restart after a crash?): listening {:.0} ms for a master before resuming",
                listen.as_secs_f64() * 1000.0
            ),
            Reason::Resumed { listened } => write!(
                f,
                "no master heard within {:.0} ms of start: resuming with the VIPs kept (no failover)",
                listened.as_secs_f64() * 1000.0
            ),
            Reason::Owner => write!(f, "priority 255 (address owner)"),
            Reason::MasterDown { last_master: Some(m), silent } => {
                write!(f, "no advert from {m} for {:.1} s", silent.as_secs_f64())
            }
            Reason::MasterDown { last_master: None, silent } => {
                write!(f, "no advert from any master for {:.1} s", silent.as_secs_f64())
            }
            Reason::MasterGone { from, silent } => write!(
                f,
                "no advert from {from} for {:.2} s and its host answers no ARP/neighbour probe: gone, taking over before Master_Down_Interval (early failover)",
                silent.as_secs_f64()
            ),
            Reason::MasterResigned { from } => write!(f, "{from} resigned (priority 0) and no other peer remains"),
            Reason::ResignedNoSuccessor { from } => {
                write!(f, "{from} resigned (priority 0) and no other node took over within Skew_Time")
            }
            Reason::HigherPriority { from, priority } => {
                write!(f, "advert from {from} with higher priority {priority} (or equal and higher address)")
            }
            Reason::Fault(c) => write!(f, "{c}"),
            Reason::Recovered => write!(f, "fault cleared"),
            Reason::Shutdown => write!(f, "shutdown"),
            Reason::SuccessorTookOver { from } => write!(f, "{from} took over after our priority-0 advert"),
            Reason::NoSuccessor => write!(f, "no successor advertised within the bound"),
            Reason::SyncGroup => write!(f, "following its sync group"),
        }
    }
}

/// Why a received packet was dropped. Each one is counted; most are logged (rate-limited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejected {
    /// The IP header around the advert did not parse (length fields, version).
    IpHeader,
    Ttl(u8),
    Malformed(wire::Error),
    Version(u8),
    /// Another virtual router on the same link: normal, silent.
    OtherVrid(u8),
    Checksum,
    AuthType(u8),
    Password,
    Interval {
        got_cs: u16,
    },
    NotPeer,
    /// Our own advert looped back: silent.
    Own,
    /// Our VRID with other addresses: another virtual router (reported once per source).
    AddressList,
}

impl Rejected {
    /// Drops that are normal on a shared link and not worth a log line (another cluster
    /// on our VRID is named once per source, by its own action).
    pub fn silent(&self) -> bool {
        matches!(self, Rejected::OtherVrid(_) | Rejected::Own | Rejected::AddressList)
    }

    /// A stable name per kind, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Rejected::IpHeader => "ip_header",
            Rejected::Ttl(_) => "ttl",
            Rejected::Malformed(_) => "malformed",
            Rejected::Version(_) => "version",
            Rejected::OtherVrid(_) => "other_vrid",
            Rejected::Checksum => "checksum",
            Rejected::AuthType(_) => "auth_type",
            Rejected::Password => "password",
            Rejected::Interval { .. } => "interval",
            Rejected::NotPeer => "not_peer",
            Rejected::Own => "own",
            Rejected::AddressList => "address_list",
        }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::IpHeader => write!(f, "malformed IP header"),
            Rejected::Ttl(t) => write!(f, "TTL/hop limit {t} is below the minimum (255 on the link)"),
            Rejected::Malformed(e) => write!(f, "malformed ({e:?})"),
            Rejected::Version(v) => write!(f, "VRRP version {v} is not ours"),
            Rejected::OtherVrid(v) => write!(f, "virtual router id {v} is not ours"),
            Rejected::Checksum => write!(f, "bad checksum"),
            Rejected::AuthType(t) => write!(f, "authentication type {t} is not ours"),
            Rejected::Password => write!(f, "wrong password"),
            Rejected::Interval { got_cs } => {
                write!(f, "advert interval {} s differs from ours (VRRPv2 requires equal)", f64::from(*got_cs) / 100.0)
            }
            Rejected::NotPeer => write!(f, "source is not a configured unicast peer"),
            Rejected::Own => write!(f, "our own advert"),
            Rejected::AddressList => write!(f, "the virtual router's addresses differ from ours"),
        }
    }
}
