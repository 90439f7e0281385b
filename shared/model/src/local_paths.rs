//! Stores on the pod's own file system. The container's root is read-only, so a SQLite database,
//! a file store or local artifacts must lie under a writable volume: the data volume
//! (`storage.mountPath`), an `extraVolumeMounts` entry, or — placed there on purpose, with a
//! warning that it is lost when the pod restarts — the pod's `/tmp`, an emptyDir of each pod.
//! SQLite has one writer: it cannot serve several replicas; neither can what lies in each pod's
//! own `/tmp`, which the GC job's pod cannot reach either.

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
    one_pod(values, out);
}

/// The pod's `/tmp`: an emptyDir the chart mounts in every MLflow container.
pub const TMP_DIR: &str = "/tmp";

/// Where the server keeps proxied artifacts when no artifact store is named and there is no
/// volume: MLflow's own default, `./mlartifacts`, would be on the read-only root.
pub const TMP_ARTIFACTS: &str = "/tmp/mlartifacts";

/// Where the server stores proxied artifacts: `mlflow.artifactsDestination`, else the volume's
/// `artifacts` directory, else [`TMP_ARTIFACTS`] when no artifact store is named at all.
pub fn artifacts_destination(values: &Values) -> Option<String> {
    let m = &values.mlflow;
    if !m.artifacts_destination.is_empty() {
        Some(m.artifacts_destination.clone())
    } else if !m.default_artifact_root.is_empty() {
        None
    } else if values.storage.enabled {
        Some(format!("{}/artifacts", values.storage.mount_path.trim_end_matches('/')))
    } else {
        Some(TMP_ARTIFACTS.to_string())
    }
}

/// A store kept on the pod's `/tmp`: the values key, what is kept where, and how to keep it.
struct Ephemeral {
    key: &'static str,
    path: String,
    sqlite: bool,
    what: String,
    fix: String,
}

/// The stores that lie on the pod's `/tmp` (and on no volume), in the order they are checked.
fn ephemeral_stores(values: &Values) -> Vec<Ephemeral> {
    let m = &values.mlflow;
    let (mount, storage) = match values.storage.enabled {
        true => (values.storage.mount_path.trim_end_matches('/'), ""),
        false => ("/mlflow", "set storage.enabled: true and "),
    };
    let keep = |example: String| format!("to keep it, {storage}put it under storage.mountPath, e.g. {example}");
    let auth_db = if values.basic_auth() { values.auth.database_uri.as_str() } else { "" };
    let stores = [
        ("mlflow.backendStoreUri", m.backend_store_uri.as_str()),
        ("mlflow.registryStoreUri", &m.registry_store_uri),
        ("auth.databaseUri", auth_db),
    ];
    let mut found = Vec::new();
    for (key, uri) in stores {
        let Some(path) = local_path(uri).filter(|path| on_tmp(values, path)) else { continue };
        let name = path.rsplit('/').next().unwrap_or_default();
        let sqlite = store_uri::family(uri).eq_ignore_ascii_case("sqlite");
        let example = match sqlite {
            true => format!("sqlite:///{mount}/{name}"),
            false => format!("{mount}/{name}"),
        };
        let what = format!("\"{}\": {path} is", store_uri::mask(uri));
        found.push(Ephemeral { key, path, sqlite, what, fix: keep(example) });
    }
    let dest = &m.artifacts_destination;
    let key = "mlflow.artifactsDestination";
    if dest.is_empty() && artifacts_destination(values).as_deref() == Some(TMP_ARTIFACTS) {
        let what = format!("not set, so the server keeps artifacts in {TMP_ARTIFACTS},");
        // (storage is off here: with it, they would go to the volume)
        let fix = format!(
            "to keep them, set storage.enabled: true (they then go to {mount}/artifacts), or set {key} to a bucket, e.g. s3://bucket/path"
        );
        found.push(Ephemeral { key, path: TMP_ARTIFACTS.into(), sqlite: false, what, fix });
    } else if let Some(path) = file_path(dest).filter(|path| !dest.is_empty() && on_tmp(values, path)) {
        let what = format!("\"{}\": {path} is", store_uri::mask(dest));
        found.push(Ephemeral { key, path, sqlite: false, what, fix: keep(format!("{mount}/artifacts")) });
    }
    found
}

/// Whether `path` lies in the pod's `/tmp` and on no writable volume.
fn on_tmp(values: &Values, path: &str) -> bool {
    is_under(path, &[TMP_DIR.to_string()]) && !is_under(path, &writable_mounts(values))
}

/// The warnings of stores kept on the pod's `/tmp`: accepted, since the user put them there (or
/// named no artifact store), but lost when the pod restarts. Each says how to keep the data.
pub fn warnings(values: &Values) -> Vec<String> {
    ephemeral_stores(values)
        .into_iter()
        .map(|store| {
            format!(
                "{}: {} on the pod's /tmp, an emptyDir: the data is lost when the pod restarts ({})",
                store.key, store.what, store.fix
            )
        })
        .collect()
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
    if is_under(path, &mounts) || is_under(path, &[TMP_DIR.to_string()]) {
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

/// What lies in a pod's own `/tmp` serves that pod alone: not several replicas (SQLite is refused
/// for them already), and not the GC job, whose pod has a `/tmp` of its own.
fn one_pod(values: &Values, out: &mut Problems) {
    let stores = ephemeral_stores(values);
    if values.replica_count > 1 {
        if let Some(store) = stores.iter().find(|store| !store.sqlite) {
            out.push(Problem::at(
                "replicaCount",
                format!(
                    "{} replicas would each keep their own {} ({}) in their own /tmp (set replicaCount: 1, or put {} on a volume every replica mounts, or in a bucket)",
                    values.replica_count, store.path, store.key, store.key
                ),
            ));
        }
    }
    if values.garbage_collection.enabled {
        if let Some(store) = stores.iter().find(|store| store.key == "mlflow.backendStoreUri") {
            out.push(Problem::at(
                "garbageCollection.enabled",
                format!(
                    "the GC job runs in a pod of its own and cannot reach the backend store {} in the server pod's /tmp (put it on a volume: storage.enabled: true and a path under storage.mountPath; or set garbageCollection.enabled: false)",
                    store.path
                ),
            ));
        }
    }
}
