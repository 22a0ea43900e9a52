//! Prometheus text exposition (format 0.0.4) of the instances' state and counters. Pure:
//! the runtime gathers a [`Snapshot`], this writes the text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;
use std::time::Duration;

use crate::vrrp::State;

const STATES: [State; 5] = [State::Init, State::Backup, State::Master, State::Fault, State::Stopped];

pub struct Snapshot<'a> {
    pub instance: &'a str,
    pub state: State,
    pub priority: u8,
    pub master: Option<IpAddr>,
    /// Transitions by (from, to).
    pub transitions: &'a BTreeMap<(&'static str, &'static str), u64>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub send_errors: u64,
    pub dropped: &'a BTreeMap<&'static str, u64>,
    pub vips_held: usize,
    /// Every VIP of the instance (held all together or not at all).
    pub vips: &'a [crate::config::Vip],
    /// Other virtual routers heard on our VRID (distinct sources).
    pub collisions: usize,
    /// Other hosts answering for our VIPs now, and found since start.
    pub conflicts: usize,
    pub conflicts_total: u64,
    /// Early takeovers (the master's host answered no probe), and those its adverts refuted.
    pub early_takeovers: u64,
    pub early_refuted: u64,
    pub since_transition: Duration,
    /// The instance's health checks.
    pub checks: &'a [crate::health::Tracked],
}

// The instance label is `vrrp_instance`: Prometheus sets `instance` to the scrape target
// itself, and a scraped `instance` label would be renamed `exported_instance`.

/// Label values are our own names and addresses, but escape as the format requires anyway.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Every instance's samples under each family, then the process-wide ones.
pub fn render(all: &[Snapshot], scrapes: u64) -> String {
    let mut o = String::with_capacity(1024 + 1536 * all.len());
    family(&mut o, "keepvip_build_info", "gauge", "keepvip's version.");
    let _ = writeln!(o, "keepvip_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
    let names: Vec<String> = all.iter().map(|s| esc(s.instance)).collect();
    let each = |o: &mut String, f: &dyn Fn(&mut String, &str, &Snapshot)| {
        for (s, i) in all.iter().zip(&names) {
            f(o, i, s);
        }
    };
    family(&mut o, "keepvip_instance_state", "gauge", "1 for the instance's current VRRP state, 0 for the others.");
    each(&mut o, &|o, i, s| {
        for st in STATES {
            let _ = writeln!(
                o,
                "keepvip_instance_state{{vrrp_instance=\"{i}\",state=\"{}\"}} {}",
                st.name(),
                u8::from(st == s.state)
            );
        }
    });
    family(&mut o, "keepvip_instance_priority", "gauge", "The instance's effective VRRP priority.");
    each(&mut o, &|o, i, s| {
        let _ = writeln!(o, "keepvip_instance_priority{{vrrp_instance=\"{i}\"}} {}", s.priority);
    });
    family(&mut o, "keepvip_instance_master_info", "gauge", "The master this instance last accepted an advert from.");
    each(&mut o, &|o, i, s| {
        if let Some(m) = s.master {
            let _ = writeln!(o, "keepvip_instance_master_info{{vrrp_instance=\"{i}\",master=\"{m}\"}} 1");
        }
    });
    family(&mut o, "keepvip_instance_transitions_total", "counter", "State transitions by from and to state.");
    each(&mut o, &|o, i, s| {
        for ((from, to), n) in s.transitions {
            let _ = writeln!(
                o,
                "keepvip_instance_transitions_total{{vrrp_instance=\"{i}\",from=\"{from}\",to=\"{to}\"}} {n}"
            );
        }
    });
    family(&mut o, "keepvip_instance_adverts_sent_total", "counter", "Adverts the kernel accepted for sending.");
    each(&mut o, &|o, i, s| {
        let _ = writeln!(o, "keepvip_instance_adverts_sent_total{{vrrp_instance=\"{i}\"}} {}", s.adverts_sent);
    });
    family(&mut o, "keepvip_instance_advert_send_errors_total", "counter", "Adverts the kernel refused.");
    each(&mut o, &|o, i, s| {
        let _ = writeln!(o, "keepvip_instance_advert_send_errors_total{{vrrp_instance=\"{i}\"}} {}", s.send_errors);
    });
    family(&mut o, "keepvip_instance_adverts_received_total", "counter", "Valid adverts received from peers.");
    each(&mut o, &|o, i, s| {
        let _ = writeln!(o, "keepvip_instance_adverts_received_total{{vrrp_instance=\"{i}\"}} {}", s.adverts_received);
    });
    family(&mut o, "keepvip_instance_adverts_dropped_total", "counter", "Received packets dropped, by reason.");
    each(&mut o, &|o, i, s| {
        for (reason, n) in s.dropped {
            let _ = writeln!(
                o,
                "keepvip_instance_adverts_dropped_total{{vrrp_instance=\"{i}\",reason=\"{}\"}} {n}",
                esc(reason)
            );
        }
    });
    family(&mut o, "keepvip_instance_vips_held", "gauge", "Virtual IPs this node holds for the instance.");
    each(&mut o, &|o, i, s| {
        let _ = writeln!(o, "keepvip_instance_vips_held{{vrrp_instance=\"{i}\"}} {}", s.vips_held);
    });
    // One series per VIP, so `sum by (vip)` over the cluster counts holders: the alert
    // for a VIP on no node or on two.
    family(&mut o, "keepvip_vip_held", "gauge", "1 while this node holds the virtual IP, else 0.");
    each(&mut o, &|o, i, s| {
        let held = u8::from(s.vips_held > 0);
        for v in s.vips {
            let _ = writeln!(o, "keepvip_vip_held{{vrrp_instance=\"{i}\",vip=\"{}\"}} {held}", v.addr);
        }
    });
    family(
        &mut o,
        "keepvip_instance_vrid_collisions",
        "gauge",
        "Sources heard advertising the instance's virtual router id with other addresses (another cluster).",
    );
    each(&mut o, &|o, i, s| {
        let _ = writeln!(o, "keepvip_instance_vrid_collisions{{vrrp_instance=\"{i}\"}} {}", s.collisions);
    });
    family(
        &mut o,
        "keepvip_instance_vip_conflicts",
        "gauge",
        "Other hosts (MACs) answering now for VIPs this node holds.",
    );
    each(&mut o, &|o, i, s| {
        let _ = writeln!(o, "keepvip_instance_vip_conflicts{{vrrp_instance=\"{i}\"}} {}", s.conflicts);
    });
    family(
        &mut o,
        "keepvip_instance_vip_conflicts_total",
        "counter",
        "Other hosts found answering for VIPs this node held (each VIP and MAC once per conflict).",
    );
    each(&mut o, &|o, i, s| {
        let _ = writeln!(o, "keepvip_instance_vip_conflicts_total{{vrrp_instance=\"{i}\"}} {}", s.conflicts_total);
    });
    family(
        &mut o,
        "keepvip_instance_early_takeovers_total",
        "counter",
        "Takeovers before Master_Down_Interval because the late master's host answered no ARP/ND probe.",
    );
    each(&mut o, &|o, i, s| {
        let _ = writeln!(o, "keepvip_instance_early_takeovers_total{{vrrp_instance=\"{i}\"}} {}", s.early_takeovers);
    });
    family(
        &mut o,
        "keepvip_instance_early_takeovers_refuted_total",
        "counter",
        "Early takeovers after which the replaced master still advertised (probes or answers lost).",
    );
    each(&mut o, &|o, i, s| {
        let _ =
            writeln!(o, "keepvip_instance_early_takeovers_refuted_total{{vrrp_instance=\"{i}\"}} {}", s.early_refuted);
    });
    family(&mut o, "keepvip_instance_seconds_since_transition", "gauge", "Seconds since the last state transition.");
    each(&mut o, &|o, i, s| {
        let _ = writeln!(
            o,
            "keepvip_instance_seconds_since_transition{{vrrp_instance=\"{i}\"}} {:.3}",
            s.since_transition.as_secs_f64()
        );
    });
    family(
        &mut o,
        "keepvip_check_up",
        "gauge",
        "1 while a health check is up, 0 while down, -1 before its first result.",
    );
    each(&mut o, &|o, i, s| {
        for t in s.checks {
            let v = match t.status {
                crate::health::Status::Up => 1,
                crate::health::Status::Down => 0,
                crate::health::Status::Init => -1,
            };
            let _ = writeln!(o, "keepvip_check_up{{vrrp_instance=\"{i}\",check=\"{}\"}} {v}", esc(&t.check.name));
        }
    });
    family(&mut o, "keepvip_check_failures_total", "counter", "Failed runs of a health check.");
    each(&mut o, &|o, i, s| {
        for t in s.checks {
            let _ = writeln!(
                o,
                "keepvip_check_failures_total{{vrrp_instance=\"{i}\",check=\"{}\"}} {}",
                esc(&t.check.name),
                t.failures
            );
        }
    });
    family(&mut o, "keepvip_metrics_scrapes_total", "counter", "Metrics requests answered.");
    let _ = writeln!(o, "keepvip_metrics_scrapes_total {scrapes}");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let transitions = [(("INIT", "BACKUP"), 1), (("BACKUP", "MASTER"), 2)].into_iter().collect();
        let dropped = [("ttl", 3)].into_iter().collect();
        let check = crate::config::Check {
            name: "tcp 127.0.0.1:53".into(),
            probe: crate::config::Probe::Tcp("127.0.0.1:53".parse().unwrap()),
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
            fall: 1,
            rise: 1,
            weight: 0,
            init_fail: false,
        };
        let other = crate::config::Check { name: "tcp 127.0.0.1:80".into(), ..check.clone() };
        let mut health = crate::health::Tracker::new(&[check, other], std::time::Instant::now());
        health.report(0, Err("connection refused".into()));
        let s = Snapshot {
            instance: "VI_1",
            state: State::Master,
            priority: 200,
            master: Some("198.18.0.1".parse().unwrap()),
            transitions: &transitions,
            adverts_sent: 10,
            adverts_received: 4,
            send_errors: 0,
            dropped: &dropped,
            vips_held: 1,
            vips: &[crate::config::vip::parse("198.18.0.100").unwrap()],
            collisions: 1,
            conflicts: 0,
            conflicts_total: 2,
            early_takeovers: 3,
            early_refuted: 1,
            since_transition: Duration::from_millis(1500),
            checks: health.checks(),
        };
        let t = render(&[s], 7);
        for want in [
            "keepvip_instance_state{vrrp_instance=\"VI_1\",state=\"MASTER\"} 1\n",
            "keepvip_instance_state{vrrp_instance=\"VI_1\",state=\"BACKUP\"} 0\n",
            "keepvip_instance_master_info{vrrp_instance=\"VI_1\",master=\"198.18.0.1\"} 1\n",
            "keepvip_instance_transitions_total{vrrp_instance=\"VI_1\",from=\"BACKUP\",to=\"MASTER\"} 2\n",
            "keepvip_instance_adverts_dropped_total{vrrp_instance=\"VI_1\",reason=\"ttl\"} 3\n",
            "keepvip_instance_seconds_since_transition{vrrp_instance=\"VI_1\"} 1.500\n",
            "keepvip_instance_vrid_collisions{vrrp_instance=\"VI_1\"} 1\n",
            "keepvip_vip_held{vrrp_instance=\"VI_1\",vip=\"198.18.0.100\"} 1\n",
            "keepvip_instance_vip_conflicts_total{vrrp_instance=\"VI_1\"} 2\n",
            "keepvip_instance_early_takeovers_total{vrrp_instance=\"VI_1\"} 3\n",
            "keepvip_instance_early_takeovers_refuted_total{vrrp_instance=\"VI_1\"} 1\n",
            "# TYPE keepvip_instance_adverts_sent_total counter\n",
            "keepvip_check_up{vrrp_instance=\"VI_1\",check=\"tcp 127.0.0.1:53\"} 0\n",
            "keepvip_check_up{vrrp_instance=\"VI_1\",check=\"tcp 127.0.0.1:80\"} -1\n",
            "keepvip_check_failures_total{vrrp_instance=\"VI_1\",check=\"tcp 127.0.0.1:53\"} 1\n",
        ] {
            assert!(t.contains(want), "{want:?} missing:\n{t}");
        }
        // Every sample's family is declared before it.
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(t.contains(&format!("# TYPE {name} ")), "{name}");
        }
    }
}
