//! Where the server is reached: the Service's in-cluster URL, a LoadBalancer's address, the hosts
//! of the release's Ingresses and HTTPRoutes.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::core::DynamicObject;

use crate::document::Urls;

pub fn section(
    service: Option<&Service>,
    namespace: &str,
    prefix: &str,
    ingresses: &[Ingress],
    routes: &[DynamicObject],
) -> Urls {
    let prefix = prefix.trim_end_matches('/');
    Urls {
        service: service.and_then(|s| in_cluster(s, namespace, prefix)),
        ingress: ingresses.iter().flat_map(ingress).collect(),
        http_route: routes.iter().flat_map(|r| route(r, prefix)).collect(),
        load_balancer: service.map(|s| load_balancer(s, prefix)).unwrap_or_default(),
    }
}

fn scheme(service: &Service) -> &'static str {
    let https = service.spec.iter().flat_map(|s| s.ports.iter().flatten()).any(|p| p.name.as_deref() == Some("https"));
    if https {
        "https"
    } else {
        "http"
    }
}

fn port(service: &Service) -> Option<i32> {
    service.spec.as_ref()?.ports.as_ref()?.first().map(|p| p.port)
}

fn in_cluster(service: &Service, namespace: &str, prefix: &str) -> Option<String> {
    let name = service.metadata.name.as_deref()?;
    Some(format!("{}://{name}.{namespace}.svc.cluster.local:{}{prefix}/", scheme(service), port(service)?))
}

fn load_balancer(service: &Service, prefix: &str) -> Vec<String> {
    let entries = service.status.iter().flat_map(|s| s.load_balancer.iter().flat_map(|l| l.ingress.iter().flatten()));
    let port = port(service).unwrap_or(80);
    entries
        .filter_map(|e| e.hostname.clone().or(e.ip.clone()))
        .map(|host| format!("{}://{host}:{port}{prefix}/", scheme(service)))
        .collect()
}

fn ingress(ingress: &Ingress) -> Vec<String> {
    let Some(spec) = &ingress.spec else { return vec![] };
    let tls_hosts: Vec<&String> = spec.tls.iter().flatten().flat_map(|t| t.hosts.iter().flatten()).collect();
    let mut urls = Vec::new();
    for rule in spec.rules.iter().flatten() {
        let host = rule.host.clone().unwrap_or_else(|| "*".into());
        let scheme = if tls_hosts.contains(&&host) { "https" } else { "http" };
        let paths: Vec<String> = rule.http.iter().flat_map(|h| h.paths.iter()).filter_map(|p| p.path.clone()).collect();
        let paths = if paths.is_empty() { vec!["/".to_string()] } else { paths };
        urls.extend(paths.into_iter().map(|path| format!("{scheme}://{host}{path}")));
    }
    urls
}

/// An HTTPRoute's hostnames with its path prefix (the Gateway's listener decides the scheme).
fn route(route: &DynamicObject, prefix: &str) -> Vec<String> {
    let path = route
        .data
        .pointer("/spec/rules/0/matches/0/path/value")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{prefix}/"));
    let hostnames = route.data.pointer("/spec/hostnames").and_then(|h| h.as_array()).cloned().unwrap_or_default();
    hostnames.iter().filter_map(|h| h.as_str()).map(|host| format!("{host}{path}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_ingress_and_route() {
        let service: Service = serde_json::from_value(json!({"metadata": {"name": "m-mlflow"},
            "spec": {"ports": [{"name": "https", "port": 5000}]}}))
        .unwrap();
        let ingress: Ingress = serde_json::from_value(json!({"spec": {
            "tls": [{"hosts": ["mlflow.example.com"]}],
            "rules": [{"host": "mlflow.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {}}]}}]}}))
        .unwrap();
        let route: DynamicObject =
            serde_json::from_value(json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "r"}, "spec": {"hostnames": ["ml.example.com"]}}))
            .unwrap();
        let urls = section(Some(&service), "ns", "/mlflow/", &[ingress], &[route]);
        assert_eq!(urls.service.as_deref(), Some("https://m-mlflow.ns.svc.cluster.local:5000/mlflow/"));
        assert_eq!(urls.ingress, ["https://mlflow.example.com/"]);
        assert_eq!(urls.http_route, ["ml.example.com/mlflow/"]);
    }
}
