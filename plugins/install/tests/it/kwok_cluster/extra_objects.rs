//! `extraObjects` on the cluster: natively applied into the release's ApplySet (a ConfigMap, a
//! templated ConfigMap and an object of a CRD), pruned when the values drop them, deleted by
//! `kubectl mlflow uninstall`; refused before any write when the cluster does not serve the kind,
//! the object names another namespace, a cluster-scoped one lacks the rights, or a template is
//! beyond the native subset; owned by the helm release with `--helm`.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kubectl_mlflow_test_support::crd::{crd, install_crds};
use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::{assert_ok, cluster, plugin, text, TestNamespace};

use super::{install, kubeconfig_without_delete, parent_kinds, ID_LABEL};

/// A CRD of this test's own group: served by every KWOK cluster these tests run on, never deleted
/// (another run of this test may be using it).
const GROUP: &str = "extra-objects.kmlf.example.com";

fn widgets() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, "v1", "Widget"), "widgets")
}

/// A values file in a temporary directory.
fn values_file(dir: &tempfile::TempDir, yaml: &str) -> String {
    let path = dir.path().join("values.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.display().to_string()
}

const CONFIG_MAP: &str = "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: given}\n    data: {a: b}\n";

const TEMPLATED: &str = "  - |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: {{ include \"mlflow.fullname\" . }}-templated\n    data:\n      namespace: {{ .Release.Namespace | quote }}\n      repository: {{ .Values.image.repository | quote }}\n";

/// A suspended Job (no pod): applied as any object, not run as the migration Job.
const JOB: &str = "  - apiVersion: batch/v1\n    kind: Job\n    metadata: {name: extra-job}\n    spec:\n      suspend: true\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: busybox}]\n";

fn widget() -> String {
    format!("  - apiVersion: {GROUP}/v1\n    kind: Widget\n    metadata: {{name: gadget}}\n    spec: {{size: 3}}\n")
}

fn extra_objects(entries: &[&str]) -> String {
    format!("extraObjects:\n{}", entries.concat())
}

async fn stored_config_map(ns: &TestNamespace, name: &str) -> Option<ConfigMap> {
    ns.api::<ConfigMap>().get_opt(name).await.unwrap()
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn extra_objects_are_applied_into_the_applyset_pruned_and_uninstalled() {
    let client = cluster().client().await;
    install_crds(&client, &[crd(GROUP, "v1", "Widget", "widgets")]).await.unwrap();
    let ns = cluster().namespace("extras").await;
    let dir = tempfile::tempdir().unwrap();
    let widget = widget();
    let all = values_file(&dir, &extra_objects(&[CONFIG_MAP, TEMPLATED, &widget, JOB]));
    let out = install(&ns, &["--no-wait", "-f", &all]);
    assert_ok(&out);
    assert!(!text(&out).contains("migrat"), "the extra Job was taken for the migration: {}", text(&out));
    let job = ns.api::<Job>().get("extra-job").await.expect("the extra Job");
    assert!(job.metadata.labels.unwrap_or_default().contains_key(ID_LABEL));

    let given = stored_config_map(&ns, "given").await.expect("the ConfigMap given as an object");
    assert!(given.metadata.labels.unwrap_or_default().contains_key(ID_LABEL), "not in the ApplySet");
    let templated = stored_config_map(&ns, "mlflow-mlflow-templated").await.expect("the templated ConfigMap");
    let data = templated.data.unwrap_or_default();
    assert_eq!(data["namespace"], ns.name());
    assert_eq!(data["repository"], "ghcr.io/mlflow/mlflow");
    let widgets: Api<DynamicObject> = Api::namespaced_with(ns.client(), ns.name(), &widgets());
    let gadget = widgets.get("gadget").await.expect("the Widget");
    assert!(gadget.metadata.labels.unwrap_or_default().contains_key(ID_LABEL));
    assert_eq!(gadget.data["spec"]["size"], 3);
    let kinds = parent_kinds(&ns).await;
    assert!(kinds.contains("ConfigMap,") && kinds.contains(&format!("Widget.{GROUP}")), "{kinds}");

    // A run of its own process drops the Widget and the template: discovery finds the Widget's
    // kind again from the parent, and the prune deletes both.
    let fewer = values_file(&dir, &extra_objects(&[CONFIG_MAP]));
    let out = install(&ns, &["--no-wait", "-f", &fewer]);
    assert_ok(&out);
    assert!(text(&out).contains("pruned Widget/gadget"), "{}", text(&out));
    assert!(widgets.get_opt("gadget").await.unwrap().is_none(), "the dropped Widget is still there");
    assert!(stored_config_map(&ns, "mlflow-mlflow-templated").await.is_none());
    assert!(stored_config_map(&ns, "given").await.is_some());
    assert!(!parent_kinds(&ns).await.contains("Widget"), "{}", parent_kinds(&ns).await);

    // uninstall reads the kinds from the parent alone.
    assert_ok(&install(&ns, &["--no-wait", "-f", &all]));
    let uninstall = plugin("kubectl-mlflow-uninstall").args(ns.cluster_args()).args(["--timeout", "2m"]).output();
    assert_ok(&uninstall.unwrap());
    assert!(widgets.get_opt("gadget").await.unwrap().is_none(), "uninstall left the Widget");
    assert!(stored_config_map(&ns, "given").await.is_none(), "uninstall left the ConfigMap");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn extra_objects_the_cluster_or_the_user_cannot_take_are_refused_before_any_write() {
    let ns = cluster().namespace("extrasno").await;
    let dir = tempfile::tempdir().unwrap();
    let unserved = "  - {apiVersion: nothing.kmlf.example.com/v1, kind: Gadget, metadata: {name: g}}\n";
    let elsewhere = "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: kube-system}}\n";
    let cases = [
        (unserved, "extraObjects[0]: Gadget/g: the cluster does not serve kind Gadget of nothing.kmlf.example.com/v1"),
        (elsewhere, "extraObjects[0].metadata.namespace: ConfigMap/c names namespace kube-system"),
        (
            "  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: mlflow-mlflow}}\n",
            "extraObjects[0]: ServiceAccount/mlflow-mlflow is an object the chart renders already",
        ),
        (
            "  - \"{{ toYaml .Values.image }}\"\n",
            "extraObjects[0]: {{ toYaml .Values.image }} is beyond the templates the native engine evaluates",
        ),
    ];
    for (entry, expected) in cases {
        let file = values_file(&dir, &extra_objects(&[entry]));
        let out = install(&ns, &["--no-wait", "-f", &file]);
        assert_eq!(out.status.code(), Some(2), "{entry}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains(expected), "{entry}: {}", text(&out));
    }
    // A cluster-scoped object needs cluster rights, which a namespace's admin lacks.
    let kubeconfig = kubeconfig_without_delete(&ns, &dir).await;
    let cluster_role = format!(
        "  - {{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {{name: {}-extra}}, rules: []}}\n",
        ns.name()
    );
    let file = values_file(&dir, &extra_objects(&[CONFIG_MAP, &cluster_role]));
    let out = install(&ns, &["--kubeconfig", &kubeconfig, "--no-wait", "-f", &file]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("you may not create clusterroles.rbac.authorization.k8s.io"), "{stderr}");
    assert!(stored_config_map(&ns, "given").await.is_none(), "a refused run wrote an extra object");
    assert!(
        ns.api::<Secret>().get_opt("kubectl-mlflow.release.mlflow").await.unwrap().is_none(),
        "a refused run wrote the ApplySet parent"
    );
    let _ = cluster().kubectl_output(&[
        "delete",
        "clusterrole,clusterrolebinding",
        &format!("{}-read-namespaces", ns.name()),
    ]);
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn with_helm_extra_objects_belong_to_the_helm_release() {
    let ns = cluster().namespace("extrashelm").await;
    let dir = tempfile::tempdir().unwrap();
    // Beyond the native subset: helm renders it (the native engine refuses it, above).
    let upper = "  - |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: upper}\n    data:\n      repository: {{ .Values.image.repository | upper | quote }}\n";
    let file = values_file(&dir, &extra_objects(&[CONFIG_MAP, upper]));
    let helm = Helm::V4.binary().display().to_string();
    assert_ok(&install(&ns, &["--helm", "--helm-binary", &helm, "--no-wait", "-f", &file]));
    for name in ["given", "upper"] {
        let stored = stored_config_map(&ns, name).await.unwrap_or_else(|| panic!("ConfigMap {name} not made"));
        let annotations = stored.metadata.annotations.unwrap_or_default();
        assert_eq!(annotations.get("meta.helm.sh/release-name").map(String::as_str), Some("mlflow"), "{name}");
        assert_eq!(
            stored.metadata.labels.unwrap_or_default().get("app.kubernetes.io/managed-by").map(String::as_str),
            Some("Helm")
        );
    }
    let upper = stored_config_map(&ns, "upper").await.unwrap().data.unwrap_or_default();
    assert_eq!(upper["repository"], "GHCR.IO/MLFLOW/MLFLOW");
    let out = Helm::V4.on_cluster().args(["uninstall", "mlflow", "-n", ns.name(), "--wait"]).output().unwrap();
    assert!(out.status.success(), "helm uninstall: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stored_config_map(&ns, "given").await.is_none(), "helm uninstall left the extra object");
    ns.delete().await;
}
