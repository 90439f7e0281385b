//! How full the release's claims are, from the kubelet's stats summary of the node where a server
//! pod mounts them (`nodes/<node>/proxy/stats/summary`, the volume's `pvcRef`): the numbers of
//! the volume's filesystem, as `df` shows them in the pod. Needs `get` on `nodes/proxy`
//! (cluster-wide); without it the usage is unknown, with the reason.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::Client;
use kubectl_mlflow_core::cluster::describe;
use serde::Deserialize;

use crate::document::Volume;

/// Used above this share of the capacity: a warning.
pub const WARN_PERCENT: f64 = 85.0;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Summary {
    #[serde(default)]
    pods: Vec<PodStats>,
}

#[derive(Debug, Clone, Deserialize)]
struct PodStats {
    #[serde(default)]
    volume: Vec<VolumeStats>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VolumeStats {
    used_bytes: Option<u64>,
    capacity_bytes: Option<u64>,
    available_bytes: Option<u64>,
    pvc_ref: Option<PvcRef>,
}

#[derive(Debug, Clone, Deserialize)]
struct PvcRef {
    name: String,
    namespace: String,
}

/// The claims the server pods mount, by the pod template.
pub fn mounted(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter()
        .flat_map(|p| p.spec.iter().flat_map(|s| s.volumes.iter().flatten()))
        .filter_map(|v| v.persistent_volume_claim.as_ref().map(|c| c.claim_name.clone()))
        .collect()
}

/// The nodes where a server pod runs that mounts one of `claims`.
pub fn nodes(pods: &[Pod], claims: &BTreeSet<String>) -> BTreeSet<String> {
    pods.iter()
        .filter(|p| mounted(std::slice::from_ref(p)).iter().any(|c| claims.contains(c)))
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .filter_map(|p| p.spec.as_ref()?.node_name.clone())
        .collect()
}

/// The kubelet's stats summary of a node, through the API server.
pub async fn summary(client: &Client, node: &str) -> Result<Summary, String> {
    let request = http::Request::get(format!("/api/v1/nodes/{node}/proxy/stats/summary"))
        .body(Vec::new())
        .map_err(|err| err.to_string())?;
    client.request::<Summary>(request).await.map_err(|err| match &err {
        kube::Error::Api(status) if status.code == 403 => {
            "not allowed to read the kubelet's stats: it needs get on nodes/proxy (cluster-wide)".to_string()
        }
        _ => format!("the kubelet of node {node} gave no stats summary: {}", describe(&err)),
    })
}

/// One line per claim: the claim's size, and its usage where a kubelet reported it.
pub fn lines(
    claims: &[PersistentVolumeClaim],
    namespace: &str,
    summaries: &BTreeMap<String, Result<Summary, String>>,
) -> Vec<Volume> {
    claims
        .iter()
        .map(|claim| {
            let name = claim.metadata.name.clone().unwrap_or_default();
            let status = claim.status.as_ref();
            let capacity = status.and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")).map(|q| q.0.clone());
            let mut line = Volume {
                claim: name.clone(),
                phase: status.and_then(|s| s.phase.clone()),
                capacity,
                used_bytes: None,
                available_bytes: None,
                capacity_bytes: None,
                used_percent: None,
                warning: false,
                reason: None,
            };
            match stats_of(&name, namespace, summaries) {
                Ok(stats) => fill(&mut line, stats),
                Err(why) => line.reason = Some(why),
            }
            line
        })
        .collect()
}

fn stats_of<'a>(
    claim: &str,
    namespace: &str,
    summaries: &'a BTreeMap<String, Result<Summary, String>>,
) -> Result<&'a VolumeStats, String> {
    let mut why = None;
    for summary in summaries.values() {
        match summary {
            Ok(summary) => {
                let found = summary.pods.iter().flat_map(|p| &p.volume).find(|v| {
                    v.pvc_ref.as_ref().is_some_and(|r| r.name == claim && r.namespace == namespace)
                        && v.used_bytes.is_some()
                });
                if let Some(stats) = found {
                    return Ok(stats);
                }
            }
            Err(reason) => why = Some(reason.clone()),
        }
    }
    Err(why.unwrap_or_else(|| match summaries.is_empty() {
        true => "no running server pod mounts it".into(),
        false => "the kubelet has not measured it yet: it does about once a minute".into(),
    }))
}

fn fill(line: &mut Volume, stats: &VolumeStats) {
    line.used_bytes = stats.used_bytes;
    line.available_bytes = stats.available_bytes;
    line.capacity_bytes = stats.capacity_bytes;
    if let (Some(used), Some(capacity)) = (stats.used_bytes, stats.capacity_bytes.filter(|c| *c > 0)) {
        let percent = used as f64 * 100.0 / capacity as f64;
        line.used_percent = Some((percent * 10.0).round() / 10.0);
        line.warning = percent > WARN_PERCENT;
    }
}

/// Bytes as people read them: `1.5 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} B"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_comes_from_the_claims_pvc_ref_and_warns_above_85_percent() {
        let summary: Summary = serde_json::from_value(json!({"node": {}, "pods": [{"podRef": {}, "volume": [
            {"name": "tmp", "usedBytes": 1},
            {"name": "data", "usedBytes": 90, "capacityBytes": 100, "availableBytes": 10,
             "pvcRef": {"name": "mlflow-mlflow", "namespace": "ns"}}
        ]}]}))
        .unwrap();
        let claim: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "mlflow-mlflow"}, "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}
        }))
        .unwrap();
        let summaries = BTreeMap::from([("n".to_string(), Ok(summary))]);
        let line = &lines(std::slice::from_ref(&claim), "ns", &summaries)[0];
        assert_eq!((line.used_bytes, line.used_percent, line.warning), (Some(90), Some(90.0), true));
        assert_eq!(line.capacity.as_deref(), Some("1Gi"));
        let line = &lines(&[claim], "other", &summaries)[0];
        assert!(line.used_bytes.is_none() && line.reason.as_deref().unwrap().contains("not measured it yet"));
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536 * 1024 * 1024), "1.5 GiB");
    }
}
