//! `kubectl mlflow secrets`: writes the Secrets an MLflow release reads (database URL, S3, GCS,
//! Azure, TLS, basic auth, single sign-on) after checking what it is given, idempotently, and prints the values
//! snippet that references them.

mod input;
mod kinds;
mod pki;
mod secret;
mod write;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kubectl_mlflow_core::ui::output::Format;
use kubectl_mlflow_core::ui::{self, ClusterArgs, OutputArgs, Reporter};
use kubectl_mlflow_core::Failure;

pub use kinds::{AuthArgs, AzureArgs, DbArgs, GcsArgs, OidcArgs, S3Args, TlsArgs};

/// Create the Secrets an MLflow release reads, checked before anything is written.
///
/// Each command writes one Secret with the names and keys the chart's documentation uses, and
/// prints (on stdout) the values that reference it, ready for `kubectl mlflow install -f`.
/// Every secret value is given as VALUE, @FILE (read from a file) or - (read from standard
/// input), so it need not appear in shell history or the process list. No value is ever printed,
/// except by --dry-run -o yaml|json.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-mlflow-secrets",
    bin_name = "kubectl mlflow secrets",
    version,
    args_override_self = true,
    after_help = "Examples:\n  kubectl mlflow secrets db -n mlflow --uri @db-uri.txt > db-values.yaml\n  kubectl mlflow secrets s3 -n mlflow --access-key-id AKIA... --secret-access-key - < key.txt\n  kubectl mlflow secrets tls -n mlflow --cert tls.crt --key tls.key\n  kubectl mlflow secrets auth -n mlflow --password-file admin-password.txt > auth-values.yaml\n  kubectl mlflow secrets oidc -n mlflow --client-id mlflow --client-secret - < client-secret.txt > oidc-values.yaml\n  kubectl mlflow install -n mlflow -f db-values.yaml -f auth-values.yaml"
)]
pub struct Cli {
    #[command(subcommand)]
    pub kind: Kind,
}

#[derive(Debug, Subcommand)]
pub enum Kind {
    /// The backend store's database URL → Secret mlflow-db-secret, key uri
    Db(DbArgs),
    /// S3 credentials → Secret s3-credentials, keys access-key-id and secret-access-key
    S3(S3Args),
    /// A GCS service-account key → Secret gcs-credentials, key key.json
    Gcs(GcsArgs),
    /// Azure Blob Storage credentials → Secret azure-storage, as environment variables
    Azure(AzureArgs),
    /// A TLS certificate and key → kubernetes.io/tls Secret mlflow-tls
    Tls(TlsArgs),
    /// Basic auth → Secret mlflow-auth-secret: secret-key, admin-username, admin-password
    Auth(AuthArgs),
    /// Single sign-on → Secrets mlflow-oidc-client (client-id, client-secret) and mlflow-oidc-cookie (cookie-secret)
    Oidc(OidcArgs),
}

/// The flags every kind takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Name of the Secret [default: the documented name of each kind]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// The release the Secret belongs to (labelled with it, so uninstall finds it)
    #[arg(long, default_value = "mlflow", value_name = "RELEASE")]
    pub release: String,

    /// Replace a Secret of that name holding other data (otherwise refused)
    #[arg(long)]
    pub overwrite: bool,

    /// Write nothing. "client" (the default) checks the input only; "server" also compares
    /// with the cluster and has the API server validate the write without persisting it
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "client", value_name = "MODE")]
    pub dry_run: Option<DryRun>,

    /// With --dry-run: print the Secret, values included, in this format
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    #[command(flatten)]
    pub cluster: ClusterArgs,

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
        &self.kind.common().out
    }
}

/// The whole binary: parses `args` (the first is the program name), runs, exits 0, 1 or 2.
pub fn main<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    ui::main(args, run)
}

/// Runs the command: checks every input, then writes the Secret (or, with --dry-run, only shows
/// it) and prints the values snippet.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let common = cli.kind.common().clone();
    let reporter = Reporter::new(&common.out);
    let planned = kinds::plan(&cli.kind)?;
    write::execute_all(planned, common, reporter).await
}
