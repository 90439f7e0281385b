//! `kubectl mlflow uninstall` against the test cluster (KWOK plays the pods and volumes): releases
//! of the native engine, of helm with this chart and of an official-chart-like chart are
//! removed, claims only when asked, and never another release's. Run by scripts/test with --ignored.

use std::process::Output;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Secret};
use kube::api::{Patch, PatchParams, PostParams};
use kubectl_mlflow_core::identity::{CREATED_BY_LABEL, SECRETS_CREATOR};
use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::process::assert_code;
use kubectl_mlflow_test_support::{assert_ok, cluster, deployment_guide, plugin, poll_until, text, TestNamespace};
use serde_json::json;

/// Everything namespaced a release can be made of (and what its workloads make).
const KINDS: &str = "deployment,replicaset,pod,service,serviceaccount,configmap,secret,role,rolebinding,persistentvolumeclaim,job,cronjob,ingress,networkpolicy,poddisruptionbudget,servicemonitor";

/// `kubectl mlflow install` on the namespace.
fn install(ns: &TestNamespace, args: &[&str]) -> Output {
    ns.run("kubectl-mlflow-install", args)
}

/// `kubectl mlflow uninstall` on the namespace, with no helm on PATH (only `--helm-binary`).
fn uninstall(ns: &TestNamespace, args: &[&str]) -> Output {
    plugin("kubectl-mlflow-uninstall")
        .env("PATH", "/nonexistent")
        .args(ns.cluster_args())
        .args(["--timeout", "2m"])
        .args(args)
        .write_stdin("")
        .output()
        .unwrap()
}

/// The objects (`kind/name`) labelled for a release.
fn labelled(ns: &TestNamespace, release: &str) -> Vec<String> {
    let selector = format!("app.kubernetes.io/name=mlflow,app.kubernetes.io/instance={release}");
    let out = cluster().kubectl_output(&["get", KINDS, "-n", ns.name(), "-l", &selector, "-o", "name"]).unwrap();
    let mut names: Vec<String> = out.lines().map(str::to_string).collect();
    names.sort();
    names
}

fn helm_releases(helm: Helm, ns: &TestNamespace) -> String {
    let out = helm.on_cluster().args(["list", "-q", "-n", ns.name()]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What `kubectl mlflow gc` leaves behind, and a Secret as `kubectl mlflow secrets` labels it.
async fn gc_job_and_secret(ns: &TestNamespace, release: &str) {
    let labels = json!({"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": release});
    let mut job_labels = labels.clone();
    job_labels["app.kubernetes.io/component"] = json!("gc");
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": format!("{release}-mlflow-gc-1"), "labels": job_labels},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": job_labels}, "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "gc", "image": "busybox", "command": ["true"]}]}}}
    }))
    .unwrap();
    ns.api::<Job>().create(&PostParams::default(), &job).await.unwrap();
    let mut secret_labels = labels;
    secret_labels[CREATED_BY_LABEL] = json!(SECRETS_CREATOR);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "mlflow-db-secret", "labels": secret_labels},
        "stringData": {"uri": "sqlite:////mlflow/mlflow.db"}
    }))
    .unwrap();
    ns.api::<Secret>().create(&PostParams::default(), &secret).await.unwrap();
}

/// Makes the volume of a claim keep its data when the claim goes, as an administrator would.
async fn retain_volume(ns: &TestNamespace, claim: &str) -> String {
    let pvc = ns.api::<PersistentVolumeClaim>().get(claim).await.unwrap();
    let volume = pvc.spec.unwrap().volume_name.expect("the claim is bound");
    let patch = json!({"spec": {"persistentVolumeReclaimPolicy": "Retain"}});
    let volumes = kube::Api::<PersistentVolume>::all(ns.client());
    volumes.patch(&volume, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    volume
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_native_release_goes_but_its_claim_and_then_the_claim_only_when_asked() {
    let ns = cluster().namespace("unnative").await;
    assert_ok(&install(&ns, &["--timeout", "3m"]));
    assert_ok(&install(&ns, &["other", "--no-wait"]));
    gc_job_and_secret(&ns, "mlflow").await;
    // Its pods may still be coming: the objects of the release itself are compared.
    let of_release = |names: Vec<String>| -> Vec<String> {
        names.into_iter().filter(|n| !n.starts_with("pod/") && !n.starts_with("replicaset.apps/")).collect()
    };
    let others = of_release(labelled(&ns, "other"));
    assert!(others.contains(&"persistentvolumeclaim/other-mlflow".to_string()), "{others:?}");

    let out = uninstall(&ns, &[]);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "deleted Deployment/mlflow-mlflow",
        "deleted Job/mlflow-mlflow-gc-1",
        "deleted Secret/kubectl-mlflow.release.mlflow",
        "kept PersistentVolumeClaim/mlflow-mlflow (",
        "kept Secret/mlflow-db-secret",
    ] {
        assert!(stdout.contains(line), "{line:?} in {}", text(&out));
    }
    assert!(text(&out).contains(&format!("kubectl delete pvc mlflow-mlflow -n {}", ns.name())), "{}", text(&out));
    assert_eq!(labelled(&ns, "mlflow"), ["persistentvolumeclaim/mlflow-mlflow", "secret/mlflow-db-secret"]);
    assert_eq!(of_release(labelled(&ns, "other")), others, "the other release was touched");

    let volume = retain_volume(&ns, "mlflow-mlflow").await;
    let out = uninstall(&ns, &["--delete-pvcs", "--delete-secrets", "--yes"]);
    assert_ok(&out);
    assert!(
        text(&out).contains(&format!(
            "PersistentVolume/{volume} of PersistentVolumeClaim/mlflow-mlflow has reclaim policy Retain"
        )),
        "{}",
        text(&out)
    );
    assert!(labelled(&ns, "mlflow").is_empty(), "{:?}", labelled(&ns, "mlflow"));
    assert_eq!(of_release(labelled(&ns, "other")), others, "the other release was touched");
    let volumes = kube::Api::<PersistentVolume>::all(ns.client());
    let released = poll_until(Duration::from_secs(60), || async {
        let pv = volumes.get(&volume).await.unwrap();
        pv.status.and_then(|s| s.phase).as_deref() == Some("Released")
    });
    assert!(released.await.is_ok(), "PersistentVolume/{volume} was not kept as Released");
    kube::Api::<PersistentVolume>::all(ns.client()).delete(&volume, &Default::default()).await.unwrap();

    assert_code(&uninstall(&ns, &[]), 1, &format!("release mlflow not found in namespace {}", ns.name()));
    assert_code(&uninstall(&ns, &["--ignore-not-found"]), 0, "release mlflow not found");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn without_a_terminal_or_yes_and_with_dry_run_nothing_is_deleted() {
    let ns = cluster().namespace("unrefuse").await;
    assert_ok(&install(&ns, &["--no-wait"]));
    let before = labelled(&ns, "mlflow");
    assert_code(&uninstall(&ns, &["--delete-pvcs"]), 2, "add --yes");
    let out = uninstall(&ns, &["--dry-run", "--delete-pvcs", "--delete-secrets"]);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "would delete Deployment/mlflow-mlflow",
        "would delete Service/mlflow-mlflow",
        "would delete Secret/kubectl-mlflow.release.mlflow",
        "would delete PersistentVolumeClaim/mlflow-mlflow (",
    ] {
        assert!(stdout.contains(line), "{line:?} in {}", text(&out));
    }
    assert_eq!(labelled(&ns, "mlflow"), before, "something was deleted");
    assert!(before.contains(&"deployment.apps/mlflow-mlflow".to_string()), "{before:?}");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_release_of_the_helm_engine_is_removed_with_helm() {
    let ns = cluster().namespace("unhelm").await;
    let helm = Helm::V4.binary().display().to_string();
    assert_ok(&install(&ns, &["--helm", "--helm-binary", &helm, "--no-wait"]));
    assert_eq!(helm_releases(Helm::V4, &ns), "mlflow");
    // A hook helm left (as a failed migration Job stays): the release's labels, no release annotations.
    let hook: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(json!({"metadata": {
        "name": "mlflow-mlflow-hook",
        "labels": {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": "mlflow", "app.kubernetes.io/managed-by": "Helm"},
        "annotations": {"helm.sh/hook": "pre-install,pre-upgrade"}}}))
    .unwrap();
    ns.api().create(&PostParams::default(), &hook).await.unwrap();
    assert_code(&uninstall(&ns, &[]), 2, "installed with helm");
    let out = uninstall(&ns, &["--helm-binary", &helm]);
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("deleted Secret/sh.helm.release.v1.mlflow.v1"),
        "{}",
        text(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted ConfigMap/mlflow-mlflow-hook"), "{}", text(&out));
    assert_eq!(labelled(&ns, "mlflow"), ["persistentvolumeclaim/mlflow-mlflow"]);
    assert_eq!(helm_releases(Helm::V4, &ns), "");
    ns.delete().await;
}

/// A chart labelled as the official MLflow chart labels its objects: no component label, and a
/// claim without `helm.sh/resource-policy: keep`.
fn official_like_chart(dir: &std::path::Path) {
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: mlflow\nversion: 1.0.0\nappVersion: \"3.17.2\"\n")
        .unwrap();
    let labels = "app.kubernetes.io/name: mlflow\n    app.kubernetes.io/instance: {{ .Release.Name }}";
    std::fs::write(
        templates.join("objects.yaml"),
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {{{{ .Release.Name }}}}-mlflow\n  labels:\n    {labels}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n---\n\
             apiVersion: v1\nkind: Service\nmetadata:\n  name: {{{{ .Release.Name }}}}-mlflow\n  labels:\n    {labels}\nspec:\n  ports: [{{port: 5000, name: http}}]\n  selector:\n    {labels}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ .Release.Name }}}}-mlflow\n  labels:\n    {labels}\nspec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: mlflow\n      app.kubernetes.io/instance: {{{{ .Release.Name }}}}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: mlflow\n        app.kubernetes.io/instance: {{{{ .Release.Name }}}}\n    spec:\n      containers:\n      - name: mlflow\n        image: burakince/mlflow:3.17.2\n"
        ),
    )
    .unwrap();
}

/// `helm install mlflow <official-like chart>` with that helm.
fn install_official_like(helm: Helm, ns: &TestNamespace) {
    let dir = tempfile::tempdir().unwrap();
    official_like_chart(dir.path());
    let install =
        helm.on_cluster().args(["install", "mlflow"]).arg(dir.path()).args(["-n", ns.name()]).output().unwrap();
    assert_ok(&install);
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_release_of_an_official_like_chart_is_removed_but_its_claim() {
    let ns = cluster().namespace("unofficial").await;
    let helm = Helm::V3;
    install_official_like(helm, &ns);
    let out = uninstall(&ns, &["--helm-binary", &helm.binary().display().to_string()]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted Deployment/mlflow-mlflow"), "{}", text(&out));
    // helm reads helm.sh/resource-policy from its stored manifest: it would take this claim, so
    // the release is removed object by object and the claim stays.
    assert!(text(&out).contains("deleted one by one"), "{}", text(&out));
    assert_eq!(labelled(&ns, "mlflow"), vec!["persistentvolumeclaim/mlflow-mlflow".to_string()]);
    assert_eq!(helm_releases(helm, &ns), "");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn an_official_like_release_with_delete_pvcs_goes_through_helm_entirely() {
    let ns = cluster().namespace("unofficialall").await;
    let helm = Helm::V4;
    install_official_like(helm, &ns);
    let out = uninstall(&ns, &["--helm-binary", &helm.binary().display().to_string(), "--delete-pvcs", "--yes"]);
    assert_ok(&out);
    assert!(!text(&out).contains("one by one"), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("deleted PersistentVolumeClaim/mlflow-mlflow"),
        "{}",
        text(&out)
    );
    assert!(labelled(&ns, "mlflow").is_empty(), "{:?}", labelled(&ns, "mlflow"));
    assert_eq!(helm_releases(helm, &ns), "");
    ns.delete().await;
}

/// The generated admin password of basic auth, as the release's auth Secret holds it.
async fn generated_admin_password(ns: &TestNamespace) -> Option<String> {
    ns.secret_value("mlflow-mlflow-auth", "admin-password").await
}

/// Basic auth as MLflow's Kubernetes deployment guide writes it, then uninstall and install again: the generated admin
/// password outlives the release with its claim (the admin user in the auth database on that claim
/// still has it), reported kept with the command that deletes it; the next install, by either
/// engine, takes it up again.
async fn the_generated_admin_password_outlives_the_release(engine: &[&str], helm: &[&str]) {
    let ns = cluster().namespace("unauth").await;
    cluster().shell(&deployment_guide::auth_secret(ns.name())).unwrap();
    let values = [engine, &["-f", "tests/values/basic-auth.yaml", "--no-wait"]].concat();
    assert_ok(&install(&ns, &values));
    let password = generated_admin_password(&ns).await.expect("a generated admin password");

    let out = uninstall(&ns, helm);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("kept Secret/mlflow-mlflow-auth"), "{}", text(&out));
    let delete = format!("kubectl delete secrets mlflow-mlflow-auth -n {}", ns.name());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&delete), "{}", text(&out));
    assert_eq!(generated_admin_password(&ns).await.as_deref(), Some(password.as_str()));
    // Once kept it is still the release's: named as left over, not as somebody else's object.
    let again = uninstall(&ns, &["--ignore-not-found"]);
    assert_ok(&again);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("left from an earlier uninstall") && stderr.contains(&delete), "{}", text(&again));
    assert!(!stderr.contains("left alone"), "{}", text(&again));

    assert_ok(&install(&ns, &values));
    assert_eq!(generated_admin_password(&ns).await, Some(password), "the reinstall made another password");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_generated_admin_password_outlives_a_native_release() {
    the_generated_admin_password_outlives_the_release(&[], &[]).await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn the_generated_admin_password_outlives_a_helm_release() {
    let helm = Helm::V4.binary().display().to_string();
    let binary = ["--helm-binary", helm.as_str()];
    the_generated_admin_password_outlives_the_release(&["--helm", binary[0], binary[1]], &binary).await;
}
