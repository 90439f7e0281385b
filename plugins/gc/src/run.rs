//! Finding the release, making and running the Job, and reporting what it did.

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams, PostParams};
use kube::runtime::watcher::{self, watcher};
use kube::Client;
use kubectl_mlflow_core::cli::{format_duration, Reporter, EXIT_FAILED, EXIT_USAGE};
use kubectl_mlflow_core::engine::apply::describe;
use kubectl_mlflow_core::engine::progress::Progress;
use kubectl_mlflow_core::lookup::{self, Found, LookupError};
use kubectl_mlflow_core::names::truncate;
use kubectl_mlflow_core::output::Format;
use kubectl_mlflow_core::{cluster, gc_job, yaml};

use crate::Cli;

pub async fn execute(cli: Cli, reporter: Reporter) -> ExitCode {
    let found = match find(&cli).await {
        Ok(found) => found,
        Err(code) => return code(&reporter),
    };
    if cli.all_workspaces && !runs_workspaces(&found) {
        reporter.error(
            "--all-workspaces: the server does not run with workspaces (its flags lack --enable-workspaces); \
             MLflow would retry for minutes and fail (leave out --all-workspaces)",
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let name = job_name(&found);
    let job = match gc_job::job(&found, &cli.release, &name, &cli.request()) {
        Ok(job) => job,
        Err(message) => {
            reporter.error(&format!("cannot make a GC Job for release {}: {message}", cli.release));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if cli.dry_run {
        return print_job(&job, cli.output.unwrap_or(Format::Yaml));
    }
    match create_and_wait(&cli, &job, &reporter).await {
        Ok(code) => code,
        Err(message) => {
            reporter.error(&message);
            ExitCode::from(EXIT_FAILED)
        }
    }
}

type Failure = Box<dyn FnOnce(&Reporter) -> ExitCode>;

async fn find(cli: &Cli) -> Result<Found, Failure> {
    let lookup_failure = |err: LookupError| -> Failure {
        Box::new(move |reporter: &Reporter| match err {
            LookupError::Input(problem) => reporter.problems(&problem.into()),
            LookupError::Cluster(message) => {
                reporter.error(&message);
                ExitCode::from(EXIT_FAILED)
            }
        })
    };
    if let Some(path) = &cli.manifests {
        let text = if path == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map(|_| text)
        } else {
            std::fs::read_to_string(path)
        };
        let text = text.map_err(|err| {
            let message = format!("--manifests {path}: cannot read the file: {err}");
            Box::new(move |reporter: &Reporter| {
                reporter.error(&message);
                ExitCode::from(EXIT_USAGE)
            }) as Failure
        })?;
        return lookup::in_manifests(&text, &cli.release, path).map_err(lookup_failure);
    }
    let namespace = cluster::namespace(&cli.cluster).map_err(|p| Box::new(move |r: &Reporter| r.problems(&p.into())) as Failure)?;
    let client = cluster::connect(&cli.cluster).await.map_err(|p| Box::new(move |r: &Reporter| r.problems(&p.into())) as Failure)?;
    lookup::in_cluster(&client, &namespace, &cli.release).await.map_err(lookup_failure)
}

fn runs_workspaces(found: &Found) -> bool {
    let pod = found.deployment.spec.as_ref().and_then(|s| s.template.spec.as_ref());
    let args = pod.into_iter().flat_map(|p| p.containers.iter()).flat_map(|c| c.command.iter().chain(c.args.iter()).flatten());
    let env = pod.into_iter().flat_map(|p| p.containers.iter()).flat_map(|c| c.env.iter().flatten());
    let mut env = env;
    args.into_iter().any(|a| a == "--enable-workspaces")
        || env.any(|e| e.name == "MLFLOW_ENABLE_WORKSPACES" && e.value.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("true")))
}

/// `<deployment>-gc-<unix seconds>`, within the 63 characters of a label value.
fn job_name(found: &Found) -> String {
    let base = found.deployment.metadata.name.clone().unwrap_or_else(|| "mlflow".into());
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("{}-gc-{stamp}", truncate(&base, 63 - 14))
}

fn print_job(job: &Job, format: Format) -> ExitCode {
    let json = serde_json::to_value(job).expect("a Job serializes");
    let text = match format {
        Format::Yaml => format!("---\n{}", yaml::to_string(&json)),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&json).expect("JSON")),
    };
    match std::io::stdout().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(EXIT_FAILED),
    }
}

async fn create_and_wait(cli: &Cli, job: &Job, reporter: &Reporter) -> Result<ExitCode, String> {
    let client = cluster::connect(&cli.cluster).await.map_err(|p| p.to_string())?;
    let namespace = job.metadata.namespace.clone().unwrap_or_default();
    let name = job.metadata.name.clone().unwrap_or_default();
    let jobs = Api::<Job>::namespaced(client.clone(), &namespace);
    jobs.create(&PostParams::default(), job).await.map_err(|err| format!("cannot create Job/{name}: {}", describe(&err)))?;
    reporter.note(&format!("created Job/{name} in namespace {namespace}"));
    if cli.no_wait {
        reporter.note(&format!("follow it with: kubectl logs -f job/{name} -n {namespace}"));
        return Ok(ExitCode::SUCCESS);
    }
    let mut progress = Progress::new();
    progress.phase(&format!("running mlflow gc in Job/{name}"));
    let outcome = tokio::time::timeout(cli.timeout, finished(&jobs, &name)).await;
    progress.finish();
    let logs = job_logs(&client, &namespace, &name).await;
    match outcome {
        Ok(Ok(true)) => {
            let _ = std::io::stdout().write_all(logs.as_bytes());
            reporter.note(&format!("Job/{name} completed"));
            Ok(ExitCode::SUCCESS)
        }
        Ok(Ok(false)) => Err(format!("Job/{name} failed; its log:\n{logs}")),
        Ok(Err(message)) => Err(message),
        Err(_) => Err(format!(
            "Job/{name} did not finish within {} (it keeps running; see kubectl logs job/{name} -n {namespace}):\n{logs}",
            format_duration(cli.timeout)
        )),
    }
}

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

async fn job_logs(client: &Client, namespace: &str, job: &str) -> String {
    let pods = Api::<Pod>::namespaced(client.clone(), namespace);
    let Ok(list) = pods.list(&ListParams::default().labels(&format!("job-name={job}"))).await else {
        return String::new();
    };
    let mut out = String::new();
    for pod in list.items {
        let name = pod.metadata.name.unwrap_or_default();
        let params = LogParams { container: Some("gc".into()), ..LogParams::default() };
        if let Ok(text) = pods.logs(&name, &params).await {
            out.push_str(&text);
        }
    }
    out
}
