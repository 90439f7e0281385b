// Start-up work done once, here rather than on every render: charts/values.yaml becomes JSON
// (which parses several times faster than YAML), and values.schema.json keeps only the keywords
// values::schema checks (no descriptions: a third of the size to parse).
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
    let json = serde_json::to_string(&defaults).expect("values serialize");
    // JSON must give back exactly the tree YAML gave (a float could lose precision).
    assert_eq!(
        serde_json::from_str::<Value>(&json).expect("JSON parses"),
        defaults,
        "charts/values.yaml changes through JSON"
    );
    write("values.json", &json);
    let schema: Value =
        serde_json::from_str(&read("values.schema.json")).expect("charts/values.schema.json is valid JSON");
    write("values.schema.json", &serde_json::to_string(&checked_keywords(&schema)).expect("schema serializes"));
    split_server_options();
}

/// data/mlflow-server-options.json as `server-options.json` (all but `servers`) and
/// `server-servers.json` (`servers` alone).
fn split_server_options() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mlflow-server-options.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let Value::Object(mut table) = serde_json::from_str(&text).expect("data/mlflow-server-options.json is valid JSON")
    else {
        panic!("data/mlflow-server-options.json is not an object")
    };
    let servers = table.remove("servers").expect("data/mlflow-server-options.json has servers");
    write("server-options.json", &serde_json::to_string(&table).expect("options serialize"));
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
