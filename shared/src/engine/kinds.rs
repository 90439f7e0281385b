//! The kinds a release is made of, with what the API needs to address them. The chart's are
//! static, so that applying and pruning need no discovery round trips; the kinds of
//! `extraObjects` are found by discovery ([`super::discovery`]) and registered here.

use std::collections::BTreeSet;
use std::sync::Mutex;

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

/// The apply wave of the kinds of extra objects: with the accounts, storage and the Service,
/// before the workloads that may use them (a ConfigMap the server mounts).
pub const EXTRA_WAVE: u8 = 0;

/// Kinds discovery found for extra objects, in this process.
static DISCOVERED: Mutex<Vec<Kind>> = Mutex::new(Vec::new());

/// The names of discovered kinds live as long as the process, as the static ones do, so that a
/// `Kind` stays `Copy`: each distinct name is leaked once (a run meets a handful).
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

fn discovered() -> Vec<Kind> {
    DISCOVERED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
}

impl Kind {
    pub fn named(name: &str) -> Option<Kind> {
        KINDS.iter().copied().find(|k| k.kind == name)
    }

    /// From a `Kind.group` as the ApplySet annotation writes it: a kind of the chart, or one
    /// discovery registered.
    pub fn from_group_kind(group_kind: &str) -> Option<Kind> {
        KINDS.iter().copied().chain(discovered()).find(|k| k.group_kind() == group_kind)
    }

    /// A kind of the chart's, or one discovery registered, by its group and kind.
    pub fn of(group: &str, kind: &str) -> Option<Kind> {
        KINDS.iter().copied().chain(discovered()).find(|k| k.group == group && k.kind == kind)
    }

    /// Records a kind discovery found (a kind of the chart's stays as the table has it).
    pub fn register(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Kind {
        if let Some(known) = Kind::of(group, kind) {
            return known;
        }
        let found = Kind {
            group: intern(group),
            version: intern(version),
            kind: intern(kind),
            plural: intern(plural),
            namespaced,
            wave: EXTRA_WAVE,
        };
        DISCOVERED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(found);
        found
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

/// The kind of a rendered object: the chart's, or for an extra object the one discovery
/// registered ([`super::discovery::extra_kinds`] runs before anything is applied).
pub fn of_object(object: &crate::render::Object) -> Option<Kind> {
    match object {
        crate::render::Object::Extra(extra) => Kind::of(extra.group(), extra.kind()),
        other => Kind::named(other.kind()),
    }
}
