//! The PersistentVolumeClaim for a SQLite database and artifacts on a volume.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::Context;

pub fn persistent_volume_claim(ctx: &Context) -> Option<PersistentVolumeClaim> {
    let storage = &ctx.values.storage;
    storage.enabled.then(|| PersistentVolumeClaim {
        metadata: ctx.meta(&ctx.fullname, None),
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
