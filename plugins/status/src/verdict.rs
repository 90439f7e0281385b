//! The one-word verdict and its reasons, judged from the status document: Failing when no server
//! pod serves, Degraded when something needs attention while it does, Healthy otherwise.

use k8s_openapi::jiff::Timestamp;

use crate::document::{Pod, State, Status, Verdict};
use crate::volumes::bytes;

/// A container that ended abnormally this recently still degrades a release that recovered.
const RECENT_TERMINATION_SECONDS: i64 = 3600;

/// Judges `status` (its `verdict` is ignored); `extra` are Degraded reasons found beside the
/// document (a failed migration Job).
pub fn judge(status: &Status, extra: &[String], now: Timestamp) -> Verdict {
    let mut failing = Vec::new();
    let mut degraded = Vec::new();
    let server = &status.server;
    let ready = server.pods.iter().filter(|p| p.ready).count() as i32;
    if server.replicas == 0 {
        failing.push(format!("Deployment/{} is scaled to 0 replicas: nothing serves", server.deployment));
    } else if ready == 0 {
        failing.push(with_worst("no server pod is Ready", &server.pods));
    } else if ready < server.replicas {
        degraded.push(with_worst(&format!("{ready} of {} server pods Ready", server.replicas), &server.pods));
    } else if !server.rolled_out {
        degraded.push(format!("rollout in progress: {}", server.rollout));
    }
    for pod in server.pods.iter().filter(|p| p.ready) {
        if let Some(end) = &pod.last_termination {
            let ago = end
                .finished_at
                .as_deref()
                .and_then(|t| t.parse::<Timestamp>().ok())
                .map(|t| now.as_second() - t.as_second());
            if ago.is_none_or(|s| s < RECENT_TERMINATION_SECONDS) {
                let when = ago.map(|s| format!(" {} ago", age(s))).unwrap_or_default();
                degraded.push(format!("pod {} restarted{when}: {} (exit {})", pod.name, end.reason, end.exit_code));
            }
        }
    }
    if let Some(progress) = &status.release.in_progress {
        degraded.push(format!("install in progress: {progress}"));
    }
    if status.release.helm_status.as_deref() == Some("failed") {
        degraded.push(format!("helm revision {} failed", status.release.revision.unwrap_or_default()));
    }
    degraded.extend(extra.iter().cloned());
    if status.schema.state == "migrationPending" {
        degraded.push(format!("migration pending: {}", status.schema.reason.clone().unwrap_or_default()));
    }
    for volume in &status.volumes {
        if volume.phase.as_deref().is_some_and(|p| p != "Bound") {
            degraded.push(format!(
                "PersistentVolumeClaim/{} is {}",
                volume.claim,
                volume.phase.clone().unwrap_or_default()
            ));
        }
        if volume.warning {
            let free = volume.available_bytes.map(|b| format!(", {} free", bytes(b))).unwrap_or_default();
            degraded.push(format!(
                "volume {} is {:.1} % full{free}",
                volume.claim,
                volume.used_percent.unwrap_or_default()
            ));
        }
    }
    if let Some(run) = status.gc.as_ref().and_then(|g| g.last_run.as_ref()).filter(|r| r.result == "Failed") {
        let message = run.message.as_ref().map(|m| format!(": {m}")).unwrap_or_default();
        degraded.push(format!("the last GC run, Job/{}, failed{message}", run.job));
    }
    let state = match (failing.is_empty(), degraded.is_empty()) {
        (false, _) => State::Failing,
        (true, false) => State::Degraded,
        (true, true) => State::Healthy,
    };
    failing.append(&mut degraded);
    Verdict { state, reasons: failing }
}

/// The reason with the state of the pod that explains it best.
fn with_worst(reason: &str, pods: &[Pod]) -> String {
    match pods.iter().filter(|p| !p.ready).max_by_key(|p| (p.last_termination.is_some(), p.restarts)) {
        Some(pod) => format!("{reason}: pod {} is {}", pod.name, describe(pod)),
        None if pods.is_empty() => format!("{reason}: there is no server pod"),
        None => reason.to_string(),
    }
}

/// `CrashLoopBackOff, last exit 2 (Error): <log line>`; `ImagePullBackOff (image): message`.
pub fn describe(pod: &Pod) -> String {
    let mut text = pod.status.clone();
    if let Some(problem) = &pod.image_problem {
        text.push_str(&format!(" ({})", problem.image));
    }
    if let Some(end) = &pod.last_termination {
        text.push_str(&format!(", last exit {} ({})", end.exit_code, end.reason));
        if let Some(line) = &end.log_line {
            return format!("{text}: {line}");
        }
    }
    match &pod.message {
        Some(message) => format!("{text}: {message}"),
        None => text,
    }
}

/// An age as kubectl shows it: `45s`, `12m`, `5h`, `3d`.
pub fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        0..120 => format!("{seconds}s"),
        120..7200 => format!("{}m", seconds / 60),
        7200..172_800 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!([age(5), age(600), age(3 * 3600), age(5 * 86400)], ["5s", "10m", "3h", "5d"]);
    }
}
