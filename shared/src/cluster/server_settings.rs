//! What a release's server serves, read from its Deployment's pod template, so releases of either
//! engine and of the official chart alike are understood: the container port, http or https (and
//! the Secret of its certificate), the static prefix, the artifact store it proxies, and whether
//! (and where) basic auth keeps its admin login; behind single sign-on, the oauth2-proxy sidecar's
//! port and the issuer it signs people in with.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
use kubectl_mlflow_model::identity::SERVER_CONTAINER;
use kubectl_mlflow_model::oidc;

/// MLflow's own default port, when the container names none.
const DEFAULT_PORT: u16 = 5000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// The server's container (its log tells what went wrong).
    pub container: String,
    /// The container port the server listens on.
    pub port: u16,
    pub tls: bool,
    /// The Secret and key holding the certificate the server presents, when a Secret volume holds
    /// the `--ssl-certfile` it is given.
    pub certificate: Option<SecretKey>,
    /// The static prefix, without a trailing `/` (empty for none).
    pub prefix: String,
    /// The artifact store the server proxies (`--artifacts-destination`).
    pub artifacts: Option<ArtifactStore>,
    pub auth: Option<AuthHint>,
    /// The issuer the sign-in proxy signs people in with, when one guards the server.
    pub sign_in: Option<String>,
}

/// A key of a Secret: `(name, key)`.
pub type SecretKey = (String, String);

/// Where the basic-auth admin's login is kept (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHint {
    pub username: String,
    /// The Secret and key of `MLFLOW_AUTH_ADMIN_USERNAME`, when it comes from one.
    pub username_secret: Option<SecretKey>,
    /// The Secret and key of `MLFLOW_AUTH_ADMIN_PASSWORD`, when it comes from one.
    pub secret: Option<SecretKey>,
}

/// The artifact store behind the server's `mlflow-artifacts` API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactStore {
    /// `s3://bucket/prefix`, `/mlflow/artifacts`, ...
    pub destination: String,
    /// Where the S3 or other endpoint the store is reached at is set, when the server names one:
    /// `MLFLOW_S3_ENDPOINT_URL=http://s3:9000` or `MLFLOW_S3_ENDPOINT_URL from Secret s3-credentials`.
    pub endpoint: Option<String>,
}

/// Variables naming the endpoint of an artifact store.
const ENDPOINT_VARIABLES: [&str; 2] = ["MLFLOW_S3_ENDPOINT_URL", "AZURE_STORAGE_CONNECTION_STRING"];

impl ServerSettings {
    pub fn of(deployment: &Deployment) -> ServerSettings {
        let pod = deployment.spec.as_ref().and_then(|s| s.template.spec.as_ref());
        let containers = pod.map(|p| p.containers.as_slice()).unwrap_or_default();
        let Some(server) = containers.iter().find(|c| c.name == SERVER_CONTAINER).or(containers.first()) else {
            return ServerSettings {
                container: SERVER_CONTAINER.into(),
                port: DEFAULT_PORT,
                tls: false,
                certificate: None,
                prefix: String::new(),
                artifacts: None,
                auth: None,
                sign_in: None,
            };
        };
        // Behind the sign-in, MLflow listens on the loopback: the proxy's port is the one served.
        let proxy = containers.iter().find(|c| c.name == oidc::CONTAINER);
        let sign_in = proxy.map(|p| option(&words(p), "--oidc-issuer-url").unwrap_or_default());
        let words = words(server);
        let prefix = option(&words, "--static-prefix")
            .or_else(|| env_literal(server, "MLFLOW_STATIC_PREFIX"))
            .unwrap_or_default();
        let served = proxy.unwrap_or(server);
        ServerSettings {
            container: server.name.clone(),
            port: port(served, &words),
            tls: tls(served, &words),
            certificate: pod.and_then(|pod| certificate(pod, server, &words)),
            prefix: prefix.trim_end_matches('/').to_string(),
            artifacts: artifacts(server, &words),
            auth: auth(server, &words),
            sign_in,
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
    let username = env_literal(container, "MLFLOW_AUTH_ADMIN_USERNAME").unwrap_or_else(|| "admin".into());
    Some(AuthHint {
        username,
        username_secret: env(container, "MLFLOW_AUTH_ADMIN_USERNAME").and_then(secret_of),
        secret: password.and_then(secret_of),
    })
}

/// The Secret and key a variable is read from.
fn secret_of(var: &EnvVar) -> Option<SecretKey> {
    let key = var.value_from.as_ref()?.secret_key_ref.as_ref()?;
    Some((key.name.clone(), key.key.clone()))
}

/// The Secret volume holding the file `--ssl-certfile` (uvicorn) or `--certfile` (gunicorn) names.
fn certificate(pod: &PodSpec, container: &Container, words: &[String]) -> Option<SecretKey> {
    let file = option(words, "--ssl-certfile").or_else(|| option(words, "--certfile"))?;
    let mount = container.volume_mounts.iter().flatten().find(|m| {
        let dir = m.mount_path.trim_end_matches('/');
        file.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
    })?;
    let within = file[mount.mount_path.trim_end_matches('/').len() + 1..].to_string();
    let within = match &mount.sub_path {
        Some(sub) if !sub.is_empty() => format!("{}/{within}", sub.trim_end_matches('/')),
        _ => within,
    };
    let volume = pod.volumes.iter().flatten().find(|v| v.name == mount.name)?;
    let secret = volume.secret.as_ref()?;
    // `items` maps keys to other paths; without them each key is a file of its own name.
    let key = match &secret.items {
        Some(items) => items.iter().find(|item| item.path == within)?.key.clone(),
        None => within,
    };
    Some((secret.secret_name.clone()?, key))
}

fn artifacts(container: &Container, words: &[String]) -> Option<ArtifactStore> {
    let destination =
        option(words, "--artifacts-destination").or_else(|| env_literal(container, "MLFLOW_ARTIFACTS_DESTINATION"))?;
    let endpoint = ENDPOINT_VARIABLES.iter().find_map(|name| {
        let var = env(container, name)?;
        if name.ends_with("URL") {
            if let Some(value) = &var.value {
                return Some(format!("{name}={value}"));
            }
        }
        Some(match secret_of(var) {
            Some((secret, key)) => format!("{name} from Secret {secret}, key {key}"),
            None => format!("{name} set"),
        })
    });
    Some(ArtifactStore { destination, endpoint })
}

impl ArtifactStore {
    /// `s3://my-bucket/mlflow (MLFLOW_S3_ENDPOINT_URL from Secret s3-credentials, key endpoint-url)`
    pub fn describe(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{} ({endpoint})", self.destination),
            None => self.destination.clone(),
        }
    }
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
        let served = ServerSettings::of(&deployment(
            json!({"name": "mlflow", "ports": [{"name": "http", "containerPort": 5000}]}),
        ));
        let plain = ServerSettings {
            container: "mlflow".into(),
            port: 5000,
            tls: false,
            certificate: None,
            prefix: String::new(),
            artifacts: None,
            auth: None,
            sign_in: None,
        };
        assert_eq!(served, plain);
        assert_eq!(served.url("127.0.0.1:5001".parse().unwrap()), "http://127.0.0.1:5001/");
        assert_eq!(served.url("[::1]:5001".parse().unwrap()), "http://[::1]:5001/");
    }

    #[test]
    fn tls_prefix_and_basic_auth_as_this_chart_renders_them() {
        let served = ServerSettings::of(&deployment(json!({
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
        let served = ServerSettings::of(&deployment(json!({
            "name": "server",
            "args": ["mlflow", "server", "--port", "8080", "--app-name", "basic-auth"],
            "env": [{"name": "MLFLOW_STATIC_PREFIX", "value": "/ml"}],
            "readinessProbe": {"httpGet": {"path": "/ml/health", "port": 8080, "scheme": "HTTPS"}}
        })));
        assert_eq!((served.port, served.tls, served.prefix.as_str()), (8080, true, "/ml"));
        assert_eq!(served.auth, Some(AuthHint { username: "admin".into(), username_secret: None, secret: None }));
        assert_eq!(
            (served.container.as_str(), served.certificate.clone(), served.artifacts.clone()),
            ("server", None, None)
        );
    }

    #[test]
    fn the_certificates_secret_and_the_artifact_store() {
        let mut deployment = deployment(json!({
            "name": "mlflow",
            "command": ["mlflow", "server", "--artifacts-destination", "s3://bucket/mlflow",
                        "--gunicorn-opts=--certfile=/tls/certs/server.pem --keyfile=/tls/certs/server.key"],
            "volumeMounts": [{"name": "certs", "mountPath": "/tls/"}],
            "env": [
                {"name": "MLFLOW_S3_ENDPOINT_URL", "valueFrom": {"secretKeyRef": {"name": "s3-credentials", "key": "endpoint-url"}}},
                {"name": "MLFLOW_AUTH_ADMIN_USERNAME", "valueFrom": {"secretKeyRef": {"name": "login", "key": "user"}}},
                {"name": "MLFLOW_AUTH_ADMIN_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "login", "key": "password"}}}
            ]
        }));
        let volumes = json!([{"name": "certs", "secret": {"secretName": "tls-pair", "items": [{"key": "tls.crt", "path": "certs/server.pem"}]}}]);
        deployment.spec.as_mut().unwrap().template.spec.as_mut().unwrap().volumes =
            Some(serde_json::from_value(volumes).unwrap());
        let served = ServerSettings::of(&deployment);
        assert!(served.tls);
        assert_eq!(served.certificate, Some(("tls-pair".into(), "tls.crt".into())));
        let store = served.artifacts.unwrap();
        assert_eq!(
            store.describe(),
            "s3://bucket/mlflow (MLFLOW_S3_ENDPOINT_URL from Secret s3-credentials, key endpoint-url)"
        );
        let auth = served.auth.unwrap();
        assert_eq!(
            (auth.username_secret, auth.secret),
            (Some(("login".into(), "user".into())), Some(("login".into(), "password".into())))
        );
    }

    #[test]
    fn this_charts_tls_volume_and_artifacts_variable() {
        let mut deployment = deployment(json!({
            "name": "mlflow",
            "command": ["mlflow", "server", "--uvicorn-opts=--ssl-keyfile=/etc/mlflow/tls/tls.key --ssl-certfile=/etc/mlflow/tls/tls.crt"],
            "volumeMounts": [{"name": "tls", "mountPath": "/etc/mlflow/tls", "readOnly": true}],
            "env": [{"name": "MLFLOW_ARTIFACTS_DESTINATION", "value": "/mlflow/artifacts"},
                    {"name": "MLFLOW_S3_ENDPOINT_URL", "value": "http://s3:9000"}]
        }));
        let volumes = json!([{"name": "tls", "secret": {"secretName": "mlflow-tls"}}]);
        deployment.spec.as_mut().unwrap().template.spec.as_mut().unwrap().volumes =
            Some(serde_json::from_value(volumes).unwrap());
        let served = ServerSettings::of(&deployment);
        assert_eq!(served.certificate, Some(("mlflow-tls".into(), "tls.crt".into())));
        assert_eq!(served.artifacts.unwrap().describe(), "/mlflow/artifacts (MLFLOW_S3_ENDPOINT_URL=http://s3:9000)");
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
        let served = ServerSettings::of(&deployment);
        assert_eq!((served.port, served.tls, served.prefix.as_str()), (4180, true, "/ml"));
        assert_eq!(
            (served.container.as_str(), served.sign_in.as_deref()),
            ("mlflow", Some("https://login.example.com/realms/ml"))
        );
    }
}
