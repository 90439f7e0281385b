//! Putting a rendered release on a cluster: preflight, then either the native engine
//! (server-side apply, recorded as an ApplySet) or a real helm, then a watched wait.

pub mod apply;
pub mod applyset;
pub mod helm;
pub mod kinds;
pub mod preflight;
pub mod progress;
pub mod wait;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, PostParams};
use kube::Client;

use self::apply::{describe, Applier, Member};
use self::kinds::Kind;
use self::progress::Progress;
use crate::cli::ClusterArgs;
use crate::release::Prepared;
use crate::Problems;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Input the cluster shows to be wrong (a missing Secret, a permission): nothing was written.
    #[error("{0}")]
    Input(Problems),
    /// The cluster said no, or the release did not become ready.
    #[error("{0}")]
    Failed(String),
}

impl EngineError {
    pub fn exit_code(&self) -> u8 {
        match self {
            EngineError::Input(_) => crate::cli::EXIT_USAGE,
            EngineError::Failed(_) => crate::cli::EXIT_FAILED,
        }
    }
}

/// Which engine writes the release.
#[derive(Debug, Clone)]
pub enum Engine {
    Native,
    Helm(PathBuf),
}

#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub engine: Engine,
    pub create_namespace: bool,
    pub wait: bool,
    pub timeout: Duration,
    pub force_conflicts: bool,
    pub dry_run_server: bool,
    pub verbose: bool,
}

/// What an install did, for the user.
#[derive(Debug, Default)]
pub struct Outcome {
    pub notes: Vec<String>,
}

/// Reads the values stored by an earlier install of the release (for `--reuse-values`).
pub async fn stored_values(client: &Client, release: &str, namespace: &str) -> Result<Option<String>, EngineError> {
    let parent = read_parent(client, release, namespace).await?;
    Ok(parent.as_ref().and_then(applyset::stored_values))
}

async fn read_parent(client: &Client, release: &str, namespace: &str) -> Result<Option<Secret>, EngineError> {
    let name = applyset::parent_name(release);
    Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(&name)
        .await
        .map_err(|err| EngineError::Failed(format!("cannot read Secret/{name}: {}", describe(&err))))
}

pub async fn install(
    client: &Client,
    prepared: &Prepared,
    cluster: &ClusterArgs,
    options: &InstallOptions,
    progress: &mut Progress,
) -> Result<Outcome, EngineError> {
    let namespace = &prepared.release.namespace;
    let kinds: BTreeSet<Kind> = prepared.rendered.objects.iter().filter_map(|o| Kind::named(o.kind())).collect();
    progress.phase("checking the cluster");
    let plan = preflight::Plan { values: &prepared.values, namespace, create_namespace: options.create_namespace, kinds };
    let problems = preflight::check(client, &plan).await;
    if !problems.is_empty() {
        return Err(EngineError::Input(problems));
    }
    let mut outcome = match &options.engine {
        Engine::Native => install_native(client, prepared, options, progress).await?,
        Engine::Helm(helm) => install_with_helm(helm, prepared, cluster, options, progress)?,
    };
    if options.wait && !options.dry_run_server {
        wait::wait(client, &wait_target(prepared), options.timeout, progress).await?;
    }
    outcome.notes.extend(access_notes(prepared));
    Ok(outcome)
}

async fn install_native(client: &Client, prepared: &Prepared, options: &InstallOptions, progress: &mut Progress) -> Result<Outcome, EngineError> {
    let release = &prepared.release;
    let ns = &release.namespace;
    if options.create_namespace {
        ensure_namespace(client, ns, options.dry_run_server).await?;
    }
    let parent = read_parent(client, &release.name, ns).await?;
    if let Some(tooling) = parent.as_ref().and_then(applyset::foreign_tooling) {
        return Err(EngineError::Failed(format!(
            "Secret/{} belongs to an ApplySet managed by {tooling}, not kubectl-mlflow (use that tool, or another release name)",
            applyset::parent_name(&release.name)
        )));
    }
    let old_kinds = parent.as_ref().map(applyset::group_kinds).unwrap_or_default();
    let id = applyset::id(&applyset::parent_name(&release.name), ns);
    let members: Vec<Member> = prepared.rendered.objects.iter().map(|o| Member::from_object(o, &id)).collect();
    let new_kinds: BTreeSet<String> = members.iter().map(|m| m.kind.group_kind()).collect();
    let all_kinds: BTreeSet<String> = old_kinds.union(&new_kinds).cloned().collect();
    let applier = Applier {
        client: client.clone(),
        namespace: ns.clone(),
        force_conflicts: options.force_conflicts,
        dry_run: options.dry_run_server,
        verbose: options.verbose,
    };
    let values_yaml = crate::yaml::to_string(&prepared.user_values);
    let labels = parent_labels(prepared);
    // The parent first lists every kind that may hold members, so an interrupted run still
    // leaves a set that a rerun can prune.
    let parent_member = |kinds: &BTreeSet<String>| Member {
        kind: Kind::named("Secret").expect("Secret is known"),
        object: serde_json::from_value(serde_json::to_value(applyset::parent(&release.name, ns, labels.clone(), kinds, &values_yaml)).expect("serializes"))
            .expect("a Secret is a valid object"),
    };
    progress.phase("applying");
    applier.apply(&parent_member(&all_kinds)).await?;
    applier.apply_all(&members, |m| progress.phase(&format!("applied {}", m.describe()))).await?;
    let keep: BTreeSet<(String, String)> = members.iter().map(|m| (m.kind.group_kind(), m.name().to_string())).collect();
    let pruned = applier.prune(&id, &all_kinds, &keep).await?;
    applier.apply(&parent_member(&new_kinds)).await?;
    let mut notes = pruned;
    if options.dry_run_server {
        notes.push(format!("server dry run: the API server accepted all {} objects; nothing was persisted", members.len() + 1));
    }
    Ok(Outcome { notes })
}

fn parent_labels(prepared: &Prepared) -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "mlflow".to_string()),
        ("app.kubernetes.io/instance".to_string(), prepared.release.name.clone()),
        ("app.kubernetes.io/managed-by".to_string(), crate::render::MANAGED_BY.to_string()),
    ])
}

async fn ensure_namespace(client: &Client, name: &str, dry_run: bool) -> Result<(), EngineError> {
    let api = Api::<Namespace>::all(client.clone());
    if api.get_opt(name).await.map_err(|err| EngineError::Failed(describe(&err)))?.is_some() {
        return Ok(());
    }
    let namespace = Namespace { metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() };
    let params = PostParams { dry_run, ..PostParams::default() };
    api.create(&params, &namespace).await.map_err(|err| EngineError::Failed(format!("cannot create namespace {name}: {}", describe(&err))))?;
    Ok(())
}

fn install_with_helm(helm: &std::path::Path, prepared: &Prepared, cluster: &ClusterArgs, options: &InstallOptions, progress: &mut Progress) -> Result<Outcome, EngineError> {
    let version = helm::check_version(helm).map_err(|p| EngineError::Input(p.into()))?;
    progress.phase(&format!("running helm {version}"));
    let run = helm::HelmRun {
        helm,
        release: &prepared.release.name,
        namespace: &prepared.release.namespace,
        cluster,
        values_yaml: &crate::yaml::to_string(&prepared.user_values),
        create_namespace: options.create_namespace,
        dry_run_server: options.dry_run_server,
    };
    helm::upgrade_install(&run)?;
    Ok(Outcome { notes: vec![format!("helm release {} is listed by: helm list -n {}", prepared.release.name, prepared.release.namespace)] })
}

fn wait_target(prepared: &Prepared) -> wait::Target {
    let fullname = crate::names::fullname(&prepared.values, &prepared.release.name);
    wait::Target {
        namespace: prepared.release.namespace.clone(),
        deployment: fullname.clone(),
        pvc: prepared.values.storage.enabled.then_some(fullname),
        selector: format!(
            "app.kubernetes.io/name=mlflow,app.kubernetes.io/instance={},app.kubernetes.io/component=server",
            prepared.release.name
        ),
    }
}

/// How to reach MLflow once it runs.
fn access_notes(prepared: &Prepared) -> Vec<String> {
    let values = &prepared.values;
    let (release, ns) = (&prepared.release.name, &prepared.release.namespace);
    let scheme = if values.tls.enabled { "https" } else { "http" };
    let port = values.port();
    let fullname = crate::names::fullname(values, release);
    let mut notes = vec![format!(
        "reach MLflow with: kubectl mlflow portforward {release} -n {ns}   (or: kubectl port-forward -n {ns} svc/{fullname} {port}:{port}), then open {scheme}://localhost:{port}{}",
        values.server.static_prefix.trim_end_matches('/')
    )];
    if values.ingress.enabled {
        let tls_hosts: Vec<&String> = values.ingress.tls.iter().flat_map(|t| t.hosts.iter().flatten()).collect();
        for host in &values.ingress.hosts {
            let scheme = if tls_hosts.contains(&&host.host) { "https" } else { "http" };
            let path = host.paths.first().map(|p| p.path.as_str()).unwrap_or("/");
            notes.push(format!("through the Ingress: {scheme}://{}{path}", host.host));
        }
    }
    notes
}
