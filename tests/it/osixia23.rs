//! osixia/keepalived 2.3's conventions beside 2.0.20's: space-separated lists and
//! `KEEPALIVED_NOTIFY_SCRIPT` make the same cluster as keepalived fed 2.3's rendering of the
//! same variables; a keepalived.conf at `KEEPALIVED_CONF` is watched and reloaded when it
//! changes; `KEEPALIVED_CONF_TEMPLATE` is filled as 2.3 fills it.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::netns::Lab;
use crate::common::{holds_vip, keepalived, wait_until};

const VIP: &str = "198.18.0.100";

/// keepalived.conf as osixia 2.3's start-up renders its template from `env` (written here
/// from its documented behaviour: the template's fields, lists one item per line, the
/// notify line from `KEEPALIVED_NOTIFY_SCRIPT`).
pub fn render_2_3(env: &[(&str, &str)]) -> String {
    let e: HashMap<&str, &str> = env.iter().copied().collect();
    let get = |k: &str, d: &'static str| e.get(k).copied().unwrap_or(d).to_string();
    let lines = |k: &str| e.get(k).copied().unwrap_or("").split_whitespace().collect::<Vec<_>>().join("\n    ");
    let notify = e
        .get("KEEPALIVED_NOTIFY_SCRIPT")
        .filter(|s| !s.is_empty())
        .map(|s| format!("notify \"{s}\""))
        .unwrap_or_default();
    format!(
        "global_defs {{\n  default_interface {if_}\n}}\nvrrp_instance VI_1 {{\n  interface {if_}\n  state {}\n  virtual_router_id {}\n  priority {}\n  nopreempt\n  unicast_peer {{\n    {}\n  }}\n  virtual_ipaddress {{\n    {}\n  }}\n  authentication {{\n    auth_type PASS\n    auth_pass {}\n  }}\n  {notify}\n}}\n",
        get("KEEPALIVED_STATE", "BACKUP"),
        get("KEEPALIVED_ROUTER_ID", "51"),
        get("KEEPALIVED_PRIORITY", "150"),
        lines("KEEPALIVED_UNICAST_PEERS"),
        lines("KEEPALIVED_VIRTUAL_IPS"),
        get("KEEPALIVED_PASSWORD", "d0cker"),
        if_ = get("KEEPALIVED_INTERFACE", "eth0"),
    )
}

fn owned(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A keepalived node configured by 2.3's rendering and a keepvip node given the same
/// variables in 2.3's form: one cluster; keepvip takes over when keepalived goes.
#[test]
fn space_separated_lists_make_the_same_cluster_as_osixia_2_3() {
    let lab = Lab::new(2);
    let common = [("KEEPALIVED_UNICAST_PEERS", "198.18.0.1 198.18.0.2"), ("KEEPALIVED_VIRTUAL_IPS", VIP)];
    let high: Vec<(&str, &str)> = common.iter().copied().chain([("KEEPALIVED_PRIORITY", "200")]).collect();
    let ka = keepalived::spawn_conf(lab.host(0), &render_2_3(&high));
    assert!(wait_until(Duration::from_secs(8), || holds_vip(&lab, 0, VIP)), "{}", ka.log());
    let low: Vec<(&str, &str)> =
        common.iter().copied().chain([("KEEPALIVED_PRIORITY", "100"), ("KEEPALIVED_NOTIFY_SCRIPT", "")]).collect();
    let check = lab.host(1).run_keepvip(&owned(&low), &["--check"]);
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{err}");
    assert!(
        err.contains("KEEPALIVED_UNICAST_PEERS: a space-separated list (2 items), osixia/keepalived 2.3's form"),
        "{err}"
    );
    let kv = lab.host(1).spawn_keepvip(&owned(&low));
    assert!(kv.wait_log("INIT -> BACKUP", Duration::from_secs(5)), "{}", kv.log());
    assert!(
        !wait_until(Duration::from_secs(5), || holds_vip(&lab, 1, VIP)),
        "keepvip did not hear keepalived:\n{}",
        kv.log()
    );
    drop(ka);
    lab.host(0).must(&["ip", "addr", "flush", "dev", "eth0", "scope", "global"]);
    lab.host(0).must(&["ip", "addr", "add", "198.18.0.1/24", "dev", "eth0"]);
    assert!(wait_until(Duration::from_secs(6), || holds_vip(&lab, 1, VIP)), "{}", kv.log());
}

/// `KEEPALIVED_CONF`: a file there gives the instances; editing it reloads it, without a
/// signal, as 2.3's watcher does; an edit that breaks it changes nothing.
#[test]
fn a_keepalived_conf_at_keepalived_conf_is_watched_and_reloaded() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let path = h.dir().join(format!("{}-watched.conf", h.ns));
    let text = |prio: u8| {
        format!("vrrp_instance W {{\n  interface eth0\n  virtual_router_id 70\n  priority {prio}\n  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n")
    };
    std::fs::write(&path, text(200)).unwrap();
    let kv = h.spawn_keepvip(&[("KEEPALIVED_CONF".into(), path.display().to_string())]);
    assert!(kv.wait_log("KEEPALIVED_CONF, osixia/keepalived 2.3's name", Duration::from_secs(3)), "{}", kv.log());
    assert!(wait_until(Duration::from_secs(6), || h.has_addr(VIP)), "{}", kv.log());
    std::fs::write(&path, text(150)).unwrap();
    assert!(kv.wait_log("changed: reloading it", Duration::from_secs(4)), "{}", kv.log());
    assert!(kv.wait_log("(W) reload: priority 200 -> 150, in place", Duration::from_secs(2)), "{}", kv.log());
    std::fs::write(&path, "vrrp_instance W {\n").unwrap();
    assert!(kv.wait_log("keeping the running configuration", Duration::from_secs(4)), "{}", kv.log());
    assert!(h.has_addr(VIP));
}

/// `KEEPALIVED_CONF_TEMPLATE`: the user's template, filled from the variables as 2.3 fills
/// it (lists one per line), runs: `--check` shows the filled values.
#[test]
fn a_template_is_filled_from_the_variables_as_osixia_2_3_fills_it() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    let template = h.dir().join(format!("{}-template.conf", h.ns));
    std::fs::write(
        &template,
        "vrrp_instance T {\n  interface ${KEEPALIVED_INTERFACE}\n  virtual_router_id $KEEPALIVED_ROUTER_ID\n  priority ${KEEPALIVED_PRIORITY}\n  advert_int 2\n  virtual_ipaddress {\n    ${KEEPALIVED_VIRTUAL_IPS}\n  }\n}\n",
    )
    .unwrap();
    let env = owned(&[
        ("KEEPALIVED_CONF_TEMPLATE", template.to_str().unwrap()),
        ("KEEPALIVED_VIRTUAL_IPS", "198.18.0.100 198.18.0.101"),
        ("KEEPALIVED_PRIORITY", "123"),
    ]);
    let o = h.run_keepvip(&env, &["--check", "--json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let i = &j["instances"][0];
    assert_eq!((i["name"].as_str(), i["priority"].as_u64(), i["router_id"].as_u64()), (Some("T"), Some(123), Some(51)));
    assert_eq!(i["advert_int"].as_f64(), Some(2.0));
    assert_eq!(i["virtual_ips"].as_array().map(Vec::len), Some(2));
    // A template that is not there is an error naming the variable.
    let missing = owned(&[("KEEPALIVED_CONF_TEMPLATE", "/nonexistent/t.conf"), ("KEEPALIVED_VIRTUAL_IPS", VIP)]);
    let o = h.run_keepvip(&missing, &["--check"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("KEEPALIVED_CONF_TEMPLATE=\"/nonexistent/t.conf\": cannot read")
    );
}
