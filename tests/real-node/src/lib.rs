//! MLflow on the real node of `scripts/test-cluster up --real`. The tests are in `tests/it/`:
//! `real_node.rs` (the quick start, GC, auth, metrics, fail-fast) and `production.rs` (the
//! seed's production path: PostgreSQL and S3 in the cluster). Run them with
//! `cargo test -p kubectl-mlflow-real-node-tests -- --ignored --test-threads=1` once that
//! cluster is up and `cargo build -p kubectl-mlflow-install -p kubectl-mlflow-uninstall
//! -p kubectl-mlflow-gc -p kubectl-mlflow-secrets` has built the plugins.
//!
//! This library holds what those tests share: the plugins run as processes, helm and kubectl,
//! and the Ready pods of a selector.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kubectl_mlflow_test_support::{cluster, plugin_bin, repo_root, TestNamespace};

/// A namespace for one test, after checking that the cluster's node is the real one.
pub async fn real_namespace(prefix: &str) -> TestNamespace {
    cluster().require_real_node();
    cluster().namespace(prefix).await
}

/// The plugin `name` run as `NAME ARGS --kubeconfig ... -n NS` from the repository root (the
/// cluster flags last: `kubectl-mlflow-secrets` takes them after its subcommand), with `stdin` as
/// its standard input (empty when `None`).
pub fn run_plugin(name: &str, ns: &TestNamespace, args: &[&str], stdin: Option<&str>) -> Output {
    let kubeconfig = cluster().kubeconfig().display().to_string();
    let mut child = Command::new(plugin_bin(name))
        .current_dir(repo_root())
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT")
        .args(args)
        .args(["--kubeconfig", &kubeconfig, "-n", ns.name()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {name}: {e}"));
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// A process's stdout and stderr, for a failure message.
pub fn text(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Panics with the output unless the process succeeded.
pub fn assert_ok(output: &Output) {
    assert!(output.status.success(), "failed: {}", text(output));
}

/// helm 4.1 (`scripts/k8s-tools path v35`).
pub fn helm() -> PathBuf {
    let out = Command::new(repo_root().join("scripts/k8s-tools")).args(["path", "v35"]).output().unwrap();
    assert!(out.status.success(), "scripts/k8s-tools path v35: {}", text(&out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("helm")
}

/// kubectl's stdout; panics with its stderr on failure.
pub fn kubectl(args: &[&str]) -> String {
    cluster().kubectl_output(args).unwrap_or_else(|e| panic!("{e}"))
}

/// The pods of `selector` in `ns` that are Ready and not being deleted.
pub async fn ready_pods(ns: &TestNamespace, selector: &str) -> Vec<Pod> {
    let pods = ns.api::<Pod>().list(&ListParams::default().labels(selector)).await.unwrap();
    pods.items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .collect()
}
