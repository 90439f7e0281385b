//! The MLflow clients of the suite, the contract venv's (scripts/mlflow-venv: MLflow 3.17.2),
//! reaching the release through `kubectl mlflow portforward` (which follows the release across
//! pod restarts and rollouts): `tests/contract/client.py` for one run, `mlflow_load.py` for
//! clients logging continuously and for reading back everything they logged.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use kubectl_mlflow_test_support::{cluster, mlflow_python, plugin_bin, repo_root, TestNamespace};
use serde_json::Value;

/// Every transfer through the server's proxy: the S3 endpoint's name resolves only in pods.
pub const PROXIED: [(&str, &str); 2] =
    [("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false"), ("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "false")];

/// A running `kubectl mlflow portforward` of the release; stopped on drop.
pub struct Forward {
    child: Child,
    pub url: String,
    log: PathBuf,
}

impl Forward {
    /// Starts it and waits (up to `timeout`) for the URL it prints.
    pub fn start(ns: &TestNamespace, timeout: Duration) -> Forward {
        let log = std::env::temp_dir().join(format!("{}-portforward.log", ns.name()));
        let mut child = Command::new(plugin_bin("kubectl-mlflow-portforward"))
            .args(["--port", "0", "--timeout", "10m", "--kubeconfig"])
            .arg(cluster().kubeconfig())
            .args(["-n", ns.name()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("the port-forward's log"))
            .spawn()
            .expect("run kubectl-mlflow-portforward");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        match rx.recv_timeout(timeout) {
            Ok(url) => Forward { child, url: url.trim().trim_end_matches('/').to_string(), log },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("kubectl mlflow portforward printed no URL within {timeout:?}: {}", Forward::read(&log));
            }
        }
    }

    /// What it said on stderr so far.
    pub fn said(&self) -> String {
        Forward::read(&self.log)
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// `tests/contract/client.py ARGS` against `url`, every transfer proxied; its JSON line.
pub fn client(url: &str, args: &[&str]) -> Value {
    kubectl_mlflow_test_support::mlflow_client(url, &PROXIED, args)
}

/// How continuous clients log: `clients` processes for at most `seconds` and `max_ops`
/// operations each, an artifact every `artifact_every`th.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub clients: u32,
    pub seconds: u32,
    pub max_ops: u32,
    pub artifact_every: u32,
}

/// Clients logging in the background (`mlflow_load.py log`).
pub struct Logging {
    child: Child,
    out: PathBuf,
    url: String,
}

impl Load {
    pub fn start(&self, url: &str, out: &Path) -> Logging {
        let child = load_command(url)
            .args(["log", "--clients", &self.clients.to_string(), "--seconds", &self.seconds.to_string()])
            .args(["--max-ops", &self.max_ops.to_string(), "--artifact-every", &self.artifact_every.to_string()])
            .arg("--out")
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run mlflow_load.py");
        Logging { child, out: out.to_path_buf(), url: url.to_string() }
    }
}

/// What the clients did: operations, failures, throughput and latency.
#[derive(Debug)]
pub struct Logged {
    pub summary: Value,
    out: PathBuf,
    url: String,
}

impl Logging {
    /// Waits for the clients' end (they bound themselves in time and count).
    pub fn finish(self) -> Logged {
        let out = self.child.wait_with_output().expect("wait for mlflow_load.py");
        assert!(
            out.status.success(),
            "mlflow_load.py log failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: Value = serde_json::from_slice(&std::fs::read(&self.out).expect("the clients' record"))
            .expect("the clients' record is JSON");
        Logged { summary, out: self.out, url: self.url }
    }
}

impl Logged {
    pub fn operations(&self) -> u64 {
        self.summary["operations"].as_u64().unwrap_or(0)
    }

    pub fn failed(&self) -> u64 {
        self.summary["failed"].as_u64().unwrap_or(0)
    }

    /// The failures' messages (at most `n`).
    pub fn failures(&self, n: usize) -> Vec<String> {
        let clients = self.summary["clients"].as_array().cloned().unwrap_or_default();
        clients
            .iter()
            .flat_map(|c| c["failures"].as_array().cloned().unwrap_or_default())
            .filter_map(|f| f.as_str().map(String::from))
            .take(n)
            .collect()
    }

    /// The failures that were a request in flight when its connection broke (the response cut
    /// short or the connection reset under it): what no proxy can save when its upstream goes.
    pub fn in_flight_failures(&self) -> (Vec<String>, Vec<String>) {
        const BROKEN: [&str; 4] = ["Connection broken", "IncompleteRead", "RemoteDisconnected", "Connection aborted"];
        self.failures(usize::MAX).into_iter().partition(|f| BROKEN.iter().any(|b| f.contains(b)))
    }

    /// "N operations in S s by C clients: X ops/s, p50 …, p99 …"
    pub fn figures(&self) -> String {
        let s = &self.summary;
        format!(
            "{} operations ({} failed) in {} s: {} ops/s, p50 {} ms, p99 {} ms",
            s["operations"], s["failed"], s["seconds"], s["ops_per_second"], s["p50_ms"], s["p99_ms"]
        )
    }

    /// Reads everything logged back (through `url`, or where it was logged): `Ok(verdict)`
    /// when nothing is missing or partial, else `Err(verdict)`.
    pub fn verify(&self, url: Option<&str>) -> Result<Value, Value> {
        let out = load_command(url.unwrap_or(&self.url))
            .arg("verify")
            .arg(&self.out)
            .output()
            .expect("run mlflow_load.py verify");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let verdict: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|_| {
            panic!(
                "mlflow_load.py verify printed no verdict ({}): {stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        });
        match out.status.success() {
            true => Ok(verdict),
            false => Err(verdict),
        }
    }
}

/// One `client.py` call without the client's retries (what a user sees during an outage): its
/// JSON line, or the last line of its error.
pub fn one_try(url: &str, args: &[&str], timeout_secs: u32) -> Result<Value, String> {
    let out = Command::new(mlflow_python())
        .arg(repo_root().join("tests/contract/client.py"))
        .args(args)
        .env("MLFLOW_TRACKING_URI", url)
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .env("MLFLOW_HTTP_REQUEST_TIMEOUT", timeout_secs.to_string())
        .envs(PROXIED)
        .stdin(Stdio::null())
        .output()
        .expect("run client.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    match out.status.success() {
        // its JSON is the last line (MLflow prints its "View run" links before it)
        true => serde_json::from_str(stdout.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default())
            .map_err(|e| format!("client.py printed no JSON ({e}): {stdout}")),
        false => Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .to_string()),
    }
}

fn load_command(url: &str) -> Command {
    let mut cmd = Command::new(mlflow_python());
    cmd.arg(repo_root().join("tests/faults/mlflow_load.py"))
        .env("MLFLOW_TRACKING_URI", url)
        .envs(PROXIED)
        .stdin(Stdio::null());
    cmd
}
