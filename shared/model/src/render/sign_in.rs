//! The oauth2-proxy sidecar of the server pod: it owns the pod's served port (named like the
//! Service's, so the Service, an Ingress and an HTTPRoute lead to it) and passes what it admits
//! to MLflow on the loopback.

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction, Probe, SecretKeySelector,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::deployment::TLS_DIR;
use super::pod::{from_source, mount};
use super::Context;
use crate::oidc::{self, CONTAINER};

/// The proxy container, when the values switch the sign-in on.
pub fn container(ctx: &Context) -> Option<Container> {
    let values = ctx.values;
    let settings = &values.oidc;
    settings.enabled.then(|| Container {
        name: CONTAINER.into(),
        image: Some(oidc::image(values)),
        image_pull_policy: Some(settings.image.pull_policy.clone()),
        args: Some(oidc::args(values, ctx.prefix(), TLS_DIR)),
        ports: Some(vec![ContainerPort {
            name: Some(ctx.port_name().into()),
            container_port: settings.port,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        env: Some(env(ctx)),
        security_context: values.security_context.clone(),
        resources: settings.resources.clone(),
        liveness_probe: Some(probe(ctx, oidc::PING_PATH)),
        readiness_probe: Some(probe(ctx, oidc::READY_PATH)),
        volume_mounts: values.tls.enabled.then(|| vec![mount("tls", TLS_DIR, true)]),
        ..Container::default()
    })
}

/// The client's id and secret and the cookie secret, from their Secrets.
fn env(ctx: &Context) -> Vec<EnvVar> {
    let settings = &ctx.values.oidc;
    let secret = |name: &str, key: &str| EnvVarSource {
        secret_key_ref: Some(SecretKeySelector { name: name.into(), key: key.into(), optional: None }),
        ..EnvVarSource::default()
    };
    vec![
        from_source(oidc::CLIENT_ID_ENV, &secret(&settings.client_secret_name, oidc::CLIENT_ID_KEY)),
        from_source(oidc::CLIENT_SECRET_ENV, &secret(&settings.client_secret_name, oidc::CLIENT_SECRET_KEY)),
        from_source(oidc::COOKIE_SECRET_ENV, &secret(&settings.cookie_secret_name, oidc::COOKIE_SECRET_KEY)),
    ]
}

/// The proxy's own health path (MLflow's is probed on the mlflow container, through the proxy).
fn probe(ctx: &Context, path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(ctx.port_name().into()),
            scheme: Some(ctx.scheme().to_uppercase()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        failure_threshold: Some(3),
        ..Probe::default()
    }
}
