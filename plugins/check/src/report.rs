//! What the check shows: a line per step with its latency as it ends (stdout; with `-o json|yaml`
//! on stderr, as progress, and one document with every step on stdout at the end), notes on
//! stderr, and on a terminal a spinner for the step under way.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kubectl_mlflow_core::ui::output::Format;
use kubectl_mlflow_core::ui::Reporter;
use kubectl_mlflow_core::Failure;
use serde::Serialize;

use crate::diagnose::{Diagnosis, StepError};
use crate::http::Trouble;
use crate::probe::Made;
use crate::target::Target;
use crate::trust::Trust;
use crate::Cli;

pub struct Report {
    format: Option<Format>,
    spinner: Option<ProgressBar>,
    doc: Document,
    /// Steps begun, in order.
    begun: Vec<&'static str>,
    current: Option<&'static str>,
    cleanup: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    release: String,
    namespace: String,
    pod: String,
    /// The server as the probe reaches it: `http://<pod>:5000/prefix`.
    endpoint: String,
    mlflow_version: Option<String>,
    /// The user logged in as (basic auth).
    login: Option<String>,
    /// The issuer of the single sign-on in front of the server, when there is one.
    sign_in: Option<String>,
    /// How the server's certificate is trusted.
    tls: Option<String>,
    artifact_store: Option<String>,
    experiment: Option<Experiment>,
    run_id: Option<String>,
    artifact: Option<Artifact>,
    steps: Vec<Step>,
    passed: bool,
    interrupted: bool,
    kept: bool,
    seconds: f64,
    failure: Option<FailureDoc>,
}

#[derive(Serialize)]
struct Experiment {
    name: String,
    id: Option<String>,
}

#[derive(Serialize)]
struct Artifact {
    /// Under the server's artifacts API.
    path: String,
    bytes: u64,
}

#[derive(Serialize)]
struct Step {
    name: &'static str,
    /// `passed`, `failed`, `skipped` or `interrupted`.
    result: &'static str,
    /// A step of the cleanup.
    cleanup: bool,
    seconds: f64,
    detail: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FailureDoc {
    step: String,
    request: String,
    status: Option<u16>,
    answer: Option<String>,
    message: String,
    pod_log: Vec<String>,
}

impl Report {
    /// Notes where the check goes and how it logs in.
    pub fn new(cli: &Cli, target: &Target) -> Report {
        let reporter = Reporter::new(&cli.out);
        let served = &target.served;
        reporter.note(&format!(
            "checking release {} in namespace {} through pod {} ({}, port {})",
            target.release,
            target.namespace,
            target.pod,
            served.scheme(),
            served.port
        ));
        if let Some(login) = &target.login {
            reporter.note(&format!("logging in as {} with the password in {}", login.username, login.source));
        }
        if let (Some(issuer), Some(token)) = (&served.sign_in, &target.token) {
            reporter
                .note(&format!("single sign-on ({issuer}): sending the token of {} as a bearer token", token.source));
        }
        let tls = match &target.trust {
            Some(Trust::Pinned { source, .. }) => {
                reporter.note(&format!("TLS: trusting only the certificate in {source}"));
                Some(format!("the certificate in {source}"))
            }
            Some(Trust::Insecure) => {
                reporter.warn("TLS: the server's certificate is not verified (--insecure)");
                Some("not verified (--insecure)".to_string())
            }
            None => None,
        };
        // (not with -v: the requests' lines go to stderr as they are made)
        let spinner = (std::io::stderr().is_terminal() && !cli.out.verbose).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        let doc = Document {
            release: target.release.clone(),
            namespace: target.namespace.clone(),
            pod: target.pod.clone(),
            endpoint: target.url(),
            mlflow_version: None,
            login: target.login.as_ref().map(|l| l.username.clone()),
            sign_in: served.sign_in.clone(),
            tls,
            artifact_store: served.artifacts.as_ref().map(|s| s.describe()),
            experiment: None,
            run_id: None,
            artifact: None,
            steps: Vec::new(),
            passed: false,
            interrupted: false,
            kept: false,
            seconds: 0.0,
            failure: None,
        };
        Report { format: cli.output, spinner, doc, begun: Vec::new(), current: None, cleanup: false }
    }

    /// The artifact store, as the upload step names it.
    pub fn store(&self) -> Option<String> {
        self.doc.artifact_store.clone()
    }

    pub fn version(&mut self, version: &str) {
        self.doc.mlflow_version = Some(version.to_string());
    }

    /// Whether the step was begun.
    pub fn started(&self, name: &str) -> bool {
        self.begun.contains(&name)
    }

    pub fn start(&mut self, name: &'static str) {
        self.begun.push(name);
        self.current = Some(name);
        if let Some(spinner) = &self.spinner {
            spinner.set_message(format!("{name}…"));
        }
    }

    pub fn passed(&mut self, name: &'static str, elapsed: Duration, detail: &str) {
        self.record(name, "passed", Some(elapsed), detail.to_string());
    }

    pub fn failed(&mut self, name: &'static str, elapsed: Duration, error: &StepError) {
        let detail = match &error.trouble {
            Trouble::Status { status, .. } => format!("the server answered {status}"),
            Trouble::Timeout(limit) => format!("no answer within {}", kubectl_mlflow_core::ui::format_duration(*limit)),
            Trouble::Connect(_) => "no connection".into(),
            Trouble::Broken(_) => "the connection broke".into(),
            Trouble::Unexpected(_) => "unexpected answer".into(),
        };
        self.record(name, "failed", Some(elapsed), detail);
    }

    pub fn skipped(&mut self, name: &'static str, why: &str) {
        self.record(name, "skipped", None, why.to_string());
    }

    /// The first interrupt: the step under way stopped.
    pub fn interrupted(&mut self) {
        self.doc.interrupted = true;
        if let Some(name) = self.current {
            self.record(name, "interrupted", None, "Ctrl-C: cleaning up (Ctrl-C again stops the cleanup)".into());
        }
    }

    /// The steps from here on are the cleanup's.
    pub fn cleanup_begins(&mut self) {
        self.cleanup = true;
    }

    /// `--keep`: nothing is deleted.
    pub fn kept(&mut self, made: &Made) {
        self.doc.kept = true;
        let name = made.experiment_name.clone().unwrap_or_default();
        let id = made.experiment_id.clone().unwrap_or_default();
        self.line(&format!("kept: experiment {name} (id {id}) with its run and artifact (--keep)"));
    }

    /// What the steps made, for the document.
    pub fn made(&mut self, made: &Made, artifact_bytes: u64) {
        self.doc.experiment =
            made.experiment_name.clone().map(|name| Experiment { name, id: made.experiment_id.clone() });
        self.doc.run_id = made.run_id.clone();
        self.doc.artifact = made.artifact.clone().map(|path| Artifact { path, bytes: artifact_bytes });
    }

    pub fn diagnosis(&mut self, error: &StepError, diagnosis: &Diagnosis) {
        let (status, answer) = match &error.trouble {
            Trouble::Status { status, body } => (Some(status.as_u16()), Some(body.clone())),
            _ => (None, None),
        };
        self.doc.failure = Some(FailureDoc {
            step: error.step.to_string(),
            request: error.request.clone(),
            status,
            answer,
            message: diagnosis.message.clone(),
            pod_log: diagnosis.log.clone(),
        });
    }

    /// The last line, or the document.
    pub fn finish(mut self, total: Duration, failure: Option<&Failure>) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
        self.doc.passed = failure.is_none();
        self.doc.seconds = total.as_secs_f64();
        if self.doc.failure.is_none() {
            if let Some(Failure::Failed(message)) = failure {
                let step = self.doc.steps.iter().rev().find(|s| s.result == "failed").map(|s| s.name.to_string());
                self.doc.failure = Some(FailureDoc {
                    step: step.unwrap_or_default(),
                    request: String::new(),
                    status: None,
                    answer: None,
                    message: message.clone(),
                    pod_log: Vec::new(),
                });
            }
        }
        match self.format {
            Some(Format::Json) => out(&json_text(&self.doc)),
            Some(Format::Yaml) => out(&kubectl_mlflow_core::yaml::to_string(&self.doc)),
            None => out(&format!("{}\n", summary(&self.doc, total))),
        }
    }

    fn record(&mut self, name: &'static str, result: &'static str, elapsed: Option<Duration>, detail: String) {
        self.current = None;
        let seconds = elapsed.map(|e| e.as_secs_f64()).unwrap_or_default();
        let mark = match result {
            "passed" => "ok",
            "failed" => "FAIL",
            "skipped" => "skip",
            _ => "stop",
        };
        let latency = elapsed.map(latency).unwrap_or_else(|| "-".into());
        let label = if self.cleanup { format!("{name} (cleanup)") } else { name.to_string() };
        self.line(&format!("{mark:<5}{label:<32}{latency:>10}  {detail}"));
        self.doc.steps.push(Step { name, result, cleanup: self.cleanup, seconds, detail });
    }

    /// A step's line: the result on stdout, or progress on stderr when the result is a document.
    fn line(&self, text: &str) {
        let print = || match self.format {
            None => out(&format!("{text}\n")),
            Some(_) => err(&format!("{text}\n")),
        };
        match &self.spinner {
            Some(spinner) => spinner.suspend(print),
            None => print(),
        }
    }
}

/// Writes to stdout; a reader gone (`| head`) must not stop the probe before its cleanup.
fn out(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn err(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn summary(doc: &Document, total: Duration) -> String {
    let steps = doc.steps.iter().filter(|s| s.result == "passed").count();
    let version = doc.mlflow_version.as_deref().map(|v| format!(", MLflow {v}")).unwrap_or_default();
    if doc.passed {
        return format!(
            "passed: {steps} steps in {} (release {}{version}, pod {})",
            latency(total),
            doc.release,
            doc.pod
        );
    }
    match doc.steps.iter().find(|s| s.result == "failed" && !s.cleanup) {
        Some(step) => format!("failed at step {:?} (release {}{version}, pod {})", step.name, doc.release, doc.pod),
        None if doc.interrupted => format!("interrupted (release {}, pod {})", doc.release, doc.pod),
        None => format!("failed in the cleanup (release {}{version}, pod {})", doc.release, doc.pod),
    }
}

/// `8.1 ms`, `1.52 s`.
fn latency(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2} s")
    }
}

fn json_text(doc: &Document) -> String {
    format!("{}\n", serde_json::to_string_pretty(doc).expect("the document serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies() {
        assert_eq!(latency(Duration::from_micros(8_120)), "8.1 ms");
        assert_eq!(latency(Duration::from_millis(1_520)), "1.52 s");
    }
}
