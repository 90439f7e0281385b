//! `kubectl mlflow check` against real MLflow on the real node of `scripts/test-cluster up --real`
//! (MLflow's own images, built by `scripts/node-images`): the quick start, the production example
//! on PostgreSQL and S3 (its artifact found in the bucket, then the S3 server stopped), basic auth,
//! TLS (installed by helm with this chart), an official-chart-like release, and Ctrl-C in the
//! middle. Each test fails on a KWOK node, saying how to start the real one.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Secret};
use kube::api::Api;
use kubectl_mlflow_test_support::stores::{start_stores, store_secrets, S3_SECRET_KEY};
use kubectl_mlflow_test_support::{cluster, deployment_guide, mlflow_python, plugin_bin, repo_root, TestNamespace};
use serde_json::Value;

use crate::run::{assert_exit, check, stderr, stdout, text, Running};

const ONE_WORKER: &str = "server.value_options.workers=1";
const FULL_TAG: &str = "image.tag=v3.17.2-full";
const BUCKET: &str = "my-bucket";
/// Every step of a passing check, the cleanup's last.
const STEPS: [&str; 11] = [
    "health",
    "version",
    "create experiment",
    "create run",
    "log param, metric, tag",
    "upload artifact",
    "download artifact",
    "search run",
    "delete run",
    "delete experiment",
    "delete artifacts",
];

async fn real_namespace(prefix: &str) -> TestNamespace {
    cluster().require_real_node();
    cluster().namespace(prefix).await
}

/// A plugin binary run as `NAME ARGS --kubeconfig … -n NS` from the repository's root, `stdin`
/// its standard input.
fn plugin(name: &str, ns: &TestNamespace, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(plugin_bin(name))
        .current_dir(repo_root())
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT")
        .args(args)
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .args(["-n", ns.name()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn install(ns: &TestNamespace, args: &[&str]) {
    let out = plugin("kubectl-mlflow-install", ns, &[&["--timeout", "8m"], args].concat(), "");
    assert!(out.status.success(), "install failed: {}", text(&out));
}

fn kubectl(args: &[&str]) -> String {
    cluster().kubectl_output(args).unwrap_or_else(|e| panic!("{e}"))
}

/// A check that passed: exit 0, every step's line, the summary; no secret of `secrets` printed.
fn assert_passed(out: &Output, secrets: &[&str]) {
    assert_exit(out, 0);
    let lines = stdout(out);
    for step in STEPS {
        assert!(lines.lines().any(|l| l.starts_with("ok") && l.contains(step)), "no passed {step:?}: {}", text(out));
    }
    assert!(lines.contains("passed: 11 steps in "), "{}", text(out));
    for secret in secrets {
        assert!(!text(out).contains(secret), "a secret was printed: {}", text(out));
    }
}

/// The check's `-o json` document, after it passed.
fn passed_json(ns: &TestNamespace, args: &[&str]) -> Value {
    let out = check(ns.name(), &[args, &["-o", "json"]].concat());
    assert_exit(&out, 0);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(doc["passed"], true, "{doc}");
    doc
}

/// `name lifecycle_stage` of every experiment the checks made, by MLflow's own client through
/// `kubectl port-forward` (`env`: its login, its certificate).
fn check_experiments(ns: &TestNamespace, env: &[(&str, &str)]) -> Vec<String> {
    let pf = cluster().port_forward(ns.name(), "svc/mlflow-mlflow", 5000, Duration::from_secs(60));
    let script = "import json, mlflow\n\
        from mlflow.entities import ViewType\n\
        found = mlflow.MlflowClient().search_experiments(view_type=ViewType.ALL, filter_string=\"name LIKE 'kubectl-mlflow-check-%'\")\n\
        print(json.dumps([e.name + ' ' + e.lifecycle_stage for e in found]))\n";
    let mut command = Command::new(mlflow_python());
    command.args(["-c", script]).env("MLFLOW_TRACKING_URI", pf.url()).env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "search_experiments: {}", text(&out));
    serde_json::from_slice(out.stdout.trim_ascii()).unwrap()
}

/// No experiment of a check is left active.
fn assert_no_check_experiment_active(ns: &TestNamespace) {
    let experiments = check_experiments(ns, &[]);
    assert!(experiments.iter().all(|e| e.ends_with(" deleted")), "left active: {experiments:?}");
}

/// The directory of the release's volume on this machine (the local-path provisioner's).
async fn volume_dir(ns: &TestNamespace) -> PathBuf {
    let pvc = ns.api::<PersistentVolumeClaim>().get("mlflow-mlflow").await.unwrap();
    let pv = Api::<PersistentVolume>::all(ns.client()).get(&pvc.spec.unwrap().volume_name.unwrap()).await.unwrap();
    PathBuf::from(pv.spec.unwrap().local.expect("a local volume").path)
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_quick_start_passes_and_ctrl_c_in_the_middle_leaves_no_experiment() {
    let ns = real_namespace("check-quick").await;
    install(&ns, &[]);
    let out = check(ns.name(), &[]);
    eprintln!("the quick start's check (--nocapture shows it):\n{}", text(&out));
    assert_passed(&out, &[]);
    let doc = passed_json(&ns, &[]);
    let steps: Vec<&str> = doc["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(steps, STEPS);
    assert_eq!(doc["mlflowVersion"], "3.17.2");
    assert_eq!(doc["artifactStore"], "/mlflow/artifacts");
    let id = doc["experiment"]["id"].as_str().unwrap();
    let artifacts = volume_dir(&ns).await.join("artifacts");
    assert!(artifacts.is_dir(), "{}", artifacts.display());
    assert!(!artifacts.join(id).exists(), "the check left its artifacts in {}", artifacts.join(id).display());
    assert_no_check_experiment_active(&ns);

    // Ctrl-C while 200 MiB are on their way: the cleanup deletes what was made.
    let mut running = Running::start(ns.name(), &["--artifact-size", "200MiB"]);
    running.wait_stdout("ok   log param, metric, tag", Duration::from_secs(120));
    running.interrupt();
    assert_eq!(running.wait(Duration::from_secs(120)), Some(1), "{}\n{}", running.stdout(), running.stderr());
    let (out, err) = (running.stdout(), running.stderr());
    assert!(out.contains("stop "), "no step was stopped: {out}");
    assert!(out.contains("ok   delete artifacts (cleanup)"), "{out}");
    assert!(err.contains("error: interrupted: the check stopped, and deleted what it had made"), "{err}");
    assert_no_check_experiment_active(&ns);
    let left: Vec<String> =
        std::fs::read_dir(&artifacts).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(left.is_empty(), "artifacts left on the volume: {left:?}");
    ns.delete().await;
}

/// "<path below the run's artifacts> <size>" of the run's objects in the bucket, listed by boto3
/// in the S3 pod.
fn run_in_bucket(ns: &TestNamespace, experiment: &str, run: &str) -> Vec<String> {
    let prefix = format!("mlflow/{experiment}/{run}/artifacts/");
    let script = "import sys, boto3\n\
        s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:9000', region_name='us-east-1', \
        aws_access_key_id='kmlf-real-node', aws_secret_access_key='unused')\n\
        for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[1], Prefix=sys.argv[2]):\n\
        \x20   for o in page.get('Contents', []):\n\
        \x20       print(o['Key'][len(sys.argv[2]):], o['Size'])\n";
    let out = kubectl(&["exec", "-n", ns.name(), "deploy/s3", "--", "python", "-c", script, BUCKET, &prefix]);
    out.lines().map(str::to_string).collect()
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_production_example_passes_with_5_mib_in_the_bucket_and_fails_at_the_artifact_without_s3() {
    let ns = real_namespace("check-prod").await;
    start_stores(&ns);
    let s3_values = store_secrets(&ns).display().to_string();
    install(&ns, &["-f", "charts/example-mlflow-charts.yaml", "-f", &s3_values, "--set", ONE_WORKER]);

    let doc = passed_json(&ns, &["--artifact-size", "5MiB", "--keep"]);
    assert_eq!(doc["kept"], true);
    assert_eq!(
        doc["artifactStore"],
        "s3://my-bucket/mlflow (MLFLOW_S3_ENDPOINT_URL from Secret s3-credentials, key endpoint-url)"
    );
    let (experiment, run) = (doc["experiment"]["id"].as_str().unwrap(), doc["runId"].as_str().unwrap());
    assert_eq!(doc["artifact"]["bytes"], 5 * 1024 * 1024);
    assert_eq!(run_in_bucket(&ns, experiment, run), vec![format!("kubectl-mlflow-check.bin {}", 5 * 1024 * 1024)]);

    // Without --keep the object leaves the bucket again.
    let doc = passed_json(&ns, &["--artifact-size", "5MiB"]);
    let (experiment, run) = (doc["experiment"]["id"].as_str().unwrap(), doc["runId"].as_str().unwrap());
    assert_eq!(run_in_bucket(&ns, experiment, run), Vec::<String>::new());
    assert_passed(&check(ns.name(), &[]), &["kmlf-real-node-pg", S3_SECRET_KEY]);

    // The S3 server stopped: the upload fails, naming the store.
    kubectl(&["scale", "deploy/s3", "-n", ns.name(), "--replicas=0"]);
    kubectl(&["wait", "-n", ns.name(), "pod", "-l", "app=s3", "--for=delete", "--timeout=120s"]);
    let out = check(ns.name(), &["--timeout", "2m"]);
    eprintln!("the check without S3 (--nocapture shows it):\n{}", text(&out));
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("error: step \"upload artifact\" failed: PUT /api/2.0/mlflow-artifacts/artifacts/"), "{err}");
    assert!(err.contains("the server answered 500"), "{err}");
    assert!(
        err.contains(
            "the artifact store behind the server: s3://my-bucket/mlflow (MLFLOW_S3_ENDPOINT_URL from Secret s3-credentials, key endpoint-url)"
        ),
        "{err}"
    );
    assert!(err.contains("lines of pod mlflow-mlflow-"), "{err}");
    for secret in ["kmlf-real-node-pg", S3_SECRET_KEY] {
        assert!(!text(&out).contains(secret), "a secret was printed: {}", text(&out));
    }
    let lines = stdout(&out);
    assert!(lines.contains("FAIL upload artifact"), "{lines}");
    assert!(lines.contains("ok   delete experiment (cleanup)"), "{lines}");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn basic_auth_logs_in_as_the_releases_admin_and_names_a_refused_login() {
    let ns = real_namespace("check-auth").await;
    cluster().shell(&deployment_guide::auth_secret(ns.name())).unwrap();
    install(&ns, &["-f", "tests/values/basic-auth.yaml", "--set", ONE_WORKER, "--set", FULL_TAG]);
    let generated = ns.api::<Secret>().get("mlflow-mlflow-auth").await.unwrap();
    let password = String::from_utf8(generated.data.unwrap()["admin-password"].0.clone()).unwrap();
    let out = check(ns.name(), &[]);
    assert_passed(&out, &[&password]);
    assert!(
        stderr(&out).contains("logging in as admin with the password in Secret mlflow-mlflow-auth, key admin-password"),
        "{}",
        text(&out)
    );
    let experiments =
        check_experiments(&ns, &[("MLFLOW_TRACKING_USERNAME", "admin"), ("MLFLOW_TRACKING_PASSWORD", &password)]);
    assert!(experiments.iter().all(|e| e.ends_with(" deleted")), "{experiments:?}");

    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not-the-admin-password\n").unwrap();
    let out = check(ns.name(), &["--password-file", wrong.to_str().unwrap()]);
    eprintln!("the check with a wrong password (--nocapture shows it):\n{}", text(&out));
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("error: step \"version\" failed: GET /version: the server answered 401 Unauthorized"),
        "{err}"
    );
    assert!(err.contains("the server refused the login of user admin"), "{err}");
    assert!(!text(&out).contains("not-the-admin-password") && !text(&out).contains(&password), "{}", text(&out));
    ns.delete().await;
}

/// helm 4.1 of `scripts/k8s-tools`.
fn helm() -> PathBuf {
    let out = Command::new(repo_root().join("scripts/k8s-tools")).args(["path", "v35"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("helm")
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn tls_installed_by_helm_is_trusted_by_its_secrets_certificate_only() {
    let ns = real_namespace("check-tls").await;
    let dir = tempfile::tempdir().unwrap();
    deployment_guide::self_signed(dir.path(), "localhost");
    cluster().shell_in(dir.path(), &deployment_guide::tls_secret(ns.name())).unwrap();
    let out = Command::new(helm())
        .current_dir(repo_root())
        .env("KUBECONFIG", cluster().kubeconfig())
        .args(["install", "mlflow", "./charts", "--namespace", ns.name(), "-f", "tests/values/tls.yaml"])
        .args(["--set", ONE_WORKER, "--wait", "--timeout", "8m"])
        .output()
        .unwrap();
    assert!(out.status.success(), "helm install: {}", text(&out));
    let out = check(ns.name(), &[]);
    assert_passed(&out, &[]);
    assert!(
        stderr(&out).contains("TLS: trusting only the certificate in Secret mlflow-tls, key tls.crt"),
        "{}",
        text(&out)
    );

    // Another certificate in the Secret than the one the server presents: refused, unless --insecure.
    let other = tempfile::tempdir().unwrap();
    deployment_guide::self_signed(other.path(), "localhost");
    cluster()
        .shell_in(
            other.path(),
            &format!(
                "kubectl delete secret mlflow-tls -n {0} && {1}",
                ns.name(),
                deployment_guide::tls_secret(ns.name())
            ),
        )
        .unwrap();
    let out = check(ns.name(), &[]);
    eprintln!("the check of another certificate (--nocapture shows it):\n{}", text(&out));
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("error: step \"health\" failed: GET /health: the TLS handshake with pod mlflow-mlflow-"),
        "{err}"
    );
    assert!(err.contains("the server's certificate is not the one in Secret mlflow-tls, key tls.crt"), "{err}");
    let out = check(ns.name(), &["--insecure"]);
    assert_passed(&out, &[]);
    assert!(
        stderr(&out).contains("warning: TLS: the server's certificate is not verified (--insecure)"),
        "{}",
        text(&out)
    );
    ns.delete().await;
}

/// A release as the official MLflow chart labels it (name and instance, no component), its
/// server started as MLflow's image starts it, on the slim image.
#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn an_official_chart_like_release_passes() {
    let ns = real_namespace("check-official").await;
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: mlflow\n  labels: {app.kubernetes.io/name: mlflow, app.kubernetes.io/instance: mlflow}\n\
         spec:\n  replicas: 1\n  selector:\n    matchLabels: {app.kubernetes.io/name: mlflow, app.kubernetes.io/instance: mlflow}\n\
         \x20 template:\n    metadata:\n      labels: {app.kubernetes.io/name: mlflow, app.kubernetes.io/instance: mlflow}\n\
         \x20   spec:\n      enableServiceLinks: false\n      containers:\n      - name: mlflow\n\
         \x20       image: ghcr.io/mlflow/mlflow:v3.17.2\n        imagePullPolicy: Never\n\
         \x20       args: [mlflow, server, --host=0.0.0.0, --port=5000, --backend-store-uri=sqlite:////data/mlflow.db, --artifacts-destination=/data/artifacts, --workers=1]\n\
         \x20       env: [{name: MLFLOW_SERVER_ENABLE_JOB_EXECUTION, value: 'false'}]\n\
         \x20       ports: [{name: http, containerPort: 5000}]\n\
         \x20       readinessProbe: {httpGet: {path: /health, port: http}, periodSeconds: 2}\n\
         \x20       resources: {requests: {cpu: 100m, memory: 256Mi}}\n\
         \x20       volumeMounts: [{name: data, mountPath: /data}]\n\
         \x20     volumes: [{name: data, emptyDir: {}}]\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("official-like.yaml");
    std::fs::write(&file, manifest).unwrap();
    kubectl(&["apply", "-n", ns.name(), "-f", file.to_str().unwrap()]);
    kubectl(&["rollout", "status", "deployment/mlflow", "-n", ns.name(), "--timeout=8m"]);
    let out = check(ns.name(), &[]);
    assert_passed(&out, &[]);
    assert!(
        stderr(&out).contains(&format!("checking release mlflow in namespace {} through pod mlflow-", ns.name())),
        "{}",
        text(&out)
    );
    ns.delete().await;
}
