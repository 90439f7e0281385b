//! The Service in front of the server pods.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{labels, non_empty, Context};
use crate::identity::SERVER_COMPONENT;

pub fn service(ctx: &Context) -> Service {
    let mut meta = ctx.meta(&ctx.fullname, Some(SERVER_COMPONENT));
    meta.annotations = non_empty(&ctx.values.service.annotations);
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            type_: Some(ctx.values.service.type_.clone()),
            ports: Some(vec![ServicePort {
                name: Some(ctx.port_name().into()),
                port: ctx.service_port,
                target_port: Some(IntOrString::String(ctx.port_name().into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            selector: Some(labels::server_selector(ctx)),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
