//! Following the log of a Job's pods while it runs: every pod in turn (retries included), each
//! stream resumed where it broke off when it drops before the container ended.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kubectl_mlflow_core::identity::GC_CONTAINER;
use tokio::sync::watch;

const RETRY: Duration = Duration::from_secs(1);

/// Streams the log lines of Job `job`'s pods to `line` until `finished` turns true and every pod
/// that ran has been read to its end.
pub async fn follow(pods: Api<Pod>, job: String, mut finished: watch::Receiver<bool>, mut line: impl FnMut(&str)) {
    let mut done = BTreeSet::new();
    loop {
        let job_finished = *finished.borrow_and_update();
        let list = pods
            .list(&ListParams::default().labels(&format!("job-name={job}")))
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        let mut list: Vec<Pod> = list.into_iter().filter(|p| !done.contains(&name(p))).collect();
        list.sort_by_key(|p| p.metadata.creation_timestamp.clone());
        for pod in &list {
            if started(pod) && read_to_end(&pods, &name(pod), &mut line).await {
                done.insert(name(pod));
            }
        }
        let pending = list.iter().any(|p| started(p) && !done.contains(&name(p)));
        if job_finished && !pending {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => {}
            _ = finished.changed() => {}
        }
    }
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

/// Whether the pod's gc container has started (or ended): only then has it a log.
fn started(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    phase != "Pending"
}

fn ended(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"))
}

/// Reads one pod's log, resuming after the lines already read whenever the stream drops while
/// the container runs; true once the log has been read to the container's end.
async fn read_to_end(pods: &Api<Pod>, pod: &str, line: &mut impl FnMut(&str)) -> bool {
    let mut seen = 0usize;
    loop {
        let params = LogParams { container: Some(GC_CONTAINER.into()), follow: true, ..LogParams::default() };
        if let Ok(stream) = pods.log_stream(pod, &params).await {
            let mut lines = stream.lines();
            let mut index = 0usize;
            while let Ok(Some(text)) = lines.try_next().await {
                index += 1;
                if index > seen {
                    line(&text);
                    seen = index;
                }
            }
        }
        match pods.get_opt(pod).await {
            Ok(Some(current)) if !ended(&current) => tokio::time::sleep(RETRY).await,
            _ => return true,
        }
    }
}
