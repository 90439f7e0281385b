//! Object-level rules: names, labels and annotations, and each kind's spec.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStrategy};
use k8s_openapi::api::autoscaling::v2::{HPAScalingRules, HorizontalPodAutoscaler};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::formats::{is_config_map_key, is_dns1035_label, is_path_segment_name, is_qualified_name, percent, quantity};
use super::pod::{label_selector, labels, one_of, pod_spec, port_or_name};
use super::{at, nth, Out};
use crate::names::is_dns1123_subdomain;
use crate::render::Object;

/// Annotations may not pass 256 KiB in all.
const MAX_ANNOTATIONS: usize = 256 * 1024;

pub fn check(object: &Object, out: &mut Out) {
    match object {
        Object::ServiceAccount(o) => metadata(&o.metadata, Name::Subdomain, out),
        Object::ConfigMap(o) => config_map(o, out),
        Object::Secret(o) => secret(o, out),
        Object::Role(o) => {
            metadata(&o.metadata, Name::PathSegment, out);
            rules(o.rules.as_deref().unwrap_or_default(), true, out);
        }
        Object::ClusterRole(o) => {
            metadata(&o.metadata, Name::PathSegment, out);
            rules(o.rules.as_deref().unwrap_or_default(), false, out);
        }
        Object::RoleBinding(o) => metadata(&o.metadata, Name::PathSegment, out),
        Object::ClusterRoleBinding(o) => metadata(&o.metadata, Name::PathSegment, out),
        Object::PersistentVolumeClaim(o) => persistent_volume_claim(o, out),
        Object::Service(o) => service(o, out),
        Object::Deployment(o) => deployment(o, out),
        Object::Ingress(o) => ingress(o, out),
        Object::NetworkPolicy(o) => network_policy(o, out),
        Object::PodDisruptionBudget(o) => pod_disruption_budget(o, out),
        Object::CronJob(o) => cron_job(o, out),
        Object::Job(o) => job(o, out),
        Object::ServiceMonitor(o) | Object::HttpRoute(o) | Object::SecretStore(o) | Object::ExternalSecret(o) => {
            metadata(&o.metadata, Name::Subdomain, out)
        }
        Object::HorizontalPodAutoscaler(o) => horizontal_pod_autoscaler(o, out),
        // Any kind: the API server's dry run judges them before the first write.
        Object::Extra(_) => {}
    }
}

#[derive(Clone, Copy)]
enum Name {
    Subdomain,
    /// Services: an RFC 1035 label.
    Label1035,
    /// RBAC objects.
    PathSegment,
    /// CronJobs: a subdomain of at most 52 characters (their Jobs get a suffix).
    CronJob,
}

fn metadata(meta: &ObjectMeta, rule: Name, out: &mut Out) {
    let name = meta.name.as_deref().unwrap_or("");
    let (ok, what) = match rule {
        Name::Subdomain => (is_dns1123_subdomain(name), "lowercase letters, digits, '-' and '.', at most 253"),
        Name::Label1035 => {
            (is_dns1035_label(name), "lowercase letters, digits and '-', starting with a letter, at most 63")
        }
        Name::PathSegment => (is_path_segment_name(name), "no '/' or '%'"),
        Name::CronJob => {
            (is_dns1123_subdomain(name) && name.len() <= 52, "lowercase letters, digits, '-' and '.', at most 52")
        }
    };
    if !ok {
        out.push(
            "metadata.name",
            format!("\"{name}\" is not a valid name ({what}; change the release name or fullnameOverride)"),
        );
    }
    labels(meta.labels.as_ref(), "metadata.labels", out);
    annotations(meta, "metadata.annotations", out);
}

fn annotations(meta: &ObjectMeta, path: &str, out: &mut Out) {
    let mut size = 0;
    for (key, value) in meta.annotations.iter().flatten() {
        size += key.len() + value.len();
        if !is_qualified_name(key) {
            out.push(at(path, key), "is not a valid annotation key (letters, digits, '-', '_' or '.', optionally after a DNS prefix and '/')");
        }
    }
    if size > MAX_ANNOTATIONS {
        out.push(path, format!("the annotations take {size} bytes, more than 256 KiB (shorten them)"));
    }
}

fn config_map(map: &ConfigMap, out: &mut Out) {
    metadata(&map.metadata, Name::Subdomain, out);
    for key in map.data.iter().flat_map(|d| d.keys()) {
        if !is_config_map_key(key) {
            out.push(at("data", key), "is not a valid key");
        }
    }
}

fn secret(secret: &Secret, out: &mut Out) {
    metadata(&secret.metadata, Name::Subdomain, out);
    let keys = secret.data.iter().flat_map(|d| d.keys()).chain(secret.string_data.iter().flat_map(|d| d.keys()));
    for key in keys {
        if !is_config_map_key(key) {
            out.push(at("data", key), "is not a valid key");
        }
    }
}

fn rules(rules: &[PolicyRule], namespaced: bool, out: &mut Out) {
    for (i, rule) in rules.iter().enumerate() {
        let here = nth("rules", i);
        if rule.verbs.is_empty() {
            out.push(at(&here, "verbs"), "no verb (give at least one, e.g. get)");
        }
        let urls = rule.non_resource_urls.as_ref().is_some_and(|u| !u.is_empty());
        let resources = rule.resources.as_ref().is_some_and(|r| !r.is_empty());
        if urls && namespaced {
            out.push(
                at(&here, "nonResourceURLs"),
                "a namespaced Role cannot grant non-resource URLs (use cluster_rbac)",
            );
        }
        if urls && resources {
            out.push(&here, "resources and nonResourceURLs are both set (split the rule in two)");
        }
        if !urls && !resources {
            out.push(&here, "no resources (give resources, or nonResourceURLs in cluster_rbac)");
        }
        if resources && rule.api_groups.as_ref().is_none_or(|g| g.is_empty()) {
            out.push(at(&here, "apiGroups"), "resource rules need at least one API group (\"\" is the core group)");
        }
    }
}

fn persistent_volume_claim(claim: &PersistentVolumeClaim, out: &mut Out) {
    metadata(&claim.metadata, Name::Subdomain, out);
    let Some(spec) = &claim.spec else { return };
    const MODES: [&str; 4] = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];
    for (i, mode) in spec.access_modes.iter().flatten().enumerate() {
        one_of(out, &nth("spec.accessModes", i), mode, &MODES);
    }
    let size = spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage"));
    match size.map(|q| (q, quantity(&q.0))) {
        None => out.push("spec.resources.requests.storage", "no size (set a quantity, e.g. 10Gi)"),
        Some((q, parsed)) if !parsed.is_some_and(|n| n > 0.0) => out.push(
            "spec.resources.requests.storage",
            format!("\"{}\" is not a size above zero (use a quantity, e.g. 10Gi)", q.0),
        ),
        _ => {}
    }
    if let Some(class) = spec.storage_class_name.as_deref().filter(|c| !c.is_empty() && !is_dns1123_subdomain(c)) {
        out.push("spec.storageClassName", format!("\"{class}\" is not a valid StorageClass name"));
    }
}

fn service(service: &Service, out: &mut Out) {
    metadata(&service.metadata, Name::Label1035, out);
    let Some(spec) = &service.spec else { return };
    if let Some(type_) = &spec.type_ {
        one_of(out, "spec.type", type_, &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]);
    }
    for (i, port) in spec.ports.iter().flatten().enumerate() {
        let here = nth("spec.ports", i);
        if !(1..=65535).contains(&port.port) {
            out.push(at(&here, "port"), format!("{} is not a port (use 1 to 65535)", port.port));
        }
        if let Some(target) = &port.target_port {
            port_or_name(target, &at(&here, "targetPort"), out);
        }
    }
    labels(spec.selector.as_ref(), "spec.selector", out);
}

fn deployment(deployment: &Deployment, out: &mut Out) {
    metadata(&deployment.metadata, Name::Subdomain, out);
    let Some(spec) = &deployment.spec else { return };
    if let Some(n) = spec.replicas.filter(|n| *n < 0) {
        out.push("spec.replicas", format!("{n} is negative (use 0 or more)"));
    }
    if let Some(strategy) = &spec.strategy {
        self::strategy(strategy, out);
    }
    for (field, value) in
        [("minReadySeconds", spec.min_ready_seconds), ("revisionHistoryLimit", spec.revision_history_limit)]
    {
        if let Some(n) = value.filter(|n| *n < 0) {
            out.push(at("spec", field), format!("{n} is negative (use 0 or more)"));
        }
    }
    label_selector(&spec.selector, "spec.selector", out);
    let template = &spec.template;
    if let Some(meta) = &template.metadata {
        labels(meta.labels.as_ref(), "spec.template.metadata.labels", out);
        annotations(meta, "spec.template.metadata.annotations", out);
        let pod_labels = meta.labels.clone().unwrap_or_default();
        let selects = spec.selector.match_labels.iter().flatten().all(|(k, v)| pod_labels.get(k) == Some(v));
        if !selects {
            out.push(
                "spec.template.metadata.labels",
                "do not match the selector (do not override the app.kubernetes.io labels in podLabels)",
            );
        }
    }
    if let Some(pod) = &template.spec {
        pod_spec(pod, "spec.template.spec", &["Always"], out);
    }
}

fn strategy(strategy: &DeploymentStrategy, out: &mut Out) {
    let type_ = strategy.type_.as_deref().unwrap_or("RollingUpdate");
    one_of(out, "spec.strategy.type", type_, &["Recreate", "RollingUpdate"]);
    let Some(rolling) = &strategy.rolling_update else { return };
    if type_ == "Recreate" {
        out.push(
            "spec.strategy.rollingUpdate",
            "may not be set with type Recreate (remove rollingUpdate, or use type RollingUpdate)",
        );
        return;
    }
    let amount = |field: &str, value: &Option<IntOrString>, out: &mut Out| -> i64 {
        let path = at("spec.strategy.rollingUpdate", field);
        match value {
            None => 1,
            Some(IntOrString::Int(n)) if *n < 0 => {
                out.push(&path, format!("{n} is negative (use 0 or more, or a percentage such as 25%)"));
                1
            }
            Some(IntOrString::Int(n)) => i64::from(*n),
            Some(IntOrString::String(s)) => match percent(s) {
                Some(p) if (0..=100).contains(&p) || (field == "maxSurge" && p >= 0) => p,
                _ => {
                    out.push(&path, format!("\"{s}\" is not a number or a percentage (e.g. 1 or 25%)"));
                    1
                }
            },
        }
    };
    let surge = amount("maxSurge", &rolling.max_surge, out);
    let unavailable = amount("maxUnavailable", &rolling.max_unavailable, out);
    if surge == 0 && unavailable == 0 {
        out.push(
            "spec.strategy.rollingUpdate.maxUnavailable",
            "may not be 0 when maxSurge is 0 (let one of them be above 0)",
        );
    }
}

fn ingress(ingress: &Ingress, out: &mut Out) {
    metadata(&ingress.metadata, Name::Subdomain, out);
    let Some(spec) = &ingress.spec else { return };
    if let Some(class) = spec.ingress_class_name.as_deref().filter(|c| !is_dns1123_subdomain(c)) {
        out.push("spec.ingressClassName", format!("\"{class}\" is not a valid IngressClass name"));
    }
    for (i, rule) in spec.rules.iter().flatten().enumerate() {
        let here = nth("spec.rules", i);
        if let Some(host) = rule.host.as_deref().filter(|h| !h.is_empty()) {
            if host.parse::<std::net::IpAddr>().is_ok()
                || !is_dns1123_subdomain(host.strip_prefix("*.").unwrap_or(host))
            {
                out.push(
                    at(&here, "host"),
                    format!("\"{host}\" is not a DNS host name (e.g. mlflow.example.com; not an IP address)"),
                );
            }
        }
        let paths = rule.http.as_ref().map(|h| h.paths.as_slice()).unwrap_or_default();
        for (j, path) in paths.iter().enumerate() {
            let item = nth(&at(&here, "http.paths"), j);
            one_of(out, &at(&item, "pathType"), &path.path_type, &["Exact", "Prefix", "ImplementationSpecific"]);
            let text = path.path.as_deref().unwrap_or("");
            if path.path_type != "ImplementationSpecific" && !text.starts_with('/') {
                out.push(at(&item, "path"), format!("\"{text}\" must start with / (e.g. /mlflow)"));
            } else if (path.path_type == "Prefix" || path.path_type == "Exact")
                && (text.contains("//") || text.split('/').any(|s| s == "." || s == ".."))
            {
                out.push(at(&item, "path"), format!("\"{text}\" may not hold '//', '/./' or '/../'"));
            }
        }
    }
    for (i, tls) in spec.tls.iter().flatten().enumerate() {
        for (j, host) in tls.hosts.iter().flatten().enumerate() {
            if !is_dns1123_subdomain(host.strip_prefix("*.").unwrap_or(host)) {
                out.push(nth(&at(&nth("spec.tls", i), "hosts"), j), format!("\"{host}\" is not a DNS host name"));
            }
        }
        if let Some(name) = tls.secret_name.as_deref().filter(|n| !n.is_empty() && !is_dns1123_subdomain(n)) {
            out.push(at(&nth("spec.tls", i), "secretName"), format!("\"{name}\" is not a valid Secret name"));
        }
    }
}

fn network_policy(policy: &NetworkPolicy, out: &mut Out) {
    metadata(&policy.metadata, Name::Subdomain, out);
    let Some(spec) = &policy.spec else { return };
    for (i, rule) in spec.egress.iter().flatten().enumerate() {
        let here = nth("spec.egress", i);
        for (j, port) in rule.ports.iter().flatten().enumerate() {
            let item = nth(&at(&here, "ports"), j);
            if let Some(protocol) = &port.protocol {
                one_of(out, &at(&item, "protocol"), protocol, &["TCP", "UDP", "SCTP"]);
            }
            if let Some(number) = &port.port {
                port_or_name(number, &at(&item, "port"), out);
            }
            if let Some(end) = port.end_port {
                match &port.port {
                    Some(IntOrString::Int(start)) if end >= *start && end <= 65535 => {}
                    Some(IntOrString::Int(_)) => {
                        out.push(at(&item, "endPort"), format!("{end} must be at least port and at most 65535"))
                    }
                    _ => out.push(at(&item, "endPort"), "needs a numeric port (set port to a number)"),
                }
            }
        }
        for (j, peer) in rule.to.iter().flatten().enumerate() {
            let item = nth(&at(&here, "to"), j);
            if let Some(selector) = &peer.pod_selector {
                label_selector(selector, &at(&item, "podSelector"), out);
            }
            if let Some(selector) = &peer.namespace_selector {
                label_selector(selector, &at(&item, "namespaceSelector"), out);
            }
            if let Some(block) = &peer.ip_block {
                if peer.pod_selector.is_some() || peer.namespace_selector.is_some() {
                    out.push(&item, "ipBlock may not be combined with a selector (make two peers)");
                }
                if !is_cidr(&block.cidr) {
                    out.push(at(&item, "ipBlock.cidr"), format!("\"{}\" is not a CIDR (e.g. 10.0.0.0/8)", block.cidr));
                }
                for (k, except) in block.except.iter().flatten().enumerate() {
                    if !is_cidr(except) {
                        out.push(
                            nth(&at(&item, "ipBlock.except"), k),
                            format!("\"{except}\" is not a CIDR (e.g. 10.1.0.0/16)"),
                        );
                    }
                }
            }
        }
    }
}

fn is_cidr(text: &str) -> bool {
    let Some((ip, bits)) = text.split_once('/') else { return false };
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else { return false };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    bits.parse::<u8>().is_ok_and(|b| b <= max) && !bits.starts_with('+')
}

fn cron_job(job: &CronJob, out: &mut Out) {
    metadata(&job.metadata, Name::CronJob, out);
    let Some(spec) = &job.spec else { return };
    let Some(job_spec) = &spec.job_template.spec else { return };
    if let Some(pod) = &job_spec.template.spec {
        pod_spec(pod, "spec.jobTemplate.spec.template.spec", &["OnFailure", "Never"], out);
    }
}

fn job(job: &Job, out: &mut Out) {
    metadata(&job.metadata, Name::Subdomain, out);
    if let Some(pod) = job.spec.as_ref().and_then(|s| s.template.spec.as_ref()) {
        pod_spec(pod, "spec.template.spec", &["OnFailure", "Never"], out);
    }
}

/// minAvailable / maxUnavailable: a count of 0 or more or a percentage of 0 to 100, not both.
fn pod_disruption_budget(budget: &PodDisruptionBudget, out: &mut Out) {
    metadata(&budget.metadata, Name::Subdomain, out);
    let Some(spec) = &budget.spec else { return };
    for (field, value) in [("minAvailable", &spec.min_available), ("maxUnavailable", &spec.max_unavailable)] {
        let path = at("spec", field);
        match value {
            Some(IntOrString::Int(n)) if *n < 0 => {
                out.push(&path, format!("{n} is negative (use 0 or more, or a percentage such as 50%)"))
            }
            Some(IntOrString::String(s)) if !percent(s).is_some_and(|p| (0..=100).contains(&p)) => {
                out.push(&path, format!("\"{s}\" is not a number or a percentage (e.g. 1 or 50%)"))
            }
            _ => {}
        }
    }
    if spec.min_available.is_some() && spec.max_unavailable.is_some() {
        out.push("spec.maxUnavailable", "may not be set with minAvailable (keep one of them)");
    }
}

fn horizontal_pod_autoscaler(hpa: &HorizontalPodAutoscaler, out: &mut Out) {
    metadata(&hpa.metadata, Name::Subdomain, out);
    let Some(behavior) = hpa.spec.as_ref().and_then(|spec| spec.behavior.as_ref()) else { return };
    for (name, rules) in [("scaleUp", &behavior.scale_up), ("scaleDown", &behavior.scale_down)] {
        if let Some(rules) = rules {
            scaling_rules(rules, &at("spec.behavior", name), out);
        }
    }
}

/// The API server's checks of one direction's scaling rules (and their limits: an hour's window,
/// half an hour's period).
fn scaling_rules(rules: &HPAScalingRules, path: &str, out: &mut Out) {
    if let Some(seconds) = rules.stabilization_window_seconds.filter(|s| !(0..=3600).contains(s)) {
        out.push(at(path, "stabilizationWindowSeconds"), format!("{seconds} is not between 0 and 3600"));
    }
    if let Some(select) = rules.select_policy.as_deref().filter(|s| !["Disabled", "Max", "Min"].contains(s)) {
        out.push(at(path, "selectPolicy"), format!("\"{select}\" is not one of Disabled, Max, Min"));
    }
    if let Some(tolerance) = &rules.tolerance {
        match quantity(&tolerance.0) {
            None => {
                out.push(at(path, "tolerance"), format!("\"{}\" is not a quantity (e.g. 0.1 or 100m)", tolerance.0))
            }
            Some(t) if t < 0.0 => {
                out.push(at(path, "tolerance"), format!("{} is negative (use 0 or more)", tolerance.0))
            }
            Some(_) => {}
        }
    }
    let Some(policies) = &rules.policies else { return };
    if policies.is_empty() {
        out.push(at(path, "policies"), "is empty (give at least one policy, or leave policies out for the defaults)");
    }
    for (i, policy) in policies.iter().enumerate() {
        let path = nth(&at(path, "policies"), i);
        if !["Pods", "Percent"].contains(&policy.type_.as_str()) {
            out.push(at(&path, "type"), format!("\"{}\" is not one of Pods, Percent", policy.type_));
        }
        if policy.value <= 0 {
            out.push(at(&path, "value"), format!("{} is not greater than 0", policy.value));
        }
        if !(1..=1800).contains(&policy.period_seconds) {
            out.push(at(&path, "periodSeconds"), format!("{} is not between 1 and 1800", policy.period_seconds));
        }
    }
}
