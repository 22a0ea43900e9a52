use std::collections::HashMap;
use std::process::ExitCode;

use keepvip::cli::{self, Mode};
use keepvip::config::{self, envfiles};
use keepvip::net::netlink::Netlink;
use keepvip::notify;
use keepvip::observe::status;
use keepvip::runtime::Runtime;
use std::path::{Path, PathBuf};

fn main() -> ExitCode {
    let env: HashMap<String, String> =
        std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
    let args: Vec<String> = std::env::args().skip(1).collect();
    // osixia's environment files, unless `run --skip-env-files` (kept for compatibility).
    let files = if args.iter().any(|a| a == "--skip-env-files") {
        Ok(vec![])
    } else {
        envfiles::read(Path::new(envfiles::DIR)).map_err(|e| vec![e])
    };
    let (env, sources) = match files.and_then(|f| envfiles::merge(&env, &f)) {
        Ok(pair) => pair,
        Err(problems) => {
            for p in &problems {
                eprintln!("keepvip: {p}");
            }
            eprintln!("keepvip: {} problem(s) in osixia's environment files; nothing was changed", problems.len());
            return ExitCode::from(2);
        }
    };
    let cli = match cli::parse(&args, &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keepvip: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&cli, &env);
    match cli.mode {
        Mode::Help => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Mode::Version => {
            println!("keepvip {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Mode::Status | Mode::Health => return state_file_mode(&cli, &env),
        _ => {}
    }
    for a in &cli.ignored {
        log::debug!("container argument {a} accepted for osixia compatibility; no effect");
    }
    // One rtnetlink socket: read the host here, then hand it to the runtime.
    let (nl, mut host) = match Netlink::open().and_then(|mut nl| nl.host_view().map(|h| (nl, h))) {
        Ok(pair) => pair,
        Err(e) => {
            log::error!("cannot read the host's interfaces: {e:#}");
            return ExitCode::from(1);
        }
    };
    // What a killed run held may now be first on its interface (the host renumbered
    // meanwhile): ours to clean up, not a host address.
    host.ours = status::StateFile::read(&state_path(&env)).map(|s| s.held_vips()).unwrap_or_default();
    // Peers from the swarm: the members first (the configuration is read with them).
    let mut swarm = None;
    let conf = config::conf_source(cli.use_file.as_deref(), &env);
    if keepvip::swarm::wanted(&env) && conf.is_none() {
        match keepvip::swarm::start_up(&env) {
            Ok((endpoint, members)) => {
                log::info!("swarm: members {}", members.describe());
                host.swarm = Some(members.clone());
                swarm = Some((endpoint, members));
            }
            Err(e) => {
                eprintln!("keepvip: {e}");
                eprintln!("keepvip: 1 configuration problem(s); nothing was changed");
                return ExitCode::from(2);
            }
        }
    }
    let (cfgs, process, reload) = match conf {
        Some((path, why)) => match from_conf(&path, &why, &env, &host, (cli.mode == Mode::Check, cli.json)) {
            Ok((c, process, groups)) => (c, process, Some((path, groups))),
            Err(code) => return code,
        },
        None => match template_conf(&env) {
            Err(e) => {
                eprintln!("keepvip: {e}");
                eprintln!("keepvip: 1 configuration problem(s); nothing was changed");
                return ExitCode::from(2);
            }
            Ok(Some((path, why))) => match from_conf(&path, &why, &env, &host, (cli.mode == Mode::Check, cli.json)) {
                Ok((c, process, groups)) => (c, process, Some((path, groups))),
                Err(code) => return code,
            },
            Ok(None) => match from_env(&env, &sources, &host, (cli.mode == Mode::Check, cli.json)) {
                Ok((c, process)) => (c, process, None),
                Err(code) => return code,
            },
        },
    };
    for cfg in &cfgs {
        if let Some(w) = cfg.notify.as_ref().and_then(|c| c.first()).and_then(|p| notify::unrunnable(Path::new(p))) {
            let w =
                if cfg.origin == config::Origin::ConfFile { w.replacen("KEEPALIVED_NOTIFY=", "notify ", 1) } else { w };
            log::warn!("({}) {w}", cfg.name);
        }
    }
    if cli.mode == Mode::Check {
        return ExitCode::SUCCESS;
    }
    if process.dump_conf || cli.dump_conf {
        for cfg in &cfgs {
            log::info!("configuration: {}", cfg.summary());
        }
    }
    if let Some(e) = keepvip::net::caps::check() {
        log::error!("{e}");
        return ExitCode::from(1);
    }
    if let Err(e) = status::check_writable(&process.state_file) {
        eprintln!("keepvip: {e}");
        eprintln!("keepvip: 1 configuration problem(s); nothing was changed");
        return ExitCode::from(2);
    }
    let runtime = Runtime::new(cfgs, &process, &host, nl).map(|r| match reload {
        Some((path, groups)) => r.reload_from(path).with_groups(groups),
        None => r,
    });
    let runtime = match swarm {
        Some((endpoint, members)) => runtime.and_then(|r| {
            let feed = keepvip::swarm::watch::spawn(endpoint, members.clone())?;
            Ok(r.with_swarm(feed, env.clone(), members))
        }),
        None => runtime,
    };
    match runtime.and_then(Runtime::run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e:#}");
            ExitCode::from(1)
        }
    }
}

/// `KEEPALIVED_CONF_TEMPLATE` (osixia/keepalived 2.3): the template filled from the
/// variables as 2.3 fills it, written beside the state file (2.3 writes it to
/// `KEEPALIVED_CONF`), and its path to run from. `None` without one, or for 2.3's own default
/// template, which the variables reproduce.
fn template_conf(env: &HashMap<String, String>) -> Result<Option<(PathBuf, String)>, String> {
    let Some(t) = env.get("KEEPALIVED_CONF_TEMPLATE").map(|t| t.trim()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t == config::template::OSIXIA_DEFAULT && !Path::new(t).exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(t).map_err(|e| {
        format!("KEEPALIVED_CONF_TEMPLATE={t:?}: cannot read the template: {e} (mount it there, or unset the variable)")
    })?;
    let state = state_path(env);
    let dir = state.parent().unwrap_or(Path::new("/run/keepvip"));
    let out = dir.join("keepalived.conf");
    std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&out, config::template::render(&text, env))).map_err(
        |e| format!("KEEPALIVED_CONF_TEMPLATE={t:?}: cannot write the filled template to {}: {e}", out.display()),
    )?;
    Ok(Some((out, format!("KEEPALIVED_CONF_TEMPLATE={t}, filled as osixia/keepalived 2.3 fills it"))))
}

/// The instances of a keepalived.conf (osixia: a mounted file replaces the template the
/// variables fill). `--check` prints them with the file; errors name file:line.
fn from_conf(
    path: &Path,
    why: &str,
    env: &HashMap<String, String>,
    host: &config::HostView,
    (check, compact): (bool, bool),
) -> Result<(Vec<config::Config>, config::ProcessSettings, Vec<config::conf::SyncGroup>), ExitCode> {
    let process = config::process_settings(env).map_err(|problems| {
        for p in &problems {
            eprintln!("keepvip: {p}");
        }
        eprintln!("keepvip: {} configuration problem(s); nothing was changed", problems.len());
        ExitCode::from(2)
    })?;
    let loaded = config::conf::load(path, host).map_err(|errors| {
        for e in &errors {
            eprintln!("keepvip: {e}");
        }
        eprintln!("keepvip: {} problem(s) in {} ({why}); nothing was changed", errors.len(), path.display());
        ExitCode::from(2)
    })?;
    // Instance variables do nothing beside a file: say so rather than let them look used.
    let mut set: Vec<&String> = env
        .keys()
        .filter(|k| k.starts_with("KEEPALIVED_") && config::is_known(k))
        .filter(|k| {
            !["KEEPALIVED_COMMAND_LINE_ARGUMENTS", "KEEPALIVED_CONF", "KEEPALIVED_CONF_RELOAD_SCRIPT"]
                .contains(&k.as_str())
        })
        .collect();
    // A template is filled from them: they are used.
    if why.starts_with("KEEPALIVED_CONF_TEMPLATE") {
        set.clear();
    }
    set.sort();
    if !set.is_empty() {
        let names: Vec<&str> = set.iter().map(|s| s.as_str()).collect();
        log::warn!(
            "{} set, but {} ({why}) gives the instances: ignored, as osixia ignores them beside a mounted keepalived.conf",
            names.join(", "),
            path.display()
        );
    }
    for w in &loaded.warnings {
        log::warn!("{w}");
    }
    log::info!(
        "{} vrrp_instance(s) from {} ({why}): {}",
        loaded.instances.len(),
        path.display(),
        loaded.instances.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    if check {
        let j = serde_json::json!({
            "source": {"file": path.display().to_string(), "why": why},
            "instances": loaded.instances.iter().map(config::Config::to_json).collect::<Vec<_>>(),
        });
        print_json(&j, compact);
    }
    Ok((loaded.instances, process, loaded.groups))
}

/// The one instance osixia's variables describe. `--check` prints it with each value's source.
fn from_env(
    env: &HashMap<String, String>,
    sources: &HashMap<String, String>,
    host: &config::HostView,
    (check, compact): (bool, bool),
) -> Result<(Vec<config::Config>, config::ProcessSettings), ExitCode> {
    let unknown = config::unknown_variables(env);
    let loaded = match config::from_env(env, host) {
        Ok(l) => l,
        Err(problems) => {
            for u in &unknown {
                eprintln!("keepvip: {u}");
            }
            for p in &problems {
                eprintln!("keepvip: {p}");
            }
            eprintln!("keepvip: {} configuration problem(s); nothing was changed", problems.len());
            return Err(ExitCode::from(2));
        }
    };
    for u in &unknown {
        log::warn!("{u}");
    }
    for w in &loaded.warnings {
        log::warn!("{w}");
    }
    for i in &loaded.info {
        log::info!("{i}");
    }
    let cfg = loaded.config;
    if check {
        let mut j = cfg.to_json();
        if let Some(d) = &loaded.dual {
            // Dual stack: the first family's instance stays at the top, as before.
            j["instances"] = serde_json::json!([cfg.to_json(), d.to_json()]);
        }
        // Where each value came from: `-e`, an osixia environment file, or the default.
        let from: serde_json::Map<String, serde_json::Value> = config::VARIABLES
            .iter()
            .map(|v| &v.name)
            .map(|k| {
                let src = sources.get(*k).cloned().unwrap_or_else(|| {
                    if env.contains_key(*k) {
                        "environment".into()
                    } else {
                        "default".into()
                    }
                });
                (k.to_string(), serde_json::Value::String(src))
            })
            .collect();
        j["sources"] = serde_json::Value::Object(from);
        print_json(&j, compact);
    }
    // The variables were read above: their problems were named there.
    let process = config::process_settings(env).map_err(|_| ExitCode::from(2))?;
    Ok((std::iter::once(cfg).chain(loaded.dual).collect(), process))
}

/// `--status` / `--health` read the daemon's state file; they need no configuration.
fn state_path(env: &HashMap<String, String>) -> PathBuf {
    PathBuf::from(env.get("KEEPVIP_STATE_FILE").map_or(config::DEFAULT_STATE_FILE, String::as_str))
}

fn state_file_mode(cli: &cli::Cli, env: &HashMap<String, String>) -> ExitCode {
    let path = state_path(env);
    let result = match (cli.mode, cli.json) {
        (Mode::Health, _) => status::health(&path),
        (_, true) => {
            status::load_current(&path).map(|s| serde_json::to_string_pretty(&s.to_json()).unwrap_or_default())
        }
        (_, false) => status::load_current(&path).map(|s| status::tables(&s, status::now_unix())),
    };
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("keepvip: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `--check`: indented for people, one line with `--json` for scripts.
fn print_json(j: &serde_json::Value, compact: bool) {
    if compact {
        println!("{j}");
    } else {
        println!("{}", serde_json::to_string_pretty(j).unwrap_or_default());
    }
}

fn init_logging(cli: &cli::Cli, env: &HashMap<String, String>) {
    let mut b = env_logger::Builder::new();
    b.filter_level(cli.log_level.unwrap_or(log::LevelFilter::Info));
    if let Some(spec) = env.get("RUST_LOG") {
        b.parse_filters(spec);
    }
    b.format_timestamp_millis().target(env_logger::Target::Stderr).init();
}
