//! MLflow's basic-auth configuration. Its users database must live somewhere that survives a
//! restart and is writable under a read-only root: the volume or a real database.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use sha2::{Digest, Sha256};

use super::Context;

/// The file name inside the ConfigMap, and where the container finds it.
pub const INI_NAME: &str = "basic_auth.ini";
pub const MOUNT_DIR: &str = "/etc/mlflow/auth";

pub fn config_map_name(ctx: &Context) -> String {
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

pub fn config_map(ctx: &Context) -> Option<ConfigMap> {
    ctx.values.basic_auth().then(|| ConfigMap {
        metadata: ctx.meta(config_map_name(ctx), None),
        data: Some(BTreeMap::from([(INI_NAME.to_string(), ini(ctx))])),
        ..ConfigMap::default()
    })
}
