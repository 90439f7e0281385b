//! `kubectl mlflow gc` against the test cluster: it finds releases made by either engine by their
//! labels, and its Job completes (KWOK plays the pod). Run by scripts/test with --ignored.

use std::process::Output;

use assert_cmd::Command;
use k8s_openapi::api::batch::v1::Job;
use kube::api::ListParams;
use kubectl_mlflow_chart_tests::Helm;
use kubectl_mlflow_test_support::{cluster, repo_root, TestNamespace};

fn run(bin: &str, ns: &TestNamespace, args: &[&str]) -> Output {
    let kubeconfig = cluster().kubeconfig().display().to_string();
    let mut cmd = if bin == "kubectl-mlflow-gc" {
        Command::cargo_bin(bin).unwrap()
    } else {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["run", "-q", "-p", bin, "--"]);
        cmd
    };
    cmd.current_dir(repo_root()).env_remove("HELM_NAMESPACE").args(["--kubeconfig", &kubeconfig, "-n", ns.name()]).args(args).output().unwrap()
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn gc_completes(ns: &TestNamespace) {
    assert_ok(&run("kubectl-mlflow-gc", ns, &["--older-than", "30d", "--timeout", "2m"]));
    let jobs = ns.api::<Job>().list(&ListParams::default().labels("app.kubernetes.io/component=gc")).await.unwrap();
    assert_eq!(jobs.items.len(), 1);
    let job = &jobs.items[0];
    assert_eq!(job.status.as_ref().and_then(|s| s.succeeded), Some(1));
    let command = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0].command.clone().unwrap();
    assert!(command.contains(&"--older-than=30d".to_string()), "{command:?}");
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn gc_runs_on_a_natively_installed_release() {
    let ns = cluster().namespace("gcnative").await;
    assert_ok(&run("kubectl-mlflow-install", &ns, &["--no-wait"]));
    gc_completes(&ns).await;
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn gc_runs_on_a_release_installed_with_helm() {
    let ns = cluster().namespace("gchelm").await;
    let helm = Helm::V4.binary().display().to_string();
    assert_ok(&run("kubectl-mlflow-install", &ns, &["--helm", "--helm-binary", &helm, "--no-wait"]));
    gc_completes(&ns).await;
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_missing_release_is_named() {
    let ns = cluster().namespace("gcmissing").await;
    let out = run("kubectl-mlflow-gc", &ns, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("release mlflow not found in namespace {}", ns.name())));
    ns.delete().await;
}
