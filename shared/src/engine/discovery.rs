//! The kinds of `extraObjects`, asked of the API server's discovery: whether the cluster serves
//! them, their resource (plural) and scope. Found kinds are registered ([`Kind::register`]), so
//! that applying, listing and pruning address them as they address the chart's own.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::Client;

use super::kinds::Kind;
use crate::cluster::describe;
use crate::problem::{Problem, Problems};
use crate::render::extra::Extra;

/// The resources of one apiVersion (`v1`, `example.com/v1`); `Ok(None)` when it is not served.
async fn resources(client: &Client, api_version: &str) -> Result<Option<APIResourceList>, kube::Error> {
    let listed = match api_version.contains('/') {
        true => client.list_api_group_resources(api_version).await,
        false => client.list_core_api_resources(api_version).await,
    };
    match listed {
        Ok(list) => Ok(Some(list)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(err) => Err(err),
    }
}

/// The kind's resource in a list: (plural, namespaced).
fn find(list: &APIResourceList, kind: &str) -> Option<(String, bool)> {
    list.resources.iter().find(|r| r.kind == kind && !r.name.contains('/')).map(|r| (r.name.clone(), r.namespaced))
}

/// Registers the kind of every extra object; every one the cluster does not serve, and every
/// namespaced one that names a namespace not the release's, is a problem.
pub async fn extra_kinds(client: &Client, extras: &[&Extra], namespace: &str) -> Problems {
    let mut problems = Problems::default();
    let mut lists: BTreeMap<String, Result<Option<APIResourceList>, String>> = BTreeMap::new();
    for extra in extras {
        let api_version = extra.api_version().to_string();
        if !lists.contains_key(&api_version) {
            let list = resources(client, &api_version).await.map_err(|err| describe(&err));
            lists.insert(api_version.clone(), list);
        }
        let (kind, name) = (extra.kind(), extra.object.metadata.name.as_deref().unwrap_or_default());
        let found = match &lists[&api_version] {
            Ok(list) => list.as_ref().and_then(|list| find(list, kind)),
            Err(why) => {
                problems.push(Problem::at(&extra.path, format!("cannot ask the cluster for {api_version}: {why}")));
                continue;
            }
        };
        let Some((plural, namespaced)) = found else {
            problems.push(Problem::at(
                &extra.path,
                format!(
                    "{kind}/{name}: the cluster does not serve kind {kind} of {api_version} (install its CRD or \
                     operator first, or correct apiVersion and kind: kubectl api-resources lists what it serves)"
                ),
            ));
            continue;
        };
        let version = api_version.rsplit('/').next().unwrap_or_default();
        Kind::register(extra.group(), version, kind, &plural, namespaced);
        match &extra.object.metadata.namespace {
            Some(other) if namespaced && other != namespace => problems.push(Problem::at(
                format!("{}.metadata.namespace", extra.path),
                format!(
                    "{kind}/{name} names namespace {other}, but the release's objects live in {namespace} (drop \
                     metadata.namespace, or make the object in {other} another way)"
                ),
            )),
            _ => {}
        }
    }
    problems
}

/// Registers the kinds an ApplySet parent names that are not the chart's (the kinds of extra
/// objects an earlier run applied), at the version the cluster prefers, so that they can be
/// listed and pruned. A kind no longer served is left out: no object of it can be left.
pub async fn recorded_kinds(client: &Client, group_kinds: &BTreeSet<String>) {
    let unknown: Vec<&String> = group_kinds.iter().filter(|gk| Kind::from_group_kind(gk).is_none()).collect();
    if unknown.is_empty() {
        return;
    }
    let Ok(groups) = client.list_api_groups().await else { return };
    for group_kind in unknown {
        let (kind, group) = group_kind.split_once('.').unwrap_or((group_kind.as_str(), ""));
        let api_version = match group {
            "" => "v1".to_string(),
            group => match groups.groups.iter().find(|g| g.name == group) {
                Some(found) => match &found.preferred_version {
                    Some(preferred) => preferred.group_version.clone(),
                    None => continue,
                },
                None => continue,
            },
        };
        if let Ok(Some(list)) = resources(client, &api_version).await {
            if let Some((plural, namespaced)) = find(&list, kind) {
                let version = api_version.rsplit('/').next().unwrap_or_default();
                Kind::register(group, version, kind, &plural, namespaced);
            }
        }
    }
}
