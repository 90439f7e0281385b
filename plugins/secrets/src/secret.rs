//! The Secret object: its labels, and how it differs from one already in the cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use kubectl_mlflow_core::identity;
use kubectl_mlflow_core::render::MANAGED_BY;

/// The release's labels (`app.kubernetes.io/name=mlflow`, `instance=<release>`), so uninstall
/// finds the Secret with the release's other objects, and the mark of this command.
pub fn labels(release: &str) -> BTreeMap<String, String> {
    let mut labels = identity::labels(release, None);
    labels.insert(identity::MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    labels.insert(identity::CREATED_BY_LABEL.into(), identity::SECRETS_CREATOR.into());
    labels
}

pub fn object(name: &str, namespace: &str, release: &str, type_: &str, data: &BTreeMap<String, Vec<u8>>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some(labels(release)),
            ..ObjectMeta::default()
        },
        type_: Some(type_.into()),
        data: Some(data.iter().map(|(k, v)| (k.clone(), ByteString(v.clone()))).collect()),
        ..Secret::default()
    }
}

/// The data of a Secret from the cluster (`stringData` is write-only, never read back).
pub fn data_of(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret.data.clone().unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect()
}

/// What differs, by name only (never a value): `type`, then each key added, removed or changed.
pub fn differences(existing: &Secret, type_: &str, data: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut out = Vec::new();
    let existing_type = existing.type_.as_deref().unwrap_or("Opaque");
    if existing_type != type_ {
        out.push(format!("its type is {existing_type}, not {type_}"));
    }
    let old = data_of(existing);
    for (key, value) in data {
        match old.get(key) {
            None => out.push(format!("{key} is missing")),
            Some(v) if v != value => out.push(format!("{key} differs")),
            Some(_) => {}
        }
    }
    out.extend(old.keys().filter(|k| !data.contains_key(*k)).map(|k| format!("{k} is extra")));
    out
}

/// Whether the Secret carries the labels this command gives it.
pub fn is_labelled(existing: &Secret, release: &str) -> bool {
    let have = existing.metadata.labels.clone().unwrap_or_default();
    labels(release).iter().all(|(k, v)| have.get(k) == Some(v))
}
