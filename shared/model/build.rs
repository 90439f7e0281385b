// Start-up work done once, here rather than on every render: charts/values.yaml becomes static
// Rust data (a tree built from it without parsing anything), and values.schema.json becomes static Rust data
// of the keywords values::schema checks (nothing to parse at all: parsing the schema was a fifth
// of a render's instructions, most of it hashing the keys of its maps).
// The option table of `mlflow server` is split in two: its options (read by every check) and the
// option tables of the servers MLflow starts (read only for a `*_opts` string), so that the first
// does not tokenize the second. include_str! of all: rebuild when they change.
use std::path::Path;

use serde_json::{Map, Value};

/// What values::schema understands; the rest (description, title, $schema) is for people.
const KEYWORDS: [&str; 8] =
    ["type", "properties", "additionalProperties", "items", "enum", "minimum", "maximum", "required"];

fn main() {
    println!("cargo:rerun-if-changed=../../charts/values.yaml");
    println!("cargo:rerun-if-changed=../../charts/values.schema.json");
    println!("cargo:rerun-if-changed=data/mlflow-server-options.json");
    let defaults: Value = serde_yaml::from_str(&read("values.yaml")).expect("charts/values.yaml is valid YAML");
    write("values_defaults.rs", &format!("static DEFAULTS: Literal = {};\n", literal_code(&defaults)));
    let schema: Value =
        serde_json::from_str(&read("values.schema.json")).expect("charts/values.schema.json is valid JSON");
    let checked = checked_keywords(&schema);
    write("values.schema.json", &serde_json::to_string(&checked).expect("schema serializes"));
    write("values_schema.rs", &format!("static COMPILED: Node = {};\n", node_code(&checked)));
    split_server_options();
}

/// data/mlflow-server-options.json as `server-options.json` (all but `servers`) and
/// `server-servers.json` (`servers` alone), and its options as static Rust data
/// (`server_options.rs`: read by every check, so parsed by none).
fn split_server_options() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mlflow-server-options.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let Value::Object(mut table) = serde_json::from_str(&text).expect("data/mlflow-server-options.json is valid JSON")
    else {
        panic!("data/mlflow-server-options.json is not an object")
    };
    let servers = table.remove("servers").expect("data/mlflow-server-options.json has servers");
    write("server-options.json", &serde_json::to_string(&table).expect("options serialize"));
    let options = table["options"].as_array().expect("data/mlflow-server-options.json has a list of options");
    let options: Vec<String> = options.iter().map(option_code).collect();
    write("server_options.rs", &format!("static OPTIONS: &[ServerOption] = &[{}];\n", options.join(", ")));
    write("server-servers.json", &serde_json::to_string(&servers).expect("servers serialize"));
}

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../charts").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

fn write(name: &str, text: &str) {
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(name);
    std::fs::write(out, text).expect("OUT_DIR is writable");
}

/// A value of charts/values.yaml as a `values::Literal` expression.
fn literal_code(value: &Value) -> String {
    match value {
        Value::Null => "Literal::Null".to_string(),
        Value::Bool(b) => format!("Literal::Bool({b})"),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => format!("Literal::Unsigned({u})"),
            (None, Some(i), _) => format!("Literal::Signed({i})"),
            (None, None, Some(f)) => format!("Literal::Float({f:?}_f64)"),
            _ => panic!("charts/values.yaml: the number {n} is none of u64, i64 and f64"),
        },
        Value::String(s) => format!("Literal::Text({s:?})"),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(literal_code).collect();
            format!("Literal::List(&[{}])", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map.iter().map(|(key, v)| format!("({key:?}, {})", literal_code(v))).collect();
            format!("Literal::Map(&[{}])", entries.join(", "))
        }
    }
}

/// One schema node with only [`KEYWORDS`], its subschemas likewise.
fn checked_keywords(node: &Value) -> Value {
    let Value::Object(map) = node else { return node.clone() };
    let mut kept = Map::new();
    for (key, value) in map.iter().filter(|(key, _)| KEYWORDS.contains(&key.as_str())) {
        let value = match (key.as_str(), value) {
            ("properties", Value::Object(properties)) => {
                Value::Object(properties.iter().map(|(name, sub)| (name.clone(), checked_keywords(sub))).collect())
            }
            ("additionalProperties" | "items", sub) => checked_keywords(sub),
            (_, other) => other.clone(),
        };
        kept.insert(key.clone(), value);
    }
    Value::Object(kept)
}

/// One schema node as a `values::schema::Node` expression (build.rs emits `static COMPILED`).
/// Only what the schema uses is understood; anything else stops the build rather than being
/// checked differently than before.
fn node_code(node: &Value) -> String {
    let Value::Object(map) = node else { panic!("values.schema.json: a subschema that is not an object: {node}") };
    let types = match map.get("type") {
        None => "None".to_string(),
        Some(Value::String(t)) => format!("Some(&[{t:?}])"),
        Some(Value::Array(ts)) => {
            let names: Vec<String> = ts
                .iter()
                .map(|t| format!("{:?}", t.as_str().expect("values.schema.json: type names are strings")))
                .collect();
            format!("Some(&[{}])", names.join(", "))
        }
        Some(other) => panic!("values.schema.json: type {other} is neither a string nor a list"),
    };
    let properties: Vec<String> = match map.get("properties") {
        None => Vec::new(),
        Some(Value::Object(props)) => {
            props.iter().map(|(name, sub)| format!("({name:?}, {})", node_code(sub))).collect()
        }
        Some(other) => panic!("values.schema.json: properties {other} is not a map"),
    };
    let additional = match map.get("additionalProperties") {
        None | Some(Value::Bool(true)) => "Additional::Any".to_string(),
        Some(Value::Bool(false)) => "Additional::Forbidden".to_string(),
        Some(sub @ Value::Object(_)) => format!("Additional::Schema(&{})", node_code(sub)),
        Some(other) => panic!("values.schema.json: additionalProperties {other} is neither a boolean nor a schema"),
    };
    let items = match map.get("items") {
        None => "None".to_string(),
        Some(sub) => format!("Some(&{})", node_code(sub)),
    };
    let strings = |key: &str| -> Vec<String> {
        let Some(list) = map.get(key) else { return Vec::new() };
        let list = list.as_array().unwrap_or_else(|| panic!("values.schema.json: {key} is not a list"));
        list.iter()
            .map(|v| {
                format!(
                    "{:?}",
                    v.as_str().unwrap_or_else(|| panic!("values.schema.json: {key} holds {v}, not a string"))
                )
            })
            .collect()
    };
    let bound = |key: &str| match map.get(key) {
        None => "None".to_string(),
        Some(n) => format!(
            "Some({:?}_f64)",
            n.as_f64().unwrap_or_else(|| panic!("values.schema.json: {key} {n} is not a number"))
        ),
    };
    // the keywords few nodes use, behind one reference (the multi-call binary's size is capped)
    let (enumeration, required) = (strings("enum"), strings("required"));
    let (minimum, maximum) = (bound("minimum"), bound("maximum"));
    let rare = match enumeration.is_empty() && required.is_empty() && minimum == "None" && maximum == "None" {
        true => "None".to_string(),
        false => format!(
            "Some(&Rare {{ enumeration: &[{}], minimum: {minimum}, maximum: {maximum}, required: &[{}] }})",
            enumeration.join(", "),
            required.join(", ")
        ),
    };
    format!(
        "Node {{ types: {types}, properties: &[{}], additional: {additional}, items: {items}, rare: {rare} }}",
        properties.join(", "),
    )
}

/// One option of the option table as a `server_options::ServerOption` expression.
fn option_code(option: &Value) -> String {
    let text =
        |key: &str| option.get(key).map(|v| v.as_str().unwrap_or_else(|| panic!("option {key} {v} is not a string")));
    let texts = |key: &str| -> String {
        let list = option.get(key).map(|v| v.as_array().unwrap_or_else(|| panic!("option {key} {v} is not a list")));
        let quoted: Vec<String> = list
            .into_iter()
            .flatten()
            .map(|v| format!("{:?}", v.as_str().unwrap_or_else(|| panic!("option {key} holds {v}, not a string"))))
            .collect();
        format!("&[{}]", quoted.join(", "))
    };
    let number = |key: &str| match option.get(key) {
        None | Some(Value::Null) => "None".to_string(),
        Some(n) => format!("Some({:?}_f64)", n.as_f64().unwrap_or_else(|| panic!("option {key} {n} is not a number"))),
    };
    format!(
        "ServerOption {{ kind: {:?}, names: {}, type_: {:?}, choices: {}, min: {}, max: {}, envvar: {}, rules: {} }}",
        text("kind").expect("every option has a kind"),
        texts("names"),
        text("type").unwrap_or_default(),
        texts("choices"),
        number("min"),
        number("max"),
        match option.get("envvar") {
            None | Some(Value::Null) => "None".to_string(),
            Some(v) => format!("Some({:?})", v.as_str().expect("envvar is a string")),
        },
        texts("rules"),
    )
}
