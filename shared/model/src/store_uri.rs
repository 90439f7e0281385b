//! Store URIs as MLflow 3.17 opens them: a SQLAlchemy database URL (`postgresql`, `mysql`,
//! `mssql`, `sqlite`, each with an optional `+driver`), a local path or `file:` URI, or a remote
//! tracking server. One implementation for every place that takes one (values, `kubectl mlflow
//! secrets db`), and every message shows the URI with its password masked.

use std::fmt;

/// The SQLAlchemy dialects MLflow registers as stores (mlflow.store.db.db_types).
pub const DIALECTS: [&str; 4] = ["postgresql", "mysql", "mssql", "sqlite"];

/// Synchronous SQLAlchemy drivers per dialect; MLflow's engine cannot use the async ones.
const DRIVERS: [(&str, &[&str]); 4] = [
    ("postgresql", &["psycopg2", "psycopg", "pg8000", "psycopg2cffi"]),
    ("mysql", &["pymysql", "mysqldb", "mysqlconnector", "mariadbconnector", "cymysql", "pyodbc"]),
    ("mssql", &["pyodbc", "pymssql"]),
    ("sqlite", &["pysqlite", "pysqlcipher"]),
];

const ASYNC_DRIVERS: [&str; 6] = ["asyncpg", "aiomysql", "asyncmy", "aiosqlite", "aioodbc", "psycopg_async"];

/// Other store schemes MLflow's store registry knows (besides the dialects).
const OTHER_SCHEMES: [&str; 6] = ["file", "http", "https", "databricks", "databricks-uc", "uc"];

/// A database URL, split as SQLAlchemy splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub dialect: String,
    pub driver: Option<String>,
    pub username: String,
    pub host: String,
    pub port: Option<u16>,
    /// The database name, or the file path of SQLite.
    pub database: String,
}

/// What is wrong with a store URI; its text names the URI with the password masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{masked}\": {reason}")]
pub struct UriError {
    pub masked: String,
    pub reason: String,
}

/// The URI with the password of its user part replaced by `***`.
pub fn mask(uri: &str) -> String {
    let start = uri.find("://").map_or(0, |i| i + 3);
    let before_query = uri[start..].split('?').next().unwrap_or_default();
    let Some(at) = before_query.rfind('@').map(|i| start + i) else { return uri.to_string() };
    match uri[start..at].find(':') {
        Some(colon) => format!("{}:***{}", &uri[..start + colon], &uri[at..]),
        None => uri.to_string(),
    }
}

/// The dialect of a store URI without its driver: `postgresql+psycopg2://…` → `postgresql`; a
/// local path → "".
pub fn family(uri: &str) -> &str {
    match uri.split_once("://").or_else(|| uri.split_once(':')) {
        Some((scheme, _)) if !scheme.contains('/') => scheme.split('+').next().unwrap_or(scheme),
        _ => "",
    }
}

/// Checks a database URL: a dialect MLflow opens (with a synchronous driver), host and database
/// present (for SQLite an absolute file path).
pub fn check_database(uri: &str) -> Result<Database, UriError> {
    let fail = |reason: String| UriError { masked: mask(uri), reason };
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(fail(format!("not a database URL (use DIALECT://USER:PASSWORD@HOST:PORT/DATABASE, e.g. postgresql://mlflow:PASSWORD@postgres:5432/mlflow; dialects: {})", DIALECTS.join(", "))));
    };
    let (dialect, driver) = dialect_and_driver(scheme).map_err(fail)?;
    let database = if dialect == "sqlite" { sqlite(rest) } else { server(rest) }.map_err(fail)?;
    Ok(Database { dialect, driver, ..database })
}

/// Checks any backend or registry store URI MLflow's server opens: a database URL, a local path
/// or `file:` URI, or a remote store (`http(s)://`, `databricks`).
pub fn check_store(uri: &str) -> Result<(), UriError> {
    let fail = |reason: String| UriError { masked: mask(uri), reason };
    if uri.trim() != uri || uri.is_empty() {
        return Err(fail("has leading or trailing whitespace, or is empty (remove it)".into()));
    }
    let scheme = match uri.split_once(':') {
        Some((scheme, _)) if is_scheme(scheme) => scheme.to_ascii_lowercase(),
        _ => return Ok(()), // a local path
    };
    if DIALECTS.iter().any(|d| scheme.starts_with(d)) || is_postgres_alias(&scheme) {
        return check_database(uri).map(|_| ());
    }
    if OTHER_SCHEMES.contains(&scheme.as_str()) {
        return Ok(());
    }
    Err(fail(format!(
        "MLflow has no store for the scheme \"{scheme}\" (use one of {}, {}, or a local path)",
        DIALECTS.join(", "),
        OTHER_SCHEMES.join(", ")
    )))
}

fn is_scheme(text: &str) -> bool {
    text.len() > 1 && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn is_postgres_alias(scheme: &str) -> bool {
    scheme == "postgres" || scheme.starts_with("postgres+")
}

fn dialect_and_driver(scheme: &str) -> Result<(String, Option<String>), String> {
    let lower = scheme.to_ascii_lowercase();
    if is_postgres_alias(&lower) {
        let fixed = lower.replacen("postgres", "postgresql", 1);
        return Err(format!("SQLAlchemy does not know the scheme \"{lower}\" (write {fixed}:// instead)"));
    }
    let (dialect, driver) = match lower.split_once('+') {
        Some((dialect, driver)) => (dialect, Some(driver)),
        None => (lower.as_str(), None),
    };
    let Some((_, drivers)) = DRIVERS.iter().find(|(d, _)| *d == dialect) else {
        return Err(format!("MLflow cannot store in \"{dialect}\" (use one of {})", DIALECTS.join(", ")));
    };
    match driver {
        None => Ok((dialect.into(), None)),
        Some(driver) if drivers.contains(&driver) => Ok((dialect.into(), Some(driver.into()))),
        Some(driver) if ASYNC_DRIVERS.contains(&driver) => Err(format!(
            "{driver} is an asyncio driver, which MLflow's SQLAlchemy engine cannot use (use {dialect}+{} or plain {dialect}://)",
            drivers[0]
        )),
        Some(driver) => Err(format!("unknown {dialect} driver \"{driver}\" (use one of {}, or none)", drivers.join(", "))),
    }
}

/// `sqlite:////absolute/path.db`.
fn sqlite(rest: &str) -> Result<Database, String> {
    let path = rest.split('?').next().unwrap_or_default().strip_prefix('/').unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err("names no database file; an in-memory database loses everything on restart (use sqlite:////mlflow/mlflow.db)".into());
    }
    if !path.starts_with('/') {
        return Err(format!(
            "\"{path}\" is a relative path, resolved in the server's working directory on a read-only root (use an absolute path: sqlite:////mlflow/{path})"
        ));
    }
    Ok(Database {
        dialect: String::new(),
        driver: None,
        username: String::new(),
        host: String::new(),
        port: None,
        database: path.into(),
    })
}

/// `USER:PASSWORD@HOST:PORT/DATABASE?QUERY`, split as SQLAlchemy's URL pattern does.
fn server(rest: &str) -> Result<Database, String> {
    let (main, query) = rest.split_once('?').map_or((rest, ""), |(m, q)| (m, q));
    let (userinfo, location) = match main.rfind('@') {
        Some(at) if !main[..at].split(':').next().unwrap_or_default().contains('/') => (&main[..at], &main[at + 1..]),
        _ => ("", main),
    };
    let username = userinfo.split(':').next().unwrap_or_default().to_string();
    let (hostport, database) = location.split_once('/').unwrap_or((location, ""));
    let (host, port) = split_port(hostport)?;
    let odbc = query.split('&').any(|p| p.starts_with("odbc_connect="));
    if host.is_empty() && !odbc {
        return Err("names no host (use USER:PASSWORD@HOST:PORT/DATABASE)".into());
    }
    if database.is_empty() && !odbc {
        return Err("names no database (add /DATABASE after the host, e.g. @postgres:5432/mlflow)".into());
    }
    Ok(Database { dialect: String::new(), driver: None, username, host, port, database: database.into() })
}

fn split_port(hostport: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, tail) = v6.split_once(']').ok_or("an IPv6 host lacks its closing ]")?;
        (host, tail.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(text) => match text.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("\"{text}\" is not a port (use a number from 1 to 65535)")),
        },
    };
    Ok((host.to_string(), port))
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.dialect[..], &self.driver) {
            ("sqlite", _) => write!(f, "SQLite database {}", self.database),
            (dialect, _) => write!(f, "{dialect} database {} on {}", self.database, self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_mlflow_opens() {
        let db = check_database("postgresql+psycopg2://mlflow:s3cr3t@postgres:5432/mlflow").unwrap();
        assert_eq!(
            (db.dialect.as_str(), db.driver.as_deref(), db.host.as_str(), db.port, db.database.as_str()),
            ("postgresql", Some("psycopg2"), "postgres", Some(5432), "mlflow")
        );
        for ok in [
            "postgresql://u:p@db/m",
            "mysql+pymysql://u:p@db:3306/m?charset=utf8mb4",
            "mssql+pyodbc://u:p@db/m?driver=ODBC+Driver+18",
            "sqlite:////mlflow/mlflow.db",
            "postgresql://u:p%40x@[::1]:5432/m",
            "postgresql://u:pa/ss@db/m",
        ] {
            assert!(check_database(ok).is_ok(), "{ok}: {:?}", check_database(ok));
        }
    }

    #[test]
    fn refusals_name_the_fix_and_mask_the_password() {
        let cases = [
            ("postgres://u:hunter2@db/m", "write postgresql:// instead"),
            ("postgres+psycopg2://u:hunter2@db/m", "write postgresql+psycopg2:// instead"),
            ("oracle://u:hunter2@db/m", "MLflow cannot store in \"oracle\""),
            ("postgresql+asyncpg://u:hunter2@db/m", "asyncio driver"),
            ("postgresql+foo://u:hunter2@db/m", "unknown postgresql driver \"foo\""),
            ("postgresql://u:hunter2@/m", "names no host"),
            ("postgresql://u:hunter2@db", "names no database"),
            ("postgresql://u:hunter2@db:99999/m", "is not a port"),
            ("sqlite:///mlflow.db", "relative path"),
            ("sqlite://", "names no database file"),
            ("u:hunter2@db/m", "not a database URL"),
        ];
        for (uri, expected) in cases {
            let err = check_database(uri).unwrap_err().to_string();
            assert!(err.contains(expected), "{uri}: {err}");
            assert!(!err.contains("hunter2"), "{uri}: {err}");
        }
    }

    #[test]
    fn masking() {
        assert_eq!(mask("postgresql://u:hunter2@db/m"), "postgresql://u:***@db/m");
        assert_eq!(mask("postgresql://u:a/b:c@db/m?x=1"), "postgresql://u:***@db/m?x=1");
        assert_eq!(mask("postgresql://u@db/m"), "postgresql://u@db/m");
        assert_eq!(mask("sqlite:////mlflow/mlflow.db"), "sqlite:////mlflow/mlflow.db");
        assert_eq!(mask("postgresql//u:hunter2@db/m"), "postgresql//u:***@db/m");
    }

    #[test]
    fn stores_include_paths_and_remote_servers() {
        for ok in [
            "/mlflow/mlruns",
            "file:///mlflow/mlruns",
            "https://mlflow.example.com",
            "databricks",
            "sqlite:////m/m.db",
            "mysql://u@db/m",
        ] {
            assert!(check_store(ok).is_ok(), "{ok}");
        }
        assert!(check_store("postgres://u:hunter2@db/m").unwrap_err().to_string().contains("postgresql://"));
        assert!(check_store("s3://bucket/x").unwrap_err().to_string().contains("no store for the scheme \"s3\""));
        assert_eq!(family("postgresql+psycopg2://u@db/m"), "postgresql");
        assert_eq!(family("/mlflow/x"), "");
        assert_eq!(family("file:///x"), "file");
    }
}
