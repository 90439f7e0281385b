//! The chart's values as Rust types. Field names follow `charts/values.yaml`; defaults come
//! from that file (merged in before deserializing), not from here.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DeploymentStrategy;
use k8s_openapi::api::core::v1::{
    Affinity, Container, EnvFromSource, EnvVar, EnvVarSource, LocalObjectReference, PodSecurityContext,
    ResourceRequirements, SecurityContext, Toleration, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{IngressTLS, NetworkPolicyEgressRule};
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub type Map = BTreeMap<String, String>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Values {
    pub image: Image,
    pub image_pull_secrets: Vec<LocalObjectReference>,
    pub fullname_override: String,
    pub replica_count: i32,
    pub deployment_strategy: Option<DeploymentStrategy>,
    pub revision_history_limit: Option<i32>,
    pub autoscaling: Autoscaling,
    pub pod_disruption_budget: PodDisruptionBudget,
    pub server: Server,
    pub auth: Auth,
    pub oidc: Oidc,
    pub probes: Probes,
    pub garbage_collection: GarbageCollection,
    pub migrations: Migrations,
    pub service: Service,
    pub ingress: Ingress,
    pub http_route: HttpRoute,
    pub mlflow: Stores,
    pub external_secrets: ExternalSecrets,
    pub env: Vec<EnvVar>,
    pub env_from: Vec<EnvFromSource>,
    pub tmp: Tmp,
    pub extra_volumes: Vec<Volume>,
    pub extra_volume_mounts: Vec<VolumeMount>,
    pub extra_init_containers: Vec<Container>,
    pub extra_containers: Vec<Container>,
    pub tls: Tls,
    pub network_policy: NetworkPolicy,
    pub metrics: Metrics,
    pub service_monitor: ServiceMonitor,
    pub pod_security_context: Option<PodSecurityContext>,
    pub openshift: bool,
    pub security_context: Option<SecurityContext>,
    pub service_account: ServiceAccount,
    #[serde(rename = "namespace_rbac")]
    pub namespace_rbac: Rbac,
    #[serde(rename = "cluster_rbac")]
    pub cluster_rbac: Rbac,
    pub storage: Storage,
    pub resources: Option<ResourceRequirements>,
    pub pod_annotations: Map,
    pub pod_labels: Map,
    pub node_selector: Map,
    pub tolerations: Vec<Toleration>,
    pub affinity: Option<Affinity>,
    pub priority_class_name: String,
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// Manifests added to the release: objects as given, or strings templated with its values.
    pub extra_objects: Vec<Value>,
    /// Helm gives a chart used as a subchart its parent's `global` values; unused here.
    pub global: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Image {
    pub repository: String,
    pub tag: String,
    pub pull_policy: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Server {
    #[serde(rename = "value_options")]
    pub value_options: BTreeMap<String, Value>,
    #[serde(rename = "flag_options")]
    pub flag_options: Vec<String>,
    pub static_prefix: String,
    pub job_execution: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Auth {
    pub admin_username: String,
    pub admin_password_from: Option<EnvVarSource>,
    pub default_permission: String,
    pub database_uri: String,
    pub database_uri_from: Option<EnvVarSource>,
}

/// Single sign-on: the oauth2-proxy sidecar in front of MLflow.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Oidc {
    pub enabled: bool,
    pub issuer_url: String,
    pub client_secret_name: String,
    pub cookie_secret_name: String,
    pub email_domains: Vec<String>,
    pub allowed_groups: Vec<String>,
    pub scope: String,
    pub extra_jwt_issuers: Vec<String>,
    pub cookie_secure: Option<bool>,
    pub basic_auth: String,
    pub extra_args: Vec<String>,
    pub port: i32,
    pub image: Image,
    pub resources: Option<ResourceRequirements>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Probes {
    pub liveness: Probe,
    pub readiness: Probe,
    pub startup: Probe,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Probe {
    pub enabled: bool,
    pub initial_delay_seconds: i32,
    pub period_seconds: i32,
    pub timeout_seconds: i32,
    pub failure_threshold: i32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GarbageCollection {
    pub enabled: bool,
    pub schedule: String,
    pub older_than: String,
    pub all_workspaces: bool,
    pub extra_volumes: Vec<Volume>,
    pub extra_volume_mounts: Vec<VolumeMount>,
    pub resources: Option<ResourceRequirements>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Migrations {
    pub enabled: bool,
    /// A Go duration (`4m`, `90s`), or `0` not to wait.
    pub wait_timeout: String,
    pub resources: Option<ResourceRequirements>,
}

/// A HorizontalPodAutoscaler of the server Deployment; its behavior is passed through as given.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Autoscaling {
    pub enabled: bool,
    pub min_replicas: i32,
    pub max_replicas: i32,
    #[serde(rename = "targetCPUUtilizationPercentage")]
    pub target_cpu_utilization_percentage: Option<i32>,
    pub target_memory_utilization_percentage: Option<i32>,
    pub behavior: serde_json::Map<String, Value>,
}

/// The server's /tmp: an emptyDir (of a size, on a medium) or a generic ephemeral volume.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Tmp {
    pub size_limit: String,
    pub medium: String,
    pub ephemeral: TmpEphemeral,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TmpEphemeral {
    pub size: String,
    pub storage_class_name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Service {
    #[serde(rename = "type")]
    pub type_: String,
    /// The Service's port; `None` means the server's port.
    pub port: Option<i32>,
    pub annotations: Map,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodDisruptionBudget {
    pub enabled: bool,
    pub min_available: Option<IntOrString>,
    pub max_unavailable: Option<IntOrString>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Ingress {
    pub enabled: bool,
    pub class_name: String,
    pub annotations: Map,
    pub hosts: Vec<IngressHost>,
    pub tls: Vec<IngressTLS>,
}

/// A Gateway API HTTPRoute: its Gateway API parts are passed through as given.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HttpRoute {
    pub enabled: bool,
    pub annotations: Map,
    pub parent_refs: Vec<serde_json::Map<String, Value>>,
    pub hostnames: Vec<String>,
    pub matches: Vec<serde_json::Map<String, Value>>,
    pub filters: Vec<serde_json::Map<String, Value>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IngressHost {
    pub host: String,
    pub paths: Vec<IngressPath>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IngressPath {
    pub path: String,
    pub path_type: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Stores {
    pub backend_store_uri: String,
    pub backend_store_uri_from: Option<EnvVarSource>,
    pub registry_store_uri: String,
    pub registry_store_uri_from: Option<EnvVarSource>,
    pub default_artifact_root: String,
    pub artifacts_destination: String,
}

/// A SecretStore and an ExternalSecret of the External Secrets Operator: the operator's parts are
/// passed through as given.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExternalSecrets {
    pub enabled: bool,
    pub api_version: String,
    pub provider: serde_json::Map<String, Value>,
    pub refresh_interval: String,
    pub secret_name: String,
    pub template: serde_json::Map<String, Value>,
    pub data: Vec<serde_json::Map<String, Value>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Tls {
    pub enabled: bool,
    pub secret_name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkPolicy {
    pub enabled: bool,
    pub additional_egress_rules: Vec<NetworkPolicyEgressRule>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Metrics {
    pub enabled: bool,
    pub path: String,
}

impl Metrics {
    /// The metrics' HTTP path: `path`, or `/metrics` when it is empty or null (as the official
    /// chart reads it).
    pub fn path(&self) -> &str {
        if self.path.is_empty() {
            DEFAULT_METRICS_PATH
        } else {
            &self.path
        }
    }
}

/// Where MLflow serves its metrics (prometheus-flask-exporter's fixed route).
pub const DEFAULT_METRICS_PATH: &str = "/metrics";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceMonitor {
    pub enabled: bool,
    pub tls_config: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceAccount {
    pub create: bool,
    pub name: String,
    pub annotations: Map,
    pub automount_service_account_token: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Rbac {
    pub extra_rules: Vec<PolicyRule>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Storage {
    pub enabled: bool,
    pub size: String,
    pub access_mode: String,
    pub storage_class_name: String,
    pub mount_path: String,
}

/// `Some(T::default())` — what an empty map in the values gives — means "not set".
fn unset_if_empty<T: Default + PartialEq>(field: &mut Option<T>) {
    if field.as_ref().is_some_and(|value| *value == T::default()) {
        *field = None;
    }
}

impl Values {
    /// Turns the empty maps of optional sections (`resources: {}`) into "not set", as helm's
    /// templates treat them.
    pub fn normalize(&mut self) {
        unset_if_empty(&mut self.deployment_strategy);
        unset_if_empty(&mut self.auth.admin_password_from);
        unset_if_empty(&mut self.auth.database_uri_from);
        unset_if_empty(&mut self.garbage_collection.resources);
        unset_if_empty(&mut self.migrations.resources);
        unset_if_empty(&mut self.mlflow.backend_store_uri_from);
        unset_if_empty(&mut self.mlflow.registry_store_uri_from);
        unset_if_empty(&mut self.pod_security_context);
        unset_if_empty(&mut self.security_context);
        unset_if_empty(&mut self.resources);
        unset_if_empty(&mut self.oidc.resources);
        unset_if_empty(&mut self.affinity);
    }

    /// Whether MLflow's basic-auth app is switched on.
    pub fn basic_auth(&self) -> bool {
        matches!(self.server.value_options.get("app_name"), Some(Value::String(app)) if app == "basic-auth")
    }

    /// Whether the sign-in proxy guards the server.
    pub fn oidc(&self) -> bool {
        self.oidc.enabled
    }

    /// Whether workspaces are switched on (`enable_workspaces` in the flag options).
    pub fn workspaces(&self) -> bool {
        self.server.flag_options.iter().any(|flag| flag_name(flag) == "enable-workspaces")
    }

    /// The server's port: `server.value_options.port`, else MLflow's 5000.
    pub fn port(&self) -> i32 {
        match self.server.value_options.get("port") {
            Some(Value::Number(n)) => n.as_i64().map(|p| p as i32).unwrap_or(5000),
            Some(Value::String(s)) => s.parse().unwrap_or(5000),
            _ => 5000,
        }
    }

    /// Whether the migration Job runs: switched on, and the backend store is a database server
    /// (PostgreSQL, MySQL, MSSQL) or read from a Secret (taken to be one). Never for SQLite, whose
    /// file lies on the release's own volume, which a pre-install hook would run before.
    pub fn migrations(&self) -> bool {
        let m = &self.mlflow;
        let server_family = ["postgresql", "mysql", "mssql"].contains(&crate::store_uri::family(&m.backend_store_uri));
        self.migrations.enabled && (m.backend_store_uri_from.is_some() || server_family)
    }

    /// Whether the auth database is a database server (PostgreSQL, MySQL, MSSQL, or read with
    /// `auth.databaseUriFrom`): the migration Job then migrates it too.
    pub fn auth_database_server(&self) -> bool {
        let family = crate::store_uri::family(&self.auth.database_uri);
        self.basic_auth()
            && (self.auth.database_uri_from.is_some() || ["postgresql", "mysql", "mssql"].contains(&family))
    }

    /// How many server pods may run at once: the autoscaler's maximum, else replicaCount.
    pub fn most_replicas(&self) -> i32 {
        if self.autoscaling.enabled {
            self.autoscaling.max_replicas
        } else {
            self.replica_count
        }
    }

    /// The fewest server pods that run: the autoscaler's minimum, else replicaCount.
    pub fn fewest_replicas(&self) -> i32 {
        if self.autoscaling.enabled {
            self.autoscaling.min_replicas
        } else {
            self.replica_count
        }
    }

    /// The Service's port: `service.port`, else the server's.
    pub fn service_port(&self) -> i32 {
        self.service.port.unwrap_or_else(|| self.port())
    }
}

/// A flag option as MLflow spells it, without dashes: `no_serve_artifacts` → `no-serve-artifacts`.
pub fn flag_name(flag: &str) -> String {
    flag.trim_start_matches('-').replace('_', "-")
}
