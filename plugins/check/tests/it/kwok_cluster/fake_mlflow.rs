//! A stand-in for MLflow's REST API, for the failures a real server cannot be made to show (bytes
//! that come back changed, an answer that never comes): just the calls the check makes, on
//! 127.0.0.1, with HTTP/1.1 keep-alive. Every request is recorded.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the fake misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Artifacts come back with one byte changed at this offset.
    pub corrupt_at: Option<usize>,
    /// Requests whose path contains one of these get no answer, ever.
    pub hang_on: Vec<&'static str>,
}

#[derive(Default)]
struct State {
    faults: Faults,
    requests: Vec<String>,
    artifacts: BTreeMap<String, Vec<u8>>,
}

#[derive(Clone)]
pub struct FakeMlflow {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

pub const EXPERIMENT: &str = "7";
pub const RUN: &str = "0123456789abcdef";

impl FakeMlflow {
    pub async fn start(faults: Faults) -> FakeMlflow {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { faults, ..State::default() }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        FakeMlflow { addr, state }
    }

    /// `METHOD /path` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let Some(end) = find_head(&raw) else {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let length = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        while raw.len() < end + 4 + length {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
        let body = raw[end + 4..end + 4 + length].to_vec();
        raw.drain(..end + 4 + length);
        let mut words = head.split_whitespace();
        let (method, path) =
            (words.next().unwrap_or_default().to_string(), words.next().unwrap_or_default().to_string());
        let answer = {
            let mut state = state.lock().unwrap();
            state.requests.push(format!("{method} {path}"));
            if state.faults.hang_on.iter().any(|p| path.contains(p)) {
                None
            } else {
                Some(route(&mut state, &method, &path, body))
            }
        };
        let Some((status, body)) = answer else {
            // No answer, ever; the connection stays open.
            std::future::pending::<()>().await;
            return;
        };
        let head =
            format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n", body.len());
        if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(&body).await.is_err() {
            return;
        }
    }
}

fn find_head(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n")
}

fn route(state: &mut State, method: &str, path: &str, body: Vec<u8>) -> (&'static str, Vec<u8>) {
    let ok = |value: serde_json::Value| ("200 OK", value.to_string().into_bytes());
    let artifact = path.strip_prefix("/api/2.0/mlflow-artifacts/artifacts/").map(str::to_string);
    match (method, path, artifact) {
        ("GET", "/health", _) => ("200 OK", b"OK".to_vec()),
        ("GET", "/version", _) => ("200 OK", b"3.17.2".to_vec()),
        ("POST", "/api/2.0/mlflow/experiments/create", _) => ok(json!({"experiment_id": EXPERIMENT})),
        ("POST", "/api/2.0/mlflow/runs/create", _) => ok(json!({"run": {"info": {
            "run_id": RUN, "artifact_uri": format!("mlflow-artifacts:/{EXPERIMENT}/{RUN}/artifacts")}}})),
        ("POST", "/api/2.0/mlflow/runs/search", _) => {
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let token = request["filter"].as_str().and_then(|f| f.split('\'').nth(1)).unwrap_or_default().to_string();
            let key = "kubectl_mlflow_check";
            ok(json!({"runs": [{"info": {"run_id": RUN}, "data": {
                "params": [{"key": key, "value": token}], "tags": [{"key": key, "value": token}],
                "metrics": [{"key": key, "value": 0.5}]}}]}))
        }
        ("POST", _, _) => ok(json!({})),
        ("PUT", _, Some(artifact)) => {
            state.artifacts.insert(artifact, body);
            ok(json!({}))
        }
        ("GET", _, Some(artifact)) => match state.artifacts.get(&artifact) {
            Some(bytes) => {
                let mut bytes = bytes.clone();
                if let Some(at) = state.faults.corrupt_at.filter(|at| *at < bytes.len()) {
                    bytes[at] ^= 0xff;
                }
                ("200 OK", bytes)
            }
            None => (
                "404 Not Found",
                br#"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such artifact"}"#.to_vec(),
            ),
        },
        ("DELETE", _, Some(artifact)) => {
            state.artifacts.retain(|path, _| !path.starts_with(&artifact));
            ok(json!({}))
        }
        _ => ("404 Not Found", br#"{"error_code": "ENDPOINT_NOT_FOUND", "message": "no such endpoint"}"#.to_vec()),
    }
}
