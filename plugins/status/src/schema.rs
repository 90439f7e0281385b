//! The tracking database's schema against the one the running MLflow expects, read inside a
//! Ready server pod (as `kubectl exec` does) by the image's own python with the SQLAlchemy and
//! alembic MLflow ships: nothing new in the image, and the store URI never leaves the pod. Needs
//! `create` on `pods/exec`; without it the schema is "unknown", with the reason.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use kube::Client;
use kubectl_mlflow_core::cluster::describe;
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use crate::document::Schema;

const SCRIPT: &str = include_str!("schema.py");
const TIMEOUT: Duration = Duration::from_secs(30);

/// What the script printed.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub mlflow: Option<String>,
    #[serde(default)]
    pub dialect: String,
    pub expected: Option<Vec<String>>,
    pub expected_error: Option<String>,
    pub current: Option<Vec<String>>,
    pub current_error: Option<String>,
}

/// A reading in one pod (a watch reads each pod once).
#[derive(Debug, Clone)]
pub struct Reading {
    pub pod: String,
    pub report: Result<Report, String>,
}

/// Runs the script in `pod`'s `container`.
pub async fn read(client: &Client, namespace: &str, pod: &str, container: &str) -> Reading {
    let report = match tokio::time::timeout(TIMEOUT, exec(client, namespace, pod, container)).await {
        Ok(result) => result,
        Err(_) => Err(format!("reading it in pod {pod} took longer than {} s", TIMEOUT.as_secs())),
    };
    Reading { pod: pod.into(), report }
}

async fn exec(client: &Client, namespace: &str, pod: &str, container: &str) -> Result<Report, String> {
    let api = Api::<Pod>::namespaced(client.clone(), namespace);
    let params = AttachParams::default().container(container).stdin(false).stdout(true).stderr(true);
    let mut process = api.exec(pod, ["python", "-c", SCRIPT], &params).await.map_err(|err| match &err {
        kube::Error::Api(status) if status.code == 403 => format!(
            "not allowed to exec into pod {pod} ({}): reading the schema needs create on pods/exec in namespace {namespace}",
            describe(&err)
        ),
        _ => format!("cannot exec into pod {pod}: {}", describe(&err)),
    })?;
    let (mut stdout, mut stderr) = (process.stdout().expect("asked for"), process.stderr().expect("asked for"));
    let (mut out, mut err) = (String::new(), String::new());
    let _ = futures::join!(stdout.read_to_string(&mut out), stderr.read_to_string(&mut err));
    let status = process.take_status().expect("taken once").await;
    let _ = process.join().await;
    let line = out.lines().rev().find(|l| l.trim_start().starts_with('{'));
    match line.map(serde_json::from_str::<Report>) {
        Some(Ok(report)) => Ok(report),
        _ => {
            let last = err.lines().map(str::trim).rfind(|l| !l.is_empty()).map(str::to_string);
            match (last, status.and_then(|s| s.message)) {
                (Some(line), _) => Err(format!("python in pod {pod} could not read it: {line}")),
                (None, Some(message)) => Err(format!("cannot run python in pod {pod}: {}", without_wrapping(&message))),
                (None, None) => Err(format!("python in pod {pod} printed nothing")),
            }
        }
    }
}

/// The API server's message without its repeated `Internal error occurred: ` prefixes.
fn without_wrapping(message: &str) -> &str {
    let mut rest = message;
    while let Some(inner) = rest.strip_prefix("Internal error occurred: ") {
        rest = inner;
    }
    rest
}

/// The schema section from a reading (or why there is none).
pub fn section(reading: Result<&Reading, &str>) -> Schema {
    let unknown = |pod: Option<&str>, reason: String| Schema {
        state: "unknown".into(),
        current: vec![],
        expected: vec![],
        pod: pod.map(String::from),
        reason: Some(reason),
    };
    let reading = match reading {
        Ok(reading) => reading,
        Err(why) => return unknown(None, why.into()),
    };
    let pod = Some(reading.pod.as_str());
    let report = match &reading.report {
        Ok(report) => report,
        Err(why) => return unknown(pod, why.clone()),
    };
    if !["sqlite", "postgresql", "mysql", "mssql"].contains(&report.dialect.as_str()) {
        return Schema {
            state: "notApplicable".into(),
            reason: Some("the backend store is not a database".into()),
            ..unknown(pod, String::new())
        };
    }
    let (current, expected) = match (&report.current, &report.expected) {
        (Some(current), Some(expected)) => (current.clone(), expected.clone()),
        _ => {
            let why = report.current_error.clone().or(report.expected_error.clone()).unwrap_or_default();
            return unknown(pod, why);
        }
    };
    let state = if current == expected { "current" } else { "migrationPending" };
    let reason = (state != "current").then(|| {
        format!(
            "the database is at {}, MLflow {} expects {} (run mlflow db upgrade; kubectl mlflow install runs it for database servers)",
            list(&current),
            report.mlflow.as_deref().unwrap_or("?"),
            list(&expected)
        )
    });
    Schema { state: state.into(), current, expected, pod: pod.map(String::from), reason }
}

fn list(revisions: &[String]) -> String {
    match revisions {
        [] => "no revision".into(),
        _ => revisions.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(report: Report) -> Reading {
        Reading { pod: "p".into(), report: Ok(report) }
    }

    #[test]
    fn an_older_revision_is_a_pending_migration() {
        let report = Report {
            mlflow: Some("3.17.2".into()),
            dialect: "sqlite".into(),
            expected: Some(vec!["b".into()]),
            current: Some(vec!["a".into()]),
            ..Report::default()
        };
        let schema = section(Ok(&reading(report.clone())));
        assert_eq!(schema.state, "migrationPending");
        assert!(schema.reason.unwrap().contains("at a, MLflow 3.17.2 expects b"));
        let schema = section(Ok(&reading(Report { current: Some(vec!["b".into()]), ..report })));
        assert_eq!((schema.state.as_str(), schema.reason), ("current", None));
    }

    #[test]
    fn no_database_or_no_answer() {
        assert_eq!(
            section(Ok(&reading(Report { dialect: "file".into(), ..Report::default() }))).state,
            "notApplicable"
        );
        let failed = Report {
            dialect: "postgresql".into(),
            current_error: Some("OperationalError: x".into()),
            ..Report::default()
        };
        assert_eq!(section(Ok(&reading(failed))).reason.as_deref(), Some("OperationalError: x"));
        assert_eq!(section(Err("no Ready server pod")).state, "unknown");
    }

    #[test]
    fn the_script_reads_the_store_from_the_environment_and_never_prints_it() {
        assert!(SCRIPT.contains("MLFLOW_BACKEND_STORE_URI") && SCRIPT.contains("mode=ro"));
        assert!(!SCRIPT.contains("print(uri"));
    }
}
