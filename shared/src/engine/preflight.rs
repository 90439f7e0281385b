//! Checks before the first write: every problem that would make the release fail, found at once,
//! so bad input changes nothing in the cluster.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, EnvVarSource, Namespace, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use kube::Client;
use kubectl_mlflow_model::image;

use super::kinds::Kind;
use crate::cluster::describe;
use crate::problem::{index, Problem, Problems};
use crate::values::Values;

/// The oldest Kubernetes the chart supports (Chart.yaml's kubeVersion).
pub const MIN_MINOR: u32 = 23;

/// A Secret or ConfigMap the values point at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    pub kind: &'static str,
    pub name: String,
    /// Keys that must be there; empty for whole-object references (envFrom, volumes).
    pub keys: Vec<String>,
    /// The values key path that makes the reference.
    pub at: String,
}

/// Every non-optional Secret and ConfigMap the values refer to.
pub fn references(values: &Values) -> Vec<Reference> {
    let mut refs = Vec::new();
    let mut from = |source: &Option<EnvVarSource>, at: String| {
        let Some(source) = source else { return };
        if let Some(r) = &source.secret_key_ref {
            if r.optional != Some(true) {
                refs.push(Reference {
                    kind: "Secret",
                    name: r.name.clone(),
                    keys: vec![r.key.clone()],
                    at: at.clone(),
                });
            }
        }
        if let Some(r) = &source.config_map_key_ref {
            if r.optional != Some(true) {
                refs.push(Reference { kind: "ConfigMap", name: r.name.clone(), keys: vec![r.key.clone()], at });
            }
        }
    };
    from(&values.mlflow.backend_store_uri_from, "mlflow.backendStoreUriFrom".into());
    from(&values.mlflow.registry_store_uri_from, "mlflow.registryStoreUriFrom".into());
    if values.basic_auth() {
        from(&values.auth.admin_password_from, "auth.adminPasswordFrom".into());
        from(&values.auth.database_uri_from, "auth.databaseUriFrom".into());
    }
    for (i, var) in values.env.iter().enumerate() {
        from(&var.value_from, format!("{}.valueFrom", index("env", i)));
    }
    for (i, source) in values.env_from.iter().enumerate() {
        let at = index("envFrom", i);
        if let Some(r) = source.secret_ref.as_ref().filter(|r| r.optional != Some(true)) {
            refs.push(Reference { kind: "Secret", name: r.name.clone(), keys: vec![], at: at.clone() });
        }
        if let Some(r) = source.config_map_ref.as_ref().filter(|r| r.optional != Some(true)) {
            refs.push(Reference { kind: "ConfigMap", name: r.name.clone(), keys: vec![], at });
        }
    }
    for (i, volume) in values.extra_volumes.iter().enumerate() {
        let at = index("extraVolumes", i);
        if let Some(name) =
            volume.secret.as_ref().filter(|s| s.optional != Some(true)).and_then(|s| s.secret_name.clone())
        {
            refs.push(Reference { kind: "Secret", name, keys: vec![], at: at.clone() });
        }
        if let Some(c) = volume.config_map.as_ref().filter(|c| c.optional != Some(true)) {
            refs.push(Reference { kind: "ConfigMap", name: c.name.clone(), keys: vec![], at });
        }
    }
    let tls_keys = || vec!["tls.crt".to_string(), "tls.key".to_string()];
    if values.tls.enabled {
        refs.push(Reference {
            kind: "Secret",
            name: values.tls.secret_name.clone(),
            keys: tls_keys(),
            at: "tls.secretName".into(),
        });
    }
    refs.extend(sign_in_references(values));
    let cert_manager = values.ingress.annotations.keys().any(|k| k.starts_with("cert-manager.io/"));
    if values.ingress.enabled && !cert_manager {
        for (i, tls) in values.ingress.tls.iter().enumerate() {
            if let Some(name) = &tls.secret_name {
                refs.push(Reference {
                    kind: "Secret",
                    name: name.clone(),
                    keys: tls_keys(),
                    at: format!("ingress.tls[{i}].secretName"),
                });
            }
        }
    }
    refs
}

/// The Secrets of the sign-in proxy (`kubectl mlflow secrets oidc` makes both).
fn sign_in_references(values: &Values) -> Vec<Reference> {
    use kubectl_mlflow_model::oidc::{CLIENT_ID_KEY, CLIENT_SECRET_KEY, COOKIE_SECRET_KEY};
    let oidc = &values.oidc;
    if !oidc.enabled {
        return Vec::new();
    }
    let secret = |name: &str, keys: &[&str], at: &str| Reference {
        kind: "Secret",
        name: name.into(),
        keys: keys.iter().map(|k| k.to_string()).collect(),
        at: at.into(),
    };
    vec![
        secret(&oidc.client_secret_name, &[CLIENT_ID_KEY, CLIENT_SECRET_KEY], "oidc.clientSecretName"),
        secret(&oidc.cookie_secret_name, &[COOKIE_SECRET_KEY], "oidc.cookieSecretName"),
    ]
}

pub struct Plan<'a> {
    pub values: &'a Values,
    pub namespace: &'a str,
    pub create_namespace: bool,
    pub kinds: BTreeSet<Kind>,
    /// Kinds pruning will delete objects of.
    pub deletes: BTreeSet<Kind>,
    /// Whether the run waits (watches) for the release.
    pub wait: bool,
    /// Secrets and ConfigMaps the release makes (kind, name): an ExternalSecret's, extra objects.
    /// References to them need not exist before the install.
    pub made: BTreeSet<(String, String)>,
    /// Whether the run takes the release's lock (a Lease: the native engine).
    pub lock: bool,
}

/// What the preflight found: the problems, and whether the namespace exists already.
pub struct Findings {
    pub problems: Problems,
    pub namespace_exists: bool,
}

/// Runs every check at once (they are independent reads); the problems come in a fixed order.
pub async fn check(client: &Client, plan: &Plan<'_>) -> Findings {
    let version = async { Problems(server_version(client).await.err().into_iter().collect()) };
    let namespace_and_references = async {
        let mut problems = Problems::default();
        let namespace_exists = namespace(client, plan, &mut problems).await;
        if namespace_exists || plan.create_namespace {
            referenced_objects(client, plan, namespace_exists, &mut problems).await;
        }
        if namespace_exists {
            store_uris_from(client, plan, &mut problems).await;
        }
        (problems, namespace_exists)
    };
    let storage = async {
        let mut problems = Problems::default();
        storage_class(client, plan.values, &mut problems).await;
        crds(client, plan.values, &mut problems).await;
        problems
    };
    let access = async {
        let mut problems = Problems::default();
        permissions(client, plan, &mut problems).await;
        problems
    };
    let (version, (namespace_problems, namespace_exists), storage, access) =
        futures::join!(version, namespace_and_references, storage, access);
    let mut problems = version;
    problems.extend(namespace_problems);
    problems.extend(storage);
    problems.extend(access);
    Findings { problems, namespace_exists }
}

async fn server_version(client: &Client) -> Result<(), Problem> {
    let info = client
        .apiserver_version()
        .await
        .map_err(|err| Problem::at("", format!("cannot reach the API server: {}", describe(&err))))?;
    let number = |s: &str| s.trim_end_matches(|c: char| !c.is_ascii_digit()).parse::<u32>().unwrap_or(0);
    let (major, minor) = (number(&info.major), number(&info.minor));
    if major < 1 || (major == 1 && minor < MIN_MINOR) {
        return Err(Problem::at(
            "",
            format!("the cluster runs Kubernetes {}, but 1.{MIN_MINOR} or newer is needed", info.git_version),
        ));
    }
    Ok(())
}

async fn namespace(client: &Client, plan: &Plan<'_>, problems: &mut Problems) -> bool {
    match Api::<Namespace>::all(client.clone()).get_opt(plan.namespace).await {
        Ok(Some(_)) => true,
        Ok(None) => {
            if !plan.create_namespace {
                problems.push(Problem::at(
                    "",
                    format!("namespace {} does not exist (create it, or add --create-namespace)", plan.namespace),
                ));
            }
            false
        }
        Err(err) => {
            problems.push(Problem::at("", format!("cannot read namespace {}: {}", plan.namespace, describe(&err))));
            false
        }
    }
}

async fn referenced_objects(client: &Client, plan: &Plan<'_>, namespace_exists: bool, problems: &mut Problems) {
    let mut found: BTreeMap<(&str, String), Option<BTreeSet<String>>> = BTreeMap::new();
    let made = |r: &Reference| plan.made.contains(&(r.kind.to_string(), r.name.clone()));
    for reference in references(plan.values).into_iter().filter(|r| !made(r)) {
        let id = (reference.kind, reference.name.clone());
        if !found.contains_key(&id) {
            let keys = if namespace_exists {
                object_keys(client, plan.namespace, reference.kind, &reference.name).await
            } else {
                Ok(None)
            };
            match keys {
                Ok(keys) => found.insert(id.clone(), keys),
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
        }
        match &found[&id] {
            None => problems.push(Problem::at(
                &reference.at,
                format!(
                    "{} {} not found in namespace {} ({})",
                    reference.kind,
                    reference.name,
                    plan.namespace,
                    create_hint(&reference, plan.namespace)
                ),
            )),
            Some(keys) => {
                for key in reference.keys.iter().filter(|k| !keys.contains(*k)) {
                    let have: Vec<&str> = keys.iter().map(String::as_str).collect();
                    problems.push(Problem::at(
                        &reference.at,
                        format!(
                            "{} {} has no key \"{key}\" (it has: {})",
                            reference.kind,
                            reference.name,
                            have.join(", ")
                        ),
                    ));
                }
            }
        }
    }
}

/// The store URIs the values read from a Secret or ConfigMap, against the drivers of MLflow's
/// slim image (what the values say directly, `image::check` refuses before any read). Objects or
/// keys that are missing are `referenced_objects`' to report.
async fn store_uris_from(client: &Client, plan: &Plan<'_>, problems: &mut Problems) {
    if !image::is_official_slim(&plan.values.image) {
        return;
    }
    let m = &plan.values.mlflow;
    let sources = [
        ("mlflow.backendStoreUriFrom", &m.backend_store_uri_from),
        ("mlflow.registryStoreUriFrom", &m.registry_store_uri_from),
    ];
    for (path, source) in sources {
        let Some((described, uri)) = source_value(client, plan.namespace, source.as_ref()).await else { continue };
        if let Some(problem) = image::check_store_uri_from(plan.values, path, &described, &uri) {
            problems.push(problem);
        }
    }
}

/// The value a `secretKeyRef` or `configMapKeyRef` names, and where it is (`Secret db key uri`);
/// `None` when it cannot be read.
async fn source_value(client: &Client, namespace: &str, source: Option<&EnvVarSource>) -> Option<(String, String)> {
    let source = source?;
    if let Some(r) = &source.secret_key_ref {
        let secret = Api::<Secret>::namespaced(client.clone(), namespace).get_opt(&r.name).await.ok()??;
        let value = secret.data?.remove(&r.key)?;
        return Some((format!("Secret {} key {}", r.name, r.key), String::from_utf8(value.0).ok()?));
    }
    let r = source.config_map_key_ref.as_ref()?;
    let map = Api::<ConfigMap>::namespaced(client.clone(), namespace).get_opt(&r.name).await.ok()??;
    Some((format!("ConfigMap {} key {}", r.name, r.key), map.data?.remove(&r.key)?))
}

fn create_hint(reference: &Reference, namespace: &str) -> String {
    let literal = |keys: &[String]| keys.iter().map(|k| format!(" --from-literal={k}=...")).collect::<String>();
    if reference.at.starts_with("oidc.") {
        return format!(
            "make both Secrets of the sign-in: kubectl mlflow secrets oidc -n {namespace} --client-id <id> --client-secret -"
        );
    }
    match (reference.kind, reference.keys.first().map(String::as_str)) {
        ("Secret", Some("tls.crt")) => format!(
            "create it: kubectl create secret tls {} -n {namespace} --cert=tls.crt --key=tls.key",
            reference.name
        ),
        ("Secret", _) => format!(
            "create it: kubectl create secret generic {} -n {namespace}{}",
            reference.name,
            literal(&reference.keys)
        ),
        (_, _) => {
            format!("create it: kubectl create configmap {} -n {namespace}{}", reference.name, literal(&reference.keys))
        }
    }
}

/// The keys of a Secret or ConfigMap; `None` when it does not exist.
async fn object_keys(
    client: &Client,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<Option<BTreeSet<String>>, Problem> {
    let read_error = |err: kube::Error| Problem::at("", format!("cannot read {kind} {name}: {}", describe(&err)));
    if kind == "Secret" {
        let secret = Api::<Secret>::namespaced(client.clone(), namespace).get_opt(name).await.map_err(read_error)?;
        Ok(secret.map(|s| {
            s.data.unwrap_or_default().into_keys().chain(s.string_data.unwrap_or_default().into_keys()).collect()
        }))
    } else {
        let map = Api::<ConfigMap>::namespaced(client.clone(), namespace).get_opt(name).await.map_err(read_error)?;
        Ok(map.map(|m| {
            m.data.unwrap_or_default().into_keys().chain(m.binary_data.unwrap_or_default().into_keys()).collect()
        }))
    }
}

async fn storage_class(client: &Client, values: &Values, problems: &mut Problems) {
    let name = &values.storage.storage_class_name;
    if !values.storage.enabled || name.is_empty() {
        return;
    }
    match Api::<StorageClass>::all(client.clone()).get_opt(name).await {
        Ok(Some(_)) => {}
        Ok(None) => problems.push(Problem::at(
            "storage.storageClassName",
            format!("StorageClass {name} does not exist (see kubectl get storageclass, or leave it empty for the default class)"),
        )),
        Err(err) if matches!(&err, kube::Error::Api(s) if s.code == 403) => {}
        Err(err) => problems.push(Problem::at("storage.storageClassName", format!("cannot read StorageClass {name}: {}", describe(&err)))),
    }
}

async fn crds(client: &Client, values: &Values, problems: &mut Problems) {
    if values.service_monitor.enabled {
        crd(client, "monitoring.coreos.com/v1", "servicemonitors", problems, || Problem::at(
            "serviceMonitor.enabled",
            "the ServiceMonitor CRD (monitoring.coreos.com/v1) is not installed (install the Prometheus Operator, or set serviceMonitor.enabled=false)",
        ))
        .await;
    }
    if values.http_route.enabled {
        crd(client, "gateway.networking.k8s.io/v1", "httproutes", problems, || Problem::at(
            "httpRoute.enabled",
            "the HTTPRoute CRD (gateway.networking.k8s.io/v1) is not installed (install the Gateway API CRDs, or set httpRoute.enabled=false)",
        ))
        .await;
    }
    let es = &values.external_secrets;
    if es.enabled {
        let served = match client.list_api_group_resources(&es.api_version).await {
            Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
            Err(_) => Vec::new(),
        };
        let missing: Vec<&str> =
            ["secretstores", "externalsecrets"].into_iter().filter(|p| !served.iter().any(|s| s == p)).collect();
        if !missing.is_empty() {
            problems.push(Problem::at(
                "externalSecrets.enabled",
                format!(
                    "the External Secrets CRDs ({}: {}) are not installed (install the External Secrets Operator, set externalSecrets.apiVersion to the version it serves, or set externalSecrets.enabled=false)",
                    es.api_version,
                    missing.join(", ")
                ),
            ));
        }
    }
}

/// Adds the problem unless the API group version serves the resource.
async fn crd(
    client: &Client,
    group_version: &str,
    plural: &str,
    problems: &mut Problems,
    problem: impl FnOnce() -> Problem,
) {
    let installed = match client.list_api_group_resources(group_version).await {
        Ok(list) => list.resources.iter().any(|r| r.name == plural),
        Err(_) => false,
    };
    if !installed {
        problems.push(problem());
    }
}

async fn permissions(client: &Client, plan: &Plan<'_>, problems: &mut Problems) {
    let needs = super::access::needed(&plan.kinds, &plan.deletes, plan.wait, plan.lock);
    problems.extend(super::access::check(client, plan.namespace, &needs).await);
}
