//! `kubectl mlflow check`: an end-to-end probe of a release's MLflow server, through a
//! port-forward to a Ready server pod. It asks `/health` and `/version`, logs a run in a throwaway
//! experiment, moves an artifact through the server's artifact proxy both ways, finds the run by
//! search and deletes what it made, also when interrupted. Each step's latency is reported; a
//! failed step names the server's answer and the end of the pod's log.

mod diagnose;
mod http;
mod interrupt;
mod login;
mod probe;
mod report;
mod size;
mod target;
mod trust;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use kubectl_mlflow_core::ui::output::Format;
use kubectl_mlflow_core::ui::{self, parse_duration, ClusterArgs, OutputArgs};
use kubectl_mlflow_core::{names, oidc, Failure};

/// Probe a release's MLflow server end to end through a port-forward to a Ready pod.
///
/// Asks /health and /version, creates a throwaway experiment (kubectl-mlflow-check-<random>),
/// logs a param, a metric and a tag in a run, uploads an artifact of random bytes through the
/// server's artifact proxy (to the volume, S3, GCS or Azure behind it) and downloads it byte for
/// byte, finds the run by search, then deletes what it made (also on Ctrl-C; a second Ctrl-C
/// stops the cleanup). Each step and its latency go to stdout as it ends; a failed step names the
/// server's answer and the last lines of the pod's log, and the exit code is 1.
///
/// With basic auth it logs in as the release's admin, whose password it reads from the Secret the
/// server reads it from; behind single sign-on it sends a token of the release's OpenID Connect
/// provider (--token-file, else MLFLOW_TRACKING_TOKEN) as a bearer token; with TLS it trusts only
/// the certificate in the release's TLS Secret.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-mlflow-check",
    bin_name = "kubectl mlflow check",
    version,
    after_help = "Examples:\n  kubectl mlflow check -n mlflow\n  kubectl mlflow check my-release -n mlflow --artifact-size 50MiB -o json\n  kubectl mlflow check -n mlflow --username alice --password-file alice.txt\n  kubectl mlflow check -n mlflow --token-file id-token.txt"
)]
pub struct Cli {
    /// Release name
    #[arg(default_value = "mlflow")]
    pub release: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Size of the artifact moved both ways: bytes, or with a unit (KiB, MiB, GiB, kB, MB, GB); at most 1GiB
    #[arg(long, default_value = "1MiB", value_parser = size::parse, value_name = "SIZE")]
    pub artifact_size: u64,

    /// Log in as this user (basic auth) [default: the release's admin user]
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,

    /// Read the password from this file, "-" for standard input [default: the release's admin password, from its Secret]
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<String>,

    /// Read a token of the release's OpenID Connect provider from this file, "-" for standard input, sent as a bearer token to the sign-in in front of the server [default: $MLFLOW_TRACKING_TOKEN]
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<String>,

    /// Do not verify the server's TLS certificate [default: trust only the certificate in the release's TLS Secret]
    #[arg(long)]
    pub insecure: bool,

    /// Keep the experiment, its run and the artifact (to look at them; delete them in MLflow's UI)
    #[arg(long)]
    pub keep: bool,

    /// How long each step may take, as 30s or 5m
    #[arg(long, default_value = "1m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Print the result as one document with every step (json or yaml) instead of a line per step
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    #[command(flatten)]
    pub out: OutputArgs,
}

impl ui::Command for Cli {
    fn output(&self) -> &OutputArgs {
        &self.out
    }
}

/// The whole binary: parses `args` (the first is the program name), runs, exits 0, 1 or 2.
pub fn main<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    ui::main(args, run)
}

/// Finds the release and its Ready pod, reads the login and the certificate to trust, then runs
/// the probe: Ok when every step passed.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    if let Some(message) = names::check_release_name(&cli.release) {
        return Err(Failure::input(format!("release name {message}")));
    }
    // Ctrl-C from here on is the probe's: the cleanup runs after the first.
    let mut interrupts = interrupt::Interrupts::listen();
    if cli.password_file.as_deref() == Some("-") && cli.token_file.as_deref() == Some("-") {
        return Err(Failure::input(
            "--password-file - and --token-file -: only one of them can be read from standard input",
        ));
    }
    let password = login::read_password_file(cli.password_file.as_deref())?;
    let token = login::read_token(cli.token_file.as_deref(), std::env::var(oidc::TRACKING_TOKEN_ENV).ok())?;
    let target = target::Target::find(&cli, password, token).await?;
    probe::run(&cli, target, &mut interrupts).await
}
