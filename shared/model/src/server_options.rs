//! `server.value_options` and `server.flag_options` against the option table of `mlflow server`
//! 3.17.2 (`data/mlflow-server-options.json`, generated from the real program by
//! tests/contract/server_options.py): unknown names, flags given a value, options given no value,
//! and values of the wrong type are refused before MLflow would exit on them.

use serde::Deserialize;
use serde_json::Value;

use crate::problem::{index, Problem, Problems};
use crate::render::TLS_DIR;
use crate::server_opts::{self, python_int, ServerTable};
use crate::values::model::flag_name;
use crate::values::schema::nearest;
use crate::values::Values;

/// data/mlflow-server-options.json without `servers`, and `servers` alone (split by build.rs).
#[cfg(test)]
const OPTIONS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/server-options.json"));
const SERVERS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/server-servers.json"));

// `static OPTIONS: &[ServerOption]`: the table's options, compiled by build.rs (every check
// reads them; parsing them was a twentieth of a render).
include!(concat!(env!("OUT_DIR"), "/server_options.rs"));

/// The servers MLflow starts: their own option tables, for the `*_opts` strings (read from the
/// table only when one is given: most values give none).
#[derive(Debug, Deserialize)]
struct Servers {
    uvicorn: ServerTable,
    gunicorn: ServerTable,
}

fn servers() -> Servers {
    serde_json::from_str(SERVERS_JSON).expect("data/mlflow-server-options.json has valid servers")
}

/// One option of `mlflow server`; `names` are its long spellings, dashes as underscores.
#[derive(Debug)]
struct ServerOption {
    kind: &'static str,
    names: &'static [&'static str],
    /// empty when the table gives none
    type_: &'static str,
    choices: &'static [&'static str],
    min: Option<f64>,
    max: Option<f64>,
    /// The environment variable MLflow also reads the option from.
    envvar: Option<&'static str>,
    /// What MLflow (or the server it starts) checks beyond the type, by rule name (see `rules`
    /// in the table).
    rules: &'static [&'static str],
}

impl ServerOption {
    fn has(&self, rule: &str) -> bool {
        self.rules.contains(&rule)
    }
}

/// Options the chart sets from its own keys (the stores through the environment).
const OWNED: [(&str, &str); 6] = [
    ("backend_store_uri", "mlflow.backendStoreUri"),
    ("registry_store_uri", "mlflow.registryStoreUri"),
    ("default_artifact_root", "mlflow.defaultArtifactRoot"),
    ("artifacts_destination", "mlflow.artifactsDestination"),
    ("static_prefix", "server.staticPrefix"),
    ("expose_prometheus", "metrics.enabled"),
];

/// A name as the table spells it: no leading dashes, `-` as `_`.
fn normalized(name: &str) -> String {
    flag_name(name).replace('-', "_")
}

pub fn check(values: &Values, out: &mut Problems) {
    let find = |name: &str| {
        let name = normalized(name);
        OPTIONS.iter().find(|o| o.names.contains(&name.as_str()))
    };
    let all: Vec<&str> = OPTIONS.iter().flat_map(|o| o.names.iter().copied()).collect();
    for (key, value) in &values.server.value_options {
        let path = format!("server.value_options.{key}");
        if value.is_null() || value.as_str() == Some("") {
            continue;
        }
        match find(key) {
            None => out.push(Problem::at(path, unknown(key, &all))),
            Some(o) if o.kind == "flag" => out.push(Problem::at(
                path,
                format!(
                    "--{} is a flag and takes no value (list {key} in server.flag_options instead)",
                    flag_name(key)
                ),
            )),
            Some(o) => match owned_or_secret(o, key, value, &path) {
                Some(problem) => out.push(problem),
                None => {
                    out.extend(typed(o, key, value, &path));
                    out.extend(value_rules(o, value, &path, values));
                }
            },
        }
    }
    one_server(values, out);
    shadowed_env(values, out);
    for (i, flag) in values.server.flag_options.iter().enumerate() {
        let name = flag_name(flag);
        if name.is_empty() || flag.contains(char::is_whitespace) || flag.contains('=') {
            continue; // refused as not a bare flag name
        }
        match find(flag) {
            None => out.push(Problem::at(index("server.flag_options", i), unknown(flag, &all))),
            Some(o) if o.kind != "flag" => out.push(Problem::at(
                index("server.flag_options", i),
                format!("--{name} takes a value (set it in server.value_options, e.g. {}: VALUE)", normalized(flag)),
            )),
            Some(o) => {
                if let Some(problem) = flag_rules(o, &name, values) {
                    out.push(Problem::at(index("server.flag_options", i), problem));
                }
            }
        }
    }
}

/// A value option's text as the command line gets it; `None` when it is left out.
fn given(values: &Values, key: &str) -> Option<String> {
    option_text(values.server.value_options.get(key)?)
}

/// The server option that carries the chart's TLS: gunicorn's when the user chose gunicorn,
/// else uvicorn's (as the renderer merges it).
fn tls_server(values: &Values) -> Option<&'static str> {
    values.tls.enabled.then(|| if given(values, "gunicorn_opts").is_some() { "gunicorn_opts" } else { "uvicorn_opts" })
}

/// The mount paths of the mlflow container a file the server reads at start-up may lie under:
/// the volumes with content (not the empty /tmp or metrics directory).
fn file_mounts(values: &Values) -> Vec<String> {
    let mut mounts = Vec::new();
    if values.storage.enabled {
        mounts.push(values.storage.mount_path.clone());
    }
    if values.tls.enabled {
        mounts.push(TLS_DIR.to_string());
    }
    mounts.extend(values.extra_volume_mounts.iter().map(|m| m.mount_path.clone()));
    mounts
}

/// The options the command line carries: the value options given, the port (always), and what
/// the chart adds from its own keys.
fn on_command_line(values: &Values) -> Vec<String> {
    let mut names: Vec<String> =
        values.server.value_options.keys().filter(|k| given(values, k).is_some()).map(|k| normalized(k)).collect();
    names.push("port".into());
    names.retain(|n| n != "allowed_hosts"); // passed in MLFLOW_SERVER_ALLOWED_HOSTS, merged
    if !values.server.static_prefix.trim_end_matches('/').is_empty() {
        names.push("static_prefix".into());
    }
    if values.metrics.enabled {
        names.push("expose_prometheus".into());
    }
    names.extend(tls_server(values).map(String::from));
    names.extend(values.server.flag_options.iter().map(|f| normalized(f)));
    names
}

/// An `env` entry naming the variable MLflow reads an option from, while the command line
/// carries that option: the flag wins and the entry is silently ignored. The `*_opts` strings
/// are refused in `env` altogether: given there, they would escape their checks and the TLS merge.
fn shadowed_env(values: &Values, out: &mut Problems) {
    let on_line = on_command_line(values);
    for (i, var) in values.env.iter().enumerate() {
        if crate::validate::OWN_ENV.contains(&var.name.as_str()) {
            continue; // refused as the chart's own
        }
        let Some(option) = OPTIONS.iter().find(|o| o.envvar == Some(var.name.as_str())) else {
            continue;
        };
        let key = &option.names[0];
        let problem = if option.names.iter().any(|n| on_line.iter().any(|l| l == n)) {
            format!(
                "{} is overridden by --{} on the server's command line, so it would not be used (set server.value_options.{key}, or the key the chart sets it from, instead)",
                var.name,
                flag_name(key)
            )
        } else if key.ends_with("_opts") {
            format!(
                "{}: set server.value_options.{key} instead (the chart merges its own options into it and checks it)",
                var.name
            )
        } else {
            continue;
        };
        out.push(Problem::at(format!("env[{i}].name"), problem));
    }
}

/// MLflow takes one of the three server options, the chart's TLS (in uvicorn's) counted.
fn one_server(values: &Values, out: &mut Problems) {
    let keys = ["uvicorn_opts", "gunicorn_opts", "waitress_opts"];
    let mut set: Vec<String> = keys.iter().filter(|k| given(values, k).is_some()).map(|k| k.to_string()).collect();
    if tls_server(values) == Some("uvicorn_opts") && given(values, "uvicorn_opts").is_none() {
        set.insert(0, "tls.enabled (the chart passes TLS to uvicorn: waitress serves no HTTPS)".into());
    }
    if set.len() > 1 {
        let last = set.last().cloned().unwrap_or_default();
        let key = keys.iter().find(|k| **k == last).copied().unwrap_or("waitress_opts");
        out.push(Problem::at(
            format!("server.value_options.{key}"),
            format!(
                "mlflow server takes one of uvicorn_opts, gunicorn_opts and waitress_opts, and refuses {} together (keep one)",
                set.join(" and ")
            ),
        ));
    }
}

/// The rules of a value option (see `rules` in the option table).
fn value_rules(option: &ServerOption, value: &Value, path: &str, values: &Values) -> Problems {
    let mut out = Problems::default();
    if value.is_array() || value.is_object() {
        return out; // refused as not one value
    }
    let Some(text) = option_text(value) else { return out };
    let gunicorn = given(values, "gunicorn_opts").is_some();
    let waitress = given(values, "waitress_opts").is_some();
    for rule in option.rules {
        let problem = match *rule {
            "whole_number" => match python_int(&text, false) {
                None => Some(format!("\"{text}\" is not a whole number (uvicorn and gunicorn read --workers as an integer, e.g. 4)")),
                Some(n) if n < 0 && gunicorn => Some(format!("{n}: gunicorn refuses a negative number of workers (use 1 or more)")),
                Some(_) => None,
            },
            "wildcard_host" if !["0.0.0.0", "::", "[::]"].contains(&text.as_str()) => Some(format!(
                "\"{text}\": the server would listen on that address only, but the kubelet's probes and the Service reach the pod on its own IP, and kubectl port-forward on 127.0.0.1 (use 0.0.0.0, or :: for IPv6)"
            )),
            "not_installed" if crate::image::is_official(&values.image) => Some(format!(
                "waitress is not installed in MLflow's image {} (MLflow depends on it on Windows only), so mlflow server would fail to start it (use uvicorn_opts: uvicorn is MLflow's default server)",
                crate::image::reference(&values.image)
            )),
            "needs_uvicorn" if gunicorn || waitress => Some(format!(
                "--{} works with uvicorn, MLflow's default server, only: mlflow server refuses it with {} (remove one of them)",
                flag_name(option.names[0]),
                if gunicorn { "gunicorn_opts" } else { "waitress_opts" }
            )),
            "file_in_container" if !server_opts::in_container(&text, &file_mounts(values)) => Some(format!(
                "\"{text}\": mlflow server checks at start-up that this file exists: it must be in the container (mount it with extraVolumes and extraVolumeMounts and give its absolute path)"
            )),
            "store_uri" => crate::store_uri::check_store(&text).err().map(|err| err.to_string()),
            "uvicorn_opts" | "gunicorn_opts" => {
                let servers = servers();
                let (server, opts) = match *rule {
                    "uvicorn_opts" => ("uvicorn", &servers.uvicorn),
                    _ => ("gunicorn", &servers.gunicorn),
                };
                let ctx = server_opts::Context {
                    server,
                    tls: tls_server(values) == Some(*rule),
                    mounts: &file_mounts(values),
                };
                for problem in server_opts::check(opts, &text, &ctx) {
                    out.push(Problem::at(path, problem));
                }
                None
            }
            _ => None,
        };
        if let Some(problem) = problem {
            out.push(Problem::at(path, problem));
        }
    }
    out
}

/// The rules of a flag option.
fn flag_rules(option: &ServerOption, name: &str, values: &Values) -> Option<String> {
    if option.has("dev_alone") && option.names.contains(&"dev") {
        let with = [
            ("server.value_options.uvicorn_opts", given(values, "uvicorn_opts").is_some()),
            ("server.value_options.gunicorn_opts", given(values, "gunicorn_opts").is_some()),
            ("server.value_options.app_name", given(values, "app_name").is_some()),
            ("tls.enabled (the chart passes TLS in --uvicorn-opts)", values.tls.enabled),
        ];
        if let Some((what, _)) = with.iter().find(|(_, on)| *on) {
            return Some(format!("--dev cannot be used with {what}: mlflow server refuses it (remove dev)"));
        }
    }
    if option.has("no_backend_store") {
        return Some(format!(
            "--{name} cannot be used here: the chart always sets a backend store (mlflow.backendStoreUri), and mlflow server refuses --{name} with one (remove it)"
        ));
    }
    if option.has("needs_uvicorn") {
        let other =
            [("gunicorn_opts", given(values, "gunicorn_opts")), ("waitress_opts", given(values, "waitress_opts"))]
                .into_iter()
                .find(|(_, v)| v.is_some());
        if let Some((key, _)) = other {
            return Some(format!(
                "--{name} works with uvicorn, MLflow's default server, only: mlflow server refuses it with {key} (remove one of them)"
            ));
        }
    }
    None
}

fn option_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// An option the chart sets itself, or a URI with a password that would show in the server's
/// process list (its arguments) when MLflow can read it from the environment.
fn owned_or_secret(option: &ServerOption, key: &str, value: &Value, path: &str) -> Option<Problem> {
    if let Some((_, own)) = OWNED.iter().find(|(name, _)| option.names.iter().any(|n| n == name)) {
        return Some(Problem::at(
            path,
            format!("--{} is set by the chart from {own} (set {own} instead)", flag_name(key)),
        ));
    }
    let text = value.as_str()?;
    let envvar = option.envvar?;
    (crate::store_uri::mask(text) != text).then(|| {
        Problem::at(path, format!("holds a password, which would show in the server's process list (remove it here and set {envvar} in env, from a Secret with valueFrom.secretKeyRef)"))
    })
}

fn unknown(name: &str, all: &[&str]) -> String {
    let hint = nearest(&normalized(name), all)
        .map_or_else(|| "see `mlflow server --help`".to_string(), |best| format!("did you mean {best}?"));
    format!("mlflow server {} has no option --{} ({hint})", crate::versions::APP_VERSION, flag_name(name))
}

/// Problems of a value MLflow types: an int (in its range) or one of its choices. `port` is
/// checked with its own message by the validator.
fn typed(option: &ServerOption, key: &str, value: &Value, path: &str) -> Problems {
    let mut out = Problems::default();
    let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
    match option.type_ {
        "int" if key != "port" => {
            let n = value.as_i64().or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()));
            match n {
                None => out.push(Problem::at(
                    path,
                    format!("{value} is not an integer (mlflow server --{} takes a whole number)", flag_name(key)),
                )),
                Some(n) if !in_range(n as f64, option) => {
                    out.push(Problem::at(path, format!("{n} is out of range (use {})", range(option))))
                }
                Some(_) => {}
            }
        }
        "choice" if !option.choices.contains(&text.as_str()) => out.push(Problem::at(
            path,
            format!("\"{text}\" is not a choice of --{} (use one of {})", flag_name(key), option.choices.join(", ")),
        )),
        _ => {}
    }
    out
}

fn in_range(n: f64, option: &ServerOption) -> bool {
    option.min.is_none_or(|min| n >= min) && option.max.is_none_or(|max| n <= max)
}

fn range(option: &ServerOption) -> String {
    match (option.min, option.max) {
        (Some(min), Some(max)) => format!("a number from {min} to {max}"),
        (Some(min), None) => format!("a number of at least {min}"),
        (None, Some(max)) => format!("a number of at most {max}"),
        (None, None) => "a number".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_mlflows_and_parses() {
        assert!(OPTIONS_JSON.contains("\"mlflow\":\"3.17.2\""));
        assert!(servers().gunicorn.options.len() > 10);
        assert!(OPTIONS.iter().any(|o| o.names == ["port"] && o.type_ == "int"));
        assert!(OPTIONS.iter().any(|o| o.kind == "flag" && o.names.contains(&"no_serve_artifacts")));
        // the compiled table is the JSON table, option for option
        let table: Value = serde_json::from_str(OPTIONS_JSON).unwrap();
        let options = table["options"].as_array().unwrap();
        assert_eq!(options.len(), OPTIONS.len());
        for (json, option) in options.iter().zip(OPTIONS) {
            assert_eq!(json["names"], serde_json::json!(option.names));
            assert_eq!(json["kind"], option.kind);
            assert_eq!(json.get("type").and_then(Value::as_str).unwrap_or_default(), option.type_);
            assert_eq!(json.get("min").and_then(Value::as_f64), option.min);
            assert_eq!(json.get("max").and_then(Value::as_f64), option.max);
            assert_eq!(json.get("envvar").and_then(Value::as_str), option.envvar);
            assert_eq!(json.get("rules").cloned().unwrap_or(serde_json::json!([])), serde_json::json!(option.rules));
            assert_eq!(
                json.get("choices").cloned().unwrap_or(serde_json::json!([])),
                serde_json::json!(option.choices)
            );
        }
    }
}
