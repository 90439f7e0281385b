//! The MLflow server's Deployment: the command line, environment, probes and volumes that real
//! MLflow 3.17 was measured to need (see the project's mlflow facts).

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, HTTPGetAction, PodSpec, PodTemplateSpec, Probe, SecretVolumeSource,
    TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::pod::{
    backend_store_env, empty_dir, from_source, literal, mount, store_env, tmp_and_data_mounts, tmp_and_data_volumes,
};
use super::{auth, hosts, labels, non_empty, non_empty_vec, sign_in, Context};
use crate::identity::{SERVER_COMPONENT, SERVER_CONTAINER};
use crate::values::model::{self, flag_name};

pub const TLS_DIR: &str = "/etc/mlflow/tls";
pub const METRICS_DIR: &str = "/var/run/mlflow/metrics";

pub fn deployment(ctx: &Context) -> Deployment {
    let values = ctx.values;
    let mut pod_labels = labels::server_selector(ctx);
    pod_labels.extend(values.pod_labels.clone());
    let mut annotations = values.pod_annotations.clone();
    if values.basic_auth() {
        annotations.insert("checksum/auth-config".into(), auth::checksum(ctx));
    }
    Deployment {
        metadata: ctx.meta(&ctx.fullname, Some(SERVER_COMPONENT)),
        spec: Some(DeploymentSpec {
            // The autoscaler owns the number of pods: a value here would reset it on every apply.
            replicas: (!values.autoscaling.enabled).then_some(values.replica_count),
            revision_history_limit: values.revision_history_limit,
            strategy: Some(strategy(ctx)),
            selector: LabelSelector { match_labels: Some(labels::server_selector(ctx)), ..LabelSelector::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: non_empty(&annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(ctx)),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// Recreate whenever two pods must not overlap: a ReadWriteOnce volume or a SQLite database.
fn strategy(ctx: &Context) -> DeploymentStrategy {
    let values = ctx.values;
    if let Some(strategy) = &values.deployment_strategy {
        if *strategy != DeploymentStrategy::default() {
            return strategy.clone();
        }
    }
    let rwo = values.storage.enabled && values.storage.access_mode == "ReadWriteOnce";
    if rwo || values.mlflow.backend_store_uri.starts_with("sqlite:") {
        return DeploymentStrategy { type_: Some("Recreate".into()), ..DeploymentStrategy::default() };
    }
    DeploymentStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDeployment {
            max_surge: Some(IntOrString::Int(1)),
            max_unavailable: Some(IntOrString::Int(0)),
        }),
    }
}

fn pod_spec(ctx: &Context) -> PodSpec {
    let values = ctx.values;
    let mut containers = vec![container(ctx)];
    containers.extend(sign_in::container(ctx));
    containers.extend(values.extra_containers.iter().cloned());
    PodSpec {
        service_account_name: Some(ctx.service_account()),
        automount_service_account_token: Some(values.service_account.automount_service_account_token),
        enable_service_links: Some(false),
        image_pull_secrets: non_empty_vec(&values.image_pull_secrets),
        security_context: ctx.pod_security_context(),
        init_containers: non_empty_vec(&init_containers(ctx)),
        containers,
        volumes: Some(volumes(ctx)),
        node_selector: non_empty(&values.node_selector),
        affinity: values.affinity.clone(),
        tolerations: non_empty_vec(&values.tolerations),
        priority_class_name: (!values.priority_class_name.is_empty()).then(|| values.priority_class_name.clone()),
        topology_spread_constraints: non_empty_vec(&topology_spread_constraints(ctx)),
        ..PodSpec::default()
    }
}

/// The auth ini's writer (with `auth.databaseUriFrom`), then the values' init containers.
fn init_containers(ctx: &Context) -> Vec<Container> {
    let mut containers: Vec<Container> = auth::config_writer(ctx).into_iter().collect();
    containers.extend(ctx.values.extra_init_containers.iter().cloned());
    containers
}

/// The values' constraints, each without a labelSelector given the server pods' selector.
fn topology_spread_constraints(ctx: &Context) -> Vec<TopologySpreadConstraint> {
    let selector = LabelSelector { match_labels: Some(labels::server_selector(ctx)), ..LabelSelector::default() };
    let mut constraints = ctx.values.topology_spread_constraints.clone();
    for constraint in &mut constraints {
        if constraint.label_selector.as_ref().is_none_or(|given| *given == LabelSelector::default()) {
            constraint.label_selector = Some(selector.clone());
        }
    }
    constraints
}

fn container(ctx: &Context) -> Container {
    let values = ctx.values;
    Container {
        name: SERVER_CONTAINER.into(),
        image: Some(ctx.image()),
        image_pull_policy: Some(values.image.pull_policy.clone()),
        command: Some(command(ctx)),
        // Behind the sign-in MLflow listens on 127.0.0.1: the proxy's container has the port.
        ports: (!values.oidc()).then(|| {
            vec![ContainerPort {
                name: Some(ctx.port_name().into()),
                container_port: ctx.port,
                protocol: Some("TCP".into()),
                ..ContainerPort::default()
            }]
        }),
        env: Some(env(ctx)),
        env_from: non_empty_vec(&values.env_from),
        security_context: values.security_context.clone(),
        resources: values.resources.clone(),
        liveness_probe: probe(ctx, &values.probes.liveness),
        readiness_probe: probe(ctx, &values.probes.readiness),
        startup_probe: probe(ctx, &values.probes.startup),
        volume_mounts: Some(volume_mounts(ctx)),
        ..Container::default()
    }
}

/// `mlflow server` with the value options, flag options and the options the features need. An
/// option the chart adds to one the user gave is merged into it (click keeps only the last of
/// an option given twice): TLS goes into the user's `uvicorn_opts`, or into `gunicorn_opts` when
/// the user chose gunicorn (MLflow refuses both at once).
pub fn command(ctx: &Context) -> Vec<String> {
    let server = &ctx.values.server;
    let mut args = vec!["mlflow".to_string(), "server".to_string()];
    let mut options = server.value_options.clone();
    options.remove("allowed_hosts");
    options.insert("port".into(), Value::from(ctx.port));
    if ctx.values.oidc() {
        options.insert("host".into(), Value::from(crate::oidc::LOOPBACK));
    }
    // Behind the sign-in the proxy serves TLS; MLflow serves plain HTTP on the loopback.
    let tls = (ctx.values.tls.enabled && !ctx.values.oidc()).then(|| tls_opts(&options));
    for (key, value) in &options {
        if let Some(text) = option_text(value) {
            let text = match &tls {
                Some((tls_key, opts)) if key == tls_key => format!("{text} {opts}"),
                _ => text,
            };
            args.push(format!("--{}={text}", key.replace('_', "-")));
        }
    }
    args.extend(server.flag_options.iter().map(|flag| format!("--{}", flag_name(flag))));
    if !ctx.prefix().is_empty() {
        args.push(format!("--static-prefix={}", ctx.prefix()));
    }
    if let Some((key, opts)) = tls.filter(|(key, _)| options.get(key).and_then(option_text).is_none()) {
        args.push(format!("--{}={opts}", key.replace('_', "-")));
    }
    if ctx.values.metrics.enabled {
        args.push(format!("--expose-prometheus={METRICS_DIR}"));
    }
    args
}

/// The server option that carries TLS and its options: gunicorn's when the user set
/// `gunicorn_opts`, else uvicorn's (MLflow's default server).
fn tls_opts(options: &std::collections::BTreeMap<String, Value>) -> (String, String) {
    if options.get("gunicorn_opts").and_then(option_text).is_some() {
        ("gunicorn_opts".into(), format!("--keyfile={TLS_DIR}/tls.key --certfile={TLS_DIR}/tls.crt"))
    } else {
        ("uvicorn_opts".into(), format!("--ssl-keyfile={TLS_DIR}/tls.key --ssl-certfile={TLS_DIR}/tls.crt"))
    }
}

/// A value option as text; `None` for null and "", which are left out.
fn option_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn env(ctx: &Context) -> Vec<EnvVar> {
    let values = ctx.values;
    let m = &values.mlflow;
    let mut env = vec![backend_store_env(values)];
    env.extend(store_env("MLFLOW_REGISTRY_STORE_URI", &m.registry_store_uri, &m.registry_store_uri_from));
    if !m.default_artifact_root.is_empty() {
        env.push(literal("MLFLOW_DEFAULT_ARTIFACT_ROOT", &m.default_artifact_root));
    }
    if let Some(destination) = crate::local_paths::artifacts_destination(values) {
        env.push(literal("MLFLOW_ARTIFACTS_DESTINATION", destination));
    }
    env.push(literal("MLFLOW_SERVER_ALLOWED_HOSTS", hosts::allowed_hosts(ctx)));
    if !values.server.job_execution {
        env.push(literal("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false"));
    }
    if values.basic_auth() {
        env.push(literal("MLFLOW_AUTH_CONFIG_PATH", format!("{}/{}", auth::MOUNT_DIR, auth::INI_NAME)));
        env.push(literal("MLFLOW_AUTH_ADMIN_USERNAME", &values.auth.admin_username));
        env.push(from_source("MLFLOW_AUTH_ADMIN_PASSWORD", &auth::admin_password_source(ctx)));
    }
    env.extend(values.env.iter().cloned());
    env
}

/// MLflow's `/health`; behind the sign-in through the proxy's port (the proxy lets it through),
/// since the kubelet cannot reach the loopback.
fn probe(ctx: &Context, settings: &model::Probe) -> Option<Probe> {
    let port = match ctx.values.oidc() {
        true => IntOrString::Int(ctx.values.oidc.port),
        false => IntOrString::String(ctx.port_name().into()),
    };
    settings.enabled.then(|| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(format!("{}/health", ctx.prefix())),
            port,
            scheme: Some(ctx.scheme().to_uppercase()),
            ..HTTPGetAction::default()
        }),
        initial_delay_seconds: Some(settings.initial_delay_seconds),
        period_seconds: Some(settings.period_seconds),
        timeout_seconds: Some(settings.timeout_seconds),
        failure_threshold: Some(settings.failure_threshold),
        ..Probe::default()
    })
}

fn volume_mounts(ctx: &Context) -> Vec<VolumeMount> {
    let values = ctx.values;
    let mut mounts = tmp_and_data_mounts(values);
    if values.tls.enabled && !values.oidc() {
        mounts.push(mount("tls", TLS_DIR, true));
    }
    if values.metrics.enabled {
        mounts.push(mount("metrics", METRICS_DIR, false));
    }
    if values.basic_auth() {
        mounts.push(mount("auth-config", auth::MOUNT_DIR, true));
    }
    mounts.extend(values.extra_volume_mounts.iter().cloned());
    mounts
}

fn volumes(ctx: &Context) -> Vec<Volume> {
    let values = ctx.values;
    let mut volumes = tmp_and_data_volumes(ctx);
    volumes[0] = super::tmp::volume(ctx);
    if values.tls.enabled {
        volumes.push(Volume {
            name: "tls".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(values.tls.secret_name.clone()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    if values.metrics.enabled {
        volumes.push(empty_dir("metrics"));
    }
    if values.basic_auth() {
        volumes.extend(auth::volumes(ctx));
    }
    volumes.extend(values.extra_volumes.iter().cloned());
    volumes
}
