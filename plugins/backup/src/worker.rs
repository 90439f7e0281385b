//! The worker: a Job on the release's own image, with the server's environment, credentials and
//! volumes, that idles while the plugin runs `python/worker.py` in it through exec (its stdout
//! and stdin are the archive's stream). On a ReadWriteOnce volume its pod runs beside the server
//! pod; it is deleted afterwards, and ends by itself (two idle minutes, at the latest its active
//! deadline) if the plugin is killed.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVar, Pod, PodSpec, PodTemplateSpec, ResourceRequirements, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, AttachParams, AttachedProcess, DeleteParams, PostParams, PropagationPolicy};
use kube::runtime::watcher::{self, watcher};
use kubectl_mlflow_core::cluster::placement::{pin_to_node, placement, Placement};
use kubectl_mlflow_core::cluster::{describe, Session};
use kubectl_mlflow_core::engine::access::{self, Access};
use kubectl_mlflow_core::identity;
use kubectl_mlflow_core::names::truncate;
use kubectl_mlflow_core::ui::Reporter;
use kubectl_mlflow_core::Failure;

use crate::server::Stores;

pub const CONTAINER: &str = "worker";
const SCRATCH: &str = "/kmlf";
const SCRIPT: &str = include_str!("../python/worker.py");
/// Idles until the Job is deleted; SIGTERM ends it at once (as PID 1 nothing else would). It also
/// ends by itself once no other process has run in the container for [`ORPHANED`] seconds: the
/// plugin that runs `worker.py` through exec was killed (its exec'd process dies with the
/// stream), so the Job completes and goes after its TTL instead of idling to its deadline.
const IDLE: &str = "import os, signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n\
last = time.monotonic()\nwhile time.monotonic() - last < int(os.environ['KMLF_ORPHANED']):\n    time.sleep(2)\n    \
if any(p.isdigit() and int(p) != os.getpid() for p in os.listdir('/proc')):\n        last = time.monotonic()\n";
/// How long the worker idles with nothing run in it before it ends (longer than any gap between
/// the plugin's execs, which follow one another at once).
const ORPHANED: u64 = 120;
/// Runs the script from the environment, so no file need be written first.
const RUN: &str = "import os; exec(compile(os.environ['KMLF_WORKER'], 'worker.py', 'exec'))";
/// The worker's CPU request (a tenth of a core: it mostly waits on the network and the stores).
const WORKER_CPU: &str = "100m";

/// What a run needs to be allowed, asked before the first write.
pub fn needs() -> BTreeSet<Access> {
    let of = |group: &'static str, resource: &'static str, verb: &'static str| Access {
        group,
        resource,
        verb,
        namespaced: true,
    };
    [
        of("batch", "jobs", "create"),
        of("batch", "jobs", "delete"),
        of("", "pods", "list"),
        of("", "pods", "watch"),
        of("", "pods/exec", "create"),
        of("", "persistentvolumeclaims", "get"),
    ]
    .into_iter()
    .collect()
}

/// Every permission the run lacks, as input problems (exit 2, nothing written).
pub async fn check_access(session: &Session) -> Result<(), Failure> {
    let problems = access::check(&session.client, &session.namespace, &needs()).await;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Input(problems))
    }
}

pub struct Worker {
    jobs: Api<Job>,
    pods: Api<Pod>,
    pub job: String,
    pub pod: String,
    pub namespace: String,
}

/// The Job for `purpose` (`backup`, `restore`) of the release.
pub fn job(stores: &Stores, release: &str, namespace: &str, purpose: &str, deadline: Duration) -> Job {
    // milliseconds: a run killed as it created its Job and rerun at once gets a name of its own
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let name = format!("{}-{purpose}-{stamp}", truncate(&stores.deployment, 63 - purpose.len() - 15));
    let server = &stores.container;
    let mut env = server.env.clone().unwrap_or_default();
    env.extend(stores.worker_env());
    env.push(EnvVar { name: "KMLF_SCRATCH".into(), value: Some(SCRATCH.into()), value_from: None });
    env.push(EnvVar { name: "KMLF_WORKER".into(), value: Some(SCRIPT.into()), value_from: None });
    env.push(EnvVar { name: "KMLF_ORPHANED".into(), value: Some(ORPHANED.to_string()), value_from: None });
    let mut mounts = server.volume_mounts.clone().unwrap_or_default();
    mounts.push(VolumeMount { name: "kmlf-scratch".into(), mount_path: SCRATCH.into(), ..VolumeMount::default() });
    let container = Container {
        name: CONTAINER.into(),
        image: server.image.clone(),
        image_pull_policy: server.image_pull_policy.clone(),
        command: Some(vec!["python3".into(), "-c".into(), IDLE.into()]),
        env: Some(env),
        env_from: server.env_from.clone(),
        security_context: server.security_context.clone(),
        resources: Some(resources(server.resources.as_ref())),
        volume_mounts: Some(mounts),
        working_dir: server.working_dir.clone(),
        ..Container::default()
    };
    let mut volumes = stores.pod.volumes.clone().unwrap_or_default();
    volumes.push(Volume {
        name: "kmlf-scratch".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    });
    let labels = identity::labels(release, Some(purpose));
    let pod = PodSpec {
        containers: vec![container],
        init_containers: None,
        restart_policy: Some("Never".into()),
        enable_service_links: Some(false),
        termination_grace_period_seconds: Some(5),
        volumes: Some(volumes),
        topology_spread_constraints: None,
        ..stores.pod.clone()
    };
    Job {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.into()),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            active_deadline_seconds: Some(deadline.as_secs() as i64),
            ttl_seconds_after_finished: Some(600),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }),
                spec: Some(pod),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    }
}

/// The server's limits (what the namespace allows it) and a CPU request of its own: a pod without
/// requests is BestEffort, and on a busy node gets almost no CPU (its probe of the store took
/// minutes on a node of other tests).
fn resources(server: Option<&ResourceRequirements>) -> ResourceRequirements {
    let mut requests = server.and_then(|r| r.requests.clone()).unwrap_or_default();
    requests.retain(|name, _| name == "memory");
    requests.insert("cpu".into(), Quantity(WORKER_CPU.into()));
    ResourceRequirements {
        limits: server.and_then(|r| r.limits.clone()),
        requests: Some(requests),
        ..Default::default()
    }
}

impl Worker {
    /// Creates the Job (beside the server pod when a claim is ReadWriteOnce) and waits until its
    /// pod runs.
    pub async fn start(
        session: &Session,
        stores: &Stores,
        mut job: Job,
        timeout: Duration,
        reporter: &Reporter,
    ) -> Result<Worker, Failure> {
        let namespace = session.namespace.clone();
        pin_beside_the_server(session, stores, &mut job, reporter).await?;
        let name = job.metadata.name.clone().unwrap_or_default();
        let jobs = Api::<Job>::namespaced(session.client.clone(), &namespace);
        let pods = Api::<Pod>::namespaced(session.client.clone(), &namespace);
        jobs.create(&PostParams::default(), &job)
            .await
            .map_err(|err| Failure::failed(format!("cannot create Job/{name}: {}", describe(&err))))?;
        let mut worker = Worker { jobs, pods, job: name.clone(), pod: String::new(), namespace };
        match tokio::time::timeout(timeout, worker.running()).await {
            Ok(Ok(pod)) => {
                worker.pod = pod;
                Ok(worker)
            }
            Ok(Err(message)) => {
                worker.remove().await;
                Err(Failure::failed(message))
            }
            Err(_) => {
                worker.remove().await;
                Err(Failure::failed(format!(
                    "the pod of Job/{name} did not start within {}s (see kubectl get events -n {})",
                    timeout.as_secs(),
                    worker.namespace
                )))
            }
        }
    }

    async fn running(&self) -> Result<String, String> {
        let config = watcher::Config::default().labels(&format!("job-name={}", self.job));
        let mut events = watcher(self.pods.clone(), config).boxed();
        while let Some(event) = events.next().await {
            let pod = match event {
                Ok(watcher::Event::Apply(pod)) | Ok(watcher::Event::InitApply(pod)) => pod,
                Ok(_) => continue,
                Err(err) => return Err(format!("lost the watch of Job/{}'s pod: {err}", self.job)),
            };
            let name = pod.metadata.name.clone().unwrap_or_default();
            let status = pod.status.as_ref();
            match status.and_then(|s| s.phase.as_deref()) {
                Some("Running") => return Ok(name),
                Some("Failed") | Some("Succeeded") => {
                    return Err(format!("the pod {name} of Job/{} ended before it was used", self.job))
                }
                _ => {}
            }
            let waiting = status
                .and_then(|s| s.container_statuses.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|c| c.state.as_ref()?.waiting.as_ref())
                .find(|w| {
                    matches!(
                        w.reason.as_deref(),
                        Some(
                            "ErrImagePull"
                                | "ImagePullBackOff"
                                | "InvalidImageName"
                                | "CreateContainerConfigError"
                                | "CreateContainerError"
                        )
                    )
                });
            if let Some(w) = waiting {
                return Err(format!(
                    "the pod {name} of Job/{} cannot start: {}: {}",
                    self.job,
                    w.reason.clone().unwrap_or_default(),
                    w.message.clone().unwrap_or_default()
                ));
            }
        }
        Err(format!("the watch of Job/{}'s pod ended", self.job))
    }

    /// Runs `worker.py SUBCOMMAND SETTINGS` in the pod.
    pub async fn exec(
        &self,
        subcommand: &str,
        settings: &serde_json::Value,
        stdin: bool,
    ) -> Result<AttachedProcess, Failure> {
        let command = ["python3", "-c", RUN, subcommand, &settings.to_string()];
        let mut params = AttachParams::default().container(CONTAINER).stdin(stdin).stdout(true).stderr(true);
        params.max_stdout_buf_size = Some(1 << 20);
        params.max_stdin_buf_size = Some(1 << 20);
        params.max_stderr_buf_size = Some(64 << 10);
        self.pods.exec(&self.pod, command, &params).await.map_err(|err| {
            Failure::failed(format!("cannot run the worker in pod {} (kubectl exec): {}", self.pod, describe(&err)))
        })
    }

    /// Deletes the Job and its pod.
    pub async fn remove(&self) {
        let params =
            DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..DeleteParams::default() };
        let _ = self.jobs.delete(&self.job, &params).await;
    }
}

/// A ReadWriteOnce volume attaches to one node: the worker's pod must run beside the server pod
/// that holds it.
async fn pin_beside_the_server(
    session: &Session,
    stores: &Stores,
    job: &mut Job,
    reporter: &Reporter,
) -> Result<(), Failure> {
    let volumes = stores.pod.volumes.iter().flatten();
    let claims: Vec<String> =
        volumes.filter_map(|v| v.persistent_volume_claim.as_ref()).map(|c| c.claim_name.clone()).collect();
    match placement(&session.client, &session.namespace, &claims, &stores.selector).await? {
        Placement::Anywhere => {}
        Placement::Beside { node, .. } => pin_to_node(job, &node),
        Placement::Unheld { claim } => reporter.warn(&format!(
            "PersistentVolumeClaim/{claim} is ReadWriteOnce and no server pod runs: the worker goes wherever the volume can attach"
        )),
    }
    Ok(())
}
