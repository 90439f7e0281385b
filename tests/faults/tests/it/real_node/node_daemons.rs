//! Case 4: containerd, then the kubelet, SIGKILLed and restarted on the node: the pods come
//! back (their containers never stopped), the data is intact, and `kubectl mlflow status`
//! returns to Healthy (its exit code 0) by itself.

use std::time::Duration;

use kubectl_mlflow_fault_tests::draw::Draw;
use kubectl_mlflow_fault_tests::mlflow::{client, Forward};
use kubectl_mlflow_fault_tests::victim::Plugin;
use kubectl_mlflow_fault_tests::{figure, kubectl, real_fault_namespace, server_pods, text, ONE_WORKER};
use kubectl_mlflow_test_support::{cluster, poll_until};

/// How long `kubectl mlflow status` may take to say Healthy again once the pod is Ready.
const HEALTHY_WITHIN: Duration = Duration::from_secs(120);

#[tokio::test]
#[ignore = "needs a real node of its own (it restarts containerd and the kubelet): scripts/fault-test node_daemons"]
async fn pods_and_data_survive_containerd_and_kubelet_restarts() {
    let mut draw = Draw::new("node-daemons");
    let ns = real_fault_namespace("fault-node").await;
    let out = Plugin::new("kubectl-mlflow-install", &["--timeout", "8m", "--set", ONE_WORKER]).run(&ns);
    assert!(out.status.success(), "install: {}", text(&out));
    let run = {
        let forward = Forward::start(&ns, Duration::from_secs(120));
        client(&forward.url, &["roundtrip", "--blob-mib", "1"])
    };
    let (id, sha) = (run["run_id"].as_str().unwrap(), run["blob_sha256"].as_str().unwrap());
    let pod_before = pod_and_restarts(&ns);
    for daemon in ["containerd", "kubelet"] {
        let down = draw.below(5) as u32;
        cluster().restart(daemon, down).unwrap_or_else(|e| panic!("{e}"));
        let ready = poll_until(Duration::from_secs(180), || async {
            server_pods(&ns, "{.items[*].status.containerStatuses[*].ready}").trim() == "true"
        });
        assert!(
            ready.await.is_ok(),
            "the server pod is not Ready 3 min after the {daemon} restart ({}): {}",
            draw.replay(),
            kubectl(&["get", "pods,events", "-n", ns.name()])
        );
        let forward = Forward::start(&ns, Duration::from_secs(120));
        let seen = client(&forward.url, &["check", id, "--blob-sha256", sha]);
        assert_eq!(seen["blob_sha256"], sha, "after the {daemon} restart");
        let status = Plugin::new("kubectl-mlflow-status", &[]);
        let healthy = poll_until(HEALTHY_WITHIN, || async { status.run(&ns).status.success() });
        assert!(
            healthy.await.is_ok(),
            "status is not Healthy {} s after the {daemon} restart ({}): {}",
            HEALTHY_WITHIN.as_secs(),
            draw.replay(),
            text(&status.run(&ns))
        );
        let status = "Healthy";
        figure(
            &format!("{daemon} restarted"),
            &format!(
                "down {down} s; pod before {pod_before:?}, after {:?}; data intact; status: {status}",
                pod_and_restarts(&ns)
            ),
        );
    }
    ns.delete().await;
}

/// The server pod's name and its container's restart count.
fn pod_and_restarts(ns: &kubectl_mlflow_test_support::TestNamespace) -> (String, String) {
    let out = server_pods(ns, "{.items[0].metadata.name} {.items[0].status.containerStatuses[0].restartCount}");
    let (pod, restarts) = out.trim().split_once(' ').unwrap_or_default();
    (pod.to_string(), restarts.to_string())
}
