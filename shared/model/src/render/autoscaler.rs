//! The HorizontalPodAutoscaler of the server Deployment (autoscaling/v2): CPU and memory use
//! against the container's requests; its behavior as given.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};

use super::Context;
use crate::identity::SERVER_COMPONENT;

pub fn horizontal_pod_autoscaler(ctx: &Context) -> Option<HorizontalPodAutoscaler> {
    let scaling = &ctx.values.autoscaling;
    if !scaling.enabled {
        return None;
    }
    let targets =
        [("cpu", scaling.target_cpu_utilization_percentage), ("memory", scaling.target_memory_utilization_percentage)];
    let metrics: Vec<MetricSpec> =
        targets.into_iter().filter_map(|(resource, target)| Some(utilization(resource, target?))).collect();
    let behavior = (!scaling.behavior.is_empty())
        .then(|| serde_json::from_value(scaling.behavior.clone().into()).expect("validation parsed the behavior"));
    Some(HorizontalPodAutoscaler {
        metadata: ctx.meta(&ctx.fullname, Some(SERVER_COMPONENT)),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: ctx.fullname.clone(),
            },
            min_replicas: Some(scaling.min_replicas),
            max_replicas: scaling.max_replicas,
            metrics: Some(metrics),
            behavior,
        }),
        ..HorizontalPodAutoscaler::default()
    })
}

fn utilization(resource: &str, percent: i32) -> MetricSpec {
    MetricSpec {
        type_: "Resource".into(),
        resource: Some(ResourceMetricSource {
            name: resource.into(),
            target: MetricTarget {
                type_: "Utilization".into(),
                average_utilization: Some(percent),
                ..MetricTarget::default()
            },
        }),
        ..MetricSpec::default()
    }
}
