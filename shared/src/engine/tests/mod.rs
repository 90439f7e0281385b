//! The engine's decisions against a fake API server ([`fake_api`]) that answers exactly the
//! requests a run is expected to make: what the preflight refuses and how it says so, that a
//! refused dry run writes nothing, how the ApplySet parent and pruning follow the kinds of a
//! release, when the wait stops early. Without the fake these paths need a cluster
//! (plugins/install/tests/cluster.rs runs them there, end to end).

mod fake_api;
mod install;
mod preflight;
mod wait;

use std::collections::BTreeSet;

use serde_json::{json, Value};

use self::fake_api::{get, post, Exchange};
use super::kinds::Kind;
use super::{applyset, preflight::Plan};
use crate::release::{prepare, Options, Prepared};
use crate::values::Source;

/// The namespace of every test release.
const NS: &str = "ml";

const QUICK_START: &str = "storage: {enabled: true}\n\
    mlflow: {backendStoreUri: 'sqlite:////mlflow/mlflow.db', artifactsDestination: /mlflow/artifacts}\n";

/// The quick start (as MLflow's Kubernetes deployment guide installs it first) in namespace
/// `ml`, with `yaml` over it.
fn quick_start(yaml: &str) -> Prepared {
    let sources = [
        Source::Text { name: "quickstart.yaml".into(), yaml: QUICK_START.into() },
        Source::Text { name: "test.yaml".into(), yaml: yaml.into() },
    ];
    match prepare("mlflow", NS, &sources, &mut std::io::empty(), &Options { quick_start: true }) {
        Ok(prepared) => prepared,
        Err(problems) => panic!("invalid test values: {problems:?}"),
    }
}

/// The preflight's plan of an install of `prepared` that waits and prunes `deletes`.
fn plan<'a>(prepared: &'a Prepared, deletes: &[&str]) -> Plan<'a> {
    Plan {
        values: &prepared.values,
        namespace: NS,
        create_namespace: false,
        kinds: prepared.rendered.objects.iter().filter_map(|o| Kind::named(o.kind())).collect(),
        deletes: deletes.iter().filter_map(|k| Kind::named(k)).collect(),
        wait: true,
        made: BTreeSet::new(),
        lock: false,
    }
}

/// `/api/v1/namespaces/ml/<resource>[/<name>]`, or under `/apis/<group>/v1` for a group.
fn path(group: &str, resource: &str, name: &str) -> String {
    let base = if group.is_empty() { "/api/v1".to_string() } else { format!("/apis/{group}/v1") };
    let name = if name.is_empty() { String::new() } else { format!("/{name}") };
    format!("{base}/namespaces/{NS}/{resource}{name}")
}

const PARENT: &str = "kubectl-mlflow.release.mlflow";
const FULLNAME: &str = "mlflow-mlflow";

fn applyset_selector() -> String {
    format!("{}={}", applyset::PART_OF_LABEL, applyset::id(PARENT, NS))
}

/// The API server's version, as `/version` gives it.
fn version(minor: &str) -> Exchange {
    get("/version").ok(json!({
        "major": "1", "minor": minor, "gitVersion": format!("v1.{minor}.8"), "gitCommit": "0", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25", "compiler": "gc", "platform": "linux/amd64"
    }))
}

fn namespace_exists() -> Exchange {
    get(&format!("/api/v1/namespaces/{NS}"))
        .ok(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
}

/// The rules review of namespace `ml`, answered with these resource rules.
fn rules_review(rules: Value, incomplete: bool) -> Exchange {
    post("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews").reply_with(move |review| {
        assert_eq!(review["spec"]["namespace"], NS, "the rules review asks about the release's namespace");
        let mut answer = review.clone();
        answer["status"] = json!({"resourceRules": rules, "nonResourceRules": [], "incomplete": incomplete});
        (201, answer)
    })
}

/// A rules review that grants everything (the cluster's admin).
fn everything_granted() -> Exchange {
    rules_review(json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]), false)
}

/// `count` access reviews, each allowed unless its verb and resource are in `denied`.
fn access_reviews(count: usize, denied: &[(&'static str, &'static str)]) -> Vec<Exchange> {
    let denied = denied.to_vec();
    (0..count)
        .map(|_| {
            let denied = denied.clone();
            post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews").reply_with(move |review| {
                let asked = &review["spec"]["resourceAttributes"];
                let no = denied.iter().any(|(verb, resource)| asked["verb"] == *verb && asked["resource"] == *resource);
                let mut answer = review.clone();
                answer["status"] = json!({"allowed": !no});
                (201, answer)
            })
        })
        .collect()
}

/// A Secret with these keys (values are never looked at).
fn secret(name: &str, keys: &[&str]) -> Value {
    let data: serde_json::Map<String, Value> = keys.iter().map(|k| (k.to_string(), json!("eA=="))).collect();
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "data": data})
}
