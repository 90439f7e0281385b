//! MLflow's basic-auth configuration. Its users database must live somewhere that survives a
//! restart and is writable under a read-only root: the volume or a real database. The file names
//! that database, whose URI can carry a password: it is a Secret, not a ConfigMap.
//!
//! MLflow has no default admin password and will not start without one, while the basic auth
//! setup of MLflow's Kubernetes deployment guide names none: unless `auth.adminPasswordFrom` says where it is, the same Secret holds
//! one made on the first install and kept on every upgrade. It is rendered empty here; the engine
//! fills it (see [`Generated`]), as the chart does with `lookup` and `randAlphaNum`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVarSource, Secret, SecretKeySelector};
use k8s_openapi::ByteString;
use sha2::{Digest, Sha256};

use super::{Context, KEEP};

/// The file name inside the Secret, and where the container finds it.
pub const INI_NAME: &str = "basic_auth.ini";
pub const MOUNT_DIR: &str = "/etc/mlflow/auth";
/// Keys of the admin's login in the Secret (the ServiceMonitor reads both from a Secret).
pub const ADMIN_USERNAME_KEY: &str = "admin-username";
pub const ADMIN_PASSWORD_KEY: &str = "admin-password";
/// Length of a generated admin password (MLflow needs at least 12 characters).
pub const GENERATED_PASSWORD_LENGTH: usize = 24;

/// A Secret value the engine makes on the first install and keeps afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub secret: String,
    pub key: String,
    /// How long a generated value is (letters and digits).
    pub length: usize,
}

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

/// The admin password the release generates, when `auth.adminPasswordFrom` names none.
pub fn generated_password(ctx: &Context) -> Option<Generated> {
    (ctx.values.basic_auth() && ctx.values.auth.admin_password_from.is_none()).then(|| Generated {
        secret: secret_name(ctx),
        key: ADMIN_PASSWORD_KEY.into(),
        length: GENERATED_PASSWORD_LENGTH,
    })
}

/// Where the server, the GC job and the ServiceMonitor read the admin password.
pub fn admin_password_source(ctx: &Context) -> EnvVarSource {
    ctx.values.auth.admin_password_from.clone().unwrap_or_else(|| EnvVarSource {
        secret_key_ref: Some(SecretKeySelector {
            name: secret_name(ctx),
            key: ADMIN_PASSWORD_KEY.into(),
            optional: None,
        }),
        ..EnvVarSource::default()
    })
}

pub fn secret(ctx: &Context) -> Option<Secret> {
    if !ctx.values.basic_auth() {
        return None;
    }
    let mut data = BTreeMap::from([
        (INI_NAME.to_string(), ByteString(ini(ctx).into_bytes())),
        (ADMIN_USERNAME_KEY.to_string(), ByteString(ctx.values.auth.admin_username.clone().into_bytes())),
    ]);
    let mut metadata = ctx.meta(secret_name(ctx), None);
    if let Some(generated) = generated_password(ctx) {
        data.insert(generated.key, ByteString(Vec::new()));
        // The admin user in the auth database keeps this password when the release goes.
        metadata.annotations = Some(BTreeMap::from([(KEEP.0.to_string(), KEEP.1.to_string())]));
    }
    Some(Secret { metadata, type_: Some("Opaque".into()), data: Some(data), ..Secret::default() })
}
