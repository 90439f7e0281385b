//! Which values key made a field of a rendered object: `spec.template.spec.containers[0]
//! .volumeMounts[4].mountPath` of the Deployment is `extraVolumeMounts[1].mountPath` when the
//! chart's own mounts are three.

use k8s_openapi::api::core::v1::{Container, PodSpec};

use crate::render::Object;
use crate::values::Values;

/// The values path behind `field` of `object`, when the values made it.
pub fn values_path(object: &Object, field: &str, values: &Values) -> Option<String> {
    match object {
        Object::Deployment(d) => {
            let spec = d.spec.as_ref()?;
            if field == "spec.replicas" {
                return Some("replicaCount".into());
            }
            if field == "spec.revisionHistoryLimit" {
                return Some("revisionHistoryLimit".into());
            }
            if let Some(rest) = field.strip_prefix("spec.strategy") {
                return Some(format!(
                    "deploymentStrategy{}",
                    rest.strip_prefix(".type").map(|r| format!(".type{r}")).unwrap_or_else(|| rest.to_string())
                ));
            }
            if let Some(key) = field.strip_prefix("spec.template.metadata.labels.") {
                return Some(format!("podLabels.{key}"));
            }
            if field == "spec.template.metadata.labels" {
                return Some("podLabels".into());
            }
            if let Some(key) = field.strip_prefix("spec.template.metadata.annotations") {
                return Some(format!("podAnnotations{key}"));
            }
            let rest = field.strip_prefix("spec.template.spec.")?;
            pod(spec.template.spec.as_ref()?, rest, values, false)
        }
        Object::CronJob(job) => {
            if field == "spec.schedule" {
                return Some("garbageCollection.schedule".into());
            }
            let rest = field.strip_prefix("spec.jobTemplate.spec.template.spec.")?;
            let pod_spec = job.spec.as_ref()?.job_template.spec.as_ref()?.template.spec.as_ref()?;
            pod(pod_spec, rest, values, true)
        }
        Object::Job(job) => {
            let rest = field.strip_prefix("spec.template.spec.")?;
            pod(job.spec.as_ref()?.template.spec.as_ref()?, rest, values, false)
        }
        Object::Service(_) => match field {
            "spec.type" => Some("service.type".into()),
            "metadata.name" => Some("fullnameOverride".into()),
            "spec.ports[0].port" if values.service.port.is_some() => Some("service.port".into()),
            f if f.starts_with("spec.ports[0].") => Some("server.value_options.port".into()),
            f => f.strip_prefix("metadata.annotations").map(|k| format!("service.annotations{k}")),
        },
        Object::PersistentVolumeClaim(_) => match field {
            f if f.starts_with("spec.resources.requests") => Some("storage.size".into()),
            f if f.starts_with("spec.accessModes") => Some("storage.accessMode".into()),
            "spec.storageClassName" => Some("storage.storageClassName".into()),
            _ => None,
        },
        Object::Ingress(_) => ingress(field),
        Object::PodDisruptionBudget(_) => field.strip_prefix("spec.").map(|f| format!("podDisruptionBudget.{f}")),
        Object::NetworkPolicy(p) => {
            let rules = p.spec.as_ref()?.egress.as_ref()?.len();
            let own = rules.checked_sub(values.network_policy.additional_egress_rules.len())?;
            let (i, rest) = item(field, "spec.egress")?;
            (i >= own).then(|| format!("networkPolicy.additionalEgressRules[{}]{rest}", i - own))
        }
        Object::Role(_) => field.strip_prefix("rules").map(|r| format!("namespace_rbac.extraRules{r}")),
        Object::ClusterRole(_) => field.strip_prefix("rules").map(|r| format!("cluster_rbac.extraRules{r}")),
        Object::ServiceAccount(_) => match field {
            "metadata.name" => Some("serviceAccount.name".into()),
            f => f.strip_prefix("metadata.annotations").map(|k| format!("serviceAccount.annotations{k}")),
        },
        // A map is the object as given; a template's object is only named by its entry.
        Object::Extra(extra) => Some(match extra_index(&extra.path) {
            Some(i) if values.extra_objects.get(i).is_some_and(|v| v.is_object()) => format!("{}.{field}", extra.path),
            _ => extra.path.clone(),
        }),
        _ => None,
    }
}

/// `extraObjects[3]` → 3.
fn extra_index(path: &str) -> Option<usize> {
    path.strip_prefix("extraObjects[")?.strip_suffix(']')?.parse().ok()
}

/// `("list[3].rest", "list")` → `(3, ".rest")`.
fn item<'a>(field: &'a str, list: &str) -> Option<(usize, &'a str)> {
    let rest = field.strip_prefix(list)?.strip_prefix('[')?;
    let (number, rest) = rest.split_once(']')?;
    Some((number.parse().ok()?, rest))
}

/// The `i`th of `total` entries, the last `extra` of them the user's: its index among those.
fn users(i: usize, total: usize, extra: usize) -> Option<usize> {
    let own = total.checked_sub(extra)?;
    i.checked_sub(own)
}

fn pod(spec: &PodSpec, field: &str, values: &Values, gc: bool) -> Option<String> {
    let volumes_key = if gc { "garbageCollection.extraVolumes" } else { "extraVolumes" };
    let extra_volumes = if gc { values.garbage_collection.extra_volumes.len() } else { values.extra_volumes.len() };
    if let Some((i, rest)) = item(field, "volumes") {
        let volumes = spec.volumes.as_ref().map_or(0, Vec::len);
        return users(i, volumes, extra_volumes).map(|j| format!("{volumes_key}[{j}]{rest}"));
    }
    if let Some((i, rest)) = item(field, "containers") {
        if i == 0 {
            return container(&spec.containers[0], rest.strip_prefix('.')?, values, gc);
        }
        return (!gc).then(|| format!("extraContainers[{}]{rest}", i - 1));
    }
    if let Some(rest) = field.strip_prefix("initContainers") {
        return (!gc).then(|| format!("extraInitContainers{rest}"));
    }
    for (object_key, values_key) in [
        ("securityContext", "podSecurityContext"),
        ("tolerations", "tolerations"),
        ("affinity", "affinity"),
        ("nodeSelector", "nodeSelector"),
        ("imagePullSecrets", "imagePullSecrets"),
        ("serviceAccountName", "serviceAccount.name"),
        ("priorityClassName", "priorityClassName"),
        ("topologySpreadConstraints", "topologySpreadConstraints"),
    ] {
        if let Some(rest) = field.strip_prefix(object_key) {
            return Some(format!("{values_key}{rest}"));
        }
    }
    None
}

fn container(c: &Container, field: &str, values: &Values, gc: bool) -> Option<String> {
    if let Some((i, rest)) = item(field, "env") {
        let env = c.env.as_deref().unwrap_or_default();
        if let Some(j) = users(i, env.len(), values.env.len()) {
            return Some(format!("env[{j}]{rest}"));
        }
        let from = rest.strip_prefix(".valueFrom").map(|r| format!("From{r}"))?;
        return match env.get(i)?.name.as_str() {
            "MLFLOW_BACKEND_STORE_URI" => Some(format!("mlflow.backendStoreUri{from}")),
            "MLFLOW_REGISTRY_STORE_URI" => Some(format!("mlflow.registryStoreUri{from}")),
            "MLFLOW_AUTH_ADMIN_PASSWORD" | "MLFLOW_TRACKING_PASSWORD" => Some(format!("auth.adminPassword{from}")),
            _ => None,
        };
    }
    if let Some((i, rest)) = item(field, "volumeMounts") {
        let mounts = c.volume_mounts.as_deref().unwrap_or_default();
        let extra =
            if gc { values.garbage_collection.extra_volume_mounts.len() } else { values.extra_volume_mounts.len() };
        let key = if gc { "garbageCollection.extraVolumeMounts" } else { "extraVolumeMounts" };
        if let Some(j) = users(i, mounts.len(), extra) {
            return Some(format!("{key}[{j}]{rest}"));
        }
        return (mounts.get(i)?.name == "data").then(|| "storage.mountPath".into());
    }
    let resources = if gc { "garbageCollection.resources" } else { "resources" };
    for (object_key, values_key) in [
        ("envFrom", "envFrom"),
        ("resources", resources),
        ("securityContext", "securityContext"),
        ("livenessProbe", "probes.liveness"),
        ("readinessProbe", "probes.readiness"),
        ("startupProbe", "probes.startup"),
        ("imagePullPolicy", "image.pullPolicy"),
        ("image", "image.repository"),
        ("ports", "server.value_options.port"),
    ] {
        if let Some(rest) = field.strip_prefix(object_key) {
            let kept = !(values_key.starts_with("image.")
                || values_key.starts_with("server.")
                || rest.starts_with(".httpGet"));
            let rest = if kept { rest } else { "" };
            return Some(format!("{values_key}{rest}"));
        }
    }
    None
}

fn ingress(field: &str) -> Option<String> {
    if field == "spec.ingressClassName" {
        return Some("ingress.className".into());
    }
    if let Some(key) = field.strip_prefix("metadata.annotations") {
        return Some(format!("ingress.annotations{key}"));
    }
    if let Some(rest) = field.strip_prefix("spec.tls") {
        return Some(format!("ingress.tls{rest}"));
    }
    let (i, rest) = item(field, "spec.rules")?;
    if rest == ".host" {
        return Some(format!("ingress.hosts[{i}].host"));
    }
    let (j, rest) = item(rest, ".http.paths")?;
    Some(format!("ingress.hosts[{i}].paths[{j}]{rest}"))
}
