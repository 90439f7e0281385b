//! Parity of the two renderers of one values model: for every values file, the objects of
//! `helm template mlflow ./charts -n mlflow -f FILE` (helm 3.17 and helm 4.1) equal the objects of
//! `kubectl-mlflow-install mlflow -n mlflow -f FILE --dry-run -o json`.
//!
//! Objects are compared as parsed values, keyed by (apiVersion, kind, namespace, name), in any
//! order; lists inside an object are compared in order. Only the labels
//! `app.kubernetes.io/managed-by` and `helm.sh/chart` are dropped before comparing. The negative
//! case proves that a one-sided change of the chart is caught, at the path that changed.
//!
//! `helm test` pods (`helm.sh/hook: test`, charts/templates/tests/) are helm-only: the native
//! engine has no `helm test` (its install waits for the rollout and each pod instead), so they are
//! outside the native rendering. They are set aside by that annotation alone, and a test holds that
//! this sets aside exactly the chart's one test pod, and that the native side renders none.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::process::offline_plugin;
use kubectl_mlflow_test_support::repo_root;
use kubectl_mlflow_test_support::values::{repo_relative, values_files_and_example, yaml_objects};
use serde_json::Value;

/// Labels whose values legitimately differ between the chart and the native renderer.
const NORMALIZED_LABELS: [&str; 2] = ["app.kubernetes.io/managed-by", "helm.sh/chart"];

const HELMS: [(&str, Helm); 2] = [("helm 3.17", Helm::V3), ("helm 4.1", Helm::V4)];

/// The annotation of `helm test` hooks: helm-only objects.
fn is_helm_test(obj: &Value) -> bool {
    obj.pointer("/metadata/annotations/helm.sh~1hook").and_then(Value::as_str) == Some("test")
}

/// `helm template mlflow <chart> -n mlflow -f <file>`, without the helm-only `helm test` pods.
fn helm_render(helm: Helm, chart: &Path, file: &Path) -> Vec<Value> {
    helm_render_all(helm, chart, file).into_iter().filter(|o| !is_helm_test(o)).collect()
}

/// `helm template mlflow <chart> -n mlflow -f <file>`, every object.
fn helm_render_all(helm: Helm, chart: &Path, file: &Path) -> Vec<Value> {
    let run = helm.template_chart(chart, &["-f", &file.to_string_lossy()]);
    run.assert_success();
    yaml_objects(&run.stdout)
}

/// `kubectl-mlflow-install mlflow -n mlflow -f <file> --dry-run -o json`: a v1 List.
fn native_render(file: &Path) -> Vec<Value> {
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
struct Difference {
    /// `Kind namespace/name (apiVersion)`.
    object: String,
    /// JSON path inside the object, e.g. `spec.ports[0].name`; empty for a whole object.
    path: String,
    helm: Option<Value>,
    native: Option<Value>,
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
/// random source): on both sides it must be 24 characters (32 in base64), then it is compared as
/// the same placeholder.
fn normalize_generated(obj: &mut Value) {
    if obj["kind"] != "Secret" {
        return;
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
    if let Some(value) = obj.pointer_mut("/data/admin-password") {
        let length = value.as_str().map(str::len);
        assert_eq!(length, Some(32), "Secret {name}: the generated admin-password is {value}, not 24 characters");
        *value = Value::String("<generated>".into());
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
fn compare(helm: &[Value], native: &[Value]) -> Vec<Difference> {
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

fn report(diffs: &[(String, Difference)]) -> String {
    let mut text = String::new();
    for (context, diff) in diffs {
        text.push_str(&format!("  {context}: {diff}\n"));
    }
    text
}

#[test]
fn chart_and_native_renderer_agree_on_every_values_file() {
    let chart = repo_root().join("charts");
    let mut all = Vec::new();
    let mut compared = 0;
    for file in values_files_and_example() {
        let native = native_render(&file);
        for (label, helm) in HELMS {
            let rendered = helm_render(helm, &chart, &file);
            assert!(!rendered.is_empty(), "{label} rendered nothing for {}", repo_relative(&file));
            for diff in compare(&rendered, &native) {
                all.push((format!("{label}, {}", repo_relative(&file)), diff));
            }
            compared += 1;
        }
    }
    assert!(compared >= 26, "only {compared} renderings compared");
    assert!(all.is_empty(), "the chart and the native renderer differ ({} differences):\n{}", all.len(), report(&all));
}

/// Corners the files of tests/values leave out, as inline values files.
const EDGE_CASES: &[(&str, &str)] = &[
    (
        "every switch at once, with both literal and referenced store URIs",
        r#"
mlflow:
  backendStoreUri: "postgresql://db/mlflow"
  backendStoreUriFrom: {secretKeyRef: {name: mlflow-db-secret, key: uri}}
  registryStoreUri: "postgresql://db/registry"
  registryStoreUriFrom: {secretKeyRef: {name: registry, key: uri}}
serviceAccount: {create: false}
server:
  flag_options: ["--disable_security_middleware", "no_serve_artifacts"]
  value_options: {app_name: basic-auth, workers: "2", port: "5001", x_frame_options: true, gunicorn_opts: null, cors_allowed_origins: "a b"}
storage: {enabled: true, mountPath: /data/}
podSecurityContext: null
securityContext: {}
resources: {}
ingress:
  enabled: true
  hosts:
    - {host: a.example.com, paths: [{path: /, pathType: Exact}]}
    - {host: b.example.com, paths: []}
  tls: [{hosts: [a.example.com]}]
namespace_rbac: {extraRules: [{apiGroups: [""], resources: [pods], verbs: [get]}]}
cluster_rbac: {extraRules: [{apiGroups: [""], resources: [nodes], verbs: [get]}]}
networkPolicy: {enabled: true}
metrics: {enabled: true, path: /metrics}
serviceMonitor: {enabled: true, tlsConfig: {insecureSkipVerify: true}}
tls: {enabled: true}
garbageCollection:
  enabled: true
  schedule: "@daily"
  extraVolumes: [{name: ca, configMap: {name: ca}}]
  extraVolumeMounts: [{name: ca, mountPath: /ca}]
  resources: {}
imagePullSecrets: [{name: registry-creds}]
envFrom: [{configMapRef: {name: extra}}]
env: [{name: EXTRA, value: "1"}]
extraVolumes: [{name: db-ca, secret: {secretName: db-ca}}]
extraVolumeMounts: [{name: db-ca, mountPath: /etc/db-ca, readOnly: true}]
migrations: {resources: {requests: {cpu: 50m, memory: 256Mi}, limits: {cpu: 500m, memory: 512Mi}}}
"#,
    ),
    (
        "no probes, an existing ServiceAccount, a sub-path and another port",
        r#"
mlflow: {backendStoreUriFrom: {secretKeyRef: {name: mlflow-db-secret, key: uri}}, defaultArtifactRoot: "s3://b/p"}
probes: {liveness: {enabled: false}, readiness: {enabled: false}, startup: {enabled: false}}
serviceAccount: {create: false, name: other}
fullnameOverride: tracking
service: {type: NodePort}
server: {staticPrefix: /p, value_options: {port: 8080}}
podAnnotations: {example.com/a: b}
garbageCollection: {enabled: true, olderThan: "1.5h"}
"#,
    ),
    (
        "an explicit strategy, no replicas, a pinned tag",
        r#"
mlflow: {backendStoreUri: "sqlite:////mlflow/mlflow.db", artifactsDestination: "s3://b/a"}
storage: {enabled: true}
deploymentStrategy: {type: Recreate}
replicaCount: 0
image: {tag: latest-full}
"#,
    ),
    (
        "a Service port of its own, no rollout history, a budget in percent, a spread with an empty selector",
        r#"
mlflow: {backendStoreUriFrom: {secretKeyRef: {name: mlflow-db-secret, key: uri}}, artifactsDestination: "s3://b/a"}
replicaCount: 2
revisionHistoryLimit: 0
podDisruptionBudget: {maxUnavailable: "25%"}
service: {port: 8080}
server: {value_options: {port: 5001}}
ingress: {enabled: true}
networkPolicy: {enabled: true}
garbageCollection: {enabled: true}
topologySpreadConstraints: [{maxSkew: 2, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {}}]
"#,
    ),
    (
        "several replicas without a budget",
        r#"
mlflow: {backendStoreUriFrom: {secretKeyRef: {name: mlflow-db-secret, key: uri}}, artifactsDestination: "s3://b/a"}
replicaCount: 2
podDisruptionBudget: {enabled: false, minAvailable: 1}
priorityClassName: system-cluster-critical
migrations: {enabled: false}
"#,
    ),
    (
        "a MySQL store given as a literal URI, migrated under a long name",
        r#"
mlflow: {backendStoreUri: "mysql+pymysql://mlflow@db/mlflow", artifactsDestination: "s3://b/a"}
ingress: {enabled: true, hosts: [{host: a.example.com, paths: [{path: /, pathType: Prefix}]}]}
httpRoute:
  enabled: true
  parentRefs: [{name: gw}]
  hostnames: [b.example.com, a.example.com]
  matches: [{path: {type: Exact, value: /health}}, {headers: [{name: x-team, value: ml}]}]
service: {port: 443}
"#,
    ),
    (
        "External Secrets without the migration Job (no hooks), the default Secret name, an older apiVersion, a long full name",
        r#"
fullnameOverride: a-long-release-name-that-fills-up-all-sixty-three-characters-ab
externalSecrets:
  enabled: true
  apiVersion: external-secrets.io/v1beta1
  provider: {vault: {server: "https://vault.example.com:8200", path: secret, version: v2, auth: {kubernetes: {mountPath: kubernetes, role: mlflow}}}}
  refreshInterval: "0"
  data: [{secretKey: uri, remoteRef: {key: mlflow/db, property: uri}}]
mlflow:
  backendStoreUriFrom: {secretKeyRef: {name: a-long-release-name-that-fills-up-all-sixty-three-characters-ab, key: uri}}
  artifactsDestination: "s3://b/a"
migrations: {enabled: false}
"#,
    ),
    (
        "OpenShift: the restricted SCC assigns the ids",
        r#"
openshift: true
mlflow: {backendStoreUriFrom: {secretKeyRef: {name: mlflow-db-secret, key: uri}}}
storage: {enabled: true}
garbageCollection: {enabled: true}
"#,
    ),
    (
        "OpenShift with nothing left of the pod security context",
        r#"
openshift: true
podSecurityContext: {runAsUser: 1000, fsGroup: 1000}
mlflow: {backendStoreUri: "sqlite:////mlflow/mlflow.db"}
storage: {enabled: true}
fullnameOverride: a-long-release-name-that-fills-up-all-sixty-three-characters-ab
"#,
    ),
];

#[test]
fn chart_and_native_renderer_agree_on_edge_cases() {
    let chart = repo_root().join("charts");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut all = Vec::new();
    for (i, (what, yaml)) in EDGE_CASES.iter().enumerate() {
        let file = dir.path().join(format!("edge-{i}.yaml"));
        std::fs::write(&file, yaml).expect("write values");
        let native = native_render(&file);
        for (label, helm) in HELMS {
            for diff in compare(&helm_render(helm, &chart, &file), &native) {
                all.push((format!("{label}, {what}"), diff));
            }
        }
    }
    assert!(all.is_empty(), "the chart and the native renderer differ ({} differences):\n{}", all.len(), report(&all));
}

fn copy_dir(from: &Path, to: &Path) {
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

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read template");
    assert_eq!(text.matches(from).count(), 1, "{} should hold {from:?} once", file.display());
    std::fs::write(file, text.replace(from, to)).expect("write template");
}

/// A deliberate one-sided change of the chart (an env var renamed in the Deployment, the port of
/// the Service renamed) is reported at exactly those paths; reordering objects is not a change.
#[test]
fn a_one_sided_change_is_caught_at_its_path() {
    let root = repo_root();
    let file = root.join("tests/values/quickstart.yaml");
    let dir = tempfile::tempdir().expect("temp dir");
    let changed = dir.path().join("charts");
    copy_dir(&root.join("charts"), &changed);
    edit(
        &changed.join("templates/deployment.yaml"),
        "- name: MLFLOW_SERVER_ENABLE_JOB_EXECUTION",
        "- name: MLFLOW_SERVER_ENABLE_JOBS",
    );
    edit(&changed.join("templates/service.yaml"), "- name: {{ include \"mlflow.portName\" . }}", "- name: web");

    let env_path = "spec.template.spec.containers[0].env[3].name";
    for (label, helm) in HELMS {
        let original = helm_render(helm, &root.join("charts"), &file);
        let modified = helm_render(helm, &changed, &file);

        let mut reversed = original.clone();
        reversed.reverse();
        assert_eq!(compare(&original, &reversed), vec![], "{label}: object order must not matter");

        let diffs = compare(&modified, &original);
        let expected = vec![
            Difference {
                object: "Deployment mlflow/mlflow-mlflow (apps/v1)".into(),
                path: env_path.into(),
                helm: Some(Value::String("MLFLOW_SERVER_ENABLE_JOBS".into())),
                native: Some(Value::String("MLFLOW_SERVER_ENABLE_JOB_EXECUTION".into())),
            },
            Difference {
                object: "Service mlflow/mlflow-mlflow (v1)".into(),
                path: "spec.ports[0].name".into(),
                helm: Some(Value::String("web".into())),
                native: Some(Value::String("http".into())),
            },
        ];
        assert_eq!(
            diffs,
            expected,
            "{label}:\n{}",
            report(&diffs.iter().map(|d| (label.to_string(), d.clone())).collect::<Vec<_>>())
        );
    }

    // Against the native renderer itself: the changed chart differs at least at those paths.
    let native = native_render(&file);
    let diffs = compare(&helm_render(Helm::V4, &changed, &file), &native);
    for (object, path) in [
        ("Deployment mlflow/mlflow-mlflow (apps/v1)", env_path),
        ("Service mlflow/mlflow-mlflow (v1)", "spec.ports[0].name"),
    ] {
        assert!(
            diffs.iter().any(|d| d.object == object && d.path == path),
            "the changed chart is not caught at {object} {path}:\n{}",
            report(&diffs.iter().map(|d| ("helm 4.1".to_string(), d.clone())).collect::<Vec<_>>())
        );
    }
}

/// What parity sets aside is the chart's one `helm test` pod, for every values file and both helm
/// majors; the native renderer has no such pod (nor any object with a test hook).
#[test]
fn only_the_helm_test_pod_is_outside_the_native_rendering() {
    let chart = repo_root().join("charts");
    for file in values_files_and_example() {
        let native = native_render(&file);
        assert!(!native.iter().any(is_helm_test), "native rendering of {} has a helm test hook", repo_relative(&file));
        for (label, helm) in HELMS {
            let all = helm_render_all(helm, &chart, &file);
            let fullname = all
                .iter()
                .find(|o| o["kind"] == "Deployment")
                .and_then(|d| d["metadata"]["name"].as_str())
                .unwrap_or("")
                .to_string();
            let set_aside: Vec<Value> = all.into_iter().filter(is_helm_test).collect();
            let described: Vec<String> = set_aside
                .iter()
                .map(|o| {
                    format!("{}/{}", o["kind"].as_str().unwrap_or(""), o["metadata"]["name"].as_str().unwrap_or(""))
                })
                .collect();
            assert_eq!(described, vec![format!("Pod/{fullname}-test")], "{label}, {}", repo_relative(&file));
        }
    }
}
