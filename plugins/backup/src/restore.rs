//! `kubectl mlflow restore`: a backup archive into a release of any backend. Everything is
//! checked before the target is touched (the archive's checksums, the target's emptiness, its
//! MLflow version, its volume's free space, RBAC); then a worker Job on the target's image marks
//! the store, writes the artifacts, migrates the backup's databases to the target's schema with
//! MLflow's own migrations, rewrites artifact URIs to the target's store, loads them in one
//! transaction, verifies counts and checksums, and only then removes the mark.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use kubectl_mlflow_core::cluster::{lookup, Session};
use kubectl_mlflow_core::problem::{Problem, Problems};
use kubectl_mlflow_core::ui::{self, parse_duration, ClusterArgs, OutputArgs, Reporter};
use kubectl_mlflow_core::Failure;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::archive;
use crate::exec::{self, Ended};
use crate::progress;
use crate::server::{self, Stores};
use crate::worker::{self, Worker};

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-mlflow-restore",
    version,
    about = "Restore a backup into a release of any backend, keeping every ID",
    long_about = "Restore a backup made by kubectl mlflow backup into a release of any backend, keeping every ID. \
The archive's checksums, the target's emptiness (only what MLflow makes on its first start, such as the \
Default experiment), its MLflow version (the backup's or newer), its volume's free space and the permissions \
are checked before anything is written. The backup is migrated with MLflow's own migrations to the target's \
schema, its artifacts go into the target's store and the artifact URIs in the database are rewritten to it; \
counts and checksums are verified and printed. An interrupted restore leaves a mark in the store: the next \
restore refuses it and says how to start again.",
    after_help = "Examples:\n  kubectl mlflow restore mlflow-backup.tar.gz -n mlflow\n  kubectl mlflow restore prod.tar.gz mlflow -n ml-prod"
)]
pub struct Cli {
    /// The archive kubectl mlflow backup wrote
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Release name
    #[arg(default_value = "mlflow")]
    pub release: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Restore into a store that is not empty, or that holds an unfinished restore: what it holds is replaced
    #[arg(long)]
    pub force: bool,

    /// How long the restore may take, as 90s, 30m or 1h
    #[arg(long, default_value = "30m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    #[command(flatten)]
    pub out: OutputArgs,
}

impl ui::Command for Cli {
    fn output(&self) -> &OutputArgs {
        &self.out
    }
}

const START: Duration = Duration::from_secs(300);

pub async fn run(cli: Cli) -> Result<(), Failure> {
    let reporter = Reporter::new(&cli.out);
    let (checked, (session, stores)) = checked_and_found(&cli).await?;
    let manifest = checked.manifest;
    let job = worker::job(&stores, &cli.release, &session.namespace, "restore", cli.timeout + START);
    let worker = Worker::start(&session, &stores, job, START, &reporter).await?;
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(cli.timeout, restore(&cli, &session, &stores, &worker, &manifest, checked.bytes, &reporter)) => {
            outcome.unwrap_or_else(|_| Err(Failure::failed(format!(
                "the restore took longer than --timeout {}; {}", ui::format_duration(cli.timeout), again(&cli, &session)))))
        }
        _ = tokio::signal::ctrl_c() => Err(Failure::failed(format!("interrupted; {}", again(&cli, &session)))),
    };
    worker.remove().await;
    outcome
}

/// The archive's check (local) and the target's reads run side by side: neither writes. A problem
/// of the archive is the one reported, as soon as it is found, whatever the cluster answers.
async fn checked_and_found(cli: &Cli) -> Result<(archive::Checked, (Session, Stores)), Failure> {
    let check = check_archive(&cli.file);
    let target = target(cli);
    tokio::pin!(check, target);
    tokio::select! {
        checked = &mut check => Ok((checked?, target.await?)),
        found = &mut target => Ok((check.await?, found?)),
    }
}

/// The target release and the permissions the restore needs, read before anything is written.
async fn target(cli: &Cli) -> Result<(Session, Stores), Failure> {
    let session = Session::connect(&cli.cluster.target()).await?;
    let found = lookup::in_session(&session, &cli.release).await?;
    let stores = server::stores(&found)
        .map_err(|message| Failure::input(format!("cannot restore into release {}: {message}", cli.release)))?;
    worker::check_access(&session).await?;
    Ok((session, stores))
}

/// How to start again after a restore that may have written part of the backup.
fn again(cli: &Cli, session: &Session) -> String {
    format!(
        "the store of release {} may hold part of the backup and is marked so; start again with: kubectl mlflow restore {} {} -n {} --force",
        cli.release,
        cli.file.display(),
        cli.release,
        session.namespace
    )
}

async fn check_archive(file: &Path) -> Result<archive::Checked, Failure> {
    let shown = file.display().to_string();
    if !file.is_file() {
        return Err(Failure::input(format!("{shown}: no such file")));
    }
    let path = file.to_path_buf();
    let total = std::fs::metadata(file).map(|m| m.len()).ok();
    let checked = tokio::task::spawn_blocking(move || {
        let mut bar = progress::Bytes::new("checking the archive", total);
        let result = archive::check(&path, |n| bar.set(n));
        if result.is_ok() {
            bar.finish();
        }
        result
    })
    .await
    .map_err(|e| Failure::failed(format!("the archive check stopped: {e}")))?;
    checked.map_err(|message| Failure::input(format!("{shown}: {message}")))
}

async fn restore(
    cli: &Cli,
    session: &Session,
    stores: &Stores,
    worker: &Worker,
    manifest: &Value,
    bytes: u64,
    reporter: &Reporter,
) -> Result<(), Failure> {
    let probe = probe(worker, manifest, reporter).await?;
    let problems = judge(cli, &session.namespace, stores, manifest, &probe, reporter);
    if !problems.is_empty() {
        return Err(Failure::Input(problems));
    }
    reporter.note(&format!("restoring into release {} through Job/{} (pod {})", cli.release, worker.job, worker.pod));
    let name = cli.file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let settings = json!({"archive": name});
    let mut process = worker.exec("restore", &settings, true).await?;
    let said = exec::follow_stderr(process.stderr().expect("stderr"), reporter.clone());
    let mut stdout = process.stdout().expect("stdout");
    let report = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text).await;
        text
    });
    let sent = send(&cli.file, process.stdin().expect("stdin"), bytes).await;
    let ended = exec::ended(&mut process).await;
    let said = said.await.unwrap_or_default();
    let report: Option<Value> =
        report.await.ok().and_then(|t| t.lines().last().and_then(|l| serde_json::from_str(l).ok()));
    let again = again(cli, session);
    match ended {
        Ended::Ok => {
            sent.map_err(|message| Failure::failed(format!("{message}; {again}")))?;
            let report = report.ok_or_else(|| Failure::failed(format!("the worker gave no report; {again}")))?;
            print_report(cli, session, manifest, &report);
            Ok(())
        }
        Ended::Unverified => {
            let problems = report.as_ref().and_then(|r| r["problems"].as_array().cloned()).unwrap_or_default();
            let list: Vec<String> = problems.iter().filter_map(|p| p.as_str().map(String::from)).collect();
            Err(Failure::failed(format!("the restored store does not match the backup: {}; {again}", list.join("; "))))
        }
        Ended::Refused => Err(Failure::failed(format!("{}; {again}", said.refused.unwrap_or_default()))),
        Ended::Failed(reason) => {
            let reason = match sent {
                Err(failure) => format!("{reason}; {failure}"),
                Ok(()) => reason,
            };
            Err(Failure::failed(exec::failure_text(&format!("the restore worker failed ({reason}); {again}"), &said)))
        }
    }
}

/// Streams the archive into the worker's stdin, with progress.
async fn send(file: &Path, mut stdin: impl tokio::io::AsyncWrite + Unpin, bytes: u64) -> Result<(), String> {
    let mut input = tokio::fs::File::open(file).await.map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut bar = progress::Bytes::new("restore", Some(bytes));
    let mut buffer = vec![0u8; 1 << 20];
    let mut sent = 0u64;
    loop {
        let n = input.read(&mut buffer).await.map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        if n == 0 {
            break;
        }
        stdin.write_all(&buffer[..n]).await.map_err(|e| format!("the worker stopped reading: {e}"))?;
        sent += n as u64;
        bar.set(sent);
    }
    stdin.shutdown().await.map_err(|e| format!("the worker stopped reading: {e}"))?;
    bar.finish();
    Ok(())
}

/// The worker's look at the target: versions, contents, free space. Reads only.
async fn probe(worker: &Worker, manifest: &Value, reporter: &Reporter) -> Result<Value, Failure> {
    let settings = json!({"backup_revisions": manifest["revisions"]});
    let mut process = worker.exec("probe", &settings, false).await?;
    let said = exec::follow_stderr(process.stderr().expect("stderr"), reporter.clone());
    let mut text = String::new();
    let _ = process.stdout().expect("stdout").read_to_string(&mut text).await;
    let ended = exec::ended(&mut process).await;
    let said = said.await.unwrap_or_default();
    match ended {
        Ended::Ok => serde_json::from_str(text.trim())
            .map_err(|e| Failure::failed(format!("the worker's look at the target is not JSON ({e})"))),
        Ended::Refused => Err(Failure::input(said.refused.unwrap_or_default())),
        _ => Err(Failure::failed(exec::failure_text("the worker could not read the target's stores", &said))),
    }
}

/// Every reason the target cannot take the backup.
fn judge(
    cli: &Cli,
    namespace: &str,
    stores: &Stores,
    manifest: &Value,
    probe: &Value,
    reporter: &Reporter,
) -> Problems {
    let mut problems = Problems::default();
    let mut refuse = |message: String| problems.push(Problem::at("", message));
    let release = &cli.release;
    let backup_version = manifest["mlflow_version"].as_str().unwrap_or("?");
    let target_version = probe["mlflow_version"].as_str().unwrap_or("?");
    let unknown = probe["backup_revision_known"].as_object().is_some_and(|k| k.values().any(|v| v == false));
    if version(target_version) < version(backup_version) || unknown {
        refuse(format!(
            "the backup comes from MLflow {backup_version} (schema revision {}), release {release} runs MLflow {target_version}, \
             which cannot read a newer schema: restore into a release of MLflow {backup_version} or newer \
             (kubectl mlflow install --set image.tag=v{backup_version}-full)",
            manifest["revisions"]["tracking"].as_str().unwrap_or("?")
        ));
    }
    if let Some(marker) = probe["marker"].as_object().filter(|_| !cli.force) {
        refuse(format!(
            "release {release} holds an unfinished restore (of {}, started {}): its store may hold part of that backup; \
             start again with: kubectl mlflow restore {} {release} -n {} --force",
            marker.get("archive").and_then(Value::as_str).unwrap_or("?"),
            marker.get("started").and_then(Value::as_str).unwrap_or("?"),
            cli.file.display(),
            namespace
        ));
    } else if !cli.force {
        let content = probe["content"].as_object().cloned().unwrap_or_default();
        if !content.is_empty() {
            let held: Vec<String> = content.iter().take(6).map(|(table, n)| format!("{table}: {n}")).collect();
            refuse(format!(
                "release {release} is not empty: its tracking store holds more than MLflow makes on its first start ({}); \
                 restore into a new release, or add --force to replace what it holds",
                held.join(", ")
            ));
        }
        let users = probe["auth_content"].as_object().cloned().unwrap_or_default();
        if !users.is_empty() && manifest["parts"].get("auth.db").is_some() {
            refuse(format!(
                "release {release}'s basic-auth store holds users or permissions besides its admin: restore into a new release, or add --force to replace them"
            ));
        }
    }
    if artifact_bytes(manifest) > 0 && probe["artifact_location_kind"].is_null() {
        refuse(format!("release {release}'s server names no artifact store for the backup's artifacts"));
    }
    for message in space_problems(stores, manifest, probe) {
        refuse(message);
    }
    if manifest["parts"].get("auth.db").is_some() && probe["auth"] != true {
        reporter.warn(&format!(
            "the backup holds basic-auth users, but release {release} runs without basic auth: they are not restored"
        ));
    }
    problems
}

fn artifact_bytes(manifest: &Value) -> u64 {
    manifest["counts"]["artifact_bytes"].as_u64().unwrap_or(0)
}

/// The target's volumes and the worker's scratch space against what the backup needs there,
/// measured before anything is written.
fn space_problems(stores: &Stores, manifest: &Value, probe: &Value) -> Vec<String> {
    let free = &probe["free"];
    let tracking = archive::part_size(manifest, "tracking.db");
    let auth = archive::part_size(manifest, "auth.db");
    let mut needs: Vec<(String, u64, u64, Vec<String>)> = Vec::new();
    let mut need = |place: String, free: Option<u64>, bytes: u64, what: String| {
        let Some(free) = free else { return };
        match needs.iter_mut().find(|n| n.0 == place) {
            Some(entry) => {
                entry.2 += bytes;
                entry.3.push(what);
            }
            None => needs.push((place, free, bytes, vec![what])),
        }
    };
    let volume = |path: Option<String>| {
        path.and_then(|p| stores.claim_of(&p))
            .map(|c| format!("PersistentVolumeClaim/{c}"))
            .unwrap_or("the volume".into())
    };
    if probe["store"] == "sqlite" {
        let place = volume(stores.sqlite_path());
        need(place, free["database"].as_u64(), tracking, format!("tracking.db {}", human(tracking)));
    }
    if probe["artifact_location_kind"] == "volume" {
        let place = volume(stores.artifact_dir());
        let bytes = artifact_bytes(manifest);
        need(place, free["artifacts"].as_u64(), bytes, format!("artifacts {}", human(bytes)));
    }
    need(
        "the worker's scratch space (an emptyDir on the node)".into(),
        free["scratch"].as_u64(),
        tracking + auth,
        format!("the staged databases {}", human(tracking + auth)),
    );
    needs
        .into_iter()
        .filter(|(_, free, bytes, _)| bytes > free)
        .map(|(place, free, bytes, what)| {
            format!(
                "{place} has {} free, the backup needs {} there ({}): make it larger (storage.size for the release's claim) and retry",
                human(free),
                human(bytes),
                what.join(", ")
            )
        })
        .collect()
}

fn human(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

/// `3.17.2` → (3, 17, 2); pre-release suffixes are ignored.
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts =
        text.split('.').map(|p| p.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn print_report(cli: &Cli, session: &Session, manifest: &Value, report: &Value) {
    println!("restored {} into release {} in namespace {}", cli.file.display(), cli.release, session.namespace);
    let rows = [
        ("experiments", "experiments"),
        ("runs", "runs"),
        ("metric_rows", "metric values"),
        ("params", "params"),
        ("run_tags", "run tags"),
        ("registered_models", "registered models"),
        ("model_versions", "model versions"),
        ("logged_models", "logged models"),
        ("traces", "traces"),
        ("users", "basic-auth users"),
    ];
    println!("{:<20} {:>10} {:>10}", "", "backup", "restored");
    for (key, name) in rows {
        let (Some(backup), Some(restored)) = (manifest["counts"][key].as_u64(), report["counts"][key].as_u64()) else {
            continue;
        };
        println!("{name:<20} {backup:>10} {restored:>10}");
    }
    println!(
        "artifacts: {} files, {}, checksums verified",
        report["artifact_files"].as_u64().unwrap_or(0),
        human(report["artifact_bytes"].as_u64().unwrap_or(0))
    );
    if let Some(n) = report["uris_rewritten"].as_u64().filter(|n| *n > 0) {
        println!("artifact URIs rewritten to the target's store: {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::version;

    #[test]
    fn versions_compare_by_number() {
        assert!(version("3.17.2") > version("3.12.0"));
        assert!(version("3.17.2") > version("2.22.5"));
        assert!(version("3.10.0") > version("3.9.1"));
        assert_eq!(version("3.17.2rc1"), (3, 17, 2));
    }
}
