//! What keepvip does with each keepalived keyword it does not read itself: refused (it
//! would change what the host does) or accepted without effect.

/// Top-level blocks keepalived knows that would change what the host does if ignored.
pub(super) const UNSUPPORTED_TOP: &[(&str, &str)] = &[
    ("virtual_server", "load balancing with IPVS"),
    ("virtual_server_group", "load balancing with IPVS"),
    ("static_ipaddress", "static addresses"),
    ("static_routes", "static routes"),
    ("static_rules", "static routing rules"),
    ("vrrp_track_process", "process tracking"),
    ("vrrp_track_file", "file tracking"),
    ("bfd_instance", "BFD"),
    ("net_namespace", "network namespaces"),
];

/// `global_defs` keywords that only matter to parts keepvip does not have (mail alerts,
/// LVS, SNMP, DBus, process tuning): named and ignored.
pub(super) const IGNORED_GLOBAL: &[&str] = &[
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_connect_timeout",
    "smtp_helo_name",
    "smtp_alert",
    "smtp_alert_vrrp",
    "router_id",
    "lvs_id",
    "lvs_sync_daemon",
    "lvs_flush",
    "lvs_timeouts",
    "vrrp_iptables",
    "vrrp_ipsets",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_priority",
    "checker_priority",
    "vrrp_no_swap",
    "checker_no_swap",
    "vrrp_rt_priority",
    "checker_rt_priority",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_traps",
    "enable_dbus",
    "max_auto_priority",
    "min_auto_priority_delay",
    "dynamic_interfaces",
    "vrrp_notify_fifo",
    "notify_fifo",
    "script_security",
    "vrrp_startup_delay",
];

/// `vrrp_instance` keywords accepted without effect: their job is done another way here or
/// belongs to parts keepvip does not have.
pub(super) const IGNORED_INSTANCE: &[&str] = &[
    "smtp_alert",
    "preempt",
    "accept",
    "no_accept",
    "debug",
    "lvs_sync_daemon_interface",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "lower_prio_no_advert",
    "higher_prio_send_advert",
    "native_ipv6",
    "notify_priority_changes",
    "kernel_rx_buf_size",
];

/// `vrrp_instance` keywords keepalived knows whose effect keepvip cannot provide.
pub(super) const UNSUPPORTED_INSTANCE: &[(&str, &str)] = &[
    ("use_vmac", "virtual MAC interfaces"),
    ("vmac_xmit_base", "virtual MAC interfaces"),
    ("virtual_routes", "virtual routes"),
    ("virtual_rules", "virtual routing rules"),
    ("track_process", "process tracking"),
    ("track_file", "file tracking"),
    ("track_bfd", "BFD tracking"),
    ("strict_mode", "strict RFC mode"),
];
