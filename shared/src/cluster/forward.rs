//! A connection to a port of a pod through the API server (kube's port-forward over a
//! WebSocket): the bytes both ways, and the error the kubelet reports for the port (nothing
//! listens there, the pod went away). Each connection has a forward of its own, so one that
//! breaks leaves the others.

use std::future::Future;
use std::pin::Pin;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Portforwarder};
use tokio::io::DuplexStream;

/// The error the kubelet reports for the port, once; `None` when the forward ended without one.
pub type PortError = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// One forwarded connection to a pod's port.
pub struct PodConnection {
    /// The connection's bytes: what is written reaches the pod's port, what it answers is read.
    pub stream: DuplexStream,
    /// Resolves with the kubelet's error for the port, or `None` when the forward ends.
    pub error: PortError,
    /// The forward itself: it ends when this is dropped.
    pub forward: Forward,
}

/// The task carrying a forward's WebSocket; ended by [`Forward::abort`] or on drop.
pub struct Forward(Portforwarder);

impl PodConnection {
    /// Opens a forward of `port` of `pod` (a `create` of `pods/portforward`).
    pub async fn open(pods: &Api<Pod>, pod: &str, port: u16) -> Result<PodConnection, kube::Error> {
        let mut forwarder = pods.portforward(pod, &[port]).await?;
        let (Some(stream), Some(error)) = (forwarder.take_stream(port), forwarder.take_error(port)) else {
            unreachable!("a forward of one port has that port's stream and error")
        };
        Ok(PodConnection { stream, error: Box::pin(error), forward: Forward(forwarder) })
    }
}

impl Forward {
    /// Ends the forward (the WebSocket to the API server), whatever is still in flight.
    pub fn abort(&self) {
        self.0.abort();
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.abort();
    }
}
