//! Helpers of the tests that need the real node (`scripts/test-cluster up --real`): pods really
//! run, so tests reach them through `kubectl port-forward` and talk HTTP to them.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;

use crate::http::{request, Response};
use crate::{cluster, run_script, Cluster, TestNamespace};

/// Name of the real node (`scripts/test-cluster up --real`).
pub const REAL_NODE_NAME: &str = "real-node-0";

/// A namespace for one test, after checking that the cluster's node is the real one.
pub async fn real_namespace(prefix: &str) -> TestNamespace {
    cluster().require_real_node();
    cluster().namespace(prefix).await
}

/// Whether the pod is Ready and not being deleted.
pub fn pod_is_ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    pod.metadata.deletion_timestamp.is_none()
        && conditions.into_iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The pods of `selector` in `ns` that are Ready and not being deleted.
pub async fn ready_pods(ns: &TestNamespace, selector: &str) -> Vec<Pod> {
    let pods = ns.api::<Pod>().list(&ListParams::default().labels(selector)).await.unwrap();
    pods.items.into_iter().filter(pod_is_ready).collect()
}

impl Cluster {
    /// Panics, saying how to get one, unless the cluster's only node is the real node.
    pub fn require_real_node(&self) {
        let nodes = self
            .kubectl_output(&["get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name} {.metadata.annotations.kwok\\.x-k8s\\.io/node}{\"\\n\"}{end}"])
            .unwrap_or_else(|e| panic!("cannot list the test cluster's nodes: {e}"));
        let nodes: Vec<&str> = nodes.lines().filter(|l| !l.trim().is_empty()).collect();
        let kwok: Vec<&str> = nodes.iter().copied().filter(|l| l.split_whitespace().nth(1).is_some()).collect();
        assert!(
            kwok.is_empty() && nodes.iter().any(|l| l.split_whitespace().next() == Some(REAL_NODE_NAME)),
            "this test needs the real node, but the attached cluster ({}) has the node(s) {nodes:?} \
             (KWOK: {kwok:?}): nothing would run. Start the real one: \
             scripts/test-cluster down && scripts/test-cluster up --real",
            self.kubeconfig().display()
        );
    }

    /// `kubectl port-forward -n NS TARGET :REMOTE` on 127.0.0.1; waits (at most `timeout`) for the
    /// local port. The forward stops when the returned value is dropped.
    pub fn port_forward(&self, namespace: &str, target: &str, remote_port: u16, timeout: Duration) -> PortForward {
        let mut child = self
            .kubectl()
            .args(["port-forward", "--address", "127.0.0.1", "-n", namespace, target])
            .arg(format!(":{remote_port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl port-forward");
        let stdout = child.stdout.take().expect("port-forward stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // "Forwarding from 127.0.0.1:41234 -> 5000"
                if let Some(port) = line
                    .strip_prefix("Forwarding from 127.0.0.1:")
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|p| p.parse::<u16>().ok())
                {
                    let _ = tx.send(port);
                }
            }
        });
        match rx.recv_timeout(timeout) {
            Ok(port) => PortForward { child, port },
            Err(_) => {
                let _ = child.kill();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                let _ = child.wait();
                panic!("kubectl port-forward -n {namespace} {target} :{remote_port} gave no local port within {timeout:?}; stderr: {err}");
            }
        }
    }
}

/// A running `kubectl port-forward`, killed on drop.
pub struct PortForward {
    child: Child,
    port: u16,
}

impl PortForward {
    /// The local port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// GET `path` through the forward (see [`request`]).
    pub async fn get(&self, path: &str) -> Result<Response, String> {
        request(SocketAddr::from(([127, 0, 0, 1], self.port)), "GET", path, b"").await
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The contract venv (`scripts/mlflow-venv`: MLflow 3.17.2), made if missing.
pub fn mlflow_venv() -> PathBuf {
    let venv = run_script("mlflow-venv", &[], false).unwrap_or_else(|e| panic!("MLflow venv unavailable: {e}"));
    PathBuf::from(venv.lines().last().unwrap_or_default().trim())
}

/// The python of the contract venv (see [`mlflow_venv`]).
pub fn mlflow_python() -> PathBuf {
    mlflow_venv().join("bin/python")
}

/// Runs `tests/contract/client.py ARGS` with the contract venv against `tracking_uri`, with
/// extra environment `env`; returns its JSON line, or panics with its output.
pub fn mlflow_client(tracking_uri: &str, env: &[(&str, &str)], args: &[&str]) -> serde_json::Value {
    let mut cmd = Command::new(mlflow_python());
    cmd.arg(crate::repo_root().join("tests/contract/client.py"))
        .args(args)
        .env("MLFLOW_TRACKING_URI", tracking_uri.trim_end_matches('/'))
        .env("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the MLflow client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client.py {args:?} against {tracking_uri} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("client.py printed no JSON ({e}): {stdout}"))
}
