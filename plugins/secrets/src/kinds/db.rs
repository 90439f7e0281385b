//! `db`: the backend store's database URL, checked as the install checks store URIs.

use clap::Args;
use kubectl_mlflow_core::store_uri;
use serde_json::json;

use super::{secret_ref, Plan};
use crate::input::Inputs;
use crate::Common;

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// The database URL: VALUE, @FILE or - (e.g. postgresql://mlflow:PASSWORD@postgres:5432/mlflow)
    #[arg(long, value_name = "URI")]
    pub uri: String,

    /// The key that holds the URL
    #[arg(long, default_value = "uri", value_name = "KEY")]
    pub key: String,

    #[command(flatten)]
    pub common: Common,
}

pub fn plan(args: &DbArgs, name: String, inputs: &mut Inputs) -> Option<Plan> {
    if !super::is_secret_key(&args.key) {
        inputs.problem(
            "--key",
            &format!("\"{}\" is not a valid Secret key (letters, digits, '-', '_' and '.')", args.key),
        );
    }
    let uri = inputs.value("--uri", &args.uri)?;
    let database = match store_uri::check_database(&uri) {
        Ok(database) => database,
        Err(err) => {
            inputs.problem("--uri", &err.to_string());
            return None;
        }
    };
    let snippet = json!({"mlflow": {"backendStoreUriFrom": secret_ref(&name, &args.key)}});
    let mut plan = Plan::new(name, "Opaque", snippet).with(&args.key, uri);
    plan.notes.push(format!("the release's backend store: the {database}"));
    Some(plan)
}
