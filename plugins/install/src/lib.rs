//! `kubectl mlflow install`: renders an MLflow release from the chart's values and installs or
//! upgrades it — natively with server-side apply (an ApplySet), or through helm with `--helm`
//! (the embedded chart, or with `--chart` the same chart pulled from an OCI registry) — then
//! waits for it, explaining what is wrong if it does not come up.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use kubectl_mlflow_core::cluster::{Resolved, Session};
use kubectl_mlflow_core::engine::chart::Difference;
use kubectl_mlflow_core::engine::published::Published;
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
    // --version is the chart's, as with helm; `kubectl mlflow version` prints this plugin's
    disable_version_flag = true,
    after_help = "Examples:\n  kubectl mlflow install -n mlflow --create-namespace\n  kubectl mlflow install mlflow -n mlflow -f my-values.yaml\n  kubectl mlflow install --set storage.size=20Gi --dry-run -o yaml\n  kubectl mlflow install -n mlflow --helm -f charts/example-mlflow-charts.yaml\n  kubectl mlflow install -n mlflow --chart oci://registry.example.com/charts/mlflow --version 0.1.0"
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

    /// The helm binary to use with --helm or --chart, and to read the values of a release helm
    /// made with --reuse-values
    #[arg(long, value_name = "PATH")]
    pub helm_binary: Option<PathBuf>,

    /// Install through helm the chart published at this OCI reference (oci://REGISTRY/PATH/mlflow)
    /// instead of the embedded one. It must be the chart this plugin embeds (same version, same
    /// files), which alone its checks know; another version is refused
    #[arg(long, value_name = "OCI_REFERENCE")]
    pub chart: Option<String>,

    /// The version of --chart to pull (default: the version of the embedded chart)
    #[arg(long, value_name = "VERSION", requires = "chart")]
    pub version: Option<String>,

    /// Reach the registry of --chart over plain HTTP instead of HTTPS
    #[arg(long, requires = "chart")]
    pub plain_http: bool,

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
    if cli.helm_binary.is_some() && !cli.helm && !cli.reuse_values && cli.chart.is_none() {
        return Err(Failure::input(
            "--helm-binary is used with --helm, --chart or --reuse-values (add one of them, or drop --helm-binary)",
        ));
    }
    let resolved = Resolved::read(&cli.cluster.target())?;
    // Before anything else reads the cluster: a chart this plugin cannot check is refused first.
    let published = match &cli.chart {
        Some(reference) => Some(pull_chart(&cli, reference).await?),
        None => None,
    };
    if cli.dry_run == Some(DryRun::Client) {
        if cli.reuse_values {
            return Err(Failure::input(
                "--reuse-values reads the installed release: use it with --dry-run=server, not --dry-run",
            ));
        }
        let mut prepared = render(&cli, &resolved.namespace, cli.values.sources(), &reporter).await?;
        prepared.rendered.native_refusals()?;
        engine::generated::make(&mut prepared.rendered)?;
        let printed = print_objects(&prepared, cli.output.unwrap_or(Format::Yaml));
        // the process ends here: freeing the release node by node would cost a tenth of printing it
        std::mem::forget(prepared);
        return printed;
    }
    install(cli, resolved, published, reporter).await
}

/// `--chart`: the published chart, pulled through helm; refused unless it is the embedded one.
async fn pull_chart(cli: &Cli, reference: &str) -> Result<Published, Failure> {
    if !reference.starts_with("oci://") {
        return Err(Failure::input(format!(
            "--chart {reference}: give a chart in an OCI registry, oci://REGISTRY/PATH/mlflow (the chart this plugin \
             embeds needs no --chart: use --helm)"
        )));
    }
    let helm = engine::helm::find(cli.helm_binary.as_deref())?;
    engine::helm::check_version(&helm).await?;
    let embedded = engine::chart::metadata();
    let version = cli.version.as_deref().unwrap_or(&embedded.version);
    let published = engine::published::pull(&helm, reference, Some(version), cli.plain_http).await?;
    match &published.difference {
        None => Ok(published),
        Some(difference) => Err(Failure::input(refusal(reference, version, &embedded, difference))),
    }
}

/// Why a published chart is not installed, and the ways to install it.
fn refusal(reference: &str, version: &str, embedded: &engine::chart::Metadata, difference: &Difference) -> String {
    let ours = format!("{} {}", embedded.name, embedded.version);
    let found = match difference {
        Difference::Version { name, version } => format!("is chart {name} {version}, and this plugin embeds {ours}"),
        Difference::Content { file } => format!(
            "is chart {ours} but not the one this plugin embeds: its {file} differs (republished under the same version?)"
        ),
    };
    let same_version = match difference {
        Difference::Version { .. } => format!("--version {} (the embedded chart's), ", embedded.version),
        Difference::Content { .. } => String::new(),
    };
    format!(
        "--chart {reference} --version {version} {found}. kubectl-mlflow checks the values, the cluster and the \
         objects with the chart it embeds, so it installs that chart only: use {same_version}the kubectl-mlflow \
         release of that chart, or helm itself (helm upgrade --install RELEASE {reference} --version {version})"
    )
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

async fn install(
    cli: Cli,
    resolved: Resolved,
    published: Option<Published>,
    reporter: Reporter,
) -> Result<(), Failure> {
    let engine = match cli.helm || published.is_some() {
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
        chart: published.as_ref().map(|p| p.path.clone()),
        namespace_absent: false,
        lock: false,
    };
    let mut progress = Progress::new();
    let result = install_holding_the_lock(&session, &prepared, options, &mut progress).await;
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

/// A native install (not a server-side dry run) takes the release's lock before its first write,
/// so a second install of the release waits for this one instead of interleaving its writes.
async fn install_holding_the_lock(
    session: &Session,
    prepared: &Prepared,
    mut options: InstallOptions,
    progress: &mut Progress,
) -> Result<engine::Outcome, Failure> {
    if matches!(options.engine, Engine::Native) && !options.dry_run_server {
        // no lock without a namespace to hold it in, and nothing of the release to read there
        options.namespace_absent = engine::lock::namespace_absent(&session.client, &prepared.release.namespace).await;
        options.lock = !options.namespace_absent;
    }
    engine::install(session, prepared, &options, progress).await
}
