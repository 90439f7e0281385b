//! `kubectl mlflow portforward` to real MLflow on the real node of `scripts/test-cluster up
//! --real` (bytes must reach a real server: KWOK cannot carry them). Ignored by plain
//! `cargo test`; run in scripts/test's real-node phase with --ignored. Each test FAILS on a KWOK
//! node, saying how to start the real one. Every request has a timeout.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kubectl_mlflow_test_support::http::request;
use kubectl_mlflow_test_support::portforward::ForwardPlugin;
use kubectl_mlflow_test_support::random::Rng;
use kubectl_mlflow_test_support::{assert_ok, cluster, mlflow_client, real_namespace, TestNamespace};
use serde_json::Value;

const START: Duration = Duration::from_secs(120);

/// `kubectl mlflow install -n NS` (the quick start), waiting for the rollout.
fn install(ns: &TestNamespace) {
    assert_ok(&ns.run("kubectl-mlflow-install", &["--timeout", "5m"]));
}

fn start(ns: &TestNamespace) -> ForwardPlugin {
    ForwardPlugin::start(ns, &["--port", "0"], &[], START)
}

async fn health(plugin: &ForwardPlugin) {
    let response = request(plugin.addr(), "GET", "/health", b"")
        .await
        .unwrap_or_else(|e| panic!("{e}\nstderr:\n{}", plugin.stderr()));
    assert_eq!((response.status, response.text().trim()), (200, "OK"), "stderr:\n{}", plugin.stderr());
}

/// The contract suite's MLflow client (`tests/contract/client.py roundtrip`): logs a param, a
/// metric and an artifact in a new run through `url` and reads them back.
fn client_roundtrip(url: &str) -> Value {
    mlflow_client(url, &[], &["roundtrip"])
}

/// A 3 MiB artifact (more than ten copy buffers of the forward, and not a multiple of one)
/// uploaded to and downloaded from MLflow's artifact proxy arrives byte for byte.
async fn artifact_of_several_copy_buffers_survives_both_ways(plugin: &ForwardPlugin) {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let blob: Vec<u8> = (0..3 * 1024 * 1024 + 12_345).map(|_| rng.next_u64() as u8).collect();
    let path = "/api/2.0/mlflow-artifacts/artifacts/pf-real/blob.bin";
    let put = request(plugin.addr(), "PUT", path, &blob)
        .await
        .unwrap_or_else(|e| panic!("{e}\nstderr:\n{}", plugin.stderr()));
    assert_eq!(put.status, 200, "PUT {path}: {}", put.text());
    let got =
        request(plugin.addr(), "GET", path, b"").await.unwrap_or_else(|e| panic!("{e}\nstderr:\n{}", plugin.stderr()));
    assert_eq!(got.status, 200, "GET {path}: {}", got.text());
    assert_eq!(got.body.len(), blob.len(), "GET {path} returned a different length");
    assert!(got.body == blob, "GET {path} returned other bytes than were uploaded");
}

fn kubectl(args: &[&str]) {
    cluster().kubectl_stdout(args);
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn real_mlflow_through_the_forward_health_client_and_fifty_concurrent_requests() {
    let ns = real_namespace("pf-real").await;
    install(&ns);
    let plugin = start(&ns);
    health(&plugin).await;

    let run = client_roundtrip(&plugin.urls[0]);
    assert_eq!(run["artifact"], "notes/hello.txt", "{run}");
    artifact_of_several_copy_buffers_survives_both_ways(&plugin).await;

    let addr = plugin.addr();
    let answers = futures::future::join_all(
        (0..50).map(|_| tokio::spawn(async move { request(addr, "GET", "/health", b"").await })),
    )
    .await;
    let failed: Vec<String> = answers
        .into_iter()
        .map(|a| a.unwrap())
        .filter_map(|a| match a {
            Ok(r) if r.status == 200 => None,
            Ok(r) => Some(format!("status {}", r.status)),
            Err(e) => Some(e),
        })
        .collect();
    assert!(failed.is_empty(), "{} of 50 requests failed: {failed:?}\nstderr:\n{}", failed.len(), plugin.stderr());

    let second = kubectl_mlflow_test_support::plugin("kubectl-mlflow-portforward")
        .args(ns.cluster_args())
        .args(["--port", &addr.port().to_string()])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("is already in use"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn a_rollout_restart_moves_the_forward_to_the_new_pod() {
    let ns = real_namespace("pf-restart").await;
    install(&ns);
    let plugin = start(&ns);
    health(&plugin).await;
    let before = client_roundtrip(&plugin.urls[0]);

    kubectl(&["rollout", "restart", "deployment/mlflow-mlflow", "-n", ns.name()]);
    kubectl(&["rollout", "status", "deployment/mlflow-mlflow", "-n", ns.name(), "--timeout=5m"]);
    let pods: Api<Pod> = ns.api();
    let ready = pods
        .list(&ListParams::default().labels("app.kubernetes.io/instance=mlflow,app.kubernetes.io/component=server"))
        .await
        .unwrap();
    let new_pod = ready
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.name.clone())
        .next()
        .unwrap();
    plugin.wait_stderr(&format!("forwarding to pod {new_pod} now"), Duration::from_secs(120));

    // New requests succeed without restarting the plugin, and the new pod serves the old run.
    health(&plugin).await;
    let after = client_roundtrip(&plugin.urls[0]);
    assert_ne!(after["run_id"], before["run_id"]);
    let old_run = request(
        plugin.addr(),
        "GET",
        &format!("/api/2.0/mlflow/runs/get?run_id={}", before["run_id"].as_str().unwrap()),
        b"",
    )
    .await
    .unwrap();
    assert_eq!(old_run.status, 200, "{}", old_run.text());
    ns.delete().await;
}
