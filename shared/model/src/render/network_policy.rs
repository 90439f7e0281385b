//! The NetworkPolicy: the server port (behind the sign-in, the proxy's) in; DNS, HTTPS, the API
//! server, databases and the sign-in provider out.

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{labels, Context};

fn port(protocol: &str, number: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(number)),
        ..NetworkPolicyPort::default()
    }
}

fn egress(ports: Vec<NetworkPolicyPort>) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule { ports: Some(ports), ..NetworkPolicyEgressRule::default() }
}

/// The sign-in provider's port, when the fixed rules leave it out (an issuer on port 443 is
/// reached by the HTTPS rule).
fn issuer_port(ctx: &Context) -> Option<i32> {
    let oidc = &ctx.values.oidc;
    let (_, port) = crate::oidc::issuer_host_port(&oidc.issuer_url).filter(|_| oidc.enabled)?;
    let port = i32::from(port);
    (![53, 443, 6443, 5432, 3306, 1433].contains(&port)).then_some(port)
}

pub fn network_policy(ctx: &Context) -> Option<NetworkPolicy> {
    let policy = &ctx.values.network_policy;
    if !policy.enabled {
        return None;
    }
    let mut rules = vec![
        egress(vec![port("UDP", 53), port("TCP", 53)]),
        egress(vec![port("TCP", 443), port("TCP", 6443)]),
        egress(vec![port("TCP", 5432), port("TCP", 3306), port("TCP", 1433)]),
    ];
    if let Some(issuer) = issuer_port(ctx) {
        rules.push(egress(vec![port("TCP", issuer)]));
    }
    rules.extend(policy.additional_egress_rules.iter().cloned());
    // Behind the sign-in only the proxy's port is served.
    let served = if ctx.values.oidc() { ctx.values.oidc.port } else { ctx.port };
    Some(NetworkPolicy {
        metadata: ctx.meta(&ctx.fullname, None),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(labels::server_selector(ctx)),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                ports: Some(vec![port("TCP", served)]),
                ..NetworkPolicyIngressRule::default()
            }]),
            egress: Some(rules),
        }),
    })
}
