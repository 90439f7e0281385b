//! MLflow's real images on the real node of `scripts/test-cluster up --real`: pods run, probes
//! are real, volumes are directories on this machine. Ignored by plain `cargo test`; scripts/test
//! runs them with `--ignored` after `up --real`. Each test fails (never skips) on a KWOK node.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod, Secret};
use kube::api::{Api, PostParams};
use kubectl_mlflow_test_support::helm::Helm;
use kubectl_mlflow_test_support::{
    assert_ok, cluster, deployment_guide, mlflow_client, ready_pods, real_namespace, text, PortForward, TestNamespace,
};
use serde_json::json;

const RELEASE: &str = "mlflow-mlflow";
const SELECTOR: &str = "app.kubernetes.io/instance=mlflow";
const FULL_TAG: &str = "v3.17.2-full";
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);
/// Tests of other features than the quick start run one uvicorn worker: on 2 cores, the default
/// four take minutes to start beside other pods.
const ONE_WORKER: &str = "server.value_options.workers=1";

/// `kubectl mlflow install -n NS --timeout 8m ARGS` (the built binary, run as a process).
fn install(ns: &TestNamespace, args: &[&str]) -> Output {
    let mut all = vec!["--timeout", "8m"];
    all.extend(args);
    ns.run("kubectl-mlflow-install", &all)
}

/// The one Ready server pod: Ready by the kubelet's own httpGet probes of `/health`, on the
/// real node, never restarted, its image present without a pull.
async fn ready_server_pod(ns: &TestNamespace, image_tag: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(480);
    let mut pods = ready_pods(ns, SELECTOR).await;
    while pods.len() != 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        pods = ready_pods(ns, SELECTOR).await;
    }
    assert!(
        pods.len() == 1,
        "no Ready server pod in {} after 8 min: {}",
        ns.name(),
        cluster().kubectl_stdout(&["get", "pods,events", "-n", ns.name()])
    );
    let pod = &pods[0];
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.node_name.as_deref(), Some(kubectl_mlflow_test_support::REAL_NODE_NAME));
    let c = &spec.containers[0];
    assert_eq!(c.image.as_deref(), Some(format!("ghcr.io/mlflow/mlflow:{image_tag}").as_str()));
    assert_eq!(
        c.readiness_probe.as_ref().and_then(|p| p.http_get.as_ref()).map(|g| g.path.clone()),
        Some(Some("/health".into()))
    );
    let status = &pod.status.as_ref().unwrap().container_statuses.as_ref().unwrap()[0];
    assert!(status.ready && status.restart_count == 0, "{status:?}");
    let name = pod.metadata.name.clone().unwrap();
    let events = cluster().kubectl_stdout(&[
        "get",
        "events",
        "-n",
        ns.name(),
        "--field-selector",
        &format!("involvedObject.name={name}"),
        "-o",
        "jsonpath={range .items[*]}{.reason} {.message}{\"\\n\"}{end}",
    ]);
    assert!(!events.contains("Pulling"), "the image was pulled, not taken from the node: {events}");
    name
}

fn forward(ns: &TestNamespace) -> PortForward {
    cluster().port_forward(ns.name(), &format!("svc/{RELEASE}"), 5000, FORWARD_TIMEOUT)
}

/// The directory of the release's volume on this machine (the local-path provisioner's).
async fn volume_dir(ns: &TestNamespace) -> PathBuf {
    let pvc = ns.api::<PersistentVolumeClaim>().get(RELEASE).await.unwrap();
    let pv_name = pvc.spec.unwrap().volume_name.expect("the PVC is bound");
    let pv = Api::<PersistentVolume>::all(ns.client()).get(&pv_name).await.unwrap();
    PathBuf::from(pv.spec.unwrap().local.expect("a local volume").path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The quick start's checks: /health, a run with param, metric and artifact through the MLflow
/// client, the SQLite file and the artifact in the volume's directory, and the same run seen by
/// the pod that replaces a deleted one.
async fn quick_start_serves_and_keeps_its_runs(ns: &TestNamespace) {
    let first = ready_server_pod(ns, FULL_TAG).await;
    let pf = forward(ns);
    let health = pf.get("/health").await.unwrap();
    assert_eq!((health.status, health.text().trim()), (200, "OK"), "{health:?}");
    let run = mlflow_client(&pf.url(), &[], &["roundtrip"]);
    let run_id = run["run_id"].as_str().unwrap().to_string();
    let exp_id = run["experiment_id"].as_str().unwrap();

    let dir = volume_dir(ns).await;
    let db = dir.join("mlflow.db");
    assert!(std::fs::metadata(&db).map(|m| m.len() > 0).unwrap_or(false), "no SQLite database at {}", db.display());
    let artifact = dir.join(format!("artifacts/{exp_id}/{run_id}/artifacts/notes/hello.txt"));
    assert_eq!(read(&artifact), "contract artifact\n");
    drop(pf);

    cluster().kubectl_stdout(&["delete", "pod", &first, "-n", ns.name(), "--wait=true", "--timeout=120s"]);
    let second = ready_server_pod(ns, FULL_TAG).await;
    assert_ne!(first, second);
    let pf = forward(ns);
    assert_eq!(mlflow_client(&pf.url(), &[], &["check", &run_id])["artifact"], "notes/hello.txt");
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_quick_start_installed_by_the_plugin_runs_mlflow() {
    let ns = real_namespace("real-quick").await;
    assert_ok(&install(&ns, &[]));
    quick_start_serves_and_keeps_its_runs(&ns).await;
    uninstall_keeps_the_data_until_asked(&ns, &[]).await;
    ns.delete().await;
}

/// `kubectl mlflow uninstall ARGS`: the server goes, the volume's directory (the SQLite file)
/// stays; with `--delete-pvcs --yes` the provisioner removes the directory too.
async fn uninstall_keeps_the_data_until_asked(ns: &TestNamespace, args: &[&str]) {
    let dir = volume_dir(ns).await;
    let uninstall = |extra: &[&str]| {
        let mut all = vec!["--timeout", "3m"];
        all.extend(args);
        all.extend(extra);
        ns.run("kubectl-mlflow-uninstall", &all)
    };
    assert_ok(&uninstall(&[]));
    assert!(ready_pods(ns, SELECTOR).await.is_empty(), "a server pod is left");
    assert!(dir.join("mlflow.db").is_file(), "the data went with the release: {}", dir.display());
    assert_ok(&uninstall(&["--delete-pvcs", "--yes"]));
    let gone = kubectl_mlflow_test_support::poll_until(Duration::from_secs(60), || async { !dir.exists() });
    assert!(gone.await.is_ok(), "{} is still there after --delete-pvcs", dir.display());
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_quick_start_installed_by_the_guides_helm_line_runs_mlflow() {
    let ns = real_namespace("real-helm").await;
    let out = Helm::V4
        .on_cluster()
        .args(["install", "mlflow", "./charts", "--namespace", ns.name(), "--create-namespace"])
        .args(["--set", "storage.enabled=true"])
        .args(["--set", "mlflow.backendStoreUri=sqlite:////mlflow/mlflow.db"])
        .args(["--set", "mlflow.artifactsDestination=/mlflow/artifacts"])
        .output()
        .unwrap();
    assert!(out.status.success(), "helm install: {}", text(&out));
    quick_start_serves_and_keeps_its_runs(&ns).await;
    let helm = Helm::V4.binary().display().to_string();
    uninstall_keeps_the_data_until_asked(&ns, &["--helm-binary", &helm]).await;
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_gc_cronjobs_command_purges_a_soft_deleted_run() {
    let ns = real_namespace("real-gc").await;
    assert_ok(&install(&ns, &["--set", "garbageCollection.enabled=true", "--set", ONE_WORKER]));
    ready_server_pod(&ns, FULL_TAG).await;
    let pf = forward(&ns);
    let run = mlflow_client(&pf.url(), &[], &["roundtrip", "--delete"]);
    let run_id = run["run_id"].as_str().unwrap();
    assert_eq!(mlflow_client(&pf.url(), &[], &["run-state", run_id])["stage"], "deleted");

    cluster().kubectl_stdout(&["create", "job", "gc-now", &format!("--from=cronjob/{RELEASE}-gc"), "-n", ns.name()]);
    let done = cluster().kubectl_output(&[
        "wait",
        "job/gc-now",
        "-n",
        ns.name(),
        "--for=condition=Complete",
        "--timeout=300s",
    ]);
    let logs = cluster().kubectl_output(&["logs", "job/gc-now", "-n", ns.name()]).unwrap_or_else(|e| e);
    assert!(done.is_ok(), "the GC job did not complete: {done:?}\nlogs:\n{logs}");
    assert_eq!(mlflow_client(&pf.url(), &[], &["run-state", run_id])["stage"], "absent", "GC logs:\n{logs}");
    ns.delete().await;
}

/// The basic auth of MLflow's Kubernetes deployment guide as it writes it (its Secret holds the CSRF key only): the server starts
/// with the admin password the release generated, and refuses anonymous requests.
#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn basic_auth_on_the_full_image_refuses_anonymous_requests() {
    let ns = real_namespace("real-auth").await;
    cluster().shell(&deployment_guide::auth_secret(ns.name())).unwrap();
    assert_ok(&install(
        &ns,
        &["-f", "tests/values/basic-auth.yaml", "--set", ONE_WORKER, "--set", &format!("image.tag={FULL_TAG}")],
    ));
    ready_server_pod(&ns, FULL_TAG).await;
    let generated = ns.api::<Secret>().get(&format!("{RELEASE}-auth")).await.unwrap();
    let password = String::from_utf8(generated.data.unwrap()["admin-password"].0.clone()).unwrap();
    let pf = forward(&ns);
    let anonymous = pf.get("/api/2.0/mlflow/experiments/search?max_results=1").await.unwrap();
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert!(anonymous.headers.to_ascii_lowercase().contains("www-authenticate: basic"), "{anonymous:?}");
    let run = mlflow_client(
        &pf.url(),
        &[("MLFLOW_TRACKING_USERNAME", "admin"), ("MLFLOW_TRACKING_PASSWORD", &password)],
        &["roundtrip"],
    );
    assert_eq!(run["artifact"], "notes/hello.txt");
    ns.delete().await;
}

/// The deployment guide's TLS section as written (`kubectl create secret tls mlflow-tls --cert=tls.crt
/// --key=tls.key`, then `tls.enabled`): the pod is Ready by HTTPS probes, and the client, trusting
/// that certificate, logs a run through a port-forward.
#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn tls_from_the_guides_secret_serves_https() {
    let ns = real_namespace("real-tls").await;
    let dir = tempfile::tempdir().unwrap();
    deployment_guide::self_signed(dir.path(), "localhost");
    cluster().shell_in(dir.path(), &deployment_guide::tls_secret(ns.name())).unwrap();
    assert_ok(&install(&ns, &["-f", "tests/values/tls.yaml", "--set", ONE_WORKER]));
    ready_server_pod(&ns, FULL_TAG).await;
    let pf = forward(&ns);
    let plain = pf.get("/health").await;
    assert!(!matches!(&plain, Ok(r) if r.status == 200), "plain HTTP was served on the TLS port: {plain:?}");
    let cert = dir.path().join("tls.crt").display().to_string();
    let url = format!("https://localhost:{}", pf.port());
    let run = mlflow_client(&url, &[("MLFLOW_TRACKING_SERVER_CERT_PATH", &cert)], &["roundtrip"]);
    assert_eq!(run["artifact"], "notes/hello.txt");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn metrics_on_the_full_image_serve_prometheus_text() {
    let ns = real_namespace("real-metrics").await;
    assert_ok(&install(
        &ns,
        &["-f", "tests/values/metrics.yaml", "--set", ONE_WORKER, "--set", &format!("image.tag={FULL_TAG}")],
    ));
    ready_server_pod(&ns, FULL_TAG).await;
    let pf = forward(&ns);
    assert_eq!(pf.get("/health").await.unwrap().status, 200);
    let metrics = pf.get("/metrics").await.unwrap();
    assert_eq!(metrics.status, 200, "{metrics:?}");
    assert!(metrics.headers.contains("text/plain"), "{}", metrics.headers);
    assert!(
        metrics.text().contains("# HELP mlflow_") && metrics.text().contains("# TYPE mlflow_"),
        "not Prometheus text: {}",
        metrics.text()
    );
    ns.delete().await;
}

/// `kubectl mlflow install` stops waiting once the container has crashed, and shows its log.
fn assert_fails_fast_with(ns: &TestNamespace, args: &[&str], log_line: &str) {
    let t0 = Instant::now();
    let out = install(ns, args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(log_line), "the container's log line {log_line:?} is not shown:\n{stderr}");
    // `--timeout 8m`: a wait that runs into its timeout has not failed fast
    assert!(t0.elapsed() < Duration::from_secs(360), "install took {:?}:\n{stderr}", t0.elapsed());
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn a_server_with_a_bad_command_fails_the_install_with_its_log() {
    let ns = real_namespace("real-badcmd").await;
    assert_fails_fast_with(
        &ns,
        // An option MLflow does not have is refused before any write now; a workers count
        // MLflow passes on as text is only refused by uvicorn, in the pod.
        &["--set-string", "server.value_options.workers=abc"],
        "is not a valid integer",
    );
    ns.delete().await;
}

/// The image the deployment guide's production values render to, by a client-side `--dry-run`.
fn rendered_image(ns: &TestNamespace, args: &[&str]) -> String {
    let out = install(ns, &[args, &["--dry-run", "-o", "yaml"]].concat());
    assert_ok(&out);
    let rendering = String::from_utf8_lossy(&out.stdout);
    let image = rendering
        .lines()
        .find_map(|line| line.trim().strip_prefix("image: "))
        .unwrap_or_else(|| panic!("no image in the rendering:\n{rendering}"));
    image.trim_matches('"').to_string()
}

/// Runs `python -c code` in `image` as a one-off pod; returns its phase and log.
async fn run_python(ns: &TestNamespace, image: &str, code: &str) -> (String, String) {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "imports"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "python", "image": image, "imagePullPolicy": "Never",
                            "command": ["python", "-c", code]}]
        }
    }))
    .unwrap();
    let pods = ns.api::<Pod>();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let finished = |p: &Pod| {
        let phase = p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
        (phase == "Succeeded" || phase == "Failed").then_some(phase)
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut phase = None;
    while phase.is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        phase = pods.get("imports").await.ok().as_ref().and_then(finished);
    }
    let log = pods.logs("imports", &Default::default()).await.unwrap_or_default();
    (phase.unwrap_or_else(|| "not finished in 3 minutes".into()), log)
}

/// The production values (PostgreSQL URI and S3 credentials from Secrets) need psycopg2 and
/// boto3: the default image has them; the slim tag is refused before anything is written.
#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_production_values_get_an_image_with_their_drivers_and_the_slim_one_is_refused() {
    let ns = real_namespace("real-drivers").await;
    ns.create_secret("mlflow-db-secret", &[("uri", "postgresql://mlflow:unused@postgres:5432/mlflow")]).await;
    ns.create_secret("s3-credentials", &[("access-key-id", "unused"), ("secret-access-key", "unused")]).await;
    let example = ["-f", "charts/example-mlflow-charts.yaml"];

    let slim = install(&ns, &[&example[..], &["--set", "image.tag=v3.17.2"]].concat());
    assert_eq!(slim.status.code(), Some(2), "{}", text(&slim));
    // The database URI is in a Secret: the S3 store names the missing module.
    assert!(String::from_utf8_lossy(&slim.stderr).contains("needs the Python module boto3"), "{}", text(&slim));
    let written = cluster().kubectl_stdout(&[
        "get",
        "deployments,services,configmaps,secrets,persistentvolumeclaims,serviceaccounts",
        "-n",
        ns.name(),
        "-l",
        SELECTOR,
        "-o",
        "name",
    ]);
    assert_eq!(written.trim(), "", "the refused install wrote objects");
    let parent = ns.api::<Secret>().get_opt("kubectl-mlflow.release.mlflow").await.unwrap();
    assert!(parent.is_none(), "the refused install recorded a release");

    let image = rendered_image(&ns, &example);
    assert!(image.ends_with(FULL_TAG), "the default image is {image}");
    let (phase, log) =
        run_python(&ns, &image, "import psycopg2, boto3; print('drivers', psycopg2.__version__, boto3.__version__)")
            .await;
    assert_eq!(phase, "Succeeded", "python in {image}: {log}");
    assert!(log.contains("drivers "), "{log}");
    ns.delete().await;
}
