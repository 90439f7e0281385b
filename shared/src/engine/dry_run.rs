//! Every object through a server-side dry run (apply with `dryRun=All`), in parallel, before the
//! first write: what only the cluster can judge — immutable fields, a volume that cannot grow or
//! shrink, admission (Pod Security, quotas, webhooks) — refuses the whole install while nothing
//! has changed yet.

use futures::future::join_all;
use kube::api::{Patch, PatchParams};

use super::apply::{Applier, Member, FIELD_MANAGER};
use crate::cluster::describe;
use crate::problem::{Problem, Problems};
use crate::render::Object;
use crate::values::Values;
use kubectl_mlflow_model::api_rules::origin;
use kubectl_mlflow_model::Failure;

/// What the dry run checks against: the rendered objects (to name the values behind a field).
pub struct Rendering<'a> {
    pub objects: &'a [Object],
    pub values: &'a Values,
}

/// Dry-runs every member at once. `force` takes over fields of other managers (the helm engine:
/// only validity matters there, helm owns the fields).
pub async fn check(
    applier: &Applier,
    members: &[Member],
    rendering: &Rendering<'_>,
    force: bool,
) -> Result<(), Failure> {
    let mut params = PatchParams::apply(FIELD_MANAGER).dry_run();
    params.force = force || applier.force_conflicts;
    let params = &params;
    let results = join_all(
        members
            .iter()
            .map(|m| async move { applier.member_api(m).patch(m.name(), params, &Patch::Apply(&m.object)).await }),
    )
    .await;
    let mut problems = Problems::default();
    let mut failures = Vec::new();
    for (member, result) in members.iter().zip(results) {
        let Err(err) = result else { continue };
        match classify(member, &err, rendering) {
            Verdict::Input(found) => problems.extend(found),
            Verdict::Failed(message) => failures.push(message),
            Verdict::Skip => {}
        }
    }
    if !failures.is_empty() {
        return Err(Failure::Failed(failures.join("\n")));
    }
    problems.into_result(()).map_err(Failure::Input)
}

enum Verdict {
    /// The values ask for what the cluster refuses (exit 2).
    Input(Problems),
    /// The cluster could not answer, or another manager owns fields (exit 1).
    Failed(String),
    /// Nothing to judge (the namespace does not exist yet: --create-namespace makes it).
    Skip,
}

fn classify(member: &Member, err: &kube::Error, rendering: &Rendering) -> Verdict {
    let kube::Error::Api(status) = err else {
        return Verdict::Failed(format!("{}: server dry run failed: {}", member.describe(), describe(err)));
    };
    match status.code {
        404 if status.details.as_ref().is_some_and(|d| d.kind == "namespaces") => Verdict::Skip,
        409 => Verdict::Failed(format!(
            "{}: {} (another field manager owns these fields; rerun with --force-conflicts to take them over)",
            member.describe(),
            status.message
        )),
        400 | 403 | 422 => Verdict::Input(problems(member, status, rendering)),
        _ => Verdict::Failed(format!("{}: server dry run failed: {}", member.describe(), describe(err))),
    }
}

/// One problem a cause the server gave, at the values path behind its field where there is one.
fn problems(member: &Member, status: &kube::core::Status, rendering: &Rendering) -> Problems {
    let object = rendering.objects.iter().find(|o| o.describe() == member.describe());
    let causes: Vec<(String, String)> = status
        .details
        .iter()
        .flat_map(|d| d.causes.iter())
        .filter(|c| !c.field.is_empty())
        .map(|c| (c.field.clone(), c.message.clone()))
        .collect();
    let mut out = Problems::default();
    if causes.is_empty() {
        let path = guessed_field(&status.message)
            .and_then(|field| object.and_then(|o| origin::values_path(o, field, rendering.values)));
        let text =
            format!("the API server refuses {}: {} ({})", member.describe(), status.message, fix(&status.message));
        out.push(Problem::at(path.unwrap_or_default(), text));
        return out;
    }
    for (field, message) in causes {
        let path = object.and_then(|o| origin::values_path(o, &field, rendering.values));
        let text = format!("the API server refuses {} at {field}: {message} ({})", member.describe(), fix(&message));
        out.push(Problem::at(path.unwrap_or_default(), text));
    }
    out
}

/// The field an admission refusal without causes is about, where its message tells.
fn guessed_field(message: &str) -> Option<&'static str> {
    let m = message.to_lowercase();
    (m.contains("pvc can be resized") || m.contains("must support resize")).then_some("spec.resources.requests.storage")
}

/// The fix for what the server says, where it is known.
pub fn fix(message: &str) -> &'static str {
    let m = message.to_lowercase();
    if m.contains("only dynamically provisioned pvc can be resized")
        || m.contains("storageclass that provisions the pvc must support resize")
    {
        "its StorageClass cannot expand volumes: keep storage.size as it is, or move the data to a new claim"
    } else if m.contains("can not be less than") || m.contains("less than previous value") {
        "a claim cannot shrink: keep storage.size at least its current size"
    } else if m.contains("immutable") {
        "this field cannot change on an existing object: keep the old value, or delete the object and rerun"
    } else if m.contains("exceeded quota") {
        "the namespace's ResourceQuota is used up: lower resources.requests/limits or ask for a larger quota"
    } else if m.contains("podsecurity") {
        "the namespace's Pod Security level forbids it: adjust securityContext and podSecurityContext"
    } else if m.contains("admission webhook") {
        "an admission webhook of the cluster denies it: change the values it names, or ask the cluster's admin"
    } else if m.contains("forbidden") && m.contains("cannot") {
        "ask for RBAC permission, or use a namespace you may write to"
    } else {
        "change the value it names"
    }
}

#[cfg(test)]
mod tests {
    use super::fix;

    #[test]
    fn known_refusals_get_their_fix() {
        assert!(fix("Forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize").contains("cannot expand"));
        assert!(fix("spec.resources.requests.storage: Forbidden: field can not be less than status.capacity")
            .contains("cannot shrink"));
        assert!(fix("field is immutable").contains("cannot change"));
        assert!(fix("pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\"").contains("Pod Security"));
    }
}
