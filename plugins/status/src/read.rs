//! Everything the status is made of, read from the cluster in two parallel waves: the objects
//! first (pods, events, records, claims, Jobs, routes, the stores' Secrets), then what depends on
//! the pods (the schema, read in a Ready pod; the kubelets' volume stats; the log lines of
//! ended containers). Reading pods and events is required; everything else degrades to a note.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Event, PersistentVolumeClaim, Pod, Secret};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, LogParams, ObjectList};
use kube::Client;
use kubectl_mlflow_core::cluster::lookup::Found;
use kubectl_mlflow_core::cluster::{describe, Session};
use kubectl_mlflow_core::engine::installed::{self, Records};
use kubectl_mlflow_core::{identity, Failure};

use crate::pods::{self, Ended};
use crate::schema::{self, Reading};
use crate::stores::{Server, Source, Sources};
use crate::volumes::{self, Summary};

/// What was read of a release.
pub struct Observed {
    pub release: String,
    pub namespace: String,
    pub now: Timestamp,
    pub found: Found,
    pub records: Result<Records, String>,
    pub pods: Vec<Pod>,
    pub events: Vec<Event>,
    pub replica_sets: Vec<ReplicaSet>,
    pub claims: Vec<PersistentVolumeClaim>,
    pub jobs: Vec<Job>,
    pub ingresses: Vec<Ingress>,
    pub routes: Vec<DynamicObject>,
    pub sources: Sources,
    pub schema: Result<Reading, String>,
    pub summaries: BTreeMap<String, Result<Summary, String>>,
    /// The last log line of each pod's ended container.
    pub logs: BTreeMap<String, String>,
    /// What could not be read, and why.
    pub notes: Vec<String>,
}

/// What a watch need not read again: the schema of the same pod instance, the log of the same
/// ended container.
#[derive(Default)]
pub struct Cache {
    schema: Option<(String, Reading)>,
    logs: LogCache,
}

/// Reads the release `found` in the session's namespace.
pub async fn observe(session: &Session, release: &str, found: Found, cache: &mut Cache) -> Result<Observed, Failure> {
    let (client, ns) = (&session.client, session.namespace.as_str());
    let by_pods = ListParams::default().labels(&server_selector(&found));
    let by_release = ListParams::default().labels(&identity::selector(release, None));
    let warnings = ListParams::default().fields("type=Warning");
    let all = ListParams::default();
    let server = Server::of(&found.deployment);
    let wanted = server.as_ref().map(Server::sources).unwrap_or_default();
    let container = server.as_ref().map_or(identity::SERVER_CONTAINER, |s| s.container_name()).to_string();
    let (pod_api, event_api) =
        (Api::<Pod>::namespaced(client.clone(), ns), Api::<Event>::namespaced(client.clone(), ns));
    let replica_set_api = Api::<ReplicaSet>::namespaced(client.clone(), ns);
    let claim_api = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns);
    let (job_api, ingress_api) =
        (Api::<Job>::namespaced(client.clone(), ns), Api::<Ingress>::namespaced(client.clone(), ns));
    let (pods, events, replica_sets, records, claims, jobs, ingresses, cron_job, routes, sources) = futures::join!(
        pod_api.list(&by_pods),
        event_api.list(&warnings),
        replica_set_api.list(&by_pods),
        installed::records(client, ns, release),
        claim_api.list(&by_release),
        job_api.list(&all),
        ingress_api.list(&by_release),
        cron_job(client, ns, &found, &by_release),
        http_routes(client, ns, &by_release),
        read_sources(client, ns, wanted),
    );
    // The official chart's GC pods carry the server's selector labels: pods of Jobs are not servers.
    let pods: Vec<Pod> =
        pods.map_err(|err| required(&err, "pods", ns))?.items.into_iter().filter(|p| !owned_by_job(p)).collect();
    let events = events.map_err(|err| required(&err, "events", ns))?.items;
    let mut notes = Vec::new();
    let replica_sets = optional(replica_sets, "ReplicaSets", &mut notes);
    let claims = optional(claims, "PersistentVolumeClaims", &mut notes);
    let mut found = found;
    found.cron_job = found.cron_job.or(cron_job);
    let jobs = of_release(optional(jobs, "Jobs", &mut notes), release, found.cron_job.as_ref());
    let ingresses = optional(ingresses, "Ingresses", &mut notes);
    let routes = routes.unwrap_or_else(|why| {
        notes.push(why);
        Vec::new()
    });
    let claims = with_mounted(client, ns, claims, &pods, &mut notes).await;
    let claim_names: BTreeSet<String> = claims.iter().filter_map(|c| c.metadata.name.clone()).collect();
    let (schema, summaries, logs) = futures::join!(
        read_schema(client, ns, &pods, &container, &mut cache.schema),
        read_summaries(client, volumes::nodes(&pods, &claim_names)),
        read_logs(client, ns, pods::ended(&pods), &mut cache.logs),
    );
    Ok(Observed {
        release: release.into(),
        namespace: ns.into(),
        now: Timestamp::now(),
        found,
        records,
        pods,
        events,
        replica_sets,
        claims,
        jobs,
        ingresses,
        routes,
        sources,
        schema,
        summaries,
        logs,
        notes,
    })
}

fn owned_by_job(pod: &Pod) -> bool {
    pod.metadata.owner_references.iter().flatten().any(|o| o.kind == "Job")
}

/// The GC CronJob of a chart that gives it no component label (the official chart's).
async fn cron_job(client: &Client, namespace: &str, found: &Found, params: &ListParams) -> Option<CronJob> {
    if found.cron_job.is_some() {
        return None;
    }
    let list = Api::<CronJob>::namespaced(client.clone(), namespace).list(params).await.ok()?;
    list.items.into_iter().next()
}

/// The Jobs labelled for the release, and those its CronJob made (the CronJob controller copies
/// no labels of the chart's pod template onto them).
fn of_release(jobs: Vec<Job>, release: &str, cron_job: Option<&CronJob>) -> Vec<Job> {
    let cron_uid = cron_job.and_then(|c| c.metadata.uid.clone());
    jobs.into_iter()
        .filter(|job| {
            let labels = job.metadata.labels.clone().unwrap_or_default();
            let labelled = identity::is_of_release(&|key: &str| labels.get(key).cloned(), release);
            let owned = job.metadata.owner_references.iter().flatten().any(|o| Some(&o.uid) == cron_uid.as_ref());
            labelled || owned
        })
        .collect()
}

/// The Deployment's own selector finds its pods, whichever chart labelled them.
fn server_selector(found: &Found) -> String {
    let labels = found.deployment.spec.as_ref().and_then(|s| s.selector.match_labels.clone()).unwrap_or_default();
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

fn required(err: &kube::Error, what: &str, namespace: &str) -> Failure {
    Failure::failed(format!(
        "cannot list {what} in namespace {namespace}: {} (kubectl mlflow status needs get, list and watch on pods and events in the release's namespace; README, \"kubectl mlflow status\", lists every permission it uses)",
        describe(err)
    ))
}

/// A list that only adds to the status: when it cannot be read, a note says why.
fn optional<K: Clone>(result: Result<ObjectList<K>, kube::Error>, what: &str, notes: &mut Vec<String>) -> Vec<K> {
    match result {
        Ok(list) => list.items,
        Err(err) => {
            notes.push(format!("cannot list {what}: {}", describe(&err)));
            Vec::new()
        }
    }
}

async fn http_routes(client: &Client, namespace: &str, params: &ListParams) -> Result<Vec<DynamicObject>, String> {
    let gvk = GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "httproutes");
    match Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource).list(params).await {
        Ok(list) => Ok(list.items),
        // no Gateway API in the cluster: no routes
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Vec::new()),
        Err(err) => Err(format!("cannot list HTTPRoutes: {}", describe(&err))),
    }
}

async fn read_sources(client: &Client, namespace: &str, wanted: BTreeSet<Source>) -> Sources {
    let reads = wanted.into_iter().map(|source| async move {
        let data = match &source {
            Source::Secret(name) => Api::<Secret>::namespaced(client.clone(), namespace).get(name).await.map(|s| {
                s.data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                    .collect()
            }),
            Source::ConfigMap(name) => Api::<ConfigMap>::namespaced(client.clone(), namespace)
                .get(name)
                .await
                .map(|c| c.data.unwrap_or_default()),
        };
        let (kind, name) = match &source {
            Source::Secret(name) => ("Secret", name),
            Source::ConfigMap(name) => ("ConfigMap", name),
        };
        let data = data.map_err(|err| format!("cannot read {kind}/{name}: {}", describe(&err)));
        (source, data)
    });
    futures::future::join_all(reads).await.into_iter().collect()
}

/// The labelled claims, and those the pods mount that carry no release labels.
async fn with_mounted(
    client: &Client,
    namespace: &str,
    mut claims: Vec<PersistentVolumeClaim>,
    pods: &[Pod],
    notes: &mut Vec<String>,
) -> Vec<PersistentVolumeClaim> {
    let known: BTreeSet<String> = claims.iter().filter_map(|c| c.metadata.name.clone()).collect();
    let api = Api::<PersistentVolumeClaim>::namespaced(client.clone(), namespace);
    for name in volumes::mounted(pods).difference(&known) {
        match api.get_opt(name).await {
            Ok(Some(claim)) => claims.push(claim),
            Ok(None) => notes.push(format!("PersistentVolumeClaim/{name}, mounted by the server pods, does not exist")),
            Err(err) => notes.push(format!("cannot read PersistentVolumeClaim/{name}: {}", describe(&err))),
        }
    }
    claims.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    claims
}

/// The schema, read in the newest Ready pod (again only when that pod or its container changed).
async fn read_schema(
    client: &Client,
    namespace: &str,
    pods: &[Pod],
    container: &str,
    cache: &mut Option<(String, Reading)>,
) -> Result<Reading, String> {
    let newest = pods.iter().filter(|p| pods::is_ready(p)).max_by_key(|p| p.metadata.creation_timestamp.clone());
    let Some(pod) = newest else { return Err("no Ready server pod to read it in".into()) };
    let name = pod.metadata.name.clone().unwrap_or_default();
    let restarts: i32 =
        pod.status.iter().flat_map(|s| s.container_statuses.iter().flatten()).map(|c| c.restart_count).sum();
    let key = format!("{}/{restarts}", pod.metadata.uid.clone().unwrap_or_default());
    if let Some((_, reading)) = cache.as_ref().filter(|(cached, _)| *cached == key) {
        return Ok(reading.clone());
    }
    let reading = schema::read(client, namespace, &name, container).await;
    *cache = Some((key, reading.clone()));
    Ok(reading)
}

async fn read_summaries(client: &Client, nodes: BTreeSet<String>) -> BTreeMap<String, Result<Summary, String>> {
    let reads = nodes.into_iter().map(|node| async move {
        let summary = volumes::summary(client, &node).await;
        (node, summary)
    });
    futures::future::join_all(reads).await.into_iter().collect()
}

type LogCache = BTreeMap<(String, String, i32), Option<String>>;

async fn read_logs(
    client: &Client,
    namespace: &str,
    ended: Vec<Ended>,
    cache: &mut LogCache,
) -> BTreeMap<String, String> {
    let api = Api::<Pod>::namespaced(client.clone(), namespace);
    let missing: Vec<&Ended> =
        ended.iter().filter(|e| !cache.contains_key(&(e.pod.clone(), e.container.clone(), e.restarts))).collect();
    let reads = missing.iter().map(|e| {
        let params = |previous| LogParams {
            container: Some(e.container.clone()),
            previous,
            tail_lines: Some(20),
            ..LogParams::default()
        };
        let api = api.clone();
        async move {
            let previous = match e.previous {
                true => api.logs(&e.pod, &params(true)).await.ok().and_then(|log| pods::last_line(&log)),
                false => None,
            };
            // a container waiting to restart still serves its last run's log as the current one
            match previous {
                Some(line) => Some(line),
                None => api.logs(&e.pod, &params(false)).await.ok().and_then(|log| pods::last_line(&log)),
            }
        }
    });
    let lines = futures::future::join_all(reads).await;
    for (e, line) in missing.iter().zip(lines) {
        cache.insert((e.pod.clone(), e.container.clone(), e.restarts), line);
    }
    ended
        .iter()
        .filter_map(|e| {
            let line = cache.get(&(e.pod.clone(), e.container.clone(), e.restarts))?.clone()?;
            Some((e.pod.clone(), line))
        })
        .collect()
}
