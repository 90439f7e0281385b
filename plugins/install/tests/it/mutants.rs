//! The mutants of the randomized tests: value sets made by mutating a values file, 1 to 3 keys
//! each, drawn from `charts/values.schema.json`'s leaves and set to random and boundary values,
//! wrong types, or Kubernetes fragments good and bad. One generator for the property test (our
//! verdict against the API server's) and the generative parity test (the chart's verdict against
//! the model's): both draw the same mutants from the same seed.
//!
//! Seeded (`KMLF_PROPERTY_SEED`: unset for a test's fixed seed, a number to replay, `random` to
//! explore); `KMLF_PROPERTY_CASES` sets how many mutants each values file gets.

use std::path::Path;

use kubectl_mlflow_test_support::random::Rng;
use kubectl_mlflow_test_support::repo_root;
use serde_json::{json, Value};

/// The seed of a run without `KMLF_PROPERTY_SEED` (the property test explored it clean with 150
/// mutants per file).
pub const FIXED_SEED: u64 = 1_795_734_303_053_498_825;

/// Draws mutants of values files.
pub struct Mutator {
    /// Every leaf key of the schema, with its schema node.
    keys: Vec<(Vec<String>, Value)>,
}

impl Mutator {
    /// A generator over the leaves of `charts/values.schema.json`.
    pub fn from_chart_schema() -> Mutator {
        let text = std::fs::read_to_string(repo_root().join("charts/values.schema.json")).expect("read the schema");
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        let mut keys = Vec::new();
        leaves(&schema, Vec::new(), &mut keys);
        Mutator { keys }
    }

    /// `base` with 1 to 3 random keys set to random values.
    pub fn mutate(&self, base: &Value, rng: &mut Rng) -> Value {
        let mut mutant = base.clone();
        for _ in 0..=rng.below(3) {
            let (path, node) = rng.pick(&self.keys);
            let value = random_value(&path.join("."), node, rng);
            set(&mut mutant, path, value);
        }
        mutant
    }
}

/// A values file as the base of mutants (a file that is not a map counts as empty).
pub fn base_values(file: &Path) -> Value {
    let base: Value = serde_yaml::from_str(&std::fs::read_to_string(file).expect("read values file")).expect("YAML");
    if base.is_object() {
        base
    } else {
        json!({})
    }
}

/// Mutants per values file: `KMLF_PROPERTY_CASES`, else `default`.
pub fn cases_per_file(default: usize) -> usize {
    std::env::var("KMLF_PROPERTY_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Every leaf key of the schema with its schema node.
fn leaves(node: &Value, path: Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match node.get("properties").and_then(Value::as_object) {
        Some(props) => {
            for (key, child) in props {
                let mut p = path.clone();
                p.push(key.clone());
                leaves(child, p, out);
            }
        }
        None if !path.is_empty() => out.push((path, node.clone())),
        None => {}
    }
}

const STRINGS: [&str; 16] = [
    "",
    "lots",
    "Bad_Name",
    "/tmp",
    "rel/path",
    "10Gi",
    "-1Gi",
    "0",
    "mlflow",
    "a b",
    "x.example.com",
    "/mlflow",
    "500m",
    "1e3",
    "http",
    "*",
];
const INTEGERS: [i64; 9] = [-1, 0, 1, 2, 3, 65535, 65536, 2147483648, 10001];

/// Kubernetes fragments for the keys that take them, good and bad.
fn fragment(key: &str, rng: &mut Rng) -> Value {
    let pool: Vec<Value> = match key {
        "env" => vec![
            json!([{"name": "A", "value": "1"}]),
            json!([{"value": "no name"}]),
            json!([{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
            json!([{"name": "1BAD", "value": "x"}]),
            json!([{"name": "S", "valueFrom": {"secretKeyRef": {"name": "", "key": "k"}}}]),
            json!([{"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
            json!([{"name": "S", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]),
        ],
        "envFrom" => vec![
            json!([{"secretRef": {"name": "s"}}]),
            json!([{"prefix": "X_"}]),
            json!([{"configMapRef": {"name": "Bad_Name"}}]),
        ],
        "extraVolumes" | "garbageCollection.extraVolumes" => vec![
            json!([{"name": "cache", "emptyDir": {}}]),
            json!([{"name": "cache"}]),
            json!([{"name": "tmp", "emptyDir": {}}]),
            json!([{"name": "Cache", "emptyDir": {}}]),
            json!([{"name": "cache", "emptyDir": {"sizeLimit": "lots"}}]),
            json!([{"name": "cfg", "secret": {"secretName": "s", "defaultMode": 1000}}]),
        ],
        "extraVolumeMounts" | "garbageCollection.extraVolumeMounts" => vec![
            json!([{"name": "cache", "mountPath": "/cache"}]),
            json!([{"name": "tmp", "mountPath": "/tmp"}]),
            json!([{"name": "tmp", "mountPath": "/tmp2"}]),
            json!([{"name": "tmp", "mountPath": "relative"}]),
            json!([{"name": "tmp", "mountPath": "/x", "subPath": "../up"}]),
        ],
        "extraContainers" | "extraInitContainers" => vec![
            json!([{"name": "side", "image": "busybox"}]),
            json!([{"name": "side"}]),
            json!([{"name": "mlflow", "image": "busybox"}]),
            json!([{"name": "side", "image": "busybox", "ports": [{"containerPort": 70000}]}]),
            json!([{"name": "side", "image": "busybox", "imagePullPolicy": "Sometimes"}]),
            json!([{"name": "Side", "image": "busybox"}]),
        ],
        "tolerations" => vec![
            json!([{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}]),
            json!([{"operator": "Exists"}]),
            json!([{"key": "k", "operator": "Maybe"}]),
            json!([{"key": "k", "operator": "Exists", "value": "v"}]),
            json!([{"key": "k", "effect": "NoRun"}]),
            json!([{"value": "v"}]),
        ],
        "imagePullSecrets" => vec![json!([{"name": "regcred"}]), json!([{"name": ""}])],
        "resources" | "garbageCollection.resources" => vec![
            json!({"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}),
            json!({"limits": {"memory": "lots"}}),
            json!({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
            json!({"requests": {"memory": "-1Gi"}}),
            json!({"limits": {"gpu": "1"}}),
        ],
        "securityContext" => vec![
            json!({"runAsUser": 10001, "runAsNonRoot": true}),
            json!({"runAsUser": -1}),
            json!({"privileged": true, "allowPrivilegeEscalation": false}),
            json!({"procMount": "Raw"}),
            json!({"seccompProfile": {"type": "Custom"}}),
        ],
        "podSecurityContext" => {
            vec![json!({"fsGroup": 10001}), json!({"runAsGroup": -5}), json!({"fsGroupChangePolicy": "Never"})]
        }
        "deploymentStrategy" => vec![
            json!({"type": "Recreate"}),
            json!({"type": "Rolling"}),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
            json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}),
        ],
        "affinity" => vec![
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}),
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "Within"}]}]}}}),
            json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}]}}),
        ],
        "nodeSelector"
        | "podLabels"
        | "podAnnotations"
        | "service.annotations"
        | "serviceAccount.annotations"
        | "ingress.annotations" => {
            vec![json!({"tier": "a"}), json!({"bad key": "x"}), json!({"tier": "a b"}), json!({"example.com/x": "y"})]
        }
        "networkPolicy.additionalEgressRules" => vec![
            json!([{"ports": [{"protocol": "TCP", "port": 8080}]}]),
            json!([{"ports": [{"protocol": "ICMP"}]}]),
            json!([{"to": [{"ipBlock": {"cidr": "10.0.0.0"}}]}]),
        ],
        "namespace_rbac.extraRules" | "cluster_rbac.extraRules" => vec![
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": []}]),
            json!([{"verbs": ["get"], "nonResourceURLs": ["/metrics"]}]),
        ],
        "ingress.hosts" => vec![
            json!([{"host": "mlflow.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}]),
            json!([{"host": "mlflow.example.com", "paths": [{"path": "nope", "pathType": "Prefix"}]}]),
        ],
        _ => vec![json!({}), json!([]), json!("x"), json!(1)],
    };
    rng.pick(&pool).clone()
}

fn random_value(key: &str, schema: &Value, rng: &mut Rng) -> Value {
    if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
        if rng.below(3) > 0 {
            return rng.pick(choices).clone();
        }
    }
    let wrong_type = rng.below(8) == 0;
    match (schema.get("type").and_then(Value::as_str), wrong_type) {
        (_, true) => rng.pick(&[json!("x"), json!(true), json!(-1), json!(null), json!([1])]).clone(),
        (Some("integer"), _) => json!(*rng.pick(&INTEGERS)),
        (Some("boolean"), _) => json!(rng.below(2) == 0),
        (Some("string"), _) => json!(*rng.pick(&STRINGS)),
        _ => fragment(key, rng),
    }
}

fn set(tree: &mut Value, path: &[String], value: Value) {
    let mut node = tree;
    for key in &path[..path.len() - 1] {
        if !node.get(key).is_some_and(Value::is_object) {
            node[key] = json!({});
        }
        node = node.get_mut(key).expect("just made");
    }
    node[&path[path.len() - 1]] = value;
}
