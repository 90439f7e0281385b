//! The two renderers of one values model side by side: the objects of `helm template` (helm 3.17
//! and 4.1) and of the native renderer, and their comparison (what the parity tests,
//! chart_parity.rs and generative_parity.rs, share).
//!
//! Objects are compared as parsed values, keyed by (apiVersion, kind, namespace, name), in any
//! order; lists inside an object are compared in order. Only the labels
//! `app.kubernetes.io/managed-by` and `helm.sh/chart` are dropped before comparing, and a generated
//! admin password is compared by its length.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::process::offline_plugin;
use kubectl_mlflow_test_support::values::{repo_relative, yaml_objects};
use serde_json::Value;

/// Labels whose values legitimately differ between the chart and the native renderer.
const NORMALIZED_LABELS: [&str; 2] = ["app.kubernetes.io/managed-by", "helm.sh/chart"];

pub const HELMS: [(&str, Helm); 2] = [("helm 3.17", Helm::V3), ("helm 4.1", Helm::V4)];

/// The annotation of `helm test` hooks: helm-only objects.
pub fn is_helm_test(obj: &Value) -> bool {
    obj.pointer("/metadata/annotations/helm.sh~1hook").and_then(Value::as_str) == Some("test")
}

/// `helm template mlflow <chart> -n mlflow -f <file>`, without the helm-only `helm test` pods.
pub fn helm_render(helm: Helm, chart: &Path, file: &Path) -> Vec<Value> {
    helm_render_all(helm, chart, file).into_iter().filter(|o| !is_helm_test(o)).collect()
}

/// `helm template mlflow <chart> -n mlflow -f <file>`, every object.
pub fn helm_render_all(helm: Helm, chart: &Path, file: &Path) -> Vec<Value> {
    let run = helm.template_chart(chart, &["-f", &file.to_string_lossy()]);
    run.assert_success();
    yaml_objects(&run.stdout)
}

/// `kubectl-mlflow-install mlflow -n mlflow -f <file> --dry-run -o json`: a v1 List.
pub fn native_render(file: &Path) -> Vec<Value> {
    let out = offline_plugin("kubectl-mlflow-install")
        .args(["mlflow", "-n", "mlflow", "-f"])
        .arg(file)
        .args(["--dry-run", "-o", "json"])
        .output()
        .expect("run kubectl-mlflow-install");
    assert!(
        out.status.success(),
        "kubectl-mlflow-install mlflow -n mlflow -f {} --dry-run -o json failed:\n{}",
        repo_relative(file),
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("native output for {} is not JSON ({e}):\n{}", repo_relative(file), String::from_utf8_lossy(&out.stdout))
    });
    assert_eq!(list["kind"], "List", "native output for {} is not a List", repo_relative(file));
    list["items"].as_array().cloned().unwrap_or_else(|| panic!("native List for {} has no items", repo_relative(file)))
}

/// One difference between the two renderings.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// `Kind namespace/name (apiVersion)`.
    pub object: String,
    /// JSON path inside the object, e.g. `spec.ports[0].name`; empty for a whole object.
    pub path: String,
    pub helm: Option<Value>,
    pub native: Option<Value>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn show(v: &Option<Value>) -> String {
            match v {
                None => "(absent)".to_string(),
                Some(v) => {
                    let s = v.to_string();
                    if s.chars().count() > 300 {
                        format!("{}…", s.chars().take(300).collect::<String>())
                    } else {
                        s
                    }
                }
            }
        }
        let path = if self.path.is_empty() { "(whole object)" } else { &self.path };
        write!(f, "{}: {}\n      helm:   {}\n      native: {}", self.object, path, show(&self.helm), show(&self.native))
    }
}

type Key = (String, String, String, String);

fn key_of(obj: &Value) -> Key {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    (s(&obj["apiVersion"]), s(&obj["kind"]), s(&obj["metadata"]["namespace"]), s(&obj["metadata"]["name"]))
}

fn describe(key: &Key) -> String {
    let (api, kind, ns, name) = key;
    if ns.is_empty() {
        format!("{kind} {name} ({api})")
    } else {
        format!("{kind} {ns}/{name} ({api})")
    }
}

/// Drops the normalized labels from every `metadata.labels` (objects and pod templates alike).
fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(labels)) = map.get_mut("metadata").and_then(|m| m.get_mut("labels")) {
                for label in NORMALIZED_LABELS {
                    labels.remove(label);
                }
            }
            for v in map.values_mut() {
                normalize(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// A generated admin password is new on every rendering (helm's `randAlphaNum`, the native OS
/// random source): one of 24 characters (32 in base64) is compared as the same placeholder; any
/// other value is compared as it is (a difference when the other side generated one).
fn normalize_generated(obj: &mut Value) {
    if obj["kind"] != "Secret" {
        return;
    }
    if let Some(value) = obj.pointer_mut("/data/admin-password") {
        if value.as_str().map(str::len) == Some(32) {
            *value = Value::String("<generated 24 characters>".into());
        }
    }
}

fn index(objects: &[Value], side: &str, diffs: &mut Vec<Difference>) -> BTreeMap<Key, Value> {
    let mut map = BTreeMap::new();
    for obj in objects {
        let mut obj = obj.clone();
        normalize(&mut obj);
        normalize_generated(&mut obj);
        let key = key_of(&obj);
        if map.insert(key.clone(), obj).is_some() {
            diffs.push(Difference {
                object: describe(&key),
                path: format!("(rendered twice by {side})"),
                helm: None,
                native: None,
            });
        }
    }
    map
}

fn child_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_string())),
    }
}

fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn diff_values(object: &str, path: &str, helm: &Value, native: &Value, out: &mut Vec<Difference>) {
    match (helm, native) {
        (Value::Object(h), Value::Object(n)) => {
            let mut keys: Vec<&String> = h.keys().chain(n.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = child_path(path, k);
                match (h.get(k), n.get(k)) {
                    (Some(a), Some(b)) => diff_values(object, &p, a, b, out),
                    (a, b) => {
                        out.push(Difference { object: object.into(), path: p, helm: a.cloned(), native: b.cloned() })
                    }
                }
            }
        }
        (Value::Array(h), Value::Array(n)) => {
            for i in 0..h.len().max(n.len()) {
                let p = format!("{path}[{i}]");
                match (h.get(i), n.get(i)) {
                    (Some(a), Some(b)) => diff_values(object, &p, a, b, out),
                    (a, b) => {
                        out.push(Difference { object: object.into(), path: p, helm: a.cloned(), native: b.cloned() })
                    }
                }
            }
        }
        (a, b) if same_scalar(a, b) => {}
        (a, b) => out.push(Difference {
            object: object.into(),
            path: path.to_string(),
            helm: Some(a.clone()),
            native: Some(b.clone()),
        }),
    }
}

/// Every difference between two renderings: objects present on one side only, and every JSON
/// path at which two objects with the same key differ.
pub fn compare(helm: &[Value], native: &[Value]) -> Vec<Difference> {
    let mut diffs = Vec::new();
    let h = index(helm, "helm", &mut diffs);
    let n = index(native, "the native renderer", &mut diffs);
    let mut keys: Vec<&Key> = h.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let object = describe(key);
        match (h.get(key), n.get(key)) {
            (Some(a), Some(b)) => diff_values(&object, "", a, b, &mut diffs),
            (a, b) => diffs.push(Difference {
                object,
                path: String::new(),
                helm: a.map(|_| Value::String("rendered".into())),
                native: b.map(|_| Value::String("rendered".into())),
            }),
        }
    }
    diffs
}

pub fn report(diffs: &[(String, Difference)]) -> String {
    let mut text = String::new();
    for (context, diff) in diffs {
        text.push_str(&format!("  {context}: {diff}\n"));
    }
    text
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

pub fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read template");
    assert_eq!(text.matches(from).count(), 1, "{} should hold {from:?} once", file.display());
    std::fs::write(file, text.replace(from, to)).expect("write template");
}
