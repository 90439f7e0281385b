//! `kubectl mlflow uninstall`: removes exactly one release — a native one through its ApplySet,
//! a helm one (this chart's or the official chart's) through `helm uninstall` — with its gc Jobs,
//! waits until it is gone, and keeps its PersistentVolumeClaims unless told otherwise.

pub mod plan;
mod remove;
mod report;
mod stored;
mod wait_deleted;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kubectl_mlflow_core::cluster::Session;
use kubectl_mlflow_core::engine::helm;
use kubectl_mlflow_core::names::check_release_name;
use kubectl_mlflow_core::ui::{self, format_duration, parse_duration, ClusterArgs, OutputArgs, Progress, Reporter};
use kubectl_mlflow_core::{identity, Failure, Problem, Problems};

use crate::plan::Plan;
use crate::remove::HelmRemoval;

/// Uninstall an MLflow release; its PersistentVolumeClaims (the data) only when asked
///
/// Works on releases of kubectl mlflow install (native or --helm) and of the official MLflow
/// chart. Only the named release is touched, never another release in the namespace. Its
/// claims (the data) are kept and listed with the command that deletes them, unless
/// --delete-pvcs is given.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-mlflow-uninstall",
    bin_name = "kubectl mlflow uninstall",
    version,
    args_override_self = true,
    after_help = "Examples:\n  kubectl mlflow uninstall -n mlflow\n  kubectl mlflow uninstall -n mlflow --dry-run\n  kubectl mlflow uninstall -n mlflow --delete-pvcs --delete-secrets --yes"
)]
pub struct Cli {
    /// Release name
    #[arg(default_value = "mlflow")]
    pub release: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Also delete the release's PersistentVolumeClaims, and so its data (asks first)
    #[arg(long)]
    pub delete_pvcs: bool,

    /// Also delete the Secrets that kubectl mlflow secrets made for the release
    #[arg(long)]
    pub delete_secrets: bool,

    /// Do not ask before deleting claims (needed with --delete-pvcs when not on a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// List what would be deleted; delete nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Succeed when the release is not there
    #[arg(long)]
    pub ignore_not_found: bool,

    /// Wait until every object is gone (the default)
    #[arg(long, overrides_with = "no_wait")]
    pub wait: bool,

    /// Return once the deletes are requested
    #[arg(long)]
    pub no_wait: bool,

    /// How long to wait, as 90s, 5m or 1h
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// The helm binary for releases installed with helm [default: helm on PATH]
    #[arg(long, value_name = "PATH")]
    pub helm_binary: Option<PathBuf>,

    #[command(flatten)]
    pub out: OutputArgs,
}

impl ui::Command for Cli {
    fn output(&self) -> &OutputArgs {
        &self.out
    }
}

/// Runs the command: reads the release, deletes it (or lists it with `--dry-run`), waits.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    check(&cli)?;
    let reporter = Reporter::new(&cli.out);
    let session = Session::connect(&cli.cluster.target()).await?;
    let mut plan = plan::read(&session, &cli.release).await?;
    for obj in &plan.foreign {
        reporter.warn(&format!(
            "{} carries the labels of release {} but belongs neither to its ApplySet nor to its helm release: left alone",
            obj.describe(),
            cli.release
        ));
    }
    let leftovers_asked =
        (cli.delete_pvcs && !plan.claims.is_empty()) || (cli.delete_secrets && !plan.secrets.is_empty());
    if !plan.installed() && !leftovers_asked {
        return not_found(&cli, &session, &plan, &reporter);
    }
    let helm_removal = match plan.is_helm() {
        true => Some(helm_removal(&cli, &session, &mut plan).await?),
        false => None,
    };
    let report = report::Report { cli: &cli, session: &session, plan: &plan };
    if cli.dry_run {
        report.print(&report.would_delete(), report::Mode::DryRun);
        reporter.note("dry run: nothing was deleted");
        return Ok(());
    }
    if cli.delete_pvcs && !cli.yes && !plan.claims.is_empty() {
        confirm(&cli, &plan)?;
    }
    let mut progress = Progress::new();
    let result = remove::all(&cli, &session, &plan, helm_removal.as_ref(), &mut progress).await;
    let deleted = match result {
        Ok(deleted) => deleted,
        Err(failure) => {
            progress.finish();
            return Err(failure);
        }
    };
    if !cli.no_wait {
        let waited = deleted.iter().filter(|o| !plan.helm_records.contains(o)).cloned();
        let mut pending = wait_deleted::Pending::new(waited);
        let selector = identity::selector(&cli.release, None);
        let finished =
            tokio::time::timeout(cli.timeout, wait_deleted::wait(&session, &selector, &mut pending, &mut progress))
                .await;
        progress.finish();
        if finished.is_err() {
            return Err(Failure::failed(format!(
                "release {} is deleted but these objects are still there after {}: {} (see their finalizers with kubectl get <kind> <name> -n {} -o yaml)",
                cli.release,
                format_duration(cli.timeout),
                pending.left().join(", "),
                session.namespace
            )));
        }
    }
    progress.finish();
    report.print(&deleted, report::Mode::Done);
    report.notes(&reporter);
    Ok(())
}

/// Input problems, found before connecting: every one at once.
fn check(cli: &Cli) -> Result<(), Failure> {
    let mut problems = Problems::default();
    if let Some(message) = check_release_name(&cli.release) {
        problems.push(Problem::at("", format!("RELEASE: {message}")));
    }
    if cli.delete_pvcs && !cli.yes && !cli.dry_run && !std::io::stdin().is_terminal() {
        problems.push(Problem::at(
            "",
            "--delete-pvcs deletes the release's data and asks first, but standard input is not a terminal: add --yes to delete without asking (nothing was deleted)",
        ));
    }
    if let Some(helm) = &cli.helm_binary {
        if let Err(problem) = helm::find(Some(helm)) {
            problems.push(problem);
        }
    }
    problems.into_result(()).map_err(Failure::Input)
}

fn not_found(cli: &Cli, session: &Session, plan: &Plan, reporter: &Reporter) -> Result<(), Failure> {
    let mut message = format!(
        "release {} not found in namespace {}: no Secret/{}, no helm release, no object labelled {} (see kubectl get deployments -A -l {}={})",
        cli.release,
        session.namespace,
        identity::parent_secret_name(&cli.release),
        identity::selector(&cli.release, None),
        identity::NAME_LABEL,
        identity::APP
    );
    let report = report::Report { cli, session, plan };
    if let Some(leftovers) = report.leftovers() {
        message.push_str(&format!("; left from an earlier uninstall: {leftovers}"));
    }
    match cli.ignore_not_found {
        true => {
            reporter.note(&message);
            Ok(())
        }
        false => Err(Failure::failed(format!("{message} (--ignore-not-found makes this a success)"))),
    }
}

/// The helm that uninstalls a helm release: `--helm-binary`, else helm on PATH; checked before
/// anything is deleted.
async fn find_helm(cli: &Cli) -> Result<PathBuf, Failure> {
    let helm = helm::find(cli.helm_binary.as_deref()).map_err(|problem| match &cli.helm_binary {
        Some(_) => Failure::from(problem),
        None => Failure::input(format!(
            "release {} was installed with helm, and helm uninstall needs helm: none on PATH (install helm, or give --helm-binary)",
            cli.release
        )),
    })?;
    helm::check_version(&helm).await?;
    Ok(helm)
}

/// How a helm release goes: `helm uninstall`, unless that would delete claims the user keeps
/// (a chart that does not mark them keep): then its objects and records are deleted here.
async fn helm_removal(cli: &Cli, session: &Session, plan: &mut Plan) -> Result<HelmRemoval, Failure> {
    let helm = find_helm(cli).await?;
    let manifest = helm::manifest(&remove::helm_target(cli, session, &helm)).await?;
    let entries = stored::parse(&manifest)?;
    plan.read_helm_policy(&entries);
    if cli.delete_pvcs || !plan.helm_would_delete_claims() {
        return Ok(HelmRemoval::Uninstall(helm));
    }
    let objects = plan::live(session, &stored::to_delete(&entries, &cli.release)?).await?;
    Reporter::new(&cli.out).note(
        "helm uninstall would delete the release's claims (its chart does not mark them helm.sh/resource-policy: keep): the release's objects and helm's records of it are deleted one by one instead (helm's delete hooks do not run)",
    );
    Ok(HelmRemoval::ByHand(objects))
}

/// Asks on the terminal before deleting claims; anything but yes deletes nothing.
fn confirm(cli: &Cli, plan: &Plan) -> Result<(), Failure> {
    let claims: Vec<String> = plan.claims.iter().map(|c| format!("{} ({})", c.obj.name, c.size)).collect();
    eprint!(
        "Delete release {} and its PersistentVolumeClaims {}, with their data? [y/N] ",
        cli.release,
        claims.join(", ")
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|err| Failure::failed(format!("cannot read the answer: {err}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Failure::failed("not confirmed: nothing was deleted")),
    }
}
