//! A release's server pods as a forward sees them: which are Ready, which one to use, and a short
//! state of each for progress and errors.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;

/// The pods of the release by name, as the watch last saw them.
#[derive(Debug, Clone, Default)]
pub struct Pods {
    pods: BTreeMap<String, Pod>,
}

impl Pods {
    pub fn set(&mut self, pod: Pod) {
        if let Some(name) = pod.metadata.name.clone() {
            self.pods.insert(name, pod);
        }
    }

    pub fn remove(&mut self, pod: &Pod) {
        if let Some(name) = &pod.metadata.name {
            self.pods.remove(name);
        }
    }

    pub fn replace(&mut self, pods: BTreeMap<String, Pod>) {
        self.pods = pods;
    }

    pub fn is_ready(&self, name: &str) -> bool {
        self.pods.get(name).is_some_and(is_ready)
    }

    /// `current` while it is Ready, else the newest Ready pod (a rollout's new pods first).
    pub fn choose(&self, current: Option<&str>) -> Option<String> {
        if let Some(current) = current.filter(|c| self.is_ready(c)) {
            return Some(current.to_string());
        }
        let ready = self.pods.values().filter(|p| is_ready(p));
        ready
            .max_by_key(|p| (p.metadata.creation_timestamp.clone(), p.metadata.name.clone()))
            .and_then(|p| p.metadata.name.clone())
    }

    /// `name: state` of every pod, sorted by name.
    pub fn states(&self) -> Vec<(String, String)> {
        self.pods.iter().map(|(name, pod)| (name.clone(), state(pod))).collect()
    }
}

/// The Deployment's own pod selector (`matchLabels`), so other workloads of the release are left out.
pub fn selector(deployment: &Deployment) -> Option<String> {
    let labels = deployment.spec.as_ref()?.selector.match_labels.as_ref()?;
    (!labels.is_empty()).then(|| labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
}

/// Running, Ready and not being deleted.
pub fn is_ready(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    let running = status.and_then(|s| s.phase.as_deref()) == Some("Running");
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    running && ready && pod.metadata.deletion_timestamp.is_none()
}

/// A pod's state in a few words: `Running, Ready`, `Pending: ImagePullBackOff (…)`, `Terminating`.
pub fn state(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".into();
    }
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.clone().unwrap_or_else(|| "Pending".into());
    if is_ready(pod) {
        return format!("{phase}, Ready");
    }
    let waiting =
        status.container_statuses.iter().flatten().find_map(|c| c.state.as_ref().and_then(|s| s.waiting.clone()));
    if let Some(waiting) = waiting {
        let reason = waiting.reason.unwrap_or_else(|| "Waiting".into());
        return with_message(format!("{phase}: {reason}"), waiting.message);
    }
    let unscheduled = status.conditions.iter().flatten().find(|c| c.type_ == "PodScheduled" && c.status == "False");
    if let Some(condition) = unscheduled {
        let reason = condition.reason.clone().unwrap_or_else(|| "Unschedulable".into());
        return with_message(format!("{phase}: {reason}"), condition.message.clone());
    }
    let not_ready = status.conditions.iter().flatten().find(|c| c.type_ == "Ready" && c.status != "True");
    match not_ready {
        Some(condition) => {
            with_message(format!("{phase}, not Ready"), condition.message.clone().or(condition.reason.clone()))
        }
        None => format!("{phase}, not Ready"),
    }
}

fn with_message(text: String, message: Option<String>) -> String {
    match message.filter(|m| !m.is_empty()) {
        Some(message) => format!("{text} ({message})"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, created: &str, status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name, "creationTimestamp": created}, "status": status}))
            .unwrap()
    }

    fn ready(name: &str, created: &str) -> Pod {
        pod(name, created, json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}))
    }

    #[test]
    fn keeps_the_current_pod_while_ready_else_takes_the_newest_ready() {
        let mut pods = Pods::default();
        pods.set(ready("a", "2026-01-01T00:00:00Z"));
        pods.set(ready("b", "2026-01-02T00:00:00Z"));
        pods.set(pod("c", "2026-01-03T00:00:00Z", json!({"phase": "Pending"})));
        assert_eq!(pods.choose(None).as_deref(), Some("b"));
        assert_eq!(pods.choose(Some("a")).as_deref(), Some("a"));
        pods.remove(&ready("a", "2026-01-01T00:00:00Z"));
        assert_eq!(pods.choose(Some("a")).as_deref(), Some("b"));
        pods.remove(&ready("b", "2026-01-01T00:00:00Z"));
        assert_eq!(pods.choose(Some("b")), None);
    }

    #[test]
    fn states_say_why_a_pod_is_not_ready() {
        let waiting = pod(
            "w",
            "2026-01-01T00:00:00Z",
            json!({"phase": "Pending", "containerStatuses": [{"name": "mlflow", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                   "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}]}),
        );
        assert_eq!(state(&waiting), "Pending: ImagePullBackOff (no such image)");
        let unscheduled = pod(
            "u",
            "2026-01-01T00:00:00Z",
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes"}]}),
        );
        assert_eq!(state(&unscheduled), "Pending: Unschedulable (0/1 nodes)");
        let unready = pod(
            "n",
            "2026-01-01T00:00:00Z",
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}),
        );
        assert_eq!(state(&unready), "Running, not Ready");
        assert_eq!(state(&ready("r", "2026-01-01T00:00:00Z")), "Running, Ready");
    }
}
