//! Printing objects as kubectl does: a YAML stream, or a JSON `List`.

use clap::ValueEnum;
use serde_json::{json, Value};

use crate::render::Object;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

pub fn objects(objects: &[Object], format: Format) -> String {
    let items: Vec<Value> = objects.iter().map(Object::to_json).collect();
    match format {
        Format::Yaml => items.iter().map(|item| format!("---\n{}", crate::yaml::to_string(item))).collect(),
        Format::Json => {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            format!("{}\n", serde_json::to_string_pretty(&list).expect("JSON serializes"))
        }
    }
}
