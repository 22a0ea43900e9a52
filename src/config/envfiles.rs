//! osixia's environment files under `/container/environment`, merged as light-baseimage's
//! `run` merges them: plain files named after a variable (in the directory itself and in
//! `startup/`), then every `*.yaml` / `*.json` (and `*.startup.*`) in sorted order of
//! directory and name. A variable already set (by `-e`, or by an earlier file) is never
//! overridden, so `01-custom/env.yaml` beats `99-default/default.yaml`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::yaml::{self, Value};

/// osixia's directory (the README's mount point is `01-custom/env.yaml` in it).
pub const DIR: &str = "/container/environment";

/// One file as read from disk.
pub struct File {
    pub path: PathBuf,
    pub text: String,
}

/// The files `run` would read, in its order. IO only; [`merge`] does the rest.
pub fn read(dir: &Path) -> Result<Vec<File>, String> {
    let mut out = vec![];
    if !dir.is_dir() {
        return Ok(out);
    }
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    // Plain files: named after the variable, no dot in the name.
    for d in [dir.to_path_buf(), dir.join("startup")] {
        for p in sorted_entries(&d) {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_file() && !name.contains('.') {
                out.push(File { text: read(&p)?, path: p });
            }
        }
    }
    // YAML and JSON files, in every directory, walked in sorted order.
    let mut dirs = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < dirs.len() {
        let d = dirs[i].clone();
        i += 1;
        let entries = sorted_entries(&d);
        for p in &entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_file() && (name.ends_with(".yaml") || name.ends_with(".json")) {
                out.push(File { text: read(p)?, path: p.clone() });
            }
        }
        dirs.extend(entries.into_iter().filter(|p| p.is_dir()));
        dirs[i..].sort();
    }
    Ok(out)
}

fn sorted_entries(d: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d).into_iter().flatten().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

/// Variable name → value, or → the file it came from.
pub type Vars = HashMap<String, String>;

/// The environment with the files' variables added where unset, and where each came from.
/// Errors name the file and line.
pub fn merge(env: &Vars, files: &[File]) -> Result<(Vars, Vars), Vec<String>> {
    let mut out = env.clone();
    let mut sources = HashMap::new();
    let mut problems = vec![];
    for f in files {
        let shown = f.path.display().to_string();
        let name = f.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let pairs: Vec<(String, String)> = if !name.contains('.') {
            // `run` drops one trailing newline.
            vec![(name.to_string(), f.text.strip_suffix('\n').unwrap_or(&f.text).to_string())]
        } else if name.ends_with(".json") {
            match json_pairs(&f.text) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(format!("{shown}: {e}"));
                    continue;
                }
            }
        } else {
            match yaml::parse(&f.text) {
                Ok(p) => p.into_iter().map(|(k, v)| (k, v.to_env())).collect(),
                Err((line, e)) => {
                    problems.push(format!("{shown}:{line}: {e}"));
                    continue;
                }
            }
        };
        for (k, v) in pairs {
            if !out.contains_key(&k) {
                out.insert(k.clone(), v);
                sources.insert(k, shown.clone());
            }
        }
    }
    if problems.is_empty() {
        Ok((out, sources))
    } else {
        Err(problems)
    }
}

fn json_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON ({e})"))?;
    let serde_json::Value::Object(map) = v else { return Err("expected a JSON object of names to values".into()) };
    map.into_iter().map(|(k, v)| Ok((k, from_json(v)?.to_env()))).collect()
}

fn from_json(v: serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        J::String(s) => Value::Str(s),
        J::Array(a) => Value::List(a.into_iter().map(from_json).collect::<Result<_, _>>()?),
        J::Object(_) => return Err("nested objects are not supported".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> File {
        File { path: PathBuf::from(path), text: text.into() }
    }

    #[test]
    fn set_variables_win_and_earlier_files_win() {
        let env: HashMap<String, String> = [("KEEPALIVED_PRIORITY".to_string(), "200".to_string())].into();
        let files = [
            file("/container/environment/KEEPALIVED_PASSWORD", "fromfile\n"),
            file(
                "/container/environment/01-custom/env.yaml",
                "KEEPALIVED_ROUTER_ID: 77\nKEEPALIVED_PRIORITY: 100\nKEEPALIVED_PASSWORD: x\n",
            ),
            file(
                "/container/environment/02-more/env.json",
                r#"{"KEEPALIVED_VIRTUAL_IPS": ["198.18.0.100"], "KEEPALIVED_ROUTER_ID": 88}"#,
            ),
            file(
                "/container/environment/99-default/default.yaml",
                "KEEPALIVED_ROUTER_ID: 51\nKEEPALIVED_STATE: BACKUP\n",
            ),
        ];
        let (out, src) = merge(&env, &files).unwrap();
        assert_eq!(out["KEEPALIVED_PRIORITY"], "200", "-e is never overridden");
        assert_eq!(out["KEEPALIVED_PASSWORD"], "fromfile", "plain files come first");
        assert_eq!(out["KEEPALIVED_ROUTER_ID"], "77", "01-custom beats later files");
        assert_eq!(out["KEEPALIVED_VIRTUAL_IPS"], "#PYTHON2BASH:['198.18.0.100']");
        assert_eq!(out["KEEPALIVED_STATE"], "BACKUP");
        assert_eq!(src["KEEPALIVED_ROUTER_ID"], "/container/environment/01-custom/env.yaml");
        assert!(!src.contains_key("KEEPALIVED_PRIORITY"));
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let e = merge(&HashMap::new(), &[file("/x/01/env.yaml", "A: 1\n  B: 2\n"), file("/x/02/e.json", "[1]")])
            .unwrap_err();
        assert!(e[0].starts_with("/x/01/env.yaml:2: "), "{e:?}");
        assert!(e[1].starts_with("/x/02/e.json: expected a JSON object"), "{e:?}");
    }

    #[test]
    fn reads_in_runs_order() {
        let d = std::env::temp_dir().join(format!("kvenv{}", std::process::id()));
        for (p, t) in
            [("99-default/default.yaml", "A: 1"), ("01-custom/env.yaml", "A: 2"), ("B", "3"), ("01-custom/x.txt", "")]
        {
            let p = d.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        }
        let names: Vec<String> =
            read(&d).unwrap().iter().map(|f| f.path.strip_prefix(&d).unwrap().display().to_string()).collect();
        assert_eq!(names, ["B", "01-custom/env.yaml", "99-default/default.yaml"]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
