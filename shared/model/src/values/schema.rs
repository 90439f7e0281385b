//! Checks values against `charts/values.schema.json`, the schema helm enforces too. Only the
//! keywords that schema may use are understood: type, properties, additionalProperties, items,
//! enum, minimum, maximum, required. Unlike helm, every problem is reported, with the path and,
//! for an unknown key, the nearest known one.

use serde_json::Value;

use crate::problem::{index, join, Problem, Problems};

pub const SCHEMA_JSON: &str = include_str!("../../../../charts/values.schema.json");

/// [`SCHEMA_JSON`] with only the keywords checked here, made by build.rs.
const CHECKED_SCHEMA_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/values.schema.json"));

/// The checked keywords of the schema as a JSON tree (for tests that walk it; the checks read
/// the same schema compiled to [`Node`]s by build.rs).
pub fn schema() -> &'static Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(CHECKED_SCHEMA_JSON).expect("build.rs wrote valid JSON"))
}

/// One node of the schema, compiled by build.rs into static data: a render parses no schema.
#[derive(Debug)]
pub struct Node {
    /// `type`: one name or several; `None` when the node does not say.
    pub types: Option<&'static [&'static str]>,
    /// `properties`, in the schema's order.
    pub properties: &'static [(&'static str, Node)],
    pub additional: Additional,
    pub items: Option<&'static Node>,
    /// The keywords few nodes have.
    pub rare: Option<&'static Rare>,
}

#[derive(Debug)]
pub struct Rare {
    /// `enum` (the schema's enums are all of strings; build.rs stops at any other).
    pub enumeration: &'static [&'static str],
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub required: &'static [&'static str],
}

/// `additionalProperties`.
#[derive(Debug)]
pub enum Additional {
    /// absent or `true`
    Any,
    /// `false`
    Forbidden,
    Schema(&'static Node),
}

impl Node {
    fn property(&self, key: &str) -> Option<&Node> {
        self.properties.iter().find(|(name, _)| *name == key).map(|(_, node)| node)
    }

    fn enumeration(&self) -> &'static [&'static str] {
        self.rare.map_or(&[], |r| r.enumeration)
    }

    fn required(&self) -> &'static [&'static str] {
        self.rare.map_or(&[], |r| r.required)
    }
}

include!(concat!(env!("OUT_DIR"), "/values_schema.rs"));

/// What a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One user source: a part of the values, where `null` means "remove the default".
    Source,
    /// The merged values, which must be complete.
    Merged,
}

/// Checks values against the chart's schema.
pub fn check(value: &Value, scope: Scope) -> Problems {
    let mut problems = Problems::default();
    check_node(&COMPILED, value, None, &mut String::new(), scope, &mut problems);
    problems
}

/// [`check`] of the merged values ([`Scope::Merged`]) where `user` gave something: what the user
/// left alone is the chart's defaults, which satisfy the schema (`defaults_satisfy_the_schema`),
/// so the problems are the same as checking everything.
pub fn check_merged(merged: &Value, user: &Value) -> Problems {
    let mut problems = Problems::default();
    check_node(&COMPILED, merged, Some(user), &mut String::new(), Scope::Merged, &mut problems);
    problems
}

/// `path` is the key path of `value`: extended in place for each child and cut back after it,
/// so no path is allocated for a value without a problem. `given`, when known, is what the user
/// gave at this path: a key of a map it does not have is a default, not checked again.
fn check_node(
    schema: &Node,
    value: &Value,
    given: Option<&Value>,
    path: &mut String,
    scope: Scope,
    out: &mut Problems,
) {
    if value.is_null() && scope == Scope::Source {
        return;
    }
    if let Some(expected) = schema.types {
        if !expected.iter().any(|t| one_type_matches(t, value)) {
            out.push(Problem::at(
                path.as_str(),
                format!("expected {}, got {}", describe_types(expected), describe_value(value)),
            ));
            return;
        }
    }
    let enumeration = schema.enumeration();
    if !enumeration.is_empty() && !value.as_str().is_some_and(|s| enumeration.contains(&s)) {
        let names: Vec<String> = enumeration.iter().map(|v| Value::from(*v).to_string()).collect();
        out.push(Problem::at(path.as_str(), format!("{} is not one of {}", describe_value(value), names.join(", "))));
    }
    check_bounds(schema, value, path, out);
    match value {
        Value::Object(map) => check_object(schema, map, given.and_then(Value::as_object), path, scope, out),
        Value::Array(items) => {
            if let Some(item_schema) = schema.items {
                for (i, item) in items.iter().enumerate() {
                    let mut item_path = index(path, i);
                    check_node(item_schema, item, None, &mut item_path, scope, out);
                }
            }
        }
        _ => {}
    }
}

fn check_object(
    schema: &Node,
    map: &serde_json::Map<String, Value>,
    given: Option<&serde_json::Map<String, Value>>,
    path: &mut String,
    scope: Scope,
    out: &mut Problems,
) {
    if scope == Scope::Merged {
        for key in schema.required() {
            if !map.contains_key(*key) {
                out.push(Problem::at(join(path, key), "is required"));
            }
        }
    }
    for (key, value) in map {
        let given = match given.map(|given| given.get(key)) {
            Some(None) => continue,
            Some(Some(given)) => Some(given),
            None => None,
        };
        let sub = match schema.property(key) {
            Some(sub) => sub,
            None => match &schema.additional {
                Additional::Forbidden => {
                    let known: Vec<&str> = schema.properties.iter().map(|(name, _)| *name).collect();
                    out.push(Problem::at(join(path, key), unknown_key_message(path, key, &known)));
                    continue;
                }
                Additional::Schema(sub) => sub,
                Additional::Any => continue,
            },
        };
        let length = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        check_node(sub, value, given, path, scope, out);
        path.truncate(length);
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

fn check_bounds(schema: &Node, value: &Value, path: &str, out: &mut Problems) {
    let (Some(n), Some(rare)) = (value.as_f64(), schema.rare) else { return };
    if let Some(min) = rare.minimum {
        if n < min {
            out.push(Problem::at(path, format!("{value} is less than the minimum {min}")));
        }
    }
    if let Some(max) = rare.maximum {
        if n > max {
            out.push(Problem::at(path, format!("{value} is more than the maximum {max}")));
        }
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

fn describe_types(expected: &[&str]) -> String {
    let named: Vec<String> = expected.iter().map(|t| article(t)).collect();
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
        check(&value, Scope::Source).iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn defaults_satisfy_the_schema() {
        let defaults = crate::yaml::parse(crate::values::DEFAULTS_YAML).unwrap();
        let problems = check(&defaults, Scope::Merged);
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
