//! The commands of MLflow's Kubernetes deployment guide
//! (<https://mlflow.org/docs/latest/self-hosting/kubernetes-helm/>) for the Secrets its values
//! refer to ("Production Deployment" and "Basic HTTP Auth"), line for line, with the test's namespace for `mlflow` and values for its
//! `<key>`-style placeholders. Run them with [`crate::Cluster::shell`].

use std::path::Path;

/// `mlflow-db-secret/uri`, the guide's example URI as written.
pub fn db_secret(namespace: &str) -> String {
    format!(
        "kubectl create secret generic mlflow-db-secret \\\n\
         --namespace {namespace} \\\n\
         --from-literal=uri=\"postgresql://user:password@postgres:5432/mlflow\""
    )
}

/// `s3-credentials/{access-key-id,secret-access-key}`.
pub fn s3_secret(namespace: &str, key: &str, secret: &str) -> String {
    format!(
        "kubectl create secret generic s3-credentials \\\n\
         --namespace {namespace} \\\n\
         --from-literal=access-key-id={key} \\\n\
         --from-literal=secret-access-key={secret}"
    )
}

/// `mlflow-tls` from `tls.crt` and `tls.key` in the working directory (see [`self_signed`]).
pub fn tls_secret(namespace: &str) -> String {
    format!(
        "kubectl create secret tls mlflow-tls \\\n\
         --namespace {namespace} \\\n\
         --cert=tls.crt \\\n\
         --key=tls.key"
    )
}

/// `mlflow-auth-secret/secret-key`: the CSRF key only, no admin password.
pub fn auth_secret(namespace: &str) -> String {
    format!(
        "kubectl create secret generic mlflow-auth-secret \\\n\
         --namespace {namespace} \\\n\
         --from-literal=secret-key=\"$(openssl rand -hex 32)\""
    )
}

/// Writes a self-signed `tls.crt` and `tls.key` for `host` into `dir` (openssl).
pub fn self_signed(dir: &Path, host: &str) {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
        .args(["-keyout", "tls.key", "-out", "tls.crt", "-subj", &format!("/CN={host}")])
        .args(["-addext", &format!("subjectAltName=DNS:{host}")])
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl req: {}", String::from_utf8_lossy(&out.stderr));
}
