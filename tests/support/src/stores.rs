//! The production example's stores on the real node: PostgreSQL and an S3 API from
//! tests/real-node/manifests in a test's namespace, and the Secrets `kubectl mlflow secrets` makes
//! for them.

use std::path::PathBuf;
use std::time::Duration;

use crate::{assert_ok, cluster, repo_root, text, TestNamespace};

/// The database URI of tests/real-node/manifests/postgres.yaml (its password is a fixture).
pub const DB_URI: &str = "postgresql://mlflow:kmlf-real-node-pg@postgres:5432/mlflow";
/// The secret key the S3 server of tests/real-node/manifests/s3.yaml accepts.
pub const S3_SECRET_KEY: &str = "kmlf-real-node-s3-secret";

/// Applies PostgreSQL and S3 in `ns` and waits (5 min at most) until both are Available.
pub fn start_stores(ns: &TestNamespace) {
    let manifests = repo_root().join("tests/real-node/manifests");
    let file = |name: &str| manifests.join(name).display().to_string();
    cluster().kubectl_stdout(&["apply", "-n", ns.name(), "-f", &file("postgres.yaml"), "-f", &file("s3.yaml")]);
    wait_available(ns, &["deploy/postgres", "deploy/s3"], Duration::from_secs(300));
}

/// Waits until the Deployments are Available; panics with the pods and events otherwise.
pub fn wait_available(ns: &TestNamespace, deployments: &[&str], timeout: Duration) {
    let timeout = format!("--timeout={}s", timeout.as_secs());
    let mut args = vec!["wait", "-n", ns.name(), "--for=condition=Available", &timeout];
    args.extend(deployments);
    let ready = cluster().kubectl_output(&args);
    assert!(
        ready.is_ok(),
        "{deployments:?} not Available: {ready:?}\n{}",
        cluster().kubectl_stdout(&["get", "pods,events", "-n", ns.name()])
    );
}

/// The example's Secrets (`mlflow-db-secret`, `s3-credentials`) by `kubectl mlflow secrets`,
/// the secret values on stdin and never in its output; returns the file holding the s3
/// command's values snippet (the env list with the endpoint).
pub fn store_secrets(ns: &TestNamespace) -> PathBuf {
    let db = ns.run_with_stdin("kubectl-mlflow-secrets", &["db", "--uri", "-"], DB_URI);
    assert_ok(&db);
    let s3 = ns.run_with_stdin(
        "kubectl-mlflow-secrets",
        &[
            "s3",
            "--access-key-id",
            "kmlf-real-node",
            "--secret-access-key",
            "-",
            "--endpoint-url",
            "http://s3:9000",
            "--region",
            "us-east-1",
        ],
        S3_SECRET_KEY,
    );
    assert_ok(&s3);
    for out in [&db, &s3] {
        let all = text(out);
        assert!(
            !all.contains("kmlf-real-node-pg") && !all.contains(S3_SECRET_KEY),
            "a secret value was printed: {all}"
        );
    }
    let snippet = String::from_utf8_lossy(&s3.stdout).to_string();
    assert!(snippet.contains("MLFLOW_S3_ENDPOINT_URL"), "{snippet}");
    let file = std::env::temp_dir().join(format!("{}-s3-values.yaml", ns.name()));
    std::fs::write(&file, snippet).unwrap();
    file
}
