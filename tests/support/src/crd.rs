//! CustomResourceDefinitions of other projects (OpenShift's Route, the External Secrets
//! Operator's), as much of them as the API server needs to serve their kinds.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, PostParams};
use kube::Client;
use serde_json::json;

use crate::poll_until;

/// A namespaced CRD of `kind` (`plural`) in `group`, served at `version`, any object accepted.
pub fn crd(group: &str, version: &str, kind: &str, plural: &str) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "versions": [{"name": version, "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    }))
    .expect("a CustomResourceDefinition")
}

/// Creates the CRDs (one that exists already is kept) and waits (a minute at most) until the API
/// server serves every one; `Err` says which it does not.
pub async fn install_crds(client: &Client, crds: &[CustomResourceDefinition]) -> Result<(), String> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds {
        let name = crd.metadata.name.as_deref().unwrap_or_default();
        match api.create(&PostParams::default(), crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(err) => panic!("cannot create the CRD {name}: {err}"),
        }
    }
    for crd in crds {
        let group_version = format!("{}/{}", crd.spec.group, crd.spec.versions[0].name);
        let plural = crd.spec.names.plural.clone();
        let served = poll_until(Duration::from_secs(60), || async {
            client
                .list_api_group_resources(&group_version)
                .await
                .is_ok_and(|l| l.resources.iter().any(|r| r.name == plural))
        })
        .await;
        served.map_err(|()| format!("{plural}.{group_version} was never served"))?;
    }
    Ok(())
}

/// Deletes the CRDs, not waiting.
pub async fn delete_crds(client: &Client, crds: &[CustomResourceDefinition]) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds {
        let _ = api.delete(crd.metadata.name.as_deref().unwrap_or_default(), &DeleteParams::default()).await;
    }
}
