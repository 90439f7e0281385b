//! MLflow's basic-auth configuration. Its users database must live somewhere that survives a
//! restart and is writable under a read-only root: the volume or a real database. The file names
//! that database, whose URI can carry a password: it is a Secret, not a ConfigMap.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use sha2::{Digest, Sha256};

use super::Context;

/// The file name inside the Secret, and where the container finds it.
pub const INI_NAME: &str = "basic_auth.ini";
pub const MOUNT_DIR: &str = "/etc/mlflow/auth";

pub fn secret_name(ctx: &Context) -> String {
    format!("{}-auth", ctx.fullname)
}

/// The auth database: `auth.databaseUri`, else SQLite on the volume.
pub fn database_uri(ctx: &Context) -> String {
    let auth = &ctx.values.auth;
    if auth.database_uri.is_empty() {
        format!("sqlite:///{}/basic_auth.db", ctx.values.storage.mount_path.trim_end_matches('/'))
    } else {
        auth.database_uri.clone()
    }
}

pub fn ini(ctx: &Context) -> String {
    let auth = &ctx.values.auth;
    format!(
        "[mlflow]\ndefault_permission = {}\ndatabase_uri = {}\nadmin_username = {}\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
        auth.default_permission,
        database_uri(ctx),
        auth.admin_username
    )
}

/// Rolls the pods when the configuration changes.
pub fn checksum(ctx: &Context) -> String {
    let digest = Sha256::digest(ini(ctx).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn secret(ctx: &Context) -> Option<Secret> {
    ctx.values.basic_auth().then(|| Secret {
        metadata: ctx.meta(secret_name(ctx), None),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(INI_NAME.to_string(), ByteString(ini(ctx).into_bytes()))])),
        ..Secret::default()
    })
}
