//! The users' asks (issue 33) with MLflow's own image and real bytes on the real node (kept out of
//! scripts/test's real-node chains until it has passed there once: run it with
//! `cargo test -p kubectl-mlflow-real-node-tests --test it -- --ignored --nocapture waits_and_limits::`
//! after `scripts/test-cluster up --real` and building the plugins, as production:: says).

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kubectl_mlflow_test_support::{assert_ok, cluster, mlflow_client, mlflow_python, real_namespace, repo_root, text};

use crate::production::{
    logged_objects, psql, ready_servers, run_in_bucket, secrets, Steps, DB_URI, EXAMPLE, FORWARD_TIMEOUT, ONE_WORKER,
    SERVICE,
};

/// What issue 33's values do with MLflow's own image and real bytes: PostgreSQL comes up a minute
/// after the install started, and the migration Job waits for it (`migrations.waitTimeout`); basic
/// auth keeps its users in PostgreSQL, the URI read from a Secret (`auth.databaseUriFrom`: the
/// init container writes MLflow's ini, the Job migrates the auth database); /tmp is a 16Mi tmpfs
/// (`tmp.sizeLimit`, `tmp.medium: Memory`), so a 5 MiB artifact passes through it to S3 and a
/// 24 MiB one fails with the server's error while the pod keeps serving, not restarted.
#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn a_late_database_a_secret_auth_uri_and_a_small_tmp() {
    let mut steps = Steps::new();
    let ns = real_namespace("real-asks").await;
    let manifests = repo_root().join("tests/real-node/manifests");
    cluster().kubectl_stdout(&["apply", "-n", ns.name(), "-f", &manifests.join("s3.yaml").display().to_string()]);
    let s3_values = secrets(&ns).display().to_string();
    cluster().kubectl_stdout(&[
        "create",
        "secret",
        "generic",
        "mlflow-auth-db",
        "-n",
        ns.name(),
        &format!("--from-literal=uri={DB_URI}"),
    ]);
    let late = {
        let (namespace, file) = (ns.name().to_string(), manifests.join("postgres.yaml").display().to_string());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(60));
            cluster().kubectl_stdout(&["apply", "-n", &namespace, "-f", &file]);
            Instant::now()
        })
    };
    let values = [
        "--timeout",
        "10m",
        "-f",
        EXAMPLE,
        "-f",
        &s3_values,
        "--set",
        ONE_WORKER,
        "--set",
        "replicaCount=1",
        "--set",
        "server.value_options.app_name=basic-auth",
        "--set",
        "auth.databaseUriFrom.secretKeyRef.name=mlflow-auth-db",
        "--set",
        "auth.databaseUriFrom.secretKeyRef.key=uri",
        "--set",
        "migrations.waitTimeout=5m",
        "--set",
        "tmp.sizeLimit=16Mi",
        "--set",
        "tmp.medium=Memory",
    ];
    let out = ns.run("kubectl-mlflow-install", &values);
    let installed = Instant::now();
    let applied = late.join().unwrap();
    assert_ok(&out);
    assert!(applied < installed, "PostgreSQL was applied after the install ended");
    assert!(!text(&out).contains("kmlf-real-node-pg"), "the database password reached the output");
    steps.done("install with PostgreSQL applied 60 s after it started");
    let server = ready_servers(&ns, 1).await.remove(0);
    let ini = cluster().kubectl_stdout(&[
        "exec",
        "-n",
        ns.name(),
        &server,
        "-c",
        "mlflow",
        "--",
        "python",
        "-c",
        "import configparser; c = configparser.ConfigParser(); c.read('/etc/mlflow/auth/basic_auth.ini'); \
         print(c['mlflow']['database_uri'] == 'postgresql://mlflow:kmlf-real-node-pg@postgres:5432/mlflow')",
    ]);
    assert_eq!(ini.trim(), "True", "MLflow does not read the Secret's URI from its ini");
    assert_eq!(psql(&ns, "SELECT username FROM users"), "admin", "no admin user in the auth database");

    let secret = ns.api::<Secret>().get("mlflow-mlflow-auth").await.unwrap();
    let password = String::from_utf8(secret.data.unwrap()["admin-password"].0.clone()).unwrap();
    let login = [
        ("MLFLOW_TRACKING_USERNAME", "admin"),
        ("MLFLOW_TRACKING_PASSWORD", password.as_str()),
        ("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false"),
        ("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "false"),
    ];
    let pf = cluster().port_forward(ns.name(), SERVICE, 5000, FORWARD_TIMEOUT);
    let small = mlflow_client(&pf.url(), &login, &["roundtrip", "--blob-mib", "5"]);
    assert_eq!(run_in_bucket(&ns, &small), logged_objects());
    steps.done("a 5 MiB artifact through the 16Mi /tmp to S3");
    let large = std::process::Command::new(mlflow_python())
        .arg(repo_root().join("tests/contract/client.py"))
        .args(["roundtrip", "--blob-mib", "24"])
        .env("MLFLOW_TRACKING_URI", pf.url().trim_end_matches('/'))
        .env("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .envs(login)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&large.stdout), String::from_utf8_lossy(&large.stderr));
    assert!(!large.status.success(), "a 24 MiB upload passed a 16Mi /tmp:\n{said}");
    assert!(said.contains("500"), "the client did not get the server's error:\n{said}");
    let log = cluster().kubectl_stdout(&["logs", "-n", ns.name(), &server, "-c", "mlflow"]);
    assert!(log.contains("No space left on device"), "the server's log does not say why:\n{log}");
    steps.done("a 24 MiB artifact refused with the server's error");
    let again = mlflow_client(&pf.url(), &login, &["roundtrip", "--blob-mib", "5"]);
    assert_eq!(run_in_bucket(&ns, &again), logged_objects());
    drop(pf);
    let restarts = cluster().kubectl_stdout(&[
        "get",
        "pod",
        &server,
        "-n",
        ns.name(),
        "-o",
        "jsonpath={.status.containerStatuses[0].restartCount}",
    ]);
    assert_eq!(restarts, "0", "the server restarted");
    let _ = std::fs::remove_file(&s3_values);
    ns.delete().await;
    steps.done("the pod still serves, not restarted");
}
