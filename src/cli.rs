//! Command line: keepvip's own modes plus the container arguments osixia's image accepts.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    Check,
    Health,
    Status,
    Help,
    Version,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    pub mode: Mode,
    pub log_level: Option<log::LevelFilter>,
    /// `--status --json`: the state file as JSON instead of the table; `--check --json`: the
    /// configuration on one line.
    pub json: bool,
    /// osixia flags that were accepted but do nothing here, for a debug line.
    pub ignored: Vec<String>,
    /// `--use-file PATH`: run from this keepalived.conf.
    pub use_file: Option<String>,
    /// keepalived's `--dump-conf` after `--` (osixia 2.3 passes what follows `--` to
    /// keepalived): the configuration to the log.
    pub dump_conf: bool,
}

pub const USAGE: &str = "\
keepvip: one highly available virtual IP with VRRP, configured like osixia/keepalived.

Usage: keepvip [--check | --status | --health] [--use-file PATH] [--loglevel LEVEL] [-- KEEPALIVED FLAGS]

  --check [--json]   validate the configuration, print the effective configuration as
                     indented JSON (--json: on one line, for scripts)
  --use-file PATH    run from this keepalived.conf (as keepalived -f)
  --status [--json]  print the running daemon's state (a table, or the state file's JSON)
  --health           exit 0 if the running daemon is healthy (Docker HEALTHCHECK)
  -l, --loglevel L   none|error|warning|info|debug|trace (or CONTAINER_LOG_LEVEL 0..5);
                     also --log-level L, and --debug, as osixia/keepalived 2.3 spells them
  -- FLAGS           keepalived's flags, as osixia/keepalived 2.3 passes them on: -f PATH and
                     --dump-conf are read, the others have no effect
  -h, --help / -V, --version

Configuration comes from a keepalived.conf (--use-file, -f in KEEPALIVED_COMMAND_LINE_ARGUMENTS,
osixia's /container/service/keepalived/assets/keepalived.conf, /etc/keepalived/keepalived.conf)
or else from KEEPALIVED_* variables, as for osixia/keepalived:2.0.20.
osixia's container flags (--copy-service, --keep-startup-env, ...) are accepted and ignored.";

/// osixia light-baseimage `run` flags without a value: accepted for compatibility.
const OSIXIA_FLAGS: &[&str] = &[
    "--copy-service",
    "--keep-startup-env",
    "--skip-env-files",
    "--skip-startup-files",
    "--skip-process-files",
    "--skip-finish-files",
    "--dont-touch-etc-hosts",
    "--keepalive",
    "--keepalive-force",
    "--wait-first-startup",
    "--run-only",
    "-c",
    "-k",
    "-e",
    "-s",
    "-p",
    "-f",
];
/// osixia flags that take a value.
const OSIXIA_VALUE_FLAGS: &[&str] = &["--cmd", "--wait-state", "--wait-process", "--unsecure-fast-write"];

pub fn level(name: &str) -> Option<log::LevelFilter> {
    use log::LevelFilter as L;
    Some(match name.to_ascii_lowercase().as_str() {
        "none" | "off" | "0" => L::Off,
        "error" | "1" => L::Error,
        "warning" | "warn" | "2" => L::Warn,
        "info" | "3" => L::Info,
        "debug" | "4" => L::Debug,
        "trace" | "5" => L::Trace,
        _ => return None,
    })
}

pub fn parse(args: &[String], env: &HashMap<String, String>) -> Result<Cli, String> {
    let mut cli =
        Cli { mode: Mode::Run, log_level: None, json: false, ignored: vec![], use_file: None, dump_conf: false };
    if let Some(v) = env.get("CONTAINER_LOG_LEVEL").filter(|v| !v.is_empty()) {
        cli.log_level = Some(level(v).ok_or_else(|| {
            format!("CONTAINER_LOG_LEVEL={v:?}: expected none|error|warning|info|debug|trace or 0..5")
        })?);
    }
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = |f: &str| inline.clone().or_else(|| it.next().cloned()).ok_or(format!("{f} needs a value"));
        match flag {
            "--check" => cli.mode = Mode::Check,
            "--health" => cli.mode = Mode::Health,
            "--status" => cli.mode = Mode::Status,
            "--json" => cli.json = true,
            "--use-file" => cli.use_file = Some(value(flag)?),
            "-h" | "--help" => cli.mode = Mode::Help,
            "-V" | "--version" => cli.mode = Mode::Version,
            "--" => {
                keepalived_flags(&mut cli, it.by_ref())?;
                break;
            }
            "--debug" => cli.log_level = Some(log::LevelFilter::Debug),
            "-l" | "--loglevel" | "--log-level" => {
                let v = value(flag)?;
                cli.log_level =
                    Some(level(&v).ok_or_else(|| {
                        format!("{flag} {v:?}: expected none|error|warning|info|debug|trace or 0..5")
                    })?);
            }
            f if OSIXIA_FLAGS.contains(&f) => cli.ignored.push(a.clone()),
            f if OSIXIA_VALUE_FLAGS.contains(&f) => {
                let v = value(f)?;
                cli.ignored.push(format!("{f} {v}"));
            }
            other => return Err(format!("unknown argument {other:?}; see keepvip --help")),
        }
    }
    Ok(cli)
}

/// keepalived's own flags (after `--`): the file and the dump are read, the rest noted.
fn keepalived_flags<'a>(cli: &mut Cli, mut rest: impl Iterator<Item = &'a String>) -> Result<(), String> {
    while let Some(a) = rest.next() {
        match a.as_str() {
            "-f" | "--use-file" => {
                let f = rest.next().ok_or(format!("-- {a} needs a path"))?;
                cli.use_file.get_or_insert_with(|| f.clone());
            }
            "-d" | "--dump-conf" => cli.dump_conf = true,
            f if f.starts_with("--use-file=") => {
                cli.use_file.get_or_insert_with(|| f["--use-file=".len()..].to_string());
            }
            other => cli.ignored.push(format!("keepalived flag {other}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str], env: &[(&str, &str)]) -> Result<Cli, String> {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let e = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse(&a, &e)
    }

    #[test]
    fn osixia_2_3_arguments_and_keepalived_flags_after_the_double_dash() {
        let c = p(&["--log-level", "warning", "--", "--log-detail", "--dump-conf", "-f", "/k.conf"], &[]).unwrap();
        assert_eq!(c.log_level, Some(log::LevelFilter::Warn));
        assert!(c.dump_conf);
        assert_eq!(c.use_file.as_deref(), Some("/k.conf"));
        assert_eq!(c.ignored, ["keepalived flag --log-detail"]);
        assert_eq!(p(&["--debug"], &[]).unwrap().log_level, Some(log::LevelFilter::Debug));
        // After `--` nothing is keepvip's: --check there is keepalived's (unknown) flag.
        assert_eq!(p(&["--", "--check"], &[]).unwrap().mode, Mode::Run);
        assert!(p(&["--", "-f"], &[]).is_err());
    }

    #[test]
    fn osixia_arguments() {
        let c = p(&["--loglevel", "debug", "--copy-service", "--wait-state=x"], &[]).unwrap();
        assert_eq!(c.mode, Mode::Run);
        assert_eq!(c.log_level, Some(log::LevelFilter::Debug));
        assert_eq!(c.ignored, ["--copy-service", "--wait-state x"]);
        assert_eq!(p(&["--use-file=/x.conf"], &[]).unwrap().use_file.as_deref(), Some("/x.conf"));
        assert_eq!(p(&["--use-file", "/y.conf"], &[]).unwrap().use_file.as_deref(), Some("/y.conf"));
        assert_eq!(p(&["-l", "trace", "--check"], &[]).unwrap().mode, Mode::Check);
        assert_eq!(p(&[], &[("CONTAINER_LOG_LEVEL", "2")]).unwrap().log_level, Some(log::LevelFilter::Warn));
        assert_eq!(
            p(&["-l", "info"], &[("CONTAINER_LOG_LEVEL", "5")]).unwrap().log_level,
            Some(log::LevelFilter::Info)
        );
    }

    #[test]
    fn bad_arguments() {
        assert!(p(&["--bogus"], &[]).unwrap_err().contains("unknown argument \"--bogus\""));
        assert!(p(&["--loglevel"], &[]).unwrap_err().contains("needs a value"));
        assert!(p(&["--loglevel", "loud"], &[]).unwrap_err().contains("expected none|error"));
        assert!(p(&[], &[("CONTAINER_LOG_LEVEL", "9")]).unwrap_err().contains("CONTAINER_LOG_LEVEL=\"9\""));
    }
}
