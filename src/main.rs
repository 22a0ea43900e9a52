use std::collections::HashMap;
use std::process::ExitCode;

use keepvip::cli::{self, Mode};
use keepvip::config::{self, envfiles};
use keepvip::net::netlink::Netlink;
use keepvip::notify;
use keepvip::runtime::Runtime;
use keepvip::status;
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
    let (nl, host) = match Netlink::open().and_then(|mut nl| nl.host_view().map(|h| (nl, h))) {
        Ok(pair) => pair,
        Err(e) => {
            log::error!("cannot read the host's interfaces: {e:#}");
            return ExitCode::from(1);
        }
    };
    let unknown = config::unknown_variables(&env);
    let custom_conf = Path::new(config::OSIXIA_CONF).exists();
    let loaded = match config::from_env(&env, &host) {
        Ok(l) => l,
        Err(problems) => {
            for u in &unknown {
                eprintln!("keepvip: {u}");
            }
            if custom_conf {
                eprintln!("keepvip: {}", config::CONF_NOT_READ);
            }
            for p in &problems {
                eprintln!("keepvip: {p}");
            }
            eprintln!("keepvip: {} configuration problem(s); nothing was changed", problems.len());
            return ExitCode::from(2);
        }
    };
    for u in &unknown {
        log::warn!("{u}");
    }
    if custom_conf {
        log::warn!("{}", config::CONF_NOT_READ);
    }
    for w in &loaded.warnings {
        log::warn!("{w}");
    }
    for i in &loaded.info {
        log::info!("{i}");
    }
    let cfg = loaded.config;
    if let Some(w) = cfg.notify.as_ref().and_then(|c| c.first()).and_then(|p| notify::unrunnable(Path::new(p))) {
        log::warn!("{w}");
    }
    if cli.mode == Mode::Check {
        let mut j = cfg.to_json();
        // Where each value came from: `-e`, an osixia environment file, or the default.
        let from: serde_json::Map<String, serde_json::Value> = config::KNOWN
            .iter()
            .chain(["KEEPVIP_STATE_FILE"].iter())
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
        println!("{j}");
        return ExitCode::SUCCESS;
    }
    if cfg.dump_conf {
        log::info!("configuration: {}", cfg.summary());
    }
    if let Some(e) = keepvip::net::caps::check() {
        log::error!("{e}");
        return ExitCode::from(1);
    }
    if let Err(e) = status::probe(&cfg.state_file) {
        eprintln!("keepvip: {e}");
        eprintln!("keepvip: 1 configuration problem(s); nothing was changed");
        return ExitCode::from(2);
    }
    match Runtime::new(cfg, &host, nl).and_then(Runtime::run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e:#}");
            ExitCode::from(1)
        }
    }
}

/// `--status` / `--health` read the daemon's state file; they need no configuration.
fn state_file_mode(cli: &cli::Cli, env: &HashMap<String, String>) -> ExitCode {
    let path = PathBuf::from(env.get("KEEPVIP_STATE_FILE").map_or(config::DEFAULT_STATE_FILE, String::as_str));
    let result = match (cli.mode, cli.json) {
        (Mode::Health, _) => status::health(&path),
        (_, true) => status::read(&path).map(|v| serde_json::to_string_pretty(&v).unwrap_or_default()),
        (_, false) => status::read(&path).map(|v| status::table(&v, status::now_unix())),
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

fn init_logging(cli: &cli::Cli, env: &HashMap<String, String>) {
    let mut b = env_logger::Builder::new();
    b.filter_level(cli.log_level.unwrap_or(log::LevelFilter::Info));
    if let Some(spec) = env.get("RUST_LOG") {
        b.parse_filters(spec);
    }
    b.format_timestamp_millis().target(env_logger::Target::Stderr).init();
}
