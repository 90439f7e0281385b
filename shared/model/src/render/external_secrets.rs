//! The External Secrets Operator's SecretStore and ExternalSecret, as dynamic objects (CRDs).
//! Their apiVersion is `externalSecrets.apiVersion`; the operator's parts pass through as given.

use kube_core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{json, Map, Value};

use super::{labels, Context};
use crate::names;

pub const GROUP: &str = "external-secrets.io";

/// While the migration Job (a pre-install/pre-upgrade hook) runs, helm makes these objects as
/// hooks before it: the Job reads the Secret they make.
pub const HOOK: [(&str, &str); 3] = [
    ("helm.sh/hook", "pre-install,pre-upgrade"),
    ("helm.sh/hook-weight", "-10"),
    ("helm.sh/hook-delete-policy", "before-hook-creation"),
];

fn api_resource(api_version: &str, kind: &str, plural: &str) -> ApiResource {
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, version, kind), plural)
}

fn object(ctx: &Context, name: &str, kind: &str, plural: &str, spec: Value) -> DynamicObject {
    let resource = api_resource(&ctx.values.external_secrets.api_version, kind, plural);
    let mut object = DynamicObject::new(name, &resource).within(&ctx.release.namespace);
    object.metadata.labels = Some(labels::common(ctx, None));
    if ctx.values.migrations() {
        object.metadata.annotations = Some(HOOK.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    }
    object.data = json!({ "spec": spec });
    object
}

/// The SecretStore, named as the release, with the provider as given.
pub fn secret_store(ctx: &Context) -> Option<DynamicObject> {
    let es = &ctx.values.external_secrets;
    es.enabled.then(|| object(ctx, &ctx.fullname, "SecretStore", "secretstores", json!({ "provider": es.provider })))
}

/// The ExternalSecret `<fullname>-externalsecret`, making the Secret `secretName` (else the full
/// name), owned by it.
pub fn external_secret(ctx: &Context) -> Option<DynamicObject> {
    let es = &ctx.values.external_secrets;
    if !es.enabled {
        return None;
    }
    let mut target = Map::new();
    let secret = if es.secret_name.is_empty() { &ctx.fullname } else { &es.secret_name };
    target.insert("name".into(), json!(secret));
    target.insert("creationPolicy".into(), json!("Owner"));
    if !es.template.is_empty() {
        target.insert("template".into(), Value::Object(es.template.clone()));
    }
    let spec = json!({
        "refreshInterval": es.refresh_interval,
        "secretStoreRef": {"kind": "SecretStore", "name": ctx.fullname},
        "target": Value::Object(target),
        "data": es.data,
    });
    let name = names::truncate(&format!("{}-externalsecret", ctx.fullname), 63);
    Some(object(ctx, &name, "ExternalSecret", "externalsecrets", spec))
}
