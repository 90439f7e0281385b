//! Every duration flag refuses what is not a duration — too long, negative, words, empty — with
//! exit code 2 and one error line, never a panic.

use assert_cmd::Command;
use kubectl_mlflow_test_support::assert_refused_in_one_line;

fn refused(args: &[&str]) {
    let out = Command::cargo_bin("kubectl-mlflow-gc")
        .unwrap()
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .args(args)
        .args(["--manifests", "/nonexistent/release.yaml", "--dry-run"])
        .output()
        .unwrap();
    assert_refused_in_one_line(&out, "duration");
}

#[test]
fn bad_timeouts_and_ages_are_refused() {
    for value in ["99999999999999999999h", "-5m", "five minutes", ""] {
        refused(&[&format!("--timeout={value}")]);
    }
    for value in ["99999999999999999999d", "-1d", "thirty days", ""] {
        refused(&[&format!("--older-than={value}")]);
    }
}
