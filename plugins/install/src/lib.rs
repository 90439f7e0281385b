//! `kubectl mlflow install`: renders an MLflow release from the chart's values and installs or
//! upgrades it — natively with server-side apply (an ApplySet), or through helm with `--helm` —
//! then waits for it, explaining what is wrong if it does not come up.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use kubectl_mlflow_core::cluster::{Resolved, Session};
use kubectl_mlflow_core::engine::{self, Engine, InstallOptions};
use kubectl_mlflow_core::release::{prepare, Options, Prepared};
use kubectl_mlflow_core::ui::output::{self, Format};
use kubectl_mlflow_core::ui::{self, parse_duration, ClusterArgs, OutputArgs, Progress, Reporter, ValuesArgs};
use kubectl_mlflow_core::{Failure, Source};
use tokio::io::AsyncReadExt;

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

    /// The helm binary to use with --helm, and to read the values of a release helm made with
    /// --reuse-values
    #[arg(long, value_name = "PATH")]
    pub helm_binary: Option<PathBuf>,

    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    Client,
    Server,
}

impl ui::Command for Cli {
    fn output(&self) -> &OutputArgs {
        &self.out
    }
}

/// Runs the command: renders (and with no `--dry-run`, installs and waits for) the release.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let reporter = Reporter::new(&cli.out);
    if cli.helm_binary.is_some() && !cli.helm && !cli.reuse_values {
        return Err(Failure::input(
            "--helm-binary is used with --helm or --reuse-values (add one of them, or drop --helm-binary)",
        ));
    }
    let resolved = Resolved::read(&cli.cluster.target())?;
    if cli.dry_run == Some(DryRun::Client) {
        if cli.reuse_values {
            return Err(Failure::input(
                "--reuse-values reads the installed release: use it with --dry-run=server, not --dry-run",
            ));
        }
        let mut prepared = render(&cli, &resolved.namespace, cli.values.sources(), &reporter).await?;
        engine::generated::make(&mut prepared.rendered)?;
        return print_objects(&prepared, cli.output.unwrap_or(Format::Yaml));
    }
    install(cli, resolved, reporter).await
}

async fn render(cli: &Cli, namespace: &str, sources: Vec<Source>, reporter: &Reporter) -> Result<Prepared, Failure> {
    let options = Options { quick_start: true };
    let stdin = read_stdin(&sources).await?;
    let prepared = prepare(&cli.release, namespace, &sources, &mut stdin.as_slice(), &options)?;
    for note in &prepared.rendered.notes {
        reporter.note(note);
    }
    for warning in &prepared.rendered.warnings {
        reporter.warn(warning);
    }
    Ok(prepared)
}

/// Standard input, read without blocking the runtime, when a `-f -` asks for it.
async fn read_stdin(sources: &[Source]) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    if sources.iter().any(|s| matches!(s, Source::File(path) if path == "-")) {
        tokio::io::stdin()
            .read_to_end(&mut bytes)
            .await
            .map_err(|err| Failure::input(format!("-f -: cannot read standard input: {err}")))?;
    }
    Ok(bytes)
}

fn print_objects(prepared: &Prepared, format: Format) -> Result<(), Failure> {
    let text = output::objects(&prepared.rendered.objects, format);
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|err| Failure::failed(format!("cannot write to standard output: {err}")))
}

async fn install(cli: Cli, resolved: Resolved, reporter: Reporter) -> Result<(), Failure> {
    let engine = match cli.helm {
        true => Engine::Helm(engine::helm::find(cli.helm_binary.as_deref())?),
        false => Engine::Native,
    };
    let session: Session = resolved.connect().await?;
    let mut sources = cli.values.sources();
    if cli.reuse_values {
        sources.insert(0, engine::reuse::reused_values(&session, &cli.release, cli.helm_binary.as_deref()).await?);
    }
    if engine::openshift(&session).await {
        // Below every given source (the stored values too): an explicit `openshift: false` still wins.
        sources.insert(
            0,
            Source::Text {
                name: "detected OpenShift (route.openshift.io/v1)".into(),
                yaml: "openshift: true\n".into(),
            },
        );
    }
    let mut prepared = render(&cli, &session.namespace, sources, &reporter).await?;
    let native = matches!(engine, Engine::Native);
    if native {
        engine::generated::keep_or_make(&session.client, &session.namespace, &mut prepared.rendered).await?;
    }
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
    let result = engine::install(&session, &prepared, &options, &mut progress).await;
    progress.finish();
    for note in &result?.notes {
        reporter.note(note);
    }
    match cli.output {
        Some(format) => {
            if !native {
                // What helm generated is in the cluster now (a server dry run: a new value, as helm's).
                engine::generated::keep_or_make(&session.client, &session.namespace, &mut prepared.rendered).await?;
            }
            print_objects(&prepared, format)
        }
        None => Ok(()),
    }
}
