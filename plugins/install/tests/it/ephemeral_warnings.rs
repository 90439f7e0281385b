//! `kubectl mlflow install` with the official MLflow chart's CI values (mlflow/mlflow
//! .github/workflows/helm.yml): stores on the pod's /tmp are accepted, `--dry-run` included, with
//! a warning on stderr that their data is lost on a restart and how to keep it; nothing of it on
//! stdout. A path on the read-only root stays refused.

use assert_cmd::Command;

fn install() -> Command {
    let mut cmd = Command::cargo_bin("kubectl-mlflow-install").unwrap();
    cmd.env("KUBECONFIG", "/nonexistent/kubeconfig").env_remove("HELM_NAMESPACE").env_remove("HELM_KUBECONTEXT");
    cmd
}

#[test]
fn a_store_on_the_pods_tmp_is_installed_with_a_warning() {
    let out = install()
        .args(["mlflow", "--set", "mlflow.backendStoreUri=sqlite:////tmp/mlflow.db"])
        .args(["--set", "mlflow.artifactsDestination=/tmp/mlartifacts", "--set", "fullnameOverride=mlflow"])
        .args(["--dry-run", "-o", "yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("value: sqlite:////tmp/mlflow.db"), "{stdout}");
    assert!(!stdout.contains("warning"), "{stdout}");
    for line in [
        "warning: mlflow.backendStoreUri: \"sqlite:////tmp/mlflow.db\": /tmp/mlflow.db is on the pod's /tmp, an emptyDir: the data is lost when the pod restarts (to keep it, set storage.enabled: true and put it under storage.mountPath, e.g. sqlite:////mlflow/mlflow.db)",
        "warning: mlflow.artifactsDestination: \"/tmp/mlartifacts\": /tmp/mlartifacts is on the pod's /tmp, an emptyDir: the data is lost when the pod restarts (to keep it, set storage.enabled: true and put it under storage.mountPath, e.g. /mlflow/artifacts)",
    ] {
        assert!(stderr.lines().any(|l| l == line), "no line {line:?} in:\n{stderr}");
    }
}

#[test]
fn a_store_on_the_read_only_root_stays_refused() {
    let out = install()
        .args(["mlflow", "--set", "mlflow.backendStoreUri=sqlite:////var/lib/mlflow.db", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: mlflow.backendStoreUri: \"sqlite:////var/lib/mlflow.db\": /var/lib/mlflow.db is on no writable volume"), "{stderr}");
    assert!(out.stdout.is_empty());
}
