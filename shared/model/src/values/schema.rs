//! Checks values against `charts/values.schema.json`, the schema helm enforces too. Only the
//! keywords that schema may use are understood: type, properties, additionalProperties, items,
//! enum, minimum, maximum, required. Unlike helm, every problem is reported, with the path and,
//! for an unknown key, the nearest known one.

use serde_json::Value;

use crate::problem::{index, join, Problem, Problems};

pub const SCHEMA_JSON: &str = include_str!("../../../../charts/values.schema.json");

/// [`SCHEMA_JSON`] with only the keywords checked here, made by build.rs: less to parse at start.
const CHECKED_SCHEMA_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/values.schema.json"));

/// The embedded schema, parsed once per process (each source and the merged values are checked).
pub fn schema() -> &'static Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(CHECKED_SCHEMA_JSON).expect("build.rs wrote valid JSON"))
}

/// What a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One user source: a part of the values, where `null` means "remove the default".
    Source,
    /// The merged values, which must be complete.
    Merged,
}

pub fn check(schema: &Value, value: &Value, scope: Scope) -> Problems {
    let mut problems = Problems::default();
    check_node(schema, value, "", scope, &mut problems);
    problems
}

fn check_node(schema: &Value, value: &Value, path: &str, scope: Scope, out: &mut Problems) {
    if value.is_null() && scope == Scope::Source {
        return;
    }
    if let Some(expected) = schema.get("type") {
        if !type_matches(expected, value) {
            out.push(Problem::at(
                path,
                format!("expected {}, got {}", describe_types(expected), describe_value(value)),
            ));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.contains(value) {
            let names: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
            out.push(Problem::at(path, format!("{} is not one of {}", describe_value(value), names.join(", "))));
        }
    }
    check_bounds(schema, value, path, out);
    match value {
        Value::Object(map) => check_object(schema, map, path, scope, out),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check_node(item_schema, item, &index(path, i), scope, out);
                }
            }
        }
        _ => {}
    }
}

fn check_object(schema: &Value, map: &serde_json::Map<String, Value>, path: &str, scope: Scope, out: &mut Problems) {
    let properties = schema.get("properties").and_then(Value::as_object);
    if scope == Scope::Merged {
        for key in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(key) = key.as_str() {
                if !map.contains_key(key) {
                    out.push(Problem::at(join(path, key), "is required"));
                }
            }
        }
    }
    for (key, value) in map {
        let key_path = join(path, key);
        if let Some(sub) = properties.and_then(|p| p.get(key)) {
            check_node(sub, value, &key_path, scope, out);
            continue;
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => {
                let known: Vec<&str> = properties.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
                out.push(Problem::at(&key_path, unknown_key_message(path, key, &known)));
            }
            Some(sub @ Value::Object(_)) => check_node(sub, value, &key_path, scope, out),
            _ => {}
        }
    }
}

fn unknown_key_message(path: &str, key: &str, known: &[&str]) -> String {
    match nearest(key, known) {
        Some(best) => format!("unknown key (did you mean {}?)", join(path, best)),
        None if known.is_empty() => "unknown key".to_string(),
        None => format!("unknown key (known keys here: {})", known.join(", ")),
    }
}

/// The known key closest to a mistyped one, if any is close enough to be a likely typo.
pub fn nearest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(&key.to_lowercase(), &k.to_lowercase()), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

fn check_bounds(schema: &Value, value: &Value, path: &str, out: &mut Problems) {
    let Some(n) = value.as_f64() else { return };
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        if n < min {
            out.push(Problem::at(path, format!("{value} is less than the minimum {min}")));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        if n > max {
            out.push(Problem::at(path, format!("{value} is more than the maximum {max}")));
        }
    }
}

fn type_matches(expected: &Value, value: &Value) -> bool {
    match expected {
        Value::String(t) => one_type_matches(t, value),
        Value::Array(types) => types.iter().filter_map(Value::as_str).any(|t| one_type_matches(t, value)),
        _ => true,
    }
}

fn one_type_matches(t: &str, value: &Value) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        _ => true,
    }
}

fn describe_types(expected: &Value) -> String {
    let names: Vec<&str> = match expected {
        Value::String(t) => vec![t.as_str()],
        Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let named: Vec<String> = names.iter().map(|t| article(t)).collect();
    named.join(" or ")
}

fn article(t: &str) -> String {
    match t {
        "object" => "a map".into(),
        "array" => "a list".into(),
        "integer" => "an integer".into(),
        "null" => "null".into(),
        other => format!("a {other}"),
    }
}

pub fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string \"{s}\""),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(value: Value) -> Vec<String> {
        check(schema(), &value, Scope::Source).iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn defaults_satisfy_the_schema() {
        let defaults = crate::yaml::parse(crate::values::DEFAULTS_YAML).unwrap();
        let problems = check(schema(), &defaults, Scope::Merged);
        assert!(problems.is_empty(), "{problems}");
    }

    #[test]
    fn unknown_keys_name_the_nearest_known_key() {
        assert_eq!(
            messages(json!({"storage": {"sizee": "1Gi"}})),
            vec!["storage.sizee: unknown key (did you mean storage.size?)"]
        );
        assert_eq!(messages(json!({"replicas": 2})), vec!["replicas: unknown key (did you mean replicaCount?)"]);
    }

    #[test]
    fn every_problem_is_reported() {
        let found = messages(json!({"replicaCount": "two", "service": {"type": "Cluster"}, "tls": {"enabled": "yes"}}));
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("replicaCount: expected an integer, got string \"two\""));
    }
}
