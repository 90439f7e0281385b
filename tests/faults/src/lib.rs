//! The fault suite's shared parts (the cases are in `tests/it`, one module a fault class;
//! docs/faults.md says how it works and README "Reliability" what it found):
//! - [`draw`]: the seed (`KMLF_FAULT_SEED`) and how many of the drawn points run
//!   (`KMLF_FAULT_SAMPLE`);
//! - [`victim`]: a plugin run as a process and SIGKILLed at a kill point, counted in its writes
//!   as the API server's audit log sees them;
//! - [`release`]: what an uninterrupted install leaves, and the check that a release has
//!   converged to it;
//! - [`mlflow`]: the MLflow clients (the contract venv's) through `kubectl mlflow portforward`;
//! - [`commands`]: the table of commands killed at their writes, with their setups and checks.

pub mod commands;
pub mod draw;
pub mod mlflow;
pub mod node;
pub mod release;
pub mod victim;

use kubectl_mlflow_test_support::{cluster, TestNamespace};

/// The release every case installs.
pub const RELEASE: &str = "mlflow";
/// Its server pods.
pub const SELECTOR: &str = "app.kubernetes.io/instance=mlflow,app.kubernetes.io/component=server";
/// One uvicorn worker: on 2 cores the default four take minutes to start beside other pods.
pub const ONE_WORKER: &str = "server.value_options.workers=1";

/// A namespace on the test cluster (the KWOK node or the real one), the audit log required
/// (cases count writes in it).
pub async fn fault_namespace(prefix: &str) -> TestNamespace {
    require_audit_log();
    cluster().namespace(prefix).await
}

/// A namespace on the real node, no audit log needed (the cases that make their fault
/// themselves and never count writes: they share a node with other tests, as CI's real-node
/// lane runs its sample of them).
pub async fn real_fault_namespace(prefix: &str) -> TestNamespace {
    cluster().require_real_node();
    cluster().namespace(prefix).await
}

/// A namespace on the real node, the audit log required (the cases that count writes).
pub async fn audited_real_namespace(prefix: &str) -> TestNamespace {
    cluster().require_real_node();
    fault_namespace(prefix).await
}

fn require_audit_log() {
    assert!(
        cluster().audit_log().is_some(),
        "the cluster runs without an audit log: start it with scripts/test-cluster up [--real] --audit-policy tests/faults/audit-policy.yaml"
    );
}

/// Whether the cluster's node is the real one (MLflow serves: data can be logged and read back).
pub fn on_real_node() -> bool {
    let nodes = kubectl(&["get", "nodes", "-o", "name"]);
    nodes.lines().any(|n| n.trim() == format!("node/{}", kubectl_mlflow_test_support::REAL_NODE_NAME))
}

/// kubectl's stdout; panics with its stderr on failure.
pub fn kubectl(args: &[&str]) -> String {
    cluster().kubectl_output(args).unwrap_or_else(|e| panic!("{e}"))
}

/// `kubectl get pods -l SELECTOR -o jsonpath=PATH` of the release's server pods in `ns`.
pub fn server_pods(ns: &TestNamespace, jsonpath: &str) -> String {
    kubectl(&["get", "pods", "-n", ns.name(), "-l", SELECTOR, "-o", &format!("jsonpath={jsonpath}")])
}

pub use kubectl_mlflow_test_support::text;

pub use kubectl_mlflow_test_support::stores::wait_available;

/// Prints one line of the suite's figures (collected by scripts for README "Reliability").
pub fn figure(case: &str, line: &str) {
    eprintln!("fault-figure: {case}: {line}");
}
