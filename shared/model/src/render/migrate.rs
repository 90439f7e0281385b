//! The Job running `mlflow db upgrade` before the server rolls out: a pre-install/pre-upgrade hook
//! in the chart, a step before the Deployment in the native engine (which honours the same hook
//! annotations: the old Job is deleted before, the succeeded one after).

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::pod::{backend_store_env, empty_dir, mount, run_once_pod};
use super::{labels, non_empty_vec, Context};
use crate::identity::{MIGRATE_COMPONENT, MIGRATE_CONTAINER};
use crate::names::truncate;

/// The hook annotations of the Job, in both renderings.
pub const HOOK: [(&str, &str); 2] = [
    ("helm.sh/hook", "pre-install,pre-upgrade"),
    ("helm.sh/hook-delete-policy", "before-hook-creation,hook-succeeded"),
];

/// Job names become the `job-name` label of its pods: at most 63 characters.
pub fn name(ctx: &Context) -> String {
    format!("{}-migrate", truncate(&ctx.fullname, 55))
}

/// The store URI comes from the environment (expanded by the kubelet): the password of a URI
/// read from a Secret stays out of the pod spec. `mlflow db upgrade` takes the URL as its one
/// positional argument.
pub fn command() -> Vec<String> {
    ["mlflow", "db", "upgrade", "$(MLFLOW_BACKEND_STORE_URI)"].map(String::from).to_vec()
}

fn container(ctx: &Context) -> Container {
    let values = ctx.values;
    let mut env = vec![backend_store_env(values)];
    env.extend(values.env.iter().cloned());
    let mut mounts = vec![mount("tmp", "/tmp", false)];
    mounts.extend(values.extra_volume_mounts.iter().cloned());
    Container {
        name: MIGRATE_CONTAINER.into(),
        image: Some(ctx.image()),
        image_pull_policy: Some(values.image.pull_policy.clone()),
        command: Some(command()),
        env: Some(env),
        env_from: non_empty_vec(&values.env_from),
        security_context: values.security_context.clone(),
        resources: values.migrations.resources.clone(),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

/// The chart's ServiceAccount is made after the hook: until then the Job runs as `default`.
fn service_account(ctx: &Context) -> String {
    if ctx.values.service_account.create {
        "default".into()
    } else {
        ctx.service_account()
    }
}

pub fn job(ctx: &Context) -> Option<Job> {
    let values = ctx.values;
    if !values.migrations() {
        return None;
    }
    let mut volumes = vec![empty_dir("tmp")];
    volumes.extend(values.extra_volumes.iter().cloned());
    let pod = PodSpec {
        node_selector: super::non_empty(&values.node_selector),
        affinity: values.affinity.clone(),
        tolerations: non_empty_vec(&values.tolerations),
        ..run_once_pod(ctx, service_account(ctx), container(ctx), volumes)
    };
    let mut metadata = ctx.meta(name(ctx), Some(MIGRATE_COMPONENT));
    metadata.annotations = Some(HOOK.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>());
    Some(Job {
        metadata,
        spec: Some(JobSpec {
            backoff_limit: Some(1),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels::selector(ctx, Some(MIGRATE_COMPONENT))),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    })
}
