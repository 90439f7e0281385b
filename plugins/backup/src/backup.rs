//! `kubectl mlflow backup`: a consistent snapshot of a release's tracking store, basic-auth store
//! and artifacts, streamed from a worker Job on the release's own image into a local archive.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use kubectl_mlflow_core::cluster::{lookup, Session};
use kubectl_mlflow_core::engine;
use kubectl_mlflow_core::ui::{self, parse_duration, ClusterArgs, OutputArgs, Reporter};
use kubectl_mlflow_core::Failure;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::archive::{self, Origin};
use crate::exec::{self, Ended};
use crate::progress;
use crate::server;
use crate::worker::{self, Worker};

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-mlflow-backup",
    version,
    about = "Back up a release's stores, users and artifacts into one checked archive",
    long_about = "Back up a release: its tracking store and basic-auth store at their schema revisions (SQLite through \
its online backup API while the server runs; PostgreSQL, MySQL and MSSQL through a copy of every table), the \
artifacts the server holds or proxies (its volume or its S3, GCS or Azure prefix) and the release's values, \
with a manifest (MLflow version, schema revisions, counts, sha256 of every part). A Job on the release's own \
image reads them; the archive streams to the local file and the Job is removed. Restore it with kubectl \
mlflow restore FILE.",
    after_help = "Examples:\n  kubectl mlflow backup -n mlflow -o mlflow-backup.tar.gz\n  kubectl mlflow backup prod -n ml -o prod.tar --no-artifacts"
)]
pub struct Cli {
    /// Release name
    #[arg(default_value = "mlflow")]
    pub release: String,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// The archive to write: FILE.tar.gz (gzip) or FILE.tar; it must not exist yet
    #[arg(short = 'o', long = "output", value_name = "FILE", required = true)]
    pub output: PathBuf,

    /// Leave the artifacts out: the databases only
    #[arg(long)]
    pub no_artifacts: bool,

    /// How long the backup may take, as 90s, 30m or 1h
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

/// How long the worker's pod may take to start.
const START: Duration = Duration::from_secs(300);

pub async fn run(cli: Cli) -> Result<(), Failure> {
    check_output(&cli.output)?;
    let reporter = Reporter::new(&cli.out);
    let session = Session::connect(&cli.cluster.target()).await?;
    let found = lookup::in_session(&session, &cli.release).await?;
    let stores = server::stores(&found)
        .map_err(|message| Failure::input(format!("cannot back up release {}: {message}", cli.release)))?;
    worker::check_access(&session).await?;
    let values = values(&session, &cli.release, &reporter).await;
    let job = worker::job(&stores, &cli.release, &session.namespace, "backup", cli.timeout + START);
    let worker = Worker::start(&session, &stores, job, START, &reporter).await?;
    reporter.note(&format!("reading the stores in Job/{} (pod {})", worker.job, worker.pod));
    let partial = partial_path(&cli.output);
    let origin = Origin {
        release: cli.release.clone(),
        namespace: session.namespace.clone(),
        created: k8s_openapi::jiff::Timestamp::now().to_string(),
        values,
    };
    let settings = json!({"no_artifacts": cli.no_artifacts, "ack": true});
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(cli.timeout, stream(&worker, &settings, &partial, &cli.output, origin, &reporter)) => {
            outcome.unwrap_or_else(|_| Err(Failure::failed(format!("the backup took longer than --timeout {}", ui::format_duration(cli.timeout)))))
        }
        _ = tokio::signal::ctrl_c() => Err(Failure::failed("interrupted: no archive was written".to_string())),
    };
    worker.remove().await;
    match outcome {
        Ok(written) => {
            std::fs::rename(&partial, &cli.output).map_err(|e| {
                Failure::failed(format!("cannot rename {} to {}: {e}", partial.display(), cli.output.display()))
            })?;
            print_summary(&cli.output, &written);
            Ok(())
        }
        Err(failure) => {
            let _ = std::fs::remove_file(&partial);
            Err(failure)
        }
    }
}

fn check_output(path: &Path) -> Result<(), Failure> {
    let shown = path.display();
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    if ![".tar", ".tar.gz", ".tgz"].iter().any(|suffix| name.ends_with(suffix)) {
        return Err(Failure::input(format!("-o {shown}: name the archive FILE.tar.gz (gzip) or FILE.tar")));
    }
    if path.exists() {
        return Err(Failure::input(format!("-o {shown}: the file exists (remove it, or choose another name)")));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(Failure::input(format!("-o {shown}: the directory {} does not exist", parent.display())));
    }
    Ok(())
}

fn partial_path(output: &Path) -> PathBuf {
    let name = output.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    output.with_file_name(format!(".{name}.partial"))
}

/// The release's values (of kubectl mlflow, or helm's); a backup without them is still whole.
async fn values(session: &Session, release: &str, reporter: &Reporter) -> Option<String> {
    match engine::reuse::reused_values(session, release, None).await {
        Ok(kubectl_mlflow_core::values::Source::Text { yaml, .. }) => Some(yaml),
        Ok(_) => None,
        Err(failure) => {
            let reason = match failure {
                Failure::Input(problems) => problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; "),
                Failure::Failed(message) => message,
            };
            reporter.warn(&format!("the release's values are not in the backup: {reason}"));
            None
        }
    }
}

/// What tells the worker the archive is whole (`"ack"` in its settings).
const WORKER_ACK: &[u8] = b"whole\n";

/// Runs the worker's backup and writes its stream into `partial`.
async fn stream(
    worker: &Worker,
    settings: &Value,
    partial: &Path,
    output: &Path,
    origin: Origin,
    reporter: &Reporter,
) -> Result<archive::Written, Failure> {
    let release = origin.release.clone();
    let mut process = worker.exec("backup", settings, true).await?;
    let said = exec::follow_stderr(process.stderr().expect("stderr"), reporter.clone());
    let mut stdout = process.stdout().expect("stdout");
    let mut stdin = process.stdin().expect("stdin");
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(16);
    let path = partial.to_path_buf();
    let gzip = archive::gzip_name(output);
    let mut writer =
        tokio::task::spawn_blocking(move || archive::write(ChannelReader::new(receiver), &path, gzip, &origin));
    let mut sender = Some(sender);
    let mut written = None;
    let mut bar = progress::Bytes::new("backup", None);
    let mut total = 0u64;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        tokio::select! {
            read = stdout.read(&mut buffer) => {
                let n = read.unwrap_or(0);
                if n == 0 {
                    break;
                }
                total += n as u64;
                bar.set(total);
                // after the writer's end only the tar's padding comes: dropped
                if let Some(sender) = &sender {
                    let _ = sender.send(buffer[..n].to_vec());
                }
            }
            result = &mut writer, if written.is_none() => {
                sender = None;
                let whole = matches!(result, Ok(Ok(_)));
                written = Some(result);
                if !whole {
                    // the writer gave up (its error follows): stop the worker rather than drain it
                    process.abort();
                    break;
                }
                // The worker ends only once the archive is whole here: ending earlier, its exit
                // status could overtake the stream's last bytes in the API server (whose streams
                // of one exec are copied side by side) and cut the stream short.
                let _ = stdin.write_all(WORKER_ACK).await;
                let _ = stdin.flush().await;
            }
        }
    }
    drop(sender);
    let ended = exec::ended(&mut process).await;
    let said = said.await.unwrap_or_default();
    let written = match written {
        Some(result) => result,
        None => writer.await,
    };
    let written = written.map_err(|e| Failure::failed(format!("the archive writer stopped: {e}")))?;
    match ended {
        Ended::Ok => {}
        Ended::Refused => {
            return Err(Failure::input(format!(
                "cannot back up release {release}: {}",
                said.refused.unwrap_or_default()
            )))
        }
        Ended::Unverified | Ended::Failed(_) => {
            let reason = match ended {
                Ended::Failed(reason) => reason,
                _ => "failed".into(),
            };
            return Err(Failure::failed(exec::failure_text(&format!("the backup worker failed ({reason})"), &said)));
        }
    }
    bar.finish();
    written.map_err(|message| Failure::failed(format!("the backup stream is not whole: {message}")))
}

fn print_summary(output: &Path, written: &archive::Written) {
    let manifest = &written.manifest;
    println!("{} ({})", output.display(), indicatif::HumanBytes(written.bytes));
    println!(
        "MLflow {} on {}, schema revision {}{}",
        manifest["mlflow_version"].as_str().unwrap_or("?"),
        manifest["store"].as_str().unwrap_or("?"),
        manifest["revisions"]["tracking"].as_str().unwrap_or("?"),
        manifest["revisions"]["auth"].as_str().map(|r| format!(", basic-auth revision {r}")).unwrap_or_default()
    );
    println!("{}", counts_line(&manifest["counts"]));
}

/// `2 experiments, 3 runs, …` of a manifest's counts.
pub fn counts_line(counts: &Value) -> String {
    let names = [
        ("experiments", "experiments"),
        ("runs", "runs"),
        ("metric_rows", "metric values"),
        ("params", "params"),
        ("registered_models", "registered models"),
        ("model_versions", "model versions"),
        ("logged_models", "logged models"),
        ("traces", "traces"),
        ("users", "users"),
        ("artifact_files", "artifact files"),
    ];
    let mut parts: Vec<String> =
        names.iter().filter_map(|(key, name)| counts[key].as_u64().map(|n| format!("{n} {name}"))).collect();
    if let Some(bytes) = counts["artifact_bytes"].as_u64() {
        parts.push(format!("{} of artifacts", indicatif::HumanBytes(bytes)));
    }
    parts.join(", ")
}

/// A `Read` over the chunks the async side receives.
struct ChannelReader {
    receiver: std::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl ChannelReader {
    fn new(receiver: std::sync::mpsc::Receiver<Vec<u8>>) -> Self {
        ChannelReader { receiver, chunk: Vec::new(), at: 0 }
    }
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.receiver.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
