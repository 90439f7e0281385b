//! MLflow's allowed hosts. The list replaces MLflow's own default and matches exactly, so it must
//! hold every name the server is reached by: localhost, private addresses (kubelet probes, pod
//! IPs), the Service's cluster DNS names (the GC job) and every Ingress and HTTPRoute host.

use serde_json::Value;

use super::Context;

/// What MLflow admits by default: localhost on any port and the private address ranges.
fn local_hosts() -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*", "[::1]", "[::1]:*", "10.*"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    hosts.extend((16..=31).map(|n| format!("172.{n}.*")));
    hosts.push("192.168.*".into());
    hosts
}

/// The hosts the user listed in `server.value_options.allowed_hosts` (comma-separated).
fn user_hosts(ctx: &Context) -> Vec<String> {
    match ctx.values.server.value_options.get("allowed_hosts") {
        Some(Value::String(list)) => {
            list.split(',').map(str::trim).filter(|h| !h.is_empty()).map(String::from).collect()
        }
        _ => Vec::new(),
    }
}

fn ingress_hosts(ctx: &Context) -> Vec<String> {
    if !ctx.values.ingress.enabled {
        return Vec::new();
    }
    ctx.values.ingress.hosts.iter().map(|h| h.host.clone()).filter(|h| !h.is_empty()).collect()
}

fn route_hosts(ctx: &Context) -> Vec<String> {
    let route = &ctx.values.http_route;
    if !route.enabled {
        return Vec::new();
    }
    route.hostnames.iter().filter(|h| !h.is_empty()).cloned().collect()
}

fn service_hosts(ctx: &Context) -> Vec<String> {
    let (f, ns) = (&ctx.fullname, &ctx.release.namespace);
    [f.clone(), format!("{f}.{ns}"), format!("{f}.{ns}.svc"), format!("{f}.{ns}.svc.cluster.local")]
        .into_iter()
        .flat_map(|h| [h.clone(), format!("{h}:*")])
        .collect()
}

/// The value of `MLFLOW_SERVER_ALLOWED_HOSTS`.
pub fn allowed_hosts(ctx: &Context) -> String {
    let mut all: Vec<String> = Vec::new();
    for host in user_hosts(ctx)
        .into_iter()
        .chain(ingress_hosts(ctx))
        .chain(route_hosts(ctx))
        .chain(local_hosts())
        .chain(service_hosts(ctx))
    {
        if !all.contains(&host) {
            all.push(host);
        }
    }
    all.join(",")
}

/// Tells the user when an Ingress host was missing from the allowed hosts they listed.
pub fn notes(ctx: &Context) -> Vec<String> {
    let listed = user_hosts(ctx);
    if listed.is_empty() {
        return Vec::new();
    }
    ingress_hosts(ctx)
        .into_iter()
        .filter(|host| !listed.iter().any(|pattern| host_matches(pattern, host)))
        .map(|host| {
            format!(
                "ingress host {host} was missing from server.value_options.allowed_hosts; added it \
                 (MLflow answers 403 to hosts it does not allow)"
            )
        })
        .collect()
}

/// MLflow's matching: exact, or a pattern with `*` wildcards.
fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == host,
        Some((head, tail)) => {
            host.len() >= head.len() + tail.len()
                && host.starts_with(head)
                && (tail.contains('*') || host.ends_with(tail))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::host_matches;

    #[test]
    fn patterns() {
        assert!(host_matches("mlflow.example.com", "mlflow.example.com"));
        assert!(!host_matches("mlflow.example.com", "mlflow.example.com:5000"));
        assert!(host_matches("*.example.com", "mlflow.example.com"));
        assert!(host_matches("10.*", "10.1.2.3:5000"));
    }
}
