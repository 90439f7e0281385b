//! The probe: the steps against the server in order, each under `--timeout`; then the cleanup of
//! what they made, which also runs after a failed step or the first interrupt. The result is
//! Ok only when every step and the cleanup passed.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use kubectl_mlflow_core::{random, Failure};
use serde_json::{json, Value};

use crate::diagnose::{self, StepError};
use crate::http::{Server, Trouble};
use crate::interrupt::Interrupts;
use crate::report::Report;
use crate::size;
use crate::target::Target;
use crate::Cli;

/// Runs one step of `$probe` under its timeout and reports it: `step!(probe, "health",
/// health(&mut probe.server))` (a macro: the step's future borrows the probe's server while the
/// report is written to).
macro_rules! step {
    ($probe:ident, $name:expr, $work:expr) => {{
        let name: &'static str = $name;
        $probe.report.start(name);
        let started = Instant::now();
        let outcome = tokio::time::timeout($probe.timeout, $work).await;
        $probe.finish(name, started.elapsed(), outcome)
    }};
}

/// What the probe's experiment, run, param, metric, tag and artifact are called.
pub const NAME: &str = "kubectl-mlflow-check";
const KEY: &str = "kubectl_mlflow_check";
const METRIC_VALUE: f64 = 0.5;
const ARTIFACTS_API: &str = "/api/2.0/mlflow-artifacts/artifacts/";
const JSON: Option<&str> = Some("application/json");

/// What the steps made (or were making when they stopped), for the cleanup.
#[derive(Debug, Default, Clone)]
pub struct Made {
    pub experiment_name: Option<String>,
    pub experiment_id: Option<String>,
    pub run_id: Option<String>,
    /// The run's artifact directory under the artifacts API (`1/<run>/artifacts`).
    pub artifact_dir: Option<String>,
    /// The experiment's artifact directory under the artifacts API (`1`).
    pub experiment_dir: Option<String>,
    /// The artifact's path under the artifacts API, once its upload began.
    pub artifact: Option<String>,
    /// What the cleanup deleted.
    pub deleted: Deleted,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Deleted {
    pub run: bool,
    pub experiment: bool,
    pub artifacts: bool,
}

struct Probe {
    server: Server,
    report: Report,
    made: Made,
    timeout: Duration,
    artifact: Bytes,
    /// The value of the param and tag, so the search finds this run only.
    token: String,
    /// Behind the sign-in without a token (see [`Target::signed_out`]).
    signed_out: bool,
}

/// How the cleanup ended.
enum Cleanup {
    /// Every part was tried: the failed ones.
    Done(Vec<StepError>),
    /// `--keep`: nothing deleted.
    Kept,
    /// Stopped by a second interrupt.
    Stopped,
}

pub async fn run(cli: &Cli, target: Target, interrupts: &mut Interrupts) -> Result<(), Failure> {
    let token = random::hex(8).map_err(Failure::failed)?;
    let artifact =
        random::bytes(usize::try_from(cli.artifact_size).expect("at most 1 GiB")).map_err(Failure::failed)?;
    let mut probe = Probe {
        server: Server::new(&target, cli.out.verbose),
        report: Report::new(cli, &target),
        made: Made { experiment_name: Some(format!("{NAME}-{token}")), ..Made::default() },
        timeout: cli.timeout,
        artifact: Bytes::from(artifact),
        token,
        signed_out: target.signed_out(),
    };
    let started = Instant::now();
    let (error, interrupted) = probe.run_steps(interrupts).await;
    // The pod's log now, before the cleanup's requests add to it.
    let diagnosis = match &error {
        Some(error) => {
            let diagnosis = diagnose::explain(&target, error).await;
            probe.report.diagnosis(error, &diagnosis);
            Some(diagnosis)
        }
        None => None,
    };
    let cleanup = probe.clean_up(cli.keep, interrupts).await;
    probe.report.made(&probe.made, cli.artifact_size);
    let verdict = verdict(&target, diagnosis, cleanup, interrupted, &probe.made);
    probe.report.finish(started.elapsed(), verdict.as_ref().err());
    verdict
}

/// Ok when every step and the cleanup passed; else the one failure to report: the failed step's
/// (its diagnosis), else the interruption's, and the cleanup's.
fn verdict(
    target: &Target,
    diagnosis: Option<diagnose::Diagnosis>,
    cleanup: Cleanup,
    interrupted: bool,
    made: &Made,
) -> Result<(), Failure> {
    let cleanup_failure = match &cleanup {
        Cleanup::Stopped => {
            Some(format!("interrupted twice: the cleanup stopped; left in the server: {}", left_behind(made)))
        }
        Cleanup::Done(failures) if !failures.is_empty() => {
            let steps: Vec<String> = failures.iter().map(|f| diagnose::headline(f, target)).collect();
            Some(format!("the cleanup failed: {}; left in the server: {}", steps.join("; "), left_behind(made)))
        }
        Cleanup::Done(_) | Cleanup::Kept => None,
    };
    let message = match (diagnosis, cleanup_failure) {
        (Some(diagnosis), Some(cleanup)) => format!("{}\n{cleanup}", diagnosis.message),
        (Some(diagnosis), None) => diagnosis.message,
        (None, Some(cleanup)) => cleanup,
        (None, None) if interrupted => match cleanup {
            Cleanup::Kept => "interrupted: the check stopped; what it made is kept (--keep)".into(),
            _ => "interrupted: the check stopped, and deleted what it had made".into(),
        },
        (None, None) => return Ok(()),
    };
    Err(Failure::failed(message))
}

/// What a stopped or failed cleanup leaves: `experiment kubectl-mlflow-check-… (id 4), run …`.
fn left_behind(made: &Made) -> String {
    let mut left = Vec::new();
    if !made.deleted.experiment {
        match (&made.experiment_name, &made.experiment_id) {
            (Some(name), Some(id)) => left.push(format!("experiment {name} (id {id})")),
            (Some(name), None) => left.push(format!("experiment {name}, if its create went through")),
            _ => {}
        }
    }
    if let Some(run) = made.run_id.as_ref().filter(|_| !made.deleted.run) {
        left.push(format!("run {run}"));
    }
    if let Some(dir) = made.experiment_dir.as_ref().or(made.artifact_dir.as_ref()) {
        if made.artifact.is_some() && !made.deleted.artifacts {
            left.push(format!("what the upload stored under mlflow-artifacts:/{dir}"));
        }
    }
    if left.is_empty() {
        return "nothing".into();
    }
    let delete = if made.deleted.experiment { "" } else { "delete the experiment in MLflow's UI, then " };
    format!("{} ({delete}kubectl mlflow gc purges deleted runs with their artifacts)", left.join(", "))
}

impl Probe {
    /// The steps until one fails or an interrupt comes: the failed step, and whether interrupted.
    async fn run_steps(&mut self, interrupts: &mut Interrupts) -> (Option<StepError>, bool) {
        let outcome = tokio::select! {
            result = self.steps() => Some(result),
            () = interrupts.next() => None,
        };
        match outcome {
            Some(result) => (result.err(), false),
            None => {
                self.server.reset();
                self.report.interrupted();
                (None, true)
            }
        }
    }

    /// The cleanup, unless `--keep`; a second interrupt stops it.
    async fn clean_up(&mut self, keep: bool, interrupts: &mut Interrupts) -> Cleanup {
        if keep {
            self.report.kept(&self.made);
            return Cleanup::Kept;
        }
        self.report.cleanup_begins();
        tokio::select! {
            failures = self.cleanup() => Cleanup::Done(failures),
            () = interrupts.next() => Cleanup::Stopped,
        }
    }

    async fn steps(&mut self) -> Result<(), StepError> {
        step!(self, "health", health(&mut self.server))?;
        if self.signed_out {
            let why = "behind single sign-on without a token (--token-file, MLFLOW_TRACKING_TOKEN): only MLflow's API \
                       goes past the sign-in, to basic auth";
            self.report.skipped("version", why);
        } else {
            let version = step!(self, "version", version(&mut self.server))?;
            self.report.version(&version);
        }
        let name = self.made.experiment_name.clone().expect("named before the steps");
        let id = step!(self, "create experiment", create_experiment(&mut self.server, &name))?;
        self.made.experiment_id = Some(id.clone());
        let run = step!(self, "create run", create_run(&mut self.server, &id, &name))?;
        self.made.run_id = Some(run.run_id.clone());
        self.made.artifact_dir = run.artifact_dir.clone();
        self.made.experiment_dir = run.experiment_dir(&id);
        step!(self, "log param, metric, tag", log_batch(&mut self.server, &run.run_id, &self.token))?;
        match run.artifact_dir.clone() {
            Some(dir) => {
                let path = format!("{dir}/{NAME}.bin");
                self.made.artifact = Some(path.clone());
                let store = self.report.store();
                step!(self, "upload artifact", upload(&mut self.server, &path, self.artifact.clone(), store))?;
                step!(self, "download artifact", download(&mut self.server, &path, &self.artifact))?;
            }
            None => {
                let why = format!(
                    "the server does not proxy this run's artifacts (their URI is {}; clients write there directly)",
                    run.artifact_uri
                );
                self.report.skipped("upload artifact", &why);
                self.report.skipped("download artifact", &why);
            }
        }
        step!(self, "search run", search(&mut self.server, &id, &run.run_id, &self.token))?;
        Ok(())
    }

    /// Reports a step's outcome (see [`step!`]).
    fn finish<T>(
        &mut self,
        name: &'static str,
        elapsed: Duration,
        outcome: Result<StepResult<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, StepError> {
        let failed = match outcome {
            Ok(Ok((value, detail))) => {
                self.report.passed(name, elapsed, &detail);
                return Ok(value);
            }
            Ok(Err(failed)) => failed,
            Err(_) => {
                // The request's state on its connection is unknown: the next one goes on a new one.
                let request = self.server.last_request().to_string();
                self.server.reset();
                Failed { request, trouble: Trouble::Timeout(self.timeout) }
            }
        };
        // After an error the server may close the connection (an upload's unread rest): a new one.
        self.server.reset();
        let error = StepError { step: name, request: failed.request, trouble: failed.trouble };
        self.report.failed(name, elapsed, &error);
        Err(error)
    }

    /// Deletes what the steps made: the artifacts, the run, the experiment. Every part is tried;
    /// the failed ones are returned.
    async fn cleanup(&mut self) -> Vec<StepError> {
        let mut failures = Vec::new();
        let made = self.made.clone();
        // A create whose answer never came may still have made its object: look it up by name.
        let experiment = match (&made.experiment_id, &made.experiment_name) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(name)) if self.report.started("create experiment") => {
                match step!(self, "find experiment", find_experiment(&mut self.server, name)) {
                    Ok(Some(found)) => {
                        self.made.experiment_id = Some(found.clone());
                        Some(found)
                    }
                    Ok(None) => {
                        // never made
                        self.made.experiment_name = None;
                        None
                    }
                    Err(error) => {
                        failures.push(error);
                        None
                    }
                }
            }
            _ => None,
        };
        let Some(experiment) = experiment else { return failures };
        // A run whose create got no answer goes with its experiment (MLflow deletes its runs).
        if let Some(run) = &made.run_id {
            match step!(self, "delete run", delete_run(&mut self.server, run)) {
                Ok(()) => self.made.deleted.run = true,
                Err(error) => failures.push(error),
            }
        }
        match step!(self, "delete experiment", delete_experiment(&mut self.server, &experiment)) {
            Ok(()) => {
                self.made.deleted.experiment = true;
                self.made.deleted.run = true;
            }
            Err(error) => failures.push(error),
        }
        // Last: an upload stopped by Ctrl-C may still be ending on the server's side.
        if let Some(dir) = made.experiment_dir.clone().or(made.artifact_dir.clone()).filter(|_| made.artifact.is_some())
        {
            match step!(self, "delete artifacts", delete_artifacts(&mut self.server, &dir)) {
                Ok(()) => self.made.deleted.artifacts = true,
                Err(error) => failures.push(error),
            }
        }
        failures
    }
}

/// A request that failed, and how.
pub struct Failed {
    pub request: String,
    pub trouble: Trouble,
}

type StepResult<T> = Result<(T, String), Failed>;

/// What `runs/create` answered.
struct Run {
    run_id: String,
    artifact_uri: String,
    /// The run's artifact directory under the artifacts API, when the server proxies it.
    artifact_dir: Option<String>,
}

impl Run {
    /// The experiment's directory (`<id>`), when the run's is `<id>/<run>/artifacts` under it.
    fn experiment_dir(&self, experiment: &str) -> Option<String> {
        let dir = self.artifact_dir.as_deref()?;
        let parent = dir.strip_suffix(&format!("/{}/artifacts", self.run_id))?;
        let last = parent.rsplit('/').next()?;
        (last == experiment && !experiment.is_empty()).then(|| parent.to_string())
    }
}

/// Sends a request and reads the whole answer; any other status than `expect` is a failure.
async fn exchange(
    server: &mut Server,
    method: Method,
    path: &str,
    body: Bytes,
    content_type: Option<&'static str>,
    expect: StatusCode,
) -> Result<Bytes, Failed> {
    let request = format!("{method} {}", server.path(path));
    let answer = server
        .call(method, path, body, content_type)
        .await
        .map_err(|trouble| Failed { request: request.clone(), trouble })?;
    if answer.status != expect {
        let body = diagnose::excerpt(&answer.body);
        return Err(Failed { request, trouble: Trouble::Status { status: answer.status, body } });
    }
    Ok(answer.body)
}

/// A JSON request to MLflow's REST API, its JSON answer.
async fn api(server: &mut Server, method: Method, path: &str, body: Option<Value>) -> Result<Value, Failed> {
    let request = format!("{method} {}", server.path(path));
    let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let content_type = if body.is_empty() { None } else { JSON };
    let answer = exchange(server, method, path, body, content_type, StatusCode::OK).await?;
    serde_json::from_slice(&answer).map_err(|err| Failed {
        request,
        trouble: Trouble::Unexpected(format!("the answer is not JSON ({err}): {}", diagnose::excerpt(&answer))),
    })
}

fn unexpected(server: &Server, method: &str, path: &str, message: String) -> Failed {
    Failed { request: format!("{method} {}", server.path(path)), trouble: Trouble::Unexpected(message) }
}

async fn health(server: &mut Server) -> StepResult<()> {
    let body = exchange(server, Method::GET, "/health", Bytes::new(), None, StatusCode::OK).await?;
    Ok(((), diagnose::excerpt(&body)))
}

async fn version(server: &mut Server) -> StepResult<String> {
    let body = exchange(server, Method::GET, "/version", Bytes::new(), None, StatusCode::OK).await?;
    let version = String::from_utf8_lossy(&body).trim().to_string();
    Ok((version.clone(), format!("MLflow {version}")))
}

async fn create_experiment(server: &mut Server, name: &str) -> StepResult<String> {
    let path = "/api/2.0/mlflow/experiments/create";
    let body = json!({"name": name, "tags": [{"key": KEY, "value": "true"}]});
    let answer = api(server, Method::POST, path, Some(body)).await?;
    let id = answer["experiment_id"].as_str().map(str::to_string);
    let id = id.ok_or_else(|| unexpected(server, "POST", path, format!("no experiment_id in {answer}")))?;
    Ok((id.clone(), format!("{name} (id {id})")))
}

async fn create_run(server: &mut Server, experiment: &str, name: &str) -> StepResult<Run> {
    let path = "/api/2.0/mlflow/runs/create";
    let body = json!({"experiment_id": experiment, "run_name": name, "start_time": now_ms()});
    let answer = api(server, Method::POST, path, Some(body)).await?;
    let info = &answer["run"]["info"];
    let (Some(run_id), Some(artifact_uri)) = (info["run_id"].as_str(), info["artifact_uri"].as_str()) else {
        return Err(unexpected(server, "POST", path, format!("no run_id and artifact_uri in {answer}")));
    };
    let run =
        Run { run_id: run_id.into(), artifact_uri: artifact_uri.into(), artifact_dir: proxied_path(artifact_uri) };
    let detail = format!("run {run_id}, artifacts at {artifact_uri}");
    Ok((run, detail))
}

/// The path under the artifacts API of a `mlflow-artifacts:` URI (`mlflow-artifacts:/1/abc/artifacts`,
/// or with a host: `mlflow-artifacts://host:5000/1/abc/artifacts`); `None` for other stores.
fn proxied_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    let path = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map(|(_, path)| path)?,
        None => rest,
    };
    let path = path.trim_matches('/');
    (!path.is_empty()).then(|| path.to_string())
}

async fn log_batch(server: &mut Server, run: &str, token: &str) -> StepResult<()> {
    let path = "/api/2.0/mlflow/runs/log-batch";
    let body = json!({
        "run_id": run,
        "params": [{"key": KEY, "value": token}],
        "metrics": [{"key": KEY, "value": METRIC_VALUE, "timestamp": now_ms(), "step": 0}],
        "tags": [{"key": KEY, "value": token}],
    });
    api(server, Method::POST, path, Some(body)).await?;
    Ok(((), format!("param, metric and tag {KEY}")))
}

async fn upload(server: &mut Server, path: &str, artifact: Bytes, store: Option<String>) -> StepResult<()> {
    let bytes = artifact.len() as u64;
    let started = Instant::now();
    let api_path = format!("{ARTIFACTS_API}{path}");
    exchange(server, Method::PUT, &api_path, artifact, Some("application/octet-stream"), StatusCode::OK).await?;
    let rate = size::rate(bytes, started.elapsed().as_secs_f64());
    let into = store.map(|s| format!(" into {s}")).unwrap_or_default();
    Ok(((), format!("{}, {rate}{into}", size::show(bytes))))
}

async fn download(server: &mut Server, path: &str, artifact: &Bytes) -> StepResult<()> {
    let api_path = format!("{ARTIFACTS_API}{path}");
    let request = format!("GET {}", server.path(&api_path));
    let failed = |trouble| Failed { request: request.clone(), trouble };
    let started = Instant::now();
    let response = server.send(Method::GET, &api_path, Bytes::new(), None).await.map_err(failed)?;
    let status = response.status();
    let mut body = response.into_body();
    if status != StatusCode::OK {
        let mut text = Vec::new();
        while let Some(chunk) = server.next_chunk(&mut body).await.map_err(failed)? {
            text.extend_from_slice(&chunk);
        }
        return Err(failed(Trouble::Status { status, body: diagnose::excerpt(&text) }));
    }
    let mut at = 0usize;
    while let Some(chunk) = server.next_chunk(&mut body).await.map_err(failed)? {
        let expected = artifact.get(at..at + chunk.len());
        if let Some(differs) = first_difference(expected, &chunk) {
            return Err(failed(Trouble::Unexpected(format!(
                "the downloaded bytes differ from the uploaded ones from byte {} on",
                at + differs
            ))));
        }
        at += chunk.len();
    }
    if at != artifact.len() {
        return Err(failed(Trouble::Unexpected(format!("{at} bytes came back of the {} uploaded", artifact.len()))));
    }
    let rate = size::rate(at as u64, started.elapsed().as_secs_f64());
    Ok(((), format!("{} byte-identical, {rate}", size::show(at as u64))))
}

/// Where `got` first differs from `expected` (which is `None` past the artifact's end).
fn first_difference(expected: Option<&[u8]>, got: &[u8]) -> Option<usize> {
    match expected {
        None => Some(0),
        Some(expected) => expected.iter().zip(got).position(|(a, b)| a != b),
    }
}

async fn search(server: &mut Server, experiment: &str, run: &str, token: &str) -> StepResult<()> {
    let path = "/api/2.0/mlflow/runs/search";
    let filter = format!("params.{KEY} = '{token}' and metrics.{KEY} = {METRIC_VALUE} and tags.{KEY} = '{token}'");
    let body = json!({"experiment_ids": [experiment], "filter": filter, "max_results": 10});
    let answer = api(server, Method::POST, path, Some(body)).await?;
    let runs = answer["runs"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = runs.iter().filter_map(|r| r["info"]["run_id"].as_str()).collect();
    if ids != [run] {
        return Err(unexpected(
            server,
            "POST",
            path,
            format!("the search by param, metric and tag found runs {ids:?}, not run {run}"),
        ));
    }
    let data = &runs[0]["data"];
    let has = |kind: &str, value: Value| {
        data[kind].as_array().is_some_and(|items| items.iter().any(|i| i["key"] == KEY && i["value"] == value))
    };
    if !has("params", json!(token)) || !has("tags", json!(token)) || !has("metrics", json!(METRIC_VALUE)) {
        return Err(unexpected(server, "POST", path, format!("the run found lacks what was logged: {data}")));
    }
    Ok(((), "found by its param, metric and tag".into()))
}

async fn find_experiment(server: &mut Server, name: &str) -> StepResult<Option<String>> {
    let path = format!("/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}");
    let request = format!("GET {}", server.path(&path));
    match api(server, Method::GET, &path, None).await {
        Ok(answer) => {
            let id = answer["experiment"]["experiment_id"].as_str().map(str::to_string);
            let detail = id.as_ref().map(|id| format!("{name} (id {id})")).unwrap_or_default();
            Ok((id, detail))
        }
        Err(Failed { trouble: Trouble::Status { status: StatusCode::NOT_FOUND, .. }, .. }) => {
            Ok((None, format!("{name} was not made")))
        }
        Err(failed) => Err(Failed { request, ..failed }),
    }
}

async fn delete_artifacts(server: &mut Server, dir: &str) -> StepResult<()> {
    let path = format!("{ARTIFACTS_API}{dir}");
    exchange(server, Method::DELETE, &path, Bytes::new(), None, StatusCode::OK).await?;
    Ok(((), format!("mlflow-artifacts:/{dir}")))
}

async fn delete_run(server: &mut Server, run: &str) -> StepResult<()> {
    api(server, Method::POST, "/api/2.0/mlflow/runs/delete", Some(json!({"run_id": run}))).await?;
    Ok(((), format!("run {run}")))
}

async fn delete_experiment(server: &mut Server, experiment: &str) -> StepResult<()> {
    let body = json!({"experiment_id": experiment});
    api(server, Method::POST, "/api/2.0/mlflow/experiments/delete", Some(body)).await?;
    Ok(((), format!("id {experiment}")))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxied_artifact_paths() {
        assert_eq!(proxied_path("mlflow-artifacts:/1/abc/artifacts").as_deref(), Some("1/abc/artifacts"));
        assert_eq!(proxied_path("mlflow-artifacts://h:5000/1/abc/artifacts").as_deref(), Some("1/abc/artifacts"));
        assert_eq!(proxied_path("s3://bucket/1/abc/artifacts"), None);
        assert_eq!(proxied_path("mlflow-artifacts:/"), None);
    }

    #[test]
    fn the_experiments_directory_only_when_the_runs_lies_in_it() {
        let run = |dir: &str| Run { run_id: "abc".into(), artifact_uri: String::new(), artifact_dir: Some(dir.into()) };
        assert_eq!(run("1/abc/artifacts").experiment_dir("1").as_deref(), Some("1"));
        assert_eq!(run("root/7/abc/artifacts").experiment_dir("7").as_deref(), Some("root/7"));
        assert_eq!(run("1/abc/artifacts").experiment_dir("2"), None);
        assert_eq!(run("abc/artifacts").experiment_dir(""), None);
        assert_eq!(run("x/1/other/artifacts").experiment_dir("1"), None);
    }

    #[test]
    fn what_is_left_is_what_the_cleanup_did_not_delete() {
        let mut made = Made {
            experiment_name: Some("kubectl-mlflow-check-ab".into()),
            experiment_id: Some("4".into()),
            run_id: Some("r1".into()),
            artifact_dir: Some("4/r1/artifacts".into()),
            experiment_dir: Some("4".into()),
            artifact: Some("4/r1/artifacts/kubectl-mlflow-check.bin".into()),
            deleted: Deleted::default(),
        };
        assert_eq!(
            left_behind(&made),
            "experiment kubectl-mlflow-check-ab (id 4), run r1, what the upload stored under mlflow-artifacts:/4 \
             (delete the experiment in MLflow's UI, then kubectl mlflow gc purges deleted runs with their artifacts)"
        );
        made.deleted = Deleted { run: true, experiment: true, artifacts: false };
        assert_eq!(
            left_behind(&made),
            "what the upload stored under mlflow-artifacts:/4 (kubectl mlflow gc purges deleted runs with their artifacts)"
        );
        made.deleted.artifacts = true;
        assert_eq!(left_behind(&made), "nothing");
        let unanswered = Made { experiment_name: Some("kubectl-mlflow-check-cd".into()), ..Made::default() };
        assert_eq!(
            left_behind(&unanswered),
            "experiment kubectl-mlflow-check-cd, if its create went through (delete the experiment in MLflow's UI, \
             then kubectl mlflow gc purges deleted runs with their artifacts)"
        );
    }

    #[test]
    fn differences_are_found_where_they_are() {
        assert_eq!(first_difference(Some(b"abc"), b"abc"), None);
        assert_eq!(first_difference(Some(b"abc"), b"abd"), Some(2));
        assert_eq!(first_difference(None, b"x"), Some(0));
    }
}
