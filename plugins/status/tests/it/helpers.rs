//! What the cluster tests share: the plugins run as processes against the test cluster, their
//! output, and `status -o json` read back.

use std::process::{Command, Output, Stdio};

pub use kubectl_mlflow_test_support::{assert_ok, text};
use kubectl_mlflow_test_support::{cluster, plugin_bin, repo_root, TestNamespace};
use serde_json::Value;

pub fn kubeconfig() -> String {
    cluster().kubeconfig().display().to_string()
}

/// A plugin of the workspace run as `NAME --kubeconfig K -n NS ARGS`, from the repository root.
pub fn plugin(name: &str, ns: &str, args: &[&str]) -> Output {
    plugin_with(name, &kubeconfig(), ns, args)
}

pub fn plugin_with(name: &str, kubeconfig: &str, ns: &str, args: &[&str]) -> Output {
    Command::new(plugin_bin(name))
        .current_dir(repo_root())
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT")
        .env("NO_COLOR", "1")
        .args(["--kubeconfig", kubeconfig, "-n", ns])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {name}: {e}"))
}

pub fn status(ns: &TestNamespace, args: &[&str]) -> Output {
    plugin("kubectl-mlflow-status", ns.name(), args)
}

/// `status -o json` (with `args`), its exit code and document.
pub fn status_json(ns: &TestNamespace, args: &[&str]) -> (Option<i32>, Value) {
    let out = status(ns, &[args, &["-o", "json"]].concat());
    let document =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON document ({e}): {}", text(&out)));
    (out.status.code(), document)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Exit code `code`, and every one of `expected` somewhere in the output.
pub fn assert_code(output: &Output, code: i32, expected: &[&str]) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
    for part in expected {
        assert!(text(output).contains(part), "expected {part:?} in {}", text(output));
    }
}

/// Asserts that no part of `secret` appears in any output.
pub fn assert_never_shown(output: &Output, secret: &str) {
    assert!(!text(output).contains(secret), "{secret:?} was shown: {}", text(output));
}
