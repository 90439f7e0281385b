//! `gcs`: a Google service-account key file, mounted where GOOGLE_APPLICATION_CREDENTIALS points.

use clap::Args;
use serde_json::{json, Value};

use super::{env_list_note, Plan};
use crate::input::Inputs;
use crate::Common;

/// The key inside the Secret and where the pod finds it.
const KEY: &str = "key.json";
const MOUNT_DIR: &str = "/etc/gcp";

#[derive(Debug, Clone, Args)]
pub struct GcsArgs {
    /// The service-account key JSON (FILE, or - for standard input)
    #[arg(long, value_name = "FILE")]
    pub credentials_file: String,

    #[command(flatten)]
    pub common: Common,
}

pub fn plan(args: &GcsArgs, name: String, inputs: &mut Inputs) -> Option<Plan> {
    let flag = "--credentials-file";
    let bytes = inputs.file(flag, &args.credentials_file)?;
    let key: Value = match serde_json::from_slice(&bytes) {
        Ok(key) => key,
        Err(err) => {
            inputs.problem(flag, &format!("{} is not JSON (line {}, column {}; download the key again: gcloud iam service-accounts keys create)", args.credentials_file, err.line(), err.column()));
            return None;
        }
    };
    if key.get("type").and_then(Value::as_str) != Some("service_account") {
        let found = key.get("type").map_or("no type".to_string(), |t| format!("type {t}"));
        inputs.problem(flag, &format!("{} is not a service-account key (it has {found}; MLflow needs \"type\": \"service_account\", from gcloud iam service-accounts keys create)", args.credentials_file));
        return None;
    }
    let missing: Vec<&str> = ["client_email", "private_key", "project_id"]
        .into_iter()
        .filter(|f| key.get(f).and_then(Value::as_str).is_none_or(str::is_empty))
        .collect();
    if !missing.is_empty() {
        inputs
            .problem(flag, &format!("{} lacks {} (download the key again)", args.credentials_file, missing.join(", ")));
        return None;
    }
    let snippet = json!({
        "env": [{"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": format!("{MOUNT_DIR}/{KEY}")}],
        "extraVolumes": [{"name": "gcp-key", "secret": {"secretName": name}}],
        "extraVolumeMounts": [{"name": "gcp-key", "mountPath": MOUNT_DIR, "readOnly": true}],
    });
    let mut plan = Plan::new(name, "Opaque", snippet).with(KEY, bytes);
    let email = key["client_email"].as_str().unwrap_or_default();
    plan.notes.push(format!("service account {email}; set mlflow.artifactsDestination to gs://BUCKET/PATH"));
    plan.notes.push(env_list_note());
    Some(plan)
}
