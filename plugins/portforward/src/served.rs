//! What a release's server serves, read from its Deployment's pod template, so releases of either
//! engine and of the official chart alike are understood: the container port, http or https, the
//! static prefix, whether (and where) basic auth keeps its admin password, and whether the
//! oauth2-proxy sidecar of single sign-on serves in MLflow's place.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, EnvVar};
use kubectl_mlflow_core::identity::SERVER_CONTAINER;
use kubectl_mlflow_core::oidc;

/// MLflow's own default port, when the container names none.
const DEFAULT_PORT: u16 = 5000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The container port the server listens on.
    pub port: u16,
    pub tls: bool,
    /// The static prefix, without a trailing `/` (empty for none).
    pub prefix: String,
    pub auth: Option<AuthHint>,
    /// The issuer the sign-in proxy signs people in with, when one guards the server.
    pub sign_in: Option<String>,
}

/// Where the basic-auth admin's login is kept (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHint {
    pub username: String,
    /// The Secret and key of `MLFLOW_AUTH_ADMIN_PASSWORD`, when it comes from one.
    pub secret: Option<(String, String)>,
}

impl Served {
    pub fn of(deployment: &Deployment) -> Served {
        let containers = deployment
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .map(|p| p.containers.as_slice())
            .unwrap_or_default();
        let Some(server) = containers.iter().find(|c| c.name == SERVER_CONTAINER).or(containers.first()) else {
            return Served { port: DEFAULT_PORT, tls: false, prefix: String::new(), auth: None, sign_in: None };
        };
        let proxy = containers.iter().find(|c| c.name == oidc::CONTAINER);
        let words = words(server);
        let prefix = option(&words, "--static-prefix")
            .or_else(|| env_literal(server, "MLFLOW_STATIC_PREFIX"))
            .unwrap_or_default();
        // Behind the sign-in, MLflow listens on the loopback: the proxy's port is the one served.
        let served = proxy.unwrap_or(server);
        Served {
            port: port(served, &words),
            tls: tls(served, &words),
            prefix: prefix.trim_end_matches('/').to_string(),
            auth: auth(server, &words),
            sign_in: proxy.map(|p| option(&words_of(p), "--oidc-issuer-url").unwrap_or_default()),
        }
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// The URL of the server through a local address: `http://127.0.0.1:5000/prefix`.
    pub fn url(&self, local: std::net::SocketAddr) -> String {
        let host = match local.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        format!("{}://{host}:{}{}/", self.scheme(), local.port(), self.prefix)
    }
}

fn words_of(container: &Container) -> Vec<String> {
    container.command.iter().chain(container.args.iter()).flatten().cloned().collect()
}

/// Command and args split into words (`--opt=value` stays one word; the uvicorn and gunicorn
/// option strings are split too, so `--ssl-keyfile` inside them is seen).
fn words(container: &Container) -> Vec<String> {
    let all = container.command.iter().chain(container.args.iter()).flatten();
    all.flat_map(|word| {
        let inner = ["--uvicorn-opts=", "--gunicorn-opts="].iter().find_map(|opt| word.strip_prefix(opt));
        match inner {
            Some(inner) => inner.split_whitespace().map(str::to_string).collect(),
            None => word.split_whitespace().map(str::to_string).collect::<Vec<_>>(),
        }
    })
    .collect()
}

/// The value of `--name=value` or `--name value`.
fn option(words: &[String], name: &str) -> Option<String> {
    words.iter().enumerate().find_map(|(i, word)| match word.strip_prefix(name) {
        Some(rest) if rest.starts_with('=') => Some(rest[1..].to_string()),
        Some("") => words.get(i + 1).cloned(),
        _ => None,
    })
}

fn env<'a>(container: &'a Container, name: &str) -> Option<&'a EnvVar> {
    container.env.iter().flatten().find(|e| e.name == name)
}

fn env_literal(container: &Container, name: &str) -> Option<String> {
    env(container, name).and_then(|e| e.value.clone())
}

/// The port named `http`/`https`/`mlflow`, else the first, else `--port`, else 5000.
fn port(container: &Container, words: &[String]) -> u16 {
    let ports = container.ports.iter().flatten();
    let named = ports.clone().find(|p| matches!(p.name.as_deref(), Some("http" | "https" | "mlflow")));
    named
        .or(ports.clone().next())
        .and_then(|p| u16::try_from(p.container_port).ok())
        .or_else(|| option(words, "--port").and_then(|p| p.parse().ok()))
        .unwrap_or(DEFAULT_PORT)
}

fn tls(container: &Container, words: &[String]) -> bool {
    let port_named_https = container.ports.iter().flatten().any(|p| p.name.as_deref() == Some("https"));
    let probe_https = [&container.readiness_probe, &container.liveness_probe, &container.startup_probe]
        .into_iter()
        .flatten()
        .filter_map(|p| p.http_get.as_ref())
        .any(|get| get.scheme.as_deref() == Some("HTTPS"));
    let serves_certificate = words.iter().any(|w| w.starts_with("--ssl-certfile") || w.starts_with("--certfile"));
    port_named_https || probe_https || serves_certificate
}

fn auth(container: &Container, words: &[String]) -> Option<AuthHint> {
    let app = option(words, "--app-name");
    let password = env(container, "MLFLOW_AUTH_ADMIN_PASSWORD");
    if app.as_deref() != Some("basic-auth") && password.is_none() {
        return None;
    }
    let secret = password
        .and_then(|e| e.value_from.as_ref())
        .and_then(|source| source.secret_key_ref.as_ref())
        .map(|key| (key.name.clone(), key.key.clone()));
    let username = env_literal(container, "MLFLOW_AUTH_ADMIN_USERNAME").unwrap_or_else(|| "admin".into());
    Some(AuthHint { username, secret })
}

impl AuthHint {
    /// One line: who logs in, and the command that shows the password.
    pub fn describe(&self, namespace: &str) -> String {
        match &self.secret {
            Some((name, key)) => format!(
                "basic auth: log in as {}; the password is in Secret {name}, key {key}: \
                 kubectl get secret {name} -n {namespace} -o jsonpath='{{.data.{key}}}' | base64 -d",
                self.username
            ),
            None => format!(
                "basic auth: log in as {}; the password is the server's MLFLOW_AUTH_ADMIN_PASSWORD (or its auth config file)",
                self.username
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(container: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "spec": {"selector": {}, "template": {"spec": {"containers": [container]}}}
        }))
        .unwrap()
    }

    #[test]
    fn a_plain_server() {
        let served =
            Served::of(&deployment(json!({"name": "mlflow", "ports": [{"name": "http", "containerPort": 5000}]})));
        assert_eq!(served, Served { port: 5000, tls: false, prefix: String::new(), auth: None, sign_in: None });
        assert_eq!(served.url("127.0.0.1:5001".parse().unwrap()), "http://127.0.0.1:5001/");
        assert_eq!(served.url("[::1]:5001".parse().unwrap()), "http://[::1]:5001/");
    }

    #[test]
    fn tls_prefix_and_basic_auth_as_this_chart_renders_them() {
        let served = Served::of(&deployment(json!({
            "name": "mlflow",
            "command": ["mlflow", "server", "--port=8443", "--app-name=basic-auth", "--static-prefix=/mlflow/",
                        "--uvicorn-opts=--ssl-keyfile=/etc/mlflow/tls/tls.key --ssl-certfile=/etc/mlflow/tls/tls.crt"],
            "ports": [{"name": "https", "containerPort": 8443}],
            "env": [
                {"name": "MLFLOW_AUTH_ADMIN_USERNAME", "value": "root"},
                {"name": "MLFLOW_AUTH_ADMIN_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "mlflow-auth", "key": "admin-password"}}}
            ]
        })));
        assert_eq!((served.port, served.tls, served.prefix.as_str()), (8443, true, "/mlflow"));
        assert_eq!(served.url("127.0.0.1:5000".parse().unwrap()), "https://127.0.0.1:5000/mlflow/");
        let hint = served.auth.unwrap().describe("ml");
        assert!(hint.contains("log in as root"), "{hint}");
        assert!(
            hint.contains("kubectl get secret mlflow-auth -n ml -o jsonpath='{.data.admin-password}' | base64 -d"),
            "{hint}"
        );
    }

    #[test]
    fn a_server_of_another_chart_with_spaced_options_and_env() {
        let served = Served::of(&deployment(json!({
            "name": "server",
            "args": ["mlflow", "server", "--port", "8080", "--app-name", "basic-auth"],
            "env": [{"name": "MLFLOW_STATIC_PREFIX", "value": "/ml"}],
            "readinessProbe": {"httpGet": {"path": "/ml/health", "port": 8080, "scheme": "HTTPS"}}
        })));
        assert_eq!((served.port, served.tls, served.prefix.as_str()), (8080, true, "/ml"));
        assert_eq!(served.auth, Some(AuthHint { username: "admin".into(), secret: None }));
    }

    #[test]
    fn behind_the_sign_in_the_proxy_port_is_served() {
        let mlflow = json!({"name": "mlflow", "command": ["mlflow", "server", "--host=127.0.0.1", "--port=5000", "--static-prefix=/ml"]});
        let proxy = json!({
            "name": "oauth2-proxy",
            "args": ["--provider=oidc", "--oidc-issuer-url=https://login.example.com/realms/ml", "--https-address=0.0.0.0:4180"],
            "ports": [{"name": "https", "containerPort": 4180}]
        });
        let deployment: Deployment = serde_json::from_value(json!({
            "spec": {"selector": {}, "template": {"spec": {"containers": [mlflow, proxy]}}}
        }))
        .unwrap();
        let served = Served::of(&deployment);
        assert_eq!((served.port, served.tls, served.prefix.as_str()), (4180, true, "/ml"));
        assert_eq!(served.sign_in.as_deref(), Some("https://login.example.com/realms/ml"));
    }
}
