//! Waiting for a release to be ready, by watching (never polling): the PVC binding, the
//! Deployment's rollout, each pod. Fails fast, with the pod's events and logs, when waiting can
//! no longer help.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::{stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::watcher::{self, watcher};
use kube::Client;

use super::Sink;
use kubectl_mlflow_model::Failure;

/// Container states that waiting does not cure.
const FATAL_WAITING: [&str; 6] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
];

/// Restarts after which a container is taken as failing its probes or crashing.
const MAX_RESTARTS: i32 = 3;

pub use crate::render::WaitTarget as Target;

enum Change {
    Deployment(Box<Deployment>),
    Pod(Box<Pod>),
    PodGone(String),
    Pvc(Box<PersistentVolumeClaim>),
    Warning(Box<Event>),
    Lost(String),
}

pub async fn wait(client: &Client, target: &Target, timeout: Duration, progress: &mut dyn Sink) -> Result<(), Failure> {
    let mut state = State::default();
    let outcome = tokio::time::timeout(timeout, watch(client, target, progress, &mut state)).await;
    progress.finish();
    match outcome {
        Ok(result) => result,
        Err(_) => Err(Failure::Failed(format!(
            "timed out after {} waiting for Deployment/{}: {}\n{}",
            kubectl_mlflow_model::duration::format_duration(timeout),
            target.deployment,
            state.summary(),
            diagnose_pods(client, target, state.pods.keys().cloned().collect()).await
        ))),
    }
}

#[derive(Default)]
struct State {
    deployment: Option<String>,
    pods: BTreeMap<String, String>,
    pvc: Option<String>,
    /// Each (object, reason, message) failure's events, by name, with their counts (a watch that
    /// resumes lists the same events again: they are not new failures).
    failures: BTreeMap<(String, String, String), BTreeMap<String, i32>>,
    /// The release's pods being deleted (a rollout's old ones): their requests are freed when
    /// they are gone.
    terminating: BTreeSet<String>,
}

impl State {
    /// Whether a pod that fits on no node may fit once the release's terminating pods are gone
    /// (a rollout on a full node: the scheduler tries again when they go, and a failure after that
    /// is reported by its next FailedScheduling event).
    fn may_fit_later(&self, pod: &str) -> bool {
        self.terminating.iter().any(|p| p != pod)
    }

    fn summary(&self) -> String {
        let mut parts = vec![self.deployment.clone().unwrap_or_else(|| "no status yet".into())];
        parts.extend(self.pvc.iter().map(|p| format!("volume {p}")));
        parts.extend(self.pods.iter().map(|(pod, s)| format!("pod {pod} {s}")));
        parts.join("; ")
    }
}

async fn watch(client: &Client, target: &Target, progress: &mut dyn Sink, state: &mut State) -> Result<(), Failure> {
    let ns = &target.namespace;
    let by_name = |name: &str| watcher::Config::default().fields(&format!("metadata.name={name}"));
    let deployments = watcher(Api::<Deployment>::namespaced(client.clone(), ns), by_name(&target.deployment))
        .map(|e| changes(e, |d| vec![Change::Deployment(Box::new(d))], |_| vec![]));
    let pods = watcher(Api::<Pod>::namespaced(client.clone(), ns), watcher::Config::default().labels(&target.selector))
        .map(|e| {
            changes(
                e,
                |p| vec![Change::Pod(Box::new(p))],
                |p| vec![Change::PodGone(p.metadata.name.unwrap_or_default())],
            )
        });
    let warnings =
        watcher(Api::<Event>::namespaced(client.clone(), ns), watcher::Config::default().fields("type=Warning"))
            .map(|e| changes(e, |ev| vec![Change::Warning(Box::new(ev))], |_| vec![]));
    let mut streams = vec![deployments.boxed(), pods.boxed(), warnings.boxed()];
    if let Some(pvc) = &target.pvc {
        let pvcs = watcher(Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns), by_name(pvc))
            .map(|e| changes(e, |p| vec![Change::Pvc(Box::new(p))], |_| vec![]));
        streams.push(pvcs.boxed());
    }
    let mut all = stream::select_all(streams);
    progress.phase(&format!("waiting for Deployment/{} to roll out", target.deployment));
    while let Some(batch) = all.next().await {
        for change in batch {
            if let Some(result) = apply_change(client, target, progress, state, change).await {
                return result;
            }
        }
    }
    Err(Failure::Failed("the watch ended unexpectedly".into()))
}

fn changes<K>(
    event: Result<watcher::Event<K>, watcher::Error>,
    applied: impl Fn(K) -> Vec<Change>,
    deleted: impl Fn(K) -> Vec<Change>,
) -> Vec<Change> {
    match event {
        Ok(watcher::Event::Apply(obj)) | Ok(watcher::Event::InitApply(obj)) => applied(obj),
        Ok(watcher::Event::Delete(obj)) => deleted(obj),
        Ok(_) => vec![],
        Err(err) => vec![Change::Lost(err.to_string())],
    }
}

/// `Some(outcome)` when the wait is over.
async fn apply_change(
    client: &Client,
    target: &Target,
    progress: &mut dyn Sink,
    state: &mut State,
    change: Change,
) -> Option<Result<(), Failure>> {
    match change {
        Change::Deployment(deployment) => {
            let (done, text) = rollout_status(&deployment);
            progress.phase(&format!("Deployment/{}: {text}", target.deployment));
            state.deployment = Some(text.clone());
            if done {
                return Some(Ok(()));
            }
            if text.starts_with("failed") {
                return Some(Err(Failure::Failed(format!("Deployment/{}: {text}", target.deployment))));
            }
        }
        Change::Pod(pod) => {
            let name = pod.metadata.name.clone().unwrap_or_default();
            match pod.metadata.deletion_timestamp.is_some() {
                true => state.terminating.insert(name.clone()),
                false => state.terminating.remove(&name),
            };
            let (mut text, mut fatal) = pod_status(&pod);
            if fatal && text.starts_with("FailedScheduling") && state.may_fit_later(&name) {
                text = format!("Pending until the release's terminating pods are gone: {text}");
                fatal = false;
            }
            progress.pod(&name, &text);
            state.pods.insert(name.clone(), text.clone());
            if fatal {
                let details = diagnose_pods(client, target, vec![name.clone()]).await;
                return Some(Err(Failure::Failed(format!("pod {name} cannot start: {text}\n{details}"))));
            }
        }
        Change::PodGone(name) => {
            state.pods.remove(&name);
            state.terminating.remove(&name);
        }
        Change::Pvc(pvc) => {
            let phase = pvc.status.and_then(|s| s.phase).unwrap_or_else(|| "Pending".into());
            progress.phase(&format!("PersistentVolumeClaim/{}: {phase}", pvc.metadata.name.unwrap_or_default()));
            state.pvc = Some(phase);
        }
        Change::Warning(event) => return warning(client, target, state, &event).await,
        Change::Lost(err) => progress.phase(&format!("watch interrupted ({err}); resuming")),
    }
    None
}

/// Warning events that end the wait: a PVC that cannot be provisioned, a pod that cannot be
/// scheduled for a reason other than a volume still being provisioned.
async fn warning(client: &Client, target: &Target, state: &mut State, event: &Event) -> Option<Result<(), Failure>> {
    let object = &event.involved_object;
    let name = object.name.clone().unwrap_or_default();
    let reason = event.reason.clone().unwrap_or_default();
    let message = event.message.clone().unwrap_or_default();
    let ours = match object.kind.as_deref() {
        Some("PersistentVolumeClaim") => target.pvc.as_deref() == Some(name.as_str()) && reason == "ProvisioningFailed",
        Some("Pod") => {
            state.pods.contains_key(&name)
                && reason == "FailedScheduling"
                && !message.to_lowercase().contains("volume")
                && !binding_failed(&message)
        }
        _ => false,
    };
    if !ours || (reason == "FailedScheduling" && state.may_fit_later(&name)) {
        return None;
    }
    let seen = state.failures.entry((name.clone(), reason.clone(), message.clone())).or_default();
    seen.insert(event.metadata.name.clone().unwrap_or_default(), event.count.unwrap_or(1).max(1));
    let occurrences = seen.values().sum();
    if !super::events::is_fatal(&message, occurrences) {
        return None;
    }
    let kind = object.kind.clone().unwrap_or_default();
    let details = if kind == "Pod" { diagnose_pods(client, target, vec![name.clone()]).await } else { String::new() };
    Some(Err(Failure::Failed(format!("{kind}/{name}: {reason}: {message}\n{details}"))))
}

/// Whether a scheduling failure is the scheduler's own call to bind the pod to the node it chose
/// (the API server unreachable a moment, as while it restarts): the scheduler retries it, and a
/// binding that never works is reported by the wait's timeout.
fn binding_failed(message: &str) -> bool {
    message.contains("running Bind plugin")
}

/// Whether an object the apply returned is the target's Deployment, rolled out at the generation
/// just applied (a rerun that changed nothing): what the watch would see first, so no watch.
pub fn is_rolled_out(object: &kube::core::DynamicObject, target: &Target) -> bool {
    let is_target = object.types.as_ref().is_some_and(|t| t.kind == "Deployment")
        && object.metadata.name.as_deref() == Some(target.deployment.as_str());
    // Through text, as kube reads responses: a Deployment visitor for serde_json::Value would
    // add a quarter of a MiB to the binary.
    is_target
        && serde_json::to_string(object)
            .ok()
            .and_then(|t| serde_json::from_str::<Deployment>(&t).ok())
            .is_some_and(|d| rollout_status(&d).0)
}

/// What `kubectl rollout status` says: done only when the controller has seen the latest spec and
/// every replica is updated and available.
pub fn rollout_status(deployment: &Deployment) -> (bool, String) {
    let generation = deployment.metadata.generation.unwrap_or(0);
    let desired = deployment.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let Some(status) = &deployment.status else { return (false, "waiting for the controller".into()) };
    if status.observed_generation.unwrap_or(0) < generation {
        return (false, "waiting for the controller to see the new spec".into());
    }
    let deadline_exceeded = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
    if deadline_exceeded {
        return (false, "failed: progress deadline exceeded".into());
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < desired {
        (false, format!("{updated} of {desired} replicas updated"))
    } else if total > updated {
        (false, format!("{} old replicas pending termination", total - updated))
    } else if available < updated {
        (false, format!("{available} of {updated} updated replicas available"))
    } else {
        (true, format!("{available} of {desired} replicas available"))
    }
}

/// A pod's state in a few words, and whether it is beyond waiting for.
pub fn pod_status(pod: &Pod) -> (String, bool) {
    let Some(status) = &pod.status else { return ("Pending".into(), false) };
    for container in status.container_statuses.iter().flatten().chain(status.init_container_statuses.iter().flatten()) {
        if let Some(waiting) = container.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            let reason = waiting.reason.clone().unwrap_or_default();
            if FATAL_WAITING.contains(&reason.as_str()) {
                let message = waiting.message.clone().unwrap_or_default();
                return (format!("{reason}: {message}"), true);
            }
        }
        if container.restart_count >= MAX_RESTARTS {
            return (format!("container {} restarted {} times", container.name, container.restart_count), true);
        }
    }
    let unschedulable = status.conditions.iter().flatten().find(|c| c.type_ == "PodScheduled" && c.status == "False");
    if let Some(condition) = unschedulable {
        let message = condition.message.clone().unwrap_or_default();
        // A volume still being provisioned or bound is worth waiting for (the scheduler retries
        // as soon as it appears); no fitting node is not.
        let volume_pending = message.to_lowercase().contains("volume");
        if condition.reason.as_deref() == Some("Unschedulable") && !volume_pending {
            return (format!("FailedScheduling: {message}"), true);
        }
        return (format!("Pending: {message}"), false);
    }
    let ready = status.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True");
    let phase = status.phase.clone().unwrap_or_else(|| "Pending".into());
    if ready {
        ("Ready".into(), false)
    } else if phase == "Running" {
        ("Running, not ready yet".into(), false)
    } else {
        (phase, false)
    }
}

/// Recent events and the last 20 log lines of each pod.
pub async fn diagnose_pods(client: &Client, target: &Target, pods: Vec<String>) -> String {
    let mut out = String::new();
    let pod_api = Api::<Pod>::namespaced(client.clone(), &target.namespace);
    for pod in pods {
        out.push_str(&events_of(client, &target.namespace, &pod).await);
        let params = LogParams { container: Some("mlflow".into()), tail_lines: Some(20), ..LogParams::default() };
        if let Ok(logs) = pod_api.logs(&pod, &params).await {
            if !logs.trim().is_empty() {
                out.push_str(&format!("last log lines of pod {pod}:\n{}\n", indent(&logs)));
            }
        }
    }
    if let Some(pvc) = &target.pvc {
        out.push_str(&events_of(client, &target.namespace, pvc).await);
    }
    out
}

pub(crate) async fn events_of(client: &Client, namespace: &str, name: &str) -> String {
    let api = Api::<Event>::namespaced(client.clone(), namespace);
    let Ok(list) = api.list(&ListParams::default().fields(&format!("involvedObject.name={name}"))).await else {
        return String::new();
    };
    let mut events = list.items;
    events.sort_by_key(|e| e.last_timestamp.clone().map(|t| t.0));
    let lines: Vec<String> = events
        .iter()
        .rev()
        .take(10)
        .rev()
        .map(|e| {
            format!(
                "  {} {}: {}",
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                e.message.clone().unwrap_or_default().trim()
            )
        })
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!("events of {name}:\n{}\n", lines.join("\n"))
    }
}

pub(crate) fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unschedulable(message: &str) -> Pod {
        serde_json::from_value(json!({
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
            ]}
        }))
        .unwrap()
    }

    #[test]
    fn no_fitting_node_is_fatal_but_a_volume_on_its_way_is_not() {
        let (text, fatal) =
            pod_status(&unschedulable("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."));
        assert!(fatal && text.starts_with("FailedScheduling: "), "{text}");
        for waiting in [
            "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
            "0/1 nodes are available: persistentvolumeclaim \"x\" bound to non-existent persistentvolume \"pvc-1\". not found",
        ] {
            assert!(!pod_status(&unschedulable(waiting)).1, "{waiting}");
        }
    }

    #[test]
    fn a_binding_the_api_server_refused_is_waited_out() {
        let refused = "running Bind plugin \"DefaultBinder\": Post \"https://127.0.0.1:6443/api/v1/namespaces/ns/pods/p/binding\": dial tcp 127.0.0.1:6443: connect: connection refused";
        assert!(binding_failed(refused));
        assert!(!binding_failed("0/1 nodes are available: 1 Insufficient cpu."));
    }

    #[test]
    fn no_fitting_node_is_waited_out_while_the_releases_old_pods_terminate() {
        let mut state = State::default();
        assert!(!state.may_fit_later("new"));
        state.terminating.insert("new".into());
        assert!(!state.may_fit_later("new"), "its own deletion frees nothing for it");
        state.terminating.insert("old".into());
        assert!(state.may_fit_later("new"));
    }

    #[test]
    fn image_pull_errors_are_fatal() {
        let pod: Pod = serde_json::from_value(json!({"status": {"containerStatuses": [{
            "name": "mlflow", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "tag not found"}}
        }]}}))
        .unwrap();
        assert_eq!(pod_status(&pod), ("ImagePullBackOff: tag not found".to_string(), true));
    }
}
