//! MLflow's basic-auth configuration. Its users database must live somewhere that survives a
//! restart and is writable under a read-only root: the volume or a real database. The file names
//! that database, whose URI can carry a password: it is a Secret, not a ConfigMap.
//!
//! MLflow has no default admin password and will not start without one, while the basic auth
//! setup of MLflow's Kubernetes deployment guide names none: unless `auth.adminPasswordFrom` says where it is, the same Secret holds
//! one made on the first install and kept on every upgrade. It is rendered empty here; the engine
//! fills it (see [`Generated`]), as the chart does with `lookup` and `randAlphaNum`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVarSource, Secret, SecretKeySelector, SecretVolumeSource, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::ByteString;
use sha2::{Digest, Sha256};

use super::pod::{from_source, mount};
use super::{Context, KEEP};

/// The file name inside the Secret, and where the container finds it.
pub const INI_NAME: &str = "basic_auth.ini";
pub const MOUNT_DIR: &str = "/etc/mlflow/auth";
/// With `auth.databaseUriFrom`: where the Secret's ini (without the URI) is mounted for the
/// init container that writes the complete one into [`MOUNT_DIR`].
pub const TEMPLATE_DIR: &str = "/etc/mlflow/auth-template";
/// The init container writing the ini, and the variable it reads the URI from.
pub const CONFIG_CONTAINER: &str = "auth-config";
pub const DATABASE_URI_ENV: &str = "MLFLOW_AUTH_DATABASE_URI";
/// The script it runs (`charts/files/auth-config.py`, the chart's too).
pub const CONFIG_SCRIPT: &str = include_str!("../../../../charts/files/auth-config.py");
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

/// The auth database: `auth.databaseUri`, else SQLite on the volume (unused with
/// `auth.databaseUriFrom`, which the init container writes into the ini).
pub fn database_uri(ctx: &Context) -> String {
    let auth = &ctx.values.auth;
    if auth.database_uri.is_empty() {
        format!("sqlite:///{}/basic_auth.db", ctx.values.storage.mount_path.trim_end_matches('/'))
    } else {
        auth.database_uri.clone()
    }
}

/// The ini MLflow reads. configparser takes `%` for interpolation: a URI's `%` is doubled. With
/// `auth.databaseUriFrom` it has no `database_uri`: the init container adds it in the pod.
pub fn ini(ctx: &Context) -> String {
    let auth = &ctx.values.auth;
    let database = match auth.database_uri_from {
        Some(_) => String::new(),
        None => format!("database_uri = {}\n", database_uri(ctx).replace('%', "%%")),
    };
    format!(
        "[mlflow]\ndefault_permission = {}\n{database}admin_username = {}\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
        auth.default_permission, auth.admin_username
    )
}

/// With `auth.databaseUriFrom`: the init container that writes the ini with the URI from the
/// reference into the memory-backed `auth-config` volume (the URI stays out of every spec and log).
pub fn config_writer(ctx: &Context) -> Option<Container> {
    let values = ctx.values;
    let source = values.auth.database_uri_from.as_ref().filter(|_| values.basic_auth())?;
    let command =
        ["python", "-c", CONFIG_SCRIPT, &format!("{TEMPLATE_DIR}/{INI_NAME}"), &format!("{MOUNT_DIR}/{INI_NAME}")];
    Some(Container {
        name: CONFIG_CONTAINER.into(),
        image: Some(ctx.image()),
        image_pull_policy: Some(values.image.pull_policy.clone()),
        command: Some(command.map(String::from).to_vec()),
        env: Some(vec![from_source(DATABASE_URI_ENV, source)]),
        security_context: values.security_context.clone(),
        resources: values.resources.clone(),
        volume_mounts: Some(vec![
            mount("auth-config-template", TEMPLATE_DIR, true),
            mount("auth-config", MOUNT_DIR, false),
        ]),
        ..Container::default()
    })
}

/// The server pod's auth volumes: the Secret at `auth-config`, or with `auth.databaseUriFrom`
/// a small tmpfs there and the Secret at `auth-config-template`.
pub fn volumes(ctx: &Context) -> Vec<Volume> {
    let secret = SecretVolumeSource { secret_name: Some(secret_name(ctx)), ..SecretVolumeSource::default() };
    if ctx.values.auth.database_uri_from.is_none() {
        return vec![Volume { name: "auth-config".into(), secret: Some(secret), ..Volume::default() }];
    }
    let memory = EmptyDirVolumeSource { medium: Some("Memory".into()), size_limit: Some(Quantity("1Mi".into())) };
    vec![
        Volume { name: "auth-config".into(), empty_dir: Some(memory), ..Volume::default() },
        Volume { name: "auth-config-template".into(), secret: Some(secret), ..Volume::default() },
    ]
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
