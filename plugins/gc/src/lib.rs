//! `kubectl mlflow gc`: permanently removes soft-deleted runs and experiments now, by running
//! `mlflow gc` in a Job made from the release's server pod (same image, store, credentials and
//! volumes), then shows what it removed.

mod follow;
pub mod job;
mod run;

use std::time::Duration;

use clap::Parser;
use kubectl_mlflow_core::identity::GcRequest;
use kubectl_mlflow_core::ui::output::Format;
use kubectl_mlflow_core::ui::{self, parse_duration, ClusterArgs, OutputArgs};
use kubectl_mlflow_core::validate::is_gc_duration;
use kubectl_mlflow_core::{Failure, Problem, Problems};

/// Run mlflow gc now: permanently delete soft-deleted runs, experiments and their artifacts.
///
/// Works on any release found by its labels: installed by kubectl mlflow install, by helm with
/// this chart, or by the official MLflow chart.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-mlflow-gc",
    bin_name = "kubectl mlflow gc",
    version,
    args_override_self = true,
    after_help = "Examples:\n  kubectl mlflow gc -n mlflow\n  kubectl mlflow gc -n mlflow --older-than 30d\n  kubectl mlflow gc -n mlflow --all-workspaces\n  kubectl mlflow install --dry-run -o yaml > release.yaml && kubectl mlflow gc --manifests release.yaml --dry-run"
)]
pub struct Cli {
    /// Release name
    #[arg(default_value = "mlflow")]
    pub release: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Only what was deleted at least this long ago, as #d#h#m#s (30d, 7d12h)
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,

    /// Collect in every workspace (the server must run with workspaces)
    #[arg(long)]
    pub all_workspaces: bool,

    /// Only these runs (comma-separated ids)
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub run_ids: Vec<String>,

    /// Only these experiments (comma-separated ids)
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub experiment_ids: Vec<String>,

    /// Only these logged models (comma-separated ids)
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub logged_model_ids: Vec<String>,

    /// Also delete finished MLflow job records (database stores only)
    #[arg(long)]
    pub jobs: bool,

    /// Find the release in rendered manifests (kubectl mlflow install --dry-run output) instead
    /// of the cluster; needs --dry-run
    #[arg(long, value_name = "FILE", requires = "dry_run")]
    pub manifests: Option<String>,

    /// Print the Job instead of running it
    #[arg(long)]
    pub dry_run: bool,

    /// Format of the printed Job
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    /// Return once the Job is created
    #[arg(long)]
    pub no_wait: bool,

    /// How long to wait for the Job, as 90s, 5m or 1h
    #[arg(long, default_value = "10m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    #[command(flatten)]
    pub out: OutputArgs,
}

impl Cli {
    fn request(&self) -> GcRequest {
        GcRequest {
            older_than: self.older_than.clone().unwrap_or_default(),
            all_workspaces: self.all_workspaces,
            run_ids: self.run_ids.clone(),
            experiment_ids: self.experiment_ids.clone(),
            logged_model_ids: self.logged_model_ids.clone(),
            jobs: self.jobs,
        }
    }
}

impl ui::Command for Cli {
    fn output(&self) -> &OutputArgs {
        &self.out
    }
}

/// Runs the command: finds the release, makes the Job, and prints it or runs it.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let mut problems = Problems::default();
    let mut problem = |message: String| problems.push(Problem::at("", message));
    if let Some(duration) = cli.older_than.as_deref().filter(|d| !is_gc_duration(d)) {
        problem(format!("--older-than {duration}: not a duration (use #d#h#m#s, e.g. 30d or 7d12h)"));
    }
    let ids = [
        ("--run-ids", &cli.run_ids),
        ("--experiment-ids", &cli.experiment_ids),
        ("--logged-model-ids", &cli.logged_model_ids),
    ];
    for (flag, ids) in ids {
        for id in ids.iter().filter(|id| !is_id(id)) {
            problem(format!("{flag}: {id:?} is not an id (ids are letters, digits, '-' and '_', separated by commas, e.g. {flag} a1,b2)"));
        }
    }
    if !problems.is_empty() {
        return Err(Failure::Input(problems));
    }
    run::execute(cli).await
}

/// An MLflow id: run ids are hex, experiment ids digits, logged model ids `m-<hex>`.
fn is_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
