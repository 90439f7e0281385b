//! `--reuse-values` on releases helm made, against the test cluster: the values come from
//! `helm get values`, or the install is refused (exit 2, nothing written) — never the defaults.

use std::process::Output;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Service;
use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::process::assert_bad_input;
use kubectl_mlflow_test_support::{cluster, text, TestNamespace};

fn install(ns: &TestNamespace, args: &[&str]) -> Output {
    ns.run("kubectl-mlflow-install", &[&["--timeout", "3m"], args].concat())
}

/// Runs real helm 4 against the test cluster.
fn helm(args: &[&str]) -> Output {
    Helm::V4.on_cluster().args(args).output().unwrap()
}

fn assert_refused(output: &Output, expected: &str) {
    assert_bad_input(output, "--reuse-values", &[expected]);
}

fn helm_binary() -> String {
    Helm::V4.binary().display().to_string()
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_release_helm_made_reuses_its_values_from_helm() {
    let ns = cluster().namespace("reuse-helm").await;
    let out = helm(&[
        "install",
        "mlflow",
        "./charts",
        "--namespace",
        ns.name(),
        "--set",
        "storage.enabled=true",
        "--set",
        "mlflow.backendStoreUri=sqlite:////mlflow/mlflow.db",
        "--set",
        "garbageCollection.enabled=true",
    ]);
    assert!(out.status.success(), "helm install: {}", text(&out));
    let out = install(
        &ns,
        &["--helm", "--helm-binary", &helm_binary(), "--no-wait", "--reuse-values", "--set", "service.type=NodePort"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let service = ns.api::<Service>().get("mlflow-mlflow").await.unwrap();
    assert_eq!(service.spec.unwrap().type_.as_deref(), Some("NodePort"));
    assert!(ns.api::<CronJob>().get_opt("mlflow-mlflow-gc").await.unwrap().is_some(), "the reused GC setting was lost");
    let values =
        String::from_utf8_lossy(&helm(&["get", "values", "mlflow", "-n", ns.name(), "-o", "json"]).stdout).into_owned();
    assert!(values.contains("sqlite:////mlflow/mlflow.db") && values.contains("NodePort"), "{values}");
    ns.delete().await;
}

/// A chart of another shape (as the official MLflow chart's values are), installed by helm.
fn foreign_chart(dir: &std::path::Path) -> String {
    let chart = dir.join("mlflow");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: mlflow\nversion: 1.0.0\n").unwrap();
    std::fs::write(chart.join("values.yaml"), "backendStore:\n  databaseMigration: false\n").unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: foreign\ndata: {}\n",
    )
    .unwrap();
    chart.display().to_string()
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn values_of_another_chart_are_refused_before_any_write() {
    let ns = cluster().namespace("reuse-foreign").await;
    let dir = tempfile::tempdir().unwrap();
    let out = helm(&[
        "install",
        "mlflow",
        &foreign_chart(dir.path()),
        "--namespace",
        ns.name(),
        "--set",
        "backendStore.databaseMigration=true",
    ]);
    assert!(out.status.success(), "helm install: {}", text(&out));
    for engine in [&["--helm", "--helm-binary", &helm_binary()][..], &["--helm-binary", &helm_binary()][..]] {
        let out = install(&ns, &[engine, &["--no-wait", "--reuse-values"][..]].concat());
        assert_refused(&out, "values of helm release mlflow (helm get values): backendStore: unknown key");
    }
    assert!(ns.api::<Deployment>().get_opt("mlflow-mlflow").await.unwrap().is_none(), "something was written");
    let out = install(&ns, &["--no-wait", "--reuse-values", "--helm-binary", "/nonexistent/helm"]);
    assert_refused(&out, "release mlflow was made by helm, and its values are read with helm get values: --helm-binary /nonexistent/helm: not an executable");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn no_release_means_no_values_to_reuse() {
    let ns = cluster().namespace("reuse-none").await;
    let out = install(&ns, &["--no-wait", "--reuse-values", "--set", "service.type=NodePort"]);
    assert_refused(&out, "--reuse-values: release mlflow is not installed in namespace");
    assert!(ns.api::<Deployment>().get_opt("mlflow-mlflow").await.unwrap().is_none(), "the defaults were installed");
    ns.delete().await;
}
