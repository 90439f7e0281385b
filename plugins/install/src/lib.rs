//! `kubectl mlflow install`: renders an MLflow release from the chart's values and, with
//! `--dry-run`, prints it without touching a cluster.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use kubectl_mlflow_core::cli::{ClusterArgs, OutputArgs, Reporter, ValuesArgs, EXIT_FAILED, EXIT_USAGE};
use kubectl_mlflow_core::output::{self, Format};
use kubectl_mlflow_core::release::{prepare, Options};
use kubectl_mlflow_core::{cluster, Problems};

/// Install or upgrade an MLflow tracking server.
///
/// With no values at all it installs the quick start: SQLite and artifacts on a
/// PersistentVolumeClaim. Values are the chart's (charts/values.yaml), given as with helm.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-mlflow-install",
    bin_name = "kubectl mlflow install",
    version,
    after_help = "Examples:\n  kubectl mlflow install --dry-run\n  kubectl mlflow install mlflow -n mlflow -f my-values.yaml --dry-run -o json\n  kubectl mlflow install --set storage.size=20Gi --dry-run | kubectl apply -f -"
)]
pub struct Cli {
    /// Release name; objects are named <RELEASE>-mlflow
    #[arg(default_value = "mlflow")]
    pub release: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub values: ValuesArgs,

    /// Do not write anything. "client" (the default) renders locally; "server" asks the API
    /// server to validate without persisting
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "client", value_name = "MODE")]
    pub dry_run: Option<DryRun>,

    /// Print the objects in this format (with --dry-run, YAML unless told otherwise)
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    Client,
    Server,
}

/// Parses the arguments and runs the command; the exit code follows the CLI conventions.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => execute(cli),
        Err(err) => {
            let _ = err.print();
            ExitCode::from(if err.use_stderr() { EXIT_USAGE } else { 0 })
        }
    }
}

fn execute(cli: Cli) -> ExitCode {
    let reporter = Reporter::new(&cli.out);
    let namespace = match cluster::namespace(&cli.cluster) {
        Ok(namespace) => namespace,
        Err(problem) => return reporter.problems(&Problems::from(problem)),
    };
    let options = Options { quick_start: true };
    let prepared = match prepare(&cli.release, &namespace, &cli.values.sources(), &mut std::io::stdin(), &options) {
        Ok(prepared) => prepared,
        Err(problems) => return reporter.problems(&problems),
    };
    for note in &prepared.rendered.notes {
        reporter.note(note);
    }
    match cli.dry_run {
        Some(DryRun::Client) => {
            let text = output::objects(&prepared.rendered.objects, cli.output.unwrap_or(Format::Yaml));
            if std::io::stdout().write_all(text.as_bytes()).is_err() {
                return ExitCode::from(EXIT_FAILED);
            }
            ExitCode::SUCCESS
        }
        Some(DryRun::Server) | None => {
            reporter.error(
                "this build renders only: add --dry-run to print the manifests (pipe them to \
                 `kubectl apply --server-side -f -`), or install with `helm install mlflow ./charts`",
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}
