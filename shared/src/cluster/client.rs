//! The Kubernetes client: kube's default stack (its TLS, timeouts, retries, authentication and
//! headers), on connections that send each write at once (TCP_NODELAY, as kubectl's Go client
//! does).
//!
//! kube's own builder keeps Nagle's algorithm on. A connection that resumes a TLS session writes
//! its Finished message and then its first request; the request waits in the kernel until the
//! Finished is acknowledged, and the API server, having nothing to send, acknowledges only after
//! the delayed-ACK timer (40 ms on Linux). That was most of a no-op rerun's time.

use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::retry::RetryPolicy;
use kube::client::{Body, ClientBuilder, ConfigExt};
use kube::{Client, Config};
use tower::retry::RetryLayer;
use tower::{BoxError, ServiceBuilder};

/// A client for `config`, as `kube::Client::try_from` makes it but with TCP_NODELAY.
pub fn make(config: Config) -> Result<Client, kube::Error> {
    if let Some(proxy) = &config.proxy_url {
        return Err(proxy_refused(proxy));
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = config.rustls_https_connector_with_connector(http)?;
    let mut connector = TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http_client: hyper_util::client::legacy::Client<_, Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new()).build(connector);
    let retry = config.default_retry.then(|| RetryLayer::new(RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(http_client);
    Ok(ClientBuilder::new(service, config.default_namespace).build())
}

/// A kubeconfig's `proxy-url`, refused as kube refuses it without its proxy features (which the
/// plugins leave out): connecting around the proxy would be wrong.
fn proxy_refused(proxy: &http::Uri) -> kube::Error {
    let feature = match proxy.scheme_str() {
        Some("socks5") => "kube/socks5",
        Some("http" | "https") => "kube/http-proxy",
        _ => return kube::Error::ProxyProtocolUnsupported { proxy_url: Box::new(proxy.clone()) },
    };
    kube::Error::ProxyProtocolDisabled { proxy_url: Box::new(proxy.clone()), protocol_feature: feature }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_is_refused_as_kube_refuses_it() {
        let mut config = Config::new("https://127.0.0.1:6443".parse().unwrap());
        config.proxy_url = Some("http://proxy.example:3128".parse().unwrap());
        let refused = make(config.clone()).err().expect("refused");
        let kube_refused = Client::try_from(config).err().expect("kube refuses it too");
        assert_eq!(refused.to_string(), kube_refused.to_string());
    }
}
