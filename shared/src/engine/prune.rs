//! Removing a natively installed release's objects through its ApplySet: what an upgrade does to
//! objects it no longer renders, for all of them (the uninstall plugin's engine).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kubectl_mlflow_model::Failure;

use super::apply::Applier;
use super::applyset;
use crate::cluster::{describe, Session};

/// How to prune.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// Ask the API server to check every delete without persisting it.
    pub dry_run: bool,
    /// Show the API calls made.
    pub verbose: bool,
}

/// Deletes every member of the release's ApplySet (PersistentVolumeClaims leave the set and stay:
/// they hold the data), and returns one note a pruned or kept object. The parent Secret
/// ([`applyset::parent_name`]) is left to the caller, to delete last so an interrupted run can be
/// repeated. `Ok(None)`: the release has no parent Secret here (not installed natively).
pub async fn all_members(
    session: &Session,
    release: &str,
    options: &PruneOptions,
) -> Result<Option<Vec<String>>, Failure> {
    let name = applyset::parent_name(release);
    let parent = Api::<Secret>::namespaced(session.client.clone(), &session.namespace)
        .get_opt(&name)
        .await
        .map_err(|err| Failure::failed(format!("cannot read Secret/{name}: {}", describe(&err))))?;
    let Some(parent) = parent else { return Ok(None) };
    if let Some(tooling) = applyset::foreign_tooling(&parent) {
        return Err(Failure::failed(format!(
            "Secret/{name} belongs to an ApplySet managed by {tooling}, not kubectl-mlflow (use that tool)"
        )));
    }
    let applier = Applier {
        client: session.client.clone(),
        namespace: session.namespace.clone(),
        force_conflicts: false,
        dry_run: options.dry_run,
        verbose: options.verbose,
    };
    let id = applyset::id(&name, &session.namespace);
    let group_kinds = applyset::group_kinds(&parent);
    super::discovery::recorded_kinds(&session.client, &group_kinds).await;
    applier.prune(&id, &group_kinds, &BTreeSet::new()).await.map(Some)
}
