//! The CronJob running `mlflow gc` (its command line: [`crate::identity::gc_command`]).

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Affinity, Container, PodAffinity, PodAffinityTerm, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::pod::{backend_store_env, from_source, literal, run_once_pod, tmp_and_data_mounts, tmp_and_data_volumes};
use super::{auth, labels, non_empty_vec, Context};
use crate::identity::{gc_command, GcRequest, GC_COMPONENT, GC_CONTAINER, GC_STORE_ENV, GC_STORE_VALUE};
use crate::names::truncate;

/// CronJob names may not pass 52 characters (the Jobs get a suffix).
pub fn name(ctx: &Context) -> String {
    format!("{}-gc", truncate(&ctx.fullname, 49))
}

/// The URL the GC job reaches the server at.
pub fn tracking_uri(ctx: &Context) -> String {
    ctx.identity.endpoint.tracking_uri()
}

pub fn command(ctx: &Context) -> Vec<String> {
    let gc = &ctx.values.garbage_collection;
    let request =
        GcRequest { older_than: gc.older_than.clone(), all_workspaces: gc.all_workspaces, ..GcRequest::default() };
    gc_command(&tracking_uri(ctx), &request)
}

fn container(ctx: &Context) -> Container {
    let values = ctx.values;
    let mut env = vec![backend_store_env(values)];
    env.extend(GC_STORE_ENV.iter().map(|name| literal(name, GC_STORE_VALUE)));
    if values.basic_auth() {
        env.push(literal("MLFLOW_TRACKING_USERNAME", &values.auth.admin_username));
        env.push(from_source("MLFLOW_TRACKING_PASSWORD", &auth::admin_password_source(ctx)));
    }
    env.extend(values.env.iter().cloned());
    let mut mounts = tmp_and_data_mounts(values);
    mounts.extend(values.garbage_collection.extra_volume_mounts.iter().cloned());
    Container {
        name: GC_CONTAINER.into(),
        image: Some(ctx.image()),
        image_pull_policy: Some(values.image.pull_policy.clone()),
        command: Some(command(ctx)),
        env: Some(env),
        env_from: non_empty_vec(&values.env_from),
        security_context: values.security_context.clone(),
        resources: values.garbage_collection.resources.clone(),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

/// A ReadWriteOnce volume is attached to one node at a time: the GC pod that mounts it beside the
/// server must run on the server's node (else "Multi-Attach error" on a cluster of several nodes),
/// with the server's tolerations to get there.
fn beside_the_server(ctx: &Context, pod: &mut PodSpec) {
    let storage = &ctx.values.storage;
    if !storage.enabled || storage.access_mode != "ReadWriteOnce" {
        return;
    }
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(labels::server_selector(ctx)),
            ..LabelSelector::default()
        }),
        topology_key: "kubernetes.io/hostname".into(),
        ..PodAffinityTerm::default()
    };
    pod.affinity = Some(Affinity {
        pod_affinity: Some(PodAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term]),
            ..PodAffinity::default()
        }),
        ..Affinity::default()
    });
    pod.tolerations = non_empty_vec(&ctx.values.tolerations);
}

pub fn cron_job(ctx: &Context) -> Option<CronJob> {
    let values = ctx.values;
    let gc = &values.garbage_collection;
    if !gc.enabled {
        return None;
    }
    let mut volumes = tmp_and_data_volumes(ctx);
    volumes.extend(gc.extra_volumes.iter().cloned());
    let mut pod = run_once_pod(ctx, ctx.service_account(), container(ctx), volumes);
    beside_the_server(ctx, &mut pod);
    Some(CronJob {
        metadata: ctx.meta(name(ctx), Some(GC_COMPONENT)),
        spec: Some(CronJobSpec {
            schedule: gc.schedule.clone(),
            concurrency_policy: Some("Forbid".into()),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                spec: Some(JobSpec {
                    backoff_limit: Some(2),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(labels::selector(ctx, Some(GC_COMPONENT))),
                            ..ObjectMeta::default()
                        }),
                        spec: Some(pod),
                    },
                    ..JobSpec::default()
                }),
                ..JobTemplateSpec::default()
            },
            ..CronJobSpec::default()
        }),
        ..CronJob::default()
    })
}
