//! A node the test plays the kubelet of (KWOK leaves it alone): tests decide when its pods run
//! and how they end, while KWOK still serves their logs.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestNamespace;

/// A node KWOK does not manage: the test plays its kubelet, so it decides when pods run and how
/// they end, while KWOK still serves their logs (its Logs objects). Tainted, so that only pods
/// that tolerate it land there; its lease renewed while it lives, so that the node controller
/// keeps it Ready (and schedulable) however slow the test.
pub struct ScriptedNode {
    pub name: String,
    heartbeat: tokio::task::JoinHandle<()>,
}

pub const SCRIPTED_NODE_TAINT: &str = "kmlf-test/scripted";

impl ScriptedNode {
    pub async fn new(ns: &TestNamespace) -> ScriptedNode {
        let name = format!("scripted-{}", ns.name());
        let nodes = Api::<Node>::all(ns.client());
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {"taints": [{"key": SCRIPTED_NODE_TAINT, "value": "true", "effect": "NoSchedule"}]}
        }))
        .unwrap();
        nodes.create(&PostParams::default(), &node).await.unwrap();
        let kwok_port = kwok_port(&nodes).await;
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let status = json!({"status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "ScriptedByTest", "message": "the test plays the kubelet",
                            "lastHeartbeatTime": now, "lastTransitionTime": now}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": kwok_port}},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "10"},
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "10"}
        }});
        nodes.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
        let heartbeat = tokio::spawn(renew_lease(ns.client(), name.clone()));
        ScriptedNode { name, heartbeat }
    }

    /// Values that put the release's pods on this node.
    pub fn sets(&self) -> Vec<String> {
        vec![
            format!("nodeSelector.kubernetes\\.io/hostname={}", self.name),
            format!("tolerations[0].key={SCRIPTED_NODE_TAINT}"),
            "tolerations[0].operator=Exists".into(),
        ]
    }

    pub async fn delete(self, ns: &TestNamespace) {
        let _ = Api::<Node>::all(ns.client()).delete(&self.name, &DeleteParams::default()).await;
    }
}

/// The port KWOK serves logs on, as its own node says (whatever the cluster's ports).
async fn kwok_port(nodes: &Api<Node>) -> i32 {
    let kwok = nodes.get(crate::NODE_NAME).await.expect("the KWOK node");
    kwok.status
        .and_then(|s| s.daemon_endpoints)
        .and_then(|d| d.kubelet_endpoint)
        .map(|e| e.port)
        .expect("the KWOK node's kubelet port")
}

impl Drop for ScriptedNode {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// What a kubelet does every 10 s: renews its node's lease.
async fn renew_lease(client: kube::Client, node: String) {
    let leases = Api::<Lease>::namespaced(client, "kube-node-lease");
    loop {
        let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": node},
            "spec": {"holderIdentity": node, "leaseDurationSeconds": 40, "renewTime": MicroTime(k8s_openapi::jiff::Timestamp::now())}});
        let _ = leases.patch(&node, &PatchParams::apply("kmlf-test-kubelet").force(), &Patch::Apply(&lease)).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

/// The first pod matching `labels` once it is bound to a node.
pub async fn bound_pod(ns: &TestNamespace, labels: &str) -> Pod {
    bound_pod_other_than(ns, labels, &[]).await
}

/// The first pod matching `labels` bound to a node, other than those named in `seen`.
pub async fn bound_pod_other_than(ns: &TestNamespace, labels: &str, seen: &[String]) -> Pod {
    let pods = ns.api::<Pod>();
    for _ in 0..120 {
        let list = pods.list(&ListParams::default().labels(labels)).await.unwrap();
        let bound = list.items.into_iter().find(|p| {
            p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some()
                && !seen.contains(p.metadata.name.as_ref().unwrap())
        });
        if let Some(pod) = bound {
            return pod;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("no new pod with {labels} was scheduled (seen: {seen:?})");
}

/// Plays the kubelet: the pod's containers run (`exit` None) or have ended with `exit`.
pub async fn set_pod_state(ns: &TestNamespace, pod: &Pod, exit: Option<i32>) {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let name = pod.metadata.name.clone().unwrap();
    let containers: Vec<_> = pod.spec.as_ref().unwrap().containers.iter().map(|c| {
        let state = match exit {
            None => json!({"running": {"startedAt": now}}),
            Some(code) => json!({"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" }, "startedAt": now, "finishedAt": now}}),
        };
        json!({"name": c.name, "image": c.image, "imageID": "", "ready": exit.is_none(), "restartCount": 0, "state": state})
    }).collect();
    let phase = match exit {
        None => "Running",
        Some(0) => "Succeeded",
        Some(_) => "Failed",
    };
    let ready = if exit.is_none() { "True" } else { "False" };
    let status = json!({"status": {"phase": phase, "startTime": now, "containerStatuses": containers,
        "conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": now}]}});
    ns.api::<Pod>().patch_status(&name, &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
}
