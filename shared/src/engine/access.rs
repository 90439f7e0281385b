//! Every verb a run will use, asked of the API server (SelfSubjectAccessReview) before the first
//! write: apply (create, patch) and list for each kind, get for the ApplySet parent, delete for
//! the kinds pruning will delete from, and the watches and log reads of the wait.

use std::collections::BTreeSet;

use futures::StreamExt;
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
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

/// Every need the user does not have, as a problem.
pub async fn check(client: &Client, namespace: &str, needs: &BTreeSet<Access>) -> Problems {
    let reviews: Vec<_> = futures::stream::iter(needs.iter().map(|need| allowed(client, namespace, need)))
        .buffered(PARALLEL_REVIEWS)
        .collect()
        .await;
    let mut problems = Problems::default();
    for (need, result) in needs.iter().zip(reviews) {
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
}
