//! HTTP/1.1 to the pod's server over a forwarded connection: hyper's client connection, with TLS
//! by rustls when the server serves it. One connection carries the steps one after the other; a
//! new one (a new forward) is opened when the server has closed it.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kubectl_mlflow_core::cluster::describe;
use kubectl_mlflow_core::cluster::forward::PodConnection;
use rustls_pki_types::ServerName;
use tokio::sync::watch;

use crate::target::Target;

/// How long a broken connection waits for the kubelet's word on why (it comes on its own channel).
const PORT_ERROR_WAIT: Duration = Duration::from_millis(500);

/// The server of one pod, through forwards of its port.
pub struct Server {
    pods: Api<Pod>,
    pod: String,
    port: u16,
    tls: Option<tokio_rustls::TlsConnector>,
    authorization: Authorization,
    prefix: String,
    host: HeaderValue,
    connection: Option<Connection>,
    /// `METHOD /path` of the last request sent, for a step that runs out of time.
    last_request: String,
    /// `-v`: each request's method, path and status on stderr.
    verbose: bool,
}

struct Connection {
    sender: SendRequest<Full<Bytes>>,
    /// The kubelet's error for the forwarded port, once it reports one.
    port_error: watch::Receiver<Option<String>>,
    /// The server said it closes the connection after the answer.
    closing: bool,
    /// The task driving the connection (and its forward).
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    /// Ends a request still under way (an upload stopped by Ctrl-C goes no further).
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `Authorization` header of a request: basic auth's login, or the sign-in's bearer token.
/// Behind both (`oidc.basicAuth: api`) the sign-in lets MLflow's API through to basic auth and
/// wants the token everywhere else.
struct Authorization {
    api: Option<HeaderValue>,
    other: Option<HeaderValue>,
}

impl Authorization {
    fn of(target: &Target) -> Authorization {
        let login = target.login.as_ref().map(|l| l.header());
        let token = target.token.as_ref().map(|t| t.header());
        Authorization { api: login.clone().or(token.clone()), other: token.or(login) }
    }

    /// For `path` under the server's prefix.
    fn for_path(&self, path: &str) -> Option<&HeaderValue> {
        if path.starts_with("/api/") {
            self.api.as_ref()
        } else {
            self.other.as_ref()
        }
    }
}

/// A whole answer.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Trouble {
    /// No connection to the server (the forward or the TLS handshake failed).
    Connect(String),
    /// The connection broke before the answer was complete.
    Broken(String),
    /// The server answered with another status than the step needs.
    Status { status: StatusCode, body: String },
    /// The answer is not what the step needs.
    Unexpected(String),
    /// No answer within `--timeout`.
    Timeout(Duration),
}

impl Server {
    pub fn new(target: &Target, verbose: bool) -> Server {
        let port = target.served.port;
        Server {
            pods: target.pods.clone(),
            pod: target.pod.clone(),
            port,
            tls: target.trust.as_ref().map(|t| t.connector()),
            authorization: Authorization::of(target),
            prefix: target.served.prefix.clone(),
            // MLflow admits localhost on any port by default, and this chart's allowed hosts keep it.
            host: HeaderValue::from_str(&format!("localhost:{port}")).expect("a valid Host"),
            connection: None,
            last_request: String::new(),
            verbose,
        }
    }

    pub fn last_request(&self) -> &str {
        &self.last_request
    }

    /// Forgets the connection (after an interrupted or timed-out request its state is unknown).
    pub fn reset(&mut self) {
        self.connection = None;
    }

    /// The request's path as sent: with the server's static prefix.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// Sends one request; the response's head (its body still to read).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        content_type: Option<&'static str>,
    ) -> Result<Response<Incoming>, Trouble> {
        self.last_request = format!("{method} {}", self.path(path));
        let mut request = self.request(method, path, body, content_type);
        // A kept-alive connection the server closed meanwhile fails before the request is sent:
        // then the request goes once more, on a new connection.
        for attempt in 0..2 {
            let connection = self.connection().await?;
            match connection.sender.try_send_request(request).await {
                Ok(response) => {
                    // Dropping it now would end the body's reading: the next request opens anew.
                    connection.closing =
                        response.headers().get(CONNECTION).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
                    if self.verbose {
                        let line = format!("{} → {}\n", self.last_request, response.status());
                        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
                    }
                    return Ok(response);
                }
                Err(mut err) => {
                    let unsent = err.take_message();
                    let broken = self.broken(&err.into_error()).await;
                    self.connection = None;
                    match unsent {
                        Some(unsent) if attempt == 0 => request = unsent,
                        _ => return Err(broken),
                    }
                }
            }
        }
        unreachable!("the second attempt returns")
    }

    /// Sends one request and reads the whole answer.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        content_type: Option<&'static str>,
    ) -> Result<Answer, Trouble> {
        let response = self.send(method, path, body, content_type).await?;
        let status = response.status();
        let body = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(err) => {
                let broken = self.broken(&err).await;
                self.connection = None;
                return Err(broken);
            }
        };
        Ok(Answer { status, body })
    }

    /// The next piece of a response's body; `None` at its end.
    pub async fn next_chunk(&mut self, body: &mut Incoming) -> Result<Option<Bytes>, Trouble> {
        loop {
            match body.frame().await {
                None => return Ok(None),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
                Some(Err(err)) => {
                    let broken = self.broken(&err).await;
                    self.connection = None;
                    return Err(broken);
                }
            }
        }
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        content_type: Option<&'static str>,
    ) -> Request<Full<Bytes>> {
        let mut request = Request::builder().method(method).uri(self.path(path));
        let headers = request.headers_mut().expect("a request under construction");
        headers.insert(HOST, self.host.clone());
        if let Some(authorization) = self.authorization.for_path(path) {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        request.body(Full::new(body)).expect("a valid request: method, path and headers are checked")
    }

    /// The kept connection while it is usable, else a new one.
    async fn connection(&mut self) -> Result<&mut Connection, Trouble> {
        let usable = match &mut self.connection {
            Some(connection) => !connection.closing && connection.sender.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            self.connection = Some(self.open().await?);
        }
        Ok(self.connection.as_mut().expect("set above"))
    }

    async fn open(&self) -> Result<Connection, Trouble> {
        let forward = PodConnection::open(&self.pods, &self.pod, self.port).await.map_err(|err| {
            Trouble::Connect(format!(
                "the port-forward to pod {} port {} failed: {}",
                self.pod,
                self.port,
                describe(&err)
            ))
        })?;
        let PodConnection { stream, error, forward } = forward;
        let (error_tx, port_error) = watch::channel(None);
        tokio::spawn(async move {
            if let Some(message) = error.await {
                let _ = error_tx.send(Some(message));
            }
        });
        let (sender, task) = match &self.tls {
            None => handshake(stream, forward).await?,
            Some(tls) => {
                let name = ServerName::try_from("localhost").expect("a valid name");
                let stream = tls.connect(name, stream).await.map_err(|err| {
                    // (the verifier's own words come as rustls's "unexpected error")
                    let why = err.to_string();
                    let why = why.strip_prefix("unexpected error: ").unwrap_or(&why).to_string();
                    Trouble::Connect(format!(
                        "the TLS handshake with pod {} port {} failed: {why}",
                        self.pod, self.port
                    ))
                })?;
                handshake(stream, forward).await?
            }
        };
        Ok(Connection { sender, port_error, closing: false, task })
    }

    /// What broke the connection: hyper's error, and the kubelet's for the port when it tells.
    async fn broken(&mut self, err: &hyper::Error) -> Trouble {
        let mut message = error_chain(err);
        if let Some(connection) = &mut self.connection {
            let said = tokio::time::timeout(PORT_ERROR_WAIT, connection.port_error.wait_for(Option::is_some)).await;
            if let Ok(Ok(port_error)) = said {
                message.push_str(&format!("; the kubelet reports: {}", port_error.clone().unwrap_or_default()));
            }
        }
        Trouble::Broken(message)
    }
}

/// hyper's connection over `io`, driven by a task that ends the forward with it; the task's handle.
async fn handshake<T>(
    io: T,
    forward: kubectl_mlflow_core::cluster::forward::Forward,
) -> Result<(SendRequest<Full<Bytes>>, tokio::task::JoinHandle<()>), Trouble>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|err| Trouble::Connect(format!("the HTTP connection could not start: {}", error_chain(&err))))?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
        drop(forward);
    });
    Ok((sender, task))
}

/// An error with its causes: `a: b`.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(&format!(": {inner_text}"));
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_both_the_api_gets_the_login_and_the_rest_the_token() {
        let (basic, bearer) = (HeaderValue::from_static("Basic x"), HeaderValue::from_static("Bearer y"));
        let both = Authorization { api: Some(basic.clone()), other: Some(bearer.clone()) };
        assert_eq!(both.for_path("/api/2.0/mlflow/runs/create"), Some(&basic));
        assert_eq!(both.for_path("/version"), Some(&bearer));
        let none = Authorization { api: None, other: None };
        assert_eq!(none.for_path("/health"), None);
    }
}
