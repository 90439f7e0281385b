//! `kubectl mlflow secrets oidc` without a cluster: its help, the two Secrets of `--dry-run -o
//! yaml` (the cookie secret generated: 32 random bytes), the values snippet, and bad input refused
//! with exit code 2, every flag named at once, nothing on stdout.

use assert_cmd::Command;
use base64::Engine;
use kubectl_mlflow_test_support::process::offline_plugin;
use serde::Deserialize;
use serde_json::Value;

fn bin() -> Command {
    offline_plugin("kubectl-mlflow-secrets")
}

fn decoded(secret: &Value, key: &str) -> Vec<u8> {
    let text = secret["data"][key].as_str().unwrap_or_else(|| panic!("no key {key} in {secret}"));
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn documents(yaml: &[u8]) -> Vec<Value> {
    serde_yaml::Deserializer::from_slice(yaml).map(|doc| Value::deserialize(doc).unwrap()).collect()
}

#[test]
fn help_is_as_recorded() {
    let out = bin().args(["oidc", "--help"]).output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!("help_oidc", String::from_utf8(out.stdout).unwrap());
}

#[test]
fn both_secrets_with_a_generated_cookie_secret() {
    let out = bin()
        .args(["oidc", "-n", "ml", "--client-id", "mlflow", "--client-secret", "-", "--dry-run", "-o", "yaml"])
        .write_stdin("s3cret-of-the-client\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let docs = documents(&out.stdout);
    assert_eq!(docs.len(), 2, "{docs:?}");
    let (client, cookie) = (&docs[0], &docs[1]);
    assert_eq!(client["metadata"]["name"], "mlflow-oidc-client");
    assert_eq!(client["metadata"]["namespace"], "ml");
    assert_eq!(client["metadata"]["labels"]["app.kubernetes.io/created-by"], "kubectl-mlflow-secrets");
    assert_eq!(decoded(client, "client-id"), b"mlflow");
    assert_eq!(decoded(client, "client-secret"), b"s3cret-of-the-client");
    assert_eq!(cookie["metadata"]["name"], "mlflow-oidc-cookie");
    let secret = String::from_utf8(decoded(cookie, "cookie-secret")).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE.decode(&secret).unwrap();
    assert_eq!(raw.len(), 32, "the cookie secret is 32 random bytes in base64: {secret}");
}

#[test]
fn the_snippet_points_the_values_at_both_secrets() {
    let out = bin()
        .args(["oidc", "--client-id", "mlflow", "--client-secret", "x", "--name", "sso-client"])
        .args([
            "--cookie-secret-name",
            "sso-cookie",
            "--issuer-url",
            "https://login.example.com/realms/ml",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let snippet: Value = serde_yaml::from_slice(&out.stdout).unwrap();
    assert_eq!(
        snippet,
        serde_json::json!({"oidc": {"enabled": true, "clientSecretName": "sso-client", "cookieSecretName": "sso-cookie", "issuerUrl": "https://login.example.com/realms/ml"}})
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("/oauth2/callback"), "{stderr}");
}

#[test]
fn a_given_cookie_secret_of_a_length_oauth2_proxy_takes() {
    for good in ["0123456789abcdef", "0123456789abcdef01234567", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="] {
        let out = bin()
            .args(["oidc", "--client-id", "c", "--client-secret", "s", "--cookie-secret", good, "--dry-run"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{good}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn bad_input_is_refused_at_once_before_the_cluster_is_asked() {
    let out = bin()
        .args(["oidc", "--client-id", "my client", "--client-secret", "-", "--cookie-secret", "too-short"])
        .args(["--name", "Client", "--cookie-secret-name", "Client", "--issuer-url", "login.example.com", "-o", "yaml"])
        .write_stdin("\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!("refused_oidc", String::from_utf8(out.stderr).unwrap());
    let same_names = bin()
        .args(["oidc", "--client-id", "c", "--client-secret", "s", "--cookie-secret-name", "mlflow-oidc-client"])
        .output()
        .unwrap();
    assert_eq!(same_names.status.code(), Some(2));
    let stderr = String::from_utf8(same_names.stderr).unwrap();
    assert!(
        stderr.contains("--cookie-secret-name: \"mlflow-oidc-client\" is the client Secret's name too (--name)"),
        "{stderr}"
    );
}
