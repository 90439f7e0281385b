//! The Ingress, for access from outside the cluster.

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    ServiceBackendPort,
};

use super::{non_empty, non_empty_vec, Context};

pub fn ingress(ctx: &Context) -> Option<Ingress> {
    let ingress = &ctx.values.ingress;
    if !ingress.enabled {
        return None;
    }
    let mut meta = ctx.meta(&ctx.fullname, None);
    meta.annotations = non_empty(&ingress.annotations);
    let rules = ingress
        .hosts
        .iter()
        .map(|host| IngressRule {
            host: Some(host.host.clone()),
            http: Some(HTTPIngressRuleValue {
                paths: host.paths.iter().map(|path| http_path(ctx, &path.path, &path.path_type)).collect(),
            }),
        })
        .collect();
    Some(Ingress {
        metadata: meta,
        spec: Some(IngressSpec {
            ingress_class_name: (!ingress.class_name.is_empty()).then(|| ingress.class_name.clone()),
            tls: non_empty_vec(&ingress.tls),
            rules: Some(rules),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    })
}

fn http_path(ctx: &Context, path: &str, path_type: &str) -> HTTPIngressPath {
    HTTPIngressPath {
        path: Some(path.into()),
        path_type: path_type.into(),
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: ctx.fullname.clone(),
                port: Some(ServiceBackendPort { number: Some(ctx.service_port), ..ServiceBackendPort::default() }),
            }),
            ..IngressBackend::default()
        },
    }
}
