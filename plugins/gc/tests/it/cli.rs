//! `kubectl mlflow gc` without a cluster: the Job it would run for rendered manifests, and bad
//! input refused with exit code 2 and nothing on stdout.

use assert_cmd::Command;
use kubectl_mlflow_test_support::process::{assert_bad_input, offline_plugin};
use serde_json::Value;

fn gc() -> Command {
    offline_plugin("kubectl-mlflow-gc")
}

/// `kubectl mlflow install --dry-run -o json` of a values file, written to a temp file.
fn manifests(dir: &tempfile::TempDir, values: &str) -> String {
    let out = offline_plugin("kubectl-mlflow-install")
        .args(["-n", "ml", "--dry-run", "-o", "json", "-f"])
        .arg(format!("tests/values/{values}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let path = dir.path().join(format!("{values}.json"));
    std::fs::write(&path, out.stdout).unwrap();
    path.display().to_string()
}

fn job(args: &[&str]) -> Value {
    let out = gc().args(args).args(["--dry-run", "-o", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn command(job: &Value) -> Vec<String> {
    job["spec"]["template"]["spec"]["containers"][0]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_job_runs_mlflow_gc_on_the_release_store_through_its_service() {
    let dir = tempfile::tempdir().unwrap();
    let file = manifests(&dir, "workspaces.yaml");
    let job = job(&["--manifests", &file, "--older-than", "7d", "--all-workspaces", "--run-ids", "a,b"]);
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["metadata"]["namespace"], "ml");
    assert_eq!(
        command(&job),
        [
            "mlflow",
            "gc",
            "--tracking-uri=http://mlflow-mlflow.ml.svc.cluster.local:5000",
            "--older-than=7d",
            "--all-workspaces",
            "--run-ids=a,b",
        ]
    );
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap();
    assert!(env.iter().any(
        |e| e["name"] == "MLFLOW_BACKEND_STORE_URI" && e["valueFrom"]["secretKeyRef"]["name"] == "mlflow-db-secret"
    ));
    let names: Vec<_> = env.iter().map(|e| e["name"].as_str().unwrap()).collect();
    let store = names.iter().position(|n| *n == "MLFLOW_BACKEND_STORE_URI").unwrap();
    for name in ["MLFLOW_TRACKING_URI", "MLFLOW_WORKSPACE_STORE_URI"] {
        let at = names.iter().position(|n| *n == name).unwrap_or_else(|| panic!("{name} missing: {names:?}"));
        assert!(at > store, "{name} must follow MLFLOW_BACKEND_STORE_URI to expand it: {names:?}");
        assert_eq!(env[at]["value"], "$(MLFLOW_BACKEND_STORE_URI)");
    }
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
}

#[test]
fn the_store_uri_stays_out_of_the_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let file = manifests(&dir, "quickstart.yaml");
    let job = job(&["--manifests", &file, "--logged-model-ids", "m-1,m-2", "--jobs"]);
    let command = command(&job);
    assert!(!command.iter().any(|a| a.contains("STORE_URI") || a.contains("sqlite")), "{command:?}");
    assert_eq!(command[command.len() - 2..], ["--logged-model-ids=m-1,m-2", "--jobs"]);
}

#[test]
fn with_a_gc_cronjob_the_job_is_made_from_its_template() {
    let dir = tempfile::tempdir().unwrap();
    let file = manifests(&dir, "gc.yaml");
    let job = job(&["--manifests", &file, "--run-ids", "r1"]);
    assert_eq!(job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual");
    assert_eq!(job["spec"]["backoffLimit"], 2, "the template's backoffLimit");
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["resources"]["limits"]["memory"], "512Mi", "the template's resources");
    assert_eq!(command(&job)[2..], ["--tracking-uri=http://mlflow-mlflow.ml.svc.cluster.local:5000", "--run-ids=r1"]);
}

#[test]
fn with_basic_auth_the_job_logs_in_as_the_admin() {
    let dir = tempfile::tempdir().unwrap();
    let file = manifests(&dir, "basic-auth.yaml");
    let job = job(&["--manifests", &file]);
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap();
    assert!(env.iter().any(|e| e["name"] == "MLFLOW_TRACKING_USERNAME" && e["value"] == "admin"));
    assert!(env
        .iter()
        .any(|e| e["name"] == "MLFLOW_TRACKING_PASSWORD" && e["valueFrom"]["secretKeyRef"]["key"] == "admin-password"));
}

fn refuses(args: &[&str], expected: &[&str]) {
    let out = gc().args(args).output().unwrap();
    assert_bad_input(&out, &format!("args {args:?}"), expected);
}

#[test]
fn bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let quick = manifests(&dir, "quickstart.yaml");
    refuses(&["--older-than", "30days", "--manifests", &quick, "--dry-run"], &["--older-than 30days: not a duration"]);
    refuses(&["--manifests", &quick], &["--dry-run"]);
    refuses(&["other", "--manifests", &quick, "--dry-run"], &["release other not found"]);
    refuses(
        &["--all-workspaces", "--manifests", &quick, "--dry-run"],
        &["--all-workspaces: the server does not run with workspaces"],
    );
    refuses(
        &["--manifests", "/nonexistent/release.yaml", "--dry-run"],
        &["--manifests /nonexistent/release.yaml: cannot read the file"],
    );
    refuses(&["--timeout", "soon"], &["--timeout", "is not a duration"]);
    refuses(
        &["--logged-model-ids", "m-1,m 2", "--run-ids", "a,", "--manifests", &quick, "--dry-run"],
        &["--logged-model-ids: \"m 2\" is not an id", "--run-ids: \"\" is not an id"],
    );
    refuses(&["--jobs=yes", "--manifests", &quick, "--dry-run"], &["--jobs"]);
    refuses(&[], &["no kubeconfig found"]);
}

#[test]
fn help_is_as_recorded() {
    let out = gc().arg("--help").output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}
