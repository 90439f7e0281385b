//! Case 3: the serving pod deleted while clients log metrics and upload artifacts through
//! `kubectl mlflow portforward`: with the MLflow client's own retries nothing logged is missing
//! and no artifact is partial.

use std::time::Duration;

use kubectl_mlflow_fault_tests::draw::Draw;
use kubectl_mlflow_fault_tests::mlflow::{Forward, Load};
use kubectl_mlflow_fault_tests::victim::Plugin;
use kubectl_mlflow_fault_tests::{figure, kubectl, real_fault_namespace, server_pods, text, ONE_WORKER};

#[tokio::test]
#[ignore = "needs the real node: scripts/test-cluster up --real"]
async fn the_serving_pod_deleted_while_clients_log_loses_nothing() {
    let mut draw = Draw::new("serving-pod");
    let ns = real_fault_namespace("fault-pod").await;
    let out = Plugin::new("kubectl-mlflow-install", &["--timeout", "8m", "--set", ONE_WORKER]).run(&ns);
    assert!(out.status.success(), "install: {}", text(&out));
    let forward = Forward::start(&ns, Duration::from_secs(120));
    let record = std::env::temp_dir().join(format!("{}-load.json", ns.name()));
    let load = Load { clients: 4, seconds: 75, max_ops: 3000, artifact_every: 5 };
    let logging = load.start(&forward.url, &record);
    // the clients start 8 s after their launch; the pod goes 10 to 30 s into their logging
    let after = 18 + draw.below(20) as u64;
    tokio::time::sleep(Duration::from_secs(after)).await;
    let pod = server_pods(&ns, "{.items[0].metadata.name}");
    kubectl(&["delete", "pod", "-n", ns.name(), pod.trim(), "--wait=false"]);
    let logged = logging.finish();
    let verdict = logged.verify(None);
    figure(
        "serving pod deleted",
        &format!("pod deleted {} s after launch; {}; read back: {verdict:?}", after, logged.figures()),
    );
    assert_eq!(
        logged.failed(),
        0,
        "operations failed after the client's retries ({}): {:?}",
        draw.replay(),
        logged.failures(5)
    );
    assert!(verdict.is_ok(), "data lost ({}): {verdict:?}\nport-forward said:\n{}", draw.replay(), forward.said());
    std::fs::remove_file(record).ok();
    ns.delete().await;
}
