//! `kubectl mlflow gc` purging for real: these need the real node (`scripts/test-cluster up
//! --real`, where MLflow's pods really run) and FAIL on a KWOK node, where nothing runs. Run them
//! one at a time, after `cargo build -p kubectl-mlflow-install -p kubectl-mlflow-gc`:
//! `cargo test -p kubectl-mlflow-gc -- --ignored --test-threads=1 real_node::`.
//!
//! Each installs the quick start (SQLite and artifacts on the PVC), makes a run with an artifact
//! through MLflow's own client (the contract venv's, via kubectl port-forward), soft-deletes it,
//! runs the plugin and looks in the store (the client) and on the PVC (kubectl exec in the server
//! pod).

use std::process::Output;
use std::time::Duration;

use kubectl_mlflow_test_support::{assert_ok, cluster, mlflow_client, real_namespace, PortForward, TestNamespace};
use serde_json::Value;

/// One uvicorn worker: on 2 cores the default four take minutes to start.
const ONE_WORKER: &str = "server.value_options.workers=1";

/// The plugin `bin` run on `ns`; panics with its output unless it succeeds.
fn plugin(bin: &str, ns: &TestNamespace, args: &[&str]) -> Output {
    let out = ns.run(bin, args);
    assert_ok(&out);
    out
}

/// The run's lifecycle stage in the store ("deleted", or "absent" once purged).
fn stage(server: &PortForward, run: &str, workspace: Option<&str>) -> String {
    let mut args = vec!["run-state", run];
    args.extend(workspace.iter().flat_map(|w| ["--workspace", *w]));
    mlflow_client(&server.url(), &[], &args)["stage"].as_str().unwrap().to_string()
}

/// Whether the run's artifact directory holds files on the PVC (seen from the server pod).
fn artifacts_on_pvc(ns: &TestNamespace, run: &Value) -> bool {
    let dir = format!(
        "/mlflow/artifacts/{}/{}/artifacts",
        run["experiment_id"].as_str().unwrap(),
        run["run_id"].as_str().unwrap()
    );
    let out = cluster()
        .kubectl()
        .args(["exec", "-n", ns.name(), "deploy/mlflow-mlflow", "--", "ls", "-A", &dir])
        .output()
        .unwrap();
    out.status.success() && !out.stdout.is_empty()
}

/// The quick start with `sets`, installed and waited for, and a forward to its Service.
async fn quick_start(prefix: &str, sets: &[&str]) -> (TestNamespace, PortForward) {
    let ns = real_namespace(prefix).await;
    let mut args = vec!["-f", "tests/values/quickstart.yaml", "--timeout", "10m", "--set", ONE_WORKER];
    for set in sets {
        args.extend(["--set", set]);
    }
    plugin("kubectl-mlflow-install", &ns, &args);
    let forward = cluster().port_forward(ns.name(), "svc/mlflow-mlflow", 5000, Duration::from_secs(60));
    (ns, forward)
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn gc_purges_a_soft_deleted_run_and_its_artifacts_unless_it_is_younger_than_older_than() {
    let (ns, server) = quick_start("gcreal", &[]).await;
    let run = mlflow_client(&server.url(), &[], &["roundtrip", "--delete"]);
    let id = run["run_id"].as_str().unwrap();
    assert!(artifacts_on_pvc(&ns, &run), "the run's artifact is not on the PVC");

    plugin("kubectl-mlflow-gc", &ns, &["--older-than", "30d", "--timeout", "5m"]);
    assert_eq!(stage(&server, id, None), "deleted", "--older-than 30d purged a run deleted just now");
    assert!(artifacts_on_pvc(&ns, &run), "--older-than 30d removed the artifacts of a run deleted just now");

    let out = plugin("kubectl-mlflow-gc", &ns, &["--timeout", "5m"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("Run with ID {id} has been permanently deleted")),
        "the streamed log names the purged run:\n{stdout}"
    );
    assert_eq!(stage(&server, id, None), "absent");
    assert!(!artifacts_on_pvc(&ns, &run), "the artifact directory is still on the PVC");
    drop(server);
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn gc_all_workspaces_purges_a_run_in_a_second_workspace_on_sqlite() {
    let (ns, server) = quick_start(
        "gcrealws",
        &["server.flag_options[0]=enable_workspaces", "mlflow.defaultArtifactRoot=mlflow-artifacts:/"],
    )
    .await;
    let run = mlflow_client(&server.url(), &[], &["roundtrip", "--workspace", "team-gc", "--delete"]);
    let id = run["run_id"].as_str().unwrap();
    assert_eq!(stage(&server, id, Some("team-gc")), "deleted");
    plugin("kubectl-mlflow-gc", &ns, &["--all-workspaces", "--timeout", "5m"]);
    assert_eq!(stage(&server, id, Some("team-gc")), "absent");
    drop(server);
    ns.delete().await;
}
