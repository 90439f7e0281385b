//! The model is the bottom layer: it must not pull in a Kubernetes client, an async runtime or
//! terminal code, directly or through another crate (arrows point down only).

use std::process::Command;

/// Crates that belong to the layers above the model.
const FORBIDDEN: [&str; 6] = ["kube", "kube-client", "kube-runtime", "tokio", "indicatif", "clap"];

#[test]
fn the_model_depends_on_no_client_runtime_or_terminal_crate() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "-p",
            "kubectl-mlflow-model",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let crates: Vec<&str> = tree.lines().filter_map(|line| line.split_whitespace().next()).collect();
    assert!(crates.contains(&"kube-core") && crates.contains(&"k8s-openapi"), "the tree was not read:\n{tree}");
    let found: Vec<&&str> = crates.iter().filter(|name| FORBIDDEN.contains(name)).collect();
    assert!(found.is_empty(), "kubectl-mlflow-model depends on {found:?}:\n{tree}");
}
