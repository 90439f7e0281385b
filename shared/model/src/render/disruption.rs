//! The PodDisruptionBudget of the server pods: only with more than one replica (with the
//! autoscaler, more than its minimum), where a drain can keep some serving (with one pod it could
//! only block the drain).

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{labels, Context};
use crate::identity::SERVER_COMPONENT;

pub fn pod_disruption_budget(ctx: &Context) -> Option<PodDisruptionBudget> {
    let values = ctx.values;
    let budget = &values.pod_disruption_budget;
    if !budget.enabled || values.fewest_replicas() <= 1 {
        return None;
    }
    let max_unavailable = match (&budget.min_available, &budget.max_unavailable) {
        (None, None) => Some(IntOrString::Int(1)),
        (_, max) => max.clone(),
    };
    Some(PodDisruptionBudget {
        metadata: ctx.meta(&ctx.fullname, Some(SERVER_COMPONENT)),
        spec: Some(PodDisruptionBudgetSpec {
            selector: Some(LabelSelector {
                match_labels: Some(labels::server_selector(ctx)),
                ..LabelSelector::default()
            }),
            min_available: budget.min_available.clone(),
            max_unavailable,
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })
}
