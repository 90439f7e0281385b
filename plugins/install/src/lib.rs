//! `kubectl mlflow install`: renders an MLflow release from the chart's values and installs or
//! upgrades it — natively with server-side apply (an ApplySet), or through helm with `--helm` —
//! then waits for it, explaining what is wrong if it does not come up.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use kubectl_mlflow_core::cli::{self, parse_duration, ClusterArgs, OutputArgs, Reporter, ValuesArgs, EXIT_FAILED, EXIT_USAGE};
use kubectl_mlflow_core::engine::progress::Progress;
use kubectl_mlflow_core::engine::{self, Engine, EngineError, InstallOptions};
use kubectl_mlflow_core::output::{self, Format};
use kubectl_mlflow_core::release::{prepare, Options, Prepared};
use kubectl_mlflow_core::{cluster, Problems, Source};

/// Install or upgrade an MLflow tracking server.
///
/// With no values at all it installs the quick start: SQLite and artifacts on a
/// PersistentVolumeClaim. Values are the chart's (charts/values.yaml), given as with helm.
/// Running it again upgrades the release and removes what is no longer rendered.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-mlflow-install",
    bin_name = "kubectl mlflow install",
    args_override_self = true,
    version,
    after_help = "Examples:\n  kubectl mlflow install -n mlflow --create-namespace\n  kubectl mlflow install mlflow -n mlflow -f my-values.yaml\n  kubectl mlflow install --set storage.size=20Gi --dry-run -o yaml\n  kubectl mlflow install -n mlflow --helm -f charts/example-mlflow-charts.yaml"
)]
pub struct Cli {
    /// Release name; objects are named <RELEASE>-mlflow
    #[arg(default_value = "mlflow")]
    pub release: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub values: ValuesArgs,

    /// Start from the values of the installed release, then apply -f and --set on top
    #[arg(long)]
    pub reuse_values: bool,

    /// Create the namespace if it does not exist
    #[arg(long)]
    pub create_namespace: bool,

    /// Do not write anything. "client" (the default) renders locally; "server" asks the API
    /// server to validate every object without persisting it
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "client", value_name = "MODE")]
    pub dry_run: Option<DryRun>,

    /// Print the objects in this format (with --dry-run, YAML unless told otherwise)
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    /// Wait until MLflow is ready (the default)
    #[arg(long, overrides_with = "no_wait")]
    pub wait: bool,

    /// Return once the objects are written
    #[arg(long)]
    pub no_wait: bool,

    /// How long to wait, as 90s, 5m or 1h
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Take over fields that another field manager owns
    #[arg(long)]
    pub force_conflicts: bool,

    /// Install through helm (found on PATH) with the chart embedded in this binary
    #[arg(long)]
    pub helm: bool,

    /// The helm binary to use with --helm
    #[arg(long, value_name = "PATH", requires = "helm")]
    pub helm_binary: Option<PathBuf>,

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
    match cli::parse::<Cli, _, _>(args) {
        Ok(cli) => execute(cli),
        Err(code) => code,
    }
}

fn execute(cli: Cli) -> ExitCode {
    let reporter = Reporter::new(&cli.out);
    let namespace = match cluster::namespace(&cli.cluster) {
        Ok(namespace) => namespace,
        Err(problem) => return reporter.problems(&Problems::from(problem)),
    };
    if cli.dry_run == Some(DryRun::Client) {
        if cli.reuse_values {
            reporter.error("--reuse-values reads the installed release: use it with --dry-run=server, not --dry-run");
            return ExitCode::from(EXIT_USAGE);
        }
        return match render(&cli, &namespace, cli.values.sources(), &reporter) {
            Ok(prepared) => print_objects(&prepared, cli.output.unwrap_or(Format::Yaml)),
            Err(code) => code,
        };
    }
    cli::block_on(install(cli, namespace, reporter))
}

fn render(cli: &Cli, namespace: &str, sources: Vec<Source>, reporter: &Reporter) -> Result<Prepared, ExitCode> {
    let options = Options { quick_start: true };
    let prepared = prepare(&cli.release, namespace, &sources, &mut std::io::stdin(), &options).map_err(|p| reporter.problems(&p))?;
    for note in &prepared.rendered.notes {
        reporter.note(note);
    }
    Ok(prepared)
}

fn print_objects(prepared: &Prepared, format: Format) -> ExitCode {
    let text = output::objects(&prepared.rendered.objects, format);
    match std::io::stdout().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(EXIT_FAILED),
    }
}

async fn install(cli: Cli, namespace: String, reporter: Reporter) -> ExitCode {
    let engine = if cli.helm {
        match engine::helm::find(cli.helm_binary.as_deref()) {
            Ok(path) => Engine::Helm(path),
            Err(problem) => return reporter.problems(&problem.into()),
        }
    } else {
        Engine::Native
    };
    let client = match cluster::connect(&cli.cluster).await {
        Ok(client) => client,
        Err(problem) => return reporter.problems(&problem.into()),
    };
    let mut sources = cli.values.sources();
    if cli.reuse_values {
        match engine::stored_values(&client, &cli.release, &namespace).await {
            Ok(Some(yaml)) => sources.insert(0, Source::Text { name: format!("stored values of release {}", cli.release), yaml }),
            Ok(None) => reporter.warn(&format!("--reuse-values: release {} has no stored values in namespace {namespace}; using the defaults", cli.release)),
            Err(err) => return failure(&reporter, err),
        }
    }
    let prepared = match render(&cli, &namespace, sources, &reporter) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let options = InstallOptions {
        engine,
        create_namespace: cli.create_namespace,
        wait: !cli.no_wait,
        timeout: cli.timeout,
        force_conflicts: cli.force_conflicts,
        dry_run_server: cli.dry_run == Some(DryRun::Server),
        verbose: cli.out.verbose,
    };
    let mut progress = Progress::new();
    let result = engine::install(&client, &prepared, &cli.cluster, &options, &mut progress).await;
    progress.finish();
    match result {
        Ok(outcome) => {
            for note in &outcome.notes {
                reporter.note(note);
            }
            if let Some(format) = cli.output {
                return print_objects(&prepared, format);
            }
            ExitCode::SUCCESS
        }
        Err(err) => failure(&reporter, err),
    }
}

fn failure(reporter: &Reporter, err: EngineError) -> ExitCode {
    match &err {
        EngineError::Input(problems) => {
            reporter.problems(problems);
        }
        EngineError::Failed(message) => reporter.error(message),
    }
    ExitCode::from(err.exit_code())
}
