//! The migration Job (`mlflow db upgrade`), run before the Deployment is applied, as helm runs
//! its pre-install/pre-upgrade hook: the Job of an earlier run is deleted first
//! (before-hook-creation), the new one applied and watched to its end, and deleted once it
//! succeeded (hook-succeeded). A failure stops the install with the Job's log; the Job is kept.

use std::time::Duration;

use futures::{stream, StreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, LogParams};
use kube::runtime::wait::delete::delete_and_finalize;
use kube::runtime::watcher::{self, watcher};

use super::apply::{is_not_found, Applier, Member};
use super::wait::{events_of, indent, pod_status};
use super::Sink;
use crate::cluster::describe;
use crate::identity::MIGRATE_CONTAINER;
use kubectl_mlflow_model::Failure;

/// Log lines of the failed pod shown in the error.
const LOG_LINES: i64 = 40;

/// Whether a member is the migration Job.
pub fn is_migration(member: &Member) -> bool {
    member.kind.kind == "Job"
}

/// The members a server dry run can judge: a migration Job left by an earlier run is replaced,
/// not patched (its pod template is immutable), so it is left out.
pub async fn judgeable(applier: &Applier, members: &[Member]) -> Vec<Member> {
    let jobs = Api::<Job>::namespaced(applier.client.clone(), &applier.namespace);
    let mut out = Vec::new();
    for member in members {
        if is_migration(member) && matches!(jobs.get_opt(member.name()).await, Ok(Some(_))) {
            continue;
        }
        out.push(member.clone());
    }
    out
}

/// What the watches of the migration Job and of its pods deliver.
enum MigrationEvent {
    Job(Box<Job>),
    Pod(Box<Pod>),
    Lost(String),
}

/// Runs the migration Job to its end. A server dry run only applies it (the API judges it).
pub async fn run(
    applier: &Applier,
    member: &Member,
    timeout: Duration,
    progress: &mut dyn Sink,
) -> Result<(), Failure> {
    if applier.dry_run {
        applier.apply(member).await?;
        return Ok(());
    }
    let name = member.name().to_string();
    let jobs = Api::<Job>::namespaced(applier.client.clone(), &applier.namespace);
    progress.phase(&format!("deleting the Job/{name} of an earlier run"));
    let params =
        DeleteParams { propagation_policy: Some(kube::api::PropagationPolicy::Foreground), ..DeleteParams::default() };
    match delete_and_finalize(jobs.clone(), &name, &params).await {
        Ok(()) => {}
        Err(kube::runtime::wait::delete::Error::Delete(err)) if is_not_found(&err) => {}
        Err(err) => return Err(Failure::Failed(format!("cannot delete the earlier Job/{name}: {err}"))),
    }
    applier.apply(member).await?;
    progress.phase(&format!("waiting for Job/{name} (mlflow db upgrade) to complete"));
    let outcome = tokio::time::timeout(timeout, watch(applier, &name, progress)).await;
    progress.finish();
    match outcome {
        Ok(Ok(())) => {
            // hook-succeeded: a finished migration leaves nothing behind.
            let _ = jobs.delete(&name, &DeleteParams::background()).await;
            Ok(())
        }
        Ok(Err(reason)) => Err(Failure::Failed(format!(
            "Job/{name} (mlflow db upgrade) failed: {reason}; the server was not rolled out\n{}\
             fix the backend store (mlflow.backendStoreUri / backendStoreUriFrom) and rerun; the Job stays until then: kubectl logs -n {} job/{name}",
            diagnose(applier, &name).await,
            applier.namespace
        ))),
        Err(_) => Err(Failure::Failed(format!(
            "timed out after {} waiting for Job/{name} (mlflow db upgrade); the server was not rolled out\n{}",
            kubectl_mlflow_model::duration::format_duration(timeout),
            diagnose(applier, &name).await
        ))),
    }
}

/// `Ok` once the Job completes; `Err(reason)` once it failed or a pod of it cannot start.
async fn watch(applier: &Applier, name: &str, progress: &mut dyn Sink) -> Result<(), String> {
    let client = &applier.client;
    let ns = &applier.namespace;
    let job_events = watcher(
        Api::<Job>::namespaced(client.clone(), ns),
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    )
    .map(|e| match e {
        Ok(watcher::Event::Apply(j)) | Ok(watcher::Event::InitApply(j)) => Some(MigrationEvent::Job(Box::new(j))),
        Ok(_) => None,
        Err(err) => Some(MigrationEvent::Lost(err.to_string())),
    });
    let pod_events = watcher(
        Api::<Pod>::namespaced(client.clone(), ns),
        watcher::Config::default().labels(&format!("job-name={name}")),
    )
    .map(|e| match e {
        Ok(watcher::Event::Apply(p)) | Ok(watcher::Event::InitApply(p)) => Some(MigrationEvent::Pod(Box::new(p))),
        Ok(_) => None,
        Err(err) => Some(MigrationEvent::Lost(err.to_string())),
    });
    let mut all = stream::select(job_events.boxed(), pod_events.boxed());
    while let Some(seen) = all.next().await {
        match seen {
            Some(MigrationEvent::Job(job)) => {
                let conditions = job.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
                if conditions.iter().any(|c| c.type_ == "Complete" && c.status == "True") {
                    return Ok(());
                }
                if let Some(failed) = conditions.iter().find(|c| c.type_ == "Failed" && c.status == "True") {
                    return Err(format!(
                        "{}: {}",
                        failed.reason.clone().unwrap_or_default(),
                        failed.message.clone().unwrap_or_default()
                    ));
                }
            }
            Some(MigrationEvent::Pod(pod)) => {
                let pod_name = pod.metadata.name.clone().unwrap_or_default();
                let (text, fatal) = pod_status(&pod);
                progress.pod(&pod_name, &text);
                if fatal {
                    return Err(format!("pod {pod_name} cannot start: {text}"));
                }
            }
            Some(MigrationEvent::Lost(err)) => progress.phase(&format!("watch interrupted ({err}); resuming")),
            None => {}
        }
    }
    Err("the watch ended unexpectedly".into())
}

/// The events and last log lines of the Job's pods.
pub async fn diagnose(applier: &Applier, name: &str) -> String {
    let pods = Api::<Pod>::namespaced(applier.client.clone(), &applier.namespace);
    let Ok(list) = pods.list(&ListParams::default().labels(&format!("job-name={name}"))).await else {
        return String::new();
    };
    let mut out = String::new();
    for pod in list.items {
        let pod_name = pod.metadata.name.unwrap_or_default();
        out.push_str(&events_of(&applier.client, &applier.namespace, &pod_name).await);
        let params = LogParams {
            container: Some(MIGRATE_CONTAINER.into()),
            tail_lines: Some(LOG_LINES),
            ..LogParams::default()
        };
        match pods.logs(&pod_name, &params).await {
            Ok(logs) if !logs.trim().is_empty() => {
                out.push_str(&format!("last log lines of pod {pod_name}:\n{}\n", indent(&logs)))
            }
            Ok(_) => {}
            Err(err) => out.push_str(&format!("(no log of pod {pod_name}: {})\n", describe(&err))),
        }
    }
    out
}
