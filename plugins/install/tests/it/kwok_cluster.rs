//! `kubectl mlflow install` against the real control plane of `scripts/test-cluster` (KWOK runs
//! the pods). Ignored by plain `cargo test`; `scripts/test` runs them with `--ignored` once the
//! cluster is up. `published`: the chart installed from an OCI registry; `extra_objects`: the
//! release's `extraObjects` applied, pruned, refused and owned by helm.

mod extra_objects;
mod published;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, PostParams};
use kubectl_mlflow_test_support::crd::{crd, delete_crds, install_crds};
use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::process::plugin_command;
use kubectl_mlflow_test_support::{
    assert_ok, cluster, deployment_guide, plugin, poll_until, repo_root, text, TestNamespace,
};
use serde_json::json;

const ID_LABEL: &str = "applyset.kubernetes.io/part-of";

fn install(ns: &TestNamespace, args: &[&str]) -> Output {
    install_in(ns.name(), args)
}

/// `kubectl-mlflow-install --kubeconfig ... -n NAMESPACE --timeout 3m ARGS`: the cluster flags
/// first, so that ARGS may give others.
fn install_in(namespace: &str, args: &[&str]) -> Output {
    let kubeconfig = cluster().kubeconfig().display().to_string();
    plugin("kubectl-mlflow-install")
        .args(["--kubeconfig", &kubeconfig, "-n", namespace, "--timeout", "3m"])
        .args(args)
        .output()
        .unwrap()
}

async fn available(ns: &TestNamespace, name: &str) -> bool {
    let deployment = ns.api::<Deployment>().get(name).await.unwrap();
    let status = deployment.status.unwrap_or_default();
    status.available_replicas.unwrap_or(0) >= 1
        && status.observed_generation.unwrap_or(0) >= deployment.metadata.generation.unwrap_or(0)
}

/// (kind, name) → resourceVersion of every object carrying the release's ApplySet label.
async fn members(ns: &TestNamespace) -> BTreeMap<(String, String), String> {
    let mut found = BTreeMap::new();
    let client = ns.client();
    let kinds = [
        ("", "v1", "ServiceAccount", "serviceaccounts"),
        ("", "v1", "ConfigMap", "configmaps"),
        ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
        ("", "v1", "Service", "services"),
        ("apps", "v1", "Deployment", "deployments"),
        ("batch", "v1", "CronJob", "cronjobs"),
        ("networking.k8s.io", "v1", "Ingress", "ingresses"),
        ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"),
        ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"),
        ("rbac.authorization.k8s.io", "v1", "Role", "roles"),
        ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
        ("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors"),
    ];
    for (group, version, kind, plural) in kinds {
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        let resource = kube::api::ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns.name(), &resource);
        let list = api.list(&ListParams::default().labels(ID_LABEL)).await.unwrap();
        for item in list.items {
            found.insert((kind.to_string(), item.metadata.name.unwrap()), item.metadata.resource_version.unwrap());
        }
    }
    found
}

fn names(members: &BTreeMap<(String, String), String>) -> BTreeSet<String> {
    members.keys().map(|(kind, name)| format!("{kind}/{name}")).collect()
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_zero_flag_quick_start_becomes_available_and_a_rerun_changes_nothing() {
    let ns = cluster().namespace("quick").await;
    let first = install(&ns, &[]);
    assert_ok(&first);
    let stderr = String::from_utf8_lossy(&first.stderr);
    // `kubectl mlflow portforward` does not exist yet: the note names kubectl's own.
    assert!(stderr.contains(&format!("kubectl port-forward -n {} svc/mlflow-mlflow 5000:5000", ns.name())), "{stderr}");
    assert!(!stderr.contains("kubectl mlflow portforward"), "{stderr}");
    assert!(available(&ns, "mlflow-mlflow").await);
    let before = members(&ns).await;
    assert_eq!(
        names(&before),
        BTreeSet::from(
            [
                "ServiceAccount/mlflow-mlflow",
                "PersistentVolumeClaim/mlflow-mlflow",
                "Service/mlflow-mlflow",
                "Deployment/mlflow-mlflow"
            ]
            .map(String::from)
        )
    );
    let parent = ns.api::<Secret>().get("kubectl-mlflow.release.mlflow").await.unwrap();
    let parent_version = parent.metadata.resource_version.clone();
    assert!(parent.metadata.labels.unwrap().contains_key("applyset.kubernetes.io/id"));
    let rerun = install(&ns, &[]);
    assert_ok(&rerun);
    assert_eq!(members(&ns).await, before, "a second install must change no member");
    let parent = ns.api::<Secret>().get("kubectl-mlflow.release.mlflow").await.unwrap();
    assert_eq!(parent.metadata.resource_version, parent_version);
    // The apply returned the Deployment rolled out at its generation: nothing to watch.
    assert!(!text(&rerun).contains("to roll out"), "a rerun that changed nothing watched: {}", text(&rerun));
    let changed = install(&ns, &["--set", "resources.requests.cpu=150m"]);
    assert_ok(&changed);
    assert!(text(&changed).contains("waiting for Deployment/mlflow-mlflow to roll out"), "{}", text(&changed));
    assert!(available(&ns, "mlflow-mlflow").await, "an upgrade returned before its rollout");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_production_example_with_its_secrets_becomes_available() {
    let ns = cluster().namespace("prod").await;
    // The deployment guide's own commands for its Secrets.
    cluster().shell(&deployment_guide::db_secret(ns.name())).unwrap();
    cluster().shell(&deployment_guide::s3_secret(ns.name(), "AKIAEXAMPLE", "example")).unwrap();
    let out = install(&ns, &["--set", "serviceMonitor.enabled=false", "-f", "charts/example-mlflow-charts.yaml"]);
    assert_ok(&out);
    assert!(available(&ns, "mlflow-mlflow").await);
    assert!(!text(&out).contains("password@postgres"), "a secret value reached the output");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn an_upgrade_prunes_what_is_no_longer_rendered() {
    let ns = cluster().namespace("prune").await;
    let with = ["--set", "ingress.enabled=true", "--set", "networkPolicy.enabled=true", "--no-wait"];
    assert_ok(&install(&ns, &with));
    let before = names(&members(&ns).await);
    assert!(before.contains("Ingress/mlflow-mlflow") && before.contains("NetworkPolicy/mlflow-mlflow"), "{before:?}");
    assert_ok(&install(&ns, &["--no-wait"]));
    let after = names(&members(&ns).await);
    let expected: BTreeSet<String> =
        before.into_iter().filter(|n| !n.starts_with("Ingress/") && !n.starts_with("NetworkPolicy/")).collect();
    assert_eq!(after, expected);
    let kubectl = cluster().kubectl_output(&["get", "ingress,networkpolicy", "-n", ns.name(), "-o", "name"]).unwrap();
    assert!(kubectl.trim().is_empty(), "left behind: {kubectl}");
    assert_eq!(parent_kinds(&ns).await, "Deployment.apps,PersistentVolumeClaim,Service,ServiceAccount");
    // A kind added (none removed): the parent lists it from the first apply on.
    assert_ok(&install(&ns, &["--set", "ingress.enabled=true", "--no-wait"]));
    assert_eq!(
        parent_kinds(&ns).await,
        "Deployment.apps,Ingress.networking.k8s.io,PersistentVolumeClaim,Service,ServiceAccount"
    );
    ns.delete().await;
}

/// The group-kinds the release's ApplySet parent says its members have.
async fn parent_kinds(ns: &TestNamespace) -> String {
    let parent = ns.api::<Secret>().get("kubectl-mlflow.release.mlflow").await.unwrap();
    parent.metadata.annotations.unwrap()["applyset.kubernetes.io/contains-group-kinds"].clone()
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_run_killed_mid_apply_converges_when_rerun() {
    let ns = cluster().namespace("kill").await;
    let mut child = plugin_command("kubectl-mlflow-install")
        .args(ns.cluster_args())
        .args(["--set", "garbageCollection.enabled=true", "--set", "ingress.enabled=true"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let secrets = ns.api::<Secret>();
    let started = poll_until(Duration::from_secs(60), || async {
        secrets.get_opt("kubectl-mlflow.release.mlflow").await.ok().flatten().is_some()
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(started.is_ok(), "the install never wrote its ApplySet parent");
    assert_ok(&install(&ns, &["--set", "garbageCollection.enabled=true", "--set", "ingress.enabled=true"]));
    let after = names(&members(&ns).await);
    for expected in
        ["Deployment/mlflow-mlflow", "Service/mlflow-mlflow", "CronJob/mlflow-mlflow-gc", "Ingress/mlflow-mlflow"]
    {
        assert!(after.contains(expected), "{expected} missing from {after:?}");
    }
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_missing_secret_is_named_and_nothing_is_written() {
    let ns = cluster().namespace("missing").await;
    let out = install(&ns, &["-f", "tests/values/s3.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mlflow.backendStoreUriFrom: Secret mlflow-db-secret not found"), "{stderr}");
    assert!(stderr.contains("env[0].valueFrom: Secret s3-credentials not found"), "{stderr}");
    ns.create_secret("mlflow-db-secret", &[("url", "postgresql://x")]).await;
    let out = install(&ns, &["-f", "tests/values/postgres-secret.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Secret mlflow-db-secret has no key \"uri\" (it has: url)"),
        "{}",
        text(&out)
    );
    assert!(members(&ns).await.is_empty(), "objects were written despite the error");
    assert!(ns.api::<Secret>().get_opt("kubectl-mlflow.release.mlflow").await.unwrap().is_none());
    ns.delete().await;
}

/// The slim image has no database driver: a PostgreSQL URI read from a Secret is refused before
/// any write, naming the Secret and the module but never the URI.
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_secrets_postgresql_uri_with_the_slim_image_is_refused_without_showing_it() {
    let ns = cluster().namespace("slim-db").await;
    ns.create_secret("mlflow-db-secret", &[("uri", "postgresql://mlflow:hunter2@postgres:5432/mlflow")]).await;
    let out = install(&ns, &["-f", "tests/values/postgres-secret.yaml", "--set", "image.tag=v3.17.2"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = "mlflow.backendStoreUriFrom: the postgresql store URI in Secret mlflow-db-secret key uri needs the Python module psycopg2, which the image ghcr.io/mlflow/mlflow:v3.17.2 lacks";
    assert!(stderr.contains(expected), "{stderr}");
    assert!(!stderr.contains("hunter2") && !stderr.contains("postgres:5432"), "{stderr}");
    assert!(members(&ns).await.is_empty(), "objects were written despite the error");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn pods_are_admitted_under_the_restricted_pod_security_standard() {
    let ns =
        cluster().namespace_with_labels("restricted", &[("pod-security.kubernetes.io/enforce", "restricted")]).await;
    assert_ok(&install(&ns, &["--set", "garbageCollection.enabled=true"]));
    assert!(available(&ns, "mlflow-mlflow").await);
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_pod_that_cannot_be_scheduled_fails_the_install_with_its_reason() {
    let ns = cluster().namespace("stuck").await;
    let out = install(&ns, &["--set", "nodeSelector.disktype=none", "--timeout", "60s"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FailedScheduling"), "{stderr}");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_server_dry_run_persists_nothing() {
    let ns = cluster().namespace("dryrun").await;
    let out = install(&ns, &["--dry-run=server", "--set", "ingress.enabled=true"]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was persisted"));
    assert!(members(&ns).await.is_empty());
    assert!(
        ns.api::<Secret>().get_opt("kubectl-mlflow.release.mlflow").await.unwrap().is_none(),
        "the ApplySet parent was persisted"
    );
    ns.delete().await;
}

/// What the cluster alone can judge (here: a claim whose StorageClass cannot expand volumes) is
/// found by the server-side dry run of everything, before the first write.
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_volume_that_cannot_grow_refuses_the_whole_upgrade_before_any_write() {
    let ns = cluster().namespace("resize").await;
    assert_ok(&install(&ns, &[]));
    let before = members(&ns).await;
    let parent = ns.api::<Secret>().get("kubectl-mlflow.release.mlflow").await.unwrap().metadata.resource_version;
    let out = install(&ns, &["--reuse-values", "--set", "storage.size=20Gi"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("storage.size: the API server refuses PersistentVolumeClaim/mlflow-mlflow"), "{stderr}");
    assert!(
        stderr.contains("only dynamically provisioned pvc can be resized")
            && stderr.contains("keep storage.size as it is"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(members(&ns).await, before, "an object was written although the upgrade was refused");
    let after = ns.api::<Secret>().get("kubectl-mlflow.release.mlflow").await.unwrap().metadata.resource_version;
    assert_eq!(after, parent, "the ApplySet parent was written although the upgrade was refused");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn with_helm_a_refused_upgrade_records_no_revision() {
    let ns = cluster().namespace("resizehelm").await;
    let helm = Helm::V3.binary().display().to_string();
    assert_ok(&install(&ns, &["--helm", "--helm-binary", &helm]));
    let revisions = || {
        let out = Helm::V3.on_cluster().args(["history", "mlflow", "-n", ns.name(), "-o", "json"]).output().unwrap();
        assert!(out.status.success(), "helm history: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap().len()
    };
    assert_eq!(revisions(), 1);
    let before = cluster()
        .kubectl_output(&[
            "get",
            "pvc,deployment,service",
            "-n",
            ns.name(),
            "-o",
            "jsonpath={.items[*].metadata.resourceVersion}",
        ])
        .unwrap();
    let out = install(&ns, &["--helm", "--helm-binary", &helm, "--set", "storage.size=20Gi"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only dynamically provisioned pvc can be resized"),
        "{}",
        text(&out)
    );
    assert_eq!(revisions(), 1, "helm recorded a revision for a refused upgrade");
    let after = cluster()
        .kubectl_output(&[
            "get",
            "pvc,deployment,service",
            "-n",
            ns.name(),
            "-o",
            "jsonpath={.items[*].metadata.resourceVersion}",
        ])
        .unwrap();
    assert_eq!(after, before);
    ns.delete().await;
}

/// A kubeconfig for a ServiceAccount of `ns` that may do everything there but delete.
async fn kubeconfig_without_delete(ns: &TestNamespace, dir: &tempfile::TempDir) -> String {
    let name = ns.name();
    let rbac = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: limited, namespace: {name}}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: no-delete, namespace: {name}}}\n\
         rules: [{{apiGroups: ['*'], resources: ['*'], verbs: [get, list, watch, create, patch, update]}}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: no-delete, namespace: {name}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: no-delete}}\n\
         subjects: [{{kind: ServiceAccount, name: limited, namespace: {name}}}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {name}-read-namespaces}}\n\
         rules: [{{apiGroups: [''], resources: [namespaces], verbs: [get]}}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: {name}-read-namespaces}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}-read-namespaces}}\n\
         subjects: [{{kind: ServiceAccount, name: limited, namespace: {name}}}]\n"
    );
    let file = dir.path().join("rbac.yaml");
    std::fs::write(&file, rbac).unwrap();
    cluster().kubectl_output(&["apply", "-f", file.to_str().unwrap()]).unwrap();
    let token = cluster().kubectl_output(&["create", "token", "limited", "-n", name]).unwrap();
    let admin: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(cluster().kubeconfig()).unwrap()).unwrap();
    let mut limited = admin.clone();
    limited["users"] =
        serde_yaml::from_str(&format!("[{{name: limited, user: {{token: {}}}}}]", token.trim())).unwrap();
    for context in limited["contexts"].as_sequence_mut().unwrap() {
        context["context"]["user"] = "limited".into();
    }
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&limited).unwrap()).unwrap();
    path.display().to_string()
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn preflight_asks_for_delete_when_the_upgrade_prunes() {
    let ns = cluster().namespace("nodelete").await;
    assert_ok(&install(&ns, &["--no-wait", "--set", "ingress.enabled=true"]));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_without_delete(&ns, &dir).await;
    let before = members(&ns).await;
    let as_limited = |args: &[&str]| install(&ns, &[&["--kubeconfig", &kubeconfig], args].concat());
    let kept = as_limited(&["--no-wait", "--set", "ingress.enabled=true"]);
    assert_ok(&kept);
    let out = as_limited(&["--no-wait"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("you may not delete ingresses.networking.k8s.io in namespace {}", ns.name());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("you may not delete deployments"), "only what pruning deletes needs delete: {stderr}");
    assert_eq!(names(&members(&ns).await), names(&before), "the refused run changed the release");
    let _ = cluster().kubectl_output(&[
        "delete",
        "clusterrole,clusterrolebinding",
        &format!("{}-read-namespaces", ns.name()),
    ]);
    ns.delete().await;
}

/// A sample of the CLI tests' bad inputs, on the cluster: exit 2 and no write at all (no
/// namespace made despite --create-namespace, no object, no ApplySet parent).
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn bad_input_writes_nothing_to_the_cluster() {
    let ns = cluster().namespace("badinput").await;
    let samples: [&[&str]; 5] = [
        &["--set", "resources.limits.memory=lots"],
        &["--set", "deploymentStrategy.type=Rolling"],
        &["--set", "storage.mountPath=/tmp"],
        &["--set", "env[0].name=A", "--set", "env[0].valueFrom.secretKeyRef.key=k"],
        &["--set", "podSecurityContext.runAsUser=-1"],
    ];
    for (i, sample) in samples.iter().enumerate() {
        let out = install(&ns, sample);
        assert_eq!(out.status.code(), Some(2), "{sample:?}: {}", text(&out));
        assert!(out.stdout.is_empty());
        let fresh = format!("{}-new{i}", ns.name());
        let out = install(&ns, &[&["-n", fresh.as_str(), "--create-namespace"], *sample].concat());
        assert_eq!(out.status.code(), Some(2), "{sample:?}: {}", text(&out));
        let made = cluster().kubectl_output(&["get", "namespace", &fresh, "--ignore-not-found", "-o", "name"]).unwrap();
        assert!(made.trim().is_empty(), "{sample:?} created namespace {fresh}");
    }
    assert!(members(&ns).await.is_empty(), "bad input wrote objects");
    assert!(
        ns.api::<Secret>().get_opt("kubectl-mlflow.release.mlflow").await.unwrap().is_none(),
        "bad input wrote the ApplySet parent"
    );
    ns.delete().await;
}

async fn helm_install(which: Helm) {
    let ns = cluster().namespace(&format!("helm{}", which.tool_set())).await;
    let helm = which.binary().display().to_string();
    assert_ok(&install(&ns, &["--helm", "--helm-binary", &helm]));
    assert!(available(&ns, "mlflow-mlflow").await);
    let list = which.on_cluster().args(["list", "-n", ns.name(), "-q"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).trim(),
        "mlflow",
        "helm list: {}",
        String::from_utf8_lossy(&list.stderr)
    );
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_helm_engine_works_with_helm_3() {
    helm_install(Helm::V3).await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_helm_engine_works_with_helm_4() {
    helm_install(Helm::V4).await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_field_owned_by_another_manager_is_a_named_conflict_unless_forced() {
    let ns = cluster().namespace("conflict").await;
    assert_ok(&install(&ns, &["--no-wait"]));
    cluster().kubectl_output(&["scale", "deployment/mlflow-mlflow", "-n", ns.name(), "--replicas=2"]).unwrap();
    let out = install(&ns, &["--no-wait"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Deployment/mlflow-mlflow") && stderr.contains(".spec.replicas"), "{stderr}");
    assert!(stderr.contains("--force-conflicts"), "{stderr}");
    assert_ok(&install(&ns, &["--no-wait", "--force-conflicts"]));
    let deployment = ns.api::<Deployment>().get("mlflow-mlflow").await.unwrap();
    assert_eq!(deployment.spec.unwrap().replicas, Some(1));
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn reuse_values_starts_from_the_stored_values() {
    let ns = cluster().namespace("reuse").await;
    assert_ok(&install(
        &ns,
        &["--no-wait", "--set", "garbageCollection.enabled=true", "--set", "garbageCollection.olderThan=7d"],
    ));
    assert_ok(&install(&ns, &["--no-wait", "--reuse-values", "--set", "service.type=NodePort"]));
    let after = names(&members(&ns).await);
    assert!(after.contains("CronJob/mlflow-mlflow-gc"), "the stored GC setting was lost: {after:?}");
    assert_ok(&install(&ns, &["--no-wait", "--set", "service.type=NodePort"]));
    assert!(
        !names(&members(&ns).await).contains("CronJob/mlflow-mlflow-gc"),
        "without --reuse-values the defaults apply"
    );
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn an_applyset_of_another_tool_is_left_alone() {
    let ns = cluster().namespace("foreign").await;
    let parent: Secret = serde_json::from_value(json!({
        "metadata": {"name": "kubectl-mlflow.release.mlflow", "annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.35.0"}}
    }))
    .unwrap();
    ns.api::<Secret>().create(&PostParams::default(), &parent).await.unwrap();
    let out = install(&ns, &["--no-wait"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("managed by kubectl/v1.35.0"), "{}", text(&out));
    assert!(members(&ns).await.is_empty());
    ns.delete().await;
}

/// The commands of MLflow's Kubernetes deployment guide, as written, with real helm: install,
/// upgrade with a values file, uninstall leaving the PersistentVolumeClaim for `kubectl delete pvc`
/// as the guide says.
async fn deployment_guide_commands(which: Helm) {
    let ns = cluster().namespace(&format!("guide{}", which.tool_set())).await;
    let run = |args: &[&str]| {
        let out = which.on_cluster().args(args).output().unwrap();
        assert!(out.status.success(), "helm {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let notes = run(&[
        "install",
        "mlflow",
        "./charts",
        "--namespace",
        ns.name(),
        "--create-namespace",
        "--set",
        "storage.enabled=true",
        "--set",
        "mlflow.backendStoreUri=sqlite:////mlflow/mlflow.db",
        "--set",
        "mlflow.artifactsDestination=/mlflow/artifacts",
        "--wait",
        "--timeout",
        "3m",
    ]);
    assert!(notes.contains(&format!("kubectl port-forward -n {} svc/mlflow-mlflow 5000:5000", ns.name())), "{notes}");
    // helm 3's --wait counts the ready pods of the new ReplicaSet; the Deployment's own status
    // follows when the deployment controller next syncs it (seconds later on a loaded machine).
    let rolled_out = poll_until(Duration::from_secs(30), || available(&ns, "mlflow-mlflow")).await;
    assert!(rolled_out.is_ok(), "the Deployment is not available 30 s after helm install --wait");
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("my-values.yaml");
    std::fs::write(&values, "storage:\n  enabled: true\nmlflow:\n  backendStoreUri: sqlite:////mlflow/mlflow.db\n  artifactsDestination: /mlflow/artifacts\ngarbageCollection:\n  enabled: true\n  olderThan: 30d\n").unwrap();
    run(&[
        "upgrade",
        "mlflow",
        "./charts",
        "--namespace",
        ns.name(),
        "-f",
        values.to_str().unwrap(),
        "--wait",
        "--timeout",
        "3m",
    ]);
    assert!(cluster().kubectl_output(&["get", "cronjob/mlflow-mlflow-gc", "-n", ns.name()]).is_ok());
    run(&["uninstall", "mlflow", "--namespace", ns.name()]);
    let left = cluster().kubectl_output(&["get", "deployment,service,pvc", "-n", ns.name(), "-o", "name"]).unwrap();
    assert_eq!(left.trim(), "persistentvolumeclaim/mlflow-mlflow", "helm uninstall should leave only the PVC");
    cluster().shell(&format!("kubectl delete pvc -n {} --all", ns.name())).unwrap();
    let left = cluster().kubectl_output(&["get", "pvc", "-n", ns.name(), "-o", "name"]).unwrap();
    assert_eq!(left.trim(), "", "kubectl delete pvc --all left claims");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_deployment_guides_commands_work_as_written_with_helm_3() {
    deployment_guide_commands(Helm::V3).await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_deployment_guides_commands_work_as_written_with_helm_4() {
    deployment_guide_commands(Helm::V4).await;
}

/// Keeps the namespace's Jobs as a watch last saw them complete (a succeeded migration Job is
/// deleted soon after, so it is read while it lives).
async fn record_completed_jobs(client: kube::Client, namespace: String, completed: Arc<Mutex<Vec<Job>>>) {
    use futures::StreamExt;
    use kube::runtime::watcher::{watcher, Config, Event};
    let mut events = watcher(Api::<Job>::namespaced(client, &namespace), Config::default()).boxed();
    while let Some(event) = events.next().await {
        let (Ok(Event::Apply(job)) | Ok(Event::InitApply(job))) = event else { continue };
        if job.status.as_ref().and_then(|s| s.completion_time.as_ref()).is_some() {
            let mut completed = completed.lock().unwrap();
            completed.retain(|seen| seen.metadata.uid != job.metadata.uid);
            completed.push(job);
        }
    }
}

/// Installs with a PostgreSQL store (tests/values/postgres-secret.yaml) while recording the Jobs
/// that complete; returns the install's output and those Jobs.
async fn install_recording(ns: &TestNamespace, args: &[&str]) -> (Output, Vec<Job>) {
    let completed = Arc::new(Mutex::new(Vec::new()));
    let recorder = tokio::spawn(record_completed_jobs(ns.client(), ns.name().to_string(), completed.clone()));
    let mut full = vec!["-f", "tests/values/postgres-secret.yaml"];
    full.extend_from_slice(args);
    let full: Vec<String> = full.iter().map(|s| s.to_string()).collect();
    let ns_copy = ns.name().to_string();
    let out = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        install_in(&ns_copy, &refs)
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    recorder.abort();
    let completed = completed.lock().unwrap().clone();
    (out, completed)
}

/// When the migration Job among `completed` completed; panics when none did.
fn migration_completed_at(completed: &[Job]) -> Timestamp {
    let job = completed
        .iter()
        .find(|job| job.metadata.name.as_deref() == Some("mlflow-mlflow-migrate"))
        .unwrap_or_else(|| panic!("the migration Job never completed; completed: {completed:?}"));
    job.status.as_ref().and_then(|s| s.completion_time.clone()).expect("a completion time").0
}

fn created_at(meta: &ObjectMeta) -> Timestamp {
    meta.creation_timestamp.clone().expect("a creation timestamp").0
}

/// The migration completed before the server's Deployment, and each of `pods`, was created:
/// compared by the API server's timestamps (whole seconds), not by the order a watch delivers.
async fn assert_migrated_before_the_server(ns: &TestNamespace, completed: &[Job]) {
    let migrated = migration_completed_at(completed);
    let deployment = ns.api::<Deployment>().get("mlflow-mlflow").await.unwrap();
    assert!(
        migrated <= created_at(&deployment.metadata),
        "the Deployment was created before the migration completed ({migrated})"
    );
    let servers =
        ns.api::<Pod>().list(&ListParams::default().labels("app.kubernetes.io/component=server")).await.unwrap();
    for pod in &servers.items {
        assert!(
            migrated <= created_at(&pod.metadata),
            "{:?} was created before the migration completed ({migrated})",
            pod.metadata.name
        );
    }
}

/// With a database store the migration Job (`mlflow db upgrade`) runs first: it has completed
/// before the Deployment exists, and it is gone afterwards (hook-succeeded). An upgrade runs it
/// again before it rolls the server out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_migration_job_completes_before_the_deployment_is_applied() {
    let ns = cluster().namespace("migrate").await;
    ns.create_secret("mlflow-db-secret", &[("uri", "postgresql://user:password@postgres:5432/mlflow")]).await;
    let (out, completed) = install_recording(&ns, &[]).await;
    assert_ok(&out);
    assert_migrated_before_the_server(&ns, &completed).await;
    assert!(
        ns.api::<Job>().list(&ListParams::default()).await.unwrap().items.is_empty(),
        "the succeeded Job was left behind"
    );
    assert!(!text(&out).contains("password@postgres"), "a secret value reached the output");
    // An upgrade (a new image) migrates again before it rolls the server out: the ReplicaSet of
    // the new image comes after the new Job's completion.
    let (again, completed) = install_recording(&ns, &["--set", "image.tag=v3.17.3-full"]).await;
    assert_ok(&again);
    let migrated = migration_completed_at(&completed);
    let sets = ns.api::<ReplicaSet>().list(&ListParams::default()).await.unwrap();
    let upgraded = sets
        .items
        .iter()
        .find(|set| {
            let image = set.spec.as_ref().and_then(|s| s.template.as_ref()).and_then(|t| t.spec.as_ref());
            image.is_some_and(|spec| spec.containers[0].image.as_deref().is_some_and(|i| i.ends_with(":v3.17.3-full")))
        })
        .expect("a ReplicaSet of the new image");
    assert!(migrated <= created_at(&upgraded.metadata), "the upgrade rolled out before it migrated ({migrated})");
    ns.delete().await;
}

/// Through helm the Job is a pre-install hook: helm runs it to completion before the Deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn with_helm_the_migration_job_is_a_hook_before_the_deployment() {
    let ns = cluster().namespace("migrate-helm").await;
    ns.create_secret("mlflow-db-secret", &[("uri", "postgresql://user:password@postgres:5432/mlflow")]).await;
    let helm = Helm::V4.binary().display().to_string();
    let (out, completed) = install_recording(&ns, &["--helm", "--helm-binary", &helm]).await;
    assert_ok(&out);
    assert_migrated_before_the_server(&ns, &completed).await;
    ns.delete().await;
}

/// A migration that fails (a store that cannot be reached; the test plays the kubelet of the
/// node the Job's pods land on) stops the install before the Deployment: exit code 1, the Job's
/// reason and its pod's log in the message, the Job kept, no Deployment, no secret value shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_failing_migration_stops_the_install_with_its_log() {
    failing_migration(
        &[],
        &[
            "Job/mlflow-mlflow-migrate (mlflow db upgrade) failed",
            "BackoffLimitExceeded",
            "the server was not rolled out",
        ],
    )
    .await;
}

/// The same through helm: helm's hook error, then the Job's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn with_helm_a_failing_migration_hook_shows_its_log() {
    let helm = Helm::V4.binary().display().to_string();
    failing_migration(
        &["--helm", "--helm-binary", &helm],
        &["failed pre-install", "mlflow-mlflow-migrate", "last log lines of pod"],
    )
    .await;
}

async fn failing_migration(engine_args: &[&str], expected: &[&str]) {
    use kubectl_mlflow_test_support::{bound_pod_other_than, set_pod_state, write_cri_log, ScriptedNode};
    let ns = cluster().namespace("migrate-fail").await;
    ns.create_secret("mlflow-db-secret", &[("uri", "postgresql://user:hunter2@nowhere.invalid:5432/mlflow")]).await;
    let node = ScriptedNode::new(&ns).await;
    let mut args = vec!["-f".to_string(), "tests/values/postgres-secret.yaml".to_string()];
    args.extend(engine_args.iter().map(|a| a.to_string()));
    for set in node.sets() {
        args.extend(["--set".to_string(), set]);
    }
    let namespace = ns.name().to_string();
    let run = tokio::task::spawn_blocking(move || {
        install_in(&namespace, &args.iter().map(String::as_str).collect::<Vec<_>>())
    });
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("migrate.log");
    write_cri_log(
        &log,
        &[
            "Traceback (most recent call last):",
            "sqlalchemy.exc.OperationalError: could not translate host name \"nowhere.invalid\" to address",
        ],
    )
    .unwrap();
    // backoffLimit 1: two pods fail before the Job does.
    let mut seen = Vec::new();
    for _ in 0..2 {
        let pod = bound_pod_other_than(&ns, "app.kubernetes.io/component=migrate", &seen).await;
        let name = pod.metadata.name.clone().unwrap();
        ns.serve_pod_logs(&name, &log).await;
        set_pod_state(&ns, &pod, Some(1)).await;
        seen.push(name);
    }
    let out = run.await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in expected.iter().chain(&["could not translate host name"]) {
        assert!(stderr.contains(expected), "{expected:?} missing:\n{}", text(&out));
    }
    assert!(!text(&out).contains("hunter2"), "a secret value reached the output");
    assert!(
        ns.api::<Deployment>().get_opt("mlflow-mlflow").await.unwrap().is_none(),
        "the Deployment was applied after a failed migration"
    );
    assert!(ns.api::<Job>().get_opt("mlflow-mlflow-migrate").await.unwrap().is_some(), "the failed Job was not kept");
    node.delete(&ns).await;
    ns.delete().await;
}

/// Without the Gateway API CRDs (the test cluster has none) an HTTPRoute is refused before any
/// write, naming the key and what to install.
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn an_http_route_without_the_gateway_api_is_refused_before_any_write() {
    let ns = cluster().namespace("route").await;
    let out = install(&ns, &["--set", "httpRoute.enabled=true", "--set", "httpRoute.parentRefs[0].name=gw"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("httpRoute.enabled: the HTTPRoute CRD (gateway.networking.k8s.io/v1) is not installed"),
        "{}",
        text(&out)
    );
    assert!(members(&ns).await.is_empty(), "something was written");
    ns.delete().await;
}

/// External Secrets: without the operator's CRDs the install is refused before any write, naming
/// the key (not the Secret the ExternalSecret would make); with them, the SecretStore and
/// ExternalSecret are applied first and the install waits for their Secret (made here, as the
/// operator would) before it applies the Deployment that reads it.
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn external_secrets_go_first_and_the_install_waits_for_their_secret() {
    let ns = cluster().namespace("extsec").await;
    let file = repo_root().join("tests/values/external-secrets.yaml").display().to_string();
    let args = ["-f", file.as_str(), "--set", "migrations.enabled=false"];
    let out = install(&ns, &args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("externalSecrets.enabled: the External Secrets CRDs (external-secrets.io/v1: secretstores, externalsecrets) are not installed"),
        "{}",
        text(&out)
    );
    assert!(
        !text(&out).contains("mlflow-backend-store not found"),
        "the Secret the ExternalSecret makes was required: {}",
        text(&out)
    );
    assert!(members(&ns).await.is_empty(), "something was written");

    // The External Secrets Operator's CRDs.
    let crds = [
        crd("external-secrets.io", "v1", "SecretStore", "secretstores"),
        crd("external-secrets.io", "v1", "ExternalSecret", "externalsecrets"),
    ];
    install_crds(&ns.client(), &crds).await.expect("the External Secrets CRDs are served");

    let namespace = ns.name().to_string();
    let owned: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let run = tokio::task::spawn_blocking(move || {
        install_in(&namespace, &owned.iter().map(String::as_str).collect::<Vec<_>>())
    });
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("external-secrets.io", "v1", "ExternalSecret"),
        "externalsecrets",
    );
    let externals: Api<DynamicObject> = Api::namespaced_with(ns.client(), ns.name(), &resource);
    poll_until(Duration::from_secs(120), || {
        let externals = externals.clone();
        async move { matches!(externals.get_opt("mlflow-mlflow-externalsecret").await, Ok(Some(_))) }
    })
    .await
    .expect("the ExternalSecret is applied");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        ns.api::<Deployment>().get_opt("mlflow-mlflow").await.unwrap().is_none(),
        "the Deployment came before the Secret it reads"
    );
    ns.create_secret("mlflow-backend-store", &[("db-uri", "postgresql://u:hunter2@db:5432/mlflow")]).await;
    let out = run.await.unwrap();
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("waiting for Secret/mlflow-backend-store (made by ExternalSecret/mlflow-mlflow-externalsecret"),
        "{}",
        text(&out)
    );
    assert!(
        ns.api::<Deployment>().get_opt("mlflow-mlflow").await.unwrap().is_some(),
        "no Deployment after the Secret came: {}",
        text(&out)
    );
    assert!(!text(&out).contains("hunter2"), "a secret value reached the output");
    let client = ns.client();
    ns.delete().await;
    delete_crds(&client, &crds).await;
}

/// The deployment guide's basic-auth Secret, made by its own command: the CSRF key, and no admin
/// password.
fn create_the_guides_auth_secret(ns: &TestNamespace) {
    let line = deployment_guide::auth_secret(ns.name());
    cluster().shell(&line).unwrap();
}

/// The admin password the release keeps in its auth Secret.
async fn generated_admin_password(ns: &TestNamespace) -> String {
    let password =
        ns.secret_value("mlflow-mlflow-auth", "admin-password").await.expect("no admin-password in mlflow-mlflow-auth");
    assert!(password.len() >= 24 && password.chars().all(|c| c.is_ascii_alphanumeric()), "generated: {password:?}");
    password
}

fn password_hint(ns: &TestNamespace) -> String {
    format!("kubectl get secret mlflow-mlflow-auth -n {} -o jsonpath='{{.data.admin-password}}' | base64 -d", ns.name())
}

/// MLflow has no default admin password and the guide's basic auth names none: the release makes
/// one on its first install, says where it is without showing it, and keeps it on upgrades.
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_guides_basic_auth_gets_an_admin_password_that_upgrades_keep() {
    let ns = cluster().namespace("guide-auth").await;
    create_the_guides_auth_secret(&ns);
    let first = install(&ns, &["-f", "tests/values/basic-auth.yaml"]);
    assert_ok(&first);
    let password = generated_admin_password(&ns).await;
    assert!(!text(&first).contains(&password), "the install showed the admin password: {}", text(&first));
    assert!(text(&first).contains(&password_hint(&ns)), "no hint where the password is: {}", text(&first));

    let upgrade = install(&ns, &["-f", "tests/values/basic-auth.yaml", "--set", "auth.defaultPermission=EDIT"]);
    assert_ok(&upgrade);
    assert_eq!(generated_admin_password(&ns).await, password, "the upgrade changed the admin password");
    let env = cluster()
        .kubectl_output(&[
            "get",
            "deployment/mlflow-mlflow",
            "-n",
            ns.name(),
            "-o",
            "jsonpath={.spec.template.spec.containers[0].env}",
        ])
        .unwrap();
    assert!(env.contains(r#""secretKeyRef":{"key":"admin-password","name":"mlflow-mlflow-auth"}"#), "{env}");

    // Basic auth off: the upgrade prunes what it no longer renders but the kept password, which
    // the next basic auth takes up again.
    let off = install(&ns, &[]);
    assert_ok(&off);
    assert!(text(&off).contains("kept Secret/mlflow-mlflow-auth"), "{}", text(&off));
    assert_ok(&install(&ns, &["-f", "tests/values/basic-auth.yaml"]));
    assert_eq!(generated_admin_password(&ns).await, password, "basic auth on again changed the admin password");
    ns.delete().await;
}

/// The same under the guide's `helm install` / `helm upgrade` lines: the chart keeps the password
/// it made with `lookup`.
async fn helm_keeps_the_generated_admin_password(which: Helm) {
    let ns = cluster().namespace(&format!("helm-auth{}", which.tool_set())).await;
    create_the_guides_auth_secret(&ns);
    let run = |verb: &str, extra: &[&str]| {
        let out = which
            .on_cluster()
            .args([verb, "mlflow", "./charts", "--namespace", ns.name(), "-f", "tests/values/basic-auth.yaml"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "helm {verb}: {}", text(&out));
        text(&out)
    };
    let notes = run("install", &[]);
    let password = generated_admin_password(&ns).await;
    assert!(!notes.contains(&password), "helm install showed the admin password: {notes}");
    assert!(notes.contains(&password_hint(&ns)), "no hint where the password is: {notes}");
    run("upgrade", &["--set", "auth.defaultPermission=EDIT"]);
    assert_eq!(generated_admin_password(&ns).await, password, "helm upgrade changed the admin password");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn with_helm_3_the_generated_admin_password_is_kept() {
    helm_keeps_the_generated_admin_password(Helm::V3).await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn with_helm_4_the_generated_admin_password_is_kept() {
    helm_keeps_the_generated_admin_password(Helm::V4).await;
}

/// The values of a release the autoscaler may scale: PostgreSQL and S3, nothing on one pod's disk.
const SCALABLE: [&str; 4] = [
    "--set",
    "mlflow.backendStoreUri=postgresql://mlflow@postgres:5432/mlflow",
    "--set",
    "mlflow.artifactsDestination=s3://bucket/mlflow",
];

/// Who owns `spec.replicas` of the Deployment, by field manager.
fn replicas_managers(ns: &TestNamespace) -> Vec<String> {
    let json = cluster().kubectl_stdout(&[
        "get",
        "deployment",
        "mlflow-mlflow",
        "-n",
        ns.name(),
        "-o",
        "json",
        "--show-managed-fields",
    ]);
    let deployment: serde_json::Value = serde_json::from_str(&json).unwrap();
    let entries = deployment["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .filter(|e| e.pointer("/fieldsV1/f:spec/f:replicas").is_some())
        .map(|e| e["manager"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The API server takes the HorizontalPodAutoscaler (autoscaling/v2, its behavior included) and a
/// generic ephemeral volume at /tmp; the install leaves the number of pods to the autoscaler (it
/// owns no `spec.replicas`), and an upgrade without the autoscaler prunes it and sets the count.
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_autoscaler_owns_the_replicas_and_is_pruned_when_disabled() {
    let ns = cluster().namespace("hpa").await;
    let scaled = [
        "--set",
        "autoscaling.enabled=true",
        "--set",
        "autoscaling.maxReplicas=4",
        "--set",
        "autoscaling.behavior.scaleDown.stabilizationWindowSeconds=600",
        "--set",
        "tmp.ephemeral.size=1Gi",
        "--no-wait",
    ];
    assert_ok(&install(&ns, &[&SCALABLE[..], &scaled[..]].concat()));
    let hpa = cluster().kubectl_stdout(&[
        "get",
        "hpa",
        "mlflow-mlflow",
        "-n",
        ns.name(),
        "-o",
        "jsonpath={.spec.scaleTargetRef.name} {.spec.minReplicas} {.spec.maxReplicas} \
         {.spec.metrics[0].resource.name} {.spec.metrics[0].resource.target.averageUtilization} \
         {.spec.behavior.scaleDown.stabilizationWindowSeconds}",
    ]);
    assert_eq!(hpa, "mlflow-mlflow 2 4 cpu 80 600");
    let claim = cluster().kubectl_stdout(&[
        "get",
        "deployment",
        "mlflow-mlflow",
        "-n",
        ns.name(),
        "-o",
        "jsonpath={.spec.template.spec.volumes[0].ephemeral.volumeClaimTemplate.spec.resources.requests.storage}",
    ]);
    assert_eq!(claim, "1Gi");
    assert!(!replicas_managers(&ns).contains(&"kubectl-mlflow".to_string()), "{:?}", replicas_managers(&ns));
    assert!(parent_kinds(&ns).await.contains("HorizontalPodAutoscaler.autoscaling"), "{}", parent_kinds(&ns).await);
    // A rerun leaves whatever count the autoscaler (here: kubectl scale) set.
    cluster().kubectl_stdout(&["scale", "deployment", "mlflow-mlflow", "-n", ns.name(), "--replicas=3"]);
    assert_ok(&install(&ns, &[&SCALABLE[..], &scaled[..]].concat()));
    assert!(!replicas_managers(&ns).contains(&"kubectl-mlflow".to_string()), "{:?}", replicas_managers(&ns));
    // Without the autoscaler: pruned, and replicaCount is the install's again.
    assert_ok(&install(&ns, &[&SCALABLE[..], &["--no-wait"][..]].concat()));
    let left = cluster().kubectl_stdout(&["get", "hpa", "-n", ns.name(), "-o", "name"]);
    assert!(left.trim().is_empty(), "left behind: {left}");
    assert!(!parent_kinds(&ns).await.contains("HorizontalPodAutoscaler"), "{}", parent_kinds(&ns).await);
    assert!(replicas_managers(&ns).contains(&"kubectl-mlflow".to_string()), "{:?}", replicas_managers(&ns));
    ns.delete().await;
}

/// `auth.databaseUriFrom` is a reference the preflight checks like the others: a missing Secret is
/// named before any write; once it exists, the server pod's init container reads it and the URI
/// is in no object the install writes.
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_auth_database_secret_is_checked_and_stays_out_of_every_object() {
    let ns = cluster().namespace("authdb").await;
    let auth = [
        "--set",
        "server.value_options.app_name=basic-auth",
        "--set",
        "auth.databaseUriFrom.secretKeyRef.name=auth-db",
        "--set",
        "auth.databaseUriFrom.secretKeyRef.key=uri",
        "--no-wait",
    ];
    let args = [&SCALABLE[..], &auth[..]].concat();
    let out = install(&ns, &args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("auth.databaseUriFrom: Secret auth-db not found"),
        "{}",
        text(&out)
    );
    assert!(members(&ns).await.is_empty(), "objects were written despite the error");
    ns.create_secret("auth-db", &[("uri", "postgresql://auth:hunter2@postgres:5432/auth")]).await;
    let out = install(&ns, &args);
    assert_ok(&out);
    assert!(!text(&out).contains("hunter2"), "the URI reached the output");
    let init = cluster().kubectl_stdout(&[
        "get",
        "deployment",
        "mlflow-mlflow",
        "-n",
        ns.name(),
        "-o",
        "jsonpath={.spec.template.spec.initContainers[0].name} {.spec.template.spec.initContainers[0].env[0].valueFrom.secretKeyRef.name}",
    ]);
    assert_eq!(init, "auth-config auth-db");
    let everything = cluster().kubectl_stdout(&["get", "deployment,secret,service", "-n", ns.name(), "-o", "yaml"]);
    let ini = ns.api::<Secret>().get("mlflow-mlflow-auth").await.unwrap().data.unwrap()["basic_auth.ini"].0.clone();
    let ini = String::from_utf8(ini).unwrap();
    assert!(!ini.contains("database_uri"), "{ini}");
    assert_eq!(everything.matches("hunter2").count(), 0, "only the user's Secret (base64) holds the password");
    ns.delete().await;
}
