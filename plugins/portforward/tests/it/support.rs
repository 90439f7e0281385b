//! What the cluster tests of the forward share: the plugin run as a process (its URL, its stderr
//! as it comes), and HTTP through it with timeouts, so a hang fails the test instead of stalling it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request through the forward may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `kubectl-mlflow-portforward` running in the background; killed on drop.
pub struct Plugin {
    child: Child,
    pub urls: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Plugin {
    /// Starts the plugin with `args` and waits (at most `timeout`) for its first URL on stdout.
    pub fn start(kubeconfig: &str, namespace: &str, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Plugin {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("kubectl-mlflow-portforward"));
        command
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT")
            .args(["--kubeconfig", kubeconfig, "-n", namespace])
            .args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the plugin");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut plugin = Plugin { child, urls: Vec::new(), stderr };
        match rx.recv_timeout(timeout) {
            Ok(url) => plugin.urls.push(url),
            Err(_) => panic!("the plugin printed no URL within {timeout:?}; stderr:\n{}", plugin.stderr()),
        }
        // Further URLs (one per address) follow at once.
        while let Ok(url) = rx.recv_timeout(Duration::from_millis(300)) {
            plugin.urls.push(url);
        }
        plugin
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The local address of the first URL.
    pub fn addr(&self) -> SocketAddr {
        address_of(&self.urls[0])
    }

    /// Waits (at most `timeout`) until stderr holds `needle`; the text after the test started.
    pub fn wait_stderr(&self, needle: &str, timeout: Duration) -> String {
        self.wait_stderr_any(&[needle], timeout)
    }

    /// Waits (at most `timeout`) until stderr holds one of `needles`.
    pub fn wait_stderr_any(&self, needles: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.stderr();
            if needles.iter().any(|needle| text.contains(needle)) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "none of {needles:?} on the plugin's stderr within {timeout:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (at most `timeout`) for the plugin to end; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the plugin did not end within {timeout:?}; stderr:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `127.0.0.1:5000` of `http://127.0.0.1:5000/prefix/`.
pub fn address_of(url: &str) -> SocketAddr {
    let rest = url.split("://").nth(1).unwrap_or(url);
    rest.split('/').next().unwrap().parse().unwrap_or_else(|e| panic!("no address in {url}: {e}"))
}

/// Status and body of an HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request (`Connection: close`) through `addr`, failing after [`REQUEST_TIMEOUT`].
pub async fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Result<Response, String> {
    tokio::time::timeout(REQUEST_TIMEOUT, exchange(addr, method, path, body))
        .await
        .unwrap_or_else(|_| Err(format!("{method} {path} through {addr}: no answer within {REQUEST_TIMEOUT:?}")))
}

async fn exchange(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Result<Response, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        addr.port(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.map_err(|e| format!("send to {addr}: {e}"))?;
    stream.write_all(body).await.map_err(|e| format!("send to {addr}: {e}"))?;
    // Read as HTTP clients do: up to Content-Length (KWOK's port-forward, unlike the kubelet's,
    // does not pass the server's close on), else to the end.
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        if let Some(response) = parse(&raw).filter(|(_, length)| length.is_some_and(|l| raw.len() >= l)) {
            return Ok(response.0);
        }
        let n = stream.read(&mut buf).await.map_err(|e| format!("read from {addr}: {e}"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    parse(&raw).map(|(r, _)| r).ok_or_else(|| {
        format!("{method} {path} through {addr}: not an HTTP response: {:?}", String::from_utf8_lossy(&raw))
    })
}

/// The response so far, and the length of head and body when the head names the body's length.
fn parse(raw: &[u8]) -> Option<(Response, Option<usize>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length = head.lines().find_map(|l| {
        l.to_ascii_lowercase().strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok())
    });
    let body = raw[end + 4..].to_vec();
    let body = match length {
        Some(length) => body[..body.len().min(length)].to_vec(),
        None => body,
    };
    Some((Response { status, body }, length.map(|l| end + 4 + l)))
}
