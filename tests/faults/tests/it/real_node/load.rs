//! Load held: 16 MLflow clients (processes of the contract venv's python) log metrics and small
//! artifacts for 60 s through `kubectl mlflow portforward` while an upgrade that changes the pod
//! template rolls out; on the quick start and on the production example with 2 replicas. Zero
//! failed operations after the client's retries, everything read back; the throughput and p99
//! latency are reported (never asserted: timings are no pass/fail criterion).

use std::time::Duration;

use kubectl_mlflow_fault_tests::mlflow::{Forward, Load};
use kubectl_mlflow_fault_tests::victim::Plugin;
use kubectl_mlflow_fault_tests::{figure, real_fault_namespace, text, ONE_WORKER};
use kubectl_mlflow_test_support::TestNamespace;

use crate::production;

const LOAD: Load = Load { clients: 16, seconds: 60, max_ops: 20_000, artifact_every: 10 };

/// The load, with `upgrade` started 10 s into it; the figures.
fn under_load(ns: &TestNamespace, upgrade: &Plugin, case: &str) {
    let forward = Forward::start(ns, Duration::from_secs(120));
    let record = std::env::temp_dir().join(format!("{}-load.json", ns.name()));
    let logging = LOAD.start(&forward.url, &record);
    // the clients start 8 s after their launch
    std::thread::sleep(Duration::from_secs(18));
    let rollout = upgrade.run(ns);
    assert!(rollout.status.success(), "the upgrade under load: {}", text(&rollout));
    let logged = logging.finish();
    let verdict = logged.verify(None);
    figure(case, &format!("16 clients, 60 s, a rollout 10 s in: {}; read back: {verdict:?}", logged.figures()));
    assert_eq!(
        logged.failed(),
        0,
        "operations failed after the client's retries: {:?}\n{}",
        logged.failures(5),
        forward.said()
    );
    assert!(verdict.is_ok(), "data lost: {verdict:?}");
    std::fs::remove_file(record).ok();
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_quick_start_holds_16_clients_through_a_rollout() {
    let ns = real_fault_namespace("load-quick").await;
    let install = |mark: &str| {
        let mark = format!("podAnnotations.kmlf-load=rollout-{mark}");
        Plugin::new("kubectl-mlflow-install", &["--timeout", "8m", "--set", ONE_WORKER, "--set", &mark])
    };
    let out = install("0").run(&ns);
    assert!(out.status.success(), "install: {}", text(&out));
    under_load(&ns, &install("1"), "load: quick start");
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_production_example_with_2_replicas_holds_16_clients_through_a_rollout() {
    let ns = real_fault_namespace("load-prod").await;
    let production =
        production::install(&ns, &["--set", "replicaCount=2", "--set", "podAnnotations.kmlf-load=rollout-0"]);
    under_load(
        &ns,
        &production.install(&["--set", "replicaCount=2", "--set", "podAnnotations.kmlf-load=rollout-1"]),
        "load: production example, 2 replicas",
    );
    ns.delete().await;
}
