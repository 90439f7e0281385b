//! Every duration flag refuses what is not a duration — too long, negative, words, empty — with
//! exit code 2 and one error line, never a panic.

use kubectl_mlflow_test_support::process::{assert_refused_in_one_line, offline_plugin};

fn refused(args: &[&str]) {
    let out = offline_plugin("kubectl-mlflow-gc")
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
