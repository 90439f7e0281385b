//! The native renderer: values in, typed Kubernetes objects out — the same objects the chart's
//! templates make (`docs/objects.md` describes both; the parity test holds them equal).

mod accounts;
mod auth;
mod autoscaler;
mod deployment;
mod disruption;
pub mod external_secrets;
pub mod extra;
mod gc;
mod hosts;
mod ingress;
mod labels;
pub mod migrate;
mod monitoring;
mod network_policy;
mod object;
pub mod pod;
mod route;
mod service;
mod sign_in;
mod storage;
mod tmp;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSecurityContext;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use auth::Generated;
pub use deployment::TLS_DIR;
pub use hosts::allowed_hosts;
pub use labels::MANAGED_BY;
pub use object::Object;
pub use storage::KEEP;

use crate::identity::{Identity, SERVER_COMPONENT};
use crate::names;
use crate::problem::Problems;
use crate::validate::Valid;
use crate::values::Values;

pub use crate::versions::APP_VERSION;

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
    pub identity: Identity,
    pub fullname: String,
    /// The server's (container) port.
    pub port: i32,
    /// The Service's port (`service.port`, else the server's).
    pub service_port: i32,
}

impl<'a> Context<'a> {
    pub fn new(values: &'a Values, release: &'a Release) -> Self {
        let identity = Identity::of(values, &release.name, &release.namespace);
        Context {
            values,
            release,
            fullname: identity.fullname.clone(),
            port: values.port(),
            service_port: identity.endpoint.port,
            identity,
        }
    }

    /// The container and Service port's name: the scheme.
    pub fn port_name(&self) -> &str {
        &self.identity.endpoint.scheme
    }

    pub fn scheme(&self) -> &str {
        &self.identity.endpoint.scheme
    }

    /// `server.staticPrefix` without a trailing `/`.
    pub fn prefix(&self) -> &str {
        &self.identity.endpoint.prefix
    }

    pub fn image(&self) -> String {
        crate::image::reference(&self.values.image)
    }

    pub fn service_account(&self) -> String {
        names::service_account(self.values, &self.release.name)
    }

    /// `podSecurityContext`; on OpenShift without the ids its restricted SCC assigns.
    pub fn pod_security_context(&self) -> Option<PodSecurityContext> {
        let mut context = self.values.pod_security_context.clone()?;
        if self.values.openshift {
            (context.run_as_user, context.run_as_group, context.fs_group) = (None, None, None);
        }
        (context != PodSecurityContext::default()).then_some(context)
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

/// What a wait for a rendered release watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitTarget {
    pub namespace: String,
    pub deployment: String,
    pub pvc: Option<String>,
    /// Label selector of the server's pods.
    pub selector: String,
}

/// What rendering made: the objects in apply order, notes for the user, and what the engine
/// needs to know about the release without re-deriving it (its identity, what to wait for, how
/// to reach it once it runs).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub objects: Vec<Object>,
    pub notes: Vec<String>,
    /// What runs but may surprise: data kept where it is lost on a restart.
    pub warnings: Vec<String>,
    pub identity: Identity,
    pub wait: WaitTarget,
    /// How to reach MLflow once it runs.
    pub access: Vec<String>,
    /// Secret values rendered empty, for the engine to keep or make (see [`Rendered::fill`]).
    pub generated: Vec<Generated>,
    /// `extraObjects` templates beyond the native subset: helm renders them, the native engine
    /// refuses ([`Rendered::native_refusals`]).
    pub helm_only: Problems,
    /// `extraObjects` templates whose output helm would refuse too (prepare refuses them).
    pub extra_problems: Problems,
}

impl Rendered {
    /// What the native engine cannot install (or print) of this rendering: `--helm` can.
    pub fn native_refusals(&self) -> Result<(), crate::Failure> {
        match self.helm_only.is_empty() {
            true => Ok(()),
            false => Err(crate::Failure::Input(self.helm_only.clone())),
        }
    }

    /// The objects of `extraObjects`.
    pub fn extras(&self) -> Vec<&extra::Extra> {
        self.objects.iter().filter_map(|o| if let Object::Extra(e) = o { Some(e) } else { None }).collect()
    }

    /// Sets a generated value in its Secret.
    pub fn fill(&mut self, generated: &Generated, value: &str) {
        for object in &mut self.objects {
            if let Object::Secret(secret) = object {
                if secret.metadata.name.as_deref() == Some(generated.secret.as_str()) {
                    let data = secret.data.get_or_insert_with(Default::default);
                    data.insert(generated.key.clone(), k8s_openapi::ByteString(value.as_bytes().to_vec()));
                }
            }
        }
    }
}

/// Renders a release from values that passed validation. Values that skipped it do not compile:
///
/// ```compile_fail
/// use kubectl_mlflow_model::{render, values, Release};
/// let (_, values) = values::resolve(&serde_json::json!({})).unwrap();
/// let release = Release { name: "mlflow".into(), namespace: "ml".into() };
/// render(&values, &release); // a `Values`, not a `Valid`
/// ```
///
/// ```
/// use kubectl_mlflow_model::{render, validate, values, Release};
/// let user = serde_json::json!({"mlflow": {"backendStoreUri": "sqlite:////mlflow/mlflow.db"}, "storage": {"enabled": true}});
/// let (_, values) = values::resolve(&user).unwrap();
/// let valid = validate::validated(values).unwrap();
/// let release = Release { name: "mlflow".into(), namespace: "ml".into() };
/// let rendered = render(&valid, &release);
/// assert!(rendered.access[0].starts_with("reach MLflow with: kubectl port-forward -n ml svc/mlflow-mlflow 5000:5000"));
/// ```
pub fn render(values: &Valid, release: &Release) -> Rendered {
    let ctx = Context::new(values, release);
    let mut objects = Vec::new();
    objects.extend(accounts::service_account(&ctx).map(Object::ServiceAccount));
    objects.extend(auth::secret(&ctx).map(Object::Secret));
    if let Some((role, binding)) = accounts::role(&ctx) {
        objects.extend([Object::Role(role), Object::RoleBinding(binding)]);
    }
    if let Some((role, binding)) = accounts::cluster_role(&ctx) {
        objects.extend([Object::ClusterRole(role), Object::ClusterRoleBinding(binding)]);
    }
    objects.extend(external_secrets::secret_store(&ctx).map(Object::SecretStore));
    objects.extend(external_secrets::external_secret(&ctx).map(Object::ExternalSecret));
    objects.extend(storage::persistent_volume_claim(&ctx).map(Object::PersistentVolumeClaim));
    objects.extend(migrate::job(&ctx).map(Object::Job));
    objects.push(Object::Service(service::service(&ctx)));
    objects.push(Object::Deployment(deployment::deployment(&ctx)));
    objects.extend(ingress::ingress(&ctx).map(Object::Ingress));
    objects.extend(route::http_route(&ctx).map(Object::HttpRoute));
    objects.extend(network_policy::network_policy(&ctx).map(Object::NetworkPolicy));
    objects.extend(disruption::pod_disruption_budget(&ctx).map(Object::PodDisruptionBudget));
    objects.extend(autoscaler::horizontal_pod_autoscaler(&ctx).map(Object::HorizontalPodAutoscaler));
    objects.extend(gc::cron_job(&ctx).map(Object::CronJob));
    objects.extend(monitoring::service_monitor(&ctx).map(Object::ServiceMonitor));
    let extras = extra::render(&ctx);
    objects.extend(extras.objects.into_iter().map(Object::Extra));
    let wait = WaitTarget {
        namespace: release.namespace.clone(),
        deployment: ctx.fullname.clone(),
        pvc: values.storage.enabled.then(|| ctx.fullname.clone()),
        selector: ctx.identity.selector(Some(SERVER_COMPONENT)),
    };
    let generated = auth::generated_password(&ctx).into_iter().collect();
    Rendered {
        objects,
        notes: hosts::notes(&ctx),
        warnings: crate::local_paths::warnings(values),
        access: access_notes(&ctx),
        wait,
        identity: ctx.identity,
        generated,
        helm_only: extras.helm_only,
        extra_problems: extras.problems,
    }
}

/// How to reach MLflow once it runs.
fn access_notes(ctx: &Context) -> Vec<String> {
    let (ns, port) = (&ctx.release.namespace, ctx.service_port);
    let mut notes = vec![format!(
        "reach MLflow with: kubectl port-forward -n {ns} svc/{} {port}:{port}, then open {}://localhost:{port}{}",
        ctx.fullname,
        ctx.scheme(),
        ctx.prefix()
    )];
    if ctx.values.ingress.enabled {
        let tls_hosts: Vec<&String> = ctx.values.ingress.tls.iter().flat_map(|t| t.hosts.iter().flatten()).collect();
        for host in &ctx.values.ingress.hosts {
            let scheme = if tls_hosts.contains(&&host.host) { "https" } else { "http" };
            let path = host.paths.first().map(|p| p.path.as_str()).unwrap_or("/");
            notes.push(format!("through the Ingress: {scheme}://{}{path}", host.host));
        }
    }
    if ctx.values.oidc() {
        notes.push(format!(
            "single sign-on: people sign in with {} (register <the URL MLflow is reached at>{}/oauth2/callback \
             at the provider, e.g. http://localhost:{port}{}/oauth2/callback for kubectl mlflow portforward); \
             clients send a token the provider issued: {}=<token>",
            ctx.values.oidc.issuer_url,
            ctx.prefix(),
            ctx.prefix(),
            crate::oidc::TRACKING_TOKEN_ENV
        ));
    }
    if let Some(password) = ctx.values.basic_auth().then(|| auth::admin_password_source(ctx).secret_key_ref).flatten() {
        let (name, key) = (&password.name, &password.key);
        notes.push(format!(
            "basic auth: log in as {}; the password is in Secret {name}, key {key}: \
             kubectl get secret {name} -n {ns} -o jsonpath='{{.data.{key}}}' | base64 -d",
            ctx.values.auth.admin_username
        ));
    }
    notes
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
