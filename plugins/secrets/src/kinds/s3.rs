//! `s3`: the AWS credentials MLflow's S3 artifact store reads, with an optional endpoint (MinIO
//! and other S3-compatible stores) and region.

use clap::Args;
use serde_json::{json, Value};

use super::{env_list_note, secret_env, Plan};
use crate::input::Inputs;
use crate::Common;

#[derive(Debug, Clone, Args)]
pub struct S3Args {
    /// AWS access key id: VALUE, @FILE or -
    #[arg(long, value_name = "VALUE")]
    pub access_key_id: String,

    /// AWS secret access key: VALUE, @FILE or -
    #[arg(long, value_name = "VALUE")]
    pub secret_access_key: String,

    /// S3-compatible endpoint, e.g. http://minio:9000 (key endpoint-url, read as MLFLOW_S3_ENDPOINT_URL)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// AWS region, e.g. eu-west-1 (key region, read as AWS_DEFAULT_REGION)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    #[command(flatten)]
    pub common: Common,
}

pub fn plan(args: &S3Args, name: String, inputs: &mut Inputs) -> Option<Plan> {
    let id = inputs.value("--access-key-id", &args.access_key_id);
    let secret = inputs.value("--secret-access-key", &args.secret_access_key);
    if id.as_deref().is_some_and(|id| id.chars().any(char::is_whitespace)) {
        inputs.problem("--access-key-id", "contains whitespace (copy the key id without spaces)");
    }
    if secret.as_deref().is_some_and(|s| s.chars().any(char::is_whitespace)) {
        inputs.problem("--secret-access-key", "contains whitespace (copy the key without spaces)");
    }
    let endpoint = args.endpoint_url.as_deref().and_then(|url| inputs.value("--endpoint-url", url));
    if let Some(url) = endpoint.as_deref().filter(|url| !is_http_url(url)) {
        inputs.problem(
            "--endpoint-url",
            &format!("\"{url}\" is not an http(s) URL with a host (e.g. http://minio:9000)"),
        );
    }
    let region = args.region.as_deref().and_then(|r| inputs.value("--region", r));
    if let Some(region) = region.as_deref().filter(|r| !is_region(r)) {
        inputs.problem("--region", &format!("\"{region}\" is not an AWS region name (e.g. eu-west-1)"));
    }
    let mut env = vec![
        secret_env("AWS_ACCESS_KEY_ID", &name, "access-key-id"),
        secret_env("AWS_SECRET_ACCESS_KEY", &name, "secret-access-key"),
    ];
    let mut optional: Vec<(&str, String)> = Vec::new();
    if let Some(url) = endpoint {
        env.push(secret_env("MLFLOW_S3_ENDPOINT_URL", &name, "endpoint-url"));
        optional.push(("endpoint-url", url));
    }
    if let Some(region) = region {
        env.push(secret_env("AWS_DEFAULT_REGION", &name, "region"));
        optional.push(("region", region));
    }
    let snippet = json!({"env": Value::Array(env)});
    let mut plan = Plan::new(name, "Opaque", snippet).with("access-key-id", id?).with("secret-access-key", secret?);
    for (key, value) in optional {
        plan = plan.with(key, value);
    }
    plan.notes.push("set mlflow.artifactsDestination to s3://BUCKET/PATH".into());
    plan.notes.push(env_list_note());
    Some(plan)
}

pub(super) fn is_http_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?']).next().unwrap_or_default();
        !host.is_empty() && !host.contains('@') && !r.contains(char::is_whitespace)
    })
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}
