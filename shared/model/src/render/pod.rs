//! The pod building blocks the Deployment and the GC CronJob share (and the `kubectl mlflow gc`
//! Job builds on): environment entries, the store's env, mounts and volumes.

use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, PersistentVolumeClaimVolumeSource, PodSpec, Volume,
    VolumeMount,
};

use super::{non_empty_vec, Context};
use crate::values::Values;

pub fn literal(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), ..EnvVar::default() }
}

pub fn from_source(name: &str, source: &EnvVarSource) -> EnvVar {
    EnvVar { name: name.into(), value_from: Some(source.clone()), ..EnvVar::default() }
}

/// `MLFLOW_BACKEND_STORE_URI`, from the literal or the reference.
pub fn backend_store_env(values: &Values) -> EnvVar {
    store_env("MLFLOW_BACKEND_STORE_URI", &values.mlflow.backend_store_uri, &values.mlflow.backend_store_uri_from)
        .expect("validation requires a backend store")
}

pub fn store_env(name: &str, uri: &str, from: &Option<EnvVarSource>) -> Option<EnvVar> {
    match from {
        Some(source) => Some(from_source(name, source)),
        None if !uri.is_empty() => Some(literal(name, uri)),
        None => None,
    }
}

pub fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

pub fn empty_dir(name: &str) -> Volume {
    Volume { name: name.into(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Volume::default() }
}

pub fn data_volume(ctx: &Context) -> Volume {
    Volume {
        name: "data".into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: ctx.fullname.clone(),
            ..PersistentVolumeClaimVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// The writable `/tmp` and, with storage, the data volume's mount: what every MLflow container
/// needs on a read-only root.
pub fn tmp_and_data_mounts(values: &Values) -> Vec<VolumeMount> {
    let mut mounts = vec![mount("tmp", "/tmp", false)];
    if values.storage.enabled {
        mounts.push(mount("data", &values.storage.mount_path, false));
    }
    mounts
}

/// The volumes behind [`tmp_and_data_mounts`].
pub fn tmp_and_data_volumes(ctx: &Context) -> Vec<Volume> {
    let mut volumes = vec![empty_dir("tmp")];
    if ctx.values.storage.enabled {
        volumes.push(data_volume(ctx));
    }
    volumes
}

/// The server's environment, plus `MLFLOW_TRACKING_USERNAME`/`PASSWORD` taken from the admin's
/// credentials when basic auth guards the server: `mlflow gc` deletes proxied artifacts through it.
pub fn with_tracking_credentials(mut env: Vec<EnvVar>) -> Vec<EnvVar> {
    let find = |name: &str| env.iter().find(|e| e.name == name).cloned();
    let user = find("MLFLOW_AUTH_ADMIN_USERNAME");
    let password = find("MLFLOW_AUTH_ADMIN_PASSWORD");
    if let (Some(user), Some(password)) = (user, password) {
        env.push(EnvVar { name: "MLFLOW_TRACKING_USERNAME".into(), ..user });
        env.push(EnvVar { name: "MLFLOW_TRACKING_PASSWORD".into(), ..password });
    }
    env
}

/// The pod of a run-once container (the GC CronJob's, the migration Job's): the release's pull
/// secrets and pod security context, no service links, never restarted in place.
pub fn run_once_pod(ctx: &Context, service_account: String, container: Container, volumes: Vec<Volume>) -> PodSpec {
    let values = ctx.values;
    PodSpec {
        service_account_name: Some(service_account),
        automount_service_account_token: Some(values.service_account.automount_service_account_token),
        enable_service_links: Some(false),
        restart_policy: Some("Never".into()),
        image_pull_secrets: non_empty_vec(&values.image_pull_secrets),
        security_context: ctx.pod_security_context(),
        containers: vec![container],
        volumes: Some(volumes),
        ..PodSpec::default()
    }
}
