//! What each kind of Secret holds, how its input is checked, and the values that reference it.

mod auth;
mod azure;
mod db;
mod gcs;
mod oidc;
mod s3;
mod tls;

use std::collections::BTreeMap;
use std::path::PathBuf;

use kubectl_mlflow_core::names::{check_release_name, is_dns1123_subdomain};
use kubectl_mlflow_core::Problems;
use serde_json::{json, Value};

pub use auth::AuthArgs;
pub use azure::AzureArgs;
pub use db::DbArgs;
pub use gcs::GcsArgs;
pub use oidc::OidcArgs;
pub use s3::S3Args;
pub use tls::TlsArgs;

use crate::input::Inputs;
use crate::{Common, Kind};

/// The Secret to write and what to tell the user about it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    /// `Opaque` or `kubernetes.io/tls`.
    pub type_: &'static str,
    pub data: BTreeMap<String, Vec<u8>>,
    /// Keys whose values this command generated: an existing Secret's values are kept for them
    /// unless --overwrite, so a rerun changes nothing.
    pub generated: Vec<&'static str>,
    /// The values that reference the Secret (printed on stdout).
    pub snippet: Value,
    /// Notes shown on stderr once the Secret is written.
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    /// A generated value shown once on a terminal or written to a file.
    pub reveal: Option<Reveal>,
}

#[derive(Debug, Clone)]
pub struct Reveal {
    pub key: &'static str,
    pub what: &'static str,
    pub file: Option<PathBuf>,
}

impl Plan {
    fn new(name: String, type_: &'static str, snippet: Value) -> Plan {
        Plan {
            name,
            type_,
            data: BTreeMap::new(),
            generated: Vec::new(),
            snippet,
            notes: Vec::new(),
            warnings: Vec::new(),
            reveal: None,
        }
    }

    fn with(mut self, key: &str, value: impl Into<Vec<u8>>) -> Plan {
        self.data.insert(key.to_string(), value.into());
        self
    }
}

impl Kind {
    pub fn common(&self) -> &Common {
        match self {
            Kind::Db(a) => &a.common,
            Kind::S3(a) => &a.common,
            Kind::Gcs(a) => &a.common,
            Kind::Azure(a) => &a.common,
            Kind::Tls(a) => &a.common,
            Kind::Auth(a) => &a.common,
            Kind::Oidc(a) => &a.common,
        }
    }

    fn default_name(&self) -> &'static str {
        match self {
            Kind::Db(_) => "mlflow-db-secret",
            Kind::S3(_) => "s3-credentials",
            Kind::Gcs(_) => "gcs-credentials",
            Kind::Azure(_) => "azure-storage",
            Kind::Tls(_) => "mlflow-tls",
            Kind::Auth(_) => "mlflow-auth-secret",
            Kind::Oidc(_) => "mlflow-oidc-client",
        }
    }
}

/// Reads and checks every input of the command; all problems at once. Each kind writes one
/// Secret, except `oidc` (the client's and the cookie's).
pub fn plan(kind: &Kind) -> Result<Vec<Plan>, Problems> {
    let common = kind.common();
    let mut inputs = Inputs::default();
    let name = common.name.clone().unwrap_or_else(|| kind.default_name().to_string());
    check_common(common, &name, &mut inputs);
    let plan = match kind {
        Kind::Oidc(args) => oidc::plans(args, name, &mut inputs),
        Kind::Db(args) => db::plan(args, name, &mut inputs).map(|p| vec![p]),
        Kind::S3(args) => s3::plan(args, name, &mut inputs).map(|p| vec![p]),
        Kind::Gcs(args) => gcs::plan(args, name, &mut inputs).map(|p| vec![p]),
        Kind::Azure(args) => azure::plan(args, name, &mut inputs).map(|p| vec![p]),
        Kind::Tls(args) => tls::plan(args, name, &mut inputs).map(|p| vec![p]),
        Kind::Auth(args) => auth::plan(args, name, &mut inputs).map(|p| vec![p]),
    };
    match plan {
        Some(plans) if inputs.problems.is_empty() => Ok(plans),
        _ => Err(inputs.problems),
    }
}

fn check_common(common: &Common, name: &str, inputs: &mut Inputs) {
    if !is_dns1123_subdomain(name) {
        inputs.problem(
            "--name",
            &format!(
                "\"{name}\" is not a valid Secret name (lowercase letters, digits, '-' and '.', e.g. mlflow-db-secret)"
            ),
        );
    }
    if let Some(message) = check_release_name(&common.release) {
        inputs.problem("--release", &message);
    }
    if common.output.is_some() && common.dry_run.is_none() {
        inputs.problem(
            "-o",
            "prints the Secret with its values, so only with --dry-run (add --dry-run, or leave out -o)",
        );
    }
}

/// `{name: VAR, valueFrom: {secretKeyRef: {name, key}}}`.
fn secret_env(var: &str, secret: &str, key: &str) -> Value {
    json!({"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
}

fn secret_ref(secret: &str, key: &str) -> Value {
    json!({"secretKeyRef": {"name": secret, "key": key}})
}

/// A note for snippets with an `env` list: helm replaces lists across files instead of merging.
fn env_list_note() -> String {
    "helm replaces lists from several -f files: if you also use another env snippet, put the env entries in one list"
        .into()
}

/// A Secret data key: `[-._a-zA-Z0-9]+`.
fn is_secret_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
