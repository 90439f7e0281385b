//! The Prometheus Operator's ServiceMonitor, as a dynamic object (it is a CRD).

use k8s_openapi::api::core::v1::SecretKeySelector;
use kube_core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{json, Map, Value};

use super::{auth, labels, Context};

pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor"),
        "servicemonitors",
    )
}

pub fn service_monitor(ctx: &Context) -> Option<DynamicObject> {
    let values = ctx.values;
    if !values.service_monitor.enabled {
        return None;
    }
    let mut endpoint = Map::new();
    endpoint.insert("port".into(), json!(ctx.port_name()));
    endpoint.insert("path".into(), json!(values.metrics.path()));
    endpoint.insert("scheme".into(), json!(ctx.scheme()));
    if values.tls.enabled && !values.service_monitor.tls_config.is_empty() {
        endpoint.insert("tlsConfig".into(), Value::Object(values.service_monitor.tls_config.clone()));
    }
    if let Some(password) = basic_auth_password(ctx) {
        let username = auth::secret_name(ctx);
        endpoint.insert(
            "basicAuth".into(),
            json!({
                "username": {"name": username, "key": auth::ADMIN_USERNAME_KEY},
                "password": {"name": password.name, "key": password.key},
            }),
        );
    }
    let mut object = DynamicObject::new(&ctx.fullname, &api_resource()).within(&ctx.release.namespace);
    object.metadata.labels = Some(labels::common(ctx, None));
    object.data = json!({
        "spec": {
            "selector": {"matchLabels": labels::server_selector(ctx)},
            "endpoints": [Value::Object(endpoint)],
        }
    });
    Some(object)
}

/// The Secret key of the admin password, when basic auth guards `/metrics`. The user name is
/// the release's auth Secret's (`auth.adminUsername`).
fn basic_auth_password(ctx: &Context) -> Option<SecretKeySelector> {
    if !ctx.values.basic_auth() {
        return None;
    }
    auth::admin_password_source(ctx).secret_key_ref
}
