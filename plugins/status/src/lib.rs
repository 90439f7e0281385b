//! `kubectl mlflow status`: one read-only screen on a release — which engine made it and the
//! versions it runs, its server pods (ready, restarts, the last termination with its log line,
//! image pull problems), recent Warning events, its stores (never their credentials), the
//! database schema against the one MLflow expects, how full its volumes are, the GC CronJob,
//! basic auth, single sign-on and its URLs — and a verdict (Healthy, Degraded, Failing) that the
//! exit code carries: 0 only when Healthy. Works on releases of the native engine, of helm with this chart
//! and of the official MLflow chart: the release is found by its labels.

mod build;
pub mod document;
mod events;
mod find;
mod gc;
mod pods;
mod read;
mod schema;
mod screen;
mod stores;
mod urls;
mod verdict;
mod volumes;
mod watch;

use std::io::Write;

use clap::Parser;
use k8s_openapi::jiff::Timestamp;
use kubectl_mlflow_core::cluster::Session;
use kubectl_mlflow_core::names::check_release_name;
use kubectl_mlflow_core::ui::output::{self, Format};
use kubectl_mlflow_core::ui::{self, ClusterArgs, OutputArgs};
use kubectl_mlflow_core::{Failure, Problem, Problems};

use crate::document::{State, Status};

/// Show the state of an MLflow release on one screen, with a verdict: Healthy, Degraded or Failing
///
/// Reads only. Works on releases of kubectl mlflow install (native or --helm) and of the official
/// MLflow chart. The exit code is 0 only when the release is Healthy, 1 when it is Degraded or
/// Failing (or cannot be read), 2 for bad input such as a release that is not there.
/// Store credentials are never shown. Reading the schema execs python in a Ready server pod
/// (create on pods/exec); volume usage comes from the kubelet (get on nodes/proxy); without
/// those rights these parts say unknown, and why.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-mlflow-status",
    bin_name = "kubectl mlflow status",
    version,
    args_override_self = true,
    after_help = "Examples:\n  kubectl mlflow status -n mlflow\n  kubectl mlflow status my-release -n mlflow -o json\n  kubectl mlflow status -n mlflow --watch\n  kubectl mlflow status -n mlflow >/dev/null && echo healthy"
)]
pub struct Cli {
    /// Release name
    #[arg(default_value = "mlflow")]
    pub release: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Print the status as one document (its fields: README) instead of the screen
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    /// Show the status again whenever the release changes (watches; Ctrl-C ends)
    #[arg(short = 'w', long)]
    pub watch: bool,

    #[command(flatten)]
    pub out: OutputArgs,
}

impl ui::Command for Cli {
    fn output(&self) -> &OutputArgs {
        &self.out
    }
}

/// Reads the release, prints its status, fails (exit 1) unless it is Healthy.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    check(&cli)?;
    let session = Session::connect(&cli.cluster.target()).await?;
    let found = find::release(&session, &cli.release).await?;
    if cli.watch {
        return watch::run(&cli, &session, found).await;
    }
    let observed = read::observe(&session, &cli.release, found, &mut read::Cache::default()).await?;
    let status = build::status(&observed);
    write_out(&show(&status, cli.output, observed.now));
    outcome(&status)
}

fn check(cli: &Cli) -> Result<(), Failure> {
    let mut problems = Problems::default();
    if let Some(message) = check_release_name(&cli.release) {
        problems.push(Problem::at("", format!("RELEASE: {message}")));
    }
    problems.into_result(()).map_err(Failure::Input)
}

/// The status as the screen, or as one YAML or JSON document.
fn show(status: &Status, format: Option<Format>, now: Timestamp) -> String {
    match format {
        Some(format) => output::object(status, format),
        None => screen::render(status, now),
    }
}

/// Exit 0 only when Healthy; the reasons are on stdout already, the first one is repeated on
/// stderr for logs.
fn outcome(status: &Status) -> Result<(), Failure> {
    match status.verdict.state {
        State::Healthy => Ok(()),
        state => Err(Failure::failed(format!(
            "release {} in namespace {} is {state:?}: {}",
            status.release.name,
            status.release.namespace,
            status.verdict.reasons.first().map(String::as_str).unwrap_or("-")
        ))),
    }
}

/// stdout, without a panic when the reader has gone (`| head`).
fn write_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
