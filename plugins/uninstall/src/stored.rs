//! What helm stored for a release. `helm uninstall` deletes every object of its stored manifest
//! that the manifest itself marks without `helm.sh/resource-policy: keep` — a live annotation
//! does not count. A claim that the chart does not mark keep (the official chart's) would go
//! with its data, so such a release is removed here object by object instead.

use kubectl_mlflow_core::engine::kinds::Kind;
use kubectl_mlflow_core::Failure;
use serde::Deserialize;

const RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// One object of the stored manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: String,
    pub name: String,
    /// Marked `helm.sh/resource-policy: keep` in the manifest: helm uninstall leaves it.
    pub keep: bool,
}

#[derive(Deserialize)]
struct Document {
    kind: Option<String>,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Deserialize, Default)]
struct Metadata {
    name: Option<String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// The objects of a `helm get manifest` text.
pub fn parse(manifest: &str) -> Result<Vec<Entry>, Failure> {
    let mut entries = Vec::new();
    for document in serde_yaml::Deserializer::from_str(manifest) {
        let document = Option::<Document>::deserialize(document)
            .map_err(|err| Failure::failed(format!("cannot read the manifest helm stored for the release: {err}")))?;
        let Some(Document { kind: Some(kind), metadata }) = document else { continue };
        let keep = metadata.annotations.get(RESOURCE_POLICY).is_some_and(|p| p == "keep");
        entries.push(Entry { kind, name: metadata.name.unwrap_or_default(), keep });
    }
    Ok(entries)
}

/// Whether helm uninstall keeps the claim of that name.
pub fn keeps_claim(entries: &[Entry], name: &str) -> bool {
    !entries.iter().any(|e| e.kind == "PersistentVolumeClaim" && e.name == name && !e.keep)
}

/// The stored objects to delete when the release is removed without helm: all but the claims
/// and what the manifest marks keep. A kind this tool cannot address stops the run before any
/// delete, with the way out.
pub fn to_delete(entries: &[Entry], release: &str) -> Result<Vec<(Kind, String)>, Failure> {
    let mut objects = Vec::new();
    for entry in entries.iter().filter(|e| e.kind != "PersistentVolumeClaim" && !e.keep) {
        let kind = Kind::named(&entry.kind).ok_or_else(|| {
            Failure::failed(format!(
                "helm uninstall {release} would delete the release's PersistentVolumeClaims (its chart does not mark them helm.sh/resource-policy: keep), \
                 so kubectl mlflow removes the release itself, but it cannot remove {}/{}: give --delete-pvcs to let helm delete everything, data included, \
                 or back up the data first (nothing was deleted)",
                entry.kind, entry.name
            ))
        })?;
        objects.push((kind, entry.name.clone()));
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "---\n# Source: mlflow/templates/pvc.yaml\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: mlflow\n---\n\
        apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: kept\n  annotations:\n    helm.sh/resource-policy: keep\n---\n\
        apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: mlflow\n---\n";

    #[test]
    fn the_policy_is_read_from_the_manifest() {
        let entries = parse(MANIFEST).unwrap();
        assert_eq!(entries.len(), 3);
        assert!(!keeps_claim(&entries, "mlflow"));
        assert!(keeps_claim(&entries, "kept"));
        // a claim helm does not know is not helm's to delete
        assert!(keeps_claim(&entries, "other"));
    }

    #[test]
    fn removing_without_helm_leaves_the_claims() {
        let entries = parse(MANIFEST).unwrap();
        let objects = to_delete(&entries, "mlflow").unwrap();
        assert_eq!(objects, vec![(Kind::named("Deployment").unwrap(), "mlflow".to_string())]);
    }

    #[test]
    fn an_unknown_kind_stops_before_any_delete() {
        let entries = parse("kind: Widget\nmetadata:\n  name: w\n").unwrap();
        let message = to_delete(&entries, "mlflow").unwrap_err().to_string();
        assert!(message.contains("cannot remove Widget/w") && message.contains("--delete-pvcs"), "{message}");
    }
}
