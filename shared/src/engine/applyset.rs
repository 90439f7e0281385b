//! Releases as ApplySets (KEP-3659): a parent Secret per release names the set and records the
//! values applied; every member carries the set's id, so an upgrade prunes what is no longer
//! rendered and `kubectl get -l applyset.kubernetes.io/part-of=<id>` lists the release.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use sha2::{Digest, Sha256};

pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
pub const TOOLING: &str = "applyset.kubernetes.io/tooling";
pub const CONTAINS: &str = "applyset.kubernetes.io/contains-group-kinds";
/// The key of the parent Secret that holds the user's values.
pub const VALUES_KEY: &str = "values.yaml";

/// This tool, as ApplySet tooling annotations name it.
pub fn tooling() -> String {
    format!("kubectl-mlflow/v{}", env!("CARGO_PKG_VERSION"))
}

/// The parent Secret of a release (named by the release identity).
pub fn parent_name(release: &str) -> String {
    kubectl_mlflow_model::identity::parent_secret_name(release)
}

/// The ApplySet id of a parent Secret: `applyset-<base64url(sha256(name.namespace.Secret.))>-v1`.
pub fn id(parent: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{parent}.{namespace}.Secret.").as_bytes());
    format!("applyset-{}-v1", URL_SAFE_NO_PAD.encode(digest))
}

/// Why a parent cannot be taken over, if it cannot.
pub fn foreign_tooling(parent: &Secret) -> Option<String> {
    let tooling = parent.metadata.annotations.as_ref()?.get(TOOLING)?;
    (!tooling.starts_with("kubectl-mlflow/")).then(|| tooling.clone())
}

/// The group-kinds a parent says its members have.
pub fn group_kinds(parent: &Secret) -> BTreeSet<String> {
    parent
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CONTAINS))
        .map(|list| list.split(',').filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

/// The values stored in a parent, as YAML text.
pub fn stored_values(parent: &Secret) -> Option<String> {
    let bytes = parent.data.as_ref()?.get(VALUES_KEY)?;
    String::from_utf8(bytes.0.clone()).ok()
}

/// The parent Secret to apply.
pub fn parent(
    release: &str,
    namespace: &str,
    labels: BTreeMap<String, String>,
    group_kinds: &BTreeSet<String>,
    values_yaml: &str,
) -> Secret {
    let name = parent_name(release);
    let mut labels = labels;
    labels.insert(ID_LABEL.into(), id(&name, namespace));
    let annotations = BTreeMap::from([
        (TOOLING.to_string(), tooling()),
        (CONTAINS.to_string(), group_kinds.iter().cloned().collect::<Vec<_>>().join(",")),
    ]);
    Secret {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.into()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        type_: Some("kubectl-mlflow.io/release".into()),
        data: Some(BTreeMap::from([(VALUES_KEY.to_string(), ByteString(values_yaml.as_bytes().to_vec()))])),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_kep_3659() {
        // sha256("kubectl-mlflow.release.mlflow.mlflow.Secret.") in unpadded base64url.
        // Computed independently: python3 -c "import hashlib, base64; print(base64.urlsafe_b64encode(
        //   hashlib.sha256(b'kubectl-mlflow.release.mlflow.mlflow.Secret.').digest()).rstrip(b'='))"
        assert_eq!(
            id("kubectl-mlflow.release.mlflow", "mlflow"),
            "applyset-Pff5L2xq8-ds4YCiOMXjkRmqIcGN9rYzCbaLfY-aV3A-v1"
        );
    }
}
