//! The one-off `mlflow gc` Job made from an installed release's server pod: same image, store
//! settings, credentials and volumes, so it works on any release the plugins can find.

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kubectl_mlflow_core::cluster::lookup::Found;
use kubectl_mlflow_core::identity::{self, gc_command, Endpoint, GcRequest, GC_COMPONENT, GC_CONTAINER, SERVER_CONTAINER};
use kubectl_mlflow_core::render::pod::with_tracking_credentials;

/// Why a Job cannot be made from a release.
pub type JobError = String;

/// The Job running `mlflow gc` with the server pod's image, store, credentials and volumes.
pub fn job(found: &Found, release: &str, name: &str, request: &GcRequest) -> Result<Job, JobError> {
    let deployment = &found.deployment;
    let namespace = deployment.metadata.namespace.clone().unwrap_or_default();
    let pod = deployment.spec.as_ref().and_then(|s| s.template.spec.clone()).ok_or("the Deployment has no pod template")?;
    let server = pod.containers.iter().find(|c| c.name == SERVER_CONTAINER).or(pod.containers.first()).ok_or("the Deployment has no container")?;
    let env = server.env.clone().unwrap_or_default();
    if !env.iter().any(|e| e.name == "MLFLOW_BACKEND_STORE_URI") {
        return Err(format!(
            "Deployment/{} sets no MLFLOW_BACKEND_STORE_URI, so the store to collect is unknown",
            deployment.metadata.name.clone().unwrap_or_default()
        ));
    }
    let command = gc_command(&endpoint(server, found.service.as_ref(), &namespace)?.tracking_uri(), request);
    let container = Container {
        name: GC_CONTAINER.into(),
        image: server.image.clone(),
        image_pull_policy: server.image_pull_policy.clone(),
        command: Some(command),
        env: Some(with_tracking_credentials(env)),
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

/// Where the server listens, from its Service (scheme from the port's name) and its
/// `--static-prefix`.
fn endpoint(server: &Container, service: Option<&Service>, namespace: &str) -> Result<Endpoint, JobError> {
    let service = service.ok_or("the release has no Service to reach the server through")?;
    let port = service.spec.as_ref().and_then(|s| s.ports.as_ref()).and_then(|p| p.first()).ok_or("the Service has no port")?;
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
