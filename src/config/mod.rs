//! Environment → validated [`Config`]. Pure: takes the variables and a [`HostView`],
//! returns a config plus log lines, or every problem at once.

#![forbid(unsafe_code)]

pub mod conf;
pub(crate) mod draft;
mod env;
mod env_track;
pub mod envfiles;
pub mod host;
pub mod list;
mod process;
pub mod pylist;
mod rendered;
pub mod route;
pub mod rule;
pub(crate) mod rules;
pub mod swarm;
pub mod template;
pub mod track;
mod variables;
pub mod vip;
pub mod yaml;

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use env::{auto_priority, from_env};
pub use host::{HostAddr, HostIface, HostView};
pub use process::{conf_file, process_settings};
pub use track::{Check, Probe};
pub use variables::{is_known, misspelt, unknown_variables, Var, VARIABLES};
pub use vip::Vip;

/// osixia's default notify script: absent from our image, and that is normal.
pub const OSIXIA_NOTIFY: &str = "/container/service/keepalived/assets/notify.sh";
pub const DEFAULT_STATE_FILE: &str = "/run/keepvip/state.json";
/// Where osixia users mount their own keepalived.conf.
pub const OSIXIA_CONF: &str = "/container/service/keepalived/assets/keepalived.conf";
/// The lowest hop limit accepted on IPv6 unicast adverts unless configured. RFC 5798 wants
/// 255, but keepalived sends IPv6 unicast adverts with the kernel's default (64) unless
/// `unicast_ttl` is set: we interoperate, and still refuse what crossed a router from such a
/// sender (63 or less). Multicast adverts must arrive with 255 either way.
pub const IPV6_UNICAST_MIN_HOPS: u8 = 64;
/// keepalived's own default path.
pub const KEEPALIVED_CONF: &str = "/etc/keepalived/keepalived.conf";

/// The keepalived.conf to run from, if any, and why it is that one: `--use-file` (or `-f`
/// after `--` in the container arguments), then `-f`/`--use-file` in
/// `KEEPALIVED_COMMAND_LINE_ARGUMENTS`, then `KEEPALIVED_CONF` (osixia 2.3) when that file
/// exists, then osixia 2.0.20's mount point, then keepalived's default path. Without one a
/// `KEEPALIVED_CONF_TEMPLATE` (see [`template`]) or the environment is the configuration.
pub fn conf_source(
    use_file: Option<&str>,
    env: &std::collections::HashMap<String, String>,
) -> Option<(PathBuf, String)> {
    if let Some(f) = use_file {
        return Some((PathBuf::from(f), "--use-file".into()));
    }
    if let Some(f) = conf_file(env) {
        return Some((PathBuf::from(f), "-f in KEEPALIVED_COMMAND_LINE_ARGUMENTS".into()));
    }
    if let Some(f) = env.get("KEEPALIVED_CONF").filter(|f| std::path::Path::new(f).is_file()) {
        return Some((PathBuf::from(f), "KEEPALIVED_CONF, osixia/keepalived 2.3's name".into()));
    }
    [OSIXIA_CONF, KEEPALIVED_CONF]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| (PathBuf::from(p), "mounted at keepalived's path".into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialState {
    Master,
    Backup,
}

/// When gratuitous ARPs / unsolicited NAs go out as master, as keepalived's
/// `garp_master_*` keywords say (its defaults without them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Garp {
    /// The second burst after a takeover (`garp_master_delay`; zero: none).
    pub delay: Duration,
    /// Rounds in each burst (`garp_master_repeat`).
    pub repeat: usize,
    /// While master, re-announce this often (`garp_master_refresh`; none by default).
    pub refresh: Option<Duration>,
    /// Rounds of each refresh (`garp_master_refresh_repeat`).
    pub refresh_repeat: usize,
    /// A master that hears a lower priority's advert announces again, and once more this
    /// much later (`garp_lower_prio_delay`; unset: `delay`)…
    pub lower_prio_delay: Option<Duration>,
    /// …in this many rounds each (`garp_lower_prio_repeat`; unset: `repeat`; 0: never).
    pub lower_prio_repeat: Option<usize>,
    /// While master, one announcement this often on each interface of the VIPs that sends
    /// no adverts: a VMAC's, or every one with `extra_if_all` (`garp_extra_if [all] N`).
    pub extra_if: Option<Duration>,
    pub extra_if_all: bool,
}

impl Garp {
    pub const KEEPALIVED: Garp = Garp {
        delay: Duration::from_secs(5),
        repeat: 5,
        refresh: None,
        refresh_repeat: 1,
        lower_prio_delay: None,
        lower_prio_repeat: None,
        extra_if: None,
        extra_if_all: false,
    };

    /// What a master does on a lower priority's advert: `None`, nothing (repeat 0);
    /// else announce now and again after this (zero: once).
    pub fn lower_prio(&self) -> Option<Duration> {
        (self.lower_prio_rounds() > 0).then(|| self.lower_prio_delay.unwrap_or(self.delay))
    }

    /// Rounds of each lower-priority announcement.
    pub fn lower_prio_rounds(&self) -> usize {
        self.lower_prio_repeat.unwrap_or(self.repeat)
    }
}

impl Default for Garp {
    fn default() -> Self {
        Garp::KEEPALIVED
    }
}

/// Where an instance's configuration came from, for messages that name what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Environment,
    ConfFile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub origin: Origin,
    /// The instance's name (`vrrp_instance NAME`; `VI_1` from the environment, as osixia's).
    pub name: String,
    pub interface: String,
    pub state: InitialState,
    pub router_id: u8,
    pub priority: u8,
    pub preempt: bool,
    pub preempt_delay: Duration,
    /// Advert interval in centiseconds (v2 values are whole seconds × 100).
    pub advert_int_cs: u16,
    pub version: Version,
    /// `None` for VRRPv3 (no authentication) — v2 always uses PASS, as osixia renders.
    pub password: Option<String>,
    /// Where adverts come from (`unicast_src_ip`, else the interface's own address).
    pub advert_source: Option<IpAddr>,
    /// Whether `advert_source` was configured (else chosen from the interface at start).
    pub advert_source_set: bool,
    /// Peers without this host's own addresses.
    pub unicast_peers: Vec<IpAddr>,
    pub virtual_ips: Vec<Vip>,
    /// keepalived.conf's `virtual_routes`: on the host exactly while the VIPs are.
    pub virtual_routes: Vec<route::Route>,
    /// `virtual_rules`: policy routing rules, on the host exactly while the VIPs are.
    pub virtual_rules: Vec<rule::Rule>,
    /// `notify`: run with `INSTANCE <name> <STATE> <priority>` appended on each transition.
    pub notify: Option<Vec<String>>,
    /// `notify_master` and friends: (MASTER|BACKUP|FAULT|STOP, command) run as written.
    pub notify_state: Vec<(String, Vec<String>)>,
    /// `track_interface`: down or gone is a FAULT, as for the instance's own interface.
    pub track_interfaces: Vec<String>,
    /// Health checks (`KEEPALIVED_TRACK_*`, `track_script`, weighted `track_interface`).
    pub checks: Vec<Check>,
    /// The `vrrp_sync_group` this instance belongs to.
    pub sync_group: Option<String>,
    pub v3_checksum_as_v2: bool,
    pub unicast_min_ttl: u8,
    pub check_unicast_src: bool,
    /// This host's addresses the peers list (variables only: the same list on every node):
    /// the advert source must be one, else FAULT, or the peers would drop our adverts.
    pub listed_sources: Vec<IpAddr>,
    /// `KEEPALIVED_PRIORITY=auto`: extra wait before the first takeover after start, by rank.
    pub first_hold: Duration,
    pub garp: Garp,
    /// `dont_track_primary`: the advert interface going down is no FAULT (keepalived's
    /// keyword; VIPs on it stay while the link is down).
    pub dont_track_primary: bool,
    /// A multicast group other than VRRP's (keepalived's `mcast_dst_ip`, `vrrp_mcast_group4/6`).
    pub mcast_group: Option<IpAddr>,
    /// keepalived's `skip_check_adv_addr`: the master's address list is not checked again.
    pub skip_check_adv_addr: bool,
    /// keepvip's early failover (`vrrp::early`): take over when the master's host is gone.
    pub early_failover: bool,
    /// keepalived's `down_timer_adverts`: adverts missed before the master is down (3).
    pub down_timer_adverts: u8,
    /// keepalived's `track_src_ip`: a written source that leaves the host is a FAULT.
    pub track_src_ip: bool,
    /// keepalived's `vrrp_startup_delay`: no takeover until this long after start.
    pub startup_delay: Duration,
    /// The master takes traffic to its VIPs; false (keepalived's `no_accept`, strict mode's
    /// default below priority 255): a firewall drops it while we hold them.
    pub accept: bool,
    /// keepalived's `vrrp_strict` / `strict_mode` (what it changes is already in the
    /// other fields; kept for the dump).
    pub strict: bool,
    /// keepalived's `lower_prio_no_advert`: no advert at once for a lower priority's claim.
    pub lower_prio_no_advert: bool,
    /// keepalived's `higher_prio_send_advert`: one advert before stepping down.
    pub higher_prio_send_advert: bool,
    /// keepalived's `use_vmac`: the VIPs on a macvlan with the virtual router's MAC.
    pub vmac: Option<Vmac>,
    /// The peers come from the swarm (`KEEPALIVED_UNICAST_PEERS=swarm`): unicast even while
    /// this node is the only member, and they change at runtime.
    pub swarm_peers: bool,
}

/// keepalived's `use_vmac [NAME]` (IPv4): a macvlan `name` on the instance's interface
/// with MAC 00:00:5e:00:01:VRID holds the VIPs written without `dev`; multicast adverts
/// leave from it unless `xmit_base` (`vmac_xmit_base`) sends them from the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vmac {
    pub name: String,
    pub xmit_base: bool,
}

impl Vmac {
    /// RFC 3768 §7.3: the virtual router MAC address.
    pub fn mac(vrid: u8) -> [u8; 6] {
        [0x00, 0x00, 0x5e, 0x00, 0x01, vrid]
    }
}

impl Config {
    /// Where `v` is added: its `dev`, else the instance's interface, and with `use_vmac`
    /// the VMAC instead of the interface (as keepalived places them).
    pub fn vip_interface<'a>(&'a self, v: &'a Vip) -> &'a str {
        match (&self.vmac, v.dev.as_deref()) {
            (Some(m), None) => &m.name,
            (Some(m), Some(d)) if d == self.interface => &m.name,
            (_, d) => d.unwrap_or(&self.interface),
        }
    }

    /// The interface keepalived calls the instance's own: the VMAC with `use_vmac`.
    pub fn own_interface(&self) -> &str {
        self.vmac.as_ref().map_or(&self.interface, |m| &m.name)
    }

    /// `garp_extra_if` as keepalived runs it: only with `all` (keepvip has no per-VIP
    /// VMACs, keepalived's other case) and a VIP on an interface not the instance's own;
    /// else off.
    pub fn garp_extra_if(&self) -> Option<Duration> {
        let own = self.own_interface();
        let extra = self.virtual_ips.iter().any(|v| self.vip_interface(v) != own);
        self.garp.extra_if.filter(|_| self.garp.extra_if_all && extra)
    }

    pub fn multicast(&self) -> bool {
        self.unicast_peers.is_empty() && !self.swarm_peers
    }

    /// Where multicast adverts go (`None` in unicast mode): the configured group
    /// (`mcast_dst_ip`, `vrrp_mcast_group4/6`), else VRRP's own.
    pub fn multicast_group(&self) -> Option<IpAddr> {
        let default = if self.ipv6() {
            IpAddr::V6(crate::wire::vrrp::MULTICAST_V6)
        } else {
            IpAddr::V4(crate::wire::vrrp::MULTICAST_V4)
        };
        self.multicast().then(|| self.mcast_group.filter(|g| g.is_ipv6() == self.ipv6()).unwrap_or(default))
    }

    /// The instance's family is its first VIP's, as keepalived decides it.
    pub fn ipv6(&self) -> bool {
        self.virtual_ips.first().is_some_and(|v| v.addr.is_ipv6())
    }

    pub fn advert_int(&self) -> Duration {
        Duration::from_millis(u64::from(self.advert_int_cs) * 10)
    }

    /// Whether two checks are the same but for their weight (a reload changes weights in place).
    pub fn same_check_but_weight(a: &Check, b: &Check) -> bool {
        Check { weight: b.weight, ..a.clone() } == *b
    }

    /// One readable line for the start-up log (`--check` prints the whole JSON).
    pub fn summary(&self) -> String {
        let v = match self.version {
            Version::V2 => 2,
            Version::V3 => 3,
        };
        let preempt = match (self.preempt, self.preempt_delay.is_zero()) {
            (false, _) => "nopreempt".to_string(),
            (true, true) => "preempt".to_string(),
            (true, false) => format!("preempt after {} s", self.preempt_delay.as_secs_f64()),
        };
        let start = match self.state {
            InitialState::Master => "MASTER",
            InitialState::Backup => "BACKUP",
        };
        let src = self.advert_source.map_or("its address".to_string(), |s| s.to_string());
        let to = if let Some(g) = self.multicast_group() {
            format!("multicast {g}")
        } else {
            self.unicast_peers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        };
        let auth = if self.password.is_some() { "password" } else { "no authentication" };
        let vips: Vec<String> = self.virtual_ips.iter().map(ToString::to_string).collect();
        let down = if self.down_timer_adverts == 3 {
            String::new()
        } else {
            format!(", master down after {} missed adverts", self.down_timer_adverts)
        };
        let down = down
            + if self.accept { "" } else { ", traffic to the VIPs dropped (no_accept)" }
            + if self.strict { ", strict mode" } else { "" }
            + &self.vmac.as_ref().map_or(String::new(), |v| format!(", VIPs on VMAC {}", v.name));
        let hold = if self.first_hold.is_zero() {
            String::new()
        } else {
            format!(" (first takeover {} s later, by auto rank)", self.first_hold.as_secs_f64())
        };
        format!(
            "({}) VRRPv{v} virtual router {}, priority {}{hold}, {preempt}, starts as {start}; adverts every {} s{down} on {} from {src} to {to}, {auth}; VIPs {}",
            self.name,
            self.router_id,
            self.priority,
            f64::from(self.advert_int_cs) / 100.0,
            self.interface,
            vips.join(", ")
        ) + &self.routes_summary()
            + &self.checks_summary()
    }

    fn routes_summary(&self) -> String {
        let list = |v: Vec<String>| v.join(", ");
        let mut out = String::new();
        if !self.virtual_routes.is_empty() {
            out += &format!("; routes {}", list(self.virtual_routes.iter().map(ToString::to_string).collect()));
        }
        if !self.virtual_rules.is_empty() {
            out += &format!("; rules {}", list(self.virtual_rules.iter().map(ToString::to_string).collect()));
        }
        out
    }

    fn checks_summary(&self) -> String {
        let mut all: Vec<String> = self.track_interfaces.iter().map(|i| format!("interface {i}")).collect();
        all.extend(self.checks.iter().map(|c| {
            let w = if c.weight == 0 { "FAULT".to_string() } else { format!("weight {:+}", c.weight) };
            match c.probe {
                Probe::Link(_) => format!("{} ({w})", c.name),
                _ => format!(
                    "{} (every {} s, timeout {} s, fall {}, rise {}, {w})",
                    c.name,
                    c.interval.as_secs_f64(),
                    c.timeout.as_secs_f64(),
                    c.fall,
                    c.rise
                ),
            }
        }));
        if all.is_empty() {
            String::new()
        } else {
            format!("; tracking {}", all.join(", "))
        }
    }

    /// The effective configuration as one JSON object (`--check`, `--dump-conf`); never the password.
    pub fn to_json(&self) -> serde_json::Value {
        let vips: Vec<_> = self
            .virtual_ips
            .iter()
            .map(|v| {
                serde_json::json!({
                    "address": v.addr.to_string(), "prefix": v.prefix,
                    "dev": self.vip_interface(v), "label": v.label,
                    "advertised": !v.excluded,
                })
            })
            .collect();
        let mut all = serde_json::json!({
            "name": self.name,
            "interface": self.interface,
            "state": match self.state { InitialState::Master => "MASTER", InitialState::Backup => "BACKUP" },
            "router_id": self.router_id,
            "priority": self.priority,
            "preempt": self.preempt,
            "preempt_delay": self.preempt_delay.as_secs_f64(),
            "advert_int": f64::from(self.advert_int_cs) / 100.0,
            "vrrp_version": match self.version { Version::V2 => 2, Version::V3 => 3 },
            "auth_type": if self.password.is_some() { "PASS" } else { "NONE" },
            "password_set": self.password.is_some(),
            "unicast_src_ip": self.advert_source.map(|i| i.to_string()),
            "unicast_src_ip_from": if self.advert_source_set { "configuration" } else { "interface" },
            "unicast_peers": self.unicast_peers.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            "virtual_ips": vips,
            "virtual_routes": self.virtual_routes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "virtual_rules": self.virtual_rules.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "notify": self.notify.as_ref().map(|c| c.join(" ")),
            "notify_state": self.notify_state.iter().map(|(s, c)| (s.clone(), serde_json::Value::String(c.join(" ")))).collect::<serde_json::Map<_, _>>(),
            "track_interfaces": self.track_interfaces,
            "checks": self.checks.iter().map(|c| serde_json::json!({
                "name": c.name, "probe": c.probe.describe(), "interval": c.interval.as_secs_f64(),
                "timeout": c.timeout.as_secs_f64(), "fall": c.fall, "rise": c.rise, "weight": c.weight,
                "init_fail": c.init_fail,
                "process": match &c.probe {
                    track::Probe::Process(m) => serde_json::json!({
                        "name": m.name, "args": m.args, "full_command": m.full_command, "quorum": m.quorum,
                        "quorum_max": (m.quorum_max != u32::MAX).then_some(m.quorum_max),
                        "param_match": format!("{:?}", m.param_match).to_ascii_lowercase(),
                    }),
                    _ => serde_json::Value::Null,
                },
            })).collect::<Vec<_>>(),
            "sync_group": self.sync_group,
            "mode": if self.multicast() { "multicast" } else { "unicast" },
            "v3_checksum_as_v2": self.v3_checksum_as_v2,
            "unicast_min_ttl": self.unicast_min_ttl,
            "check_unicast_src": self.check_unicast_src,
            "first_takeover_hold": self.first_hold.as_secs_f64(),
            "garp_master_delay": self.garp.delay.as_secs(),
            "garp_master_repeat": self.garp.repeat,
            "garp_master_refresh": self.garp.refresh.map_or(0, |r| r.as_secs()),
            "garp_master_refresh_repeat": self.garp.refresh_repeat,
            "garp_lower_prio_delay": self.garp.lower_prio_delay.unwrap_or(self.garp.delay).as_secs(),
            "garp_lower_prio_repeat": self.garp.lower_prio_rounds(),
            "dont_track_primary": self.dont_track_primary,
            "skip_check_adv_addr": self.skip_check_adv_addr,
            "early_failover": self.early_failover,
            "down_timer_adverts": self.down_timer_adverts,
            "track_src_ip": self.track_src_ip,
            "startup_delay": self.startup_delay.as_secs_f64(),
            "mcast_group": self.multicast_group().map(|g| g.to_string()),
        });
        // Apart: one json! call this long reaches the macro's recursion limit.
        all["accept"] = self.accept.into();
        all["strict"] = self.strict.into();
        all["lower_prio_no_advert"] = self.lower_prio_no_advert.into();
        all["higher_prio_send_advert"] = self.higher_prio_send_advert.into();
        all["use_vmac"] = self.vmac.as_ref().map(|v| v.name.clone()).into();
        all["vmac_xmit_base"] = self.vmac.as_ref().is_some_and(|v| v.xmit_base).into();
        all["garp_extra_if"] = self.garp_extra_if().map(|d| d.as_secs()).into();
        all
    }
}

/// One invalid variable: printed as `NAME="value": what was expected`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub var: String,
    pub value: String,
    pub msg: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}: {}", self.var, self.value, self.msg)
    }
}

/// What the process takes from the environment whatever the source of the instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSettings {
    pub state_file: PathBuf,
    /// `KEEPVIP_METRICS_ADDR`: where to serve `GET /metrics`; `None` is off.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// `--dump-conf` in `KEEPALIVED_COMMAND_LINE_ARGUMENTS`: the configuration to the log.
    pub dump_conf: bool,
}

/// A valid configuration and what start-up should log about it.
#[derive(Debug, Clone)]
pub struct FromEnv {
    pub config: Config,
    /// Dual stack: the instance of the VIPs of the other family, in a sync group with `config`.
    pub dual: Option<Config>,
    pub info: Vec<String>,
    pub warnings: Vec<String>,
}
