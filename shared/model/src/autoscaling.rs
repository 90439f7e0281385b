//! What a HorizontalPodAutoscaler of the server needs: a target it can measure (utilization is
//! against the container's requests), bounds in order, pods that may run on several nodes, and a
//! PodDisruptionBudget that still lets a drain evict a pod at the minimum. (Stores that serve one
//! pod only are refused with the other replica checks, in `local_paths`.)

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerBehavior;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::problem::{Problem, Problems};
use crate::values::Values;

pub fn check(values: &Values, out: &mut Problems) {
    let scaling = &values.autoscaling;
    if !scaling.enabled {
        return;
    }
    if scaling.min_replicas > scaling.max_replicas {
        out.push(Problem::at(
            "autoscaling.minReplicas",
            format!(
                "{} is above autoscaling.maxReplicas {} (lower it, or raise maxReplicas)",
                scaling.min_replicas, scaling.max_replicas
            ),
        ));
    }
    targets(values, out);
    let storage = &values.storage;
    if storage.enabled && storage.access_mode.starts_with("ReadWriteOnce") {
        out.push(Problem::at(
            "autoscaling.enabled",
            format!("the server pods would share the {} volume of storage, which pods on other nodes cannot mount (storage.accessMode: ReadWriteMany, or autoscaling.enabled: false)", storage.access_mode),
        ));
    }
    disruption_floor(values, out);
    behavior(values, out);
}

fn targets(values: &Values, out: &mut Problems) {
    let scaling = &values.autoscaling;
    let (cpu, memory) = (scaling.target_cpu_utilization_percentage, scaling.target_memory_utilization_percentage);
    if cpu.is_none() && memory.is_none() {
        out.push(Problem::at(
            "autoscaling.targetCPUUtilizationPercentage",
            "the autoscaler needs a target (set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage)",
        ));
    }
    let requests = values.resources.as_ref().and_then(|r| r.requests.as_ref());
    for (key, resource, target) in
        [("targetCPUUtilizationPercentage", "cpu", cpu), ("targetMemoryUtilizationPercentage", "memory", memory)]
    {
        if target.is_some() && !requests.is_some_and(|r| r.contains_key(resource)) {
            out.push(Problem::at(
                format!("autoscaling.{key}"),
                format!("utilization is measured against resources.requests.{resource}, which is not set (set it, or {key}: null)"),
            ));
        }
    }
}

/// At the minimum, the budget must allow one eviction, or node drains wait forever.
fn disruption_floor(values: &Values, out: &mut Problems) {
    let budget = &values.pod_disruption_budget;
    let min = values.autoscaling.min_replicas;
    if !budget.enabled || min <= 1 {
        return;
    }
    let scaled = |given: &IntOrString| match given {
        IntOrString::Int(n) => Some(*n),
        IntOrString::String(text) => {
            let percent: f64 = text.strip_suffix('%')?.parse().ok()?;
            Some((percent * f64::from(min) / 100.0).ceil() as i32)
        }
    };
    let shown = |given: &IntOrString| match given {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(text) => format!("\"{text}\""),
    };
    let (allowed, field, given) = match (&budget.min_available, &budget.max_unavailable) {
        (Some(floor), _) => (scaled(floor).map(|f| min - f), "minAvailable", floor),
        (None, Some(most)) => (scaled(most), "maxUnavailable", most),
        (None, None) => return,
    };
    if allowed.is_some_and(|n| n < 1) {
        let fix = match field {
            "minAvailable" => "raise autoscaling.minReplicas, or lower podDisruptionBudget.minAvailable",
            _ => "set podDisruptionBudget.maxUnavailable to 1 or more",
        };
        out.push(Problem::at(
            "autoscaling.minReplicas",
            format!(
                "at {min} replicas the PodDisruptionBudget ({field}: {}) lets no pod be evicted, so node drains would wait forever ({fix})",
                shown(given)
            ),
        ));
    }
}

/// Passed through as given: what the API type would not keep is refused, not dropped.
fn behavior(values: &Values, out: &mut Problems) {
    let given = Value::Object(values.autoscaling.behavior.clone());
    if values.autoscaling.behavior.is_empty() {
        return;
    }
    match serde_json::from_value::<HorizontalPodAutoscalerBehavior>(given.clone()) {
        Ok(parsed) => {
            let kept = serde_json::to_value(parsed).expect("serializes");
            crate::values::dropped_keys(&given, &kept, "autoscaling.behavior", out);
        }
        Err(err) => {
            out.push(Problem::at("autoscaling.behavior", format!("not a HorizontalPodAutoscalerBehavior: {err}")))
        }
    }
}
