use std::collections::HashMap;
use std::process::ExitCode;

use keepvip::cli::{self, Mode};
use keepvip::config;
use keepvip::net::netlink::Netlink;

fn main() -> ExitCode {
    let env: HashMap<String, String> =
        std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
    let args: Vec<String> = std::env::args().skip(1).collect();
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
        _ => {}
    }
    for a in &cli.ignored {
        log::debug!("container argument {a} accepted for osixia compatibility; no effect");
    }
    let host = match Netlink::open().and_then(|mut nl| nl.host_view()) {
        Ok(h) => h,
        Err(e) => {
            log::error!("cannot read the host's interfaces: {e:#}");
            return ExitCode::from(1);
        }
    };
    let loaded = match config::from_env(&env, &host) {
        Ok(l) => l,
        Err(problems) => {
            for p in &problems {
                eprintln!("keepvip: {p}");
            }
            eprintln!("keepvip: {} configuration problem(s); nothing was changed", problems.len());
            return ExitCode::from(2);
        }
    };
    for w in &loaded.warnings {
        log::warn!("{w}");
    }
    for i in &loaded.info {
        log::info!("{i}");
    }
    match cli.mode {
        Mode::Check => {
            println!("{}", loaded.config.to_json());
            ExitCode::SUCCESS
        }
        _ => {
            log::error!("the VRRP runtime is not built yet");
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
