//! `auth`: MLflow's basic-auth Secret: the Flask secret key (the deployment guide's `secret-key`), the admin
//! user (`admin-username`, kept beside its password) and password
//! (`admin-password`, which the printed values point `auth.adminPasswordFrom` at).

use std::path::{Path, PathBuf};

use clap::Args;
use kubectl_mlflow_core::random;
use serde_json::json;

use super::{env_list_note, secret_env, secret_ref, Plan, Reveal};
use crate::input::Inputs;
use crate::Common;

/// MLflow refuses shorter admin passwords.
pub const MIN_PASSWORD: usize = 12;
const GENERATED_PASSWORD: usize = 24;

#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// The admin user MLflow creates on first start
    #[arg(long, default_value = "admin", value_name = "NAME")]
    pub admin_username: String,

    /// The admin password (at least 12 characters): VALUE, @FILE or - [default: generated]
    #[arg(long, value_name = "VALUE")]
    pub admin_password: Option<String>,

    /// Write the admin password to this file (mode 0600) instead of showing it on the terminal
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// The Flask secret key for CSRF: VALUE, @FILE or - [default: 32 random bytes, hex]
    #[arg(long, value_name = "VALUE")]
    pub secret_key: Option<String>,

    #[command(flatten)]
    pub common: Common,
}

pub fn plan(args: &AuthArgs, name: String, inputs: &mut Inputs) -> Option<Plan> {
    let user = &args.admin_username;
    if user.is_empty() || user.contains(':') || user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        inputs.problem("--admin-username", &format!("\"{user}\" cannot be a basic-auth user name (no spaces or ':')"));
    }
    if let Some(file) = &args.password_file {
        check_writable(file, inputs);
    }
    let mut generated = Vec::new();
    let password = match &args.admin_password {
        Some(given) => inputs.value("--admin-password", given).filter(|p| {
            let long_enough = p.chars().count() >= MIN_PASSWORD;
            if !long_enough {
                inputs.problem(
                    "--admin-password",
                    &format!("is {} characters long; MLflow needs at least {MIN_PASSWORD}", p.chars().count()),
                );
            }
            long_enough
        }),
        None => generate(&mut generated, "admin-password", random::password(GENERATED_PASSWORD), inputs),
    };
    let key = match &args.secret_key {
        Some(given) => inputs.value("--secret-key", given).filter(|k| {
            let long_enough = k.len() >= 16;
            if !long_enough {
                inputs.problem(
                    "--secret-key",
                    "is shorter than 16 characters (leave it out to generate 32 random bytes)",
                );
            }
            long_enough
        }),
        None => generate(&mut generated, "secret-key", random::hex(32), inputs),
    };
    let snippet = json!({
        "server": {"value_options": {"app_name": "basic-auth"}},
        "auth": {"adminUsername": user, "adminPasswordFrom": secret_ref(&name, "admin-password")},
        "env": [secret_env("MLFLOW_FLASK_SERVER_SECRET_KEY", &name, "secret-key")],
    });
    let mut plan = Plan::new(name, "Opaque", snippet)
        .with("secret-key", key?)
        .with("admin-username", user.as_str())
        .with("admin-password", password?);
    plan.generated = generated;
    let reveal_generated = plan.generated.contains(&"admin-password");
    if reveal_generated || args.password_file.is_some() {
        plan.reveal = Some(Reveal { key: "admin-password", what: "admin password", file: args.password_file.clone() });
    }
    plan.notes
        .push("basic auth keeps its users in auth.databaseUri, or on the volume with storage.enabled: true".into());
    plan.notes.push(env_list_note());
    Some(plan)
}

fn generate(
    generated: &mut Vec<&'static str>,
    key: &'static str,
    made: Result<String, String>,
    inputs: &mut Inputs,
) -> Option<String> {
    match made {
        Ok(value) => {
            generated.push(key);
            Some(value)
        }
        Err(message) => {
            inputs.problem(key, &message);
            None
        }
    }
}

fn check_writable(file: &Path, inputs: &mut Inputs) {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        inputs
            .problem("--password-file", &format!("{}: the directory {} does not exist", file.display(), dir.display()));
    } else if file.is_dir() {
        inputs.problem("--password-file", &format!("{} is a directory (name a file)", file.display()));
    }
}
