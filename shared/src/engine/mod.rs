//! Putting a rendered release on a cluster: preflight, then either the native engine
//! (server-side apply, recorded as an ApplySet) or a real helm, then a watched wait.

pub mod access;
pub mod apply;
pub mod applyset;
pub mod chart;
pub mod discovery;
pub mod dry_run;
pub mod events;
pub mod external_secrets;
pub mod generated;
pub mod helm;
pub mod installed;
pub mod kinds;
pub mod live;
pub mod lock;
pub mod migrate;
pub mod preflight;
pub mod prune;
pub mod published;
pub mod reuse;
pub mod wait;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, PostParams};
use kube::Client;

use self::apply::{Applier, Member};
use self::kinds::Kind;
use self::live::Live;
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
    /// With the helm engine: a chart pulled from a registry (`--chart`), the same as the embedded
    /// one, to install instead of it.
    pub chart: Option<PathBuf>,
    /// The release's namespace does not exist (a first install with `--create-namespace`): the
    /// release is not read, as nothing of it can be stored there.
    pub namespace_absent: bool,
    /// Take the release's lock ([`lock`]) before the first write (the native engine). A run that
    /// finds nothing to write (a no-op rerun) takes none.
    pub lock: bool,
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
///
/// With `options.lock`, a run that is to write takes the release's lock ([`lock`], which the
/// preflight's permission check covers) and then reads, checks and dry-runs everything again
/// holding it: what the first pass read may be another run's half-written state. A run that
/// finds nothing to write ends without the lock: at the moment of its dry run every object was
/// stored as it would apply it and nothing was to be pruned, so its result is that of a run
/// taken just before any other; a write by another run between its listing and its dry run
/// changes the objects' resourceVersion, which it then sees as a change (and locks).
pub async fn install(
    session: &Session,
    prepared: &Prepared,
    options: &InstallOptions,
    progress: &mut dyn Sink,
) -> Result<Outcome, Failure> {
    let first = install_once(session, prepared, options, progress).await;
    let Ok(None) = first else { return first.map(Option::unwrap_or_default) };
    let release = &prepared.release;
    let held = lock::acquire(&session.client, &release.namespace, &release.name, options.timeout, progress).await?;
    // no lock without a namespace to hold it in (deleted meanwhile): nothing of the release is there
    let options = InstallOptions { namespace_absent: held.is_none(), lock: false, ..options.clone() };
    let outcome = install_once(session, prepared, &options, progress).await;
    if let Some(held) = held {
        held.release().await;
    }
    outcome.map(Option::unwrap_or_default)
}

/// One pass of [`install`]: `None` when `options.lock` is set and the run is to write.
async fn install_once(
    session: &Session,
    prepared: &Prepared,
    options: &InstallOptions,
    progress: &mut dyn Sink,
) -> Result<Option<Outcome>, Failure> {
    let client = &session.client;
    let release = &prepared.release;
    if matches!(options.engine, Engine::Native) {
        prepared.rendered.native_refusals()?;
    }
    progress.phase("checking the cluster");
    let problems = discovery::extra_kinds(client, &prepared.rendered.extras(), &release.namespace).await;
    if !problems.is_empty() {
        return Err(Failure::Input(problems));
    }
    let kinds: BTreeSet<Kind> = prepared.rendered.objects.iter().filter_map(kinds::of_object).collect();
    let applier = Applier {
        client: client.clone(),
        namespace: release.namespace.clone(),
        force_conflicts: options.force_conflicts,
        dry_run: options.dry_run_server,
        verbose: options.verbose,
    };
    let live = match options.engine {
        Engine::Native if options.namespace_absent => Some(Live::absent(&release.name)),
        Engine::Native => {
            Some(Live::read(&applier, &release.name, &kinds.iter().map(Kind::group_kind).collect()).await)
        }
        Engine::Helm(_) => None,
    };
    let keep = rendered_names(prepared);
    // What pruning will delete (PersistentVolumeClaims only leave the set). A listing that
    // failed leaves the question to the permission check of `list`.
    let leaving = live.iter().flat_map(|live| live.leaving(&keep).unwrap_or_default());
    let mut deletes: BTreeSet<Kind> = leaving.filter(|m| !m.stays).map(|m| m.kind).collect();
    if matches!(options.engine, Engine::Native) {
        // The migration Job of an earlier run is deleted before the new one is applied.
        deletes.extend(kinds.iter().copied().filter(|k| k.kind == "Job"));
    }
    let wait = options.wait && !options.dry_run_server;
    let made = made_objects(&prepared.rendered.objects);
    let plan = preflight::Plan {
        values: &prepared.values,
        namespace: &release.namespace,
        create_namespace: options.create_namespace,
        kinds,
        deletes,
        wait,
        made,
        lock: matches!(options.engine, Engine::Native) && !options.dry_run_server,
    };
    let mut outcome = match (&options.engine, live) {
        (Engine::Helm(helm), _) => {
            let findings = preflight::check(client, &plan).await;
            if !findings.problems.is_empty() {
                return Err(Failure::Input(findings.problems));
            }
            install_with_helm(helm, prepared, session, options, progress).await?
        }
        (Engine::Native, live) => {
            let live = live.expect("the native engine read the release");
            match install_native(&applier, prepared, &plan, live, options, progress).await? {
                Some(outcome) => outcome,
                None => return Ok(None),
            }
        }
    };
    if wait && !outcome.rolled_out {
        wait::wait(client, &prepared.rendered.wait, options.timeout, progress).await?;
    }
    outcome.notes.extend(prepared.rendered.access.iter().cloned());
    Ok(Some(outcome))
}

/// The native engine's run; `None`, before any write, when it is to write and `options.lock`
/// asks for the lock first.
async fn install_native(
    applier: &Applier,
    prepared: &Prepared,
    plan: &preflight::Plan<'_>,
    live: Live,
    options: &InstallOptions,
    progress: &mut dyn Sink,
) -> Result<Option<Outcome>, Failure> {
    let client = &applier.client;
    let release = &prepared.release;
    let ns = &release.namespace;
    let old_kinds = live.parent.as_ref().ok().and_then(Option::as_ref).map(applyset::group_kinds).unwrap_or_default();
    let id = applyset::id(&applyset::parent_name(&release.name), ns);
    let members: Vec<Member> = prepared.rendered.objects.iter().map(|o| Member::from_object(o, &id)).collect();
    let new_kinds: BTreeSet<String> = members.iter().map(|m| m.kind.group_kind()).collect();
    let all_kinds: BTreeSet<String> = old_kinds.union(&new_kinds).cloned().collect();
    // The parent first lists every kind that may hold members, so an interrupted run still
    // leaves a set that a rerun can prune.
    let parent = parent_member(prepared, &all_kinds);
    progress.phase("checking the cluster and a server-side dry run of every object");
    let everything: Vec<Member> = std::iter::once(parent.clone()).chain(members.iter().cloned()).collect();
    // In a namespace that does not exist the API server judges no namespaced object: it answers
    // NotFound (after a 50 ms wait for its cache), which the dry run skips; so they are not sent.
    let everything: Vec<Member> =
        everything.into_iter().filter(|m| !(options.namespace_absent && m.kind.namespaced)).collect();
    // Both only read (a dry run persists nothing), so they go at once; their verdicts are taken
    // in the order they always were: the preflight's problems first.
    let dry_run = async {
        dry_run::check(applier, &migrate::judgeable(applier, &everything).await, &rendering(prepared), false).await
    };
    let (findings, dry_run) = futures::join!(preflight::check(client, plan), dry_run);
    if !findings.problems.is_empty() {
        return Err(Failure::Input(findings.problems));
    }
    if let Some(tooling) = live.parent.clone()?.as_ref().and_then(applyset::foreign_tooling) {
        return Err(Failure::Failed(format!(
            "Secret/{} belongs to an ApplySet managed by {tooling}, not kubectl-mlflow (use that tool, or another release name)",
            applyset::parent_name(&release.name)
        )));
    }
    // What the dry run answered with the object as stored is not applied again: it would write
    // nothing (a rerun that changes nothing writes nothing).
    let unchanged = live.unchanged(dry_run?);
    // What the prune takes out is what an earlier run left: this run adds only members it keeps.
    let leaving = live.leaving(&rendered_names(prepared))?;
    let namespace_to_make = options.create_namespace && !findings.namespace_exists;
    let (jobs, rest): (Vec<Member>, Vec<Member>) = members.iter().cloned().partition(migrate::is_migration);
    // Every write below follows from one of these (the SQLite copy from a changed Deployment).
    let writes = namespace_to_make
        || !unchanged.covers(&parent)
        || !members.iter().all(|m| unchanged.covers(m))
        || !leaving.is_empty()
        || !jobs.is_empty()
        || all_kinds != new_kinds;
    if writes && options.lock {
        return Ok(None);
    }
    if namespace_to_make {
        create_namespace(client, ns, options.dry_run_server).await?;
    }
    progress.phase("applying");
    // What is written so far, for a failure half-way (nothing is rolled back: a rerun goes on).
    let parent_written = format!("Secret/{}", applyset::parent_name(&release.name));
    let all: Vec<String> =
        std::iter::once(parent_written.clone()).chain(members.iter().map(Member::describe)).collect();
    let mut written: Vec<String> = Vec::new();
    applier.apply_changed(&parent, &unchanged).await?;
    written.push(parent_written);
    let (secrets, rest): (Vec<Member>, Vec<Member>) = rest.into_iter().partition(external_secrets::is_external_secrets);
    // Their Secret is awaited when something reads it next: the migration Job, or the wait.
    let await_secret = options.wait || !jobs.is_empty();
    external_secrets::apply_and_wait(applier, &secrets, &unchanged, await_secret.then_some(options.timeout), progress)
        .await
        .map_err(|err| partly(err, &written, &all))?;
    written.extend(secrets.iter().map(Member::describe));
    for job in &jobs {
        migrate::run(applier, job, options.timeout, progress).await.map_err(|err| partly(err, &written, &all))?;
        written.push(job.describe());
    }
    let enabled = prepared.values.migrations.enabled;
    let stored = live.deployment(&prepared.rendered.objects);
    let copied =
        migrate::sqlite_upgrade(applier, &prepared.rendered.objects, stored, enabled, options.timeout, progress)
            .await
            .map_err(|err| partly(err, &written, &all))?;
    let applied = applier
        .apply_all(&rest, &unchanged, |m| {
            progress.phase(&format!("applied {}", m.describe()));
            written.push(m.describe());
        })
        .await;
    let applied = applied.map_err(|err| partly(err, &written, &all))?;
    let pruned = applier.take_out(&leaving).await.map_err(|err| partly(err, &written, &all))?;
    // The parent already says exactly this when no kind left the set.
    if all_kinds != new_kinds {
        applier.apply(&parent_member(prepared, &new_kinds)).await.map_err(|err| partly(err, &written, &all))?;
    }
    let mut notes = pruned;
    notes.extend(copied);
    if options.dry_run_server {
        notes.push(format!(
            "server dry run: the API server accepted all {} objects; nothing was persisted",
            members.len() + 1
        ));
    }
    let rolled_out = !options.dry_run_server && applied.iter().any(|o| wait::is_rolled_out(o, &prepared.rendered.wait));
    Ok(Some(Outcome { notes, rolled_out }))
}

/// A failure after the first write says what was written and what was not: nothing is rolled
/// back, and the same command, rerun, applies the rest and prunes what no longer belongs.
fn partly(err: Failure, written: &[String], all: &[String]) -> Failure {
    let Failure::Failed(message) = err else { return err };
    if written.is_empty() {
        return Failure::Failed(message);
    }
    let not_written: Vec<&str> = all.iter().filter(|d| !written.contains(d)).map(String::as_str).collect();
    let not_written = match not_written.is_empty() {
        true => "nothing (what failed came after the objects: pruning, or the release's record)".to_string(),
        false => not_written.join(", "),
    };
    Failure::Failed(format!(
        "{message}\nwritten before the failure: {}\nnot written: {not_written}\nnothing was rolled back: \
         rerun the same command once this is fixed (it applies the rest and prunes what no longer belongs)",
        written.join(", ")
    ))
}

/// The ApplySet parent of a release: the kinds that may hold members, the user's values.
fn parent_member(prepared: &Prepared, kinds: &BTreeSet<String>) -> Member {
    let release = &prepared.release;
    let mut labels = identity::labels(&release.name, None);
    labels.insert(MANAGED_BY_LABEL.into(), crate::render::MANAGED_BY.into());
    let values_yaml = crate::yaml::print(&prepared.user_values);
    let parent = applyset::parent(&release.name, &release.namespace, labels, kinds, &values_yaml);
    Member {
        kind: Kind::named("Secret").expect("Secret is known"),
        object: serde_json::from_value(serde_json::to_value(parent).expect("serializes"))
            .expect("a Secret is a valid object"),
        extra: false,
    }
}

/// The group-kind and name of every rendered object: the members a prune keeps.
fn rendered_names(prepared: &Prepared) -> BTreeSet<(String, String)> {
    prepared.rendered.objects.iter().map(Member::plain).map(|m| (m.kind.group_kind(), m.name().to_string())).collect()
}

/// The Secrets and ConfigMaps the release makes, through an ExternalSecret or as extra objects
/// (kind, name): references to them need not exist yet.
fn made_objects(objects: &[crate::render::Object]) -> BTreeSet<(String, String)> {
    use crate::render::Object;
    objects
        .iter()
        .filter_map(|o| match o {
            Object::ExternalSecret(e) => e
                .data
                .pointer("/spec/target/name")
                .and_then(serde_json::Value::as_str)
                .map(|name| ("Secret".to_string(), name.to_string())),
            Object::Extra(e) if e.group().is_empty() && matches!(e.kind(), "Secret" | "ConfigMap") => {
                Some((e.kind().to_string(), e.object.metadata.name.clone().unwrap_or_default()))
            }
            // An ExternalSecret of its own names its Secret's name, or makes one of its own name.
            Object::Extra(e) if e.group() == crate::render::external_secrets::GROUP && e.kind() == "ExternalSecret" => {
                let target = e.object.data.pointer("/spec/target/name").and_then(serde_json::Value::as_str);
                let name = target.map(String::from).or_else(|| e.object.metadata.name.clone())?;
                Some(("Secret".to_string(), name))
            }
            _ => None,
        })
        .collect()
}

fn rendering(prepared: &Prepared) -> dry_run::Rendering<'_> {
    dry_run::Rendering { objects: &prepared.rendered.objects, values: &prepared.values }
}

/// Creates the namespace the preflight did not find; one made meanwhile is as good.
async fn create_namespace(client: &Client, name: &str, dry_run: bool) -> Result<(), Failure> {
    let namespace = Namespace {
        metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
        ..Default::default()
    };
    let params = PostParams { dry_run, ..PostParams::default() };
    match Api::<Namespace>::all(client.clone()).create(&params, &namespace).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(err) => Err(Failure::Failed(format!("cannot create namespace {name}: {}", describe(&err)))),
    }
}

async fn install_with_helm(
    helm: &std::path::Path,
    prepared: &Prepared,
    session: &Session,
    options: &InstallOptions,
    progress: &mut dyn Sink,
) -> Result<Outcome, Failure> {
    let version = helm::check_version(helm).await?;
    // The natively rendered objects equal the chart's (the parity test holds them so): dry-run
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
    // helm's chart has no hook for a SQLite store: the copy and the migration run here first.
    let copy_applier = Applier {
        client: session.client.clone(),
        namespace: prepared.release.namespace.clone(),
        force_conflicts: false,
        dry_run: options.dry_run_server,
        verbose: options.verbose,
    };
    let enabled = prepared.values.migrations.enabled;
    let stored = migrate::stored_deployment(&copy_applier, &prepared.rendered.objects).await;
    let copied =
        migrate::sqlite_upgrade(&copy_applier, &prepared.rendered.objects, stored, enabled, options.timeout, progress)
            .await?;
    progress.phase(&format!("running helm {version}"));
    let run = helm::HelmRun {
        helm,
        release: &prepared.release.name,
        namespace: &prepared.release.namespace,
        context: session.context.as_deref(),
        kubeconfig: session.kubeconfig.as_deref(),
        values_yaml: &crate::yaml::print(&prepared.user_values),
        create_namespace: options.create_namespace,
        dry_run_server: options.dry_run_server,
        chart: options.chart.as_deref(),
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
    let mut notes: Vec<String> = copied.into_iter().collect();
    notes.push(format!(
        "helm release {} is listed by: helm list -n {}",
        prepared.release.name, prepared.release.namespace
    ));
    Ok(Outcome { notes, ..Outcome::default() })
}
