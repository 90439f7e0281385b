//! The one door to YAML. serde_yaml is deprecated upstream; keeping it behind this module means
//! replacing it touches nothing else. JSON trees print through a printer of our own ([`print`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::problem::Problem;

/// Parses one YAML document into a JSON tree. An empty document is an empty map, as in helm.
pub fn parse(text: &str) -> Result<Value, Problem> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value = serde_yaml::from_str(text).map_err(|err| {
        let place =
            err.location().map(|at| format!("line {}, column {}: ", at.line(), at.column())).unwrap_or_default();
        Problem::at("", format!("{place}not valid YAML: {}", strip_location(&err.to_string())))
    })?;
    Ok(match value {
        Value::Null => Value::Object(Default::default()),
        other => other,
    })
}

/// Parses a stream of YAML documents (`---` between them) into JSON trees; empty documents are
/// left out, as helm leaves them out of a manifest.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, Problem> {
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|err| {
            let place =
                err.location().map(|at| format!("line {}, column {}: ", at.line(), at.column())).unwrap_or_default();
            Problem::at("", format!("{place}not valid YAML: {}", strip_location(&err.to_string())))
        })?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}

fn strip_location(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// Prints one object as a YAML document (without the `---` separator).
pub fn to_string<T: Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).expect("a JSON-compatible value always serializes to YAML")
}

/// Prints a JSON tree as a YAML document (without the `---` separator), byte for byte as
/// [`to_string`] prints it: through [`printer`] when every scalar is one it knows how serde_yaml
/// writes, else through serde_yaml itself.
pub fn print(value: &Value) -> String {
    printer::print(value).unwrap_or_else(|| to_string(value))
}

mod printer;
