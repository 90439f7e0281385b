//! A one-off `mlflow gc` Job made from an installed release's server pod: same image, store
//! settings, credentials and volumes, so it works on any release the plugins can find.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::lookup::Found;

/// What to collect, as `mlflow gc` takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub older_than: Option<String>,
    pub all_workspaces: bool,
    pub run_ids: Vec<String>,
    pub experiment_ids: Vec<String>,
}

impl Request {
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        args.extend(self.older_than.iter().map(|d| format!("--older-than={d}")));
        if self.all_workspaces {
            args.push("--all-workspaces".into());
        }
        if !self.run_ids.is_empty() {
            args.push(format!("--run-ids={}", self.run_ids.join(",")));
        }
        if !self.experiment_ids.is_empty() {
            args.push(format!("--experiment-ids={}", self.experiment_ids.join(",")));
        }
        args
    }
}

/// Why a Job cannot be made from a release.
pub type JobError = String;

pub fn job(found: &Found, release: &str, name: &str, request: &Request) -> Result<Job, JobError> {
    let deployment = &found.deployment;
    let namespace = deployment.metadata.namespace.clone().unwrap_or_default();
    let pod = deployment.spec.as_ref().and_then(|s| s.template.spec.clone()).ok_or("the Deployment has no pod template")?;
    let server = pod.containers.iter().find(|c| c.name == "mlflow").or(pod.containers.first()).ok_or("the Deployment has no container")?;
    let env = server.env.clone().unwrap_or_default();
    if !env.iter().any(|e| e.name == "MLFLOW_BACKEND_STORE_URI") {
        return Err(format!(
            "Deployment/{} sets no MLFLOW_BACKEND_STORE_URI, so the store to collect is unknown",
            deployment.metadata.name.clone().unwrap_or_default()
        ));
    }
    let mut command = vec![
        "mlflow".to_string(),
        "gc".to_string(),
        "--backend-store-uri=$(MLFLOW_BACKEND_STORE_URI)".to_string(),
        format!("--tracking-uri={}", tracking_uri(server, found.service.as_ref(), &namespace)?),
    ];
    command.extend(request.args());
    let container = Container {
        name: "gc".into(),
        image: server.image.clone(),
        image_pull_policy: server.image_pull_policy.clone(),
        command: Some(command),
        env: Some(gc_env(env)),
        env_from: server.env_from.clone(),
        security_context: server.security_context.clone(),
        volume_mounts: server.volume_mounts.clone(),
        ..Container::default()
    };
    let labels = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "mlflow".to_string()),
        ("app.kubernetes.io/instance".to_string(), release.to_string()),
        ("app.kubernetes.io/component".to_string(), "gc".to_string()),
    ]);
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

/// The server's environment, plus the admin's credentials when basic auth guards the server
/// (the GC deletes proxied artifacts through it).
fn gc_env(mut env: Vec<EnvVar>) -> Vec<EnvVar> {
    let find = |name: &str| env.iter().find(|e| e.name == name).cloned();
    let user = find("MLFLOW_AUTH_ADMIN_USERNAME");
    let password = find("MLFLOW_AUTH_ADMIN_PASSWORD");
    if let (Some(user), Some(password)) = (user, password) {
        env.push(EnvVar { name: "MLFLOW_TRACKING_USERNAME".into(), ..user });
        env.push(EnvVar { name: "MLFLOW_TRACKING_PASSWORD".into(), ..password });
    }
    env
}

/// `http(s)://<service>.<namespace>.svc.cluster.local:<port><static prefix>`.
fn tracking_uri(server: &Container, service: Option<&Service>, namespace: &str) -> Result<String, JobError> {
    let service = service.ok_or("the release has no Service to reach the server through")?;
    let port = service.spec.as_ref().and_then(|s| s.ports.as_ref()).and_then(|p| p.first()).ok_or("the Service has no port")?;
    let scheme = if port.name.as_deref() == Some("https") { "https" } else { "http" };
    let prefix = server
        .command
        .iter()
        .chain(server.args.iter())
        .flatten()
        .find_map(|a| a.strip_prefix("--static-prefix="))
        .unwrap_or("")
        .trim_end_matches('/');
    let name = service.metadata.name.clone().unwrap_or_default();
    Ok(format!("{scheme}://{name}.{namespace}.svc.cluster.local:{}{prefix}", port.port))
}
