//! The PersistentVolumeClaim for a SQLite database and artifacts on a volume.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::Context;

/// Outlives the release: `helm uninstall` leaves it, and so does the native engine's pruning (the
/// claim, which holds the data; the generated admin password, which its auth database holds).
pub const KEEP: (&str, &str) = ("helm.sh/resource-policy", "keep");

pub fn persistent_volume_claim(ctx: &Context) -> Option<PersistentVolumeClaim> {
    let storage = &ctx.values.storage;
    let mut meta = ctx.meta(&ctx.fullname, None);
    meta.annotations = Some(BTreeMap::from([(KEEP.0.to_string(), KEEP.1.to_string())]));
    storage.enabled.then(|| PersistentVolumeClaim {
        metadata: meta,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![storage.access_mode.clone()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_string(), Quantity(storage.size.clone()))])),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: (!storage.storage_class_name.is_empty()).then(|| storage.storage_class_name.clone()),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    })
}
