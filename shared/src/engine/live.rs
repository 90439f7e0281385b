//! What the cluster holds of a release before a run: its ApplySet parent and the set's members,
//! read at once. They tell what pruning will take out of the set, and which objects a server-side
//! dry run shows to be stored exactly as they would be applied (a rerun that changes nothing).

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, ObjectList};
use kube::core::DynamicObject;

use super::apply::{is_not_found, marked_keep, Applier, Member, PruneTarget, Unchanged};
use super::applyset::{self, PART_OF_LABEL};
use super::kinds::Kind;
use crate::cluster::describe;
use kubectl_mlflow_model::Failure;

/// The release as stored before this run.
pub struct Live {
    /// The parent Secret; a failed read is reported after the preflight, which names a missing
    /// permission.
    pub parent: Result<Option<Secret>, Failure>,
    /// The set's members by group-kind and name, or why they could not be listed.
    members: Result<BTreeMap<(String, String), DynamicObject>, Failure>,
    parent_name: String,
}

impl Live {
    /// Reads the parent and, at the same time, the set's members of the kinds the release
    /// renders; then those of the kinds only the parent names (kinds that left the set).
    pub async fn read(applier: &Applier, release: &str, rendered: &BTreeSet<String>) -> Live {
        let name = applyset::parent_name(release);
        let id = applyset::id(&name, &applier.namespace);
        let (parent, listed) = futures::join!(
            super::read_parent(&applier.client, release, &applier.namespace),
            list(applier, &id, rendered)
        );
        let named = parent.as_ref().ok().and_then(Option::as_ref).map(applyset::group_kinds).unwrap_or_default();
        super::discovery::recorded_kinds(&applier.client, &named).await;
        let left: BTreeSet<String> = named.difference(rendered).cloned().collect();
        let more = if left.is_empty() { Ok(BTreeMap::new()) } else { list(applier, &id, &left).await };
        let members = listed.and_then(|mut listed| {
            listed.extend(more?);
            Ok(listed)
        });
        Live { parent, members, parent_name: name }
    }

    /// A release in a namespace that does not exist: no parent, no members (nothing to read).
    pub fn absent(release: &str) -> Live {
        Live { parent: Ok(None), members: Ok(BTreeMap::new()), parent_name: applyset::parent_name(release) }
    }

    /// The members pruning will take out of the set: those not in `keep`; or why the set could
    /// not be listed.
    pub fn leaving(&self, keep: &BTreeSet<(String, String)>) -> Result<Vec<PruneTarget>, Failure> {
        let members = self.members.as_ref().map_err(Clone::clone)?;
        Ok(members
            .iter()
            .filter(|(key, _)| !keep.contains(*key))
            .filter_map(|((group_kind, name), object)| {
                let kind = Kind::from_group_kind(group_kind)?;
                let stays = kind.kind == "PersistentVolumeClaim" || marked_keep(&object.metadata);
                Some(PruneTarget { kind, name: name.clone(), stays })
            })
            .collect())
    }

    /// The dry run's answers that are the objects as stored: applying them would write nothing.
    pub fn unchanged(&self, judged: Vec<(Member, DynamicObject)>) -> Unchanged {
        Unchanged(judged.into_iter().filter(|(member, after)| self.stores(member, after)).collect())
    }

    /// The server's Deployment of `rendered` as the set holds it (none on a first install).
    pub fn deployment(&self, rendered: &[crate::render::Object]) -> Option<Deployment> {
        let name = rendered.iter().find_map(|o| match o {
            crate::render::Object::Deployment(d) => d.metadata.name.clone(),
            _ => None,
        })?;
        let stored = self.members.as_ref().ok()?.get(&("Deployment.apps".to_string(), name))?;
        // Through text, as kube reads responses (no second deserializer for Deployment).
        serde_json::to_string(stored).ok().and_then(|t| serde_json::from_str(&t).ok())
    }

    fn stores(&self, member: &Member, after: &DynamicObject) -> bool {
        if member.kind.kind == "Secret" && member.name() == self.parent_name {
            let Ok(Some(before)) = &self.parent else { return false };
            // Through text, as kube reads responses (no second deserializer for Secret).
            let after: Option<Secret> = serde_json::to_string(after).ok().and_then(|t| serde_json::from_str(&t).ok());
            return after.as_ref() == Some(before);
        }
        let key = (member.kind.group_kind(), member.name().to_string());
        let members = self.members.as_ref().ok();
        members
            .and_then(|m| m.get(&key))
            .is_some_and(|before| before.metadata == after.metadata && before.data == after.data)
    }
}

/// The set's members of these kinds, listed at once. A kind the cluster does not serve (a CRD
/// not installed) holds none.
async fn list(
    applier: &Applier,
    id: &str,
    group_kinds: &BTreeSet<String>,
) -> Result<BTreeMap<(String, String), DynamicObject>, Failure> {
    let params = ListParams::default().labels(&format!("{PART_OF_LABEL}={id}"));
    let kinds: Vec<Kind> = group_kinds.iter().filter_map(|gk| Kind::from_group_kind(gk)).collect();
    let params = &params;
    let lists = join_all(kinds.iter().map(|kind| async move { applier.api(*kind).list(params).await })).await;
    let mut members = BTreeMap::new();
    for (kind, list) in kinds.into_iter().zip(lists) {
        let list: ObjectList<DynamicObject> = match list {
            Ok(list) => list,
            Err(err) if is_not_found(&err) => continue,
            Err(err) => return Err(Failure::Failed(format!("cannot list {}: {}", kind.resource(), describe(&err)))),
        };
        for item in list.items {
            members.insert((kind.group_kind(), item.metadata.name.clone().unwrap_or_default()), item);
        }
    }
    Ok(members)
}
