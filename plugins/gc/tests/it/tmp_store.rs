//! `kubectl mlflow gc` on a release whose backend store is in the server pod's /tmp (as the
//! official chart's CI installs it): refused with exit code 2, since the Job's pod has a /tmp of
//! its own and `mlflow gc` would collect an empty store.

use assert_cmd::Command;

#[test]
fn a_store_in_the_server_pods_tmp_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = std::process::Command::new(kubectl_mlflow_test_support::plugin_bin("kubectl-mlflow-install"))
        .args(["-n", "ml", "--dry-run", "-o", "json", "-f"])
        .arg(format!("{repo}/tests/values/tmp-stores.yaml"))
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifests = dir.path().join("release.json");
    std::fs::write(&manifests, out.stdout).unwrap();
    let out = Command::cargo_bin("kubectl-mlflow-gc")
        .unwrap()
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .args(["--manifests", &manifests.display().to_string(), "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot make a GC Job for release mlflow: its backend store /tmp/mlflow.db is in the server pod's emptyDir (/tmp)"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
