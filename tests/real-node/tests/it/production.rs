//! The production path of MLflow's Kubernetes deployment guide on the real node: `charts/example-mlflow-charts.yaml` (PostgreSQL
//! metadata, S3 artifacts, credentials in Secrets) against PostgreSQL and an S3 API running in the
//! test's namespace (`tests/real-node/manifests/`, images from `scripts/node-images`). Ignored by
//! plain `cargo test`; run one at a time after `scripts/test-cluster up --real` and
//! `cargo build -p kubectl-mlflow-install -p kubectl-mlflow-uninstall -p kubectl-mlflow-gc
//! -p kubectl-mlflow-secrets`:
//! `cargo test -p kubectl-mlflow-real-node-tests -- --ignored --test-threads=1 production::`.
//!
//! Each step's wall time is printed on stderr (`--nocapture` shows them); none is asserted.

use std::time::{Duration, Instant};

use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::stores::{start_stores, store_secrets, wait_available};
use kubectl_mlflow_test_support::{assert_ok, cluster, mlflow_client, ready_pods, real_namespace, text, TestNamespace};
use serde_json::Value;

const SELECTOR: &str = "app.kubernetes.io/instance=mlflow";
pub(crate) const SERVICE: &str = "svc/mlflow-mlflow";
const IMAGE: &str = "ghcr.io/mlflow/mlflow:v3.17.2-full";
pub(crate) const EXAMPLE: &str = "charts/example-mlflow-charts.yaml";
/// `charts/example-mlflow-charts.yaml`'s artifactsDestination, s3://my-bucket/mlflow
const BUCKET: &str = "my-bucket";
const PREFIX: &str = "mlflow";
/// One uvicorn worker per replica (the example sizes for four): on 2 cores, beside the other
/// tests' pods, four take minutes to start.
pub(crate) const ONE_WORKER: &str = "server.value_options.workers=1";
pub(crate) const FORWARD_TIMEOUT: Duration = Duration::from_secs(60);

/// How the release is installed and changed: by our plugin, or by the deployment guide's helm line.
#[derive(Clone, Copy)]
enum Installer {
    Plugin,
    Helm,
}

/// Wall time of each step, printed as they end.
pub(crate) struct Steps(Instant, Instant);

impl Steps {
    pub(crate) fn new() -> Self {
        Steps(Instant::now(), Instant::now())
    }

    pub(crate) fn done(&mut self, what: &str) {
        eprintln!(
            "production-path: {what}: {:.1} s (total {:.1} s)",
            self.1.elapsed().as_secs_f64(),
            self.0.elapsed().as_secs_f64()
        );
        self.1 = Instant::now();
    }
}

/// Installs (or, with `replicas` 2, upgrades) the release: the example, the s3 snippet, one
/// worker, `replicas` replicas; then waits until that many server pods are Ready.
async fn install(how: Installer, ns: &TestNamespace, s3_values: &str, replicas: usize) {
    let replica_set = format!("replicaCount={replicas}");
    let values = ["-f", EXAMPLE, "-f", s3_values, "--set", ONE_WORKER, "--set", &replica_set];
    let out = match how {
        Installer::Plugin => {
            let mut args = vec!["--timeout", "10m"];
            args.extend(values);
            ns.run("kubectl-mlflow-install", &args)
        }
        Installer::Helm => {
            // the guide's line: helm install mlflow ./charts --namespace mlflow --create-namespace -f …
            let verb = if replicas == 1 { "install" } else { "upgrade" };
            Helm::V4
                .on_cluster()
                .args([verb, "mlflow", "./charts", "--namespace", ns.name()])
                .args(if replicas == 1 { &["--create-namespace"][..] } else { &[][..] })
                .args(values)
                .output()
                .unwrap()
        }
    };
    assert_ok(&out);
    ready_servers(ns, replicas).await;
}

/// Waits (8 min at most) for `n` Ready server pods; checks they run the default image, with the
/// S3 endpoint from the Secret. Returns their names.
pub(crate) async fn ready_servers(ns: &TestNamespace, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(480);
    let mut pods = ready_pods(ns, SELECTOR).await;
    while pods.len() != n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        pods = ready_pods(ns, SELECTOR).await;
    }
    assert_eq!(
        pods.len(),
        n,
        "Ready server pods in {} after 8 min: {}",
        ns.name(),
        cluster().kubectl_stdout(&["get", "pods,events", "-n", ns.name()])
    );
    for pod in &pods {
        let c = &pod.spec.as_ref().unwrap().containers[0];
        assert_eq!(c.image.as_deref(), Some(IMAGE));
        let endpoint = c
            .env
            .iter()
            .flatten()
            .find(|e| e.name == "MLFLOW_S3_ENDPOINT_URL")
            .and_then(|e| e.value_from.as_ref())
            .and_then(|v| v.secret_key_ref.as_ref())
            .map(|r| (r.name.as_str(), r.key.as_str()));
        assert_eq!(endpoint, Some(("s3-credentials", "endpoint-url")));
    }
    pods.into_iter().map(|p| p.metadata.name.unwrap()).collect()
}

/// `psql -Atc SQL` in the database pod (kubectl exec): PostgreSQL's own view of the store.
pub(crate) fn psql(ns: &TestNamespace, sql: &str) -> String {
    cluster()
        .kubectl_stdout(&[
            "exec",
            "-n",
            ns.name(),
            "deploy/postgres",
            "--",
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "mlflow",
            "-d",
            "mlflow",
            "-Atc",
            sql,
        ])
        .trim()
        .to_string()
}

/// Each column of the run's rows in `runs`, `params` and `latest_metrics` (empty once purged).
fn run_in_db(ns: &TestNamespace, run: &str) -> String {
    psql(
        ns,
        &format!(
            "SELECT r.lifecycle_stage, p.value, m.value FROM runs r \
             JOIN params p ON p.run_uuid = r.run_uuid AND p.key = 'alpha' \
             JOIN latest_metrics m ON m.run_uuid = r.run_uuid AND m.key = 'rmse' \
             WHERE r.run_uuid = '{run}'"
        ),
    )
}

/// The bucket's objects under the run's artifact directory, "<path below it> <size>" sorted,
/// listed by boto3 (an S3 client) in the S3 pod (kubectl exec).
pub(crate) fn run_in_bucket(ns: &TestNamespace, run: &Value) -> Vec<String> {
    let prefix =
        format!("{PREFIX}/{}/{}/artifacts/", run["experiment_id"].as_str().unwrap(), run["run_id"].as_str().unwrap());
    let script = "import sys, boto3\n\
        s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:9000', region_name='us-east-1', \
        aws_access_key_id='kmlf-real-node', aws_secret_access_key='unused')\n\
        for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[1], Prefix=sys.argv[2]):\n\
        \x20   for o in page.get('Contents', []):\n\
        \x20       print(o['Key'][len(sys.argv[2]):], o['Size'])\n";
    let out = cluster().kubectl_stdout(&[
        "exec",
        "-n",
        ns.name(),
        "deploy/s3",
        "--",
        "python",
        "-c",
        script,
        BUCKET,
        &prefix,
    ]);
    let mut objects: Vec<String> = out.lines().map(str::to_string).collect();
    objects.sort();
    objects
}

/// The run's artifacts as `roundtrip --blob-mib 5` logs them.
pub(crate) fn logged_objects() -> Vec<String> {
    vec![format!("data/blob.bin {}", 5 * 1024 * 1024), "notes/hello.txt 18".to_string()]
}

/// The MLflow client through a port-forward. With an S3 destination MLflow 3.17.2's server
/// advertises multipart (presigned-URL) transfers, and the client then reads from the S3
/// endpoint itself: http://s3:9000, a name only pods resolve. A client outside the cluster has to
/// keep every transfer on the server's proxy, as a user of an in-cluster S3 server must.
fn client(forward_url: &str, args: &[&str]) -> Value {
    let proxied =
        [("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false"), ("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "false")];
    mlflow_client(forward_url, &proxied, args)
}

/// The whole flow; `how` installs and upgrades.
async fn production_path(how: Installer, prefix: &str) {
    let mut steps = Steps::new();
    let ns = real_namespace(prefix).await;
    start_stores(&ns);
    steps.done("PostgreSQL and S3 Available");
    let s3_values = store_secrets(&ns);
    let s3_values = s3_values.display().to_string();
    install(how, &ns, &s3_values, 1).await;
    steps.done("install to Ready");

    // A run with params, metrics and a 5 MiB artifact, and one that stays to the end.
    let pf = cluster().port_forward(ns.name(), SERVICE, 5000, FORWARD_TIMEOUT);
    let run = client(&pf.url(), &["roundtrip", "--blob-mib", "5"]);
    let kept = client(&pf.url(), &["roundtrip"]);
    drop(pf);
    let id = run["run_id"].as_str().unwrap();
    let sha = run["blob_sha256"].as_str().unwrap();
    let kept_id = kept["run_id"].as_str().unwrap();
    steps.done("two runs logged through the MLflow client");
    assert_eq!(run_in_db(&ns, id), "active|0.5|0.25");
    assert_eq!(run_in_bucket(&ns, &run), logged_objects());
    assert_eq!(run_in_bucket(&ns, &kept), vec!["notes/hello.txt 18"]);
    steps.done("the run checked in PostgreSQL and in the bucket");

    // Two replicas on one database and bucket: each serves the run.
    install(how, &ns, &s3_values, 2).await;
    steps.done("upgrade to 2 replicas Ready");
    for pod in ready_servers(&ns, 2).await {
        let pf = cluster().port_forward(ns.name(), &format!("pod/{pod}"), 5000, FORWARD_TIMEOUT);
        let seen = client(&pf.url(), &["check", id, "--blob-sha256", sha]);
        assert_eq!(seen["blob"], "data/blob.bin", "{pod}: {seen}");
    }
    steps.done("both replicas serve the run");

    // GC after a soft delete: the run leaves PostgreSQL, its artifacts the bucket.
    let pf = cluster().port_forward(ns.name(), SERVICE, 5000, FORWARD_TIMEOUT);
    assert_eq!(client(&pf.url(), &["delete", id])["stage"], "deleted");
    drop(pf);
    assert_eq!(run_in_db(&ns, id), "deleted|0.5|0.25");
    let gc = ns.run("kubectl-mlflow-gc", &["--timeout", "8m"]);
    assert_ok(&gc);
    assert!(String::from_utf8_lossy(&gc.stdout).contains(id), "the GC log does not name the run: {}", text(&gc));
    assert_eq!(psql(&ns, &format!("SELECT count(*) FROM runs WHERE run_uuid = '{id}'")), "0");
    assert_eq!(run_in_bucket(&ns, &run), Vec::<String>::new(), "GC left the artifacts");
    assert_eq!(run_in_db(&ns, kept_id), "active|0.5|0.25", "GC touched a live run");
    steps.done("gc purged the soft-deleted run");

    // Uninstall: MLflow goes; the database, the bucket and what they hold stay.
    let helm_binary = Helm::V4.binary().display().to_string();
    let mut args = vec!["--timeout", "3m"];
    if let Installer::Helm = how {
        args.extend(["--helm-binary", &helm_binary]);
    }
    assert_ok(&ns.run("kubectl-mlflow-uninstall", &args));
    let left = cluster().kubectl_stdout(&["get", "deploy,svc,cronjob", "-n", ns.name(), "-l", SELECTOR, "-o", "name"]);
    assert_eq!(left.trim(), "", "uninstall left objects of the release");
    assert!(ready_pods(&ns, SELECTOR).await.is_empty(), "a server pod is left");
    wait_available(&ns, &["deploy/postgres", "deploy/s3"], Duration::from_secs(10));
    assert_eq!(run_in_db(&ns, kept_id), "active|0.5|0.25");
    assert_eq!(run_in_bucket(&ns, &kept), vec!["notes/hello.txt 18"]);
    steps.done("uninstall left the database and the bucket");

    // The database lives on its volume: a new PostgreSQL pod starts on it (no second initdb).
    cluster().kubectl_stdout(&[
        "delete",
        "pod",
        "-n",
        ns.name(),
        "-l",
        "app=postgres",
        "--wait=true",
        "--timeout=120s",
    ]);
    cluster().kubectl_stdout(&[
        "wait",
        "-n",
        ns.name(),
        "pod",
        "-l",
        "app=postgres",
        "--for=condition=Ready",
        "--timeout=180s",
    ]);
    assert_eq!(run_in_db(&ns, kept_id), "active|0.5|0.25");
    let log = cluster().kubectl_stdout(&["logs", "-n", ns.name(), "deploy/postgres"]);
    assert!(!log.contains("first start"), "the new pod ran initdb again:\n{log}");
    steps.done("a new PostgreSQL pod on the same volume has the run");
    let _ = std::fs::remove_file(&s3_values);
    ns.delete().await;
    steps.done("namespace deleted");
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_production_example_runs_on_postgresql_and_s3() {
    production_path(Installer::Plugin, "real-prod").await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_production_example_installed_by_the_guides_helm_line_runs_on_postgresql_and_s3() {
    production_path(Installer::Helm, "real-prod-helm").await;
}
