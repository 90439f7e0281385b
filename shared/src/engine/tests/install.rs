//! The native engine's run, request by request: nothing is written after a refused dry run, the
//! ApplySet parent names every kind that may hold members until the kinds that left the set are
//! pruned, and a rerun that changes nothing does not wait.

use std::time::Duration;

use serde_json::{json, Value};

use super::fake_api::{apply, delete, dry_run, get, status, Exchange, FakeApi, Script, Served};
use super::{
    applyset_selector, everything_granted, namespace_exists, path, quick_start, version, FULLNAME, NS, PARENT,
    QUICK_START_MEMBERS,
};
use crate::cluster::Session;
use crate::engine::{install, Engine, InstallOptions, Outcome};
use crate::release::Prepared;
use crate::Failure;

const KINDS: &str = "Deployment.apps,PersistentVolumeClaim,Service,ServiceAccount";
const INGRESS: (&str, &str) = ("networking.k8s.io", "ingresses");

fn options() -> InstallOptions {
    InstallOptions {
        engine: Engine::Native,
        create_namespace: false,
        wait: true,
        timeout: Duration::from_secs(5),
        force_conflicts: false,
        dry_run_server: false,
        verbose: false,
    }
}

async fn run(prepared: &Prepared, api: FakeApi) -> (Result<Outcome, Failure>, Vec<Served>) {
    let session = Session { client: api.client.clone(), namespace: NS.into(), context: None, kubeconfig: None };
    let outcome = install(&session, prepared, &options(), &mut ()).await;
    (outcome, api.finish().await)
}

/// The parent Secret of an earlier install whose members had these kinds.
fn parent(kinds: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": PARENT, "namespace": NS,
        "annotations": {"applyset.kubernetes.io/tooling": "kubectl-mlflow/v0.1.0",
                        "applyset.kubernetes.io/contains-group-kinds": kinds}},
        "type": "kubectl-mlflow.io/release", "data": {"values.yaml": "e30K"}})
}

fn read_parent(kinds: &str) -> Exchange {
    get(&path("", "secrets", PARENT)).ok(parent(kinds))
}

/// The listing of the set's members of each kind (metadata only), each finding `mlflow-mlflow`.
fn list_members(kinds: &[(&str, &str)]) -> Vec<Exchange> {
    let found = json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": {},
        "items": [{"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {"name": FULLNAME}}]});
    kinds
        .iter()
        .map(|(group, resource)| {
            get(&path(group, resource, "")).query(&[("labelSelector", &applyset_selector())]).ok(found.clone())
        })
        .collect()
}

/// The Deployment as the apply returns it, rolled out.
fn rolled_out() -> Value {
    json!({"status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}})
}

/// The server-side dry run of the parent and of the quick start's members, each accepted but the
/// one of `refused`, answered with its `Status`.
fn dry_runs_refusing(refused: Option<(&str, Value)>) -> Vec<Exchange> {
    let parent = dry_run(&path("", "secrets", PARENT)).echo(json!({}));
    let members = QUICK_START_MEMBERS.iter().map(|(group, resource)| {
        let exchange = dry_run(&path(group, resource, FULLNAME));
        match &refused {
            Some((which, status)) if which == resource => exchange.reply(422, status.clone()),
            _ => exchange.echo(json!({})),
        }
    });
    std::iter::once(parent).chain(members).collect()
}

fn dry_runs() -> Vec<Exchange> {
    dry_runs_refusing(None)
}

/// The preflight of an install by the cluster's admin: every verb granted by the rules review.
fn preflight() -> Vec<Exchange> {
    vec![version("35"), namespace_exists(), everything_granted()]
}

fn apply_member(group: &str, resource: &str) -> Exchange {
    let extra = if resource == "deployments" { rolled_out() } else { json!({}) };
    apply(&path(group, resource, FULLNAME)).echo(extra)
}

/// The applies after the parent, wave by wave: account and claim, Service, Deployment.
fn apply_waves(script: Script) -> Script {
    script
        .then([apply_member("", "serviceaccounts"), apply_member("", "persistentvolumeclaims")])
        .then([apply_member("", "services")])
        .then([apply_member("apps", "deployments")])
}

fn contained_kinds(applied_parent: &Served) -> &str {
    applied_parent.body["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
        .as_str()
        .unwrap_or_default()
}

fn applies_of_parent(served: &[Served]) -> Vec<&Served> {
    served
        .iter()
        .filter(|s| s.method == "PATCH" && s.path.ends_with(PARENT) && !s.query.contains_key("dryRun"))
        .collect()
}

#[tokio::test]
async fn a_refused_dry_run_writes_nothing() {
    let refusal = status(
        422,
        "Invalid",
        "PersistentVolumeClaim \"mlflow-mlflow\" is invalid: spec.resources.requests.storage: Forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
        json!({"name": FULLNAME, "kind": "persistentvolumeclaims", "causes": [{"reason": "FieldValueForbidden",
            "message": "Forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
            "field": "spec.resources.requests.storage"}]}),
    );
    // The script ends with the dry run: any write after it is a request the fake refuses.
    let script = Script::new()
        .then([read_parent(KINDS)])
        .then(list_members(&QUICK_START_MEMBERS))
        .then(dry_runs_refusing(Some(("persistentvolumeclaims", refusal))).into_iter().chain(preflight()));
    let (outcome, served) = run(&quick_start("storage: {size: 20Gi}"), script.serve()).await;
    let failure = outcome.expect_err("the dry run refused");
    assert_eq!(
        failure.to_string(),
        "storage.size: the API server refuses PersistentVolumeClaim/mlflow-mlflow at spec.resources.requests.storage: Forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize (its StorageClass cannot expand volumes: keep storage.size as it is, or move the data to a new claim)"
    );
    assert_eq!(failure.exit_code(), 2);
    assert!(served.iter().all(|s| s.method != "PATCH" || s.query.contains_key("dryRun")), "a write after the refusal");
}

#[tokio::test]
async fn kinds_that_left_the_set_are_pruned_and_then_leave_the_parent() {
    // An earlier run had an Ingress; the quick start has none.
    let earlier = "Deployment.apps,Ingress.networking.k8s.io,PersistentVolumeClaim,Service,ServiceAccount";
    let all_kinds = [QUICK_START_MEMBERS.as_slice(), &[INGRESS]].concat();
    let script = apply_waves(
        Script::new()
            .then([read_parent(earlier)])
            .then(list_members(&all_kinds))
            .then(dry_runs().into_iter().chain(preflight()))
            .then([apply(&path("", "secrets", PARENT)).echo(json!({}))]),
    )
    .then(list_members(&all_kinds))
    .then([delete(&path(INGRESS.0, INGRESS.1, FULLNAME))
        .ok(json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}))])
    .then([apply(&path("", "secrets", PARENT)).echo(json!({}))]);
    let (outcome, served) = run(&quick_start("{}"), script.serve()).await;
    let outcome = outcome.expect("the upgrade");
    assert_eq!(outcome.notes[0], "pruned Ingress/mlflow-mlflow");
    let parents = applies_of_parent(&served);
    assert_eq!(parents.iter().map(|p| contained_kinds(p)).collect::<Vec<_>>(), [earlier, KINDS]);
}

#[tokio::test]
async fn a_rerun_that_changes_nothing_applies_the_parent_once_and_does_not_wait() {
    let script = apply_waves(
        Script::new()
            .then([read_parent(KINDS)])
            .then(list_members(&QUICK_START_MEMBERS))
            .then(dry_runs().into_iter().chain(preflight()))
            .then([apply(&path("", "secrets", PARENT)).echo(json!({}))]),
    )
    .then(list_members(&QUICK_START_MEMBERS));
    // No watch is scripted: a wait would be a request the fake refuses.
    let (outcome, served) = run(&quick_start("{}"), script.serve()).await;
    outcome.expect("the rerun");
    assert_eq!(applies_of_parent(&served).len(), 1);
}

#[tokio::test]
async fn an_applyset_of_another_tool_is_refused_before_any_write() {
    let mut foreign = parent(KINDS);
    foreign["metadata"]["annotations"]["applyset.kubernetes.io/tooling"] = json!("kubectl/v1.35.8");
    let script = Script::new()
        .then([get(&path("", "secrets", PARENT)).ok(foreign)])
        .then(list_members(&QUICK_START_MEMBERS))
        .then(dry_runs().into_iter().chain(preflight()));
    let (outcome, _) = run(&quick_start("{}"), script.serve()).await;
    assert_eq!(
        outcome.expect_err("another tool's set").to_string(),
        format!("Secret/{PARENT} belongs to an ApplySet managed by kubectl/v1.35.8, not kubectl-mlflow (use that tool, or another release name)")
    );
}
