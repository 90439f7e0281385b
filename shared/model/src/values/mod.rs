//! The chart's values: loading them from files and flags, merging them over the defaults as
//! helm does, and checking them against the schema and the Rust types.

mod merge;
pub mod model;
pub mod origin;
pub mod schema;
#[cfg(test)]
mod schema_agreement;
mod set;

use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value};

pub use merge::{coalesce, coalesce_into, merge};
pub use model::Values;
pub use set::SetKind;

use crate::problem::{join, Problem, Problems};

/// `charts/values.yaml`, the only home of the defaults.
pub const DEFAULTS_YAML: &str = include_str!("../../../../charts/values.yaml");

/// A value of [`DEFAULTS_YAML`] as static data, written by build.rs: building the tree of the
/// defaults from it parses nothing (parsing them, even as JSON, was a tenth of a render).
// values.yaml has no negative or fractional number today; build.rs writes them when it has.
#[allow(dead_code)]
enum Literal {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(&'static str),
    List(&'static [Literal]),
    Map(&'static [(&'static str, Literal)]),
}

include!(concat!(env!("OUT_DIR"), "/values_defaults.rs"));

impl Literal {
    fn to_value(&self) -> Value {
        match self {
            Literal::Null => Value::Null,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Unsigned(n) => Value::from(*n),
            Literal::Signed(n) => Value::from(*n),
            Literal::Float(n) => Value::from(*n),
            Literal::Text(s) => Value::String((*s).to_string()),
            Literal::List(items) => Value::Array(items.iter().map(Literal::to_value).collect()),
            Literal::Map(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for (key, value) in entries.iter() {
                    map.insert((*key).to_string(), value.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

/// The chart's defaults as a tree.
pub fn defaults() -> Value {
    DEFAULTS.to_value()
}

/// One user-given source of values, in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `-f FILE`; `-` reads standard input.
    File(String),
    /// `--set`, `--set-string` or `--set-file` with its argument.
    Set(SetKind, String),
    /// Values given as YAML text by the program (the values stored by an earlier install).
    Text { name: String, yaml: String },
}

impl Source {
    /// How errors name this source.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) if path == "-" => "<stdin>".to_string(),
            Source::File(path) => path.clone(),
            Source::Set(kind, expr) => format!("{} {expr}", set_flag(*kind)),
            Source::Text { name, .. } => name.clone(),
        }
    }
}

fn set_flag(kind: SetKind) -> &'static str {
    match kind {
        SetKind::Typed => "--set",
        SetKind::String => "--set-string",
        SetKind::File => "--set-file",
    }
}

/// Reads every source and merges them as helm does (files in order, then each flag applied to the
/// result). Returns the user's values, before the defaults; every problem of every source at once.
pub fn load_user_values(sources: &[Source], stdin: &mut dyn Read) -> Result<Value, Problems> {
    load_user_parts(sources, stdin).map(|(user, _)| user)
}

/// [`load_user_values`], with what each source contributed (its name and values), in order.
pub fn load_user_parts(sources: &[Source], stdin: &mut dyn Read) -> Result<(Value, Vec<(Source, Value)>), Problems> {
    let mut problems = Problems::default();
    let mut user = Value::Object(Map::new());
    let mut parts = Vec::new();
    for source in sources {
        let name = source.name();
        let part = match read_source(source, stdin, &mut user) {
            Ok(part) => part,
            Err(problem) => {
                problems.push(problem.in_source(&name));
                continue;
            }
        };
        for problem in schema::check(&part, schema::Scope::Source).0 {
            problems.push(problem.in_source(&name));
        }
        parts.push((source.clone(), part));
    }
    problems.into_result((user, parts))
}

/// Reads one source, merges it into `user`, and returns the part it contributed for checking.
fn read_source(source: &Source, stdin: &mut dyn Read, user: &mut Value) -> Result<Value, Problem> {
    match source {
        Source::File(_) | Source::Text { .. } => {
            let text = match source {
                Source::File(path) => read_text(path, stdin)?,
                Source::Text { yaml, .. } => yaml.clone(),
                Source::Set(..) => unreachable!(),
            };
            let part = crate::yaml::parse(&text)?;
            if !part.is_object() {
                return Err(Problem::at("", "expected a map of values at the top of the file"));
            }
            merge(user, part.clone());
            Ok(part)
        }
        Source::Set(kind, expr) => {
            let read_file =
                |path: &str| std::fs::read_to_string(path).map_err(|err| format!("cannot read {path}: {err}"));
            let mut part = Value::Object(Map::new());
            set::apply(expr, *kind, &mut part, &read_file).map_err(|m| Problem::at("", m))?;
            set::apply(expr, *kind, user, &read_file).map_err(|m| Problem::at("", m))?;
            Ok(part)
        }
    }
}

fn read_text(path: &str, stdin: &mut dyn Read) -> Result<String, Problem> {
    let mut text = String::new();
    let read = if path == "-" {
        stdin.read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(Path::new(path)).map(|t| text = t)
    };
    read.map_err(|err| Problem::at("", format!("cannot read the file: {err}")))?;
    Ok(text)
}

/// The quick start of MLflow's Kubernetes deployment guide, used when no backend store is given anywhere: SQLite and artifacts on a
/// volume. Returns the note to show the user, or `None` when a backend store was given.
pub fn apply_quick_start(user: &mut Value) -> Option<String> {
    let mlflow = user.get("mlflow");
    let given = |key: &str| mlflow.and_then(|m| m.get(key)).is_some_and(|v| !is_empty(v));
    if given("backendStoreUri") || given("backendStoreUriFrom") {
        return None;
    }
    let mount = user
        .pointer("/storage/mountPath")
        .and_then(Value::as_str)
        .unwrap_or("/mlflow")
        .trim_end_matches('/')
        .to_string();
    let mut quick = serde_json::json!({
        "storage": {"enabled": true},
        "mlflow": {"backendStoreUri": format!("sqlite:///{mount}/mlflow.db")},
    });
    if !given("artifactsDestination") && !given("defaultArtifactRoot") {
        quick["mlflow"]["artifactsDestination"] = Value::String(format!("{mount}/artifacts"));
    }
    merge(user, quick);
    Some(format!(
        "no backend store given: using the quick start (SQLite at sqlite:///{mount}/mlflow.db and \
         artifacts on a PersistentVolumeClaim at {mount}); for production set \
         mlflow.backendStoreUriFrom to a PostgreSQL URI in a Secret"
    ))
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Merges the user's values over the defaults and turns them into [`Values`].
pub fn resolve(user: &Value) -> Result<(Value, Values), Problems> {
    let mut merged = defaults();
    coalesce_into(&mut merged, user);
    normalize_quantities(&mut merged);
    let problems = schema::check_merged(&merged, user);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut ignored = false;
    let mut note = |_: serde_ignored::Path<'_>| ignored = true;
    // One deserializer type only: each is a copy of the code of every Kubernetes type in Values
    // (a second one made the binaries 0.35 MB larger).
    let watched = serde_ignored::Deserializer::new(&merged, &mut note);
    let mut values: Values = serde_path_to_error::deserialize(watched)
        .map_err(|err| Problem::at(err.path().to_string(), deserialize_message(&err.into_inner().to_string())))?;
    let mut problems = Problems::default();
    if ignored {
        // The problems, worded as ever, from a second tree: only for values that have some.
        let written = serde_json::to_value(&values).expect("values serialize");
        dropped_keys(&merged, &written, "", &mut problems);
    }
    values.normalize();
    problems.into_result((merged, values))
}

fn deserialize_message(message: &str) -> String {
    message.replace("invalid type: ", "expected ").replace(", expected ", " where the value should be ")
}

/// Kubernetes quantities (`cpu: 2`) may be written as numbers; the API types want strings.
fn normalize_quantities(merged: &mut Value) {
    for pointer in ["/resources", "/garbageCollection/resources", "/migrations/resources"] {
        if let Some(resources) = merged.pointer_mut(pointer) {
            for part in ["limits", "requests"] {
                if let Some(Value::Object(map)) = resources.get_mut(part) {
                    for quantity in map.values_mut() {
                        if let Value::Number(n) = quantity {
                            *quantity = Value::String(n.to_string());
                        }
                    }
                }
            }
        }
    }
    if let Some(size @ Value::Number(_)) = merged.pointer_mut("/storage/size") {
        *size = Value::String(size.to_string());
    }
}

/// Keys the user wrote that no Rust type kept: a misspelt field inside a Kubernetes object
/// (`env[0].valueFromm`) would otherwise vanish without a word. [`resolve`] looks for them only
/// when deserializing ignored a key (each type's `Serialize` writes every key its `Deserialize`
/// read, so nothing else can be missing from `kept`).
pub(crate) fn dropped_keys(given: &Value, kept: &Value, path: &str, out: &mut Problems) {
    dropped_below(given, kept, &mut path.to_string(), out);
}

/// [`dropped_keys`] with the key path extended in place (and cut back) for each child: no path
/// is allocated for a key that was kept.
fn dropped_below(given: &Value, kept: &Value, path: &mut String, out: &mut Problems) {
    match (given, kept) {
        (Value::Object(given), Value::Object(kept)) => {
            for (key, value) in given {
                match kept.get(key) {
                    Some(kept_value) => {
                        let length = path.len();
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(key);
                        dropped_below(value, kept_value, path, out);
                        path.truncate(length);
                    }
                    None if value.is_null() || is_empty(value) => {}
                    None => {
                        let known: Vec<&str> = kept.keys().map(String::as_str).collect();
                        let hint = schema::nearest(key, &known)
                            .map(|k| format!(" (did you mean {}?)", join(path, k)))
                            .unwrap_or_default();
                        out.push(Problem::at(join(path, key), format!("unknown field{hint}")));
                    }
                }
            }
        }
        (Value::Array(given), Value::Array(kept)) => {
            for (i, (g, k)) in given.iter().zip(kept).enumerate() {
                dropped_below(g, k, &mut crate::problem::index(path, i), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_charts_values_yaml() {
        assert_eq!(defaults(), crate::yaml::parse(DEFAULTS_YAML).unwrap());
    }

    #[test]
    fn defaults_resolve() {
        let (_, values) = resolve(&json!({})).unwrap();
        assert_eq!(values.port(), 5000);
        assert_eq!(values.storage.mount_path, "/mlflow");
    }

    #[test]
    fn misspelt_kubernetes_fields_are_caught() {
        let user =
            json!({"env": [{"name": "A", "valu": "x", "valueFromm": {"secretKeyRef": {"name": "s", "key": "k"}}}]});
        let problems = resolve(&user).unwrap_err();
        assert_eq!(problems.to_string(), "env[0].valu: unknown field\nenv[0].valueFromm: unknown field");
    }

    /// [`resolve`] compares the values with their round trip through [`Values`] only when
    /// deserializing ignored a key: the defaults and every value of everything.yaml ignore none.
    #[test]
    fn defaults_and_everything_ignore_no_key() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/values/everything.yaml"))
            .unwrap();
        for user in [json!({}), crate::yaml::parse(&text).unwrap()] {
            let mut merged = defaults();
            coalesce_into(&mut merged, &user);
            normalize_quantities(&mut merged);
            let mut ignored = Vec::new();
            let mut note = |path: serde_ignored::Path<'_>| ignored.push(path.to_string());
            let watched = serde_ignored::Deserializer::new(&merged, &mut note);
            let _: Values = serde::Deserialize::deserialize(watched).unwrap();
            assert_eq!(ignored, Vec::<String>::new());
        }
    }

    #[test]
    fn misspelt_fields_are_caught_in_lists_and_maps() {
        let user = json!({"extraContainers": [{"name": "a", "image": "b", "imagee": "c"}]});
        let problems = resolve(&user).unwrap_err();
        assert!(problems.to_string().contains("extraContainers[0].imagee: unknown field"), "{problems}");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_path() {
        let user = json!({"extraContainers": [{"name": "a", "image": "b", "ports": "x"}]});
        let problems = resolve(&user).unwrap_err();
        assert_eq!(
            problems.to_string(),
            "extraContainers[0].ports: expected string \"x\" where the value should be a sequence"
        );
    }

    #[test]
    fn quick_start_only_without_a_backend_store() {
        let mut user = json!({});
        assert!(apply_quick_start(&mut user).is_some());
        assert_eq!(user["mlflow"]["backendStoreUri"], "sqlite:////mlflow/mlflow.db");
        assert_eq!(user["mlflow"]["artifactsDestination"], "/mlflow/artifacts");
        let mut user = json!({"mlflow": {"backendStoreUriFrom": {"secretKeyRef": {"name": "a", "key": "b"}}}});
        assert!(apply_quick_start(&mut user).is_none());
    }
}
