//! `kubectl mlflow secrets` without a cluster: help, the Secrets of `--dry-run -o`, and bad input
//! refused with exit code 2, the flag named, nothing on stdout.

use std::path::Path;

use assert_cmd::Command;
use kubectl_mlflow_core::identity::{CREATED_BY_LABEL, SECRETS_CREATOR};
use kubectl_mlflow_test_support::process::{assert_bad_input, offline_plugin};
use kubectl_mlflow_test_support::values::write_file;
use serde_json::Value;

fn bin() -> Command {
    offline_plugin("kubectl-mlflow-secrets")
}

/// A certificate for `mlflow.example.com` and its key made by rcgen, valid from `from` to `to`
/// days relative to now.
fn pair(dir: &Path, stem: &str, from: i64, to: i64) -> (String, String) {
    certificate_pair(dir, stem, "mlflow.example.com", from, to)
}

/// A certificate for `host` and its key made by rcgen (`STEM.crt`, `STEM.key` in `dir`), valid
/// from `from` to `to` days relative to now.
pub fn certificate_pair(dir: &Path, stem: &str, host: &str, from: i64, to: i64) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(from);
    params.not_after = now + time::Duration::days(to);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (
        write_file(dir, &format!("{stem}.crt"), &cert.pem()),
        write_file(dir, &format!("{stem}.key"), &key.serialize_pem()),
    )
}

fn dry_run_json(args: &[&str]) -> Value {
    let out = bin().args(args).args(["-n", "ml", "--dry-run", "-o", "json"]).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn decoded(secret: &Value, key: &str) -> String {
    use base64::Engine;
    let text = secret["data"][key].as_str().unwrap_or_else(|| panic!("no key {key} in {secret}"));
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap()
}

#[test]
fn the_secrets_have_the_documented_names_keys_and_labels() {
    let db = dry_run_json(&["db", "--uri", "postgresql://mlflow:pw123@postgres:5432/mlflow"]);
    assert_eq!(db["kind"], "Secret");
    assert_eq!(db["metadata"]["name"], "mlflow-db-secret");
    assert_eq!(db["metadata"]["namespace"], "ml");
    assert_eq!(db["metadata"]["labels"]["app.kubernetes.io/name"], "mlflow");
    assert_eq!(db["metadata"]["labels"]["app.kubernetes.io/instance"], "mlflow");
    assert_eq!(db["metadata"]["labels"][CREATED_BY_LABEL], SECRETS_CREATOR);
    assert_eq!(decoded(&db, "uri"), "postgresql://mlflow:pw123@postgres:5432/mlflow");
    let s3 = dry_run_json(&[
        "s3",
        "--access-key-id",
        "AKIAEXAMPLE",
        "--secret-access-key",
        "abc/def",
        "--region",
        "eu-west-1",
        "--release",
        "prod",
    ]);
    assert_eq!(s3["metadata"]["name"], "s3-credentials");
    assert_eq!(s3["metadata"]["labels"]["app.kubernetes.io/instance"], "prod");
    assert_eq!(decoded(&s3, "secret-access-key"), "abc/def");
    assert_eq!(decoded(&s3, "region"), "eu-west-1");
    let auth = dry_run_json(&["auth"]);
    assert_eq!(auth["metadata"]["name"], "mlflow-auth-secret");
    assert_eq!(decoded(&auth, "admin-username"), "admin");
    assert_eq!(decoded(&auth, "secret-key").len(), 64);
    assert!(decoded(&auth, "admin-password").len() >= 12);
    let tls = dry_run_json(&["tls", "--self-signed", "--host", "mlflow.example.com"]);
    assert_eq!(tls["type"], "kubernetes.io/tls");
    assert!(decoded(&tls, "tls.crt").starts_with("-----BEGIN CERTIFICATE-----"));
    let azure = dry_run_json(&["azure", "--account-name", "myaccount", "--account-key", "a2V5a2V5a2V5"]);
    assert_eq!(decoded(&azure, "AZURE_STORAGE_ACCESS_KEY"), "a2V5a2V5a2V5");
}

#[test]
fn values_come_from_files_and_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "uri.txt", "mysql+pymysql://u:from-file@db/m\n");
    assert_eq!(
        decoded(&dry_run_json(&["db", "--uri", &format!("@{file}")]), "uri"),
        "mysql+pymysql://u:from-file@db/m"
    );
    let out = bin()
        .args(["s3", "--access-key-id", "AKIA", "--secret-access-key", "-", "--dry-run", "-o", "json"])
        .write_stdin("from-stdin\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decoded(&secret, "secret-access-key"), "from-stdin");
}

#[test]
fn without_output_a_dry_run_prints_the_snippet_that_references_the_secret() {
    let out = bin().args(["auth", "--name", "auth", "--admin-username", "root", "--dry-run"]).output().unwrap();
    assert!(out.status.success());
    let snippet: Value = serde_yaml::from_slice(&out.stdout).unwrap();
    assert_eq!(snippet["server"]["value_options"]["app_name"], "basic-auth");
    assert_eq!(snippet["auth"]["adminUsername"], "root");
    assert_eq!(snippet["auth"]["adminPasswordFrom"]["secretKeyRef"]["name"], "auth");
    assert_eq!(snippet["auth"]["adminPasswordFrom"]["secretKeyRef"]["key"], "admin-password");
    assert_eq!(snippet["env"][0]["valueFrom"]["secretKeyRef"]["key"], "secret-key");
}

fn refuses(args: &[&str], stdin: &str, expected: &[&str]) {
    let out = bin().args(args).write_stdin(stdin).output().unwrap();
    assert_bad_input(&out, &format!("args {args:?}"), expected);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("hunter2"), "args {args:?}: a password shows in:\n{stderr}");
}

#[test]
fn bad_input_is_refused_before_the_cluster_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (cert, key) = pair(d, "good", -1, 90);
    let (_, other_key) = pair(d, "other", -1, 90);
    let (expired_cert, expired_key) = pair(d, "expired", -100, -10);
    let not_pem = write_file(d, "not.pem", "hello\n");
    let user_json = write_file(d, "user.json", r#"{"type": "authorized_user", "client_id": "x"}"#);
    let not_json = write_file(d, "bad.json", "{type: service_account");
    let pg = "postgresql://u:hunter2@db/m";
    let cases: Vec<(Vec<&str>, &str, Vec<&str>)> = vec![
        (vec!["db", "--uri", "postgresql//u:hunter2@db/m"], "", vec!["--uri: ", "not a database URL", "u:***@"]),
        (vec!["db", "--uri", "oracle://u:hunter2@db/m"], "", vec!["--uri: ", "MLflow cannot store in \"oracle\""]),
        (vec!["db", "--uri", "postgres://u:hunter2@db/m"], "", vec!["--uri: ", "write postgresql:// instead"]),
        (vec!["db", "--uri", "postgresql://u:hunter2@db:5432"], "", vec!["--uri: ", "names no database"]),
        (vec!["db", "--uri", "@/nonexistent/uri.txt"], "", vec!["--uri: cannot read /nonexistent/uri.txt"]),
        (vec!["db", "--uri", "-"], "\n", vec!["--uri: is empty"]),
        (vec!["db", "--uri", pg, "--key", "a key"], "", vec!["--key: \"a key\" is not a valid Secret key"]),
        (vec!["db", "--uri", pg, "--name", "Bad_Name"], "", vec!["--name: \"Bad_Name\" is not a valid Secret name"]),
        (vec!["db", "--uri", pg, "--release", "Prod"], "", vec!["--release: "]),
        (vec!["db", "--uri", pg, "-o", "yaml"], "", vec!["-o: ", "only with --dry-run"]),
        (
            vec!["s3", "--access-key-id", "-", "--secret-access-key", "-"],
            "hunter2",
            vec!["--secret-access-key: standard input is already read by --access-key-id"],
        ),
        (
            vec!["s3", "--access-key-id", "AKIA", "--secret-access-key", "hunter2", "--endpoint-url", "ftp://minio"],
            "",
            vec!["--endpoint-url: \"ftp://minio\" is not an http(s) URL"],
        ),
        (
            vec!["s3", "--access-key-id", "AKIA", "--secret-access-key", "hunter2", "--region", "Europe"],
            "",
            vec!["--region: \"Europe\" is not an AWS region"],
        ),
        (
            vec!["gcs", "--credentials-file", &user_json],
            "",
            vec!["--credentials-file: ", "is not a service-account key", "\"authorized_user\""],
        ),
        (vec!["gcs", "--credentials-file", &not_json], "", vec!["--credentials-file: ", "is not JSON"]),
        (vec!["azure", "--connection-string", "hunter2"], "", vec!["--connection-string: is not a connection string"]),
        (
            vec!["azure", "--account-name", "My_Account", "--account-key", "hunter2!"],
            "",
            vec!["--account-name: \"My_Account\"", "--account-key: is not a storage account key"],
        ),
        (vec!["tls", "--cert", &not_pem, "--key", &key], "", vec!["--cert: holds no PEM certificate"]),
        (vec!["tls", "--cert", &cert, "--key", &not_pem], "", vec!["--key: holds no PEM private key"]),
        (vec!["tls", "--cert", &cert, "--key", &other_key], "", vec!["--key: does not belong to the certificate"]),
        (
            vec!["tls", "--cert", &expired_cert, "--key", &expired_key],
            "",
            vec!["--cert: the certificate of", "expired"],
        ),
        (vec!["tls", "--self-signed", "--host", "not a host"], "", vec!["--host: \"not a host\" is not a DNS name"]),
        (vec!["tls", "--self-signed"], "", vec!["--host"]),
        (
            vec!["auth", "--admin-password", "hunter2"],
            "",
            vec!["--admin-password: is 7 characters long; MLflow needs at least 12"],
        ),
        (vec!["auth", "--admin-username", "ad:min"], "", vec!["--admin-username: \"ad:min\""]),
        (
            vec!["auth", "--password-file", "/nonexistent/dir/pw.txt"],
            "",
            vec!["--password-file: /nonexistent/dir/pw.txt: the directory /nonexistent/dir does not exist"],
        ),
    ];
    assert!(cases.len() >= 15);
    for (args, stdin, expected) in &cases {
        refuses(args, stdin, expected);
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let out = bin()
        .args(["s3", "--access-key-id", "", "--secret-access-key", "x y", "--region", "Europe", "--name", "A"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    for flag in ["--name", "--access-key-id", "--secret-access-key", "--region"] {
        assert!(stderr.contains(&format!("{flag}: ")), "{flag} not in {stderr}");
    }
}

#[test]
fn warnings_for_a_certificate_near_its_end_and_a_host_it_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = pair(dir.path(), "soon", -300, 10);
    let out = bin()
        .args(["tls", "--cert", &cert, "--key", &key, "--host", "other.example.com", "--dry-run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("expires in 9 days") || stderr.contains("expires in 10 days"), "{stderr}");
    assert!(
        stderr.contains("--host other.example.com: the certificate does not name it (it names: mlflow.example.com)"),
        "{stderr}"
    );
}

#[test]
fn help_is_as_recorded() {
    for sub in [None, Some("db"), Some("s3"), Some("gcs"), Some("azure"), Some("tls"), Some("auth")] {
        let mut cmd = bin();
        cmd.args(sub).arg("--help");
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        insta::assert_snapshot!(format!("help_{}", sub.unwrap_or("secrets")), String::from_utf8(out.stdout).unwrap());
    }
}
