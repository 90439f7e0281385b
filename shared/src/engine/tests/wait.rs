//! When the wait stops early, and what it says: a pod that cannot pull its image, one that
//! crashes, one no node takes, a claim no provisioner can make; and that it ends when the
//! Deployment has rolled out.

use std::time::Duration;

use serde_json::{json, Value};

use super::fake_api::{get, Exchange, Script};
use super::{path, quick_start, FULLNAME, NS};
use crate::engine::wait::wait;
use crate::Failure;

const POD: &str = "mlflow-mlflow-7d9f-x2x4q";

/// The label selector of the server's pods.
fn selector() -> String {
    quick_start("{}").rendered.wait.selector
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "10"}, "items": items})
}

/// The first listing of each watch, answered with these objects: the Deployment, the pods, the
/// Warning events, the claim.
fn listings(deployment: Value, pods: Vec<Value>, warnings: Vec<Value>) -> Vec<Exchange> {
    let by_name = format!("metadata.name={FULLNAME}");
    let first = |resource: &str, group: &str, selector: (&str, &str)| {
        get(&path(group, resource, "")).query(&[selector, ("limit", "500")])
    };
    let pvc = json!({"metadata": {"name": FULLNAME, "namespace": NS}, "status": {"phase": "Pending"}});
    vec![
        first("deployments", "apps", ("fieldSelector", &by_name)).ok(list(vec![deployment])),
        first("pods", "", ("labelSelector", &selector())).ok(list(pods)),
        first("events", "", ("fieldSelector", "type=Warning")).ok(list(warnings)),
        first("persistentvolumeclaims", "", ("fieldSelector", &by_name)).ok(list(vec![pvc])),
    ]
}

/// The watches that follow the listings: left open (nothing changes after the listing).
fn watches() -> Vec<Exchange> {
    let by_name = format!("metadata.name={FULLNAME}");
    let watch = |resource: &str, group: &str, selector: (&str, &str)| {
        get(&path(group, resource, "")).query(&[
            selector,
            ("watch", "true"),
            ("resourceVersion", "10"),
            ("timeoutSeconds", "290"),
            ("allowWatchBookmarks", "true"),
        ])
    };
    vec![
        watch("deployments", "apps", ("fieldSelector", &by_name)),
        watch("pods", "", ("labelSelector", &selector())),
        watch("events", "", ("fieldSelector", "type=Warning")),
        watch("persistentvolumeclaims", "", ("fieldSelector", &by_name)),
    ]
}

fn deployment(status: Value) -> Value {
    json!({"metadata": {"name": FULLNAME, "namespace": NS, "generation": 1}, "spec": {"replicas": 1,
        "selector": {"matchLabels": {}}, "template": {"spec": {"containers": []}}}, "status": status})
}

fn rolling_out() -> Value {
    deployment(json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}))
}

fn pod(status: Value) -> Value {
    json!({"metadata": {"name": POD, "namespace": NS}, "status": status})
}

fn waiting(reason: &str, message: &str, restarts: i32) -> Value {
    pod(json!({"phase": "Pending", "containerStatuses": [{"name": "mlflow", "image": "mlflow", "imageID": "",
        "ready": false, "restartCount": restarts, "state": {"waiting": {"reason": reason, "message": message}}}]}))
}

fn event(kind: &str, name: &str, reason: &str, message: &str) -> Value {
    json!({"metadata": {"name": format!("{name}.1"), "namespace": NS}, "type": "Warning", "reason": reason,
        "message": message, "count": 1, "involvedObject": {"kind": kind, "name": name, "namespace": NS}})
}

/// What the wait shows of a pod that failed: its events, its last log lines, then the claim's events.
fn diagnosis(pod_events: Vec<Value>, log: Exchange) -> Vec<Exchange> {
    let events_of =
        |name: &str| get(&path("", "events", "")).query(&[("fieldSelector", &format!("involvedObject.name={name}"))]);
    vec![events_of(POD).ok(list(pod_events)), log, events_of(FULLNAME).ok(list(vec![]))]
}

fn log_of_pod() -> Exchange {
    get(&path("", "pods", &format!("{POD}/log"))).query(&[("container", "mlflow"), ("tailLines", "20")])
}

async fn waited(script: Script) -> Result<(), Failure> {
    let api = script.holding(watches()).serve();
    let result = wait(&api.client, &quick_start("{}").rendered.wait, Duration::from_secs(5), &mut ()).await;
    api.finish().await;
    result
}

#[tokio::test]
async fn a_rolled_out_deployment_ends_the_wait() {
    let done =
        deployment(json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}));
    let script = Script::new().then(listings(done, vec![pod(json!({"phase": "Running"}))], vec![]));
    waited(script).await.expect("rolled out");
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_stops_the_wait_with_the_pods_events() {
    let message = "Back-off pulling image \"ghcr.io/mlflow/mlflow:v0.0.0\"";
    let pulled = event("Pod", POD, "Failed", "Failed to pull image \"ghcr.io/mlflow/mlflow:v0.0.0\": not found");
    let no_log = super::fake_api::status(400, "BadRequest", "container \"mlflow\" is waiting to start", json!({}));
    let script = Script::new()
        .then(listings(rolling_out(), vec![waiting("ImagePullBackOff", message, 0)], vec![]))
        .then(diagnosis(vec![pulled], log_of_pod().reply(400, no_log)));
    let failure = waited(script).await.expect_err("the image cannot be pulled");
    assert_eq!(
        failure.to_string(),
        format!("pod {POD} cannot start: ImagePullBackOff: {message}\nevents of {POD}:\n  Warning Failed: Failed to pull image \"ghcr.io/mlflow/mlflow:v0.0.0\": not found\n")
    );
}

#[tokio::test]
async fn a_crash_loop_stops_the_wait_with_the_last_log_lines() {
    let message = "back-off 40s restarting failed container=mlflow";
    let script = Script::new()
        .then(listings(rolling_out(), vec![waiting("CrashLoopBackOff", message, 3)], vec![]))
        .then(diagnosis(
            vec![],
            log_of_pod()
                .ok(json!("Traceback (most recent call last):\nOperationalError: unable to open database file\n")),
        ));
    let failure = waited(script).await.expect_err("the server crashes");
    assert_eq!(
        failure.to_string(),
        format!("pod {POD} cannot start: CrashLoopBackOff: {message}\nlast log lines of pod {POD}:\n  Traceback (most recent call last):\n  OperationalError: unable to open database file\n")
    );
}

#[tokio::test]
async fn a_pod_no_node_takes_stops_the_wait() {
    let message = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.";
    let unschedulable = pod(json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]}));
    let script = Script::new()
        .then(listings(rolling_out(), vec![unschedulable], vec![]))
        .then(diagnosis(vec![], log_of_pod().ok(json!(""))));
    let failure = waited(script).await.expect_err("no node fits");
    assert_eq!(failure.to_string(), format!("pod {POD} cannot start: FailedScheduling: {message}\n"));
}

#[tokio::test]
async fn a_claim_that_cannot_be_provisioned_stops_the_wait() {
    let message = "storageclass.storage.k8s.io \"fast\" not found";
    let failed = event("PersistentVolumeClaim", FULLNAME, "ProvisioningFailed", message);
    let script = Script::new().then(listings(rolling_out(), vec![], vec![failed]));
    let failure = waited(script).await.expect_err("no volume");
    assert_eq!(failure.to_string(), format!("PersistentVolumeClaim/{FULLNAME}: ProvisioningFailed: {message}\n"));
}
