//! What the probe talks to: the release (found by its labels, so releases of either engine and of
//! the official chart alike), a Ready server pod of it, what that server serves, the login and
//! the certificate to trust. Read before any step; nothing here writes.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams};
use kubectl_mlflow_core::cluster::pods::{self, Pods};
use kubectl_mlflow_core::cluster::server_settings::ServerSettings;
use kubectl_mlflow_core::cluster::{describe, lookup, releases, Session};
use kubectl_mlflow_core::ui::Reporter;
use kubectl_mlflow_core::{oidc, Failure};

use crate::login::{self, Login, Token};
use crate::trust::Trust;
use crate::Cli;

pub struct Target {
    pub release: String,
    pub namespace: String,
    pub pods: Api<Pod>,
    /// The Ready server pod the probe goes to.
    pub pod: String,
    pub served: ServerSettings,
    pub login: Option<Login>,
    /// The bearer token for the sign-in in front of the server (only when there is one).
    pub token: Option<Token>,
    /// Set when the server serves TLS.
    pub trust: Option<Trust>,
}

impl Target {
    pub async fn find(cli: &Cli, password: Option<String>, token: Option<Token>) -> Result<Target, Failure> {
        let session = Session::connect(&cli.cluster.target()).await?;
        let found = releases::find(&session, &cli.release).await?;
        let namespace = session.namespace.clone();
        let served = ServerSettings::of(&found.deployment);
        let token = sign_in_token(&served, token, &cli.release, &namespace, &Reporter::new(&cli.out))?;
        let pods: Api<Pod> = Api::namespaced(session.client.clone(), &namespace);
        let secrets: Api<Secret> = Api::namespaced(session.client.clone(), &namespace);
        let (pod, login, trust) = tokio::join!(
            ready_pod(&pods, &found.deployment, &cli.release, &namespace),
            login::resolve(&secrets, served.auth.as_ref(), cli.username.as_deref(), password),
            trust(&secrets, &served, cli.insecure),
        );
        Ok(Target {
            release: cli.release.clone(),
            namespace,
            pods,
            pod: pod?,
            login: login?,
            token,
            trust: trust?,
            served,
        })
    }

    /// The server is behind the sign-in and the probe has no token: the steps outside MLflow's API
    /// (`/version`) cannot pass it.
    pub fn signed_out(&self) -> bool {
        self.served.sign_in.is_some() && self.token.is_none()
    }

    /// The server as the probe reaches it: `http://pod-name:5000/prefix`.
    pub fn url(&self) -> String {
        format!("{}://{}:{}{}", self.served.scheme(), self.pod, self.served.port, self.served.prefix)
    }
}

/// The token to send: needed behind the sign-in, unless basic auth carries the API (the sign-in
/// lets MLflow's API through to it: `oidc.basicAuth: api`); without a sign-in it is not sent.
fn sign_in_token(
    served: &ServerSettings,
    token: Option<Token>,
    release: &str,
    namespace: &str,
    reporter: &Reporter,
) -> Result<Option<Token>, Failure> {
    match (&served.sign_in, token) {
        (Some(_), Some(token)) => Ok(Some(token)),
        (Some(issuer), None) if served.auth.is_none() => Err(Failure::input(format!(
            "release {release} in namespace {namespace} is behind single sign-on (oauth2-proxy, issuer {issuer}): \
             give a token that provider issued with --token-file FILE or {}, as the MLflow client takes it \
             (an ID token of a user the release admits)",
            oidc::TRACKING_TOKEN_ENV
        ))),
        (Some(_), None) => Ok(None),
        // (MLFLOW_TRACKING_TOKEN may be set for other servers: only the flag's is worth a word)
        (None, Some(token)) => {
            if token.source != oidc::TRACKING_TOKEN_ENV {
                reporter.warn(&format!(
                    "release {release} is not behind single sign-on: the token of {} is not sent",
                    token.source
                ));
            }
            Ok(None)
        }
        (None, None) => Ok(None),
    }
}

/// The newest Ready server pod.
async fn ready_pod(
    pods: &Api<Pod>,
    deployment: &Deployment,
    release: &str,
    namespace: &str,
) -> Result<String, Failure> {
    let selector = pods::selector(deployment).unwrap_or_else(|| lookup::selector(release));
    let list = pods.list(&ListParams::default().labels(&selector)).await.map_err(|err| {
        Failure::failed(format!(
            "cannot list the pods of release {release} in namespace {namespace}: {}",
            describe(&err)
        ))
    })?;
    let mut all = Pods::default();
    for pod in list.items {
        all.set(pod);
    }
    all.choose(None).ok_or_else(|| {
        let states: Vec<String> = all.states().iter().map(|(name, state)| format!("{name}: {state}")).collect();
        let states = if states.is_empty() { "none".to_string() } else { states.join("; ") };
        Failure::failed(format!(
            "no Ready server pod of release {release} in namespace {namespace} to check; pods: {states} \
             (see kubectl describe pods -n {namespace} -l {selector})"
        ))
    })
}

/// The certificate to trust when the server serves TLS: the one in the Secret mounted where its
/// `--ssl-certfile` is, or any with `--insecure`.
async fn trust(secrets: &Api<Secret>, served: &ServerSettings, insecure: bool) -> Result<Option<Trust>, Failure> {
    if !served.tls {
        return Ok(None);
    }
    if insecure {
        return Ok(Some(Trust::Insecure));
    }
    let Some(key) = &served.certificate else {
        return Err(Failure::input(
            "the server serves TLS, but no Secret volume of its Deployment holds the certificate it presents \
             (its --ssl-certfile): give --insecure to check without verifying the certificate",
        ));
    };
    let pem = login::read_bytes(secrets, key, "the server's TLS certificate").await?;
    Trust::pinned(&pem, format!("Secret {}, key {}", key.0, key.1)).map(Some).map_err(Failure::failed)
}
