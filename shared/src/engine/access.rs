//! Every verb a run will use, asked of the API server before the first write: apply (create,
//! patch) and list for each kind, get for the ApplySet parent, delete for the kinds pruning will
//! delete from, and the watches and log reads of the wait. One SelfSubjectRulesReview answers
//! what it grants; the rest is asked verb by verb (SelfSubjectAccessReview).

use std::collections::BTreeSet;

use futures::StreamExt;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, ResourceRule, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec, SelfSubjectRulesReview,
    SelfSubjectRulesReviewSpec,
};
use kube::api::{Api, PostParams};
use kube::Client;

use super::kinds::Kind;
use crate::cluster::describe;
use crate::problem::{Problem, Problems};

/// One verb on one resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Access {
    pub group: &'static str,
    /// `pods`, or with a subresource `pods/log`.
    pub resource: &'static str,
    pub verb: &'static str,
    pub namespaced: bool,
}

impl Access {
    fn of(kind: Kind, verb: &'static str) -> Access {
        Access { group: kind.group, resource: kind.plural, verb, namespaced: kind.namespaced }
    }

    fn core(resource: &'static str, verb: &'static str) -> Access {
        Access { group: "", resource, verb, namespaced: true }
    }

    /// `deployments.apps`, as `kubectl auth can-i` names it.
    fn named(&self) -> String {
        let (resource, sub) = self.resource.split_once('/').map_or((self.resource, None), |(r, s)| (r, Some(s)));
        let base = if self.group.is_empty() { resource.to_string() } else { format!("{resource}.{}", self.group) };
        match sub {
            Some(sub) => format!("{base} --subresource={sub}"),
            None => base,
        }
    }
}

/// What a run needs: `kinds` applied, `deletes` pruned, with `wait` the watches, with `lock` the
/// release's Lease.
pub fn needed(kinds: &BTreeSet<Kind>, deletes: &BTreeSet<Kind>, wait: bool, lock: bool) -> BTreeSet<Access> {
    let mut needs = BTreeSet::new();
    if lock {
        for verb in ["get", "create", "update"] {
            needs.insert(Access { group: "coordination.k8s.io", resource: "leases", verb, namespaced: true });
        }
    }
    let secret = Kind::named("Secret").expect("Secret is known");
    for kind in kinds.iter().copied().chain([secret]) {
        for verb in ["create", "patch", "list"] {
            needs.insert(Access::of(kind, verb));
        }
    }
    needs.insert(Access::of(secret, "get"));
    for kind in deletes {
        needs.insert(Access::of(*kind, "delete"));
    }
    if wait {
        let deployment = Kind::named("Deployment").expect("Deployment is known");
        for verb in ["list", "watch"] {
            needs.insert(Access::of(deployment, verb));
            needs.insert(Access::core("pods", verb));
            needs.insert(Access::core("events", verb));
            if kinds.iter().any(|k| k.kind == "PersistentVolumeClaim") {
                needs.insert(Access::core("persistentvolumeclaims", verb));
            }
        }
        needs.insert(Access::core("pods/log", "get"));
    }
    needs
}

/// How many reviews are in flight at once. The client speaks HTTP/1.1, so each request in flight
/// is a connection with a TLS handshake of its own; a few reused connections cost both sides less.
const PARALLEL_REVIEWS: usize = 4;

/// Every need the user does not have, as a problem. The rules review settles the needs its rules
/// grant; an access review asks about each other one, so a refusal is always an access review's.
pub async fn check(client: &Client, namespace: &str, needs: &BTreeSet<Access>) -> Problems {
    let rules = granted_rules(client, namespace).await;
    let open: Vec<&Access> = needs.iter().filter(|need| !rules.iter().any(|rule| grants(rule, need))).collect();
    let reviews: Vec<_> = futures::stream::iter(open.iter().map(|need| allowed(client, namespace, need)))
        .buffered(PARALLEL_REVIEWS)
        .collect()
        .await;
    let mut problems = Problems::default();
    for (need, result) in open.into_iter().zip(reviews) {
        match result {
            Ok(true) => {}
            Ok(false) => {
                let scope = if need.namespaced { format!(" in namespace {namespace}") } else { String::new() };
                let flag = if need.namespaced { format!(" -n {namespace}") } else { String::new() };
                problems.push(Problem::at(
                    "",
                    format!(
                        "you may not {} {}{scope} (ask for RBAC permission: kubectl auth can-i {} {}{flag})",
                        need.verb,
                        need.named(),
                        need.verb,
                        need.named()
                    ),
                ));
            }
            Err(problem) => {
                problems.push(problem);
                break;
            }
        }
    }
    problems
}

/// The rules that grant the user access in the namespace, when the API server knows them all: an
/// authorizer that cannot list its rules (a webhook) makes the review incomplete, and may deny
/// what the listed rules allow, so then none is taken. A failed review leaves every need to the
/// access reviews too.
async fn granted_rules(client: &Client, namespace: &str) -> Vec<ResourceRule> {
    let review = SelfSubjectRulesReview {
        spec: SelfSubjectRulesReviewSpec { namespace: Some(namespace.to_string()) },
        ..SelfSubjectRulesReview::default()
    };
    match Api::<SelfSubjectRulesReview>::all(client.clone()).create(&PostParams::default(), &review).await {
        Ok(answer) => answer.status.filter(|s| !s.incomplete).map(|s| s.resource_rules).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// Whether a rule grants a need as RBAC matches them. The review lists the rules of RoleBindings
/// in the namespace beside those of ClusterRoleBindings without telling them apart, so it settles
/// namespaced needs only; a rule for named objects grants no create or list.
fn grants(rule: &ResourceRule, need: &Access) -> bool {
    let has = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
    let subresource = need.resource.split_once('/').map(|(_, sub)| format!("*/{sub}"));
    let resources = rule.resources.as_deref().unwrap_or_default();
    need.namespaced
        && rule.resource_names.as_ref().is_none_or(Vec::is_empty)
        && has(&rule.verbs, need.verb)
        && has(rule.api_groups.as_deref().unwrap_or_default(), need.group)
        && (has(resources, need.resource) || subresource.is_some_and(|s| resources.contains(&s)))
}

async fn allowed(client: &Client, namespace: &str, need: &Access) -> Result<bool, Problem> {
    let (resource, subresource) = need.resource.split_once('/').map_or((need.resource, None), |(r, s)| (r, Some(s)));
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some(need.group.into()),
                resource: Some(resource.into()),
                subresource: subresource.map(String::from),
                verb: Some(need.verb.into()),
                namespace: need.namespaced.then(|| namespace.to_string()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let answer = Api::<SelfSubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .map_err(|err| Problem::at("", format!("cannot check permissions: {}", describe(&err))))?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_needs_delete_and_waiting_needs_watch() {
        let kinds: BTreeSet<Kind> = ["Deployment", "Service"].iter().filter_map(|k| Kind::named(k)).collect();
        let deletes: BTreeSet<Kind> = Kind::named("Ingress").into_iter().collect();
        let needs = needed(&kinds, &deletes, true, false);
        let has = |resource: &str, verb: &str| needs.iter().any(|n| n.resource == resource && n.verb == verb);
        assert!(has("ingresses", "delete") && !has("deployments", "delete"));
        assert!(has("deployments", "watch") && has("pods", "watch") && has("pods/log", "get") && has("secrets", "get"));
        assert!(!needed(&kinds, &BTreeSet::new(), false, false)
            .iter()
            .any(|n| n.verb == "watch" || n.verb == "delete"));
        assert!(!has("leases", "create"));
    }

    #[test]
    fn the_native_engine_needs_the_release_lock() {
        let needs = needed(&BTreeSet::new(), &BTreeSet::new(), false, true);
        for verb in ["get", "create", "update"] {
            assert!(needs.iter().any(|n| n.group == "coordination.k8s.io" && n.resource == "leases" && n.verb == verb));
        }
        assert!(!needs.iter().any(|n| n.verb == "delete"), "an install that prunes nothing needs no delete");
    }

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> ResourceRule {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ResourceRule {
            api_groups: Some(strings(groups)),
            resources: Some(strings(resources)),
            verbs: strings(verbs),
            resource_names: Some(strings(names)),
        }
    }

    #[test]
    fn rules_grant_as_rbac_matches_them() {
        let deployment = Kind::named("Deployment").unwrap();
        let patch = Access::of(deployment, "patch");
        assert!(grants(&rule(&["*"], &["*"], &["*"], &[]), &patch));
        assert!(grants(&rule(&["apps"], &["deployments"], &["get", "patch"], &[]), &patch));
        assert!(!grants(&rule(&[""], &["deployments"], &["patch"], &[]), &patch), "another group");
        assert!(!grants(&rule(&["apps"], &["deployments"], &["get"], &[]), &patch), "another verb");
        assert!(!grants(&rule(&["apps"], &["deployments"], &["patch"], &["mlflow"]), &patch), "named objects only");
        let logs = Access::core("pods/log", "get");
        assert!(grants(&rule(&[""], &["*/log"], &["get"], &[]), &logs));
        assert!(!grants(&rule(&[""], &["pods"], &["get"], &[]), &logs), "the pods, not their logs");
        let cluster_role = Access::of(Kind::named("ClusterRole").unwrap(), "create");
        assert!(!grants(&rule(&["*"], &["*"], &["*"], &[]), &cluster_role), "cluster-scoped: asked one by one");
    }
}
