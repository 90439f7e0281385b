//! One local connection carried to the current pod over its own port-forward stream of the API
//! server (kube's websocket `portforward`), so connections are independent: one broken by a pod
//! going away leaves the others, and the next connection goes to the next Ready pod.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::net::TcpStream;
use tokio::sync::watch;

use kubectl_mlflow_core::cluster::forward::PodConnection;
use kubectl_mlflow_core::ui::{format_duration, Reporter};

use crate::follow::KnownPods;

/// What every connection needs.
#[derive(Clone)]
pub struct Forward {
    pub pods: Api<Pod>,
    pub port: u16,
    pub view: watch::Receiver<KnownPods>,
    /// How long a connection waits for a Ready pod.
    pub timeout: Duration,
    pub verbose: bool,
    pub reporter: Reporter,
}

/// Bytes moved per read and write in each direction. The default 8 KiB of `copy_bidirectional`
/// turns a 64 MiB download into 8192 writes to the local socket (and as many reads by the client);
/// the pod side hands over up to 1 MiB at once (kube's duplex buffer).
const COPY_BUFFER: usize = 256 * 1024;

/// How often a connection retries when its pod went away between the watch and the connect.
const ATTEMPTS: usize = 3;

impl Forward {
    pub async fn serve(self, mut local: TcpStream, peer: std::net::SocketAddr) {
        let mut tried: Option<String> = None;
        for _ in 0..ATTEMPTS {
            let Some(pod) = self.next_pod(tried.as_deref()).await else {
                self.reporter.warn(&format!(
                    "connection from {peer} closed: no Ready pod within {}",
                    format_duration(self.timeout)
                ));
                return;
            };
            match PodConnection::open(&self.pods, &pod, self.port).await {
                Ok(connection) => return self.carry(&mut local, connection, &pod, peer).await,
                Err(err) => {
                    self.note(&format!(
                        "connection from {peer}: pod {pod} refused the port-forward ({err}); trying again"
                    ));
                    tried = Some(pod);
                }
            }
        }
        self.reporter.warn(&format!(
            "connection from {peer} closed: the port-forward to the release's pods failed {ATTEMPTS} times"
        ));
    }

    /// The current pod, waiting (up to the timeout) for one; after a failed attempt with `tried`,
    /// waits briefly for the watch to move on, then tries whatever is current.
    async fn next_pod(&self, tried: Option<&str>) -> Option<String> {
        let mut view = self.view.clone();
        if let Some(tried) = tried {
            let moved = view.wait_for(|v| v.current.as_deref().is_some_and(|c| c != tried));
            let _ = tokio::time::timeout(Duration::from_secs(2), moved).await;
        }
        let ready = tokio::time::timeout(self.timeout, view.wait_for(|v| v.current.is_some())).await;
        // A binding, not the tail expression: the borrow of `view` ends before `view` does.
        #[allow(clippy::let_and_return)]
        let pod = match ready {
            Ok(Ok(v)) => v.current.clone(),
            _ => None,
        };
        pod
    }

    async fn carry(&self, local: &mut TcpStream, mut connection: PodConnection, pod: &str, peer: std::net::SocketAddr) {
        {
            let copy =
                tokio::io::copy_bidirectional_with_sizes(local, &mut connection.stream, COPY_BUFFER, COPY_BUFFER);
            tokio::pin!(copy);
            tokio::select! {
                result = &mut copy => {
                    if let Err(err) = result {
                        self.note(&format!("connection from {peer} to pod {pod} ended: {err}"));
                    }
                }
                message = &mut connection.error => match message {
                    Some(message) => self.reporter.warn(&format!("connection from {peer} to pod {pod} failed: {message}")),
                    // The forward ended: what it carried may still be on its way out.
                    None => { let _ = copy.await; }
                },
            }
        }
        connection.forward.abort();
    }

    fn note(&self, message: &str) {
        if self.verbose {
            self.reporter.note(message);
        }
    }
}
