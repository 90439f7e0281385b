//! A worker subcommand's run through exec: its stderr lines shown as they come (`kmlf: …` as
//! notes, passwords masked), its refusal (`kmlf-refused: …`) and how it ended.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::AttachedProcess;
use kubectl_mlflow_core::ui::Reporter;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

use kubectl_mlflow_core::ui::mask;

/// Exit code of the worker for a condition the user must fix; for failed verification.
const REFUSED: &str = "3";
const UNVERIFIED: &str = "4";

/// What the worker said on stderr.
#[derive(Debug, Default)]
pub struct Said {
    pub refused: Option<String>,
    /// The last lines that were not progress (a traceback's end).
    pub tail: Vec<String>,
}

/// Shows the worker's progress lines as notes while it runs; returns what it said.
pub fn follow_stderr(stderr: impl AsyncRead + Unpin + Send + 'static, reporter: Reporter) -> JoinHandle<Said> {
    tokio::spawn(async move {
        let mut said = Said::default();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let line = mask::passwords(&line);
            if let Some(message) = line.strip_prefix("kmlf: ") {
                reporter.note(message);
            } else if let Some(message) = line.strip_prefix("kmlf-refused: ") {
                said.refused = Some(message.to_string());
            } else if !line.trim().is_empty() && !line.contains("Warning") {
                said.tail.push(line);
                if said.tail.len() > 12 {
                    said.tail.remove(0);
                }
            }
        }
        said
    })
}

/// How the worker ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Ok,
    Refused,
    Unverified,
    Failed(String),
}

pub async fn ended(process: &mut AttachedProcess) -> Ended {
    let Some(status) = process.take_status() else { return Ended::Failed("no exit status".into()) };
    match status.await {
        Some(status) => of(&status),
        None => Ended::Failed("the connection to the worker ended before it did".into()),
    }
}

fn of(status: &Status) -> Ended {
    if status.status.as_deref() == Some("Success") {
        return Ended::Ok;
    }
    let code = status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))
        .and_then(|c| c.message.clone());
    match code.as_deref() {
        Some(REFUSED) => Ended::Refused,
        Some(UNVERIFIED) => Ended::Unverified,
        Some(code) => Ended::Failed(format!("exit code {code}")),
        None => Ended::Failed(status.message.clone().unwrap_or_else(|| "failed".into())),
    }
}

/// The message of a worker that failed: its reason and the end of its stderr.
pub fn failure_text(reason: &str, said: &Said) -> String {
    if said.tail.is_empty() {
        return reason.to_string();
    }
    format!("{reason}; its last lines:\n  {}", said.tail.join("\n  "))
}
