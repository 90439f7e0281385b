//! Pod specs: containers, env, mounts, volumes, probes, resources, security contexts,
//! tolerations, affinity.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Affinity, Container, EnvFromSource, EnvVar, NodeSelectorTerm, PodAffinityTerm, PodSecurityContext, PodSpec, Probe,
    ResourceRequirements, SecurityContext, Toleration, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::formats::{
    is_config_map_key, is_descending_path, is_env_name, is_label_value, is_port_name, is_qualified_name, quantity,
};
use super::{at, nth, Out};
use crate::names::{is_dns1123_label, is_dns1123_subdomain};

const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];

pub(crate) fn one_of(out: &mut Out, path: &str, value: &str, allowed: &[&str]) {
    if !allowed.contains(&value) {
        out.push(path, format!("\"{value}\" is not one of {} (use one of them)", allowed.join(", ")));
    }
}

fn non_negative(out: &mut Out, path: &str, value: Option<i64>) {
    if let Some(n) = value.filter(|n| *n < 0) {
        out.push(path, format!("{n} is negative (use 0 or more)"));
    }
}

/// The pod spec of a workload; `restart_policies` are the ones its controller allows.
pub fn pod_spec(spec: &PodSpec, path: &str, restart_policies: &[&str], out: &mut Out) {
    if let Some(policy) = &spec.restart_policy {
        one_of(out, &at(path, "restartPolicy"), policy, restart_policies);
    }
    let volumes = volumes(spec.volumes.as_deref().unwrap_or_default(), &at(path, "volumes"), out);
    let mut names = BTreeSet::new();
    if spec.containers.is_empty() {
        out.push(at(path, "containers"), "no container (a pod needs at least one)");
    }
    for (i, c) in spec.containers.iter().enumerate() {
        container(c, &nth(&at(path, "containers"), i), &volumes, &mut names, false, out);
    }
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        container(c, &nth(&at(path, "initContainers"), i), &volumes, &mut names, true, out);
    }
    if let Some(ctx) = &spec.security_context {
        pod_security_context(ctx, &at(path, "securityContext"), out);
    }
    for (i, toleration) in spec.tolerations.iter().flatten().enumerate() {
        self::toleration(toleration, &nth(&at(path, "tolerations"), i), out);
    }
    if let Some(affinity) = &spec.affinity {
        self::affinity(affinity, &at(path, "affinity"), out);
    }
    labels(spec.node_selector.as_ref(), &at(path, "nodeSelector"), out);
    for (i, secret) in spec.image_pull_secrets.iter().flatten().enumerate() {
        if secret.name.is_empty() {
            out.push(
                at(&nth(&at(path, "imagePullSecrets"), i), "name"),
                "no name (name the Secret with the registry credentials)",
            );
        }
    }
    if let Some(class) = spec.priority_class_name.as_deref().filter(|n| !is_dns1123_subdomain(n)) {
        out.push(
            at(path, "priorityClassName"),
            format!("\"{class}\" is not a valid PriorityClass name (lowercase letters, digits, '-' and '.')"),
        );
    }
    for (i, constraint) in spec.topology_spread_constraints.iter().flatten().enumerate() {
        topology_spread_constraint(constraint, &nth(&at(path, "topologySpreadConstraints"), i), out);
    }
    if let Some(sa) = spec.service_account_name.as_deref().filter(|n| !is_dns1123_subdomain(n)) {
        out.push(
            at(path, "serviceAccountName"),
            format!("\"{sa}\" is not a valid ServiceAccount name (lowercase letters, digits, '-' and '.')"),
        );
    }
}

/// Label keys and values (node selectors, pod labels).
pub fn labels(map: Option<&BTreeMap<String, String>>, path: &str, out: &mut Out) {
    for (key, value) in map.into_iter().flatten() {
        if !is_qualified_name(key) {
            out.push(at(path, key), "is not a valid label key (at most 63 letters, digits, '-', '_' or '.', optionally after a DNS prefix and '/')");
        } else if !is_label_value(value) {
            out.push(at(path, key), format!("\"{value}\" is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"));
        }
    }
}

/// Checks the volumes; returns their names.
fn volumes(volumes: &[Volume], path: &str, out: &mut Out) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, volume) in volumes.iter().enumerate() {
        let here = nth(path, i);
        if !is_dns1123_label(&volume.name) {
            out.push(
                at(&here, "name"),
                format!(
                    "\"{}\" is not a valid volume name (lowercase letters, digits and '-', at most 63)",
                    volume.name
                ),
            );
        } else if !names.insert(volume.name.clone()) {
            out.push(at(&here, "name"), format!("volume \"{}\" is defined twice (rename one)", volume.name));
        }
        volume_source(volume, &here, out);
    }
    names
}

fn volume_source(volume: &Volume, path: &str, out: &mut Out) {
    let json = serde_json::to_value(volume).unwrap_or_default();
    let sources: Vec<&String> =
        json.as_object().into_iter().flatten().map(|(k, _)| k).filter(|k| *k != "name").collect();
    match sources.len() {
        0 => out.push(path, "no volume type (give one source, e.g. emptyDir: {}, secret: {secretName: ...} or persistentVolumeClaim: {claimName: ...})"),
        1 => {}
        _ => out.push(path, format!("more than one volume type ({}; keep one)", sources.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))),
    }
    let mode = |out: &mut Out, field: &str, mode: Option<i32>| {
        if mode.is_some_and(|m| !(0..=0o777).contains(&m)) {
            out.push(
                at(path, field),
                format!("{} is not a file mode (use 0 to 0777, e.g. 0440 or 288)", mode.unwrap_or_default()),
            );
        }
    };
    let template = volume.ephemeral.as_ref().and_then(|e| e.volume_claim_template.as_ref());
    let class = template.and_then(|t| t.spec.storage_class_name.as_deref());
    if let Some(class) = class.filter(|c| !c.is_empty() && !is_dns1123_subdomain(c)) {
        out.push(
            at(path, "ephemeral.volumeClaimTemplate.spec.storageClassName"),
            format!("\"{class}\" is not a valid StorageClass name"),
        );
    }
    if let Some(secret) = &volume.secret {
        match secret.secret_name.as_deref() {
            None | Some("") => out.push(at(path, "secret.secretName"), "no Secret named (set secretName)"),
            Some(name) if !is_dns1123_subdomain(name) => {
                out.push(at(path, "secret.secretName"), format!("\"{name}\" is not a valid Secret name"))
            }
            _ => {}
        }
        mode(out, "secret.defaultMode", secret.default_mode);
        key_paths(secret.items.iter().flatten().map(|k| (&k.key, &k.path)), &at(path, "secret.items"), out);
    }
    if let Some(map) = &volume.config_map {
        if map.name.is_empty() {
            out.push(at(path, "configMap.name"), "no ConfigMap named (set name)");
        } else if !is_dns1123_subdomain(&map.name) {
            out.push(at(path, "configMap.name"), format!("\"{}\" is not a valid ConfigMap name", map.name));
        }
        mode(out, "configMap.defaultMode", map.default_mode);
        key_paths(map.items.iter().flatten().map(|k| (&k.key, &k.path)), &at(path, "configMap.items"), out);
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        if !is_dns1123_subdomain(&claim.claim_name) {
            out.push(
                at(path, "persistentVolumeClaim.claimName"),
                format!("\"{}\" is not a valid claim name (name an existing PersistentVolumeClaim)", claim.claim_name),
            );
        }
    }
    if let Some(dir) = &volume.empty_dir {
        if let Some(medium) = dir.medium.as_deref() {
            if !(medium.is_empty() || medium == "Memory" || medium.starts_with("HugePages")) {
                out.push(
                    at(path, "emptyDir.medium"),
                    format!("\"{medium}\" is not a medium (leave it empty for disk, or use Memory)"),
                );
            }
        }
        if let Some(limit) = &dir.size_limit {
            quantity_at(&limit.0, &at(path, "emptyDir.sizeLimit"), out);
        }
    }
    if let Some(host) = &volume.host_path {
        if host.path.is_empty() {
            out.push(at(path, "hostPath.path"), "no path (give the node's directory)");
        }
        const TYPES: [&str; 8] =
            ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"];
        if let Some(t) = host.type_.as_deref() {
            one_of(out, &at(path, "hostPath.type"), t, &TYPES);
        }
    }
    if let Some(nfs) = &volume.nfs {
        if nfs.server.is_empty() {
            out.push(at(path, "nfs.server"), "no server (give the NFS server's host)");
        }
        if !nfs.path.starts_with('/') {
            out.push(at(path, "nfs.path"), format!("\"{}\" is not an absolute path", nfs.path));
        }
    }
    if let Some(csi) = &volume.csi {
        if csi.driver.is_empty() {
            out.push(at(path, "csi.driver"), "no driver (name the CSI driver)");
        }
    }
}

fn key_paths<'a>(items: impl Iterator<Item = (&'a String, &'a String)>, path: &str, out: &mut Out) {
    for (i, (key, file)) in items.enumerate() {
        if !is_config_map_key(key) {
            out.push(
                at(&nth(path, i), "key"),
                format!("\"{key}\" is not a valid key (letters, digits, '-', '_' and '.')"),
            );
        }
        if file.is_empty() || !is_descending_path(file) {
            out.push(
                at(&nth(path, i), "path"),
                format!("\"{file}\" is not a relative path inside the volume (e.g. config.ini, no '..')"),
            );
        }
    }
}

fn container(
    c: &Container,
    path: &str,
    volumes: &BTreeSet<String>,
    names: &mut BTreeSet<String>,
    init: bool,
    out: &mut Out,
) {
    if !is_dns1123_label(&c.name) {
        out.push(
            at(path, "name"),
            format!("\"{}\" is not a valid container name (lowercase letters, digits and '-', at most 63)", c.name),
        );
    } else if !names.insert(c.name.clone()) {
        out.push(at(path, "name"), format!("container \"{}\" is defined twice (rename one)", c.name));
    }
    if c.image.as_deref().is_none_or(|i| i.trim().is_empty()) {
        out.push(at(path, "image"), "no image (set the container's image)");
    } else if c.image.as_deref().is_some_and(|i| i.trim() != i) {
        out.push(at(path, "image"), "has leading or trailing spaces (remove them)");
    }
    if let Some(policy) = &c.image_pull_policy {
        one_of(out, &at(path, "imagePullPolicy"), policy, &PULL_POLICIES);
    }
    if let Some(policy) = &c.restart_policy {
        if init {
            one_of(out, &at(path, "restartPolicy"), policy, &["Always"]);
        } else {
            out.push(at(path, "restartPolicy"), "only init containers take a restartPolicy (remove it)");
        }
    }
    if let Some(policy) = &c.termination_message_policy {
        one_of(out, &at(path, "terminationMessagePolicy"), policy, &["File", "FallbackToLogsOnError"]);
    }
    ports(c, path, out);
    env(c.env.as_deref().unwrap_or_default(), &at(path, "env"), out);
    for (i, from) in c.env_from.iter().flatten().enumerate() {
        env_from(from, &nth(&at(path, "envFrom"), i), out);
    }
    mounts(c.volume_mounts.as_deref().unwrap_or_default(), &at(path, "volumeMounts"), volumes, out);
    if let Some(resources) = &c.resources {
        self::resources(resources, &at(path, "resources"), out);
    }
    if let Some(ctx) = &c.security_context {
        security_context(ctx, &at(path, "securityContext"), out);
    }
    for (field, probe) in [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ] {
        if let Some(probe) = probe {
            self::probe(probe, &at(path, field), field != "readinessProbe", out);
        }
    }
}

fn ports(c: &Container, path: &str, out: &mut Out) {
    let mut names = BTreeSet::new();
    for (i, port) in c.ports.iter().flatten().enumerate() {
        let here = nth(&at(path, "ports"), i);
        if !(1..=65535).contains(&port.container_port) {
            out.push(at(&here, "containerPort"), format!("{} is not a port (use 1 to 65535)", port.container_port));
        }
        if port.host_port.is_some_and(|p| !(0..=65535).contains(&p)) {
            out.push(
                at(&here, "hostPort"),
                format!("{} is not a port (use 1 to 65535)", port.host_port.unwrap_or_default()),
            );
        }
        if let Some(protocol) = &port.protocol {
            one_of(out, &at(&here, "protocol"), protocol, &PROTOCOLS);
        }
        if let Some(name) = &port.name {
            if !is_port_name(name) {
                out.push(at(&here, "name"), format!("\"{name}\" is not a valid port name (at most 15 lowercase letters, digits and '-', with a letter)"));
            } else if !names.insert(name.clone()) {
                out.push(at(&here, "name"), format!("port name \"{name}\" is used twice (rename one)"));
            }
        }
    }
}

fn env(vars: &[EnvVar], path: &str, out: &mut Out) {
    let mut seen = BTreeSet::new();
    for (i, var) in vars.iter().enumerate() {
        let here = nth(path, i);
        if var.name.is_empty() {
            out.push(at(&here, "name"), "no name (every env entry needs one)");
        } else if !is_env_name(&var.name) {
            out.push(at(&here, "name"), format!("\"{}\" is not a valid environment variable name (letters, digits, '_', '-' and '.', not starting with a digit)", var.name));
        } else if !seen.insert(var.name.clone()) {
            out.push(at(&here, "name"), format!("{} is given twice (keep one)", var.name));
        }
        let Some(from) = &var.value_from else { continue };
        if var.value.as_deref().is_some_and(|v| !v.is_empty()) {
            out.push(at(&here, "valueFrom"), "value and valueFrom are both set (keep one)");
        }
        let from_path = at(&here, "valueFrom");
        let sources = [
            from.field_ref.is_some(),
            from.resource_field_ref.is_some(),
            from.config_map_key_ref.is_some(),
            from.secret_key_ref.is_some(),
        ];
        match sources.iter().filter(|s| **s).count() {
            0 => out.push(&from_path, "no source (give secretKeyRef, configMapKeyRef, fieldRef or resourceFieldRef)"),
            1 => {}
            _ => out.push(
                &from_path,
                "more than one source (keep one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef)",
            ),
        }
        if let Some(r) = &from.secret_key_ref {
            key_ref(&r.name, &r.key, "Secret", &at(&from_path, "secretKeyRef"), out);
        }
        if let Some(r) = &from.config_map_key_ref {
            key_ref(&r.name, &r.key, "ConfigMap", &at(&from_path, "configMapKeyRef"), out);
        }
        if let Some(r) = &from.field_ref {
            if r.field_path.is_empty() {
                out.push(at(&from_path, "fieldRef.fieldPath"), "no field path (e.g. metadata.name)");
            }
        }
        if let Some(r) = &from.resource_field_ref {
            one_of(
                out,
                &at(&from_path, "resourceFieldRef.resource"),
                &r.resource,
                &[
                    "limits.cpu",
                    "limits.memory",
                    "limits.ephemeral-storage",
                    "requests.cpu",
                    "requests.memory",
                    "requests.ephemeral-storage",
                ],
            );
        }
    }
}

fn key_ref(name: &str, key: &str, kind: &str, path: &str, out: &mut Out) {
    if name.is_empty() {
        out.push(at(path, "name"), format!("no {kind} named (set name to the {kind} that holds the value)"));
    } else if !is_dns1123_subdomain(name) {
        out.push(
            at(path, "name"),
            format!("\"{name}\" is not a valid {kind} name (lowercase letters, digits, '-' and '.')"),
        );
    }
    if !is_config_map_key(key) {
        out.push(at(path, "key"), format!("\"{key}\" is not a valid key (letters, digits, '-', '_' and '.')"));
    }
}

fn env_from(from: &EnvFromSource, path: &str, out: &mut Out) {
    let refs = [
        from.config_map_ref.as_ref().map(|r| ("configMapRef", &r.name)),
        from.secret_ref.as_ref().map(|r| ("secretRef", &r.name)),
    ];
    let given: Vec<_> = refs.into_iter().flatten().collect();
    if given.len() != 1 {
        out.push(path, "give exactly one of configMapRef and secretRef");
    }
    for (field, name) in given {
        if name.is_empty() || !is_dns1123_subdomain(name) {
            out.push(
                at(&at(path, field), "name"),
                format!("\"{name}\" is not a valid object name (name the object to read)"),
            );
        }
    }
    if let Some(prefix) = from.prefix.as_deref().filter(|p| !p.is_empty() && !is_env_name(p)) {
        out.push(at(path, "prefix"), format!("\"{prefix}\" is not a valid environment variable prefix"));
    }
}

fn mounts(mounts: &[VolumeMount], path: &str, volumes: &BTreeSet<String>, out: &mut Out) {
    let mut paths = BTreeSet::new();
    for (i, mount) in mounts.iter().enumerate() {
        let here = nth(path, i);
        if mount.name.is_empty() {
            out.push(at(&here, "name"), "no volume named (name one of the pod's volumes)");
        } else if !volumes.contains(&mount.name) {
            out.push(
                at(&here, "name"),
                format!(
                    "no volume \"{}\" in the pod (add it to the volumes, e.g. extraVolumes, or fix the name)",
                    mount.name
                ),
            );
        }
        let mount_path = mount.mount_path.as_str();
        if mount_path.is_empty() {
            out.push(at(&here, "mountPath"), "no mount path (give an absolute path, e.g. /data)");
        } else if !mount_path.starts_with('/') {
            out.push(at(&here, "mountPath"), format!("\"{mount_path}\" is not an absolute path (e.g. /{mount_path})"));
        } else if !paths.insert(mount_path.trim_end_matches('/').to_string()) {
            out.push(
                at(&here, "mountPath"),
                format!("{mount_path} is mounted twice in one container (use another path)"),
            );
        }
        for (field, sub) in [("subPath", &mount.sub_path), ("subPathExpr", &mount.sub_path_expr)] {
            if let Some(sub) = sub.as_deref().filter(|s| !is_descending_path(s)) {
                out.push(at(&here, field), format!("\"{sub}\" must be a relative path without '..'"));
            }
        }
        if mount.sub_path.is_some() && mount.sub_path_expr.is_some() {
            out.push(at(&here, "subPathExpr"), "subPath and subPathExpr are both set (keep one)");
        }
        if let Some(p) = &mount.mount_propagation {
            one_of(out, &at(&here, "mountPropagation"), p, &["None", "HostToContainer", "Bidirectional"]);
        }
        if let Some(r) = &mount.recursive_read_only {
            one_of(out, &at(&here, "recursiveReadOnly"), r, &["Disabled", "IfPossible", "Enabled"]);
        }
    }
}

fn quantity_at(text: &str, path: &str, out: &mut Out) -> Option<f64> {
    match quantity(text) {
        None => {
            out.push(
                path,
                format!("\"{text}\" is not a quantity (use e.g. 500m or 1 for CPU, 512Mi or 2Gi for memory)"),
            );
            None
        }
        Some(n) if n < 0.0 => {
            out.push(path, format!("\"{text}\" is negative (use 0 or more)"));
            None
        }
        some => some,
    }
}

fn resources(r: &ResourceRequirements, path: &str, out: &mut Out) {
    let mut parsed: BTreeMap<(&str, String), f64> = BTreeMap::new();
    for (part, map) in [("limits", &r.limits), ("requests", &r.requests)] {
        for (name, value) in map.iter().flatten() {
            let here = at(&at(path, part), name);
            let standard =
                ["cpu", "memory", "ephemeral-storage"].contains(&name.as_str()) || name.starts_with("hugepages-");
            let extended = name.contains('/') && is_qualified_name(name);
            if !standard && !extended {
                out.push(&here, format!("\"{name}\" is not a resource name (use cpu, memory, ephemeral-storage, or a domain-qualified extended resource such as nvidia.com/gpu)"));
                continue;
            }
            if let Some(n) = quantity_at(&value.0, &here, out) {
                if !standard && n.fract() != 0.0 {
                    out.push(
                        &here,
                        format!("\"{}\" is not a whole number (extended resources are counted in units)", value.0),
                    );
                }
                parsed.insert((part, name.clone()), n);
            }
        }
    }
    for ((part, name), request) in &parsed {
        if *part != "requests" {
            continue;
        }
        if let Some(limit) = parsed.get(&("limits", name.clone())) {
            if request > limit {
                out.push(
                    at(&at(path, "requests"), name),
                    format!(
                        "the request is above the limit {} (request at most the limit)",
                        r.limits.as_ref().and_then(|l| l.get(name)).map(|q| q.0.as_str()).unwrap_or("")
                    ),
                );
            }
        }
    }
}

fn probe(p: &Probe, path: &str, single_success: bool, out: &mut Out) {
    let handlers = [p.exec.is_some(), p.http_get.is_some(), p.tcp_socket.is_some(), p.grpc.is_some()]
        .iter()
        .filter(|h| **h)
        .count();
    if handlers != 1 {
        out.push(path, "give exactly one of exec, httpGet, tcpSocket and grpc");
    }
    for (field, value) in [
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("periodSeconds", p.period_seconds),
        ("successThreshold", p.success_threshold),
        ("failureThreshold", p.failure_threshold),
    ] {
        non_negative(out, &at(path, field), value.map(i64::from));
    }
    if single_success && p.success_threshold.is_some_and(|s| s > 1) {
        out.push(at(path, "successThreshold"), "must be 1 for liveness and startup probes (set 1)");
    }
    if p.termination_grace_period_seconds.is_some_and(|s| s < 1) {
        out.push(at(path, "terminationGracePeriodSeconds"), "must be at least 1 (or leave it out)");
    }
    if let Some(http) = &p.http_get {
        port_or_name(&http.port, &at(path, "httpGet.port"), out);
        if let Some(scheme) = &http.scheme {
            one_of(out, &at(path, "httpGet.scheme"), scheme, &["HTTP", "HTTPS"]);
        }
    }
    if let Some(tcp) = &p.tcp_socket {
        port_or_name(&tcp.port, &at(path, "tcpSocket.port"), out);
    }
    if let Some(exec) = &p.exec {
        if exec.command.as_ref().is_none_or(|c| c.is_empty()) {
            out.push(at(path, "exec.command"), "no command (give the command to run)");
        }
    }
}

pub(crate) fn port_or_name(port: &IntOrString, path: &str, out: &mut Out) {
    match port {
        IntOrString::Int(n) if !(1..=65535).contains(n) => {
            out.push(path, format!("{n} is not a port (use 1 to 65535 or a port name)"))
        }
        IntOrString::String(s) if !is_port_name(s) => {
            out.push(path, format!("\"{s}\" is not a port name (use a number or a named port such as http)"))
        }
        _ => {}
    }
}

fn ids(out: &mut Out, path: &str, fields: &[(&str, Option<i64>)]) {
    for (field, id) in fields {
        if let Some(id) = id.filter(|id| !(0..=i64::from(i32::MAX)).contains(id)) {
            out.push(at(path, field), format!("{id} is not a user or group id (use 0 to 2147483647, e.g. 10001)"));
        }
    }
}

fn seccomp_and_apparmor(
    seccomp: Option<(&str, Option<&str>)>,
    apparmor: Option<(&str, Option<&str>)>,
    path: &str,
    out: &mut Out,
) {
    for (field, profile) in [("seccompProfile", seccomp), ("appArmorProfile", apparmor)] {
        let Some((type_, localhost)) = profile else { continue };
        one_of(out, &at(&at(path, field), "type"), type_, &["RuntimeDefault", "Unconfined", "Localhost"]);
        if (type_ == "Localhost") != localhost.is_some_and(|l| !l.is_empty()) {
            out.push(
                at(&at(path, field), "localhostProfile"),
                "is set if and only if type is Localhost (fix the pair)",
            );
        }
    }
}

fn pod_security_context(ctx: &PodSecurityContext, path: &str, out: &mut Out) {
    let mut fields = vec![("runAsUser", ctx.run_as_user), ("runAsGroup", ctx.run_as_group), ("fsGroup", ctx.fs_group)];
    let groups: Vec<(String, Option<i64>)> = ctx
        .supplemental_groups
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, g)| (nth("supplementalGroups", i), Some(*g)))
        .collect();
    fields.extend(groups.iter().map(|(f, g)| (f.as_str(), *g)));
    ids(out, path, &fields);
    if let Some(policy) = &ctx.fs_group_change_policy {
        one_of(out, &at(path, "fsGroupChangePolicy"), policy, &["OnRootMismatch", "Always"]);
    }
    if let Some(policy) = &ctx.supplemental_groups_policy {
        one_of(out, &at(path, "supplementalGroupsPolicy"), policy, &["Merge", "Strict"]);
    }
    seccomp_and_apparmor(
        ctx.seccomp_profile.as_ref().map(|p| (p.type_.as_str(), p.localhost_profile.as_deref())),
        ctx.app_armor_profile.as_ref().map(|p| (p.type_.as_str(), p.localhost_profile.as_deref())),
        path,
        out,
    );
    for (i, sysctl) in ctx.sysctls.iter().flatten().enumerate() {
        if sysctl.name.is_empty() {
            out.push(at(&nth(&at(path, "sysctls"), i), "name"), "no name (e.g. net.ipv4.ip_local_port_range)");
        }
    }
}

fn security_context(ctx: &SecurityContext, path: &str, out: &mut Out) {
    ids(out, path, &[("runAsUser", ctx.run_as_user), ("runAsGroup", ctx.run_as_group)]);
    if let Some(mount) = &ctx.proc_mount {
        one_of(out, &at(path, "procMount"), mount, &["Default", "Unmasked"]);
    }
    let sys_admin = ctx
        .capabilities
        .as_ref()
        .and_then(|c| c.add.as_ref())
        .is_some_and(|add| add.iter().any(|c| c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN"));
    if ctx.allow_privilege_escalation == Some(false) && (ctx.privileged == Some(true) || sys_admin) {
        out.push(
            at(path, "allowPrivilegeEscalation"),
            "cannot be false with privileged: true or the SYS_ADMIN capability (drop one)",
        );
    }
    seccomp_and_apparmor(
        ctx.seccomp_profile.as_ref().map(|p| (p.type_.as_str(), p.localhost_profile.as_deref())),
        ctx.app_armor_profile.as_ref().map(|p| (p.type_.as_str(), p.localhost_profile.as_deref())),
        path,
        out,
    );
}

fn toleration(t: &Toleration, path: &str, out: &mut Out) {
    let key = t.key.as_deref().unwrap_or("");
    let operator = t.operator.as_deref().unwrap_or("Equal");
    if !key.is_empty() && !is_qualified_name(key) {
        out.push(at(path, "key"), format!("\"{key}\" is not a valid taint key"));
    }
    match operator {
        "" | "Equal" => {
            if key.is_empty() {
                out.push(
                    at(path, "operator"),
                    "an empty key needs operator Exists (set operator: Exists, or give a key)",
                );
            }
            if let Some(value) = t.value.as_deref().filter(|v| !is_label_value(v)) {
                out.push(at(path, "value"), format!("\"{value}\" is not a valid taint value"));
            }
        }
        "Exists" => {
            if t.value.as_deref().is_some_and(|v| !v.is_empty()) {
                out.push(at(path, "value"), "must be empty with operator Exists (remove the value, or use Equal)");
            }
        }
        other => out.push(at(path, "operator"), format!("\"{other}\" is not one of Equal, Exists (use one of them)")),
    }
    if let Some(effect) = t.effect.as_deref() {
        one_of(out, &at(path, "effect"), effect, &["", "NoSchedule", "PreferNoSchedule", "NoExecute"]);
    }
    if t.toleration_seconds.is_some() && t.effect.as_deref() != Some("NoExecute") {
        out.push(
            at(path, "tolerationSeconds"),
            "only applies to effect NoExecute (set effect: NoExecute or remove it)",
        );
    }
}

fn affinity(a: &Affinity, path: &str, out: &mut Out) {
    if let Some(node) = &a.node_affinity {
        let node_path = at(path, "nodeAffinity");
        if let Some(required) = &node.required_during_scheduling_ignored_during_execution {
            let here = at(&node_path, "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
            if required.node_selector_terms.is_empty() {
                out.push(&here, "no term (give at least one node selector term)");
            }
            for (i, term) in required.node_selector_terms.iter().enumerate() {
                node_selector_term(term, &nth(&here, i), out);
            }
        }
        for (i, preferred) in node.preferred_during_scheduling_ignored_during_execution.iter().flatten().enumerate() {
            let here = nth(&at(&node_path, "preferredDuringSchedulingIgnoredDuringExecution"), i);
            weight(preferred.weight, &at(&here, "weight"), out);
            node_selector_term(&preferred.preference, &at(&here, "preference"), out);
        }
    }
    for (field, terms) in [
        (
            "podAffinity",
            a.pod_affinity.as_ref().map(|p| {
                (
                    &p.required_during_scheduling_ignored_during_execution,
                    &p.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
        (
            "podAntiAffinity",
            a.pod_anti_affinity.as_ref().map(|p| {
                (
                    &p.required_during_scheduling_ignored_during_execution,
                    &p.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
    ] {
        let Some((required, preferred)) = terms else { continue };
        let here = at(path, field);
        for (i, term) in required.iter().flatten().enumerate() {
            pod_affinity_term(term, &nth(&at(&here, "requiredDuringSchedulingIgnoredDuringExecution"), i), out);
        }
        for (i, term) in preferred.iter().flatten().enumerate() {
            let item = nth(&at(&here, "preferredDuringSchedulingIgnoredDuringExecution"), i);
            weight(term.weight, &at(&item, "weight"), out);
            pod_affinity_term(&term.pod_affinity_term, &at(&item, "podAffinityTerm"), out);
        }
    }
}

fn weight(w: i32, path: &str, out: &mut Out) {
    if !(1..=100).contains(&w) {
        out.push(path, format!("{w} is not a weight (use 1 to 100)"));
    }
}

fn node_selector_term(term: &NodeSelectorTerm, path: &str, out: &mut Out) {
    for (field, requirements) in [("matchExpressions", &term.match_expressions), ("matchFields", &term.match_fields)] {
        for (i, r) in requirements.iter().flatten().enumerate() {
            let here = nth(&at(path, field), i);
            if field == "matchExpressions" && !is_qualified_name(&r.key) {
                out.push(at(&here, "key"), format!("\"{}\" is not a valid label key", r.key));
            }
            let count = r.values.as_ref().map_or(0, Vec::len);
            match r.operator.as_str() {
                "In" | "NotIn" if count == 0 => {
                    out.push(at(&here, "values"), format!("operator {} needs values (give at least one)", r.operator))
                }
                "Exists" | "DoesNotExist" if count > 0 => {
                    out.push(at(&here, "values"), format!("operator {} takes no values (remove them)", r.operator))
                }
                "Gt" | "Lt" if count != 1 || r.values.iter().flatten().any(|v| v.parse::<i64>().is_err()) => {
                    out.push(at(&here, "values"), format!("operator {} takes one integer value", r.operator))
                }
                "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
                other => out.push(
                    at(&here, "operator"),
                    format!("\"{other}\" is not one of In, NotIn, Exists, DoesNotExist, Gt, Lt (use one of them)"),
                ),
            }
        }
    }
}

fn pod_affinity_term(term: &PodAffinityTerm, path: &str, out: &mut Out) {
    if term.topology_key.is_empty() {
        out.push(at(path, "topologyKey"), "no topology key (e.g. kubernetes.io/hostname)");
    } else if !is_qualified_name(&term.topology_key) {
        out.push(at(path, "topologyKey"), format!("\"{}\" is not a valid label key", term.topology_key));
    }
    if let Some(selector) = &term.label_selector {
        label_selector(selector, &at(path, "labelSelector"), out);
    }
    if let Some(selector) = &term.namespace_selector {
        label_selector(selector, &at(path, "namespaceSelector"), out);
    }
}

pub(crate) fn label_selector(selector: &LabelSelector, path: &str, out: &mut Out) {
    labels(selector.match_labels.as_ref(), &at(path, "matchLabels"), out);
    for (i, r) in selector.match_expressions.iter().flatten().enumerate() {
        let here = nth(&at(path, "matchExpressions"), i);
        if !is_qualified_name(&r.key) {
            out.push(at(&here, "key"), format!("\"{}\" is not a valid label key", r.key));
        }
        let count = r.values.as_ref().map_or(0, Vec::len);
        match r.operator.as_str() {
            "In" | "NotIn" if count == 0 => {
                out.push(at(&here, "values"), format!("operator {} needs values (give at least one)", r.operator))
            }
            "Exists" | "DoesNotExist" if count > 0 => {
                out.push(at(&here, "values"), format!("operator {} takes no values (remove them)", r.operator))
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => out.push(
                at(&here, "operator"),
                format!("\"{other}\" is not one of In, NotIn, Exists, DoesNotExist (use one of them)"),
            ),
        }
    }
}

fn topology_spread_constraint(constraint: &TopologySpreadConstraint, path: &str, out: &mut Out) {
    if constraint.max_skew < 1 {
        out.push(at(path, "maxSkew"), format!("{} is not above 0 (use 1 or more)", constraint.max_skew));
    }
    if constraint.topology_key.is_empty() {
        out.push(at(path, "topologyKey"), "no topology key (e.g. topology.kubernetes.io/zone)");
    } else if !is_qualified_name(&constraint.topology_key) {
        out.push(at(path, "topologyKey"), format!("\"{}\" is not a valid label key", constraint.topology_key));
    }
    one_of(out, &at(path, "whenUnsatisfiable"), &constraint.when_unsatisfiable, &["DoNotSchedule", "ScheduleAnyway"]);
    if let Some(selector) = &constraint.label_selector {
        label_selector(selector, &at(path, "labelSelector"), out);
    }
}
