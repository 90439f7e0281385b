//! The native engine's run, request by request: nothing is written after a refused dry run,
//! what the dry run shows stored as it is already is not applied again, and the ApplySet parent
//! names every kind that may hold members until the members that left the set (as the listing
//! before the first write found them) are pruned.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use super::fake_api::{apply, delete, dry_run, get, post, status, Exchange, FakeApi, Script, Served};
use super::{
    applyset_selector, everything_granted, namespace_exists, path, quick_start, version, FULLNAME, NS, PARENT,
};
use crate::cluster::Session;
use crate::engine::apply::Member;
use crate::engine::{applyset, install, parent_member, Engine, InstallOptions, Outcome};
use crate::release::Prepared;
use crate::Failure;

const KINDS: &str = "Deployment.apps,PersistentVolumeClaim,Service,ServiceAccount";

async fn run(prepared: &Prepared, create_namespace: bool, api: FakeApi) -> (Result<Outcome, Failure>, Vec<Served>) {
    run_locking(prepared, create_namespace, false, api).await
}

/// [`run`], with `lock`: the release's Lease taken before the first write.
async fn run_locking(
    prepared: &Prepared,
    create_namespace: bool,
    lock: bool,
    api: FakeApi,
) -> (Result<Outcome, Failure>, Vec<Served>) {
    let session = Session { client: api.client.clone(), namespace: NS.into(), context: None, kubeconfig: None };
    let options = InstallOptions {
        engine: Engine::Native,
        create_namespace,
        wait: true,
        timeout: Duration::from_secs(5),
        force_conflicts: false,
        dry_run_server: false,
        verbose: false,
        chart: None,
        namespace_absent: false,
        lock,
    };
    let outcome = install(&session, prepared, &options, &mut ()).await;
    (outcome, api.finish().await)
}

/// The release's members as the engine applies them (labelled into the set).
fn members(prepared: &Prepared) -> Vec<Member> {
    let id = applyset::id(PARENT, NS);
    prepared.rendered.objects.iter().map(|o| Member::from_object(o, &id)).collect()
}

/// `/api/v1/namespaces/ml/deployments/mlflow-mlflow` (under `/apis/apps/v1` as its group asks).
fn member_path(member: &Member) -> String {
    path(member.kind.group, member.kind.plural, member.name())
}

/// A member as the API server stores it and answers an apply of it: a Deployment has rolled out.
fn stored(member: &Member) -> Value {
    let mut object = serde_json::to_value(&member.object).expect("JSON");
    if member.kind.kind == "Deployment" {
        object["status"] =
            json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1});
    }
    object
}

/// The parent an earlier install of `earlier` left, naming these kinds.
fn stored_parent(earlier: &Prepared, kinds: &str) -> Value {
    let kinds: BTreeSet<String> = kinds.split(',').map(String::from).collect();
    serde_json::to_value(&parent_member(earlier, &kinds).object).expect("JSON")
}

/// The listing of the set's members of one group-kind, finding what the earlier install stored.
fn list_stored(earlier: &Prepared, group_kind: &str) -> Exchange {
    let items: Vec<Value> = members(earlier).iter().filter(|m| m.kind.group_kind() == group_kind).map(stored).collect();
    let kind = crate::engine::kinds::Kind::from_group_kind(group_kind).expect("a known kind");
    get(&path(kind.group, kind.plural, ""))
        .query(&[("labelSelector", &applyset_selector())])
        .ok(json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}))
}

/// What a run reads first, at once: the parent, and the set's members of each kind it renders.
fn read_release(earlier: &Prepared, earlier_kinds: &str, now: &Prepared) -> Vec<Exchange> {
    let kinds: BTreeSet<String> = members(now).iter().map(|m| m.kind.group_kind()).collect();
    std::iter::once(get(&path("", "secrets", PARENT)).ok(stored_parent(earlier, earlier_kinds)))
        .chain(kinds.iter().map(|gk| list_stored(earlier, gk)))
        .collect()
}

/// The server-side dry run of the parent (naming `kinds`) and of every member, each answered
/// with the object as the apply would store it.
fn dry_runs(now: &Prepared) -> Vec<Exchange> {
    std::iter::once(dry_run(&path("", "secrets", PARENT)).echo(json!({})))
        .chain(members(now).iter().map(|m| dry_run(&member_path(m)).ok(stored(m))))
        .collect()
}

/// The checks of a run, all sent at once after the release is read: the dry run and the preflight.
fn checks(now: &Prepared) -> Vec<Exchange> {
    dry_runs(now).into_iter().chain(preflight()).collect()
}

/// The preflight of an install by the cluster's admin: every verb granted by the rules review.
fn preflight() -> Vec<Exchange> {
    vec![version("35"), namespace_exists(), everything_granted()]
}

fn applies(served: &[Served]) -> Vec<String> {
    served
        .iter()
        .filter(|s| s.method != "GET" && !s.query.contains_key("dryRun") && !s.path.contains("authorization.k8s.io"))
        .map(Served::describe)
        .collect()
}

fn contained_kinds(applied_parent: &Served) -> &str {
    applied_parent.body["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_rerun_that_changes_nothing_writes_nothing_and_does_not_wait() {
    let prepared = quick_start("{}");
    // The dry run answers with the objects as stored: no apply follows, and the Deployment it
    // answered with has rolled out, so no watch either (the script has none).
    let script = Script::new().at_once(read_release(&prepared, KINDS, &prepared)).at_once(checks(&prepared));
    let (outcome, served) = run(&prepared, false, script.serve()).await;
    outcome.expect("the rerun");
    assert_eq!(applies(&served), Vec::<String>::new());
}

#[tokio::test]
async fn a_rerun_that_changes_nothing_takes_no_lock() {
    let prepared = quick_start("{}");
    // The same exchanges as without the lock: no Lease is read, made or deleted.
    let script = Script::new().at_once(read_release(&prepared, KINDS, &prepared)).at_once(checks(&prepared));
    let (outcome, served) = run_locking(&prepared, false, true, script.serve()).await;
    outcome.expect("the rerun");
    assert!(!served.iter().any(|s| s.path.contains("leases")), "a Lease request: {served:?}");
}

#[tokio::test]
async fn a_run_that_writes_takes_the_lock_then_reads_and_checks_again_holding_it() {
    let earlier = quick_start("{}");
    let now = quick_start("resources: {requests: {cpu: 150m}}");
    let deployment = members(&now).into_iter().find(|m| m.kind.kind == "Deployment").unwrap();
    let leases = path("coordination.k8s.io", "leases", "");
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": PARENT, "namespace": NS, "resourceVersion": "7"}});
    let script = Script::new()
        .at_once(read_release(&earlier, KINDS, &now))
        .at_once(checks(&now))
        .then([namespace_exists()])
        .then([post(&leases).reply(201, lease)])
        .at_once(read_release(&earlier, KINDS, &now))
        .at_once(checks(&now))
        .then([apply(&path("", "secrets", PARENT)).echo(json!({}))])
        .then([apply(&member_path(&deployment)).ok(stored(&deployment))])
        .then([delete(&format!("{leases}/{PARENT}"))
            .ok(json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}))]);
    let (outcome, served) = run_locking(&now, false, true, script.serve()).await;
    outcome.expect("the upgrade");
    let lease_made = served.iter().position(|s| s.method == "POST" && s.path == leases).expect("the Lease made");
    let first_write =
        served.iter().position(|s| s.method == "PATCH" && !s.query.contains_key("dryRun")).expect("a write");
    assert!(lease_made < first_write, "written before the lock was taken: {served:?}");
    assert_eq!(served.last().map(|s| s.method.as_str()), Some("DELETE"), "the lock given up last");
}

#[tokio::test]
async fn a_rerun_that_changes_nothing_still_prunes_what_the_set_holds_and_it_does_not_render() {
    let prepared = quick_start("{}");
    // An earlier run left a ServiceAccount this one does not render; everything else is stored
    // as rendered. The preflight, the dry run and the listing are all made, and the prune takes
    // the stray account out with no second listing; nothing else is written.
    let mut stray = members(&prepared).into_iter().find(|m| m.kind.kind == "ServiceAccount").unwrap();
    stray.object.metadata.name = Some("stray".into());
    let mut read = read_release(&prepared, KINDS, &prepared);
    let accounts = read.iter().position(|e| e.is_for("serviceaccounts")).unwrap();
    let mut listed: Vec<Value> =
        members(&prepared).iter().filter(|m| m.kind.kind == "ServiceAccount").map(stored).collect();
    listed.push(stored(&stray));
    read[accounts] = get(&path("", "serviceaccounts", ""))
        .query(&[("labelSelector", &applyset_selector())])
        .ok(json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": listed}));
    let script =
        Script::new().at_once(read).at_once(checks(&prepared)).then([delete(&path("", "serviceaccounts", "stray"))
            .ok(json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}))]);
    let (outcome, served) = run(&prepared, false, script.serve()).await;
    assert_eq!(outcome.expect("the rerun").notes[0], "pruned ServiceAccount/stray");
    assert_eq!(applies(&served), [format!("DELETE /api/v1/namespaces/{NS}/serviceaccounts/stray")]);
}

#[tokio::test]
async fn a_rerun_the_preflight_refuses_writes_nothing() {
    let earlier = quick_start("{}");
    let now = quick_start("env: [{name: DB, valueFrom: {secretKeyRef: {name: db, key: uri}}}]");
    // The script ends with the preflight and the dry run: any write after them fails it.
    // The preflight reads the Secret once it has seen the namespace.
    let script = Script::new().at_once(read_release(&earlier, KINDS, &now)).then(dry_runs(&now).into_iter().chain([
        version("35"),
        namespace_exists(),
        get(&path("", "secrets", "db")).not_found(),
        everything_granted(),
    ]));
    let (outcome, served) = run(&now, false, script.serve()).await;
    let failure = outcome.expect_err("the preflight refused");
    assert_eq!(failure.exit_code(), 2);
    assert_eq!(
        failure.to_string(),
        format!("env[0].valueFrom: Secret db not found in namespace {NS} (create it: kubectl create secret generic db -n {NS} --from-literal=uri=...)")
    );
    assert_eq!(applies(&served), Vec::<String>::new());
}

#[tokio::test]
async fn only_what_the_dry_run_shows_changed_is_applied() {
    let earlier = quick_start("{}");
    let now = quick_start("resources: {requests: {cpu: 150m}}");
    let deployment = members(&now).into_iter().find(|m| m.kind.kind == "Deployment").unwrap();
    let script = Script::new()
        .at_once(read_release(&earlier, KINDS, &now))
        .at_once(checks(&now))
        // The parent holds the new values.
        .then([apply(&path("", "secrets", PARENT)).echo(json!({}))])
        .then([apply(&member_path(&deployment)).ok(stored(&deployment))]);
    let (outcome, served) = run(&now, false, script.serve()).await;
    outcome.expect("the upgrade");
    assert_eq!(
        applies(&served),
        [
            format!("PATCH /api/v1/namespaces/{NS}/secrets/{PARENT}?fieldManager=kubectl-mlflow"),
            format!("PATCH /apis/apps/v1/namespaces/{NS}/deployments/{FULLNAME}?fieldManager=kubectl-mlflow"),
        ]
    );
}

#[tokio::test]
async fn a_refused_dry_run_writes_nothing() {
    let earlier = quick_start("{}");
    let now = quick_start("storage: {size: 20Gi}");
    let message = "Forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize";
    let refusal = status(
        422,
        "Invalid",
        &format!("PersistentVolumeClaim \"{FULLNAME}\" is invalid: spec.resources.requests.storage: {message}"),
        json!({"name": FULLNAME, "kind": "persistentvolumeclaims", "causes": [
            {"reason": "FieldValueForbidden", "message": message, "field": "spec.resources.requests.storage"}]}),
    );
    let mut checks = dry_runs(&now);
    checks.retain(|e| !e.is_for("persistentvolumeclaims"));
    checks.push(dry_run(&path("", "persistentvolumeclaims", FULLNAME)).reply(422, refusal));
    // The script ends with the dry run: any write after it is a request the fake refuses.
    let script =
        Script::new().at_once(read_release(&earlier, KINDS, &now)).at_once(checks.into_iter().chain(preflight()));
    let (outcome, _) = run(&now, false, script.serve()).await;
    let failure = outcome.expect_err("the dry run refused");
    assert_eq!(
        failure.to_string(),
        format!("storage.size: the API server refuses PersistentVolumeClaim/{FULLNAME} at spec.resources.requests.storage: {message} (its StorageClass cannot expand volumes: keep storage.size as it is, or move the data to a new claim)")
    );
    assert_eq!(failure.exit_code(), 2);
}

#[tokio::test]
async fn kinds_that_left_the_set_are_pruned_and_then_leave_the_parent() {
    // The earlier run had an Ingress; this one has none.
    let earlier = quick_start("ingress: {enabled: true, hosts: [{host: mlflow.example.com}]}");
    let now = quick_start("{}");
    let with_ingress = "Deployment.apps,Ingress.networking.k8s.io,PersistentVolumeClaim,Service,ServiceAccount";
    // The server no longer allows the Ingress's host.
    let deployment = members(&now).into_iter().find(|m| m.kind.kind == "Deployment").unwrap();
    let script = Script::new()
        .at_once(read_release(&earlier, with_ingress, &now))
        // the kind only the parent names
        .then([list_stored(&earlier, "Ingress.networking.k8s.io")])
        .at_once(checks(&now))
        // The parent holds the new values and still names Ingresses until they are pruned.
        .then([apply(&path("", "secrets", PARENT)).echo(json!({}))])
        .then([apply(&member_path(&deployment)).ok(stored(&deployment))])
        .then([delete(&path("networking.k8s.io", "ingresses", FULLNAME))
            .ok(json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}))])
        .then([apply(&path("", "secrets", PARENT)).echo(json!({}))]);
    let (outcome, served) = run(&now, false, script.serve()).await;
    let outcome = outcome.expect("the upgrade");
    assert_eq!(outcome.notes[0], format!("pruned Ingress/{FULLNAME}"));
    let parents: Vec<&str> = served
        .iter()
        .filter(|s| s.method == "PATCH" && s.path.ends_with(PARENT) && !s.query.contains_key("dryRun"))
        .map(contained_kinds)
        .collect();
    assert_eq!(parents, [with_ingress, KINDS]);
    // The parent was dry-run as it was applied first.
    let dry_run_parents: Vec<&str> = served
        .iter()
        .filter(|s| s.method == "PATCH" && s.path.ends_with(PARENT) && s.query.contains_key("dryRun"))
        .map(contained_kinds)
        .collect();
    assert_eq!(dry_run_parents, [with_ingress]);
}

#[tokio::test]
async fn a_first_install_creates_the_namespace_then_the_parent_then_the_members_in_waves() {
    let prepared = quick_start("{}");
    let nothing = json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []});
    let no_namespace =
        status(404, "NotFound", &format!("namespaces \"{NS}\" not found"), json!({"name": NS, "kind": "namespaces"}));
    let read: Vec<Exchange> = std::iter::once(get(&path("", "secrets", PARENT)).not_found())
        .chain(KINDS.split(',').filter_map(crate::engine::kinds::Kind::from_group_kind).map(|k| {
            get(&path(k.group, k.plural, "")).query(&[("labelSelector", &applyset_selector())]).ok(nothing.clone())
        }))
        .collect();
    // Nothing can be judged in a namespace that does not exist yet.
    let dry_runs_without_namespace =
        std::iter::once(dry_run(&path("", "secrets", PARENT)).reply(404, no_namespace.clone()))
            .chain(members(&prepared).into_iter().map(|m| dry_run(&member_path(&m)).reply(404, no_namespace.clone())));
    let preflight = [version("35"), get(&format!("/api/v1/namespaces/{NS}")).not_found(), everything_granted()];
    let member = |kind: &str| members(&prepared).into_iter().find(|m| m.kind.kind == kind).unwrap();
    let applied = |kind: &str| apply(&member_path(&member(kind))).ok(stored(&member(kind)));
    let script = Script::new()
        .at_once(read)
        .at_once(dry_runs_without_namespace.chain(preflight))
        .then([
            post("/api/v1/namespaces").ok(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        ])
        .then([apply(&path("", "secrets", PARENT)).echo(json!({}))])
        .then([applied("ServiceAccount"), applied("PersistentVolumeClaim"), applied("Service")])
        .then([applied("Deployment")]);
    let (outcome, _) = run(&prepared, true, script.serve()).await;
    outcome.expect("the first install");
}

#[tokio::test]
async fn an_applyset_of_another_tool_is_refused_before_any_write() {
    let prepared = quick_start("{}");
    let mut foreign = stored_parent(&prepared, KINDS);
    foreign["metadata"]["annotations"]["applyset.kubernetes.io/tooling"] = json!("kubectl/v1.35.8");
    let mut read = read_release(&prepared, KINDS, &prepared);
    read[0] = get(&path("", "secrets", PARENT)).ok(foreign);
    let script = Script::new().at_once(read).at_once(checks(&prepared));
    let (outcome, _) = run(&prepared, false, script.serve()).await;
    assert_eq!(
        outcome.expect_err("another tool's set").to_string(),
        format!("Secret/{PARENT} belongs to an ApplySet managed by kubectl/v1.35.8, not kubectl-mlflow (use that tool, or another release name)")
    );
}

#[test]
fn a_failure_half_way_says_what_was_and_was_not_written() {
    use crate::engine::partly;
    let all = ["Secret/r".to_string(), "Service/s".to_string(), "Deployment/d".to_string()];
    let failed = partly(Failure::Failed("Deployment/d: forbidden".into()), &all[..2], &all);
    let text = failed.to_string();
    assert!(
        text.starts_with(
            "Deployment/d: forbidden\nwritten before the failure: Secret/r, Service/s\nnot written: Deployment/d\n"
        ),
        "{text}"
    );
    assert_eq!(partly(Failure::Failed("x".into()), &[], &all).to_string(), "x");
    assert!(partly(Failure::Failed("x".into()), &all, &all).to_string().contains("not written: nothing"));
}
