//! The release identity: what a release is called, how its objects and pods are found, and where
//! its server listens. Render, wait, lookup, gc (and every later plugin) ask this module, so the
//! labels, names and URLs are spelt once.

use std::collections::BTreeMap;

use crate::names;
use crate::values::Values;

/// `app.kubernetes.io/name`: the app every release's objects carry (this chart's and the
/// official MLflow chart's alike).
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/instance`: the release name.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// `app.kubernetes.io/component`: `server` or `gc` on the workloads.
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// `app.kubernetes.io/managed-by`.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// `app.kubernetes.io/created-by`: on the Secrets `kubectl mlflow secrets` makes, with the value
/// [`SECRETS_CREATOR`] (uninstall keeps them unless asked).
pub const CREATED_BY_LABEL: &str = "app.kubernetes.io/created-by";
/// The value of [`CREATED_BY_LABEL`] on the Secrets `kubectl mlflow secrets` makes.
pub const SECRETS_CREATOR: &str = "kubectl-mlflow-secrets";
/// The value of [`NAME_LABEL`].
pub const APP: &str = "mlflow";
/// The component of the tracking server's Deployment, Service and pods.
pub const SERVER_COMPONENT: &str = "server";
/// The component of the garbage-collection CronJob and Jobs.
pub const GC_COMPONENT: &str = "gc";
/// The component of the migration Job (`mlflow db upgrade`).
pub const MIGRATE_COMPONENT: &str = "migrate";
/// The name of the `mlflow db upgrade` container.
pub const MIGRATE_CONTAINER: &str = "migrate";
/// The name of the server's container in the pod.
pub const SERVER_CONTAINER: &str = "mlflow";
/// The name of the `mlflow gc` container (CronJob and one-off Job).
pub const GC_CONTAINER: &str = "gc";

pub type Labels = BTreeMap<String, String>;

/// The labels that find a release's objects: name, instance and, when given, component.
pub fn labels(release: &str, component: Option<&str>) -> Labels {
    let mut labels =
        Labels::from([(NAME_LABEL.to_string(), APP.to_string()), (INSTANCE_LABEL.to_string(), release.to_string())]);
    if let Some(component) = component {
        labels.insert(COMPONENT_LABEL.into(), component.into());
    }
    labels
}

/// [`labels`] as a label selector: `app.kubernetes.io/name=mlflow,app.kubernetes.io/instance=<release>`.
pub fn selector(release: &str, component: Option<&str>) -> String {
    let mut parts = vec![format!("{NAME_LABEL}={APP}"), format!("{INSTANCE_LABEL}={release}")];
    parts.extend(component.map(|c| format!("{COMPONENT_LABEL}={c}")));
    parts.join(",")
}

/// Whether an object's labels mark it as part of `release`.
pub fn is_of_release(labels: &dyn Fn(&str) -> Option<String>, release: &str) -> bool {
    labels(NAME_LABEL).as_deref() == Some(APP) && labels(INSTANCE_LABEL).as_deref() == Some(release)
}

/// The parent Secret of a natively installed release (its ApplySet parent, holding the values).
pub fn parent_secret_name(release: &str) -> String {
    format!("kubectl-mlflow.release.{release}")
}

/// Where a server listens, as seen from inside the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https` (also the name of the Service's port).
    pub scheme: String,
    /// The in-cluster host: `<service>.<namespace>.svc.cluster.local`.
    pub host: String,
    /// The Service's port.
    pub port: i32,
    /// The static prefix without a trailing `/` (empty for none).
    pub prefix: String,
}

impl Endpoint {
    pub fn new(scheme: &str, service: &str, namespace: &str, port: i32, prefix: &str) -> Self {
        Endpoint {
            scheme: scheme.into(),
            host: format!("{service}.{namespace}.svc.cluster.local"),
            port,
            prefix: prefix.trim_end_matches('/').into(),
        }
    }

    /// The URL an in-cluster client (the GC job) reaches the server at.
    pub fn tracking_uri(&self) -> String {
        format!("{}://{}:{}{}", self.scheme, self.host, self.port, self.prefix)
    }
}

/// The release identity of rendered values: names, labels, the server's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub release: String,
    pub namespace: String,
    /// `<release>-mlflow` (or `fullnameOverride`): the Deployment, Service, PVC name.
    pub fullname: String,
    pub endpoint: Endpoint,
}

impl Identity {
    pub fn of(values: &Values, release: &str, namespace: &str) -> Self {
        let fullname = names::fullname(values, release);
        let scheme = if values.tls.enabled { "https" } else { "http" };
        let endpoint = Endpoint::new(scheme, &fullname, namespace, values.service_port(), &values.server.static_prefix);
        Identity { release: release.into(), namespace: namespace.into(), fullname, endpoint }
    }

    pub fn labels(&self, component: Option<&str>) -> Labels {
        labels(&self.release, component)
    }

    pub fn selector(&self, component: Option<&str>) -> String {
        selector(&self.release, component)
    }

    pub fn parent_secret_name(&self) -> String {
        parent_secret_name(&self.release)
    }
}

/// What `mlflow gc` should collect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcRequest {
    /// `#d#h#m#s`, empty for everything soft-deleted.
    pub older_than: String,
    pub all_workspaces: bool,
    pub run_ids: Vec<String>,
    pub experiment_ids: Vec<String>,
    pub logged_model_ids: Vec<String>,
    /// `--jobs`: also delete finished job records (database stores only).
    pub jobs: bool,
}

/// The variables through which `mlflow gc` finds the store, each `$(MLFLOW_BACKEND_STORE_URI)`
/// (expanded by the kubelet, so the URI stays out of the argument list). `mlflow gc` has no
/// variable of its own for the store: without `--backend-store-uri` it opens the store at
/// MLFLOW_TRACKING_URI before it switches to `--tracking-uri`; `--all-workspaces` lists the
/// workspaces of MLFLOW_WORKSPACE_STORE_URI. Both must follow MLFLOW_BACKEND_STORE_URI in `env`.
pub const GC_STORE_ENV: [&str; 2] = ["MLFLOW_TRACKING_URI", "MLFLOW_WORKSPACE_STORE_URI"];
/// The value of each [`GC_STORE_ENV`] variable.
pub const GC_STORE_VALUE: &str = "$(MLFLOW_BACKEND_STORE_URI)";

/// The `mlflow gc` command line of the CronJob and the one-off Job. The store comes from the
/// environment ([`GC_STORE_ENV`]), never the arguments; `mlflow gc` reaches the server at
/// `tracking_uri` to delete proxied artifacts.
pub fn gc_command(tracking_uri: &str, request: &GcRequest) -> Vec<String> {
    let mut command = vec!["mlflow".to_string(), "gc".to_string(), format!("--tracking-uri={tracking_uri}")];
    if !request.older_than.is_empty() {
        command.push(format!("--older-than={}", request.older_than));
    }
    if request.all_workspaces {
        command.push("--all-workspaces".into());
    }
    if !request.run_ids.is_empty() {
        command.push(format!("--run-ids={}", request.run_ids.join(",")));
    }
    if !request.experiment_ids.is_empty() {
        command.push(format!("--experiment-ids={}", request.experiment_ids.join(",")));
    }
    if !request.logged_model_ids.is_empty() {
        command.push(format!("--logged-model-ids={}", request.logged_model_ids.join(",")));
    }
    if request.jobs {
        command.push("--jobs".into());
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_spells_the_labels() {
        assert_eq!(selector("r", None), "app.kubernetes.io/name=mlflow,app.kubernetes.io/instance=r");
        assert_eq!(
            selector("r", Some("server")),
            "app.kubernetes.io/name=mlflow,app.kubernetes.io/instance=r,app.kubernetes.io/component=server"
        );
        assert_eq!(labels("r", Some("gc")).len(), 3);
    }

    #[test]
    fn tracking_uri_has_no_trailing_slash() {
        let endpoint = Endpoint::new("https", "m-mlflow", "ns", 5000, "/mlflow/");
        assert_eq!(endpoint.tracking_uri(), "https://m-mlflow.ns.svc.cluster.local:5000/mlflow");
    }

    #[test]
    fn gc_command_lists_only_what_is_asked() {
        let request = GcRequest {
            older_than: "30d".into(),
            run_ids: vec!["a".into(), "b".into()],
            logged_model_ids: vec!["m-1".into()],
            jobs: true,
            ..GcRequest::default()
        };
        let command = gc_command("http://h:1", &request);
        assert_eq!(
            command[2..],
            ["--tracking-uri=http://h:1", "--older-than=30d", "--run-ids=a,b", "--logged-model-ids=m-1", "--jobs"]
        );
    }
}
