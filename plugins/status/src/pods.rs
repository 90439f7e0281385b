//! The server pods as the screen lists them: ready, restarts, age, node, what kubectl's STATUS
//! column would say, the last termination (OOMKilled, Error + exit code, with the last log
//! line) and image pull problems.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::jiff::Timestamp;
pub use kubectl_mlflow_core::cluster::pods::is_ready;

use crate::document::{self, ImageProblem, Termination};

/// Waiting reasons that are image pull problems.
const IMAGE_PULL: [&str; 4] = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"];

/// The container whose log tells why it ended, with whether that is the previous instance.
pub struct Ended {
    pub pod: String,
    pub container: String,
    pub previous: bool,
    /// Identifies the instance (restarts), so a watch reads each log once.
    pub restarts: i32,
}

/// The pods, sorted by name, with the log lines read for their terminations (by pod name).
pub fn lines(pods: &[Pod], logs: &BTreeMap<String, String>, now: Timestamp) -> Vec<document::Pod> {
    let mut lines: Vec<document::Pod> = pods.iter().map(|pod| line(pod, logs.get(name(pod)), now)).collect();
    lines.sort_by(|a, b| a.name.cmp(&b.name));
    lines
}

fn name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

fn line(pod: &Pod, log_line: Option<&String>, now: Timestamp) -> document::Pod {
    let status = pod.status.clone().unwrap_or_default();
    let containers = status.container_statuses.clone().unwrap_or_default();
    let total = pod.spec.as_ref().map_or(containers.len(), |s| s.containers.len());
    let ready_count = containers.iter().filter(|c| c.ready).count();
    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let (shown, message) = shown_status(pod);
    document::Pod {
        name: name(pod).to_string(),
        ready: is_ready(pod),
        containers_ready: format!("{ready_count}/{total}"),
        status: shown,
        message,
        restarts: containers.iter().map(|c| c.restart_count).sum(),
        created_at: created.map(|t| t.to_string()),
        age_seconds: created.map(|t| now.as_second() - t.as_second()),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        last_termination: termination(&containers).map(|mut t| {
            t.log_line = log_line.cloned();
            t
        }),
        image_problem: image_problem(&containers),
    }
}

/// kubectl's STATUS column: a waiting or terminated container's reason, else the phase.
fn shown_status(pod: &Pod) -> (String, Option<String>) {
    if pod.metadata.deletion_timestamp.is_some() {
        return ("Terminating".into(), None);
    }
    let status = pod.status.clone().unwrap_or_default();
    let containers = status.init_container_statuses.iter().flatten().chain(status.container_statuses.iter().flatten());
    for container in containers {
        let state = container.state.clone().unwrap_or_default();
        if let Some(waiting) = state.waiting.filter(|w| w.reason.as_deref().is_some_and(|r| r != "ContainerCreating")) {
            return (waiting.reason.unwrap_or_default(), waiting.message.filter(|m| !m.is_empty()));
        }
        if let Some(terminated) = state.terminated.filter(|t| t.exit_code != 0) {
            let reason = terminated.reason.unwrap_or_else(|| "Error".into());
            return (reason, terminated.message.filter(|m| !m.is_empty()));
        }
    }
    let unscheduled = status.conditions.iter().flatten().find(|c| c.type_ == "PodScheduled" && c.status == "False");
    if let Some(condition) = unscheduled {
        return ("Pending".into(), condition.message.clone().or(condition.reason.clone()));
    }
    let phase = status.phase.unwrap_or_else(|| "Pending".into());
    if phase == "Running" && !is_ready(pod) {
        let condition = status.conditions.iter().flatten().find(|c| c.type_ == "Ready" && c.status != "True");
        return (
            "Running".into(),
            Some(condition.and_then(|c| c.message.clone()).unwrap_or_else(|| "not Ready".into())),
        );
    }
    (phase, None)
}

/// The latest end of a server container (a server that exits, even with 0, has failed): the
/// current state when it has ended, else the last one.
fn termination(containers: &[ContainerStatus]) -> Option<Termination> {
    containers
        .iter()
        .filter_map(|c| {
            let state = c.state.as_ref().and_then(|s| s.terminated.clone());
            let last = c.last_state.as_ref().and_then(|s| s.terminated.clone());
            let ended = state.or(last)?;
            Some(Termination {
                container: c.name.clone(),
                reason: ended.reason.unwrap_or_else(|| if ended.exit_code == 0 { "Completed" } else { "Error" }.into()),
                exit_code: ended.exit_code,
                finished_at: ended.finished_at.map(|t| t.0.to_string()),
                log_line: None,
            })
        })
        .max_by(|a, b| a.finished_at.cmp(&b.finished_at))
}

fn image_problem(containers: &[ContainerStatus]) -> Option<ImageProblem> {
    containers.iter().find_map(|c| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.clone()?;
        IMAGE_PULL.contains(&reason.as_str()).then(|| ImageProblem {
            container: c.name.clone(),
            image: c.image.clone(),
            reason,
            message: waiting.message.clone(),
        })
    })
}

/// The containers whose log says why they ended (MLflow 3.17 exits 0 on some start-up errors):
/// the previous instance of a restarted one, the current one of a container that has ended.
pub fn ended(pods: &[Pod]) -> Vec<Ended> {
    let mut ended = Vec::new();
    for pod in pods {
        for c in pod.status.iter().flat_map(|s| s.container_statuses.iter().flatten()) {
            let current = c.state.as_ref().and_then(|s| s.terminated.as_ref()).is_some();
            let last = c.last_state.as_ref().and_then(|s| s.terminated.as_ref()).is_some();
            if current || last {
                ended.push(Ended {
                    pod: name(pod).to_string(),
                    container: c.name.clone(),
                    previous: !current,
                    restarts: c.restart_count,
                });
            }
        }
    }
    ended
}

/// The line of a log that says most about an end: the last one that is not empty.
pub fn last_line(log: &str) -> Option<String> {
    let line = log.lines().map(str::trim_end).rfind(|l| !l.trim().is_empty())?;
    let mut line = line.to_string();
    if line.chars().count() > 240 {
        line = line.chars().take(239).collect::<String>() + "…";
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "n", "containers": [{"name": "mlflow", "image": "i"}]},
            "status": status
        }))
        .unwrap()
    }

    fn now() -> Timestamp {
        "2026-01-01T00:10:00Z".parse().unwrap()
    }

    #[test]
    fn a_crash_loop_shows_the_exit_code_and_log_line() {
        let p = pod(json!({"phase": "Running", "containerStatuses": [{
            "name": "mlflow", "image": "i", "imageID": "", "ready": false, "restartCount": 4,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
            "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "finishedAt": "2026-01-01T00:09:00Z"}}
        }]}));
        let logs = BTreeMap::from([("p".to_string(), "Error: No such option: --bogus".to_string())]);
        let line = &lines(std::slice::from_ref(&p), &logs, now())[0];
        assert_eq!((line.status.as_str(), line.restarts, line.ready), ("CrashLoopBackOff", 4, false));
        let ended = line.last_termination.as_ref().unwrap();
        assert_eq!((ended.reason.as_str(), ended.exit_code), ("Error", 2));
        assert_eq!(ended.log_line.as_deref(), Some("Error: No such option: --bogus"));
        assert_eq!(line.age_seconds, Some(600));
        let to_read = super::ended(&[p]);
        assert!(to_read[0].previous && to_read[0].restarts == 4);
    }

    #[test]
    fn image_pull_problems_and_oom_kills() {
        let p = pod(json!({"phase": "Pending", "containerStatuses": [{
            "name": "mlflow", "image": "ghcr.io/mlflow/mlflow:v0", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "manifest unknown"}}
        }]}));
        let line = &lines(&[p], &BTreeMap::new(), now())[0];
        let problem = line.image_problem.as_ref().unwrap();
        assert_eq!((problem.reason.as_str(), problem.image.as_str()), ("ImagePullBackOff", "ghcr.io/mlflow/mlflow:v0"));
        let p = pod(
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": [{
                "name": "mlflow", "image": "i", "imageID": "", "ready": true, "restartCount": 1,
                "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
            }]}),
        );
        let line = &lines(&[p], &BTreeMap::new(), now())[0];
        assert_eq!((line.status.as_str(), line.ready, line.containers_ready.as_str()), ("Running", true, "1/1"));
        assert_eq!(line.last_termination.as_ref().unwrap().reason, "OOMKilled");
    }

    #[test]
    fn a_server_that_exited_0_has_ended_too() {
        // MLflow 3.17.2 exits 0 when uvicorn refuses its options
        let p = pod(json!({"phase": "Running", "containerStatuses": [{
            "name": "mlflow", "image": "i", "imageID": "", "ready": false, "restartCount": 1,
            "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 0, "reason": "Completed"}}
        }]}));
        let line = &lines(std::slice::from_ref(&p), &BTreeMap::new(), now())[0];
        assert_eq!(line.last_termination.as_ref().map(|t| (t.reason.as_str(), t.exit_code)), Some(("Completed", 0)));
        assert_eq!(super::ended(&[p]).len(), 1);
    }

    #[test]
    fn the_last_line_that_says_something() {
        assert_eq!(last_line("a\nTraceback\nValueError: x\n\n").as_deref(), Some("ValueError: x"));
        assert_eq!(last_line("\n  \n"), None);
    }
}
