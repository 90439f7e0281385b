//! The preflight's verdicts: each check's refusal, with the values path it names and its fix.

use serde_json::json;

use super::fake_api::{get, Script};
use super::{
    access_reviews, everything_granted, namespace_exists, path, plan, quick_start, rules_review, secret, version, NS,
};
use crate::engine::preflight::{check, Findings};

/// What the quick start's install that waits needs, verb by verb: create, patch and list of its
/// four kinds and of Secrets, get of Secrets, list and watch of Deployments, pods, events and
/// claims, the pods' logs.
const QUICK_START_NEEDS: usize = 23;

async fn preflight(values: &str, deletes: &[&str], script: Script) -> Findings {
    let prepared = quick_start(values);
    let api = script.serve();
    let findings = check(&api.client, &plan(&prepared, deletes)).await;
    api.finish().await;
    findings
}

fn lines(findings: &Findings) -> Vec<String> {
    findings.problems.0.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn the_quick_start_on_a_ready_cluster_passes() {
    let script = Script::new().then([version("35"), namespace_exists(), everything_granted()]);
    let findings = preflight("{}", &[], script).await;
    assert!(findings.problems.0.is_empty(), "{:?}", lines(&findings));
    assert!(findings.namespace_exists);
}

#[tokio::test]
async fn a_missing_secret_and_a_missing_key_are_named_with_their_values_path_and_fix() {
    let values = "env: [{name: DB, valueFrom: {secretKeyRef: {name: db, key: uri}}},\n\
                        {name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}]";
    let script = Script::new().then([
        version("35"),
        namespace_exists(),
        get(&path("", "secrets", "db")).not_found(),
        get(&path("", "secrets", "creds")).ok(secret("creds", &["user"])),
        everything_granted(),
    ]);
    let findings = preflight(values, &[], script).await;
    assert_eq!(
        lines(&findings),
        [
            format!("env[0].valueFrom: Secret db not found in namespace {NS} (create it: kubectl create secret generic db -n {NS} --from-literal=uri=...)"),
            "env[1].valueFrom: Secret creds has no key \"token\" (it has: user)".to_string(),
        ]
    );
}

#[tokio::test]
async fn a_missing_storage_class_is_named() {
    let script = Script::new().then([
        version("35"),
        namespace_exists(),
        get("/apis/storage.k8s.io/v1/storageclasses/fast").not_found(),
        everything_granted(),
    ]);
    let findings = preflight("storage: {storageClassName: fast}", &[], script).await;
    assert_eq!(
        lines(&findings),
        ["storage.storageClassName: StorageClass fast does not exist (see kubectl get storageclass, or leave it empty for the default class)"]
    );
}

#[tokio::test]
async fn missing_crds_are_named_with_the_value_that_asks_for_them() {
    let values = "metrics: {enabled: true}\nserviceMonitor: {enabled: true}\n\
                  httpRoute: {enabled: true, parentRefs: [{name: gw}]}";
    // The Gateway API is there, but without HTTPRoutes; the Prometheus Operator's group is not.
    let gateway_api = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "gateway.networking.k8s.io/v1",
        "resources": [{"name": "gateways", "singularName": "gateway", "namespaced": true, "kind": "Gateway", "verbs": ["get"]}]});
    let script = Script::new().then([
        version("35"),
        namespace_exists(),
        get("/apis/monitoring.coreos.com/v1").not_found(),
        get("/apis/gateway.networking.k8s.io/v1").ok(gateway_api),
        everything_granted(),
    ]);
    let findings = preflight(values, &[], script).await;
    assert_eq!(
        lines(&findings),
        [
            "serviceMonitor.enabled: the ServiceMonitor CRD (monitoring.coreos.com/v1) is not installed (install the Prometheus Operator, or set serviceMonitor.enabled=false)",
            "httpRoute.enabled: the HTTPRoute CRD (gateway.networking.k8s.io/v1) is not installed (install the Gateway API CRDs, or set httpRoute.enabled=false)",
        ]
    );
}

#[tokio::test]
async fn the_rules_review_settles_what_it_grants_and_an_access_review_what_it_does_not() {
    // An upgrade that prunes the Ingress of an earlier run needs delete on Ingresses, which the
    // user's rules do not grant: only that verb is asked about, and refused with the can-i line.
    let no_delete =
        json!([{"verbs": ["get", "list", "watch", "create", "patch"], "apiGroups": ["*"], "resources": ["*"]}]);
    let script = Script::new().then(
        [version("35"), namespace_exists(), rules_review(no_delete, false)]
            .into_iter()
            .chain(access_reviews(1, &[("delete", "ingresses")])),
    );
    let findings = preflight("{}", &["Ingress"], script).await;
    assert_eq!(
        lines(&findings),
        [format!("you may not delete ingresses.networking.k8s.io in namespace {NS} (ask for RBAC permission: kubectl auth can-i delete ingresses.networking.k8s.io -n {NS})")]
    );
}

#[tokio::test]
async fn an_incomplete_rules_review_leaves_every_verb_to_an_access_review() {
    // A webhook authorizer lists no rules and may deny what RBAC allows.
    let granted = json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]);
    let script = Script::new().then(
        [version("35"), namespace_exists(), rules_review(granted, true)]
            .into_iter()
            .chain(access_reviews(QUICK_START_NEEDS, &[("watch", "events")])),
    );
    let findings = preflight("{}", &[], script).await;
    assert_eq!(
        lines(&findings),
        [format!("you may not watch events in namespace {NS} (ask for RBAC permission: kubectl auth can-i watch events -n {NS})")]
    );
}

#[tokio::test]
async fn cluster_scoped_verbs_are_asked_one_by_one() {
    // The rules review mixes the namespace's RoleBindings into what it lists: it cannot tell
    // whether a ClusterRole may be made, so create, patch and list of ClusterRoles and
    // ClusterRoleBindings go to access reviews.
    let values = "cluster_rbac: {extraRules: [{apiGroups: [''], resources: [nodes], verbs: [get]}]}";
    let script = Script::new()
        .then([version("35"), namespace_exists(), everything_granted()].into_iter().chain(access_reviews(6, &[])));
    let findings = preflight(values, &[], script).await;
    assert!(findings.problems.0.is_empty(), "{:?}", lines(&findings));
}

#[tokio::test]
async fn an_old_cluster_and_a_missing_namespace_are_refused() {
    let script =
        Script::new().then([version("22"), get(&format!("/api/v1/namespaces/{NS}")).not_found(), everything_granted()]);
    let findings = preflight("{}", &[], script).await;
    assert_eq!(
        lines(&findings),
        [
            "the cluster runs Kubernetes v1.22.8, but 1.23 or newer is needed".to_string(),
            format!("namespace {NS} does not exist (create it, or add --create-namespace)"),
        ]
    );
    assert!(!findings.namespace_exists);
}
