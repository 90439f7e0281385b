//! Values as the tests give them: the files of `tests/values/`, `--set` expressions through the
//! model (what it refuses), and YAML streams read back.

use std::path::{Path, PathBuf};

use kubectl_mlflow_model::release::{prepare, Options};
use kubectl_mlflow_model::values::SetKind;
use kubectl_mlflow_model::Source;
use serde_json::Value;

use crate::repo_root;

/// `tests/values/*.yaml`, sorted: a values file of every documented snippet.
pub fn values_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("tests/values"))
        .expect("tests/values")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "tests/values should cover every feature, found {}", files.len());
    files
}

/// The chart's production example, `charts/example-mlflow-charts.yaml`.
pub fn example_file() -> PathBuf {
    repo_root().join("charts/example-mlflow-charts.yaml")
}

/// Every values file the chart must render: [`values_files`] and the production example.
pub fn values_files_and_example() -> Vec<PathBuf> {
    let mut files = values_files();
    files.push(example_file());
    files
}

/// `path` relative to the repository root, for messages.
pub fn repo_relative(path: &Path) -> String {
    path.strip_prefix(repo_root()).unwrap_or(path).display().to_string()
}

/// `--set` expressions as sources; `s:` before one makes it a `--set-string`.
pub fn sets(exprs: &[&str]) -> Vec<Source> {
    exprs
        .iter()
        .map(|set| match set.strip_prefix("s:") {
            Some(expr) => Source::Set(SetKind::String, expr.to_string()),
            None => Source::Set(SetKind::Typed, set.to_string()),
        })
        .collect()
}

/// The problems the model finds in `exprs` (see [`sets`]) for release `mlflow` in namespace
/// `mlflow`, one line each; none when it renders.
pub fn problems(exprs: &[&str], quick_start: bool) -> Vec<String> {
    match prepare("mlflow", "mlflow", &sets(exprs), &mut std::io::empty(), &Options { quick_start }) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(|p| p.to_string()).collect(),
    }
}

/// The objects of a multi-document YAML stream, empty documents dropped.
pub fn yaml_objects(yaml: &str) -> Vec<Value> {
    let mut docs = vec![String::new()];
    for line in yaml.lines() {
        if line == "---" || line.starts_with("--- ") {
            docs.push(String::new());
        } else {
            let doc = docs.last_mut().expect("a document");
            doc.push_str(line);
            doc.push('\n');
        }
    }
    docs.iter()
        .map(|doc| serde_yaml::from_str::<Value>(doc).unwrap_or_else(|e| panic!("not YAML ({e}):\n{doc}")))
        .filter(|v| !v.is_null())
        .collect()
}

/// A values file holding `yaml`, in a temporary directory (deleted with the returned value).
pub fn temp_values_file(yaml: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().expect("temp file");
    std::io::Write::write_all(&mut file, yaml.as_bytes()).expect("write values");
    file
}

/// Writes `text` to `dir/name`; its path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path.display().to_string()
}
