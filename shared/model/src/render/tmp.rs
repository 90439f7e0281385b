//! The server's `/tmp`, where MLflow buffers an upload before it sends it to a bucket: an emptyDir
//! (with `tmp.sizeLimit` and `tmp.medium`) or a generic ephemeral volume (`tmp.ephemeral`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EmptyDirVolumeSource, EphemeralVolumeSource, PersistentVolumeClaimSpec, PersistentVolumeClaimTemplate, Volume,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::Context;

pub fn volume(ctx: &Context) -> Volume {
    let tmp = &ctx.values.tmp;
    if !tmp.ephemeral.size.is_empty() {
        return Volume { name: "tmp".into(), ephemeral: Some(ephemeral(ctx)), ..Volume::default() };
    }
    let non_empty = |text: &String| (!text.is_empty()).then(|| text.clone());
    let empty_dir =
        EmptyDirVolumeSource { medium: non_empty(&tmp.medium), size_limit: non_empty(&tmp.size_limit).map(Quantity) };
    Volume { name: "tmp".into(), empty_dir: Some(empty_dir), ..Volume::default() }
}

fn ephemeral(ctx: &Context) -> EphemeralVolumeSource {
    let given = &ctx.values.tmp.ephemeral;
    let spec = PersistentVolumeClaimSpec {
        access_modes: Some(vec!["ReadWriteOnce".into()]),
        storage_class_name: (!given.storage_class_name.is_empty()).then(|| given.storage_class_name.clone()),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([("storage".to_string(), Quantity(given.size.clone()))])),
            ..VolumeResourceRequirements::default()
        }),
        ..PersistentVolumeClaimSpec::default()
    };
    EphemeralVolumeSource {
        volume_claim_template: Some(PersistentVolumeClaimTemplate { spec, ..PersistentVolumeClaimTemplate::default() }),
    }
}
