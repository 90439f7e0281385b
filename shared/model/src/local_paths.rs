//! Stores on the pod's own file system. The container's root is read-only and `/tmp` is an
//! emptyDir lost on restart, so a SQLite database, a file store or local artifacts must lie under
//! a writable volume: the data volume (`storage.mountPath`) or an `extraVolumeMounts` entry.
//! SQLite has one writer: it cannot serve several replicas.

use crate::problem::{Problem, Problems};
use crate::store_uri;
use crate::values::Values;

/// The artifact repository schemes MLflow 3.17 registers (besides local paths).
pub const ARTIFACT_SCHEMES: [&str; 17] = [
    "file",
    "s3",
    "r2",
    "b2",
    "gs",
    "wasbs",
    "abfss",
    "ftp",
    "sftp",
    "dbfs",
    "hdfs",
    "viewfs",
    "runs",
    "models",
    "http",
    "https",
    "mlflow-artifacts",
];

pub fn check(values: &Values, out: &mut Problems) {
    let m = &values.mlflow;
    let auth_db = if values.basic_auth() { values.auth.database_uri.as_str() } else { "" };
    let stores = [
        ("mlflow.backendStoreUri", m.backend_store_uri.as_str()),
        ("mlflow.registryStoreUri", &m.registry_store_uri),
        ("auth.databaseUri", auth_db),
    ];
    for (key, uri) in stores {
        if let Some(problem) = store_on_volume(values, key, uri) {
            out.push(problem);
        }
    }
    artifacts(values, out);
    one_writer(values, out);
}

/// Where a store URI keeps its data on the pod: the SQLite file or the file store's directory.
/// `None` for a remote store (or one the store checks refuse).
pub fn local_path(uri: &str) -> Option<String> {
    if uri.is_empty() {
        return None;
    }
    if store_uri::family(uri).eq_ignore_ascii_case("sqlite") {
        return store_uri::check_database(uri).ok().map(|db| db.database);
    }
    file_path(uri)
}

/// The path of a local path or `file:` URI; `None` for any other scheme.
fn file_path(uri: &str) -> Option<String> {
    match store_uri::family(uri) {
        "" => Some(uri.to_string()),
        scheme if scheme.eq_ignore_ascii_case("file") => {
            let rest = &uri[scheme.len() + 1..];
            Some(rest.strip_prefix("//").map_or(rest, |r| if r.starts_with('/') { r } else { rest }).to_string())
        }
        _ => None,
    }
}

/// The mount paths the server may write to, each with the values key that makes it.
pub fn writable_mounts(values: &Values) -> Vec<String> {
    let mut mounts = Vec::new();
    if values.storage.enabled {
        mounts.push(values.storage.mount_path.clone());
    }
    for mount in &values.extra_volume_mounts {
        if !mount.read_only.unwrap_or(false) {
            mounts.push(mount.mount_path.clone());
        }
    }
    mounts
}

/// Whether `path` lies under one of `mounts` (a directory itself, or below one).
pub fn is_under(path: &str, mounts: &[String]) -> bool {
    mounts.iter().any(|mount| {
        let mount = mount.trim_end_matches('/');
        !mount.is_empty() && (path == mount || path.strip_prefix(mount).is_some_and(|rest| rest.starts_with('/')))
    })
}

fn store_on_volume(values: &Values, key: &str, uri: &str) -> Option<Problem> {
    let path = local_path(uri)?;
    let reason = placement_problem(values, &path)?;
    Some(Problem::at(key, format!("\"{}\": {reason}", store_uri::mask(uri))))
}

/// What is wrong with keeping data at `path` on the pod, with the fix; `None` when it may.
fn placement_problem(values: &Values, path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(format!(
            "\"{path}\" is a relative path, resolved in the server's working directory on the read-only root (use an absolute path under a volume, e.g. {}/{path})",
            example_mount(values)
        ));
    }
    let mounts = writable_mounts(values);
    if is_under(path, &mounts) {
        return None;
    }
    let fix = if values.storage.enabled {
        format!(
            "put it under storage.mountPath {}, or under the mountPath of a writable extraVolumeMounts entry",
            values.storage.mount_path
        )
    } else {
        "set storage.enabled: true and put it under storage.mountPath (/mlflow by default), or mount a volume there with extraVolumes and extraVolumeMounts".to_string()
    };
    Some(format!(
        "{path} is on no writable volume: the container's root is read-only and /tmp is lost on restart ({fix})"
    ))
}

fn example_mount(values: &Values) -> String {
    writable_mounts(values).first().map_or("/mlflow".into(), |m| m.trim_end_matches('/').to_string())
}

fn artifacts(values: &Values, out: &mut Problems) {
    let uri = &values.mlflow.artifacts_destination;
    if uri.is_empty() {
        return;
    }
    let scheme = store_uri::family(uri).to_ascii_lowercase();
    if !scheme.is_empty() && scheme != "file" && !ARTIFACT_SCHEMES.contains(&scheme.as_str()) {
        out.push(Problem::at(
            "mlflow.artifactsDestination",
            format!(
                "\"{}\": MLflow has no artifact store for the scheme \"{scheme}\" (use one of {}, or an absolute path on a volume)",
                store_uri::mask(uri),
                ARTIFACT_SCHEMES.join(", ")
            ),
        ));
        return;
    }
    if let Some(problem) = file_path(uri).and_then(|path| placement_problem(values, &path)) {
        out.push(Problem::at("mlflow.artifactsDestination", format!("\"{}\": {problem}", store_uri::mask(uri))));
    }
}

/// SQLite allows one writer: refused with more than one replica.
fn one_writer(values: &Values, out: &mut Problems) {
    if values.replica_count <= 1 {
        return;
    }
    let m = &values.mlflow;
    let auth_on_sqlite = values.basic_auth()
        && (values.auth.database_uri.is_empty()
            || store_uri::family(&values.auth.database_uri).eq_ignore_ascii_case("sqlite"));
    let sqlite = [("mlflow.backendStoreUri", &m.backend_store_uri), ("mlflow.registryStoreUri", &m.registry_store_uri)]
        .into_iter()
        .find(|(_, uri)| store_uri::family(uri).eq_ignore_ascii_case("sqlite"))
        .map(|(key, _)| key)
        .or(auth_on_sqlite.then_some("auth.databaseUri"));
    if let Some(key) = sqlite {
        out.push(Problem::at(
            "replicaCount",
            format!(
                "{} replicas cannot share the SQLite database of {key}: SQLite has one writer (set replicaCount: 1, or use a PostgreSQL, MySQL or MSSQL database)",
                values.replica_count
            ),
        ));
    }
}
