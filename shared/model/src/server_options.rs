//! `server.value_options` and `server.flag_options` against the option table of `mlflow server`
//! 3.17.2 (`data/mlflow-server-options.json`, generated from the real program by
//! tests/contract/server_options.py): unknown names, flags given a value, options given no value,
//! and values of the wrong type are refused before MLflow would exit on them.

use serde::Deserialize;
use serde_json::Value;

use crate::problem::{index, Problem, Problems};
use crate::values::model::flag_name;
use crate::values::schema::nearest;
use crate::values::Values;

const TABLE_JSON: &str = include_str!("../data/mlflow-server-options.json");

#[derive(Debug, Deserialize)]
struct Table {
    options: Vec<ServerOption>,
}

/// One option of `mlflow server`; `names` are its long spellings, dashes as underscores.
#[derive(Debug, Deserialize)]
struct ServerOption {
    kind: String,
    names: Vec<String>,
    #[serde(default, rename = "type")]
    type_: String,
    #[serde(default)]
    choices: Vec<String>,
    min: Option<f64>,
    max: Option<f64>,
    /// The environment variable MLflow also reads the option from.
    envvar: Option<String>,
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

fn table() -> Table {
    serde_json::from_str(TABLE_JSON).expect("data/mlflow-server-options.json is valid")
}

/// A name as the table spells it: no leading dashes, `-` as `_`.
fn normalized(name: &str) -> String {
    flag_name(name).replace('-', "_")
}

pub fn check(values: &Values, out: &mut Problems) {
    let table = table();
    let find = |name: &str| table.options.iter().find(|o| o.names.iter().any(|n| *n == normalized(name)));
    let all: Vec<&str> = table.options.iter().flat_map(|o| o.names.iter().map(String::as_str)).collect();
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
            Some(o) => {
                out.0.extend(owned_or_secret(o, key, value, &path));
                out.extend(typed(o, key, value, &path));
            }
        }
    }
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
            Some(_) => {}
        }
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
    let envvar = option.envvar.as_deref()?;
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
    match option.type_.as_str() {
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
        "choice" if !option.choices.contains(&text) => out.push(Problem::at(
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
        let table = table();
        assert!(TABLE_JSON.contains("\"mlflow\": \"3.17.2\""));
        assert!(table.options.iter().any(|o| o.names == ["port"] && o.type_ == "int"));
        assert!(table.options.iter().any(|o| o.kind == "flag" && o.names.contains(&"no_serve_artifacts".to_string())));
    }
}
