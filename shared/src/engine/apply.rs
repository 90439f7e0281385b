//! Server-side apply of a release's objects, in waves, and pruning of what an upgrade no longer
//! renders.

use std::collections::BTreeSet;

use futures::future::join_all;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject};
use kube::Client;
use serde_json::json;

use super::applyset::PART_OF_LABEL;
use super::kinds::Kind;
use crate::cluster::describe;
use crate::render::{Object, KEEP};
use kubectl_mlflow_model::Failure;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "kubectl-mlflow";

/// One object to apply, addressed.
#[derive(Debug, Clone)]
pub struct Member {
    pub kind: Kind,
    pub object: DynamicObject,
    /// One of `extraObjects`: applied with the others, never taken for the release's own
    /// migration Job or ExternalSecret.
    pub extra: bool,
}

impl Member {
    pub fn from_object(object: &Object, applyset_id: &str) -> Member {
        let mut member = Member::plain(object);
        member
            .object
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(PART_OF_LABEL.into(), applyset_id.into());
        member
    }

    /// The object as rendered, in no ApplySet (what helm applies). A cluster-scoped extra object
    /// loses a namespace it names, as helm ignores it.
    pub fn plain(object: &Object) -> Member {
        let kind = super::kinds::of_object(object).expect("every rendered kind is known (extra objects' by discovery)");
        let extra = matches!(object, Object::Extra(_));
        let mut object: DynamicObject = serde_json::from_value(object.to_json()).expect("objects are valid JSON");
        if !kind.namespaced {
            object.metadata.namespace = None;
        }
        Member { kind, object, extra }
    }

    pub fn name(&self) -> &str {
        self.object.metadata.name.as_deref().unwrap_or_default()
    }

    /// `Deployment/mlflow-mlflow`.
    pub fn describe(&self) -> String {
        format!("{}/{}", self.kind.kind, self.name())
    }
}

pub struct Applier {
    pub client: Client,
    pub namespace: String,
    pub force_conflicts: bool,
    pub dry_run: bool,
    pub verbose: bool,
}

impl Applier {
    pub fn api(&self, kind: Kind) -> Api<DynamicObject> {
        self.api_of(kind, kind.api_resource())
    }

    /// The API of a member at its own apiVersion (the External Secrets objects' is a value).
    pub fn member_api(&self, member: &Member) -> Api<DynamicObject> {
        let mut resource = member.kind.api_resource();
        if let Some(types) = &member.object.types {
            resource.version = types.api_version.rsplit('/').next().unwrap_or_default().to_string();
            resource.api_version = types.api_version.clone();
        }
        self.api_of(member.kind, resource)
    }

    fn api_of(&self, kind: Kind, resource: ApiResource) -> Api<DynamicObject> {
        if kind.namespaced {
            Api::namespaced_with(self.client.clone(), &self.namespace, &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        }
    }

    fn params(&self) -> PatchParams {
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.force = self.force_conflicts;
        params.dry_run = self.dry_run;
        params
    }

    /// Applies one object; a conflict names the fields and the manager holding them.
    pub async fn apply(&self, member: &Member) -> Result<DynamicObject, Failure> {
        let api = self.member_api(member);
        let result = api.patch(member.name(), &self.params(), &Patch::Apply(&member.object)).await;
        self.log("PATCH (apply)", member, &result);
        result.map_err(|err| apply_error(member, err))
    }

    /// Applies a member unless a dry run showed it stored exactly so already: then it returns
    /// that object, with no request (the apply would write nothing).
    pub async fn apply_changed(&self, member: &Member, unchanged: &Unchanged) -> Result<DynamicObject, Failure> {
        match unchanged.get(member) {
            Some(stored) => {
                if self.verbose {
                    eprintln!(
                        "api: PATCH (apply) {} {}: skipped, the dry run changed nothing",
                        member.kind.resource(),
                        member.name()
                    );
                }
                Ok(stored.clone())
            }
            None => self.apply(member).await,
        }
    }

    /// Applies every member that changes, wave by wave, the objects of a wave in parallel;
    /// returns the objects as the server stored them (`on_applied` hears of those it applied).
    pub async fn apply_all(
        &self,
        members: &[Member],
        unchanged: &Unchanged,
        mut on_applied: impl FnMut(&Member),
    ) -> Result<Vec<DynamicObject>, Failure> {
        let waves: BTreeSet<u8> = members.iter().map(|m| m.kind.wave).collect();
        let mut applied = Vec::new();
        for wave in waves {
            let batch: Vec<&Member> = members.iter().filter(|m| m.kind.wave == wave).collect();
            let results = join_all(batch.iter().map(|m| self.apply_changed(m, unchanged))).await;
            let mut errors = Vec::new();
            for (member, result) in batch.iter().zip(results) {
                match result {
                    Ok(object) => {
                        if unchanged.get(member).is_none() {
                            on_applied(member);
                        }
                        applied.push(object);
                    }
                    Err(err) => errors.push(err.to_string()),
                }
            }
            if !errors.is_empty() {
                return Err(Failure::Failed(errors.join("\n")));
            }
        }
        Ok(applied)
    }

    /// Deletes the set's objects of these kinds that are not in `keep`. PersistentVolumeClaims
    /// are not deleted (they hold the data): they leave the set and are reported.
    pub async fn prune(
        &self,
        applyset_id: &str,
        group_kinds: &BTreeSet<String>,
        keep: &BTreeSet<(String, String)>,
    ) -> Result<Vec<String>, Failure> {
        self.take_out(&self.to_prune(applyset_id, group_kinds, keep).await?).await
    }

    /// Takes these members out of the set, one by one: deleted, or unlabelled when they stay.
    pub async fn take_out(&self, leaving: &[PruneTarget]) -> Result<Vec<String>, Failure> {
        let mut done = Vec::new();
        for member in leaving {
            done.push(self.prune_one(member).await?);
        }
        Ok(done)
    }

    /// The set's objects of these kinds that are not in `keep`: what [`Applier::prune`] removes.
    /// The kinds are listed at once.
    pub async fn to_prune(
        &self,
        applyset_id: &str,
        group_kinds: &BTreeSet<String>,
        keep: &BTreeSet<(String, String)>,
    ) -> Result<Vec<PruneTarget>, Failure> {
        let selector = format!("{PART_OF_LABEL}={applyset_id}");
        let params = ListParams::default().labels(&selector);
        let kinds: Vec<(&String, Kind)> =
            group_kinds.iter().filter_map(|gk| Some((gk, Kind::from_group_kind(gk)?))).collect();
        let params = &params;
        let lists =
            join_all(kinds.iter().map(|(_, kind)| async move { self.api(*kind).list_metadata(params).await })).await;
        let mut to_prune = Vec::new();
        for ((group_kind, kind), list) in kinds.into_iter().zip(lists) {
            let list = match list {
                Ok(list) => list,
                Err(err) if is_not_found(&err) => continue,
                Err(err) => {
                    return Err(Failure::Failed(format!("cannot list {}: {}", kind.resource(), describe(&err))))
                }
            };
            for item in list.items {
                let stays = kind.kind == "PersistentVolumeClaim" || marked_keep(&item.metadata);
                let name = item.metadata.name.unwrap_or_default();
                if !keep.contains(&(group_kind.clone(), name.clone())) {
                    to_prune.push(PruneTarget { kind, name, stays });
                }
            }
        }
        Ok(to_prune)
    }

    async fn prune_one(&self, member: &PruneTarget) -> Result<String, Failure> {
        let (kind, name, api) = (member.kind, member.name.as_str(), self.api(member.kind));
        if member.stays {
            let patch = json!({"metadata": {"labels": {PART_OF_LABEL: null}}});
            let params = PatchParams { dry_run: self.dry_run, ..PatchParams::default() };
            api.patch(name, &params, &Patch::Merge(&patch))
                .await
                .map_err(|err| Failure::Failed(format!("{}/{name}: {}", kind.kind, describe(&err))))?;
            let (why, resource) = match kind.kind {
                "PersistentVolumeClaim" => ("it holds data", "pvc".to_string()),
                _ => ("marked helm.sh/resource-policy: keep", kind.resource()),
            };
            return Ok(format!(
                "kept {}/{name} ({why}; delete it with kubectl delete {resource} {name} -n {})",
                kind.kind, self.namespace
            ));
        }
        let mut params = DeleteParams::background();
        params.dry_run = self.dry_run;
        match api.delete(name, &params).await {
            Ok(_) => Ok(format!("pruned {}/{name}", kind.kind)),
            Err(err) if is_not_found(&err) => Ok(format!("pruned {}/{name}", kind.kind)),
            Err(err) => Err(Failure::Failed(format!("cannot prune {}/{name}: {}", kind.kind, describe(&err)))),
        }
    }

    fn log<T>(&self, verb: &str, member: &Member, result: &Result<T, kube::Error>) {
        if self.verbose {
            let status = match result {
                Ok(_) => "200".to_string(),
                Err(kube::Error::Api(status)) => status.code.to_string(),
                Err(err) => format!("error: {err}"),
            };
            let scope = if member.kind.namespaced { format!(" -n {}", self.namespace) } else { String::new() };
            eprintln!("api: {verb} {}{scope} {} -> {status}", member.kind.resource(), member.name());
        }
    }
}

/// Members whose server-side dry run answered with the object as it is stored: applying them
/// again would write nothing. Kept with the object they were dry-run as, so that another object
/// of the same name (the parent with fewer kinds) is still applied.
#[derive(Debug, Default)]
pub struct Unchanged(pub Vec<(Member, DynamicObject)>);

impl Unchanged {
    fn get(&self, member: &Member) -> Option<&DynamicObject> {
        self.0.iter().find(|(m, _)| m.kind == member.kind && m.object == member.object).map(|(_, stored)| stored)
    }

    /// Whether applying `member` would write nothing.
    pub fn covers(&self, member: &Member) -> bool {
        self.get(member).is_some()
    }
}

/// A member of the set that a prune takes out of it: deleted, or, when it `stays` (a claim, which
/// holds data, or an object marked `helm.sh/resource-policy: keep` as helm leaves them), only
/// unlabelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneTarget {
    pub kind: Kind,
    pub name: String,
    pub stays: bool,
}

/// Marked to outlive its release, as helm reads it.
pub fn marked_keep(meta: &ObjectMeta) -> bool {
    meta.annotations.as_ref().and_then(|a| a.get(KEEP.0)).is_some_and(|v| v == KEEP.1)
}

pub fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 404)
}

fn apply_error(member: &Member, err: kube::Error) -> Failure {
    if let kube::Error::Api(status) = &err {
        if status.code == 401 {
            return Failure::Failed(format!(
                "{}: the API server no longer accepts the credentials (401 Unauthorized: they expired or were revoked); get new credentials and rerun",
                member.describe()
            ));
        }
        if status.code == 409 {
            return Failure::Failed(format!(
                "{}: {} (another field manager owns these fields; rerun with --force-conflicts to take them over)",
                member.describe(),
                status.message
            ));
        }
        if status.code == 404 && member.kind.kind == "ServiceMonitor" {
            return Failure::Failed(format!(
                "{}: the ServiceMonitor CRD (monitoring.coreos.com/v1) is not installed (install the Prometheus Operator, or set serviceMonitor.enabled=false)",
                member.describe()
            ));
        }
    }
    Failure::Failed(format!("{}: {}", member.describe(), describe(&err)))
}
