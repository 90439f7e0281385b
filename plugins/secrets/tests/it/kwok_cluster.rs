//! `kubectl mlflow secrets` against the test cluster: each kind is created, kept on a rerun,
//! refused over other data, replaced with --overwrite, and its snippet passes the install's
//! preflight; bad input writes nothing; no value leaks into the output; and the auth Secret logs
//! the admin in on real MLflow. Run by scripts/test with --ignored.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kubectl_mlflow_core::identity;
use kubectl_mlflow_test_support::values::write_file;
use kubectl_mlflow_test_support::{assert_ok, cluster, mlflow_venv, plugin_bin, text, TestNamespace};

use crate::cli::certificate_pair;

fn secrets(ns: &TestNamespace, args: &[&str], stdin: &str) -> Output {
    ns.run_with_stdin("kubectl-mlflow-secrets", args, stdin)
}

fn ok(output: Output) -> Output {
    assert_ok(&output);
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn get(ns: &TestNamespace, name: &str) -> Option<Secret> {
    ns.api::<Secret>().get_opt(name).await.unwrap()
}

fn data(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret.data.clone().unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect()
}

fn version(secret: &Secret) -> String {
    secret.metadata.resource_version.clone().unwrap()
}

/// `kubectl mlflow install --dry-run=server` with the snippet (and quick start values for the
/// rest): the preflight checks every referenced Secret and key.
fn install_dry_run(ns: &TestNamespace, snippet: &Path, sets: &[&str]) -> Output {
    let snippet = snippet.display().to_string();
    let mut args = vec!["--dry-run=server", "--no-wait", "-f", snippet.as_str()];
    for set in sets {
        args.extend(["--set", set]);
    }
    ns.run("kubectl-mlflow-install", &args)
}

/// Created; kept on a rerun; refused (and untouched) with other data; replaced with --overwrite;
/// the printed snippet passes the install's preflight.
async fn lifecycle(prefix: &str, name: &str, first: &[&str], second: &[&str], install_sets: &[&str]) {
    let ns = cluster().namespace(prefix).await;
    let dir = tempfile::tempdir().unwrap();
    let created = ok(secrets(&ns, first, ""));
    assert!(
        stderr(&created).contains(&format!("Secret/{name} in namespace {} created", ns.name())),
        "{}",
        text(&created)
    );
    let secret = get(&ns, name).await.expect("the Secret exists");
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    let mut expected = identity::labels("mlflow", None);
    expected.insert(identity::CREATED_BY_LABEL.into(), identity::SECRETS_CREATOR.into());
    for (k, v) in expected {
        assert_eq!(labels.get(&k), Some(&v), "label {k}");
    }
    assert!(secret
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .iter()
        .any(|m| m.manager.as_deref() == Some("kubectl-mlflow") && m.operation.as_deref() == Some("Apply")));

    let again = ok(secrets(&ns, first, ""));
    assert!(stderr(&again).contains("unchanged"), "{}", text(&again));
    assert_eq!(created.stdout, again.stdout, "the same snippet");
    let kept = get(&ns, name).await.unwrap();
    assert_eq!(version(&kept), version(&secret), "a rerun writes nothing");

    let refused = secrets(&ns, second, "");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        stderr(&refused).contains("already exists and holds other data") && stderr(&refused).contains("--overwrite"),
        "{}",
        text(&refused)
    );
    assert!(refused.stdout.is_empty());
    let untouched = get(&ns, name).await.unwrap();
    assert_eq!((version(&untouched), data(&untouched)), (version(&secret), data(&secret)), "nothing changed");

    let overwrite: Vec<&str> = second.iter().copied().chain(["--overwrite"]).collect();
    let replaced = ok(secrets(&ns, &overwrite, ""));
    assert!(stderr(&replaced).contains("replaced"), "{}", text(&replaced));
    let new = get(&ns, name).await.unwrap();
    assert_ne!(data(&new), data(&secret));
    let settled = ok(secrets(&ns, second, ""));
    assert!(stderr(&settled).contains("unchanged"), "the replacement holds the second data: {}", text(&settled));

    let snippet = dir.path().join("values.yaml");
    std::fs::write(&snippet, &replaced.stdout).unwrap();
    let install = install_dry_run(&ns, &snippet, install_sets);
    assert!(install.status.success(), "the snippet does not pass the preflight:\n{}", text(&install));
    ns.delete().await;
}

fn pair(dir: &Path, stem: &str, host: &str) -> (String, String) {
    certificate_pair(dir, stem, host, -1, 365)
}

fn gcs_key(dir: &Path, stem: &str, private_key: &str) -> String {
    let key = serde_json::json!({
        "type": "service_account", "project_id": "demo", "private_key_id": "k1",
        "private_key": private_key, "client_email": "mlflow@demo.iam.gserviceaccount.com",
    });
    write_file(dir, &format!("{stem}.json"), &key.to_string())
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn db() {
    let first = ["db", "--uri", "postgresql://mlflow:first-pw@postgres:5432/mlflow"];
    let second = ["db", "--uri", "postgresql+psycopg2://mlflow:second-pw@postgres:5432/mlflow"];
    lifecycle("secdb", "mlflow-db-secret", &first, &second, &["storage.enabled=true"]).await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn s3() {
    let first = ["s3", "--access-key-id", "AKIAFIRST", "--secret-access-key", "first/secret"];
    let second = [
        "s3",
        "--access-key-id",
        "AKIASECOND",
        "--secret-access-key",
        "second/secret",
        "--endpoint-url",
        "http://minio:9000",
        "--region",
        "us-east-1",
    ];
    lifecycle("secs3", "s3-credentials", &first, &second, &["mlflow.artifactsDestination=s3://bucket/mlflow"]).await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn gcs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        gcs_key(dir.path(), "a", "-----BEGIN PRIVATE KEY-----\nA\n"),
        gcs_key(dir.path(), "b", "-----BEGIN PRIVATE KEY-----\nB\n"),
    );
    lifecycle(
        "secgcs",
        "gcs-credentials",
        &["gcs", "--credentials-file", &a],
        &["gcs", "--credentials-file", &b],
        &["mlflow.artifactsDestination=gs://bucket/mlflow"],
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn azure() {
    let first = [
        "azure",
        "--connection-string",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zmlyc3Q=;EndpointSuffix=core.windows.net",
    ];
    let second = ["azure", "--account-name", "acct", "--account-key", "c2Vjb25k"];
    lifecycle(
        "secazure",
        "azure-storage",
        &first,
        &second,
        &["mlflow.artifactsDestination=wasbs://c@acct.blob.core.windows.net/mlflow"],
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = pair(dir.path(), "b", "mlflow.example.com");
    let first = ["tls", "--self-signed", "--host", "mlflow.example.com"];
    let second = ["tls", "--cert", &cert, "--key", &key, "--host", "mlflow.example.com"];
    lifecycle("sectls", "mlflow-tls", &first, &second, &[]).await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn auth() {
    let first = ["auth"];
    let second = ["auth", "--admin-username", "root", "--admin-password", "a-long-admin-password"];
    lifecycle("secauth", "mlflow-auth-secret", &first, &second, &[]).await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn overwrite_takes_over_a_secret_made_by_kubectl_and_changes_its_type() {
    let ns = cluster().namespace("sectake").await;
    cluster()
        .kubectl_output(&["create", "secret", "generic", "mlflow-tls", "-n", ns.name(), "--from-literal=old=1"])
        .unwrap();
    let refused = secrets(&ns, &["tls", "--self-signed", "--host", "localhost"], "");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(stderr(&refused).contains("its type is Opaque, not kubernetes.io/tls"), "{}", text(&refused));
    ok(secrets(&ns, &["tls", "--self-signed", "--host", "localhost", "--overwrite"], ""));
    let secret = get(&ns, "mlflow-tls").await.unwrap();
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    assert_eq!(data(&secret).into_keys().collect::<Vec<_>>(), ["tls.crt", "tls.key"]);
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn bad_input_writes_nothing() {
    let ns = cluster().namespace("secbad").await;
    let cases: [&[&str]; 4] = [
        &["db", "--uri", "postgres://u:p@db/m"],
        &["auth", "--admin-password", "short"],
        &["gcs", "--credentials-file", "/nonexistent/key.json"],
        &["s3", "--access-key-id", "AKIA", "--secret-access-key", "x", "--name", "Not_Valid"],
    ];
    for args in cases {
        let out = secrets(&ns, args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    let all = ns.api::<Secret>().list(&ListParams::default()).await.unwrap();
    let names: Vec<String> =
        all.items.iter().filter_map(|s| s.metadata.name.clone()).filter(|n| !n.starts_with("default-token")).collect();
    assert!(names.is_empty(), "Secrets written: {names:?}");
    ns.delete().await;
}

/// Every command with recognisable secret values, with -v, in every outcome (created, unchanged,
/// refused, replaced, bad input): none of the values shows in stdout or stderr.
#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn no_secret_value_is_printed() {
    let ns = cluster().namespace("secleak").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (cert, key) = pair(d, "leak", "localhost");
    let key_pem = std::fs::read_to_string(&key).unwrap();
    let gcs = gcs_key(d, "leak", "LEAKgcsPrivateKey7731");
    let uri_file = format!("@{}", write_file(d, "uri", "mysql+pymysql://mlflow:LEAKdbPassFile7731@db:3306/mlflow\n"));
    let password_file = d.join("pw.txt").display().to_string();
    let mut values: Vec<String> = [
        "LEAKdbPass7731",
        "LEAKdbPassFile7731",
        "LEAKdbPassStdin7731",
        "LEAKKEYID7731",
        "LEAKsecretAccess7731",
        "LEAKazureKey7731",
        "TEVBS2F6dXJlN3Q3MzE=",
        "LEAKgcsPrivateKey7731",
        "LEAKadminPassword7731",
        "LEAKflaskSecretKey7731",
    ]
    .map(String::from)
    .to_vec();
    values.extend(key_pem.lines().filter(|l| !l.starts_with("-----")).map(String::from));
    let runs: Vec<(Vec<&str>, &str)> = vec![
        (vec!["db", "--uri", "postgresql://mlflow:LEAKdbPass7731@db/mlflow"], ""),
        (vec!["db", "--uri", "postgresql://mlflow:LEAKdbPass7731@db/mlflow"], ""),
        (vec!["db", "--uri", &uri_file], ""),
        (vec!["db", "--uri", "-", "--overwrite"], "postgresql://mlflow:LEAKdbPassStdin7731@db/mlflow\n"),
        (vec!["db", "--uri", "postgres://mlflow:LEAKdbPass7731@db/mlflow"], ""),
        (vec!["db", "--uri", "postgresql://mlflow:LEAKdbPass7731@db"], ""),
        (
            vec!["s3", "--access-key-id", "LEAKKEYID7731", "--secret-access-key", "-", "--region", "eu-west-1"],
            "LEAKsecretAccess7731",
        ),
        (vec!["s3", "--access-key-id", "LEAKKEYID7731", "--secret-access-key", "LEAKsecretAccess7731x"], ""),
        (vec!["azure", "--connection-string", "AccountName=acct;AccountKey=LEAKazureKey7731"], ""),
        (vec!["azure", "--account-name", "acct", "--account-key", "TEVBS2F6dXJlN3Q3MzE="], ""),
        (vec!["azure", "--account-name", "acct", "--account-key", "TEVBS2F6dXJlN3Q3MzE=", "--name", "azure2"], ""),
        (vec!["gcs", "--credentials-file", &gcs], ""),
        (vec!["tls", "--cert", &cert, "--key", &key], ""),
        (vec!["tls", "--cert", &cert, "--key", &key, "--name", "tls2"], ""),
        (vec!["auth", "--password-file", &password_file], ""),
        (vec!["auth", "--admin-password", "LEAKadminPassword7731", "--secret-key", "LEAKflaskSecretKey7731"], ""),
        (
            vec![
                "auth",
                "--admin-password",
                "LEAKadminPassword7731",
                "--secret-key",
                "LEAKflaskSecretKey7731",
                "--overwrite",
            ],
            "",
        ),
        (vec!["auth", "--admin-password", "LEAKadmin"], ""),
    ];
    let mut shown = String::new();
    for (args, stdin) in &runs {
        let mut args = args.clone();
        args.push("-v");
        let out = secrets(&ns, &args, stdin);
        shown.push_str(&text(&out));
        if args[0] == "auth" && args.len() == 4 {
            values.push(std::fs::read_to_string(&password_file).unwrap().trim().to_string());
        }
    }
    assert!(shown.contains("api: PATCH (apply) secrets"), "-v shows the API calls:\n{shown}");
    for value in &values {
        assert!(!shown.contains(value.as_str()), "{value} shows in:\n{shown}");
    }
    let secret = get(&ns, "mlflow-auth-secret").await.unwrap();
    for (key, value) in data(&secret) {
        let value = String::from_utf8_lossy(&value).into_owned();
        assert!(key == "admin-username" || !shown.contains(&value), "{key} shows in:\n{shown}");
    }
    ns.delete().await;
}

/// `auth` and its snippet make a server that logs the admin in with the generated password: the
/// rendered mlflow container run locally on real MLflow by the contract suite's harness, with the
/// Secret's values as the cluster holds them.
#[tokio::test]
#[ignore = "needs the test cluster and MLflow: scripts/test-cluster up, scripts/mlflow-venv"]
async fn auth_logs_the_admin_in_on_real_mlflow() {
    let ns = cluster().namespace("seclogin").await;
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("admin-password");
    let out = ok(secrets(&ns, &["auth", "--password-file", &password_file.display().to_string()], ""));
    let snippet = dir.path().join("auth-values.yaml");
    std::fs::write(&snippet, &out.stdout).unwrap();
    let secret = get(&ns, "mlflow-auth-secret").await.unwrap();
    let data: BTreeMap<String, String> =
        data(&secret).into_iter().map(|(k, v)| (k, String::from_utf8(v).unwrap())).collect();
    assert_eq!(std::fs::read_to_string(&password_file).unwrap().trim(), data["admin-password"]);
    let secret_json = dir.path().join("secret.json");
    std::fs::write(&secret_json, serde_json::json!({"name": "mlflow-auth-secret", "data": data}).to_string()).unwrap();

    let venv = mlflow_venv();
    let login = std::process::Command::new(venv.join("bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/login.py"))
        .args([&snippet, &secret_json])
        .env("MLFLOW_VENV", &venv)
        .env("KUBECTL_MLFLOW_INSTALL", plugin_bin("kubectl-mlflow-install"))
        .output()
        .unwrap();
    assert!(login.status.success(), "{}", text(&login));
    let result: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&login.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(
        (result["admin"].as_i64(), result["wrong"].as_i64(), result["user"].as_str()),
        (Some(200), Some(401), Some("admin"))
    );
    ns.delete().await;
}
