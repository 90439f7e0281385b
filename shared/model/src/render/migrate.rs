//! The Job running `mlflow db upgrade` before the server rolls out: a pre-install/pre-upgrade hook
//! in the chart, a step before the Deployment in the native engine (which honours the same hook
//! annotations: the old Job is deleted before, the succeeded one after).

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{
    Job, JobSpec, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule,
};
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::auth::DATABASE_URI_ENV;
use super::pod::{backend_store_env, empty_dir, from_source, literal, mount, run_once_pod};
use super::{labels, non_empty_vec, Context};
use crate::identity::{MIGRATE_COMPONENT, MIGRATE_CONTAINER};
use crate::names::truncate;

/// The hook annotations of the Job, in both renderings.
pub const HOOK: [(&str, &str); 2] = [
    ("helm.sh/hook", "pre-install,pre-upgrade"),
    ("helm.sh/hook-delete-policy", "before-hook-creation,hook-succeeded"),
];

/// The step that waits for the database servers, the script it runs (`charts/files/`, the
/// chart's too) and its exit code when the wait is over: the Job fails then, without a second try.
pub const WAIT_CONTAINER: &str = "wait-for-database";
pub const WAIT_SCRIPT: &str = include_str!("../../../../charts/files/wait-for-database.py");
pub const WAIT_GAVE_UP: i32 = 3;
/// The step that migrates the basic-auth database (MLflow's auth app would at start, in every
/// worker of every replica at once).
pub const AUTH_CONTAINER: &str = "migrate-auth";

/// Job names become the `job-name` label of its pods: at most 63 characters.
pub fn name(ctx: &Context) -> String {
    format!("{}-migrate", truncate(&ctx.fullname, 55))
}

/// `mlflow db upgrade` by a script (`charts/files/`, the chart's too) that first makes the tables
/// of an empty database, which MLflow releases before 3.17.2's do not. The store URI comes from
/// the environment (expanded by the kubelet): the password of a URI read from a Secret stays out
/// of the pod spec.
pub const MIGRATE_SCRIPT: &str = include_str!("../../../../charts/files/migrate-tracking-store.py");

pub fn command() -> Vec<String> {
    vec!["python".into(), "-c".into(), MIGRATE_SCRIPT.into(), "$(MLFLOW_BACKEND_STORE_URI)".into()]
}

/// `python -m mlflow.server.auth db upgrade`, the URL from the environment as above.
pub fn auth_command() -> Vec<String> {
    ["python", "-m", "mlflow.server.auth", "db", "upgrade", "--url", "$(MLFLOW_AUTH_DATABASE_URI)"]
        .map(String::from)
        .to_vec()
}

/// The auth database's URI, when the Job migrates it.
fn auth_env(ctx: &Context) -> Option<EnvVar> {
    let auth = &ctx.values.auth;
    ctx.values.auth_database_server().then(|| match &auth.database_uri_from {
        Some(source) => from_source(DATABASE_URI_ENV, source),
        None => literal(DATABASE_URI_ENV, &auth.database_uri),
    })
}

/// The wait's command: the script, the timeout, the variables naming the databases.
fn wait_command(ctx: &Context) -> Vec<String> {
    let mut command =
        vec!["python".to_string(), "-c".into(), WAIT_SCRIPT.into(), ctx.values.migrations.wait_timeout.clone()];
    command.push("MLFLOW_BACKEND_STORE_URI".into());
    if ctx.values.auth_database_server() {
        command.push(DATABASE_URI_ENV.into());
    }
    command
}

fn waits(ctx: &Context) -> bool {
    ctx.values.migrations.wait_timeout != "0"
}

/// The Job's containers in order: the wait (unless waitTimeout is 0), `mlflow db upgrade`, then
/// the auth database's migration (with basic auth on a database server). All but the last run as
/// init containers, one after another. The tracking store goes first: `mlflow db upgrade` takes a
/// database holding any table (the auth tables, where both share one) for one to upgrade, and
/// fails on its missing tables.
fn containers(ctx: &Context) -> Vec<Container> {
    let mut steps = Vec::new();
    if waits(ctx) {
        steps.push(container(ctx, WAIT_CONTAINER, wait_command(ctx)));
    }
    steps.push(container(ctx, MIGRATE_CONTAINER, command()));
    if ctx.values.auth_database_server() {
        steps.push(container(ctx, AUTH_CONTAINER, auth_command()));
    }
    steps
}

fn container(ctx: &Context, name: &str, command: Vec<String>) -> Container {
    let values = ctx.values;
    let mut env = vec![backend_store_env(values)];
    env.extend(auth_env(ctx));
    env.extend(values.env.iter().cloned());
    let mut mounts = vec![mount("tmp", "/tmp", false)];
    mounts.extend(values.extra_volume_mounts.iter().cloned());
    Container {
        name: name.into(),
        image: Some(ctx.image()),
        image_pull_policy: Some(values.image.pull_policy.clone()),
        command: Some(command),
        env: Some(env),
        env_from: non_empty_vec(&values.env_from),
        security_context: values.security_context.clone(),
        resources: values.migrations.resources.clone(),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

/// A wait that timed out fails the Job at once: a second pod would wait as long again.
fn gave_up_policy() -> PodFailurePolicy {
    PodFailurePolicy {
        rules: vec![PodFailurePolicyRule {
            action: "FailJob".into(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: Some(WAIT_CONTAINER.into()),
                operator: "In".into(),
                values: vec![WAIT_GAVE_UP],
            }),
            ..PodFailurePolicyRule::default()
        }],
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
    let mut steps = containers(ctx);
    let last = steps.pop().expect("the migration itself");
    let pod = PodSpec {
        init_containers: non_empty_vec(&steps),
        node_selector: super::non_empty(&values.node_selector),
        affinity: values.affinity.clone(),
        tolerations: non_empty_vec(&values.tolerations),
        ..run_once_pod(ctx, service_account(ctx), last, volumes)
    };
    let mut metadata = ctx.meta(name(ctx), Some(MIGRATE_COMPONENT));
    metadata.annotations = Some(HOOK.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>());
    Some(Job {
        metadata,
        spec: Some(JobSpec {
            backoff_limit: Some(1),
            pod_failure_policy: waits(ctx).then(gave_up_policy),
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
