//! Without a cluster: the help as recorded, the command in the multicall binary, and bad input
//! refused with exit code 2 before any API call, nothing on stdout.

use std::process::Output;

use assert_cmd::Command;

fn run(args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("kubectl-mlflow-check").unwrap();
    cmd.env("COLUMNS", "100")
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .timeout(std::time::Duration::from_secs(60))
        .args(args)
        .output()
        .unwrap()
}

/// Exit code `code`, nothing on stdout; stderr as recorded.
fn refused(args: &[&str], code: i32) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout {}", String::from_utf8_lossy(&out.stdout));
    stderr
}

#[test]
fn help_is_as_recorded() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn usage_errors_are_as_recorded() {
    insta::assert_snapshot!("artifact_size_zero", refused(&["--artifact-size", "0"], 2));
    insta::assert_snapshot!("artifact_size_too_big", refused(&["--artifact-size", "2GiB"], 2));
    insta::assert_snapshot!("artifact_size_unit", refused(&["--artifact-size", "5mb"], 2));
    insta::assert_snapshot!("output_format", refused(&["-o", "table"], 2));
    insta::assert_snapshot!("unknown_flag", refused(&["--insecur"], 2));
}

#[test]
fn bad_input_is_refused_before_any_api_call() {
    assert!(refused(&["Not_A_Release"], 2).contains("error: release name"));
    assert!(refused(&["--timeout", "soon"], 2).contains("is not a duration"));
    let missing = refused(&["--password-file", "/nonexistent/password"], 2);
    assert!(missing.contains("error: --password-file /nonexistent/password: "), "{missing}");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let empty = refused(&["--password-file", empty.to_str().unwrap()], 2);
    assert!(empty.contains("the file is empty"), "{empty}");
}

#[test]
fn no_kubeconfig_is_input_to_fix() {
    assert!(refused(&[], 2).contains("no kubeconfig found"));
}

/// `kubectl mlflow check` and `helm mlflow check` run the same code: the multicall binary's help
/// of the command is this binary's, under its name there.
#[test]
fn the_multicall_binary_runs_it() {
    let multicall = kubectl_mlflow_test_support::plugin_bin("kubectl-mlflow");
    let out = std::process::Command::new(multicall).args(["check", "--help"]).env("COLUMNS", "100").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let own = run(&["--help"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&own.stdout));
    let listing = std::process::Command::new(kubectl_mlflow_test_support::plugin_bin("kubectl-mlflow"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listing.stdout).contains("\n  check "),
        "{}",
        String::from_utf8_lossy(&listing.stdout)
    );
}
