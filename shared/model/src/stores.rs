//! Store URIs described for people: what kind of store, which host and which database — never
//! the user name, the password or a query string (tokens travel there). What `kubectl mlflow
//! status` shows of the backend, registry and auth stores, and of the artifact locations.

use std::fmt;

use serde::Serialize;

use crate::store_uri::{self, DIALECTS};

/// A store as far as it may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Described {
    /// `sqlite`, `postgresql`, `mysql`, `mssql`, `file` (a local path), `http`, `https`,
    /// `databricks`, or the URI's own scheme.
    pub kind: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// The database name, the SQLite file, or the file store's directory.
    pub database: Option<String>,
}

/// Describes a backend, registry or auth store URI.
pub fn describe(uri: &str) -> Described {
    let family = store_uri::family(uri).to_ascii_lowercase();
    let none = |kind: &str| Described { kind: kind.into(), host: None, port: None, database: None };
    if ["databricks", "databricks-uc", "uc"].contains(&uri) {
        return none(uri);
    }
    if family.is_empty() {
        return Described { database: Some(uri.split('?').next().unwrap_or_default().into()), ..none("file") };
    }
    let kind = if family == "postgres" { "postgresql".to_string() } else { family };
    if DIALECTS.contains(&kind.as_str()) {
        // `postgres://` is what people write; SQLAlchemy wants `postgresql://` (checked elsewhere)
        let uri = match uri.strip_prefix("postgres:").or(uri.strip_prefix("postgres+")) {
            Some(_) => uri.replacen("postgres", "postgresql", 1),
            None => uri.to_string(),
        };
        return match store_uri::check_database(&uri) {
            Ok(db) => Described {
                kind,
                host: Some(db.host).filter(|h| !h.is_empty()),
                port: db.port,
                database: Some(db.database).filter(|d| !d.is_empty()),
            },
            Err(_) => none(&kind),
        };
    }
    if kind == "file" {
        let path = uri.trim_start_matches("file:").trim_start_matches("//");
        return Described { database: Some(path.split('?').next().unwrap_or_default().into()), ..none("file") };
    }
    let host = authority(uri).map(|a| a.rsplit('@').next().unwrap_or_default().to_string()).filter(|h| !h.is_empty());
    Described { host, ..none(&kind) }
}

/// An artifact location (`s3://bucket/path`, `/mlflow/artifacts`, `wasbs://c@account/...`)
/// without a password or a query string.
pub fn location(uri: &str) -> String {
    store_uri::mask(uri.split('?').next().unwrap_or_default())
}

/// `host[:port]` after `scheme://`, user part included.
fn authority(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://")?.1;
    rest.split(['/', '?', '#']).next()
}

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let database = self.database.as_deref().unwrap_or("?");
        let place = match (&self.host, self.port) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.clone(),
            (None, _) => "?".into(),
        };
        match self.kind.as_str() {
            "sqlite" => write!(f, "SQLite database {database}"),
            "file" => write!(f, "file store {database}"),
            "postgresql" => write!(f, "PostgreSQL database {database} on {place}"),
            "mysql" => write!(f, "MySQL database {database} on {place}"),
            "mssql" => write!(f, "SQL Server database {database} on {place}"),
            "http" | "https" => write!(f, "remote tracking server {}://{place}", self.kind),
            other => write!(f, "{other} store{}", self.host.as_ref().map(|h| format!(" on {h}")).unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_show_host_and_name_but_no_credentials() {
        let db = describe("postgresql+psycopg2://mlflow:hunter2@postgres.db.svc:5432/mlflow?sslmode=require");
        assert_eq!(db.to_string(), "PostgreSQL database mlflow on postgres.db.svc:5432");
        assert_eq!((db.host.as_deref(), db.port), (Some("postgres.db.svc"), Some(5432)));
        let text = format!("{db:?}");
        assert!(!text.contains("hunter2") && !text.contains("mlflow:") && !text.contains("sslmode"), "{text}");
        assert_eq!(describe("mysql://u:p@db/m").to_string(), "MySQL database m on db");
        assert_eq!(describe("sqlite:////mlflow/mlflow.db").to_string(), "SQLite database /mlflow/mlflow.db");
        assert_eq!(describe("postgres://u:p@postgres/m").to_string(), "PostgreSQL database m on postgres");
    }

    #[test]
    fn paths_servers_and_unknown_schemes() {
        assert_eq!(describe("/mlflow/mlruns").to_string(), "file store /mlflow/mlruns");
        assert_eq!(describe("file:///mlflow/mlruns").to_string(), "file store /mlflow/mlruns");
        assert_eq!(
            describe("https://u:secret@mlflow.example.com/x").to_string(),
            "remote tracking server https://mlflow.example.com"
        );
        assert_eq!(describe("databricks").to_string(), "databricks store");
        // a URL that does not parse still names its kind, nothing else
        assert_eq!(
            describe("postgresql://u:hunter2@/m"),
            Described { kind: "postgresql".into(), host: None, port: None, database: None }
        );
    }

    #[test]
    fn locations_lose_passwords_and_queries() {
        assert_eq!(location("s3://bucket/mlflow"), "s3://bucket/mlflow");
        assert_eq!(
            location("wasbs://c@acct.blob.core.windows.net/m?sig=SECRET"),
            "wasbs://c@acct.blob.core.windows.net/m"
        );
        assert_eq!(location("ftp://u:hunter2@host/a"), "ftp://u:***@host/a");
    }
}
