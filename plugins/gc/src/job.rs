//! The one-off `mlflow gc` Job of a release: from its GC CronJob's job template when it has one
//! (as `kubectl create job --from=cronjob/…` makes it), otherwise from its server pod (same image,
//! store settings, credentials and volumes), so it works on any release the plugins can find.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kubectl_mlflow_core::cluster::lookup::Found;
use kubectl_mlflow_core::identity::{
    self, gc_command, Endpoint, GcRequest, GC_COMPONENT, GC_CONTAINER, GC_STORE_ENV, GC_STORE_VALUE, SERVER_CONTAINER,
};
use kubectl_mlflow_core::render::pod::with_tracking_credentials;

/// Why a Job cannot be made from a release.
pub type JobError = String;

/// The annotation `kubectl create job --from=cronjob/…` puts on the Jobs it makes.
pub const INSTANTIATE_ANNOTATION: &str = "cronjob.kubernetes.io/instantiate";

/// The Job running `mlflow gc` for `request`.
pub fn job(found: &Found, release: &str, name: &str, request: &GcRequest) -> Result<Job, JobError> {
    match &found.cron_job {
        Some(cron_job) => from_cron_job(found, cron_job, release, name, request),
        None => from_server_pod(found, release, name, request),
    }
}

/// The CronJob's job template with the requested flags: its labels and annotations, an owner
/// reference to the CronJob and `cronjob.kubernetes.io/instantiate: manual`.
fn from_cron_job(
    found: &Found,
    cron_job: &CronJob,
    release: &str,
    name: &str,
    request: &GcRequest,
) -> Result<Job, JobError> {
    let cron_name = cron_job.metadata.name.clone().unwrap_or_default();
    let template = cron_job
        .spec
        .as_ref()
        .map(|s| s.job_template.clone())
        .ok_or(format!("CronJob/{cron_name} has no job template"))?;
    let mut spec = template.spec.ok_or(format!("CronJob/{cron_name} has no job spec"))?;
    let pod = spec.template.spec.as_mut().ok_or(format!("CronJob/{cron_name} has no pod template"))?;
    let container = pod
        .containers
        .iter_mut()
        .find(|c| c.name == GC_CONTAINER)
        .ok_or(format!("CronJob/{cron_name} has no container named {GC_CONTAINER}"))?;
    let tracking_uri = match template_tracking_uri(container) {
        Some(uri) => uri,
        None => endpoint(&server_container(found)?, found.service.as_ref(), &namespace(found))?.tracking_uri(),
    };
    container.command = Some(gc_command(&tracking_uri, request));
    container.args = None;
    container.env = Some(with_gc_store_env(container.env.take().unwrap_or_default()));
    let mut meta = template.metadata.unwrap_or_default();
    let mut labels = meta.labels.take().unwrap_or_default();
    labels.extend(identity::labels(release, Some(GC_COMPONENT)));
    let mut annotations = meta.annotations.take().unwrap_or_default();
    annotations.insert(INSTANTIATE_ANNOTATION.into(), "manual".into());
    let owner = cron_job.metadata.uid.clone().map(|uid| OwnerReference {
        api_version: "batch/v1".into(),
        kind: "CronJob".into(),
        name: cron_name.clone(),
        uid,
        controller: Some(true),
        block_owner_deletion: Some(true),
    });
    Ok(Job {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace(found)),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: owner.map(|o| vec![o]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        ..Job::default()
    })
}

fn template_tracking_uri(container: &Container) -> Option<String> {
    container
        .command
        .iter()
        .chain(container.args.iter())
        .flatten()
        .find_map(|a| a.strip_prefix("--tracking-uri="))
        .map(str::to_string)
}

fn namespace(found: &Found) -> String {
    found.deployment.metadata.namespace.clone().unwrap_or_default()
}

fn server_container(found: &Found) -> Result<Container, JobError> {
    let pod = found
        .deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .ok_or("the Deployment has no pod template")?;
    let server = pod.containers.iter().find(|c| c.name == SERVER_CONTAINER).or(pod.containers.first());
    server.cloned().ok_or_else(|| "the Deployment has no container".into())
}

/// The Job with the server pod's image, store, credentials and volumes.
fn from_server_pod(found: &Found, release: &str, name: &str, request: &GcRequest) -> Result<Job, JobError> {
    let deployment = &found.deployment;
    let namespace = namespace(found);
    let pod =
        deployment.spec.as_ref().and_then(|s| s.template.spec.clone()).ok_or("the Deployment has no pod template")?;
    let server = server_container(found)?;
    let env = server.env.clone().unwrap_or_default();
    if !env.iter().any(|e| e.name == "MLFLOW_BACKEND_STORE_URI") {
        return Err(format!(
            "Deployment/{} sets no MLFLOW_BACKEND_STORE_URI, so the store to collect is unknown",
            deployment.metadata.name.clone().unwrap_or_default()
        ));
    }
    if let Some(problem) = store_in_an_empty_dir(&pod, &server, &env) {
        return Err(problem);
    }
    let command = gc_command(&endpoint(&server, found.service.as_ref(), &namespace)?.tracking_uri(), request);
    let container = Container {
        name: GC_CONTAINER.into(),
        image: server.image.clone(),
        image_pull_policy: server.image_pull_policy.clone(),
        command: Some(command),
        env: Some(with_gc_store_env(with_tracking_credentials(env))),
        env_from: server.env_from.clone(),
        security_context: server.security_context.clone(),
        volume_mounts: server.volume_mounts.clone(),
        ..Container::default()
    };
    let labels = identity::labels(release, Some(GC_COMPONENT));
    let spec = PodSpec {
        containers: vec![container],
        restart_policy: Some("Never".into()),
        enable_service_links: Some(false),
        init_containers: None,
        ..pod
    };
    Ok(Job {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            ttl_seconds_after_finished: Some(3600),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }),
                spec: Some(spec),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    })
}

/// A store in one of the server pod's emptyDirs (its /tmp) is that pod's own: the Job's pod gets
/// an empty directory there, and `mlflow gc` would collect a fresh, empty store.
fn store_in_an_empty_dir(pod: &PodSpec, server: &Container, env: &[EnvVar]) -> Option<String> {
    use kubectl_mlflow_core::local_paths::{is_under, local_path};
    let uri = env.iter().find(|e| e.name == "MLFLOW_BACKEND_STORE_URI")?.value.clone()?;
    let path = local_path(&uri)?;
    let empty_dirs: Vec<&str> =
        pod.volumes.iter().flatten().filter(|v| v.empty_dir.is_some()).map(|v| v.name.as_str()).collect();
    let mount = server
        .volume_mounts
        .iter()
        .flatten()
        .filter(|m| empty_dirs.contains(&m.name.as_str()))
        .map(|m| m.mount_path.clone())
        .find(|m| is_under(&path, std::slice::from_ref(m)))?;
    Some(format!(
        "its backend store {path} is in the server pod's emptyDir ({mount}), which a Job's pod does not share: mlflow gc would collect an empty store (put the store on a volume: storage.enabled: true and a path under storage.mountPath)"
    ))
}

/// The env with the store variables of `mlflow gc` last (they refer to MLFLOW_BACKEND_STORE_URI,
/// which must come before them); older CronJobs passed the store in the arguments instead.
fn with_gc_store_env(mut env: Vec<EnvVar>) -> Vec<EnvVar> {
    env.retain(|e| !GC_STORE_ENV.contains(&e.name.as_str()));
    env.extend(GC_STORE_ENV.iter().map(|name| EnvVar {
        name: (*name).into(),
        value: Some(GC_STORE_VALUE.into()),
        value_from: None,
    }));
    env
}

/// The claims the Job's pod mounts.
pub fn claims(job: &Job) -> Vec<String> {
    let pod = job.spec.as_ref().and_then(|s| s.template.spec.as_ref());
    let volumes = pod.and_then(|p| p.volumes.as_ref()).into_iter().flatten();
    volumes.filter_map(|v| v.persistent_volume_claim.as_ref()).map(|c| c.claim_name.clone()).collect()
}

/// The labels that select the release's server pods (the Deployment's selector).
pub fn server_pod_selector(found: &Found) -> String {
    let labels: BTreeMap<String, String> =
        found.deployment.spec.as_ref().and_then(|s| s.selector.match_labels.clone()).unwrap_or_default();
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// Where the server listens, from its Service (scheme from the port's name) and its
/// `--static-prefix`.
fn endpoint(server: &Container, service: Option<&Service>, namespace: &str) -> Result<Endpoint, JobError> {
    let service = service.ok_or("the release has no Service to reach the server through")?;
    let port = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .and_then(|p| p.first())
        .ok_or("the Service has no port")?;
    let scheme = if port.name.as_deref() == Some("https") { "https" } else { "http" };
    let prefix = server
        .command
        .iter()
        .chain(server.args.iter())
        .flatten()
        .find_map(|a| a.strip_prefix("--static-prefix="))
        .unwrap_or("");
    let name = service.metadata.name.clone().unwrap_or_default();
    Ok(Endpoint::new(scheme, &name, namespace, port.port, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_variables_follow_the_store_uri_once() {
        let env = vec![
            EnvVar { name: "MLFLOW_TRACKING_URI".into(), value: Some("x".into()), value_from: None },
            EnvVar { name: "MLFLOW_BACKEND_STORE_URI".into(), value: Some("sqlite:///a".into()), value_from: None },
        ];
        let names: Vec<_> = with_gc_store_env(env).into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["MLFLOW_BACKEND_STORE_URI", "MLFLOW_TRACKING_URI", "MLFLOW_WORKSPACE_STORE_URI"]);
    }
}
