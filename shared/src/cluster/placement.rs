//! Where a Job that mounts a release's volumes must run: a ReadWriteOnce volume attaches to one
//! node, so the Job's pod goes beside the server pod that holds it, or it waits for a
//! Multi-Attach that never comes.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PersistentVolumeClaim, Pod,
};
use kube::api::{Api, ListParams};
use kubectl_mlflow_model::Failure;

use super::describe;

/// Where the Job's pod goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// No claim is ReadWriteOnce: wherever the scheduler puts it.
    Anywhere,
    /// `claim` is ReadWriteOnce and held by the running server pod `pod` on `node`.
    Beside { claim: String, pod: String, node: String },
    /// `claim` is ReadWriteOnce and no server pod runs: wherever the volume can attach.
    Unheld { claim: String },
}

/// Reads the access modes of `claims` in `namespace` and, when one is ReadWriteOnce, finds the
/// running server pod (`server_selector`).
pub async fn placement(
    client: &kube::Client,
    namespace: &str,
    claims: &[String],
    server_selector: &str,
) -> Result<Placement, Failure> {
    let api = Api::<PersistentVolumeClaim>::namespaced(client.clone(), namespace);
    let mut single_node = None;
    for claim in claims {
        let pvc = api
            .get_opt(claim)
            .await
            .map_err(|err| Failure::failed(format!("cannot read PersistentVolumeClaim/{claim}: {}", describe(&err))))?;
        let modes = pvc.and_then(|p| p.spec).and_then(|s| s.access_modes).unwrap_or_default();
        if modes.iter().any(|m| m == "ReadWriteOnce" || m == "ReadWriteOncePod") {
            single_node = Some(claim.clone());
            break;
        }
    }
    let Some(claim) = single_node else { return Ok(Placement::Anywhere) };
    let pods = Api::<Pod>::namespaced(client.clone(), namespace);
    let list = pods.list(&ListParams::default().labels(server_selector)).await.map_err(|err| {
        Failure::failed(format!("cannot list the server pods in namespace {namespace}: {}", describe(&err)))
    })?;
    let running = list.items.into_iter().find(|p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") && p.metadata.deletion_timestamp.is_none()
    });
    Ok(match running.and_then(|p| Some((p.metadata.name?, p.spec?.node_name?))) {
        Some((pod, node)) => Placement::Beside { claim, pod, node },
        None => Placement::Unheld { claim },
    })
}

/// Requires the Job's pod to run on `node` (node affinity on the node's name, as DaemonSets pin
/// their pods), in addition to what its template already requires.
pub fn pin_to_node(job: &mut Job, node: &str) {
    let Some(pod) = job.spec.as_mut().and_then(|s| s.template.spec.as_mut()) else { return };
    let on_node =
        NodeSelectorRequirement { key: "metadata.name".into(), operator: "In".into(), values: Some(vec![node.into()]) };
    let affinity = pod.affinity.get_or_insert_with(Affinity::default);
    let node_affinity = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
    let required = node_affinity
        .required_during_scheduling_ignored_during_execution
        .get_or_insert_with(|| NodeSelector { node_selector_terms: vec![NodeSelectorTerm::default()] });
    if required.node_selector_terms.is_empty() {
        required.node_selector_terms.push(NodeSelectorTerm::default());
    }
    for term in &mut required.node_selector_terms {
        term.match_fields.get_or_insert_with(Vec::new).push(on_node.clone());
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::JobSpec;
    use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};

    use super::*;

    #[test]
    fn pinning_adds_the_node_to_every_required_term() {
        let mut job = Job {
            spec: Some(JobSpec {
                template: PodTemplateSpec { spec: Some(PodSpec::default()), metadata: None },
                ..JobSpec::default()
            }),
            ..Job::default()
        };
        pin_to_node(&mut job, "node-a");
        let pod = job.spec.unwrap().template.spec.unwrap();
        let terms = pod
            .affinity
            .unwrap()
            .node_affinity
            .unwrap()
            .required_during_scheduling_ignored_during_execution
            .unwrap()
            .node_selector_terms;
        assert_eq!(terms.len(), 1);
        let field = &terms[0].match_fields.as_ref().unwrap()[0];
        assert_eq!((field.key.as_str(), field.values.as_deref()), ("metadata.name", Some(&["node-a".to_string()][..])));
    }
}
