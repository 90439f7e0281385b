//! Putting a rendered release on a cluster: preflight, then either the native engine
//! (server-side apply, recorded as an ApplySet) or a real helm, then a watched wait.

pub mod access;
pub mod apply;
pub mod applyset;
pub mod chart;
pub mod dry_run;
pub mod events;
pub mod external_secrets;
pub mod generated;
pub mod helm;
pub mod installed;
pub mod kinds;
pub mod migrate;
pub mod preflight;
pub mod prune;
pub mod reuse;
pub mod wait;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, PostParams};
use kube::Client;

use self::apply::{Applier, Member};
use self::kinds::Kind;
use crate::cluster::{describe, Session};
use crate::identity::{self, MANAGED_BY_LABEL};
use crate::release::Prepared;
use kubectl_mlflow_model::Failure;

/// Where the engine reports what it is doing (the ui layer's progress display implements it).
pub trait Sink {
    /// What is happening now: `applying`, `waiting for Deployment/x to roll out`.
    fn phase(&mut self, message: &str);
    /// The state of one pod, while waiting.
    fn pod(&mut self, _pod: &str, _state: &str) {}
    /// The long step is over: clear any live display.
    fn finish(&mut self) {}
}

/// A sink that shows nothing (tests, quiet callers).
impl Sink for () {
    fn phase(&mut self, _message: &str) {}
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
    /// The applied Deployment had rolled out already (a rerun that changed nothing): no wait.
    rolled_out: bool,
}

/// Whether the cluster is OpenShift: it serves route.openshift.io/v1.
pub async fn openshift(session: &Session) -> bool {
    session.client.list_api_group_resources("route.openshift.io/v1").await.is_ok()
}

/// Reads the values stored by an earlier install of the release (for `--reuse-values`).
pub async fn stored_values(session: &Session, release: &str) -> Result<Option<String>, Failure> {
    let parent = read_parent(&session.client, release, &session.namespace).await?;
    Ok(parent.as_ref().and_then(applyset::stored_values))
}

async fn read_parent(client: &Client, release: &str, namespace: &str) -> Result<Option<Secret>, Failure> {
    let name = applyset::parent_name(release);
    Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(&name)
        .await
        .map_err(|err| Failure::Failed(format!("cannot read Secret/{name}: {}", describe(&err))))
}

/// Installs or upgrades a prepared release in the session's cluster: preflight, apply (or helm),
/// wait. Notes for the user are in the outcome.
pub async fn install(
    session: &Session,
    prepared: &Prepared,
    options: &InstallOptions,
    progress: &mut dyn Sink,
) -> Result<Outcome, Failure> {
    let client = &session.client;
    let release = &prepared.release;
    let kinds: BTreeSet<Kind> = prepared.rendered.objects.iter().filter_map(|o| Kind::named(o.kind())).collect();
    progress.phase("checking the cluster");
    // Read once; a failed read is reported after the preflight, which names a missing permission.
    let parent = match options.engine {
        Engine::Native => read_parent(client, &release.name, &release.namespace).await,
        Engine::Helm(_) => Ok(None),
    };
    let mut deletes = match &parent {
        Ok(Some(parent)) => planned_deletions(client, prepared, parent).await,
        _ => BTreeSet::new(),
    };
    if matches!(options.engine, Engine::Native) {
        // The migration Job of an earlier run is deleted before the new one is applied.
        deletes.extend(kinds.iter().copied().filter(|k| k.kind == "Job"));
    }
    let wait = options.wait && !options.dry_run_server;
    let made = made_secrets(&prepared.rendered.objects);
    let plan = preflight::Plan {
        values: &prepared.values,
        namespace: &release.namespace,
        create_namespace: options.create_namespace,
        kinds,
        deletes,
        wait,
        made,
    };
    let mut outcome = match &options.engine {
        Engine::Native => install_native(client, prepared, &plan, parent, options, progress).await?,
        Engine::Helm(helm) => {
            let findings = preflight::check(client, &plan).await;
            if !findings.problems.is_empty() {
                return Err(Failure::Input(findings.problems));
            }
            install_with_helm(helm, prepared, session, options, progress).await?
        }
    };
    if wait && !outcome.rolled_out {
        wait::wait(client, &prepared.rendered.wait, options.timeout, progress).await?;
    }
    outcome.notes.extend(prepared.rendered.access.iter().cloned());
    Ok(outcome)
}

async fn install_native(
    client: &Client,
    prepared: &Prepared,
    plan: &preflight::Plan<'_>,
    parent: Result<Option<Secret>, Failure>,
    options: &InstallOptions,
    progress: &mut dyn Sink,
) -> Result<Outcome, Failure> {
    let release = &prepared.release;
    let ns = &release.namespace;
    let old_kinds = parent.as_ref().ok().and_then(Option::as_ref).map(applyset::group_kinds).unwrap_or_default();
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
    let mut labels = identity::labels(&release.name, None);
    labels.insert(MANAGED_BY_LABEL.into(), crate::render::MANAGED_BY.into());
    // The parent first lists every kind that may hold members, so an interrupted run still
    // leaves a set that a rerun can prune.
    let parent_member = |kinds: &BTreeSet<String>| Member {
        kind: Kind::named("Secret").expect("Secret is known"),
        object: serde_json::from_value(
            serde_json::to_value(applyset::parent(&release.name, ns, labels.clone(), kinds, &values_yaml))
                .expect("serializes"),
        )
        .expect("a Secret is a valid object"),
    };
    progress.phase("checking the cluster and a server-side dry run of every object");
    let everything: Vec<Member> = std::iter::once(parent_member(&all_kinds)).chain(members.iter().cloned()).collect();
    // Both only read (a dry run persists nothing), so they go at once; their verdicts are taken
    // in the order they always were: the preflight's problems first.
    let dry_run = async {
        dry_run::check(&applier, &migrate::judgeable(&applier, &everything).await, &rendering(prepared), false).await
    };
    let (findings, dry_run) = futures::join!(preflight::check(client, plan), dry_run);
    if !findings.problems.is_empty() {
        return Err(Failure::Input(findings.problems));
    }
    if let Some(tooling) = parent?.as_ref().and_then(applyset::foreign_tooling) {
        return Err(Failure::Failed(format!(
            "Secret/{} belongs to an ApplySet managed by {tooling}, not kubectl-mlflow (use that tool, or another release name)",
            applyset::parent_name(&release.name)
        )));
    }
    dry_run?;
    if options.create_namespace && !findings.namespace_exists {
        ensure_namespace(client, ns, options.dry_run_server).await?;
    }
    progress.phase("applying");
    applier.apply(&parent_member(&all_kinds)).await?;
    let (jobs, rest): (Vec<Member>, Vec<Member>) = members.iter().cloned().partition(migrate::is_migration);
    let (secrets, rest): (Vec<Member>, Vec<Member>) = rest.into_iter().partition(external_secrets::is_external_secrets);
    // Their Secret is awaited when something reads it next: the migration Job, or the wait.
    let await_secret = options.wait || !jobs.is_empty();
    external_secrets::apply_and_wait(&applier, &secrets, await_secret.then_some(options.timeout), progress).await?;
    for job in &jobs {
        migrate::run(&applier, job, options.timeout, progress).await?;
    }
    let applied = applier.apply_all(&rest, |m| progress.phase(&format!("applied {}", m.describe()))).await?;
    let keep: BTreeSet<(String, String)> =
        members.iter().map(|m| (m.kind.group_kind(), m.name().to_string())).collect();
    let pruned = applier.prune(&id, &all_kinds, &keep).await?;
    // The parent already says exactly this when no kind left the set.
    if all_kinds != new_kinds {
        applier.apply(&parent_member(&new_kinds)).await?;
    }
    let mut notes = pruned;
    if options.dry_run_server {
        notes.push(format!(
            "server dry run: the API server accepted all {} objects; nothing was persisted",
            members.len() + 1
        ));
    }
    let rolled_out = !options.dry_run_server && applied.iter().any(|o| wait::is_rolled_out(o, &prepared.rendered.wait));
    Ok(Outcome { notes, rolled_out })
}

/// The kinds an upgrade will prune objects of (PersistentVolumeClaims only leave the set). A read
/// that fails leaves the question to the permission check of `list`.
async fn planned_deletions(client: &Client, prepared: &Prepared, parent: &Secret) -> BTreeSet<Kind> {
    let release = &prepared.release;
    let id = applyset::id(&applyset::parent_name(&release.name), &release.namespace);
    let applier = Applier {
        client: client.clone(),
        namespace: release.namespace.clone(),
        force_conflicts: false,
        dry_run: true,
        verbose: false,
    };
    let keep = prepared
        .rendered
        .objects
        .iter()
        .map(Member::plain)
        .map(|m| (m.kind.group_kind(), m.name().to_string()))
        .collect();
    let to_prune = applier.to_prune(&id, &applyset::group_kinds(parent), &keep).await.unwrap_or_default();
    to_prune.into_iter().filter(|m| !m.stays).map(|m| m.kind).collect()
}

/// The Secrets the release makes through an ExternalSecret: references to them need not exist yet.
fn made_secrets(objects: &[crate::render::Object]) -> BTreeSet<String> {
    objects
        .iter()
        .filter_map(|o| match o {
            crate::render::Object::ExternalSecret(e) => {
                e.data.pointer("/spec/target/name").and_then(serde_json::Value::as_str).map(String::from)
            }
            _ => None,
        })
        .collect()
}

fn rendering(prepared: &Prepared) -> dry_run::Rendering<'_> {
    dry_run::Rendering { objects: &prepared.rendered.objects, values: &prepared.values }
}

async fn ensure_namespace(client: &Client, name: &str, dry_run: bool) -> Result<(), Failure> {
    let api = Api::<Namespace>::all(client.clone());
    if api.get_opt(name).await.map_err(|err| Failure::Failed(describe(&err)))?.is_some() {
        return Ok(());
    }
    let namespace = Namespace {
        metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
        ..Default::default()
    };
    let params = PostParams { dry_run, ..PostParams::default() };
    api.create(&params, &namespace)
        .await
        .map_err(|err| Failure::Failed(format!("cannot create namespace {name}: {}", describe(&err))))?;
    Ok(())
}

async fn install_with_helm(
    helm: &std::path::Path,
    prepared: &Prepared,
    session: &Session,
    options: &InstallOptions,
    progress: &mut dyn Sink,
) -> Result<Outcome, Failure> {
    let version = helm::check_version(helm).await?;
    // The natively rendered objects equal the chart's (the parity test holds them so): rendering
    // first, helm records no failed revision for what the cluster refuses.
    progress.phase("server-side dry run of every object");
    let applier = Applier {
        client: session.client.clone(),
        namespace: prepared.release.namespace.clone(),
        force_conflicts: true,
        dry_run: true,
        verbose: options.verbose,
    };
    let members: Vec<Member> = prepared.rendered.objects.iter().map(Member::plain).collect();
    dry_run::check(&applier, &migrate::judgeable(&applier, &members).await, &rendering(prepared), true).await?;
    progress.phase(&format!("running helm {version}"));
    let run = helm::HelmRun {
        helm,
        release: &prepared.release.name,
        namespace: &prepared.release.namespace,
        context: session.context.as_deref(),
        kubeconfig: session.kubeconfig.as_deref(),
        values_yaml: &crate::yaml::to_string(&prepared.user_values),
        create_namespace: options.create_namespace,
        dry_run_server: options.dry_run_server,
    };
    let result = helm::upgrade_install(&run).await;
    // A failed hook stays (hook-succeeded deletes only the succeeded): its log says why.
    if let (Err(Failure::Failed(message)), Some(job)) = (&result, members.iter().find(|m| migrate::is_migration(m))) {
        let details = migrate::diagnose(&applier, job.name()).await;
        if !details.is_empty() {
            return Err(Failure::Failed(format!("{message}\n{details}")));
        }
    }
    result?;
    Ok(Outcome {
        notes: vec![format!(
            "helm release {} is listed by: helm list -n {}",
            prepared.release.name, prepared.release.namespace
        )],
        ..Outcome::default()
    })
}
