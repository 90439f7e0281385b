//! The kinds a release is made of, with what the API needs to address them. Static, so that
//! applying and pruning need no discovery round trips.

use kube::core::{ApiResource, GroupVersionKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// Apply wave: objects of a wave go in parallel, waves in order (accounts, storage and the
    /// Service before the workloads that use them, as helm orders them; bindings after their
    /// roles; the workloads before what routes to them).
    pub wave: u8,
}

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    wave: u8,
) -> Kind {
    Kind { group, version, kind, plural, namespaced, wave }
}

pub const KINDS: [Kind; 20] = [
    kind("", "v1", "ServiceAccount", "serviceaccounts", true, 0),
    kind("", "v1", "ConfigMap", "configmaps", true, 0),
    kind("", "v1", "Secret", "secrets", true, 0),
    kind("rbac.authorization.k8s.io", "v1", "Role", "roles", true, 0),
    kind("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false, 0),
    kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, 0),
    kind("", "v1", "Service", "services", true, 0),
    // Applied at the apiVersion of externalSecrets.apiVersion (Applier::member_api).
    kind("external-secrets.io", "v1", "SecretStore", "secretstores", true, 0),
    kind("external-secrets.io", "v1", "ExternalSecret", "externalsecrets", true, 1),
    kind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true, 1),
    kind("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false, 1),
    kind("apps", "v1", "Deployment", "deployments", true, 2),
    kind("batch", "v1", "CronJob", "cronjobs", true, 2),
    kind("batch", "v1", "Job", "jobs", true, 2),
    kind("networking.k8s.io", "v1", "Ingress", "ingresses", true, 3),
    kind("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, 3),
    kind("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, 3),
    kind("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, 3),
    kind("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", true, 3),
    kind("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes", true, 3),
];

impl Kind {
    pub fn named(name: &str) -> Option<Kind> {
        KINDS.iter().copied().find(|k| k.kind == name)
    }

    /// From a `Kind.group` as the ApplySet annotation writes it.
    pub fn from_group_kind(group_kind: &str) -> Option<Kind> {
        KINDS.iter().copied().find(|k| k.group_kind() == group_kind)
    }

    /// `Deployment.apps`; a core kind is just `Service`.
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    pub fn api_resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(self.group, self.version, self.kind), self.plural)
    }

    /// `deployments.apps`, as kubectl and access reviews name resources.
    pub fn resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}
