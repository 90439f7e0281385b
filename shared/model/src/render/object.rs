//! One rendered object, typed.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube_core::DynamicObject;
use serde_json::Value;

pub use super::extra::Extra;

/// A Kubernetes object of a release. (A render makes a dozen; boxing the large variants would
/// only add noise.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Object {
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    Secret(Secret),
    Role(Role),
    RoleBinding(RoleBinding),
    ClusterRole(ClusterRole),
    ClusterRoleBinding(ClusterRoleBinding),
    PersistentVolumeClaim(PersistentVolumeClaim),
    Service(Service),
    Deployment(Deployment),
    Ingress(Ingress),
    NetworkPolicy(NetworkPolicy),
    PodDisruptionBudget(PodDisruptionBudget),
    CronJob(CronJob),
    /// The migration Job (a helm hook in the chart).
    Job(Job),
    /// monitoring.coreos.com/v1: no k8s-openapi type exists for a CRD's objects.
    ServiceMonitor(DynamicObject),
    /// gateway.networking.k8s.io/v1, a CRD too.
    HttpRoute(DynamicObject),
    /// external-secrets.io (`externalSecrets.apiVersion`), CRDs of the External Secrets Operator.
    SecretStore(DynamicObject),
    ExternalSecret(DynamicObject),
    /// autoscaling/v2, of the server Deployment.
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    /// One of `extraObjects`: any kind, as given.
    Extra(Extra),
}

impl Object {
    /// The object as JSON, with apiVersion and kind.
    pub fn to_json(&self) -> Value {
        let json = match self {
            Object::ServiceAccount(o) => serde_json::to_value(o),
            Object::ConfigMap(o) => serde_json::to_value(o),
            Object::Secret(o) => serde_json::to_value(o),
            Object::Role(o) => serde_json::to_value(o),
            Object::RoleBinding(o) => serde_json::to_value(o),
            Object::ClusterRole(o) => serde_json::to_value(o),
            Object::ClusterRoleBinding(o) => serde_json::to_value(o),
            Object::PersistentVolumeClaim(o) => serde_json::to_value(o),
            Object::Service(o) => serde_json::to_value(o),
            Object::Deployment(o) => serde_json::to_value(o),
            Object::Ingress(o) => serde_json::to_value(o),
            Object::NetworkPolicy(o) => serde_json::to_value(o),
            Object::PodDisruptionBudget(o) => serde_json::to_value(o),
            Object::CronJob(o) => serde_json::to_value(o),
            Object::Job(o) => serde_json::to_value(o),
            Object::ServiceMonitor(o) => serde_json::to_value(o),
            Object::HttpRoute(o) => serde_json::to_value(o),
            Object::SecretStore(o) | Object::ExternalSecret(o) => serde_json::to_value(o),
            Object::HorizontalPodAutoscaler(o) => serde_json::to_value(o),
            Object::Extra(o) => serde_json::to_value(&o.object),
        };
        json.expect("Kubernetes objects serialize to JSON")
    }

    pub fn kind(&self) -> &str {
        match self {
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::ConfigMap(_) => "ConfigMap",
            Object::Secret(_) => "Secret",
            Object::Role(_) => "Role",
            Object::RoleBinding(_) => "RoleBinding",
            Object::ClusterRole(_) => "ClusterRole",
            Object::ClusterRoleBinding(_) => "ClusterRoleBinding",
            Object::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
            Object::Service(_) => "Service",
            Object::Deployment(_) => "Deployment",
            Object::Ingress(_) => "Ingress",
            Object::NetworkPolicy(_) => "NetworkPolicy",
            Object::PodDisruptionBudget(_) => "PodDisruptionBudget",
            Object::CronJob(_) => "CronJob",
            Object::Job(_) => "Job",
            Object::ServiceMonitor(_) => "ServiceMonitor",
            Object::HttpRoute(_) => "HTTPRoute",
            Object::SecretStore(_) => "SecretStore",
            Object::ExternalSecret(_) => "ExternalSecret",
            Object::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
            Object::Extra(o) => o.kind(),
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::ServiceAccount(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
            Object::Role(o) => &o.metadata,
            Object::RoleBinding(o) => &o.metadata,
            Object::ClusterRole(o) => &o.metadata,
            Object::ClusterRoleBinding(o) => &o.metadata,
            Object::PersistentVolumeClaim(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
            Object::PodDisruptionBudget(o) => &o.metadata,
            Object::CronJob(o) => &o.metadata,
            Object::Job(o) => &o.metadata,
            Object::ServiceMonitor(o) | Object::HttpRoute(o) | Object::SecretStore(o) | Object::ExternalSecret(o) => {
                &o.metadata
            }
            Object::HorizontalPodAutoscaler(o) => &o.metadata,
            Object::Extra(o) => &o.object.metadata,
        }
    }

    /// `kind/name`, as kubectl names objects in messages.
    pub fn describe(&self) -> String {
        format!("{}/{}", self.kind(), self.metadata().name.as_deref().unwrap_or(""))
    }
}

/// Serializes as [`Object::to_json`] does, so printers can take any `Serialize`.
impl serde::Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}
