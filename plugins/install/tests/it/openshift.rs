//! OpenShift detection against the real control plane of `scripts/test-cluster`: a cluster that
//! serves `route.openshift.io/v1` gets pods without fixed user, group and fsGroup ids (the
//! restricted SCC assigns them), unless the values say `openshift: false`.
//!
//! A module of its own, run alone by `scripts/test` (`openshift::`): while the Route CRD exists every install on
//! the cluster sees OpenShift, which would change what the other suites' tests render.

use kubectl_mlflow_test_support::crd::{crd, delete_crds, install_crds};
use kubectl_mlflow_test_support::{cluster, plugin};
use serde_json::{json, Value};

/// The pod security contexts of `install --dry-run=server -o json` in `namespace`; an error (not
/// a panic) when the install fails, so the caller can still delete the CRD first.
fn pod_security_contexts(namespace: &str, args: &[&str]) -> Result<Vec<Value>, String> {
    let kubeconfig = cluster().kubeconfig().display().to_string();
    let out = plugin("kubectl-mlflow-install")
        .args(["--kubeconfig", &kubeconfig, "-n", namespace, "--dry-run=server", "-o", "json"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("install failed: {stderr}"));
    }
    let list: Value = serde_json::from_slice(&out.stdout).map_err(|err| format!("not JSON ({err}): {stderr}"))?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let contexts: Vec<Value> = items
        .iter()
        .filter_map(|item| match item["kind"].as_str() {
            Some("Deployment") => Some(item["spec"]["template"]["spec"]["securityContext"].clone()),
            Some("CronJob") => Some(item["spec"]["jobTemplate"]["spec"]["template"]["spec"]["securityContext"].clone()),
            _ => None,
        })
        .collect();
    match contexts.is_empty() {
        true => Err(format!("no pod in the rendering: {stderr}")),
        false => Ok(contexts),
    }
}

fn fixed_ids(context: &Value) -> Vec<&str> {
    ["runAsUser", "runAsGroup", "fsGroup"].into_iter().filter(|key| !context[*key].is_null()).collect()
}

#[tokio::test]
#[ignore = "needs the test cluster: scripts/test-cluster up"]
async fn a_cluster_serving_openshift_routes_gets_pods_without_fixed_ids() {
    let ns = cluster().namespace("openshift").await;
    let gc = ["--set", "garbageCollection.enabled=true"];
    for context in pod_security_contexts(ns.name(), &gc).unwrap() {
        assert_eq!(fixed_ids(&context), ["runAsUser", "runAsGroup", "fsGroup"], "before the Route CRD: {context}");
    }

    // As much of OpenShift's Route CRD as the API server needs to serve the group.
    let route = [crd("route.openshift.io", "v1", "Route", "routes")];
    let (detected, declined) = match install_crds(&ns.client(), &route).await {
        Ok(()) => (
            pod_security_contexts(ns.name(), &gc),
            pod_security_contexts(ns.name(), &["--set", "garbageCollection.enabled=true", "--set", "openshift=false"]),
        ),
        Err(not_served) => (Err(not_served), Ok(vec![])),
    };
    delete_crds(&ns.client(), &route).await;
    ns.delete().await;

    for context in detected.unwrap() {
        assert!(fixed_ids(&context).is_empty(), "OpenShift detected, yet fixed ids: {context}");
        assert_eq!(context["runAsNonRoot"], json!(true), "{context}");
    }
    for context in declined.unwrap() {
        assert_eq!(
            fixed_ids(&context),
            ["runAsUser", "runAsGroup", "fsGroup"],
            "openshift: false must win over the detection: {context}"
        );
    }
}
