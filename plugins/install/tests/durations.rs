//! Every duration flag refuses what is not a duration — too long, negative, words, empty — with
//! exit code 2 and one error line, never a panic.

use assert_cmd::Command;

fn refused(args: &[&str]) {
    let out = Command::cargo_bin("kubectl-mlflow-install")
        .unwrap()
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .args(args)
        .args(["--dry-run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
    assert!(errors[0].contains("duration"), "{args:?}: {stderr}");
}

#[test]
fn bad_timeouts_are_refused() {
    for value in ["99999999999999999999h", "-5m", "five minutes", "", "1e400s"] {
        refused(&[&format!("--timeout={value}")]);
    }
}
