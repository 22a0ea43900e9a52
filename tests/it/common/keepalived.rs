//! Real keepalived (Debian's package) as a peer, configured as osixia 2.0.20 renders
//! keepalived.conf from the same environment that drives keepvip.

use std::collections::HashMap;

use super::netns::{Host, Proc};

/// osixia's template, filled from `env` (list variables in `#PYTHON2BASH:` form).
pub fn render(env: &[(String, String)]) -> String {
    let e: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let get = |k: &str, d: &'static str| e.get(k).copied().unwrap_or(d).to_string();
    let list = |k: &str| -> Vec<String> {
        let v = e.get(k).copied().unwrap_or("");
        match v.strip_prefix("#PYTHON2BASH:") {
            Some(lit) => keepvip::config::pylist::parse(lit).expect("test env is valid"),
            None if v.is_empty() => vec![],
            None => vec![v.to_string()],
        }
    };
    let v3 = get("KEEPALIVED_VRRP_VERSION", "2") == "3";
    let peers = list("KEEPALIVED_UNICAST_PEERS");
    let mut c = format!(
        "global_defs {{\n  default_interface eth0\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  state {}\n  virtual_router_id {}\n  priority {}\n  nopreempt\n",
        get("KEEPALIVED_STATE", "BACKUP"),
        get("KEEPALIVED_ROUTER_ID", "51"),
        get("KEEPALIVED_PRIORITY", "150"),
    );
    // Extensions map to the keepalived keywords they are named after.
    if v3 {
        c += "  version 3\n";
    }
    if let Some(i) = e.get("KEEPALIVED_ADVERT_INT") {
        c += &format!("  advert_int {i}\n");
    }
    if let Some(src) = e.get("KEEPALIVED_UNICAST_SRC_IP") {
        c += &format!("  unicast_src_ip {src}\n");
    }
    if !peers.is_empty() {
        c += "  unicast_peer {\n";
        for p in &peers {
            c += &format!("    {p}\n");
        }
        c += "  }\n";
    }
    c += "  virtual_ipaddress {\n";
    for v in list("KEEPALIVED_VIRTUAL_IPS") {
        c += &format!("    {v}\n");
    }
    c += "  }\n";
    // osixia renders `auth_pass` with no value for an empty password, which keepalived refuses;
    // keepvip's meaning of empty (VRRPv2 without authentication) is keepalived without the block.
    if !v3 && e.get("KEEPALIVED_PASSWORD") != Some(&"") {
        c += "  authentication {\n    auth_type PASS\n    auth_pass {{ KEEPALIVED_PASSWORD }}\n  }\n";
    }
    sed_password(&(c + "}\n"), &get("KEEPALIVED_PASSWORD", "d0cker"))
}

/// osixia's startup.sh substitution, run for real: `sed -i "s|{{ KEEPALIVED_PASSWORD }}|$KEEPALIVED_PASSWORD|g"`.
/// `None` when sed fails (an osixia node would not start).
pub fn try_sed_password(template: &str, password: &str) -> Option<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("bash")
        .args(["-c", "sed \"s|{{ KEEPALIVED_PASSWORD }}|$KEEPALIVED_PASSWORD|g\""])
        .env("KEEPALIVED_PASSWORD", password)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // sed refusing the expression exits before reading: a broken pipe then is its verdict.
    let _ = child.stdin.take().unwrap().write_all(template.as_bytes());
    let out = child.wait_with_output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn sed_password(template: &str, password: &str) -> String {
    try_sed_password(template, password).expect("osixia's sed accepts the test password")
}

/// Start keepalived in `host` as osixia does (`-n -l -D`), with its own pid files.
pub fn spawn(host: &Host, env: &[(String, String)]) -> Proc {
    spawn_conf(host, &render(env))
}

/// Start keepalived in `host` with this keepalived.conf.
pub fn spawn_conf(host: &Host, text: &str) -> Proc {
    let tag = format!("{}-ka{}", host.ns, super::netns::next_id());
    let dir = host.dir();
    let conf = dir.join(format!("{tag}.conf"));
    std::fs::write(&conf, text).unwrap();
    let p = |s: &str| dir.join(format!("{tag}.{s}")).display().to_string();
    host.spawn(&[
        "keepalived",
        "-n",
        "-l",
        "-D",
        "--vrrp",
        "-f",
        conf.to_str().unwrap(),
        "-p",
        &p("pid"),
        "-r",
        &p("vrrp.pid"),
        "-c",
        &p("checkers.pid"),
    ])
}

/// Lines where keepalived complains about packets from `from` (its own-address quirk aside).
pub fn complaints(log: &str, from: &str) -> Vec<String> {
    const WORDS: [&str; 8] = ["checksum", "TTL", "auth", "interval", "version", "invalid", "mismatch", "bogus"];
    log.lines()
        .filter(|l| l.contains(from))
        .filter(|l| WORDS.iter().any(|w| l.to_lowercase().contains(&w.to_lowercase())))
        .map(str::to_string)
        .collect()
}

/// The two implementations that must interoperate (and are benchmarked side by side).
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Impl {
    Keepvip,
    Keepalived,
}

impl Impl {
    pub fn name(self) -> &'static str {
        match self {
            Impl::Keepvip => "keepvip",
            Impl::Keepalived => "keepalived",
        }
    }

    /// Start it on `host` from the same keepalived.conf text.
    pub fn spawn_conf(self, host: &Host, text: &str) -> Proc {
        match self {
            Impl::Keepalived => spawn_conf(host, text),
            Impl::Keepvip => {
                let path = host.dir().join(format!("{}-kv{}.conf", host.ns, super::netns::next_id()));
                std::fs::write(&path, text).unwrap();
                host.spawn_keepvip_with(&[], &["--use-file", path.to_str().unwrap()])
            }
        }
    }

    /// Start it on `host` from the same environment; keepvip with `keepvip_args`.
    pub fn spawn(self, host: &Host, env: &[(String, String)], keepvip_args: &[&str]) -> Proc {
        match self {
            Impl::Keepvip => host.spawn_keepvip_with(env, keepvip_args),
            Impl::Keepalived => spawn(host, env),
        }
    }
}
