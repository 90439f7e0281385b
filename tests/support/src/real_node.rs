//! Helpers of the tests that need the real node (`scripts/test-cluster up --real`): pods really
//! run, so tests reach them through `kubectl port-forward` and talk HTTP to them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{run_script, Cluster};

/// Name of the real node (`scripts/test-cluster up --real`).
pub const REAL_NODE_NAME: &str = "real-node-0";

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

    /// GET `path` through the forward (see [`http_get`]).
    pub fn get(&self, path: &str) -> Result<HttpResponse, String> {
        http_get(SocketAddr::from(([127, 0, 0, 1], self.port)), path, Duration::from_secs(20))
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status and body of an HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

/// A plain HTTP/1.0 GET with a connect and read timeout (a hang is an error, not a stuck test).
pub fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<HttpResponse, String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n", addr.port())
        .map_err(|e| format!("send to {addr}: {e}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("read from {addr}{path}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) =
        text.split_once("\r\n\r\n").ok_or_else(|| format!("no HTTP response from {addr}{path}: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line from {addr}{path}: {head:?}"))?;
    Ok(HttpResponse { status, headers: head.to_string(), body: body.to_string() })
}

/// The python of the contract venv (`scripts/mlflow-venv`: MLflow 3.17.2), made if missing.
pub fn mlflow_python() -> PathBuf {
    let venv = run_script("mlflow-venv", &[], false).unwrap_or_else(|e| panic!("MLflow venv unavailable: {e}"));
    PathBuf::from(venv.lines().last().unwrap_or_default().trim()).join("bin/python")
}

/// Runs `tests/contract/client.py ARGS` with the contract venv against `tracking_uri`, with
/// extra environment `env`; returns its JSON line, or panics with its output.
pub fn mlflow_client(tracking_uri: &str, env: &[(&str, &str)], args: &[&str]) -> serde_json::Value {
    let mut cmd = Command::new(mlflow_python());
    cmd.arg(crate::repo_root().join("tests/contract/client.py"))
        .args(args)
        .env("MLFLOW_TRACKING_URI", tracking_uri)
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
