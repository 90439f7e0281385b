//! Parity of the two renderers of one values model: for every values file, the objects of
//! `helm template mlflow ./charts -n mlflow -f FILE` (helm 3.17 and helm 4.1) equal the objects of
//! `kubectl-mlflow-install mlflow -n mlflow -f FILE --dry-run -o json`.
//!
//! How objects are compared: renderings.rs (shared with the generative parity test). The negative
//! case proves that a one-sided change of the chart is caught, at the path that changed.
//!
//! `helm test` pods (`helm.sh/hook: test`, charts/templates/tests/) are helm-only: the native
//! engine has no `helm test` (its install waits for the rollout and each pod instead), so they are
//! outside the native rendering. They are set aside by that annotation alone, and a test holds that
//! this sets aside exactly the chart's one test pod, and that the native side renders none.

use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::repo_root;
use kubectl_mlflow_test_support::values::{repo_relative, values_files_and_example};
use serde_json::Value;

use crate::renderings::{
    compare, copy_dir, edit, helm_render, helm_render_all, is_helm_test, native_render, report, Difference, HELMS,
};

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
        "names YAML would read as a boolean and a number (found by the generative parity test)",
        r#"
fullnameOverride: "yes"
serviceAccount: {name: "123"}
mlflow: {backendStoreUriFrom: {secretKeyRef: {name: mlflow-db-secret, key: uri}}, artifactsDestination: "s3://b/a"}
storage: {enabled: true, accessMode: ReadWriteMany}
ingress: {enabled: true}
autoscaling: {enabled: true, maxReplicas: 2}
resources: {requests: {cpu: 100m}}
garbageCollection: {enabled: true}
networkPolicy: {enabled: true}
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
