//! Every keepalived.conf keyword of keepalived 2.2.7's VRRP side (and the top-level blocks
//! and `global_defs` settings of its other parts), with what keepvip does with it: the
//! same as keepalived, accepted without effect (only where that changes nothing of the
//! cluster), or refused with the reason. The parser reads the `Same` ones itself and asks
//! this table about the others; the README's keyword table is rendered from it (a test
//! keeps them equal, another that keepalived's manual names no keyword missing here).

/// Where a keyword is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Top,
    Global,
    Instance,
    Script,
    Process,
    SyncGroup,
}

impl Block {
    pub fn name(self) -> &'static str {
        match self {
            Block::Top => "top level",
            Block::Global => "global_defs",
            Block::Instance => "vrrp_instance",
            Block::Script => "vrrp_script",
            Block::Process => "vrrp_track_process",
            Block::SyncGroup => "vrrp_sync_group",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// Read, with keepalived's meaning (the note, when there is one, says how).
    Same(&'static str),
    /// Accepted without effect: why that changes nothing of the cluster.
    Ignored(&'static str),
    /// An error naming file:line: why.
    Refused(&'static str),
    /// keepvip's own (keepalived warns "unknown keyword" and goes on): what it does.
    Extension(&'static str),
}

pub struct Keyword {
    pub block: Block,
    pub name: &'static str,
    pub meaning: Meaning,
}

const fn same(block: Block, name: &'static str) -> Keyword {
    Keyword { block, name, meaning: Meaning::Same("") }
}
const fn same_but(block: Block, name: &'static str, note: &'static str) -> Keyword {
    Keyword { block, name, meaning: Meaning::Same(note) }
}
const fn ignored(block: Block, name: &'static str, why: &'static str) -> Keyword {
    Keyword { block, name, meaning: Meaning::Ignored(why) }
}
const fn extension(block: Block, name: &'static str, what: &'static str) -> Keyword {
    Keyword { block, name, meaning: Meaning::Extension(what) }
}
const fn refused(block: Block, name: &'static str, why: &'static str) -> Keyword {
    Keyword { block, name, meaning: Meaning::Refused(why) }
}

use Block::{Global as G, Instance as I, Process as P, Script as S, SyncGroup as Y, Top as T};

const MAIL: &str = "mail alerts: keepvip logs every transition instead";
const SNMP: &str = "SNMP/DBus agents: keepvip exposes Prometheus metrics instead";
const LVS: &str = "LVS settings: keepvip has no load balancer";
const TUNING: &str = "process and socket tuning of keepalived's daemons: keepvip is one small process";
const FIFO: &str = "notification FIFOs are not implemented: use notify scripts";
const PRIORITY_FIFO: &str = "it only adds priority lines to notify FIFOs, which keepvip refuses (vrrp_notify_fifo)";
const VMAC: &str = "only use_vmac's default form is implemented (a macvlan with MAC 00:00:5e:00:01:VRID, IPv4)";
const NOT_YET: &str = "not implemented: keepalived's behaviour would change without it";
const STRICT: &str = "keepalived's strict mode: no authentication, preempt_delay, down_timer_adverts or \
     lower-priority gratuitous ARP (each reset with keepalived's warning), lower_prio_no_advert on, and below \
     priority 255 no_accept; at least one VIP";
const NO_ACCEPT: &str = "while master, traffic to the VIPs is dropped by nftables (tables ip/ip6 keepvip, \
     hooks input and output at priority -1, neighbour discovery let through), as keepalived drops it";

pub const KEYWORDS: &[Keyword] = &[
    // Top-level blocks.
    same(T, "global_defs"),
    same(T, "vrrp_instance"),
    same(T, "vrrp_script"),
    same(T, "vrrp_sync_group"),
    same_but(T, "include", "globs, relative to the including file"),
    refused(
        T,
        "virtual_server",
        "load balancing with IPVS needs the ip_vs module: run keepalived for it, or a load balancer behind the VIP",
    ),
    refused(T, "virtual_server_group", "load balancing with IPVS (see virtual_server)"),
    refused(T, "static_ipaddress", "static addresses: configure them with the host's network tools"),
    refused(T, "static_routes", "static routes: configure them with the host's network tools"),
    refused(T, "static_rules", "static routing rules: configure them with the host's network tools"),
    same_but(T, "vrrp_track_process", "processes counted from /proc every second (keepalived hears of each at once); in a container they are the container's own unless it runs with the host's PID namespace (`--pid=host`)"),
    refused(T, "vrrp_track_file", "file tracking is not implemented: track the file with a vrrp_script"),
    refused(T, "track_file", "file tracking is not implemented: track the file with a vrrp_script"),
    refused(T, "vrrp_garp_group", "per-interface gratuitous ARP pacing is not implemented"),
    refused(T, "garp_group", "per-interface gratuitous ARP pacing is not implemented"),
    refused(T, "linkbeat_interfaces", "keepvip follows link state by netlink only"),
    refused(T, "track_group", "static track groups are not implemented"),
    refused(T, "bfd_instance", "BFD is not implemented"),
    refused(T, "net_namespace", "network namespaces: run keepvip in the namespace instead"),
    // global_defs: VRRP.
    same(G, "vrrp_version"),
    same(G, "vrrp_check_unicast_src"),
    same(G, "vrrp_skip_check_adv_addr"),
    same(G, "vrrp_mcast_group4"),
    same(G, "vrrp_mcast_group6"),
    same(G, "vrrp_garp_master_delay"),
    same(G, "vrrp_garp_master_repeat"),
    same(G, "vrrp_garp_master_refresh"),
    same(G, "vrrp_garp_master_refresh_repeat"),
    same_but(G, "enable_script_security", "keepvip runs scripts as root: a script_user other than root is refused"),
    same_but(G, "script_user", "root only; a user this host lacks removes the scripts, as in keepalived"),
    same_but(G, "default_interface", "as keepalived: not a default for vrrp_instance's interface"),
    extension(
        G,
        "keepvip_early_failover",
        "on (default) or off: a backup takes over before Master_Down_Interval when the late master's host answers no ARP/neighbour probe",
    ),
    same_but(G, "vrrp_strict", STRICT),
    ignored(G, "vrrp_garp_interval", "pacing only: keepvip paces announcements itself (64 frames every 5 ms)"),
    ignored(G, "vrrp_gna_interval", "pacing only: keepvip paces announcements itself (64 frames every 5 ms)"),
    same(G, "vrrp_garp_lower_prio_delay"),
    same(G, "vrrp_garp_lower_prio_repeat"),
    same(G, "vrrp_garp_extra_if"),
    same(G, "vrrp_min_garp"),
    same(G, "vrrp_lower_prio_no_advert"),
    same(G, "vrrp_higher_prio_send_advert"),
    same(G, "vrrp_down_timer_adverts"),
    ignored(G, "vrrp_notify_priority_changes", PRIORITY_FIFO),
    same_but(G, "vrrp_startup_delay", "no takeover, not even the address owner's, until it has passed; VIPs a crash left are removed at start instead of resumed"),
    refused(G, "vrrp_iptables", "iptables chains: keepvip drops no_accept traffic with nftables; remove the line"),
    refused(G, "vrrp_ipsets", "ipsets: keepvip drops no_accept traffic with nftables; remove the line"),
    ignored(G, "nftables", "keepvip's drop rules are always in its own tables, ip keepvip and ip6 keepvip"),
    refused(G, "vrrp_notify_fifo", FIFO),
    refused(G, "vrrp_notify_fifo_script", FIFO),
    refused(G, "notify_fifo", FIFO),
    refused(G, "notify_fifo_script", FIFO),
    refused(G, "startup_script", "startup scripts are not implemented"),
    refused(G, "shutdown_script", "shutdown scripts are not implemented"),
    refused(G, "dynamic_interfaces", "interfaces must exist when the file is read"),
    ignored(G, "max_auto_priority", TUNING),
    ignored(G, "min_auto_priority_delay", TUNING),
    ignored(G, "vrrp_priority", TUNING),
    ignored(G, "vrrp_no_swap", TUNING),
    ignored(G, "vrrp_rt_priority", TUNING),
    ignored(G, "vrrp_rlimit_rttime", TUNING),
    ignored(G, "vrrp_cpu_affinity", TUNING),
    ignored(G, "vrrp_process_name", TUNING),
    ignored(G, "vrrp_rx_bufs_policy", TUNING),
    ignored(G, "vrrp_rx_bufs_multiplier", TUNING),
    ignored(G, "vrrp_netlink_cmd_rcv_bufs", TUNING),
    ignored(G, "vrrp_netlink_cmd_rcv_bufs_force", TUNING),
    ignored(G, "vrrp_netlink_monitor_rcv_bufs", TUNING),
    ignored(G, "vrrp_netlink_monitor_rcv_bufs_force", TUNING),
    ignored(G, "checker_priority", TUNING),
    ignored(G, "checker_no_swap", TUNING),
    ignored(G, "checker_rt_priority", TUNING),
    ignored(G, "script_security", "an old spelling; keepvip runs scripts as root either way"),
    ignored(G, "router_id", "a name for mail alerts only"),
    ignored(G, "notification_email", MAIL),
    ignored(G, "notification_email_from", MAIL),
    ignored(G, "smtp_server", MAIL),
    ignored(G, "smtp_connect_timeout", MAIL),
    ignored(G, "smtp_helo_name", MAIL),
    ignored(G, "smtp_alert", MAIL),
    ignored(G, "smtp_alert_vrrp", MAIL),
    ignored(G, "enable_snmp_vrrp", SNMP),
    ignored(G, "enable_snmp_keepalived", SNMP),
    ignored(G, "enable_snmp_checker", SNMP),
    ignored(G, "enable_snmp_rfc", SNMP),
    ignored(G, "enable_snmp_rfcv2", SNMP),
    ignored(G, "enable_snmp_rfcv3", SNMP),
    ignored(G, "enable_traps", SNMP),
    ignored(G, "enable_dbus", SNMP),
    ignored(G, "lvs_id", LVS),
    ignored(G, "lvs_sync_daemon", LVS),
    ignored(G, "lvs_flush", LVS),
    ignored(G, "lvs_timeouts", LVS),
    // vrrp_instance.
    same(I, "state"),
    same(I, "interface"),
    same(I, "virtual_router_id"),
    same(I, "priority"),
    same(I, "advert_int"),
    same(I, "version"),
    same(I, "nopreempt"),
    same(I, "preempt"),
    same(I, "preempt_delay"),
    same(I, "unicast_src_ip"),
    same(I, "mcast_src_ip"),
    same(I, "unicast_peer"),
    same(I, "mcast_dst_ip"),
    same_but(I, "unicast_ttl", "the lowest TTL accepted on unicast adverts; keepvip sends 255"),
    same(I, "check_unicast_src"),
    same(I, "skip_check_adv_addr"),
    same(I, "virtual_ipaddress"),
    same(I, "virtual_ipaddress_excluded"),
    same_but(I, "authentication", "auth_type PASS; AH is refused"),
    same(I, "auth_type"),
    same(I, "auth_pass"),
    same(I, "notify"),
    same(I, "notify_master"),
    same(I, "notify_backup"),
    same(I, "notify_fault"),
    same(I, "notify_stop"),
    same(I, "track_interface"),
    same(I, "track_script"),
    same(I, "dont_track_primary"),
    same(I, "garp_master_delay"),
    same(I, "garp_master_repeat"),
    same(I, "garp_master_refresh"),
    same(I, "garp_master_refresh_repeat"),
    same_but(I, "accept", "the default except in strict mode below priority 255: the master takes traffic to its VIPs"),
    same_but(I, "no_accept", NO_ACCEPT),
    same_but(I, "strict_mode", STRICT),
    same_but(
        I,
        "use_vmac",
        "IPv4: a private macvlan (vrrp.VRID or the name written) with MAC 00:00:5e:00:01:VRID holds the VIPs \
         written without dev; multicast adverts leave from it, unicast ones from the interface; the interface's \
         arp_ignore/arp_filter set as keepalived sets them, and arp_announce 2 so clients' entries keep the \
         VMAC (all restored at stop); adverts are heard on the interface, so no IGMP report carries the shared \
         MAC (keepalived drops those with nftables); IPv6 is refused",
    ),
    refused(I, "use_vmac_addr", VMAC),
    same_but(I, "vmac_xmit_base", "adverts leave from the interface, the VIPs stay on the VMAC"),
    refused(I, "use_ipvlan", VMAC),
    refused(I, "native_ipv6", VMAC),
    refused(I, "vrf", "VRFs are not implemented"),
    same_but(
        I,
        "virtual_routes",
        "added after the VIPs while master and removed with them, protocol keepalived as keepalived adds them; \
         type, to, src, via/gw, dev, table, metric, scope, protocol, no_track are read, other `ip route` \
         options are refused by name; a route deleted by hand returns at the next takeover (keepalived leaves \
         MASTER for a route it tracks)",
    ),
    same_but(
        I,
        "virtual_rules",
        "added after the VIPs while master and removed with them, protocol keepalived (none with no_track), a \
         missing preference counted down from 16384 as keepalived does; not, from, to, fwmark, iif, oif, tos, \
         priority/preference, table/lookup, goto, nop, blackhole, unreachable, prohibit, suppress_prefixlength are \
         read, other `ip rule` options are refused by name",
    ),
    same(I, "track_process"),
    refused(I, "track_file", "file tracking is not implemented: track the file with a vrrp_script"),
    refused(I, "track_bfd", "BFD is not implemented"),
    same(I, "track_src_ip"),
    same_but(
        I,
        "unicast_fault_no_peer",
        "with peers, no effect (as in keepalived); without any, refused: keepalived would hold the instance in FAULT for good",
    ),
    same(I, "down_timer_adverts"),
    same(I, "garp_lower_prio_delay"),
    same(I, "garp_lower_prio_repeat"),
    same_but(
        I,
        "garp_extra_if",
        "with all and a VIP on another interface: one announcement per interval on each such interface (and on \
         the VMAC when vmac_xmit_base sends the adverts); otherwise off, as keepalived turns it off",
    ),
    same(I, "lower_prio_no_advert"),
    same(I, "higher_prio_send_advert"),
    same_but(I, "notify_master_rx_lower_pri", "run when a lower priority's advert makes the master force a new election, at most once a second (keepalived: on each such advert)"),
    ignored(I, "notify_priority_changes", PRIORITY_FIFO),
    refused(I, "old_unicast_checksum", "keepvip accepts keepalived's old unicast checksum but sends the current one"),
    refused(
        I,
        "promote_secondaries",
        "the sysctl it sets is not managed by keepvip: set net.ipv4.conf.IF.promote_secondaries on the host",
    ),
    ignored(I, "linkbeat_use_polling", "keepvip follows link state by netlink"),
    ignored(I, "kernel_rx_buf_size", TUNING),
    ignored(I, "debug", "keepvip's --loglevel sets the detail"),
    ignored(I, "smtp_alert", MAIL),
    ignored(I, "lvs_sync_daemon_interface", LVS),
    // vrrp_script.
    same(S, "script"),
    same_but(S, "interval", "whole seconds, as keepalived reads them"),
    same_but(S, "timeout", "whole seconds, as keepalived reads them"),
    same(S, "weight"),
    same(S, "rise"),
    same(S, "fall"),
    same(S, "init_fail"),
    refused(S, "user", "keepvip runs scripts as root only; remove the line"),
    // vrrp_track_process.
    same(P, "process"),
    same(P, "param_match"),
    same_but(P, "weight", "`reverse` is refused: give the opposite weight instead"),
    same(P, "quorum"),
    same(P, "quorum_max"),
    same_but(P, "fork_delay", "rounded up to whole scans of a second"),
    same_but(P, "terminate_delay", "rounded up to whole scans of a second"),
    same_but(P, "delay", "rounded up to whole scans of a second"),
    same(P, "full_command"),
    // vrrp_sync_group.
    same(Y, "group"),
    same(Y, "notify"),
    same(Y, "notify_master"),
    same(Y, "notify_backup"),
    same(Y, "notify_fault"),
    same(Y, "notify_stop"),
    same(Y, "sync_group_tracking_weight"),
    refused(Y, "track_interface", "group-level tracking is not implemented: track in each vrrp_instance"),
    refused(Y, "track_script", "group-level tracking is not implemented: track in each vrrp_instance"),
    refused(Y, "track_file", "group-level tracking is not implemented: track in each vrrp_instance"),
    refused(Y, "track_process", "group-level tracking is not implemented: track in each vrrp_instance"),
    refused(Y, "track_bfd", "group-level tracking is not implemented: track in each vrrp_instance"),
    refused(Y, "global_tracking", "group-level tracking is not implemented: track in each vrrp_instance"),
    refused(Y, "notify_deleted", NOT_YET),
    ignored(Y, "notify_priority_changes", PRIORITY_FIFO),
    ignored(Y, "smtp_alert", MAIL),
];

/// What keepvip does with `name` in `block`, if keepalived knows it there.
pub fn lookup(block: Block, name: &str) -> Option<Meaning> {
    KEYWORDS.iter().find(|k| k.block == block && k.name == name).map(|k| k.meaning)
}

/// The README's table, one row per keyword.
pub fn markdown_table() -> String {
    let mut out = String::from("| where | keyword | keepvip |\n|---|---|---|\n");
    for k in KEYWORDS {
        let what = match k.meaning {
            Meaning::Same("") => "same meaning".to_string(),
            Meaning::Same(note) => format!("same meaning: {note}"),
            Meaning::Ignored(why) => format!("accepted without effect: {why}"),
            Meaning::Refused(why) => format!("refused: {why}"),
            Meaning::Extension(what) => format!("keepvip's own (keepalived ignores it): {what}"),
        };
        out += &format!("| {} | `{}` | {what} |\n", k.block.name(), k.name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_table_is_this_table() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let (start, end) = ("<!-- keywords -->\n", "<!-- /keywords -->");
        let from = readme.find(start).expect("README: no <!-- keywords --> marker") + start.len();
        let to = readme[from..].find(end).expect("README: no <!-- /keywords --> marker") + from;
        // KEEPVIP_WRITE_README=1 writes the table there instead of comparing.
        if std::env::var_os("KEEPVIP_WRITE_README").is_some() {
            let updated = format!("{}{}{}", &readme[..from], markdown_table(), &readme[to..]);
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"), updated).unwrap();
            return;
        }
        assert!(
            readme[from..to] == markdown_table(),
            "the README's keyword table differs; it should read:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn each_keyword_once() {
        for (i, k) in KEYWORDS.iter().enumerate() {
            assert!(!KEYWORDS[..i].iter().any(|o| o.block == k.block && o.name == k.name), "{} twice", k.name);
        }
    }

    /// Every keyword the table calls the same is read by the parser: whatever its value,
    /// never "unknown" and never "not read".
    #[test]
    fn the_parser_reads_every_keyword_the_table_calls_the_same() {
        use crate::config::conf::{from_stmts, lex};
        let host = crate::config::HostView::single("eth0", 2, "198.18.0.1/24");
        for k in KEYWORDS.iter().filter(|k| matches!(k.meaning, Meaning::Same(_))) {
            for value in ["", " 1", " eth0", " 198.18.0.2", " {\n  x\n }", " false"] {
                let line = format!("{}{value}", k.name);
                let text = match k.block {
                    Block::Top => continue,
                    Block::Global => format!("global_defs {{\n {line}\n}}\n"),
                    Block::Instance if matches!(k.name, "auth_type" | "auth_pass") => format!(
                        "vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n authentication {{\n  {line}\n }}\n}}\n"
                    ),
                    Block::Instance => format!("vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n {line}\n}}\n"),
                    Block::Script => format!("vrrp_script s {{\n {line}\n}}\n"),
                    Block::Process => format!("vrrp_track_process t {{\n {line}\n}}\n"),
                    Block::SyncGroup => format!("vrrp_sync_group G {{\n {line}\n}}\n"),
                };
                let Ok(stmts) = lex::parse_str("k.conf", &text) else { continue };
                if let Err(errors) = from_stmts(std::path::Path::new("k.conf"), &stmts, &host) {
                    for e in errors.iter().map(ToString::to_string) {
                        let unknown = format!("unknown keyword '{}'", k.name);
                        assert!(!e.contains(&unknown) && !e.contains("keepvip bug"), "{text}: {e}");
                    }
                }
            }
        }
    }
}
