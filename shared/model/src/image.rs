//! The server image: its reference, and what the official slim image lacks. MLflow's own
//! `ghcr.io/mlflow/mlflow:vX` is `pip install mlflow` alone; the `-full` tags add the extras
//! (database drivers, cloud storage clients, Flask-WTF, prometheus-flask-exporter). Values that
//! need an extra are refused with the slim tag, since the pod would crash-loop on an import.

use crate::problem::{Problem, Problems};
use crate::store_uri;
use crate::values::model::Image;
use crate::values::Values;
use crate::versions::APP_VERSION;

/// MLflow's own image repository, the only one whose contents are known.
pub const OFFICIAL_REPOSITORY: &str = "ghcr.io/mlflow/mlflow";

/// `image.tag`, else `v<appVersion>-full`.
pub fn tag(image: &Image) -> String {
    if image.tag.is_empty() {
        format!("v{APP_VERSION}-full")
    } else {
        image.tag.clone()
    }
}

/// `repository:tag`.
pub fn reference(image: &Image) -> String {
    format!("{}:{}", image.repository, tag(image))
}

/// Whether the image is one of MLflow's own (any tag).
pub fn is_official(image: &Image) -> bool {
    image.repository == OFFICIAL_REPOSITORY
}

/// Whether the image is MLflow's slim one: the official repository, a tag without `-full`.
pub fn is_official_slim(image: &Image) -> bool {
    image.repository == OFFICIAL_REPOSITORY && !tag(image).contains("-full")
}

/// A Python module a value needs: where the value is, what needs the module, and the module.
struct Need {
    path: &'static str,
    what: String,
    module: &'static str,
}

/// Refuses values that need a module the official slim image lacks.
pub fn check(values: &Values, out: &mut Problems) {
    if !is_official_slim(&values.image) {
        return;
    }
    for need in needs(values) {
        out.push(lacks(values, &need));
    }
}

/// Refuses a store URI the values read from a Secret or ConfigMap (`source`, e.g. `Secret db
/// key uri`) when it needs a driver the official slim image lacks. The URI is never shown: it
/// may hold a password.
pub fn check_store_uri_from(values: &Values, path: &'static str, source: &str, uri: &str) -> Option<Problem> {
    if !is_official_slim(&values.image) {
        return None;
    }
    let need = database_need(path, uri)?;
    let what = format!("{} URI in {source}", need.what);
    Some(lacks(values, &Need { what, ..need }))
}

fn lacks(values: &Values, need: &Need) -> Problem {
    Problem::at(
        need.path,
        format!(
            "{} needs the Python module {}, which the image {} lacks (set image.tag to {}-full, MLflow's image with its extras, or use an image of your own that has {})",
            need.what,
            need.module,
            reference(&values.image),
            tag(&values.image),
            need.module
        ),
    )
}

fn needs(values: &Values) -> Vec<Need> {
    let m = &values.mlflow;
    let mut needs = Vec::new();
    needs.extend(database_need("mlflow.backendStoreUri", &m.backend_store_uri));
    needs.extend(database_need("mlflow.registryStoreUri", &m.registry_store_uri));
    needs.extend(artifact_need("mlflow.defaultArtifactRoot", &m.default_artifact_root));
    needs.extend(artifact_need("mlflow.artifactsDestination", &m.artifacts_destination));
    if values.basic_auth() {
        needs.extend(database_need("auth.databaseUri", &values.auth.database_uri));
        let what = "basic auth (server.value_options.app_name: basic-auth)".to_string();
        needs.push(Need { path: "server.value_options.app_name", what, module: "flask_wtf" });
    }
    if values.metrics.enabled {
        let what = "metrics (--expose-prometheus)".to_string();
        needs.push(Need { path: "metrics.enabled", what, module: "prometheus_flask_exporter" });
    }
    needs
}

/// The Python module of each SQLAlchemy `dialect` (its default driver) and `dialect+driver`.
const DRIVER_MODULES: [(&str, &str); 15] = [
    ("postgresql", "psycopg2"),
    ("postgresql+psycopg2", "psycopg2"),
    ("postgresql+psycopg", "psycopg"),
    ("postgresql+pg8000", "pg8000"),
    ("postgresql+psycopg2cffi", "psycopg2cffi"),
    ("mysql", "MySQLdb"),
    ("mysql+mysqldb", "MySQLdb"),
    ("mysql+pymysql", "pymysql"),
    ("mysql+mysqlconnector", "mysql.connector"),
    ("mysql+mariadbconnector", "mariadb"),
    ("mysql+cymysql", "cymysql"),
    ("mysql+pyodbc", "pyodbc"),
    ("mssql", "pyodbc"),
    ("mssql+pyodbc", "pyodbc"),
    ("mssql+pymssql", "pymssql"),
];

/// The lowercased scheme of a URI with `://`.
fn scheme(uri: &str) -> Option<String> {
    Some(uri.split_once("://")?.0.to_ascii_lowercase())
}

/// The driver module a database URL needs; none for SQLite (in Python itself) and for what is
/// not a database URL MLflow opens (the store checks refuse those).
pub fn driver_module(uri: &str) -> Option<&'static str> {
    let scheme = scheme(uri)?;
    DRIVER_MODULES.iter().find(|(key, _)| *key == scheme).map(|(_, module)| *module)
}

fn database_need(path: &'static str, uri: &str) -> Option<Need> {
    let module = driver_module(uri)?;
    let what = format!("the {} store", store_uri::family(&uri.to_ascii_lowercase()));
    Some(Need { path, what, module })
}

/// The client module of each artifact store scheme.
const ARTIFACT_MODULES: [(&str, &str); 4] = [
    ("s3", "boto3"),
    ("gs", "google.cloud.storage"),
    ("wasbs", "azure.storage.blob"),
    ("abfss", "azure.storage.filedatalake"),
];

fn artifact_need(path: &'static str, uri: &str) -> Option<Need> {
    let scheme = scheme(uri)?;
    let (scheme, module) = ARTIFACT_MODULES.iter().find(|(s, _)| *s == scheme)?;
    Some(Need { path, what: format!("the {scheme}:// artifact store"), module })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(tag: &str) -> Values {
        let mut values: Values = serde_json::from_value(crate::values::defaults()).unwrap();
        values.image.tag = tag.into();
        values
    }

    #[test]
    fn a_store_uri_from_a_secret_is_checked_against_the_slim_image_without_showing_it() {
        let uri = "postgresql://mlflow:hunter2@db:5432/mlflow";
        let problem =
            check_store_uri_from(&values("v3.17.2"), "mlflow.backendStoreUriFrom", "Secret db key uri", uri).unwrap();
        let text = problem.to_string();
        assert!(text.contains("mlflow.backendStoreUriFrom"), "{text}");
        assert!(
            text.contains("the postgresql store URI in Secret db key uri needs the Python module psycopg2"),
            "{text}"
        );
        assert!(text.contains("set image.tag to v3.17.2-full"), "{text}");
        assert!(!text.contains("hunter2") && !text.contains("db:5432"), "{text}");
        assert!(check_store_uri_from(&values("v3.17.2-full"), "mlflow.backendStoreUriFrom", "Secret db key uri", uri)
            .is_none());
        let sqlite = "sqlite:////mlflow/mlflow.db";
        assert!(check_store_uri_from(&values("v3.17.2"), "mlflow.backendStoreUriFrom", "Secret db key uri", sqlite)
            .is_none());
    }
}
