//! Prometheus metrics: a real Prometheus server (Debian's package) scrapes a keepvip pair
//! and sees the failover; `promtool` accepts the exposition; hostile clients cannot stall
//! VRRP or lock the scraper out; the port is bound where configured, not on the VIP.

use std::time::Duration;

use crate::common::netns::{Host, Lab};
use crate::common::seed::{env_with, holds, pair, MDI_100, VIP};
use crate::common::wait_until;

/// `curl` inside a host's namespace: (exit status success, body).
fn curl(h: &Host, url: &str) -> (bool, String) {
    let o = h.sh(&["curl", "-s", "-f", "--max-time", "2", url]);
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The value of an instant query's first sample, if any.
fn query(h: &Host, q: &str) -> Option<f64> {
    let enc: String = q
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_.:-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let url = format!("http://127.0.0.1:9090/api/v1/query?query={enc}");
    let (ok, body) = curl(h, &url);
    let j: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| ok)?;
    j["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[test]
fn prometheus_scrapes_the_pair_and_sees_the_failover() {
    let lab = Lab::new(3);
    let metrics = |i: usize| format!("198.18.0.{}:9650", i + 1);
    let (m0, m1) = (metrics(0), metrics(1));
    // The priority-200 node first, as `pair` starts the seed's two nodes.
    let mut a = lab.host(0).spawn_keepvip(&env_with(200, &[("KEEPVIP_METRICS_ADDR", &m0)]));
    assert!(wait_until(Duration::from_secs(6), || holds(&lab, 0)), "{}", a.log());
    let b = lab.host(1).spawn_keepvip(&env_with(100, &[("KEEPVIP_METRICS_ADDR", &m1)]));
    let client = lab.host(2);

    // The exposition itself: what promtool accepts.
    let (ok, text) = curl(client, &format!("http://{m0}/metrics"));
    assert!(ok, "{}", a.log());
    assert!(text.contains("keepvip_instance_state{vrrp_instance=\"VI_1\",state=\"MASTER\"} 1"), "{text}");
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut promtool.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Every metric the alert rules use is exposed.
    let rules_file = crate::common::docker::repo_file("deploy/prometheus/keepvip.rules.yml");
    let rules = std::fs::read_to_string(&rules_file).unwrap();
    let used: std::collections::BTreeSet<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("keepvip_") && w.len() > "keepvip_".len())
        .collect();
    assert!(used.len() >= 7, "{used:?}");
    for m in used {
        assert!(text.contains(&format!("# TYPE {m} ")), "the rules use {m}, which keepvip does not expose");
    }
    // Bound where configured: not reachable on the VIP.
    assert!(!curl(client, &format!("http://{VIP}:9650/metrics")).0, "metrics answered on the VIP");

    // A real Prometheus in the client's namespace, scraping both every second.
    let conf = lab.dir.join("prometheus.yml");
    std::fs::write(
        &conf,
        format!("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules_file}\nscrape_configs:\n  - job_name: keepvip\n    static_configs:\n      - targets: ['{m0}', '{m1}']\n"),
    )
    .unwrap();
    let data = lab.dir.join("tsdb");
    let prom = client.spawn(&[
        "prometheus",
        &format!("--config.file={}", conf.display()),
        &format!("--storage.tsdb.path={}", data.display()),
        "--web.listen-address=127.0.0.1:9090",
    ]);
    let master_of =
        |i: usize| format!("keepvip_instance_state{{instance=\"198.18.0.{}:9650\",state=\"MASTER\"}}", i + 1);
    assert!(
        wait_until(Duration::from_secs(30), || query(client, &master_of(0)) == Some(1.0)),
        "Prometheus never saw node 0 as master:\n{}",
        prom.log()
    );
    // Targets are scraped independently: node 1's first scrape may come a moment later.
    assert!(
        wait_until(Duration::from_secs(10), || query(client, &master_of(1)) == Some(0.0)),
        "Prometheus never saw node 1 as not master: {:?}",
        query(client, &master_of(1))
    );
    lab.crash(0, &mut a);
    assert!(wait_until(MDI_100 + Duration::from_secs(1), || holds(&lab, 1)), "{}", b.log());
    assert!(
        wait_until(Duration::from_secs(10), || query(client, &master_of(1)) == Some(1.0)),
        "Prometheus never saw node 1 take over"
    );
    let t =
        query(client, "keepvip_instance_transitions_total{instance=\"198.18.0.2:9650\",from=\"BACKUP\",to=\"MASTER\"}");
    assert_eq!(t, Some(1.0));
    // The alert rules load and evaluate; the VIP has one holder once node 0's series go stale.
    let (ok, body) = curl(client, "http://127.0.0.1:9090/api/v1/rules");
    assert!(ok && body.matches("\"health\":\"ok\"").count() >= 8, "{body}");
    assert!(
        wait_until(Duration::from_secs(15), || query(client, "sum by (vip) (keepvip_vip_held)") == Some(1.0)),
        "holders of the VIP: {:?}",
        query(client, "sum by (vip) (keepvip_vip_held)")
    );
}

#[test]
fn idle_and_slow_clients_neither_stall_vrrp_nor_lock_out_a_scrape() {
    let lab = Lab::new(3);
    let (a, b) = pair(&lab, &[("KEEPVIP_METRICS_ADDR", ":9650")]);
    let client = lab.host(2);
    // 100 connections that never send a byte, and one that sends a byte a second.
    let hog = client.spawn(&[
        "bash",
        "-c",
        "for i in $(seq 100); do exec {fd}<>/dev/tcp/198.18.0.1/9650; done; \
         exec 7<>/dev/tcp/198.18.0.1/9650; for i in $(seq 20); do printf G >&7; sleep 1; done",
    ]);
    let ping = client.ping(VIP);
    assert!(ping.wait_replies(20, Duration::from_secs(5)));
    // A scrape still gets through, at once.
    let t = std::time::Instant::now();
    let (ok, text) = curl(client, "http://198.18.0.1:9650/metrics");
    assert!(ok && text.contains("keepvip_instance_vips_held{vrrp_instance=\"VI_1\"} 1"), "{text}\n{}", hog.log());
    assert!(t.elapsed() < Duration::from_secs(1), "scrape took {:?}", t.elapsed());
    // VRRP did not notice: no takeover on the backup for a whole Master_Down_Interval, and
    // the client kept reaching the VIP.
    assert!(!wait_until(MDI_100 + Duration::from_secs(1), || holds(&lab, 1)), "{}", b.log());
    let (lost, _) = ping.stop();
    assert_eq!(lost, 0, "{}", a.log());
    assert!(!a.log().contains("MASTER -> BACKUP") && !b.log().contains("BACKUP -> MASTER"));
    // Anything but GET /metrics is answered and closed.
    let (ok, _) = curl(client, "http://198.18.0.1:9650/");
    assert!(!ok, "/ is not served");
}
