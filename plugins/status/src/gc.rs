//! The garbage collection CronJob: its schedule, and how its last run (or the last `kubectl
//! mlflow gc`, whose Jobs carry the same component) ended.

use k8s_openapi::api::batch::v1::{CronJob, Job};

use crate::document::{Gc, GcRun};

pub fn section(cron_job: Option<&CronJob>, gc_jobs: &[&Job]) -> Option<Gc> {
    let cron_job = cron_job?;
    let spec = cron_job.spec.clone().unwrap_or_default();
    let status = cron_job.status.clone().unwrap_or_default();
    let last = gc_jobs.iter().max_by_key(|j| (j.metadata.creation_timestamp.clone(), j.metadata.name.clone()));
    Some(Gc {
        cron_job: cron_job.metadata.name.clone().unwrap_or_default(),
        schedule: spec.schedule,
        suspended: spec.suspend.unwrap_or(false),
        last_schedule: status.last_schedule_time.map(|t| t.0.to_string()),
        last_success: status.last_successful_time.map(|t| t.0.to_string()),
        last_run: last.map(|job| run(job)),
    })
}

/// How a Job ended, by its conditions (Complete, Failed), else Running.
pub fn run(job: &Job) -> GcRun {
    let status = job.status.clone().unwrap_or_default();
    let condition =
        |kind: &str| status.conditions.iter().flatten().find(|c| c.type_ == kind && c.status == "True").cloned();
    let (result, message) = match (condition("Complete"), condition("Failed")) {
        (Some(_), _) => ("Succeeded", None),
        (None, Some(failed)) => ("Failed", failed.message.or(failed.reason)),
        (None, None) => ("Running", None),
    };
    GcRun {
        job: job.metadata.name.clone().unwrap_or_default(),
        result: result.into(),
        started_at: status.start_time.map(|t| t.0.to_string()),
        finished_at: status.completion_time.map(|t| t.0.to_string()),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_newest_job_is_the_last_run() {
        let cron: CronJob = serde_json::from_value(json!({"metadata": {"name": "m-gc"},
            "spec": {"schedule": "0 2 * * 0", "jobTemplate": {}}, "status": {"lastScheduleTime": "2026-01-01T02:00:00Z"}}))
        .unwrap();
        let job = |name: &str, created: &str, condition: &str| -> Job {
            serde_json::from_value(json!({"metadata": {"name": name, "creationTimestamp": created},
                "status": {"conditions": [{"type": condition, "status": "True", "message": "BackoffLimitExceeded"}]}}))
            .unwrap()
        };
        let (old, new) =
            (job("m-gc-1", "2025-12-25T02:00:00Z", "Complete"), job("m-gc-2", "2026-01-01T02:00:00Z", "Failed"));
        let gc = section(Some(&cron), &[&old, &new]).unwrap();
        let last = gc.last_run.unwrap();
        assert_eq!((last.job.as_str(), last.result.as_str()), ("m-gc-2", "Failed"));
        assert_eq!(gc.schedule, "0 2 * * 0");
        assert!(section(None, &[]).is_none());
    }
}
