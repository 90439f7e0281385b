//! Printing objects as kubectl does: a YAML stream, or a JSON `List` (one object: itself).

use clap::ValueEnum;
use serde::Serialize;
use serde_json::json;

use crate::render::Object;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

/// Rendered objects, as `--dry-run -o yaml|json` prints them.
pub fn objects(objects: &[Object], format: Format) -> String {
    match format {
        Format::Yaml => objects.iter().map(|o| yaml_document(&o.to_json())).collect(),
        Format::Json => json_text(&json!({"apiVersion": "v1", "kind": "List", "items": objects})),
    }
}

/// One object (a gc Job), as `kubectl get -o yaml|json` prints one.
pub fn object<T: Serialize>(object: &T, format: Format) -> String {
    // Through a Value for both formats: each type's Serialize is compiled for one serializer only.
    let value = serde_json::to_value(object).expect("objects serialize");
    match format {
        Format::Yaml => yaml_document(&value),
        Format::Json => json_text(&value),
    }
}

fn yaml_document(object: &serde_json::Value) -> String {
    format!("---\n{}", crate::yaml::print(object))
}

fn json_text(value: &serde_json::Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(value).expect("objects serialize"))
}
