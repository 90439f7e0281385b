//! The status of a release as one document: what `-o json|yaml` prints (its fields are listed in
//! README, "kubectl mlflow status -o json"), and what the screen is drawn from. Every field is
//! always present (null or empty when there is nothing), so the shape is stable for scripts.

use kubectl_mlflow_core::stores::Described;
use serde::Serialize;

pub const API_VERSION: &str = "kubectl-mlflow.io/v1";
pub const KIND: &str = "ReleaseStatus";

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub release: Release,
    pub verdict: Verdict,
    pub server: Server,
    pub events: Vec<EventLine>,
    pub stores: Stores,
    pub schema: Schema,
    pub volumes: Vec<Volume>,
    pub gc: Option<Gc>,
    pub auth: Auth,
    pub urls: Urls,
    /// What could not be read, and why (missing permissions, say).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub name: String,
    pub namespace: String,
    /// `native`, `helm`, `unrecorded` (labelled, but no engine's record) or `unknown` (the
    /// records could not be read: `engineNote` says why).
    pub engine: String,
    /// helm's revision.
    pub revision: Option<u32>,
    /// helm's status of that revision: `deployed`, `pending-install`, `failed`…
    pub helm_status: Option<String>,
    /// The native engine's ApplySet id.
    pub apply_set: Option<String>,
    /// The tool that applied the native release last: `kubectl-mlflow/v0.1.0`.
    pub applied_by: Option<String>,
    pub engine_note: Option<String>,
    /// An install or upgrade that has not finished: helm's pending revision, a running migration Job.
    pub in_progress: Option<String>,
    /// helm's chart label (`mlflow-0.1.0`).
    pub chart: Option<String>,
    /// The MLflow version: the server image's own when the schema was read, else the labels'.
    pub mlflow_version: Option<String>,
    pub image: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Healthy,
    Degraded,
    Failing,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub state: State,
    /// Why it is not Healthy, worst first (empty when Healthy).
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    pub deployment: String,
    pub replicas: i32,
    pub ready_replicas: i32,
    pub updated_replicas: i32,
    /// `kubectl rollout status`'s words: `1 of 1 replicas available`.
    pub rollout: String,
    pub rolled_out: bool,
    pub pods: Vec<Pod>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    pub name: String,
    pub ready: bool,
    /// `1/1`
    pub containers_ready: String,
    /// What kubectl get pods shows: `Running`, `CrashLoopBackOff`, `Pending`, `Terminating`…
    pub status: String,
    pub message: Option<String>,
    pub restarts: i32,
    pub created_at: Option<String>,
    pub age_seconds: Option<i64>,
    pub node: Option<String>,
    pub last_termination: Option<Termination>,
    pub image_problem: Option<ImageProblem>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Termination {
    pub container: String,
    /// `OOMKilled`, `Error`, `Completed`…
    pub reason: String,
    pub exit_code: i32,
    pub finished_at: Option<String>,
    /// The last line the terminated container logged (`kubectl logs --previous`).
    pub log_line: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageProblem {
    pub container: String,
    pub image: String,
    /// `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`…
    pub reason: String,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventLine {
    /// `Pod/mlflow-mlflow-6f7c-x2x9z`; with several objects, the last one's.
    pub object: String,
    /// How many of the release's objects had this event.
    pub objects: usize,
    pub reason: String,
    pub message: String,
    pub count: i32,
    pub last_seen: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Stores {
    pub backend: Option<Store>,
    /// None: the registry is the backend store.
    pub registry: Option<Store>,
    pub artifacts_destination: Option<String>,
    pub default_artifact_root: Option<String>,
    /// Whether the server proxies artifacts (`--no-serve-artifacts` not given).
    pub serves_artifacts: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    /// None when the URI could not be read (`note` says why).
    pub described: Option<Described>,
    /// `value` (in the pod spec), `argument` (on the command line), `secret` or `configMap`.
    pub source: String,
    /// The Secret or ConfigMap, with its key.
    pub source_name: Option<String>,
    pub source_key: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// `current`, `migrationPending`, `notApplicable` (not a database store) or `unknown`.
    pub state: String,
    /// The tracking database's alembic revision(s).
    pub current: Vec<String>,
    /// The revision(s) the running MLflow expects (its migrations' heads).
    pub expected: Vec<String>,
    /// The pod it was read in.
    pub pod: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub claim: String,
    pub phase: Option<String>,
    /// The claim's capacity (`10Gi`).
    pub capacity: Option<String>,
    /// From the kubelet's stats summary of the volume's filesystem.
    pub used_bytes: Option<u64>,
    pub available_bytes: Option<u64>,
    pub capacity_bytes: Option<u64>,
    pub used_percent: Option<f64>,
    /// More than 85 % used.
    pub warning: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Gc {
    pub cron_job: String,
    pub schedule: String,
    pub suspended: bool,
    pub last_schedule: Option<String>,
    pub last_success: Option<String>,
    pub last_run: Option<GcRun>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GcRun {
    pub job: String,
    /// `Succeeded`, `Failed` or `Running`.
    pub result: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Auth {
    pub basic_auth: bool,
    pub admin_user: Option<String>,
    pub database: Option<Store>,
    /// The oauth2-proxy sidecar in front of the server, when there is one.
    pub single_sign_on: Option<SignIn>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    /// The OpenID Connect provider's issuer URL.
    pub issuer: String,
    /// Who is admitted: the email domains (`*`: any) and the groups (none: any group).
    pub email_domains: Vec<String>,
    pub allowed_groups: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Urls {
    /// The in-cluster URL of the Service.
    pub service: Option<String>,
    /// Ingress and HTTPRoute URLs.
    pub ingress: Vec<String>,
    pub http_route: Vec<String>,
    /// A LoadBalancer's address.
    pub load_balancer: Vec<String>,
}
