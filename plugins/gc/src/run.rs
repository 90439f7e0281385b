//! Finding the release, making and running the Job, and reporting what it did.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube::runtime::watcher::{self, watcher};
use kubectl_mlflow_core::cluster::lookup::{self, Found};
use kubectl_mlflow_core::cluster::placement::{pin_to_node, placement, Placement};
use kubectl_mlflow_core::cluster::{describe, Session};
use kubectl_mlflow_core::names::truncate;
use kubectl_mlflow_core::ui::output::{self, Format};
use kubectl_mlflow_core::ui::{format_duration, mask, Reporter};
use kubectl_mlflow_core::Failure;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use crate::{follow, job, Cli};

pub async fn execute(cli: Cli) -> Result<(), Failure> {
    let reporter = Reporter::new(&cli.out);
    let (found, session) = find(&cli).await?;
    if cli.all_workspaces && !runs_workspaces(&found) {
        return Err(Failure::input(
            "--all-workspaces: the server does not run with workspaces (its flags lack --enable-workspaces); \
             MLflow would retry for minutes and fail (leave out --all-workspaces)",
        ));
    }
    let name = job_name(&found);
    let mut job = job::job(&found, &cli.release, &name, &cli.request())
        .map_err(|message| Failure::input(format!("cannot make a GC Job for release {}: {message}", cli.release)))?;
    if let Some(session) = &session {
        pin_beside_the_server(session, &found, &mut job, &reporter).await?;
    }
    if let Some(cron_job) = found.cron_job.as_ref().and_then(|c| c.metadata.name.clone()) {
        reporter.note(&format!("the Job is made from CronJob/{cron_job}'s job template"));
    }
    if cli.dry_run {
        let text = output::object(&job, cli.output.unwrap_or(Format::Yaml));
        return std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|err| Failure::failed(format!("cannot write to standard output: {err}")));
    }
    let session = match session {
        Some(session) => session,
        None => Session::connect(&cli.cluster.target()).await?,
    };
    create_and_wait(&cli, &session, &job, &reporter).await
}

/// The release, from `--manifests` or the cluster (then with the session, to reuse).
async fn find(cli: &Cli) -> Result<(Found, Option<Session>), Failure> {
    if let Some(path) = &cli.manifests {
        let text = if path == "-" {
            let mut text = String::new();
            tokio::io::stdin().read_to_string(&mut text).await.map(|_| text)
        } else {
            tokio::fs::read_to_string(path).await
        };
        let text = text.map_err(|err| Failure::input(format!("--manifests {path}: cannot read the file: {err}")))?;
        return Ok((lookup::in_manifests(&text, &cli.release, path)?, None));
    }
    let session = Session::connect(&cli.cluster.target()).await?;
    let found = lookup::in_session(&session, &cli.release).await?;
    Ok((found, Some(session)))
}

fn runs_workspaces(found: &Found) -> bool {
    let pod = found.deployment.spec.as_ref().and_then(|s| s.template.spec.as_ref());
    let args =
        pod.into_iter().flat_map(|p| p.containers.iter()).flat_map(|c| c.command.iter().chain(c.args.iter()).flatten());
    let env = pod.into_iter().flat_map(|p| p.containers.iter()).flat_map(|c| c.env.iter().flatten());
    let mut env = env;
    args.into_iter().any(|a| a == "--enable-workspaces")
        || env.any(|e| {
            e.name == "MLFLOW_ENABLE_WORKSPACES" && e.value.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("true"))
        })
}

/// `<deployment>-gc-<unix milliseconds>`, within the 63 characters of a label value. Not seconds:
/// a run killed as it created its Job and rerun at once would meet its own name ("already exists").
fn job_name(found: &Found) -> String {
    let base = found.deployment.metadata.name.clone().unwrap_or_else(|| "mlflow".into());
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    format!("{}-gc-{stamp}", truncate(&base, 63 - 17))
}

async fn create_and_wait(cli: &Cli, session: &Session, job: &Job, reporter: &Reporter) -> Result<(), Failure> {
    let client = &session.client;
    let namespace = job.metadata.namespace.clone().unwrap_or_default();
    let name = job.metadata.name.clone().unwrap_or_default();
    let jobs = Api::<Job>::namespaced(client.clone(), &namespace);
    jobs.create(&PostParams::default(), job)
        .await
        .map_err(|err| Failure::failed(format!("cannot create Job/{name}: {}", describe(&err))))?;
    reporter.note(&format!("created Job/{name} in namespace {namespace}"));
    let follow_hint = format!("follow it with: kubectl logs -f job/{name} -n {namespace}; delete it with: kubectl delete job/{name} -n {namespace}");
    if cli.no_wait {
        reporter.note(&follow_hint);
        return Ok(());
    }
    // Listening before the note, so that an interrupt right after it finds the handler.
    let interrupted = tokio::signal::ctrl_c().fuse();
    tokio::pin!(interrupted);
    let _ = futures::poll!(&mut interrupted);
    reporter.note(&format!(
        "running mlflow gc in Job/{name}; its log follows (Ctrl-C stops following, the Job keeps running)"
    ));
    let (done, finished_rx) = watch::channel(false);
    let pods = Api::<Pod>::namespaced(client.clone(), &namespace);
    let mut logs = tokio::spawn(follow::follow(pods, name.clone(), finished_rx, |line| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", mask::passwords(line));
        let _ = out.flush();
    }));
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(cli.timeout, finished(&jobs, &name)) => outcome,
        _ = &mut interrupted => {
            logs.abort();
            return Err(Failure::failed(format!("interrupted: Job/{name} keeps running; {follow_hint}")));
        }
    };
    let _ = done.send(true);
    if tokio::time::timeout(LOG_GRACE, &mut logs).await.is_err() {
        logs.abort();
    }
    match outcome {
        Ok(Ok(true)) => {
            reporter.note(&format!("Job/{name} completed"));
            Ok(())
        }
        Ok(Ok(false)) => Err(Failure::failed(format!(
            "Job/{name} failed: mlflow gc did not finish (its log is above; again with kubectl logs job/{name} -n {namespace})"
        ))),
        Ok(Err(message)) => Err(Failure::failed(message)),
        Err(_) => Err(Failure::failed(format!(
            "Job/{name} did not finish within {}; it keeps running: {follow_hint}",
            format_duration(cli.timeout)
        ))),
    }
}

/// How long the log may take to arrive in full once the Job has finished.
const LOG_GRACE: Duration = Duration::from_secs(15);

/// Watches the Job until it completes (`true`) or fails (`false`).
async fn finished(jobs: &Api<Job>, name: &str) -> Result<bool, String> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher(jobs.clone(), config).boxed();
    while let Some(event) = events.next().await {
        let job = match event {
            Ok(watcher::Event::Apply(job)) | Ok(watcher::Event::InitApply(job)) => job,
            Ok(_) => continue,
            Err(err) => return Err(format!("lost the watch of Job/{name}: {err}")),
        };
        let conditions = job.status.and_then(|s| s.conditions).unwrap_or_default();
        let holds = |kind: &str| conditions.iter().any(|c| c.type_ == kind && c.status == "True");
        if holds("Complete") {
            return Ok(true);
        }
        if holds("Failed") {
            return Ok(false);
        }
    }
    Err(format!("the watch of Job/{name} ended"))
}

/// A ReadWriteOnce volume attaches to one node: the Job's pod must run beside the server pod
/// that holds it, or it waits for a Multi-Attach that never comes.
async fn pin_beside_the_server(
    session: &Session,
    found: &Found,
    job: &mut Job,
    reporter: &Reporter,
) -> Result<(), Failure> {
    let namespace = job.metadata.namespace.clone().unwrap_or_default();
    let selector = job::server_pod_selector(found);
    match placement(&session.client, &namespace, &job::claims(job), &selector).await? {
        Placement::Anywhere => {}
        Placement::Beside { claim, pod, node } => {
            pin_to_node(job, &node);
            reporter.note(&format!(
                "PersistentVolumeClaim/{claim} is ReadWriteOnce: the Job's pod runs on node {node}, beside the server pod {pod}"
            ));
        }
        Placement::Unheld { claim } => reporter.warn(&format!(
            "PersistentVolumeClaim/{claim} is ReadWriteOnce and no server pod runs: the Job's pod goes wherever the volume can attach"
        )),
    }
    Ok(())
}
