//! Finding an installed release by its labels (the release identity's selector), so the plugins work on releases of the native engine,
//! of helm with this chart, and of the official MLflow chart alike.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams};
use kube::Client;
use serde_json::Value;

use kubectl_mlflow_model::identity::{self, COMPONENT_LABEL, GC_COMPONENT, NAME_LABEL, SERVER_COMPONENT};
use kubectl_mlflow_model::Failure;

use super::{describe, Session};

/// The server's Deployment and Service of a release, and its GC CronJob if it has one.
#[derive(Debug, Clone)]
pub struct Found {
    pub deployment: Deployment,
    pub service: Option<Service>,
    pub cron_job: Option<CronJob>,
}

/// The selector of a release's objects.
pub fn selector(release: &str) -> String {
    identity::selector(release, None)
}

/// Looks the release up in the session's namespace.
pub async fn in_session(session: &Session, release: &str) -> Result<Found, Failure> {
    in_cluster(&session.client, &session.namespace, release).await
}

/// Looks the release up in a namespace of the cluster.
pub async fn in_cluster(client: &Client, namespace: &str, release: &str) -> Result<Found, Failure> {
    let params = ListParams::default().labels(&selector(release));
    let deployments = Api::<Deployment>::namespaced(client.clone(), namespace).list(&params).await.map_err(|err| {
        Failure::failed(format!("cannot list Deployments in namespace {namespace}: {}", describe(&err)))
    })?;
    let services = Api::<Service>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .map_err(|err| Failure::failed(format!("cannot list Services in namespace {namespace}: {}", describe(&err))))?;
    let cron_jobs = Api::<CronJob>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(&identity::selector(release, Some(GC_COMPONENT))))
        .await
        .map_err(|err| Failure::failed(format!("cannot list CronJobs in namespace {namespace}: {}", describe(&err))))?;
    let mut found = pick(deployments.items, services.items, release, &format!("namespace {namespace}"))?;
    found.cron_job = cron_jobs.items.into_iter().next();
    Ok(found)
}

/// Looks the release up in rendered objects (a YAML stream or a JSON `List`, as
/// `kubectl mlflow install --dry-run` prints them).
pub fn in_manifests(text: &str, release: &str, source: &str) -> Result<Found, Failure> {
    let items = parse_manifests(text).map_err(|message| Failure::input(format!("{source}: {message}")))?;
    let of_release = |item: &Value| {
        let labels = item.pointer("/metadata/labels");
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str).map(str::to_string);
        identity::is_of_release(&label, release)
    };
    let deployments = typed(&items, "Deployment", &of_release);
    let services = typed(&items, "Service", &of_release);
    let cron_jobs: Vec<CronJob> = typed(&items, "CronJob", &of_release);
    let mut found = pick(deployments, services, release, source)?;
    found.cron_job = cron_jobs.into_iter().next();
    Ok(found)
}

fn typed<T: serde::de::DeserializeOwned>(items: &[Value], kind: &str, keep: &dyn Fn(&Value) -> bool) -> Vec<T> {
    items
        .iter()
        .filter(|item| item["kind"] == kind && keep(item))
        // From text, as kube reads API responses: one deserializer, so the large typed visitors
        // (PodSpec, Volume, ...) are compiled once, not once more for serde_json::Value.
        .filter_map(|item| serde_json::from_str(&item.to_string()).ok())
        .collect()
}

fn parse_manifests(text: &str) -> Result<Vec<Value>, String> {
    if text.trim_start().starts_with('{') {
        let list: Value = serde_json::from_str(text).map_err(|err| format!("not valid JSON: {err}"))?;
        return Ok(match list.get("items") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![list],
        });
    }
    let mut items = Vec::new();
    for document in text.split("\n---").map(|d| d.trim_start_matches("---")) {
        if document.trim().is_empty() {
            continue;
        }
        let value = kubectl_mlflow_model::yaml::parse(document).map_err(|p| p.message)?;
        if value.as_object().is_some_and(|o| !o.is_empty()) {
            items.push(value);
        }
    }
    Ok(items)
}

/// The server's Deployment: ours carry `component: server`; the official chart's carry none.
fn pick(deployments: Vec<Deployment>, services: Vec<Service>, release: &str, place: &str) -> Result<Found, Failure> {
    let component = |labels: &Option<std::collections::BTreeMap<String, String>>| {
        labels.as_ref().and_then(|l| l.get(COMPONENT_LABEL)).cloned()
    };
    let is_server = |c: Option<String>| c.is_none() || c.as_deref() == Some(SERVER_COMPONENT);
    let deployment = deployments.into_iter().find(|d| is_server(component(&d.metadata.labels))).ok_or_else(|| {
        Failure::input(format!(
            "release {release} not found in {place}: no Deployment labelled {} (see kubectl get deployments -A -l {NAME_LABEL}={})",
            selector(release),
            identity::APP
        ))
    })?;
    let service = services.into_iter().find(|s| is_server(component(&s.metadata.labels)));
    Ok(Found { deployment, service, cron_job: None })
}
