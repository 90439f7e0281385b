//! The test's OpenID Connect provider (`tests/sso/provider`: oauth2-proxy's mockoidc behind a
//! login page, image `kmlf.local/oidc-provider:mockoidc` by `scripts/node-images`): its users, its
//! Deployment and Service, and ID tokens from its password grant.

use serde_json::{json, Value};

use crate::http::request;

/// The provider's one client.
pub const CLIENT_ID: &str = "mlflow";
pub const CLIENT_SECRET: &str = "client-s3cret-of-the-test";
/// The group the release admits.
pub const GROUP: &str = "mlflow-users";

/// A user of the provider.
#[derive(Debug, Clone, Copy)]
pub struct User {
    pub name: &'static str,
    pub password: &'static str,
    pub email: &'static str,
    pub groups: &'static str,
}

pub const ALICE: User =
    User { name: "alice", password: "alice-Passw0rd", email: "alice@example.com", groups: "mlflow-users" };
/// Outside [`GROUP`].
pub const BOB: User = User { name: "bob", password: "bob-Passw0rd", email: "bob@example.com", groups: "others" };

/// The provider's Deployment and Service.
pub const PROVIDER: &str = "kmlf-oidc";
pub const PROVIDER_IMAGE: &str = "kmlf.local/oidc-provider:mockoidc";

/// `host:port` of the issuer in `namespace`: its Service's cluster DNS name, which the proxy
/// resolves through CoreDNS and the browser through a host-resolver rule to a port-forward on the
/// same port.
pub fn issuer_host(namespace: &str, port: u16) -> String {
    format!("{PROVIDER}.{namespace}.svc.cluster.local:{port}")
}

pub fn issuer_url(namespace: &str, port: u16) -> String {
    format!("http://{}/oidc", issuer_host(namespace, port))
}

/// The provider's Deployment and Service (a `List`), listening and served on `port`.
pub fn manifest(namespace: &str, port: u16) -> String {
    let users: Vec<String> =
        [ALICE, BOB].iter().map(|u| format!("{}:{}:{}:{}", u.name, u.password, u.email, u.groups)).collect();
    let env = json!([
        {"name": "KMLF_OIDC_ISSUER_HOST", "value": issuer_host(namespace, port)},
        {"name": "KMLF_OIDC_LISTEN", "value": format!(":{port}")},
        {"name": "KMLF_OIDC_CLIENT_ID", "value": CLIENT_ID},
        {"name": "KMLF_OIDC_CLIENT_SECRET", "value": CLIENT_SECRET},
        {"name": "KMLF_OIDC_USERS", "value": users.join(";")}
    ]);
    let container = json!({
        "name": "provider", "image": PROVIDER_IMAGE, "imagePullPolicy": "Never", "env": env,
        "ports": [{"name": "http", "containerPort": port}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 2},
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    });
    let labels = json!({"app": PROVIDER});
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": PROVIDER, "namespace": namespace},
         "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels},
                  "spec": {"enableServiceLinks": false, "automountServiceAccountToken": false, "containers": [container]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": PROVIDER, "namespace": namespace},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": port, "targetPort": "http"}]}}
    ]})
    .to_string()
}

/// An ID token of `user` from the provider's token endpoint (the password grant), reached at
/// 127.0.0.1:`port` as `issuer_host`.
pub fn id_token(port: u16, issuer_host: &str, user: User) -> String {
    let form = format!(
        "grant_type=password&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&username={}&password={}&scope=openid+email+profile+groups",
        user.name, user.password
    );
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let response = request(port, issuer_host, "POST", "/oidc/token", &headers, &form)
        .unwrap_or_else(|e| panic!("token request: {e}"));
    assert_eq!(response.status, 200, "token endpoint: {response:?}");
    let tokens: Value = serde_json::from_str(&response.body).expect("token response is JSON");
    tokens["id_token"].as_str().expect("an id_token").to_string()
}
