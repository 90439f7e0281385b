//! Case 5: PostgreSQL stopped. At install: the install fails naming the database and the
//! migration Job's log, having written nothing but the release's record and the Job. While
//! serving: calls fail with MLflow's error while it is down, and the server serves again,
//! without a human, once it is back; nothing logged before is lost.

use std::time::{Duration, Instant};

use kubectl_mlflow_fault_tests::mlflow::{one_try, Forward};
use kubectl_mlflow_fault_tests::{figure, kubectl, real_fault_namespace, text, wait_available, RELEASE, SELECTOR};
use kubectl_mlflow_test_support::cluster;

use crate::production;

fn stop_database(ns: &kubectl_mlflow_test_support::TestNamespace) {
    kubectl(&["scale", "deploy/postgres", "-n", ns.name(), "--replicas=0"]);
    kubectl(&["wait", "pods", "-n", ns.name(), "-l", "app=postgres", "--for=delete", "--timeout=120s"]);
}

fn start_database(ns: &kubectl_mlflow_test_support::TestNamespace) {
    kubectl(&["scale", "deploy/postgres", "-n", ns.name(), "--replicas=1"]);
    wait_available(ns, &["deploy/postgres"], Duration::from_secs(180));
}

#[tokio::test]
#[ignore = "needs the real node with an audit log: scripts/test-cluster up --real --audit-policy tests/faults/audit-policy.yaml"]
async fn install_with_the_database_down_fails_naming_it_and_writes_nothing_else() {
    let ns = real_fault_namespace("fault-db-install").await;
    let production = production::prepare(&ns);
    stop_database(&ns);
    let install = production.install(&["--timeout", "5m"]);
    let (out, writes) = install.run_counting(&ns);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for needle in ["mlflow db upgrade", "postgres", "kubectl logs -n"] {
        assert!(stderr.contains(needle), "the failure does not name {needle:?}: {stderr}");
    }
    let written: Vec<String> =
        writes.iter().filter(|w| w.code.is_some_and(|c| c < 300)).map(|w| w.describe()).collect();
    let server = kubectl(&[
        "get",
        "deploy,svc,sa,cronjob",
        "-n",
        ns.name(),
        "-l",
        &format!("app.kubernetes.io/instance={RELEASE}"),
        "-o",
        "name",
    ]);
    assert_eq!(server.trim(), "", "the failed install wrote the server's objects: {written:?}");
    assert!(
        written.iter().all(|w| w.contains("secrets/kubectl-mlflow.release") || w.contains("jobs/")),
        "written beside the record and the Job: {written:?}"
    );
    // the database back: the same command succeeds
    start_database(&ns);
    let rerun = install.run(&ns);
    assert!(rerun.status.success(), "install once the database is back: {}", text(&rerun));
    figure(
        "database down at install",
        &format!(
            "exit 1 naming the migration Job and its log; written: {}; rerun after the database is back: ok",
            written.join(", ")
        ),
    );
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node with an audit log: scripts/test-cluster up --real --audit-policy tests/faults/audit-policy.yaml"]
async fn the_server_recovers_by_itself_when_the_database_comes_back() {
    let ns = real_fault_namespace("fault-db-serve").await;
    let _production = production::install(&ns, &[]);
    let forward = Forward::start(&ns, Duration::from_secs(120));
    let before = one_try(&forward.url, &["roundtrip"], 20).expect("a run before the outage");
    stop_database(&ns);
    let during = one_try(&forward.url, &["roundtrip", "--no-artifact"], 20);
    assert!(during.is_err(), "a run was logged with the database down: {during:?}");
    // what the probes make of it, 40 s into the outage
    tokio::time::sleep(Duration::from_secs(40)).await;
    let ready_during = kubectl(&[
        "get",
        "pods",
        "-n",
        ns.name(),
        "-l",
        SELECTOR,
        "-o",
        "jsonpath={.items[*].status.containerStatuses[*].ready}",
    ]);
    start_database(&ns);
    let back = Instant::now();
    let mut after = Err(String::new());
    while back.elapsed() < Duration::from_secs(180) {
        after = one_try(&forward.url, &["check", before["run_id"].as_str().unwrap()], 20);
        if after.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    assert!(
        after.is_ok(),
        "the server did not serve again within 3 min of the database's return: {after:?}\n{}",
        kubectl(&["get", "pods,events", "-n", ns.name()])
    );
    let fresh = one_try(&forward.url, &["roundtrip"], 20);
    assert!(fresh.is_ok(), "a new run after the recovery: {fresh:?}");
    let restarts = kubectl(&[
        "get",
        "pods",
        "-n",
        ns.name(),
        "-l",
        SELECTOR,
        "-o",
        "jsonpath={.items[*].status.containerStatuses[*].restartCount}",
    ]);
    figure(
        "database stopped while serving",
        &format!(
            "during: {}; server pod Ready during the outage: {}; serving again {:.0} s after the database, restarts {}; the earlier run intact",
            during.unwrap_err(),
            ready_during.trim(),
            back.elapsed().as_secs_f64(),
            restarts.trim()
        ),
    );
    drop(forward);
    let _ = cluster();
    ns.delete().await;
}
