//! `azure`: the credentials MLflow's Azure Blob artifact store reads from its environment
//! (AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCESS_KEY for the account of the
//! wasbs:// URI), stored under those names so the whole Secret is given with envFrom.

use clap::{ArgGroup, Args};
use serde_json::json;

use super::Plan;
use crate::input::Inputs;
use crate::Common;

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("credentials").required(true).args(["connection_string", "account_key"])))]
pub struct AzureArgs {
    /// Storage account connection string: VALUE, @FILE or -
    #[arg(long, value_name = "VALUE", conflicts_with_all = ["account_name", "account_key"])]
    pub connection_string: Option<String>,

    /// Storage account name (with --account-key)
    #[arg(long, value_name = "NAME", requires = "account_key")]
    pub account_name: Option<String>,

    /// Storage account access key: VALUE, @FILE or - (with --account-name)
    #[arg(long, value_name = "VALUE", requires = "account_name")]
    pub account_key: Option<String>,

    #[command(flatten)]
    pub common: Common,
}

pub fn plan(args: &AzureArgs, name: String, inputs: &mut Inputs) -> Option<Plan> {
    let snippet = json!({"envFrom": [{"secretRef": {"name": name}}]});
    let mut plan = Plan::new(name, "Opaque", snippet);
    let account = if let Some(given) = &args.connection_string {
        let text = inputs.value("--connection-string", given)?;
        let account = connection_string_account(&text).map_err(|m| inputs.problem("--connection-string", &m)).ok()?;
        plan = plan.with("AZURE_STORAGE_CONNECTION_STRING", text);
        account
    } else {
        let account = args.account_name.clone().unwrap_or_default();
        if !is_account_name(&account) {
            inputs.problem(
                "--account-name",
                &format!("\"{account}\" is not a storage account name (3 to 24 lowercase letters and digits)"),
            );
        }
        let key = inputs.value("--account-key", args.account_key.as_deref().unwrap_or_default())?;
        if !is_base64(&key) {
            inputs.problem(
                "--account-key",
                "is not a storage account key (a base64 string, as the Azure portal shows it under Access keys)",
            );
        }
        plan = plan.with("AZURE_STORAGE_ACCOUNT", account.clone()).with("AZURE_STORAGE_ACCESS_KEY", key);
        account
    };
    plan.notes
        .push(format!("set mlflow.artifactsDestination to wasbs://CONTAINER@{account}.blob.core.windows.net/PATH"));
    plan.notes.push("helm replaces lists from several -f files: if you also use another envFrom snippet, put the entries in one list".into());
    Some(plan)
}

/// The account a connection string names; it must carry a key or a shared access signature.
fn connection_string_account(text: &str) -> Result<String, String> {
    let pairs: Vec<(&str, &str)> =
        text.split(';').filter(|p| !p.trim().is_empty()).filter_map(|p| p.split_once('=')).collect();
    let field = |name: &str| pairs.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    if pairs.is_empty() || text.split(';').filter(|p| !p.trim().is_empty()).count() != pairs.len() {
        return Err("is not a connection string (Key=Value pairs joined by ';', as the Azure portal shows it under Access keys)".into());
    }
    if field("UseDevelopmentStorage") == Some("true") {
        return Ok("devstoreaccount1".into());
    }
    let account = field("AccountName")
        .filter(|a| is_account_name(a))
        .ok_or("has no valid AccountName (copy the whole connection string)")?;
    if field("AccountKey").is_none() && field("SharedAccessSignature").is_none() {
        return Err("has neither AccountKey nor SharedAccessSignature (copy the whole connection string)".into());
    }
    Ok(account.to_string())
}

fn is_account_name(name: &str) -> bool {
    (3..=24).contains(&name.len()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn is_base64(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    !body.is_empty() && text.len() % 4 == 0 && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}
