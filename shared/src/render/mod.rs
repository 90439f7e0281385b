//! The native renderer: values in, typed Kubernetes objects out — the same objects the chart's
//! templates make (`docs/objects.md` describes both; the parity test holds them equal).

mod accounts;
mod auth;
mod deployment;
mod gc;
mod hosts;
mod ingress;
mod labels;
mod monitoring;
mod network_policy;
mod object;
mod service;
mod storage;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use hosts::allowed_hosts;
pub use labels::MANAGED_BY;
pub use object::Object;

use crate::names;
use crate::values::Values;

/// The chart's appVersion: the MLflow version the image tag defaults to.
pub const APP_VERSION: &str = "3.17.2";

/// What a release is: its name and namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub name: String,
    pub namespace: String,
}

/// Everything the object functions share, computed once.
pub struct Context<'a> {
    pub values: &'a Values,
    pub release: &'a Release,
    pub fullname: String,
    pub port: i32,
}

impl<'a> Context<'a> {
    pub fn new(values: &'a Values, release: &'a Release) -> Self {
        Context { values, release, fullname: names::fullname(values, &release.name), port: values.port() }
    }

    /// The container and Service port's name.
    pub fn port_name(&self) -> &'static str {
        if self.values.tls.enabled {
            "https"
        } else {
            "http"
        }
    }

    pub fn scheme(&self) -> &'static str {
        self.port_name()
    }

    /// `server.staticPrefix` without a trailing `/`.
    pub fn prefix(&self) -> &str {
        self.values.server.static_prefix.trim_end_matches('/')
    }

    pub fn image(&self) -> String {
        let image = &self.values.image;
        let tag = if image.tag.is_empty() { format!("v{APP_VERSION}") } else { image.tag.clone() };
        format!("{}:{tag}", image.repository)
    }

    pub fn service_account(&self) -> String {
        names::service_account(self.values, &self.release.name)
    }

    /// The in-cluster DNS name of the Service.
    pub fn service_host(&self) -> String {
        format!("{}.{}.svc.cluster.local", self.fullname, self.release.namespace)
    }

    /// Metadata of a namespaced object of this release.
    pub fn meta(&self, name: impl Into<String>, component: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(self.release.namespace.clone()),
            labels: Some(labels::common(self, component)),
            ..ObjectMeta::default()
        }
    }

    /// Metadata of a cluster-scoped object of this release.
    pub fn cluster_meta(&self, name: impl Into<String>) -> ObjectMeta {
        ObjectMeta { namespace: None, ..self.meta(name, None) }
    }
}

/// What rendering made: the objects in apply order, and notes for the user.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub objects: Vec<Object>,
    pub notes: Vec<String>,
}

/// Renders a release. The values must have passed [`crate::validate::check`].
pub fn render(values: &Values, release: &Release) -> Rendered {
    let ctx = Context::new(values, release);
    let mut objects = Vec::new();
    objects.extend(accounts::service_account(&ctx).map(Object::ServiceAccount));
    objects.extend(auth::config_map(&ctx).map(Object::ConfigMap));
    if let Some((role, binding)) = accounts::role(&ctx) {
        objects.extend([Object::Role(role), Object::RoleBinding(binding)]);
    }
    if let Some((role, binding)) = accounts::cluster_role(&ctx) {
        objects.extend([Object::ClusterRole(role), Object::ClusterRoleBinding(binding)]);
    }
    objects.extend(storage::persistent_volume_claim(&ctx).map(Object::PersistentVolumeClaim));
    objects.push(Object::Service(service::service(&ctx)));
    objects.push(Object::Deployment(deployment::deployment(&ctx)));
    objects.extend(ingress::ingress(&ctx).map(Object::Ingress));
    objects.extend(network_policy::network_policy(&ctx).map(Object::NetworkPolicy));
    objects.extend(gc::cron_job(&ctx).map(Object::CronJob));
    objects.extend(monitoring::service_monitor(&ctx).map(Object::ServiceMonitor));
    Rendered { objects, notes: hosts::notes(&ctx) }
}

/// `Some(map)` unless the map is empty: the chart leaves empty maps out.
pub(crate) fn non_empty<K, V>(map: &BTreeMap<K, V>) -> Option<BTreeMap<K, V>>
where
    K: Clone + Ord,
    V: Clone,
{
    (!map.is_empty()).then(|| map.clone())
}

/// `Some(list)` unless the list is empty.
pub(crate) fn non_empty_vec<T: Clone>(list: &[T]) -> Option<Vec<T>> {
    (!list.is_empty()).then(|| list.to_vec())
}
