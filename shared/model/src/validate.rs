//! Checks of the merged values that a schema cannot express: combinations MLflow refuses, and
//! strings that must parse (cron schedules, durations, quantities, DNS names). Every problem is
//! collected; nothing here stops at the first.

use serde_json::Value;

use crate::names::{is_dns1123_label, is_dns1123_subdomain};
use crate::problem::{index, Problem, Problems};
use crate::store_uri;
use crate::values::model::{flag_name, DEFAULT_METRICS_PATH};
use crate::values::Values;

/// SQL databases MLflow can run workspaces on.
const SQL_SCHEMES: [&str; 4] = ["sqlite", "postgresql", "mysql", "mssql"];

/// Environment variables the chart sets itself.
pub(crate) const OWN_ENV: [&str; 10] = [
    "MLFLOW_BACKEND_STORE_URI",
    "MLFLOW_REGISTRY_STORE_URI",
    "MLFLOW_DEFAULT_ARTIFACT_ROOT",
    "MLFLOW_ARTIFACTS_DESTINATION",
    "MLFLOW_SERVER_ALLOWED_HOSTS",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION",
    "MLFLOW_AUTH_CONFIG_PATH",
    "MLFLOW_AUTH_ADMIN_USERNAME",
    "MLFLOW_AUTH_ADMIN_PASSWORD",
    "MLFLOW_PORT",
];

/// Values that passed [`check`]: the only values [`crate::render()`] takes, so nothing renders
/// (and panics on) what validation would have refused.
#[derive(Debug, Clone)]
pub struct Valid(Values);

impl std::ops::Deref for Valid {
    type Target = Values;
    fn deref(&self) -> &Values {
        &self.0
    }
}

/// The values, if [`check`] finds no problem; else every problem.
pub fn validated(values: Values) -> Result<Valid, Problems> {
    let problems = check(&values);
    problems.into_result(Valid(values))
}

pub fn check(values: &Values) -> Problems {
    let mut problems = Problems::default();
    stores(values, &mut problems);
    workspaces(values, &mut problems);
    garbage_collection(values, &mut problems);
    server(values, &mut problems);
    tls_and_monitoring(values, &mut problems);
    storage(values, &mut problems);
    auth(values, &mut problems);
    names(values, &mut problems);
    env(values, &mut problems);
    crate::server_options::check(values, &mut problems);
    crate::local_paths::check(values, &mut problems);
    crate::image::check(values, &mut problems);
    crate::kubelet::check(values, &mut problems);
    disruption_budget(values, &mut problems);
    crate::autoscaling::check(values, &mut problems);
    tmp(values, &mut problems);
    migrations(values, &mut problems);
    http_route(values, &mut problems);
    external_secrets(values, &mut problems);
    crate::oidc::check(values, &mut problems);
    extra_objects(values, &mut problems);
    problems
}

/// Entries of `extraObjects` given as maps that make no object (strings are checked once
/// templated, when the release is known).
fn extra_objects(values: &Values, out: &mut Problems) {
    use crate::render::extra::{to_object, KEY};
    for (i, item) in values.extra_objects.iter().enumerate().filter(|(_, item)| !item.is_string()) {
        if let Err(found) = to_object(&index(KEY, i), item, "") {
            found.into_iter().for_each(|problem| out.push(problem));
        }
    }
}

fn stores(values: &Values, out: &mut Problems) {
    let m = &values.mlflow;
    if m.backend_store_uri.is_empty() && m.backend_store_uri_from.is_none() {
        out.push(Problem::at(
            "mlflow.backendStoreUri",
            "no backend store is set (set mlflow.backendStoreUri, or mlflow.backendStoreUriFrom to read it from a Secret)",
        ));
    }
    for (path, uri) in
        [("mlflow.backendStoreUri", &m.backend_store_uri), ("mlflow.registryStoreUri", &m.registry_store_uri)]
    {
        match store_uri::check_store(uri) {
            Err(err) if !uri.is_empty() => out.push(Problem::at(path, err.to_string())),
            _ => {}
        }
    }
    let auth_db = &values.auth.database_uri;
    if values.basic_auth() && !auth_db.is_empty() && values.auth.database_uri_from.is_some() {
        out.push(Problem::at("auth.databaseUriFrom", "may not be set with auth.databaseUri (keep one of them)"));
    }
    if values.basic_auth() && !auth_db.is_empty() {
        if let Err(err) = store_uri::check_database(auth_db) {
            out.push(Problem::at("auth.databaseUri", err.to_string()));
        }
    }
}

fn workspaces(values: &Values, out: &mut Problems) {
    if !values.workspaces() {
        return;
    }
    let uri = &values.mlflow.backend_store_uri;
    if !uri.is_empty() && !SQL_SCHEMES.contains(&store_uri::family(uri)) {
        out.push(Problem::at(
            "server.flag_options",
            format!(
                "enable_workspaces needs a SQL backend store (sqlite, postgresql, mysql or mssql), not \"{}\"",
                scheme_or_path(uri)
            ),
        ));
    }
    if values.mlflow.default_artifact_root.is_empty() {
        out.push(Problem::at(
            "mlflow.defaultArtifactRoot",
            "enable_workspaces needs a default artifact root (set mlflow.defaultArtifactRoot, e.g. s3://bucket/path)",
        ));
    }
}

fn scheme_or_path(uri: &str) -> &str {
    match store_uri::family(uri) {
        "" => uri,
        scheme => scheme,
    }
}

fn garbage_collection(values: &Values, out: &mut Problems) {
    let gc = &values.garbage_collection;
    if gc.all_workspaces && !values.workspaces() {
        out.push(Problem::at(
            "garbageCollection.allWorkspaces",
            "needs workspaces (add enable_workspaces to server.flag_options, or set allWorkspaces: false)",
        ));
    }
    if !gc.enabled {
        return;
    }
    if !is_cron_schedule(&gc.schedule) {
        out.push(Problem::at(
            "garbageCollection.schedule",
            format!("\"{}\" is not a cron schedule (five fields, e.g. \"0 2 * * 0\")", gc.schedule),
        ));
    }
    if !gc.older_than.is_empty() && !is_gc_duration(&gc.older_than) {
        out.push(Problem::at(
            "garbageCollection.olderThan",
            format!("\"{}\" is not a duration (use #d#h#m#s, e.g. \"30d\" or \"7d12h\")", gc.older_than),
        ));
    }
    if values.storage.enabled && values.storage.access_mode == "ReadWriteOncePod" {
        out.push(Problem::at("garbageCollection.enabled", "the GC job mounts the volume while the server has it, which storage.accessMode ReadWriteOncePod forbids (use ReadWriteOnce)"));
    }
}

fn server(values: &Values, out: &mut Problems) {
    for (key, value) in &values.server.value_options {
        let path = format!("server.value_options.{key}");
        if value.is_array() || value.is_object() {
            out.push(Problem::at(&path, "expected a string, number or boolean (a flag takes one value)"));
        }
    }
    match values.server.value_options.get("port") {
        None | Some(Value::Null) => {}
        Some(port) => {
            let n = port.as_i64().or_else(|| port.as_str().and_then(|s| s.parse().ok()));
            if !n.is_some_and(|n| (1..=65535).contains(&n)) {
                out.push(Problem::at(
                    "server.value_options.port",
                    format!("{port} is not a port (use a number from 1 to 65535)"),
                ));
            }
        }
    }
    for (i, flag) in values.server.flag_options.iter().enumerate() {
        if flag_name(flag).is_empty() || flag.contains(char::is_whitespace) || flag.contains('=') {
            out.push(Problem::at(
                index("server.flag_options", i),
                format!("\"{flag}\" is not a bare flag name (put options with a value in server.value_options)"),
            ));
        }
    }
    let prefix = &values.server.static_prefix;
    if !prefix.is_empty() && !prefix.starts_with('/') {
        out.push(Problem::at("server.staticPrefix", format!("\"{prefix}\" must start with / (e.g. /mlflow)")));
    }
    // mlflow server's --static-prefix callback (_validate_static_prefix)
    if prefix.contains(['{', '}']) {
        out.push(Problem::at(
            "server.staticPrefix",
            format!("\"{prefix}\" may not hold '{{' or '}}': mlflow server refuses it (remove them)"),
        ));
    }
}

/// An HTTPRoute attaches to at least one Gateway.
fn http_route(values: &Values, out: &mut Problems) {
    if values.http_route.enabled && values.http_route.parent_refs.is_empty() {
        out.push(Problem::at(
            "httpRoute.parentRefs",
            "the HTTPRoute needs a Gateway to attach to (e.g. [{name: shared-gateway, namespace: gateway-system}])",
        ));
    }
}

/// What the External Secrets Operator can never serve: another API group, no provider, nothing to
/// fetch, a refresh interval it cannot parse, a Secret name the API refuses.
fn external_secrets(values: &Values, out: &mut Problems) {
    let es = &values.external_secrets;
    if !es.enabled {
        return;
    }
    let version = es.api_version.strip_prefix("external-secrets.io/v").unwrap_or_default();
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()) {
        out.push(Problem::at(
            "externalSecrets.apiVersion",
            format!("\"{}\" is not an External Secrets API version (use external-secrets.io/v1, or external-secrets.io/v1beta1 for operators before v0.17)", es.api_version),
        ));
    }
    if es.provider.is_empty() {
        out.push(Problem::at(
            "externalSecrets.provider",
            "no provider is set; the SecretStore needs one (e.g. {aws: {service: SecretsManager, region: eu-west-1}}), or set externalSecrets.enabled: false",
        ));
    }
    if es.data.is_empty() {
        out.push(Problem::at(
            "externalSecrets.data",
            "nothing to fetch; the ExternalSecret needs at least one entry (e.g. [{secretKey: db-uri, remoteRef: {key: mlflow/db}}])",
        ));
    }
    if !is_go_duration(&es.refresh_interval) {
        out.push(Problem::at(
            "externalSecrets.refreshInterval",
            format!("\"{}\" is not a duration (e.g. 1h, 15m, 1h30m, or 0 to fetch once)", es.refresh_interval),
        ));
    }
    if !es.secret_name.is_empty() && !is_dns1123_subdomain(&es.secret_name) {
        out.push(Problem::at(
            "externalSecrets.secretName",
            format!(
                "\"{}\" is not a valid Secret name (lowercase letters, digits, '-' and '.', at most 253 characters)",
                es.secret_name
            ),
        ));
    }
}

/// A duration the operator parses (Go's time.ParseDuration): `0`, or numbers (`1`, `1.5`) with
/// units, e.g. `1h30m`, `500ms`.
fn is_go_duration(text: &str) -> bool {
    if text == "0" {
        return true;
    }
    let mut rest = text;
    while !rest.is_empty() {
        let whole = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let mut end = whole;
        if let Some(fraction) = rest[whole..].strip_prefix('.') {
            let digits = fraction.find(|c: char| !c.is_ascii_digit()).unwrap_or(fraction.len());
            if digits == 0 {
                return false;
            }
            end += 1 + digits;
        }
        let tail = &rest[end..];
        let Some(unit) = ["ns", "us", "µs", "ms", "s", "m", "h"].into_iter().find(|u| tail.starts_with(u)) else {
            return false;
        };
        if whole == 0 {
            return false;
        }
        rest = &tail[unit.len()..];
    }
    !text.is_empty()
}

/// The API refuses a PodDisruptionBudget with both bounds.
fn disruption_budget(values: &Values, out: &mut Problems) {
    let budget = &values.pod_disruption_budget;
    if budget.enabled && budget.min_available.is_some() && budget.max_unavailable.is_some() {
        out.push(Problem::at(
            "podDisruptionBudget.maxUnavailable",
            "may not be set with podDisruptionBudget.minAvailable (keep one of them)",
        ));
    }
}

/// The server's /tmp: one kind of volume, sizes that are quantities.
fn tmp(values: &Values, out: &mut Problems) {
    let tmp = &values.tmp;
    if !tmp.size_limit.is_empty() && !is_positive_quantity(&tmp.size_limit) {
        out.push(Problem::at(
            "tmp.sizeLimit",
            format!("\"{}\" is not a size (use a Kubernetes quantity, e.g. 2Gi)", tmp.size_limit),
        ));
    }
    let ephemeral = &tmp.ephemeral;
    if !ephemeral.size.is_empty() && !is_positive_quantity(&ephemeral.size) {
        out.push(Problem::at(
            "tmp.ephemeral.size",
            format!("\"{}\" is not a size (use a Kubernetes quantity, e.g. 20Gi)", ephemeral.size),
        ));
    }
    if !ephemeral.size.is_empty() && (!tmp.size_limit.is_empty() || !tmp.medium.is_empty()) {
        out.push(Problem::at(
            "tmp.ephemeral.size",
            "an ephemeral volume replaces the emptyDir: it may not be set with tmp.sizeLimit or tmp.medium (keep one of them)",
        ));
    }
    if ephemeral.size.is_empty() && !ephemeral.storage_class_name.is_empty() {
        out.push(Problem::at(
            "tmp.ephemeral.storageClassName",
            "names the class of an ephemeral volume, which needs a size (set tmp.ephemeral.size, e.g. 20Gi)",
        ));
    }
}

/// The migration Job's wait: a duration its script reads (numbers with ms, h, m or s), or 0.
fn migrations(values: &Values, out: &mut Problems) {
    let wait = &values.migrations.wait_timeout;
    if !(wait == "0" || is_wait_duration(wait)) {
        out.push(Problem::at(
            "migrations.waitTimeout",
            format!("\"{wait}\" is not a duration (e.g. 4m, 90s or 1h30m; 0 not to wait)"),
        ));
    }
}

/// `([0-9]+(\.[0-9]+)?(ms|h|m|s))+`, the chart's pattern.
fn is_wait_duration(text: &str) -> bool {
    let mut rest = text;
    while !rest.is_empty() {
        let whole = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let mut end = whole;
        if let Some(fraction) = rest[whole..].strip_prefix('.') {
            let digits = fraction.find(|c: char| !c.is_ascii_digit()).unwrap_or(fraction.len());
            if digits == 0 {
                return false;
            }
            end += 1 + digits;
        }
        let Some(unit) = ["ms", "h", "m", "s"].into_iter().find(|u| rest[end..].starts_with(u)) else {
            return false;
        };
        if whole == 0 {
            return false;
        }
        rest = &rest[end + unit.len()..];
    }
    !text.is_empty()
}

fn tls_and_monitoring(values: &Values, out: &mut Problems) {
    if values.tls.enabled && values.tls.secret_name.is_empty() {
        out.push(Problem::at("tls.secretName", "TLS is enabled but no Secret is named (set tls.secretName)"));
    }
    if values.service_monitor.enabled && !values.metrics.enabled {
        out.push(Problem::at("serviceMonitor.enabled", "needs metrics.enabled (set metrics.enabled: true)"));
    }
    // prometheus-flask-exporter's route is fixed: another path only misleads the ServiceMonitor.
    // An empty or null path means /metrics, as in the official chart.
    if values.metrics.enabled && values.metrics.path() != DEFAULT_METRICS_PATH {
        out.push(Problem::at("metrics.path", format!("\"{}\": MLflow serves its metrics at /metrics only, under a static prefix too (set metrics.path: /metrics)", values.metrics.path)));
    }
}

fn storage(values: &Values, out: &mut Problems) {
    let s = &values.storage;
    if !s.enabled {
        return;
    }
    if !is_positive_quantity(&s.size) {
        out.push(Problem::at(
            "storage.size",
            format!("\"{}\" is not a storage size (use a Kubernetes quantity, e.g. 10Gi)", s.size),
        ));
    }
    if !s.mount_path.starts_with('/') {
        out.push(Problem::at(
            "storage.mountPath",
            format!("\"{}\" is not an absolute path (e.g. /mlflow)", s.mount_path),
        ));
    }
}

fn auth(values: &Values, out: &mut Problems) {
    if !values.basic_auth() {
        return;
    }
    if values.auth.database_uri.is_empty() && values.auth.database_uri_from.is_none() && !values.storage.enabled {
        out.push(Problem::at(
            "auth.databaseUri",
            "basic auth needs a database for its users (set auth.databaseUri, or storage.enabled: true to keep it on the volume)",
        ));
    }
    if values.auth.admin_username.is_empty() {
        out.push(Problem::at("auth.adminUsername", "basic auth needs an admin user name (e.g. admin)"));
    }
}

fn names(values: &Values, out: &mut Problems) {
    let fullname = &values.fullname_override;
    if !fullname.is_empty() && !is_dns1123_label(fullname) {
        out.push(Problem::at(
            "fullnameOverride",
            format!("\"{fullname}\" is not a valid name (lowercase letters, digits and '-', at most 63 characters)"),
        ));
    }
    let sa = &values.service_account.name;
    if !sa.is_empty() && !is_dns1123_subdomain(sa) {
        out.push(Problem::at("serviceAccount.name", format!("\"{sa}\" is not a valid ServiceAccount name")));
    }
    if values.tls.enabled && !values.tls.secret_name.is_empty() && !is_dns1123_subdomain(&values.tls.secret_name) {
        out.push(Problem::at("tls.secretName", format!("\"{}\" is not a valid Secret name", values.tls.secret_name)));
    }
    if values.ingress.enabled {
        if values.ingress.hosts.is_empty() {
            out.push(Problem::at("ingress.hosts", "an enabled Ingress needs at least one host (e.g. --set ingress.hosts[0].host=mlflow.example.com), or set ingress.enabled=false"));
        }
        for (i, host) in values.ingress.hosts.iter().enumerate() {
            let bare = host.host.strip_prefix("*.").unwrap_or(&host.host);
            if !is_dns1123_subdomain(bare) {
                out.push(Problem::at(
                    format!("ingress.hosts[{i}].host"),
                    format!("\"{}\" is not a DNS host name (e.g. mlflow.example.com)", host.host),
                ));
            }
        }
    }
}

fn env(values: &Values, out: &mut Problems) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, var) in values.env.iter().enumerate() {
        let path = format!("env[{i}].name");
        if OWN_ENV.contains(&var.name.as_str()) {
            out.push(Problem::at(
                path,
                format!(
                    "{} is set by the chart from its values (use the mlflow.*, server.* or auth.* keys instead)",
                    var.name
                ),
            ));
        } else if seen.contains(&var.name.as_str()) {
            out.push(Problem::at(path, format!("{} is given twice (keep one)", var.name)));
        }
        seen.push(&var.name);
    }
}

/// Kubernetes CronJob schedules: five fields or a macro such as `@daily`.
pub fn is_cron_schedule(schedule: &str) -> bool {
    const MACROS: [&str; 7] = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
    if MACROS.contains(&schedule.trim()) {
        return true;
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    const RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    fields.len() == 5 && fields.iter().zip(RANGES).enumerate().all(|(i, (f, r))| cron_field(f, r, i))
}

fn cron_field(field: &str, (lo, hi): (u32, u32), position: usize) -> bool {
    field.split(',').all(|part| {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        if step.is_some_and(|s| s.parse::<u32>().map_or(true, |s| s == 0)) {
            return false;
        }
        if range == "*" || (range == "?" && (position == 2 || position == 4)) {
            return true;
        }
        let value = |s: &str| cron_value(s, position).filter(|v| (lo..=hi).contains(v));
        match range.split_once('-') {
            Some((a, b)) => matches!((value(a), value(b)), (Some(a), Some(b)) if a <= b),
            None => value(range).is_some(),
        }
    })
}

fn cron_value(s: &str, position: usize) -> Option<u32> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let lower = s.to_ascii_lowercase();
    let named = match position {
        3 => MONTHS.iter().position(|m| *m == lower).map(|i| i as u32 + 1),
        4 => DAYS.iter().position(|d| *d == lower).map(|i| i as u32),
        _ => None,
    };
    named.or_else(|| s.parse().ok())
}

/// The longest `--older-than` MLflow takes: Python's `timedelta.max` (999999999 days).
const MAX_GC_SECONDS: f64 = 999_999_999.0 * 86_400.0;

/// `mlflow gc --older-than`: `#d#h#m#s`, numbers may have a fraction, at most 999999999 days.
pub fn is_gc_duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    let mut seconds = 0.0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        if number.is_empty() || number.parse::<f64>().is_err() || number.ends_with('.') {
            return false;
        }
        let mut unit = tail.chars();
        let scale = match unit.next() {
            Some('d') => 86_400.0,
            Some('h') => 3_600.0,
            Some('m') => 60.0,
            Some('s') => 1.0,
            _ => return false,
        };
        seconds += number.parse::<f64>().unwrap_or(f64::INFINITY) * scale;
        rest = unit.as_str();
    }
    seconds <= MAX_GC_SECONDS
}

/// A Kubernetes quantity greater than zero, e.g. `10Gi`, `500M`, `1e9`.
pub fn is_positive_quantity(text: &str) -> bool {
    let number_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    const SUFFIXES: [&str; 14] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T"];
    let exponent = suffix
        .strip_prefix(['e', 'E'])
        .is_some_and(|e| e.trim_start_matches(['+', '-']).chars().all(|c| c.is_ascii_digit()) && !e.is_empty());
    let suffix_ok = SUFFIXES.contains(&suffix) || suffix == "P" || suffix == "E" || exponent;
    suffix_ok && number.parse::<f64>().is_ok_and(|n| n > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_schedules() {
        for good in ["0 2 * * 0", "*/15 * * * *", "0 0 1,15 * mon-fri", "@weekly", "0 3 * jan sun", "5 4 ? * *"] {
            assert!(is_cron_schedule(good), "{good}");
        }
        for bad in
            ["", "0 2 * *", "60 * * * *", "0 24 * * *", "* * 0 * *", "*/0 * * * *", "0 2 * * 8", "weekly", "a b c d e"]
        {
            assert!(!is_cron_schedule(bad), "{bad}");
        }
    }

    #[test]
    fn gc_durations() {
        for good in ["30d", "7d12h", "1.5h", "10m30s"] {
            assert!(is_gc_duration(good), "{good}");
        }
        for bad in ["", "30", "d", "30days", "1.h", "-1d", "1w"] {
            assert!(!is_gc_duration(bad), "{bad}");
        }
    }

    #[test]
    fn quantities() {
        for good in ["10Gi", "500M", "1", "1.5Ti", "1e9"] {
            assert!(is_positive_quantity(good), "{good}");
        }
        for bad in ["", "0", "10GB", "ten", "Gi", "-1Gi"] {
            assert!(!is_positive_quantity(bad), "{bad}");
        }
    }
}
