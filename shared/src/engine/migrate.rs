//! The migration Job (`mlflow db upgrade`), run before the Deployment is applied, as helm runs
//! its pre-install/pre-upgrade hook: the Job of an earlier run is deleted first
//! (before-hook-creation), the new one applied and watched to its end, and deleted once it
//! succeeded (hook-succeeded). A failure stops the install with the Job's log; the Job is kept.

use std::time::Duration;

use futures::{stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
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

/// Whether a member is the migration Job (a Job of `extraObjects` is applied as any object).
pub fn is_migration(member: &Member) -> bool {
    member.kind.kind == "Job" && !member.extra
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
        let step = failed_step(&pod);
        let pod_name = pod.metadata.name.unwrap_or_default();
        out.push_str(&events_of(&applier.client, &applier.namespace, &pod_name).await);
        let params = LogParams { container: Some(step.clone()), tail_lines: Some(LOG_LINES), ..LogParams::default() };
        match pods.logs(&pod_name, &params).await {
            Ok(logs) if !logs.trim().is_empty() => {
                out.push_str(&format!("last log lines of pod {pod_name} ({step}):\n{}\n", indent(&logs)))
            }
            Ok(_) => {}
            Err(err) => out.push_str(&format!("(no log of pod {pod_name}: {})\n", describe(&err))),
        }
    }
    out
}

/// The step (container) of a Job pod that failed: the first init container or container that
/// ended with an exit code other than 0, else the migration's own.
fn failed_step(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let init = status.and_then(|s| s.init_container_statuses.as_ref());
    let main = status.and_then(|s| s.container_statuses.as_ref());
    init.into_iter()
        .chain(main)
        .flatten()
        .find(|c| c.state.as_ref().and_then(|s| s.terminated.as_ref()).is_some_and(|t| t.exit_code != 0))
        .map_or_else(|| MIGRATE_CONTAINER.to_string(), |c| c.name.clone())
}

/// The script of the SQLite upgrade Job.
const SQLITE_UPGRADE: &str = include_str!("sqlite/upgrade.py");

/// Before a new image serves a SQLite store (an upgrade that changes the server's image), a Job
/// on the new image beside the running server keeps a copy of the database on its volume, named
/// with its schema revision (the last three kept), and runs `mlflow db upgrade`; a failed
/// migration puts the copy back and stops the install, so the running release keeps serving.
/// `stored` is the server's Deployment as the cluster holds it (none on a first install).
/// Returns the note that says how to roll back.
pub async fn sqlite_upgrade(
    applier: &Applier,
    rendered: &[crate::render::Object],
    stored: Option<Deployment>,
    enabled: bool,
    timeout: Duration,
    progress: &mut dyn Sink,
) -> Result<Option<String>, Failure> {
    let Some(new) = rendered_deployment(rendered) else { return Ok(None) };
    let deployment = new.metadata.name.clone().unwrap_or_default();
    let (Some(live), Some(image)) = (stored, server_image(new)) else { return Ok(None) };
    let old_image = server_image(&live).unwrap_or_default();
    if applier.dry_run || !enabled || old_image == image || !sqlite_store(new) {
        return Ok(None);
    }
    let name = format!("{}-sqlite-upgrade", crate::names::truncate(&deployment, 63 - 15));
    let node = server_node(applier, &live).await;
    let Some(job) = sqlite_job(new, &name, &applier.namespace, node.as_deref()) else { return Ok(None) };
    let jobs = Api::<Job>::namespaced(applier.client.clone(), &applier.namespace);
    let params =
        DeleteParams { propagation_policy: Some(kube::api::PropagationPolicy::Foreground), ..DeleteParams::default() };
    match delete_and_finalize(jobs.clone(), &name, &params).await {
        Ok(()) => {}
        Err(kube::runtime::wait::delete::Error::Delete(err)) if is_not_found(&err) => {}
        Err(err) => return Err(Failure::Failed(format!("cannot delete the earlier Job/{name}: {err}"))),
    }
    jobs.create(&kube::api::PostParams::default(), &job)
        .await
        .map_err(|err| Failure::Failed(format!("cannot create Job/{name}: {}", describe(&err))))?;
    progress.phase(&format!("waiting for Job/{name} (a copy of the SQLite database, then mlflow db upgrade)"));
    let outcome = tokio::time::timeout(timeout, watch(applier, &name, progress)).await;
    progress.finish();
    let log = job_log(applier, &name).await;
    match outcome {
        Ok(Ok(())) => {
            let _ = jobs.delete(&name, &DeleteParams::background()).await;
            Ok(copy_note(&log, &deployment, &applier.namespace, &old_image))
        }
        Ok(Err(reason)) => Err(Failure::Failed(format!(
            "Job/{name} (mlflow db upgrade of the SQLite store) failed: {reason}; {}the server was not rolled out and still runs {old_image}\n{}\
             the Job stays until the next install: kubectl logs -n {} job/{name}",
            if log.contains("KMLF-SQLITE-RESTORED") { "the copy taken before was put back, so " } else { "" },
            diagnose(applier, &name).await,
            applier.namespace
        ))),
        Err(_) => Err(Failure::Failed(format!(
            "timed out after {} waiting for Job/{name} (mlflow db upgrade of the SQLite store); the server was not rolled out\n{}",
            kubectl_mlflow_model::duration::format_duration(timeout),
            diagnose(applier, &name).await
        ))),
    }
}

fn rendered_deployment(rendered: &[crate::render::Object]) -> Option<&Deployment> {
    rendered.iter().find_map(|o| match o {
        crate::render::Object::Deployment(d) => Some(d),
        _ => None,
    })
}

/// The server's Deployment as the cluster holds it, read for a release helm manages (the native
/// engine has it from its read of the release).
pub async fn stored_deployment(applier: &Applier, rendered: &[crate::render::Object]) -> Option<Deployment> {
    let name = rendered_deployment(rendered)?.metadata.name.clone()?;
    let deployments = Api::<Deployment>::namespaced(applier.client.clone(), &applier.namespace);
    deployments.get_opt(&name).await.ok().flatten()
}

fn server_container(deployment: &Deployment) -> Option<&k8s_openapi::api::core::v1::Container> {
    let pod = deployment.spec.as_ref()?.template.spec.as_ref()?;
    pod.containers.iter().find(|c| c.name == crate::identity::SERVER_CONTAINER).or(pod.containers.first())
}

fn server_image(deployment: &Deployment) -> Option<String> {
    server_container(deployment)?.image.clone()
}

fn sqlite_store(deployment: &Deployment) -> bool {
    let env = server_container(deployment).and_then(|c| c.env.as_ref());
    env.into_iter().flatten().any(|e| {
        e.name == "MLFLOW_BACKEND_STORE_URI" && e.value.as_deref().is_some_and(|v| v.starts_with("sqlite:///"))
    })
}

/// The node of the running server pod: a ReadWriteOnce volume attaches there only.
async fn server_node(applier: &Applier, live: &Deployment) -> Option<String> {
    let labels = live.spec.as_ref()?.selector.match_labels.clone()?;
    let selector = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    let pods = Api::<Pod>::namespaced(applier.client.clone(), &applier.namespace);
    let list = pods.list(&ListParams::default().labels(&selector)).await.ok()?;
    list.items
        .into_iter()
        .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .and_then(|p| p.spec?.node_name)
}

/// The rendered server pod, on its new image, running the upgrade script once.
fn sqlite_job(deployment: &Deployment, name: &str, namespace: &str, node: Option<&str>) -> Option<Job> {
    use k8s_openapi::api::batch::v1::JobSpec;
    use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    let server = server_container(deployment)?;
    let mut pod = deployment.spec.as_ref()?.template.spec.clone()?;
    let container = Container {
        name: MIGRATE_CONTAINER.into(),
        image: server.image.clone(),
        image_pull_policy: server.image_pull_policy.clone(),
        command: Some(vec!["python3".into(), "-c".into(), SQLITE_UPGRADE.into()]),
        env: server.env.clone(),
        env_from: server.env_from.clone(),
        security_context: server.security_context.clone(),
        volume_mounts: server.volume_mounts.clone(),
        // its requests too: a BestEffort pod gets almost no CPU on a busy node
        resources: server.resources.clone(),
        working_dir: server.working_dir.clone(),
        ..Container::default()
    };
    pod.containers = vec![container];
    pod.init_containers = None;
    pod.restart_policy = Some("Never".into());
    pod.topology_spread_constraints = None;
    if let Some(node) = node {
        // beside the running server: its ReadWriteOnce claim is attached there
        pod.node_name = Some(node.into());
    }
    let labels = deployment.metadata.labels.clone().map(|mut l| {
        l.insert(crate::identity::COMPONENT_LABEL.into(), "sqlite-upgrade".into());
        l
    });
    Some(Job {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: labels.clone(),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels, ..ObjectMeta::default() }),
                spec: Some(pod),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    })
}

async fn job_log(applier: &Applier, name: &str) -> String {
    let pods = Api::<Pod>::namespaced(applier.client.clone(), &applier.namespace);
    let Ok(list) = pods.list(&ListParams::default().labels(&format!("job-name={name}"))).await else {
        return String::new();
    };
    let mut log = String::new();
    for pod in list.items {
        let params = LogParams { container: Some(MIGRATE_CONTAINER.into()), ..LogParams::default() };
        if let Ok(text) = pods.logs(&pod.metadata.name.unwrap_or_default(), &params).await {
            log.push_str(&text);
        }
    }
    log
}

/// What the install's notes say after a copy was taken: where it is and how to go back.
fn copy_note(log: &str, deployment: &str, namespace: &str, old_image: &str) -> Option<String> {
    let line = log.lines().find_map(|l| l.strip_prefix("KMLF-SQLITE-COPY "))?;
    let mut words = line.split_whitespace();
    let (copy, from, to) = (words.next()?, words.next()?, words.next()?);
    let database = copy.trim_end_matches(".bak").trim_end_matches(from).trim_end_matches('.');
    let old_tag = old_image.rsplit_once(':').map(|(_, t)| t).unwrap_or(old_image);
    Some(format!(
        "the SQLite store was migrated from schema revision {from} to {to}; its copy from before is {copy} \
         (the last three are kept). To roll back: kubectl exec -n {namespace} deploy/{deployment} -- python3 -c \
         \"import sqlite3; sqlite3.connect('{copy}').backup(sqlite3.connect('{database}'))\" && \
         kubectl mlflow install -n {namespace} --reuse-values --set image.tag={old_tag}"
    ))
}
