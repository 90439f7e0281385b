//! `--reuse-values`: the user values of the installed release, never the defaults. A release
//! this tool applied keeps them in its ApplySet parent; a release helm made (with `--helm`, or
//! with the official chart) has them in helm's own storage, read with `helm get values`. A
//! release whose values cannot be read is refused (exit 2) before anything is written.

use std::path::Path;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};

use super::helm;
use crate::cluster::{describe, Session};
use crate::values::Source;
use kubectl_mlflow_model::Failure;

/// The values to start from, as the first source of the merge.
pub async fn reused_values(session: &Session, release: &str, helm_binary: Option<&Path>) -> Result<Source, Failure> {
    if let Some(yaml) = super::stored_values(session, release).await? {
        return Ok(Source::Text { name: format!("stored values of release {release}"), yaml });
    }
    if !is_helm_release(session, release).await? {
        return Err(Failure::input(format!(
            "--reuse-values: release {release} is not installed in namespace {}, by kubectl mlflow or by helm, so there are no values to reuse (drop --reuse-values, or name the release's namespace with -n)",
            session.namespace
        )));
    }
    let helm = helm::find(helm_binary).map_err(|problem| {
        Failure::input(format!(
            "--reuse-values: release {release} was made by helm, and its values are read with helm get values: {}",
            problem.message
        ))
    })?;
    let yaml = helm_get_values(&helm, session, release).await?;
    Ok(Source::Text { name: format!("values of helm release {release} (helm get values)"), yaml })
}

/// Whether helm's storage (Secrets labelled owner=helm, the default driver) holds the release.
async fn is_helm_release(session: &Session, release: &str) -> Result<bool, Failure> {
    let params = ListParams::default().labels(&format!("owner=helm,name={release}")).limit(1);
    let list = Api::<Secret>::namespaced(session.client.clone(), &session.namespace)
        .list_metadata(&params)
        .await
        .map_err(|err| Failure::failed(format!("cannot list helm's release Secrets: {}", describe(&err))))?;
    Ok(!list.items.is_empty())
}

/// `helm get values` with the session's namespace, context and kubeconfig; a failure is an input
/// problem (exit 2): the values to reuse are unknown, so nothing may be written.
async fn helm_get_values(helm: &Path, session: &Session, release: &str) -> Result<String, Failure> {
    let target = helm::Target {
        helm,
        release,
        namespace: &session.namespace,
        context: session.context.as_deref(),
        kubeconfig: session.kubeconfig.as_deref(),
    };
    match helm::get_values(&target).await {
        Ok(yaml) => Ok(user_values_yaml(&yaml)),
        Err(failure) => Err(Failure::input(format!(
            "--reuse-values: {failure}, so the release's values are unknown (fix helm's access, or drop --reuse-values and give every value)"
        ))),
    }
}

/// helm prints `null` for a release installed without values.
fn user_values_yaml(text: &str) -> String {
    match text.trim() {
        "" | "null" => "{}".to_string(),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_values_is_an_empty_map() {
        assert_eq!(user_values_yaml("null\n"), "{}");
        assert_eq!(user_values_yaml("a: 1\n"), "a: 1\n");
    }
}
