//! The Gateway API HTTPRoute to the Service, as a dynamic object (it is a CRD).

use kube_core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{json, Map, Value};

use super::{labels, non_empty, Context};

pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
        "httproutes",
    )
}

fn objects(list: &[Map<String, Value>]) -> Value {
    Value::Array(list.iter().cloned().map(Value::Object).collect())
}

pub fn http_route(ctx: &Context) -> Option<DynamicObject> {
    let route = &ctx.values.http_route;
    if !route.enabled {
        return None;
    }
    let mut rule = Map::new();
    let matches = if route.matches.is_empty() {
        let prefix = if ctx.prefix().is_empty() { "/" } else { ctx.prefix() };
        json!([{"path": {"type": "PathPrefix", "value": prefix}}])
    } else {
        objects(&route.matches)
    };
    rule.insert("matches".into(), matches);
    if !route.filters.is_empty() {
        rule.insert("filters".into(), objects(&route.filters));
    }
    rule.insert("backendRefs".into(), json!([{"name": ctx.fullname, "port": ctx.service_port}]));
    let mut spec = Map::new();
    spec.insert("parentRefs".into(), objects(&route.parent_refs));
    if !route.hostnames.is_empty() {
        spec.insert("hostnames".into(), json!(route.hostnames));
    }
    spec.insert("rules".into(), json!([Value::Object(rule)]));
    let mut object = DynamicObject::new(&ctx.fullname, &api_resource()).within(&ctx.release.namespace);
    object.metadata.labels = Some(labels::common(ctx, None));
    object.metadata.annotations = non_empty(&route.annotations);
    object.data = json!({"spec": Value::Object(spec)});
    Some(object)
}
