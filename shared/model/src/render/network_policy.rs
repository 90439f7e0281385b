//! The NetworkPolicy: the server port in; DNS, HTTPS, the API server and databases out.

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
    rules.extend(policy.additional_egress_rules.iter().cloned());
    Some(NetworkPolicy {
        metadata: ctx.meta(&ctx.fullname, None),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(labels::server_selector(ctx)),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                ports: Some(vec![port("TCP", ctx.port)]),
                ..NetworkPolicyIngressRule::default()
            }]),
            egress: Some(rules),
        }),
    })
}
