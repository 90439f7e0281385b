//! The External Secrets Operator's objects go first, and the install waits for the Secret their
//! ExternalSecret makes: the migration Job and the server read it, and a pod whose Secret is
//! missing fails at once (CreateContainerConfigError).

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::Value;

use super::apply::{Applier, Member, Unchanged};
use super::Sink;
use kubectl_mlflow_model::Failure;

/// Whether a member is the release's SecretStore or ExternalSecret (not one of `extraObjects`).
pub fn is_external_secrets(member: &Member) -> bool {
    member.kind.group == kubectl_mlflow_model::render::external_secrets::GROUP && !member.extra
}

/// Applies the SecretStore and ExternalSecret (those a dry run did not show unchanged), then waits (up to `timeout`, when given) for the
/// Secret the ExternalSecret makes. A server dry run only applies them.
pub async fn apply_and_wait(
    applier: &Applier,
    members: &[Member],
    unchanged: &Unchanged,
    timeout: Option<Duration>,
    progress: &mut dyn Sink,
) -> Result<(), Failure> {
    if members.is_empty() {
        return Ok(());
    }
    applier.apply_all(members, unchanged, |m| progress.phase(&format!("applied {}", m.describe()))).await?;
    let Some(external) = members.iter().find(|m| m.kind.kind == "ExternalSecret") else { return Ok(()) };
    let Some(timeout) = timeout.filter(|_| !applier.dry_run) else { return Ok(()) };
    let target = external.object.data.pointer("/spec/target/name").and_then(Value::as_str).unwrap_or_default();
    progress.phase(&format!("waiting for Secret/{target} (made by {} from the secrets manager)", external.describe()));
    let secrets = Api::<Secret>::namespaced(applier.client.clone(), &applier.namespace);
    let found = tokio::time::timeout(timeout, async {
        loop {
            if let Ok(Some(_)) = secrets.get_opt(target).await {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    if found.is_err() {
        let status = applier.member_api(external).get_opt(external.name()).await.ok().flatten();
        let why = status.as_ref().map(ready_condition).unwrap_or_else(|| "no status".into());
        return Err(Failure::Failed(format!(
            "timed out after {} waiting for Secret/{target}: {} has not made it ({why}); check externalSecrets.provider and externalSecrets.data, and: kubectl describe externalsecret -n {} {}",
            kubectl_mlflow_model::duration::format_duration(timeout),
            external.describe(),
            applier.namespace,
            external.name()
        )));
    }
    Ok(())
}

/// The ExternalSecret's Ready condition: `Ready=<status>: <reason> <message>`.
fn ready_condition(object: &kube::core::DynamicObject) -> String {
    let conditions = object.data.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let ready = conditions.iter().find(|c| c["type"] == "Ready");
    match ready {
        Some(c) => format!(
            "Ready={}: {} {}",
            c["status"].as_str().unwrap_or("?"),
            c["reason"].as_str().unwrap_or(""),
            c["message"].as_str().unwrap_or("")
        )
        .trim()
        .to_string(),
        None => "the operator has not reported on it yet; is it running?".into(),
    }
}
