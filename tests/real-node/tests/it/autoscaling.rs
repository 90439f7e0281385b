//! `autoscaling` on the real node with a real metrics API (metrics-server v0.8.0 from its Go
//! module, `metrics_api`): load makes the HorizontalPodAutoscaler scale the server out, and back
//! when the load stops. Run alone with
//! `cargo test -p kubectl-mlflow-real-node-tests --test it -- --ignored --nocapture autoscaling::`
//! after `scripts/test-cluster up --real` (with `KMLF_IMAGES="pause slim full postgres s3
//! metrics-server"`, or `scripts/test-cluster images` after building that image) and building the
//! plugins, as production:: says.

use std::time::Duration;

use kubectl_mlflow_test_support::{assert_ok, cluster, ready_pods, real_namespace, repo_root, TestNamespace};

use crate::metrics_api::{self, until};
use crate::production::{Steps, ONE_WORKER};
use kubectl_mlflow_test_support::stores::DB_URI;

const HPA: &str = "hpa/mlflow-mlflow";
const DEPLOYMENT: &str = "deploy/mlflow-mlflow";
const SELECTOR: &str = "app.kubernetes.io/instance=mlflow,app.kubernetes.io/component=server";
/// The load's bound: its Job stops by itself after this, whatever the test does.
const LOAD_SECONDS: u32 = 420;

/// A bounded load on the release's own Service, from a Job in the test's namespace: 6 threads
/// asking MLflow to search experiments, each until `LOAD_SECONDS` are over.
fn load_job(ns: &TestNamespace) -> String {
    let url = format!(
        "http://mlflow-mlflow.{}.svc.cluster.local:5000/api/2.0/mlflow/experiments/search?max_results=50",
        ns.name()
    );
    let script = format!(
        "import threading, time, urllib.request\n\
         end = time.monotonic() + {LOAD_SECONDS}\n\
         counts = [0, 0]\n\
         def loop():\n    \
             while time.monotonic() < end:\n        \
                 try:\n            \
                     urllib.request.urlopen('{url}', timeout=10).read(); counts[0] += 1\n        \
                 except Exception:\n            \
                     counts[1] += 1; time.sleep(0.2)\n\
         threads = [threading.Thread(target=loop) for _ in range(6)]\n\
         [t.start() for t in threads]\n\
         [t.join() for t in threads]\n\
         print('requests', counts[0], 'errors', counts[1])\n"
    );
    let job = serde_json::json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "load"},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": LOAD_SECONDS + 60,
            "template": {"spec": {
                "restartPolicy": "Never",
                "enableServiceLinks": false,
                "containers": [{
                    "name": "load",
                    "image": "ghcr.io/mlflow/mlflow:v3.17.2-full",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python", "-c", script],
                    "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
                }],
            }},
        },
    });
    job.to_string()
}

fn replicas(ns: &TestNamespace) -> String {
    cluster().kubectl_stdout(&["get", DEPLOYMENT, "-n", ns.name(), "-o", "jsonpath={.spec.replicas}"])
}

/// The HPA's view: "<current CPU utilization %> <desired replicas>".
fn hpa(ns: &TestNamespace) -> String {
    cluster()
        .kubectl_output(&[
            "get",
            HPA,
            "-n",
            ns.name(),
            "-o",
            "jsonpath={.status.currentMetrics[0].resource.current.averageUtilization} {.status.desiredReplicas}",
        ])
        .unwrap_or_default()
}

fn describe(ns: &TestNamespace) -> String {
    let hpa = cluster().kubectl_output(&["describe", HPA, "-n", ns.name()]).unwrap_or_else(|e| e);
    let pods = cluster().kubectl_output(&["get", "pods,events", "-n", ns.name()]).unwrap_or_else(|e| e);
    format!("{hpa}\n{pods}")
}

/// Waits (at most `timeout`) until the Deployment's replica count is `n`, printing the HPA's
/// view as it changes.
fn until_replicas(ns: &TestNamespace, n: &str, timeout: Duration, why: &str) {
    let mut said = String::new();
    let reached = until(timeout, || {
        let seen = hpa(ns);
        if seen != said {
            eprintln!("autoscaling: utilization and desired replicas: {seen}");
            said = seen;
        }
        match replicas(ns) {
            r if r == n => Ok(()),
            r => Err(r),
        }
    });
    assert!(reached.is_ok(), "{why}: the Deployment still has {reached:?} replicas, not {n}\n{}", describe(ns));
}

/// The server between 1 and 2 pods on 50 % of a 100m CPU request, scale-down after a minute of
/// stable recommendations (its default window is 5 minutes; a shorter one flaps under a load
/// that a busy node serves unevenly): idle it stays at 1, under a bounded load from the test's
/// own Job it goes to 2, and back to 1 once the Job is deleted.
#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn load_scales_the_server_out_and_back() {
    let mut steps = Steps::new();
    metrics_api::ensure().await;
    steps.done("the metrics API serves the node's metrics");
    let ns = real_namespace("real-hpa").await;
    let postgres = repo_root().join("tests/real-node/manifests/postgres.yaml");
    cluster().kubectl_stdout(&["apply", "-n", ns.name(), "-f", &postgres.display().to_string()]);
    assert_ok(&ns.run_with_stdin("kubectl-mlflow-secrets", &["db", "--uri", "-"], DB_URI));
    cluster().kubectl_stdout(&[
        "wait",
        "-n",
        ns.name(),
        "deploy/postgres",
        "--for=condition=Available",
        "--timeout=300s",
    ]);
    let out = ns.run(
        "kubectl-mlflow-install",
        &[
            "--timeout",
            "10m",
            "--set",
            "mlflow.backendStoreUriFrom.secretKeyRef.name=mlflow-db-secret",
            "--set",
            "mlflow.backendStoreUriFrom.secretKeyRef.key=uri",
            "--set",
            "mlflow.defaultArtifactRoot=s3://my-bucket/mlflow",
            "--set",
            ONE_WORKER,
            "--set",
            "resources.requests.cpu=100m",
            "--set",
            "resources.requests.memory=256Mi",
            "--set",
            "resources.limits.memory=1Gi",
            "--set",
            "autoscaling.enabled=true",
            "--set",
            "autoscaling.minReplicas=1",
            "--set",
            "autoscaling.maxReplicas=2",
            "--set",
            "autoscaling.targetCPUUtilizationPercentage=50",
            "--set",
            "autoscaling.behavior.scaleDown.stabilizationWindowSeconds=60",
        ],
    );
    assert_ok(&out);
    assert_eq!(ready_pods(&ns, SELECTOR).await.len(), 1);
    steps.done("install (PostgreSQL, one server pod) to Ready");

    let measured = until(Duration::from_secs(240), || match hpa(&ns).split_once(' ') {
        Some((cpu, desired)) if !cpu.is_empty() => Ok(format!("{cpu}% of the request, {desired} desired")),
        _ => Err(describe(&ns)),
    });
    let measured = measured.unwrap_or_else(|e| panic!("the autoscaler measured no CPU within 4 min:\n{e}"));
    assert_eq!(replicas(&ns), "1", "idle, the autoscaler scaled out ({measured})\n{}", describe(&ns));
    steps.done(&format!("the autoscaler measures the idle pod: {measured}"));

    let job = load_job(&ns);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &job).unwrap();
    cluster().kubectl_stdout(&["apply", "-n", ns.name(), "-f", &file.path().display().to_string()]);
    until_replicas(&ns, "2", Duration::from_secs(300), "under load");
    steps.done("the load scaled the server out to 2 pods");
    let log = cluster().kubectl_output(&["logs", "-n", ns.name(), "job/load"]).unwrap_or_default();
    cluster().kubectl_stdout(&["delete", "job", "load", "-n", ns.name(), "--cascade=foreground", "--timeout=120s"]);
    eprintln!("autoscaling: the load stopped {}", log.trim());
    until_replicas(&ns, "1", Duration::from_secs(300), "after the load");
    steps.done("the load stopped: back to 1 pod");
    ns.delete().await;
    steps.done("namespace deleted");
}
