//! Case 5: PostgreSQL stopped. At install: the install fails naming the database and the
//! migration Job's log, having written nothing but the release's record and the Job. While
//! serving: calls fail with MLflow's error while it is down, and the server serves again,
//! without a human, once it is back; nothing logged before is lost.

use std::time::{Duration, Instant};

use kubectl_mlflow_fault_tests::mlflow::{one_try, Forward};
use kubectl_mlflow_fault_tests::{figure, kubectl, real_fault_namespace, server_pods, text, wait_available, RELEASE};
use kubectl_mlflow_test_support::{cluster, TestNamespace};

use crate::production;

/// Every object of the release in `ns` (`kind.group/name`): its record, and whatever it applied
/// (labelled with the release or a member of its ApplySet).
fn release_objects(ns: &TestNamespace) -> Vec<String> {
    let kinds = "deploy,svc,sa,cronjob,job,configmap,secret,pvc,role,rolebinding,hpa,pdb,networkpolicy,ingress";
    let mut names = std::collections::BTreeSet::new();
    for selector in [format!("app.kubernetes.io/instance={RELEASE}"), "applyset.kubernetes.io/part-of".to_string()] {
        let listed = kubectl(&["get", kinds, "-n", ns.name(), "-l", &selector, "-o", "name"]);
        names.extend(listed.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from));
    }
    let record = format!("kubectl-mlflow.release.{RELEASE}");
    let parent = kubectl(&["get", "secret", &record, "-n", ns.name(), "--ignore-not-found", "-o", "name"]);
    names.extend(parent.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from));
    names.into_iter().collect()
}

fn stop_database(ns: &TestNamespace) {
    kubectl(&["scale", "deploy/postgres", "-n", ns.name(), "--replicas=0"]);
    kubectl(&["wait", "pods", "-n", ns.name(), "-l", "app=postgres", "--for=delete", "--timeout=120s"]);
}

fn start_database(ns: &TestNamespace) {
    kubectl(&["scale", "deploy/postgres", "-n", ns.name(), "--replicas=1"]);
    wait_available(ns, &["deploy/postgres"], Duration::from_secs(180));
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn install_with_the_database_down_fails_naming_it_and_writes_nothing_else() {
    let ns = real_fault_namespace("fault-db-install").await;
    let production = production::prepare(&ns);
    stop_database(&ns);
    // the Job's wait for the database (migrations.waitTimeout, 4m by default) cut short: the
    // failure, not the wait, is the case
    let install = production.install(&["--timeout", "5m", "--set", "migrations.waitTimeout=30s"]);
    // the writes as the audit log saw them, where the cluster keeps one; the objects in any case
    let (out, writes) = match cluster().audit_log() {
        Some(_) => {
            let (out, writes) = install.run_counting(&ns);
            (out, Some(writes))
        }
        None => (install.run(&ns), None),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for needle in ["mlflow db upgrade", "postgres", "kubectl logs -n"] {
        assert!(stderr.contains(needle), "the failure does not name {needle:?}: {stderr}");
    }
    // (the Secrets of `kubectl mlflow secrets` are labelled for the release too: the setup's)
    let setup: Vec<String> = production.others().secrets.iter().map(|s| format!("secret/{s}")).collect();
    let left: Vec<String> = release_objects(&ns).into_iter().filter(|o| !setup.contains(o)).collect();
    assert!(
        left.iter().all(|o| o == &format!("secret/kubectl-mlflow.release.{RELEASE}") || o.starts_with("job.batch/")),
        "the failed install wrote beside its record and the migration Job: {left:?}"
    );
    let written = match &writes {
        Some(writes) => {
            let written: Vec<String> =
                writes.iter().filter(|w| w.code.is_some_and(|c| c < 300)).map(|w| w.describe()).collect();
            assert!(
                written.iter().all(|w| w.contains("secrets/kubectl-mlflow.release") || w.contains("jobs/")),
                "written beside the record and the Job: {written:?}"
            );
            written.join(", ")
        }
        None => format!("left in the namespace: {}", left.join(", ")),
    };
    // the database back: the same command succeeds
    start_database(&ns);
    let rerun = install.run(&ns);
    assert!(rerun.status.success(), "install once the database is back: {}", text(&rerun));
    figure(
        "database down at install",
        &format!(
            "exit 1 naming the migration Job and its log ({:?}); written: {written}; rerun after the database is back: ok",
            stderr.lines().find(|l| l.contains("postgres")).unwrap_or_default().trim()
        ),
    );
    ns.delete().await;
}

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
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
    let ready_during = server_pods(&ns, "{.items[*].status.containerStatuses[*].ready}");
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
    let restarts = server_pods(&ns, "{.items[*].status.containerStatuses[*].restartCount}");
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
