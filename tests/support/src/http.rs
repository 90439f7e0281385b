//! HTTP requests with timeouts, so that a hang fails the test instead of stalling it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Status, head and body of an HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The status line and the headers.
    pub headers: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request (`Connection: close`) to `addr`, failing after [`REQUEST_TIMEOUT`].
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
    Some((Response { status, headers: head.to_string(), body }, length.map(|l| end + 4 + l)))
}
