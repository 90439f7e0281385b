//! What belongs to a release in its namespace, read before anything is deleted: its native
//! ApplySet parent, its helm release records, the objects labelled for it (members, helm's
//! objects, gc Jobs and what they own), the Secrets `kubectl mlflow secrets` made for it, and its
//! PersistentVolumeClaims with their volumes.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Secret};
use kube::api::{Api, ListParams, ObjectMeta};
use kubectl_mlflow_core::cluster::{describe, Session};
use kubectl_mlflow_core::engine::apply::{is_not_found, marked_keep, Applier};
use kubectl_mlflow_core::engine::applyset::{self, PART_OF_LABEL};
use kubectl_mlflow_core::engine::kinds::{Kind, KINDS};
use kubectl_mlflow_core::identity::{self, COMPONENT_LABEL, GC_COMPONENT};
use kubectl_mlflow_core::Failure;

use crate::stored::{self, Entry};

/// What helm writes on every object of a release (helm 3.2 and later).
const HELM_RELEASE_NAME: &str = "meta.helm.sh/release-name";
const HELM_RELEASE_NAMESPACE: &str = "meta.helm.sh/release-namespace";

const fn extra(group: &'static str, kind: &'static str, plural: &'static str) -> Kind {
    Kind { group, version: "v1", kind, plural, namespaced: true, wave: 0 }
}

/// What the workloads make, labelled like the release: they go with their owners.
const DEPENDENTS: [Kind; 2] = [extra("apps", "ReplicaSet", "replicasets"), extra("", "Pod", "pods")];

/// One object, as it was when read (a later object of the same name is another one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    pub kind: Kind,
    pub name: String,
    pub uid: String,
}

impl ObjectRef {
    fn of(kind: Kind, meta: &ObjectMeta) -> ObjectRef {
        ObjectRef { kind, name: meta.name.clone().unwrap_or_default(), uid: meta.uid.clone().unwrap_or_default() }
    }

    /// `Deployment/mlflow-mlflow`.
    pub fn describe(&self) -> String {
        format!("{}/{}", self.kind.kind, self.name)
    }
}

/// A claim of the release, with its size and volume.
#[derive(Debug, Clone)]
pub struct Claim {
    pub obj: ObjectRef,
    pub size: String,
    /// Part of a helm release whose stored manifest does not mark it keep: helm uninstall would
    /// delete it (set by `Plan::read_helm_policy`).
    pub helm_deletes: bool,
    pub volume: Option<Volume>,
}

#[derive(Debug, Clone)]
pub struct Volume {
    pub name: String,
    pub reclaim_policy: String,
}

/// Everything of a release in one namespace.
#[derive(Debug, Default)]
pub struct Plan {
    /// The native engine's ApplySet parent Secret.
    pub parent: Option<ObjectRef>,
    /// helm's records of the release (`sh.helm.release.v1.<release>.v<N>`).
    pub helm_records: Vec<ObjectRef>,
    /// Objects that go with the release: ApplySet members, helm's objects, gc Jobs and what
    /// they own (not claims, not the parent, not the secrets command's Secrets).
    pub objects: Vec<ObjectRef>,
    /// The gc Jobs among the objects (`kubectl mlflow gc`'s own belong to no set: deleted here).
    pub gc_jobs: Vec<ObjectRef>,
    /// The helm release's hooks among the objects (helm uninstall leaves them: deleted here).
    pub helm_hooks: Vec<ObjectRef>,
    /// Secrets made by `kubectl mlflow secrets` for the release.
    pub secrets: Vec<ObjectRef>,
    /// The release's objects marked `helm.sh/resource-policy: keep` (the generated admin
    /// password's Secret), claims aside, in the set or kept from it before: they stay, as helm
    /// leaves them.
    pub kept: Vec<ObjectRef>,
    pub claims: Vec<Claim>,
    /// Labelled for the release but belonging to none of the above: left alone.
    pub foreign: Vec<ObjectRef>,
}

impl Plan {
    /// Whether anything but claims and the secrets command's Secrets is there.
    pub fn installed(&self) -> bool {
        self.parent.is_some() || !self.helm_records.is_empty() || !self.objects.is_empty()
    }

    pub fn is_helm(&self) -> bool {
        !self.helm_records.is_empty()
    }

    /// Marks the claims helm uninstall would delete, by the manifest helm stored.
    pub fn read_helm_policy(&mut self, stored: &[Entry]) {
        for claim in &mut self.claims {
            claim.helm_deletes = !stored::keeps_claim(stored, &claim.obj.name);
        }
    }

    pub fn helm_would_delete_claims(&self) -> bool {
        self.claims.iter().any(|c| c.helm_deletes)
    }
}

/// The live objects named by helm's manifest, as read now (by uid); those already gone are skipped.
pub async fn live(session: &Session, named: &[(Kind, String)]) -> Result<Vec<ObjectRef>, Failure> {
    let mut objects = Vec::new();
    for (kind, name) in named {
        let found = api(session, *kind)
            .get_metadata_opt(name)
            .await
            .map_err(|err| Failure::failed(format!("cannot read {}/{name}: {}", kind.kind, describe(&err))))?;
        objects.extend(found.map(|obj| ObjectRef::of(*kind, &obj.metadata)));
    }
    Ok(objects)
}

/// Reads what belongs to `release` in the session's namespace; writes nothing.
pub async fn read(session: &Session, release: &str) -> Result<Plan, Failure> {
    let namespace = &session.namespace;
    let selector = identity::selector(release, None);
    let set_id = applyset::id(&applyset::parent_name(release), namespace);
    let mut plan = Plan {
        helm_records: helm_records(session, release).await?,
        claims: claims(session, &selector).await?,
        ..Plan::default()
    };
    let mut candidates = Vec::new();
    for kind in KINDS.iter().chain(DEPENDENTS.iter()).copied().filter(|k| k.kind != "PersistentVolumeClaim") {
        for meta in list(session, kind, &selector).await? {
            let obj = ObjectRef::of(kind, &meta);
            let label = |key: &str| meta.labels.as_ref().and_then(|l| l.get(key)).map(String::as_str);
            let annotation = |key: &str| meta.annotations.as_ref().and_then(|a| a.get(key)).map(String::as_str);
            let by_helm =
                annotation(HELM_RELEASE_NAME) == Some(release) && annotation(HELM_RELEASE_NAMESPACE) == Some(namespace);
            // Hooks carry no release annotations: the release's chart labels and helm's records say
            // whose they are (a migration Job kept after a failure, the External Secrets before it).
            let helm_hook = annotation("helm.sh/hook").is_some()
                && label("app.kubernetes.io/managed-by") == Some("Helm")
                && !plan.helm_records.is_empty();
            if kind.kind == "Secret" && label(identity::CREATED_BY_LABEL) == Some(identity::SECRETS_CREATOR) {
                plan.secrets.push(obj);
            } else if kind.kind == "Secret" && obj.name == applyset::parent_name(release) {
                plan.parent = Some(obj);
            } else if helm_hook && !by_helm {
                plan.helm_hooks.push(obj.clone());
                plan.objects.push(obj);
            } else if marked_keep(&meta) {
                // Its ApplySet label is gone once an uninstall or an upgrade has kept it.
                plan.kept.push(obj);
            } else if label(PART_OF_LABEL) == Some(set_id.as_str()) || by_helm {
                plan.objects.push(obj);
            } else if kind.namespaced && kind.kind == "Job" && label(COMPONENT_LABEL) == Some(GC_COMPONENT) {
                plan.gc_jobs.push(obj.clone());
                plan.objects.push(obj);
            } else {
                candidates.push((obj, owners(&meta)));
            }
        }
    }
    adopt_dependents(&mut plan, candidates);
    Ok(plan)
}

/// Objects owned (transitively) by what goes go too; of the rest, the namespaced ones are
/// reported as left alone, cluster-wide ones of other namespaces' releases are not ours to name.
fn adopt_dependents(plan: &mut Plan, mut candidates: Vec<(ObjectRef, Vec<String>)>) {
    loop {
        let uids: BTreeSet<String> = plan.objects.iter().map(|o| o.uid.clone()).collect();
        let (owned, rest): (Vec<_>, Vec<_>) =
            candidates.into_iter().partition(|(_, owners)| owners.iter().any(|u| uids.contains(u)));
        candidates = rest;
        if owned.is_empty() {
            break;
        }
        plan.objects.extend(owned.into_iter().map(|(obj, _)| obj));
    }
    plan.foreign = candidates.into_iter().map(|(obj, _)| obj).filter(|o| o.kind.namespaced).collect();
}

fn owners(meta: &ObjectMeta) -> Vec<String> {
    meta.owner_references.iter().flatten().map(|o| o.uid.clone()).collect()
}

async fn list(session: &Session, kind: Kind, selector: &str) -> Result<Vec<ObjectMeta>, Failure> {
    match api(session, kind).list_metadata(&ListParams::default().labels(selector)).await {
        Ok(list) => Ok(list.items.into_iter().map(|item| item.metadata).collect()),
        // A kind the cluster does not serve (the ServiceMonitor CRD) holds nothing.
        Err(err) if is_not_found(&err) => Ok(Vec::new()),
        Err(err) => Err(Failure::failed(format!(
            "cannot list {} in namespace {}: {}",
            kind.resource(),
            session.namespace,
            describe(&err)
        ))),
    }
}

/// The API of a kind, in the session's namespace when it is namespaced.
pub fn api(session: &Session, kind: Kind) -> Api<kube::core::DynamicObject> {
    let applier = Applier {
        client: session.client.clone(),
        namespace: session.namespace.clone(),
        force_conflicts: false,
        dry_run: false,
        verbose: false,
    };
    applier.api(kind)
}

async fn helm_records(session: &Session, release: &str) -> Result<Vec<ObjectRef>, Failure> {
    let secret = Kind::named("Secret").expect("Secret is known");
    let params = ListParams::default().labels(&format!("owner=helm,name={release}"));
    let list = Api::<Secret>::namespaced(session.client.clone(), &session.namespace)
        .list_metadata(&params)
        .await
        .map_err(|err| {
            Failure::failed(format!(
                "cannot list helm's release Secrets in namespace {}: {}",
                session.namespace,
                describe(&err)
            ))
        })?;
    Ok(list.items.iter().map(|item| ObjectRef::of(secret, &item.metadata)).collect())
}

async fn claims(session: &Session, selector: &str) -> Result<Vec<Claim>, Failure> {
    let kind = Kind::named("PersistentVolumeClaim").expect("PersistentVolumeClaim is known");
    let list = Api::<PersistentVolumeClaim>::namespaced(session.client.clone(), &session.namespace)
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|err| {
            Failure::failed(format!(
                "cannot list PersistentVolumeClaims in namespace {}: {}",
                session.namespace,
                describe(&err)
            ))
        })?;
    let volumes = Api::<PersistentVolume>::all(session.client.clone());
    let mut claims = Vec::new();
    for pvc in list.items {
        let spec = pvc.spec.clone().unwrap_or_default();
        let capacity = pvc.status.as_ref().and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage"));
        let request = spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage"));
        let size = capacity.or(request).map(|q| q.0.clone()).unwrap_or_else(|| "unknown size".into());
        // Reading volumes needs a cluster-wide right; without it the volume is just not named.
        let volume = match &spec.volume_name {
            Some(name) => volumes.get_opt(name).await.ok().flatten().map(|pv| Volume {
                name: name.clone(),
                reclaim_policy: pv
                    .spec
                    .and_then(|s| s.persistent_volume_reclaim_policy)
                    .unwrap_or_else(|| "Delete".into()),
            }),
            None => None,
        };
        claims.push(Claim { obj: ObjectRef::of(kind, &pvc.metadata), size, helm_deletes: false, volume });
    }
    Ok(claims)
}
