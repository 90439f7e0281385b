//! `charts/values.schema.json` against the Rust values model ([`Values`]): every key of the schema
//! is a field the model reads, every field of the model has a key in the schema, and every type
//! the schema lets through at a key is one the model's field reads. A test of the model crate
//! (`cargo test --workspace --lib schema_agreement`) fails with every difference, key by key.
//!
//! The model's keys are those of `Values::default()` serialized: a struct is a map of its fields,
//! anything else (a Kubernetes type, a map, a list, an optional value) one leaf. The schema's are
//! its `properties`; where it describes the keys of what the model reads whole, each is probed. Types are probed: a value of each type the schema allows at a leaf (for a
//! number, the schema's maximum), given as the user's values, must resolve (merged over the
//! defaults, deserialized) into the model.

use serde_json::{json, Value};

use super::model::Values;
use super::schema::SCHEMA_JSON;

/// Every difference between the schema and the model, one line each, `<key.path>: <what>`.
pub fn differences() -> Vec<String> {
    let schema: Value = serde_json::from_str(SCHEMA_JSON).expect("charts/values.schema.json is JSON");
    let model = serde_json::to_value(Values::default()).expect("the model serializes");
    let mut out = Vec::new();
    compare_keys(&schema, &model, &mut Vec::new(), &mut out);
    out
}

/// The keys of a struct of the model (a map with fields), `None` for a leaf.
fn model_keys(node: &Value) -> Option<Vec<&String>> {
    node.as_object().filter(|map| !map.is_empty()).map(|map| map.keys().collect())
}

fn schema_keys(node: &Value) -> Option<Vec<&String>> {
    node.get("properties").and_then(Value::as_object).map(|map| map.keys().collect())
}

fn compare_keys(schema: &Value, model: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
    let at = if path.is_empty() { "(the top)".to_string() } else { path.join(".") };
    match (schema_keys(schema), model_keys(model)) {
        (Some(in_schema), Some(in_model)) => {
            for key in &in_schema {
                if !in_model.contains(key) {
                    out.push(format!("{}: in the schema, but no field of the model reads it", join(path, key)));
                }
            }
            for key in &in_model {
                if !in_schema.contains(key) {
                    out.push(format!("{}: a field of the model, but not in the schema", join(path, key)));
                }
            }
            for key in in_schema.iter().filter(|k| in_model.contains(k)) {
                path.push(key.to_string());
                compare_keys(&schema["properties"][key.as_str()], &model[key.as_str()], path, out);
                path.pop();
            }
        }
        // A value the model reads whole (a Kubernetes type, such as autoscaling.behavior): each key
        // the schema describes in it is probed as a leaf, so a key that type does not read is found.
        (Some(in_schema), None) => {
            for key in &in_schema {
                path.push(key.to_string());
                compare_keys(&schema["properties"][key.as_str()], &Value::Null, path, out);
                path.pop();
            }
        }
        (None, Some(in_model)) => {
            out.push(format!("{at}: the model reads the keys {} of it, the schema describes none", names(&in_model)))
        }
        (None, None) => compare_types(schema, path, &at, out),
    }
}

fn join(path: &[String], key: &str) -> String {
    path.iter().map(String::as_str).chain([key]).collect::<Vec<_>>().join(".")
}

fn names(keys: &[&String]) -> String {
    keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}

/// A value of each type the schema allows at the leaf (one of its `enum` if it has one), given as
/// the user's values, must resolve into the model.
fn compare_types(schema: &Value, path: &[String], at: &str, out: &mut Vec<String>) {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    for t in types {
        let Some(sample) = sample(schema, t) else {
            out.push(format!("{at}: the schema's type {t:?} is not one the check knows"));
            continue;
        };
        let mut user = sample;
        for key in path.iter().rev() {
            user = json!({ key.as_str(): user });
        }
        if let Err(problems) = super::resolve(&user) {
            out.push(format!("{at}: the schema allows {t}, the model cannot read it ({problems})"));
        }
    }
}

/// A value of type `t` the schema node allows: its first `enum` value of that type, else any (for
/// a number, its maximum).
fn sample(schema: &Value, t: &str) -> Option<Value> {
    let of_type = |v: &Value| match t {
        "string" => v.is_string(),
        "integer" | "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => false,
    };
    if let Some(Value::Array(choices)) = schema.get("enum") {
        return choices.iter().find(|v| of_type(v)).cloned().or(Some(Value::Null));
    }
    Some(match t {
        "string" => json!("x"),
        // the largest the schema lets through: a field too narrow for it is found
        "integer" | "number" => json!(schema.get("maximum").and_then(Value::as_i64).unwrap_or(1 << 53)),
        "boolean" => json!(true),
        "array" => json!([]),
        "object" => json!({}),
        "null" => Value::Null,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_and_the_model_hold_the_same_keys_and_types() {
        let found = differences();
        assert!(
            found.is_empty(),
            "charts/values.schema.json and the values model (shared/model/src/values/model.rs) differ; \
             a value goes into both (and values.yaml, both renderers, docs/objects.md, README):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn a_key_on_one_side_only_is_named() {
        let schema = json!({"properties": {"a": {}, "only_schema": {}}});
        let model = json!({"a": "", "only_model": false});
        let mut out = Vec::new();
        compare_keys(&schema, &model, &mut Vec::new(), &mut out);
        assert_eq!(
            out,
            vec![
                "only_schema: in the schema, but no field of the model reads it",
                "only_model: a field of the model, but not in the schema",
            ]
        );
    }

    #[test]
    fn a_key_the_model_reads_whole_is_probed() {
        let schema = json!({"properties": {"autoscaling": {"properties": {"behavior": {"properties": {
            "scaleDown": {"type": "object"},
            "scaleDwn": {"type": "object"}
        }}}}}});
        let model = json!({"autoscaling": {"behavior": null}});
        let mut out = Vec::new();
        compare_keys(
            &schema["properties"]["autoscaling"],
            &model["autoscaling"],
            &mut vec!["autoscaling".into()],
            &mut out,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("autoscaling.behavior.scaleDwn: the schema allows object"), "{out:?}");
    }

    #[test]
    fn a_type_the_model_cannot_read_is_named() {
        let mut out = Vec::new();
        let path = ["replicaCount".to_string()];
        compare_types(&json!({"type": ["integer", "string"], "maximum": 3}), &path, "replicaCount", &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("replicaCount: the schema allows string, the model cannot read it"), "{out:?}");
    }
}
