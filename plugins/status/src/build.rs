//! The status document from what was read: each section, then the verdict.

use k8s_openapi::api::batch::v1::Job;
use kubectl_mlflow_core::engine::installed::{self, Engine};
use kubectl_mlflow_core::engine::wait::rollout_status;
use kubectl_mlflow_core::identity::{COMPONENT_LABEL, GC_COMPONENT, MIGRATE_COMPONENT};

use crate::document::{self, Auth, Release, Server, Stores, Urls, Verdict, API_VERSION, KIND};
use crate::events::{self, Objects};
use crate::read::Observed;
use crate::{gc, pods, schema, stores, urls, verdict, volumes};

pub fn status(observed: &Observed) -> document::Status {
    let deployment = &observed.found.deployment;
    let server = stores::Server::of(deployment);
    let (stores, auth) = match &server {
        Some(server) => (stores::stores(server, &observed.sources), stores::auth(server, &observed.sources)),
        None => (
            Stores {
                backend: None,
                registry: None,
                artifacts_destination: None,
                default_artifact_root: None,
                serves_artifacts: true,
            },
            Auth { basic_auth: false, admin_user: None, database: None, single_sign_on: None },
        ),
    };
    let prefix = server.as_ref().and_then(|s| s.argument("--static-prefix")).unwrap_or_default();
    let mut status = document::Status {
        api_version: API_VERSION,
        kind: KIND,
        release: release(observed),
        verdict: Verdict { state: document::State::Healthy, reasons: vec![] },
        server: server_section(observed),
        events: events::lines(&observed.events, &objects(observed), observed.now),
        stores,
        schema: schema::section(observed.schema.as_ref().map_err(String::as_str)),
        volumes: volumes::lines(&observed.claims, &observed.namespace, &observed.summaries),
        gc: gc::section(observed.found.cron_job.as_ref(), &jobs_of(observed, GC_COMPONENT)),
        auth,
        urls: urls_section(observed, &prefix),
        notes: observed.notes.clone(),
    };
    if let Some(Ok(report)) = observed.schema.as_ref().ok().map(|r| &r.report) {
        status.release.mlflow_version = report.mlflow.clone().or(status.release.mlflow_version);
    }
    status.verdict = verdict::judge(&status, &failed_migrations(observed), observed.now);
    status
}

fn release(observed: &Observed) -> Release {
    let versions = installed::versions(&observed.found.deployment);
    let mut release = Release {
        name: observed.release.clone(),
        namespace: observed.namespace.clone(),
        engine: "unknown".into(),
        revision: None,
        helm_status: None,
        apply_set: None,
        applied_by: None,
        engine_note: None,
        in_progress: None,
        chart: versions.chart,
        mlflow_version: versions.mlflow,
        image: versions.image,
    };
    match observed.records.as_ref().map(|r| r.engine()) {
        Ok(Engine::Helm(record)) => {
            release.engine = "helm".into();
            if record.is_pending() {
                release.in_progress = Some(format!("helm revision {} is {}", record.revision, record.status));
            }
            release.revision = Some(record.revision);
            release.helm_status = Some(record.status);
        }
        Ok(Engine::Native(parent)) => {
            release.engine = "native".into();
            release.apply_set = Some(parent.applyset);
            release.applied_by = parent.tooling;
        }
        Ok(Engine::Unrecorded) => {
            release.engine = "unrecorded".into();
            release.engine_note =
                Some("labelled for the release, but neither kubectl mlflow install nor helm recorded it".into());
        }
        Err(why) => release.engine_note = Some(why.clone()),
    }
    if let Some(job) = jobs_of(observed, MIGRATE_COMPONENT).into_iter().find(|j| gc::run(j).result == "Running") {
        let running = format!("the migration Job/{} is running", job.metadata.name.clone().unwrap_or_default());
        release.in_progress = Some(match release.in_progress.take() {
            Some(pending) => format!("{pending}; {running}"),
            None => running,
        });
    }
    release
}

fn server_section(observed: &Observed) -> Server {
    let deployment = &observed.found.deployment;
    let (rolled_out, rollout) = rollout_status(deployment);
    let status = deployment.status.clone().unwrap_or_default();
    Server {
        deployment: deployment.metadata.name.clone().unwrap_or_default(),
        replicas: deployment.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        ready_replicas: status.ready_replicas.unwrap_or(0),
        updated_replicas: status.updated_replicas.unwrap_or(0),
        rollout,
        rolled_out,
        pods: pods::lines(&observed.pods, &observed.logs, observed.now),
    }
}

/// The release's objects whose events are shown: by uid, and the pods of its ReplicaSets and
/// Jobs by name (their events outlive them).
fn objects(observed: &Observed) -> Objects {
    let mut objects = Objects::default();
    let found = &observed.found;
    let metas = std::iter::once(&found.deployment.metadata)
        .chain(found.service.iter().map(|s| &s.metadata))
        .chain(found.cron_job.iter().map(|c| &c.metadata))
        .chain(observed.pods.iter().map(|p| &p.metadata))
        .chain(observed.replica_sets.iter().map(|r| &r.metadata))
        .chain(observed.claims.iter().map(|c| &c.metadata))
        .chain(observed.jobs.iter().map(|j| &j.metadata))
        .chain(observed.ingresses.iter().map(|i| &i.metadata));
    objects.uids.extend(metas.filter_map(|m| m.uid.clone()));
    let owners = observed.replica_sets.iter().map(|r| &r.metadata).chain(observed.jobs.iter().map(|j| &j.metadata));
    objects.pod_prefixes.extend(owners.filter_map(|m| m.name.as_ref().map(|n| format!("{n}-"))));
    objects
}

/// The release's Jobs of a component; GC runs include those its CronJob made.
fn jobs_of<'a>(observed: &'a Observed, component: &str) -> Vec<&'a Job> {
    let component_of = |job: &Job| job.metadata.labels.as_ref().and_then(|l| l.get(COMPONENT_LABEL)).cloned();
    let cron_uid = observed.found.cron_job.as_ref().and_then(|c| c.metadata.uid.clone());
    let made_by_cron =
        |job: &Job| job.metadata.owner_references.iter().flatten().any(|o| Some(&o.uid) == cron_uid.as_ref());
    let gc = component == GC_COMPONENT;
    observed.jobs.iter().filter(|j| component_of(j).as_deref() == Some(component) || (gc && made_by_cron(j))).collect()
}

fn failed_migrations(observed: &Observed) -> Vec<String> {
    jobs_of(observed, MIGRATE_COMPONENT)
        .into_iter()
        .map(gc::run)
        .filter(|run| run.result == "Failed")
        .map(|run| {
            format!("the migration Job/{} failed (see kubectl logs job/{} -n {})", run.job, run.job, observed.namespace)
        })
        .collect()
}

fn urls_section(observed: &Observed, prefix: &str) -> Urls {
    urls::section(observed.found.service.as_ref(), &observed.namespace, prefix, &observed.ingresses, &observed.routes)
}
