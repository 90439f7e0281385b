//! What an uninterrupted `install` leaves, and whether a release has converged to it: the
//! objects the same command renders (its `--dry-run -o json`, the same binary and values) are
//! exactly the ApplySet's members, each as rendered; the parent names their kinds; the
//! Deployment has rolled out; and no Job, Secret or PersistentVolumeClaim is left over.

use std::collections::BTreeSet;

use kubectl_mlflow_test_support::TestNamespace;
use serde_json::Value;

use crate::victim::Plugin;
use crate::{kubectl, text, RELEASE};

const PART_OF: &str = "applyset.kubernetes.io/part-of";
const CONTAINS: &str = "applyset.kubernetes.io/contains-group-kinds";

/// `Deployment.apps`, `Service`: as the ApplySet parent lists kinds.
fn group_kind(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or_default();
    match object["apiVersion"].as_str().unwrap_or_default().split_once('/') {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind.to_string(),
    }
}

fn name(object: &Value) -> String {
    object["metadata"]["name"].as_str().unwrap_or_default().to_string()
}

/// The objects an install command renders (its client-side dry run).
pub struct Expected {
    pub objects: Vec<Value>,
}

impl Expected {
    /// The objects `install` (its args, no `--dry-run` among them) renders.
    pub fn of(install: &Plugin, ns: &TestNamespace) -> Expected {
        let mut dry = install.clone();
        dry.args.extend(["--dry-run".to_string(), "-o".to_string(), "json".to_string()]);
        let out = dry.run(ns);
        assert!(out.status.success(), "{}: {}", dry.describe(), text(&out));
        let list: Value = serde_json::from_slice(&out.stdout).expect("the dry run prints JSON");
        Expected { objects: list["items"].as_array().cloned().unwrap_or_default() }
    }

    fn members(&self) -> BTreeSet<(String, String)> {
        self.objects.iter().filter(|o| o["kind"] != "Job").map(|o| (group_kind(o), name(o))).collect()
    }

    fn kinds(&self) -> BTreeSet<String> {
        self.objects.iter().map(group_kind).collect()
    }

    fn of_kind(&self, kind: &str) -> BTreeSet<String> {
        self.objects.iter().filter(|o| o["kind"] == kind).map(name).collect()
    }
}

/// What else may be in the namespace: objects the case made itself (the database's Secret and
/// claim, the Secrets of `kubectl mlflow secrets`).
#[derive(Default)]
pub struct Others {
    pub secrets: Vec<String>,
    pub claims: Vec<String>,
}

/// `Ok` when the release in `ns` is what an uninterrupted install of `expected` leaves; else
/// every difference.
pub fn converged(ns: &TestNamespace, expected: &Expected, others: &Others) -> Result<(), String> {
    let mut problems = Vec::new();
    let parent_name = format!("kubectl-mlflow.release.{RELEASE}");
    let parent: Value = json(&["get", "secret", &parent_name, "-n", ns.name(), "-o", "json"]);
    let id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"].as_str().unwrap_or_default().to_string();
    let listed: BTreeSet<String> = parent["metadata"]["annotations"][CONTAINS]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if listed != expected.kinds() {
        problems.push(format!("the parent lists the kinds {listed:?}, the rendering has {:?}", expected.kinds()));
    }
    let kinds: Vec<String> = listed.union(&expected.kinds()).cloned().collect();
    let live: Value = json(&["get", &kinds.join(","), "-n", ns.name(), "-l", &format!("{PART_OF}={id}"), "-o", "json"]);
    let live = live["items"].as_array().cloned().unwrap_or_default();
    let members: BTreeSet<(String, String)> = live.iter().map(|o| (group_kind(o), name(o))).collect();
    if members != expected.members() {
        problems.push(format!("the ApplySet's members are {members:?}, the rendering's {:?}", expected.members()));
    }
    for want in expected.objects.iter().filter(|o| o["kind"] != "Job") {
        if let Some(got) = live.iter().find(|o| group_kind(o) == group_kind(want) && name(o) == name(want)) {
            if let Err(path) = subset(want, got, "") {
                problems.push(format!(
                    "{}/{} differs from its rendering at {path}",
                    want["kind"].as_str().unwrap_or_default(),
                    name(want)
                ));
            }
        }
    }
    problems.extend(leftovers(ns, expected, others, &parent_name));
    problems.extend(rolled_out(ns, expected));
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("\n")),
    }
}

/// Jobs still there, Secrets and claims nobody rendered or made.
fn leftovers(ns: &TestNamespace, expected: &Expected, others: &Others, parent: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let jobs: Value = json(&["get", "jobs", "-n", ns.name(), "-o", "json"]);
    for job in jobs["items"].as_array().into_iter().flatten() {
        // gc's Jobs run to their end by themselves and go with their TTL; any other is left over
        let from_gc = job["metadata"]["labels"]["app.kubernetes.io/component"] == "gc"
            || job["spec"]["ttlSecondsAfterFinished"].is_number();
        if !from_gc {
            problems.push(format!("Job/{} is left over", name(job)));
        }
    }
    let mut allowed_secrets = expected.of_kind("Secret");
    allowed_secrets.insert(parent.to_string());
    allowed_secrets.extend(others.secrets.iter().cloned());
    let secrets: Value = json(&["get", "secrets", "-n", ns.name(), "-o", "json"]);
    for secret in secrets["items"].as_array().into_iter().flatten() {
        let n = name(secret);
        let generated = secret["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE;
        if !allowed_secrets.contains(&n) && !generated {
            problems.push(format!("Secret/{n} is left over"));
        }
    }
    let mut allowed_claims = expected.of_kind("PersistentVolumeClaim");
    allowed_claims.extend(others.claims.iter().cloned());
    let claims: Value = json(&["get", "pvc", "-n", ns.name(), "-o", "json"]);
    for claim in claims["items"].as_array().into_iter().flatten() {
        if !allowed_claims.contains(&name(claim)) {
            problems.push(format!("PersistentVolumeClaim/{} is left over", name(claim)));
        }
    }
    problems
}

/// The Deployment at its generation with every replica updated and available, and no pod of an
/// older template left.
fn rolled_out(ns: &TestNamespace, expected: &Expected) -> Vec<String> {
    let mut problems = Vec::new();
    for deployment in expected.of_kind("Deployment") {
        let d: Value = json(&["get", "deployment", &deployment, "-n", ns.name(), "-o", "json"]);
        let (spec, status) = (&d["spec"], &d["status"]);
        let replicas = spec["replicas"].as_i64().unwrap_or(1);
        let done = status["observedGeneration"] == d["metadata"]["generation"]
            && status["updatedReplicas"].as_i64() == Some(replicas)
            && status["availableReplicas"].as_i64() == Some(replicas)
            && status["replicas"].as_i64() == Some(replicas);
        if !done {
            problems.push(format!("Deployment/{deployment} has not rolled out: {status}"));
        }
    }
    problems
}

/// Whether every field of `want` is in `got` with the same value (lists item by item); `Err`
/// names the first path that differs. The API server adds defaults, never changes what was
/// applied.
pub fn subset(want: &Value, got: &Value, path: &str) -> Result<(), String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, v) in w {
                let at = format!("{path}.{k}");
                match g.get(k) {
                    Some(gv) => subset(v, gv, &at)?,
                    // the API server leaves out zero values (Go's omitempty)
                    None if zero(v) => {}
                    None => return Err(at),
                }
            }
            Ok(())
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            w.iter().zip(g).enumerate().try_for_each(|(i, (a, b))| subset(a, b, &format!("{path}[{i}]")))
        }
        (Value::Number(w), Value::Number(g)) if w.as_f64() == g.as_f64() => Ok(()),
        (w, g) if w == g => Ok(()),
        // quantities the server writes in canonical form ("0.5" is "500m")
        (Value::String(w), Value::String(g)) if quantity(w).is_some() && quantity(w) == quantity(g) => Ok(()),
        _ => Err(format!("{path} ({want} ≠ {got})")),
    }
}

fn zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(zero),
    }
}

fn quantity(s: &str) -> Option<u128> {
    let units = [("Ki", 1u128 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("m", 1), ("k", 1_000), ("M", 1_000_000)];
    for (suffix, factor) in units {
        if let Some(n) = s.strip_suffix(suffix) {
            let milli = if suffix == "m" { 1 } else { 1000 };
            return n.parse::<u128>().ok().map(|n| n * factor * milli);
        }
    }
    s.parse::<f64>().ok().map(|f| (f * 1000.0).round() as u128)
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&kubectl(args)).unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rendering_is_in_what_the_server_stored() {
        let want = json!({"spec": {"a": 1, "cpu": "0.5", "l": [{"x": 1}], "empty": {}}});
        let got = json!({"spec": {"a": 1, "b": 2, "cpu": "500m", "l": [{"x": 1, "y": 2}]}});
        assert_eq!(subset(&want, &got, ""), Ok(()));
        assert!(subset(&json!({"a": 2}), &json!({"a": 1}), "").is_err());
        assert_eq!(quantity("1Gi"), quantity("1024Mi"));
    }
}
