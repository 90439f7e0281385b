//! Finding a release a command names: the lookup by its labels, and when it is not there, an
//! error that lists the releases that are (in the namespace and elsewhere).

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ListParams};
use kube::Client;
use kubectl_mlflow_model::identity::{APP, INSTANCE_LABEL, NAME_LABEL};
use kubectl_mlflow_model::Failure;

use super::lookup::{self, Found};
use super::Session;

/// The release `release` in the session's namespace; not found, an input error naming the
/// releases there and in other namespaces.
pub async fn find(session: &Session, release: &str) -> Result<Found, Failure> {
    match lookup::in_session(session, release).await {
        Err(Failure::Input(_)) => Err(Failure::input(not_found(&session.client, &session.namespace, release).await)),
        other => other,
    }
}

/// The releases of MLflow Deployments (`app.kubernetes.io/name=mlflow`, by their instance label)
/// in `namespace`, or in every namespace for `None`, as (namespace, release). Empty when listing
/// is not allowed: it only improves a message.
pub async fn releases(client: &Client, namespace: Option<&str>) -> BTreeSet<(String, String)> {
    let api: Api<Deployment> = match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    let Ok(list) = api.list_metadata(&ListParams::default().labels(&format!("{NAME_LABEL}={APP}"))).await else {
        return BTreeSet::new();
    };
    list.items
        .into_iter()
        .filter_map(|d| {
            let release = d.metadata.labels.as_ref()?.get(INSTANCE_LABEL)?.clone();
            Some((d.metadata.namespace.unwrap_or_default(), release))
        })
        .collect()
}

/// Why `release` is not in `namespace`: the releases that are there, and those of other
/// namespaces, with the fix.
pub async fn not_found(client: &Client, namespace: &str, release: &str) -> String {
    let (here, everywhere) = futures::join!(releases(client, Some(namespace)), releases(client, None));
    let here: Vec<String> = here.into_iter().map(|(_, name)| name).collect();
    let elsewhere: Vec<String> = everywhere
        .into_iter()
        .filter(|(ns, _)| ns != namespace)
        .map(|(ns, name)| format!("{name} (-n {ns})"))
        .collect();
    let mut message = format!("release {release} not found in namespace {namespace}");
    match here.is_empty() {
        true => message.push_str(": no MLflow release there"),
        false => message.push_str(&format!("; releases there: {}", here.join(", "))),
    }
    if !elsewhere.is_empty() {
        message.push_str(&format!("; in other namespaces: {}", elsewhere.join(", ")));
    }
    message.push_str(" (name the release as the first argument, and its namespace with -n)");
    message
}
